//! High availability testbed: three supervisors, all active, on a real three-member etcd cluster
//! on loopback, and agents (in the root namespace, each with its own data dir) given all three
//! addresses. Every process is real and started from the binary under test; supervisors, etcd
//! members and agents can be killed with -9 and started again. Everything stops on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use switchyard::netns::Netns;
use switchyard::processes::{Children, free_loopback_addr};
use switchyard::shell::client::SupervisorClient;
use testbed::etcd::EtcdCluster;

use super::{attached_veth, exe, logs_of, module_status, poll_until, stderr, stdout};

/// How many supervisors (and etcd members) the bed runs.
pub const SUPERVISORS: usize = 3;
/// The port-profile containers attach to (the test configures it).
pub const PROFILE: &str = "web";

/// Three supervisors on one etcd, and agents knowing all three.
pub struct HaBed {
    // Declared first, dropped first: the processes stop before etcd and their directories go.
    pub children: Children,
    pub etcd: EtcdCluster,
    pub root: tempfile::TempDir,
    listens: Vec<String>,
    /// The supervisors' ids (their data dirs' `supervisor-id`), by index.
    pub ids: Vec<String>,
}

impl HaBed {
    /// A three-member etcd and three supervisors on it, each answering.
    pub fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        let etcd = EtcdCluster::start(SUPERVISORS);
        let children = Children::new(exe(), root.path()).unwrap();
        let listens = (0..SUPERVISORS).map(|_| free_loopback_addr().unwrap().to_string()).collect();
        let mut bed = Self { children, etcd, root, listens, ids: Vec::new() };
        for index in 0..SUPERVISORS {
            bed.start_supervisor(index);
        }
        bed.ids = (0..SUPERVISORS)
            .map(|index| {
                std::fs::read_to_string(bed.supervisor_dir(index).join("supervisor-id"))
                    .unwrap()
                    .trim()
                    .to_owned()
            })
            .collect();
        bed
    }

    /// `etcd://127.0.0.1:P1,127.0.0.1:P2,…`.
    pub fn store_url(&self) -> String {
        let hosts: Vec<String> = self
            .etcd
            .endpoints()
            .iter()
            .map(|endpoint| endpoint.trim_start_matches("http://").to_owned())
            .collect();
        format!("etcd://{}", hosts.join(","))
    }

    pub fn supervisor_dir(&self, index: usize) -> PathBuf {
        self.root.path().join(format!("supervisor{index}"))
    }

    /// The name supervisor `index` has among the children (and its log's name).
    pub fn supervisor_name(index: usize) -> String {
        format!("supervisor{index}")
    }

    pub fn url(&self, index: usize) -> String {
        format!("https://{}", self.listens[index])
    }

    /// Every supervisor's URL, comma-separated: what agents and the shell are given.
    pub fn urls(&self) -> String {
        (0..SUPERVISORS).map(|index| self.url(index)).collect::<Vec<_>>().join(",")
    }

    /// Starts supervisor `index` (again) on its data dir and address; does not wait.
    pub fn spawn_supervisor(&mut self, index: usize) {
        let dir = self.supervisor_dir(index).display().to_string();
        let store = self.store_url();
        let listen = self.listens[index].clone();
        self.children
            .spawn(
                &Self::supervisor_name(index),
                &["supervisor", "--store", &store, "--data-dir", &dir, "--listen", &listen],
            )
            .unwrap();
    }

    /// (Re)starts supervisor `index` and waits until it answers.
    pub fn start_supervisor(&mut self, index: usize) {
        self.spawn_supervisor(index);
        self.wait_supervisor(index, Duration::from_secs(30));
    }

    /// Waits until supervisor `index` answers `show module`.
    pub fn wait_supervisor(&self, index: usize, limit: Duration) {
        poll_until(
            &format!("supervisor{index} answers"),
            limit,
            || self.client_of(index).is_some_and(|client| client.exec("show module").is_ok()),
            || self.logs(),
        );
    }

    pub fn kill_supervisor(&mut self, index: usize) {
        self.children.signal(&Self::supervisor_name(index), Signal::SIGKILL).unwrap();
    }

    /// `admin` with the password supervisor 0 generated (the account is in the shared store).
    fn admin(&self) -> Option<switchyard::shell::client::Login> {
        switchyard::shell::login::local_admin(&self.supervisor_dir(0))
    }

    /// The CA every supervisor's certificate comes from (the first supervisor put it in the store).
    pub fn ca_cert(&self) -> PathBuf {
        self.supervisor_dir(0).join("tls/ca.pem")
    }

    /// A client of supervisor `index` alone, logged in as `admin`.
    pub fn client_of(&self, index: usize) -> Option<SupervisorClient> {
        let ca = self.supervisor_dir(index).join("tls/ca.pem");
        if !ca.exists() {
            return None;
        }
        Some(SupervisorClient::new(&self.url(index)).with_ca_cert(&ca).ok()?.with_login(self.admin()?))
    }

    /// A client of every supervisor, moving on from one that does not answer.
    pub fn client(&self) -> SupervisorClient {
        let endpoints: agent_api::SupervisorEndpoints = self.urls().parse().unwrap();
        SupervisorClient::with_endpoints(&endpoints)
            .with_ca_cert(&self.ca_cert())
            .unwrap()
            .with_login(self.admin().unwrap())
    }

    /// A show command on supervisor `index`; panics with the logs if it fails.
    pub fn show(&self, index: usize, command: &str) -> String {
        self.client_of(index)
            .unwrap()
            .exec(command)
            .unwrap_or_else(|e| panic!("{command} on supervisor{index}: {e}\n{}", self.logs()))
    }

    /// The `Status` column of `host`'s module in `show module` of supervisor `index`.
    pub fn module_status(&self, index: usize, host: &str) -> Option<String> {
        module_status(&self.client_of(index)?.exec("show module").ok()?, host)
    }

    /// What runs `switchyard shell` against every supervisor, from any thread.
    pub fn shell(&self) -> Shell {
        Shell { urls: self.urls(), ca: self.ca_cert(), login_dir: self.supervisor_dir(0) }
    }

    pub fn agent_dir(&self, host: &str) -> PathBuf {
        self.root.path().join(host)
    }

    /// Starts the agent of `host` with every supervisor's URL (enrolling with a join token the
    /// first time); does not wait.
    pub fn spawn_agent(&mut self, host: &str) {
        let dir = self.agent_dir(host).display().to_string();
        let urls = self.urls();
        let mut argv: Vec<String> = ["agent", "--supervisor", &urls, "--host-name", host, "--data-dir", &dir]
            .map(String::from)
            .into();
        if !self.agent_dir(host).join("tls/client.pem").exists() {
            argv.extend(switchyard::join::Join::create(&self.client()).unwrap().args().iter().cloned());
        }
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.children.spawn(host, &argv).unwrap();
    }

    /// Starts the agent of `host` and waits until every running supervisor lists it online.
    pub fn start_agent(&mut self, host: &str) {
        self.spawn_agent(host);
        poll_until(
            &format!("{host} online"),
            Duration::from_secs(30),
            || self.module_status(1, host).as_deref() == Some("ok"),
            || self.logs(),
        );
    }

    pub fn kill_agent(&mut self, host: &str) {
        self.children.signal(host, Signal::SIGKILL).unwrap();
    }

    /// The policies the agent of `host` holds on disk.
    pub fn agent_policies(&self, host: &str) -> agent::PolicySnapshot {
        agent_policies(&self.agent_dir(host))
    }

    /// `switchyard vemcmd ARGS` on `host`; panics if it fails.
    pub fn vemcmd(&self, host: &str, args: &str) -> String {
        let out = Command::new(exe())
            .arg("vemcmd")
            .args(args.split_whitespace())
            .arg("--data-dir")
            .arg(self.agent_dir(host))
            .output()
            .unwrap();
        assert!(out.status.success(), "vemcmd {args} on {host}: {}", stderr(&out));
        stdout(&out)
    }

    /// The index of the supervisor serving some agent, from `show system redundancy status` as
    /// supervisor `asked` sees it.
    pub fn serving(&self, asked: usize) -> Option<usize> {
        let out = self.client_of(asked)?.exec("show system redundancy status").ok()?;
        // Fixed columns: Sup (5), Status (10), Modules (9), …, Id last.
        out.lines().find_map(|line| {
            let modules: u32 = line.get(15..24)?.trim().parse().ok()?;
            let id = line.split_whitespace().last()?;
            (modules > 0).then(|| self.ids.iter().position(|known| known == id)).flatten()
        })
    }

    /// A new namespace `name` attached to [`PROFILE`] on `host` with `ip`/24; its VethN.
    pub fn attach(&self, host: &str, name: &str, ip: &str) -> (Netns, u32) {
        let ns = Netns::new(name).unwrap();
        let prefix = format!("{ip}/24");
        let out = Command::new(exe())
            .args(["attach", "--netns", &ns.name, "--profile", PROFILE, "--name", name, "--ip", &prefix])
            .arg("--data-dir")
            .arg(self.agent_dir(host))
            .output()
            .unwrap();
        assert!(out.status.success(), "attach {name}: {}{}\n{}", stdout(&out), stderr(&out), self.logs());
        (ns, attached_veth(&out))
    }

    /// The end of every child's and every etcd member's log, for failure messages.
    pub fn logs(&self) -> String {
        format!("{}\netcd:\n{}", logs_of(&self.children, 30), self.etcd.logs())
    }
}

/// The policies the agent with data dir `dir` holds on disk.
pub fn agent_policies(dir: &std::path::Path) -> agent::PolicySnapshot {
    let dir = agent::DataDir::new(dir);
    agent::persist::load(&dir.policies_file()).ok().flatten().unwrap_or_default()
}

/// `switchyard shell --supervisor <all three>` as `admin`, for any thread.
#[derive(Debug, Clone)]
pub struct Shell {
    urls: String,
    ca: PathBuf,
    /// Where the generated admin password is (the shell reads it as on the supervisor's host).
    login_dir: PathBuf,
}

/// One `switchyard shell -c` run: its output (`None`: killed at the limit) and how long it took.
#[derive(Debug)]
pub struct ShellRun {
    pub output: Option<Output>,
    pub took: Duration,
}

impl ShellRun {
    /// Exit status 0.
    pub fn ok(&self) -> bool {
        self.output.as_ref().is_some_and(|out| out.status.success())
    }

    /// Its stdout and stderr, for messages.
    pub fn text(&self) -> String {
        match &self.output {
            Some(out) => format!("{}{}", stdout(out), stderr(out)),
            None => format!("(killed after {:?})", self.took),
        }
    }
}

impl Shell {
    /// Runs `switchyard shell -c SCRIPT`, killed if it takes longer than `limit`.
    pub fn run(&self, script: &str, limit: Duration) -> ShellRun {
        let mut command = Command::new(exe());
        command
            .arg("shell")
            .arg("--supervisor")
            .arg(&self.urls)
            .arg("--ca-cert")
            .arg(&self.ca)
            .arg("--data-dir")
            .arg(&self.login_dir)
            .args(["-c", script])
            .env_remove("SWITCHYARD_USER")
            .env_remove("SWITCHYARD_PASSWORD");
        let started = Instant::now();
        let output = output_within(command, limit);
        ShellRun { output, took: started.elapsed() }
    }
}

/// Runs `command` (stdin empty, output captured) and waits at most `limit` for it; a command
/// still running then is killed and `None` returned.
pub fn output_within(mut command: Command, limit: Duration) -> Option<Output> {
    let child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    let (done, finished) = mpsc::channel();
    // The waiting thread owns the child and reaps it, so the pid stays ours until then.
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(limit) {
        Ok(output) => Some(output.unwrap()),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            let _ = finished.recv();
            None
        }
    }
}

/// A ping running in `from` towards `to` every 100 ms until stopped; returns (sent, received).
pub struct Pinger(Child);

impl Pinger {
    pub fn start(from: &Netns, to: &str) -> Self {
        let child = Command::new("ip")
            .args(["netns", "exec", &from.name, "ping", "-i", "0.1", "-w", "300", "-q", to])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Self(child)
    }

    pub fn stop(mut self) -> (u32, u32) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0.id() as i32), Signal::SIGINT);
        let out =
            std::mem::replace(&mut self.0, Command::new("true").spawn().unwrap()).wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = text
            .lines()
            .find(|line| line.contains("packets transmitted"))
            .unwrap_or_else(|| panic!("ping said: {text}"));
        let numbers: Vec<u32> =
            line.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
        (numbers[0], numbers[1])
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The VLAN ids of `show running-config`'s `vlan 1,100-102` line (empty when it has none).
pub fn configured_vlans(running_config: &str) -> std::collections::BTreeSet<u16> {
    let Some(list) =
        running_config.lines().find_map(|line| line.strip_prefix("vlan ").filter(|rest| !rest.contains(' ')))
    else {
        return Default::default();
    };
    let mut vlans = std::collections::BTreeSet::new();
    for item in list.split(',') {
        let (first, last) = item.split_once('-').unwrap_or((item, item));
        let (first, last): (u16, u16) = (first.parse().unwrap(), last.parse().unwrap());
        vlans.extend(first..=last);
    }
    vlans
}
