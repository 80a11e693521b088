//! Flow export checked by collectors nobody here wrote: `nfcapd` + `nfdump` and `tshark` decode
//! what `agent::flow_export` sends, IPFIX and NetFlow v9, IPv4 and IPv6 flows (each sent over
//! the loopback of its family), and every decoded value must equal what was sent.
//!
//! Needs the Debian packages `nfdump` and `tshark`, and root (tshark captures on `lo`); a test
//! fails, naming the package, when a tool is missing.

#![allow(clippy::unwrap_used)]

mod collectors;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agent::flow_export::{ExporterConfig, FlowAddresses, FlowDirection, FlowExport, FlowRecord, Version};
use collectors::nfcapd::Nfcapd;
use collectors::tshark::Tshark;
use serde_json::Value;

/// The module number, sent as the observation domain.
const MODULE: u32 = 3;
/// Flows besides the two known ones, so the export takes several packets.
const FILLER: usize = 200;

/// `ping -c 10` (84-byte IPv4 packets) and a TCP transfer of 1,000,000 bytes, plus filler UDP
/// flows; times relative to `now_ms`.
fn records(v6: bool, now_ms: u64) -> Vec<FlowRecord> {
    let addresses = |a: u8, b: u8| {
        if v6 {
            FlowAddresses::V6 {
                src: Ipv6Addr::new(0x2001, 0xdb8, 0, 0x100, 0, 0, 0, a.into()),
                dst: Ipv6Addr::new(0x2001, 0xdb8, 0, 0x100, 0, 0, 0, b.into()),
            }
        } else {
            FlowAddresses::V4 { src: Ipv4Addr::new(10, 100, 0, a), dst: Ipv4Addr::new(10, 100, 0, b) }
        }
    };
    let ping = FlowRecord {
        addresses: addresses(1, 2),
        protocol: if v6 { 58 } else { 1 },
        src_port: 0,
        dst_port: if v6 { FlowRecord::icmp_port(128, 0) } else { FlowRecord::icmp_port(8, 0) },
        tos: 0,
        tcp_flags: 0,
        packets: 10,
        bytes: if v6 { 1040 } else { 840 },
        first_ms: now_ms - 9_250,
        last_ms: now_ms - 250,
        input_ifindex: 49,
        output_ifindex: 50,
        vlan_id: Some(100),
        segment_id: None,
        direction: FlowDirection::Ingress,
    };
    let transfer = FlowRecord {
        addresses: addresses(2, 1),
        protocol: 6,
        src_port: 43_210,
        dst_port: 5201,
        tos: 0x20,
        tcp_flags: 0x1b,
        packets: 724,
        bytes: 1_000_000,
        first_ms: now_ms - 2_000,
        last_ms: now_ms - 7,
        input_ifindex: 50,
        output_ifindex: 17,
        // In a bridge-domain: IPFIX carries the VNI, NetFlow v9 cannot.
        vlan_id: None,
        segment_id: Some(5000),
        direction: FlowDirection::Egress,
    };
    let filler = (0..FILLER).map(|i| FlowRecord {
        protocol: 17,
        src_port: 1000 + i as u16,
        dst_port: 53,
        tcp_flags: 0,
        packets: i as u64 + 1,
        bytes: 100 * (i as u64 + 1),
        ..ping
    });
    [ping, transfer].into_iter().chain(filler).collect()
}

/// `2026-12-06T20:18:10.005`: `ms` as nfdump prints it in UTC.
fn utc(ms: u64) -> String {
    let (days, rest) = ((ms / 86_400_000) as i64, ms % 86_400_000);
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}")
}

/// The flow nfdump decoded with these addresses and ports.
fn nfdump_flow<'a>(flows: &'a [Value], record: &FlowRecord) -> &'a Value {
    let (src_key, dst_key) = if record.addresses.src().is_ipv6() {
        ("src6_addr", "dst6_addr")
    } else {
        ("src4_addr", "dst4_addr")
    };
    let matches = |flow: &&Value| {
        flow[src_key] == record.addresses.src().to_string()
            && flow[dst_key] == record.addresses.dst().to_string()
            && flow["proto"] == record.protocol
            && (record.is_icmp() || flow["src_port"] == record.src_port)
    };
    flows.iter().find(matches).unwrap_or_else(|| panic!("nfdump has no flow for {record:?}"))
}

/// Checks nfdump's view of `record`, field by field.
fn check_nfdump(flows: &[Value], record: &FlowRecord, version: Version) {
    let flow = nfdump_flow(flows, record);
    if record.is_icmp() {
        assert_eq!(flow["icmp_type"], record.dst_port >> 8, "{version} ICMP type: {flow}");
        assert_eq!(flow["icmp_code"], record.dst_port & 0xff, "{version} ICMP code: {flow}");
    } else {
        assert_eq!(flow["dst_port"], record.dst_port, "{version}: {flow}");
    }
    assert_eq!(flow["in_packets"], record.packets, "{version}: {flow}");
    assert_eq!(flow["in_bytes"], record.bytes, "{version}: {flow}");
    assert_eq!(flow["input_snmp"], record.input_ifindex, "{version}: {flow}");
    assert_eq!(flow["output_snmp"], record.output_ifindex, "{version}: {flow}");
    assert_eq!(flow["src_tos"], record.tos, "{version}: {flow}");
    assert_eq!(flow["src_vlan"], record.vlan_id.unwrap_or(0), "{version}: {flow}");
    assert_eq!(flow["direction"], record.direction.to_wire(), "{version}: {flow}");
    assert_eq!(flow["first"], utc(record.first_ms), "{version}: {flow}");
    assert_eq!(flow["last"], utc(record.last_ms), "{version}: {flow}");
}

/// The tshark fields of a record, for addresses of `v6`.
fn record_fields(v6: bool) -> [&'static str; 9] {
    let (src, dst) =
        if v6 { ("cflow.srcaddrv6", "cflow.dstaddrv6") } else { ("cflow.srcaddr", "cflow.dstaddr") };
    [
        src,
        dst,
        "cflow.srcport",
        "cflow.dstport",
        "cflow.protocol",
        "cflow.packets",
        "cflow.octets",
        "cflow.inputint",
        "cflow.outputint",
    ]
}

/// The records tshark decoded, as the strings of [`record_fields`], in order.
fn tshark_records(packets: &[collectors::tshark::Packet], v6: bool) -> Vec<Vec<String>> {
    let fields = record_fields(v6);
    let mut out = Vec::new();
    for packet in packets {
        let column = |name: &str| packet.get(name).cloned().unwrap_or_default();
        let columns: Vec<Vec<String>> = fields.iter().map(|f| column(f)).collect();
        let n = columns[0].len();
        assert!(columns.iter().all(|c| c.len() == n), "ragged fields in a packet: {packet:?}");
        out.extend((0..n).map(|i| columns.iter().map(|c| c[i].clone()).collect::<Vec<_>>()));
    }
    out
}

fn as_tshark(record: &FlowRecord) -> Vec<String> {
    [
        record.addresses.src().to_string(),
        record.addresses.dst().to_string(),
        record.src_port.to_string(),
        record.dst_port.to_string(),
        record.protocol.to_string(),
        record.packets.to_string(),
        record.bytes.to_string(),
        record.input_ifindex.to_string(),
        record.output_ifindex.to_string(),
    ]
    .into()
}

/// Exports the records of `v6` with `version` to nfcapd and tshark listening on the loopback of
/// the same family, in two exports with an unchanged reconfiguration between them, and checks
/// what both decoded.
fn export_and_decode(version: Version, v6: bool) {
    let loopback = if v6 { IpAddr::V6(Ipv6Addr::LOCALHOST) } else { IpAddr::V4(Ipv4Addr::LOCALHOST) };
    let domain_field = if version == Version::Ipfix { "cflow.od_id" } else { "cflow.source_id" };
    let mut fields = record_fields(v6).to_vec();
    fields.extend(["cflow.sequence", "cflow.template_id", "cflow.layer2_segment_id", domain_field]);
    let nfcapd = Nfcapd::start(loopback);
    let tshark = Tshark::start(nfcapd.address().port(), &fields);

    let now = SystemTime::now();
    let now_ms = now.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let records = records(v6, now_ms);
    let config = ExporterConfig::new("COLLECTOR", nfcapd.address(), version, MODULE);
    let mut export = FlowExport::new(vec![config.clone()]);
    let (first, second) = records.split_at(records.len() / 2);
    export.export(now, first);
    export.reconfigure(vec![config]);
    export.export(now + Duration::from_millis(10), second);

    let [stats] = <[_; 1]>::try_from(export.stats()).unwrap();
    assert_eq!(stats.records_exported, records.len() as u64, "{stats:?}");
    assert_eq!((stats.send_errors, stats.last_error.as_deref()), (0, None), "{stats:?}");
    assert!(stats.packets_sent > 2, "{} records take several packets: {stats:?}", records.len());
    assert_eq!(stats.templates_sent, 1, "templates only at the start: {stats:?}");

    let collected = nfcapd.finish();
    let packets = tshark.finish(stats.packets_sent as usize);

    // nfdump: every flow, exact values, and no sequence error across the two exports.
    assert_eq!(collected.flows.len(), records.len(), "flows at nfcapd: {}", collected.log);
    assert_eq!(collected.sequence_errors, 0, "{}", collected.log);
    for record in &records[..2] {
        check_nfdump(&collected.flows, record, version);
    }
    let packets_total: u64 = collected.flows.iter().map(|f| f["in_packets"].as_u64().unwrap()).sum();
    assert_eq!(packets_total, records.iter().map(|r| r.packets).sum::<u64>());

    // tshark: the same records in the same order, header fields per packet.
    assert_eq!(packets.len() as u64, stats.packets_sent, "packets captured");
    let decoded = tshark_records(&packets, v6);
    assert_eq!(decoded, records.iter().map(as_tshark).collect::<Vec<_>>());
    assert_eq!(packets[0]["cflow.template_id"], ["256", "257"], "templates go first");
    let segments: Vec<&String> =
        packets.iter().flat_map(|p| p.get("cflow.layer2_segment_id")).flatten().collect();
    if version == Version::Ipfix {
        // layer2SegmentId: type 0x01 (VXLAN) in the top byte, the VNI below; 0 for none.
        let expected: Vec<String> = records
            .iter()
            .map(|r| r.segment_id.map_or(0, |vni| 1u64 << 56 | u64::from(vni)).to_string())
            .collect();
        assert_eq!(segments, expected.iter().collect::<Vec<_>>());
    } else {
        assert!(segments.is_empty(), "NetFlow v9 has no segment id field");
    }
    let mut expected_sequence = 0u64;
    for (i, packet) in packets.iter().enumerate() {
        assert_eq!(packet[domain_field], [MODULE.to_string()], "packet {i}");
        assert_eq!(packet["cflow.sequence"], [expected_sequence.to_string()], "packet {i}");
        expected_sequence += match version {
            Version::Ipfix => packet.get("cflow.protocol").map_or(0, Vec::len) as u64,
            Version::NetflowV9 => 1,
        };
    }
}

#[test]
fn ipfix_ipv4_flows_reach_nfdump_and_tshark_exactly() {
    export_and_decode(Version::Ipfix, false);
}

#[test]
fn ipfix_ipv6_flows_reach_nfdump_and_tshark_exactly() {
    export_and_decode(Version::Ipfix, true);
}

#[test]
fn netflow_v9_ipv4_flows_reach_nfdump_and_tshark_exactly() {
    export_and_decode(Version::NetflowV9, false);
}

#[test]
fn netflow_v9_ipv6_flows_reach_nfdump_and_tshark_exactly() {
    export_and_decode(Version::NetflowV9, true);
}

#[test]
fn a_collector_that_is_not_there_counts_send_errors() {
    // A port nothing listens on: the kernel's port unreachable fails the next send.
    let address =
        SocketAddr::new(Ipv4Addr::LOCALHOST.into(), collectors::free_udp_port(Ipv4Addr::LOCALHOST.into()));
    let mut export = FlowExport::new(vec![ExporterConfig::new("GONE", address, Version::Ipfix, MODULE)]);
    let now = SystemTime::now();
    let now_ms = now.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    // The kernel reports the port unreachable to the socket after the datagram went out: give
    // it a moment between sends (bounded) so that a later send meets the error.
    for _ in 0..50 {
        export.export(now, &records(false, now_ms)[..2]);
        if export.stats()[0].send_errors > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let [stats] = <[_; 1]>::try_from(export.stats()).unwrap();
    assert!(stats.send_errors >= 1, "{stats:?}");
    assert!(stats.records_dropped >= 2, "{stats:?}");
    let error = stats.last_error.unwrap();
    assert!(error.starts_with(&format!("sending to {address} failed: Connection refused")), "{error}");
    assert!(FlowExport::new(Vec::new()).stats().is_empty());
}
