//! The pipeline's benchmark workloads, shared by the criterion bench (`benches/pipeline.rs`,
//! wall-clock) and the instruction-count example (`examples/pipeline_instructions.rs`, run under
//! callgrind by `scripts/bench-quick`): a datapath with its MACs learned, one batch of 32 frames
//! of 64 bytes, and how many frames a pass over it must send.
//!
//! Not a bench target itself: Cargo only discovers `benches/*.rs` and `benches/*/main.rs`.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use datapath::{
    Acl, AclRule, Action, Datapath, Family, IpNet, Overlay, OverlaySegment, PortConfig, PortId, PortMatch,
    PortSecurity, RxBatch, Segment, Settings, Snapshot, TUNNEL_PORT, TxBatch,
};
use wire::build::{self, Ipv4Pair, L2};
use wire::{MacAddr, Vni};

/// Frames per batch.
pub const BATCH: usize = 32;
/// Bytes per frame, tag included.
pub const FRAME_LEN: usize = 64;
/// The time every measured pass runs at: learned entries are fresh, nothing to refresh or sweep.
pub const NOW: Duration = Duration::from_millis(1);

/// A datapath ready to process `rx` into `tx`, `expected_out` frames each pass.
#[derive(Debug)]
pub struct Workload {
    pub datapath: Datapath,
    pub rx: RxBatch,
    pub tx: TxBatch,
    pub expected_out: usize,
    /// For workloads whose every pass needs new frames (connection setup): refills `rx` and
    /// moves `now` before each pass. Measured with the pass.
    pub refill: Option<fn(&mut Workload)>,
    /// The time of the next pass (`NOW` unless `refill` moves it).
    pub now: Duration,
    /// Passes so far.
    pub passes: u64,
}

impl Workload {
    /// One pass over the batch, as measured.
    #[inline(always)]
    pub fn pass(&mut self) -> usize {
        if let Some(refill) = self.refill {
            refill(self);
        }
        self.passes += 1;
        self.datapath.process(self.now, &self.rx, &mut self.tx);
        self.tx.len()
    }

    /// A pass, checking that it sends what the case says (before measuring).
    pub fn check(&mut self, name: &str) {
        let sent = self.pass();
        assert_eq!(sent, self.expected_out, "{name}: sent {sent} frames");
    }
}

/// A case: a short name (for `bench-quick` and its baseline), a description (for criterion) and
/// how to build it.
pub type Case = (&'static str, &'static str, fn() -> Workload);

/// Every case.
pub const CASES: &[Case] = &[
    ("access_unicast", "known unicast, access to access, 64B x32", known_unicast),
    ("trunk_unicast", "known unicast, access to trunk (tag push/pop), 64B x32", known_unicast_to_trunk),
    ("flood_8", "broadcast flood to 8 ports, 64B x32", flood_to_8),
    ("unicast_10k_macs", "known unicast among 10,000 learned MACs, 64B x32", known_unicast_among_10k_macs),
    ("vxlan_encap", "VXLAN encapsulation, vEthernet to remote MAC, 64B x32", vxlan_encapsulation),
    ("vxlan_flood", "VXLAN broadcast, 1 local + 4 VTEPs, 64B x32", vxlan_replication),
    ("vxlan_decap", "VXLAN decapsulation, tunnel to vEthernet, 64B x32", vxlan_decapsulation),
    (
        "acl_stateful_10k",
        "100-entry stateful ACL in and out on both ports, 10,000 live connections, 64B x32",
        stateful_acl_10k_connections,
    ),
    ("conn_setup", "new TCP connections through a 100-entry stateful ACL, 64B SYN x32", connection_setup),
    (
        "guarded_unicast",
        "known unicast, port security + ip verify source + ARP inspection, 64B x32",
        guarded_unicast,
    ),
];

fn mac(n: u8) -> MacAddr {
    MacAddr([0x02, 0xab, 0xcd, 0, 0, n])
}

/// The `n`th of many MACs.
fn many(n: u32) -> MacAddr {
    let [_, b, c, d] = n.to_be_bytes();
    MacAddr([0x02, 0x10, 0, b, c, d])
}

fn veth(id: u32) -> PortConfig {
    PortConfig::access(PortId(id), format!("Veth{}", id - 48), Segment::Vlan(100), "vlan100")
}

/// A 64-byte UDP frame (`FRAME_LEN`) from 10.0.0.1 to 10.0.0.2, optionally tagged.
fn frame(src: MacAddr, dst: MacAddr, vlan: Option<u16>) -> Vec<u8> {
    frame_between(
        src,
        dst,
        vlan,
        Ipv4Pair { src: Ipv4Addr::new(10, 0, 0, 1), dst: Ipv4Addr::new(10, 0, 0, 2) },
    )
}

/// A 64-byte UDP frame between `ips`.
fn frame_between(src: MacAddr, dst: MacAddr, vlan: Option<u16>, ips: Ipv4Pair) -> Vec<u8> {
    let l2 = L2 { src, dst, vlan: vlan.map(wire::Tci::vlan) };
    let payload = [0u8; FRAME_LEN - 14 - 20 - 8];
    let payload = &payload[..payload.len() - if vlan.is_some() { 4 } else { 0 }];
    let mut buf = [0u8; FRAME_LEN];
    let len = build::udp_ipv4(&mut buf, &l2, &ips, (1000, 2000), payload).expect("fits");
    buf[..len].to_vec()
}

fn batch(frames: &[(u32, Vec<u8>)]) -> RxBatch {
    let mut rx = RxBatch::new(BATCH, 2048);
    for (port, bytes) in frames {
        assert!(rx.push(PortId(*port), bytes));
    }
    rx
}

/// A datapath over `snapshot` that has seen `frames` once (so their sources are learned).
fn learned(snapshot: Snapshot, frames: &[(u32, Vec<u8>)], fanout: usize) -> Workload {
    let mut datapath = Datapath::new(&Settings::default(), Arc::new(snapshot));
    let rx = batch(frames);
    let mut tx = TxBatch::new(BATCH * fanout);
    datapath.process(Duration::ZERO, &rx, &mut tx);
    Workload { datapath, rx, tx, expected_out: BATCH, refill: None, now: NOW, passes: 0 }
}

fn known_unicast() -> Workload {
    // Half the batch each way, so both MACs are learned, refreshed and looked up.
    let frames: Vec<_> =
        (0..BATCH)
            .map(|i| {
                if i % 2 == 0 { (49, frame(mac(1), mac(2), None)) } else { (50, frame(mac(2), mac(1), None)) }
            })
            .collect();
    learned(Snapshot::new(vec![veth(49), veth(50)]).expect("valid"), &frames, 1)
}

fn known_unicast_to_trunk() -> Workload {
    let uplink = PortConfig::trunk(PortId(17), "Eth3/1", [100].into_iter().collect(), 1, "uplink");
    let frames: Vec<_> = (0..BATCH)
        .map(|i| {
            if i % 2 == 0 {
                (49, frame(mac(1), mac(2), None))
            } else {
                (17, frame(mac(2), mac(1), Some(100)))
            }
        })
        .collect();
    learned(Snapshot::new(vec![veth(49), uplink]).expect("valid"), &frames, 1)
}

fn flood_to_8() -> Workload {
    let frames: Vec<_> = (0..BATCH).map(|_| (49, frame(mac(1), MacAddr::BROADCAST, None))).collect();
    let ports = (49..=57).map(veth).collect();
    Workload { expected_out: BATCH * 8, ..learned(Snapshot::new(ports).expect("valid"), &frames, 8) }
}

fn known_unicast_among_10k_macs() -> Workload {
    const MACS: u32 = 10_000;
    let snapshot = Snapshot::new(vec![veth(49), veth(50)]).expect("valid");
    // Past the default per-port limit (4096): a vEthernet in front of many VMs.
    let settings = Settings { per_port_mac_limit: MACS, ..Settings::default() };
    let mut datapath = Datapath::new(&settings, Arc::new(snapshot));
    // Learn 10,000 MACs behind Veth2, a batch at a time.
    let mut tx = TxBatch::new(BATCH);
    for chunk in (0..MACS).collect::<Vec<_>>().chunks(BATCH) {
        let frames: Vec<_> = chunk.iter().map(|&n| (50, frame(many(n), mac(1), None))).collect();
        datapath.process(Duration::ZERO, &batch(&frames), &mut tx);
    }
    assert_eq!(datapath.mac_counters().learned, u64::from(MACS));
    // Veth1 sends to 32 of them, spread over the table.
    let stride = MACS / BATCH as u32;
    let frames: Vec<_> = (0..BATCH as u32).map(|i| (49, frame(mac(1), many(i * stride), None))).collect();
    let rx = batch(&frames);
    datapath.process(Duration::ZERO, &rx, &mut tx); // learn mac 1
    Workload { datapath, rx, tx, expected_out: BATCH, refill: None, now: NOW, passes: 0 }
}

/// Veth1–2 in bridge-domain 5000; remote VTEPs 192.0.2.2–5, mac 2 at .2.
fn overlay_snapshot() -> Snapshot {
    let vni = Vni::new(5000).expect("24-bit");
    let bd = |id: u32| {
        PortConfig::access(PortId(id), format!("Veth{}", id - 48), Segment::BridgeDomain(vni), "bd")
    };
    let vteps: Vec<Ipv4Addr> = (2..=5).map(|n| Ipv4Addr::new(192, 0, 2, n)).collect();
    let macs = vec![(mac(2), vteps[0])];
    let overlay = Overlay {
        local_vtep: Some(Ipv4Addr::new(192, 0, 2, 1)),
        segments: [(vni, OverlaySegment { vteps, macs })].into_iter().collect(),
    };
    Snapshot::new(vec![bd(49), bd(50)]).expect("valid").with_overlay(overlay)
}

fn vxlan_encapsulation() -> Workload {
    let frames: Vec<_> = (0..BATCH).map(|_| (49, frame(mac(1), mac(2), None))).collect();
    learned(overlay_snapshot(), &frames, 1)
}

fn vxlan_replication() -> Workload {
    let frames: Vec<_> = (0..BATCH).map(|_| (49, frame(mac(1), MacAddr::BROADCAST, None))).collect();
    Workload { expected_out: BATCH * 5, ..learned(overlay_snapshot(), &frames, 5) }
}

fn vxlan_decapsulation() -> Workload {
    let mut payload = vec![0x08, 0, 0, 0, 0x00, 0x13, 0x88, 0x00];
    payload.extend_from_slice(&frame(mac(2), mac(1), None));
    // Learn mac 1 on Veth1 first.
    let mut workload = learned(overlay_snapshot(), &[(49, frame(mac(1), MacAddr::BROADCAST, None))], 5);
    workload.rx.clear();
    for _ in 0..BATCH {
        assert!(workload.rx.push_tunneled(TUNNEL_PORT, &payload, Ipv4Addr::new(192, 0, 2, 2)));
    }
    workload
}

/// A 64-byte TCP frame (`FRAME_LEN`, zero-padded): 10.0.0.1:`client`
/// ↔ 10.0.0.2:80, from the client (`to_server`) or back, with `flags`.
fn tcp_frame(client: u16, to_server: bool, flags: u8) -> [u8; FRAME_LEN] {
    let mut buf = [0u8; FRAME_LEN];
    let (src_mac, dst_mac, src_ip, dst_ip, ports) = if to_server {
        (mac(1), mac(2), [10, 0, 0, 1], [10, 0, 0, 2], (client, 80u16))
    } else {
        (mac(2), mac(1), [10, 0, 0, 2], [10, 0, 0, 1], (80u16, client))
    };
    buf[0..6].copy_from_slice(&dst_mac.0);
    buf[6..12].copy_from_slice(&src_mac.0);
    buf[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut buf[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(FRAME_LEN as u16 - 14).to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src_ip);
    ip[16..20].copy_from_slice(&dst_ip);
    let tcp = &mut buf[34..54];
    tcp[0..2].copy_from_slice(&ports.0.to_be_bytes());
    tcp[2..4].copy_from_slice(&ports.1.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    buf
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

/// 99 rules that never match the test traffic (denies of other hosts' ports), then
/// `100 permit tcp any any eq 80 stateful`: every new flow scans the whole list once.
fn hundred_rules() -> Arc<Acl> {
    let mut rules: Vec<AclRule> = (1..100u16)
        .map(|n| AclRule {
            protocol: Some(6),
            source: IpNet::host(Ipv4Addr::new(192, 168, (n >> 8) as u8, n as u8).into()),
            dst_ports: PortMatch::Eq(1000 + n),
            ..AclRule::new(u32::from(n) * 10, Action::Deny)
        })
        .collect();
    rules.push(AclRule {
        protocol: Some(6),
        dst_ports: PortMatch::Eq(80),
        stateful: true,
        ..AclRule::new(1000, Action::Permit)
    });
    Arc::new(Acl::new("SG", Family::V4, rules))
}

/// Veth1 (client) and Veth2 (server) with `hundred_rules` in and out on both.
fn stateful_snapshot() -> Snapshot {
    let acl = hundred_rules();
    let port = |id| {
        let mut port = veth(id);
        port.acl_in.v4 = Some(acl.clone());
        port.acl_out.v4 = Some(acl.clone());
        port
    };
    Snapshot::new(vec![port(49), port(50)]).expect("valid")
}

fn stateful_acl_10k_connections() -> Workload {
    stateful_connections(&Settings::default())
}

fn stateful_connections(settings: &Settings) -> Workload {
    const CONNECTIONS: u16 = 10_000;
    let mut datapath = Datapath::new(settings, Arc::new(stateful_snapshot()));
    let mut tx = TxBatch::new(BATCH);
    // Learn both MACs, then open 10,000 connections: SYN, SYN-ACK, ACK.
    let learn =
        [(49, frame(mac(1), MacAddr::BROADCAST, None)), (50, frame(mac(2), MacAddr::BROADCAST, None))];
    datapath.process(Duration::ZERO, &batch(&learn), &mut tx);
    for (to_server, flags) in [(true, SYN), (false, SYN | ACK), (true, ACK)] {
        let port = if to_server { 49 } else { 50 };
        for chunk in (0..CONNECTIONS).collect::<Vec<_>>().chunks(BATCH) {
            let frames: Vec<_> =
                chunk.iter().map(|&n| (port, tcp_frame(10_000 + n, to_server, flags).to_vec())).collect();
            datapath.process(Duration::ZERO, &batch(&frames), &mut tx);
            assert_eq!(tx.len(), chunk.len(), "handshake step {flags:#x}");
        }
    }
    assert_eq!(datapath.connections(Duration::ZERO).len(), 2 * usize::from(CONNECTIONS));
    // Data both ways on 16 connections spread over the 10,000.
    let stride = CONNECTIONS / 16;
    let frames: Vec<_> = (0..BATCH as u16)
        .map(|i| {
            let client = 10_000 + (i / 2) * stride;
            if i % 2 == 0 {
                (49, tcp_frame(client, true, ACK).to_vec())
            } else {
                (50, tcp_frame(client, false, ACK).to_vec())
            }
        })
        .collect();
    let rx = batch(&frames);
    datapath.process(Duration::ZERO, &rx, &mut tx);
    Workload { datapath, rx, tx, expected_out: BATCH, refill: None, now: NOW, passes: 0 }
}

/// Every pass: 32 SYNs of new connections (fresh source ports), two seconds after the last,
/// so that unanswered SYNs expire and the table holds about a minute's worth. Simulated time
/// runs fast, so the MAC table (swept once a simulated second) is kept small: its sweep would
/// otherwise cost more than the connections.
fn connection_setup() -> Workload {
    let mut workload = stateful_connections(&Settings { mac_table_size: 16, ..Settings::default() });
    workload.datapath.clear_conntrack();
    workload.rx = RxBatch::new(BATCH, 128);
    workload.refill = Some(|workload| {
        workload.rx.clear();
        let base = (workload.passes * BATCH as u64) as u32;
        for i in 0..BATCH as u32 {
            let n = base + i;
            let mut syn = tcp_frame((n % 50_000) as u16 + 10_000, true, SYN);
            // A new client address every 50,000 ports, so no pair repeats within the minute.
            syn[29] = (n / 50_000) as u8;
            syn[28] = ((n / 50_000) >> 8) as u8 | 0x80;
            workload.rx.push(PortId(49), &syn);
        }
        workload.now += Duration::from_secs(2);
    });
    workload
}

/// Known unicast as in `access_unicast`, between two ports with every ingress check on: port
/// security (maximum 1: the attached MAC), IP source guard and ARP inspection.
fn guarded_unicast() -> Workload {
    let guarded = |id: u32, n: u8| PortConfig {
        port_security: Some(PortSecurity::default()),
        verify_source: true,
        arp_inspection: true,
        ip_bindings: vec![Ipv4Addr::new(10, 0, 0, n).into()].into(),
        ..veth(id).with_attached_mac(mac(n))
    };
    let between =
        |a: u8, b: u8| Ipv4Pair { src: Ipv4Addr::new(10, 0, 0, a), dst: Ipv4Addr::new(10, 0, 0, b) };
    let frames: Vec<_> = (0..BATCH)
        .map(|i| {
            if i % 2 == 0 {
                (49, frame_between(mac(1), mac(2), None, between(1, 2)))
            } else {
                (50, frame_between(mac(2), mac(1), None, between(2, 1)))
            }
        })
        .collect();
    learned(Snapshot::new(vec![guarded(49, 1), guarded(50, 2)]).expect("valid"), &frames, 1)
}
