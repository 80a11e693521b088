//! `Datapath::process` never allocates: not for known unicast, floods, learning new MACs (up to
//! the table size), moves, aging sweeps, tagging, pinned uplinks, VXLAN replication,
//! encapsulation and decapsulation, per-port MAC limits, port-security violations (but
//! `shutdown`, which rebuilds the snapshot once per port), source guard, ARP inspection, DHCP
//! snooping, storm control, events, or any drop. Checked with a counting global
//! allocator, so this file holds the crate's only `unsafe`: delegating to the system allocator.
#![allow(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use common::{
    Harness, advert, arp, bd, dhcp, dhcp_repr, eth, ip, ip4, mac, udp, uplink, veth, vni, vtep, vxlan_payload,
};
use datapath::{
    DropReason, Overlay, OverlaySegment, PortConfig, PortId, RxBatch, Snapshot, TUNNEL_PORT, TxBatch,
};
use wire::MacAddr;

thread_local! {
    /// Allocations made by this thread (const-initialised: reading it never allocates).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is `System`'s; counting touches only a thread-local `Cell`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through `alloc`/`realloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: `ptr` came from `System`; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn processing_frames_never_allocates() {
    let mut down = veth(53, 100);
    down.admin_up = false;
    let mut switch = Harness::new(vec![
        veth(49, 100).with_attached_mac(mac(1)),
        veth(50, 100),
        veth(51, 100),
        veth(52, 200),
        down,
        uplink(17, &[100, 200], 1),
    ]);
    // Every kind of frame: learning (new, refresh, move), known unicast, floods, tags, drops.
    let mut frames: Vec<(u32, Vec<u8>)> = vec![
        (50, udp(mac(2), MacAddr::BROADCAST, None)),
        (49, udp(mac(1), mac(2), None)),
        (17, udp(mac(3), mac(1), Some(100))),
        (17, udp(mac(4), MacAddr::BROADCAST, Some(200))),
        (17, udp(mac(4), MacAddr::BROADCAST, Some(300))),
        (51, udp(mac(2), mac(9), None)),
        (49, udp(mac(1), MacAddr::BROADCAST, Some(100))),
        (53, udp(mac(5), MacAddr::BROADCAST, None)),
        (99, udp(mac(6), MacAddr::BROADCAST, None)),
        (50, udp(mac(1), MacAddr::BROADCAST, None)),
        (50, udp(MacAddr::BROADCAST, mac(1), None)),
        (50, vec![0xff; 9]),
    ];
    for n in 0..20 {
        frames.push((51, udp(MacAddr([0x02, 0x77, 0, 0, 0, n]), mac(1), None)));
    }
    let mut rx = RxBatch::new(frames.len(), 2048);
    for (port, frame) in &frames {
        assert!(rx.push(PortId(*port), frame));
    }
    let mut tx = TxBatch::new(frames.len() * 8);

    let before = allocations();
    for second in 0..600 {
        switch.datapath.process(Duration::from_secs(second), &rx, &mut tx);
    }
    // Silence past the aging time: the sweep empties the table and the same frames relearn.
    switch.datapath.process(Duration::from_secs(600 + 301), &rx, &mut tx);
    let during = allocations() - before;

    assert!(!tx.is_empty());
    let macs = switch.datapath.mac_counters();
    assert_eq!((macs.learned, macs.aged), (2 * 23, 23), "{macs:?}");
    assert!(macs.moves > 0);
    assert!(switch.datapath.drops().total() > 0);
    assert_eq!(during, 0, "process allocated {during} times");

    // The counter does see allocations: a trace allocates its lines.
    let before = allocations();
    let _ = switch.datapath.trace(Duration::ZERO, PortId(49), &frames[1].1);
    assert!(allocations() > before);
}

#[test]
fn uplinks_and_vxlan_never_allocate() {
    let trunk = PortConfig::trunk(PortId(55), "Veth7", [100, 400].into_iter().collect(), 400, "trunk");
    let segment = OverlaySegment { vteps: vec![vtep(2), vtep(3)], macs: vec![(mac(20), vtep(2))] };
    let overlay =
        Overlay { local_vtep: Some(vtep(1)), segments: [(vni(5000), segment)].into_iter().collect() };
    let ports = vec![
        eth(17, &[100], 1),
        eth(18, &[100], 1),
        veth(49, 100).with_attached_mac(mac(1)),
        veth(50, 100),
        bd(51, 5000),
        bd(52, 5000),
        trunk,
    ];
    let mut switch = Harness::with_snapshot(Snapshot::new(ports).unwrap().with_overlay(overlay));
    let tunneled = |source, frame: Vec<u8>| (Some(source), vxlan_payload(5000, &frame));
    let plain = |port: u32, frame: Vec<u8>| (None, (port, frame));
    // A source VTEP for tunneled payloads, then the port and bytes.
    type Received = (Option<std::net::Ipv4Addr>, (u32, Vec<u8>));
    let mut frames: Vec<Received> = vec![
        plain(49, udp(mac(1), MacAddr::BROADCAST, None)),
        plain(50, udp(mac(2), MacAddr::BROADCAST, None)),
        plain(18, udp(mac(30), MacAddr::BROADCAST, Some(100))),
        plain(49, udp(mac(1), mac(30), None)),
        plain(17, udp(mac(31), mac(2), Some(100))),
        plain(17, udp(mac(31), mac(30), Some(100))),
        plain(55, udp(mac(7), mac(30), Some(100))),
        plain(18, udp(mac(2), MacAddr::BROADCAST, Some(100))),
        plain(51, udp(mac(5), MacAddr::BROADCAST, None)),
        plain(52, udp(mac(6), mac(20), None)),
        plain(52, udp(mac(6), mac(99), None)),
    ];
    for (source, frame) in [
        (vtep(3), udp(mac(21), MacAddr::BROADCAST, None)),
        (vtep(2), udp(mac(21), mac(5), None)),
        (vtep(9), udp(mac(22), mac(5), None)),
        (vtep(2), udp(mac(22), mac(5), Some(100))),
        (vtep(3), udp(mac(20), mac(21), None)),
    ] {
        let (source, payload) = tunneled(source, frame);
        frames.push((source, (TUNNEL_PORT.0, payload)));
    }
    frames.push((Some(vtep(2)), (TUNNEL_PORT.0, vec![0x08, 0, 0])));
    frames.push((Some(vtep(2)), (TUNNEL_PORT.0, vxlan_payload(7000, &udp(mac(23), mac(5), None)))));
    for n in 0..20 {
        let (source, payload) = tunneled(vtep(3), udp(MacAddr([0x02, 0x77, 0, 0, 0, n]), mac(5), None));
        frames.push((source, (TUNNEL_PORT.0, payload)));
    }
    let mut rx = RxBatch::new(frames.len(), 2048);
    for (source, (port, frame)) in &frames {
        let pushed = match source {
            Some(source) => rx.push_tunneled(PortId(*port), frame, *source),
            None => rx.push(PortId(*port), frame),
        };
        assert!(pushed);
    }
    let mut tx = TxBatch::new(frames.len() * 8);

    let before = allocations();
    for second in 0..600 {
        switch.datapath.process(Duration::from_secs(second), &rx, &mut tx);
    }
    switch.datapath.process(Duration::from_secs(600 + 301), &rx, &mut tx);
    let during = allocations() - before;

    assert!(tx.views(&rx).any(|view| view.vxlan().is_some()));
    let drops = switch.datapath.drops();
    for reason in [
        DropReason::UplinkNotPinned,
        DropReason::UplinkToUplink,
        DropReason::NoUplink,
        DropReason::UplinkSourceLocal,
        DropReason::VtepNotMember,
        DropReason::TaggedOnAccess,
        DropReason::VxlanMalformed,
        DropReason::VniUnknown,
        DropReason::SourceMacStatic,
    ] {
        assert!(drops.get(reason) > 0, "{reason:?} not exercised: {drops:?}");
    }
    assert!(switch.datapath.mac_counters().moves > 0);
    assert_eq!(during, 0, "process allocated {during} times");
}

#[path = "policy_common/mod.rs"]
mod policy_common;

#[test]
fn access_lists_conntrack_and_flow_accounting_never_allocate() {
    use datapath::Action;
    use policy_common::{
        ACK, FIN, L4, RST, SYN, frame, list, permit_tcp_to, rule, v4, v6, with_in, with_out,
    };

    let stateful_out = list(
        "OUT",
        vec![
            permit_tcp_to(10, 80, true),
            datapath::AclRule { stateful: true, ..rule(20, Action::Permit, Some(17)) },
            datapath::AclRule { stateful: true, icmp_type: Some(8), ..rule(30, Action::Permit, Some(1)) },
        ],
    );
    let nothing = list("NOTHING", vec![]);
    let mut client = with_out(with_in(veth(49, 100), &stateful_out), &nothing);
    client.flow_accounting_in = true;
    let mut server = with_in(veth(50, 100), &nothing);
    server.acl_out.v4 = Some(list("WEB", vec![permit_tcp_to(10, 80, true)]));
    server.flow_accounting_out = true;
    let ports = vec![client, server, veth(51, 100)];
    let settings = datapath::Settings { flow_table_size: 64, ..datapath::Settings::default() };
    let mut switch = Harness::with_snapshot(Snapshot::new(ports).unwrap());
    switch.datapath = datapath::Datapath::new(&settings, switch.datapath.config().clone());

    let tcp = |from: u8, to: u8, ports: (u16, u16), flags| {
        frame(mac(from), mac(to), None, v4(from), v4(to), L4::Tcp { src: ports.0, dst: ports.1, flags })
    };
    let mut frames: Vec<(u32, Vec<u8>)> = vec![(51, udp(mac(3), MacAddr::BROADCAST, None))];
    for n in 0..40u16 {
        // Connections set up, answered, closed and reset; more than the table holds.
        frames.push((49, tcp(1, 2, (1000 + n, 80), SYN)));
        frames.push((50, tcp(2, 1, (80, 1000 + n), SYN | ACK)));
        frames.push((49, tcp(1, 2, (1000 + n, 80), if n % 2 == 0 { FIN | ACK } else { RST })));
    }
    frames.extend([
        (50, tcp(2, 1, (22, 2000), ACK)),
        (51, tcp(3, 1, (22, 2000), ACK)),
        (49, frame(mac(1), mac(2), None, v4(1), v4(2), L4::Udp { src: 5353, dst: 53 })),
        (50, frame(mac(2), mac(1), None, v4(2), v4(1), L4::Udp { src: 53, dst: 5353 })),
        (49, frame(mac(1), mac(2), None, v4(1), v4(2), L4::Icmp { kind: 8, ident: 3 })),
        (50, frame(mac(2), mac(1), None, v4(2), v4(1), L4::Icmp { kind: 0, ident: 3 })),
        (49, frame(mac(1), MacAddr::BROADCAST, None, v4(1), v4(2), L4::Udp { src: 68, dst: 67 })),
        (49, frame(mac(1), mac(2), None, v6(1), v6(2), L4::Udp { src: 1, dst: 2 })),
    ]);
    let mut rx = RxBatch::new(frames.len(), 2048);
    for (port, frame) in &frames {
        assert!(rx.push(PortId(*port), frame));
    }
    let mut tx = TxBatch::new(frames.len() * 8);
    let mut records = Vec::with_capacity(1024);

    let before = allocations();
    for second in 0..300 {
        switch.datapath.process(Duration::from_secs(second), &rx, &mut tx);
        if second % 7 == 0 {
            records.clear();
            let (active, inactive) = (Duration::from_secs(10), Duration::from_secs(5));
            switch.datapath.expired_flows(Duration::from_secs(second), active, inactive, &mut records);
        }
    }
    // Silence: flows and connections expire (exported first), and the same frames start over.
    records.clear();
    let later = Duration::from_secs(300 + 86_400);
    switch.datapath.expired_flows(later, Duration::from_secs(10), Duration::from_secs(5), &mut records);
    switch.datapath.process(later, &rx, &mut tx);
    let during = allocations() - before;

    assert!(!tx.is_empty());
    let drops = switch.datapath.drops();
    for reason in [DropReason::AclIn, DropReason::AclOut, DropReason::ConntrackFull] {
        assert!(drops.get(reason) > 0, "{reason:?} not exercised: {drops:?}");
    }
    let counters = switch.datapath.flow_counters();
    assert!(counters.table_full > 0 && counters.expired > 0, "{counters:?}");
    assert!(switch.datapath.acl_hits().any(|hits| hits.matches > 0));
    assert_eq!(during, 0, "process allocated {during} times");
}

#[test]
fn guard_checks_never_allocate() {
    use datapath::{PortSecurity, StormControl, ViolationAction};
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;
    use wire::{arp::Operation, dhcp::MessageType};

    let mut trusted = eth(17, &[100], 100);
    trusted.dhcp_snooping_trust = true;
    let secure = PortConfig {
        port_security: Some(PortSecurity { maximum: 2, violation: ViolationAction::Restrict, sticky: true }),
        ..veth(49, 100).with_attached_mac(mac(1))
    };
    let guarded = PortConfig {
        verify_source: true,
        arp_inspection: true,
        ip_bindings: vec![IpAddr::V4(ip(2))].into(),
        ..veth(50, 100).with_attached_mac(mac(2))
    };
    let storm =
        StormControl { broadcast_pps: Some(10), multicast_pps: Some(10), unknown_unicast_pps: Some(10) };
    let stormy = PortConfig { storm_control: storm, ..veth(51, 100) };
    let snapshot = Snapshot::new(vec![trusted, secure, guarded, stormy, veth(52, 100)])
        .unwrap()
        .with_dhcp_snooping(true);
    let settings = datapath::Settings { per_port_mac_limit: 4, ..Default::default() };
    let mut datapath = datapath::Datapath::new(&settings, Arc::new(snapshot));
    let server = Ipv4Addr::new(10, 0, 0, 254);
    let ack = dhcp_repr(MessageType::ACK, mac(2), Ipv4Addr::UNSPECIFIED, ip(9), Some(30));
    let release = dhcp_repr(MessageType::RELEASE, mac(2), ip(9), Ipv4Addr::UNSPECIFIED, None);
    let mut frames: Vec<(u32, Vec<u8>)> = vec![
        (49, udp(mac(1), mac(2), None)),
        (49, udp(mac(3), mac(2), None)),
        (49, udp(mac(4), mac(2), None)),
        (50, ip4(mac(2), mac(1), ip(2), ip(1))),
        (50, ip4(mac(2), mac(1), ip(66), ip(1))),
        (50, ip4(mac(6), mac(1), ip(2), ip(1))),
        (50, arp(Operation::REPLY, mac(2), ip(1), (mac(1), ip(1)))),
        (50, arp(Operation::REQUEST, mac(2), ip(2), (MacAddr::ZERO, ip(2)))),
        (50, advert(mac(2), "fe80::2".parse().unwrap(), "2001:db8::1".parse().unwrap(), Some(mac(2)))),
        (17, dhcp(mac(40), mac(2), (server, ip(9)), &ack)),
        (50, ip4(mac(2), mac(1), ip(9), ip(1))),
        (52, dhcp(mac(41), mac(2), (server, ip(9)), &ack)),
        (50, dhcp(mac(2), mac(40), (ip(9), server), &release)),
    ];
    for n in 0..12 {
        frames.push((51, udp(mac(5), MacAddr([0x01, 0, 0x5e, 0, 0, 1]), None)));
        frames.push((51, udp(mac(5), mac(99), None)));
        frames.push((51, udp(mac(5), MacAddr::BROADCAST, None)));
        frames.push((52, udp(MacAddr([0x02, 0x77, 0, 0, 0, n]), mac(1), None)));
    }
    let mut rx = RxBatch::new(frames.len(), 2048);
    for (port, frame) in &frames {
        assert!(rx.push(PortId(*port), frame));
    }
    let mut tx = TxBatch::new(frames.len() * 8);

    let before = allocations();
    for tenth in 0..3000 {
        datapath.process(Duration::from_millis(100 * tenth), &rx, &mut tx);
    }
    let during = allocations() - before;

    let drops = datapath.drops();
    for reason in [
        DropReason::PortSecurity,
        DropReason::SourceGuardIp,
        DropReason::SourceGuardMac,
        DropReason::ArpInspection,
        DropReason::DhcpUntrustedServer,
        DropReason::StormBroadcast,
        DropReason::StormMulticast,
        DropReason::StormUnknownUnicast,
    ] {
        assert!(drops.get(reason) > 0, "{reason:?} not exercised: {drops:?}");
    }
    assert!(datapath.port_stats(PortId(52)).unwrap().mac_limit > 0);
    assert!(datapath.events_lost() > 0, "the event queue filled up without growing");
    assert_eq!(during, 0, "process allocated {during} times");
}
