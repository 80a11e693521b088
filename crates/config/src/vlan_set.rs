//! A set of VLAN ids, printed and parsed in NX-OS range form (`1-5,7,100-109`).
//!
//! Stored as a 4096-bit bitset: membership, union and difference are a few word operations, and
//! the set has one canonical text form (ascending, maximal ranges), so print ∘ parse is exact.
//! The JSON form is that same string, so REST clients write `"trunk_allowed_vlans": "100-109"`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{VLAN_MAX, VLAN_MIN, VlanId};

const WORDS: usize = 4096 / 64;

/// A set of VLAN ids within 1–4094.
///
/// The bits live on the heap so the set is one pointer wide inside the model's structs and
/// enums (which hold many of them); cloning copies 512 bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VlanSet {
    bits: Box<[u64; WORDS]>,
}

impl Default for VlanSet {
    /// The empty set.
    fn default() -> Self {
        Self { bits: Box::new([0; WORDS]) }
    }
}

/// Why a VLAN range string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VlanSetError {
    /// A piece was empty: `1,,2`, a trailing comma, or an empty string.
    #[error("empty VLAN range at offset {offset}")]
    Empty { offset: usize },
    /// A piece was not a decimal number.
    #[error("'{text}' is not a VLAN id at offset {offset}")]
    NotANumber { text: String, offset: usize },
    /// A number outside 1–4094.
    #[error("invalid VLAN id '{text}' at offset {offset}")]
    OutOfRange { text: String, offset: usize },
    /// `10-5`: a range that runs backwards.
    #[error("VLAN range '{text}' runs backwards at offset {offset}")]
    Backwards { text: String, offset: usize },
}

impl VlanSetError {
    /// Byte offset of the offending piece in the input string.
    pub fn offset(&self) -> usize {
        match self {
            Self::Empty { offset }
            | Self::NotANumber { offset, .. }
            | Self::OutOfRange { offset, .. }
            | Self::Backwards { offset, .. } => *offset,
        }
    }
}

impl VlanSet {
    /// The empty set (`none`).
    pub fn none() -> Self {
        Self::default()
    }

    /// Every VLAN 1–4094 (`all`).
    pub fn all() -> Self {
        Self::range(VLAN_MIN, VLAN_MAX)
    }

    /// `first..=last`, clamped to 1–4094.
    pub fn range(first: VlanId, last: VlanId) -> Self {
        let mut set = Self::none();
        let (first, last) = (first.max(VLAN_MIN), last.min(VLAN_MAX));
        if first > last {
            return set;
        }
        // Whole words at a time: a set of all VLANs is 64 stores, not 4094 inserts.
        let (first, last) = (usize::from(first), usize::from(last));
        for (index, word) in set.bits.iter_mut().enumerate() {
            let (lo, hi) = (index * 64, index * 64 + 63);
            if hi < first || lo > last {
                continue;
            }
            let from = first.max(lo) - lo;
            let to = last.min(hi) - lo;
            let width = to - from + 1;
            let mask = if width == 64 { u64::MAX } else { ((1u64 << width) - 1) << from };
            *word |= mask;
        }
        set
    }

    /// One VLAN.
    pub fn single(id: VlanId) -> Self {
        let mut set = Self::none();
        set.insert(id);
        set
    }

    /// Adds `id`; returns whether it was new. Ids outside 1–4094 are ignored (returns false).
    pub fn insert(&mut self, id: VlanId) -> bool {
        if !(VLAN_MIN..=VLAN_MAX).contains(&id) {
            return false;
        }
        let (word, bit) = Self::slot(id);
        let was = self.bits[word] & bit != 0;
        self.bits[word] |= bit;
        !was
    }

    /// Removes `id`; returns whether it was present.
    pub fn remove(&mut self, id: VlanId) -> bool {
        if !self.contains(id) {
            return false;
        }
        let (word, bit) = Self::slot(id);
        self.bits[word] &= !bit;
        true
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: VlanId) -> bool {
        if !(VLAN_MIN..=VLAN_MAX).contains(&id) {
            return false;
        }
        let (word, bit) = Self::slot(id);
        self.bits[word] & bit != 0
    }

    /// Number of VLANs in the set.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }

    /// Whether the set holds every VLAN 1–4094.
    pub fn is_all(&self) -> bool {
        self.len() == usize::from(VLAN_MAX - VLAN_MIN + 1)
    }

    /// The union of `self` and `other`.
    #[must_use]
    pub fn union(&self, other: &Self) -> Self {
        let mut out = self.clone();
        out.bits.iter_mut().zip(other.bits.iter()).for_each(|(a, b)| *a |= b);
        out
    }

    /// The VLANs of `self` that are not in `other`.
    #[must_use]
    pub fn difference(&self, other: &Self) -> Self {
        let mut out = self.clone();
        out.bits.iter_mut().zip(other.bits.iter()).for_each(|(a, b)| *a &= !b);
        out
    }

    /// The VLANs in both sets.
    #[must_use]
    pub fn intersection(&self, other: &Self) -> Self {
        let mut out = self.clone();
        out.bits.iter_mut().zip(other.bits.iter()).for_each(|(a, b)| *a &= b);
        out
    }

    /// Every VLAN 1–4094 not in `self` (`except`).
    #[must_use]
    pub fn complement(&self) -> Self {
        Self::all().difference(self)
    }

    /// Whether every VLAN of `self` is in `other`.
    pub fn is_subset(&self, other: &Self) -> bool {
        self.bits.iter().zip(other.bits.iter()).all(|(a, b)| a & !b == 0)
    }

    /// The ids in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = VlanId> + '_ {
        self.bits.iter().enumerate().flat_map(|(index, word)| {
            let mut rest = *word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                // index < 64 and bit < 64, so the id is below 4096.
                VlanId::try_from(index * 64 + bit as usize).ok()
            })
        })
    }

    /// Maximal runs `(first, last)` in ascending order: the canonical text form's pieces.
    pub fn ranges(&self) -> Vec<(VlanId, VlanId)> {
        let mut out: Vec<(VlanId, VlanId)> = Vec::new();
        for id in self.iter() {
            match out.last_mut() {
                Some((_, last)) if *last + 1 == id => *last = id,
                _ => out.push((id, id)),
            }
        }
        out
    }

    fn slot(id: VlanId) -> (usize, u64) {
        (usize::from(id) / 64, 1u64 << (id % 64))
    }
}

impl FromIterator<VlanId> for VlanSet {
    fn from_iter<I: IntoIterator<Item = VlanId>>(iter: I) -> Self {
        let mut set = Self::none();
        for id in iter {
            set.insert(id);
        }
        set
    }
}

impl fmt::Display for VlanSet {
    /// `1-5,7,100-109`; the empty set prints as `none` (what `switchport trunk allowed vlan` takes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ranges = self.ranges();
        if ranges.is_empty() {
            return f.write_str("none");
        }
        for (i, (first, last)) in ranges.into_iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if first == last {
                write!(f, "{first}")?;
            } else {
                write!(f, "{first}-{last}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for VlanSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VlanSet({self})")
    }
}

impl FromStr for VlanSet {
    type Err = VlanSetError;

    /// Parses `1-5,7,100-109`; also `all` and `none` (the JSON form uses them too).
    /// Overlaps and any order are accepted, as NX-OS does.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "all" => return Ok(Self::all()),
            "none" => return Ok(Self::none()),
            _ => {}
        }
        let mut set = Self::none();
        let mut offset = 0;
        for piece in text.split(',') {
            let (first, last) = match piece.split_once('-') {
                Some((a, b)) => (parse_id(a, offset)?, parse_id(b, offset + a.len() + 1)?),
                None => {
                    let id = parse_id(piece, offset)?;
                    (id, id)
                }
            };
            if first > last {
                return Err(VlanSetError::Backwards { text: piece.to_string(), offset });
            }
            set = set.union(&Self::range(first, last));
            offset += piece.len() + 1;
        }
        Ok(set)
    }
}

fn parse_id(text: &str, offset: usize) -> Result<VlanId, VlanSetError> {
    if text.is_empty() {
        return Err(VlanSetError::Empty { offset });
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VlanSetError::NotANumber { text: text.to_string(), offset });
    }
    match text.parse::<u32>() {
        Ok(n) if (u32::from(VLAN_MIN)..=u32::from(VLAN_MAX)).contains(&n) => {
            Ok(VlanId::try_from(n).unwrap_or(VLAN_MAX))
        }
        _ => Err(VlanSetError::OutOfRange { text: text.to_string(), offset }),
    }
}

impl Serialize for VlanSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VlanSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_and_prints_canonical_ranges() {
        let set: VlanSet = "7,1-5,100-109,4,6".parse().unwrap();
        assert_eq!(set.to_string(), "1-7,100-109");
        assert_eq!(set.len(), 17);
        assert!(set.contains(100) && !set.contains(99));
    }

    #[test]
    fn all_and_none() {
        assert_eq!(VlanSet::all().to_string(), "1-4094");
        assert_eq!(VlanSet::none().to_string(), "none");
        assert_eq!("all".parse::<VlanSet>().unwrap(), VlanSet::all());
        assert_eq!("none".parse::<VlanSet>().unwrap(), VlanSet::none());
        assert_eq!(VlanSet::all().len(), 4094);
        assert!(VlanSet::all().is_all());
    }

    #[test]
    fn rejects_bad_pieces_with_offsets() {
        let err = "1,5000".parse::<VlanSet>().unwrap_err();
        assert_eq!(err, VlanSetError::OutOfRange { text: "5000".into(), offset: 2 });
        assert_eq!("0".parse::<VlanSet>().unwrap_err().offset(), 0);
        assert_eq!("1-3,9-x".parse::<VlanSet>().unwrap_err().offset(), 6);
        assert!(matches!("10-5".parse::<VlanSet>(), Err(VlanSetError::Backwards { .. })));
        assert!(matches!("1,,2".parse::<VlanSet>(), Err(VlanSetError::Empty { offset: 2 })));
        assert!(matches!("".parse::<VlanSet>(), Err(VlanSetError::Empty { offset: 0 })));
        assert!("+5".parse::<VlanSet>().is_err());
    }

    #[test]
    fn set_operations() {
        let a: VlanSet = "1-10".parse().unwrap();
        let b: VlanSet = "5-15".parse().unwrap();
        assert_eq!(a.union(&b).to_string(), "1-15");
        assert_eq!(a.difference(&b).to_string(), "1-4");
        assert_eq!(a.intersection(&b).to_string(), "5-10");
        assert_eq!(a.complement().to_string(), "11-4094");
        assert!(VlanSet::range(2, 3).is_subset(&a));
        assert!(!b.is_subset(&a));
    }

    #[test]
    fn ignores_ids_outside_range() {
        let mut set = VlanSet::none();
        assert!(!set.insert(0));
        assert!(!set.insert(4095));
        assert!(set.is_empty());
        assert_eq!(VlanSet::range(0, 5000), VlanSet::all());
        assert!(VlanSet::range(10, 5).is_empty());
        assert_eq!(VlanSet::range(63, 64).to_string(), "63-64");
        assert_eq!(VlanSet::range(64, 127).len(), 64);
        assert_eq!(VlanSet::range(4094, 4094).iter().collect::<Vec<_>>(), vec![4094]);
    }

    #[test]
    fn serde_is_the_range_string() {
        let set: VlanSet = "100-109,200".parse().unwrap();
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, "\"100-109,200\"");
        assert_eq!(serde_json::from_str::<VlanSet>(&json).unwrap(), set);
        assert!(serde_json::from_str::<VlanSet>("\"5000\"").is_err());
    }
}
