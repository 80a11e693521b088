//! Every verb and error case against an in-memory agent, through `cni::run` as the runtime
//! drives it: environment + stdin in, stdout + exit code out.

#![allow(clippy::unwrap_used)]

mod common;

use common::{MemAgent, NoIpam, conf, env, expect_error, expect_success, json};
use serde_json::json;

const NETNS: &str = "/run/netns/c1";

fn add(agent: &MemAgent, container_id: &str, stdin: &[u8]) -> cni::Outcome {
    cni::run(agent, &env("ADD", container_id, Some(NETNS)), stdin, &NoIpam)
}

#[test]
fn add_returns_interfaces_ips_routes_and_dns() {
    let agent = MemAgent::default();
    let mut environment = env("ADD", "c1", Some(NETNS));
    environment.args = Some("IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0".into());
    let stdin = conf(json!({"dns": {"nameservers": ["10.9.0.53"], "search": ["shop.svc"]}, "mtu": 1400}));
    let outcome = cni::run(&agent, &environment, &stdin, &NoIpam);
    expect_success(&outcome);
    assert_eq!(
        json(&outcome),
        json!({
            "cniVersion": "1.1.0",
            "interfaces": [
                {"name": "sy00000001"},
                {"name": "eth0", "mac": "02:00:00:00:00:01", "mtu": 1400, "sandbox": NETNS}
            ],
            "ips": [{"address": "10.9.0.2/24", "gateway": "10.9.0.1", "interface": 1}],
            "routes": [{"dst": "0.0.0.0/0", "gw": "10.9.0.1"}],
            "dns": {"nameservers": ["10.9.0.53"], "search": ["shop.svc"]}
        })
    );
    let request = agent.with(|state| state.requests[0].clone());
    assert_eq!(request.iface_id, "cni:web:c1:eth0");
    assert_eq!(request.owner_name, "shop/web-0");
    assert_eq!(request.profile, "web");
    assert_eq!(request.netns_path, NETNS);
    assert_eq!(request.mtu, Some(1400));
    assert_eq!(request.address, cni::AddressPlan::Auto);
}

#[test]
fn add_renders_the_configured_version() {
    let agent = MemAgent::default();
    let outcome = add(&agent, "c1", &conf(json!({"cniVersion": "0.4.0"})));
    expect_success(&outcome);
    let result = json(&outcome);
    assert_eq!(result["cniVersion"], "0.4.0");
    assert_eq!(result["ips"][0]["version"], "4");
    let outcome = add(&agent, "c2", &conf(json!({"cniVersion": "1.0.0"})));
    assert!(json(&outcome)["ips"][0].get("version").is_none());
}

#[test]
fn add_without_ipam_attaches_without_addresses() {
    let agent = MemAgent::default();
    let mut stdin: serde_json::Value = serde_json::from_slice(&conf(json!({}))).unwrap();
    stdin.as_object_mut().unwrap().remove("ipam");
    let outcome = add(&agent, "c1", &serde_json::to_vec(&stdin).unwrap());
    expect_success(&outcome);
    assert!(json(&outcome).get("ips").is_none());
    assert_eq!(agent.with(|state| state.requests[0].address.clone()), cni::AddressPlan::None);
}

#[test]
fn chained_add_keeps_the_previous_result() {
    let agent = MemAgent::default();
    let previous = json!({"cniVersion": "1.1.0", "interfaces": [{"name": "lo", "sandbox": NETNS}],
        "ips": [{"address": "127.0.0.1/8", "interface": 0}]});
    let outcome = add(&agent, "c1", &conf(json!({"prevResult": previous})));
    expect_success(&outcome);
    let result = json(&outcome);
    assert_eq!(result["interfaces"].as_array().unwrap().len(), 3);
    assert_eq!(result["ips"][0]["address"], "127.0.0.1/8");
    assert_eq!(result["ips"][1]["interface"], 2);
}

#[test]
fn configuration_errors_have_the_specs_codes() {
    let agent = MemAgent::default();
    assert!(expect_error(&add(&agent, "c1", b"{not json"), 6).contains("not JSON"));
    let no_profile =
        br#"{"cniVersion":"1.1.0","name":"web","type":"switchyard-cni","ipam":{"type":"switchyard"}}"#;
    assert!(expect_error(&add(&agent, "c1", no_profile), 7).contains("\"profile\""));
    assert!(expect_error(&add(&agent, "c1", &conf(json!({"cniVersion": "0.2.0"}))), 1).contains("0.2.0"));
    expect_error(&add(&agent, "c1", &conf(json!({"ipam": {"type": "../../bin/sh"}}))), 7);
    expect_error(&add(&agent, "c1", &conf(json!({"name": "bad name"}))), 7);
    assert!(agent.with(|state| state.requests.is_empty()), "nothing reached the agent");
}

#[test]
fn environment_errors_are_code_4_naming_the_variable() {
    let agent = MemAgent::default();
    let stdin = conf(json!({}));
    let no_netns = cni::run(&agent, &env("ADD", "c1", None), &stdin, &NoIpam);
    assert!(expect_error(&no_netns, 4).contains("CNI_NETNS"));
    assert!(expect_error(&add(&agent, "c:1", &stdin), 4).contains("CNI_CONTAINERID"));
    let mut long_ifname = env("ADD", "c1", Some(NETNS));
    long_ifname.ifname = Some("an-ifname-too-long".into());
    assert!(expect_error(&cni::run(&agent, &long_ifname, &stdin, &NoIpam), 4).contains("CNI_IFNAME"));
    let unknown = cni::run(&agent, &env("ATTACH", "c1", Some(NETNS)), &stdin, &NoIpam);
    assert!(expect_error(&unknown, 4).contains("CNI_COMMAND"));
}

#[test]
fn errors_carry_the_configured_version() {
    let agent = MemAgent::default();
    let outcome = add(&agent, "c1", &conf(json!({"cniVersion": "1.0.0", "profile": "missing"})));
    expect_error(&outcome, 7);
    assert_eq!(json(&outcome)["cniVersion"], "1.0.0");
}

#[test]
fn add_while_the_agent_is_down_says_try_again_and_works_after_it_restarts() {
    let agent = MemAgent::default();
    expect_success(&add(&agent, "c1", &conf(json!({}))));
    agent.with(|state| state.stopped = true);
    assert!(expect_error(&add(&agent, "c2", &conf(json!({}))), 11).contains("switchyard agent"));
    agent.with(|state| state.stopped = false);
    expect_success(&add(&agent, "c2", &conf(json!({}))));
    assert_eq!(agent.with(|state| state.ports.len()), 2);
}

#[test]
fn an_agent_refusal_is_code_7_with_its_reason() {
    let agent = MemAgent::default();
    let details = expect_error(&add(&agent, "c1", &conf(json!({"profile": "missing"}))), 7);
    assert!(details.contains("port-profile missing does not exist"), "{details}");
}

#[test]
fn del_is_idempotent_and_needs_no_netns() {
    let agent = MemAgent::default();
    expect_success(&add(&agent, "c1", &conf(json!({}))));
    let del_without_netns = env("DEL", "c1", None);
    let first = cni::run(&agent, &del_without_netns, &conf(json!({})), &NoIpam);
    expect_success(&first);
    assert!(first.stdout.is_empty());
    assert!(agent.with(|state| state.ports.is_empty()));
    expect_success(&cni::run(&agent, &del_without_netns, &conf(json!({})), &NoIpam));
    let gone_netns = env("DEL", "c1", Some("/run/netns/gone"));
    expect_success(&cni::run(&agent, &gone_netns, &conf(json!({})), &NoIpam));
    // An attachment ADD would have refused to name was never made: nothing to delete.
    expect_success(&cni::run(&agent, &env("DEL", "c:1", None), &conf(json!({})), &NoIpam));
}

#[test]
fn del_leaves_other_attachments_alone() {
    let agent = MemAgent::default();
    expect_success(&add(&agent, "c1", &conf(json!({}))));
    expect_success(&add(&agent, "c2", &conf(json!({}))));
    expect_success(&cni::run(&agent, &env("DEL", "c1", None), &conf(json!({})), &NoIpam));
    assert_eq!(agent.with(|state| state.ports.keys().cloned().collect::<Vec<_>>()), ["cni:web:c2:eth0"]);
}

#[test]
fn del_while_the_agent_is_down_asks_to_retry() {
    let agent = MemAgent::default();
    agent.with(|state| state.stopped = true);
    expect_error(&cni::run(&agent, &env("DEL", "c1", None), &conf(json!({})), &NoIpam), 11);
}

fn added(agent: &MemAgent) -> serde_json::Value {
    let outcome = add(agent, "c1", &conf(json!({})));
    expect_success(&outcome);
    json(&outcome)
}

fn check(agent: &MemAgent, prev_result: &serde_json::Value) -> cni::Outcome {
    cni::run(agent, &env("CHECK", "c1", Some(NETNS)), &conf(json!({"prevResult": prev_result})), &NoIpam)
}

#[test]
fn check_passes_right_after_add() {
    let agent = MemAgent::default();
    let result = added(&agent);
    let outcome = check(&agent, &result);
    expect_success(&outcome);
    assert!(outcome.stdout.is_empty());
}

#[test]
fn check_explains_what_differs() {
    let agent = MemAgent::default();
    let result = added(&agent);

    let mut other_address = result.clone();
    other_address["ips"][0]["address"] = json!("10.9.0.99/24");
    let details = expect_error(&check(&agent, &other_address), 100);
    assert!(details.contains("10.9.0.2/24") && details.contains("10.9.0.99/24"), "{details}");

    let mut other_mac = result.clone();
    other_mac["interfaces"][1]["mac"] = json!("02:00:00:00:00:99");
    assert!(expect_error(&check(&agent, &other_mac), 100).contains("MAC"));

    agent.with(|state| state.ports.values_mut().for_each(|port| port.up = false));
    assert!(expect_error(&check(&agent, &result), 100).contains("show interface vethernet 1"));

    agent.with(|state| state.ports.clear());
    assert!(expect_error(&check(&agent, &result), 100).contains("DEL, then ADD"));
}

#[test]
fn check_needs_prev_result_and_version_0_4() {
    let agent = MemAgent::default();
    let result = added(&agent);
    let no_prev = cni::run(&agent, &env("CHECK", "c1", Some(NETNS)), &conf(json!({})), &NoIpam);
    assert!(expect_error(&no_prev, 7).contains("prevResult"));
    let old = conf(json!({"cniVersion": "0.3.1", "prevResult": result}));
    expect_error(&cni::run(&agent, &env("CHECK", "c1", Some(NETNS)), &old, &NoIpam), 1);
}

fn status(agent: &MemAgent) -> cni::Outcome {
    let environment = cni::CniEnv { command: Some("STATUS".into()), ..cni::CniEnv::default() };
    cni::run(agent, &environment, &conf(json!({})), &NoIpam)
}

#[test]
fn status_is_ready_only_with_a_connected_agent() {
    let agent = MemAgent::default();
    let ready = status(&agent);
    expect_success(&ready);
    assert!(ready.stdout.is_empty());
    agent.with(|state| state.headless = true);
    let details = expect_error(&status(&agent), 50);
    assert!(details.contains("headless") && details.contains("10.77.0.2:9443"), "{details}");
    agent.with(|state| state.stopped = true);
    assert!(expect_error(&status(&agent), 50).contains("switchyard agent"));
}

fn gc(agent: &MemAgent, network: &str, valid: &serde_json::Value) -> cni::Outcome {
    let environment = cni::CniEnv {
        command: Some("GC".into()),
        path: Some("/usr/lib/cni".into()),
        ..cni::CniEnv::default()
    };
    cni::run(
        agent,
        &environment,
        &conf(json!({"name": network, "cni.dev/valid-attachments": valid})),
        &NoIpam,
    )
}

#[test]
fn gc_frees_what_is_not_listed_in_this_network_only() {
    let agent = MemAgent::default();
    for container in ["c1", "c2", "c3"] {
        expect_success(&add(&agent, container, &conf(json!({}))));
    }
    expect_success(&add(&agent, "c1", &conf(json!({"name": "db"}))));
    let outcome = gc(&agent, "web", &json!([{"containerID": "c2", "ifname": "eth0"}]));
    expect_success(&outcome);
    assert!(outcome.stdout.is_empty());
    let left: Vec<String> = agent.with(|state| state.ports.keys().cloned().collect());
    assert_eq!(left, ["cni:db:c1:eth0", "cni:web:c2:eth0"]);
    // Same container, other interface: not listed, so stale.
    let mut eth1 = env("ADD", "c2", Some(NETNS));
    eth1.ifname = Some("eth1".into());
    expect_success(&cni::run(&agent, &eth1, &conf(json!({})), &NoIpam));
    expect_success(&gc(&agent, "web", &json!([{"containerID": "c2", "ifname": "eth0"}])));
    assert_eq!(agent.with(|state| state.ports.len()), 2);
}

#[test]
fn gc_without_the_list_removes_nothing() {
    let agent = MemAgent::default();
    expect_success(&add(&agent, "c1", &conf(json!({}))));
    let environment = cni::CniEnv { command: Some("GC".into()), ..cni::CniEnv::default() };
    let outcome = cni::run(&agent, &environment, &conf(json!({})), &NoIpam);
    assert!(expect_error(&outcome, 7).contains("cni.dev/valid-attachments"));
    assert_eq!(agent.with(|state| state.ports.len()), 1);
}

#[test]
fn version_lists_what_the_plugin_speaks() {
    let agent = MemAgent::default();
    let environment = cni::CniEnv { command: Some("VERSION".into()), ..cni::CniEnv::default() };
    let outcome = cni::run(&agent, &environment, br#"{"cniVersion":"1.0.0"}"#, &NoIpam);
    expect_success(&outcome);
    assert_eq!(
        json(&outcome),
        json!({"cniVersion": "1.0.0", "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]})
    );
    let no_input = cni::run(&agent, &environment, b"", &NoIpam);
    assert_eq!(json(&no_input)["cniVersion"], "1.1.0");
}

#[test]
fn concurrent_adds_of_different_containers_all_succeed_with_distinct_ports() {
    let agent = MemAgent::default();
    let stdin = conf(json!({}));
    std::thread::scope(|scope| {
        for index in 0..16 {
            let (agent, stdin) = (&agent, &stdin);
            scope.spawn(move || expect_success(&add(agent, &format!("c{index}"), stdin)));
        }
    });
    let ports = agent.with(|state| state.ports.clone());
    assert_eq!(ports.len(), 16);
    let mut addresses: Vec<_> = ports.values().map(|port| port.ips[0]).collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 16);
}

fn delegated(agent: &MemAgent, ipam: &common::ScriptedIpam) -> cni::Outcome {
    let stdin = conf(json!({"ipam": {"type": "scripted"}}));
    cni::run(agent, &env("ADD", "c1", Some(NETNS)), &stdin, ipam)
}

#[test]
fn delegated_ipam_gets_a_version_it_speaks_and_its_addresses_reach_the_agent() {
    let agent = MemAgent::default();
    let answer = br#"{"cniVersion":"1.0.0","ips":[{"address":"10.8.0.7/16","gateway":"10.8.0.1"}],
        "routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.8.0.53"]}}"#;
    let ipam = common::ScriptedIpam::new(Ok(answer.to_vec()));
    let outcome = delegated(&agent, &ipam);
    expect_success(&outcome);
    let result = json(&outcome);
    assert_eq!(result["cniVersion"], "1.1.0");
    assert_eq!(result["ips"][0], json!({"address": "10.8.0.7/16", "gateway": "10.8.0.1", "interface": 1}));
    assert_eq!(result["dns"], json!({"nameservers": ["10.8.0.53"]}));
    let calls = ipam.calls.lock().unwrap().clone();
    assert_eq!(calls.last().unwrap(), &(cni::Command::Add, "\"1.0.0\"".to_owned()), "{calls:?}");
}

#[test]
fn a_failing_delegated_add_is_followed_by_its_del() {
    let agent = MemAgent::default();
    let failure = cni::IpamError::Failed {
        plugin: "scripted".into(),
        code: 11,
        msg: "busy".into(),
        details: String::new(),
    };
    let ipam = common::ScriptedIpam::new(Err(failure));
    expect_error(&delegated(&agent, &ipam), 11);
    assert_eq!(ipam.commands(), [cni::Command::Add, cni::Command::Del]);
    assert!(agent.with(|state| state.requests.is_empty()));

    let unreadable = common::ScriptedIpam::new(Ok(b"{\"ips\":[{\"address\":\"nonsense\"}]}".to_vec()));
    expect_error(&delegated(&agent, &unreadable), 6);
    assert_eq!(unreadable.commands(), [cni::Command::Add, cni::Command::Del]);
}

#[test]
fn a_delegated_plugin_sharing_no_version_is_code_1() {
    let agent = MemAgent::default();
    let mut ipam = common::ScriptedIpam::new(Ok(b"{}".to_vec()));
    ipam.versions = vec!["0.1.0", "0.2.0"];
    assert!(expect_error(&delegated(&agent, &ipam), 1).contains("update the plugin"));
    assert!(ipam.commands().is_empty());
}

#[test]
fn gc_releases_stale_addresses_and_forwards_gc_to_an_ipam_plugin_that_speaks_1_1() {
    let agent = MemAgent::default();
    let answer = br#"{"cniVersion":"1.1.0","ips":[{"address":"10.8.0.7/16"}]}"#;
    let mut ipam = common::ScriptedIpam::new(Ok(answer.to_vec()));
    ipam.versions.push("1.1.0");
    expect_success(&delegated(&agent, &ipam));
    ipam.calls.lock().unwrap().clear();
    let environment = cni::CniEnv { command: Some("GC".into()), ..cni::CniEnv::default() };
    let stdin = conf(json!({"ipam": {"type": "scripted"}, "cni.dev/valid-attachments": []}));
    expect_success(&cni::run(&agent, &environment, &stdin, &ipam));
    assert!(agent.with(|state| state.ports.is_empty()));
    assert_eq!(ipam.commands(), [cni::Command::Del, cni::Command::Gc]);
}

mod hostile_input {
    use proptest::prelude::*;

    use super::*;

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[ -~]{0,12}".prop_map(serde_json::Value::from),
            prop::sample::select(vec!["1.1.0", "0.4.0", "web", "switchyard", "eth0", "10.0.0.1/24"])
                .prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "cniVersion",
                        "name",
                        "type",
                        "profile",
                        "ipam",
                        "dns",
                        "mtu",
                        "prevResult",
                        "cni.dev/valid-attachments",
                        "ips",
                        "interfaces",
                        "address",
                        "containerID",
                        "ifname",
                    ])
                    .prop_map(str::to_owned),
                    inner,
                    0..6,
                )
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn answers_in_protocol(outcome: &cni::Outcome) -> Result<(), TestCaseError> {
        prop_assert!(outcome.exit_code <= 1);
        if outcome.exit_code == 1 {
            let error: serde_json::Value = serde_json::from_slice(&outcome.stdout).unwrap();
            prop_assert!(error["code"].as_u64().is_some(), "{}", error);
            prop_assert!(error["msg"].is_string() && error["details"].is_string(), "{}", error);
        } else if !outcome.stdout.is_empty() {
            serde_json::from_slice::<serde_json::Value>(&outcome.stdout).unwrap();
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn any_bytes_get_a_protocol_answer(
            stdin in prop::collection::vec(any::<u8>(), 0..200),
            command in prop::sample::select(vec!["ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION", "x"]),
        ) {
            let agent = MemAgent::default();
            answers_in_protocol(&cni::run(&agent, &env(command, "c1", Some(NETNS)), &stdin, &NoIpam))?;
        }

        #[test]
        fn any_json_gets_a_protocol_answer(
            mut conf in json_value(),
            command in prop::sample::select(vec!["ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"]),
            container_id in "[ -~]{0,20}",
        ) {
            // Mostly well-formed around the fuzzed fields, so the verbs themselves are reached.
            if let Some(object) = conf.as_object_mut() {
                object.entry("cniVersion").or_insert_with(|| "1.1.0".into());
                object.entry("name").or_insert_with(|| "web".into());
                object.remove("ipam");
            }
            let agent = MemAgent::default();
            let stdin = serde_json::to_vec(&conf).unwrap();
            answers_in_protocol(&cni::run(&agent, &env(command, &container_id, Some(NETNS)), &stdin, &NoIpam))?;
        }
    }
}
