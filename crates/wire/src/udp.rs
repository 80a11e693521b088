//! UDP datagrams (RFC 768).

use crate::bytes::{read_u16, view_constructors, write_u16};
use crate::checksum::{self, PseudoHeader};
use crate::ip::IpProtocol;
use crate::{Error, Result, error::need};

/// Byte offsets within the UDP header.
pub mod field {
    use crate::bytes::Field;

    /// Source port.
    pub const SRC_PORT: Field = 0..2;
    /// Destination port.
    pub const DST_PORT: Field = 2..4;
    /// Length of header and payload.
    pub const LENGTH: Field = 4..6;
    /// Checksum over pseudo-header, header and payload (0 = none, IPv4 only).
    pub const CHECKSUM: Field = 6..8;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// A read/write view of a UDP datagram. The buffer should be the IP payload: the checksum
/// covers all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

view_constructors!(Packet);

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Ok` if the buffer holds the header and the length it claims.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        need("UDP header", HEADER_LEN, len)?;
        let claimed = usize::from(self.datagram_len());
        if claimed < HEADER_LEN {
            return Err(Error::Malformed("UDP header: length below 8 bytes"));
        }
        need("UDP datagram", claimed, len)
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// Length of header and payload, as stored.
    pub fn datagram_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// Checksum as stored.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The payload, up to the stored length.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.datagram_len())]
    }

    /// `true` if the checksum matches, or is absent (zero) over IPv4.
    pub fn verify_checksum(&self, pseudo: &PseudoHeader) -> bool {
        if self.checksum() == 0 {
            return matches!(pseudo, PseudoHeader::V4 { .. });
        }
        let datagram = &self.buffer.as_ref()[..usize::from(self.datagram_len())];
        let pseudo_sum = pseudo.sum(IpProtocol::UDP, u32::from(self.datagram_len()));
        checksum::combine(&[pseudo_sum, checksum::data(datagram)]) == !0
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

    /// Sets the length of header and payload.
    pub fn set_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, len);
    }

    /// Stores `checksum` as is.
    pub fn set_checksum(&mut self, checksum: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, checksum);
    }

    /// Computes and stores the checksum; call after the payload is written.
    pub fn fill_checksum(&mut self, pseudo: &PseudoHeader) {
        self.set_checksum(0);
        let len = self.datagram_len();
        let pseudo_sum = pseudo.sum(IpProtocol::UDP, u32::from(len));
        let sum =
            !checksum::combine(&[pseudo_sum, checksum::data(&self.buffer.as_ref()[..usize::from(len)])]);
        // A computed zero is sent as all ones: zero on the wire means "no checksum".
        self.set_checksum(if sum == 0 { 0xffff } else { sum });
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.datagram_len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

/// A UDP header, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length in bytes (at most 65527).
    pub payload_len: u16,
}

impl Repr {
    /// The largest payload the length field can describe.
    pub const MAX_PAYLOAD_LEN: u16 = u16::MAX - HEADER_LEN as u16;

    /// Reads the header. The checksum needs the IP addresses: see [`Packet::verify_checksum`].
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        Ok(Self {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: packet.datagram_len() - HEADER_LEN as u16,
        })
    }

    /// Bytes [`Repr::emit`] writes (the header).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header with a zero checksum; write the payload, then
    /// [`Packet::fill_checksum`]. The view must hold at least [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(self.payload_len.saturating_add(HEADER_LEN as u16));
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;

    /// A DNS query from 10.0.0.1:53000 to 10.0.0.53:53 as captured (payload shortened to 4 bytes).
    const DNS: [u8; 12] = [0xcf, 0x08, 0x00, 0x35, 0x00, 0x0c, 0x09, 0x2f, 0x12, 0x34, 0x01, 0x00];
    const V4: PseudoHeader =
        PseudoHeader::V4 { src: Ipv4Addr::new(10, 0, 0, 1), dst: Ipv4Addr::new(10, 0, 0, 53) };

    #[test]
    fn reads_captured_datagram() {
        let packet = Packet::new_checked(&DNS[..]).expect("checks");
        assert_eq!(Repr::parse(&packet), Ok(Repr { src_port: 53000, dst_port: 53, payload_len: 4 }));
        assert_eq!(packet.payload(), &[0x12, 0x34, 0x01, 0x00]);
        assert!(packet.verify_checksum(&V4));
        let mut corrupted = DNS;
        corrupted[9] ^= 0x40;
        assert!(!Packet::new_unchecked(&corrupted[..]).verify_checksum(&V4));
    }

    #[test]
    fn zero_checksum_means_none_only_over_ipv4() {
        let mut bytes = DNS;
        bytes[6..8].copy_from_slice(&[0, 0]);
        let packet = Packet::new_unchecked(&bytes[..]);
        assert!(packet.verify_checksum(&V4));
        let v6 = PseudoHeader::V6 { src: Ipv6Addr::LOCALHOST, dst: Ipv6Addr::LOCALHOST };
        assert!(!packet.verify_checksum(&v6));
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut bytes = DNS;
        bytes[5] = 7;
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(Error::Malformed("UDP header: length below 8 bytes"))
        );
        bytes[5] = 13;
        assert!(matches!(
            Packet::new_checked(&bytes[..]),
            Err(Error::Truncated { what: "UDP datagram", .. })
        ));
    }

    proptest! {
        #[test]
        fn parse_inverts_emit(src_port: u16, dst_port: u16, payload in proptest::collection::vec(any::<u8>(), 0..300),
                              src: [u8; 16], dst: [u8; 16]) {
            let repr = Repr { src_port, dst_port, payload_len: payload.len() as u16 };
            let mut bytes = vec![0u8; repr.buffer_len() + payload.len()];
            let mut packet = Packet::new_unchecked(&mut bytes[..]);
            repr.emit(&mut packet);
            packet.payload_mut().copy_from_slice(&payload);
            let pseudo = PseudoHeader::V6 { src: Ipv6Addr::from(src), dst: Ipv6Addr::from(dst) };
            packet.fill_checksum(&pseudo);
            let packet = Packet::new_checked(&bytes[..]).expect("checks");
            prop_assert_eq!(Repr::parse(&packet), Ok(repr));
            prop_assert!(packet.verify_checksum(&pseudo));
            prop_assert_ne!(packet.checksum(), 0);
        }
    }
}
