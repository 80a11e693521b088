//! The set of VLANs a trunk port allows, as a bitmap: membership is one shift and mask.

use core::fmt;

const WORDS: usize = 4096 / 64;

/// A set of VLAN ids (1–4094), printed in NX-OS range form (`1-5,100-109`).
///
/// The agent fills it from the port-profile's `switchport trunk allowed vlan`; the datapath
/// only asks [`VlanBitmap::contains`], once per frame on trunk ports.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VlanBitmap {
    bits: [u64; WORDS],
}

impl Default for VlanBitmap {
    fn default() -> Self {
        Self::none()
    }
}

impl VlanBitmap {
    /// No VLAN.
    pub const fn none() -> Self {
        Self { bits: [0; WORDS] }
    }

    /// Every valid VLAN, 1–4094 (NX-OS `switchport trunk allowed vlan all`).
    pub fn all() -> Self {
        (1..=wire::vlan::VLAN_ID_MAX).collect()
    }

    /// Adds `vlan`; ids outside 1–4094 are ignored. Returns whether it was added.
    pub fn insert(&mut self, vlan: u16) -> bool {
        if !is_valid_vlan(vlan) || self.contains(vlan) {
            return false;
        }
        self.bits[usize::from(vlan / 64)] |= 1 << (vlan % 64);
        true
    }

    /// `true` if `vlan` is in the set.
    #[inline]
    pub fn contains(&self, vlan: u16) -> bool {
        self.bits.get(usize::from(vlan / 64)).is_some_and(|word| word & (1 << (vlan % 64)) != 0)
    }

    /// The VLANs, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (1..=wire::vlan::VLAN_ID_MAX).filter(|&vlan| self.contains(vlan))
    }

    /// How many VLANs are in the set.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|word| word.count_ones() as usize).sum()
    }

    /// `true` if no VLAN is in the set.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&word| word == 0)
    }
}

/// `true` for 1–4094, the VLANs a segment can be.
pub(crate) fn is_valid_vlan(vlan: u16) -> bool {
    (1..=wire::vlan::VLAN_ID_MAX).contains(&vlan)
}

impl FromIterator<u16> for VlanBitmap {
    fn from_iter<I: IntoIterator<Item = u16>>(vlans: I) -> Self {
        let mut set = Self::none();
        for vlan in vlans {
            set.insert(vlan);
        }
        set
    }
}

impl fmt::Display for VlanBitmap {
    /// `1-5,7,100-109`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut vlans = self.iter().peekable();
        let mut first = true;
        while let Some(start) = vlans.next() {
            let mut end = start;
            while vlans.peek() == Some(&(end + 1)) {
                end += 1;
                vlans.next();
            }
            f.write_str(if first { "" } else { "," })?;
            first = false;
            if start == end { write!(f, "{start}")? } else { write!(f, "{start}-{end}")? }
        }
        if first { f.write_str("none") } else { Ok(()) }
    }
}

impl fmt::Debug for VlanBitmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VlanBitmap({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_valid_vlans_only() {
        let set: VlanBitmap = [0, 1, 100, 101, 102, 200, 4094, 4095, 9999].into_iter().collect();
        assert_eq!(set.to_string(), "1,100-102,200,4094");
        assert_eq!(set.len(), 6);
        assert!(set.contains(101) && !set.contains(103) && !set.contains(0) && !set.contains(4095));
        assert!(!set.contains(u16::MAX));
        assert_eq!(VlanBitmap::all().to_string(), "1-4094");
        assert_eq!(VlanBitmap::none().to_string(), "none");
        assert!(VlanBitmap::none().is_empty() && !set.is_empty());
    }
}
