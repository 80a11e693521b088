//! TCP segments (RFC 9293): the header and its options as raw bytes.

use core::fmt;

use crate::bytes::{read_u16, read_u32, view_constructors, write_u16, write_u32};
use crate::checksum::{self, PseudoHeader};
use crate::ip::IpProtocol;
use crate::{Error, Result, error::need};

/// Byte offsets within the TCP header.
pub mod field {
    use crate::bytes::Field;

    /// Source port.
    pub const SRC_PORT: Field = 0..2;
    /// Destination port.
    pub const DST_PORT: Field = 2..4;
    /// Sequence number.
    pub const SEQ_NUM: Field = 4..8;
    /// Acknowledgment number.
    pub const ACK_NUM: Field = 8..12;
    /// Data offset (4 bits), reserved (3 bits), flags (9 bits).
    pub const FLAGS: Field = 12..14;
    /// Receive window.
    pub const WIN_SIZE: Field = 14..16;
    /// Checksum over pseudo-header, header and payload.
    pub const CHECKSUM: Field = 16..18;
    /// Urgent pointer.
    pub const URGENT: Field = 18..20;
}

/// Length of a TCP header without options.
pub const HEADER_LEN: usize = field::URGENT.end;
/// The most option bytes a header can carry (data offset 15 words).
pub const MAX_OPTIONS_LEN: usize = 40;

/// TCP control flags (the low nine bits of the flags field).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u16);

impl Flags {
    /// No more data from sender.
    pub const FIN: Self = Self(0x001);
    /// Synchronise sequence numbers.
    pub const SYN: Self = Self(0x002);
    /// Reset the connection.
    pub const RST: Self = Self(0x004);
    /// Push.
    pub const PSH: Self = Self(0x008);
    /// Acknowledgment field is significant.
    pub const ACK: Self = Self(0x010);
    /// Urgent pointer is significant.
    pub const URG: Self = Self(0x020);
    /// ECN echo.
    pub const ECE: Self = Self(0x040);
    /// Congestion window reduced.
    pub const CWR: Self = Self(0x080);
    /// ECN nonce (historic).
    pub const NS: Self = Self(0x100);
    const ALL: u16 = 0x1ff;
    const NAMES: [(Self, &'static str); 9] = [
        (Self::SYN, "SYN"),
        (Self::FIN, "FIN"),
        (Self::RST, "RST"),
        (Self::PSH, "PSH"),
        (Self::ACK, "ACK"),
        (Self::URG, "URG"),
        (Self::ECE, "ECE"),
        (Self::CWR, "CWR"),
        (Self::NS, "NS"),
    ];

    /// `true` if every flag in `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Self;
    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

impl fmt::Display for Flags {
    /// `SYN|ACK`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (flag, name) in Self::NAMES {
            if self.contains(flag) {
                f.write_str(if first { "" } else { "|" })?;
                f.write_str(name)?;
                first = false;
            }
        }
        if first { f.write_str("none") } else { Ok(()) }
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A read/write view of a TCP segment. The buffer should be the IP payload: the checksum and
/// [`Packet::payload`] cover all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

view_constructors!(Packet);

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Ok` if the buffer holds the header with its options.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        need("TCP header", HEADER_LEN, len)?;
        let header_len = usize::from(self.header_len());
        if header_len < HEADER_LEN {
            return Err(Error::Malformed("TCP header: data offset below 5 words"));
        }
        need("TCP header", header_len, len)
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// Sequence number.
    pub fn seq_number(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::SEQ_NUM.start)
    }

    /// Acknowledgment number.
    pub fn ack_number(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::ACK_NUM.start)
    }

    /// Header length in bytes, options included.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::FLAGS.start] >> 4) * 4
    }

    /// Control flags.
    pub fn flags(&self) -> Flags {
        Flags(read_u16(self.buffer.as_ref(), field::FLAGS.start) & Flags::ALL)
    }

    /// Receive window.
    pub fn window_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::WIN_SIZE.start)
    }

    /// Checksum as stored.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Urgent pointer.
    pub fn urgent_pointer(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::URGENT.start)
    }

    /// Option bytes, unparsed.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.header_len())]
    }

    /// Everything after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[usize::from(self.header_len())..]
    }

    /// `true` if the checksum matches the whole segment.
    pub fn verify_checksum(&self, pseudo: &PseudoHeader) -> bool {
        let segment = self.buffer.as_ref();
        let Ok(len) = u32::try_from(segment.len()) else { return false };
        checksum::combine(&[pseudo.sum(IpProtocol::TCP, len), checksum::data(segment)]) == !0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, port: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT.start, port);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, port: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT.start, port);
    }

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, seq: u32) {
        write_u32(self.buffer.as_mut(), field::SEQ_NUM.start, seq);
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, ack: u32) {
        write_u32(self.buffer.as_mut(), field::ACK_NUM.start, ack);
    }

    /// Sets header length (bytes, a multiple of 4) and flags; reserved bits are cleared.
    pub fn set_header_len_and_flags(&mut self, header_len: u8, flags: Flags) {
        let bits = (u16::from(header_len / 4) << 12) | (flags.0 & Flags::ALL);
        write_u16(self.buffer.as_mut(), field::FLAGS.start, bits);
    }

    /// Sets the receive window.
    pub fn set_window_len(&mut self, window: u16) {
        write_u16(self.buffer.as_mut(), field::WIN_SIZE.start, window);
    }

    /// Sets the urgent pointer.
    pub fn set_urgent_pointer(&mut self, pointer: u16) {
        write_u16(self.buffer.as_mut(), field::URGENT.start, pointer);
    }

    /// Option bytes, writable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.header_len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// Everything after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = usize::from(self.header_len());
        &mut self.buffer.as_mut()[start..]
    }

    /// Computes and stores the checksum over the whole buffer; call after the payload is written.
    pub fn fill_checksum(&mut self, pseudo: &PseudoHeader) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, 0);
        let segment = self.buffer.as_ref();
        let len = u32::try_from(segment.len()).unwrap_or(u32::MAX);
        let sum = !checksum::combine(&[pseudo.sum(IpProtocol::TCP, len), checksum::data(segment)]);
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, sum);
    }
}

/// A TCP header, parsed; options are kept as the raw bytes they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq_number: u32,
    /// Acknowledgment number.
    pub ack_number: u32,
    /// Control flags.
    pub flags: Flags,
    /// Receive window.
    pub window_len: u16,
    /// Urgent pointer.
    pub urgent_pointer: u16,
    /// Option bytes: a multiple of 4, at most [`MAX_OPTIONS_LEN`].
    pub options: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Reads the header. The checksum needs the IP addresses: see [`Packet::verify_checksum`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Self> {
        packet.check_len()?;
        let buffer: &'a T = packet.buffer;
        let data: &'a [u8] = buffer.as_ref();
        Ok(Self {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
            urgent_pointer: packet.urgent_pointer(),
            options: &data[HEADER_LEN..usize::from(packet.header_len())],
        })
    }

    /// Bytes [`Repr::emit`] writes (header and options).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.options.len()
    }

    /// Writes header and options with a zero checksum; write the payload, then
    /// [`Packet::fill_checksum`]. The view must hold at least [`Repr::buffer_len`] bytes; options
    /// that are not a multiple of 4 or longer than [`MAX_OPTIONS_LEN`] are cut to fit.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let options = &self.options[..self.options.len().min(MAX_OPTIONS_LEN) / 4 * 4];
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.set_header_len_and_flags((HEADER_LEN + options.len()) as u8, self.flags);
        packet.set_window_len(self.window_len);
        write_u16(packet.buffer.as_mut(), field::CHECKSUM.start, 0);
        packet.set_urgent_pointer(self.urgent_pointer);
        packet.options_mut().copy_from_slice(options);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;
    use proptest::prelude::*;

    /// A SYN from 10.0.0.1:45678 to 10.0.0.2:22 as Linux sends it: MSS 1460, SACK permitted,
    /// timestamps, window scale 7.
    const SYN: [u8; 40] = [
        0xb2, 0x6e, 0x00, 0x16, 0x5d, 0x1c, 0x3a, 0x10, 0x00, 0x00, 0x00, 0x00, // ports, seq, ack
        0xa0, 0x02, 0xfa, 0xf0, 0x00, 0x00, 0x00, 0x00, // offset 10 words, SYN, window 64240
        0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, // MSS, SACK-permitted, timestamps...
        0x00, 0x01, 0xe2, 0x40, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07, // ..., NOP, WS 7
    ];
    const V4: PseudoHeader =
        PseudoHeader::V4 { src: Ipv4Addr::new(10, 0, 0, 1), dst: Ipv4Addr::new(10, 0, 0, 2) };

    fn syn_with_checksum() -> [u8; 40] {
        let mut bytes = SYN;
        Packet::new_unchecked(&mut bytes[..]).fill_checksum(&V4);
        bytes
    }

    #[test]
    fn reads_captured_syn() {
        let bytes = syn_with_checksum();
        let packet = Packet::new_checked(&bytes[..]).expect("checks");
        assert!(packet.verify_checksum(&V4));
        let repr = Repr::parse(&packet).expect("parses");
        assert_eq!((repr.src_port, repr.dst_port), (45678, 22));
        assert_eq!(repr.seq_number, 0x5d1c_3a10);
        assert_eq!(repr.flags, Flags::SYN);
        assert_eq!(repr.window_len, 64240);
        assert_eq!(repr.options.len(), 20);
        assert_eq!(&repr.options[..4], &[0x02, 0x04, 0x05, 0xb4]);
        assert!(packet.payload().is_empty());
        assert_eq!((Flags::SYN | Flags::ACK).to_string(), "SYN|ACK");
        assert_eq!(Flags::default().to_string(), "none");
    }

    #[test]
    fn detects_corruption_and_bad_offsets() {
        let mut bytes = syn_with_checksum();
        bytes[30] ^= 0x01;
        assert!(!Packet::new_unchecked(&bytes[..]).verify_checksum(&V4));
        bytes[12] = 0x40;
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(Error::Malformed("TCP header: data offset below 5 words"))
        );
        bytes[12] = 0xf0;
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(Error::Truncated { what: "TCP header", needed: 60, available: 40 })
        );
    }

    proptest! {
        #[test]
        fn parse_inverts_emit(
            ports: (u16, u16), seq: u32, ack: u32, flags in 0u16..0x200, window: u16, urgent: u16,
            option_words in 0usize..=10, option_seed: u8,
            payload in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let options: Vec<u8> = (0..option_words * 4).map(|i| option_seed.wrapping_add(i as u8)).collect();
            let repr = Repr {
                src_port: ports.0, dst_port: ports.1, seq_number: seq, ack_number: ack,
                flags: Flags(flags), window_len: window, urgent_pointer: urgent, options: &options,
            };
            let mut bytes = vec![0u8; repr.buffer_len() + payload.len()];
            let mut packet = Packet::new_unchecked(&mut bytes[..]);
            repr.emit(&mut packet);
            packet.payload_mut().copy_from_slice(&payload);
            packet.fill_checksum(&V4);
            let packet = Packet::new_checked(&bytes[..]).expect("checks");
            prop_assert_eq!(Repr::parse(&packet), Ok(repr));
            prop_assert_eq!(packet.payload(), &payload[..]);
            prop_assert!(packet.verify_checksum(&V4));
        }
    }
}
