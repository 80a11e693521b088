//! A list's rules pre-sorted by protocol and destination port, so that a packet is checked
//! only against the rules that can match it: a new connection through a 100-entry list of
//! `permit tcp … eq PORT` entries looks at one or two rules instead of all of them.
//!
//! Every rule lands in one place. A rule whose destination port condition is `eq N` can match
//! only TCP or UDP packets with a transport header and destination port N: it goes into the
//! run of (TCP, N), (UDP, N) or both (a rule for any protocol), found by hashing; one of
//! another protocol never matches and is left out. Every other rule goes into the run of its
//! protocol, or of any protocol. A packet's candidates are then at most three runs of rule
//! indices, each ascending — any protocol, its protocol, its (protocol, destination port) —
//! merged in order, so the first candidate that matches is the list's first match. Rules
//! whose addresses are of the other family never match and are left out too.
//!
//! Memory is linear in the rules (an index is stored at most twice), whatever they say.

use std::collections::BTreeMap;

use super::{Compiled, PortMatch};
use crate::packet::Packet;

/// A run of rule indices in [`Classifier::rules`], as `start..end`.
type Span = (u32, u32);

/// [`Classifier::other`]'s run for the rules of any protocol; the next is empty, for the
/// protocols no rule names.
const ANY_PROTOCOL: usize = 0;
const NO_RULES: u16 = 1;

/// An empty slot of [`Classifier::eq_keys`] (a key is 17 bits).
const EMPTY: u32 = u32::MAX;

/// The `eq` table's key of a TCP or UDP destination port.
#[inline]
fn eq_key(udp: bool, port: u16) -> u32 {
    u32::from(udp) << 16 | u32::from(port)
}

/// The index of a compiled list: see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Classifier {
    /// Each protocol number's run in `other`.
    other_of: Box<[u16; 256]>,
    /// Rules not found by destination port, by protocol.
    other: Box<[Span]>,
    /// Open addressing (linear probing) over [`eq_key`]s, [`EMPTY`] where free; a power of
    /// two long, at least twice the keys (or empty).
    eq_keys: Box<[u32]>,
    /// The run of each key of `eq_keys`.
    eq_runs: Box<[Span]>,
    /// `32 - log2(eq_keys.len())`: the hash's top bits pick the slot.
    eq_shift: u32,
    /// Rule indices, ascending within each run.
    rules: Box<[u16]>,
}

impl Classifier {
    /// The index of `compiled` (at most [`super::MAX_RULES`] rules).
    pub fn new(compiled: &[Compiled]) -> Self {
        let mut other: BTreeMap<Option<u8>, Vec<u16>> = BTreeMap::new();
        other.entry(None).or_default();
        let mut eq: BTreeMap<u32, Vec<u16>> = BTreeMap::new();
        for (index, rule) in compiled.iter().enumerate() {
            if rule.family_mismatch {
                continue;
            }
            let index = u16::try_from(index).expect("a list holds at most MAX_RULES rules");
            match (rule.dst_ports, rule.protocol) {
                (PortMatch::Eq(port), None) => {
                    eq.entry(eq_key(false, port)).or_default().push(index);
                    eq.entry(eq_key(true, port)).or_default().push(index);
                }
                (PortMatch::Eq(port), Some(protocol @ (6 | 17))) => {
                    eq.entry(eq_key(protocol == 17, port)).or_default().push(index);
                }
                (PortMatch::Eq(_), Some(_)) => {} // never matches
                (_, protocol) => other.entry(protocol).or_default().push(index),
            }
        }
        let mut rules = Vec::new();
        let mut span = |indices: &[u16]| {
            let start = rules.len() as u32;
            rules.extend_from_slice(indices);
            (start, rules.len() as u32)
        };
        let mut other_of = Box::new([NO_RULES; 256]);
        let mut other_runs = Vec::with_capacity(other.len() + 1);
        // `None` sorts first: the any-protocol run is 0, then the empty run.
        for (protocol, indices) in &other {
            match protocol {
                None => other_runs.extend([span(indices), (0, 0)]),
                Some(protocol) => {
                    other_of[usize::from(*protocol)] = other_runs.len() as u16;
                    other_runs.push(span(indices));
                }
            }
        }
        let slots = if eq.is_empty() { 0 } else { (eq.len() * 2).next_power_of_two() };
        let mut eq_keys = vec![EMPTY; slots].into_boxed_slice();
        let mut eq_runs = vec![(0, 0); slots].into_boxed_slice();
        let eq_shift = 32 - slots.max(1).trailing_zeros();
        for (key, indices) in &eq {
            let mut slot = Self::home(*key, eq_shift);
            while eq_keys[slot] != EMPTY {
                slot = (slot + 1) & (slots - 1);
            }
            eq_keys[slot] = *key;
            eq_runs[slot] = span(indices);
        }
        Self {
            other_of,
            other: other_runs.into_boxed_slice(),
            eq_keys,
            eq_runs,
            eq_shift,
            rules: rules.into_boxed_slice(),
        }
    }

    /// A key's first slot: Fibonacci hashing (the keys come from the configuration).
    #[inline]
    fn home(key: u32, shift: u32) -> usize {
        // A shift of 32 (an empty or one-slot table) gives slot 0.
        key.wrapping_mul(0x9e37_79b9).checked_shr(shift).unwrap_or(0) as usize
    }

    #[inline]
    fn run(&self, (start, end): Span) -> &[u16] {
        self.rules.get(start as usize..end as usize).unwrap_or_default()
    }

    /// The `eq` rules of a TCP or UDP destination port.
    #[inline]
    fn eq_run(&self, key: u32) -> &[u16] {
        let mask = self.eq_keys.len().wrapping_sub(1);
        let mut slot = Self::home(key, self.eq_shift);
        while let Some(&found) = self.eq_keys.get(slot) {
            if found == key {
                return self.eq_runs.get(slot).map_or(&[], |&span| self.run(span));
            }
            if found == EMPTY {
                break;
            }
            slot = (slot + 1) & mask;
        }
        &[]
    }

    /// The first rule, in list order, for which `matches` holds among those that can match
    /// `packet`; `matches` is the rule's full check.
    #[inline]
    pub fn first(&self, packet: &Packet, mut matches: impl FnMut(usize) -> bool) -> Option<usize> {
        let own = usize::from(self.other_of[usize::from(packet.protocol)]);
        let mut runs = [
            self.other.get(ANY_PROTOCOL).map_or(&[][..], |&span| self.run(span)),
            self.other.get(own).map_or(&[][..], |&span| self.run(span)),
            &[][..],
        ];
        if packet.has_transport && matches!(packet.protocol, 6 | 17) {
            runs[2] = self.eq_run(eq_key(packet.protocol == 17, packet.dst_port));
        }
        loop {
            // The lowest head of the runs: the next candidate in list order.
            let mut next: Option<(usize, u16)> = None;
            for (which, run) in runs.iter().enumerate() {
                if let Some(&head) = run.first()
                    && next.is_none_or(|(_, lowest)| head < lowest)
                {
                    next = Some((which, head));
                }
            }
            let (which, index) = next?;
            runs[which] = runs[which].get(1..).unwrap_or_default();
            if matches(usize::from(index)) {
                return Some(usize::from(index));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::super::{Acl, AclRule, Action, Family, Hit, IpNet, PortMatch, TcpFlagMatch};
    use crate::packet::Packet;

    fn addr(n: u8, v6: bool) -> IpAddr {
        if v6 {
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(n)).into()
        } else {
            Ipv4Addr::new(10, 0, 0, n).into()
        }
    }

    fn net() -> impl Strategy<Value = IpNet> {
        (0u8..4, any::<bool>(), prop_oneof![Just(0u8), Just(30), Just(32), Just(126), Just(128)]).prop_map(
            |(n, v6, len)| IpNet::new(addr(n, v6), len.min(if v6 { 128 } else { 32 })).expect("length fits"),
        )
    }

    fn port() -> impl Strategy<Value = u16> {
        prop_oneof![0u16..4, Just(80), Just(443), Just(2048)]
    }

    fn ports() -> impl Strategy<Value = PortMatch> {
        prop_oneof![
            3 => Just(PortMatch::Any),
            4 => port().prop_map(PortMatch::Eq),
            1 => port().prop_map(PortMatch::Neq),
            1 => port().prop_map(PortMatch::Lt),
            1 => port().prop_map(PortMatch::Gt),
            1 => (port(), port()).prop_map(|(a, b)| PortMatch::Range(a.min(b), a.max(b))),
        ]
    }

    fn protocol() -> impl Strategy<Value = u8> {
        prop_oneof![Just(1u8), Just(6), Just(17), Just(58), Just(47)]
    }

    fn rule() -> impl Strategy<Value = AclRule> {
        let flags = prop_oneof![
            Just(TcpFlagMatch::Any),
            Just(TcpFlagMatch::Established),
            (0u8..8, 0u8..8).prop_map(|(mask, value)| TcpFlagMatch::Bits { mask, value }),
        ];
        (
            (any::<bool>(), proptest::option::of(protocol()), net(), ports(), net(), ports()),
            (prop_oneof![3 => Just(TcpFlagMatch::Any), 1 => flags], proptest::option::of(0u8..3), 0u8..3),
        )
            .prop_map(
                |(
                    (permit, protocol, source, src_ports, destination, dst_ports),
                    (tcp_flags, icmp_type, code),
                )| {
                    AclRule {
                        protocol,
                        source,
                        src_ports,
                        destination,
                        dst_ports,
                        tcp_flags,
                        icmp_type,
                        icmp_code: (code > 0).then_some(code),
                        ..AclRule::new(0, if permit { Action::Permit } else { Action::Deny })
                    }
                },
            )
    }

    fn packet() -> impl Strategy<Value = Packet> {
        (any::<bool>(), protocol(), 0u8..4, 0u8..4, port(), port(), any::<bool>(), 0u8..8, 0u8..3, 0u8..3)
            .prop_map(|(v6, protocol, src, dst, src_port, dst_port, has_transport, tcp_flags, kind, code)| {
                let value = |n| match addr(n, v6) {
                    IpAddr::V4(a) => u128::from(u32::from(a)),
                    IpAddr::V6(a) => u128::from(a),
                };
                let icmp = matches!(protocol, 1 | 58);
                Packet {
                    v6,
                    protocol,
                    src: value(src),
                    dst: value(dst),
                    src_port,
                    dst_port: if icmp { u16::from(kind) << 8 | u16::from(code) } else { dst_port },
                    has_transport,
                    tcp_flags: if protocol == 6 { tcp_flags } else { 0 },
                    icmp_type: if icmp { kind } else { 0 },
                    icmp_code: if icmp { code } else { 0 },
                    ..Packet::default()
                }
            })
    }

    proptest::proptest! {
        /// The classified evaluation decides every packet as the plain first-match scan does.
        #[test]
        fn agrees_with_the_linear_scan(
            rules in proptest::collection::vec(rule(), 0..40),
            v6 in any::<bool>(),
            packets in proptest::collection::vec(packet(), 1..40),
        ) {
            let rules = rules.into_iter().enumerate().map(|(n, rule)| AclRule { seq: n as u32 * 10, ..rule });
            let acl = Acl::new("P", if v6 { Family::V6 } else { Family::V4 }, rules);
            for packet in &packets {
                let linear = match acl.compiled.iter().position(|rule| rule.matches(packet)) {
                    Some(index) => Hit::Rule(index as u16),
                    None => Hit::ImplicitDeny,
                };
                prop_assert_eq!(acl.evaluate(packet), linear, "{:?}", packet);
            }
        }
    }

    #[test]
    fn a_port_rule_is_found_among_many() {
        let mut rules: Vec<AclRule> = (1..100u16)
            .map(|n| AclRule {
                protocol: Some(6),
                dst_ports: PortMatch::Eq(1000 + n),
                ..AclRule::new(u32::from(n), Action::Deny)
            })
            .collect();
        rules.push(AclRule { protocol: Some(17), ..AclRule::new(200, Action::Permit) });
        rules.push(AclRule { dst_ports: PortMatch::Eq(1050), ..AclRule::new(300, Action::Permit) });
        let acl = Acl::new("MANY", Family::V4, rules);
        let tcp = |dst_port| Packet { protocol: 6, dst_port, has_transport: true, ..Packet::default() };
        assert_eq!(acl.evaluate(&tcp(1050)), Hit::Rule(49));
        assert_eq!(acl.evaluate(&tcp(2000)), Hit::ImplicitDeny);
        let udp = Packet { protocol: 17, ..tcp(1050) };
        assert_eq!(acl.evaluate(&udp), Hit::Rule(99));
        let gre = Packet { protocol: 47, ..tcp(1050) };
        assert_eq!(acl.evaluate(&gre), Hit::ImplicitDeny, "an eq rule needs TCP or UDP");
    }
}
