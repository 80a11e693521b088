//! The L2 rules, one test each: segments, tagging, learning, aging, flooding, admin state,
//! drops by reason and the counters `show interface vethernet N` prints.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Harness, mac, udp, uplink, veth};
use datapath::{
    Direction, DropReason, MacKind, PortConfig, PortId, ProfileBinding, Segment, Snapshot, TxBatch,
};
use wire::{MacAddr, Tci, vlan};

const A: u8 = 1;
const B: u8 = 2;
const C: u8 = 3;

fn tag_of(frame: &[u8]) -> Option<Tci> {
    (frame[12..14] == [0x81, 0x00]).then(|| Tci::from_bits(u16::from_be_bytes([frame[14], frame[15]])))
}

#[test]
fn unknown_unicast_floods_then_learned_unicast_goes_to_one_port() {
    let mut switch = Harness::new(vec![veth(49, 100), veth(50, 100), veth(51, 100)]);
    let out = switch.send(49, &udp(mac(A), mac(B), None));
    assert_eq!(Harness::ports_of(&out), [50, 51], "unknown destination floods, never back to 49");
    let out = switch.send(50, &udp(mac(B), mac(A), None));
    assert_eq!(Harness::ports_of(&out), [49], "A was learned on 49");
    let out = switch.send(49, &udp(mac(A), mac(B), None));
    assert_eq!(Harness::ports_of(&out), [50], "B was learned on 50");
    assert_eq!(out[0].1, udp(mac(A), mac(B), None), "frame leaves unchanged");

    let s51 = switch.stats(51);
    assert_eq!((s51.tx.packets, s51.tx.unicast, s51.tx.flood, s51.tx.bytes), (1, 1, 1, 60));
    let s49 = switch.stats(49);
    assert_eq!((s49.rx.packets, s49.rx.unicast, s49.rx.bytes), (2, 2, 120));
    assert_eq!((s49.tx.packets, s49.tx.flood), (1, 0));
    assert_eq!(switch.datapath.mac_counters().learned, 2);
}

#[test]
fn broadcast_and_multicast_flood_within_their_vlan_only() {
    let mut switch =
        Harness::new(vec![veth(49, 100), veth(50, 100), veth(51, 200), uplink(17, &[100, 200], 1)]);
    let out = switch.send(49, &udp(mac(A), MacAddr::BROADCAST, None));
    assert_eq!(Harness::ports_of(&out), [17, 50]);
    for (port, frame) in &out {
        let expected = if *port == 17 { Some(Tci::vlan(100)) } else { None };
        assert_eq!(tag_of(frame), expected, "port {port}");
    }
    let multicast = MacAddr([0x01, 0x00, 0x5e, 0, 0, 251]);
    let out = switch.send(51, &udp(mac(C), multicast, None));
    assert_eq!(Harness::ports_of(&out), [17]);
    assert_eq!(tag_of(&out[0].1), Some(Tci::vlan(200)));
    let uplink_tx = switch.stats(17).tx;
    assert_eq!((uplink_tx.broadcast, uplink_tx.multicast, uplink_tx.bytes), (1, 1, 2 * 64));
}

#[test]
fn trunks_accept_allowed_vlans_and_strip_or_add_tags() {
    let mut switch = Harness::new(vec![veth(49, 100), veth(51, 200), uplink(17, &[100, 200], 1)]);
    let out = switch.send(17, &udp(mac(C), MacAddr::BROADCAST, Some(200)));
    assert_eq!(Harness::ports_of(&out), [51]);
    assert_eq!(out[0].1, udp(mac(C), MacAddr::BROADCAST, None), "tag removed toward the access port");
    assert_eq!(switch.stats(51).tx.bytes, 60);

    assert!(switch.send(17, &udp(mac(C), MacAddr::BROADCAST, Some(300))).is_empty());
    assert!(switch.send(17, &udp(mac(C), MacAddr::BROADCAST, None)).is_empty(), "native vlan 1 not allowed");
    assert_eq!(switch.stats(17).drops.get(DropReason::VlanNotAllowed), 2);
    assert_eq!(switch.stats(17).rx.packets, 3, "dropped frames were still received");
}

#[test]
fn native_vlan_travels_untagged() {
    let mut switch =
        Harness::new(vec![uplink(17, &[100, 200], 100), uplink(18, &[100, 200], 200), veth(49, 100)]);
    let out = switch.send(17, &udp(mac(A), MacAddr::BROADCAST, None));
    assert_eq!(Harness::ports_of(&out), [18, 49]);
    let to_18 = &out.iter().find(|(port, _)| *port == 18).unwrap().1;
    assert_eq!(tag_of(to_18), Some(Tci::vlan(100)), "vlan 100 is not 18's native");
    let out = switch.send(18, &udp(mac(B), MacAddr::BROADCAST, Some(100)));
    let to_17 = &out.iter().find(|(port, _)| *port == 17).unwrap().1;
    assert_eq!(tag_of(to_17), None, "vlan 100 is 17's native");
}

#[test]
fn access_ports_drop_tagged_frames_but_take_priority_tags() {
    let mut switch = Harness::new(vec![veth(49, 100), veth(50, 100), uplink(17, &[100], 1)]);
    assert!(switch.send(49, &udp(mac(A), MacAddr::BROADCAST, Some(100))).is_empty());
    assert_eq!(switch.stats(49).drops.get(DropReason::TaggedOnAccess), 1);

    let mut priority_tagged = udp(mac(A), MacAddr::BROADCAST, Some(0));
    priority_tagged[14] |= 5 << 5; // PCP 5, VLAN 0
    let out = switch.send(49, &priority_tagged);
    assert_eq!(Harness::ports_of(&out), [17, 50]);
    let to_17 = &out.iter().find(|(port, _)| *port == 17).unwrap().1;
    assert_eq!(tag_of(to_17), Some(Tci { pcp: 5, dei: false, vid: 100 }), "priority kept");
    let to_50 = &out.iter().find(|(port, _)| *port == 50).unwrap().1;
    assert_eq!(tag_of(to_50), None);
    assert_eq!(to_50.len(), priority_tagged.len() - vlan::TAG_LEN);
}

#[test]
fn down_ports_neither_receive_nor_send() {
    let mut down = veth(50, 100).with_attached_mac(mac(B));
    down.admin_up = false;
    let mut switch = Harness::new(vec![veth(49, 100), down, veth(51, 100)]);
    assert!(switch.send(50, &udp(mac(B), MacAddr::BROADCAST, None)).is_empty());
    let s50 = switch.stats(50);
    assert_eq!((s50.drops.get(DropReason::PortDown), s50.rx.packets), (1, 0));
    let out = switch.send(49, &udp(mac(A), mac(B), None));
    assert_eq!(Harness::ports_of(&out), [51], "no static entry while down: flooded, but not to 50");
    assert_eq!(switch.stats(50).tx.packets, 0);
}

#[test]
fn ports_without_their_profile_stay_down() {
    let mut missing = veth(50, 100);
    missing.profile = ProfileBinding::NotFound("vlan100".into());
    let mut switch = Harness::new(vec![veth(49, 100), missing]);
    assert!(switch.send(50, &udp(mac(B), MacAddr::BROADCAST, None)).is_empty());
    assert!(switch.send(49, &udp(mac(A), MacAddr::BROADCAST, None)).is_empty());
    assert_eq!(switch.stats(50).drops.get(DropReason::ProfileMissing), 1);
    assert_eq!(switch.datapath.drops().get(DropReason::ProfileMissing), 1);
}

#[test]
fn unknown_ports_and_bad_frames_are_dropped_by_reason() {
    let mut switch = Harness::new(vec![veth(49, 100), veth(50, 100)]);
    let good = udp(mac(A), MacAddr::BROADCAST, None);
    assert!(switch.send(99, &good).is_empty());
    assert!(switch.send(49, &good[..10]).is_empty());
    assert!(switch.send(49, &udp(mac(A), MacAddr::BROADCAST, Some(100))[..16]).is_empty());
    let mut reserved = udp(mac(A), MacAddr::BROADCAST, Some(100));
    reserved[14..16].copy_from_slice(&[0x0f, 0xff]);
    assert!(switch.send(49, &reserved).is_empty());
    assert!(switch.send(49, &udp(MacAddr([0x01, 0, 0x5e, 0, 0, 1]), MacAddr::BROADCAST, None)).is_empty());
    assert!(switch.send(49, &udp(MacAddr::ZERO, MacAddr::BROADCAST, None)).is_empty());
    let jumbo = [good.clone(), vec![0; 4000]].concat();
    assert!(switch.send(49, &jumbo).is_empty(), "longer than the 2048-byte slots");

    let drops = &switch.stats(49).drops;
    assert_eq!(drops.get(DropReason::Malformed), 3);
    assert_eq!(drops.get(DropReason::SourceMacInvalid), 2);
    assert_eq!(drops.get(DropReason::Oversize), 1);
    assert_eq!(drops.in_direction(Direction::Input), 6);
    let total = switch.datapath.drops();
    assert_eq!(total.get(DropReason::NoIngressPort), 1);
    assert_eq!(total.total(), 7);
    let rx = switch.stats(49).rx;
    assert_eq!(rx.packets, 6);
    assert_eq!(rx.bytes, 10 + 16 + 64 + 60 + 60 + 4060);
    assert_eq!(rx.broadcast, 6, "even the 10-byte runt has a destination");
}

#[test]
fn attached_macs_are_static_and_cannot_be_spoofed() {
    let mut switch =
        Harness::new(vec![veth(49, 100).with_attached_mac(mac(A)), veth(50, 100), veth(51, 100)]);
    let out = switch.send(50, &udp(mac(B), mac(A), None));
    assert_eq!(Harness::ports_of(&out), [49], "known from config before any traffic");
    assert!(switch.send(51, &udp(mac(A), MacAddr::BROADCAST, None)).is_empty());
    assert_eq!(switch.stats(51).drops.get(DropReason::SourceMacStatic), 1);
    assert_eq!(switch.send(49, &udp(mac(A), MacAddr::BROADCAST, None)).len(), 2);

    let table = switch.datapath.mac_table(switch.now);
    let row = |m| table.iter().find(|row| row.mac == m).copied().unwrap();
    assert_eq!((row(mac(A)).kind, row(mac(A)).port), (MacKind::Static, PortId(49)));
    assert_eq!((row(mac(B)).kind, row(mac(B)).port), (MacKind::Dynamic, PortId(50)));
    assert_eq!(table.len(), 2);
}

#[test]
fn macs_move_between_ports() {
    let mut switch = Harness::new(vec![veth(49, 100), veth(50, 100), veth(51, 100)]);
    switch.send(50, &udp(mac(B), MacAddr::BROADCAST, None));
    switch.send(51, &udp(mac(B), MacAddr::BROADCAST, None));
    assert_eq!(Harness::ports_of(&switch.send(49, &udp(mac(A), mac(B), None))), [51]);
    assert_eq!(switch.datapath.mac_counters().moves, 1);
}

#[test]
fn dynamic_macs_age_out() {
    let mut switch = Harness::new(vec![veth(49, 100), veth(50, 100), veth(51, 100)]);
    switch.send(50, &udp(mac(B), MacAddr::BROADCAST, None));
    switch.advance(Duration::from_secs(299));
    assert_eq!(Harness::ports_of(&switch.send(49, &udp(mac(A), mac(B), None))), [50]);
    switch.advance(Duration::from_secs(2));
    assert_eq!(Harness::ports_of(&switch.send(49, &udp(mac(A), mac(B), None))), [50, 51], "B aged out");
    assert_eq!(switch.datapath.mac_counters().aged, 1);
    let ages: Vec<_> =
        switch.datapath.mac_table(switch.now).iter().map(|row| (row.mac, row.age_secs)).collect();
    assert_eq!(ages, [(mac(A), 0)], "A was learned just now, B is gone");
}

#[test]
fn aging_time_is_configurable_and_zero_means_never() {
    for (aging, after, known) in [(10, 11, false), (10, 9, true), (0, 100_000, true)] {
        let snapshot = Snapshot::new(vec![veth(49, 100), veth(50, 100), veth(51, 100)])
            .unwrap()
            .with_mac_aging(Duration::from_secs(aging));
        let mut switch = Harness::with_snapshot(snapshot);
        switch.send(50, &udp(mac(B), MacAddr::BROADCAST, None));
        switch.advance(Duration::from_secs(after));
        let ports = Harness::ports_of(&switch.send(49, &udp(mac(A), mac(B), None)));
        assert_eq!(ports == [50], known, "aging {aging} s, {after} s later");
    }
}

#[test]
fn frames_never_go_back_out_of_their_ingress_port() {
    let mut switch = Harness::new(vec![veth(49, 100), veth(50, 100)]);
    switch.send(50, &udp(mac(B), MacAddr::BROADCAST, None));
    switch.send(50, &udp(mac(C), MacAddr::BROADCAST, None));
    assert!(switch.send(50, &udp(mac(C), mac(B), None)).is_empty());
    assert_eq!(switch.stats(50).drops.get(DropReason::DestinationIsIngress), 1);
}

#[test]
fn bridge_domains_are_segments_of_their_own() {
    let vni = wire::Vni::new(5000).unwrap();
    let bd = |id: u32| {
        PortConfig::access(PortId(id), format!("Veth{}", id - 48), Segment::BridgeDomain(vni), "bd")
    };
    let mut switch = Harness::new(vec![bd(49), bd(50), veth(51, 100), uplink(17, &[100], 1)]);
    let out = switch.send(49, &udp(mac(A), MacAddr::BROADCAST, None));
    assert_eq!(Harness::ports_of(&out), [50], "trunks do not carry bridge-domains");
}

#[test]
fn a_new_config_keeps_counters_and_only_valid_macs() {
    let mut switch = Harness::new(vec![veth(49, 100), veth(50, 100), veth(51, 100)]);
    switch.send(50, &udp(mac(B), MacAddr::BROADCAST, None));
    switch.send(51, &udp(mac(C), MacAddr::BROADCAST, None));
    switch.set_ports(vec![veth(49, 100), veth(50, 100), veth(51, 200), veth(52, 200)]);
    assert_eq!(switch.stats(50).rx.packets, 1, "counters survive");
    assert_eq!(switch.stats(52).rx.packets, 0);
    let macs: Vec<_> = switch.datapath.mac_table(switch.now).iter().map(|row| row.mac).collect();
    assert_eq!(macs, [mac(B)], "C's port left vlan 100");
    assert_eq!(Harness::ports_of(&switch.send(49, &udp(mac(A), mac(C), None))), [50]);
    assert_eq!(Harness::ports_of(&switch.send(52, &udp(mac(4), mac(C), None))), [51]);
}

#[test]
fn a_full_transmit_batch_drops_and_counts_on_the_egress_port() {
    let mut switch = Harness::new(vec![veth(49, 100), veth(50, 100), veth(51, 100), veth(52, 100)]);
    let mut rx = datapath::RxBatch::new(1, 128);
    rx.push(PortId(49), &udp(mac(A), MacAddr::BROADCAST, None));
    let mut tx = TxBatch::new(1);
    switch.datapath.process(switch.now, &rx, &mut tx);
    assert_eq!(tx.len(), 1);
    let full = |port| switch.stats(port).drops.get(DropReason::TxBatchFull);
    assert_eq!((full(50), full(51), full(52)), (0, 1, 1));
    assert_eq!(switch.stats(51).drops.in_direction(Direction::Output), 1);
}

#[test]
fn a_full_table_stops_learning_but_not_forwarding() {
    let settings = datapath::Settings { mac_table_size: 2, hash_seed: 1, ..Default::default() };
    let snapshot = Snapshot::new(vec![veth(49, 100), veth(50, 100)]).unwrap();
    let mut dp = datapath::Datapath::new(&settings, Arc::new(snapshot));
    let mut rx = datapath::RxBatch::new(8, 128);
    for n in 1..=3 {
        rx.push(PortId(49), &udp(mac(n), MacAddr::BROADCAST, None));
    }
    let mut tx = TxBatch::new(8);
    dp.process(Duration::ZERO, &rx, &mut tx);
    assert_eq!(tx.len(), 3);
    let counters = dp.mac_counters();
    assert_eq!((counters.learned, counters.table_full), (2, 1));
}
