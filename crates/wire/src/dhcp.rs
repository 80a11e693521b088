//! DHCP for IPv4 (RFC 2131): the BOOTP fixed header and the options DHCP snooping reads —
//! message type (53), lease time (51) and server identifier (54). Options overloaded into
//! `sname`/`file` (option 52) are not read.

use core::fmt;
use core::net::Ipv4Addr;

use crate::bytes::{read_array, read_u32, view_constructors};
use crate::{Error, MacAddr, Result, error::need};

/// Byte offsets within a DHCP message.
pub mod field {
    use crate::bytes::{Field, Rest};

    /// 1 = request (client to server), 2 = reply.
    pub const OP: usize = 0;
    /// Hardware type (1 = Ethernet).
    pub const HTYPE: usize = 1;
    /// Hardware address length.
    pub const HLEN: usize = 2;
    /// Relay hops.
    pub const HOPS: usize = 3;
    /// Transaction id.
    pub const XID: Field = 4..8;
    /// Seconds since the client began.
    pub const SECS: Field = 8..10;
    /// Flags (broadcast bit).
    pub const FLAGS: Field = 10..12;
    /// The client's address, if it has one.
    pub const CIADDR: Field = 12..16;
    /// "Your" address: the one the server gives.
    pub const YIADDR: Field = 16..20;
    /// The next server's address.
    pub const SIADDR: Field = 20..24;
    /// The relay agent's address.
    pub const GIADDR: Field = 24..28;
    /// The client's hardware address (16 bytes; the first 6 for Ethernet).
    pub const CHADDR: Field = 28..44;
    /// The magic cookie 99.130.83.99.
    pub const MAGIC: Field = 236..240;
    /// Options.
    pub const OPTIONS: Rest = 240..;
}

/// Length of a DHCP message without options (the BOOTP header and the magic cookie).
pub const HEADER_LEN: usize = field::OPTIONS.start;

const MAGIC_COOKIE: u32 = 0x6382_5363;
const OPTION_PAD: u8 = 0;
const OPTION_END: u8 = 255;
const OPTION_LEASE_TIME: u8 = 51;
const OPTION_MESSAGE_TYPE: u8 = 53;
const OPTION_SERVER_ID: u8 = 54;

/// A DHCP message type (option 53).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType(pub u8);

impl MessageType {
    /// Client looks for servers.
    pub const DISCOVER: Self = Self(1);
    /// Server offers an address.
    pub const OFFER: Self = Self(2);
    /// Client asks for the offered address.
    pub const REQUEST: Self = Self(3);
    /// Client found the address in use.
    pub const DECLINE: Self = Self(4);
    /// Server grants the lease.
    pub const ACK: Self = Self(5);
    /// Server refuses.
    pub const NAK: Self = Self(6);
    /// Client gives the address back.
    pub const RELEASE: Self = Self(7);
    /// Client asks for parameters only.
    pub const INFORM: Self = Self(8);
}

impl fmt::Display for MessageType {
    /// `DHCPACK`, as the RFC names them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Self::DISCOVER => "DHCPDISCOVER",
            Self::OFFER => "DHCPOFFER",
            Self::REQUEST => "DHCPREQUEST",
            Self::DECLINE => "DHCPDECLINE",
            Self::ACK => "DHCPACK",
            Self::NAK => "DHCPNAK",
            Self::RELEASE => "DHCPRELEASE",
            Self::INFORM => "DHCPINFORM",
            Self(other) => return write!(f, "DHCP message type {other}"),
        };
        f.write_str(name)
    }
}

impl fmt::Debug for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A read-only view of a DHCP message (the UDP payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

view_constructors!(Packet);

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Ok` if the buffer holds the fixed header and the magic cookie.
    pub fn check_len(&self) -> Result<()> {
        need("DHCP message", HEADER_LEN, self.buffer.as_ref().len())?;
        if read_u32(self.buffer.as_ref(), field::MAGIC.start) != MAGIC_COOKIE {
            return Err(Error::Malformed("DHCP message: no magic cookie"));
        }
        Ok(())
    }

    /// 1 = request, 2 = reply.
    pub fn op(&self) -> u8 {
        self.buffer.as_ref()[field::OP]
    }

    /// Transaction id.
    pub fn xid(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::XID.start)
    }

    /// The client's address.
    pub fn ciaddr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::CIADDR.start))
    }

    /// The address the server gives.
    pub fn yiaddr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::YIADDR.start))
    }

    /// `Some` MAC if the hardware type is Ethernet with 6-byte addresses.
    pub fn client_mac(&self) -> Option<MacAddr> {
        let data = self.buffer.as_ref();
        (data[field::HTYPE] == 1 && data[field::HLEN] == 6)
            .then(|| MacAddr(read_array(data, field::CHADDR.start)))
    }

    /// The options, as (code, value) pairs; stops at the end option or a truncated one.
    pub fn options(&self) -> Options<'_> {
        Options { rest: &self.buffer.as_ref()[field::OPTIONS] }
    }
}

/// The options of a [`Packet`].
#[derive(Debug, Clone)]
pub struct Options<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Options<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match *self.rest {
                [OPTION_PAD, ..] => self.rest = &self.rest[1..],
                [OPTION_END, ..] | [] | [_] => {
                    self.rest = &[];
                    return None;
                }
                [code, len, ..] => {
                    let end = 2 + usize::from(len);
                    let Some(value) = self.rest.get(2..end) else {
                        self.rest = &[];
                        return None;
                    };
                    self.rest = &self.rest[end..];
                    return Some((code, value));
                }
            }
        }
    }
}

/// What DHCP snooping needs of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// The message type (option 53).
    pub message_type: MessageType,
    /// Transaction id.
    pub xid: u32,
    /// The client's MAC (`chaddr`).
    pub client_mac: MacAddr,
    /// The client's current address (`ciaddr`).
    pub client_addr: Ipv4Addr,
    /// The address given (`yiaddr`).
    pub your_addr: Ipv4Addr,
    /// Lease time in seconds (option 51).
    pub lease_secs: Option<u32>,
    /// The server (option 54).
    pub server_id: Option<Ipv4Addr>,
}

impl Repr {
    /// Reads an Ethernet client's message that has a message type.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        let client_mac =
            packet.client_mac().ok_or(Error::Unsupported("DHCP hardware type (only Ethernet)"))?;
        let (mut message_type, mut lease_secs, mut server_id) = (None, None, None);
        for (code, value) in packet.options() {
            match (code, value) {
                (OPTION_MESSAGE_TYPE, &[kind]) => message_type = Some(MessageType(kind)),
                (OPTION_LEASE_TIME, &[a, b, c, d]) => lease_secs = Some(u32::from_be_bytes([a, b, c, d])),
                (OPTION_SERVER_ID, &[a, b, c, d]) => server_id = Some(Ipv4Addr::new(a, b, c, d)),
                _ => {}
            }
        }
        Ok(Self {
            message_type: message_type.ok_or(Error::Malformed("DHCP message: no message type option"))?,
            xid: packet.xid(),
            client_mac,
            client_addr: packet.ciaddr(),
            your_addr: packet.yiaddr(),
            lease_secs,
            server_id,
        })
    }

    /// Bytes [`Repr::emit`] writes: the header, the options present and the end option.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
            + 3
            + if self.lease_secs.is_some() { 6 } else { 0 }
            + if self.server_id.is_some() { 6 } else { 0 }
            + 1
    }

    /// Writes the message into `buf` (at least [`Repr::buffer_len`] bytes): a reply for server
    /// message types, a request for the others.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(Error::BufferTooSmall { needed: len, available: buf.len() });
        }
        let buf = &mut buf[..len];
        buf.fill(0);
        let server = matches!(self.message_type, MessageType::OFFER | MessageType::ACK | MessageType::NAK);
        buf[field::OP] = if server { 2 } else { 1 };
        buf[field::HTYPE] = 1;
        buf[field::HLEN] = 6;
        buf[field::XID].copy_from_slice(&self.xid.to_be_bytes());
        buf[field::CIADDR].copy_from_slice(&self.client_addr.octets());
        buf[field::YIADDR].copy_from_slice(&self.your_addr.octets());
        buf[field::CHADDR.start..field::CHADDR.start + 6].copy_from_slice(self.client_mac.as_bytes());
        buf[field::MAGIC].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
        let mut at = HEADER_LEN;
        buf[at..at + 3].copy_from_slice(&[OPTION_MESSAGE_TYPE, 1, self.message_type.0]);
        at += 3;
        if let Some(secs) = self.lease_secs {
            buf[at..at + 2].copy_from_slice(&[OPTION_LEASE_TIME, 4]);
            buf[at + 2..at + 6].copy_from_slice(&secs.to_be_bytes());
            at += 6;
        }
        if let Some(server) = self.server_id {
            buf[at..at + 2].copy_from_slice(&[OPTION_SERVER_ID, 4]);
            buf[at + 2..at + 6].copy_from_slice(&server.octets());
            at += 6;
        }
        buf[at] = OPTION_END;
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ack() -> Repr {
        Repr {
            message_type: MessageType::ACK,
            xid: 0x1234_5678,
            client_mac: MacAddr([0x02, 0, 0, 0, 0, 5]),
            client_addr: Ipv4Addr::UNSPECIFIED,
            your_addr: Ipv4Addr::new(10, 0, 0, 5),
            lease_secs: Some(3600),
            server_id: Some(Ipv4Addr::new(10, 0, 0, 1)),
        }
    }

    #[test]
    fn reads_what_it_writes_with_padding_and_unknown_options() {
        let mut buf = [0u8; 400];
        let len = ack().emit(&mut buf).expect("fits");
        assert_eq!(len, HEADER_LEN + 16);
        let packet = Packet::new_checked(&buf[..len]).expect("checks");
        assert_eq!(packet.op(), 2);
        assert_eq!(Repr::parse(&packet), Ok(ack()));
        // Pad, an unknown option, then the message type again at the end.
        let mut bytes = buf[..HEADER_LEN].to_vec();
        bytes.extend_from_slice(&[0, 0, 12, 3, b'a', b'b', b'c', 53, 1, 7, 255, 53, 1, 5]);
        let repr = Repr::parse(&Packet::new_checked(&bytes[..]).expect("checks")).expect("parses");
        assert_eq!((repr.message_type, repr.lease_secs), (MessageType::RELEASE, None));
        assert_eq!(repr.message_type.to_string(), "DHCPRELEASE");
    }

    #[test]
    fn rejects_short_uncookied_typeless_and_non_ethernet() {
        let mut buf = [0u8; 400];
        let len = ack().emit(&mut buf).expect("fits");
        assert!(matches!(Packet::new_checked(&buf[..239]), Err(Error::Truncated { .. })));
        let mut bytes = buf[..len].to_vec();
        bytes[236] = 0;
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(Error::Malformed("DHCP message: no magic cookie"))
        );
        let typeless = &buf[..HEADER_LEN];
        assert!(matches!(Repr::parse(&Packet::new_unchecked(typeless)), Err(Error::Malformed(_))));
        let mut bytes = buf[..len].to_vec();
        bytes[field::HTYPE] = 6;
        assert!(matches!(Repr::parse(&Packet::new_unchecked(&bytes[..])), Err(Error::Unsupported(_))));
        assert!(ack().emit(&mut buf[..100]).is_err());
    }

    proptest! {
        #[test]
        fn parse_inverts_emit(kind: u8, xid: u32, mac: [u8; 6], ciaddr: [u8; 4], yiaddr: [u8; 4],
                              lease: Option<u32>, server: Option<[u8; 4]>) {
            let repr = Repr {
                message_type: MessageType(kind),
                xid,
                client_mac: MacAddr(mac),
                client_addr: Ipv4Addr::from(ciaddr),
                your_addr: Ipv4Addr::from(yiaddr),
                lease_secs: lease,
                server_id: server.map(Ipv4Addr::from),
            };
            let mut buf = [0u8; 300];
            let len = repr.emit(&mut buf).expect("fits");
            prop_assert_eq!(Repr::parse(&Packet::new_checked(&buf[..len]).expect("checks")), Ok(repr));
        }

        #[test]
        fn garbage_never_panics(options in proptest::collection::vec(any::<u8>(), 0..64), header: [u8; 16]) {
            let mut bytes = vec![0u8; HEADER_LEN];
            bytes[..16].copy_from_slice(&header);
            bytes[field::MAGIC].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
            bytes.extend_from_slice(&options);
            let packet = Packet::new_checked(&bytes[..]).expect("cookie");
            let _ = (packet.op(), packet.xid(), packet.ciaddr(), packet.yiaddr(), packet.client_mac());
            let _ = packet.options().count();
            let _ = Repr::parse(&packet);
            for cut in 0..bytes.len() {
                let _ = Packet::new_checked(&bytes[..cut]).map(|packet| Repr::parse(&packet));
            }
        }
    }
}
