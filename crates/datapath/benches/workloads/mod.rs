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
    Datapath, Overlay, OverlaySegment, PortConfig, PortId, PortSecurity, RxBatch, Segment, Settings,
    Snapshot, TUNNEL_PORT, TxBatch,
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
}

impl Workload {
    /// One pass over the batch, as measured.
    #[inline(always)]
    pub fn pass(&mut self) -> usize {
        self.datapath.process(NOW, &self.rx, &mut self.tx);
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
    Workload { datapath, rx, tx, expected_out: BATCH }
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
    Workload { datapath, rx, tx, expected_out: BATCH }
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
