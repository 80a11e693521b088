//! VXLAN headers (RFC 7348): an 8-byte header in UDP (port 4789) before the inner Ethernet frame.

use core::fmt;

use crate::bytes::{read_u32, view_constructors, write_u32};
use crate::{Error, Result, error::need};

/// Byte offsets within the VXLAN header.
pub mod field {
    use crate::bytes::{Field, Rest};

    /// Flags; only I (0x08, "VNI valid") is defined.
    pub const FLAGS: usize = 0;
    /// Reserved, ignored on receipt.
    pub const RESERVED1: Field = 1..4;
    /// VXLAN network identifier (24 bits) and a reserved byte.
    pub const VNI: Field = 4..8;
    /// The inner Ethernet frame.
    pub const PAYLOAD: Rest = 8..;
}

/// Length of the VXLAN header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;
/// The IANA-assigned UDP destination port.
pub const UDP_PORT: u16 = 4789;
/// The I flag: the VNI is valid.
const FLAG_VNI: u8 = 0x08;

/// A VXLAN network identifier: 24 bits, the segment id of a bridge-domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vni(u32);

impl Vni {
    /// The largest VNI, 2^24 - 1.
    pub const MAX: u32 = 0x00ff_ffff;

    /// `Some` if `value` fits in 24 bits.
    pub const fn new(value: u32) -> Option<Self> {
        if value <= Self::MAX { Some(Self(value)) } else { None }
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Vni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A read/write view of a VXLAN header and its inner frame (the UDP payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

view_constructors!(Packet);

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Ok` if the buffer holds the header.
    pub fn check_len(&self) -> Result<()> {
        need("VXLAN header", HEADER_LEN, self.buffer.as_ref().len())
    }

    /// The flags byte.
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The VNI (whatever the I flag says).
    pub fn vni(&self) -> Vni {
        Vni(read_u32(self.buffer.as_ref(), field::VNI.start) >> 8)
    }

    /// The inner Ethernet frame.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the flags byte.
    pub fn set_flags(&mut self, flags: u8) {
        self.buffer.as_mut()[field::FLAGS] = flags;
    }

    /// Sets the VNI and clears the reserved bytes.
    pub fn set_vni(&mut self, vni: Vni) {
        let data = self.buffer.as_mut();
        data[field::RESERVED1].fill(0);
        write_u32(data, field::VNI.start, vni.0 << 8);
    }

    /// The inner Ethernet frame, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// A VXLAN header, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// The segment the inner frame belongs to.
    pub vni: Vni,
}

impl Repr {
    /// Reads a header; the I flag must be set. Reserved bits are ignored, as RFC 7348 says.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        if packet.flags() & FLAG_VNI == 0 {
            return Err(Error::Malformed("VXLAN header: I flag (VNI valid) not set"));
        }
        Ok(Self { vni: packet.vni() })
    }

    /// Bytes [`Repr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header. The view must hold at least [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_flags(FLAG_VNI);
        packet.set_vni(self.vni);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// VNI 5000 as Linux's vxlan driver sends it, then the start of the inner frame.
    const HEADER: [u8; 10] = [0x08, 0x00, 0x00, 0x00, 0x00, 0x13, 0x88, 0x00, 0xff, 0xff];

    #[test]
    fn reads_captured_header() {
        let packet = Packet::new_checked(&HEADER[..]).expect("checks");
        assert_eq!(Repr::parse(&packet), Ok(Repr { vni: Vni::new(5000).expect("24-bit") }));
        assert_eq!(packet.payload(), &[0xff, 0xff]);
    }

    #[test]
    fn requires_i_flag_and_ignores_reserved_bits() {
        let mut bytes = HEADER;
        bytes[0] = 0x00;
        assert!(matches!(Repr::parse(&Packet::new_unchecked(&bytes[..])), Err(Error::Malformed(_))));
        let mut bytes = HEADER;
        bytes[1] = 0xaa;
        bytes[7] = 0x55;
        assert_eq!(Repr::parse(&Packet::new_unchecked(&bytes[..])).map(|r| r.vni.get()), Ok(5000));
        assert!(Packet::new_checked(&HEADER[..7]).is_err());
    }

    #[test]
    fn vni_is_24_bits() {
        assert_eq!(Vni::new(Vni::MAX).map(Vni::get), Some(0xff_ffff));
        assert_eq!(Vni::new(Vni::MAX + 1), None);
    }

    proptest! {
        #[test]
        fn parse_inverts_emit(value in 0..=Vni::MAX) {
            let repr = Repr { vni: Vni::new(value).expect("in range") };
            let mut bytes = [0xffu8; HEADER_LEN];
            repr.emit(&mut Packet::new_unchecked(&mut bytes[..]));
            prop_assert_eq!(bytes[7], 0);
            prop_assert_eq!(Repr::parse(&Packet::new_checked(&bytes[..]).expect("checks")), Ok(repr));
        }
    }
}
