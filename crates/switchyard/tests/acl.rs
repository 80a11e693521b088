//! Access lists in port-profiles, end to end: real supervisor and agent processes, containers
//! attached with `switchyard attach` into namespaces the test makes, real `ping`, `iperf3`,
//! `sshd`/`ssh` and busybox `nc`. Permitted traffic passes, denied traffic does not and is
//! counted by entry at the supervisor, replies of stateful permits pass without a rule of their
//! own, and a list changed live takes effect on every port that uses it.
//! Needs root (CI runs as root); without it the tests say so loudly and do nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::containers::{Container, HOST, vemcmd};
use common::{Testbed, poll_until, skip_unless_root, stderr, stdout};

/// A server that takes ssh (the test's sshd listens on 2222), iperf3 and ping and nothing else, and a client with no list.
/// `WEB-OUT` filters what the switch sends to the server (`out`), so replies from the server
/// to the client meet no list.
const PROFILES: &str = "\
configure terminal
vlan 100
ip access-list WEB-OUT
  statistics per-entry
  10 permit tcp any 10.99.0.0/24 eq 2222
  20 permit tcp any host 10.99.0.2 eq 5201
  30 permit icmp any any
  40 deny ip any any
port-profile type vethernet client
  switchport mode access
  switchport access vlan 100
  no shutdown
  state enabled
port-profile type vethernet server
  switchport mode access
  switchport access vlan 100
  ip port access-group WEB-OUT out
  no shutdown
  state enabled
end
";

fn testbed(profiles: &str) -> Testbed {
    let mut bed = Testbed::start();
    let out = bed.shell(&[], profiles);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    bed.start_agent(HOST);
    bed
}

/// Whether a TCP connection from `client` to `ip:port` opens within two seconds (a listener in
/// `server` accepts it). Busybox `nc`: no dependency beyond busybox-static.
fn tcp_connects(client: &Container, server: &Container, port: u16) -> bool {
    let port = port.to_string();
    let mut listener = server.ns.spawn(&["busybox", "nc", "-l", "-p", &port]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let out = client
        .ns
        .exec(&["sh", "-c", &format!("echo hello | timeout 2 busybox nc -w 2 {} {port}", server.ip)])
        .unwrap();
    let _ = listener.kill();
    let _ = listener.wait();
    out.status.success()
}

/// The `[match=N]` of entry `sequence` in `show ip access-lists NAME`, summed over modules.
fn matches(bed: &Testbed, list: &str, sequence: u32) -> u64 {
    let shown = bed.show(&format!("show ip access-lists {list}"));
    shown
        .lines()
        .find(|line| line.trim_start().starts_with(&format!("{sequence} ")))
        .and_then(|line| line.split("[match=").nth(1)?.trim_end_matches(']').parse().ok())
        .unwrap_or_else(|| panic!("no entry {sequence} with a match count in:\n{shown}"))
}

/// A drop reason's count in `vemcmd show drops`' totals (0 when absent).
fn total_drops(bed: &Testbed, reason_words: &str) -> u64 {
    vemcmd(bed, "show drops")
        .lines()
        .filter(|line| line.starts_with("Total") && line.contains(reason_words))
        .filter_map(|line| line.split_whitespace().last()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn permitted_traffic_passes_denied_traffic_is_dropped_and_counted_by_entry() {
    if skip_unless_root() {
        return;
    }
    let mut bed = testbed(PROFILES);
    let client = common::containers::attach(&bed, "cl", "client", Some("10.99.0.1"));
    let server = common::containers::attach(&bed, "sv", "server", Some("10.99.0.2"));
    assert!(client.ns.ping(&server.ip, 3), "ping is permitted (30)\n{}", bed.logs());
    common::iperf3_checked(&client.ns, &server.ns, &server.ip, 20_000_000);
    common::ssh_transfer_checked(&client.ns, &server.ns, &server.ip, 1_000_000);
    assert!(tcp_connects(&client, &server, 5201), "tcp 5201 is permitted (20): the probe works");
    assert!(!tcp_connects(&client, &server, 8080), "tcp 8080 meets 40 deny ip any any");
    assert!(total_drops(&bed, "access list") > 0, "{}", vemcmd(&bed, "show drops"));
    // The agent reports every few seconds: wait for counts that include the traffic above.
    bed.wait_until("every entry counted at the supervisor", Duration::from_secs(20), |bed| {
        [10, 20, 30, 40].iter().all(|&sequence| matches(bed, "WEB-OUT", sequence) > 0)
    });
    let shown = bed.show("show ip access-lists WEB-OUT");
    assert!(shown.contains("IP access list WEB-OUT"), "{shown}");
    assert!(shown.contains("statistics per-entry"), "{shown}");
    assert!(shown.contains("10 permit tcp any 10.99.0.0/24 eq 2222 [match="), "{shown}");
    assert!(matches(&bed, "WEB-OUT", 30) >= 3, "three echo requests at least:\n{shown}");
    // The trace names the list and the entry that decided.
    let trace = vemcmd(
        &bed,
        &format!(
            "trace --in Veth{} src {} dst {} ipv4 {} > {} tcp 40000 > 8080 syn",
            client.veth,
            client.mac(),
            server.mac(),
            client.ip,
            server.ip
        ),
    );
    assert!(trace.contains("WEB-OUT") && trace.contains("40 deny ip any any"), "{trace}");
}

/// A security group: the server's port lets ssh in (statefully) and nothing out. Its replies
/// pass only as replies of connections the permit tracked; it cannot open anything itself.
const STATEFUL: &str = "\
configure terminal
vlan 100
ip access-list SSH-ONLY
  10 permit tcp any any eq 2222 stateful
  20 permit icmp any any echo stateful
ip access-list NOTHING
  10 deny ip any any
port-profile type vethernet client
  switchport mode access
  switchport access vlan 100
  no shutdown
  state enabled
port-profile type vethernet guarded
  switchport mode access
  switchport access vlan 100
  ip port access-group SSH-ONLY out
  ip port access-group NOTHING in
  no shutdown
  state enabled
end
";

#[test]
fn replies_of_stateful_permits_pass_and_the_guarded_side_cannot_open_anything() {
    if skip_unless_root() {
        return;
    }
    let bed = testbed(STATEFUL);
    let client = common::containers::attach(&bed, "cl", "client", Some("10.99.1.1"));
    let server = common::containers::attach(&bed, "sv", "guarded", Some("10.99.1.2"));
    assert!(client.ns.ping(&server.ip, 3), "echo replies are replies\n{}", bed.logs());
    common::ssh_transfer_checked(&client.ns, &server.ns, &server.ip, 2_000_000);
    assert!(!server.ns.ping(&client.ip, 1), "the guarded side opened an ICMP exchange");
    assert!(!tcp_connects(&server, &client, 2222), "the guarded side opened a TCP connection");
    let conntrack = vemcmd(&bed, "show conntrack");
    assert!(conntrack.contains(&client.ip) && conntrack.contains(&server.ip), "{conntrack}");
    vemcmd(&bed, "clear conntrack");
    let cleared = vemcmd(&bed, "show conntrack");
    assert!(cleared.contains("Total connections: 0"), "{cleared}");
}

#[test]
fn a_list_changed_live_applies_to_every_port_that_uses_it() {
    if skip_unless_root() {
        return;
    }
    let mut bed = testbed(PROFILES);
    let client = common::containers::attach(&bed, "cl", "client", Some("10.99.0.1"));
    let server = common::containers::attach(&bed, "sv", "server", Some("10.99.0.2"));
    assert!(client.ns.ping(&server.ip, 2), "{}", bed.logs());
    let out = bed.shell(&[], "configure terminal\nip access-list WEB-OUT\n  no 30\nend\n");
    assert!(out.status.success(), "{}", stderr(&out));
    bed.wait_until("ping denied once 30 is gone", Duration::from_secs(10), |_| {
        !client.ns.ping(&server.ip, 1)
    });
    let out = bed.shell(&[], "configure terminal\nip access-list WEB-OUT\n  30 permit icmp any any\nend\n");
    assert!(out.status.success(), "{}", stderr(&out));
    bed.wait_until("ping permitted again", Duration::from_secs(10), |_| client.ns.ping(&server.ip, 1));
    // A profile that names a list that does not exist is refused with the line and column.
    let out = bed.shell(
        &[],
        "configure terminal\nport-profile type vethernet client\n  ip port access-group NO-SUCH in\nend\n",
    );
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!out.status.success(), "a missing list was accepted: {said}");
    assert!(said.contains("'NO-SUCH'") && said.contains("does not exist"), "{said}");
    poll_until(
        "the client still forwards",
        Duration::from_secs(5),
        || client.ns.ping(&server.ip, 1),
        || bed.logs(),
    );
}

/// IPv6 through `ipv6 port traffic-filter`: ICMPv6 (neighbour discovery and ping) permitted, TCP
/// only where an entry says so; the IPv4 list of the same port does not filter IPv6.
#[test]
fn ipv6_traffic_filters_apply_to_ipv6_only() {
    if skip_unless_root() {
        return;
    }
    let bed = testbed(
        "configure terminal
vlan 100
ipv6 access-list V6-OUT
  10 permit icmp any any
ip access-list V4-OUT
  10 deny ip any any
port-profile type vethernet client
  switchport mode access
  switchport access vlan 100
  no shutdown
  state enabled
port-profile type vethernet v6server
  switchport mode access
  switchport access vlan 100
  ipv6 port traffic-filter V6-OUT out
  ip port access-group V4-OUT out
  no shutdown
  state enabled
end
",
    );
    let client = common::containers::attach(&bed, "c6", "client", Some("10.99.9.1"));
    let server = common::containers::attach(&bed, "s6", "v6server", Some("10.99.9.2"));
    for (container, address) in [(&client, "fd00:99::1/64"), (&server, "fd00:99::2/64")] {
        container.ns.exec_ok(&["ip", "-6", "addr", "add", address, "dev", "eth0", "nodad"]).unwrap();
    }
    let ping6 = |count: &str| {
        client.ns.exec(&["ping", "-6", "-c", count, "-W", "1", "-q", "fd00:99::2"]).unwrap().status.success()
    };
    assert!((0..10).any(|_| ping6("1")), "ICMPv6 is permitted (neighbour discovery too)\n{}", bed.logs());
    assert!(!client.ns.ping(&server.ip, 1), "IPv4 meets V4-OUT's deny");
    let server6 = Container { ns: server.ns, ip: "fd00:99::2".to_owned(), veth: server.veth };
    assert!(!tcp_connects(&client, &server6, 8080), "TCP over IPv6 meets V6-OUT's implicit deny");
    let out =
        bed.shell(&[], "configure terminal\nipv6 access-list V6-OUT\n  20 permit tcp any any eq 8080\nend\n");
    assert!(out.status.success(), "{}", stderr(&out));
    poll_until(
        "TCP over IPv6 permitted by entry 20",
        Duration::from_secs(10),
        || tcp_connects(&client, &server6, 8080),
        || bed.logs(),
    );
    let shown = bed.show("show ipv6 access-lists V6-OUT");
    assert!(shown.contains("20 permit tcp any any eq 8080"), "{shown}");
}
