//! A throwaway topology of network namespaces: a "host" namespace where the dataplane runs and
//! "containers", each a namespace with `eth0` whose veth peer sits in the host namespace. Every
//! namespace goes away when the [`Lab`] is dropped, also when a test panics.

use std::fs::File;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use testbed::netns::Netns;
use wire::MacAddr;

/// `true` when running as root; otherwise says loudly that the test is skipped.
pub fn is_root(test: &str) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root =
        status.lines().any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"));
    if !root {
        eprintln!("\n!!!!!!!! SKIPPED {test}: it builds network namespaces and needs root !!!!!!!!\n");
    }
    root
}

pub use testbed::command::{must_run as run, succeeds};

/// Polls `check` every 20 ms until it holds or `timeout` passes; returns its last verdict.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A container: a namespace with `eth0`, whose veth peer `host_end` is in the lab's host namespace.
#[derive(Debug, Clone)]
pub struct Container {
    pub netns: String,
    pub ip: Ipv4Addr,
    pub mac: MacAddr,
    pub host_end: String,
}

impl Container {
    /// Runs `program args…` inside the container.
    pub fn exec(&self, program: &str, args: &[&str]) -> String {
        let mut full = vec!["netns", "exec", &self.netns, program];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// Whether `ping -c count` to `target` gets every answer.
    pub fn pings(&self, target: Ipv4Addr, count: u32) -> bool {
        let count = count.to_string();
        let target = target.to_string();
        succeeds(
            "ip",
            &[
                "netns",
                "exec",
                &self.netns,
                "ping",
                "-n",
                "-q",
                "-c",
                &count,
                "-i",
                "0.2",
                "-W",
                "1",
                &target,
            ],
        )
    }

    /// Frames `eth0` received, by the kernel's count.
    pub fn eth0_rx_packets(&self) -> u64 {
        let count = self.exec("cat", &["/sys/class/net/eth0/statistics/rx_packets"]);
        count.trim().parse().expect("a packet count")
    }

    /// Runs `work` on a thread inside the container's namespace (sockets it opens live there).
    pub fn spawn<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = netns_path(&self.netns);
        std::thread::spawn(move || {
            enter(&path);
            work()
        })
    }
}

/// Moves the calling thread into the namespace at `path`.
pub fn enter(path: &PathBuf) {
    let namespace = File::open(path).unwrap_or_else(|error| panic!("open {}: {error}", path.display()));
    nix::sched::setns(namespace, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

pub fn netns_path(name: &str) -> PathBuf {
    PathBuf::from("/run/netns").join(name)
}

/// The namespaces of one test.
#[derive(Debug)]
pub struct Lab {
    pub host: String,
    namespaces: Vec<Netns>,
}

impl Lab {
    /// A lab with an empty host namespace; [`Netns`] names carry the pid and a counter so
    /// parallel tests and leftovers of killed runs never clash.
    pub fn new() -> Self {
        let mut lab = Self { host: String::new(), namespaces: Vec::new() };
        lab.host = lab.namespace("host");
        lab
    }

    /// A new namespace for `role`, IPv6 off so that only the frames tests send are counted.
    fn namespace(&mut self, role: &str) -> String {
        let netns = Netns::new(role).unwrap_or_else(|error| panic!("netns for {role}: {error:#}"));
        let _ = netns.disable_ipv6();
        let name = netns.name.clone();
        self.namespaces.push(netns);
        name
    }

    /// Another host namespace (for a second switch).
    pub fn add_host(&mut self, name: &str) -> String {
        self.namespace(name)
    }

    /// Container number `n` (1–250) with `10.77.0.n/24` on `eth0`, MAC `02:77:00:00:00:n`,
    /// connected to host end `vc<n>` in the lab's host namespace; both ends up, offloads at the
    /// veth defaults.
    pub fn container(&mut self, n: u8) -> Container {
        let host = self.host.clone();
        self.container_in(&host, n)
    }

    /// Container number `n`, connected to host namespace `host`.
    pub fn container_in(&mut self, host: &str, n: u8) -> Container {
        let netns = self.namespace(&format!("c{n}"));
        let host_end = format!("vc{n}");
        run(
            "ip",
            &["-n", host, "link", "add", &host_end, "type", "veth", "peer", "name", "eth0", "netns", &netns],
        );
        let mac = MacAddr([0x02, 0x77, 0, 0, 0, n]);
        let ip = Ipv4Addr::new(10, 77, 0, n);
        run("ip", &["-n", &netns, "link", "set", "eth0", "address", &mac_text(mac)]);
        run("ip", &["-n", &netns, "addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
        run("ip", &["-n", &netns, "link", "set", "eth0", "up"]);
        run("ip", &["-n", host, "link", "set", &host_end, "up"]);
        Container { netns, ip, mac, host_end }
    }

    /// A veth pair `ifname` — `ifname` between host namespaces `a` and `b` (an uplink), up.
    pub fn connect_hosts(&self, a: &str, b: &str, ifname: &str) {
        run("ip", &["-n", a, "link", "add", ifname, "type", "veth", "peer", "name", ifname, "netns", b]);
        run("ip", &["-n", a, "link", "set", ifname, "up"]);
        run("ip", &["-n", b, "link", "set", ifname, "up"]);
    }

    /// Sets the MTU of both ends of `container`'s link.
    pub fn set_mtu(&self, container: &Container, mtu: u32) {
        let mtu = mtu.to_string();
        run("ip", &["-n", &self.host, "link", "set", &container.host_end, "mtu", &mtu]);
        run("ip", &["-n", &container.netns, "link", "set", "eth0", "mtu", &mtu]);
    }
}

fn mac_text(mac: MacAddr) -> String {
    mac.0.iter().map(|byte| format!("{byte:02x}")).collect::<Vec<_>>().join(":")
}
