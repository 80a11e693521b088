//! Templates: which fields a data record carries, in what order and length. IPFIX and NetFlow v9
//! describe records the same way (a template id, then `(field type, length)` pairs), so one
//! [`Template`] type serves both and one writer fills any template from a [`FlowRecord`].

use super::cursor::Cursor;
use super::record::{FlowAddresses, FlowRecord};

/// The template id of IPv4 flow records in both protocols (the first id either allows).
pub const TEMPLATE_ID_V4: u16 = 256;
/// The template id of IPv6 flow records in both protocols.
pub const TEMPLATE_ID_V6: u16 = 257;

/// What a field carries, read from a [`FlowRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value {
    /// The source address (4 or 16 bytes, by the template's family).
    SrcAddr,
    /// The destination address.
    DstAddr,
    Protocol,
    SrcPort,
    DstPort,
    Tos,
    TcpFlags,
    Packets,
    Bytes,
    /// `first_ms`, absolute (IPFIX `flowStartMilliseconds`, 8 bytes).
    FirstAbsolute,
    /// `last_ms`, absolute.
    LastAbsolute,
    /// `first_ms` in milliseconds of the exporter's uptime (NetFlow v9 `FIRST_SWITCHED`, 4 bytes).
    FirstUptime,
    /// `last_ms` in milliseconds of uptime.
    LastUptime,
    Input,
    Output,
    /// The VLAN id, 0 when the flow's segment is not a VLAN.
    Vlan,
    /// IPFIX `layer2SegmentId` (RFC 7133): segment type in the top byte (0x01: VXLAN), the VNI
    /// below; 0 (a reserved type) when the flow's segment is not a bridge-domain.
    Layer2Segment,
    Direction,
    /// `type << 8 | code` for ICMP and ICMPv6 flows (the `dst_port` then), 0 for others.
    IcmpTypeCode,
}

/// One `(field type, length)` pair of a template and the value it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    /// The IPFIX information element id or NetFlow v9 field type.
    pub id: u16,
    /// Bytes on the wire.
    pub len: u16,
    pub value: Value,
}

/// A template: its id and fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Template {
    pub id: u16,
    pub fields: &'static [Field],
}

/// The segment type of a VXLAN segment in `layer2SegmentId` (RFC 7133, section 4.9).
const LAYER2_SEGMENT_VXLAN: u64 = 0x01;

impl Template {
    /// Bytes of one data record.
    pub const fn record_len(&self) -> usize {
        let mut total = 0;
        let mut i = 0;
        while i < self.fields.len() {
            total += self.fields[i].len as usize;
            i += 1;
        }
        total
    }

    /// Bytes of this template's definition in a template set: id, field count, then four bytes
    /// per field.
    pub const fn definition_len(&self) -> usize {
        4 + 4 * self.fields.len()
    }

    /// Writes the definition. The caller has reserved [`Self::definition_len`] bytes.
    pub fn write_definition(&self, out: &mut Cursor<'_>) {
        out.put_u16(self.id);
        // Templates are static lists of a few dozen fields at most.
        out.put_u16(self.fields.len() as u16);
        for field in self.fields {
            out.put_u16(field.id);
            out.put_u16(field.len);
        }
    }

    /// Writes `record` as a data record of this template; times of `FirstUptime`/`LastUptime`
    /// fields are counted from `uptime_origin_ms`. The caller has reserved
    /// [`Self::record_len`] bytes and chosen the template of the record's family.
    pub fn write_record(&self, record: &FlowRecord, uptime_origin_ms: u64, out: &mut Cursor<'_>) {
        let uptime = |ms: u64| ms.saturating_sub(uptime_origin_ms) as u32;
        for field in self.fields {
            match field.value {
                Value::SrcAddr => match record.addresses {
                    FlowAddresses::V4 { src, .. } => out.put_bytes(&src.octets()),
                    FlowAddresses::V6 { src, .. } => out.put_bytes(&src.octets()),
                },
                Value::DstAddr => match record.addresses {
                    FlowAddresses::V4 { dst, .. } => out.put_bytes(&dst.octets()),
                    FlowAddresses::V6 { dst, .. } => out.put_bytes(&dst.octets()),
                },
                Value::Protocol => out.put_u8(record.protocol),
                Value::SrcPort => out.put_u16(record.src_port),
                Value::DstPort => out.put_u16(record.dst_port),
                Value::Tos => out.put_u8(record.tos),
                Value::TcpFlags => out.put_u8(record.tcp_flags),
                Value::Packets => out.put_u64(record.packets),
                Value::Bytes => out.put_u64(record.bytes),
                Value::FirstAbsolute => out.put_u64(record.first_ms),
                Value::LastAbsolute => out.put_u64(record.last_ms),
                // Uptime wraps every 49.7 days, as the sysUptime it is relative to does.
                Value::FirstUptime => out.put_u32(uptime(record.first_ms)),
                Value::LastUptime => out.put_u32(uptime(record.last_ms)),
                Value::Input => out.put_u32(record.input_ifindex),
                Value::Output => out.put_u32(record.output_ifindex),
                Value::Vlan => out.put_u16(record.vlan_id.unwrap_or(0)),
                Value::Layer2Segment => out
                    .put_u64(record.segment_id.map_or(0, |vni| LAYER2_SEGMENT_VXLAN << 56 | u64::from(vni))),
                Value::Direction => out.put_u8(record.direction.to_wire()),
                Value::IcmpTypeCode => out.put_u16(if record.is_icmp() { record.dst_port } else { 0 }),
            }
        }
    }
}

/// Shorthand for the static field lists.
pub(crate) const fn field(id: u16, len: u16, value: Value) -> Field {
    Field { id, len, value }
}
