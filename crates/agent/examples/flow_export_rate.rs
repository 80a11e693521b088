//! Flow export throughput: sends `RATE` distinct flow records per second for `SECONDS` seconds
//! through `agent::flow_export` to `nfcapd` on 127.0.0.1, then counts what nfcapd stored
//! (`nfdump -I`): flows and the sum of their packets must equal what was sent.
//!
//! ```text
//! cargo run -p switchyard-agent --example flow_export_rate -- [ipfix|9] [RATE] [SECONDS]
//! ```
//! Defaults: ipfix, 100000, 5. Exits 1 when a record is lost. Needs the Debian package `nfdump`.
//! `scripts/bench-flow-export` runs both versions.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../tests/collectors/mod.rs"]
mod collectors;

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agent::flow_export::{ExporterConfig, FlowAddresses, FlowDirection, FlowExport, FlowRecord, Version};
use collectors::nfcapd::Nfcapd;

/// Exports per second: records go out in batches, as a flow table's expiry scan hands them over.
const TICKS_PER_SECOND: u64 = 100;

/// The `i`-th flow: distinct addresses and ports, so no two records are the same flow.
fn record(i: u64, now_ms: u64) -> FlowRecord {
    let [a, b, c, d] = (i as u32).to_be_bytes();
    FlowRecord {
        addresses: FlowAddresses::V4 { src: Ipv4Addr::new(10, a, b, c), dst: Ipv4Addr::new(10, 200, 0, 1) },
        protocol: 17,
        src_port: u16::from(d) + 1024,
        dst_port: 53,
        tos: 0,
        tcp_flags: 0,
        packets: 1 + i % 7,
        bytes: 100 * (1 + i % 7),
        first_ms: now_ms - 1_000,
        last_ms: now_ms,
        input_ifindex: 49,
        output_ifindex: 17,
        vlan_id: Some(100),
        segment_id: None,
        direction: FlowDirection::Ingress,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let version = match args.first().map(String::as_str) {
        None | Some("ipfix") => Version::Ipfix,
        Some("9") => Version::NetflowV9,
        Some(other) => panic!("version {other:?}: ipfix or 9"),
    };
    let rate: u64 = args.get(1).map_or(100_000, |r| r.parse().expect("RATE: records per second"));
    let seconds: u64 = args.get(2).map_or(5, |s| s.parse().expect("SECONDS"));

    let nfcapd = Nfcapd::start(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let config = ExporterConfig::new("COLLECTOR", nfcapd.address(), version, 3);
    let mut export = FlowExport::new(vec![config]);

    let per_tick = rate / TICKS_PER_SECOND;
    let ticks = seconds * TICKS_PER_SECOND;
    let mut batch = Vec::with_capacity(per_tick as usize);
    let mut sent = 0u64;
    let mut packets = 0u64;
    let start = Instant::now();
    let mut busy = Duration::ZERO;
    for tick in 0..ticks {
        let due = start + Duration::from_secs(tick) / TICKS_PER_SECOND as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        let began = Instant::now();
        let now = SystemTime::now();
        let now_ms = now.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        batch.clear();
        batch.extend((sent..sent + per_tick).map(|i| record(i, now_ms)));
        packets += batch.iter().map(|r| r.packets).sum::<u64>();
        export.export(now, &batch);
        sent += per_tick;
        busy += began.elapsed();
    }
    let elapsed = start.elapsed();
    let [stats] = <[_; 1]>::try_from(export.stats()).unwrap();
    let kernel_drops = nfcapd.wait_drained();
    let (flows, stored_packets, _bytes) = nfcapd.finish_totals();

    let lost = sent.saturating_sub(flows);
    println!(
        "version {version}: {sent} records in {:.2} s = {:.0} records/s, {} UDP packets ({:.0}/s); \
         exporter busy {:.1}% ({:.0} ns/record); send errors {}; nfcapd socket drops {kernel_drops}",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64(),
        stats.packets_sent,
        stats.packets_sent as f64 / elapsed.as_secs_f64(),
        100.0 * busy.as_secs_f64() / elapsed.as_secs_f64(),
        busy.as_nanos() as f64 / sent as f64,
        stats.send_errors,
    );
    println!(
        "nfdump: {flows} flows ({lost} lost), {stored_packets} packets (sent {packets}); exported {}",
        stats.records_exported
    );
    if flows == sent && stored_packets == packets && stats.records_exported == sent {
        ExitCode::SUCCESS
    } else {
        println!("FAIL: records lost");
        ExitCode::FAILURE
    }
}
