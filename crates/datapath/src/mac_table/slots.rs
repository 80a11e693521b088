//! The MAC table's storage: open addressing with linear probing in one flat array of
//! (key, entry) slots, sized by the caller to stay at most half full.
//!
//! Why not `HashMap`: a lookup here is a hash, one index and usually one key comparison in the
//! cache line it lands on; the general map's group probing and tag matching cost several
//! times that on the datapath's hottest path. Deletion shifts the following entries back
//! (no tombstones), so probe sequences never degrade however many MACs age out.

use std::hash::BuildHasher;

use super::{MacEntry, MacKind, PackedKey};

/// A key as stored: the packed key's two halves, with [`OCCUPIED`] set in the high one. An empty
/// slot's key is all zeros, which no stored key is.
type StoredKey = [u64; 2];

const OCCUPIED: u64 = 1 << 63;
const EMPTY_KEY: StoredKey = [0, 0];
const EMPTY: Slot =
    Slot { key: EMPTY_KEY, entry: MacEntry { port: 0, kind: MacKind::Dynamic, vtep: None, last_seen: 0 } };
/// The smallest table, so that there is always an empty slot to end a probe.
const MIN_SLOTS: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Slot {
    key: StoredKey,
    entry: MacEntry,
}

/// The slots, a power of two of them.
#[derive(Debug)]
pub(super) struct Slots {
    slots: Box<[Slot]>,
    len: usize,
    hasher: foldhash::fast::FixedState,
}

fn stored(key: PackedKey) -> StoredKey {
    [(key.0 >> 64) as u64 | OCCUPIED, key.0 as u64]
}

fn unstored(key: StoredKey) -> PackedKey {
    PackedKey(u128::from(key[0] & !OCCUPIED) << 64 | u128::from(key[1]))
}

impl Slots {
    pub fn new(hash_seed: u64) -> Self {
        Self {
            slots: vec![EMPTY; MIN_SLOTS].into_boxed_slice(),
            len: 0,
            hasher: foldhash::fast::FixedState::with_seed(hash_seed),
        }
    }

    /// Empties the table and makes room for `slots` slots (rounded up to a power of two).
    /// Inserting more than half that many entries makes probes long; more than all of them,
    /// impossible (`insert` and `fill` then do nothing).
    pub fn reset(&mut self, slots: usize) {
        let wanted = slots.max(MIN_SLOTS).checked_next_power_of_two().unwrap_or(MIN_SLOTS);
        if self.slots.len() == wanted {
            self.slots.fill(EMPTY);
        } else {
            self.slots = vec![EMPTY; wanted].into_boxed_slice();
        }
        self.len = 0;
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    fn home(&self, key: StoredKey) -> usize {
        // One `u128` is two multiplies in foldhash; an array would hash its length too.
        self.hasher.hash_one(u128::from(key[0]) << 64 | u128::from(key[1])) as usize & self.mask()
    }

    /// `Ok(slot)` holding `key`, or `Err(slot)`: the empty slot where it would go (`Err` of an
    /// occupied slot only if the table is full).
    #[inline(always)]
    pub fn find(&self, key: PackedKey) -> Result<usize, usize> {
        let key = stored(key);
        let mask = self.mask();
        let mut index = self.home(key);
        for _ in 0..self.slots.len() {
            let slot = &self.slots[index];
            if slot.key == key {
                return Ok(index);
            }
            if slot.key == EMPTY_KEY {
                return Err(index);
            }
            index = (index + 1) & mask;
        }
        Err(index)
    }

    /// The entry in an occupied slot from [`Self::find`].
    #[inline]
    pub fn entry(&self, slot: usize) -> &MacEntry {
        &self.slots[slot].entry
    }

    pub fn entry_mut(&mut self, slot: usize) -> &mut MacEntry {
        &mut self.slots[slot].entry
    }

    /// Puts `key` into the empty `slot` that [`Self::find`] returned for it.
    pub fn fill(&mut self, slot: usize, key: PackedKey, entry: MacEntry) {
        let target = &mut self.slots[slot];
        if target.key == EMPTY_KEY {
            *target = Slot { key: stored(key), entry };
            self.len += 1;
        }
    }

    /// Inserts or replaces; returns the entry replaced.
    pub fn insert(&mut self, key: PackedKey, entry: MacEntry) -> Option<MacEntry> {
        match self.find(key) {
            Ok(slot) => Some(std::mem::replace(self.entry_mut(slot), entry)),
            Err(slot) => {
                self.fill(slot, key, entry);
                None
            }
        }
    }

    /// Keeps the entries `keep` says to; returns how many it removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&MacEntry) -> bool) -> usize {
        let before = self.len;
        let mut index = 0;
        while index < self.slots.len() {
            let slot = self.slots[index];
            if slot.key != EMPTY_KEY && !keep(&slot.entry) {
                // The next entries shift back into `index`: look at it again. One that wraps
                // around from the start is looked at twice, which `keep` allows.
                self.remove(index);
            } else {
                index += 1;
            }
        }
        before - self.len
    }

    /// Empties `slot`, moving back each following entry of the cluster that may sit closer to
    /// its home slot, so that no probe ever has to step over a hole.
    fn remove(&mut self, slot: usize) {
        let mask = self.mask();
        let mut hole = slot;
        let mut next = (slot + 1) & mask;
        while self.slots[next].key != EMPTY_KEY {
            let home = self.home(self.slots[next].key);
            // Movable unless its home lies cyclically in (hole, next].
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(hole) & mask {
                self.slots[hole] = self.slots[next];
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
    }

    /// Every entry, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (PackedKey, MacEntry)> + '_ {
        self.slots.iter().filter(|slot| slot.key != EMPTY_KEY).map(|slot| (unstored(slot.key), slot.entry))
    }

    pub fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(port: u16) -> MacEntry {
        MacEntry { port, kind: MacKind::Dynamic, vtep: None, last_seen: 0 }
    }

    #[test]
    fn finds_inserts_and_removes_through_collisions() {
        // A small table, three quarters full, with seed 0: long clusters and wrap-arounds.
        let mut slots = Slots::new(0);
        slots.reset(16);
        let keys: Vec<PackedKey> = (0..12u128).map(|n| PackedKey(n * 0x1_0000_0001 + 7)).collect();
        for (n, &key) in keys.iter().enumerate() {
            assert_eq!(slots.insert(key, entry(n as u16)), None);
        }
        assert_eq!(slots.insert(keys[3], entry(99)), Some(entry(3)));
        assert_eq!(slots.len(), 12);
        let removed = slots.retain(|entry| entry.port % 2 == 0 && entry.port != 99);
        assert_eq!((removed, slots.len()), (6, 6));
        for (n, &key) in keys.iter().enumerate() {
            let found = slots.find(key).map(|slot| slots.entry(slot).port);
            if n % 2 == 0 { assert_eq!(found, Ok(n as u16)) } else { assert!(found.is_err(), "{n}") }
        }
        let mut listed: Vec<u128> = slots.iter().map(|(key, _)| key.0).collect();
        listed.sort_unstable();
        assert_eq!(listed, keys.iter().step_by(2).map(|key| key.0).collect::<Vec<_>>());
    }

    #[test]
    fn a_full_table_refuses_and_still_answers() {
        let mut slots = Slots::new(1);
        slots.reset(0);
        for n in 0..MIN_SLOTS as u128 + 4 {
            slots.insert(PackedKey(n + 1), entry(n as u16));
        }
        assert_eq!(slots.len(), MIN_SLOTS);
        assert!(slots.find(PackedKey(1000)).is_err());
    }

    proptest::proptest! {
        /// Against a `HashMap`: any mix of inserts and removals in a small, crowded table
        /// (few distinct homes, so clusters collide and wrap around) leaves the same entries.
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec((0u8..3, 0u16..40, 0u64..3), 1..300)) {
            let mut slots = Slots::new(7);
            slots.reset(64);
            let mut model = std::collections::HashMap::new();
            for (op, key, age) in ops {
                let packed = PackedKey(u128::from(key) << 70 | u128::from(key % 5));
                match op {
                    0 | 1 => {
                        let value = MacEntry { last_seen: age, ..entry(key) };
                        proptest::prop_assert_eq!(slots.insert(packed, value), model.insert(key, value));
                    }
                    _ => {
                        let removed = slots.retain(|entry| entry.last_seen != age);
                        let before = model.len();
                        model.retain(|_, entry: &mut MacEntry| entry.last_seen != age);
                        proptest::prop_assert_eq!(removed, before - model.len());
                    }
                }
                proptest::prop_assert_eq!(slots.len(), model.len());
                for (key, value) in &model {
                    let packed = PackedKey(u128::from(*key) << 70 | u128::from(key % 5));
                    let found = slots.find(packed).map(|slot| *slots.entry(slot));
                    proptest::prop_assert_eq!(found, Ok(*value));
                }
            }
        }
    }
}
