//! The flow table: the datapath's one source of per-flow truth. Each entry is one flow as it
//! entered the switch (ingress port, segment, 5-tuple) and carries the access-list verdicts
//! cached for it, the connection state a stateful permit gave it, and the counters flow export
//! and `vemcmd show flows` read. Connections admitted by an *output* list's stateful permit
//! live in entries of their own, keyed by the egress port ([`Role::OutConnection`]).
//!
//! Bounded and preallocated: entries sit in a slab of fixed capacity, found through an
//! open-addressing index of twice as many slots (linear probing, backward-shift deletion, no
//! tombstones), hashed with the settings' seed so that nobody can choose colliding flows.
//! Nothing allocates after [`FlowTable::reserve`], which the datapath calls only once a
//! snapshot needs flows: a switch without ACLs or flow accounting spends no memory on it.
//!
//! Expiry: an entry lives [`FLOW_IDLE`] past its last packet, or as long as its connection's
//! timeout if longer; entries that flow accounting has not exported yet stay until exported.
//! Lookups ignore expired entries and [`FlowTable::sweep`] removes them a few at a time.

use std::hash::BuildHasher;

use crate::Segment;
use crate::acl::Hit;
use crate::conntrack::Conn;
use crate::packet::{Packet, echo_reply_of};
use crate::snapshot::PortIndex;

/// How long an entry without a connection lives after its last packet (Open vSwitch's
/// timeout for a first packet of "other" traffic).
pub const FLOW_IDLE: u64 = 60_000_000_000;

/// The default number of entries (`Settings::flow_table_size`).
pub const DEFAULT_FLOW_TABLE_SIZE: usize = 256 * 1024;

/// What an entry's key is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum Role {
    /// A flow entering the switch at `port`.
    #[default]
    Flow,
    /// A connection an output list's stateful permit admitted towards `port`.
    OutConnection,
}

/// A flow's identity. `port` is the port's number (stable across snapshots, unlike its index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FlowKey {
    pub src: u128,
    pub dst: u128,
    pub port: u32,
    pub segment: Segment,
    pub src_port: u16,
    pub dst_port: u16,
    pub protocol: u8,
    pub v6: bool,
    pub role: Role,
}

impl FlowKey {
    pub fn new(port: u32, segment: Segment, packet: &Packet, role: Role) -> Self {
        Self {
            src: packet.src,
            dst: packet.dst,
            port,
            segment,
            src_port: packet.src_port,
            dst_port: packet.dst_port,
            protocol: packet.protocol,
            v6: packet.v6,
            role,
        }
    }

    /// The key of the opposite direction (an echo reply for an echo request, and back) at
    /// `port` in `role`.
    pub fn reversed(&self, port: u32, role: Role) -> Self {
        let (src_port, dst_port) = match self.protocol {
            1 | 58 => {
                let kind = (self.dst_port >> 8) as u8;
                let other = echo_reply_of(kind, self.v6).or_else(|| {
                    [(0, 8), (129, 128)].iter().find(|(reply, _)| *reply == kind).map(|(_, req)| *req)
                });
                (self.src_port, other.map_or(self.dst_port, |other| u16::from(other) << 8))
            }
            _ => (self.dst_port, self.src_port),
        };
        Self { src: self.dst, dst: self.src, src_port, dst_port, port, role, ..*self }
    }
}

/// A verdict cached for one list: which list (by its index in the snapshot) and which rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cached {
    pub list: u16,
    pub hit: Hit,
    /// An entry holding the connection this direction belongs to (its own, for an output
    /// list's stateful permit; the original direction's, for a reply), checked before use.
    pub link: Option<u32>,
}

/// Output verdicts are cached for this many egress ports per flow; floods to more ports with
/// output lists evaluate the rest (round robin replacement).
pub(crate) const OUT_WAYS: usize = 2;

/// Bits of [`FlowEntry::monitor`]: the flow is accounted for input or output monitoring.
pub(crate) const MONITOR_INPUT: u8 = 1;
pub(crate) const MONITOR_OUTPUT: u8 = 2;

/// One flow.
#[derive(Debug, Clone)]
pub(crate) struct FlowEntry {
    pub key: FlowKey,
    hash: u64,
    live: bool,
    /// The configuration generation the cached verdicts were computed in.
    pub generation: u32,
    pub verdict_in: Option<Cached>,
    pub verdict_out: [Option<(PortIndex, Cached)>; OUT_WAYS],
    pub out_next: u8,
    pub conn: Option<Conn>,
    /// When the entry may go (nanoseconds), connection timeouts included; written only through
    /// the table, which keeps a copy for its sweep.
    expires: u64,
    pub first_seen: u64,
    pub last_seen: u64,
    pub packets: u64,
    pub bytes: u64,
    /// Packets and bytes since the last export, and when that export was.
    pub delta_packets: u64,
    pub delta_bytes: u64,
    pub exported_at: u64,
    pub tcp_flags: u8,
    pub tos: u8,
    /// The last egress port's number, 0 for a flood (or none yet).
    pub out_port: u32,
    pub monitor: u8,
}

impl FlowEntry {
    fn new(key: FlowKey, hash: u64, now: u64) -> Self {
        Self {
            key,
            hash,
            live: true,
            generation: 0,
            verdict_in: None,
            verdict_out: [None; OUT_WAYS],
            out_next: 0,
            conn: None,
            expires: now.saturating_add(FLOW_IDLE),
            first_seen: now,
            last_seen: now,
            packets: 0,
            bytes: 0,
            delta_packets: 0,
            delta_bytes: 0,
            exported_at: now,
            tcp_flags: 0,
            tos: 0,
            out_port: 0,
            monitor: 0,
        }
    }

    /// `true` once nothing keeps it: idle past its expiry and nothing left to export.
    #[inline]
    pub fn expired(&self, now: u64) -> bool {
        now >= self.expires && (self.monitor == 0 || self.delta_packets == 0)
    }

    /// Its connection, if alive at `now`.
    #[inline]
    pub fn live_conn(&self, now: u64) -> Option<&Conn> {
        self.conn.as_ref().filter(|conn| conn.alive(now))
    }

    /// Its expiry after a packet at `now` (the idle time, or its connection's timeout if longer).
    #[inline]
    fn expiry_after(&self, now: u64) -> u64 {
        let conn = self.conn.map_or(0, |conn| conn.expires);
        now.saturating_add(FLOW_IDLE).max(conn)
    }

    /// The cached output verdict for `port`, if computed in `generation`.
    #[inline]
    pub fn cached_out(&self, port: PortIndex, generation: u32) -> Option<Cached> {
        if self.generation != generation {
            return None;
        }
        self.verdict_out.iter().flatten().find(|(cached, _)| *cached == port).map(|(_, verdict)| *verdict)
    }

    /// Caches an output verdict, replacing the oldest way if all are taken.
    pub fn cache_out(&mut self, port: PortIndex, verdict: Cached) {
        if let Some(way) = self.verdict_out.iter_mut().find(|way| way.is_some_and(|(p, _)| p == port)) {
            *way = Some((port, verdict));
            return;
        }
        if let Some(way) = self.verdict_out.iter_mut().find(|way| way.is_none()) {
            *way = Some((port, verdict));
            return;
        }
        let way = usize::from(self.out_next) % OUT_WAYS;
        self.verdict_out[way] = Some((port, verdict));
        self.out_next = self.out_next.wrapping_add(1);
    }

    /// Makes the cached verdicts current for `generation`, dropping stale ones.
    #[inline]
    pub fn refresh_generation(&mut self, generation: u32) {
        if self.generation != generation {
            self.generation = generation;
            self.verdict_in = None;
            self.verdict_out = [None; OUT_WAYS];
        }
    }
}

/// Index slot meaning "empty".
const EMPTY: u32 = 0;

/// The table.
#[derive(Debug)]
pub(crate) struct FlowTable {
    capacity: usize,
    /// Entry id + 1 per slot, [`EMPTY`] if none; a power of two at least twice `capacity`.
    index: Box<[u32]>,
    entries: Vec<FlowEntry>,
    /// Each entry's `expires`, side by side: the sweep reads these 8 bytes per entry, not the
    /// entries (a few cache lines each), and looks at an entry only once it may have expired.
    expiry: Vec<u64>,
    /// Ids of dead entries, to reuse before growing `entries`.
    free: Vec<u32>,
    len: usize,
    hasher: foldhash::fast::FixedState,
    sweep_at: usize,
}

impl FlowTable {
    /// A table for `capacity` entries; nothing is allocated until [`Self::reserve`].
    pub fn new(capacity: usize, hash_seed: u64) -> Self {
        Self {
            capacity: capacity.min(u32::MAX as usize / 2 - 1),
            index: Box::new([]),
            entries: Vec::new(),
            expiry: Vec::new(),
            free: Vec::new(),
            len: 0,
            hasher: foldhash::fast::FixedState::with_seed(hash_seed ^ 0x5eed_f10f),
            sweep_at: 0,
        }
    }

    /// Allocates the whole table, once.
    pub fn reserve(&mut self) {
        if !self.index.is_empty() || self.capacity == 0 {
            return;
        }
        let slots = (self.capacity * 2).max(16).next_power_of_two();
        self.index = vec![EMPTY; slots].into_boxed_slice();
        self.entries = Vec::with_capacity(self.capacity);
        self.expiry = Vec::with_capacity(self.capacity);
        self.free = Vec::with_capacity(self.capacity);
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.len
    }

    fn mask(&self) -> usize {
        self.index.len() - 1
    }

    /// The key as three integers: hashing `u128`s is a few multiplies, field by field several
    /// times that.
    #[inline]
    pub fn hash(&self, key: &FlowKey) -> u64 {
        let segment = match key.segment {
            Segment::Vlan(vlan) => u64::from(vlan),
            Segment::BridgeDomain(vni) => 1 << 32 | u64::from(vni.get()),
        };
        let ports = u64::from(key.src_port) << 48
            | u64::from(key.dst_port) << 32
            | u64::from(key.protocol) << 24
            | u64::from(key.v6) << 16
            | key.role as u64;
        let meta = u128::from(key.port) << 96 | u128::from(segment) << 64 | u128::from(ports);
        self.hasher.hash_one((key.src, key.dst, meta))
    }

    /// The slot holding `key`'s entry, or the empty slot where it would go.
    #[inline(always)]
    fn probe(&self, key: &FlowKey, hash: u64) -> Result<usize, usize> {
        let mask = self.mask();
        let mut slot = hash as usize & mask;
        loop {
            match self.index[slot] {
                EMPTY => return Err(slot),
                id => {
                    let entry = &self.entries[(id - 1) as usize];
                    if entry.hash == hash && entry.key == *key {
                        return Ok(slot);
                    }
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The live, unexpired entry of `key`.
    #[inline]
    pub fn find(&self, key: &FlowKey, now: u64) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        self.find_hashed(key, self.hash(key), now)
    }

    /// [`Self::find`] with `key`'s [`Self::hash`] at hand.
    #[inline]
    pub fn find_hashed(&self, key: &FlowKey, hash: u64, now: u64) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let slot = self.probe(key, hash).ok()?;
        let id = self.index[slot] - 1;
        (!self.entries[id as usize].expired(now)).then_some(id)
    }

    /// The entry of `key`, created if absent (an expired one starts over); `None` if the table
    /// is full (or not reserved). The `bool` says whether it is new.
    #[inline]
    pub fn find_or_insert(&mut self, key: &FlowKey, now: u64) -> Option<(u32, bool)> {
        if self.index.is_empty() {
            return None;
        }
        self.find_or_insert_hashed(key, self.hash(key), now)
    }

    /// [`Self::find_or_insert`] with `key`'s [`Self::hash`] at hand.
    #[inline(always)]
    pub fn find_or_insert_hashed(&mut self, key: &FlowKey, hash: u64, now: u64) -> Option<(u32, bool)> {
        if self.index.is_empty() {
            return None;
        }
        match self.probe(key, hash) {
            Ok(slot) => {
                let id = self.index[slot] - 1;
                if self.entries[id as usize].expired(now) {
                    self.restart(id, key, hash, now);
                    return Some((id, true));
                }
                Some((id, false))
            }
            Err(slot) => self.insert(slot, key, hash, now),
        }
    }

    /// An expired entry `id` of `key` starts over.
    #[inline(never)]
    fn restart(&mut self, id: u32, key: &FlowKey, hash: u64, now: u64) {
        let entry = FlowEntry::new(*key, hash, now);
        self.expiry[id as usize] = entry.expires;
        self.entries[id as usize] = entry;
    }

    /// A new entry of `key` at the empty index `slot`, if there is room. Out of line, as
    /// [`Self::restart`]: the lookup of a known flow, the common case, stays small.
    #[inline(never)]
    fn insert(&mut self, slot: usize, key: &FlowKey, hash: u64, now: u64) -> Option<(u32, bool)> {
        if self.len >= self.capacity {
            return None;
        }
        let entry = FlowEntry::new(*key, hash, now);
        let expires = entry.expires;
        let id = match self.free.pop() {
            Some(id) => {
                self.entries[id as usize] = entry;
                self.expiry[id as usize] = expires;
                id
            }
            None => {
                self.entries.push(entry);
                self.expiry.push(expires);
                (self.entries.len() - 1) as u32
            }
        };
        self.index[slot] = id + 1;
        self.len += 1;
        Some((id, true))
    }

    #[inline]
    pub fn get(&self, id: u32) -> &FlowEntry {
        &self.entries[id as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, id: u32) -> &mut FlowEntry {
        &mut self.entries[id as usize]
    }

    /// A packet of entry `id` at `now`: pushes its expiry past `now` by the idle time and its
    /// connection's timeout.
    #[inline]
    pub fn touch(&mut self, id: u32, now: u64) {
        if let (Some(entry), Some(copy)) =
            (self.entries.get_mut(id as usize), self.expiry.get_mut(id as usize))
        {
            entry.last_seen = now;
            entry.expires = entry.expiry_after(now);
            *copy = entry.expires;
        }
    }

    /// A reply of entry `id`'s connection: the entry's expiry follows the connection's timeout,
    /// which may have shortened (a reset), from its last packet.
    #[inline]
    pub fn follow_conn(&mut self, id: u32) {
        if let (Some(entry), Some(copy)) =
            (self.entries.get_mut(id as usize), self.expiry.get_mut(id as usize))
        {
            entry.expires = entry.expiry_after(entry.last_seen);
            *copy = entry.expires;
        }
    }

    /// `id`'s entry if it is live, unexpired and still holds `key` (links are checked so).
    #[inline]
    pub fn linked(&self, id: u32, key: &FlowKey, now: u64) -> Option<&FlowEntry> {
        let entry = self.entries.get(id as usize)?;
        (entry.live && entry.key == *key && !entry.expired(now)).then_some(entry)
    }

    /// Removes the entry `id`.
    pub fn remove(&mut self, id: u32) {
        let entry = &self.entries[id as usize];
        if !entry.live {
            return;
        }
        let Ok(mut hole) = self.probe(&entry.key.clone(), entry.hash) else { return };
        let mask = self.mask();
        let mut next = (hole + 1) & mask;
        while self.index[next] != EMPTY {
            let home = self.entries[(self.index[next] - 1) as usize].hash as usize & mask;
            // Movable unless its home lies cyclically in (hole, next].
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(hole) & mask {
                self.index[hole] = self.index[next];
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.index[hole] = EMPTY;
        self.entries[id as usize].live = false;
        self.free.push(id);
        self.len -= 1;
    }

    /// Looks at up to `budget` entries from where the last sweep stopped and removes the
    /// expired ones; returns how many it removed.
    pub fn sweep(&mut self, now: u64, budget: usize) -> usize {
        let mut removed = 0;
        let mut left = budget.min(self.entries.len());
        while left > 0 {
            if self.sweep_at >= self.entries.len() {
                self.sweep_at = 0;
            }
            let end = (self.sweep_at + left).min(self.entries.len());
            left -= end - self.sweep_at;
            // Only entries past their expiry are looked at: the others stay, whatever else
            // holds them.
            while let Some(offset) = self
                .expiry
                .get(self.sweep_at..end)
                .and_then(|expiry| expiry.iter().position(|&expires| now >= expires))
            {
                let id = self.sweep_at + offset;
                self.sweep_at = id + 1;
                let entry = &self.entries[id];
                if entry.live && entry.expired(now) {
                    self.remove(id as u32);
                    removed += 1;
                }
            }
            self.sweep_at = end;
        }
        removed
    }

    /// Every live entry with its id (expired ones included: callers filter).
    pub fn iter(&self) -> impl Iterator<Item = (u32, &FlowEntry)> + '_ {
        self.entries.iter().enumerate().filter(|(_, entry)| entry.live).map(|(id, entry)| (id as u32, entry))
    }

    /// Ids below this one may name entries (live or not): walk them to visit every entry
    /// while removing some, without collecting ids first.
    pub fn id_bound(&self) -> u32 {
        self.entries.len() as u32
    }

    /// `true` if `id` names a live entry.
    pub fn is_live(&self, id: u32) -> bool {
        self.entries.get(id as usize).is_some_and(|entry| entry.live)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn key(n: u16, port: u32) -> FlowKey {
        FlowKey {
            src: u128::from(n % 7),
            dst: 2,
            port,
            segment: Segment::Vlan(100),
            src_port: n,
            dst_port: 80,
            protocol: 6,
            v6: false,
            role: Role::Flow,
        }
    }

    #[test]
    fn reverses_tuples_and_echoes() {
        let tcp = key(1234, 49);
        let reply = tcp.reversed(50, Role::OutConnection);
        assert_eq!((reply.src, reply.dst, reply.src_port, reply.dst_port), (2, 1234 % 7, 80, 1234));
        assert_eq!((reply.port, reply.role), (50, Role::OutConnection));
        assert_eq!(reply.reversed(49, Role::Flow), tcp);
        let echo = FlowKey { protocol: 1, src_port: 7, dst_port: 8 << 8, ..tcp };
        let answer = echo.reversed(49, Role::Flow);
        assert_eq!((answer.src_port, answer.dst_port), (7, 0));
        assert_eq!(answer.reversed(49, Role::Flow), echo);
    }

    proptest::proptest! {
        /// Against a `HashMap` of the same capacity: inserts (refused when full), expiry by
        /// time, removals and sweeps leave the same live keys.
        #[test]
        fn behaves_like_a_bounded_map(ops in proptest::collection::vec((0u8..4, 0u16..48, 0u64..4), 1..400)) {
            const CAPACITY: usize = 24;
            let mut table = FlowTable::new(CAPACITY, 3);
            table.reserve();
            // key -> expiry
            let mut model: HashMap<u16, u64> = HashMap::new();
            let mut now = 0u64;
            for (op, n, step) in ops {
                now += step * FLOW_IDLE / 3;
                let k = key(n, 49);
                match op {
                    0 | 1 => {
                        let live = model.get(&n).is_some_and(|&expires| now < expires);
                        let expired_present = model.contains_key(&n) && !live;
                        let got = table.find_or_insert(&k, now);
                        if live {
                            proptest::prop_assert_eq!(got.map(|(_, new)| new), Some(false));
                        } else if expired_present || model.len() < CAPACITY {
                            proptest::prop_assert_eq!(got.map(|(_, new)| new), Some(true));
                            model.insert(n, now + FLOW_IDLE);
                        } else {
                            proptest::prop_assert_eq!(got, None);
                        }
                        if let Some((id, _)) = got {
                            table.touch(id, now);
                            model.insert(n, now + FLOW_IDLE);
                        }
                    }
                    2 => {
                        if let Some(id) = table.find(&k, now) {
                            table.remove(id);
                        } else if let Ok(slot) = table.probe(&k, table.hash(&k)) {
                            table.remove(table.index[slot] - 1);
                        }
                        model.remove(&n);
                    }
                    _ => {
                        table.sweep(now, CAPACITY);
                        model.retain(|_, expires| now < *expires);
                    }
                }
                proptest::prop_assert_eq!(table.len(), model.len());
                for m in 0..48u16 {
                    let live = model.get(&m).is_some_and(|&expires| now < expires);
                    proptest::prop_assert_eq!(table.find(&key(m, 49), now).is_some(), live, "key {}", m);
                }
            }
        }
    }
}
