//! Collectors nobody here wrote, run as child processes on loopback: `nfcapd` writing flows that
//! `nfdump` reads back, and `tshark` capturing the export packets and decoding them.
//!
//! A missing tool fails the test with the package to install; children are killed when their
//! handle drops, so a failing test leaves none behind.

pub mod nfcapd;
pub mod tshark;

use std::fs;
use std::net::{IpAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

/// How long a collector gets to start or to finish.
const DEADLINE: Duration = Duration::from_secs(20);

/// Panics, naming `package`, unless `tool` runs.
pub fn require(tool: &str, version_flag: &str, package: &str) {
    let runs = Command::new(tool).arg(version_flag).output().is_ok_and(|out| out.status.success());
    assert!(runs, "`{tool}` is not installed or does not run: install the Debian package `{package}`");
}

/// A UDP port free on `address` now (the kernel's pick for an ephemeral bind).
pub fn free_udp_port(address: IpAddr) -> u16 {
    let socket = UdpSocket::bind((address, 0)).expect("bind an ephemeral UDP port");
    socket.local_addr().expect("local address").port()
}

/// Polls until `file` contains `needle` (`Ok`) or `child` exits (`Err` with what it printed);
/// panics after [`DEADLINE`].
pub fn wait_for_text(child: &mut Child, file: &Path, needle: &str) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let text = fs::read_to_string(file).unwrap_or_default();
        if text.contains(needle) {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the collector exited ({status}) before printing {needle:?}: {text}"));
        }
        assert!(start.elapsed() < DEADLINE, "no {needle:?} within {DEADLINE:?}: {text}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` (a `kill` name: `TERM`, `INT`) to `child` and waits for it to exit.
pub fn stop(child: &mut Child, signal: &str) {
    let status = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -{signal} {}", child.id());
    let start = Instant::now();
    while child.try_wait().expect("wait for the collector").is_none() {
        assert!(start.elapsed() < DEADLINE, "the collector did not exit on SIG{signal}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Ends `child` if it still runs: the handles' `Drop`. SIGTERM first, so tshark stops its own
/// `dumpcap` child (a SIGKILL would leave that capturing); SIGKILL if it has not exited in 5 s.
pub fn reap(child: &mut Child) {
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let start = Instant::now();
    while child.try_wait().ok().flatten().is_none() {
        if start.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `command`, panicking with its stderr when it fails; its stdout.
pub fn output_of(command: &mut Command) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}
