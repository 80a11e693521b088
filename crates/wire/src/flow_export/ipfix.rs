//! IPFIX (RFC 7011) message layout and the `netflow-original` templates in IPFIX information
//! elements (RFC 7012, IANA "IPFIX Information Elements").

use super::template::{Field, TEMPLATE_ID_V4, TEMPLATE_ID_V6, Template, Value, field};

/// The version number of an IPFIX message header.
pub const VERSION: u16 = 10;
/// Length of the message header: version, length, export time, sequence, observation domain.
pub const HEADER_LEN: usize = 16;
/// The set id of a template set.
pub const TEMPLATE_SET_ID: u16 = 2;

/// Information element ids the templates use (IANA registry).
pub mod ie {
    /// `octetDeltaCount`.
    pub const OCTET_DELTA_COUNT: u16 = 1;
    /// `packetDeltaCount`.
    pub const PACKET_DELTA_COUNT: u16 = 2;
    /// `protocolIdentifier`.
    pub const PROTOCOL_IDENTIFIER: u16 = 4;
    /// `ipClassOfService`.
    pub const IP_CLASS_OF_SERVICE: u16 = 5;
    /// `tcpControlBits`.
    pub const TCP_CONTROL_BITS: u16 = 6;
    /// `sourceTransportPort`.
    pub const SOURCE_TRANSPORT_PORT: u16 = 7;
    /// `sourceIPv4Address`.
    pub const SOURCE_IPV4_ADDRESS: u16 = 8;
    /// `ingressInterface`.
    pub const INGRESS_INTERFACE: u16 = 10;
    /// `destinationTransportPort`.
    pub const DESTINATION_TRANSPORT_PORT: u16 = 11;
    /// `destinationIPv4Address`.
    pub const DESTINATION_IPV4_ADDRESS: u16 = 12;
    /// `egressInterface`.
    pub const EGRESS_INTERFACE: u16 = 14;
    /// `sourceIPv6Address`.
    pub const SOURCE_IPV6_ADDRESS: u16 = 27;
    /// `destinationIPv6Address`.
    pub const DESTINATION_IPV6_ADDRESS: u16 = 28;
    /// `icmpTypeCodeIPv4`: type << 8 | code.
    pub const ICMP_TYPE_CODE_IPV4: u16 = 32;
    /// `vlanId`.
    pub const VLAN_ID: u16 = 58;
    /// `flowDirection`.
    pub const FLOW_DIRECTION: u16 = 61;
    /// `icmpTypeCodeIPv6`: type << 8 | code.
    pub const ICMP_TYPE_CODE_IPV6: u16 = 139;
    /// `flowStartMilliseconds`.
    pub const FLOW_START_MILLISECONDS: u16 = 152;
    /// `flowEndMilliseconds`.
    pub const FLOW_END_MILLISECONDS: u16 = 153;
    /// `layer2SegmentId` (RFC 7133): segment type in the top byte, 0x01 for a VXLAN VNI.
    pub const LAYER2_SEGMENT_ID: u16 = 351;
}

/// The fields after the addresses, the same for both families.
macro_rules! common_fields {
    () => {
        [
            field(ie::SOURCE_TRANSPORT_PORT, 2, Value::SrcPort),
            field(ie::DESTINATION_TRANSPORT_PORT, 2, Value::DstPort),
            field(ie::PROTOCOL_IDENTIFIER, 1, Value::Protocol),
            field(ie::IP_CLASS_OF_SERVICE, 1, Value::Tos),
            field(ie::TCP_CONTROL_BITS, 1, Value::TcpFlags),
            field(ie::PACKET_DELTA_COUNT, 8, Value::Packets),
            field(ie::OCTET_DELTA_COUNT, 8, Value::Bytes),
            field(ie::FLOW_START_MILLISECONDS, 8, Value::FirstAbsolute),
            field(ie::FLOW_END_MILLISECONDS, 8, Value::LastAbsolute),
            field(ie::INGRESS_INTERFACE, 4, Value::Input),
            field(ie::EGRESS_INTERFACE, 4, Value::Output),
            field(ie::VLAN_ID, 2, Value::Vlan),
            field(ie::LAYER2_SEGMENT_ID, 8, Value::Layer2Segment),
            field(ie::FLOW_DIRECTION, 1, Value::Direction),
        ]
    };
}

const fn with_addresses(src: Field, dst: Field, icmp: Field) -> [Field; 17] {
    let common: [Field; 14] = common_fields!();
    let mut out = [src; 17];
    out[1] = dst;
    out[16] = icmp;
    let mut i = 0;
    while i < common.len() {
        out[i + 2] = common[i];
        i += 1;
    }
    out
}

const V4_FIELDS: [Field; 17] = with_addresses(
    field(ie::SOURCE_IPV4_ADDRESS, 4, Value::SrcAddr),
    field(ie::DESTINATION_IPV4_ADDRESS, 4, Value::DstAddr),
    field(ie::ICMP_TYPE_CODE_IPV4, 2, Value::IcmpTypeCode),
);
const V6_FIELDS: [Field; 17] = with_addresses(
    field(ie::SOURCE_IPV6_ADDRESS, 16, Value::SrcAddr),
    field(ie::DESTINATION_IPV6_ADDRESS, 16, Value::DstAddr),
    field(ie::ICMP_TYPE_CODE_IPV6, 2, Value::IcmpTypeCode),
);

/// The IPv4 template.
pub(crate) const V4: Template = Template { id: TEMPLATE_ID_V4, fields: &V4_FIELDS };
/// The IPv6 template.
pub(crate) const V6: Template = Template { id: TEMPLATE_ID_V6, fields: &V6_FIELDS };

/// The message header's values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    /// The whole message's length.
    pub length: u16,
    /// Seconds since the UNIX epoch.
    pub export_time: u32,
    /// Data records sent in earlier messages of this session, modulo 2^32.
    pub sequence: u32,
    pub observation_domain: u32,
}

impl Header {
    /// Writes the header over the first [`HEADER_LEN`] bytes of `buf`.
    pub fn write(&self, buf: &mut [u8]) {
        buf[0..2].copy_from_slice(&VERSION.to_be_bytes());
        buf[2..4].copy_from_slice(&self.length.to_be_bytes());
        buf[4..8].copy_from_slice(&self.export_time.to_be_bytes());
        buf[8..12].copy_from_slice(&self.sequence.to_be_bytes());
        buf[12..16].copy_from_slice(&self.observation_domain.to_be_bytes());
    }
}
