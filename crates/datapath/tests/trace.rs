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

#[test]
fn narrates_pinning_and_the_pinned_uplink() {
    let mut switch =
        Harness::new(vec![common::eth(17, &[100], 1), common::eth(18, &[100], 1), veth(49, 100)]);
    switch.send(18, &udp(mac(30), MacAddr::BROADCAST, Some(100)));
    let lines = switch.datapath.trace(switch.now, PortId(49), &udp(mac(1), mac(30), None));
    assert_eq!(
        lines[1..],
        [
            "ingress Veth1 (LTL 49) access vlan 100",
            "pinned to Eth3/1 (LTL 17)",
            "learn 02ab.cd00.0001 on LTL 49 (new entry)",
            "destination 02ab.cd00.001e is on LTL 18 (dynamic)",
            "behind the uplinks: leaves by the pinned Eth3/1 (LTL 17)",
            "egress Eth3/1 (LTL 17) tagged vlan 100",
        ]
    );
    let lines = switch.datapath.trace(switch.now, PortId(17), &udp(mac(31), mac(30), Some(100)));
    assert_eq!(
        lines[lines.len() - 2..],
        [
            "uplinks do not forward to each other",
            "dropped: destination is behind an uplink (no uplink-to-uplink forwarding)"
        ]
    );
}

fn overlay_switch() -> Harness {
    use datapath::{Overlay, OverlaySegment, Snapshot};
    let segment = OverlaySegment {
        vteps: vec![common::vtep(2), common::vtep(3)],
        macs: vec![(mac(20), common::vtep(2))],
    };
    let overlay = Overlay {
        local_vtep: Some(common::vtep(1)),
        segments: [(common::vni(5000), segment)].into_iter().collect(),
    };
    let ports = vec![common::bd(49, 5000), common::bd(50, 5000)];
    Harness::with_snapshot(Snapshot::new(ports).unwrap().with_overlay(overlay))
}

#[test]
fn narrates_replication_and_encapsulation() {
    let switch = overlay_switch();
    let lines = switch.datapath.trace(switch.now, PortId(49), &udp(mac(1), MacAddr::BROADCAST, None));
    assert_eq!(
        lines[2..],
        [
            "learn 02ab.cd00.0001 on LTL 49 (new entry)",
            "broadcast ffff.ffff.ffff: flood to LTL 50; replicate to VTEPs 192.0.2.2, 192.0.2.3",
            "egress Veth2 (LTL 50) untagged",
            "egress vxlan (LTL 10) encapsulated VXLAN VNI 5000 to VTEP 192.0.2.2",
            "egress vxlan (LTL 10) encapsulated VXLAN VNI 5000 to VTEP 192.0.2.3",
        ]
    );
    let lines = switch.datapath.trace(switch.now, PortId(49), &udp(mac(1), mac(20), None));
    assert_eq!(
        lines[3..],
        [
            "destination 02ab.cd00.0014 is on vxlan (LTL 10) VTEP 192.0.2.2 (installed)",
            "egress vxlan (LTL 10) encapsulated VXLAN VNI 5000 to VTEP 192.0.2.2",
        ]
    );
}

#[test]
fn narrates_decapsulation_and_its_drops() {
    let switch = overlay_switch();
    let frame = udp(mac(21), MacAddr::BROADCAST, None);
    let payload = common::vxlan_payload(5000, &frame);
    let lines = switch.datapath.trace_tunneled(switch.now, common::vtep(3), &payload);
    assert_eq!(
        lines,
        [
            "frame from VTEP 192.0.2.3, 68 byte UDP payload".to_string(),
            "ingress vxlan (LTL 10) from VTEP 192.0.2.3".to_string(),
            format!("decapsulated VNI 5000: {}", wire::describe(&frame)),
            "learn 02ab.cd00.0015 on vxlan (LTL 10) VTEP 192.0.2.3 (new entry)".to_string(),
            "broadcast ffff.ffff.ffff: flood to LTL 49, 50".to_string(),
            "egress Veth1 (LTL 49) untagged".to_string(),
            "egress Veth2 (LTL 50) untagged".to_string(),
        ]
    );
    let lines = switch.datapath.trace_tunneled(switch.now, common::vtep(9), &payload);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("dropped: VXLAN source is not a VTEP of the bridge-domain")
    );
    let lines = switch.datapath.trace_tunneled(switch.now, common::vtep(2), &payload[..5]);
    assert_eq!(lines.last().map(String::as_str), Some("dropped: VXLAN header short or without the I flag"));
    assert_eq!(switch.datapath.mac_counters().learned, 0, "tracing learns nothing");
}
