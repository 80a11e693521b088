//! `Datapath::trace`: every decision in words, and no side effects.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use common::{Harness, ip, mac, udp, uplink, veth};
use datapath::{PortId, ProfileBinding};
use wire::build::{self, L2};
use wire::{MacAddr, arp};

fn arp_request(vlan_tagged: bool) -> Vec<u8> {
    let request = arp::Repr {
        operation: arp::Operation::REQUEST,
        source_hardware_addr: MacAddr([0x00, 0x50, 0x56, 0xb3, 0x06, 0xd1]),
        source_protocol_addr: ip(1),
        target_hardware_addr: MacAddr::ZERO,
        target_protocol_addr: ip(2),
    };
    let mut l2 = L2::untagged(request.source_hardware_addr, MacAddr::BROADCAST);
    if vlan_tagged {
        l2.vlan = Some(wire::Tci::vlan(100));
    }
    let mut buf = [0u8; 64];
    let len = build::arp(&mut buf, &l2, &request).unwrap();
    buf[..len].to_vec()
}

fn switch() -> Harness {
    Harness::new(vec![veth(49, 100), veth(50, 100), veth(51, 200), uplink(17, &[100, 200], 1)])
}

#[test]
fn narrates_a_flooded_arp_request() {
    let switch = switch();
    assert_eq!(
        switch.datapath.trace(switch.now, PortId(49), &arp_request(false)),
        [
            "frame 0050.56b3.06d1 > ffff.ffff.ffff, ARP request who-has 10.0.0.2 tell 10.0.0.1, 42 bytes",
            "ingress Veth1 (LTL 49) access vlan 100",
            "learn 0050.56b3.06d1 on LTL 49 (new entry)",
            "broadcast ffff.ffff.ffff: flood to LTL 17, 50",
            "egress Eth3/1 (LTL 17) tagged vlan 100",
            "egress Veth2 (LTL 50) untagged",
        ]
    );
}

#[test]
fn narrates_known_unicast_and_drops() {
    let mut switch = switch();
    switch.send(50, &udp(mac(2), MacAddr::BROADCAST, None));
    let lines = switch.datapath.trace(switch.now, PortId(49), &udp(mac(1), mac(2), None));
    assert_eq!(
        lines[2..],
        [
            "learn 02ab.cd00.0001 on LTL 49 (new entry)",
            "destination 02ab.cd00.0002 is on LTL 50 (dynamic)",
            "egress Veth2 (LTL 50) untagged",
        ]
    );

    let lines = switch.datapath.trace(switch.now, PortId(49), &arp_request(true));
    assert_eq!(
        lines[2..],
        ["frame tagged vlan 100 on an access port", "dropped: tagged frame on access port"]
    );

    let lines = switch.datapath.trace(switch.now, PortId(17), &udp(mac(3), MacAddr::BROADCAST, Some(300)));
    assert_eq!(
        lines[2..],
        ["tagged vlan 300 is not in the allowed vlans 100,200", "dropped: VLAN not allowed on port"]
    );

    let lines = switch.datapath.trace(switch.now, PortId(77), &arp_request(false));
    assert_eq!(lines[1..], ["drop: LTL 77 is not a port of this datapath"]);

    let lines = switch.datapath.trace(switch.now, PortId(49), &[0xff; 9]);
    assert_eq!(
        lines,
        [
            "frame (Ethernet header truncated: needs 14 bytes, has 9), 9 bytes",
            "ingress Veth1 (LTL 49) access vlan 100",
            "Ethernet header truncated: needs 14 bytes, has 9",
            "dropped: malformed frame",
        ]
    );

    let lines = switch.datapath.trace(switch.now, PortId(50), &udp(mac(2), mac(2), None));
    assert_eq!(
        lines[2..],
        [
            "source 02ab.cd00.0002 known on LTL 50",
            "destination 02ab.cd00.0002 is on the ingress port",
            "dropped: destination is on the ingress port"
        ]
    );
}

#[test]
fn narrates_ports_that_cannot_forward() {
    let mut missing = veth(52, 100);
    missing.profile = ProfileBinding::NotFound("web".into());
    let switch = Harness::new(vec![veth(49, 100), missing]);
    let lines = switch.datapath.trace(switch.now, PortId(52), &arp_request(false));
    assert_eq!(lines[2..], ["port-profile web does not exist", "dropped: port-profile not found"]);
    let lines = switch.datapath.trace(switch.now, PortId(49), &arp_request(false));
    assert_eq!(lines[3], "broadcast ffff.ffff.ffff: flood to no other port in vlan 100");
}

#[test]
fn changes_no_counter_and_learns_nothing() {
    let mut switch = switch();
    switch.send(50, &udp(mac(2), MacAddr::BROADCAST, None));
    let stats_before: Vec<_> = [17, 49, 50, 51].iter().map(|&port| switch.stats(port)).collect();
    let table_before = switch.datapath.mac_table(switch.now);
    let macs_before = switch.datapath.mac_counters();
    for frame in [arp_request(false), udp(mac(9), mac(2), None), udp(mac(2), mac(9), None), vec![1, 2, 3]] {
        assert!(!switch.datapath.trace(switch.now, PortId(49), &frame).is_empty());
    }
    let stats_after: Vec<_> = [17, 49, 50, 51].iter().map(|&port| switch.stats(port)).collect();
    assert_eq!(stats_after, stats_before);
    assert_eq!(switch.datapath.mac_table(switch.now), table_before);
    assert_eq!(switch.datapath.mac_counters(), macs_before);
    assert_eq!(switch.datapath.drops().total(), 0);
}
