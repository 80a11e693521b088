//! Properties over random port configs and random frames, checked against a small model of
//! the rules: frames stay in their segment, never go back out of their ingress port, leave
//! tagged exactly when the egress port needs it, keep their bytes, and every frame is either
//! forwarded or counted as a drop.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use std::collections::BTreeSet;

use common::{Harness, bd, mac, udp, vni, vtep, vxlan_payload};
use datapath::{
    DropReason, Overlay, OverlaySegment, PortConfig, PortId, PortKind, PortMode, ProfileBinding, Segment,
    Snapshot, TUNNEL_PORT, VlanBitmap,
};
use proptest::prelude::*;
use wire::{MacAddr, Tci};

const VLANS: [u16; 3] = [100, 200, 300];

fn arb_port(id: u32) -> impl Strategy<Value = PortConfig> {
    let mode = prop_oneof![
        prop::sample::select(VLANS.to_vec())
            .prop_map(|vlan| PortMode::Access { segment: Segment::Vlan(vlan) }),
        (prop::sample::subsequence(VLANS.to_vec(), 0..=3), prop::sample::select(vec![1u16, 100, 200]))
            .prop_map(|(allowed, native)| PortMode::Trunk {
                allowed: allowed.into_iter().collect::<VlanBitmap>(),
                native
            }),
    ];
    (mode, prop::bool::weighted(0.85), prop::bool::weighted(0.9)).prop_map(move |(mode, admin_up, found)| {
        PortConfig {
            id: PortId(id),
            name: format!("port{id}"),
            admin_up,
            mode,
            attached_mac: None,
            profile: if found {
                ProfileBinding::Applied("p".into())
            } else {
                ProfileBinding::NotFound("p".into())
            },
            kind: PortKind::Vethernet,
            link_up: true,
            pin: None,
            ..PortConfig::access(PortId(id), "", Segment::Vlan(1), "")
        }
    })
}

fn arb_ports() -> impl Strategy<Value = Vec<PortConfig>> {
    [17u32, 18, 49, 50, 51, 52, 53].into_iter().map(arb_port).collect::<Vec<_>>()
}

/// A frame: ingress port, then bytes (possibly cut short).
fn arb_frame() -> impl Strategy<Value = (u32, Vec<u8>)> {
    let addr = prop_oneof![
        (1u8..=6).prop_map(mac),
        Just(MacAddr::BROADCAST),
        Just(MacAddr([0x01, 0x00, 0x5e, 0, 0, 1])),
        Just(MacAddr::ZERO),
    ];
    let tag = prop_oneof![Just(None), prop::sample::select(vec![0u16, 100, 200, 300, 4095]).prop_map(Some)];
    let port = prop::sample::select(vec![17u32, 18, 49, 50, 51, 52, 53, 99]);
    (port, addr.clone(), addr, tag, prop::option::weighted(0.1, 0usize..70)).prop_map(
        |(port, src, dst, tag, cut)| {
            let mut frame = udp(src, dst, tag);
            if let Some(len) = cut {
                frame.truncate(len);
            }
            (port, frame)
        },
    )
}

/// The segment the model says `frame` enters on `port`, or `None` if it must be dropped.
fn model_segment(port: Option<&PortConfig>, frame: &[u8]) -> Option<u16> {
    let port = port.filter(|port| port.is_forwarding())?;
    if frame.len() < 14 {
        return None;
    }
    let tci = if frame[12..14] == [0x81, 0x00] {
        let bytes = frame.get(14..16)?;
        Some(Tci::from_bits(u16::from_be_bytes([bytes[0], bytes[1]])))
    } else {
        None
    };
    if frame.len() < 18 && tci.is_some() || tci.is_some_and(|tci| tci.vid == 4095) {
        return None;
    }
    let src = MacAddr::from_slice(&frame[6..])?;
    if src.is_multicast() || src.is_zero() {
        return None;
    }
    let vid = tci.map(|tci| tci.vid).filter(|&vid| vid != 0);
    match &port.mode {
        PortMode::Access { segment: Segment::Vlan(vlan) } => vid.is_none().then_some(*vlan),
        PortMode::Trunk { allowed, native } => {
            Some(vid.unwrap_or(*native)).filter(|&vlan| allowed.contains(vlan))
        }
        PortMode::Access { .. } => None,
    }
}

fn expected_tag(port: &PortConfig, vlan: u16) -> Option<u16> {
    match &port.mode {
        PortMode::Trunk { native, .. } if *native != vlan => Some(vlan),
        _ => None,
    }
}

/// The frame without any tag: addresses, then everything after the tag.
fn untagged(frame: &[u8]) -> Vec<u8> {
    if frame.len() >= 18 && frame[12..14] == [0x81, 0x00] {
        [&frame[..12], &frame[16..]].concat()
    } else {
        frame.to_vec()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn frames_stay_in_their_segment_and_are_all_accounted_for(
        ports in arb_ports(),
        frames in proptest::collection::vec(arb_frame(), 1..60),
    ) {
        let mut switch = Harness::new(ports.clone());
        let by_id = |id: u32| ports.iter().find(|port| port.id == PortId(id));
        let mut received_on_forwarding = 0;
        for (in_port, frame) in &frames {
            let out = switch.send(*in_port, frame);
            let ingress = by_id(*in_port);
            received_on_forwarding += u64::from(ingress.is_some_and(PortConfig::is_forwarding));
            let Some(vlan) = model_segment(ingress, frame) else {
                prop_assert!(out.is_empty(), "{out:?} from a frame the model drops");
                continue;
            };
            let members: BTreeSet<u32> = ports
                .iter()
                .filter(|port| port.is_forwarding() && port.carries(Segment::Vlan(vlan)) && port.id.0 != *in_port)
                .map(|port| port.id.0)
                .collect();
            let sent: BTreeSet<u32> = out.iter().map(|(port, _)| *port).collect();
            prop_assert_eq!(sent.len(), out.len(), "one copy per port");
            prop_assert!(sent.is_subset(&members), "{:?} outside {:?} (vlan {})", sent, members, vlan);
            let dst = MacAddr::from_slice(frame).unwrap();
            if dst.is_multicast() {
                prop_assert_eq!(&sent, &members, "broadcast and multicast reach the whole segment");
            } else {
                prop_assert!(sent.len() <= 1 || sent == members, "unicast goes to one port or floods");
            }
            for (port, bytes) in &out {
                let egress = by_id(*port).unwrap();
                let tag = (bytes[12..14] == [0x81, 0x00]).then(|| Tci::from_bits(u16::from_be_bytes([bytes[14], bytes[15]])).vid);
                prop_assert_eq!(tag, expected_tag(egress, vlan));
                prop_assert_eq!(untagged(bytes), untagged(frame), "only the tag changes");
            }
        }
        let dp = &switch.datapath;
        let per_port: u64 = ports.iter().map(|port| dp.port_stats(port.id).unwrap().drops.total()).sum();
        prop_assert_eq!(per_port + dp.drops().get(DropReason::NoIngressPort), dp.drops().total());
        let received: u64 = ports
            .iter()
            .map(|port| {
                let stats = dp.port_stats(port.id).unwrap();
                stats.rx.packets + stats.drops.get(DropReason::PortDown) + stats.drops.get(DropReason::ProfileMissing)
            })
            .sum();
        prop_assert_eq!(received + dp.drops().get(DropReason::NoIngressPort), frames.len() as u64);
        let on_forwarding: u64 = ports.iter().map(|port| dp.port_stats(port.id).unwrap().rx.packets).sum();
        prop_assert_eq!(on_forwarding, received_on_forwarding);
    }

    #[test]
    fn random_bytes_never_panic(ports in arb_ports(), frames in proptest::collection::vec(
        (prop::sample::select(vec![17u32, 49, 99]), proptest::collection::vec(any::<u8>(), 0..80)), 1..32)) {
        let mut switch = Harness::new(ports);
        let out = switch.send_all(&frames);
        for (in_port, frame) in &frames {
            prop_assert!(!switch.datapath.trace(switch.now, PortId(*in_port), frame).is_empty());
        }
        prop_assert!(out.len() <= frames.len() * 7);
    }

    #[test]
    fn uplinks_never_loop_and_never_duplicate(
        ports in arb_ports(),
        uplinks in prop::collection::vec((prop::sample::subsequence(VLANS.to_vec(), 0..=3), prop::bool::weighted(0.8)), 2),
        frames in proptest::collection::vec(arb_frame(), 1..60),
    ) {
        // 17 and 18 become real uplinks, with a random carrier.
        let mut ports = ports;
        for (port, (allowed, link_up)) in ports.iter_mut().filter(|port| port.id.0 < 49).zip(uplinks) {
            port.kind = PortKind::Uplink;
            port.mode = PortMode::Trunk { allowed: allowed.into_iter().collect(), native: 1 };
            port.link_up = link_up;
        }
        let mut switch = Harness::new(ports.clone());
        let config = std::sync::Arc::clone(switch.datapath.config());
        for (veth, uplink) in config.pins() {
            let (veth, uplink) = (config.port(veth).unwrap(), config.port(uplink).unwrap());
            prop_assert!(uplink.is_forwarding() && uplink.carries(veth.home_segment()) && !veth.is_uplink());
        }
        let is_uplink = |id: u32| id < 49;
        for (in_port, frame) in &frames {
            let out = switch.send(*in_port, frame);
            let sent: BTreeSet<u32> = out.iter().map(|(port, _)| *port).collect();
            prop_assert_eq!(sent.len(), out.len(), "one copy per port");
            let uplinks_out: Vec<u32> = sent.iter().copied().filter(|&port| is_uplink(port)).collect();
            if is_uplink(*in_port) {
                prop_assert!(uplinks_out.is_empty(), "uplink {} to uplinks {:?}", in_port, uplinks_out);
                for port in &sent {
                    prop_assert_eq!(config.pinned_uplink(PortId(*port)), Some(PortId(*in_port)));
                }
            } else {
                let pinned = config.pinned_uplink(PortId(*in_port)).map(|id| id.0);
                prop_assert!(uplinks_out.len() <= 1 && uplinks_out.iter().all(|&port| Some(port) == pinned));
            }
        }
    }

    #[test]
    fn tunnel_payloads_never_panic_and_stay_in_their_bridge_domain(
        payloads in proptest::collection::vec(
            (
                1u8..=4,
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..80),
                    (prop::sample::select(vec![5000u32, 6000, 7000]), arb_frame())
                        .prop_map(|(segment, (_, frame))| vxlan_payload(segment, &frame)),
                ],
            ),
            1..40,
        ),
    ) {
        let five = OverlaySegment { vteps: vec![vtep(2), vtep(3)], macs: vec![(mac(5), vtep(2))] };
        let six = OverlaySegment { vteps: vec![vtep(4)], macs: Vec::new() };
        let overlay = Overlay {
            local_vtep: Some(vtep(1)),
            segments: [(vni(5000), five), (vni(6000), six)].into_iter().collect(),
        };
        let ports = vec![bd(49, 5000), bd(50, 5000), bd(51, 6000), common::eth(17, &[100], 1), common::veth(52, 100)];
        let mut switch = Harness::with_snapshot(Snapshot::new(ports).unwrap().with_overlay(overlay));
        for (source, payload) in &payloads {
            prop_assert!(!switch.datapath.trace_tunneled(switch.now, vtep(*source), payload).is_empty());
            let out = switch.send_tunneled(vtep(*source), payload);
            let sent: BTreeSet<u32> = out.iter().map(|(port, _)| *port).collect();
            prop_assert_eq!(sent.len(), out.len());
            prop_assert!(switch.encaps.iter().all(Option::is_none), "never back into the tunnel");
            let allowed: BTreeSet<u32> = match (source, payload.get(4..7)) {
                (2 | 3, Some([0x00, 0x13, 0x88])) => [49, 50].into(),
                (4, Some([0x00, 0x17, 0x70])) => [51].into(),
                _ => BTreeSet::new(),
            };
            prop_assert!(sent.is_subset(&allowed), "{:?} from VTEP {} outside {:?}", sent, source, allowed);
            for (_, bytes) in &out {
                prop_assert_eq!(untagged(bytes), untagged(&payload[8..]), "the inner frame, untagged");
            }
        }
        let tunnel = switch.datapath.port_stats(TUNNEL_PORT).unwrap();
        prop_assert_eq!(tunnel.rx.packets, payloads.len() as u64);
        prop_assert_eq!(tunnel.drops.total(), switch.datapath.drops().total());
    }
}
