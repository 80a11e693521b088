//! Delegated IPAM against the real host-local plugin from Debian's containernetworking-plugins
//! (`apt-get install containernetworking-plugins`, binaries in /usr/lib/cni). Leases live in a
//! temporary dataDir: a file per leased address, so a leak is visible.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use cni::{AddressPlan, CniEnv, ProcessIpamExec};
use common::{MemAgent, expect_error, expect_success, json};
use serde_json::json;

const CNI_PATH: &str = "/usr/lib/cni";
const NETNS: &str = "/run/netns/c1";

fn require_host_local() {
    assert!(
        Path::new(CNI_PATH).join("host-local").is_file(),
        "these tests run the real host-local IPAM plugin: apt-get install containernetworking-plugins"
    );
}

fn host_local_conf(data_dir: &Path, profile: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "cniVersion": "1.1.0", "name": "web", "type": "switchyard-cni", "profile": profile,
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": "10.77.5.0/24", "gateway": "10.77.5.1"}]],
            "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": data_dir
        }
    }))
    .unwrap()
}

fn env(command: &str, container_id: &str) -> CniEnv {
    CniEnv {
        command: Some(command.into()),
        container_id: Some(container_id.into()),
        netns: Some(NETNS.into()),
        ifname: Some("eth0".into()),
        args: None,
        path: Some(CNI_PATH.into()),
    }
}

/// The addresses host-local holds leases for.
fn leases(data_dir: &Path) -> Vec<String> {
    let network: PathBuf = data_dir.join("web");
    let Ok(entries) = std::fs::read_dir(network) else { return Vec::new() };
    let mut leased: Vec<String> = entries
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.parse::<std::net::IpAddr>().is_ok())
        .collect();
    leased.sort();
    leased
}

#[test]
fn add_uses_the_address_host_local_leases_and_del_frees_it() {
    require_host_local();
    let data = tempfile::tempdir().unwrap();
    let agent = MemAgent::default();
    let stdin = host_local_conf(data.path(), "web");
    let exec = ProcessIpamExec::default();

    let outcome = cni::run(&agent, &env("ADD", "c1"), &stdin, &exec);
    expect_success(&outcome);
    let result = json(&outcome);
    assert_eq!(result["cniVersion"], "1.1.0");
    assert_eq!(result["ips"][0], json!({"address": "10.77.5.2/24", "gateway": "10.77.5.1", "interface": 1}));
    assert_eq!(result["routes"], json!([{"dst": "0.0.0.0/0"}]));
    assert_eq!(leases(data.path()), ["10.77.5.2"]);
    let plan = agent.with(|state| state.requests[0].address.clone());
    let AddressPlan::Given { ips, gateway, routes } = plan else {
        panic!("expected given addresses, got {plan:?}")
    };
    assert_eq!(ips, ["10.77.5.2/24".parse().unwrap()]);
    assert_eq!(gateway, Some("10.77.5.1".parse().unwrap()));
    assert_eq!(routes.len(), 1);

    // A second container gets the next address.
    expect_success(&cni::run(&agent, &env("ADD", "c2"), &stdin, &exec));
    assert_eq!(leases(data.path()), ["10.77.5.2", "10.77.5.3"]);

    // CHECK asks host-local too: it holds c1's lease.
    let check_conf = serde_json::to_vec(&{
        let mut conf: serde_json::Value = serde_json::from_slice(&stdin).unwrap();
        conf["prevResult"] = result;
        conf
    })
    .unwrap();
    expect_success(&cni::run(&agent, &env("CHECK", "c1"), &check_conf, &exec));

    // DEL, twice, and without the namespace.
    let mut del = env("DEL", "c1");
    del.netns = None;
    expect_success(&cni::run(&agent, &del, &stdin, &exec));
    assert_eq!(leases(data.path()), ["10.77.5.3"]);
    expect_success(&cni::run(&agent, &del, &stdin, &exec));
    assert_eq!(agent.with(|state| state.ports.len()), 1);
}

#[test]
fn a_failed_add_after_ipam_leaks_no_address() {
    require_host_local();
    let data = tempfile::tempdir().unwrap();
    let agent = MemAgent::default();
    let exec = ProcessIpamExec::default();
    // The agent refuses: no such port-profile.
    let outcome = cni::run(&agent, &env("ADD", "c1"), &host_local_conf(data.path(), "missing"), &exec);
    assert!(expect_error(&outcome, 7).contains("port-profile missing"));
    assert_eq!(agent.with(|state| state.requests.len()), 1, "IPAM ran and the agent was asked");
    assert!(leases(data.path()).is_empty(), "host-local still leases {:?}", leases(data.path()));
    assert!(outcome.notes.iter().any(|note| note.contains("released")), "{:?}", outcome.notes);

    // The agent is down: try again later, and nothing leased meanwhile.
    agent.with(|state| state.stopped = true);
    let outcome = cni::run(&agent, &env("ADD", "c1"), &host_local_conf(data.path(), "web"), &exec);
    expect_error(&outcome, 11);
    assert!(leases(data.path()).is_empty(), "host-local still leases {:?}", leases(data.path()));
}

#[test]
fn gc_releases_the_leases_of_stale_ports() {
    require_host_local();
    let data = tempfile::tempdir().unwrap();
    let agent = MemAgent::default();
    let exec = ProcessIpamExec::default();
    let stdin = host_local_conf(data.path(), "web");
    for container in ["c1", "c2"] {
        expect_success(&cni::run(&agent, &env("ADD", container), &stdin, &exec));
    }
    let mut gc_conf: serde_json::Value = serde_json::from_slice(&stdin).unwrap();
    gc_conf["cni.dev/valid-attachments"] = json!([{"containerID": "c2", "ifname": "eth0"}]);
    let gc_env = CniEnv { command: Some("GC".into()), path: Some(CNI_PATH.into()), ..CniEnv::default() };
    let outcome = cni::run(&agent, &gc_env, &serde_json::to_vec(&gc_conf).unwrap(), &exec);
    expect_success(&outcome);
    assert_eq!(leases(data.path()), ["10.77.5.3"]);
    assert_eq!(agent.with(|state| state.ports.keys().cloned().collect::<Vec<_>>()), ["cni:web:c2:eth0"]);
    // Debian's host-local predates CNI 1.1: it is not sent GC, and the notes say so.
    assert!(outcome.notes.iter().any(|note| note.contains("predates CNI 1.1")), "{:?}", outcome.notes);
}

#[test]
fn a_missing_ipam_plugin_is_a_config_error() {
    let data = tempfile::tempdir().unwrap();
    let agent = MemAgent::default();
    let mut conf: serde_json::Value = serde_json::from_slice(&host_local_conf(data.path(), "web")).unwrap();
    conf["ipam"]["type"] = json!("no-such-ipam");
    let outcome =
        cni::run(&agent, &env("ADD", "c1"), &serde_json::to_vec(&conf).unwrap(), &ProcessIpamExec::default());
    assert!(expect_error(&outcome, 7).contains("no-such-ipam"));
    assert!(agent.with(|state| state.requests.is_empty()));
}

#[test]
fn host_local_errors_pass_through_with_their_code() {
    require_host_local();
    let data = tempfile::tempdir().unwrap();
    let agent = MemAgent::default();
    let mut conf: serde_json::Value = serde_json::from_slice(&host_local_conf(data.path(), "web")).unwrap();
    // host-local refuses a broken subnet with its own code 999 ("invalid CIDR address").
    conf["ipam"]["ranges"] = json!([[{"subnet": "10.77.5.0/33"}]]);
    let outcome =
        cni::run(&agent, &env("ADD", "c1"), &serde_json::to_vec(&conf).unwrap(), &ProcessIpamExec::default());
    let details = expect_error(&outcome, 999);
    assert!(details.contains("host-local") && details.contains("invalid CIDR address"), "{details}");
    assert!(agent.with(|state| state.requests.is_empty()));
}
