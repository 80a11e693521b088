//! `switchyard supervisor export` / `import` as an operator runs them: real supervisor and agent
//! processes, containers attached in network namespaces the test makes, the supervisor stopped,
//! its state exported and imported into a new data dir, and a supervisor started there that
//! shows the same switch and numbers on from where the old one was: on a new embedded store, and
//! on a real 3-member etcd. The round trips need root (CI runs as root); without it that test says so loudly and does
//! nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::containers::{Container, HOST, attach_with};
use common::{SUPERVISOR, Testbed, exe, skip_unless_root, stderr, stdout};
use switchyard::shell::client::SupervisorClient;
use testbed::etcd::EtcdCluster;

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

/// What the switch shows that is state (not liveness).
#[derive(Debug, PartialEq, Eq)]
struct Shown {
    config: String,
    interfaces: String,
    modules: Vec<String>,
}

fn shown(bed: &Testbed) -> Shown {
    Shown {
        config: bed.show("show running-config"),
        interfaces: bed.show("show interface virtual"),
        modules: modules(bed),
    }
}

/// A supervisor on its default store with a profile, the agent of [`HOST`] and two containers
/// (`NAME1`, `NAME2`) that ping each other.
fn switch_with_two_containers(name: &str) -> (Testbed, Container, Container, Shown) {
    let mut bed = Testbed::start();
    let out = bed.shell(&[], PROFILES);
    assert!(out.status.success(), "{}", stderr(&out));
    bed.start_agent(HOST);
    let web1 = attach_with(&bed, &format!("{name}1"), "vlan100", "10.99.20.1");
    let web2 = attach_with(&bed, &format!("{name}2"), "vlan100", "10.99.20.2");
    assert_eq!((web1.veth, web2.veth), (1, 2));
    assert!(web1.ns.ping(&web2.ip, 3), "{}", bed.logs());
    let before = shown(&bed);
    assert!(before.modules.iter().any(|row| row.starts_with("3 ") && row.ends_with(HOST)), "{before:?}");
    (bed, web1, web2, before)
}

/// Stops the supervisor and exports its embedded store to a file, which it returns.
fn stop_and_export(bed: &mut Testbed) -> PathBuf {
    bed.children.stop(SUPERVISOR).unwrap();
    let export = bed.root.path().join("state.jsonl");
    let out = supervisor(&["export", "--data-dir", &path(&bed.supervisor_dir()), "--output", &path(&export)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.starts_with("Exported ") && said.contains("ports") && said.contains("modules"), "{said}");
    export
}

/// Puts a new data dir in the supervisor's place holding only what an operator moving it keeps:
/// the TLS material the agents trust and the generated admin password (the shell logs in with
/// it). The old one is kept aside.
fn new_data_dir(bed: &Testbed) {
    let dir = bed.supervisor_dir();
    let old = bed.root.path().join("old-supervisor");
    std::fs::rename(&dir, &old).unwrap();
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    for entry in std::fs::read_dir(old.join("tls")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join("tls").join(entry.file_name())).unwrap();
    }
    std::fs::copy(old.join("admin-password"), dir.join("admin-password")).unwrap();
}

/// `switchyard supervisor import --data-dir <the supervisor's> --input EXPORT STORE_ARGS…`.
fn import(bed: &Testbed, export: &Path, store: &[&str]) {
    let dir = path(&bed.supervisor_dir());
    let mut args = vec!["import", "--data-dir", &dir, "--input"];
    let export = path(export);
    args.push(&export);
    args.extend_from_slice(store);
    let out = supervisor(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Imported "), "{}", stdout(&out));
}

/// The moved supervisor shows what the old one did once its agent is back, and an attach gets
/// the next vEthernet and forwards to an old port.
fn check_moved(bed: &mut Testbed, before: &Shown, old_port: &Container, name: &str) {
    bed.wait_until("the agent back online", Duration::from_secs(30), |bed| {
        bed.module_status(HOST).as_deref() == Some("ok")
    });
    assert_eq!(&shown(bed), before);
    let web3 = attach_with(bed, &format!("{name}3"), "vlan100", "10.99.20.3");
    assert_eq!(web3.veth, 3, "the next vEthernet, not 1 again");
    assert!(web3.ns.ping(&old_port.ip, 3), "the new port forwards to an old one\n{}", bed.logs());
}

#[test]
fn a_supervisor_moved_to_a_new_store_keeps_its_switch_and_numbers_on() {
    if skip_unless_root() {
        return;
    }
    let (mut bed, web1, _web2, before) = switch_with_two_containers("xport");
    // A running supervisor holds its embedded store: the export says so and writes nothing.
    let early = bed.root.path().join("early.jsonl");
    let out = supervisor(&["export", "--data-dir", &path(&bed.supervisor_dir()), "--output", &path(&early)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("in use by a running supervisor"), "{}", stderr(&out));
    assert!(!early.exists());

    let export = stop_and_export(&mut bed);
    new_data_dir(&bed);
    import(&bed, &export, &[]);
    bed.start_supervisor();
    check_moved(&mut bed, &before, &web1, "xport");
}

#[test]
fn a_supervisor_moves_from_its_embedded_store_to_etcd() {
    if skip_unless_root() {
        return;
    }
    let (mut bed, web1, _web2, before) = switch_with_two_containers("xetcd");
    let export = stop_and_export(&mut bed);
    let etcd = EtcdCluster::start(3);
    let members: Vec<String> =
        etcd.endpoints().iter().map(|url| url.trim_start_matches("http://").to_owned()).collect();
    let url = format!("etcd://{}", members.join(","));
    let on_etcd = ["--store", url.as_str(), "--store-prefix", "/site-a"];
    new_data_dir(&bed);
    import(&bed, &export, &on_etcd);
    assert!(!bed.supervisor_dir().join("store.redb").exists(), "nothing went to an embedded store");

    let dir = path(&bed.supervisor_dir());
    let listen = bed.url.trim_start_matches("https://").to_owned();
    let mut args = vec!["supervisor", "--data-dir", &dir, "--listen", &listen];
    args.extend_from_slice(&on_etcd);
    bed.children.spawn(SUPERVISOR, &args).unwrap();
    let admin = switchyard::shell::login::local_admin(&bed.supervisor_dir()).unwrap();
    bed.client = SupervisorClient::new(&bed.url).with_ca_cert(&bed.ca_cert()).unwrap().with_login(admin);
    bed.wait_until("the supervisor on etcd answers", Duration::from_secs(20), |bed| {
        bed.client.exec("show module").is_ok()
    });
    check_moved(&mut bed, &before, &web1, "xetcd");

    // On etcd an export runs beside the supervisor: one read, one revision.
    let mut args = vec!["export"];
    args.extend_from_slice(&on_etcd);
    let out = supervisor(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let ports = stdout(&out).lines().filter(|line| line.contains("\"key\":\"/switchyard/ports/")).count();
    assert_eq!(ports, 3, "{}", stdout(&out));
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
