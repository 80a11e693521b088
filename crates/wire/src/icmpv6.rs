//! ICMP for IPv6 (RFC 4443): the common header, and the neighbour advertisement of Neighbor
//! Discovery (RFC 4861) that ARP inspection checks for IPv6.

use core::fmt;
use core::net::Ipv6Addr;

use crate::bytes::{read_array, read_u16, view_constructors};
use crate::{Error, MacAddr, Result, error::need};

/// Byte offsets within ICMPv6 messages.
pub mod field {
    use crate::bytes::{Field, Rest};

    /// Message type.
    pub const TYPE: usize = 0;
    /// Message code.
    pub const CODE: usize = 1;
    /// Checksum over the pseudo-header and the message.
    pub const CHECKSUM: Field = 2..4;
    /// Neighbour advertisement: router, solicited and override flags (high bits).
    pub const NA_FLAGS: usize = 4;
    /// Neighbour advertisement: the address advertised.
    pub const NA_TARGET: Field = 8..24;
    /// Neighbour advertisement: options.
    pub const NA_OPTIONS: Rest = 24..;
}

/// Length of the ICMPv6 header (type, code, checksum).
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// Length of a neighbour advertisement without options.
pub const NEIGHBOR_ADVERT_LEN: usize = field::NA_TARGET.end;

/// Neighbor Discovery option: target link-layer address.
const OPTION_TARGET_LINK_LAYER: u8 = 2;

/// An ICMPv6 message type.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Message(pub u8);

impl Message {
    /// Echo request (`ping -6`).
    pub const ECHO_REQUEST: Self = Self(128);
    /// Echo reply.
    pub const ECHO_REPLY: Self = Self(129);
    /// Router advertisement.
    pub const ROUTER_ADVERT: Self = Self(134);
    /// Neighbour solicitation.
    pub const NEIGHBOR_SOLICIT: Self = Self(135);
    /// Neighbour advertisement.
    pub const NEIGHBOR_ADVERT: Self = Self(136);
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ECHO_REQUEST => f.write_str("echo request"),
            Self::ECHO_REPLY => f.write_str("echo reply"),
            Self::ROUTER_ADVERT => f.write_str("router advertisement"),
            Self::NEIGHBOR_SOLICIT => f.write_str("neighbor solicitation"),
            Self::NEIGHBOR_ADVERT => f.write_str("neighbor advertisement"),
            Self(other) => write!(f, "type {other}"),
        }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A read-only view of any ICMPv6 message's header. The buffer should be the IPv6 payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

view_constructors!(Packet);

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Ok` if the buffer holds the 4-byte header.
    pub fn check_len(&self) -> Result<()> {
        need("ICMPv6 header", HEADER_LEN, self.buffer.as_ref().len())
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
}

/// A read-only view of a neighbour advertisement (type 136). `check_len` requires the fixed
/// part; options are walked by [`NeighborAdvert::target_link_layer_addr`], which stops at the
/// first malformed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborAdvert<T: AsRef<[u8]>> {
    buffer: T,
}

view_constructors!(NeighborAdvert);

impl<T: AsRef<[u8]>> NeighborAdvert<T> {
    /// `Ok` if the buffer holds a neighbour advertisement's fixed part with type 136, code 0.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        need("ICMPv6 neighbor advertisement", NEIGHBOR_ADVERT_LEN, data.len())?;
        if data[field::TYPE] != Message::NEIGHBOR_ADVERT.0 || data[field::CODE] != 0 {
            return Err(Error::Malformed("ICMPv6 neighbor advertisement: not type 136 code 0"));
        }
        Ok(())
    }

    /// Sent by a router.
    pub fn router(&self) -> bool {
        self.buffer.as_ref()[field::NA_FLAGS] & 0x80 != 0
    }

    /// An answer to a solicitation.
    pub fn solicited(&self) -> bool {
        self.buffer.as_ref()[field::NA_FLAGS] & 0x40 != 0
    }

    /// Overrides cached entries.
    pub fn override_flag(&self) -> bool {
        self.buffer.as_ref()[field::NA_FLAGS] & 0x20 != 0
    }

    /// The address advertised.
    pub fn target_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(read_array::<16>(self.buffer.as_ref(), field::NA_TARGET.start))
    }

    /// The first target link-layer address option, if any (options after a malformed one are
    /// not read).
    pub fn target_link_layer_addr(&self) -> Option<MacAddr> {
        let mut options = &self.buffer.as_ref()[field::NA_OPTIONS];
        while let [kind, units, ..] = *options {
            let len = usize::from(units) * 8;
            if len == 0 || len > options.len() {
                return None;
            }
            if kind == OPTION_TARGET_LINK_LAYER && len == 8 {
                return MacAddr::from_slice(&options[2..8]);
            }
            options = &options[len..];
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A solicited, overriding advertisement of fe80::2 at 02ab.cd00.0002 (checksum not set).
    const ADVERT: [u8; 32] = [
        0x88, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, // type 136, code 0, S and O flags
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // fe80::2
        0x02, 0x01, 0x02, 0xab, 0xcd, 0x00, 0x00, 0x02, // target link-layer address
    ];

    #[test]
    fn reads_an_advertisement() {
        let packet = Packet::new_checked(&ADVERT[..]).expect("header");
        assert_eq!(packet.msg_type(), Message::NEIGHBOR_ADVERT);
        assert_eq!((packet.msg_code(), packet.checksum()), (0, 0));
        let advert = NeighborAdvert::new_checked(&ADVERT[..]).expect("advert");
        assert_eq!(advert.target_addr(), "fe80::2".parse::<Ipv6Addr>().expect("literal"));
        assert_eq!((advert.router(), advert.solicited(), advert.override_flag()), (false, true, true));
        assert_eq!(advert.target_link_layer_addr().map(|mac| mac.to_string()), Some("02ab.cd00.0002".into()));
    }

    #[test]
    fn finds_the_option_after_others_and_stops_at_malformed_ones() {
        let mut bytes = ADVERT[..24].to_vec();
        bytes.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 9]); // source link-layer: skipped
        bytes.extend_from_slice(&ADVERT[24..]);
        let advert = NeighborAdvert::new_checked(&bytes[..]).expect("advert");
        assert_eq!(advert.target_link_layer_addr(), MacAddr::from_slice(&ADVERT[26..32]));
        bytes[25] = 0; // a zero-length option ends the walk
        assert_eq!(NeighborAdvert::new_checked(&bytes[..]).expect("advert").target_link_layer_addr(), None);
        assert_eq!(
            NeighborAdvert::new_checked(&ADVERT[..24]).expect("no options").target_link_layer_addr(),
            None
        );
    }

    #[test]
    fn rejects_short_and_other_messages() {
        assert!(matches!(NeighborAdvert::new_checked(&ADVERT[..23]), Err(Error::Truncated { .. })));
        let mut solicit = ADVERT;
        solicit[0] = Message::NEIGHBOR_SOLICIT.0;
        assert!(matches!(NeighborAdvert::new_checked(&solicit[..]), Err(Error::Malformed(_))));
        assert!(Packet::new_checked(&ADVERT[..3]).is_err());
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(packet) = Packet::new_checked(&bytes[..]) {
                let _ = (packet.msg_type(), packet.msg_code(), packet.checksum());
            }
            let mut bytes = bytes;
            if bytes.len() >= 2 { bytes[0] = 136; bytes[1] = 0; }
            if let Ok(advert) = NeighborAdvert::new_checked(&bytes[..]) {
                let _ = (advert.router(), advert.solicited(), advert.override_flag(), advert.target_addr());
                let _ = advert.target_link_layer_addr();
            }
        }
    }
}
