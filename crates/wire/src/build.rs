//! Builders: whole frames (Ethernet, optional 802.1Q tag, and what they carry) written into a
//! caller's buffer from `Repr`s. Each returns the frame length, or `BufferTooSmall`.

use core::net::Ipv4Addr;

use crate::checksum::PseudoHeader;
use crate::ethernet::{self, EtherType};
use crate::ip::IpProtocol;
use crate::vlan::{self, Tci};
use crate::{Error, MacAddr, Result, arp, icmpv4, ipv4, udp, vxlan};

/// The time to live builders give IPv4 packets (Linux's default).
pub const DEFAULT_TTL: u8 = 64;

/// The layer-2 header of a frame to build: addresses and an optional 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2 {
    /// Source MAC.
    pub src: MacAddr,
    /// Destination MAC.
    pub dst: MacAddr,
    /// The tag to carry, if any.
    pub vlan: Option<Tci>,
}

impl L2 {
    /// An untagged header.
    pub const fn untagged(src: MacAddr, dst: MacAddr) -> Self {
        Self { src, dst, vlan: None }
    }

    /// A header tagged with `tci`.
    pub const fn tagged(src: MacAddr, dst: MacAddr, tci: Tci) -> Self {
        Self { src, dst, vlan: Some(tci) }
    }

    /// Bytes the header takes: 14, or 18 with a tag.
    pub const fn header_len(&self) -> usize {
        if self.vlan.is_some() { vlan::TAGGED_HEADER_LEN } else { ethernet::HEADER_LEN }
    }

    /// Writes the header for a payload of `ethertype` and returns the payload, checking first
    /// that `buf` holds header and `payload_len` bytes.
    pub fn emit<'b>(
        &self,
        buf: &'b mut [u8],
        ethertype: EtherType,
        payload_len: usize,
    ) -> Result<&'b mut [u8]> {
        let total = self.header_len() + payload_len;
        if buf.len() < total {
            return Err(Error::BufferTooSmall { needed: total, available: buf.len() });
        }
        let buf = &mut buf[..total];
        let mut frame = ethernet::Frame::new_unchecked(&mut *buf);
        let outer_ethertype = if self.vlan.is_some() { EtherType::VLAN } else { ethertype };
        ethernet::Repr { src_addr: self.src, dst_addr: self.dst, ethertype: outer_ethertype }
            .emit(&mut frame);
        if let Some(tci) = self.vlan {
            vlan::Repr { tci, ethertype }.emit(&mut vlan::Tag::new_unchecked(frame.payload_mut()));
        }
        Ok(&mut buf[self.header_len()..])
    }
}

/// An ARP packet in a frame.
pub fn arp(buf: &mut [u8], l2: &L2, repr: &arp::Repr) -> Result<usize> {
    let payload = l2.emit(buf, EtherType::ARP, repr.buffer_len())?;
    repr.emit(&mut arp::Packet::new_unchecked(payload));
    Ok(l2.header_len() + repr.buffer_len())
}

/// The IPv4 addresses of a packet to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Pair {
    /// Source.
    pub src: Ipv4Addr,
    /// Destination.
    pub dst: Ipv4Addr,
}

impl Ipv4Pair {
    fn pseudo_header(&self) -> PseudoHeader {
        PseudoHeader::V4 { src: self.src, dst: self.dst }
    }
}

/// Writes Ethernet and IPv4 headers for a `payload_len`-byte payload of `protocol`, then lets
/// `fill` write the payload.
fn ipv4_frame(
    buf: &mut [u8],
    l2: &L2,
    ip: &Ipv4Pair,
    protocol: IpProtocol,
    payload_len: usize,
    fill: impl FnOnce(&mut [u8]),
) -> Result<usize> {
    let too_big =
        Error::BufferTooSmall { needed: ipv4::HEADER_LEN + payload_len, available: usize::from(u16::MAX) };
    let payload_len_u16 = u16::try_from(payload_len).ok().filter(|&len| len <= ipv4::Repr::MAX_PAYLOAD_LEN);
    let payload_len_u16 = payload_len_u16.ok_or(too_big)?;
    let repr = ipv4::Repr {
        src_addr: ip.src,
        dst_addr: ip.dst,
        next_header: protocol,
        payload_len: payload_len_u16,
        hop_limit: DEFAULT_TTL,
    };
    let packet_buf = l2.emit(buf, EtherType::IPV4, repr.buffer_len() + payload_len)?;
    let mut packet = ipv4::Packet::new_unchecked(packet_buf);
    repr.emit(&mut packet);
    fill(packet.payload_mut());
    Ok(l2.header_len() + repr.buffer_len() + payload_len)
}

/// An ICMPv4 echo message in IPv4 in a frame.
pub fn icmpv4(buf: &mut [u8], l2: &L2, ip: &Ipv4Pair, repr: &icmpv4::Repr<'_>) -> Result<usize> {
    ipv4_frame(buf, l2, ip, IpProtocol::ICMP, repr.buffer_len(), |payload| {
        repr.emit(&mut icmpv4::Packet::new_unchecked(payload));
    })
}

/// A UDP datagram carrying `payload` in IPv4 in a frame, checksum filled.
pub fn udp_ipv4(buf: &mut [u8], l2: &L2, ip: &Ipv4Pair, ports: (u16, u16), payload: &[u8]) -> Result<usize> {
    udp_ipv4_with(buf, l2, ip, ports, payload.len(), |out| out.copy_from_slice(payload))
}

fn udp_ipv4_with(
    buf: &mut [u8],
    l2: &L2,
    ip: &Ipv4Pair,
    (src_port, dst_port): (u16, u16),
    payload_len: usize,
    fill: impl FnOnce(&mut [u8]),
) -> Result<usize> {
    let too_big =
        Error::BufferTooSmall { needed: udp::HEADER_LEN + payload_len, available: usize::from(u16::MAX) };
    let payload_len_u16 = u16::try_from(payload_len).ok().filter(|&len| len <= udp::Repr::MAX_PAYLOAD_LEN);
    let repr = udp::Repr { src_port, dst_port, payload_len: payload_len_u16.ok_or(too_big)? };
    let pseudo = ip.pseudo_header();
    ipv4_frame(buf, l2, ip, IpProtocol::UDP, repr.buffer_len() + payload_len, |datagram| {
        let mut packet = udp::Packet::new_unchecked(datagram);
        repr.emit(&mut packet);
        fill(packet.payload_mut());
        packet.fill_checksum(&pseudo);
    })
}

/// An inner Ethernet frame in VXLAN in UDP (to port 4789) in IPv4 in an outer frame: what a VTEP
/// sends. `src_port` should be a hash of the inner flow, so the underlay spreads flows.
pub fn vxlan_ipv4(
    buf: &mut [u8],
    outer: &L2,
    ip: &Ipv4Pair,
    src_port: u16,
    vni: vxlan::Vni,
    inner: &[u8],
) -> Result<usize> {
    let repr = vxlan::Repr { vni };
    udp_ipv4_with(buf, outer, ip, (src_port, vxlan::UDP_PORT), repr.buffer_len() + inner.len(), |payload| {
        let mut packet = vxlan::Packet::new_unchecked(payload);
        repr.emit(&mut packet);
        packet.payload_mut().copy_from_slice(inner);
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The two hosts of the captured frames the tests build and describe.
    pub(crate) const A: MacAddr = MacAddr([0x00, 0x50, 0x56, 0xb3, 0x06, 0xd1]);
    pub(crate) const B: MacAddr = MacAddr([0x00, 0x50, 0x56, 0xb3, 0x07, 0x02]);
    pub(crate) const IPS: Ipv4Pair =
        Ipv4Pair { src: Ipv4Addr::new(10, 0, 0, 1), dst: Ipv4Addr::new(10, 0, 0, 2) };

    #[test]
    fn builds_the_captured_ping() {
        let mut buf = [0u8; 128];
        let l2 = L2::untagged(A, B);
        let echo = icmpv4::Repr::EchoRequest { ident: 42, seq_no: 1, data: b"abcdefgh" };
        let len = icmpv4(&mut buf, &l2, &IPS, &echo).expect("fits");
        assert_eq!(len, 14 + 36);
        let mut expected = ipv4::tests::PING;
        // The capture came from a kernel that numbers packets; builders use identification 0.
        ipv4::Packet::new_unchecked(&mut expected[..]).set_ident(0);
        ipv4::Packet::new_unchecked(&mut expected[..]).fill_checksum();
        assert_eq!(&buf[14..len], &expected[..]);
        assert_eq!(&buf[12..14], &[0x08, 0x00]);
    }

    #[test]
    fn tags_when_asked() {
        let mut buf = [0u8; 64];
        let request = arp::Repr {
            operation: arp::Operation::REQUEST,
            source_hardware_addr: A,
            source_protocol_addr: IPS.src,
            target_hardware_addr: MacAddr::ZERO,
            target_protocol_addr: IPS.dst,
        };
        let len = arp(&mut buf, &L2::tagged(A, MacAddr::BROADCAST, Tci::vlan(100)), &request).expect("fits");
        assert_eq!(len, 18 + 28);
        assert_eq!(&buf[12..18], &[0x81, 0x00, 0x00, 0x64, 0x08, 0x06]);
        let parsed = arp::Repr::parse(&arp::Packet::new_checked(&buf[18..len]).expect("checks"));
        assert_eq!(parsed, Ok(request));
    }

    #[test]
    fn refuses_small_buffers() {
        let mut buf = [0u8; 40];
        assert_eq!(
            udp_ipv4(&mut buf, &L2::untagged(A, B), &IPS, (1, 2), b"x"),
            Err(Error::BufferTooSmall { needed: 43, available: 40 })
        );
    }

    #[test]
    fn wraps_frames_in_vxlan() {
        let mut inner = [0u8; 60];
        let inner_len = udp_ipv4(&mut inner, &L2::untagged(A, B), &IPS, (5000, 53), b"hello").expect("fits");
        let mut buf = [0u8; 200];
        let vni = vxlan::Vni::new(5000).expect("24-bit");
        let len =
            vxlan_ipv4(&mut buf, &L2::untagged(B, A), &IPS, 49152, vni, &inner[..inner_len]).expect("fits");
        assert_eq!(len, 14 + 20 + 8 + 8 + inner_len);
        let ip = ipv4::Packet::new_checked(&buf[14..len]).expect("ip");
        let udp = udp::Packet::new_checked(ip.payload()).expect("udp");
        assert!(udp.verify_checksum(&IPS.pseudo_header()));
        assert_eq!(udp.dst_port(), vxlan::UDP_PORT);
        let vx = vxlan::Packet::new_checked(udp.payload()).expect("vxlan");
        assert_eq!(vxlan::Repr::parse(&vx).map(|r| r.vni), Ok(vni));
        assert_eq!(vx.payload(), &inner[..inner_len]);
    }
}
