//! NetFlow version 9 (RFC 3954) packet layout and the `netflow-original` templates in v9 field
//! types.
//!
//! v9 has no field for a VXLAN segment (`layer2SegmentId` is IPFIX-only), so v9 records carry
//! the VLAN and leave the VNI out; times are milliseconds of the exporter's uptime, as the
//! header's `sysUptime` is.

use super::template::{Field, TEMPLATE_ID_V4, TEMPLATE_ID_V6, Template, Value, field};

/// The version number of a NetFlow v9 packet header.
pub const VERSION: u16 = 9;
/// Length of the packet header: version, count, sysUptime, unix secs, sequence, source id.
pub const HEADER_LEN: usize = 20;
/// The flowset id of a template flowset.
pub const TEMPLATE_FLOWSET_ID: u16 = 0;

/// Field types the templates use (RFC 3954 section 8).
pub mod field_type {
    /// `IN_BYTES`.
    pub const IN_BYTES: u16 = 1;
    /// `IN_PKTS`.
    pub const IN_PKTS: u16 = 2;
    /// `PROTOCOL`.
    pub const PROTOCOL: u16 = 4;
    /// `SRC_TOS`.
    pub const SRC_TOS: u16 = 5;
    /// `TCP_FLAGS`.
    pub const TCP_FLAGS: u16 = 6;
    /// `L4_SRC_PORT`.
    pub const L4_SRC_PORT: u16 = 7;
    /// `IPV4_SRC_ADDR`.
    pub const IPV4_SRC_ADDR: u16 = 8;
    /// `INPUT_SNMP`.
    pub const INPUT_SNMP: u16 = 10;
    /// `L4_DST_PORT`.
    pub const L4_DST_PORT: u16 = 11;
    /// `IPV4_DST_ADDR`.
    pub const IPV4_DST_ADDR: u16 = 12;
    /// `OUTPUT_SNMP`.
    pub const OUTPUT_SNMP: u16 = 14;
    /// `LAST_SWITCHED`: sysUptime in ms at the flow's last packet.
    pub const LAST_SWITCHED: u16 = 21;
    /// `FIRST_SWITCHED`: sysUptime in ms at the flow's first packet.
    pub const FIRST_SWITCHED: u16 = 22;
    /// `IPV6_SRC_ADDR`.
    pub const IPV6_SRC_ADDR: u16 = 27;
    /// `IPV6_DST_ADDR`.
    pub const IPV6_DST_ADDR: u16 = 28;
    /// `ICMP_TYPE`: type * 256 + code, for ICMP and ICMPv6 alike (v9 has no ICMPv6 field).
    /// Collectors (nfdump) read an ICMP flow's type and code here, not in `L4_DST_PORT`.
    pub const ICMP_TYPE: u16 = 32;
    /// `SRC_VLAN`.
    pub const SRC_VLAN: u16 = 58;
    /// `DIRECTION`: 0 ingress, 1 egress.
    pub const DIRECTION: u16 = 61;
}

use field_type as ft;

/// The fields after the addresses, the same for both families.
macro_rules! common_fields {
    () => {
        [
            field(ft::L4_SRC_PORT, 2, Value::SrcPort),
            field(ft::L4_DST_PORT, 2, Value::DstPort),
            field(ft::PROTOCOL, 1, Value::Protocol),
            field(ft::SRC_TOS, 1, Value::Tos),
            field(ft::TCP_FLAGS, 1, Value::TcpFlags),
            field(ft::IN_PKTS, 8, Value::Packets),
            field(ft::IN_BYTES, 8, Value::Bytes),
            field(ft::FIRST_SWITCHED, 4, Value::FirstUptime),
            field(ft::LAST_SWITCHED, 4, Value::LastUptime),
            field(ft::INPUT_SNMP, 4, Value::Input),
            field(ft::OUTPUT_SNMP, 4, Value::Output),
            field(ft::SRC_VLAN, 2, Value::Vlan),
            field(ft::DIRECTION, 1, Value::Direction),
        ]
    };
}

const fn with_addresses(src: Field, dst: Field, icmp: Field) -> [Field; 16] {
    let common: [Field; 13] = common_fields!();
    let mut out = [src; 16];
    out[1] = dst;
    out[15] = icmp;
    let mut i = 0;
    while i < common.len() {
        out[i + 2] = common[i];
        i += 1;
    }
    out
}

const V4_FIELDS: [Field; 16] = with_addresses(
    field(ft::IPV4_SRC_ADDR, 4, Value::SrcAddr),
    field(ft::IPV4_DST_ADDR, 4, Value::DstAddr),
    field(ft::ICMP_TYPE, 2, Value::IcmpTypeCode),
);
const V6_FIELDS: [Field; 16] = with_addresses(
    field(ft::IPV6_SRC_ADDR, 16, Value::SrcAddr),
    field(ft::IPV6_DST_ADDR, 16, Value::DstAddr),
    field(ft::ICMP_TYPE, 2, Value::IcmpTypeCode),
);

/// The IPv4 template.
pub(crate) const V4: Template = Template { id: TEMPLATE_ID_V4, fields: &V4_FIELDS };
/// The IPv6 template.
pub(crate) const V6: Template = Template { id: TEMPLATE_ID_V6, fields: &V6_FIELDS };

/// The packet header's values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    /// Template and data records in this packet.
    pub count: u16,
    /// Milliseconds since the exporter's uptime origin, modulo 2^32.
    pub sys_uptime: u32,
    /// Seconds since the UNIX epoch.
    pub unix_secs: u32,
    /// Export packets sent before this one in this session, modulo 2^32.
    pub sequence: u32,
    pub source_id: u32,
}

impl Header {
    /// Writes the header over the first [`HEADER_LEN`] bytes of `buf`.
    pub fn write(&self, buf: &mut [u8]) {
        buf[0..2].copy_from_slice(&VERSION.to_be_bytes());
        buf[2..4].copy_from_slice(&self.count.to_be_bytes());
        buf[4..8].copy_from_slice(&self.sys_uptime.to_be_bytes());
        buf[8..12].copy_from_slice(&self.unix_secs.to_be_bytes());
        buf[12..16].copy_from_slice(&self.sequence.to_be_bytes());
        buf[16..20].copy_from_slice(&self.source_id.to_be_bytes());
    }
}
