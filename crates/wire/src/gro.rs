//! Software GRO: consecutive, in-order TCP segments of one flow coalesced back into one
//! super-frame — the inverse of [`crate::gso::Segmenter`] — for a path that receives segments
//! one by one (a VXLAN tunnel socket) but can hand on a super-frame with a virtio-net header.
//!
//! A [`Merger`] works on a buffer the caller owns: the caller copies a segment in, asks
//! [`Merger::start`] whether it can grow, then offers each following segment to
//! [`Merger::append`], which checks it continues the same flow and copies its payload after
//! the rest. [`Merger::finish`] writes the super-frame's lengths and IPv4 header checksum, puts
//! the pseudo-header seed in the TCP checksum field (a partial checksum, as Linux hands TSO
//! frames over) and says what the frame owes: segmenting it again with [`Merger::finish`]'s
//! [`Coalesced::gso`] gives back the same segments, byte for byte.
//!
//! Only plain data segments merge (ACK, optionally PSH on the last; no SYN, FIN, RST, URG or
//! CWR), each with a valid IPv4 header checksum and TCP checksum, the same headers but for the
//! lengths, the IPv4 identification (one more each time), the sequence number (right after the
//! last byte so far), PSH and the checksums, every payload but the last exactly the first's
//! length. Anything else is left alone: the caller passes it on as it came. Pure and panic-free.

use crate::bytes::{read_u16, read_u32, write_u16};
use crate::checksum::{self, PseudoHeader};
use crate::ethernet::{self, EtherType};
use crate::gso::{Gso, GsoKind, PartialChecksum};
use crate::ip::IpProtocol;
use crate::tcp::{self, Flags};
use crate::{ipv4, ipv6, vlan};

/// The most bytes of IP packet a super-frame may hold (the IPv4 total length field).
const MAX_IP_LEN: usize = 65_535;

/// A super-frame being built in the caller's buffer. See the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merger {
    kind: GsoKind,
    /// Offsets of the IP header, the TCP header and the payload (= the headers' length).
    l3: usize,
    l4: usize,
    header_len: usize,
    /// Payload bytes of every segment but the last.
    size: usize,
    /// Bytes of the super-frame so far.
    len: usize,
    /// Segments merged so far.
    segments: u16,
    next_seq: u32,
    next_ident: u16,
    /// A segment shorter than `size`, or one with PSH, ended the flow's burst.
    closed: bool,
}

/// What a coalesced super-frame owes, for its virtio-net header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coalesced {
    /// Segment it again like this (the type and the first segment's payload length).
    pub gso: Gso,
    /// The TCP checksum is partial: sum from the TCP header on.
    pub checksum: PartialChecksum,
    /// Bytes of headers before the payload.
    pub header_len: u16,
    /// How many segments it holds (at least two).
    pub segments: u16,
}

/// The facts of one segment that could merge.
struct Parsed {
    kind: GsoKind,
    l3: usize,
    l4: usize,
    header_len: usize,
    seq: u32,
    ident: u16,
    flags: u16,
}

impl Merger {
    /// Whether `frame`, the first segment, already at the start of the caller's buffer, can be
    /// the start of a super-frame.
    pub fn start(frame: &[u8]) -> Option<Self> {
        let parsed = parse(frame)?;
        let size = frame.len() - parsed.header_len;
        if parsed.flags & Flags::PSH.0 != 0 {
            return None;
        }
        Some(Self {
            kind: parsed.kind,
            l3: parsed.l3,
            l4: parsed.l4,
            header_len: parsed.header_len,
            size,
            len: frame.len(),
            segments: 1,
            next_seq: parsed.seq.wrapping_add(size as u32),
            next_ident: parsed.ident.wrapping_add(1),
            closed: false,
        })
    }

    /// Bytes of the super-frame so far, from the start of the buffer.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never empty: a merger starts with a segment.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Segments merged so far.
    pub fn segments(&self) -> u16 {
        self.segments
    }

    /// Appends `segment`'s payload to the super-frame in `buffer` if it continues it; `false`
    /// (and nothing changed) if it does not or would not fit `buffer`.
    pub fn append(&mut self, buffer: &mut [u8], segment: &[u8]) -> bool {
        if self.closed || segment.len() <= self.header_len {
            return false;
        }
        let payload = segment.len() - self.header_len;
        let end = self.len + payload;
        if payload > self.size
            || end > buffer.len()
            || end - self.l3 > MAX_IP_LEN
            || self.segments == u16::MAX
            || buffer.len() < self.header_len
        {
            return false;
        }
        let Some(parsed) = parse(segment) else { return false };
        if parsed.kind != self.kind
            || parsed.header_len != self.header_len
            || parsed.l4 != self.l4
            || parsed.seq != self.next_seq
            || (self.kind == GsoKind::TcpV4 && parsed.ident != self.next_ident)
            || !same_headers(self, &buffer[..self.header_len], &segment[..self.header_len])
        {
            return false;
        }
        buffer[self.len..end].copy_from_slice(&segment[self.header_len..]);
        self.len = end;
        self.segments += 1;
        self.next_seq = self.next_seq.wrapping_add(payload as u32);
        self.next_ident = self.next_ident.wrapping_add(1);
        if parsed.flags & Flags::PSH.0 != 0 {
            // The segmenter leaves PSH on the last segment only.
            let at = self.l4 + tcp::field::FLAGS.start;
            let bits = read_u16(buffer, at) | Flags::PSH.0;
            write_u16(buffer, at, bits);
            self.closed = true;
        }
        if payload < self.size {
            self.closed = true;
        }
        true
    }

    /// Writes the super-frame's headers in `buffer`. `None` for a single segment, which is left
    /// as it came (checksums complete).
    pub fn finish(&self, buffer: &mut [u8]) -> Option<Coalesced> {
        if self.segments < 2 || buffer.len() < self.len {
            return None;
        }
        let ip_len = self.len - self.l3;
        let tcp_len = self.len - self.l4;
        let pseudo = match self.kind {
            GsoKind::TcpV4 => {
                let ip = &mut buffer[self.l3..self.l4];
                write_u16(ip, ipv4::field::LENGTH.start, u16::try_from(ip_len).ok()?);
                write_u16(ip, ipv4::field::CHECKSUM.start, 0);
                write_u16(ip, ipv4::field::CHECKSUM.start, !checksum::data(ip));
                v4_pseudo(ip)
            }
            GsoKind::TcpV6 => {
                let ip = &mut buffer[self.l3..self.l4];
                let payload_len = u16::try_from(ip_len - ipv6::HEADER_LEN).ok()?;
                write_u16(ip, ipv6::field::LENGTH.start, payload_len);
                v6_pseudo(ip)
            }
        };
        let seed = pseudo.sum(IpProtocol::TCP, u32::try_from(tcp_len).ok()?);
        write_u16(buffer, self.l4 + tcp::field::CHECKSUM.start, seed);
        Some(Coalesced {
            gso: Gso { kind: self.kind, size: u16::try_from(self.size).ok()? },
            checksum: PartialChecksum {
                start: u16::try_from(self.l4).ok()?,
                offset: tcp::field::CHECKSUM.start as u16,
            },
            header_len: u16::try_from(self.header_len).ok()?,
            segments: self.segments,
        })
    }
}

/// `true` if two segments' headers agree on everything but the fields that differ between
/// the segments of one super-frame.
fn same_headers(merger: &Merger, first: &[u8], next: &[u8]) -> bool {
    let (l3, l4) = (merger.l3, merger.l4);
    if first[..l3] != next[..l3] {
        return false;
    }
    let ip_same = match merger.kind {
        GsoKind::TcpV4 => {
            // Version to TOS; flags to protocol; addresses and options.
            let (a, b) = (&first[l3..l4], &next[l3..l4]);
            a[..2] == b[..2] && a[6..10] == b[6..10] && a[12..] == b[12..]
        }
        GsoKind::TcpV6 => {
            let (a, b) = (&first[l3..l4], &next[l3..l4]);
            a[..4] == b[..4] && a[6..] == b[6..]
        }
    };
    let (a, b) = (&first[l4..merger.header_len], &next[l4..merger.header_len]);
    let flags_a = read_u16(a, tcp::field::FLAGS.start) & !Flags::PSH.0;
    let flags_b = read_u16(b, tcp::field::FLAGS.start) & !Flags::PSH.0;
    // Ports; acknowledgment; window; urgent pointer and options.
    ip_same
        && a[..4] == b[..4]
        && a[8..12] == b[8..12]
        && flags_a == flags_b
        && a[14..16] == b[14..16]
        && a[18..] == b[18..]
}

/// Parses a segment that could merge: a plain TCP data segment with correct checksums.
fn parse(frame: &[u8]) -> Option<Parsed> {
    let l3 = l3_offset(frame)?;
    let ip = &frame[l3..];
    let (kind, ip_len, pseudo, ident) = match EtherType(read_u16(frame, l3 - 2)) {
        EtherType::IPV4 => {
            if ip.len() < ipv4::HEADER_LEN || ip[ipv4::field::VER_IHL] != 0x45 {
                // Options are rare on data segments: not worth merging.
                return None;
            }
            let header = &ip[..ipv4::HEADER_LEN];
            if IpProtocol(header[ipv4::field::PROTOCOL]) != IpProtocol::TCP
                || read_u16(header, ipv4::field::FLG_OFF.start) & 0x3fff != 0
                || checksum::data(header) != 0xffff
                || usize::from(read_u16(header, ipv4::field::LENGTH.start)) != ip.len()
            {
                return None;
            }
            let ident = read_u16(header, ipv4::field::IDENT.start);
            (GsoKind::TcpV4, ipv4::HEADER_LEN, v4_pseudo(header), ident)
        }
        EtherType::IPV6 => {
            if ip.len() < ipv6::HEADER_LEN || ip[0] >> 4 != 6 {
                return None;
            }
            let header = &ip[..ipv6::HEADER_LEN];
            if IpProtocol(header[ipv6::field::NXT_HDR]) != IpProtocol::TCP
                || usize::from(read_u16(header, ipv6::field::LENGTH.start)) + ipv6::HEADER_LEN != ip.len()
            {
                return None;
            }
            (GsoKind::TcpV6, ipv6::HEADER_LEN, v6_pseudo(header), 0)
        }
        _ => return None,
    };
    let l4 = l3 + ip_len;
    let tcp = &frame[l4..];
    if tcp.len() < tcp::HEADER_LEN {
        return None;
    }
    let tcp_len = usize::from(tcp[tcp::field::FLAGS.start] >> 4) * 4;
    if tcp_len < tcp::HEADER_LEN || tcp_len >= tcp.len() {
        return None; // no payload, or a header past the end
    }
    let flags = read_u16(tcp, tcp::field::FLAGS.start) & 0x01ff;
    if flags & !Flags::PSH.0 != Flags::ACK.0 {
        return None;
    }
    let length = u32::try_from(tcp.len()).ok()?;
    if checksum::combine(&[pseudo.sum(IpProtocol::TCP, length), checksum::data(tcp)]) != 0xffff {
        return None;
    }
    let seq = read_u32(tcp, tcp::field::SEQ_NUM.start);
    Some(Parsed { kind, l3, l4, header_len: l4 + tcp_len, seq, ident, flags })
}

/// Offset of the IP header: after the Ethernet header and up to two tags; at least 2 past a
/// readable EtherType.
fn l3_offset(frame: &[u8]) -> Option<usize> {
    let mut at = ethernet::HEADER_LEN;
    if frame.len() < at {
        return None;
    }
    for _ in 0..2 {
        match EtherType(read_u16(frame, at - 2)) {
            EtherType::VLAN | EtherType::QINQ if frame.len() >= at + vlan::TAG_LEN => at += vlan::TAG_LEN,
            EtherType::VLAN | EtherType::QINQ => return None,
            _ => return Some(at),
        }
    }
    Some(at)
}

fn v4_pseudo(ip: &[u8]) -> PseudoHeader {
    let address = |at: usize| core::net::Ipv4Addr::from(read_u32(ip, at));
    PseudoHeader::V4 { src: address(ipv4::field::SRC_ADDR.start), dst: address(ipv4::field::DST_ADDR.start) }
}

fn v6_pseudo(ip: &[u8]) -> PseudoHeader {
    let address = |at: usize| {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&ip[at..at + 16]);
        core::net::Ipv6Addr::from(octets)
    };
    PseudoHeader::V6 { src: address(ipv6::field::SRC_ADDR.start), dst: address(ipv6::field::DST_ADDR.start) }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::gso::tests::{payload, segments, super_frame};

    /// Merges `segments` in order into one buffer: the merged frames, each with what it owes.
    fn merge(segments: &[Vec<u8>]) -> Vec<(Vec<u8>, Option<Coalesced>)> {
        let mut out = Vec::new();
        let mut buffer = vec![0u8; 70_000];
        let mut open: Option<Merger> = None;
        for segment in segments {
            if let Some(merger) = open.as_mut()
                && merger.append(&mut buffer, segment)
            {
                continue;
            }
            if let Some(merger) = open.take() {
                let owed = merger.finish(&mut buffer);
                out.push((buffer[..merger.len()].to_vec(), owed));
            }
            buffer[..segment.len()].copy_from_slice(segment);
            match Merger::start(&buffer[..segment.len()]) {
                Some(merger) => open = Some(merger),
                None => out.push((segment.clone(), None)),
            }
        }
        if let Some(merger) = open {
            let owed = merger.finish(&mut buffer);
            out.push((buffer[..merger.len()].to_vec(), owed));
        }
        out
    }

    const TSO4: Gso = Gso { kind: GsoKind::TcpV4, size: 1000 };

    #[test]
    fn merges_the_segments_of_a_super_frame_back_into_it() {
        let frame = super_frame(GsoKind::TcpV4, 0, 12, Flags::ACK | Flags::PSH, &payload(2500));
        let merged = merge(&segments(&frame, TSO4));
        assert_eq!(merged.len(), 1);
        let (bytes, owed) = &merged[0];
        assert_eq!(bytes, &frame);
        let owed = owed.expect("coalesced");
        assert_eq!((owed.gso, owed.segments, owed.header_len), (TSO4, 3, 14 + 20 + 32));
        assert_eq!(owed.checksum, PartialChecksum { start: 34, offset: 16 });
    }

    #[test]
    fn leaves_alone_what_does_not_continue_the_flow() {
        let frame = super_frame(GsoKind::TcpV4, 0, 0, Flags::ACK, &payload(3000));
        let parts = segments(&frame, TSO4);
        // Out of order: three frames, none merged.
        let shuffled = vec![parts[0].clone(), parts[2].clone(), parts[1].clone()];
        let merged = merge(&shuffled);
        assert_eq!(merged.iter().map(|(_, owed)| owed.is_some()).collect::<Vec<_>>(), [false; 3]);
        assert_eq!(merged.iter().map(|(bytes, _)| bytes.clone()).collect::<Vec<_>>(), shuffled);
        // A corrupted payload byte: its checksum fails, it is passed on as it came.
        let mut corrupt = parts.clone();
        corrupt[1][100] ^= 1;
        let merged = merge(&corrupt);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[1].0, corrupt[1]);
        // Another destination port: a different flow.
        let mut other = parts.clone();
        let mut segment = tcp::Packet::new_unchecked(&mut other[1][14 + 20..]);
        segment.set_dst_port(8081);
        segment.fill_checksum(&PseudoHeader::V4 {
            src: core::net::Ipv4Addr::new(10, 0, 0, 1),
            dst: core::net::Ipv4Addr::new(10, 0, 0, 2),
        });
        assert!(parse(&other[1]).is_some(), "a valid segment of another flow");
        assert_eq!(merge(&other).len(), 3);
        // SYN or FIN never merges.
        let fin = super_frame(GsoKind::TcpV4, 0, 0, Flags::ACK | Flags::FIN, &payload(3000));
        let merged = merge(&segments(&fin, TSO4));
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].1.map(|owed| owed.segments), Some(2));
        assert_eq!(merged[1].1, None);
    }

    proptest! {
        #[test]
        fn merged_frames_segment_back_into_the_same_bytes(
            len in 1usize..9000,
            size in 1u16..2000,
            options in 0usize..=10,
            v6 in any::<bool>(),
            tags in 0usize..=2,
            push in any::<bool>(),
        ) {
            let kind = if v6 { GsoKind::TcpV6 } else { GsoKind::TcpV4 };
            let flags = if push { Flags::ACK | Flags::PSH } else { Flags::ACK };
            let frame = super_frame(kind, tags, options * 4, flags, &payload(len));
            let parts = segments(&frame, Gso { kind, size });
            let merged = merge(&parts);
            if parts.len() == 1 {
                prop_assert_eq!(merged, vec![(parts[0].clone(), None)]);
            } else {
                prop_assert_eq!(merged.len(), 1);
                let (bytes, owed) = &merged[0];
                prop_assert_eq!(bytes, &frame);
                let owed = owed.expect("coalesced");
                prop_assert_eq!(owed.gso, Gso { kind, size });
                prop_assert_eq!(segments(bytes, owed.gso), parts);
            }
        }

        #[test]
        fn any_bytes_never_panic(
            first in proptest::collection::vec(any::<u8>(), 0..200),
            next in proptest::collection::vec(any::<u8>(), 0..200),
            room in 0usize..400,
        ) {
            let mut buffer = vec![0u8; room.max(first.len())];
            buffer[..first.len()].copy_from_slice(&first);
            if let Some(mut merger) = Merger::start(&first) {
                let _ = merger.append(&mut buffer[..room.max(first.len())], &next);
                let _ = merger.finish(&mut buffer);
            }
        }
    }
}
