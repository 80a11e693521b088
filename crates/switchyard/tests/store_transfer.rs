//! `switchyard supervisor export` / `import` as an operator runs them: real supervisor and agent
//! processes, containers attached in network namespaces the test makes, the supervisor stopped,
//! its state exported and imported into a new data dir, and a supervisor started there that
//! shows the same switch and numbers on from where the old one was.
//! The round trip needs root (CI runs as root); without it that test says so loudly and does
//! nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::containers::{HOST, attach_with};
use common::{SUPERVISOR, Testbed, exe, skip_unless_root, stderr, stdout};

const PROFILES: &str = "\
configure terminal
vlan 100
port-profile type vethernet vlan100
  switchport mode access
  switchport access vlan 100
  no shutdown
  state enabled
end
";

/// `switchyard supervisor ARGS`.
fn supervisor(args: &[&str]) -> Output {
    Command::new(exe()).arg("supervisor").args(args).env_remove("SWITCHYARD_STORE").output().unwrap()
}

fn path(path: &Path) -> String {
    path.display().to_string()
}

/// `show module` without the Status column and the supervisor's own row: what is state, not
/// liveness.
fn modules(bed: &Testbed) -> Vec<String> {
    bed.show("show module")
        .lines()
        .filter(|line| !line.contains("Virtual Supervisor Module"))
        .map(|line| line.replace(" offline", "").replace(" ok", "").trim_end().to_owned())
        .collect()
}

#[test]
fn a_supervisor_moved_to_a_new_store_keeps_its_switch_and_numbers_on() {
    if skip_unless_root() {
        return;
    }
    let mut bed = Testbed::start();
    let out = bed.shell(&[], PROFILES);
    assert!(out.status.success(), "{}", stderr(&out));
    bed.start_agent(HOST);
    let web1 = attach_with(&bed, "xport1", "vlan100", "10.99.20.1");
    let web2 = attach_with(&bed, "xport2", "vlan100", "10.99.20.2");
    assert_eq!((web1.veth, web2.veth), (1, 2));
    assert!(web1.ns.ping(&web2.ip, 3), "{}", bed.logs());
    let config = bed.show("show running-config");
    let interfaces = bed.show("show interface virtual");
    let module_rows = modules(&bed);
    assert!(module_rows.iter().any(|row| row.starts_with("3 ") && row.ends_with(HOST)), "{module_rows:?}");

    let old_dir = bed.supervisor_dir();
    let export = bed.root.path().join("state.jsonl");
    // A running supervisor holds its embedded store: the export says so and writes nothing.
    let out = supervisor(&["export", "--data-dir", &path(&old_dir), "--output", &path(&export)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("in use by a running supervisor"), "{}", stderr(&out));
    assert!(!export.exists());

    bed.children.stop(SUPERVISOR).unwrap();
    let out = supervisor(&["export", "--data-dir", &path(&old_dir), "--output", &path(&export)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.starts_with("Exported ") && said.contains("ports") && said.contains("modules"), "{said}");

    // A new data dir at the same place, with the TLS material the agent trusts and the
    // generated admin password (the shell logs in with it), and nothing else.
    let moved = bed.root.path().join("old-supervisor");
    std::fs::rename(&old_dir, &moved).unwrap();
    std::fs::create_dir_all(old_dir.join("tls")).unwrap();
    for entry in std::fs::read_dir(moved.join("tls")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), old_dir.join("tls").join(entry.file_name())).unwrap();
    }
    std::fs::copy(moved.join("admin-password"), old_dir.join("admin-password")).unwrap();
    let out = supervisor(&["import", "--data-dir", &path(&old_dir), "--input", &path(&export)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Imported "), "{}", stdout(&out));

    bed.start_supervisor();
    bed.wait_until("the agent back online", Duration::from_secs(30), |bed| {
        bed.module_status(HOST).as_deref() == Some("ok")
    });
    assert_eq!(bed.show("show running-config"), config);
    assert_eq!(bed.show("show interface virtual"), interfaces);
    assert_eq!(modules(&bed), module_rows);

    let web3 = attach_with(&bed, "xport3", "vlan100", "10.99.20.3");
    assert_eq!(web3.veth, 3, "the next vEthernet, not 1 again");
    assert!(web3.ns.ping(&web1.ip, 3), "the new port forwards to an old one\n{}", bed.logs());
}

#[test]
fn bad_exports_and_stores_in_use_are_refused_with_nothing_written() {
    let mut bed = Testbed::start();
    let dir = bed.supervisor_dir();
    let out = supervisor(&["export", "--data-dir", &path(&dir)]);
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(
        said.contains("in use by a running supervisor") && said.contains("show running-config"),
        "{said}"
    );

    bed.children.stop(SUPERVISOR).unwrap();
    let out = supervisor(&["export", "--data-dir", &path(&dir)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let full = stdout(&out);
    assert!(stderr(&out).starts_with("Exported "), "the summary goes to stderr: {}", stderr(&out));

    let file = bed.root.path().join("cut.jsonl");
    let lines: Vec<&str> = full.lines().collect();
    std::fs::write(&file, lines[..lines.len() - 1].join("\n")).unwrap();
    let fresh = bed.root.path().join("fresh");
    let out = supervisor(&["import", "--data-dir", &path(&fresh), "--input", &path(&file)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("truncated"), "{}", stderr(&out));
    assert!(!fresh.exists(), "a bad file is refused before the store is opened");

    // Into the store it came from: refused without --force, replaced with it.
    std::fs::write(&file, &full).unwrap();
    let out = supervisor(&["import", "--data-dir", &path(&dir), "--input", &path(&file)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already holds") && stderr(&out).contains("--force"), "{}", stderr(&out));
    let out = supervisor(&["import", "--data-dir", &path(&dir), "--input", &path(&file), "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
}
