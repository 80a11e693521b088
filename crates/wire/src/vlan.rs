//! 802.1Q VLAN tags: the view of a tag (TCI + inner EtherType) and helpers to push or pop one.
//!
//! In a tagged frame the outer EtherType is the TPID 0x8100 ([`EtherType::VLAN`]); the tag view
//! starts right after it, at [`TAGGED_HEADER_LEN`]` - `[`TAG_LEN`] bytes into the frame.

use core::fmt;

use crate::bytes::{read_u16, view_constructors, write_u16};
use crate::ethernet::{self, EtherType};
use crate::{Error, Result, error::need};

/// Byte offsets within the tag, counted from the byte after the TPID.
pub mod field {
    use crate::bytes::{Field, Rest};

    /// Tag control information: PCP (3 bits), DEI (1 bit), VLAN id (12 bits).
    pub const TCI: Field = 0..2;
    /// EtherType of what the tag carries.
    pub const ETHERTYPE: Field = 2..4;
    /// The tagged payload.
    pub const PAYLOAD: Rest = 4..;
}

/// Bytes a tag adds to a frame: TPID and TCI.
pub const TAG_LEN: usize = 4;
/// Length of an Ethernet header with one 802.1Q tag.
pub const TAGGED_HEADER_LEN: usize = ethernet::HEADER_LEN + TAG_LEN;
/// The largest VLAN id a frame may carry; 4095 is reserved.
pub const VLAN_ID_MAX: u16 = 4094;

/// Tag control information: priority, drop eligibility, VLAN id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tci {
    /// Priority code point, 0–7.
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN id, 0–4094; 0 marks a priority-tagged frame that belongs to the port's native VLAN.
    pub vid: u16,
}

impl Tci {
    /// A tag for `vid` with priority 0.
    pub const fn vlan(vid: u16) -> Self {
        Self { pcp: 0, dei: false, vid }
    }

    /// The 16-bit wire form. Out-of-range fields are masked to their widths.
    pub const fn to_bits(self) -> u16 {
        ((self.pcp as u16 & 0x7) << 13) | ((self.dei as u16) << 12) | (self.vid & 0x0fff)
    }

    /// From the 16-bit wire form (any value; see [`Repr::parse`] for validation).
    pub const fn from_bits(bits: u16) -> Self {
        Self { pcp: (bits >> 13) as u8, dei: bits & 0x1000 != 0, vid: bits & 0x0fff }
    }
}

impl fmt::Display for Tci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vlan {}", self.vid)?;
        if self.pcp != 0 {
            write!(f, " p {}", self.pcp)?;
        }
        if self.dei {
            f.write_str(" dei")?;
        }
        Ok(())
    }
}

/// A read/write view of an 802.1Q tag and what it carries (the bytes after the TPID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag<T: AsRef<[u8]>> {
    buffer: T,
}

view_constructors!(Tag);

impl<T: AsRef<[u8]>> Tag<T> {
    /// `Ok` if the buffer holds the TCI and the inner EtherType.
    pub fn check_len(&self) -> Result<()> {
        need("802.1Q tag", field::PAYLOAD.start, self.buffer.as_ref().len())
    }

    /// The whole tag control information.
    pub fn tci(&self) -> Tci {
        Tci::from_bits(read_u16(self.buffer.as_ref(), field::TCI.start))
    }

    /// VLAN id (12 bits).
    pub fn vlan_id(&self) -> u16 {
        self.tci().vid
    }

    /// Priority code point (3 bits).
    pub fn pcp(&self) -> u8 {
        self.tci().pcp
    }

    /// EtherType of the tagged payload.
    pub fn ethertype(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), field::ETHERTYPE.start))
    }

    /// The tagged payload.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Tag<T> {
    /// Sets the tag control information.
    pub fn set_tci(&mut self, tci: Tci) {
        write_u16(self.buffer.as_mut(), field::TCI.start, tci.to_bits());
    }

    /// Sets the EtherType of the tagged payload.
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        write_u16(self.buffer.as_mut(), field::ETHERTYPE.start, ethertype.0);
    }

    /// The tagged payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// An 802.1Q tag, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Priority, drop eligibility and VLAN id.
    pub tci: Tci,
    /// EtherType of the tagged payload.
    pub ethertype: EtherType,
}

impl Repr {
    /// Reads a tag; VLAN id 4095 is reserved and rejected.
    pub fn parse<T: AsRef<[u8]>>(tag: &Tag<T>) -> Result<Self> {
        tag.check_len()?;
        let tci = tag.tci();
        if tci.vid > VLAN_ID_MAX {
            return Err(Error::Malformed("802.1Q tag: VLAN id 4095 is reserved"));
        }
        Ok(Self { tci, ethertype: tag.ethertype() })
    }

    /// Bytes [`Repr::emit`] writes (TCI and inner EtherType).
    pub const fn buffer_len(&self) -> usize {
        field::PAYLOAD.start
    }

    /// Writes the tag. The view must hold at least [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, tag: &mut Tag<T>) {
        tag.set_tci(self.tci);
        tag.set_ethertype(self.ethertype);
    }
}

/// Inserts an 802.1Q tag after the source MAC of the frame in `buf[..len]`, moving the rest up
/// four bytes. Returns the new length. `buf` needs four bytes of room past `len`.
pub fn push_tag(buf: &mut [u8], len: usize, tci: Tci) -> Result<usize> {
    need("Ethernet header", ethernet::HEADER_LEN, len)?;
    let tagged_len = len + TAG_LEN;
    if len > buf.len() || tagged_len > buf.len() {
        return Err(Error::BufferTooSmall { needed: tagged_len, available: buf.len() });
    }
    let tpid_at = ethernet::field::ETHERTYPE.start;
    buf.copy_within(tpid_at..len, tpid_at + TAG_LEN);
    write_u16(buf, tpid_at, EtherType::VLAN.0);
    write_u16(buf, tpid_at + 2, tci.to_bits());
    Ok(tagged_len)
}

/// Removes the outer 802.1Q tag from the frame in `buf[..len]`, moving the rest down four bytes.
/// Returns the tag and the new length.
pub fn pop_tag(buf: &mut [u8], len: usize) -> Result<(Tci, usize)> {
    if len > buf.len() {
        return Err(Error::BufferTooSmall { needed: len, available: buf.len() });
    }
    let frame = ethernet::Frame::new_checked(&buf[..len])?;
    if frame.ethertype() != EtherType::VLAN {
        return Err(Error::Malformed("802.1Q tag: frame is not tagged"));
    }
    let tag = Tag::new_checked(frame.payload())?;
    let tci = tag.tci();
    let tpid_at = ethernet::field::ETHERTYPE.start;
    buf.copy_within(tpid_at + TAG_LEN..len, tpid_at);
    Ok((tci, len - TAG_LEN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// ICMP echo request on VLAN 100, priority 5, as captured on a trunk (Ethernet + tag part).
    const TAGGED: [u8; 22] = [
        0x00, 0x50, 0x56, 0xb3, 0x07, 0x02, 0x00, 0x50, 0x56, 0xb3, 0x06, 0xd1, // addresses
        0x81, 0x00, 0xa0, 0x64, 0x08, 0x00, // TPID, TCI (pcp 5, vid 100), IPv4
        0x45, 0x00, 0x00, 0x54, // start of the IPv4 header
    ];

    #[test]
    fn reads_captured_tag() {
        let frame = ethernet::Frame::new_checked(&TAGGED[..]).expect("frame");
        assert_eq!(frame.ethertype(), EtherType::VLAN);
        let tag = Tag::new_checked(frame.payload()).expect("tag");
        assert_eq!(tag.vlan_id(), 100);
        assert_eq!(tag.pcp(), 5);
        assert_eq!(tag.ethertype(), EtherType::IPV4);
        assert_eq!(tag.payload(), &[0x45, 0x00, 0x00, 0x54]);
        assert_eq!(tag.tci().to_string(), "vlan 100 p 5");
    }

    #[test]
    fn rejects_reserved_vlan_and_short_tags() {
        let reserved = [0x0f, 0xff, 0x08, 0x00];
        assert!(matches!(Repr::parse(&Tag::new_unchecked(&reserved[..])), Err(Error::Malformed(_))));
        assert!(matches!(Tag::new_checked(&reserved[..3]), Err(Error::Truncated { .. })));
    }

    #[test]
    fn pop_then_push_restores_the_frame() {
        let mut buf = TAGGED;
        let (tci, len) = pop_tag(&mut buf, TAGGED.len()).expect("pops");
        assert_eq!(tci, Tci { pcp: 5, dei: false, vid: 100 });
        assert_eq!(len, 18);
        assert_eq!(&buf[12..14], &[0x08, 0x00]);
        let len = push_tag(&mut buf, len, tci).expect("pushes");
        assert_eq!(buf, TAGGED);
        assert_eq!(len, TAGGED.len());
    }

    #[test]
    fn push_and_pop_refuse_what_they_cannot_do() {
        let mut full = TAGGED;
        assert_eq!(
            push_tag(&mut full, TAGGED.len(), Tci::vlan(1)),
            Err(Error::BufferTooSmall { needed: 26, available: 22 })
        );
        assert!(push_tag(&mut full, 10, Tci::vlan(1)).is_err());
        assert!(push_tag(&mut full, 99, Tci::vlan(1)).is_err());
        let mut untagged = [0u8; 20];
        assert!(pop_tag(&mut untagged, 20).is_err());
        assert!(pop_tag(&mut full, 16).is_err());
        assert!(pop_tag(&mut full, 99).is_err());
    }

    pub(crate) fn arb_tci() -> impl Strategy<Value = Tci> {
        (0u8..8, any::<bool>(), 0..=VLAN_ID_MAX).prop_map(|(pcp, dei, vid)| Tci { pcp, dei, vid })
    }

    proptest! {
        #[test]
        fn parse_inverts_emit(tci in arb_tci(), ethertype: u16) {
            let repr = Repr { tci, ethertype: EtherType(ethertype) };
            let mut bytes = [0u8; 4];
            repr.emit(&mut Tag::new_unchecked(&mut bytes[..]));
            prop_assert_eq!(Repr::parse(&Tag::new_checked(&bytes[..]).expect("checks")), Ok(repr));
        }

        #[test]
        fn push_pop_round_trip(tci in arb_tci(), body in proptest::collection::vec(any::<u8>(), 14..80)) {
            let mut buf = body.clone();
            buf.extend_from_slice(&[0; TAG_LEN]);
            let len = push_tag(&mut buf, body.len(), tci).expect("room for the tag");
            prop_assert_eq!(len, body.len() + TAG_LEN);
            let (popped, len) = pop_tag(&mut buf, len).expect("tagged");
            prop_assert_eq!(popped, tci);
            prop_assert_eq!(&buf[..len], &body[..]);
        }
    }
}
