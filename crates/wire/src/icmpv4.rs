//! ICMP for IPv4 (RFC 792): echo request and reply are modelled; other messages are viewable.

use core::fmt;

use crate::bytes::{read_u16, view_constructors, write_u16};
use crate::{Error, Result, checksum, error::need};

/// Byte offsets within the ICMPv4 header.
pub mod field {
    use crate::bytes::Field;

    /// Message type.
    pub const TYPE: usize = 0;
    /// Message code.
    pub const CODE: usize = 1;
    /// Checksum over the whole message.
    pub const CHECKSUM: Field = 2..4;
    /// Echo identifier.
    pub const ECHO_IDENT: Field = 4..6;
    /// Echo sequence number.
    pub const ECHO_SEQNO: Field = 6..8;
}

/// Length of the ICMPv4 header (type, code, checksum and the 4-byte rest-of-header).
pub const HEADER_LEN: usize = field::ECHO_SEQNO.end;

/// An ICMPv4 message type.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Message(pub u8);

impl Message {
    /// Echo reply (`ping` answer).
    pub const ECHO_REPLY: Self = Self(0);
    /// Destination unreachable.
    pub const DST_UNREACHABLE: Self = Self(3);
    /// Echo request (`ping`).
    pub const ECHO_REQUEST: Self = Self(8);
    /// Time exceeded.
    pub const TIME_EXCEEDED: Self = Self(11);
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ECHO_REPLY => f.write_str("echo reply"),
            Self::DST_UNREACHABLE => f.write_str("destination unreachable"),
            Self::ECHO_REQUEST => f.write_str("echo request"),
            Self::TIME_EXCEEDED => f.write_str("time exceeded"),
            Self(other) => write!(f, "type {other}"),
        }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A read/write view of an ICMPv4 message. The buffer should be the IP payload: the checksum
/// covers all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

view_constructors!(Packet);

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Ok` if the buffer holds the 8-byte header.
    pub fn check_len(&self) -> Result<()> {
        need("ICMPv4 header", HEADER_LEN, self.buffer.as_ref().len())
    }

    /// Message type.
    pub fn msg_type(&self) -> Message {
        Message(self.buffer.as_ref()[field::TYPE])
    }

    /// Message code.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Checksum as stored.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Echo identifier (meaningful for echo messages).
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    /// Echo sequence number (meaningful for echo messages).
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQNO.start)
    }

    /// Everything after the header: echo data, or the offending packet's header.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    /// `true` if the checksum matches the whole message.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == !0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the message type.
    pub fn set_msg_type(&mut self, message: Message) {
        self.buffer.as_mut()[field::TYPE] = message.0;
    }

    /// Sets the message code.
    pub fn set_msg_code(&mut self, code: u8) {
        self.buffer.as_mut()[field::CODE] = code;
    }

    /// Sets the echo identifier.
    pub fn set_echo_ident(&mut self, ident: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_IDENT.start, ident);
    }

    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, seq_no: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_SEQNO.start, seq_no);
    }

    /// Everything after the header, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }

    /// Computes and stores the checksum over the whole buffer; call after the data is written.
    pub fn fill_checksum(&mut self) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, 0);
        let sum = !checksum::data(self.buffer.as_ref());
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, sum);
    }
}

/// An ICMPv4 echo message, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repr<'a> {
    /// `ping`.
    EchoRequest {
        /// Identifier (per `ping` process).
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data echoed back.
        data: &'a [u8],
    },
    /// The answer to a `ping`.
    EchoReply {
        /// Identifier copied from the request.
        ident: u16,
        /// Sequence number copied from the request.
        seq_no: u16,
        /// Data copied from the request.
        data: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Reads an echo request or reply with a valid checksum; other types are unsupported.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Self> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum("ICMPv4"));
        }
        let buffer: &'a T = packet.buffer;
        let data = &buffer.as_ref()[HEADER_LEN..];
        let (ident, seq_no) = (packet.echo_ident(), packet.echo_seq_no());
        let repr = match packet.msg_type() {
            Message::ECHO_REQUEST => Self::EchoRequest { ident, seq_no, data },
            Message::ECHO_REPLY => Self::EchoReply { ident, seq_no, data },
            _ => return Err(Error::Unsupported("ICMPv4 message type (only echo request and reply)")),
        };
        if packet.msg_code() != 0 {
            return Err(Error::Malformed("ICMPv4 echo: code is not 0"));
        }
        Ok(repr)
    }

    /// Bytes [`Repr::emit`] writes (header and data).
    pub const fn buffer_len(&self) -> usize {
        match self {
            Self::EchoRequest { data, .. } | Self::EchoReply { data, .. } => HEADER_LEN + data.len(),
        }
    }

    /// Writes the message with its checksum. The view must be exactly [`Repr::buffer_len`] bytes,
    /// since the checksum covers the whole buffer.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let (message, ident, seq_no, data) = match *self {
            Self::EchoRequest { ident, seq_no, data } => (Message::ECHO_REQUEST, ident, seq_no, data),
            Self::EchoReply { ident, seq_no, data } => (Message::ECHO_REPLY, ident, seq_no, data),
        };
        packet.set_msg_type(message);
        packet.set_msg_code(0);
        packet.set_echo_ident(ident);
        packet.set_echo_seq_no(seq_no);
        packet.data_mut()[..data.len()].copy_from_slice(data);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipv4;
    use proptest::prelude::*;

    #[test]
    fn reads_captured_echo_request() {
        let ip = ipv4::Packet::new_checked(&ipv4::tests::PING[..]).expect("ip");
        let packet = Packet::new_checked(ip.payload()).expect("icmp");
        assert_eq!(Repr::parse(&packet), Ok(Repr::EchoRequest { ident: 42, seq_no: 1, data: b"abcdefgh" }));
        assert_eq!(packet.msg_type().to_string(), "echo request");
    }

    #[test]
    fn rejects_corruption_other_types_and_codes() {
        let mut bytes = ipv4::tests::PING[20..].to_vec();
        bytes[9] ^= 0x20;
        assert_eq!(Repr::parse(&Packet::new_unchecked(&bytes[..])), Err(Error::BadChecksum("ICMPv4")));

        let mut bytes = ipv4::tests::PING[20..].to_vec();
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_msg_type(Message::DST_UNREACHABLE);
        packet.fill_checksum();
        assert!(matches!(Repr::parse(&Packet::new_unchecked(&bytes[..])), Err(Error::Unsupported(_))));

        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_msg_type(Message::ECHO_REPLY);
        packet.set_msg_code(1);
        packet.fill_checksum();
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])),
            Err(Error::Malformed("ICMPv4 echo: code is not 0"))
        );
        assert!(Packet::new_checked(&bytes[..7]).is_err());
    }

    proptest! {
        #[test]
        fn parse_inverts_emit(request: bool, ident: u16, seq_no: u16, data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let repr = if request {
                Repr::EchoRequest { ident, seq_no, data: &data }
            } else {
                Repr::EchoReply { ident, seq_no, data: &data }
            };
            let mut bytes = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut bytes[..]));
            prop_assert_eq!(Repr::parse(&Packet::new_checked(&bytes[..]).expect("checks")), Ok(repr));
        }
    }
}
