//! The OVSDB client against the real Open vSwitch tools: a private ovsdb-server per test and the
//! seed's `ovs-vsctl` commands verbatim, without `--no-wait`, and the agent's view of the rows
//! (ports and rejected rows). The client against a fake server, for what the real one never sends
//! (garbage), is in the ovsdb crate's tests.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod ovsdb_support;

use std::process::Output;
use std::time::{Duration, Instant};

use agent::ovsdb::{OvsdbConfig, OvsdbEvent, spawn};
use ovsdb_support::{Agent, OvsdbServer, ifnames, seed_add_port};
use tokio::task::block_in_place;

const BRIDGE: &str = "sy-test";

/// What the issue allows `ovs-vsctl` without `--no-wait`.
const PROMPT: Duration = Duration::from_secs(2);

/// Runs `ovs-vsctl ARGS` off the async workers; its output and how long it took.
fn timed_vsctl(server: &OvsdbServer, args: &[String]) -> (Output, Duration) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let start = Instant::now();
    let output = block_in_place(|| server.vsctl(&args));
    (output, start.elapsed())
}

fn vsctl_ok(server: &OvsdbServer, args: &[&str]) -> String {
    block_in_place(|| server.vsctl_ok(args))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_add_port_without_no_wait_returns_promptly_with_the_columns_written() {
    let server = OvsdbServer::start();
    let mut agent = Agent::start(&server, BRIDGE);
    agent.view_where("the bridge to be created", |view| view.bridge_exists).await;
    assert_eq!(vsctl_ok(&server, &["list-br"]), BRIDGE);

    let ifname = "veth18924_eth0";
    let (output, took) =
        timed_vsctl(&server, &seed_add_port(BRIDGE, ifname, "2ea9fa4b-8d31-4f3e-9cbb-3b1b7c4f5a10", None));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stderr(&output), "", "ovs-vsctl complained");
    assert!(took < PROMPT, "add-port took {took:?}");
    println!("ovs-vsctl add-port (waiting for cur_cfg) took {took:?}");

    let view = agent.view_where("the port", |view| ifnames(view) == [ifname]).await;
    let port = &view.desired[0];
    assert_eq!(port.iface_id, "2ea9fa4b-8d31-4f3e-9cbb-3b1b7c4f5a10");
    assert_eq!(port.mac.colon().to_string(), "02:42:ac:16:40:c9");
    assert_eq!(port.profile, "vlan100");
    assert_eq!(port.vm_uuid, "vm-2ea9fa4b-8d31-4f3e-9cbb-3b1b7c4f5a10");
    assert_eq!(port.vm_name, format!("container-{ifname}"));

    let get = |column: &str| vsctl_ok(&server, &["get", "interface", ifname, column]);
    assert_eq!(get("ofport"), "1");
    assert_eq!(get("link_state"), "up");
    assert_eq!(get("admin_state"), "up");
    assert_eq!(get("status"), "{port-profile=vlan100}");
    assert_eq!(get("error"), "[]");
    let listing = vsctl_ok(&server, &["list", "interface", ifname]);
    assert!(listing.lines().any(|line| line.starts_with("ofport") && line.ends_with(": 1")), "{listing}");
    assert_eq!(
        vsctl_ok(&server, &["get", "open_vswitch", ".", "cur_cfg"]),
        vsctl_ok(&server, &["get", "open_vswitch", ".", "next_cfg"])
    );

    // Twenty more, one after another, as a host starting containers would.
    let mut times = Vec::new();
    for n in 0..20 {
        let (output, took) = timed_vsctl(
            &server,
            &seed_add_port(BRIDGE, &format!("veth-many{n}"), &format!("id-many{n}"), None),
        );
        assert!(output.status.success() && output.stderr.is_empty(), "{}", stderr(&output));
        times.push(took);
    }
    times.sort_unstable();
    println!("20 more add-ports: median {:?}, max {:?}", times[10], times[19]);
    assert!(times[19] < PROMPT, "{times:?}");
    assert_eq!(agent.view_where("21 ports", |view| view.desired.len() == 21).await.rejected.len(), 0);
    assert_eq!(vsctl_ok(&server, &["get", "interface", "veth-many19", "ofport"]), "21");

    let (output, took) = timed_vsctl(&server, &["del-port".into(), BRIDGE.into(), ifname.into()]);
    assert!(output.status.success() && output.stderr.is_empty(), "{}", stderr(&output));
    assert!(took < PROMPT, "del-port took {took:?}");
    let view = agent.view_where("the port to go", |view| view.desired.len() == 20).await;
    assert!(!ifnames(&view).contains(&ifname));
    assert!(!vsctl_ok(&server, &["list-ports", BRIDGE]).lines().any(|port| port == ifname));
}

/// The control: with the client running but nobody acknowledging, `ovs-vsctl` waits (here
/// until its own timeout), so the prompt returns above are the acknowledgements' doing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_acknowledgement_ovs_vsctl_keeps_waiting() {
    let server = OvsdbServer::start();
    let (_handle, mut events) = spawn(OvsdbConfig::new(server.endpoint(), BRIDGE));
    while !matches!(events.recv().await, Some(OvsdbEvent::Changed(view)) if view.bridge_exists) {}
    let mut args = vec!["--timeout=1".to_owned()];
    args.extend(seed_add_port(BRIDGE, "veth-unacked", "id-1", None));
    let (output, took) = timed_vsctl(&server, &args);
    assert!(!output.status.success(), "ovs-vsctl returned without an acknowledgement");
    assert!(took >= Duration::from_secs(1), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_the_agent_cannot_honour_get_an_error_and_heal_when_fixed() {
    let server = OvsdbServer::start();
    let mut agent = Agent::start(&server, BRIDGE);
    agent.view_where("the bridge to be created", |view| view.bridge_exists).await;

    // A row without vm-name: ovs-vsctl returns, and says the interface failed.
    let (output, took) = timed_vsctl(&server, &seed_add_port(BRIDGE, "veth-noname", "id-1", Some("vm-name")));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("Error detected while setting up 'veth-noname'"), "{}", stderr(&output));
    assert!(took < PROMPT, "add-port took {took:?}");
    let get = |ifname: &str, column: &str| vsctl_ok(&server, &["get", "interface", ifname, column]);
    assert_eq!(get("veth-noname", "ofport"), "-1");
    assert_eq!(get("veth-noname", "error"), "\"missing external_ids:vm-name\"");

    // A second row with a working port's iface-id: the newcomer is refused.
    let (output, _) = timed_vsctl(&server, &seed_add_port(BRIDGE, "veth-first", "id-dup", None));
    assert!(output.status.success() && output.stderr.is_empty(), "{}", stderr(&output));
    let (output, _) = timed_vsctl(&server, &seed_add_port(BRIDGE, "veth-second", "id-dup", None));
    assert!(stderr(&output).contains("Error detected while setting up 'veth-second'"), "{}", stderr(&output));
    assert_eq!(get("veth-second", "error"), "\"external_ids:iface-id id-dup is also used by veth-first\"");
    assert_eq!(get("veth-first", "error"), "[]");
    assert_eq!(get("veth-first", "link_state"), "up");

    // Fixing the first row makes it a port; the error goes.
    let (output, took) = timed_vsctl(
        &server,
        &["set".into(), "interface".into(), "veth-noname".into(), "external_ids:vm-name=web1".into()],
    );
    assert!(output.status.success() && output.stderr.is_empty(), "{}", stderr(&output));
    assert!(took < PROMPT, "set took {took:?}");
    let view = agent.view_where("the fixed row", |view| ifnames(view).contains(&"veth-noname")).await;
    assert_eq!(ifnames(&view), ["veth-first", "veth-noname"]);
    assert_eq!(get("veth-noname", "error"), "[]");
    assert!(get("veth-noname", "ofport").parse::<i64>().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_bridge_comes_back() {
    let server = OvsdbServer::start();
    let mut agent = Agent::start(&server, BRIDGE);
    agent.view_where("the bridge to be created", |view| view.bridge_exists).await;
    let (output, took) = timed_vsctl(&server, &["del-br".into(), BRIDGE.into()]);
    assert!(output.status.success() && output.stderr.is_empty(), "{}", stderr(&output));
    assert!(took < PROMPT, "del-br took {took:?}");
    agent.view_where("the bridge to be deleted", |view| !view.bridge_exists).await;
    agent.view_where("the bridge to come back", |view| view.bridge_exists).await;
    assert_eq!(vsctl_ok(&server, &["list-br"]), BRIDGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ovsdb_server_restart_gives_the_full_state_again() {
    let mut server = OvsdbServer::start();
    let mut agent = Agent::start(&server, BRIDGE);
    agent.view_where("the bridge to be created", |view| view.bridge_exists).await;
    let (output, _) = timed_vsctl(&server, &seed_add_port(BRIDGE, "veth-before", "id-before", None));
    assert!(output.status.success() && output.stderr.is_empty(), "{}", stderr(&output));

    block_in_place(|| server.stop());
    agent.event_where("the disconnection", |event| matches!(event, OvsdbEvent::Disconnected { .. })).await;
    block_in_place(|| server.restart());
    // Added while the agent is (most likely) still away.
    vsctl_ok(
        &server,
        &[
            "--no-wait",
            "add-port",
            BRIDGE,
            "veth-during",
            "--",
            "set",
            "interface",
            "veth-during",
            "external_ids:iface-id=id-during",
            "external_ids:attached-mac=02:00:00:00:00:02",
            "external_ids:profile=vlan100",
            "external_ids:vm-uuid=vm-2",
            "external_ids:vm-name=db1",
        ],
    );

    agent.event_where("the reconnection", |event| *event == OvsdbEvent::Connected).await;
    let view = agent.view_where("both ports", |view| ifnames(view) == ["veth-before", "veth-during"]).await;
    assert!(view.rejected.is_empty());
    assert_eq!(agent.handle.stats().connections, 2);
    // The agent wrote its ephemeral columns again (ovsdb-server forgot them).
    let server = &server;
    ovsdb_support::wait_until(Duration::from_secs(5), "link_state of veth-during", || {
        server.vsctl_ok(&["get", "interface", "veth-during", "link_state"]) == "up"
            && server.vsctl_ok(&["get", "interface", "veth-before", "link_state"]) == "up"
    });
    assert_eq!(vsctl_ok(server, &["get", "interface", "veth-before", "ofport"]), "1");
    assert_eq!(vsctl_ok(server, &["get", "interface", "veth-during", "ofport"]), "2");

    // And the restarted server still releases ovs-vsctl calls.
    let (output, took) = timed_vsctl(server, &seed_add_port(BRIDGE, "veth-after", "id-after", None));
    assert!(output.status.success() && output.stderr.is_empty(), "{}", stderr(&output));
    assert!(took < PROMPT, "add-port took {took:?}");
}
