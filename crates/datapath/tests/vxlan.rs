//! Bridge-domains across hosts: head-end replication and encapsulation into the tunnel,
//! decapsulation with its checks, remote MACs installed from the overlay and learned with
//! their VTEP.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use std::collections::BTreeMap;

use common::{Harness, bd, eth, mac, udp, veth, vni, vtep, vxlan_payload};
use datapath::{DropReason, Encap, MacKind, Overlay, OverlaySegment, PortId, Segment, Snapshot, TUNNEL_PORT};
use wire::MacAddr;

const TUNNEL: u32 = TUNNEL_PORT.0;

/// This host is VTEP .1 with Veth1–2 in bridge-domain 5000 and Veth3 in 6000; .2 and .3 have
/// members of 5000 (mac 20 at .2), .3 of 6000. Eth3/1 and Veth4 carry VLAN 100.
fn overlay() -> Overlay {
    let five = OverlaySegment {
        vteps: vec![vtep(3), vtep(2), vtep(1), vtep(2)], // unsorted, a duplicate, the local VTEP
        macs: vec![(mac(20), vtep(2)), (mac(1), vtep(3))], // mac 1 is local: not installed
    };
    let six = OverlaySegment { vteps: vec![vtep(3)], macs: Vec::new() };
    Overlay { local_vtep: Some(vtep(1)), segments: BTreeMap::from([(vni(5000), five), (vni(6000), six)]) }
}

fn switch_with(overlay: Overlay) -> Harness {
    let ports = vec![
        bd(49, 5000).with_attached_mac(mac(1)),
        bd(50, 5000),
        bd(51, 6000),
        veth(52, 100),
        eth(17, &[100], 1),
    ];
    Harness::with_snapshot(Snapshot::new(ports).unwrap().with_overlay(overlay))
}

fn switch() -> Harness {
    switch_with(overlay())
}

fn encap(remote: u8, segment: u32) -> Option<Encap> {
    Some(Encap::new(vtep(remote), vni(segment)))
}

#[test]
fn encapsulation_header_is_rfc_7348() {
    let encap = Encap::new(vtep(2), vni(5000));
    assert_eq!(encap.header, [0x08, 0, 0, 0, 0x00, 0x13, 0x88, 0x00]);
    assert_eq!(encap.remote, vtep(2));
}

#[test]
fn the_overlay_is_cleaned_up_in_the_snapshot() {
    let switch = switch();
    let config = switch.datapath.config();
    assert_eq!(config.remote_vteps(vni(5000)), [vtep(2), vtep(3)]);
    assert!(config.remote_vteps(vni(7000)).is_empty());
    assert_eq!(config.overlay(), &overlay());
    let off = Snapshot::new(Vec::new()).unwrap().with_overlay(Overlay { local_vtep: None, ..overlay() });
    assert!(off.remote_vteps(vni(5000)).is_empty(), "no VTEP here: the overlay is off");
}

#[test]
fn floods_are_replicated_to_each_remote_vtep_of_the_bridge_domain() {
    let mut switch = switch();
    let frame = udp(mac(1), MacAddr::BROADCAST, None);
    let out = switch.send(49, &frame);
    assert_eq!(Harness::ports_of(&out), [TUNNEL, TUNNEL, 50]);
    let remote: Vec<_> = out.iter().zip(&switch.encaps).filter(|((port, _), _)| *port == TUNNEL).collect();
    assert_eq!(remote.iter().map(|(_, encap)| **encap).collect::<Vec<_>>(), [encap(2, 5000), encap(3, 5000)]);
    assert!(out.iter().all(|(_, bytes)| *bytes == frame), "the inner frame is the frame");
    let tunnel = switch.stats(TUNNEL);
    assert_eq!((tunnel.tx.packets, tunnel.tx.bytes), (2, 2 * (frame.len() as u64 + 8)));

    let out = switch.send(51, &udp(mac(3), mac(99), None));
    assert_eq!(Harness::ports_of(&out), [TUNNEL], "unknown unicast too, to 6000's one VTEP");
    assert_eq!(switch.encaps, [encap(3, 6000)]);
}

#[test]
fn known_remote_macs_get_one_copy_to_their_vtep() {
    let mut switch = switch();
    let out = switch.send(50, &udp(mac(2), mac(20), None));
    assert_eq!((Harness::ports_of(&out), switch.encaps.clone()), (vec![TUNNEL], vec![encap(2, 5000)]));
    let table = switch.datapath.mac_table(switch.now);
    let row = table.iter().find(|row| row.mac == mac(20)).unwrap();
    assert_eq!(
        (row.segment, row.kind, row.port, row.remote_vtep, row.age_secs),
        (Segment::BridgeDomain(vni(5000)), MacKind::Installed, TUNNEL_PORT, Some(vtep(2)), 0)
    );
    let local = table.iter().find(|row| row.mac == mac(1)).unwrap();
    assert_eq!((local.kind, local.port, local.remote_vtep), (MacKind::Static, PortId(49), None));
}

#[test]
fn vlan_traffic_never_enters_the_tunnel() {
    let mut switch = switch();
    let out = switch.send(52, &udp(mac(4), MacAddr::BROADCAST, None));
    assert_eq!(Harness::ports_of(&out), [17]);
    assert_eq!(switch.encaps, [None]);
}

#[test]
fn decapsulated_frames_go_to_local_members_only_and_teach_their_vtep() {
    let mut switch = switch();
    let frame = udp(mac(21), MacAddr::BROADCAST, None);
    let out = switch.send_tunneled(vtep(3), &vxlan_payload(5000, &frame));
    assert_eq!(Harness::ports_of(&out), [49, 50]);
    assert!(out.iter().all(|(_, bytes)| *bytes == frame), "without the VXLAN header");
    assert_eq!(switch.encaps, [None, None]);
    let row = switch.datapath.mac_table(switch.now).into_iter().find(|row| row.mac == mac(21)).unwrap();
    assert_eq!((row.kind, row.port, row.remote_vtep), (MacKind::Dynamic, TUNNEL_PORT, Some(vtep(3))));
    // Now known: one copy back, to .3.
    let out = switch.send(50, &udp(mac(2), mac(21), None));
    assert_eq!((Harness::ports_of(&out), switch.encaps.clone()), (vec![TUNNEL], vec![encap(3, 5000)]));
    // It moves when it shows up behind another VTEP.
    switch.send_tunneled(vtep(2), &vxlan_payload(5000, &udp(mac(21), mac(2), None)));
    switch.send(50, &udp(mac(2), mac(21), None));
    assert_eq!(switch.encaps, [encap(2, 5000)]);
    assert_eq!(switch.datapath.mac_counters().moves, 1);
    // Unicast from the tunnel to a MAC behind the tunnel goes nowhere.
    assert!(switch.send_tunneled(vtep(3), &vxlan_payload(5000, &udp(mac(22), mac(20), None))).is_empty());
    let tunnel = switch.stats(TUNNEL);
    assert_eq!(tunnel.drops.get(DropReason::DestinationIsIngress), 1);
    assert_eq!(tunnel.rx.packets, 3);
}

#[test]
fn bad_tunnel_payloads_are_dropped_by_reason_on_the_tunnel() {
    let mut switch = switch();
    let good = udp(mac(21), MacAddr::BROADCAST, None);
    let mut no_i_flag = vxlan_payload(5000, &good);
    no_i_flag[0] = 0;
    let cases: Vec<(std::net::Ipv4Addr, Vec<u8>, DropReason)> = vec![
        (vtep(2), vec![0x08, 0, 0, 0, 0, 0x13, 0x88], DropReason::VxlanMalformed),
        (vtep(2), no_i_flag, DropReason::VxlanMalformed),
        (vtep(2), vxlan_payload(7000, &good), DropReason::VniUnknown),
        (vtep(9), vxlan_payload(5000, &good), DropReason::VtepNotMember),
        (vtep(1), vxlan_payload(5000, &good), DropReason::VtepNotMember),
        (vtep(2), vxlan_payload(6000, &good), DropReason::VtepNotMember),
        (
            vtep(2),
            vxlan_payload(5000, &udp(mac(21), MacAddr::BROADCAST, Some(100))),
            DropReason::TaggedOnAccess,
        ),
        (vtep(2), vxlan_payload(5000, &good[..10]), DropReason::Malformed),
        (vtep(3), vxlan_payload(5000, &udp(mac(20), MacAddr::BROADCAST, None)), DropReason::SourceMacStatic),
        (vtep(3), vxlan_payload(5000, &udp(mac(1), MacAddr::BROADCAST, None)), DropReason::SourceMacStatic),
        (
            vtep(2),
            vxlan_payload(5000, &udp(MacAddr::ZERO, MacAddr::BROADCAST, None)),
            DropReason::SourceMacInvalid,
        ),
    ];
    for (source, payload, reason) in &cases {
        assert!(switch.send_tunneled(*source, payload).is_empty(), "{reason:?}");
        assert!(switch.stats(TUNNEL).drops.get(*reason) > 0, "{reason:?}");
    }
    let tunnel = switch.stats(TUNNEL);
    assert_eq!(tunnel.drops.total(), cases.len() as u64);
    assert_eq!(tunnel.rx.packets, cases.len() as u64);
    assert_eq!(switch.datapath.drops().total(), cases.len() as u64);
    // A priority tag (VLAN 0) is no VLAN: accepted.
    let priority = udp(mac(21), MacAddr::BROADCAST, Some(0));
    assert_eq!(Harness::ports_of(&switch.send_tunneled(vtep(2), &vxlan_payload(5000, &priority))), [49, 50]);
}

#[test]
fn without_a_local_vtep_nothing_goes_into_the_tunnel() {
    let mut switch = switch_with(Overlay { local_vtep: None, ..overlay() });
    let out = switch.send(49, &udp(mac(1), MacAddr::BROADCAST, None));
    assert_eq!(Harness::ports_of(&out), [50]);
    assert!(switch.send(50, &udp(mac(2), mac(20), None)).iter().all(|(port, _)| *port == 49));
    assert!(switch.datapath.mac_table(switch.now).iter().all(|row| row.kind != MacKind::Installed));
    assert!(switch.send_tunneled(vtep(2), &vxlan_payload(5000, &udp(mac(21), mac(2), None))).is_empty());
    assert_eq!(switch.stats(TUNNEL).drops.get(DropReason::VtepNotMember), 1);
}

#[test]
fn a_new_overlay_replaces_installed_macs_and_forgets_macs_of_vteps_that_left() {
    let mut switch = switch();
    switch.send_tunneled(vtep(3), &vxlan_payload(5000, &udp(mac(21), MacAddr::BROADCAST, None)));
    let mut next = overlay();
    let five = next.segments.get_mut(&vni(5000)).unwrap();
    five.vteps = vec![vtep(2)];
    five.macs = vec![(mac(23), vtep(2))];
    let ports = switch.datapath.config().ports().to_vec();
    switch.datapath.set_config(std::sync::Arc::new(Snapshot::new(ports).unwrap().with_overlay(next)));
    let remote: Vec<_> = switch
        .datapath
        .mac_table(switch.now)
        .into_iter()
        .filter(|row| row.port == TUNNEL_PORT)
        .map(|row| (row.mac, row.kind))
        .collect();
    assert_eq!(remote, [(mac(23), MacKind::Installed)]);
    let out = switch.send(49, &udp(mac(1), MacAddr::BROADCAST, None));
    assert_eq!(switch.encaps.iter().flatten().count(), 1);
    assert_eq!(Harness::ports_of(&out), [TUNNEL, 50]);
}
