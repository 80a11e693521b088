//! The flow record both encoders take: what one flow looked like over one reporting interval.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A flow's source and destination, of one address family: a flow never mixes them, and the
/// family picks the template its record travels in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowAddresses {
    /// An IPv4 flow.
    V4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
    },
    /// An IPv6 flow.
    V6 {
        /// Source address.
        src: Ipv6Addr,
        /// Destination address.
        dst: Ipv6Addr,
    },
}

impl FlowAddresses {
    /// The source address.
    pub const fn src(&self) -> IpAddr {
        match *self {
            Self::V4 { src, .. } => IpAddr::V4(src),
            Self::V6 { src, .. } => IpAddr::V6(src),
        }
    }

    /// The destination address.
    pub const fn dst(&self) -> IpAddr {
        match *self {
            Self::V4 { dst, .. } => IpAddr::V4(dst),
            Self::V6 { dst, .. } => IpAddr::V6(dst),
        }
    }
}

/// Which way the flow crossed the port it was observed on (IPFIX `flowDirection`, NetFlow v9
/// `DIRECTION`): the `input` / `output` of `ip flow monitor MON input|output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowDirection {
    /// Observed entering the switch (from the container): 0 on the wire.
    Ingress,
    /// Observed leaving the switch (towards the container): 1 on the wire.
    Egress,
}

impl FlowDirection {
    /// The value IPFIX and NetFlow v9 carry.
    pub const fn to_wire(self) -> u8 {
        match self {
            Self::Ingress => 0,
            Self::Egress => 1,
        }
    }

    /// The direction a wire value names; anything but 1 reads as ingress, as collectors do.
    pub const fn from_wire(value: u8) -> Self {
        if value == 1 { Self::Egress } else { Self::Ingress }
    }
}

/// One flow as exported: the `netflow-original` record (5-tuple, ToS, counters, first/last seen,
/// interfaces, segment).
///
/// Times are absolute milliseconds since the UNIX epoch; the caller converts from its own clock
/// (the datapath's clock is monotonic), so the encoders never read one. Interface indexes are the
/// caller's: the agent uses the port's LTL number (see `agent::flow_export`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowRecord {
    /// Source and destination addresses.
    pub addresses: FlowAddresses,
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, …).
    pub protocol: u8,
    /// Source transport port; 0 for protocols without ports.
    pub src_port: u16,
    /// Destination transport port; for ICMP and ICMPv6 `type << 8 | code`, as NetFlow does.
    pub dst_port: u16,
    /// IPv4 ToS byte or IPv6 traffic class, as seen on the flow's first packet.
    pub tos: u8,
    /// The OR of the TCP flags of every packet of the flow; 0 for other protocols.
    pub tcp_flags: u8,
    /// Packets in this reporting interval.
    pub packets: u64,
    /// Bytes (IP header and payload) in this reporting interval.
    pub bytes: u64,
    /// First packet, milliseconds since the UNIX epoch.
    pub first_ms: u64,
    /// Last packet, milliseconds since the UNIX epoch.
    pub last_ms: u64,
    /// The interface the flow entered by.
    pub input_ifindex: u32,
    /// The interface the flow left by; 0 when unknown (flooded, dropped).
    pub output_ifindex: u32,
    /// The VLAN, when the flow's segment is one.
    pub vlan_id: Option<u16>,
    /// The VXLAN segment id (VNI), when the flow's segment is a bridge-domain.
    pub segment_id: Option<u32>,
    /// Which way the flow crossed the observing port.
    pub direction: FlowDirection,
}

impl FlowRecord {
    /// `dst_port` for an ICMP or ICMPv6 flow of `icmp_type` and `code`.
    pub const fn icmp_port(icmp_type: u8, code: u8) -> u16 {
        (icmp_type as u16) << 8 | code as u16
    }

    /// Whether the flow is ICMP (protocol 1) or ICMPv6 (58), whose `dst_port` is a type and code.
    pub const fn is_icmp(&self) -> bool {
        matches!(self.protocol, 1 | 58)
    }
}
