//! MAC (Ethernet hardware) addresses, printed the NX-OS way (`0050.56b3.06d1`).

use core::fmt;
use core::str::FromStr;

use crate::Error;

/// A 48-bit Ethernet address.
///
/// `Display` and `Debug` print the NX-OS dotted form `0050.56b3.06d1` that `show mac
/// address-table` uses; [`MacAddr::colon`] gives the `00:50:56:b3:06:d1` form. Parsing accepts
/// both, and `00-50-56-b3-06-d1`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// `ffff.ffff.ffff`.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// `0000.0000.0000`, never a valid source.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// The address from its six bytes.
    pub const fn new(bytes: [u8; 6]) -> Self {
        Self(bytes)
    }

    /// The address from the first six bytes of `bytes`, or `None` if there are fewer.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let six: [u8; 6] = bytes.get(..6)?.try_into().ok()?;
        Some(Self(six))
    }

    /// The six bytes, in wire order.
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// `ffff.ffff.ffff`.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Group address (I/G bit set): multicast, including broadcast.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Individual address: not multicast, not broadcast (zero counts as unicast here).
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// All zero.
    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }

    /// Locally administered (U/L bit set), as generated MACs of containers are.
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// Displays as `00:50:56:b3:06:d1`, the form Linux tools print.
    pub const fn colon(&self) -> ColonForm {
        ColonForm(*self)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(f, "{:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A [`MacAddr`] displayed as `00:50:56:b3:06:d1`; see [`MacAddr::colon`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColonForm(MacAddr);

impl fmt::Display for ColonForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

const PARSE_ERROR: Error = Error::Malformed("MAC address: expected 0050.56b3.06d1 or 00:50:56:b3:06:d1");

impl FromStr for MacAddr {
    type Err = Error;

    /// Parses `0050.56b3.06d1` (NX-OS), `00:50:56:b3:06:d1` or `00-50-56-b3-06-d1`, any case.
    fn from_str(text: &str) -> Result<Self, Error> {
        let (separator, group_len) = match text.len() {
            14 => ('.', 4),
            17 if text.as_bytes().get(2) == Some(&b'-') => ('-', 2),
            17 => (':', 2),
            _ => return Err(PARSE_ERROR),
        };
        let mut bytes = [0u8; 6];
        let mut written = 0;
        for group in text.split(separator) {
            if group.len() != group_len || !group.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(PARSE_ERROR);
            }
            for pair in group.as_bytes().chunks(2) {
                let slot = bytes.get_mut(written).ok_or(PARSE_ERROR)?;
                let digits = core::str::from_utf8(pair).map_err(|_| PARSE_ERROR)?;
                *slot = u8::from_str_radix(digits, 16).map_err(|_| PARSE_ERROR)?;
                written += 1;
            }
        }
        if written == 6 { Ok(Self(bytes)) } else { Err(PARSE_ERROR) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VMWARE: MacAddr = MacAddr([0x00, 0x50, 0x56, 0xb3, 0x06, 0xd1]);

    #[test]
    fn prints_nxos_and_colon_forms() {
        assert_eq!(VMWARE.to_string(), "0050.56b3.06d1");
        assert_eq!(format!("{VMWARE:?}"), "0050.56b3.06d1");
        assert_eq!(VMWARE.colon().to_string(), "00:50:56:b3:06:d1");
    }

    #[test]
    fn parses_all_three_forms() {
        for text in ["0050.56b3.06d1", "00:50:56:b3:06:d1", "00-50-56-B3-06-D1", "0050.56B3.06d1"] {
            assert_eq!(text.parse::<MacAddr>(), Ok(VMWARE), "{text}");
        }
    }

    #[test]
    fn rejects_near_misses() {
        for text in [
            "",
            "0050.56b3.06d",
            "0050.56b3.06d1.",
            "0050:56b3:06d1",
            "00:50:56:b3:06",
            "00:50:56:b3:06:g1",
            "00:50-56:b3:06:d1",
            "0:050:56:b3:06:d1",
            "+0:50:56:b3:06:d1",
            "0050.56b3.06+1",
            "005056b306d1xx",
        ] {
            assert!(text.parse::<MacAddr>().is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn classifies_addresses() {
        assert!(MacAddr::BROADCAST.is_broadcast() && MacAddr::BROADCAST.is_multicast());
        let ipv4_multicast = MacAddr([0x01, 0x00, 0x5e, 0, 0, 1]);
        assert!(ipv4_multicast.is_multicast() && !ipv4_multicast.is_broadcast());
        assert!(VMWARE.is_unicast() && !VMWARE.is_local());
        assert!(MacAddr([0x02, 0xab, 0xcd, 0, 1, 1]).is_local());
        assert!(MacAddr::ZERO.is_zero());
        assert_eq!(MacAddr::from_slice(&[1, 2, 3, 4, 5]), None);
        assert_eq!(MacAddr::from_slice(&[0, 0x50, 0x56, 0xb3, 6, 0xd1, 9]), Some(VMWARE));
    }

    proptest! {
        #[test]
        fn every_form_parses_back(bytes: [u8; 6]) {
            let mac = MacAddr(bytes);
            prop_assert_eq!(mac.to_string().parse::<MacAddr>(), Ok(mac));
            prop_assert_eq!(mac.colon().to_string().parse::<MacAddr>(), Ok(mac));
        }

        #[test]
        fn any_text_parses_or_errs(text in ".{0,20}") {
            let _ = text.parse::<MacAddr>();
        }
    }
}
