//! Network namespaces that the demo and the tests make and always remove (on drop, also on a
//! panic). Their traffic stays inside them, between addresses they assign.

use std::io;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, bail};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A named network namespace (`ip netns add`), deleted on drop with every process still in it.
#[derive(Debug)]
pub struct Netns {
    /// The name `ip netns` knows it by.
    pub name: String,
    /// Someone else's namespace given a name ([`Netns::of_process`]): dropping only removes
    /// the name, never the processes inside.
    borrowed: bool,
}

impl Netns {
    /// A fresh namespace with `lo` up; the name carries the process id so parallel test
    /// binaries never collide.
    pub fn new(role: &str) -> anyhow::Result<Self> {
        let name = format!("sy{}-{}-{role}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        run("ip", &["netns", "add", &name])?;
        let ns = Self { name, borrowed: false };
        run("ip", &["-n", &ns.name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// A name for the namespace of process `pid` (a Docker container's, say), so the same
    /// tools reach into it; dropping it removes only the name.
    pub fn of_process(role: &str, pid: u32) -> anyhow::Result<Self> {
        let name = format!("sy{}-{}-{role}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        run("ip", &["netns", "attach", &name, &pid.to_string()])?;
        Ok(Self { name, borrowed: true })
    }

    /// Runs a command inside the namespace and returns its output.
    pub fn exec(&self, argv: &[&str]) -> io::Result<Output> {
        Command::new("ip").args(["netns", "exec", &self.name]).args(argv).stdin(Stdio::null()).output()
    }

    /// Runs a command inside the namespace and returns its stdout; fails with its output.
    pub fn exec_ok(&self, argv: &[&str]) -> anyhow::Result<String> {
        let out = self.exec(argv)?;
        if !out.status.success() {
            bail!("{argv:?} in {}: {}{}", self.name, lossy(&out.stdout), lossy(&out.stderr));
        }
        Ok(lossy(&out.stdout))
    }

    /// Starts a long-running command inside the namespace (killed when the namespace goes).
    pub fn spawn(&self, argv: &[&str]) -> io::Result<Child> {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    }

    /// Starts a command inside the namespace with its stdout captured (`wait_with_output`).
    pub fn spawn_output(&self, argv: &[&str]) -> io::Result<Child> {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    }

    /// `ip -n NAME ARGS`: configures the namespace from outside it.
    pub fn ip(&self, args: &[&str]) -> anyhow::Result<()> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// Turns IPv6 off inside: its chatter (router solicitations, MLD) would add frames that
    /// tests counting frames do not expect.
    pub fn disable_ipv6(&self) -> anyhow::Result<()> {
        self.exec_ok(&[
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ])?;
        Ok(())
    }

    /// Runs `work` on a thread that has entered the namespace (see [`run_in`]).
    pub fn run<T: Send>(&self, work: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
        run_in(&self.name, work)
    }

    /// Pings `ip` `count` times (bounded: 1 s a ping); true when every ping was answered.
    pub fn ping(&self, ip: &str, count: u32) -> bool {
        let argv = ["ping", "-c", &count.to_string(), "-i", "0.2", "-W", "1", "-q", ip];
        self.exec(&argv).is_ok_and(|out| out.status.success())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Kill what still runs inside, then delete: the container ends of veth pairs go with it.
        if !self.borrowed
            && let Ok(out) = Command::new("ip").args(["netns", "pids", &self.name]).output()
        {
            for pid in lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// Runs `work` on a thread that has entered the namespace `name` (an `ip netns` name), so the
/// sockets it opens (a REST client's, say) live there, and returns what it returns. The calling
/// thread stays where it is.
pub fn run_in<T: Send>(name: &str, work: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
    let path = format!("/var/run/netns/{name}");
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let file = std::fs::File::open(&path).with_context(|| format!("opening {path}"))?;
                // Only this thread moves: setns(2) with CLONE_NEWNET changes the caller's namespace.
                nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .with_context(|| format!("entering network namespace {name}"))?;
                Ok(work())
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Whether this process may make namespaces and links.
pub fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// Runs a command to completion; fails with its stderr.
pub fn run(cmd: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(cmd).args(args).output().with_context(|| format!("running {cmd}"))?;
    if !out.status.success() {
        bail!("{cmd} {}: {}", args.join(" "), lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Bytes a command printed, as text.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
