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
mod ovs;

use crate::processes::{self, Children};
use crate::shell::client::SupervisorClient;
use ovs::Ovsdb;

/// The seed's configuration (NX-OS text).
pub const SEED_CONFIG: &str = include_str!("seed.cfg");

/// The hosts the demo runs agents for (the seed's server was `bilbo`).
const HOSTS: [&str; 2] = ["bilbo", "frodo"];

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Leave the lab (daemons, containers) running until Ctrl-C, and print how to reach it.
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

    containers::chapter("1. The supervisor, with the seed's port-profiles");
    step(&format!("starting the supervisor on {listen} (store in {})", root.join("supervisor").display()));
    children.spawn(
        "supervisor",
        &["supervisor", "--data-dir", &path(&root.join("supervisor")), "--listen", &listen.to_string()],
    )?;
    wait_for("the supervisor to answer", Duration::from_secs(20), &mut children, || {
        client.exec("show module").is_ok()
    })?;
    client.configure(SEED_CONFIG).context("applying the seed configuration")?;
    println!("switch# configure terminal   (the seed's profiles: vlan 100-109, uplink, vlan100, vlan101)");
    for command in ["show port-profile name vlan100", "show port-profile brief"] {
        println!("\nswitch# {command}");
        print!("{}", client.exec(command)?);
    }

    containers::chapter("2. Hosts join as modules");
    let root_user = crate::netns::is_root();
    let ovsdb = if root_user && Ovsdb::available() {
        step("starting a private ovsdb-server for bilbo (the seed's ovs-vsctl path)");
        Some(Ovsdb::start(&root.join("ovsdb"), &mut children)?)
    } else {
        None
    };
    // One after the other, so the modules are numbered 3, 4 in this order (join order).
    for (index, host) in HOSTS.iter().enumerate() {
        step(&format!("starting the agent of host {host}"));
        let dir = path(&root.join(host));
        let mut argv = vec!["agent", "--supervisor", &url, "--host-name", host, "--data-dir", &dir];
        let endpoint = ovsdb.as_ref().map(Ovsdb::endpoint);
        if let (0, Some(endpoint)) = (index, &endpoint) {
            argv.extend(["--ovsdb", endpoint, "--ovs-bridge", ovs::BRIDGE]);
        }
        children.spawn(host, &argv)?;
        wait_for(&format!("{host} to come online"), Duration::from_secs(30), &mut children, || {
            client.exec("show module").is_ok_and(|out| online_modules(&out) == index + 1)
        })?;
    }
    if let Some(ovsdb) = &ovsdb {
        ovsdb.wait_for_bridge()?;
    }
    for command in ["show module", "show logging logfile"] {
        println!("\nswitch# {command}");
        print!("{}", client.exec(command)?);
    }
    println!("\n[root@bilbo ~]# vemcmd show card");
    print!("{}", agent::vemcmd::run(&root.join(HOSTS[0]), &["show".into(), "card".into()])?);

    if !root_user {
        println!("\n(run as root to see containers attached and talking: network namespaces need root)");
        return Ok(ExitCode::SUCCESS);
    }
    let lab = containers::Lab {
        exe: &exe_path()?,
        agent_dir: &root.join(HOSTS[0]),
        work_dir: &root,
        client: &client,
        ovs: ovsdb.as_ref(),
        keep: args.keep.then_some(url.as_str()),
    };
    containers::run(&lab)?;
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
