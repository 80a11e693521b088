//! Connection tracking through `Datapath::process`: stateful permits on input and output
//! lists let replies through, TCP/UDP/ICMP states and timeouts, a full table, list changes,
//! `clear`, trace, and flow accounting.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;
mod policy_common;

use std::sync::Arc;
use std::time::Duration;

use common::{Harness, mac, veth};
use datapath::{Acl, Action, ConnDirection, ConnState, Datapath, DropReason, PortId, Settings, Snapshot};
use policy_common::{ACK, FIN, L4, RST, SYN, arp, frame, list, permit_tcp_to, rule, v4, with_in, with_out};

/// A TCP segment between 10.0.0.1:40000 (Veth1, port 49) and 10.0.0.2:80 (Veth2, port 50).
fn client(flags: u8) -> Vec<u8> {
    frame(mac(1), mac(2), None, v4(1), v4(2), L4::Tcp { src: 40000, dst: 80, flags })
}

fn server(flags: u8) -> Vec<u8> {
    frame(mac(2), mac(1), None, v4(2), v4(1), L4::Tcp { src: 80, dst: 40000, flags })
}

/// Learns both MACs (ARP is not IP: no list sees it).
fn learn(switch: &mut Harness) {
    switch.send(49, &arp(mac(1), common::ip(1)));
    switch.send(50, &arp(mac(2), common::ip(2)));
}

/// Veth1 a client: it may open HTTP connections (stateful), nothing may come to it on its own.
fn client_side(settings: &Settings) -> Harness {
    let out_nothing = list("NOTHING", vec![]);
    let open_http = list("HTTP-OUT", vec![permit_tcp_to(10, 80, true)]);
    let ports = vec![with_out(with_in(veth(49, 100), &open_http), &out_nothing), veth(50, 100)];
    let mut switch = Harness::with_snapshot(Snapshot::new(ports).unwrap());
    switch.datapath = Datapath::new(settings, switch.datapath.config().clone());
    learn(&mut switch);
    switch
}

fn passes(switch: &mut Harness, from: u32, frame: &[u8]) -> bool {
    !switch.send(from, frame).is_empty()
}

fn states(switch: &Harness) -> Vec<ConnState> {
    switch.datapath.connections(switch.now).iter().map(|conn| conn.state).collect()
}

#[test]
fn replies_of_an_input_stateful_permit_pass_the_output_list() {
    let mut switch = client_side(&Settings::default());
    // Nothing unsolicited reaches the client, not even the server's SYN-ACK.
    assert!(!passes(&mut switch, 50, &server(SYN | ACK)));
    assert_eq!(switch.stats(49).drops.get(DropReason::AclOut), 1);
    assert!(passes(&mut switch, 49, &client(SYN)));
    assert_eq!(states(&switch), [ConnState::SynSent]);
    assert!(passes(&mut switch, 50, &server(SYN | ACK)));
    assert_eq!(states(&switch), [ConnState::SynReceived]);
    assert!(passes(&mut switch, 49, &client(ACK)));
    assert!(passes(&mut switch, 50, &server(ACK)));
    let connections = switch.datapath.connections(switch.now);
    assert_eq!(connections.len(), 1);
    let conn = &connections[0];
    assert_eq!(
        (conn.port, conn.direction, conn.state),
        (PortId(49), ConnDirection::In, ConnState::Established)
    );
    assert_eq!((conn.src, conn.dst, conn.src_port, conn.dst_port), (v4(1), v4(2), 40000, 80));
    assert_eq!(conn.expires_in, Duration::from_secs(24 * 3600));
    // Another port of the server is not a reply.
    let other = frame(mac(2), mac(1), None, v4(2), v4(1), L4::Tcp { src: 81, dst: 40000, flags: ACK });
    assert!(!passes(&mut switch, 50, &other));
    // Teardown: FIN both ways, then TIME_WAIT ends after 45 s and replies are denied.
    assert!(passes(&mut switch, 49, &client(FIN | ACK)));
    assert!(passes(&mut switch, 50, &server(FIN | ACK)));
    assert_eq!(states(&switch), [ConnState::TimeWait]);
    switch.advance(Duration::from_secs(46));
    assert!(states(&switch).is_empty());
    assert!(!passes(&mut switch, 50, &server(ACK)));
    // The HTTP-OUT hits: SYN, ACK, FIN (the entry decided each; replies count nowhere).
    let hits: Vec<u64> =
        switch.datapath.acl_hits().filter(|h| &*h.list == "HTTP-OUT").map(|h| h.matches).collect();
    assert_eq!(hits, [3, 0]);
}

#[test]
fn a_reset_closes_the_connection() {
    let mut switch = client_side(&Settings::default());
    assert!(passes(&mut switch, 49, &client(SYN)));
    assert!(passes(&mut switch, 50, &server(RST | ACK)));
    assert_eq!(states(&switch), [ConnState::Closed]);
    switch.advance(Duration::from_secs(31));
    assert!(!passes(&mut switch, 50, &server(ACK)));
    // A new SYN opens it again.
    assert!(passes(&mut switch, 49, &client(SYN)));
    assert!(passes(&mut switch, 50, &server(SYN | ACK)));
}

#[test]
fn replies_of_an_output_stateful_permit_pass_the_input_list() {
    // Veth2 a server: HTTP may reach it (stateful), it may send nothing on its own.
    let in_nothing = list("NOTHING", vec![]);
    let to_http = list("WEB", vec![permit_tcp_to(10, 80, true)]);
    let mut switch =
        Harness::new(vec![veth(49, 100), with_in(with_out(veth(50, 100), &to_http), &in_nothing)]);
    learn(&mut switch);
    assert!(!passes(&mut switch, 50, &server(SYN | ACK)));
    assert_eq!(switch.stats(50).drops.get(DropReason::AclIn), 1);
    assert!(passes(&mut switch, 49, &client(SYN)));
    assert!(passes(&mut switch, 50, &server(SYN | ACK)));
    assert!(passes(&mut switch, 49, &client(ACK)));
    let connections = switch.datapath.connections(switch.now);
    assert_eq!(connections.len(), 1);
    assert_eq!((connections[0].port, connections[0].direction), (PortId(50), ConnDirection::Out));
    assert_eq!(connections[0].state, ConnState::Established);
    assert!(passes(&mut switch, 50, &server(ACK)));
    // Later packets move the state on, never back to the start.
    assert!(passes(&mut switch, 49, &client(FIN | ACK)));
    assert!(passes(&mut switch, 49, &client(ACK)));
    assert_eq!(states(&switch), [ConnState::FinWait]);
    assert!(passes(&mut switch, 50, &server(FIN | ACK)));
    assert_eq!(states(&switch), [ConnState::TimeWait]);
}

#[test]
fn udp_and_icmp_echo_are_tracked() {
    let out_nothing = list("NOTHING", vec![]);
    let out_rules = list(
        "OUT",
        vec![
            datapath::AclRule { stateful: true, ..rule(10, Action::Permit, Some(17)) },
            datapath::AclRule { stateful: true, icmp_type: Some(8), ..rule(20, Action::Permit, Some(1)) },
        ],
    );
    let mut switch =
        Harness::new(vec![with_out(with_in(veth(49, 100), &out_rules), &out_nothing), veth(50, 100)]);
    learn(&mut switch);
    let query = frame(mac(1), mac(2), None, v4(1), v4(2), L4::Udp { src: 5353, dst: 53 });
    let answer = frame(mac(2), mac(1), None, v4(2), v4(1), L4::Udp { src: 53, dst: 5353 });
    let request = frame(mac(1), mac(2), None, v4(1), v4(2), L4::Icmp { kind: 8, ident: 7 });
    let reply = frame(mac(2), mac(1), None, v4(2), v4(1), L4::Icmp { kind: 0, ident: 7 });
    let other_reply = frame(mac(2), mac(1), None, v4(2), v4(1), L4::Icmp { kind: 0, ident: 8 });
    assert!(!passes(&mut switch, 50, &answer));
    assert!(!passes(&mut switch, 50, &reply));
    assert!(passes(&mut switch, 49, &query));
    assert!(passes(&mut switch, 49, &request));
    assert_eq!(states(&switch), [ConnState::New, ConnState::New]);
    assert!(passes(&mut switch, 50, &answer));
    assert!(passes(&mut switch, 50, &reply));
    assert!(!passes(&mut switch, 50, &other_reply), "another echo identifier is no reply");
    assert_eq!(states(&switch), [ConnState::Replied, ConnState::Replied]);
    // Replied: 30 s without a packet ends them.
    switch.advance(Duration::from_secs(31));
    assert!(!passes(&mut switch, 50, &answer));
    assert!(!passes(&mut switch, 50, &reply));
}

#[test]
fn connections_outlive_the_rule_that_created_them_until_cleared() {
    let mut switch = client_side(&Settings::default());
    assert!(passes(&mut switch, 49, &client(SYN)));
    assert!(passes(&mut switch, 50, &server(SYN | ACK)));
    assert!(passes(&mut switch, 49, &client(ACK)));
    // HTTP-OUT loses its rule: the open connection goes on both ways, a new one is denied.
    let closed = list("HTTP-OUT", vec![]);
    let out_nothing = list("NOTHING", vec![]);
    switch.set_ports(vec![with_out(with_in(veth(49, 100), &closed), &out_nothing), veth(50, 100)]);
    assert!(passes(&mut switch, 49, &client(ACK)));
    assert!(passes(&mut switch, 50, &server(ACK)));
    let other = frame(mac(1), mac(2), None, v4(1), v4(2), L4::Tcp { src: 40001, dst: 80, flags: SYN });
    assert!(!passes(&mut switch, 49, &other));
    // `clear`: the connection is gone, both directions denied.
    switch.datapath.clear_conntrack();
    assert!(states(&switch).is_empty());
    assert!(!passes(&mut switch, 49, &client(ACK)));
    assert!(!passes(&mut switch, 50, &server(ACK)));
}

#[test]
fn a_full_table_denies_new_connections_and_counts_them() {
    let mut switch = client_side(&Settings { flow_table_size: 2, ..Settings::default() });
    for n in 0..3u16 {
        let syn = frame(mac(1), mac(2), None, v4(1), v4(2), L4::Tcp { src: 1000 + n, dst: 80, flags: SYN });
        assert_eq!(passes(&mut switch, 49, &syn), n < 2, "connection {n}");
    }
    assert_eq!(switch.stats(49).drops.get(DropReason::ConntrackFull), 1);
    assert_eq!(switch.datapath.drops().get(DropReason::ConntrackFull), 1);
    let syn = frame(mac(1), mac(2), None, v4(1), v4(2), L4::Tcp { src: 1002, dst: 80, flags: SYN });
    let lines = switch.datapath.trace(switch.now, PortId(49), &syn);
    assert_eq!(
        lines[lines.len() - 3..],
        [
            "access-list HTTP-OUT in: 10 permit tcp any any eq 80 stateful",
            "conntrack table full: new connection denied",
            "dropped: connection table full: new connection denied",
        ]
    );
    // A minute later the entries of the unanswered SYNs have expired and make room.
    switch.advance(Duration::from_secs(61));
    assert!(passes(&mut switch, 49, &syn));
}

#[test]
fn trace_names_tracked_connections_and_replies() {
    let mut switch = client_side(&Settings::default());
    assert!(passes(&mut switch, 49, &client(SYN)));
    assert!(passes(&mut switch, 50, &server(SYN | ACK)));
    let lines = switch.datapath.trace(switch.now, PortId(50), &server(ACK));
    assert!(lines.contains(&"reply of a tracked connection (SYN_RECV): permitted".to_string()), "{lines:#?}");
    let lines = switch.datapath.trace(switch.now, PortId(49), &client(ACK));
    assert!(lines.contains(&"tracked connection (SYN_RECV): permitted".to_string()), "{lines:#?}");
    let lines = switch.datapath.trace(
        switch.now,
        PortId(50),
        &frame(mac(2), mac(1), None, v4(2), v4(1), L4::Udp { src: 1, dst: 2 }),
    );
    assert_eq!(
        lines[lines.len() - 2..],
        [
            "access-list NOTHING out: implicit deny",
            "not sent to Veth1 (LTL 49): denied by an access list on output"
        ]
    );
}

#[test]
fn monitored_flows_are_accounted_and_exported_by_timeouts() {
    let mut monitored = veth(49, 100);
    monitored.flow_accounting_in = true;
    let mut switch = Harness::new(vec![monitored, veth(50, 100)]);
    learn(&mut switch);
    let start = switch.now;
    for _ in 0..10 {
        assert!(passes(&mut switch, 49, &client(ACK)));
        switch.advance(Duration::from_secs(1));
    }
    // The server's replies enter by an unmonitored port and have no list: no entry.
    assert!(passes(&mut switch, 50, &server(ACK)));
    let flows = switch.datapath.flows(switch.now);
    assert_eq!(flows.len(), 1, "{flows:#?}");
    let flow = &flows[0];
    // 20 bytes IP + 20 TCP + 18 payload.
    assert_eq!((flow.packets, flow.bytes, flow.input, flow.output), (10, 580, PortId(49), PortId(50)));
    assert_eq!(
        (flow.first, flow.last, flow.tcp_flags, flow.tos),
        (start, start + Duration::from_secs(9), ACK, 0x10)
    );
    assert!(flow.monitored_input && !flow.monitored_output);

    // Active timeout 5 s: a record of the 10 packets; the next ones in the next record.
    let mut records = Vec::new();
    let (active, inactive) = (Duration::from_secs(5), Duration::from_secs(15));
    switch.datapath.expired_flows(switch.now, active, inactive, &mut records);
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].packets, records[0].bytes), (10, 580));
    assert!(passes(&mut switch, 49, &client(FIN | ACK)));
    records.clear();
    switch.datapath.expired_flows(switch.now, active, inactive, &mut records);
    assert!(records.is_empty(), "not due yet: {records:#?}");
    // Inactive 15 s: the last record, and the flow leaves the table.
    switch.advance(Duration::from_secs(16));
    switch.datapath.expired_flows(switch.now, active, inactive, &mut records);
    assert_eq!((records.len(), records[0].packets, records[0].tcp_flags), (1, 1, FIN | ACK));
    assert!(switch.datapath.flows(switch.now).is_empty());
    assert_eq!(switch.datapath.flow_counters().entries, 0);
}

#[test]
fn an_acl_used_by_two_ports_counts_once_per_packet() {
    let shared: Arc<Acl> = list("SHARED", vec![permit_tcp_to(10, 80, false)]);
    let mut switch = Harness::new(vec![with_in(veth(49, 100), &shared), with_in(veth(50, 100), &shared)]);
    learn(&mut switch);
    assert!(passes(&mut switch, 49, &client(ACK)));
    assert!(!passes(&mut switch, 50, &server(ACK)));
    let hits: Vec<u64> = switch.datapath.acl_hits().map(|h| h.matches).collect();
    assert_eq!(hits, [1, 1]);
}

#[test]
fn ipv6_connections_are_tracked_by_the_ipv6_list() {
    use policy_common::v6;
    let stateful = Arc::new(Acl::new(
        "OUT6",
        datapath::Family::V6,
        [
            datapath::AclRule { stateful: true, ..rule(10, Action::Permit, Some(17)) },
            datapath::AclRule { stateful: true, icmp_type: Some(128), ..rule(20, Action::Permit, Some(58)) },
        ],
    ));
    let nothing = Arc::new(Acl::new("NOTHING6", datapath::Family::V6, []));
    let mut client = veth(49, 100);
    client.acl_in.v6 = Some(stateful);
    client.acl_out.v6 = Some(nothing);
    let mut switch = Harness::new(vec![client, veth(50, 100)]);
    learn(&mut switch);
    let query = frame(mac(1), mac(2), None, v6(1), v6(2), L4::Udp { src: 5353, dst: 53 });
    let answer = frame(mac(2), mac(1), None, v6(2), v6(1), L4::Udp { src: 53, dst: 5353 });
    let request = frame(mac(1), mac(2), None, v6(1), v6(2), L4::Icmp { kind: 128, ident: 9 });
    let reply = frame(mac(2), mac(1), None, v6(2), v6(1), L4::Icmp { kind: 129, ident: 9 });
    assert!(!passes(&mut switch, 50, &answer));
    assert!(!passes(&mut switch, 50, &reply));
    assert!(passes(&mut switch, 49, &query));
    assert!(passes(&mut switch, 49, &request));
    assert!(passes(&mut switch, 50, &answer));
    assert!(passes(&mut switch, 50, &reply));
    assert_eq!(states(&switch), [ConnState::Replied, ConnState::Replied]);
    // IPv4 is not filtered by IPv6 lists.
    assert!(passes(&mut switch, 50, &server(ACK)));
}

/// At a steady rate of new connections the sweep keeps up: the table holds about a minute's
/// worth of entries (a SYN's flow and its connection go a minute after it), not every entry
/// ever made.
#[test]
fn the_table_keeps_up_with_a_steady_rate_of_new_connections() {
    let open_http = list("HTTP", vec![permit_tcp_to(10, 80, true)]);
    let both = |port| with_out(with_in(port, &open_http), &open_http);
    let mut switch = Harness::new(vec![both(veth(49, 100)), both(veth(50, 100))]);
    learn(&mut switch);
    // 32 new connections every 2 seconds, each two entries (its flow in at Veth1, its
    // connection out at Veth2): about 30 batches of 64 entries are live at any time.
    for batch in 0..1500u32 {
        let syns: Vec<_> = (0..32u32)
            .map(|i| {
                let src = 1024 + (batch * 32 + i) as u16;
                (49, frame(mac(1), mac(2), None, v4(1), v4(2), L4::Tcp { src, dst: 80, flags: SYN }))
            })
            .collect();
        assert_eq!(switch.send_all(&syns).len(), 32);
        switch.advance(Duration::from_secs(2));
    }
    let counters = switch.datapath.flow_counters();
    assert_eq!(counters.created, 1500 * 64);
    assert!(counters.entries <= 4 * 30 * 64, "{counters:?}");
}
