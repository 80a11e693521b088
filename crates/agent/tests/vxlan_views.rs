//! The VXLAN host views on two hosts, and a headless restart that keeps a bridge-domain
//! spanning them, as root.
//!
//! `bilbo` and `frodo` are network namespaces on an IP underlay (testbed's [`Fabric`]), the
//! supervisor (in this process) serves from a namespace of its own, and each agent is a process
//! of its own inside its host's namespace: this test binary run again as the agent (selected by
//! an environment variable), so that it can be killed with SIGKILL as a crash would.
//! Containers in bridge-domain `tenant-red` (segment id 5000) on both hosts; `vemcmd show l2
//! bd-name tenant-red` and `show vxlan` on `bilbo` show `frodo`'s VTEP and container. Then
//! `bilbo`'s agent is killed, the supervisor stopped, and the agent started again: headless, it
//! forwards across VXLAN from its persisted `overlay.json`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod port_lab;

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use testbed::supervisor_access::JoinToken;

use agent::local_api::{Request, Response, client};
use agent::{Agent, AgentOptions};
use port_lab::{Container, Supervisor, require_root};
use testbed::fabric::{Fabric, Host};
use testbed::netns::Netns;

const TEST_NAME: &str = "vemcmd_shows_the_remote_side_and_a_headless_restart_keeps_forwarding";

/// Set in the child: the agent's data dir; the others say how it starts.
const CHILD_DIR: &str = "SWITCHYARD_TEST_AGENT_DIR";
const CHILD_SUPERVISOR: &str = "SWITCHYARD_TEST_AGENT_SUPERVISOR";
const CHILD_HOST: &str = "SWITCHYARD_TEST_AGENT_HOST";
const CHILD_VTEP: &str = "SWITCHYARD_TEST_AGENT_VTEP";
/// The child's join token and the CA hash it pins (first start; ignored once enrolled).
const CHILD_TOKEN: &str = "SWITCHYARD_TEST_AGENT_TOKEN";
const CHILD_CA_HASH: &str = "SWITCHYARD_TEST_AGENT_CA_HASH";
/// A bound on a child agent, should the parent die without killing it.
const CHILD_LIFETIME: Duration = Duration::from_secs(180);

/// How long anything the test waits for may take (reconnect backoff alone may take 5 s).
const PATIENCE: Duration = Duration::from_secs(20);

const CONFIG: &str = "\
bridge-domain tenant-red
  segment id 5000
port-profile type vethernet red
  switchport mode access
  switchport access bridge-domain tenant-red
  no shutdown
  state enabled
";

#[test]
fn vemcmd_shows_the_remote_side_and_a_headless_restart_keeps_forwarding() {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        run_agent_until_killed(Path::new(&dir));
        return;
    }
    require_root();
    let fabric = Fabric::new(&[("bilbo", 0), ("frodo", 0)]).unwrap();
    let mut supervisor = SupervisorInNetns::start(&fabric.supervisor, fabric.supervisor_ip, CONFIG);
    let dirs = tempfile::tempdir().unwrap();
    let (bilbo_dir, frodo_dir) = (dirs.path().join("bilbo"), dirs.path().join("frodo"));
    let (bilbo_host, frodo_host) = (fabric.host("bilbo"), fabric.host("frodo"));
    let mut bilbo = AgentProcess::start(bilbo_host, &supervisor.url, &supervisor.tokens[0], &bilbo_dir);
    let _frodo = AgentProcess::start(frodo_host, &supervisor.url, &supervisor.tokens[1], &frodo_dir);
    wait_for_card(&bilbo_dir, "Supervisor state: connected");
    wait_for_card(&frodo_dir, "Supervisor state: connected");

    let red1 = Container::new("192.168.20.1");
    let red2 = Container::new("192.168.20.2");
    client::attach(&bilbo_dir, &red1.spec("red")).unwrap();
    client::attach(&frodo_dir, &red2.spec("red")).unwrap();
    assert!(reaches(&red1, &red2), "bilbo → frodo over VXLAN");
    let red1_mac = attached_mac(&bilbo_dir);
    let red2_mac = attached_mac(&frodo_dir);
    let frodo_vtep = frodo_host.vtep.to_string();

    // bilbo's table of the bridge-domain: its own container (static, on its vEthernet) and
    // frodo's (installed by the supervisor, behind the tunnel, at frodo's VTEP).
    let remote_row = format!("  SwInsta  {red2_mac}    10         0  vxlan    {frodo_vtep}");
    let table = eventually("frodo's MAC installed on bilbo", || {
        let table = vemcmd(&bilbo_dir, "show l2 bd-name tenant-red");
        table.contains(&remote_row).then_some(table)
    });
    assert!(table.starts_with("Bridge-domain tenant-red, segment id 5000, MAC addresses "), "{table}");
    assert!(
        table.lines().any(|line| line.starts_with(&format!("  Static   {red1_mac}    49         0  Veth1"))
            && !line.contains("10.77.")),
        "the local container, without a VTEP:\n{table}"
    );
    let all = vemcmd(&bilbo_dir, "show l2 all");
    assert!(all.contains("Bridge-domain tenant-red, segment id 5000") && all.contains(&remote_row), "{all}");
    let error = vemcmd_error(&bilbo_dir, "show l2 bd-name tenant-green");
    assert_eq!(
        error,
        "no bridge-domain \"tenant-green\" on this host; the bridge-domains it knows: tenant-red (segment 5000)"
    );

    let vxlan = vemcmd(&bilbo_dir, "show vxlan");
    let bilbo_vtep = bilbo_host.vtep;
    assert!(
        vxlan.starts_with(&format!(
            "VTEP: {bilbo_vtep}, UDP port 4789, interface ul0, MTU 1500 (containers get 1450)\n"
        )),
        "{vxlan}"
    );
    let domain = bridge_domain_line(&vxlan);
    assert_eq!(domain, ["tenant-red", "5000", "1", "0", frodo_vtep.as_str()], "one SwInsta MAC:\n{vxlan}");
    assert!(counter(&vxlan, "Encapsulated") > 0 && counter(&vxlan, "Decapsulated") > 0, "{vxlan}");

    // A crash (SIGKILL: no clean-up at all), the supervisor gone, and a start again: headless,
    // with the ports, policies and overlay the agent persisted.
    bilbo.kill();
    assert!(client::ask(&bilbo_dir, &Request::ShowCard, client::SHOW_TIMEOUT).is_err(), "the agent is dead");
    supervisor.stop();
    let _bilbo = AgentProcess::start(bilbo_host, &supervisor.url, &supervisor.tokens[0], &bilbo_dir);
    wait_for_card(&bilbo_dir, "Supervisor state: headless");
    red1.flush_neighbours(); // the ARP request must be replicated to frodo's VTEP again
    assert!(reaches(&red1, &red2), "bilbo → frodo over VXLAN, headless after a restart");
    let table = vemcmd(&bilbo_dir, "show l2 bd-name tenant-red");
    assert!(table.contains(&remote_row), "{table}");
    let vxlan = vemcmd(&bilbo_dir, "show vxlan");
    assert_eq!(bridge_domain_line(&vxlan)[4], frodo_vtep, "{vxlan}");
    assert!(counter(&vxlan, "Decapsulated") > 0, "frodo's replies came back through the tunnel:\n{vxlan}");
}

/// The child: an agent of the host it runs in, until it is killed (or the parent goes away and
/// its stdin closes, or [`CHILD_LIFETIME`] passes).
fn run_agent_until_killed(dir: &Path) {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let vtep: Ipv4Addr = var(CHILD_VTEP).parse().unwrap();
    let ca = agent::trust::CaTrust::Hash(var(CHILD_CA_HASH).parse().unwrap());
    let options = AgentOptions::new(var(CHILD_SUPERVISOR), var(CHILD_HOST), dir)
        .with_vtep(vtep, 4789)
        .with_join_token(var(CHILD_TOKEN), ca);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let agent = Agent::start(options).await.expect("the agent starts");
        let parent_gone = tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        });
        let _ = tokio::time::timeout(CHILD_LIFETIME, parent_gone).await;
        agent.stop().await;
    });
}

/// An agent process in a host's namespace; killed on drop.
struct AgentProcess(Child);

impl AgentProcess {
    fn start(host: &Host, supervisor: &str, join: &JoinToken, dir: &Path) -> Self {
        let child = Command::new("ip")
            .args(["netns", "exec", &host.ns.name])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir)
            .env(CHILD_SUPERVISOR, supervisor)
            .env(CHILD_HOST, &host.name)
            .env(CHILD_VTEP, host.vtep.to_string())
            .env(CHILD_TOKEN, &join.token)
            .env(CHILD_CA_HASH, &join.ca_hash)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Self(child)
    }

    /// SIGKILL (`ip netns exec` execs the agent: the child is the agent itself).
    fn kill(&mut self) {
        let _ = self.0.kill();
        let status = self.0.wait().unwrap();
        assert!(!status.success(), "the agent should have died by the signal");
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A supervisor of this process, serving from the namespace `ns` on `ip`: one thread that has
/// entered it runs the supervisor's runtime, so every socket it opens lives there.
struct SupervisorInNetns {
    url: String,
    /// One join token per agent of the test.
    tokens: Vec<JoinToken>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl SupervisorInNetns {
    /// Starts it and commits `config`.
    fn start(ns: &Netns, ip: Ipv4Addr, config: &'static str) -> Self {
        let path = PathBuf::from(format!("/run/netns/{}", ns.name));
        let (ready, started) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let namespace = std::fs::File::open(&path).unwrap();
            // Only this thread (and those it starts) moves.
            nix::sched::setns(&namespace, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let mut supervisor = Supervisor::start_at(SocketAddr::new(ip.into(), 0)).await;
                supervisor.configure(config).await;
                let mut tokens = Vec::new();
                for _ in 0..2 {
                    tokens.push(supervisor.access.join_token().await.unwrap());
                }
                let _ = ready.send((supervisor.url(), tokens));
                let _ = stopped.await;
                supervisor.stop().await;
            });
        });
        let (url, tokens) = started.recv_timeout(PATIENCE).expect("the supervisor started");
        Self { url, tokens, stop: Some(stop), thread: Some(thread) }
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the supervisor stopped cleanly");
        }
    }
}

impl Drop for SupervisorInNetns {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Polls `check` every 100 ms until it gives a value; panics after [`PATIENCE`].
fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {PATIENCE:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `vemcmd show card` of the agent in `dir` has `line`.
fn wait_for_card(dir: &Path, line: &str) {
    eventually(&format!("{line:?} in show card of {}", dir.display()), || {
        let args = ["show".to_owned(), "card".to_owned()];
        agent::vemcmd::run(dir, &args).ok().filter(|card| card.lines().any(|l| l == line))
    });
}

fn vemcmd(dir: &Path, args: &str) -> String {
    let args: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
    agent::vemcmd::run(dir, &args).unwrap_or_else(|error| panic!("vemcmd {args:?}: {error}"))
}

fn vemcmd_error(dir: &Path, args: &str) -> String {
    let args: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
    agent::vemcmd::run(dir, &args).expect_err("vemcmd should have refused").to_string()
}

/// The MAC of the one port attached to the agent in `dir`.
fn attached_mac(dir: &Path) -> String {
    match client::ask(dir, &Request::ShowPorts, client::SHOW_TIMEOUT).unwrap() {
        Response::Ports(view) => view.ports[0].mac.clone(),
        other => panic!("show ports answered {other:?}"),
    }
}

/// The packets on the line of `show vxlan`'s tunnel counters labelled `label`.
fn counter(vxlan: &str, label: &str) -> u64 {
    vxlan
        .lines()
        .find_map(|line| line.trim_start().strip_prefix(label)?.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {label} counter in\n{vxlan}"))
}

/// The words of `show vxlan`'s line of bridge-domain `tenant-red`.
fn bridge_domain_line(vxlan: &str) -> Vec<&str> {
    let line = vxlan.lines().find(|line| line.starts_with("tenant-red "));
    line.unwrap_or_else(|| panic!("no tenant-red in\n{vxlan}")).split_whitespace().collect()
}

/// Whether `from` reaches `to` within [`PATIENCE`] (the first pings may need ARP).
fn reaches(from: &Container, to: &Container) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if from.pings(to, 300) {
            return true;
        }
    }
    false
}
