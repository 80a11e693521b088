//! Encode, then read back with a small decoder written from the RFCs independently of the
//! encoder's tables: field ids and lengths come from the templates on the wire.

#![allow(clippy::unwrap_used)]

use core::net::{Ipv4Addr, Ipv6Addr};
use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

/// One decoded message.
#[derive(Debug, Default)]
struct Message {
    version: u16,
    /// IPFIX: the header's length; v9: the header's record count.
    length_or_count: u16,
    /// IPFIX export time or v9 unix secs.
    secs: u32,
    /// v9 sysUptime; 0 for IPFIX.
    sys_uptime: u32,
    sequence: u32,
    domain: u32,
    templates: Vec<(u16, Vec<(u16, u16)>)>,
    /// Data records: template id and the value of each field by field id.
    records: Vec<(u16, BTreeMap<u16, Vec<u8>>)>,
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |acc, b| acc << 8 | u64::from(*b))
}

/// Decodes one payload, using (and adding to) the templates a collector has learned.
fn decode(payload: &[u8], learned: &mut BTreeMap<u16, Vec<(u16, u16)>>) -> Message {
    let version = be(&payload[0..2]) as u16;
    let (header_len, template_set_id) = match version {
        10 => (16, 2),
        9 => (20, 0),
        other => panic!("version {other}"),
    };
    let mut message = Message { version, ..Message::default() };
    message.length_or_count = be(&payload[2..4]) as u16;
    if version == 10 {
        message.secs = be(&payload[4..8]) as u32;
        message.sequence = be(&payload[8..12]) as u32;
        message.domain = be(&payload[12..16]) as u32;
        assert_eq!(usize::from(message.length_or_count), payload.len(), "IPFIX length");
    } else {
        message.sys_uptime = be(&payload[4..8]) as u32;
        message.secs = be(&payload[8..12]) as u32;
        message.sequence = be(&payload[12..16]) as u32;
        message.domain = be(&payload[16..20]) as u32;
    }
    let mut at = header_len;
    while at < payload.len() {
        assert_eq!(at % 4, 0, "sets start on four-byte boundaries");
        let set_id = be(&payload[at..at + 2]) as u16;
        let set_len = be(&payload[at + 2..at + 4]) as usize;
        assert!(set_len >= 4 && at + set_len <= payload.len(), "set length {set_len} at {at}");
        assert_eq!(set_len % 4, 0, "sets are padded to four bytes");
        let body = &payload[at + 4..at + set_len];
        if set_id == template_set_id {
            let mut t = 0;
            while t < body.len() {
                let id = be(&body[t..t + 2]) as u16;
                let count = be(&body[t + 2..t + 4]) as usize;
                let fields = (0..count)
                    .map(|i| {
                        let f = t + 4 + 4 * i;
                        (be(&body[f..f + 2]) as u16, be(&body[f + 2..f + 4]) as u16)
                    })
                    .collect::<Vec<_>>();
                t += 4 + 4 * count;
                learned.insert(id, fields.clone());
                message.templates.push((id, fields));
            }
        } else {
            assert!(set_id >= 256, "data set id {set_id}");
            let fields = learned.get(&set_id).expect("data set of a template the collector has");
            let record_len: usize = fields.iter().map(|(_, len)| usize::from(*len)).sum();
            let mut r = 0;
            while body.len() - r >= record_len {
                let mut values = BTreeMap::new();
                for &(id, len) in fields {
                    values.insert(id, body[r..r + usize::from(len)].to_vec());
                    r += usize::from(len);
                }
                message.records.push((set_id, values));
            }
            assert!(body[r..].iter().all(|b| *b == 0), "padding is zero");
            assert!(body.len() - r < 4, "padding is under four bytes");
        }
        at += set_len;
    }
    if version == 9 {
        let total = message.templates.len() + message.records.len();
        assert_eq!(usize::from(message.length_or_count), total, "v9 count");
    }
    message
}

/// The flow a decoded record describes. NetFlow v9 times are rebuilt from the header as
/// collectors do: `unix_secs * 1000 - sysUptime + FIRST_SWITCHED`.
fn to_record(version: u16, values: &BTreeMap<u16, Vec<u8>>, boot_ms: u64) -> FlowRecord {
    let get = |id: u16| be(values.get(&id).unwrap_or_else(|| panic!("field {id} missing")));
    let addresses = if let Some(src) = values.get(&8) {
        let dst = &values[&12];
        FlowAddresses::V4 {
            src: Ipv4Addr::from(<[u8; 4]>::try_from(&src[..]).unwrap()),
            dst: Ipv4Addr::from(<[u8; 4]>::try_from(&dst[..]).unwrap()),
        }
    } else {
        FlowAddresses::V6 {
            src: Ipv6Addr::from(<[u8; 16]>::try_from(&values[&27][..]).unwrap()),
            dst: Ipv6Addr::from(<[u8; 16]>::try_from(&values[&28][..]).unwrap()),
        }
    };
    let (first_ms, last_ms, segment_id) = if version == 10 {
        let segment = get(351);
        let segment_id = (segment >> 56 == 1).then_some((segment & 0x00ff_ffff_ffff_ffff) as u32);
        (get(152), get(153), segment_id)
    } else {
        (boot_ms + get(22), boot_ms + get(21), None)
    };
    let vlan = get(58) as u16;
    let protocol = get(4) as u8;
    let icmpv6_in_ipfix = version == 10 && matches!(addresses, FlowAddresses::V6 { .. });
    let icmp_type_code = get(if icmpv6_in_ipfix { 139 } else { 32 });
    let expected_icmp = if matches!(protocol, 1 | 58) { get(11) } else { 0 };
    assert_eq!(icmp_type_code, expected_icmp, "ICMP type and code field");
    FlowRecord {
        addresses,
        protocol,
        src_port: get(7) as u16,
        dst_port: get(11) as u16,
        tos: get(5) as u8,
        tcp_flags: get(6) as u8,
        packets: get(2),
        bytes: get(1),
        first_ms,
        last_ms,
        input_ifindex: get(10) as u32,
        output_ifindex: get(14) as u32,
        vlan_id: (vlan != 0).then_some(vlan),
        segment_id,
        direction: FlowDirection::from_wire(get(61) as u8),
    }
}

const NOW: u64 = 1_780_000_000_123;
const ORIGIN: u64 = NOW - 3_600_000;

fn icmp_v4() -> FlowRecord {
    FlowRecord {
        addresses: FlowAddresses::V4 { src: Ipv4Addr::new(10, 100, 0, 1), dst: Ipv4Addr::new(10, 100, 0, 2) },
        protocol: 1,
        src_port: 0,
        dst_port: FlowRecord::icmp_port(8, 0),
        tos: 0,
        tcp_flags: 0,
        packets: 10,
        bytes: 840,
        first_ms: NOW - 9_500,
        last_ms: NOW - 500,
        input_ifindex: 49,
        output_ifindex: 50,
        vlan_id: Some(100),
        segment_id: None,
        direction: FlowDirection::Ingress,
    }
}

fn tcp_v6() -> FlowRecord {
    FlowRecord {
        addresses: FlowAddresses::V6 {
            src: "2001:db8::1".parse().unwrap(),
            dst: "2001:db8::2".parse().unwrap(),
        },
        protocol: 6,
        src_port: 40_000,
        dst_port: 80,
        tos: 0x20,
        tcp_flags: 0x1b,
        packets: 700,
        bytes: 1_000_000,
        first_ms: NOW - 2_000,
        last_ms: NOW - 1,
        input_ifindex: 17,
        output_ifindex: 51,
        vlan_id: None,
        segment_id: Some(5000),
        direction: FlowDirection::Egress,
    }
}

/// What a v9 collector sees of `record`: no VNI.
fn as_v9(record: FlowRecord) -> FlowRecord {
    FlowRecord { segment_id: None, ..record }
}

/// Encodes `records` in as many payloads as they take and decodes each.
fn round_trip(exporter: &mut Exporter, now: u64, records: &[FlowRecord], buf: &mut [u8]) -> Vec<Message> {
    let mut learned = BTreeMap::new();
    let mut rest = records;
    let mut messages = Vec::new();
    while let Some(out) = exporter.encode(now, rest, buf).unwrap() {
        assert!(out.len <= exporter.mtu().min(buf.len()));
        assert!(out.records > 0 || out.templates, "a payload carries something");
        let message = decode(&buf[..out.len], &mut learned);
        assert_eq!(message.records.len(), out.records);
        assert_eq!(!message.templates.is_empty(), out.templates);
        messages.push(message);
        rest = &rest[out.records..];
    }
    assert!(rest.is_empty());
    messages
}

fn decoded_records(messages: &[Message]) -> Vec<FlowRecord> {
    messages
        .iter()
        .flat_map(|m| {
            let boot = u64::from(m.secs) * 1000 - u64::from(m.sys_uptime);
            m.records.iter().map(move |(_, values)| to_record(m.version, values, boot))
        })
        .collect()
}

#[test]
fn ipfix_message_carries_header_templates_and_records() {
    let mut exporter = Exporter::new(Version::Ipfix, 3, DEFAULT_MTU);
    let records = [icmp_v4(), tcp_v6()];
    let messages = round_trip(&mut exporter, NOW, &records, &mut [0; 2000]);
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!((m.version, m.secs, m.sequence, m.domain), (10, (NOW / 1000) as u32, 0, 3));
    let ids: Vec<u16> = m.templates.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [TEMPLATE_ID_V4, TEMPLATE_ID_V6]);
    let v4_fields: Vec<u16> = m.templates[0].1.iter().map(|(id, _)| *id).collect();
    assert_eq!(v4_fields, [8, 12, 7, 11, 4, 5, 6, 2, 1, 152, 153, 10, 14, 58, 351, 61, 32]);
    assert_eq!(decoded_records(&messages), records);
    assert_eq!(exporter.sequence(), 2, "IPFIX counts data records");
}

#[test]
fn netflow_v9_packet_carries_uptime_relative_times() {
    let mut exporter = Exporter::new(Version::NetflowV9, 4, DEFAULT_MTU).with_uptime_origin(ORIGIN);
    let records = [icmp_v4(), tcp_v6()];
    let messages = round_trip(&mut exporter, NOW, &records, &mut [0; 2000]);
    let m = &messages[0];
    assert_eq!((m.version, m.sequence, m.domain, m.sys_uptime), (9, 0, 4, 3_600_000));
    let v6_fields: Vec<u16> = m.templates[1].1.iter().map(|(id, _)| *id).collect();
    assert_eq!(v6_fields, [27, 28, 7, 11, 4, 5, 6, 2, 1, 22, 21, 10, 14, 58, 61, 32]);
    let first_switched = be(&m.records[0].1[&22]);
    assert_eq!(first_switched, NOW - 9_500 - ORIGIN / 1000 * 1000);
    assert_eq!(decoded_records(&messages), records.map(as_v9));
    assert_eq!(exporter.sequence(), 1, "v9 counts packets");
}

#[test]
fn templates_go_first_then_on_refresh_only() {
    let mut exporter = Exporter::new(Version::Ipfix, 3, DEFAULT_MTU);
    let mut buf = [0; DEFAULT_MTU];
    let first = exporter.encode(NOW, &[], &mut buf).unwrap().expect("templates at the start");
    assert_eq!((first.templates, first.records), (true, 0));
    assert_eq!(exporter.encode(NOW + 59_999, &[], &mut buf).unwrap(), None);
    let data = exporter.encode(NOW + 59_999, &[icmp_v4()], &mut buf).unwrap().unwrap();
    assert!(!data.templates);
    let refreshed = exporter.encode(NOW + 60_000, &[icmp_v4()], &mut buf).unwrap().unwrap();
    assert!(refreshed.templates, "60 s after the last templates");
    // A clock stepped back resends rather than waiting the step out.
    assert!(exporter.templates_due(NOW));
}

#[test]
fn netflow_v9_refreshes_templates_every_20_packets() {
    let mut exporter = Exporter::new(Version::NetflowV9, 3, DEFAULT_MTU);
    let mut buf = [0; DEFAULT_MTU];
    let with_templates: Vec<bool> =
        (0..42).map(|_| exporter.encode(NOW, &[icmp_v4()], &mut buf).unwrap().unwrap().templates).collect();
    let at: Vec<usize> = with_templates.iter().enumerate().filter(|(_, t)| **t).map(|(i, _)| i).collect();
    assert_eq!(at, [0, 21], "after 20 packets without");
}

#[test]
fn payloads_fill_to_the_mtu_and_sequence_numbers_follow() {
    for version in [Version::Ipfix, Version::NetflowV9] {
        let mut exporter = Exporter::new(version, 9, DEFAULT_MTU).with_uptime_origin(ORIGIN);
        let records: Vec<FlowRecord> = (0..100u16)
            .map(|i| FlowRecord { src_port: i, ..if i % 3 == 0 { tcp_v6() } else { icmp_v4() } })
            .collect();
        let messages = round_trip(&mut exporter, NOW, &records, &mut [0; 9000]);
        assert!(messages.len() > 3, "{version}: 100 records do not fit in one 1400-byte payload");
        let mut data_records = 0;
        for (i, m) in messages.iter().enumerate() {
            let expected = if version == Version::Ipfix { data_records } else { i as u32 };
            assert_eq!(m.sequence, expected, "{version} message {i}");
            data_records += m.records.len() as u32;
        }
        let expected: Vec<FlowRecord> = match version {
            Version::Ipfix => records,
            Version::NetflowV9 => records.into_iter().map(as_v9).collect(),
        };
        assert_eq!(decoded_records(&messages), expected);
    }
}

#[test]
fn a_buffer_below_one_record_is_an_error() {
    let needed = Exporter::min_payload_len(Version::Ipfix);
    let mut exporter = Exporter::new(Version::Ipfix, 3, needed - 1);
    let err = exporter.encode(NOW, &[icmp_v4()], &mut [0; 2000]).unwrap_err();
    assert_eq!(err, crate::Error::BufferTooSmall { needed, available: needed - 1 });
    let mut exact = Exporter::new(Version::Ipfix, 3, needed);
    let out = exact.encode(NOW, &[tcp_v6()], &mut [0; 2000]).unwrap().unwrap();
    assert_eq!((out.records, out.templates), (1, true));
}

fn any_record() -> impl Strategy<Value = FlowRecord> {
    let addresses = prop_oneof![
        any::<([u8; 4], [u8; 4])>().prop_map(|(s, d)| FlowAddresses::V4 { src: s.into(), dst: d.into() }),
        any::<([u8; 16], [u8; 16])>().prop_map(|(s, d)| FlowAddresses::V6 { src: s.into(), dst: d.into() }),
    ];
    let segment = prop_oneof![
        Just((None, None)),
        (1u16..4095).prop_map(|v| (Some(v), None)),
        (0u32..=0x00ff_ffff).prop_map(|vni| (None, Some(vni))),
    ];
    (
        addresses,
        any::<(u8, u16, u16, u8, u8, u64, u64)>(),
        (ORIGIN..NOW, 0u64..1_000_000),
        any::<(u32, u32, bool)>(),
        segment,
    )
        .prop_map(
            |(
                addresses,
                (protocol, src_port, dst_port, tos, tcp_flags, packets, bytes),
                (first, span),
                (i, o, e),
                (vlan_id, segment_id),
            )| {
                FlowRecord {
                    addresses,
                    protocol,
                    src_port,
                    dst_port,
                    tos,
                    tcp_flags,
                    packets,
                    bytes,
                    first_ms: first,
                    last_ms: first + span,
                    input_ifindex: i,
                    output_ifindex: o,
                    vlan_id,
                    segment_id,
                    direction: if e { FlowDirection::Egress } else { FlowDirection::Ingress },
                }
            },
        )
}

proptest! {
    #[test]
    fn any_batch_round_trips(
        records in proptest::collection::vec(any_record(), 0..120),
        v9 in any::<bool>(),
        mtu in 0usize..3000,
    ) {
        let version = if v9 { Version::NetflowV9 } else { Version::Ipfix };
        let mtu = Exporter::min_payload_len(version) + mtu;
        let mut exporter = Exporter::new(version, 7, mtu).with_uptime_origin(ORIGIN);
        let messages = round_trip(&mut exporter, NOW, &records, &mut vec![0; mtu + 100]);
        prop_assert!(messages[0].templates.len() == 2);
        let expected: Vec<FlowRecord> =
            if v9 { records.into_iter().map(as_v9).collect() } else { records };
        prop_assert_eq!(decoded_records(&messages), expected);
    }
}
