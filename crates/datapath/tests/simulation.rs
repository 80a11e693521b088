//! A deterministic multi-port simulation: hosts on in-memory ports ARP for each other and ping
//! across the switch, built and parsed with `wire`. Checks that same-VLAN hosts talk, that no
//! frame ever crosses from one VLAN to another, and that live changes and faults behave.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use common::{ip, mac, uplink, veth};
use datapath::io::faulty::{Faults, Faulty};
use datapath::io::memory::{self, MemoryPort};
use datapath::io::{PortIo, Pump};
use datapath::{
    Datapath, DropReason, MacKind, PortConfig, PortId, ProfileBinding, Segment, Settings, Snapshot,
};
use wire::build::{self, Ipv4Pair, L2};
use wire::{EtherType, MacAddr, Tci, arp, ethernet, icmpv4, ipv4, vlan};

/// One IP interface of a host: untagged, or a VLAN sub-interface on a trunk.
#[derive(Clone, Copy)]
struct Interface {
    vlan: Option<u16>,
    ip: Ipv4Addr,
}

/// A host: answers ARP and ping, resolves before it pings, remembers everything it received.
struct Host {
    mac: MacAddr,
    interfaces: Vec<Interface>,
    wire: MemoryPort,
    arp_cache: BTreeMap<(Option<u16>, Ipv4Addr), MacAddr>,
    waiting: Vec<(Option<u16>, Ipv4Addr, u16)>,
    replies: BTreeSet<(Ipv4Addr, u16)>,
    received: Vec<Vec<u8>>,
}

impl Host {
    fn new(mac: MacAddr, interfaces: Vec<Interface>, wire: MemoryPort) -> Self {
        Self {
            mac,
            interfaces,
            wire,
            arp_cache: BTreeMap::new(),
            waiting: Vec::new(),
            replies: BTreeSet::new(),
            received: Vec::new(),
        }
    }

    fn l2(&self, dst: MacAddr, vlan: Option<u16>) -> L2 {
        L2 { src: self.mac, dst, vlan: vlan.map(Tci::vlan) }
    }

    /// Pings `dst` from interface `via`; ARPs first if it must (and again on every retry).
    fn ping(&mut self, via: usize, dst: Ipv4Addr, seq: u16) {
        let Interface { vlan, ip } = self.interfaces[via];
        match self.arp_cache.get(&(vlan, dst)).copied() {
            Some(dst_mac) => self.send_echo(
                vlan,
                ip,
                dst_mac,
                dst,
                icmpv4::Repr::EchoRequest { ident: 1, seq_no: seq, data: b"ping" },
            ),
            None => {
                self.waiting.push((vlan, dst, seq));
                let request = arp::Repr {
                    operation: arp::Operation::REQUEST,
                    source_hardware_addr: self.mac,
                    source_protocol_addr: ip,
                    target_hardware_addr: MacAddr::ZERO,
                    target_protocol_addr: dst,
                };
                self.send_arp(vlan, MacAddr::BROADCAST, &request);
            }
        }
    }

    fn send_arp(&self, vlan: Option<u16>, dst: MacAddr, repr: &arp::Repr) {
        let mut buf = [0u8; 64];
        let len = build::arp(&mut buf, &self.l2(dst, vlan), repr).unwrap();
        self.wire.send(&buf[..len]);
    }

    fn send_echo(
        &self,
        vlan: Option<u16>,
        src: Ipv4Addr,
        dst_mac: MacAddr,
        dst: Ipv4Addr,
        echo: icmpv4::Repr<'_>,
    ) {
        let mut buf = [0u8; 128];
        let len = build::icmpv4(&mut buf, &self.l2(dst_mac, vlan), &Ipv4Pair { src, dst }, &echo).unwrap();
        self.wire.send(&buf[..len]);
    }

    /// Handles every frame that arrived.
    fn poll(&mut self) {
        while let Some(frame) = self.wire.recv() {
            self.handle(&frame);
            self.received.push(frame);
        }
    }

    fn handle(&mut self, frame: &[u8]) {
        let Ok(eth) = ethernet::Frame::new_checked(frame) else { return };
        let (vlan, ethertype, payload) = if eth.ethertype() == EtherType::VLAN {
            let Ok(tag) = vlan::Tag::new_checked(eth.payload()) else { return };
            (Some(tag.vlan_id()), tag.ethertype(), &eth.payload()[vlan::field::PAYLOAD])
        } else {
            (None, eth.ethertype(), eth.payload())
        };
        let Some(&Interface { ip: own_ip, .. }) = self.interfaces.iter().find(|iface| iface.vlan == vlan)
        else {
            return; // a VLAN this host has no interface in
        };
        match ethertype {
            EtherType::ARP => {
                let Ok(repr) = arp::Packet::new_checked(payload).and_then(|p| arp::Repr::parse(&p)) else {
                    return;
                };
                if repr.target_protocol_addr != own_ip {
                    return;
                }
                self.arp_cache.insert((vlan, repr.source_protocol_addr), repr.source_hardware_addr);
                if repr.operation == arp::Operation::REQUEST {
                    let reply = arp::Repr {
                        operation: arp::Operation::REPLY,
                        source_hardware_addr: self.mac,
                        source_protocol_addr: own_ip,
                        target_hardware_addr: repr.source_hardware_addr,
                        target_protocol_addr: repr.source_protocol_addr,
                    };
                    self.send_arp(vlan, repr.source_hardware_addr, &reply);
                }
                let resolved = repr.source_protocol_addr;
                let (ready, still): (Vec<_>, Vec<_>) =
                    self.waiting.drain(..).partition(|&(v, dst, _)| v == vlan && dst == resolved);
                self.waiting = still;
                for (_, dst, seq) in ready {
                    let echo = icmpv4::Repr::EchoRequest { ident: 1, seq_no: seq, data: b"ping" };
                    self.send_echo(vlan, own_ip, repr.source_hardware_addr, dst, echo);
                }
            }
            EtherType::IPV4 => {
                let Ok(packet) = ipv4::Packet::new_checked(payload) else { return };
                let Ok(ip_repr) = ipv4::Repr::parse(&packet) else { return };
                if ip_repr.dst_addr != own_ip {
                    return;
                }
                let Ok(icmp) = icmpv4::Packet::new_checked(packet.payload()) else { return };
                match icmpv4::Repr::parse(&icmp) {
                    Ok(icmpv4::Repr::EchoRequest { ident, seq_no, data }) => {
                        let reply = icmpv4::Repr::EchoReply { ident, seq_no, data };
                        self.send_echo(vlan, own_ip, eth.src_addr(), ip_repr.src_addr, reply);
                    }
                    Ok(icmpv4::Repr::EchoReply { seq_no, .. }) => {
                        self.replies.insert((ip_repr.src_addr, seq_no));
                    }
                    Err(_) => {}
                }
            }
            _ => {}
        }
    }

    /// Source MACs and VLAN tags of everything received.
    fn heard_from(&self) -> BTreeSet<(Option<u16>, MacAddr)> {
        self.received
            .iter()
            .filter_map(|frame| {
                let eth = ethernet::Frame::new_checked(&frame[..]).ok()?;
                let tag = (eth.ethertype() == EtherType::VLAN)
                    .then(|| vlan::Tag::new_checked(eth.payload()).ok().map(|tag| tag.vlan_id()))
                    .flatten();
                Some((tag, eth.src_addr()))
            })
            .collect()
    }
}

const TRUNK_HOST: u8 = 100;

/// The switch, its in-memory ports and the hosts behind them, on a simulated clock.
struct Sim {
    datapath: Datapath,
    pump: Pump,
    ports: Vec<(PortId, Box<dyn PortIo>)>,
    hosts: BTreeMap<&'static str, Host>,
    now: Duration,
}

impl Sim {
    /// Veth1–2 (A, B) in VLAN 100, Veth3–4 (C, D) in VLAN 200, all in one IP subnet so that
    /// only the switch keeps them apart; Veth5 (E) down, Veth6 (F) without its profile; Eth3/1
    /// a trunk to R, which has an interface in each VLAN.
    fn new(faulty_a: Option<Faults>) -> Self {
        let mut down = veth(53, 100);
        down.admin_up = false;
        let mut orphan = veth(54, 100);
        orphan.profile = ProfileBinding::NotFound("vlan100".into());
        let snapshot = Snapshot::new(vec![
            veth(49, 100).with_attached_mac(mac(1)),
            veth(50, 100).with_attached_mac(mac(2)),
            veth(51, 200).with_attached_mac(mac(3)),
            veth(52, 200).with_attached_mac(mac(4)),
            down.with_attached_mac(mac(5)),
            orphan.with_attached_mac(mac(6)),
            uplink(17, &[100, 200], 1),
        ])
        .unwrap();
        let datapath = Datapath::new(&Settings::default(), Arc::new(snapshot));
        let mut sim = Self {
            datapath,
            pump: Pump::new(32, 2048, 256),
            ports: Vec::new(),
            hosts: BTreeMap::new(),
            now: Duration::ZERO,
        };
        let access = |n: u8| vec![Interface { vlan: None, ip: ip(n) }];
        for (name, port, n) in
            [("A", 49, 1), ("B", 50, 2), ("C", 51, 3), ("D", 52, 4), ("E", 53, 5), ("F", 54, 6)]
        {
            let faults = if name == "A" { faulty_a } else { None };
            sim.attach(name, port, mac(n), access(n), faults);
        }
        let trunk = vec![
            Interface { vlan: Some(100), ip: Ipv4Addr::new(10, 0, 0, 100) },
            Interface { vlan: Some(200), ip: Ipv4Addr::new(10, 0, 0, 200) },
        ];
        sim.attach("R", 17, mac(TRUNK_HOST), trunk, None);
        sim
    }

    fn attach(
        &mut self,
        name: &'static str,
        port: u32,
        mac: MacAddr,
        interfaces: Vec<Interface>,
        faults: Option<Faults>,
    ) {
        let (switch_end, host_end) = memory::link(256);
        let device: Box<dyn PortIo> = match faults {
            Some(faults) => Box::new(Faulty::new(switch_end, faults, u64::from(port), 2048)),
            None => Box::new(switch_end),
        };
        self.ports.push((PortId(port), device));
        self.hosts.insert(name, Host::new(mac, interfaces, host_end));
    }

    fn host(&mut self, name: &str) -> &mut Host {
        self.hosts.get_mut(name).unwrap()
    }

    /// Runs the switch and the hosts until the network is quiet (or `rounds` pass).
    fn settle(&mut self, rounds: usize) {
        for _ in 0..rounds {
            let round = self.pump.run(&mut self.datapath, self.now, &mut self.ports).unwrap();
            for host in self.hosts.values_mut() {
                host.poll();
            }
            self.now += Duration::from_millis(1);
            if round.received == 0 && self.hosts.values().all(|host| host.wire.pending() == 0) {
                break;
            }
        }
    }

    fn ping(&mut self, from: &str, via: usize, to: Ipv4Addr, seq: u16) -> bool {
        self.host(from).ping(via, to, seq);
        self.settle(50);
        self.host(from).replies.contains(&(to, seq))
    }

    fn drops(&self, port: u32, reason: DropReason) -> u64 {
        self.datapath.port_stats(PortId(port)).unwrap().drops.get(reason)
    }
}

const VLAN_100: [u8; 2] = [1, 2];
const VLAN_200: [u8; 2] = [3, 4];

/// No host heard a frame from outside its VLAN: access hosts only from their VLAN's hosts and
/// R; R only tagged frames, each from a host of the VLAN the tag names.
fn assert_isolated(sim: &Sim) {
    for (name, members) in [("A", VLAN_100), ("B", VLAN_100), ("C", VLAN_200), ("D", VLAN_200)] {
        let allowed: BTreeSet<_> = members.iter().chain(&[TRUNK_HOST]).map(|&n| (None, mac(n))).collect();
        let heard = sim.hosts[name].heard_from();
        assert!(heard.is_subset(&allowed), "{name} heard {heard:?}");
    }
    let allowed: BTreeSet<_> = VLAN_100
        .iter()
        .map(|&n| (Some(100), mac(n)))
        .chain(VLAN_200.iter().map(|&n| (Some(200), mac(n))))
        .collect();
    let heard = sim.hosts["R"].heard_from();
    assert!(heard.is_subset(&allowed), "R heard {heard:?}");
}

#[test]
fn hosts_in_one_vlan_talk_and_vlans_stay_apart() {
    let mut sim = Sim::new(None);
    for seq in 1..=3 {
        assert!(sim.ping("A", 0, ip(2), seq), "A -> B #{seq}");
    }
    assert!(sim.ping("D", 0, ip(3), 1), "D -> C");
    assert!(!sim.ping("A", 0, ip(3), 1), "A -> C crosses VLANs");
    assert!(!sim.ping("C", 0, ip(1), 1), "C -> A crosses VLANs");
    assert!(sim.ping("R", 0, ip(1), 1), "R (vlan 100) -> A");
    assert!(sim.ping("R", 1, ip(4), 1), "R (vlan 200) -> D");
    assert!(sim.ping("B", 0, Ipv4Addr::new(10, 0, 0, 100), 1), "B -> R's vlan 100 address");
    assert!(!sim.ping("B", 0, Ipv4Addr::new(10, 0, 0, 200), 1), "B -> R's vlan 200 address");
    assert!(!sim.ping("E", 0, ip(1), 1), "E's port is down");
    assert!(!sim.ping("F", 0, ip(1), 1), "F's port has no profile");
    assert!(!sim.ping("A", 0, ip(5), 1), "A -> E");

    assert_isolated(&sim);
    assert!(sim.hosts["E"].received.is_empty() && sim.hosts["F"].received.is_empty());
    assert!(sim.drops(53, DropReason::PortDown) >= 1);
    assert!(sim.drops(54, DropReason::ProfileMissing) >= 1);
    assert_eq!(sim.datapath.drops().get(DropReason::Malformed), 0);

    let table = sim.datapath.mac_table(sim.now);
    let find = |segment, m| {
        table.iter().find(|row| row.segment == segment && row.mac == m).map(|row| (row.kind, row.port))
    };
    assert_eq!(find(Segment::Vlan(100), mac(1)), Some((MacKind::Static, PortId(49))));
    assert_eq!(find(Segment::Vlan(100), mac(TRUNK_HOST)), Some((MacKind::Dynamic, PortId(17))));
    assert_eq!(find(Segment::Vlan(200), mac(TRUNK_HOST)), Some((MacKind::Dynamic, PortId(17))));
    assert_eq!(find(Segment::Vlan(100), mac(5)), None, "a down port's MAC is not installed");

    let a = sim.datapath.port_stats(PortId(49)).unwrap();
    assert!(a.rx.packets >= 4 && a.tx.packets >= 4 && a.rx.broadcast >= 1, "{a:?}");
}

#[test]
fn a_live_vlan_change_moves_a_host() {
    let mut sim = Sim::new(None);
    assert!(!sim.ping("A", 0, ip(3), 1));
    let mut ports: Vec<PortConfig> = sim.datapath.config().ports().to_vec();
    for port in &mut ports {
        if port.id == PortId(51) {
            port.mode = datapath::PortMode::Access { segment: Segment::Vlan(100) };
        }
    }
    sim.datapath.set_config(Arc::new(Snapshot::new(ports).unwrap()));
    assert!(sim.ping("A", 0, ip(3), 2), "C is in VLAN 100 now");
    assert!(!sim.ping("D", 0, ip(3), 1), "and no longer in VLAN 200");
}

#[test]
fn faults_on_a_port_lose_pings_but_never_break_the_switch() {
    let faults = Faults { drop: 0.1, corrupt: 0.2, truncate: 0.2 };
    let mut sim = Sim::new(Some(faults));
    let answered = (1..=200).filter(|&seq| sim.ping("A", 0, ip(2), seq)).count();
    assert!((20..200).contains(&answered), "{answered} of 200 answered");
    let drops = &sim.datapath.port_stats(PortId(49)).unwrap().drops;
    assert!(drops.get(DropReason::Malformed) > 0, "{drops:?}");
    // Corrupted source MACs land anywhere in VLAN 100, but never in VLAN 200.
    for name in ["C", "D"] {
        let heard = sim.hosts[name].heard_from();
        assert!(heard.iter().all(|(_, m)| [mac(3), mac(4)].contains(m)), "{name} heard {heard:?}");
    }
}

#[test]
fn garbage_is_dropped_and_counted_and_stays_in_its_vlan() {
    let mut sim = Sim::new(None);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..2000 {
        let len = (next() % 100) as usize;
        let mut frame: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if next() % 2 == 0 && frame.len() > 18 {
            frame[12..14].copy_from_slice(&[0x81, 0x00]); // a random tag
        }
        sim.host("C").wire.send(&frame);
        sim.settle(2);
    }
    sim.settle(50);
    let c = sim.datapath.port_stats(PortId(51)).unwrap();
    assert_eq!(c.rx.packets, 2000);
    assert!(
        c.drops.get(DropReason::Malformed) > 0 && c.drops.get(DropReason::TaggedOnAccess) > 0,
        "{:?}",
        c.drops
    );
    assert!(c.drops.get(DropReason::SourceMacInvalid) > 0, "{:?}", c.drops);
    for name in ["A", "B", "E", "F"] {
        assert!(sim.hosts[name].received.is_empty(), "{name} got garbage from VLAN 200");
    }
    let r_heard = sim.hosts["R"].heard_from();
    assert!(r_heard.iter().all(|(tag, _)| *tag == Some(200)), "{r_heard:?}");
    assert!(sim.ping("A", 0, ip(2), 1), "the switch still works");
}
