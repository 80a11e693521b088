//! `ip pool NAME`: a block of IPv4 addresses the supervisor hands out to containers, and the
//! set of addresses it may hand out (its allocatable set).
//!
//! ```text
//! ip pool web-pool
//!   network 10.100.0.0/24
//!   default-router 10.100.0.1
//!   range 10.100.0.10 10.100.0.200
//!   exclude 10.100.0.50
//! ```
//!
//! Pure: the allocator in the supervisor keeps the held addresses; this module only says which
//! addresses exist and which one is the next free given the held ones.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

/// Longest pool name accepted.
pub const POOL_NAME_MAX: usize = 64;
/// The shortest network prefix a pool may have (a /8 holds 16,777,214 addresses).
pub const PREFIX_LEN_MIN: u8 = 8;
/// The longest network prefix a pool may have (a /32 holds its one address).
pub const PREFIX_LEN_MAX: u8 = 32;

/// An IPv4 network `A.B.C.D/LEN` whose host bits are zero. JSON: the string form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Network {
    address: Ipv4Addr,
    prefix_len: u8,
}

/// Why a text is not an IPv4 network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    #[error("invalid network '{0}': expected A.B.C.D/LEN")]
    Syntax(String),
    #[error("invalid prefix length in '{0}': expected {PREFIX_LEN_MIN}-{PREFIX_LEN_MAX}")]
    PrefixLength(String),
    #[error("network '{given}' has host bits set; did you mean {canonical}?")]
    HostBits { given: String, canonical: String },
}

impl Ipv4Network {
    /// The network of `address`/`prefix_len`, or why not (a length out of range, host bits set).
    pub fn new(address: Ipv4Addr, prefix_len: u8) -> Result<Self, NetworkError> {
        let given = format!("{address}/{prefix_len}");
        if !(PREFIX_LEN_MIN..=PREFIX_LEN_MAX).contains(&prefix_len) {
            return Err(NetworkError::PrefixLength(given));
        }
        let canonical = Self { address: Ipv4Addr::from(u32::from(address) & mask(prefix_len)), prefix_len };
        if canonical.address != address {
            return Err(NetworkError::HostBits { given, canonical: canonical.to_string() });
        }
        Ok(canonical)
    }

    /// The network address.
    pub fn address(self) -> Ipv4Addr {
        self.address
    }

    /// The prefix length.
    pub fn prefix_len(self) -> u8 {
        self.prefix_len
    }

    /// The first and the last address of the network, as numbers.
    pub fn bounds(self) -> (u32, u32) {
        let first = u32::from(self.address);
        (first, first | !mask(self.prefix_len))
    }

    /// Whether `address` is inside the network.
    pub fn contains(self, address: Ipv4Addr) -> bool {
        let (first, last) = self.bounds();
        (first..=last).contains(&u32::from(address))
    }

    /// Whether the two networks share an address.
    pub fn overlaps(self, other: Self) -> bool {
        let (a, b) = (self.bounds(), other.bounds());
        a.0 <= b.1 && b.0 <= a.1
    }
}

fn mask(prefix_len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix_len)).unwrap_or(0)
}

impl fmt::Display for Ipv4Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl FromStr for Ipv4Network {
    type Err = NetworkError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || NetworkError::Syntax(text.to_string());
        let (address, len) = text.split_once('/').ok_or_else(syntax)?;
        let address: Ipv4Addr = address.parse().map_err(|_| syntax())?;
        if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax());
        }
        let len: u8 = len.parse().map_err(|_| syntax())?;
        Self::new(address, len)
    }
}

impl Serialize for Ipv4Network {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Network {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Addresses `first` to `last`, both included (`range A B`, `exclude A [B]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressRange {
    #[schema(value_type = String, example = "10.100.0.10")]
    pub first: Ipv4Addr,
    #[schema(value_type = String, example = "10.100.0.200")]
    pub last: Ipv4Addr,
}

impl AddressRange {
    /// The range of one address.
    pub fn single(address: Ipv4Addr) -> Self {
        Self { first: address, last: address }
    }

    fn numbers(self) -> (u32, u32) {
        (u32::from(self.first), u32::from(self.last))
    }
}

/// `ip pool NAME` as configured.
///
/// Unknown fields are refused, as for port-profiles: the store holds this JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IpPool {
    /// `network A.B.C.D/LEN` (required: a pool without one is refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "10.100.0.0/24")]
    pub network: Option<Ipv4Network>,
    /// `default-router A.B.C.D`: never handed out; given to containers as their gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "10.100.0.1")]
    pub default_router: Option<Ipv4Addr>,
    /// `range A B` lines: only these are handed out (the whole network when there are none).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub ranges: BTreeSet<AddressRange>,
    /// `exclude A [B]` lines: never handed out.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub excludes: BTreeSet<AddressRange>,
}

impl IpPool {
    /// The addresses the pool may hand out; empty without a network.
    pub fn allocatable(&self) -> Allocatable {
        let Some(network) = self.network else { return Allocatable::default() };
        let (net_first, net_last) = network.bounds();
        let (host_first, host_last) = if network.prefix_len < 31 {
            // The network and broadcast addresses are never a host's.
            (net_first + 1, net_last - 1)
        } else {
            (net_first, net_last)
        };
        let base: Vec<(u32, u32)> = if self.ranges.is_empty() {
            vec![(host_first, host_last)]
        } else {
            self.ranges
                .iter()
                .map(|r| r.numbers())
                .filter_map(|(a, b)| {
                    let (a, b) = (a.max(host_first), b.min(host_last));
                    (a <= b).then_some((a, b))
                })
                .collect()
        };
        let mut removed: Vec<(u32, u32)> = self.excludes.iter().map(|r| r.numbers()).collect();
        if let Some(router) = self.default_router {
            removed.push((u32::from(router), u32::from(router)));
        }
        Allocatable { intervals: subtract(merge(base), &merge(removed)) }
    }
}

/// Sorted, merged (disjoint, non-adjacent) intervals.
fn merge(mut intervals: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    intervals.retain(|(a, b)| a <= b);
    intervals.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(intervals.len());
    for (a, b) in intervals {
        match out.last_mut() {
            Some(last) if u64::from(a) <= u64::from(last.1) + 1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// `base` minus `removed`, both merged.
fn subtract(base: Vec<(u32, u32)>, removed: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for (mut a, b) in base {
        let mut open = true;
        for &(ra, rb) in removed {
            if rb < a || ra > b {
                continue;
            }
            if ra > a {
                out.push((a, ra - 1));
            }
            match rb.checked_add(1) {
                Some(next) if next <= b => a = next,
                _ => {
                    open = false;
                    break;
                }
            }
        }
        if open {
            out.push((a, b));
        }
    }
    out
}

/// The addresses a pool may hand out, as sorted disjoint intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocatable {
    intervals: Vec<(u32, u32)>,
}

impl Allocatable {
    /// How many addresses there are.
    pub fn size(&self) -> u64 {
        self.intervals.iter().map(|(a, b)| u64::from(b - a) + 1).sum()
    }

    /// Whether `address` is one of them.
    pub fn contains(&self, address: Ipv4Addr) -> bool {
        let n = u32::from(address);
        let at = self.intervals.partition_point(|(_, b)| *b < n);
        self.intervals.get(at).is_some_and(|(a, _)| *a <= n)
    }

    /// The lowest address not in `held`, or `None` when every one is held. `held` may hold
    /// addresses outside the set (a pool whose range shrank): they are skipped.
    ///
    /// Costs one step per held address below the answer, and nothing when the held addresses
    /// inside the set already number its size.
    pub fn next_free(&self, held: &BTreeSet<Ipv4Addr>) -> Option<Ipv4Addr> {
        let held_inside = held.iter().filter(|a| self.contains(**a)).count();
        if u64::try_from(held_inside).unwrap_or(u64::MAX) >= self.size() {
            return None;
        }
        for &(a, b) in &self.intervals {
            let mut candidate = a;
            for taken in held.range(Ipv4Addr::from(a)..=Ipv4Addr::from(b)).map(|x| u32::from(*x)) {
                if taken != candidate {
                    break;
                }
                if candidate == b {
                    break;
                }
                candidate += 1;
            }
            if !held.contains(&Ipv4Addr::from(candidate)) {
                return Some(Ipv4Addr::from(candidate));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn a(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    fn pool(network: &str) -> IpPool {
        IpPool { network: Some(network.parse().unwrap()), ..IpPool::default() }
    }

    #[test]
    fn networks_parse_print_and_refuse_host_bits() {
        let n: Ipv4Network = "10.100.0.0/24".parse().unwrap();
        assert_eq!(n.to_string(), "10.100.0.0/24");
        assert_eq!(
            "10.100.0.1/24".parse::<Ipv4Network>().unwrap_err().to_string(),
            "network '10.100.0.1/24' has host bits set; did you mean 10.100.0.0/24?"
        );
        assert!(matches!("10.0.0.0/7".parse::<Ipv4Network>(), Err(NetworkError::PrefixLength(_))));
        assert!(matches!("10.0.0.0/33".parse::<Ipv4Network>(), Err(NetworkError::PrefixLength(_))));
        assert!(matches!("10.0.0.0".parse::<Ipv4Network>(), Err(NetworkError::Syntax(_))));
        assert!(matches!("10.0.0.0/+8".parse::<Ipv4Network>(), Err(NetworkError::Syntax(_))));
        assert!(n.overlaps("10.100.0.128/25".parse().unwrap()));
        assert!(!n.overlaps("10.100.1.0/24".parse().unwrap()));
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"10.100.0.0/24\"");
        assert!(serde_json::from_str::<Ipv4Network>("\"10.100.0.9/24\"").is_err());
    }

    #[test]
    fn the_whole_network_less_network_broadcast_and_router() {
        let mut p = pool("10.0.0.0/29");
        assert_eq!(p.allocatable().size(), 6);
        p.default_router = Some(a("10.0.0.1"));
        let set = p.allocatable();
        assert_eq!(set.size(), 5);
        assert!(!set.contains(a("10.0.0.0")) && !set.contains(a("10.0.0.1")) && !set.contains(a("10.0.0.7")));
        assert!(set.contains(a("10.0.0.2")) && set.contains(a("10.0.0.6")));
        assert_eq!(pool("10.0.0.0/31").allocatable().size(), 2);
        assert_eq!(pool("10.0.0.5/32").allocatable().size(), 1);
    }

    #[test]
    fn ranges_clip_to_the_hosts_and_excludes_cut_holes() {
        let mut p = pool("10.100.0.0/24");
        p.default_router = Some(a("10.100.0.1"));
        p.ranges.insert(AddressRange { first: a("10.100.0.10"), last: a("10.100.0.200") });
        p.excludes.insert(AddressRange::single(a("10.100.0.50")));
        assert_eq!(p.allocatable().size(), 190);
        p.ranges.insert(AddressRange { first: a("10.100.0.250"), last: a("10.100.1.5") });
        p.excludes.insert(AddressRange { first: a("10.100.0.10"), last: a("10.100.0.19") });
        let set = p.allocatable();
        // 250-254 (255 is broadcast), 20-200 less 50.
        assert_eq!(set.size(), 5 + 180);
        assert!(!set.contains(a("10.100.0.255")) && !set.contains(a("10.100.0.15")));
    }

    #[test]
    fn next_free_skips_held_and_reports_full() {
        let mut p = pool("10.0.0.0/29");
        p.excludes.insert(AddressRange::single(a("10.0.0.3")));
        let set = p.allocatable();
        let mut held = BTreeSet::new();
        let mut got = Vec::new();
        while let Some(next) = set.next_free(&held) {
            held.insert(next);
            got.push(next.to_string());
        }
        assert_eq!(got, ["10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
        held.remove(&a("10.0.0.4"));
        assert_eq!(set.next_free(&held), Some(a("10.0.0.4")));
        // Held addresses outside the set do not count towards full.
        let outside: BTreeSet<Ipv4Addr> = [a("10.0.0.3"), a("10.0.0.7"), a("10.0.0.0")].into();
        assert_eq!(set.next_free(&outside), Some(a("10.0.0.1")));
    }

    #[test]
    fn a_large_pool_finds_the_gap_after_its_held_block() {
        let set = pool("10.0.0.0/16").allocatable();
        let held: BTreeSet<Ipv4Addr> = (1..=60_000u32).map(|i| Ipv4Addr::from(0x0a00_0000 + i)).collect();
        assert_eq!(set.next_free(&held), Some(Ipv4Addr::from(0x0a00_0000 + 60_001)));
        assert_eq!(set.size(), 65_534);
    }
}
