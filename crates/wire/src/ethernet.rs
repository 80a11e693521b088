//! Ethernet II frames.

use core::fmt;

use crate::bytes::{read_u16, view_constructors, write_u16};
use crate::{MacAddr, Result, error::need};

/// Byte offsets within the Ethernet header.
pub mod field {
    use crate::bytes::{Field, Rest};

    /// Destination MAC.
    pub const DESTINATION: Field = 0..6;
    /// Source MAC.
    pub const SOURCE: Field = 6..12;
    /// EtherType (or, below 0x0600, an 802.3 length).
    pub const ETHERTYPE: Field = 12..14;
    /// Everything after the header.
    pub const PAYLOAD: Rest = 14..;
}

/// Length of the Ethernet II header: two addresses and the EtherType.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// The type of an Ethernet payload.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EtherType(pub u16);

impl EtherType {
    /// IPv4.
    pub const IPV4: Self = Self(0x0800);
    /// ARP.
    pub const ARP: Self = Self(0x0806);
    /// An 802.1Q VLAN tag follows (TPID).
    pub const VLAN: Self = Self(0x8100);
    /// IPv6.
    pub const IPV6: Self = Self(0x86dd);
    /// An 802.1ad service tag (Q-in-Q) follows.
    pub const QINQ: Self = Self(0x88a8);
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::IPV4 => f.write_str("IPv4"),
            Self::ARP => f.write_str("ARP"),
            Self::VLAN => f.write_str("802.1Q"),
            Self::IPV6 => f.write_str("IPv6"),
            Self::QINQ => f.write_str("802.1ad"),
            Self(other) => write!(f, "ethertype 0x{other:04x}"),
        }
    }
}

impl fmt::Debug for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A read/write view of an Ethernet II frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

view_constructors!(Frame);

impl<T: AsRef<[u8]>> Frame<T> {
    /// `Ok` if the buffer holds the whole header.
    pub fn check_len(&self) -> Result<()> {
        need("Ethernet header", HEADER_LEN, self.buffer.as_ref().len())
    }

    /// Destination address.
    pub fn dst_addr(&self) -> MacAddr {
        MacAddr(crate::bytes::read_array(self.buffer.as_ref(), field::DESTINATION.start))
    }

    /// Source address.
    pub fn src_addr(&self) -> MacAddr {
        MacAddr(crate::bytes::read_array(self.buffer.as_ref(), field::SOURCE.start))
    }

    /// EtherType of the payload ([`EtherType::VLAN`] when an 802.1Q tag follows).
    pub fn ethertype(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), field::ETHERTYPE.start))
    }

    /// Everything after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(addr.as_bytes());
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(addr.as_bytes());
    }

    /// Sets the EtherType.
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        write_u16(self.buffer.as_mut(), field::ETHERTYPE.start, ethertype.0);
    }

    /// Everything after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// An Ethernet II header, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: MacAddr,
    /// Destination address.
    pub dst_addr: MacAddr,
    /// Payload type.
    pub ethertype: EtherType,
}

impl Repr {
    /// Reads the header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Self> {
        frame.check_len()?;
        Ok(Self { src_addr: frame.src_addr(), dst_addr: frame.dst_addr(), ethertype: frame.ethertype() })
    }

    /// Bytes [`Repr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header. The frame must hold at least [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Error;
    use proptest::prelude::*;

    /// An ARP request as captured on a VMware host: who-has 10.0.0.2 tell 10.0.0.1, padded to 60.
    pub(crate) const ARP_REQUEST: [u8; 60] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x50, 0x56, 0xb3, 0x06, 0xd1, 0x08, 0x06, // Ethernet
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // ARP: Ethernet/IPv4, request
        0x00, 0x50, 0x56, 0xb3, 0x06, 0xd1, 10, 0, 0, 1, // sender
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10, 0, 0, 2, // target
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // padding
    ];

    #[test]
    fn reads_captured_frame() {
        let frame = Frame::new_checked(&ARP_REQUEST[..]).expect("valid");
        assert_eq!(frame.dst_addr(), MacAddr::BROADCAST);
        assert_eq!(frame.src_addr().to_string(), "0050.56b3.06d1");
        assert_eq!(frame.ethertype(), EtherType::ARP);
        assert_eq!(frame.payload().len(), 46);
        let repr = Repr::parse(&frame).expect("parses");
        assert_eq!(repr.ethertype, EtherType::ARP);
    }

    #[test]
    fn rejects_runt() {
        assert_eq!(
            Frame::new_checked(&ARP_REQUEST[..13]).err(),
            Some(Error::Truncated { what: "Ethernet header", needed: 14, available: 13 })
        );
    }

    #[test]
    fn setters_write_where_getters_read() {
        let mut bytes = [0u8; 14];
        let mut frame = Frame::new_unchecked(&mut bytes[..]);
        frame.set_dst_addr(MacAddr([1, 2, 3, 4, 5, 6]));
        frame.set_src_addr(MacAddr([7, 8, 9, 10, 11, 12]));
        frame.set_ethertype(EtherType::IPV6);
        assert_eq!(bytes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x86, 0xdd]);
    }

    #[test]
    fn names_ethertypes() {
        assert_eq!(EtherType::VLAN.to_string(), "802.1Q");
        assert_eq!(EtherType(0x88cc).to_string(), "ethertype 0x88cc");
    }

    pub(crate) fn arb_repr() -> impl Strategy<Value = Repr> {
        (any::<[u8; 6]>(), any::<[u8; 6]>(), any::<u16>()).prop_map(|(src, dst, ethertype)| Repr {
            src_addr: MacAddr(src),
            dst_addr: MacAddr(dst),
            ethertype: EtherType(ethertype),
        })
    }

    proptest! {
        #[test]
        fn parse_inverts_emit(repr in arb_repr(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = vec![0u8; repr.buffer_len() + payload.len()];
            let mut frame = Frame::new_unchecked(&mut bytes[..]);
            repr.emit(&mut frame);
            frame.payload_mut().copy_from_slice(&payload);
            let frame = Frame::new_checked(&bytes[..]).expect("emitted frame checks");
            prop_assert_eq!(Repr::parse(&frame), Ok(repr));
            prop_assert_eq!(frame.payload(), &payload[..]);
        }
    }
}
