//! ARP for IPv4 over Ethernet (RFC 826), the only kind a switch port carries.

use core::fmt;
use core::net::Ipv4Addr;

use crate::bytes::{read_array, read_u16, view_constructors, write_u16};
use crate::ethernet::EtherType;
use crate::{Error, MacAddr, Result, error::need};

/// Byte offsets within an Ethernet/IPv4 ARP packet.
pub mod field {
    use crate::bytes::Field;

    /// Hardware type (1 = Ethernet).
    pub const HTYPE: Field = 0..2;
    /// Protocol type (an EtherType; 0x0800 = IPv4).
    pub const PTYPE: Field = 2..4;
    /// Hardware address length.
    pub const HLEN: usize = 4;
    /// Protocol address length.
    pub const PLEN: usize = 5;
    /// Operation.
    pub const OPER: Field = 6..8;
    /// Sender hardware address.
    pub const SHA: Field = 8..14;
    /// Sender protocol address.
    pub const SPA: Field = 14..18;
    /// Target hardware address.
    pub const THA: Field = 18..24;
    /// Target protocol address.
    pub const TPA: Field = 24..28;
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = field::TPA.end;

/// Hardware type Ethernet.
const HTYPE_ETHERNET: u16 = 1;

/// An ARP operation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operation(pub u16);

impl Operation {
    /// Who has the target address?
    pub const REQUEST: Self = Self(1);
    /// The sender has it.
    pub const REPLY: Self = Self(2);
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::REQUEST => f.write_str("request"),
            Self::REPLY => f.write_str("reply"),
            Self(other) => write!(f, "operation {other}"),
        }
    }
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A read/write view of an ARP packet. `check_len` requires the Ethernet/IPv4 size, so the
/// fixed-offset address accessors are always in bounds; [`Repr::parse`] checks the types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

view_constructors!(Packet);

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Ok` if the buffer holds an Ethernet/IPv4-sized ARP packet.
    pub fn check_len(&self) -> Result<()> {
        need("ARP packet", PACKET_LEN, self.buffer.as_ref().len())
    }

    /// Hardware type.
    pub fn hardware_type(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::HTYPE.start)
    }

    /// Protocol type.
    pub fn protocol_type(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), field::PTYPE.start))
    }

    /// Hardware address length.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// Operation.
    pub fn operation(&self) -> Operation {
        Operation(read_u16(self.buffer.as_ref(), field::OPER.start))
    }

    /// Sender hardware address.
    pub fn source_hardware_addr(&self) -> MacAddr {
        MacAddr(read_array(self.buffer.as_ref(), field::SHA.start))
    }

    /// Sender protocol address.
    pub fn source_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::SPA.start))
    }

    /// Target hardware address.
    pub fn target_hardware_addr(&self) -> MacAddr {
        MacAddr(read_array(self.buffer.as_ref(), field::THA.start))
    }

    /// Target protocol address.
    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::TPA.start))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets hardware type, protocol type and both address lengths for Ethernet/IPv4.
    pub fn set_ethernet_ipv4_types(&mut self) {
        let data = self.buffer.as_mut();
        write_u16(data, field::HTYPE.start, HTYPE_ETHERNET);
        write_u16(data, field::PTYPE.start, EtherType::IPV4.0);
        data[field::HLEN] = 6;
        data[field::PLEN] = 4;
    }

    /// Sets the operation.
    pub fn set_operation(&mut self, operation: Operation) {
        write_u16(self.buffer.as_mut(), field::OPER.start, operation.0);
    }

    /// Sets the sender hardware address.
    pub fn set_source_hardware_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(addr.as_bytes());
    }

    /// Sets the sender protocol address.
    pub fn set_source_protocol_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SPA].copy_from_slice(&addr.octets());
    }

    /// Sets the target hardware address.
    pub fn set_target_hardware_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::THA].copy_from_slice(addr.as_bytes());
    }

    /// Sets the target protocol address.
    pub fn set_target_protocol_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::TPA].copy_from_slice(&addr.octets());
    }
}

/// An Ethernet/IPv4 ARP packet, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Request or reply.
    pub operation: Operation,
    /// Sender MAC.
    pub source_hardware_addr: MacAddr,
    /// Sender IPv4 address.
    pub source_protocol_addr: Ipv4Addr,
    /// Target MAC (zero in a request).
    pub target_hardware_addr: MacAddr,
    /// Target IPv4 address.
    pub target_protocol_addr: Ipv4Addr,
}

impl Repr {
    /// Reads an Ethernet/IPv4 ARP packet; other hardware or protocol types are unsupported.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        if packet.hardware_type() != HTYPE_ETHERNET || packet.hardware_len() != 6 {
            return Err(Error::Unsupported("ARP hardware type (only Ethernet)"));
        }
        if packet.protocol_type() != EtherType::IPV4 || packet.protocol_len() != 4 {
            return Err(Error::Unsupported("ARP protocol type (only IPv4)"));
        }
        Ok(Self {
            operation: packet.operation(),
            source_hardware_addr: packet.source_hardware_addr(),
            source_protocol_addr: packet.source_protocol_addr(),
            target_hardware_addr: packet.target_hardware_addr(),
            target_protocol_addr: packet.target_protocol_addr(),
        })
    }

    /// Bytes [`Repr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Writes the packet. The view must hold at least [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_ethernet_ipv4_types();
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(self.source_hardware_addr);
        packet.set_source_protocol_addr(self.source_protocol_addr);
        packet.set_target_hardware_addr(self.target_hardware_addr);
        packet.set_target_protocol_addr(self.target_protocol_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ethernet;
    use proptest::prelude::*;

    #[test]
    fn reads_captured_request() {
        let frame = ethernet::Frame::new_checked(&ethernet::tests::ARP_REQUEST[..]).expect("frame");
        let repr = Repr::parse(&Packet::new_checked(frame.payload()).expect("packet")).expect("parses");
        assert_eq!(repr.operation, Operation::REQUEST);
        assert_eq!(repr.source_hardware_addr.to_string(), "0050.56b3.06d1");
        assert_eq!(repr.source_protocol_addr, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(repr.target_hardware_addr, MacAddr::ZERO);
        assert_eq!(repr.target_protocol_addr, Ipv4Addr::new(10, 0, 0, 2));
    }

    #[test]
    fn rejects_other_types() {
        let frame = ethernet::Frame::new_checked(&ethernet::tests::ARP_REQUEST[..]).expect("frame");
        let mut bytes = frame.payload()[..PACKET_LEN].to_vec();
        bytes[1] = 6; // IEEE 802 hardware
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])),
            Err(Error::Unsupported("ARP hardware type (only Ethernet)"))
        );
        bytes[1] = 1;
        bytes[5] = 16; // IPv6-length protocol addresses
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])),
            Err(Error::Unsupported("ARP protocol type (only IPv4)"))
        );
        assert!(matches!(Packet::new_checked(&bytes[..27]), Err(Error::Truncated { .. })));
    }

    fn arb_repr() -> impl Strategy<Value = Repr> {
        (any::<u16>(), any::<[u8; 6]>(), any::<[u8; 4]>(), any::<[u8; 6]>(), any::<[u8; 4]>()).prop_map(
            |(op, sha, spa, tha, tpa)| Repr {
                operation: Operation(op),
                source_hardware_addr: MacAddr(sha),
                source_protocol_addr: Ipv4Addr::from(spa),
                target_hardware_addr: MacAddr(tha),
                target_protocol_addr: Ipv4Addr::from(tpa),
            },
        )
    }

    proptest! {
        #[test]
        fn parse_inverts_emit(repr in arb_repr()) {
            let mut bytes = [0u8; PACKET_LEN];
            repr.emit(&mut Packet::new_unchecked(&mut bytes[..]));
            prop_assert_eq!(Repr::parse(&Packet::new_checked(&bytes[..]).expect("checks")), Ok(repr));
        }
    }
}
