//! Flow export end to end: a profile with `ip flow monitor`, real supervisor and agent
//! processes, containers attached into namespaces the test makes, real `ping` and `iperf3`, and
//! two collectors nobody here wrote — `nfcapd` for IPFIX and another for NetFlow v9 — whose
//! files `nfdump` reads back. The records hold exactly the packets and bytes sent; a long flow is
//! exported every active timeout, an idle one after the inactive timeout.
//! Needs root (CI runs as root); without it the tests say so loudly and do nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../agent/tests/collectors/mod.rs"]
#[allow(dead_code)]
mod collectors;
mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use collectors::nfcapd::Nfcapd;
use common::containers::{Container, HOST};
use common::{Testbed, skip_unless_root, stderr, stdout};

fn attach(bed: &Testbed, name: &str, profile: &str, ip: &str) -> Container {
    let container = common::containers::attach(bed, name, profile, Some(ip));
    container.ns.disable_ipv6().unwrap();
    container
}

/// The flows of `collected` from `src` to `dst` with `protocol`.
fn flows_between<'a>(
    flows: &'a [serde_json::Value],
    src: &str,
    dst: &str,
    protocol: u64,
) -> Vec<&'a serde_json::Value> {
    flows
        .iter()
        .filter(|flow| flow["src4_addr"] == src && flow["dst4_addr"] == dst && flow["proto"] == protocol)
        .collect()
}

fn total(flows: &[&serde_json::Value], field: &str) -> u64 {
    flows.iter().map(|flow| flow[field].as_u64().unwrap_or(0)).sum()
}

#[test]
fn monitored_ports_export_exact_counts_to_ipfix_and_netflow_v9_collectors() {
    if skip_unless_root() {
        return;
    }
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (ipfix, v9) = (Nfcapd::start(loopback), Nfcapd::start(loopback));
    let mut bed = Testbed::start();
    let config = format!(
        "configure terminal
vlan 100
flow exporter IPFIX
  destination 127.0.0.1
  transport udp {}
  version ipfix
flow exporter V9
  destination 127.0.0.1
  transport udp {}
  version 9
flow monitor MON
  record netflow-original
  exporter IPFIX
  exporter V9
  timeout active 3
  timeout inactive 2
port-profile type vethernet monitored
  switchport mode access
  switchport access vlan 100
  ip flow monitor MON input
  no shutdown
  state enabled
port-profile type vethernet plain
  switchport mode access
  switchport access vlan 100
  no shutdown
  state enabled
end
",
        ipfix.address().port(),
        v9.address().port()
    );
    let out = bed.shell(&[], &config);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    bed.start_agent(HOST);
    let client = attach(&bed, "fc", "monitored", "10.99.7.1");
    let server = attach(&bed, "fs", "plain", "10.99.7.2");
    let other = attach(&bed, "fo", "plain", "10.99.7.3");
    // ARP first, so the pings below are exactly ten and forty echo requests of 84 IP bytes.
    assert!(client.ns.ping(&server.ip, 1) && client.ns.ping(&other.ip, 1), "{}", bed.logs());
    std::thread::sleep(Duration::from_secs(4));
    let short = client.ns.exec(&["ping", "-c", "10", "-i", "0.2", "-q", &server.ip]).unwrap();
    assert!(short.status.success());
    // Eight seconds long: the active timeout (3 s) exports it in pieces while it runs.
    let long = client.ns.exec(&["ping", "-c", "40", "-i", "0.2", "-q", &other.ip]).unwrap();
    assert!(long.status.success());
    common::iperf3_checked(&client.ns, &server.ns, &server.ip, 50_000_000);
    bed.wait_until("the exporters report records", Duration::from_secs(20), |bed| {
        let shown = bed.show("show flow exporter");
        let exported: Vec<u64> = shown
            .lines()
            .filter_map(|line| line.trim().strip_prefix("Number of Flow Records Exported: ")?.parse().ok())
            .collect();
        exported.len() == 2 && exported.iter().all(|&records| records > 0)
    });
    // The inactive timeout (2 s) and the agent's 1 s poll: everything is out after 4 s.
    std::thread::sleep(Duration::from_secs(4));
    for (version, collector) in [("ipfix", ipfix), ("v9", v9)] {
        let collected = collector.finish();
        let flows = &collected.flows;
        assert_eq!(collected.sequence_errors, 0, "{version}: {}", collected.log);
        let echo = flows_between(flows, &client.ip, &server.ip, 1);
        // The first ping's request (before the sleep) is a flow of its own, long expired.
        assert_eq!(total(&echo, "in_packets"), 11, "{version}: {echo:?}");
        assert!(echo.len() >= 2, "{version}: the warm-up ping is a flow of its own: {echo:?}");
        assert_eq!(total(&echo, "in_bytes"), 11 * 84, "{version}: {echo:?}");
        let long = flows_between(flows, &client.ip, &other.ip, 1);
        assert_eq!(total(&long, "in_packets"), 41, "{version}: {long:?}");
        assert!(long.len() >= 3, "{version}: the active timeout split the long flow: {long:?}");
        let tcp = flows_between(flows, &client.ip, &server.ip, 6);
        let bytes = total(&tcp, "in_bytes");
        // iperf3 returns once its last bytes are written, and the test then stops its server:
        // what was still in flight never crosses. The server counted at least 80 % (checked
        // above); headers add a few percent.
        assert!(
            (40_000_000..=52_500_000).contains(&bytes),
            "{version}: {bytes} IP bytes for a 50 MB transfer: {tcp:?}"
        );
        assert!(
            flows_between(flows, &server.ip, &client.ip, 1).is_empty(),
            "{version}: the server's port monitors nothing, and replies leave by the client's output"
        );
        for flow in echo {
            assert_eq!(flow["src_vlan"], 100, "{version}: {flow}");
        }
    }
}
