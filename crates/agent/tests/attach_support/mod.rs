//! Scaffolding for the attach tests: network namespaces, processes and host links that clean
//! themselves up when dropped (a failing assertion unwinds through them too), and `ip -j` reads
//! of what the kernel really holds.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A name no other test (or test run) uses: `prefix` + pid + counter, short enough for netns
/// and interface names.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}{}-{}", std::process::id() % 100_000, NEXT.fetch_add(1, Ordering::Relaxed))
}

pub use testbed::command::{must_run as run, succeeds};

/// Says loudly that a test is skipping, on the real stderr: libtest captures `eprintln!`
/// of passing tests, but not direct writes.
pub fn loud_skip(test: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED {test}: {reason} ***\n");
}

/// Fails the test at once, with the reason, unless it runs as root.
pub fn require_root() {
    let uid = run("id", &["-u"]);
    assert_eq!(uid.trim(), "0", "the attach tests make network namespaces and veth pairs: run them as root");
}

/// Where `ip` commands run: a named namespace, a process's namespace, or the host.
#[derive(Debug, Clone)]
pub enum Place {
    Host,
    Netns(String),
    Pid(u32),
}

impl Place {
    /// `ip -j ARGS` here, parsed; an `ip` failure (no such device) reads as `None`.
    pub fn ip_json(&self, args: &[&str]) -> Option<Value> {
        let mut command = match self {
            Place::Host => Command::new("ip"),
            Place::Netns(name) => {
                let mut command = Command::new("ip");
                command.args(["-n", name]);
                command
            }
            Place::Pid(pid) => {
                let mut command = Command::new("nsenter");
                command.args(["-t", &pid.to_string(), "-n", "ip"]);
                command
            }
        };
        let output = command.arg("-j").args(args).stdin(Stdio::null()).output().expect("run ip");
        if !output.status.success() {
            return None;
        }
        Some(serde_json::from_slice(&output.stdout).expect("ip -j prints JSON"))
    }

    /// `ip -j -d link show dev NAME`'s one entry, if the link exists here.
    pub fn link(&self, name: &str) -> Option<Value> {
        self.ip_json(&["-d", "link", "show", "dev", name]).and_then(|links| links.get(0).cloned())
    }

    /// The IPv4 addresses on `name`, as `a.b.c.d/len`.
    pub fn ipv4_addresses(&self, name: &str) -> Vec<String> {
        self.addresses(name, "inet")
    }

    /// Every address on `name` of `family` (`inet`, `inet6`).
    pub fn addresses(&self, name: &str, family: &str) -> Vec<String> {
        let Some(entries) = self.ip_json(&["addr", "show", "dev", name]) else { return Vec::new() };
        let infos = entries
            .get(0)
            .and_then(|e| e.get("addr_info"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        infos
            .iter()
            .filter(|info| info.get("family").and_then(Value::as_str) == Some(family))
            .map(|info| format!("{}/{}", info["local"].as_str().unwrap_or("?"), info["prefixlen"]))
            .collect()
    }

    /// The default route, if any.
    pub fn default_route(&self) -> Option<Value> {
        self.ip_json(&["route", "show", "default"]).and_then(|routes| routes.get(0).cloned())
    }
}

/// Whether a link's `flags` include `flag`.
pub fn has_flag(link: &Value, flag: &str) -> bool {
    link.get("flags").and_then(Value::as_array).is_some_and(|flags| flags.iter().any(|f| f == flag))
}

/// A network namespace, deleted on drop (which also destroys every interface still in it, and
/// so the veth pairs they belong to); the attach tests' view of a [`testbed::netns::Netns`].
#[derive(Debug)]
pub struct Netns(testbed::netns::Netns);

impl Netns {
    pub fn new() -> Self {
        Self(testbed::netns::Netns::new("syt").expect("ip netns add"))
    }

    pub fn place(&self) -> Place {
        Place::Netns(self.name.clone())
    }

    /// `ip -n NAME ARGS`, panicking if it fails.
    pub fn ip(&self, args: &[&str]) {
        self.0.ip(args).unwrap_or_else(|error| panic!("{error:#}"));
    }
}

impl std::ops::Deref for Netns {
    type Target = testbed::netns::Netns;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// A `sleep` in a network namespace of its own (`unshare -n`), killed on drop.
#[derive(Debug)]
pub struct Sleeper {
    child: Child,
}

impl Sleeper {
    pub fn in_new_netns() -> Self {
        let child = Command::new("unshare")
            .args(["-n", "sleep", "120"])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare -n sleep");
        let sleeper = Self { child };
        // `unshare` execs `sleep` after unsharing; until then the pid is in our namespace.
        let ours = std::fs::read_link("/proc/self/ns/net").expect("own netns");
        let theirs = PathBuf::from(format!("/proc/{}/ns/net", sleeper.pid()));
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read_link(&theirs).ok().as_ref() == Some(&ours) {
            assert!(Instant::now() < deadline, "unshare -n never left our namespace");
            std::thread::sleep(Duration::from_millis(10));
        }
        sleeper
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Deletes a host link on drop if it still exists: the safety net under a failing test.
#[derive(Debug)]
pub struct HostLink(pub String);

impl Drop for HostLink {
    fn drop(&mut self) {
        let _ = succeeds("ip", &["link", "del", &self.0]);
    }
}

/// A file at `path`, removed on drop.
#[derive(Debug)]
pub struct TempFile(pub PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A Docker container, removed (with force) on drop.
#[derive(Debug)]
pub struct Container(pub String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = succeeds("docker", &["rm", "-f", &self.0]);
    }
}

/// A Docker image, removed on drop (after the containers made from it, which drop first).
#[derive(Debug)]
pub struct Image(pub String);

impl Drop for Image {
    fn drop(&mut self) {
        let _ = succeeds("docker", &["rmi", "-f", &self.0]);
    }
}
