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

/// One server: its datapath and the devices of its ports.
struct Server {
    datapath: Datapath,
    pump: Pump,
    ports: Vec<(PortId, Box<dyn PortIo>)>,
}

impl Server {
    fn new(snapshot: Snapshot) -> Self {
        Self {
            datapath: Datapath::new(&Settings::default(), Arc::new(snapshot)),
            pump: Pump::new(32, 2048, 256),
            ports: Vec::new(),
        }
    }

    /// Rebuilds the snapshot from its ports with `change` applied, pins fed back.
    fn reconfigure(&mut self, change: impl Fn(&mut PortConfig)) {
        let config = Arc::clone(self.datapath.config());
        let mut ports = config.ports().to_vec();
        for port in &mut ports {
            port.pin = config.pinned_uplink(port.id);
            change(port);
        }
        let snapshot = Snapshot::new(ports).unwrap().with_overlay(config.overlay().clone());
        self.datapath.set_config(Arc::new(snapshot));
    }
}

const BILBO: usize = 0;
const FRODO: usize = 1;
const PHYSICAL: usize = 2;

/// Two servers, bilbo (VTEP .1) and frodo (VTEP .2), and a physical switch: a plain learning
/// bridge (a datapath of vEthernet trunks, no uplink rules) joining bilbo's Eth3/1 and Eth3/2
/// and frodo's Eth4/1. An in-memory underlay carries VXLAN between the VTEPs.
///
/// bilbo: A (vlan 100), B (vlan 100), C (bridge-domain 5000), D (vlan 300, not on the trunks).
/// frodo: E (vlan 100), F (bridge-domain 5000), G (vlan 300).
struct Fabric {
    servers: Vec<Server>,
    hosts: BTreeMap<&'static str, Host>,
    now: Duration,
}

fn vtep_of(server: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, server as u8 + 1)
}

impl Fabric {
    fn new() -> Self {
        let trunk = |id, name: &str| {
            let mode = datapath::PortMode::Trunk { allowed: [100, 200].into_iter().collect(), native: 1 };
            PortConfig::uplink(PortId(id), name, mode, "system-uplink")
        };
        let bd = |id: u32| {
            let vni = wire::Vni::new(5000).unwrap();
            PortConfig::access(PortId(id), format!("Veth{}", id - 48), Segment::BridgeDomain(vni), "bd")
        };
        let overlay = |local: usize, remote: usize, remote_mac: MacAddr| {
            let segment = datapath::OverlaySegment {
                vteps: vec![vtep_of(remote)],
                macs: vec![(remote_mac, vtep_of(remote))],
            };
            datapath::Overlay {
                local_vtep: Some(vtep_of(local)),
                segments: [(wire::Vni::new(5000).unwrap(), segment)].into_iter().collect(),
            }
        };
        let bilbo = Snapshot::new(vec![
            trunk(17, "Eth3/1"),
            trunk(18, "Eth3/2"),
            veth(49, 100).with_attached_mac(mac(1)),
            veth(50, 100).with_attached_mac(mac(2)),
            bd(51).with_attached_mac(mac(3)),
            veth(52, 300).with_attached_mac(mac(4)),
        ])
        .unwrap()
        .with_overlay(overlay(BILBO, FRODO, mac(6)));
        let frodo = Snapshot::new(vec![
            trunk(17, "Eth4/1"),
            veth(49, 100).with_attached_mac(mac(5)),
            bd(50).with_attached_mac(mac(6)),
            veth(51, 300).with_attached_mac(mac(7)),
        ])
        .unwrap()
        .with_overlay(overlay(FRODO, BILBO, mac(3)));
        let physical = Snapshot::new((17..=19).map(|id| uplink(id, &[100, 200, 300], 1)).collect()).unwrap();
        let mut fabric = Self {
            servers: vec![Server::new(bilbo), Server::new(frodo), Server::new(physical)],
            hosts: BTreeMap::new(),
            now: Duration::ZERO,
        };
        for (server, uplink, physical_port) in [(BILBO, 17, 17), (BILBO, 18, 18), (FRODO, 17, 19)] {
            let (server_end, switch_end) = memory::link(256);
            fabric.servers[server].ports.push((PortId(uplink), Box::new(server_end)));
            fabric.servers[PHYSICAL].ports.push((PortId(physical_port), Box::new(switch_end)));
        }
        let underlay = memory::Underlay::new(256);
        for server in [BILBO, FRODO] {
            fabric.servers[server]
                .ports
                .push((datapath::TUNNEL_PORT, Box::new(underlay.endpoint(vtep_of(server)))));
        }
        let hosts = [
            ("A", BILBO, 49, 1),
            ("B", BILBO, 50, 2),
            ("C", BILBO, 51, 3),
            ("D", BILBO, 52, 4),
            ("E", FRODO, 49, 5),
            ("F", FRODO, 50, 6),
            ("G", FRODO, 51, 7),
        ];
        for (name, server, port, n) in hosts {
            let (switch_end, host_end) = memory::link(256);
            fabric.servers[server].ports.push((PortId(port), Box::new(switch_end)));
            fabric.hosts.insert(name, Host::new(mac(n), vec![Interface { vlan: None, ip: ip(n) }], host_end));
        }
        fabric
    }

    /// Runs every server and host until the network is quiet; `false` if it never gets quiet
    /// (a loop).
    fn settle(&mut self) -> bool {
        for _ in 0..200 {
            let mut moved = 0;
            for server in &mut self.servers {
                moved += server.pump.run(&mut server.datapath, self.now, &mut server.ports).unwrap().received;
            }
            for host in self.hosts.values_mut() {
                host.poll();
            }
            self.now += Duration::from_millis(1);
            if moved == 0 && self.hosts.values().all(|host| host.wire.pending() == 0) {
                return true;
            }
        }
        false
    }

    fn ping(&mut self, from: &str, to: u8, seq: u16) -> bool {
        self.hosts.get_mut(from).unwrap().ping(0, ip(to), seq);
        assert!(self.settle(), "the network never got quiet: a loop");
        self.hosts[from].replies.contains(&(ip(to), seq))
    }

    /// How many ARP requests `host` received from the MAC `from`.
    fn arp_requests(&self, host: &str, from: MacAddr) -> usize {
        let requests = self.hosts[host].received.iter().filter(|frame| {
            let Ok(eth) = ethernet::Frame::new_checked(&frame[..]) else { return false };
            eth.src_addr() == from && eth.dst_addr().is_broadcast() && eth.ethertype() == EtherType::ARP
        });
        requests.count()
    }

    fn pins(&self, server: usize) -> Vec<(u32, u32)> {
        self.servers[server].datapath.config().pins().map(|(veth, uplink)| (veth.0, uplink.0)).collect()
    }
}

#[test]
fn two_servers_talk_over_the_trunk_and_over_vxlan_and_stay_isolated() {
    let mut fabric = Fabric::new();
    assert_eq!(fabric.pins(BILBO), [(49, 17), (50, 18)], "D's VLAN 300 is on no uplink: not pinned");
    assert!(fabric.ping("A", 5, 1), "A -> E over the trunk, by Eth3/1");
    assert!(fabric.ping("B", 5, 1), "B -> E over the trunk, by Eth3/2");
    assert!(fabric.ping("C", 6, 1), "C -> F over VXLAN");
    assert!(fabric.ping("F", 3, 2), "F -> C over VXLAN");
    // No duplicates: every broadcast reached each host once, whichever uplinks it crossed.
    for (host, from) in [("E", mac(1)), ("E", mac(2)), ("B", mac(1)), ("A", mac(2)), ("F", mac(3))] {
        assert_eq!(fabric.arp_requests(host, from), 1, "{host} heard {from}'s ARP request");
    }
    assert!(!fabric.ping("D", 7, 1), "VLAN 300 is not on the trunks");
    assert!(!fabric.ping("A", 6, 1), "a VLAN does not reach a bridge-domain");
    assert!(!fabric.ping("C", 5, 2), "a bridge-domain does not reach a VLAN");

    // A's broadcast came back in on Eth3/2 and was dropped there, not learned.
    let bilbo = &fabric.servers[BILBO].datapath;
    assert!(bilbo.port_stats(PortId(18)).unwrap().drops.get(DropReason::SourceMacStatic) > 0);
    let table = bilbo.mac_table(fabric.now);
    let row = |m| table.iter().find(|row| row.mac == m).unwrap();
    assert_eq!((row(mac(1)).port, row(mac(2)).port), (PortId(49), PortId(50)));
    // E is behind whichever uplink its last frame came in by (a move between uplinks is
    // harmless: frames to it leave by the sender's pin).
    assert!([PortId(17), PortId(18)].contains(&row(mac(5)).port));
    let remote = row(mac(6));
    assert_eq!((remote.kind, remote.remote_vtep), (MacKind::Installed, Some(vtep_of(FRODO))));
    for host in ["D", "G"] {
        let heard = fabric.hosts[host].heard_from();
        assert!(heard.iter().all(|(_, m)| [mac(4), mac(7)].contains(m)), "{host} heard {heard:?}");
    }
}

#[test]
fn a_failed_uplink_moves_its_pins_and_traffic_follows_without_loops_or_duplicates() {
    let mut fabric = Fabric::new();
    assert!(fabric.ping("B", 5, 1));
    assert_eq!(fabric.pins(BILBO), [(49, 17), (50, 18)]);

    // Eth3/2 loses carrier: the agent rebuilds the snapshot, and the physical switch's port
    // goes down too (which flushes what it learned there).
    fabric.servers[BILBO].reconfigure(|port| {
        if port.id == PortId(18) {
            port.link_up = false;
        }
    });
    fabric.servers[PHYSICAL].reconfigure(|port| {
        if port.id == PortId(18) {
            port.admin_up = false;
        }
    });
    assert_eq!(fabric.pins(BILBO), [(49, 17), (50, 17)]);
    for seq in 2..=4 {
        assert!(fabric.ping("B", 5, seq), "B -> E after the failover #{seq}");
        assert!(fabric.ping("E", 2, seq), "E -> B after the failover #{seq}");
    }
    assert!(fabric.ping("A", 5, 2));
    let received = |fabric: &Fabric, host: &str| fabric.hosts[host].received.len();
    let before = (received(&fabric, "A"), received(&fabric, "B"), received(&fabric, "E"));
    fabric.hosts.get_mut("E").unwrap().arp_cache.clear();
    assert!(fabric.ping("E", 2, 10));
    // E's ARP request reaches A and B once each; B's ARP reply and echo reply reach E once.
    assert_eq!((received(&fabric, "A"), received(&fabric, "B")), (before.0 + 1, before.1 + 2));
    assert_eq!(received(&fabric, "E"), before.2 + 2);
    // The link comes back: the pins stay, nothing breaks.
    fabric.servers[BILBO].reconfigure(|port| port.link_up = true);
    fabric.servers[PHYSICAL].reconfigure(|port| port.admin_up = true);
    assert_eq!(fabric.pins(BILBO), [(49, 17), (50, 17)]);
    assert!(fabric.ping("B", 5, 20) && fabric.ping("A", 5, 20));
}
