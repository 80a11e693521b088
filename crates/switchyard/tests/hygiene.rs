//! The probe list's hygiene, as a user meets it with real processes: data dirs and files only
//! root can read, `agent.sock` refusing other users with a clear message, `no port-profile`
//! refused while ports use the profile (and done when forced), the accounting log in the
//! shell, and `switchyard shell … | head` without a panic.
//!
//! The tests with a container need root (network namespaces, veth); without it they say so
//! loudly and do nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Testbed, skip_unless_root, stderr, stdout};
use switchyard::netns::Netns;

const HOST: &str = "bilbo";

const PROFILE: &str = "\
configure terminal
vlan 100
port-profile type vethernet web
  switchport mode access
  switchport access vlan 100
  no shutdown
  state enabled
end
";

/// The permission bits of `path`.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[test]
fn shell_output_into_a_closed_pipe_ends_quietly() {
    let bed = Testbed::start();
    assert!(bed.shell(&[], PROFILE).status.success());

    // A pipe whose reader is gone before the shell writes a byte: every write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(common::exe())
        .args(["shell", "--supervisor", &bed.url, "-c", "show running-config; show module", "--data-dir"])
        .arg(bed.supervisor_dir())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}: {}", out.status, stderr(&out));
    assert_eq!(stderr(&out), "", "nothing to say about a reader that left");

    // And the way users meet it.
    let line = format!(
        "{} shell --supervisor {} --data-dir {} -c 'show running-config' | head -1",
        common::exe().display(),
        bed.url,
        bed.supervisor_dir().display()
    );
    let out = Command::new("sh").args(["-c", &line]).output().unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
}

#[test]
fn private_state_in_use_profiles_and_the_accounting_log() {
    if skip_unless_root() {
        return;
    }
    let mut bed = Testbed::start();
    assert!(bed.shell(&[], PROFILE).status.success());
    // Data dirs and files left open by an older build are tightened on start.
    let supervisor_dir = bed.root.path().join(common::SUPERVISOR);
    bed.kill9(common::SUPERVISOR);
    open_up(&supervisor_dir, &["store.redb"]);
    bed.start_supervisor();
    let agent_dir = bed.agent_dir(HOST);
    std::fs::create_dir_all(&agent_dir).unwrap();
    std::fs::write(agent_dir.join("host-id"), "b1b0-upgraded\n").unwrap();
    open_up(&agent_dir, &["host-id"]);
    bed.start_agent(HOST);

    let ns = Netns::new("web1").unwrap();
    let out = switchyard(&bed, &["attach", "--netns", &ns.name, "--profile", "web", "--ip", "10.98.0.1/24"]);
    assert!(out.status.success(), "attach: {}{}\n{}", stdout(&out), stderr(&out), bed.logs());
    let veth = common::attached_veth(&out);

    // Files and dirs, as they are after a real agent and supervisor ran.
    assert_eq!(mode(&supervisor_dir), 0o700);
    assert_eq!(mode(&supervisor_dir.join("store.redb")), 0o600);
    assert_eq!(mode(&agent_dir), 0o700, "tightened on start");
    for file in ["host-id", "module", "policies.json", "ports.json"] {
        assert_eq!(mode(&agent_dir.join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&agent_dir.join("agent.sock")), 0o600);

    // Another user: refused, and told why. The test's own temp dir is opened up so that only
    // the agent's modes stand in the way.
    std::fs::set_permissions(bed.root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = agent_dir.join("agent.sock");
    let refusal = format!("permission denied on {}: run as root", socket.display());
    for args in [
        vec!["vemcmd", "show", "card"],
        vec!["attach", "--netns", &ns.name, "--profile", "web"],
        vec!["detach", "--vethernet", "1"],
    ] {
        let out = as_nobody(&bed, &args);
        assert!(!out.status.success(), "{args:?} as nobody succeeded: {}", stdout(&out));
        assert!(stderr(&out).contains(&refusal), "{args:?}: {}", stderr(&out));
    }
    assert!(switchyard(&bed, &["vemcmd", "show", "card"]).status.success(), "root still may");

    // `no port-profile` of a profile in use: refused, naming the port; forced, done.
    let out = bed.shell(&["-c", "configure terminal; no port-profile web"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("assigned interfaces: Vethernet{veth}")), "{}", stderr(&out));
    assert!(bed.show("show running-config").contains("port-profile type vethernet web"));
    let out = bed.shell(&["-c", "configure terminal; no port-profile web force"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!bed.show("show running-config").contains("port-profile type vethernet web"));

    // The accounting log names the changes, the attach and the refusal, from the loopback.
    let log = bed.show("show accounting log");
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.iter().all(|line| line.contains(":id=127.0.0.1:user=")), "{log}");
    let find = |needle: &str| lines.iter().find(|line| line.contains(needle)).copied();
    // The script's configuration was one transaction: one entry, its lines joined.
    let script = "cmd=vlan 100 ; port-profile type vethernet web ; switchport mode access ;";
    assert!(find(script).is_some_and(|l| l.ends_with("state enabled (SUCCESS)")), "{log}");
    assert!(find("cmd=bind-port module ").is_some_and(|l| l.ends_with("(SUCCESS)")), "{log}");
    assert!(find("cmd=no port-profile web (FAILURE: port-profile web has assigned").is_some(), "{log}");
    assert!(find("cmd=no port-profile web force (SUCCESS)").is_some(), "{log}");
}

/// Makes `dir` 0755 and its `files` 0644, as builds before this one left them.
fn open_up(dir: &Path, files: &[&str]) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for file in files {
        std::fs::set_permissions(dir.join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
}

/// Runs `switchyard ARGS --data-dir <bilbo's>` as root.
fn switchyard(bed: &Testbed, args: &[&str]) -> std::process::Output {
    Command::new(common::exe()).args(args).arg("--data-dir").arg(bed.agent_dir(HOST)).output().unwrap()
}

/// Runs `switchyard ARGS --data-dir <bilbo's>` as user and group 65534 (nobody).
fn as_nobody(bed: &Testbed, args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(common::exe())
        .args(args)
        .arg("--data-dir")
        .arg(bed.agent_dir(HOST))
        .output()
        .unwrap()
}
