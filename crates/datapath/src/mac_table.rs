//! The MAC address table: per segment, which port a MAC is behind.
//!
//! Static entries come from the snapshot (attached MACs) and installed ones from its overlay
//! (remote MACs, behind the tunnel); both are replaced on every [`MacTable::install`]. Dynamic
//! entries are learned from traffic and age out. All live in one open-addressing table
//! ([`Slots`]), so each frame costs one lookup per address: the hottest code of the datapath. It
//! is sized once, when a snapshot is installed, and never more than half full, so learning never
//! allocates and probe sequences stay short.
//!
//! Each port's dynamic entries are counted as they are learned, moved, aged, flushed and carried
//! over (never by scanning the table), so that a per-port limit costs one comparison: no port
//! can fill the table for the others.

mod slots;

use std::net::Ipv4Addr;

use wire::{MacAddr, Vni};

use crate::counters::MacTableCounters;
use crate::snapshot::{PortIndex, Snapshot, TUNNEL_INDEX};
use crate::{PortId, Segment};

use slots::Slots;

/// Where a MAC table key lives.
pub(crate) type MacKey = (Segment, MacAddr);

/// A [`MacKey`] packed into one integer: hashing a `u128` is two multiplies, hashing the tuple
/// field by field several times that, and this is the hottest hash of the datapath.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PackedKey(u128);

impl PackedKey {
    const BRIDGE_DOMAIN: u64 = 1 << 32;

    #[inline]
    fn pack((segment, mac): &MacKey) -> Self {
        let segment = match segment {
            Segment::Vlan(vlan) => u64::from(*vlan),
            Segment::BridgeDomain(vni) => Self::BRIDGE_DOMAIN | u64::from(vni.get()),
        };
        let [a, b, c, d, e, f] = mac.0;
        let mac = u64::from_be_bytes([0, 0, a, b, c, d, e, f]);
        Self(u128::from(segment) << 48 | u128::from(mac))
    }

    fn unpack(self) -> MacKey {
        let segment = (self.0 >> 48) as u64;
        let segment = match Vni::new((segment & 0xffff_ffff) as u32) {
            Some(vni) if segment & Self::BRIDGE_DOMAIN != 0 => Segment::BridgeDomain(vni),
            _ => Segment::Vlan(segment as u16),
        };
        let bytes = (self.0 as u64).to_be_bytes();
        (segment, MacAddr([bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]]))
    }
}

/// How an entry got there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MacKind {
    /// The attached MAC of a port, installed from config; never ages, never moves.
    Static,
    /// Learned from a frame's source address.
    Dynamic,
    /// A remote port's MAC, behind the tunnel at its VTEP, installed from the overlay the
    /// supervisor distributes (`SwInsta` in vemcmd); never ages, never moves.
    Installed,
}

/// One entry in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MacEntry {
    pub port: PortIndex,
    pub kind: MacKind,
    /// The remote VTEP, for entries on the tunnel (and only those).
    pub vtep: Option<Ipv4Addr>,
    /// When a frame from this MAC was last seen (dynamic entries), in nanoseconds.
    pub last_seen: u64,
}

/// What learning a source address does to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Learn {
    /// Nothing: a static entry of the ingress port, or a dynamic one refreshed recently.
    Nothing,
    /// Refresh the dynamic entry's timestamp.
    Refresh,
    /// A new dynamic entry.
    New,
    /// The dynamic entry moves from another port (or another VTEP behind the tunnel).
    Move { from: PortIndex, from_vtep: Option<Ipv4Addr> },
    /// New (or moving) on a port that has reached its MAC limit: not learned, counted.
    OverLimit,
}

/// How stale a dynamic entry's timestamp may get before a frame refreshes it. Refreshing at most
/// once a second keeps the steady state to one hash lookup per address.
const REFRESH_AFTER_NANOS: u64 = 1_000_000_000;

/// The table.
#[derive(Debug)]
pub(crate) struct MacTable {
    entries: Slots,
    dynamic_limit: usize,
    dynamic_count: usize,
    /// The limit of a vEthernet without port security (`Settings::per_port_mac_limit`).
    default_port_limit: u32,
    /// Per port index of the installed snapshot: its dynamic entries, and how many it may have.
    per_port: Vec<u32>,
    limits: Vec<u32>,
    /// Zero: never age.
    aging_nanos: u64,
    pub counters: MacTableCounters,
}

impl MacTable {
    pub fn new(dynamic_limit: usize, default_port_limit: u32, hash_seed: u64) -> Self {
        Self {
            entries: Slots::new(hash_seed),
            dynamic_limit,
            dynamic_count: 0,
            default_port_limit,
            per_port: Vec::new(),
            limits: Vec::new(),
            aging_nanos: 0,
            counters: MacTableCounters::default(),
        }
    }

    /// Installs `next`'s static and installed entries and carries dynamic ones over from
    /// `previous`: kept if their port still forwards and carries their segment (behind the
    /// tunnel: if their VTEP is still one of the bridge-domain's), renumbered to `next`'s indices.
    pub fn install(&mut self, previous: &Snapshot, next: &Snapshot) {
        self.aging_nanos = nanos(next.mac_aging());
        let dynamic: Vec<(PackedKey, MacEntry)> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.kind == MacKind::Dynamic)
            .filter_map(|(key, mut entry)| {
                let (segment, _) = key.unpack();
                if entry.port == TUNNEL_INDEX {
                    let vteps = next.replication_list(segment);
                    return entry.vtep.is_some_and(|vtep| vteps.contains(&vtep)).then_some((key, entry));
                }
                let index = next.index_of(previous.by_index(entry.port).id)?;
                let port = next.by_index(index);
                entry.port = index;
                (next.forwards(index) && port.carries(segment)).then_some((key, entry))
            })
            .collect();
        // Room for every static entry and the dynamic limit at half load: see the module comment.
        let most = self.dynamic_limit + next.statics().len() + next.installed().len();
        self.entries.reset(2 * most);
        self.per_port = vec![0; next.ports().len()];
        self.limits = next.ports().iter().map(|port| self.limit_of(port)).collect();
        // A port whose limit went down (port security turned on) keeps its freshest entries.
        let mut dynamic = dynamic;
        dynamic.sort_by_key(|(_, entry)| std::cmp::Reverse(entry.last_seen));
        self.dynamic_count = 0;
        for (key, entry) in dynamic {
            if entry.port != TUNNEL_INDEX && self.port_full(entry.port) {
                continue;
            }
            self.entries.insert(key, entry);
            self.dynamic_count += 1;
            self.count(entry.port, 1);
        }
        let statics = next.statics().iter().map(|entry| {
            let value = MacEntry { port: entry.port, kind: MacKind::Static, vtep: None, last_seen: 0 };
            ((entry.segment, entry.mac), value)
        });
        let installed = next.installed().iter().map(|entry| {
            let value = MacEntry {
                port: TUNNEL_INDEX,
                kind: MacKind::Installed,
                vtep: Some(entry.vtep),
                last_seen: 0,
            };
            ((entry.segment, entry.mac), value)
        });
        for (key, value) in statics.chain(installed) {
            let replaced = self.entries.insert(PackedKey::pack(&key), value);
            if let Some(replaced) = replaced.filter(|replaced| replaced.kind == MacKind::Dynamic) {
                self.dynamic_count -= 1;
                self.uncount(replaced.port);
            }
        }
    }

    /// How many dynamic MACs `port` may have: uplinks face a whole network and are bounded by
    /// the table only; a vEthernet with port security its maximum, of which its attached MAC
    /// takes one (NX-OS counts static secure MACs toward the maximum); any other vEthernet the
    /// default limit.
    fn limit_of(&self, port: &crate::PortConfig) -> u32 {
        match &port.port_security {
            _ if port.is_uplink() => u32::MAX,
            Some(security) => security.maximum.saturating_sub(u32::from(port.attached_mac.is_some())),
            None => self.default_port_limit,
        }
    }

    #[inline]
    fn count(&mut self, port: PortIndex, by: u32) {
        if let Some(count) = self.per_port.get_mut(usize::from(port)) {
            *count += by;
        }
    }

    #[inline]
    fn uncount(&mut self, port: PortIndex) {
        if let Some(count) = self.per_port.get_mut(usize::from(port)) {
            *count -= 1;
        }
    }

    /// Dynamic entries behind `port` (zero for the tunnel, which is not counted).
    #[inline]
    pub fn port_count(&self, port: PortIndex) -> u32 {
        self.per_port.get(usize::from(port)).copied().unwrap_or(0)
    }

    /// How many dynamic entries `port` may have (no limit for the tunnel).
    #[inline]
    pub fn port_limit(&self, port: PortIndex) -> u32 {
        self.limits.get(usize::from(port)).copied().unwrap_or(u32::MAX)
    }

    /// `true` if learning one more MAC on `port` would pass its limit.
    #[inline]
    pub fn port_full(&self, port: PortIndex) -> bool {
        self.port_count(port) >= self.port_limit(port)
    }

    /// The entry for `key` unless it has aged out. Always inlined: it runs twice per frame.
    #[inline(always)]
    pub fn lookup(&self, key: &MacKey, now: u64) -> Option<&MacEntry> {
        match self.entries.find(PackedKey::pack(key)) {
            Ok(slot) => Some(self.entries.entry(slot)).filter(|entry| !self.expired(entry, now)),
            Err(_) => None,
        }
    }

    #[inline]
    fn expired(&self, entry: &MacEntry, now: u64) -> bool {
        entry.kind == MacKind::Dynamic
            && self.aging_nanos != 0
            && now.saturating_sub(entry.last_seen) > self.aging_nanos
    }

    /// What learning `key` on `port` (behind the tunnel: at `vtep`) would do, given the entry
    /// [`Self::lookup`] found. `Err(owner)` if the key is another port's static or installed MAC.
    #[inline(always)]
    pub fn plan(
        found: Option<&MacEntry>,
        port: PortIndex,
        vtep: Option<Ipv4Addr>,
        now: u64,
    ) -> Result<Learn, MacEntry> {
        Ok(match found {
            None => Learn::New,
            Some(entry) if entry.kind != MacKind::Dynamic => {
                return if (entry.port, entry.vtep) == (port, vtep) {
                    Ok(Learn::Nothing)
                } else {
                    Err(*entry)
                };
            }
            Some(entry) if (entry.port, entry.vtep) != (port, vtep) => {
                Learn::Move { from: entry.port, from_vtep: entry.vtep }
            }
            Some(entry) if now.saturating_sub(entry.last_seen) >= REFRESH_AFTER_NANOS => Learn::Refresh,
            Some(_) => Learn::Nothing,
        })
    }

    /// Carries out a plan from [`Self::plan`].
    #[inline]
    pub fn learn(&mut self, key: MacKey, port: PortIndex, vtep: Option<Ipv4Addr>, learn: Learn, now: u64) {
        let fresh = MacEntry { port, kind: MacKind::Dynamic, vtep, last_seen: now };
        match learn {
            Learn::Nothing => {}
            Learn::OverLimit => self.counters.port_limit += 1,
            Learn::Refresh => {
                if let Ok(slot) = self.entries.find(PackedKey::pack(&key)) {
                    *self.entries.entry_mut(slot) = fresh;
                }
            }
            Learn::Move { .. } => {
                if let Ok(slot) = self.entries.find(PackedKey::pack(&key)) {
                    let old = std::mem::replace(self.entries.entry_mut(slot), fresh);
                    self.uncount(old.port);
                    self.count(port, 1);
                }
                self.counters.moves += 1;
            }
            Learn::New => match self.entries.find(PackedKey::pack(&key)) {
                // An expired entry still in the table: reuse it.
                Ok(slot) => {
                    let old = std::mem::replace(self.entries.entry_mut(slot), fresh);
                    self.uncount(old.port);
                    self.count(port, 1);
                    self.counters.learned += 1;
                }
                Err(empty) if self.dynamic_count < self.dynamic_limit => {
                    self.entries.fill(empty, PackedKey::pack(&key), fresh);
                    self.dynamic_count += 1;
                    self.count(port, 1);
                    self.counters.learned += 1;
                }
                Err(_) => self.counters.table_full += 1,
            },
        }
    }

    /// Removes aged dynamic entries.
    pub fn sweep(&mut self, now: u64) {
        if self.aging_nanos == 0 {
            return;
        }
        let aging = self.aging_nanos;
        let per_port = &mut self.per_port;
        let removed = self.entries.retain(|entry| {
            let keep = entry.kind != MacKind::Dynamic || now.saturating_sub(entry.last_seen) <= aging;
            if let Some(count) = per_port.get_mut(usize::from(entry.port)).filter(|_| !keep) {
                *count -= 1;
            }
            keep
        });
        self.dynamic_count -= removed;
        self.counters.aged += removed as u64;
    }

    /// Removes every dynamic entry.
    pub fn flush_dynamic(&mut self) {
        self.entries.retain(|entry| entry.kind != MacKind::Dynamic);
        self.dynamic_count = 0;
        self.per_port.fill(0);
    }

    /// Every live entry, for `show mac address-table` and `vemcmd show l2`.
    pub fn iter(&self, now: u64) -> impl Iterator<Item = (MacKey, MacEntry)> {
        self.entries
            .iter()
            .filter(move |(_, entry)| !self.expired(entry, now))
            .map(|(key, entry)| (key.unpack(), entry))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_keys_unpack_to_what_was_packed() {
        let vni = Vni::new(Vni::MAX).expect("24-bit");
        for key in [
            (Segment::Vlan(1), MacAddr::BROADCAST),
            (Segment::Vlan(4094), MacAddr([0x02, 0, 0, 0, 0, 1])),
            (Segment::BridgeDomain(vni), MacAddr([0x00, 0x50, 0x56, 0xb3, 0x06, 0xd1])),
            (Segment::BridgeDomain(Vni::new(0).expect("24-bit")), MacAddr::ZERO),
        ] {
            assert_eq!(PackedKey::pack(&key).unpack(), key);
        }
        let vlan = PackedKey::pack(&(Segment::Vlan(904), MacAddr::ZERO));
        let bd = PackedKey::pack(&(Segment::BridgeDomain(Vni::new(904).expect("24-bit")), MacAddr::ZERO));
        assert_ne!(vlan, bd, "a VLAN and a bridge-domain of the same number are different keys");
    }
}

/// A `Duration` since the datapath's epoch in nanoseconds; saturates after 584 years.
pub(crate) fn nanos(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// One row of the MAC table as the shell shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacTableRow {
    /// The segment.
    pub segment: Segment,
    /// The address.
    pub mac: MacAddr,
    /// Static, dynamic or installed.
    pub kind: MacKind,
    /// The port it is behind: [`crate::TUNNEL_PORT`] for a remote MAC.
    pub port: PortId,
    /// Seconds since a frame from it was seen (0 for static and installed entries).
    pub age_secs: u64,
    /// For a MAC behind the tunnel: the VTEP it is at.
    pub remote_vtep: Option<Ipv4Addr>,
}
