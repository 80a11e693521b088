//! Software offloads: what a NIC (or the kernel on its way out) would still do to a frame that
//! arrived with a virtio-net header — finish a partial L4 checksum, cut a TCP "super-frame" into
//! MSS-sized segments — done here for frames that leave through a path that cannot do it,
//! such as a VXLAN tunnel socket.
//!
//! [`Offload`] holds the header's facts; [`finish_checksum`] completes a partial checksum in
//! place; a [`Segmenter`] yields one segment at a time as fresh headers written into the
//! caller's [`HeaderBuf`] plus a slice of the original payload, so nothing is allocated and the
//! payload is never copied (a gathering send takes both pieces).
//!
//! Pure and panic-free on any input: whatever the header claims is checked against the frame.

use core::fmt;

use crate::bytes::{read_u16, read_u32, write_u16, write_u32};
use crate::checksum::{self, PseudoHeader};
use crate::ethernet::{self, EtherType};
use crate::ip::IpProtocol;
use crate::tcp::{self, Flags};
use crate::{ipv4, ipv6, vlan};

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the L4 checksum is partial.
pub const VIRTIO_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_GSO_TCPV4`.
pub const VIRTIO_GSO_TCPV4: u8 = 1;
/// `VIRTIO_NET_HDR_GSO_UDP` (UFO), not supported.
pub const VIRTIO_GSO_UDP: u8 = 3;
/// `VIRTIO_NET_HDR_GSO_TCPV6`.
pub const VIRTIO_GSO_TCPV6: u8 = 4;
/// `VIRTIO_NET_HDR_GSO_UDP_L4` (USO), not supported.
pub const VIRTIO_GSO_UDP_L4: u8 = 5;
/// `VIRTIO_NET_HDR_GSO_ECN`: a flag bit of the GSO type (the first segment carries CWR).
pub const VIRTIO_GSO_ECN: u8 = 0x80;

/// The most 802.1Q/802.1ad tags a segmented frame may carry.
const MAX_TAGS: usize = 2;
/// The longest headers a segment can have: Ethernet, two tags, IPv4 and TCP with full options.
pub const MAX_HEADER_LEN: usize = ethernet::HEADER_LEN + MAX_TAGS * vlan::TAG_LEN + 60 + 60;

/// Where a segment's headers are written: one per segment in flight, reused.
pub type HeaderBuf = [u8; MAX_HEADER_LEN];

/// Why a frame's offloads cannot be done. The caller drops the frame and counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GsoError {
    /// A GSO type other than TCPv4/TCPv6 (UDP fragmentation offload, USO, or unknown).
    #[error("unsupported GSO type {0:#04x} (only TCPv4 and TCPv6 are segmented)")]
    UnsupportedType(u8),
    /// GSO requested with a segment size of zero.
    #[error("GSO segment size is zero")]
    ZeroSegmentSize,
    /// The partial checksum's start or field lies outside the frame.
    #[error("partial checksum at {start}+{offset} lies outside the {len}-byte frame")]
    ChecksumOutOfFrame {
        /// `csum_start`.
        start: u16,
        /// `csum_offset`.
        offset: u16,
        /// The frame's length.
        len: usize,
    },
    /// The frame is not what its GSO type says, e.g. `"TCPv4 GSO frame: not IPv4"`.
    #[error("malformed {0}")]
    Malformed(&'static str),
}

/// The kind of segmentation owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GsoKind {
    /// TCP over IPv4 (TSO).
    TcpV4,
    /// TCP over IPv6 (TSO6).
    TcpV6,
}

/// A segmentation owed: cut the TCP payload into `size`-byte pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gso {
    /// TCP over IPv4 or IPv6.
    pub kind: GsoKind,
    /// Payload bytes per segment (the MSS), not zero.
    pub size: u16,
}

/// A partial L4 checksum owed: sum from `start` to the end of the frame, store at
/// `start + offset`. The field already holds the pseudo-header's sum (as the kernel leaves it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialChecksum {
    /// Where the checksummed bytes start, from the frame's first byte.
    pub start: u16,
    /// Where the checksum field is, from `start`.
    pub offset: u16,
}

/// What a frame still owes, from its virtio-net header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offload {
    /// A partial checksum to finish (`NEEDS_CSUM`).
    pub checksum: Option<PartialChecksum>,
    /// A segmentation to do (a GSO type other than none).
    pub gso: Option<Gso>,
}

impl Offload {
    /// Nothing owed.
    pub const NONE: Self = Self { checksum: None, gso: None };

    /// Reads the facts of a `struct virtio_net_hdr` (fields in host order). `hdr_len` is only
    /// a hint and is not needed: the segmenter reads the headers itself.
    pub fn from_virtio(
        flags: u8,
        gso_type: u8,
        gso_size: u16,
        csum_start: u16,
        csum_offset: u16,
    ) -> Result<Self, GsoError> {
        let checksum = (flags & VIRTIO_NEEDS_CSUM != 0)
            .then_some(PartialChecksum { start: csum_start, offset: csum_offset });
        let kind = match gso_type & !VIRTIO_GSO_ECN {
            0 => return Ok(Self { checksum, gso: None }),
            VIRTIO_GSO_TCPV4 => GsoKind::TcpV4,
            VIRTIO_GSO_TCPV6 => GsoKind::TcpV6,
            _ => return Err(GsoError::UnsupportedType(gso_type)),
        };
        if gso_size == 0 {
            return Err(GsoError::ZeroSegmentSize);
        }
        Ok(Self { checksum, gso: Some(Gso { kind, size: gso_size }) })
    }

    /// `true` if nothing is owed: the frame can be sent as it is.
    pub fn is_none(&self) -> bool {
        self.checksum.is_none() && self.gso.is_none()
    }
}

/// Finishes the partial checksum of `frame` in place: the ones'-complement sum of every byte
/// from `partial.start` to the end (the field's pseudo-header seed included), inverted, goes in
/// the field. A result of zero is sent as `0xffff`, as Linux does (the same value in
/// ones'-complement, and the only form UDP accepts).
pub fn finish_checksum(frame: &mut [u8], partial: PartialChecksum) -> Result<(), GsoError> {
    let start = usize::from(partial.start);
    let field = start + usize::from(partial.offset);
    if field + 2 > frame.len() {
        return Err(GsoError::ChecksumOutOfFrame {
            start: partial.start,
            offset: partial.offset,
            len: frame.len(),
        });
    }
    let sum = !checksum::data(&frame[start..]);
    write_u16(frame, field, if sum == 0 { 0xffff } else { sum });
    Ok(())
}

/// One segment: `headers[..header_len]` of the [`HeaderBuf`] it was written into, then
/// `payload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'f> {
    /// Bytes of headers written at the start of the caller's buffer.
    pub header_len: usize,
    /// The segment's payload, borrowed from the original frame.
    pub payload: &'f [u8],
}

impl Segment<'_> {
    /// The segment's length on the wire.
    pub fn len(&self) -> usize {
        self.header_len + self.payload.len()
    }

    /// `true` if the segment has no bytes at all (never, for a segment a [`Segmenter`] yields).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Cuts one TCP GSO frame into segments, in order. See the module documentation.
#[derive(Debug, Clone)]
pub struct Segmenter<'f> {
    frame: &'f [u8],
    kind: GsoKind,
    size: usize,
    /// Offsets of the IP header, the TCP header and the payload.
    l3: usize,
    l4: usize,
    payload: usize,
    /// Payload bytes already yielded.
    done: usize,
    /// Segments already yielded.
    index: u32,
}

impl<'f> Segmenter<'f> {
    /// Checks that `frame` is Ethernet (up to two tags), then IPv4 (unfragmented) or IPv6
    /// (without extension headers) as `gso.kind` says, then TCP, all within the frame.
    pub fn new(frame: &'f [u8], gso: Gso) -> Result<Self, GsoError> {
        if gso.size == 0 {
            return Err(GsoError::ZeroSegmentSize);
        }
        let l3 = l3_offset(frame)?;
        let (ethertype, what) = match gso.kind {
            GsoKind::TcpV4 => (EtherType::IPV4, "TCPv4 GSO frame: not IPv4"),
            GsoKind::TcpV6 => (EtherType::IPV6, "TCPv6 GSO frame: not IPv6"),
        };
        if EtherType(read_u16(frame, l3 - 2)) != ethertype {
            return Err(GsoError::Malformed(what));
        }
        let ip = frame.get(l3..).unwrap_or_default();
        let l4 = l3
            + match gso.kind {
                GsoKind::TcpV4 => ipv4_header_len(ip)?,
                GsoKind::TcpV6 => ipv6_header_len(ip)?,
            };
        let tcp = frame.get(l4..).unwrap_or_default();
        if tcp.len() < tcp::HEADER_LEN {
            return Err(GsoError::Malformed("GSO frame: TCP header truncated"));
        }
        let tcp_len = usize::from(tcp[tcp::field::FLAGS.start] >> 4) * 4;
        if tcp_len < tcp::HEADER_LEN || tcp_len > tcp.len() {
            return Err(GsoError::Malformed("GSO frame: TCP data offset outside the frame"));
        }
        Ok(Self {
            frame,
            kind: gso.kind,
            size: usize::from(gso.size),
            l3,
            l4,
            payload: l4 + tcp_len,
            done: 0,
            index: 0,
        })
    }

    /// Bytes of headers every segment starts with.
    pub fn header_len(&self) -> usize {
        self.payload
    }

    /// How many segments the frame makes in all (one, if its payload fits in one or is empty).
    pub fn count(&self) -> usize {
        (self.frame.len() - self.payload).div_ceil(self.size).max(1)
    }

    /// Writes the next segment's headers into `headers` and returns it, or `None` when every
    /// segment has been yielded.
    pub fn next_into(&mut self, headers: &mut HeaderBuf) -> Option<Segment<'f>> {
        let body = &self.frame[self.payload..];
        if self.index > 0 && self.done >= body.len() {
            return None;
        }
        let chunk = &body[self.done..(self.done + self.size).min(body.len())];
        let first = self.index == 0;
        let last = self.done + chunk.len() >= body.len();
        let header_len = self.payload;
        headers[..header_len].copy_from_slice(&self.frame[..header_len]);
        let ip_len = header_len - self.l3 + chunk.len();
        // A segment is never longer than its frame; only a frame over 64 KiB (which no IP
        // length can describe) would not fit, and then saturating beats wrapping.
        let ip_len16 = u16::try_from(ip_len).unwrap_or(u16::MAX);
        let pseudo = match self.kind {
            GsoKind::TcpV4 => {
                let ip = &mut headers[self.l3..self.l4];
                write_u16(ip, ipv4::field::LENGTH.start, ip_len16);
                let ident = read_u16(ip, ipv4::field::IDENT.start).wrapping_add(self.index as u16);
                write_u16(ip, ipv4::field::IDENT.start, ident);
                write_u16(ip, ipv4::field::CHECKSUM.start, 0);
                write_u16(ip, ipv4::field::CHECKSUM.start, !checksum::data(ip));
                let address = |at: usize| core::net::Ipv4Addr::from(read_u32(ip, at));
                PseudoHeader::V4 {
                    src: address(ipv4::field::SRC_ADDR.start),
                    dst: address(ipv4::field::DST_ADDR.start),
                }
            }
            GsoKind::TcpV6 => {
                let ip = &mut headers[self.l3..self.l4];
                let payload_len = u16::try_from(ip_len - ipv6::HEADER_LEN).unwrap_or(u16::MAX);
                write_u16(ip, ipv6::field::LENGTH.start, payload_len);
                let address = |at: usize| {
                    let mut octets = [0u8; 16];
                    octets.copy_from_slice(&ip[at..at + 16]);
                    core::net::Ipv6Addr::from(octets)
                };
                PseudoHeader::V6 {
                    src: address(ipv6::field::SRC_ADDR.start),
                    dst: address(ipv6::field::DST_ADDR.start),
                }
            }
        };
        let tcp = &mut headers[self.l4..header_len];
        let seq = read_u32(tcp, tcp::field::SEQ_NUM.start).wrapping_add(self.done as u32);
        write_u32(tcp, tcp::field::SEQ_NUM.start, seq);
        let bits = read_u16(tcp, tcp::field::FLAGS.start);
        let mut cleared = 0;
        if !last {
            cleared |= Flags::FIN.0 | Flags::PSH.0;
        }
        if !first {
            cleared |= Flags::CWR.0;
        }
        write_u16(tcp, tcp::field::FLAGS.start, bits & !cleared);
        write_u16(tcp, tcp::field::CHECKSUM.start, 0);
        let tcp_len = u32::try_from(tcp.len() + chunk.len()).unwrap_or(u32::MAX);
        // The TCP header is a whole number of 32-bit words, so its sum and the payload's add up.
        let sum = checksum::combine(&[
            pseudo.sum(IpProtocol::TCP, tcp_len),
            checksum::data(tcp),
            checksum::data(chunk),
        ]);
        write_u16(tcp, tcp::field::CHECKSUM.start, !sum);
        self.done += chunk.len();
        self.index = self.index.wrapping_add(1);
        Some(Segment { header_len, payload: chunk })
    }
}

/// Offset of the IP header: after the Ethernet header and up to [`MAX_TAGS`] tags. Always at
/// least 2 past a readable EtherType (the caller reads it at `l3 - 2`).
fn l3_offset(frame: &[u8]) -> Result<usize, GsoError> {
    let truncated = GsoError::Malformed("GSO frame: Ethernet header truncated");
    if frame.len() < ethernet::HEADER_LEN {
        return Err(truncated);
    }
    let mut at = ethernet::HEADER_LEN;
    for _ in 0..MAX_TAGS {
        match EtherType(read_u16(frame, at - 2)) {
            EtherType::VLAN | EtherType::QINQ => {
                at += vlan::TAG_LEN;
                if frame.len() < at {
                    return Err(truncated);
                }
            }
            _ => return Ok(at),
        }
    }
    match EtherType(read_u16(frame, at - 2)) {
        EtherType::VLAN | EtherType::QINQ => Err(GsoError::Malformed("GSO frame: more than two VLAN tags")),
        _ => Ok(at),
    }
}

/// Length of the IPv4 header at the start of `ip`, which must carry unfragmented TCP.
fn ipv4_header_len(ip: &[u8]) -> Result<usize, GsoError> {
    if ip.len() < ipv4::HEADER_LEN || ip[ipv4::field::VER_IHL] >> 4 != 4 {
        return Err(GsoError::Malformed("TCPv4 GSO frame: IPv4 header truncated or not version 4"));
    }
    let len = usize::from(ip[ipv4::field::VER_IHL] & 0x0f) * 4;
    if len < ipv4::HEADER_LEN || len > ip.len() {
        return Err(GsoError::Malformed("TCPv4 GSO frame: IPv4 header length outside the frame"));
    }
    if IpProtocol(ip[ipv4::field::PROTOCOL]) != IpProtocol::TCP {
        return Err(GsoError::Malformed("TCPv4 GSO frame: IPv4 payload is not TCP"));
    }
    // More-fragments or a fragment offset: a fragment cannot be resegmented.
    if read_u16(ip, ipv4::field::FLG_OFF.start) & 0x3fff != 0 {
        return Err(GsoError::Malformed("TCPv4 GSO frame: IPv4 fragment"));
    }
    Ok(len)
}

/// Length of the IPv6 header at the start of `ip`, which must carry TCP directly.
fn ipv6_header_len(ip: &[u8]) -> Result<usize, GsoError> {
    if ip.len() < ipv6::HEADER_LEN || ip[0] >> 4 != 6 {
        return Err(GsoError::Malformed("TCPv6 GSO frame: IPv6 header truncated or not version 6"));
    }
    if IpProtocol(ip[ipv6::field::NXT_HDR]) != IpProtocol::TCP {
        return Err(GsoError::Malformed("TCPv6 GSO frame: extension headers or a payload other than TCP"));
    }
    Ok(ipv6::HEADER_LEN)
}

impl fmt::Display for GsoKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TcpV4 => "TCPv4",
            Self::TcpV6 => "TCPv6",
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use core::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;

    const V4_SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const V4_DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const V6_SRC: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
    const V6_DST: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
    const SEQ: u32 = 0xffff_f000; // wraps within the first few segments
    const IDENT: u16 = 0xfffe;

    /// A TCP super-frame as a container's stack hands it to its veth: IP lengths of the whole,
    /// the TCP checksum field holding the pseudo-header seed (partial), `options` and `payload`.
    pub(crate) fn super_frame(
        kind: GsoKind,
        tags: usize,
        options: usize,
        flags: Flags,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        for _ in 0..tags {
            frame.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
        }
        let tcp_len = tcp::HEADER_LEN + options;
        let l4_len = tcp_len + payload.len();
        let pseudo = match kind {
            GsoKind::TcpV4 => {
                frame.extend_from_slice(&0x0800u16.to_be_bytes());
                let total = u16::try_from(ipv4::HEADER_LEN + l4_len).unwrap_or(0);
                let mut ip = [0u8; ipv4::HEADER_LEN];
                ip[0] = 0x45;
                ip[2..4].copy_from_slice(&total.to_be_bytes());
                ip[4..6].copy_from_slice(&IDENT.to_be_bytes());
                ip[6] = 0x40; // DF
                ip[8] = 64;
                ip[9] = 6;
                ip[12..16].copy_from_slice(&V4_SRC.octets());
                ip[16..20].copy_from_slice(&V4_DST.octets());
                let sum = !checksum::data(&ip);
                ip[10..12].copy_from_slice(&sum.to_be_bytes());
                frame.extend_from_slice(&ip);
                PseudoHeader::V4 { src: V4_SRC, dst: V4_DST }
            }
            GsoKind::TcpV6 => {
                frame.extend_from_slice(&0x86ddu16.to_be_bytes());
                let mut ip = [0u8; ipv6::HEADER_LEN];
                ip[0] = 0x60;
                ip[4..6].copy_from_slice(&u16::try_from(l4_len).unwrap_or(0).to_be_bytes());
                ip[6] = 6;
                ip[7] = 64;
                ip[8..24].copy_from_slice(&V6_SRC.octets());
                ip[24..40].copy_from_slice(&V6_DST.octets());
                frame.extend_from_slice(&ip);
                PseudoHeader::V6 { src: V6_SRC, dst: V6_DST }
            }
        };
        let mut tcp = vec![0u8; tcp_len];
        tcp[0..4].copy_from_slice(&[0x1f, 0x90, 0xc3, 0x50]);
        tcp[4..8].copy_from_slice(&SEQ.to_be_bytes());
        tcp[8..12].copy_from_slice(&7u32.to_be_bytes());
        let bits = (u16::try_from(tcp_len / 4).unwrap_or(0) << 12) | flags.0;
        tcp[12..14].copy_from_slice(&bits.to_be_bytes());
        tcp[14..16].copy_from_slice(&512u16.to_be_bytes());
        for (i, byte) in tcp[tcp::HEADER_LEN..].iter_mut().enumerate() {
            *byte = if i % 4 == 3 { 0 } else { 1 }; // NOPs and EOLs: any bytes will do
        }
        // The partial checksum Linux leaves: the pseudo-header's sum, not inverted.
        let seed = pseudo.sum(IpProtocol::TCP, u32::try_from(l4_len).unwrap_or(0));
        tcp[16..18].copy_from_slice(&seed.to_be_bytes());
        frame.extend_from_slice(&tcp);
        frame.extend_from_slice(payload);
        frame
    }

    pub(crate) fn payload(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// Every segment, each as one contiguous frame.
    pub(crate) fn segments(frame: &[u8], gso: Gso) -> Vec<Vec<u8>> {
        let mut segmenter = Segmenter::new(frame, gso).expect("segmentable");
        let expected = segmenter.count();
        let mut headers = [0u8; MAX_HEADER_LEN];
        let mut out = Vec::new();
        while let Some(segment) = segmenter.next_into(&mut headers) {
            let mut bytes = headers[..segment.header_len].to_vec();
            bytes.extend_from_slice(segment.payload);
            assert_eq!(bytes.len(), segment.len());
            out.push(bytes);
        }
        assert_eq!(out.len(), expected);
        out
    }

    /// Checks one segment of a TCPv4/TCPv6 frame with no tags and returns (seq, flags, payload).
    fn check_segment(kind: GsoKind, l3: usize, segment: &[u8]) -> (u32, Flags, Vec<u8>) {
        let (pseudo, tcp_bytes) = match kind {
            GsoKind::TcpV4 => {
                let ip = ipv4::Packet::new_checked(&segment[l3..]).expect("valid IPv4");
                assert!(ip.verify_checksum(), "IPv4 header checksum");
                assert_eq!(usize::from(ip.total_len()), segment.len() - l3);
                assert!(ip.dont_frag());
                (PseudoHeader::V4 { src: ip.src_addr(), dst: ip.dst_addr() }, ip.payload().to_vec())
            }
            GsoKind::TcpV6 => {
                let ip = ipv6::Packet::new_checked(&segment[l3..]).expect("valid IPv6");
                assert_eq!(usize::from(ip.payload_len()), segment.len() - l3 - ipv6::HEADER_LEN);
                (PseudoHeader::V6 { src: ip.src_addr(), dst: ip.dst_addr() }, ip.payload().to_vec())
            }
        };
        let tcp = tcp::Packet::new_checked(&tcp_bytes[..]).expect("valid TCP");
        assert!(tcp.verify_checksum(&pseudo), "TCP checksum");
        (tcp.seq_number(), tcp.flags(), tcp.payload().to_vec())
    }

    const TSO4: Gso = Gso { kind: GsoKind::TcpV4, size: 1000 };

    #[test]
    fn reads_virtio_headers() {
        let tso = Offload::from_virtio(1, VIRTIO_GSO_TCPV4 | VIRTIO_GSO_ECN, 1448, 34, 16).expect("ok");
        assert_eq!(tso.gso, Some(Gso { kind: GsoKind::TcpV4, size: 1448 }));
        assert_eq!(tso.checksum, Some(PartialChecksum { start: 34, offset: 16 }));
        let csum_only = Offload::from_virtio(1, 0, 0, 34, 6).expect("ok");
        assert_eq!(csum_only.gso, None);
        assert!(!csum_only.is_none());
        assert!(Offload::from_virtio(0, VIRTIO_GSO_ECN, 0, 0, 0).expect("ok").is_none());
        assert_eq!(
            Offload::from_virtio(1, VIRTIO_GSO_TCPV6, 1400, 54, 16).map(|o| o.gso.map(|g| g.kind)),
            Ok(Some(GsoKind::TcpV6))
        );
        assert_eq!(
            Offload::from_virtio(1, VIRTIO_GSO_UDP_L4, 1400, 34, 6),
            Err(GsoError::UnsupportedType(5))
        );
        assert_eq!(Offload::from_virtio(1, VIRTIO_GSO_UDP, 1400, 34, 6), Err(GsoError::UnsupportedType(3)));
        assert_eq!(Offload::from_virtio(1, VIRTIO_GSO_TCPV4, 0, 34, 16), Err(GsoError::ZeroSegmentSize));
    }

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(
            GsoError::UnsupportedType(5).to_string(),
            "unsupported GSO type 0x05 (only TCPv4 and TCPv6 are segmented)"
        );
        let outside = GsoError::ChecksumOutOfFrame { start: 34, offset: 16, len: 40 };
        assert_eq!(outside.to_string(), "partial checksum at 34+16 lies outside the 40-byte frame");
    }

    #[test]
    fn finishes_a_partial_tcp_checksum() {
        let mut frame = super_frame(GsoKind::TcpV4, 0, 12, Flags::ACK | Flags::PSH, &payload(301));
        finish_checksum(&mut frame, PartialChecksum { start: 34, offset: 16 }).expect("in frame");
        let (_, flags, data) = check_segment(GsoKind::TcpV4, 14, &frame);
        assert_eq!((flags, data), (Flags::ACK | Flags::PSH, payload(301)));
    }

    #[test]
    fn finished_zero_checksum_is_sent_as_ffff() {
        // Two bytes of data whose sum with the seed (0) is 0xffff: the checksum would be 0.
        let mut frame = [0u8, 0, 0xff, 0xff];
        finish_checksum(&mut frame, PartialChecksum { start: 2, offset: 0 }).expect("in frame");
        assert_eq!(frame, [0, 0, 0xff, 0xff]);
        let mut frame = [0u8, 0, 0x12, 0x34, 0, 0];
        finish_checksum(&mut frame, PartialChecksum { start: 0, offset: 4 }).expect("in frame");
        assert_eq!(&frame[4..], &(!0x1234u16).to_be_bytes());
    }

    #[test]
    fn refuses_a_checksum_outside_the_frame() {
        let mut frame = [0u8; 40];
        for (start, offset) in [(34, 6), (40, 0), (u16::MAX, u16::MAX), (39, 0)] {
            assert_eq!(
                finish_checksum(&mut frame, PartialChecksum { start, offset }),
                Err(GsoError::ChecksumOutOfFrame { start, offset, len: 40 })
            );
        }
        assert_eq!(frame, [0; 40]);
    }

    #[test]
    fn segments_tcpv4_with_lengths_ids_sequence_and_flags() {
        let data = payload(2500);
        let frame =
            super_frame(GsoKind::TcpV4, 0, 12, Flags::ACK | Flags::PSH | Flags::FIN | Flags::CWR, &data);
        let out = segments(&frame, TSO4);
        assert_eq!(out.iter().map(Vec::len).collect::<Vec<_>>(), [1066, 1066, 566]);
        let mut joined = Vec::new();
        for (i, segment) in out.iter().enumerate() {
            let (seq, flags, chunk) = check_segment(GsoKind::TcpV4, 14, segment);
            assert_eq!(seq, SEQ.wrapping_add(1000 * i as u32));
            let ip = ipv4::Packet::new_unchecked(&segment[14..]);
            assert_eq!(ip.ident(), IDENT.wrapping_add(i as u16));
            let expected = match i {
                0 => Flags::ACK | Flags::CWR,
                1 => Flags::ACK,
                _ => Flags::ACK | Flags::PSH | Flags::FIN,
            };
            assert_eq!(flags, expected, "segment {i}");
            joined.extend_from_slice(&chunk);
        }
        assert_eq!(joined, data);
    }

    #[test]
    fn segments_tcpv6_behind_two_tags() {
        let data = payload(3000);
        let frame = super_frame(GsoKind::TcpV6, 2, 0, Flags::ACK, &data);
        let out = segments(&frame, Gso { kind: GsoKind::TcpV6, size: 1440 });
        assert_eq!(out.len(), 3);
        let joined: Vec<u8> =
            out.iter().flat_map(|segment| check_segment(GsoKind::TcpV6, 22, segment).2).collect();
        assert_eq!(joined, data);
    }

    #[test]
    fn a_frame_that_fits_makes_one_segment_with_checksums_done() {
        for len in [0, 1, 999, 1000] {
            let frame =
                super_frame(GsoKind::TcpV4, 0, 0, Flags::ACK | Flags::FIN | Flags::CWR, &payload(len));
            let out = segments(&frame, TSO4);
            assert_eq!(out.len(), 1);
            let (seq, flags, chunk) = check_segment(GsoKind::TcpV4, 14, &out[0]);
            assert_eq!((seq, flags, chunk), (SEQ, Flags::ACK | Flags::FIN | Flags::CWR, payload(len)));
        }
    }

    #[test]
    fn refuses_frames_that_are_not_what_the_type_says() {
        let v6 = super_frame(GsoKind::TcpV6, 0, 0, Flags::ACK, &payload(10));
        assert_eq!(Segmenter::new(&v6, TSO4).err(), Some(GsoError::Malformed("TCPv4 GSO frame: not IPv4")));
        let mut udp = super_frame(GsoKind::TcpV4, 0, 0, Flags::ACK, &payload(10));
        udp[14 + 9] = 17;
        assert_eq!(
            Segmenter::new(&udp, TSO4).err(),
            Some(GsoError::Malformed("TCPv4 GSO frame: IPv4 payload is not TCP"))
        );
        let mut fragment = super_frame(GsoKind::TcpV4, 0, 0, Flags::ACK, &payload(10));
        fragment[14 + 6] = 0x20; // MF
        assert_eq!(
            Segmenter::new(&fragment, TSO4).err(),
            Some(GsoError::Malformed("TCPv4 GSO frame: IPv4 fragment"))
        );
        let frame = super_frame(GsoKind::TcpV4, 3, 0, Flags::ACK, &payload(10));
        assert_eq!(
            Segmenter::new(&frame, TSO4).err(),
            Some(GsoError::Malformed("GSO frame: more than two VLAN tags"))
        );
        let frame = super_frame(GsoKind::TcpV4, 0, 40, Flags::ACK, &[]);
        assert!(Segmenter::new(&frame[..frame.len() - 1], TSO4).is_err());
        assert_eq!(Segmenter::new(&frame, Gso { size: 0, ..TSO4 }).err(), Some(GsoError::ZeroSegmentSize));
        assert!(Segmenter::new(&frame, TSO4).is_ok());
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            v6 in any::<bool>(),
            size in 0u16..200,
            start in any::<u16>(),
            offset in any::<u16>(),
        ) {
            let kind = if v6 { GsoKind::TcpV6 } else { GsoKind::TcpV4 };
            if let Ok(mut segmenter) = Segmenter::new(&bytes, Gso { kind, size }) {
                let mut headers = [0u8; MAX_HEADER_LEN];
                let mut yielded = 0;
                while let Some(segment) = segmenter.next_into(&mut headers) {
                    prop_assert!(segment.payload.len() <= usize::from(size));
                    yielded += 1;
                }
                prop_assert_eq!(yielded, segmenter.count());
            }
            let mut copy = bytes.clone();
            let _ = finish_checksum(&mut copy, PartialChecksum { start, offset });
        }

        #[test]
        fn segments_rebuild_the_stream_with_valid_checksums(
            len in 0usize..6000,
            size in 1u16..2000,
            options in 0usize..=10,
            v6 in any::<bool>(),
            tags in 0usize..=2,
            flags in 0u16..0x200,
        ) {
            let kind = if v6 { GsoKind::TcpV6 } else { GsoKind::TcpV4 };
            let data = payload(len);
            let frame = super_frame(kind, tags, options * 4, Flags(flags), &data);
            let out = segments(&frame, Gso { kind, size });
            prop_assert_eq!(out.len(), len.div_ceil(usize::from(size)).max(1));
            let mut joined = Vec::new();
            for (i, segment) in out.iter().enumerate() {
                let (seq, got, chunk) = check_segment(kind, 14 + 4 * tags, segment);
                prop_assert_eq!(seq, SEQ.wrapping_add(joined.len() as u32));
                let mut expected = flags;
                if i + 1 < out.len() { expected &= !(Flags::FIN.0 | Flags::PSH.0); }
                if i > 0 { expected &= !Flags::CWR.0; }
                prop_assert_eq!(got, Flags(expected));
                joined.extend_from_slice(&chunk);
            }
            prop_assert_eq!(joined, data);
        }
    }
}
