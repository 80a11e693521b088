//! `switchyard demo`: the main job on one machine. Starts a supervisor (embedded store) and two
//! agents as child processes of this binary on loopback, configures the seed's port-profiles
//! through the shell's REST path, waits for both modules to come online, prints what an operator
//! would look at, and cleans everything up (also on failure).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

mod containers;
mod interrupt;

use crate::processes::{self, Children};
use crate::shell::client::SupervisorClient;

/// The seed's configuration (NX-OS text).
pub const SEED_CONFIG: &str = include_str!("seed.cfg");

/// The hosts the demo runs agents for (the seed's server was `bilbo`).
const HOSTS: [&str; 2] = ["bilbo", "frodo"];

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the processes running (until Ctrl-C) and print how to reach them.
    #[arg(long)]
    keep: bool,
    /// Directory for the demo's state; a fresh temporary one by default (removed at the end).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    interrupt::install()?;
    let tmp;
    let root = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => {
            tmp = TempDir::new()?;
            tmp.0.clone()
        }
    };
    let listen = processes::free_loopback_addr()?;
    let url = format!("http://{listen}");
    let client = SupervisorClient::new(&url);
    let mut children = Children::new(exe_path()?, &root)?;

    step(&format!("starting the supervisor on {listen} (store in {})", root.join("supervisor").display()));
    children.spawn(
        "supervisor",
        &["supervisor", "--data-dir", &path(&root.join("supervisor")), "--listen", &listen.to_string()],
    )?;
    wait_for("the supervisor to answer", Duration::from_secs(20), &mut children, || {
        client.exec("show module").is_ok()
    })?;

    step("configuring the seed's port-profiles: vlan 100-109, uplink, vlan100");
    client.configure(SEED_CONFIG).context("applying the seed configuration")?;

    // One after the other, so the modules are numbered 3, 4 in this order (join order).
    for (index, host) in HOSTS.iter().enumerate() {
        step(&format!("starting the agent of host {host}"));
        let dir = root.join(host);
        children
            .spawn(host, &["agent", "--supervisor", &url, "--host-name", host, "--data-dir", &path(&dir)])?;
        wait_for(&format!("{host} to come online"), Duration::from_secs(30), &mut children, || {
            client.exec("show module").is_ok_and(|out| online_modules(&out) == index + 1)
        })?;
        wait_for(
            &format!("{host} to receive the port-profiles"),
            Duration::from_secs(10),
            &mut children,
            || {
                agent::vemcmd::run(&dir, &["show".into(), "card".into()])
                    .is_ok_and(|out| out.contains("connected"))
            },
        )?;
    }

    for command in ["show module", "show port-profile", "show logging logfile"] {
        println!("\nswitch# {command}");
        print!("{}", client.exec(command)?);
    }
    for host in HOSTS {
        println!("\n[root@{host} ~]# switchyard vemcmd show card");
        print!("{}", agent::vemcmd::run(&root.join(host), &["show".into(), "card".into()])?);
    }

    if crate::netns::is_root() {
        containers::run(&exe_path()?, &root.join(HOSTS[0]), &client)?;
    } else {
        println!("\n(run as root to see containers attached and talking: network namespaces need root)");
    }

    if args.keep {
        println!("\nRunning. Try: switchyard shell --supervisor {url}\nCtrl-C stops everything.");
        while !interrupt::requested() && children.check_alive().is_ok() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How many agent modules `show module` lists as `ok`.
fn online_modules(show_module: &str) -> usize {
    show_module
        .lines()
        .filter(|l| l.contains("Virtual Ethernet Module") && l.trim_end().ends_with(" ok"))
        .count()
}

fn exe_path() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("finding the switchyard binary")
}

fn step(what: &str) {
    eprintln!("demo: {what}");
}

fn path(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// Polls `ready` until it holds, failing early if a child died (its log says why).
fn wait_for(
    what: &str,
    limit: Duration,
    children: &mut Children,
    mut ready: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ready() {
            return Ok(());
        }
        interrupt::check()?;
        children.check_alive()?;
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("timed out after {limit:?} waiting for {what}; logs are in {}", children.log_dir().display())
}

/// A temporary directory removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("switchyard-demo.{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
