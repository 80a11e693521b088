//! IPv4 headers (RFC 791).

use core::net::Ipv4Addr;

use crate::bytes::{read_array, read_u16, view_constructors, write_u16};
use crate::ip::IpProtocol;
use crate::{Error, Result, checksum, error::need};

/// Byte offsets within the IPv4 header.
pub mod field {
    use crate::bytes::Field;

    /// Version (high nibble) and header length in 32-bit words (low nibble).
    pub const VER_IHL: usize = 0;
    /// DSCP (6 bits) and ECN (2 bits).
    pub const DSCP_ECN: usize = 1;
    /// Total length of header and payload.
    pub const LENGTH: Field = 2..4;
    /// Identification.
    pub const IDENT: Field = 4..6;
    /// Flags (3 bits) and fragment offset (13 bits, in 8-byte units).
    pub const FLG_OFF: Field = 6..8;
    /// Time to live.
    pub const TTL: usize = 8;
    /// Protocol of the payload.
    pub const PROTOCOL: usize = 9;
    /// Header checksum.
    pub const CHECKSUM: Field = 10..12;
    /// Source address.
    pub const SRC_ADDR: Field = 12..16;
    /// Destination address.
    pub const DST_ADDR: Field = 16..20;
}

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

const DONT_FRAGMENT: u16 = 0x4000;
const MORE_FRAGMENTS: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A read/write view of an IPv4 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

view_constructors!(Packet);

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Ok` if the buffer holds the header (with options) and the total length it claims.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        need("IPv4 header", HEADER_LEN, len)?;
        let header_len = usize::from(self.header_len());
        if header_len < HEADER_LEN {
            return Err(Error::Malformed("IPv4 header: header length below 20 bytes"));
        }
        need("IPv4 header", header_len, len)?;
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(Error::Malformed("IPv4 header: total length shorter than the header"));
        }
        need("IPv4 packet", total_len, len)
    }

    /// IP version (4 for IPv4).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes, options included.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// Differentiated services code point.
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// Explicit congestion notification.
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// Total length of header and payload.
    pub fn total_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::IDENT.start)
    }

    /// Don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        read_u16(self.buffer.as_ref(), field::FLG_OFF.start) & DONT_FRAGMENT != 0
    }

    /// More-fragments flag.
    pub fn more_frags(&self) -> bool {
        read_u16(self.buffer.as_ref(), field::FLG_OFF.start) & MORE_FRAGMENTS != 0
    }

    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        (read_u16(self.buffer.as_ref(), field::FLG_OFF.start) & OFFSET_MASK) << 3
    }

    /// Time to live.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol of the payload.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// Header checksum as stored.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::SRC_ADDR.start))
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::DST_ADDR.start))
    }

    /// `true` if the header checksum matches the header.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(&self.buffer.as_ref()[..usize::from(self.header_len())]) == !0
    }

    /// The payload: from the end of the header to the total length (link padding excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[usize::from(self.header_len())..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version and header length (bytes, a multiple of 4).
    pub fn set_version_and_header_len(&mut self, version: u8, header_len: u8) {
        self.buffer.as_mut()[field::VER_IHL] = (version << 4) | ((header_len / 4) & 0x0f);
    }

    /// Sets DSCP and ECN.
    pub fn set_dscp_ecn(&mut self, dscp: u8, ecn: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = (dscp << 2) | (ecn & 0x03);
    }

    /// Sets the total length.
    pub fn set_total_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, len);
    }

    /// Sets the identification.
    pub fn set_ident(&mut self, ident: u16) {
        write_u16(self.buffer.as_mut(), field::IDENT.start, ident);
    }

    /// Sets flags and fragment offset (bytes, a multiple of 8).
    pub fn set_fragment(&mut self, dont_frag: bool, more_frags: bool, offset: u16) {
        let mut bits = (offset >> 3) & OFFSET_MASK;
        if dont_frag {
            bits |= DONT_FRAGMENT;
        }
        if more_frags {
            bits |= MORE_FRAGMENTS;
        }
        write_u16(self.buffer.as_mut(), field::FLG_OFF.start, bits);
    }

    /// Sets the time to live.
    pub fn set_hop_limit(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Sets the payload protocol.
    pub fn set_next_header(&mut self, protocol: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol.0;
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Computes and stores the header checksum.
    pub fn fill_checksum(&mut self) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, 0);
        let header_len = usize::from(self.header_len());
        let sum = !checksum::data(&self.buffer.as_ref()[..header_len]);
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, sum);
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = usize::from(self.header_len())..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }
}

/// An IPv4 header, parsed. Options are skipped on parse and never emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Payload protocol.
    pub next_header: IpProtocol,
    /// Payload length in bytes (at most 65515).
    pub payload_len: u16,
    /// Time to live.
    pub hop_limit: u8,
}

impl Repr {
    /// The largest payload an IPv4 packet can carry with a 20-byte header.
    pub const MAX_PAYLOAD_LEN: u16 = u16::MAX - HEADER_LEN as u16;

    /// Reads a header: version 4, valid checksum, not a fragment.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        if packet.version() != 4 {
            return Err(Error::Malformed("IPv4 header: version is not 4"));
        }
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum("IPv4 header"));
        }
        if packet.more_frags() || packet.frag_offset() != 0 {
            return Err(Error::Unsupported("IPv4 fragment"));
        }
        Ok(Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: packet.total_len() - u16::from(packet.header_len()),
            hop_limit: packet.hop_limit(),
        })
    }

    /// Bytes [`Repr::emit`] writes (the header).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header with its checksum; DF set, identification 0. The view must hold at
    /// least [`Repr::buffer_len`] bytes, and `payload_len` at most [`Repr::MAX_PAYLOAD_LEN`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_version_and_header_len(4, HEADER_LEN as u8);
        packet.set_dscp_ecn(0, 0);
        packet.set_total_len(self.payload_len.saturating_add(HEADER_LEN as u16));
        packet.set_ident(0);
        packet.set_fragment(true, false, 0);
        packet.set_hop_limit(self.hop_limit);
        packet.set_next_header(self.next_header);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `ping -c1 10.0.0.2` from 10.0.0.1 as captured: IPv4 + ICMP echo request with 8 data bytes.
    pub(crate) const PING: [u8; 36] = [
        0x45, 0x00, 0x00, 0x24, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x01, 0x0a, 0x91, // header
        10, 0, 0, 1, 10, 0, 0, 2, // addresses
        0x08, 0x00, 0x66, 0x3f, 0x00, 0x2a, 0x00, 0x01, // ICMP echo request, id 42, seq 1
        0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, // "abcdefgh"
    ];

    #[test]
    fn reads_captured_packet() {
        let packet = Packet::new_checked(&PING[..]).expect("checks");
        assert!(packet.verify_checksum());
        assert!(packet.dont_frag() && !packet.more_frags());
        assert_eq!(packet.ident(), 0x1c46);
        let repr = Repr::parse(&packet).expect("parses");
        assert_eq!(
            repr,
            Repr {
                src_addr: Ipv4Addr::new(10, 0, 0, 1),
                dst_addr: Ipv4Addr::new(10, 0, 0, 2),
                next_header: IpProtocol::ICMP,
                payload_len: 16,
                hop_limit: 64,
            }
        );
        assert_eq!(packet.payload().len(), 16);
    }

    #[test]
    fn excludes_link_padding_from_payload() {
        let mut padded = PING.to_vec();
        padded.extend_from_slice(&[0; 10]);
        assert_eq!(Packet::new_checked(&padded[..]).expect("checks").payload().len(), 16);
    }

    #[test]
    fn rejects_bad_headers() {
        let mut bytes = PING;
        bytes[11] ^= 1;
        assert_eq!(Repr::parse(&Packet::new_unchecked(&bytes[..])), Err(Error::BadChecksum("IPv4 header")));

        let mut bytes = PING;
        bytes[0] = 0x44; // 16-byte header
        assert!(matches!(Packet::new_checked(&bytes[..]), Err(Error::Malformed(_))));

        let mut bytes = PING;
        bytes[3] = 0x30; // claims 48 bytes
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(Error::Truncated { what: "IPv4 packet", needed: 48, available: 36 })
        );

        let mut bytes = PING;
        bytes[3] = 0x10; // total 16 < header 20
        assert!(matches!(Packet::new_checked(&bytes[..]), Err(Error::Malformed(_))));

        let mut bytes = PING;
        bytes[0] = 0x65;
        Packet::new_unchecked(&mut bytes[..]).fill_checksum();
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])),
            Err(Error::Malformed("IPv4 header: version is not 4"))
        );

        let mut bytes = PING;
        Packet::new_unchecked(&mut bytes[..]).set_fragment(false, true, 0);
        Packet::new_unchecked(&mut bytes[..]).fill_checksum();
        assert_eq!(Repr::parse(&Packet::new_unchecked(&bytes[..])), Err(Error::Unsupported("IPv4 fragment")));
    }

    pub(crate) fn arb_repr(max_payload: u16) -> impl Strategy<Value = Repr> {
        (any::<[u8; 4]>(), any::<[u8; 4]>(), any::<u8>(), 0..=max_payload, any::<u8>()).prop_map(
            |(src, dst, protocol, payload_len, hop_limit)| Repr {
                src_addr: Ipv4Addr::from(src),
                dst_addr: Ipv4Addr::from(dst),
                next_header: IpProtocol(protocol),
                payload_len,
                hop_limit,
            },
        )
    }

    proptest! {
        #[test]
        fn parse_inverts_emit(repr in arb_repr(Repr::MAX_PAYLOAD_LEN)) {
            let mut bytes = vec![0u8; repr.buffer_len() + usize::from(repr.payload_len)];
            repr.emit(&mut Packet::new_unchecked(&mut bytes[..]));
            let packet = Packet::new_checked(&bytes[..]).expect("checks");
            prop_assert_eq!(Repr::parse(&packet), Ok(repr));
            prop_assert_eq!(packet.payload().len(), usize::from(repr.payload_len));
        }
    }
}
