//! Uplinks and mac-pinning: each vEthernet is pinned to one uplink, uplinks never forward to
//! each other, and an uplink delivers only to the vEthernets pinned to it. Several uplinks to
//! one physical network therefore neither loop nor duplicate.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use common::{Harness, bd, eth, mac, udp, veth};
use datapath::{DropReason, PortConfig, PortId, PortKind, PortMode, Snapshot};
use wire::MacAddr;

fn pins(snapshot: &Snapshot) -> Vec<(u32, u32)> {
    snapshot.pins().map(|(veth, uplink)| (veth.0, uplink.0)).collect()
}

/// Eth3/1 and Eth3/2 carrying VLANs 100 and 200; Veth1–4 in VLAN 100.
fn two_uplinks() -> Vec<PortConfig> {
    vec![
        eth(17, &[100, 200], 1),
        eth(18, &[100, 200], 1),
        veth(49, 100),
        veth(50, 100),
        veth(51, 100),
        veth(52, 100),
    ]
}

#[test]
fn uplink_ports_are_uplinks_and_access_ports_vethernets() {
    let uplink = eth(17, &[100], 1);
    assert_eq!((uplink.kind, uplink.link_up, uplink.pin), (PortKind::Uplink, true, None));
    assert!(uplink.is_forwarding() && uplink.is_uplink());
    assert_eq!(veth(49, 100).kind, PortKind::Vethernet);
    let mut down = uplink;
    down.link_up = false;
    assert!(!down.is_forwarding());
}

#[test]
fn pins_balance_deterministically_and_previous_pins_are_kept() {
    let mut ports = two_uplinks();
    ports.push(veth(53, 300)); // no uplink carries VLAN 300
    ports.push(bd(54, 5000)); // bridge-domains are not pinned
    let snapshot = Snapshot::new(ports.clone()).unwrap();
    assert_eq!(pins(&snapshot), [(49, 17), (50, 18), (51, 17), (52, 18)]);
    assert_eq!(snapshot.pinned_uplink(PortId(53)), None);
    assert_eq!(snapshot.pinned_uplink(PortId(17)), None, "uplinks are not pinned");
    assert_eq!(Snapshot::new(ports.clone()).map(|again| pins(&again)).unwrap(), pins(&snapshot));

    // Fed back, a previous pin stays even where balancing alone would choose otherwise.
    for port in &mut ports {
        if port.id == PortId(51) {
            port.pin = Some(PortId(18));
        }
    }
    let snapshot = Snapshot::new(ports).unwrap();
    assert_eq!(pins(&snapshot), [(49, 17), (50, 17), (51, 18), (52, 18)]);
}

#[test]
fn a_failed_uplink_loses_its_pins_and_they_come_back_only_as_new_ports_need_them() {
    let ports = two_uplinks();
    let before = Snapshot::new(ports.clone()).unwrap();
    let feed_back = |mut ports: Vec<PortConfig>, snapshot: &Snapshot| {
        for port in &mut ports {
            port.pin = snapshot.pinned_uplink(port.id);
        }
        ports
    };
    let mut failed = feed_back(ports.clone(), &before);
    failed[1].link_up = false; // Eth3/2
    let during = Snapshot::new(failed).unwrap();
    assert_eq!(pins(&during), [(49, 17), (50, 17), (51, 17), (52, 17)]);
    // The link comes back: pins stay where they are (no flapping), as NX-OS does.
    let after = Snapshot::new(feed_back(ports, &during)).unwrap();
    assert_eq!(pins(&after), pins(&during));
    // An uplink whose profile lacks the VLAN is not usable either.
    let mut narrow = two_uplinks();
    narrow[0] = eth(17, &[200], 1);
    assert_eq!(pins(&Snapshot::new(narrow).unwrap()), [(49, 18), (50, 18), (51, 18), (52, 18)]);
}

#[test]
fn a_vethernet_floods_to_its_segment_and_its_pinned_uplink_only() {
    let mut switch = Harness::new(two_uplinks());
    let out = switch.send(49, &udp(mac(1), MacAddr::BROADCAST, None));
    assert_eq!(Harness::ports_of(&out), [17, 50, 51, 52]);
    let out = switch.send(50, &udp(mac(2), mac(77), None));
    assert_eq!(Harness::ports_of(&out), [18, 49, 51, 52], "unknown unicast too");
}

#[test]
fn an_uplink_floods_only_to_the_vethernets_pinned_to_it() {
    let mut switch = Harness::new(two_uplinks());
    let out = switch.send(17, &udp(mac(30), MacAddr::BROADCAST, Some(100)));
    assert_eq!(Harness::ports_of(&out), [49, 51]);
    let out = switch.send(18, &udp(mac(31), MacAddr::BROADCAST, Some(100)));
    assert_eq!(Harness::ports_of(&out), [50, 52]);
    assert!(out.iter().all(|(_, frame)| frame[12..14] != [0x81, 0x00]), "untagged to access ports");
}

#[test]
fn unicast_follows_the_pins() {
    let mut switch = Harness::new(two_uplinks());
    switch.send(18, &udp(mac(30), MacAddr::BROADCAST, Some(100))); // mac 30 behind Eth3/2
    for veth in 49..=52 {
        switch.send(veth, &udp(mac(veth as u8 - 48), MacAddr::BROADCAST, None));
    }
    // Veth1 is pinned to Eth3/1: it reaches mac 30 by Eth3/1, wherever mac 30 was learned.
    assert_eq!(Harness::ports_of(&switch.send(49, &udp(mac(1), mac(30), None))), [17]);
    assert_eq!(Harness::ports_of(&switch.send(50, &udp(mac(2), mac(30), None))), [18]);
    // From Eth3/2: Veth2 is pinned to it, Veth1 is not, and mac 30 is behind an uplink.
    assert_eq!(Harness::ports_of(&switch.send(18, &udp(mac(30), mac(2), Some(100)))), [50]);
    assert!(switch.send(17, &udp(mac(31), mac(2), Some(100))).is_empty());
    assert_eq!(switch.stats(17).drops.get(DropReason::UplinkNotPinned), 1);
    assert!(switch.send(17, &udp(mac(31), mac(30), Some(100))).is_empty());
    assert_eq!(switch.stats(17).drops.get(DropReason::UplinkToUplink), 1);
    assert!(switch.send(18, &udp(mac(32), mac(30), Some(100))).is_empty());
    assert_eq!(switch.stats(18).drops.get(DropReason::DestinationIsIngress), 1);
}

#[test]
fn a_vethernet_without_a_usable_uplink_cannot_reach_the_physical_network() {
    // A trunk vEthernet whose native VLAN no uplink carries has no pin.
    let trunk = PortConfig::trunk(PortId(53), "Veth5", [100, 400].into_iter().collect(), 400, "trunk");
    let mut switch = Harness::new(vec![eth(17, &[100], 1), veth(49, 100), trunk]);
    assert_eq!(switch.datapath.config().pinned_uplink(PortId(53)), None);
    switch.send(17, &udp(mac(30), MacAddr::BROADCAST, Some(100)));
    assert!(switch.send(53, &udp(mac(5), mac(30), Some(100))).is_empty());
    assert_eq!(switch.stats(53).drops.get(DropReason::NoUplink), 1);
    let out = switch.send(53, &udp(mac(5), MacAddr::BROADCAST, Some(100)));
    assert_eq!(Harness::ports_of(&out), [49], "floods stay local");
}

#[test]
fn a_local_vethernets_mac_coming_back_on_an_uplink_is_dropped_not_learned() {
    let mut switch = Harness::new(two_uplinks());
    switch.send(49, &udp(mac(1), MacAddr::BROADCAST, None));
    // The physical switch floods it back in on Eth3/2.
    assert!(switch.send(18, &udp(mac(1), MacAddr::BROADCAST, Some(100))).is_empty());
    assert_eq!(switch.stats(18).drops.get(DropReason::UplinkSourceLocal), 1);
    let row = switch.datapath.mac_table(switch.now).into_iter().find(|row| row.mac == mac(1)).unwrap();
    assert_eq!(row.port, PortId(49));
    assert_eq!(switch.datapath.mac_counters().moves, 0);
}

#[test]
fn a_down_link_neither_receives_nor_sends() {
    let mut ports = two_uplinks();
    ports[0].link_up = false;
    let mut switch = Harness::new(ports);
    assert!(switch.send(17, &udp(mac(30), MacAddr::BROADCAST, Some(100))).is_empty());
    assert_eq!(switch.stats(17).drops.get(DropReason::PortDown), 1);
    assert_eq!(switch.stats(17).rx.packets, 0);
    let out = switch.send(49, &udp(mac(1), MacAddr::BROADCAST, None));
    assert_eq!(Harness::ports_of(&out), [18, 50, 51, 52]);
}

#[test]
fn uplinks_never_carry_bridge_domains() {
    let access_bd = PortMode::Access { segment: datapath::Segment::BridgeDomain(common::vni(5000)) };
    let odd = PortConfig::uplink(PortId(18), "Eth3/2", access_bd, "odd");
    let mut switch = Harness::new(vec![eth(17, &[100], 1), odd, bd(49, 5000), bd(50, 5000)]);
    let out = switch.send(49, &udp(mac(1), MacAddr::BROADCAST, None));
    assert_eq!(Harness::ports_of(&out), [50]);
    assert!(switch.send(18, &udp(mac(9), MacAddr::BROADCAST, None)).is_empty());
    assert_eq!(switch.stats(18).drops.get(DropReason::VlanNotAllowed), 1);
}
