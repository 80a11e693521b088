//! Access lists through `Datapath::process`: input and output lists, families, tags, hit
//! counters, live changes, a full flow table, and what `trace` says.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;
mod policy_common;

use std::sync::Arc;

use common::{Harness, mac, uplink, veth};
use datapath::{Acl, AclHits, Action, DropReason, Family, PortId, Settings, Snapshot};
use policy_common::{L4, frame, list, net, permit_tcp_to, rule, v4, v6, with_in, with_out};
use wire::MacAddr;
use wire::build::{self, L2};

fn tcp(src: u8, dst: u8, dst_port: u16) -> Vec<u8> {
    frame(mac(src), mac(dst), None, v4(src), v4(dst), L4::Tcp { src: 40000, dst: dst_port, flags: 0x10 })
}

/// `WEB-IN`: 10 permit tcp any 10.0.0.0/24 eq 80, 20 permit icmp any any, 30 deny ip any any.
fn web_in() -> Arc<Acl> {
    let http = datapath::AclRule { destination: net(v4(0), 24), ..permit_tcp_to(10, 80, false) };
    list("WEB-IN", vec![http, rule(20, Action::Permit, Some(1)), rule(30, Action::Deny, None)])
}

/// Veth1 (49) with `WEB-IN` in, Veth2 (50) and Veth3 (51) open, all in VLAN 100 and learned.
fn switch() -> Harness {
    let mut switch = Harness::new(vec![with_in(veth(49, 100), &web_in()), veth(50, 100), veth(51, 100)]);
    for port in [50, 51] {
        switch.send(port, &common::udp(mac((port - 48) as u8), MacAddr::BROADCAST, None));
    }
    switch
}

fn hits(switch: &Harness, name: &str) -> Vec<(Option<u32>, u64)> {
    switch
        .datapath
        .acl_hits()
        .filter(|hits: &AclHits| &*hits.list == name)
        .map(|hits| (hits.seq, hits.matches))
        .collect()
}

#[test]
fn input_list_permits_denies_and_counts_by_entry() {
    let mut switch = switch();
    for _ in 0..3 {
        assert_eq!(Harness::ports_of(&switch.send(49, &tcp(1, 2, 80))), [50]);
    }
    assert!(switch.send(49, &tcp(1, 2, 22)).is_empty(), "port 22 is denied by 30");
    let ping = frame(mac(1), mac(2), None, v4(1), v4(2), L4::Icmp { kind: 8, ident: 1 });
    assert_eq!(Harness::ports_of(&switch.send(49, &ping)), [50]);
    assert_eq!(hits(&switch, "WEB-IN"), [(Some(10), 3), (Some(20), 1), (Some(30), 1), (None, 0)]);
    assert_eq!(switch.stats(49).drops.get(DropReason::AclIn), 1);
    assert_eq!(switch.datapath.drops().get(DropReason::AclIn), 1);
    // The other direction has no list.
    assert_eq!(Harness::ports_of(&switch.send(50, &tcp(2, 1, 22))), [49]);
}

#[test]
fn only_ip_of_the_lists_family_is_filtered() {
    let mut switch = switch();
    let deny_all = list("NONE", vec![]);
    switch.set_ports(vec![with_in(veth(49, 100), &deny_all), veth(50, 100)]);
    switch.send(50, &common::udp(mac(2), MacAddr::BROADCAST, None));
    // ARP passes an IP list.
    let request = wire::arp::Repr {
        operation: wire::arp::Operation::REQUEST,
        source_hardware_addr: mac(1),
        source_protocol_addr: common::ip(1),
        target_hardware_addr: MacAddr::ZERO,
        target_protocol_addr: common::ip(2),
    };
    let mut buf = [0u8; 64];
    let len = build::arp(&mut buf, &L2::untagged(mac(1), MacAddr::BROADCAST), &request).unwrap();
    assert_eq!(Harness::ports_of(&switch.send(49, &buf[..len])), [50]);
    // IPv6 passes a port with an IPv4 list only…
    let six = frame(mac(1), mac(2), None, v6(1), v6(2), L4::Udp { src: 1, dst: 2 });
    assert_eq!(Harness::ports_of(&switch.send(49, &six)), [50]);
    // …and IPv4 does not: the implicit deny.
    assert!(switch.send(49, &tcp(1, 2, 80)).is_empty());
    assert_eq!(hits(&switch, "NONE"), [(None, 1)]);
    // An IPv6 list filters IPv6.
    let mut port = veth(49, 100);
    port.acl_in.v6 = Some(Arc::new(Acl::new("SIX", Family::V6, [rule(10, Action::Deny, Some(17))])));
    switch.set_ports(vec![port, veth(50, 100)]);
    assert!(switch.send(49, &six).is_empty());
    assert_eq!(Harness::ports_of(&switch.send(49, &tcp(1, 2, 80))), [50]);
}

#[test]
fn output_lists_filter_each_egress_port() {
    let only_http = list("WEB-OUT", vec![permit_tcp_to(10, 80, false)]);
    let mut switch = Harness::new(vec![veth(49, 100), with_out(veth(50, 100), &only_http), veth(51, 100)]);
    // A broadcast (IP) reaches the port without the list only.
    let broadcast = frame(mac(1), MacAddr::BROADCAST, None, v4(1), v4(255), L4::Udp { src: 68, dst: 67 });
    assert_eq!(Harness::ports_of(&switch.send(49, &broadcast)), [51]);
    assert_eq!(switch.stats(50).drops.get(DropReason::AclOut), 1);
    assert_eq!(switch.stats(50).drops.in_direction(datapath::Direction::Output), 1);
    switch.send(50, &common::udp(mac(2), MacAddr::BROADCAST, None));
    assert_eq!(Harness::ports_of(&switch.send(49, &tcp(1, 2, 80))), [50]);
    assert!(switch.send(49, &tcp(1, 2, 81)).is_empty());
    assert_eq!(hits(&switch, "WEB-OUT"), [(Some(10), 1), (None, 2)]);
}

/// The datapath evaluates a list once per frame and reuses the verdict for the same list on
/// the next check: every port still decides and counts as if it evaluated on its own.
#[test]
fn one_list_in_and_out_on_a_flood_decides_and_counts_every_check() {
    let dhcp =
        datapath::AclRule { dst_ports: datapath::PortMatch::Eq(67), ..rule(10, Action::Permit, Some(17)) };
    let same = list("DHCP", vec![dhcp]);
    let deny_all = list("NONE", vec![]);
    let both = |port| with_out(with_in(port, &same), &same);
    let ports =
        vec![both(veth(49, 100)), both(veth(50, 100)), with_out(veth(51, 100), &deny_all), veth(52, 100)];
    let mut switch = Harness::new(ports);
    let udp = |dst| frame(mac(1), MacAddr::BROADCAST, None, v4(1), v4(255), L4::Udp { src: 68, dst });
    // Permitted in, then out of 50 by the same list; 51's other list denies; 52 has none.
    assert_eq!(Harness::ports_of(&switch.send(49, &udp(67))), [50, 52]);
    assert_eq!(hits(&switch, "DHCP"), [(Some(10), 2), (None, 0)]);
    assert_eq!(hits(&switch, "NONE"), [(None, 1)]);
    assert_eq!(switch.stats(51).drops.get(DropReason::AclOut), 1);
    // Denied in: no output check runs.
    assert!(switch.send(49, &udp(68)).is_empty());
    assert_eq!(hits(&switch, "DHCP"), [(Some(10), 2), (None, 1)]);
    // From the port without a list: each output list evaluates the frame.
    assert_eq!(Harness::ports_of(&switch.send(52, &udp(67))), [49, 50]);
    assert_eq!(Harness::ports_of(&switch.send(52, &udp(68))), Vec::<u32>::new());
    assert_eq!(hits(&switch, "DHCP"), [(Some(10), 4), (None, 3)]);
    assert_eq!(hits(&switch, "NONE"), [(None, 3)]);
}

#[test]
fn tagged_frames_on_trunks_are_read_past_the_tag() {
    let deny_ssh = list("NO-SSH", vec![permit_tcp_to(10, 80, false)]);
    let mut switch = Harness::new(vec![with_in(uplink(17, &[100], 1), &deny_ssh), veth(50, 100)]);
    switch.send(50, &common::udp(mac(2), MacAddr::BROADCAST, None));
    let tagged =
        |port| frame(mac(1), mac(2), Some(100), v4(1), v4(2), L4::Tcp { src: 5, dst: port, flags: 0x02 });
    assert_eq!(Harness::ports_of(&switch.send(17, &tagged(80))), [50]);
    assert!(switch.send(17, &tagged(22)).is_empty());
}

#[test]
fn a_changed_list_takes_effect_on_the_next_frame_and_resets_its_counters() {
    let mut switch = switch();
    assert_eq!(Harness::ports_of(&switch.send(49, &tcp(1, 2, 80))), [50]);
    // Same list again (a new snapshot for another reason): the cache is rebuilt, counters stay.
    switch.set_ports(vec![with_in(veth(49, 100), &web_in()), veth(50, 100), veth(51, 100)]);
    assert_eq!(Harness::ports_of(&switch.send(49, &tcp(1, 2, 80))), [50]);
    assert_eq!(hits(&switch, "WEB-IN")[0], (Some(10), 2));
    // WEB-IN without 10: the same flow is now denied, and the changed list counts from zero.
    let changed = list("WEB-IN", vec![rule(20, Action::Permit, Some(1)), rule(30, Action::Deny, None)]);
    switch.set_ports(vec![with_in(veth(49, 100), &changed), veth(50, 100), veth(51, 100)]);
    assert!(switch.send(49, &tcp(1, 2, 80)).is_empty());
    assert_eq!(hits(&switch, "WEB-IN"), [(Some(20), 0), (Some(30), 1), (None, 0)]);
    // And the list removed: everything passes.
    switch.set_ports(vec![veth(49, 100), veth(50, 100), veth(51, 100)]);
    assert_eq!(Harness::ports_of(&switch.send(49, &tcp(1, 2, 80))), [50]);
    assert_eq!(switch.datapath.acl_hits().count(), 0);
}

#[test]
fn a_full_flow_table_still_forwards_stateless_flows() {
    let settings = Settings { flow_table_size: 2, ..Settings::default() };
    let ports = vec![with_in(veth(49, 100), &web_in()), veth(50, 100)];
    let mut switch = Harness::with_snapshot(Snapshot::new(ports).unwrap());
    switch.datapath = datapath::Datapath::new(&settings, switch.datapath.config().clone());
    switch.send(50, &common::udp(mac(2), MacAddr::BROADCAST, None));
    for n in 0..5u16 {
        let flow = frame(mac(1), mac(2), None, v4(1), v4(2), L4::Tcp { src: 1000 + n, dst: 80, flags: 0x10 });
        assert_eq!(Harness::ports_of(&switch.send(49, &flow)), [50], "flow {n}");
    }
    assert!(switch.send(49, &tcp(1, 2, 22)).is_empty(), "still denied without an entry");
    let counters = switch.datapath.flow_counters();
    assert_eq!((counters.entries, counters.capacity, counters.table_full), (2, 2, 4));
    assert_eq!(hits(&switch, "WEB-IN")[..3], [(Some(10), 5), (Some(20), 0), (Some(30), 1)]);
}

#[test]
fn trace_names_the_list_and_entry_that_decided() {
    let mut switch = switch();
    let only_http = list("WEB-OUT", vec![permit_tcp_to(10, 80, false)]);
    switch.set_ports(vec![
        with_in(veth(49, 100), &web_in()),
        with_out(veth(50, 100), &only_http),
        veth(51, 100),
    ]);
    let lines = switch.datapath.trace(switch.now, PortId(49), &tcp(1, 2, 80));
    assert!(
        lines.contains(&"access-list WEB-IN in: 10 permit tcp any 10.0.0.0/24 eq 80".to_string()),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"access-list WEB-OUT out: 10 permit tcp any any eq 80".to_string()),
        "{lines:#?}"
    );
    assert_eq!(lines.last().unwrap(), "egress Veth2 (LTL 50) untagged");

    let lines = switch.datapath.trace(switch.now, PortId(49), &tcp(1, 2, 22));
    assert_eq!(
        lines[lines.len() - 2..],
        ["access-list WEB-IN in: 30 deny ip any any", "dropped: denied by an access list on input"]
    );
    let lines = switch.datapath.trace(switch.now, PortId(51), &tcp(3, 2, 22));
    assert_eq!(
        lines[lines.len() - 2..],
        [
            "access-list WEB-OUT out: implicit deny",
            "not sent to Veth2 (LTL 50): denied by an access list on output"
        ]
    );
    // Tracing counts nothing.
    assert!(hits(&switch, "WEB-IN").iter().all(|(_, matches)| *matches == 0));
    assert_eq!(switch.datapath.flow_counters().entries, 0);
}
