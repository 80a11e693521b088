//! `switchyard demo`: the main job on one machine. Starts a supervisor (embedded store) and two
//! agents as child processes of this binary, configures the seed's port-profiles through the
//! shell's REST path, waits for both modules to come online, prints what an operator would look
//! at, and cleans everything up (also on failure). As root, the hosts `bilbo` and `frodo` are
//! network namespaces with an uplink trunk into a "physical switch" and a VTEP on an underlay
//! (the supervisor sits in a namespace of its own); without root, everything runs on loopback.

use std::net::SocketAddr;
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
use testbed::fabric::Fabric;

/// The seed's configuration (NX-OS text).
pub const SEED_CONFIG: &str = include_str!("seed.cfg");

/// The hosts the demo runs agents for (the seed's server was `bilbo`).
const HOSTS: [&str; 2] = ["bilbo", "frodo"];
/// Each host's uplink: its NIC into the physical switch, on the seed's `uplink` profile.
const UPLINK: &str = "eth1=uplink";
/// Where the supervisor listens in its namespace.
const SUPERVISOR_PORT: u16 = 7400;

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
    let root_user = crate::netns::is_root();
    // As root the hosts are network namespaces joined by a physical switch (their uplink trunks)
    // and an underlay (VXLAN, and the way to the supervisor, which has a namespace of its own).
    // Without root everything runs on loopback and the containers are left out.
    let fabric = if root_user {
        step(
            "building the lab: hosts bilbo and frodo, a physical switch, an underlay, the supervisor's namespace",
        );
        Some(Fabric::new(&HOSTS.map(|host| (host, 1)))?)
    } else {
        None
    };
    let listen = match &fabric {
        Some(fabric) => SocketAddr::from((fabric.supervisor_ip, SUPERVISOR_PORT)),
        None => processes::free_loopback_addr()?,
    };
    let url = format!("https://{listen}");
    let mut client = SupervisorClient::new(&url);
    if let Some(fabric) = &fabric {
        client = client.in_netns(&fabric.supervisor.name);
    }
    let mut children = Children::new(exe_path()?, &root)?;

    containers::chapter("1. The supervisor, with the seed's port-profiles");
    step(&format!("starting the supervisor on {listen} (store in {})", root.join("supervisor").display()));
    let supervisor_dir = root.join("supervisor");
    let argv = ["supervisor", "--data-dir", &path(&supervisor_dir), "--listen", &listen.to_string()];
    match &fabric {
        Some(fabric) => children.spawn_in("supervisor", &fabric.supervisor.name, &argv)?,
        None => children.spawn("supervisor", &argv)?,
    }
    // On first start the supervisor creates `admin` with a random password in its data dir:
    // the demo logs in with it, as the shell does on the supervisor's host.
    let mut admin = None;
    wait_for("the supervisor's admin account", Duration::from_secs(20), &mut children, || {
        admin = crate::shell::login::local_admin(&supervisor_dir);
        admin.is_some()
    })?;
    if let Some(admin) = admin {
        client = client.with_login(admin);
    }
    // The CA it made at the same time is what the demo's clients trust.
    client = client.with_ca_cert(&supervisor_dir.join("tls/ca.pem"))?;
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
    let ovsdb = if root_user && Ovsdb::available() {
        step("starting a private ovsdb-server for bilbo (the seed's ovs-vsctl path)");
        Some(Ovsdb::start(&root.join("ovsdb"), &mut children)?)
    } else {
        None
    };
    // One after the other, so the modules are numbered 3, 4 in this order (join order).
    for (index, host) in HOSTS.iter().enumerate() {
        let dir = path(&root.join(host));
        // Each host joins the way an operator adds one: a one-time token, the CA's hash.
        let join = crate::join::Join::create(&client)?.args();
        let mut argv = vec!["agent", "--supervisor", &url, "--host-name", host, "--data-dir", &dir];
        argv.extend(join.iter().map(String::as_str));
        let endpoint = ovsdb.as_ref().map(Ovsdb::endpoint);
        if let (0, Some(endpoint)) = (index, &endpoint) {
            argv.extend(["--ovsdb", endpoint, "--ovs-bridge", ovs::BRIDGE]);
        }
        let site = fabric.as_ref().map(|fabric| fabric.host(host));
        let vtep = site.map(|site| site.vtep.to_string());
        match (site, &vtep) {
            (Some(site), Some(vtep)) => {
                argv.extend(["--uplink", UPLINK, "--vtep", vtep]);
                step(&format!("starting the agent of host {host}: uplink eth1 (trunk), VTEP {vtep}"));
                children.spawn_in(host, &site.ns.name, &argv)?;
            }
            _ => {
                step(&format!("starting the agent of host {host}"));
                children.spawn(host, &argv)?;
            }
        }
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
    print!("{}", agent_api::vemcmd::run(&root.join(HOSTS[0]), &["show".into(), "card".into()])?);

    let Some(fabric) = &fabric else {
        println!("\n(run as root to see containers attached and talking: network namespaces need root)");
        return Ok(ExitCode::SUCCESS);
    };
    let lab = containers::Lab {
        exe: &exe_path()?,
        root: &root,
        fabric,
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
