//! Pipeline throughput on one core, no I/O: batches of 32 frames of 64 bytes through
//! `Datapath::process`. Criterion reports elements per second, i.e. frames per second.
//!
//! `cargo bench -p switchyard-datapath --bench pipeline`

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datapath::{
    Datapath, Overlay, OverlaySegment, PortConfig, PortId, RxBatch, Segment, Settings, Snapshot, TUNNEL_PORT,
    TxBatch,
};
use wire::build::{self, Ipv4Pair, L2};
use wire::{MacAddr, Vni};

const BATCH: usize = 32;
const FRAME_LEN: usize = 64;

fn mac(n: u8) -> MacAddr {
    MacAddr([0x02, 0xab, 0xcd, 0, 0, n])
}

fn veth(id: u32) -> PortConfig {
    PortConfig::access(PortId(id), format!("Veth{}", id - 48), Segment::Vlan(100), "vlan100")
}

/// A 64-byte UDP frame (`FRAME_LEN`), optionally tagged.
fn frame(src: MacAddr, dst: MacAddr, vlan: Option<u16>) -> Vec<u8> {
    let l2 = L2 { src, dst, vlan: vlan.map(wire::Tci::vlan) };
    let ips = Ipv4Pair { src: Ipv4Addr::new(10, 0, 0, 1), dst: Ipv4Addr::new(10, 0, 0, 2) };
    let payload = [0u8; FRAME_LEN - 14 - 20 - 8];
    let payload = &payload[..payload.len() - if vlan.is_some() { 4 } else { 0 }];
    let mut buf = [0u8; FRAME_LEN];
    let len = build::udp_ipv4(&mut buf, &l2, &ips, (1000, 2000), payload).expect("fits");
    buf[..len].to_vec()
}

/// A datapath over `ports`, an rx batch of `frames` and a tx batch big enough for them.
fn setup(ports: Vec<PortConfig>, frames: &[(u32, Vec<u8>)], fanout: usize) -> (Datapath, RxBatch, TxBatch) {
    setup_with(Snapshot::new(ports).expect("valid"), frames, fanout)
}

fn setup_with(snapshot: Snapshot, frames: &[(u32, Vec<u8>)], fanout: usize) -> (Datapath, RxBatch, TxBatch) {
    let mut datapath = Datapath::new(&Settings::default(), Arc::new(snapshot));
    let mut rx = RxBatch::new(BATCH, 2048);
    for (port, bytes) in frames {
        assert!(rx.push(PortId(*port), bytes));
    }
    let mut tx = TxBatch::new(BATCH * fanout);
    datapath.process(Duration::ZERO, &rx, &mut tx); // learn the MACs
    (datapath, rx, tx)
}

fn run(
    c: &mut Criterion,
    name: &str,
    mut datapath: Datapath,
    rx: &RxBatch,
    mut tx: TxBatch,
    expected_out: usize,
) {
    datapath.process(Duration::from_millis(1), rx, &mut tx);
    assert_eq!(tx.len(), expected_out, "{name}: unexpected output");
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function(name, |b| {
        b.iter(|| {
            datapath.process(Duration::from_millis(1), black_box(rx), &mut tx);
            black_box(tx.len())
        })
    });
    group.finish();
}

fn known_unicast(c: &mut Criterion) {
    // Half the batch each way, so both MACs are learned, refreshed and looked up.
    let frames: Vec<_> =
        (0..BATCH)
            .map(|i| {
                if i % 2 == 0 { (49, frame(mac(1), mac(2), None)) } else { (50, frame(mac(2), mac(1), None)) }
            })
            .collect();
    let (datapath, rx, tx) = setup(vec![veth(49), veth(50)], &frames, 1);
    run(c, "known unicast, access to access, 64B x32", datapath, &rx, tx, BATCH);
}

fn known_unicast_to_trunk(c: &mut Criterion) {
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
    let (datapath, rx, tx) = setup(vec![veth(49), uplink], &frames, 1);
    run(c, "known unicast, access to trunk (tag push/pop), 64B x32", datapath, &rx, tx, BATCH);
}

fn flood_to_8(c: &mut Criterion) {
    let frames: Vec<_> = (0..BATCH).map(|_| (49, frame(mac(1), MacAddr::BROADCAST, None))).collect();
    let (datapath, rx, tx) = setup((49..=57).map(veth).collect(), &frames, 8);
    run(c, "broadcast flood to 8 ports, 64B x32", datapath, &rx, tx, BATCH * 8);
}

/// The `n`th of many MACs.
fn many(n: u32) -> MacAddr {
    let [_, b, c, d] = n.to_be_bytes();
    MacAddr([0x02, 0x10, 0, b, c, d])
}

fn known_unicast_among_10k_macs(c: &mut Criterion) {
    const MACS: u32 = 10_000;
    let mut datapath = Datapath::new(
        &Settings::default(),
        Arc::new(Snapshot::new(vec![veth(49), veth(50)]).expect("valid")),
    );
    // Learn 10,000 MACs behind Veth2, a batch at a time.
    let mut rx = RxBatch::new(BATCH, 2048);
    let mut tx = TxBatch::new(BATCH);
    for chunk in (0..MACS).collect::<Vec<_>>().chunks(BATCH) {
        rx.clear();
        for &n in chunk {
            assert!(rx.push(PortId(50), &frame(many(n), mac(1), None)));
        }
        datapath.process(Duration::ZERO, &rx, &mut tx);
    }
    assert_eq!(datapath.mac_counters().learned, u64::from(MACS));
    // Veth1 sends to 32 of them, spread over the table.
    let frames: Vec<_> =
        (0..BATCH as u32).map(|i| (49, frame(mac(1), many(i * (MACS / BATCH as u32)), None))).collect();
    let (_, rx, tx) = setup(vec![veth(49)], &frames, 1);
    run(c, "known unicast among 10,000 learned MACs, 64B x32", datapath, &rx, tx, BATCH);
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

fn vxlan_encapsulation(c: &mut Criterion) {
    let frames: Vec<_> = (0..BATCH).map(|_| (49, frame(mac(1), mac(2), None))).collect();
    let (datapath, rx, tx) = setup_with(overlay_snapshot(), &frames, 1);
    run(c, "VXLAN encapsulation, vEthernet to remote MAC, 64B x32", datapath, &rx, tx, BATCH);
}

fn vxlan_replication(c: &mut Criterion) {
    let frames: Vec<_> = (0..BATCH).map(|_| (49, frame(mac(1), MacAddr::BROADCAST, None))).collect();
    let (datapath, rx, tx) = setup_with(overlay_snapshot(), &frames, 5);
    run(c, "VXLAN broadcast, 1 local + 4 VTEPs, 64B x32", datapath, &rx, tx, BATCH * 5);
}

fn vxlan_decapsulation(c: &mut Criterion) {
    let mut payload = vec![0x08, 0, 0, 0, 0x00, 0x13, 0x88, 0x00];
    payload.extend_from_slice(&frame(mac(2), mac(1), None));
    let mut datapath = Datapath::new(&Settings::default(), Arc::new(overlay_snapshot()));
    let mut rx = RxBatch::new(BATCH, 2048);
    rx.push(PortId(49), &frame(mac(1), MacAddr::BROADCAST, None));
    let mut tx = TxBatch::new(BATCH * 5);
    datapath.process(Duration::ZERO, &rx, &mut tx); // learn mac 1 on Veth1
    rx.clear();
    for _ in 0..BATCH {
        assert!(rx.push_tunneled(TUNNEL_PORT, &payload, Ipv4Addr::new(192, 0, 2, 2)));
    }
    run(c, "VXLAN decapsulation, tunnel to vEthernet, 64B x32", datapath, &rx, tx, BATCH);
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = known_unicast, known_unicast_to_trunk, flood_to_8, known_unicast_among_10k_macs,
vxlan_encapsulation, vxlan_replication, vxlan_decapsulation }
criterion_main!(benches);
