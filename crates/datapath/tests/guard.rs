//! Port security and anti-spoofing through `Datapath::process`: MAC flooding, port-security
//! violations (protect, restrict, shutdown and recovery), IP source guard, ARP inspection,
//! DHCP snooping and storm control — each as an attacker would try it.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use common::{Harness, advert, arp, dhcp, dhcp_repr, eth, ip, ip4, ip6, mac, udp, veth};
use datapath::{
    DatapathEvent, DhcpBindingEnd, DropReason, ErrDisableReason, MacKind, PortConfig, PortId, PortSecurity,
    Snapshot, StormControl, ViolationAction,
};
use wire::{IpProtocol, MacAddr, arp::Operation, dhcp::MessageType};

fn events(switch: &mut Harness) -> Vec<DatapathEvent> {
    std::iter::from_fn(|| switch.datapath.poll_event()).collect()
}

fn secured(id: u32, attached: u8, maximum: u32, violation: ViolationAction) -> PortConfig {
    PortConfig {
        port_security: Some(PortSecurity { maximum, violation, sticky: false }),
        ..veth(id, 100).with_attached_mac(mac(attached))
    }
}

/// A guarded port: attached MAC `mac(n)`, bound to 10.0.0.n and 2001:db8::n.
fn guarded(id: u32, n: u8) -> PortConfig {
    PortConfig {
        verify_source: true,
        arp_inspection: true,
        ip_bindings: vec![IpAddr::V4(ip(n)), IpAddr::V6(v6(n))].into(),
        ..veth(id, 100).with_attached_mac(mac(n))
    }
}

fn v6(n: u8) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(n))
}

/// Distinct random-looking unicast, locally administered MACs: `n` times an odd constant
/// modulo 2⁴⁰ is a bijection, so no two repeat.
fn random_macs(count: u64) -> impl Iterator<Item = MacAddr> {
    (0..count).map(|n| {
        let [_, _, _, a, b, c, d, e] = n.wrapping_mul(0x9e37_79b9_7f4b).to_be_bytes();
        MacAddr([0x02, a, b, c, d, e])
    })
}

#[test]
fn a_mac_flood_fills_only_the_attackers_share_and_neighbours_stay_unicast() {
    // Veth1 attacks; Veth2 talks to its neighbour Veth3.
    let mut switch = Harness::new(vec![veth(49, 100), veth(50, 100), veth(51, 100)]);
    switch.send(51, &udp(mac(3), MacAddr::BROADCAST, None));
    let macs: Vec<MacAddr> = random_macs(200_000).collect();
    for chunk in macs.chunks(32) {
        let frames: Vec<(u32, Vec<u8>)> = chunk.iter().map(|&src| (49, udp(src, mac(3), None))).collect();
        switch.send_all(&frames);
    }
    assert_eq!(switch.datapath.port_mac_count(PortId(49)), Some((4096, 4096)));
    let attacker = switch.stats(49);
    assert_eq!(attacker.mac_limit, 200_000 - 4096);
    let counters = switch.datapath.mac_counters();
    assert_eq!((counters.table_full, counters.port_limit), (0, 200_000 - 4096));
    // A neighbour seen before the flood, and one first seen after it, are both still learned.
    switch.send(50, &udp(mac(2), MacAddr::BROADCAST, None));
    for _ in 0..20 {
        assert_eq!(Harness::ports_of(&switch.send(50, &udp(mac(2), mac(3), None))), [51]);
        assert_eq!(Harness::ports_of(&switch.send(51, &udp(mac(3), mac(2), None))), [50]);
    }
    assert_eq!(switch.stats(49).tx.unicast, 0, "the attacker received none of the neighbours' frames");
}

#[test]
fn restrict_drops_and_reports_once_a_second() {
    let mut switch = Harness::new(vec![secured(49, 1, 2, ViolationAction::Restrict), veth(50, 100)]);
    assert_eq!(switch.send(49, &udp(mac(1), mac(2), None)).len(), 1, "the attached MAC is secure");
    assert_eq!(switch.send(49, &udp(mac(9), mac(2), None)).len(), 1, "a 2nd secure MAC fits maximum 2");
    assert!(switch.send(49, &udp(mac(10), mac(2), None)).is_empty());
    assert!(switch.send(49, &udp(mac(11), mac(2), None)).is_empty());
    assert_eq!(
        events(&mut switch),
        [DatapathEvent::PortSecurityViolation {
            port: PortId(49),
            mac: mac(10),
            action: ViolationAction::Restrict
        }]
    );
    switch.advance(Duration::from_secs(1));
    assert!(switch.send(49, &udp(mac(12), mac(2), None)).is_empty());
    assert_eq!(events(&mut switch).len(), 1, "a second later, the next violation is reported");
    assert_eq!(switch.stats(49).drops.get(DropReason::PortSecurity), 3);
    assert_eq!(switch.send(49, &udp(mac(9), mac(2), None)).len(), 1, "known secure MACs still pass");
    let all = switch.datapath.secure_macs(switch.now);
    assert_eq!(
        all.iter().map(|(port, _)| *port).collect::<Vec<_>>(),
        [PortId(49)],
        "port 50 has no port security"
    );
    let secure: Vec<(MacAddr, MacKind)> = all[0].1.iter().map(|row| (row.mac, row.kind)).collect();
    assert_eq!(secure, [(mac(1), MacKind::Static), (mac(9), MacKind::Dynamic)]);
}

#[test]
fn protect_drops_silently_and_sticky_reports_learned_macs() {
    let mut port = secured(49, 1, 2, ViolationAction::Protect);
    port.port_security = port.port_security.map(|security| PortSecurity { sticky: true, ..security });
    let mut switch = Harness::new(vec![port, veth(50, 100)]);
    switch.send(49, &udp(mac(9), mac(2), None));
    assert!(switch.send(49, &udp(mac(10), mac(2), None)).is_empty());
    assert_eq!(events(&mut switch), [DatapathEvent::StickyMacLearned { port: PortId(49), mac: mac(9) }]);
    assert_eq!(switch.datapath.drops().get(DropReason::PortSecurity), 1);
}

#[test]
fn shutdown_errdisables_the_port_until_recovered() {
    let ports = || vec![secured(49, 1, 1, ViolationAction::Shutdown), veth(50, 100), veth(51, 100)];
    let mut switch = Harness::new(ports());
    assert_eq!(Harness::ports_of(&switch.send(50, &udp(mac(2), MacAddr::BROADCAST, None))), [49, 51]);
    assert_eq!(
        switch.datapath.trace(switch.now, PortId(49), &udp(mac(9), mac(2), None))[2..],
        [
            "port-security: 02ab.cd00.0009 is a 2nd secure MAC, maximum 1: violation (shutdown)",
            "dropped: port-security violation: source MAC beyond the port's maximum",
        ]
    );
    // One batch: the violation, then the port's own MAC, then a flood towards it.
    let out = switch.send_all(&[
        (49, udp(mac(9), mac(2), None)),
        (49, udp(mac(1), mac(2), None)),
        (50, udp(mac(2), MacAddr::BROADCAST, None)),
        (50, udp(mac(2), mac(1), None)),
    ]);
    assert_eq!(Harness::ports_of(&out), [51, 51], "nothing leaves by the error-disabled port");
    assert_eq!(
        events(&mut switch),
        [
            DatapathEvent::PortSecurityViolation {
                port: PortId(49),
                mac: mac(9),
                action: ViolationAction::Shutdown
            },
            DatapathEvent::PortErrDisabled { port: PortId(49), reason: ErrDisableReason::PortSecurity },
        ]
    );
    assert_eq!(switch.stats(49).drops.get(DropReason::ErrDisabled), 1);
    assert_eq!(
        switch.datapath.trace(switch.now, PortId(49), &udp(mac(1), mac(2), None))[2..],
        ["port is error-disabled", "dropped: port error-disabled"]
    );
    assert!(switch.datapath.config().is_err_disabled(PortId(49)));
    // A new snapshot from the agent does not bring it back; recovery does.
    switch.set_ports(ports());
    assert!(switch.send(49, &udp(mac(1), mac(2), None)).is_empty());
    assert_eq!(switch.datapath.err_disabled_ports().collect::<Vec<_>>(), [PortId(49)]);
    assert!(switch.datapath.recover_port(PortId(49)));
    assert!(!switch.datapath.recover_port(PortId(49)));
    assert_eq!(Harness::ports_of(&switch.send(49, &udp(mac(1), mac(2), None))), [50]);
    assert_eq!(Harness::ports_of(&switch.send(50, &udp(mac(2), mac(1), None))), [49]);
}

#[test]
fn ip_source_guard_blocks_spoofed_addresses_and_macs() {
    let mut switch = Harness::new(vec![guarded(49, 1), veth(50, 100)]);
    switch.send(50, &udp(mac(2), MacAddr::BROADCAST, None));
    let spoofed = ip4(mac(1), mac(2), Ipv4Addr::new(10, 0, 0, 66), ip(2));
    for _ in 0..10 {
        assert!(switch.send(49, &spoofed).is_empty(), "IPv4 source spoofing is blocked");
    }
    assert_eq!(switch.stats(49).drops.get(DropReason::SourceGuardIp), 10);
    assert_eq!(switch.send(49, &ip4(mac(1), mac(2), ip(1), ip(2))).len(), 1);
    assert!(switch.send(49, &ip4(mac(7), mac(2), ip(1), ip(2))).is_empty(), "and so is a foreign MAC");
    assert_eq!(switch.stats(49).drops.get(DropReason::SourceGuardMac), 1);
    assert!(
        switch
            .datapath
            .trace(switch.now, PortId(49), &spoofed)
            .contains(&"ip verify source: 10.0.0.66 is not bound to Veth1".to_string())
    );
    // A DHCP client before its lease, DAD and link-local sources need no binding.
    let discover = dhcp(
        mac(1),
        MacAddr::BROADCAST,
        (Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST),
        &dhcp_repr(MessageType::DISCOVER, mac(1), Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, None),
    );
    assert_eq!(switch.send(49, &discover).len(), 1);
    let zero_not_dhcp = ip4(mac(1), mac(2), Ipv4Addr::UNSPECIFIED, ip(2));
    assert!(switch.send(49, &zero_not_dhcp).is_empty());
    let to = v6(2);
    for (src, passes) in
        [(v6(1), true), ("fe80::1".parse().unwrap(), true), (Ipv6Addr::UNSPECIFIED, true), (v6(66), false)]
    {
        let frame = ip6(mac(1), mac(2), (src, to), IpProtocol::UDP, &[0; 8]);
        assert_eq!(switch.send(49, &frame).len(), usize::from(passes), "{src}");
    }
    // ARP passes the MAC check only (ARP inspection is its own switch).
    let mut port = guarded(49, 1);
    port.arp_inspection = false;
    switch.set_ports(vec![port, veth(50, 100)]);
    assert_eq!(switch.send(49, &arp(Operation::REPLY, mac(1), ip(2), (mac(2), ip(2)))).len(), 1);
}

#[test]
fn arp_inspection_blocks_poisoning() {
    let mut switch = Harness::new(vec![guarded(49, 1), guarded(50, 2)]);
    // Veth1 claims Veth2's address: a man in the middle. Blocked.
    let poison = arp(Operation::REPLY, mac(1), ip(2), (mac(2), ip(2)));
    assert!(switch.send(49, &poison).is_empty());
    let gratuitous_poison = arp(Operation::REQUEST, mac(1), ip(2), (MacAddr::ZERO, ip(2)));
    assert!(switch.send(49, &gratuitous_poison).is_empty());
    assert_eq!(switch.stats(49).drops.get(DropReason::ArpInspection), 2);
    // Its own address, gratuitous or asked, and a probe pass.
    assert_eq!(switch.send(49, &arp(Operation::REQUEST, mac(1), ip(1), (MacAddr::ZERO, ip(1)))).len(), 1);
    assert_eq!(switch.send(49, &arp(Operation::REQUEST, mac(1), ip(1), (MacAddr::ZERO, ip(2)))).len(), 1);
    let probe = arp(Operation::REQUEST, mac(1), Ipv4Addr::UNSPECIFIED, (MacAddr::ZERO, ip(1)));
    assert_eq!(switch.send(49, &probe).len(), 1);
    // IPv6: an advertisement of the neighbour's address, or of its own with another MAC.
    assert!(switch.send(49, &advert(mac(1), v6(1), v6(2), Some(mac(1)))).is_empty());
    assert!(switch.send(49, &advert(mac(1), v6(1), v6(1), Some(mac(2)))).is_empty());
    assert_eq!(switch.send(49, &advert(mac(1), v6(1), v6(1), Some(mac(1)))).len(), 1);
    assert_eq!(switch.send(49, &advert(mac(1), v6(1), v6(1), None)).len(), 1);
    assert_eq!(switch.stats(49).drops.get(DropReason::ArpInspection), 4);
    // The poisoned advertisement again, behind a destination option, then as a first fragment.
    let poisoned = advert(mac(1), v6(1), v6(2), Some(mac(1)));
    let (head, icmp) = poisoned.split_at(14 + 40);
    let mut behind = head.to_vec();
    behind[14 + 6] = 60;
    behind[14 + 4..14 + 6].copy_from_slice(&(u16::try_from(icmp.len() + 8).unwrap()).to_be_bytes());
    let mut fragment = behind.clone();
    behind.extend_from_slice(&[58, 0, 1, 4, 0, 0, 0, 0]);
    behind.extend_from_slice(icmp);
    fragment[14 + 6] = 44;
    fragment.extend_from_slice(&[58, 0, 0, 1, 0, 0, 0, 7]);
    fragment.extend_from_slice(icmp);
    assert!(switch.send(49, &behind).is_empty(), "an advertisement behind a destination option");
    assert!(switch.send(49, &fragment).is_empty(), "a fragmented advertisement");
    assert_eq!(switch.stats(49).drops.get(DropReason::ArpInspection), 6);
    let trace = switch.datapath.trace(switch.now, PortId(49), &poison);
    assert!(
        trace.contains(&"arp inspection: sender 10.0.0.2 is not bound to Veth1".to_string()),
        "{trace:?}"
    );
}

#[test]
fn dhcp_snooping_binds_leases_and_drops_rogue_servers() {
    let server = mac(40);
    let mut uplink = eth(17, &[100], 100);
    uplink.dhcp_snooping_trust = true;
    let client = PortConfig { ip_bindings: Box::default(), ..guarded(49, 5) };
    let ports = vec![uplink, client, veth(50, 100)];
    let snapshot = Snapshot::new(ports).unwrap().with_dhcp_snooping(true);
    let mut switch = Harness::with_snapshot(snapshot);
    switch.send(50, &udp(mac(2), MacAddr::BROADCAST, None));
    let leased = ip(5);
    let ack = |lease| {
        dhcp(
            server,
            mac(5),
            (Ipv4Addr::new(10, 0, 0, 254), leased),
            &dhcp_repr(MessageType::ACK, mac(5), Ipv4Addr::UNSPECIFIED, leased, lease),
        )
    };
    // A rogue server on a vEthernet is dropped; the real one behind the trusted uplink is not.
    let offer = dhcp(
        mac(2),
        mac(5),
        (ip(2), leased),
        &dhcp_repr(MessageType::OFFER, mac(5), Ipv4Addr::UNSPECIFIED, leased, Some(60)),
    );
    assert!(switch.send(50, &offer).is_empty());
    assert!(switch.send(50, &ack(Some(60))).is_empty());
    assert_eq!(switch.stats(50).drops.get(DropReason::DhcpUntrustedServer), 2);
    assert!(switch.send(49, &ip4(mac(5), mac(2), leased, ip(2))).is_empty(), "no lease yet");
    let trace = switch.datapath.trace(switch.now, PortId(17), &ack(Some(60)));
    assert_eq!(Harness::ports_of(&switch.send(17, &ack(Some(60)))), [49], "{trace:#?}");
    let bindings = switch.datapath.dhcp_bindings();
    assert_eq!(bindings.len(), 1);
    assert_eq!(
        (bindings[0].mac, bindings[0].ip, bindings[0].port, bindings[0].lease_secs),
        (mac(5), leased, PortId(49), 60)
    );
    assert_eq!(events(&mut switch), [DatapathEvent::DhcpBindingAdded(bindings[0])]);
    assert_eq!(switch.send(49, &ip4(mac(5), mac(2), leased, ip(2))).len(), 1, "bound by the lease");
    let claim = arp(Operation::REQUEST, mac(5), leased, (MacAddr::ZERO, leased));
    assert_eq!(Harness::ports_of(&switch.send(49, &claim)), [17, 50], "ARP inspection honours the lease");
    // The lease runs out.
    switch.advance(Duration::from_secs(61));
    assert!(switch.send(49, &ip4(mac(5), mac(2), leased, ip(2))).is_empty());
    assert_eq!(
        events(&mut switch),
        [DatapathEvent::DhcpBindingRemoved { binding: bindings[0], end: DhcpBindingEnd::Expired }]
    );
    // A new lease, then a release.
    switch.send(17, &ack(None));
    assert_eq!(switch.datapath.dhcp_bindings()[0].lease_secs, u32::MAX);
    let release = dhcp(
        mac(5),
        server,
        (leased, Ipv4Addr::new(10, 0, 0, 254)),
        &dhcp_repr(MessageType::RELEASE, mac(5), leased, Ipv4Addr::UNSPECIFIED, None),
    );
    switch.send(49, &release);
    assert!(switch.datapath.dhcp_bindings().is_empty());
    let ends: Vec<_> = events(&mut switch)
        .into_iter()
        .filter_map(|event| match event {
            DatapathEvent::DhcpBindingRemoved { end, .. } => Some(end),
            _ => None,
        })
        .collect();
    assert_eq!(ends, [DhcpBindingEnd::Released]);
}

#[test]
fn storm_control_bounds_a_broadcast_storm() {
    let storm = StormControl { broadcast_pps: Some(100), multicast_pps: None, unknown_unicast_pps: Some(10) };
    let mut switch = Harness::new(vec![PortConfig { storm_control: storm, ..veth(49, 100) }, veth(50, 100)]);
    switch.send(50, &udp(mac(2), MacAddr::BROADCAST, None));
    // Five seconds at 1,000 frames per second, ten frames every 10 ms.
    let burst: Vec<(u32, Vec<u8>)> = (0..10).map(|_| (49, udp(mac(1), MacAddr::BROADCAST, None))).collect();
    let mut delivered = 0;
    for _ in 0..500 {
        delivered += switch.send_all(&burst).len();
        switch.advance(Duration::from_millis(10));
    }
    assert!((500..=600).contains(&delivered), "{delivered} of 5000 delivered");
    assert_eq!(switch.stats(49).drops.get(DropReason::StormBroadcast), 5000 - delivered as u64);
    // Unknown unicast has its own bucket; known unicast none.
    let unknown: Vec<(u32, Vec<u8>)> = (0..32).map(|_| (49, udp(mac(1), mac(77), None))).collect();
    assert_eq!(switch.send_all(&unknown).len(), 10);
    let known: Vec<(u32, Vec<u8>)> = (0..32).map(|_| (49, udp(mac(1), mac(2), None))).collect();
    assert_eq!(switch.send_all(&known).len(), 32);
    let trace = switch.datapath.trace(switch.now, PortId(49), &udp(mac(1), mac(77), None));
    assert_eq!(
        trace.last().map(String::as_str),
        Some("dropped: storm control: unknown unicast rate exceeded")
    );
}

#[test]
fn uplinks_have_no_per_port_limit_and_settings_set_the_vethernets() {
    let settings = datapath::Settings { per_port_mac_limit: 2, ..Default::default() };
    let snapshot = Snapshot::new(vec![veth(49, 100), eth(17, &[100], 1)]).unwrap();
    let mut datapath = datapath::Datapath::new(&settings, Arc::new(snapshot));
    let mut rx = datapath::RxBatch::new(32, 2048);
    for n in 0..5 {
        rx.push(PortId(49), &udp(mac(n), MacAddr::BROADCAST, None));
        rx.push(PortId(17), &udp(mac(100 + n), MacAddr::BROADCAST, Some(100)));
    }
    datapath.process(Duration::ZERO, &rx, &mut datapath::TxBatch::new(64));
    assert_eq!(datapath.port_mac_count(PortId(49)), Some((2, 2)));
    assert_eq!(datapath.port_mac_count(PortId(17)), Some((5, u32::MAX)));
    let trace = datapath.trace(Duration::ZERO, PortId(49), &udp(mac(9), MacAddr::BROADCAST, None));
    assert!(
        trace.contains(
            &"mac limit: Veth1 has 2 learned MACs, its limit: 02ab.cd00.0009 not learned".to_string()
        ),
        "{trace:?}"
    );
}

/// What the model check does next.
#[derive(Debug, Clone)]
enum Op {
    /// A frame from `mac(n)` on a port (index into `PORTS`).
    Send(usize, u8),
    Advance(u64),
    Flush,
    /// A new snapshot: Veth2 up or down, Veth3 in VLAN 100 or 200, Veth1 with or without port
    /// security.
    Reconfigure {
        veth2_up: bool,
        veth3_vlan: u16,
        secure: bool,
    },
}

const PORTS: [u32; 4] = [17, 49, 50, 51];

fn model_ports(veth2_up: bool, veth3_vlan: u16, secure: bool) -> Vec<PortConfig> {
    let mut veth2 = veth(50, 100);
    veth2.admin_up = veth2_up;
    let mut veth1 = veth(49, 100).with_attached_mac(mac(1));
    if secure {
        veth1.port_security =
            Some(PortSecurity { maximum: 3, violation: ViolationAction::Protect, sticky: false });
    }
    vec![eth(17, &[100, 200], 100), veth1, veth2, veth(51, veth3_vlan)]
}

fn arb_op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        6 => (0..PORTS.len(), 2u8..14).prop_map(|(port, n)| Op::Send(port, n)),
        2 => (0u64..120).prop_map(Op::Advance),
        1 => Just(Op::Flush),
        1 => (any::<bool>(), prop::sample::select(vec![100u16, 200]), any::<bool>())
            .prop_map(|(veth2_up, veth3_vlan, secure)| Op::Reconfigure { veth2_up, veth3_vlan, secure }),
    ]
}

proptest::proptest! {
    /// Per-port MAC counts, kept on learn, move, aging, flush and reconfiguration without
    /// scanning, always equal a scan of the table, and never pass the port's limit.
    #[test]
    fn per_port_counts_match_a_scan(ops in proptest::collection::vec(arb_op(), 1..120)) {
        let settings = datapath::Settings { mac_table_size: 12, per_port_mac_limit: 4, ..Default::default() };
        let snapshot = Snapshot::new(model_ports(true, 100, false)).unwrap().with_mac_aging(Duration::from_secs(100));
        let mut datapath = datapath::Datapath::new(&settings, Arc::new(snapshot));
        let mut now = Duration::ZERO;
        let mut tx = datapath::TxBatch::new(64);
        for op in ops {
            match op {
                Op::Send(port, n) => {
                    let mut rx = datapath::RxBatch::new(1, 256);
                    let tag = (PORTS[port] == 17).then_some(100);
                    rx.push(PortId(PORTS[port]), &udp(mac(n), MacAddr::BROADCAST, tag));
                    datapath.process(now, &rx, &mut tx);
                }
                Op::Advance(secs) => now += Duration::from_secs(secs),
                Op::Flush => datapath.flush_dynamic_macs(),
                Op::Reconfigure { veth2_up, veth3_vlan, secure } => {
                    let ports = model_ports(veth2_up, veth3_vlan, secure);
                    let snapshot = Snapshot::new(ports).unwrap().with_mac_aging(Duration::from_secs(100));
                    datapath.set_config(Arc::new(snapshot));
                }
            }
            // Every entry, aged ones not yet swept included (nothing is expired at time zero).
            let rows = datapath.mac_table(Duration::ZERO);
            for id in PORTS {
                let scanned = rows.iter().filter(|row| row.port == PortId(id) && row.kind == MacKind::Dynamic).count();
                let (counted, limit) = datapath.port_mac_count(PortId(id)).unwrap();
                proptest::prop_assert_eq!(counted as usize, scanned, "port {}", id);
                proptest::prop_assert!(counted <= limit, "port {} has {} of {}", id, counted, limit);
            }
        }
    }
}
