//! A testbed of real processes on loopback: one supervisor (embedded store in a temp dir) and any
//! number of agents, all started from the `switchyard` binary under test, all stopped on drop.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod containers;
pub mod fabric;
pub mod ha;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use switchyard::netns::{Netns, lossy};
use switchyard::processes::{Children, free_loopback_addr};
use switchyard::shell::client::SupervisorClient;
use switchyard::sshd::SshServer;

pub const SUPERVISOR: &str = "supervisor";

pub struct Testbed {
    pub root: tempfile::TempDir,
    pub url: String,
    listen: String,
    pub children: Children,
    pub client: SupervisorClient,
}

impl Testbed {
    /// A running supervisor, answering REST.
    pub fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        let listen = free_loopback_addr().unwrap().to_string();
        let url = format!("https://{listen}");
        let children = Children::new(exe(), root.path()).unwrap();
        let client = SupervisorClient::new(&url);
        let mut bed = Self { root, url, listen, children, client };
        bed.start_supervisor();
        bed
    }

    /// (Re)starts the supervisor on the same address and store and waits until it answers; the
    /// client logs in as `admin` with the password the supervisor generated on first start.
    pub fn start_supervisor(&mut self) {
        let dir = self.supervisor_dir().display().to_string();
        self.children
            .spawn(SUPERVISOR, &["supervisor", "--data-dir", &dir, "--listen", &self.listen])
            .unwrap();
        self.wait_until("the admin password", Duration::from_secs(20), |bed| {
            switchyard::shell::login::local_admin(&bed.supervisor_dir()).is_some()
        });
        let admin = switchyard::shell::login::local_admin(&self.supervisor_dir()).unwrap();
        self.client =
            SupervisorClient::new(&self.url).with_ca_cert(&self.ca_cert()).unwrap().with_login(admin);
        self.wait_until("the supervisor answers", Duration::from_secs(20), |bed| {
            bed.client.exec("show module").is_ok()
        });
    }

    /// `Authorization: Basic …` of `admin`, for raw REST calls.
    pub fn admin_authorization(&self) -> String {
        let password = switchyard::shell::login::local_admin_password(&self.supervisor_dir()).unwrap();
        supervisor::trust::credentials::basic_header("admin", &password)
    }

    /// The CA the supervisor made (what clients trust).
    pub fn ca_cert(&self) -> PathBuf {
        self.supervisor_dir().join("tls/ca.pem")
    }

    /// The supervisor's data dir (its store, its generated admin password).
    pub fn supervisor_dir(&self) -> PathBuf {
        self.root.path().join(SUPERVISOR)
    }

    pub fn agent_dir(&self, host: &str) -> PathBuf {
        self.root.path().join(host)
    }

    /// Starts the agent of `host` (with a join token the first time); does not wait.
    pub fn spawn_agent(&mut self, host: &str) {
        let url = self.url.clone();
        self.spawn_agent_of(host, &url);
    }

    /// [`Self::spawn_agent`] with `--supervisor SUPERVISORS` (one URL or several).
    pub fn spawn_agent_of(&mut self, host: &str, supervisors: &str) {
        let dir = self.agent_dir(host).display().to_string();
        let mut argv: Vec<String> =
            ["agent", "--supervisor", supervisors, "--host-name", host, "--data-dir", &dir]
                .map(String::from)
                .into();
        argv.extend(self.join_args(host));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.children.spawn(host, &argv).unwrap();
    }

    /// `--join-token T --ca-hash H` for an agent not enrolled yet; nothing once it is.
    pub fn join_args(&self, host: &str) -> Vec<String> {
        if self.agent_dir(host).join("tls/client.pem").exists() {
            return Vec::new();
        }
        self.new_join_args()
    }

    /// `--join-token T --ca-hash H` with a fresh token.
    pub fn new_join_args(&self) -> Vec<String> {
        switchyard::join::Join::create(&self.client).unwrap().args().to_vec()
    }

    /// Starts the agent of `host` with a fresh join token even though it enrolled before (its
    /// certificate was revoked or its module removed), and waits until it is online.
    pub fn start_agent_joining(&mut self, host: &str) {
        let dir = self.agent_dir(host).display().to_string();
        let mut argv: Vec<String> =
            ["agent", "--supervisor", &self.url, "--host-name", host, "--data-dir", &dir]
                .map(String::from)
                .into();
        argv.extend(self.new_join_args());
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.children.spawn(host, &argv).unwrap();
        self.wait_until(&format!("{host} online"), Duration::from_secs(30), |bed| {
            bed.module_status(host).as_deref() == Some("ok")
        });
    }

    /// Starts the agent of `host` and waits until `show module` lists it online.
    pub fn start_agent(&mut self, host: &str) {
        self.spawn_agent(host);
        self.wait_until(&format!("{host} online"), Duration::from_secs(20), |bed| {
            bed.module_status(host).as_deref() == Some("ok")
        });
    }

    pub fn kill9(&mut self, name: &str) {
        self.children.signal(name, Signal::SIGKILL).unwrap();
    }

    /// `show module` as text.
    pub fn show(&self, command: &str) -> String {
        self.client.exec(command).unwrap_or_else(|e| panic!("{command}: {e}"))
    }

    /// The module number and status `show module` gives `host`, from the Server-Name table.
    pub fn module_of(&self, host: &str) -> Option<u32> {
        let out = self.client.exec("show module").ok()?;
        out.lines()
            .filter(|l| l.split_whitespace().last() == Some(host))
            .find_map(|l| l.split_whitespace().next()?.parse().ok())
    }

    /// The Status column of `host`'s module row (`ok`, `offline`).
    pub fn module_status(&self, host: &str) -> Option<String> {
        module_status(&self.client.exec("show module").ok()?, host)
    }

    /// Runs `switchyard shell` with these arguments and stdin, as `admin` (the shell finds the
    /// generated password in the supervisor's data dir, as on the supervisor's host).
    pub fn shell(&self, args: &[&str], stdin: &str) -> Output {
        let dir = self.supervisor_dir().display().to_string();
        let mut with_dir = vec!["--data-dir", dir.as_str()];
        with_dir.extend_from_slice(args);
        self.shell_without_login(&with_dir, stdin)
    }

    /// Runs `switchyard shell` with only these arguments (no data dir: no automatic login), with
    /// no `SWITCHYARD_*` variables from the test's environment.
    pub fn shell_without_login(&self, args: &[&str], stdin: &str) -> Output {
        self.shell_of(&self.url, args, stdin)
    }

    /// [`Self::shell_without_login`] with `--supervisor SUPERVISORS` (one URL or several).
    pub fn shell_of(&self, supervisors: &str, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(exe())
            .arg("shell")
            .arg("--supervisor")
            .arg(supervisors)
            .arg("--ca-cert")
            .arg(self.ca_cert())
            .env_remove("SWITCHYARD_USER")
            .env_remove("SWITCHYARD_PASSWORD")
            .env("SWITCHYARD_DATA_DIR", self.root.path().join("no-such-dir"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// The policies the agent of `host` holds on disk.
    pub fn agent_policies(&self, host: &str) -> agent::PolicySnapshot {
        let dir = agent::DataDir::new(self.agent_dir(host));
        agent::persist::load(&dir.policies_file()).ok().flatten().unwrap_or_default()
    }

    /// Polls until `ready` holds; panics with the supervisor's and agents' logs if it never does.
    pub fn wait_until(&mut self, what: &str, limit: Duration, mut ready: impl FnMut(&Self) -> bool) {
        poll_until(what, limit, || ready(self), || self.logs());
    }

    /// Every child's log, for failure messages.
    pub fn logs(&self) -> String {
        logs_of(&self.children, 30)
    }
}

/// Polls `ready` every 100 ms until it holds; after `limit`, panics with `what` and `logs()`.
pub fn poll_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool, logs: impl Fn() -> String) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {limit:?} waiting for: {what}\n{}", logs());
}

/// The Status column (`ok`, `offline`) of `host`'s module in `show module` output.
pub fn module_status(show_module: &str, host: &str) -> Option<String> {
    let module = show_module
        .lines()
        .filter(|l| l.split_whitespace().last() == Some(host))
        .find_map(|l| l.split_whitespace().next())?;
    show_module
        .lines()
        .find(|l| l.split_whitespace().next() == Some(module) && l.contains("Virtual Ethernet Module"))
        .and_then(|l| l.split_whitespace().last().map(str::to_owned))
}

/// `bytes` of TCP from `client` to an iperf3 server in `server` (at `server_ip`), offloads as the
/// containers have them. Checks all of it was sent (iperf3 may round up to a block) and nearly all
/// counted by the server (it stops counting with some still in flight); returns its Gbit/s.
pub fn iperf3_checked(client: &Netns, server: &Netns, server_ip: &str, bytes: u64) -> f64 {
    let mut daemon = server.spawn(&["iperf3", "-s", "-1", "-p", "5201"]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let amount = bytes.to_string();
    let out = client
        .exec(&["timeout", "60", "iperf3", "-c", server_ip, "-p", "5201", "-n", &amount, "-J"])
        .unwrap();
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert!(out.status.success(), "iperf3: {}{}", lossy(&out.stdout), lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sent = report["end"]["sum_sent"]["bytes"].as_u64().unwrap();
    let received = report["end"]["sum_received"]["bytes"].as_u64().unwrap();
    assert!(sent >= bytes, "iperf3 sent {sent} of {bytes} bytes: {report}");
    assert!(received >= bytes / 10 * 8, "the server counted {received} of {bytes} bytes");
    report["end"]["sum_received"]["bits_per_second"].as_f64().unwrap() / 1e9
}

/// The last `lines` lines of every child's log, for failure messages.
pub fn logs_of(children: &Children, lines: usize) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(children.log_dir()).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(lines).collect();
        all += &format!("--- {} (last lines)\n", entry.path().display());
        for line in tail.into_iter().rev() {
            all += line;
            all.push('\n');
        }
    }
    all
}

/// The N of the `VethernetN` that `switchyard attach` printed; panics if it printed anything else.
pub fn attached_veth(out: &Output) -> u32 {
    let printed = stdout(out);
    printed
        .trim()
        .strip_prefix("Vethernet")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("attach printed {printed:?}"))
}

/// Logs into a real sshd started in `server` from `client`, pushes `bytes` random bytes through
/// the session and checks that the sha256 sshd's side computed is the one of the bytes sent.
/// Every byte crosses the switch in TCP segments (GSO super-frames where offloads allow).
pub fn ssh_transfer_checked(client: &Netns, server: &Netns, server_ip: &str, bytes: u64) {
    let keys = tempfile::tempdir().unwrap();
    let ssh = SshServer::start(server, keys.path()).unwrap();
    let sent = keys.path().join("sent");
    let script = format!(
        "head -c {bytes} /dev/urandom | tee {sent} | {ssh} root@{server_ip} sha256sum; sha256sum < {sent}",
        sent = sent.display(),
        ssh = ssh.client_command(),
    );
    let out = client.exec(&["timeout", "120", "sh", "-c", &script]).unwrap();
    assert!(out.status.success(), "ssh: {}{}", lossy(&out.stdout), lossy(&out.stderr));
    let sums: Vec<String> =
        lossy(&out.stdout).lines().map(|l| l.split_whitespace().next().unwrap_or("").to_owned()).collect();
    assert_eq!(sums.len(), 2, "{sums:?} {}", lossy(&out.stderr));
    assert_eq!(sums[0], sums[1], "the bytes sshd received differ from those sent");
}

/// True (and says so loudly) when the tests cannot run here: they need root for network
/// namespaces, veth pairs and AF_PACKET.
pub fn skip_unless_root() -> bool {
    if !switchyard::netns::is_root() {
        // Past libtest's capture: a skip must show even when the test "passes".
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "*** SKIPPED: these tests need root (network namespaces, veth, AF_PACKET) ***"
        );
        return true;
    }
    false
}

/// The binary under test.
pub fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_switchyard"))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
