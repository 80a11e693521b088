//! High availability: three supervisors, all active, on a real three-member etcd cluster on
//! loopback; an agent given all three addresses; containers pinging each other while the
//! agent's supervisor is killed with -9 and etcd members die.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{exe, logs_of, poll_until, skip_unless_root, stdout};
use nix::sys::signal::Signal;
use switchyard::netns::Netns;
use switchyard::processes::{Children, free_loopback_addr};
use switchyard::shell::client::SupervisorClient;
use testbed::etcd::EtcdCluster;

const HOST: &str = "bilbo";

/// Three supervisors on one etcd, and the agent of [`HOST`] knowing all three.
struct HaBed {
    root: tempfile::TempDir,
    etcd: EtcdCluster,
    children: Children,
    listens: Vec<String>,
    /// The supervisors' ids (their data dirs' `supervisor-id`), by index.
    ids: Vec<String>,
}

impl HaBed {
    fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        let etcd = EtcdCluster::start(3);
        let children = Children::new(exe(), root.path()).unwrap();
        let listens = (0..3).map(|_| free_loopback_addr().unwrap().to_string()).collect();
        let mut bed = Self { root, etcd, children, listens, ids: Vec::new() };
        for index in 0..3 {
            bed.start_supervisor(index);
        }
        bed.ids = (0..3)
            .map(|index| {
                std::fs::read_to_string(bed.supervisor_dir(index).join("supervisor-id"))
                    .unwrap()
                    .trim()
                    .to_owned()
            })
            .collect();
        bed
    }

    fn store_url(&self) -> String {
        let hosts: Vec<String> = self
            .etcd
            .endpoints()
            .iter()
            .map(|endpoint| endpoint.trim_start_matches("http://").to_owned())
            .collect();
        format!("etcd://{}", hosts.join(","))
    }

    fn supervisor_dir(&self, index: usize) -> std::path::PathBuf {
        self.root.path().join(format!("supervisor{index}"))
    }

    fn url(&self, index: usize) -> String {
        format!("https://{}", self.listens[index])
    }

    fn urls(&self) -> String {
        (0..3).map(|index| self.url(index)).collect::<Vec<_>>().join(",")
    }

    /// (Re)starts supervisor `index` and waits until it answers.
    fn start_supervisor(&mut self, index: usize) {
        let dir = self.supervisor_dir(index).display().to_string();
        let store = self.store_url();
        let listen = self.listens[index].clone();
        let name = format!("supervisor{index}");
        self.children
            .spawn(&name, &["supervisor", "--store", &store, "--data-dir", &dir, "--listen", &listen])
            .unwrap();
        poll_until(
            &format!("{name} answers"),
            Duration::from_secs(30),
            || self.client_of(index).is_some_and(|client| client.exec("show module").is_ok()),
            || self.logs(),
        );
    }

    /// A client of supervisor `index`, logged in as the admin supervisor 0 made.
    fn client_of(&self, index: usize) -> Option<SupervisorClient> {
        let admin = switchyard::shell::login::local_admin(&self.supervisor_dir(0))?;
        let ca = self.supervisor_dir(index).join("tls/ca.pem");
        if !ca.exists() {
            return None;
        }
        Some(SupervisorClient::new(&self.url(index)).with_ca_cert(&ca).ok()?.with_login(admin))
    }

    fn show(&self, index: usize, command: &str) -> String {
        self.client_of(index)
            .unwrap()
            .exec(command)
            .unwrap_or_else(|e| panic!("{command} on {index}: {e}\n{}", self.logs()))
    }

    fn agent_dir(&self) -> std::path::PathBuf {
        self.root.path().join(HOST)
    }

    fn start_agent(&mut self) {
        let join = switchyard::join::Join::create(&self.client_of(0).unwrap()).unwrap();
        let dir = self.agent_dir().display().to_string();
        let urls = self.urls();
        let mut argv: Vec<String> = ["agent", "--supervisor", &urls, "--host-name", HOST, "--data-dir", &dir]
            .map(String::from)
            .into();
        argv.extend(join.args().iter().cloned());
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.children.spawn(HOST, &argv).unwrap();
        poll_until(
            "the agent online",
            Duration::from_secs(30),
            || {
                self.client_of(1)
                    .and_then(|c| c.exec("show module").ok())
                    .and_then(|out| common::module_status(&out, HOST))
                    .as_deref()
                    == Some("ok")
            },
            || self.logs(),
        );
    }

    /// The index of the supervisor serving the agent, from `show system redundancy status` as
    /// supervisor `asked` sees it.
    fn serving(&self, asked: usize) -> Option<usize> {
        let out = self.client_of(asked)?.exec("show system redundancy status").ok()?;
        // Fixed columns: Sup (5), Status (10), Modules (9), …, Id last.
        out.lines().find_map(|line| {
            let modules: u32 = line.get(15..24)?.trim().parse().ok()?;
            let id = line.split_whitespace().last()?;
            (modules > 0).then(|| self.ids.iter().position(|known| known == id)).flatten()
        })
    }

    fn attach(&self, name: &str, ip: &str) -> (Netns, u32) {
        let ns = Netns::new(name).unwrap();
        let prefix = format!("{ip}/24");
        let out = Command::new(exe())
            .args([
                "attach",
                "--netns",
                &ns.name,
                "--profile",
                "web",
                "--name",
                name,
                "--ip",
                &prefix,
                "--data-dir",
            ])
            .arg(self.agent_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "attach {name}: {}{}\n{}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        (ns, common::attached_veth(&out))
    }

    fn logs(&self) -> String {
        format!("{}\netcd:\n{}", logs_of(&self.children, 30), self.etcd.logs())
    }
}

/// A ping running in `from` towards `to` every 100 ms until stopped; returns (sent, received).
struct Pinger(Child);

impl Pinger {
    fn start(from: &Netns, to: &str) -> Self {
        let child = Command::new("ip")
            .args(["netns", "exec", &from.name, "ping", "-i", "0.1", "-w", "120", "-q", to])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Self(child)
    }

    fn stop(mut self) -> (u32, u32) {
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

#[test]
fn a_killed_supervisor_loses_nothing_and_its_agent_moves_on() {
    if skip_unless_root() {
        return;
    }
    let mut bed = HaBed::start();
    // Every supervisor sees all three, each marking itself.
    for index in 0..3 {
        let modules = bed.show(index, "show module");
        for number in 1..=3 {
            assert!(
                modules
                    .lines()
                    .any(|line| line.starts_with(&format!("{number:<5}0      Virtual Supervisor Module"))
                        && line.contains("active")),
                "supervisor {number} not listed as active by supervisor {index}:\n{modules}"
            );
        }
        assert_eq!(modules.matches("active *").count(), 1, "{modules}");
    }
    bed.client_of(0)
        .unwrap()
        .configure(
            "vlan 100\nport-profile type vethernet web\n  switchport access vlan 100\n  state enabled\n",
        )
        .unwrap();
    bed.start_agent();
    let (c1, v1) = bed.attach("ha-c1", "10.77.1.1");
    let (_c2, v2) = bed.attach("ha-c2", "10.77.1.2");
    assert_ne!(v1, v2);
    c1.exec_ok(&["ping", "-c", "2", "-W", "2", "10.77.1.2"]).unwrap();

    let serving = bed.serving(0).unwrap_or_else(|| {
        panic!("nobody serves the agent:\n{}", bed.show(0, "show system redundancy status"))
    });
    let survivor = (serving + 1) % 3;
    let pinger = Pinger::start(&c1, "10.77.1.2");
    std::thread::sleep(Duration::from_secs(1));
    bed.children.signal(&format!("supervisor{serving}"), Signal::SIGKILL).unwrap();
    let killed = Instant::now();
    poll_until(
        "the agent served by another supervisor",
        Duration::from_secs(5),
        || bed.serving(survivor).is_some_and(|now| now != serving),
        || bed.logs(),
    );
    let failover = killed.elapsed();
    eprintln!("failover took {failover:?}");
    let status = common::module_status(&bed.show(survivor, "show module"), HOST);
    assert_eq!(status.as_deref(), Some("ok"), "{}", bed.show(survivor, "show module"));
    // The killed supervisor shows as offline once its lease is gone.
    poll_until(
        "the killed supervisor offline",
        Duration::from_secs(15),
        || {
            bed.show(survivor, "show module")
                .lines()
                .any(|line| line.starts_with(&format!("{:<5}", serving + 1)) && line.ends_with("offline"))
        },
        || bed.logs(),
    );
    // Work goes on: a new port gets a new number, a change reaches the agent.
    let (c3, v3) = bed.attach("ha-c3", "10.77.1.3");
    assert!(v3 != v1 && v3 != v2, "Vethernet{v3} handed out twice");
    c3.exec_ok(&["ping", "-c", "2", "-W", "2", "10.77.1.1"]).unwrap();
    let (sent, received) = pinger.stop();
    assert!(sent >= 20, "only {sent} pings sent");
    assert_eq!(sent, received, "pings lost while the supervisor died: {sent} sent, {received} received");

    // The killed supervisor comes back with its number.
    bed.start_supervisor(serving);
    let modules = bed.show(serving, "show module");
    assert!(
        modules.contains(&format!(
            "{:<5}0      Virtual Supervisor Module         Switchyard          active *",
            serving + 1
        )),
        "{modules}"
    );
}
