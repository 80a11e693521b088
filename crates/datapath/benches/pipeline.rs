//! Pipeline throughput on one core, no I/O: batches of 32 frames of 64 bytes through
//! `Datapath::process`. Criterion reports elements per second, i.e. frames per second.
//!
//! `cargo bench -p switchyard-datapath --bench pipeline`

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datapath::{Datapath, PortConfig, PortId, RxBatch, Segment, Settings, Snapshot, TxBatch};
use wire::MacAddr;
use wire::build::{self, Ipv4Pair, L2};

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
    let snapshot = Snapshot::new(ports).expect("valid");
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

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = known_unicast, known_unicast_to_trunk, flood_to_8 }
criterion_main!(benches);
