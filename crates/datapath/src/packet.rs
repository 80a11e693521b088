//! The IP header fields that access lists, connection tracking and flow accounting read, parsed
//! once per frame past any 802.1Q tag. Frames that are not IPv4 or IPv6 have none: port ACLs
//! filter IP only (ARP passes).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wire::{EtherType, ipv4, ipv6};

/// One packet's 5-tuple and what else the policy looks at. Addresses are `u128`, IPv4 in the
/// low 32 bits. For ICMP, `src_port` is the echo identifier and `dst_port` is type and code
/// (`type << 8 | code`), so that echo requests and replies pair up as flows do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Packet {
    pub v6: bool,
    pub protocol: u8,
    pub src: u128,
    pub dst: u128,
    pub src_port: u16,
    pub dst_port: u16,
    /// The transport header was read: `false` for non-first fragments and truncated headers.
    pub has_transport: bool,
    pub tcp_flags: u8,
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// IPv4 ToS or IPv6 traffic class.
    pub tos: u8,
    /// Bytes of the IP packet, header included (what flow records count).
    pub ip_len: u16,
}

const ICMP: u8 = 1;
const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMPV6: u8 = 58;
const FRAGMENT: u8 = 44;

impl Packet {
    /// Parses the IP packet after the EtherType at `body[0..2]` (`body` starts where the
    /// forwarding's `body_offset` points). `None` if it is not IP or its header is short.
    #[inline]
    pub fn parse(body: &[u8]) -> Option<Self> {
        let ethertype = EtherType(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
        let l3 = body.get(2..)?;
        if ethertype == EtherType::IPV4 {
            Self::parse_v4(l3)
        } else if ethertype == EtherType::IPV6 {
            Self::parse_v6(l3)
        } else {
            None
        }
    }

    fn parse_v4(l3: &[u8]) -> Option<Self> {
        let packet = ipv4::Packet::new_checked(l3).ok()?;
        let mut parsed = Self {
            v6: false,
            protocol: packet.next_header().0,
            src: u128::from(u32::from(packet.src_addr())),
            dst: u128::from(u32::from(packet.dst_addr())),
            tos: l3[1],
            ip_len: packet.total_len(),
            ..Self::default()
        };
        if packet.frag_offset() == 0 {
            parsed.read_transport(packet.payload());
        }
        Some(parsed)
    }

    fn parse_v6(l3: &[u8]) -> Option<Self> {
        let packet = ipv6::Packet::new_checked(l3).ok()?;
        let mut parsed = Self {
            v6: true,
            protocol: packet.next_header().0,
            src: u128::from(packet.src_addr()),
            dst: u128::from(packet.dst_addr()),
            tos: packet.traffic_class(),
            ip_len: packet.payload_len().saturating_add(ipv6::HEADER_LEN as u16),
            ..Self::default()
        };
        let upper = upper_layer(packet.next_header().0, packet.payload())?;
        parsed.protocol = upper.protocol;
        if upper.later_fragment {
            return Some(parsed);
        }
        let payload = upper.payload;
        parsed.read_transport(payload);
        Some(parsed)
    }

    fn read_transport(&mut self, l4: &[u8]) {
        let u16_at = |at: usize| Some(u16::from_be_bytes([*l4.get(at)?, *l4.get(at + 1)?]));
        match self.protocol {
            TCP | UDP => {
                let (Some(src), Some(dst)) = (u16_at(0), u16_at(2)) else { return };
                if self.protocol == TCP {
                    let Some(&flags) = l4.get(13) else { return };
                    self.tcp_flags = flags;
                }
                (self.src_port, self.dst_port, self.has_transport) = (src, dst, true);
            }
            ICMP | ICMPV6 => {
                let (Some(&kind), Some(&code)) = (l4.first(), l4.get(1)) else { return };
                (self.icmp_type, self.icmp_code, self.has_transport) = (kind, code, true);
                self.dst_port = u16::from(kind) << 8 | u16::from(code);
                if echo_reply_of(kind, self.v6).is_some() || echo_request_of(kind, self.v6).is_some() {
                    self.src_port = u16_at(4).unwrap_or(0);
                }
            }
            _ => {}
        }
    }

    /// Whether replies can be tracked: TCP, UDP, ICMP echo requests, and other protocols by
    /// addresses (not non-first fragments of TCP/UDP, which carry no ports).
    pub fn trackable(&self) -> bool {
        match self.protocol {
            TCP | UDP => self.has_transport,
            ICMP | ICMPV6 => self.has_transport && echo_reply_of(self.icmp_type, self.v6).is_some(),
            _ => true,
        }
    }
}

/// A `u128` address back as an `IpAddr`.
pub(crate) fn ip(addr: u128, v6: bool) -> IpAddr {
    if v6 { IpAddr::V6(Ipv6Addr::from(addr)) } else { IpAddr::V4(Ipv4Addr::from(addr as u32)) }
}

/// The echo reply type answering echo request `kind`.
pub(crate) fn echo_reply_of(kind: u8, v6: bool) -> Option<u8> {
    match (kind, v6) {
        (8, false) => Some(0),
        (128, true) => Some(129),
        _ => None,
    }
}

fn echo_request_of(kind: u8, v6: bool) -> Option<u8> {
    match (kind, v6) {
        (0, false) => Some(8),
        (129, true) => Some(128),
        _ => None,
    }
}

/// An IPv6 packet's upper layer, past its extension headers.
pub(crate) struct UpperLayer<'a> {
    /// The upper-layer protocol (the last Next Header).
    pub protocol: u8,
    /// Its bytes (empty of meaning in a later fragment).
    pub payload: &'a [u8],
    /// A fragment header was crossed.
    pub fragmented: bool,
    /// A fragment other than the first: the upper layer's header is elsewhere.
    pub later_fragment: bool,
}

/// Walks the extension headers (hop-by-hop, routing, destination options, fragment) after an
/// IPv6 header whose Next Header is `next_header`, at most four; `None` when they are cut short.
/// More than four deep, `protocol` is still an extension header's number.
/// Whether an IPv6 Next Header value names an extension header this walk crosses.
pub(crate) const fn is_extension_header(protocol: u8) -> bool {
    matches!(protocol, 0 | 43 | 44 | 60)
}

pub(crate) fn upper_layer(next_header: u8, mut payload: &[u8]) -> Option<UpperLayer<'_>> {
    let mut upper = UpperLayer { protocol: next_header, payload, fragmented: false, later_fragment: false };
    for _ in 0..4 {
        match upper.protocol {
            0 | 43 | 60 => {
                let len = (usize::from(*payload.get(1)?) + 1) * 8;
                upper.protocol = *payload.first()?;
                payload = payload.get(len..)?;
            }
            FRAGMENT => {
                let offset = u16::from_be_bytes([*payload.get(2)?, *payload.get(3)?]) & !7;
                upper.protocol = *payload.first()?;
                upper.fragmented = true;
                if offset != 0 {
                    upper.later_fragment = true;
                    return Some(upper);
                }
                payload = payload.get(8..)?;
            }
            _ => {
                upper.payload = payload;
                return Some(upper);
            }
        }
    }
    // Still an extension header after four: `protocol` says so, and no upper layer is read.
    upper.payload = payload;
    Some(upper)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::MacAddr;
    use wire::build::{self, Ipv4Pair, L2};

    #[test]
    fn reads_udp_past_a_tag_and_ignores_arp() {
        let mut buf = [0u8; 128];
        let l2 = L2::tagged(MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2]), wire::Tci::vlan(100));
        let ips = Ipv4Pair { src: Ipv4Addr::new(10, 0, 0, 1), dst: Ipv4Addr::new(10, 0, 0, 2) };
        let len = build::udp_ipv4(&mut buf, &l2, &ips, (1000, 53), &[0; 4]).expect("fits");
        let packet = Packet::parse(&buf[16..len]).expect("IPv4");
        assert_eq!(
            (packet.protocol, packet.src_port, packet.dst_port, packet.has_transport),
            (17, 1000, 53, true)
        );
        assert_eq!(ip(packet.dst, packet.v6), IpAddr::V4(ips.dst));
        assert_eq!(Packet::parse(&[0x08, 0x06, 0, 1]), None);
        // A non-first fragment: addresses and protocol, no ports.
        let mut fragment = buf;
        ipv4::Packet::new_unchecked(&mut fragment[18..len]).set_fragment(false, false, 64);
        let packet = Packet::parse(&fragment[16..len]).expect("IPv4");
        assert_eq!((packet.protocol, packet.src_port, packet.has_transport), (17, 0, false));
    }
}
