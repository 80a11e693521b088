//! A list's rules pre-sorted by protocol and destination port, so that a packet is checked
//! only against the rules that can match it: a new connection through a 100-entry list of
//! `permit tcp … eq PORT` entries looks at one or two rules instead of all of them.
//!
//! Every rule lands in exactly one bucket: by its protocol (or "any protocol"), then by its
//! destination port if that is `eq N`, else in the bucket's "other ports" part. A packet's
//! candidates are at most four sorted runs of rule indices — any protocol / its protocol, each
//! with its destination port's `eq` run and the "other ports" run — merged in order, so the
//! first candidate that matches is the list's first match. The runs are a superset of the
//! matching rules: a rule with `eq N` matches only TCP and UDP packets with a transport header
//! and destination port N, and a rule for another protocol never matches. Rules whose
//! addresses are of the other family never match and are left out.
//!
//! Memory is linear in the rules (each index is stored once), whatever they say.

use std::collections::BTreeMap;

use super::{Compiled, PortMatch};
use crate::packet::Packet;

/// A run of rule indices in [`Classifier::rules`], as `start..end`.
type Span = (u32, u32);

/// The rules of one protocol (or of any protocol).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct Group {
    /// Rules whose destination port condition is not `eq N` (including none).
    other_ports: Span,
    /// Into [`Classifier::eq_ports`] and [`Classifier::eq_spans`]: this group's `eq` ports.
    eq: Span,
}

/// Group 0 holds the rules for any protocol; group 1 is empty, for protocols no rule names.
const ANY_PROTOCOL: usize = 0;
const NO_RULES: u16 = 1;

/// The index of a compiled list: see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Classifier {
    /// Each protocol number's group.
    group_of: Box<[u16; 256]>,
    groups: Box<[Group]>,
    /// Destination ports of `eq` rules, ascending within each group's span.
    eq_ports: Box<[u16]>,
    /// The rules of each entry of `eq_ports`.
    eq_spans: Box<[Span]>,
    /// Rule indices, ascending within each span.
    rules: Box<[u16]>,
}

#[derive(Default)]
struct Bucket {
    other_ports: Vec<u16>,
    eq: BTreeMap<u16, Vec<u16>>,
}

impl Classifier {
    /// The index of `compiled` (at most [`super::MAX_RULES`] rules).
    pub fn new(compiled: &[Compiled]) -> Self {
        let mut buckets: BTreeMap<Option<u8>, Bucket> = BTreeMap::new();
        buckets.entry(None).or_default();
        for (index, rule) in compiled.iter().enumerate() {
            if rule.family_mismatch {
                continue;
            }
            let index = u16::try_from(index).expect("a list holds at most MAX_RULES rules");
            let bucket = buckets.entry(rule.protocol).or_default();
            match rule.dst_ports {
                PortMatch::Eq(port) => bucket.eq.entry(port).or_default().push(index),
                _ => bucket.other_ports.push(index),
            }
        }
        let mut group_of = Box::new([NO_RULES; 256]);
        let mut groups = Vec::with_capacity(buckets.len() + 1);
        let (mut eq_ports, mut eq_spans, mut rules) = (Vec::new(), Vec::new(), Vec::new());
        let span = |rules: &mut Vec<u16>, indices: &[u16]| {
            let start = rules.len() as u32;
            rules.extend_from_slice(indices);
            (start, rules.len() as u32)
        };
        // `None` sorts first: the any-protocol rules are group 0, then the empty group.
        for (protocol, bucket) in buckets {
            let eq_start = eq_ports.len() as u32;
            for (port, indices) in &bucket.eq {
                eq_ports.push(*port);
                eq_spans.push(span(&mut rules, indices));
            }
            let group = Group {
                other_ports: span(&mut rules, &bucket.other_ports),
                eq: (eq_start, eq_ports.len() as u32),
            };
            if let Some(protocol) = protocol {
                group_of[usize::from(protocol)] = groups.len() as u16;
            }
            groups.push(group);
            if protocol.is_none() {
                groups.push(Group::default());
            }
        }
        Self {
            group_of,
            groups: groups.into_boxed_slice(),
            eq_ports: eq_ports.into_boxed_slice(),
            eq_spans: eq_spans.into_boxed_slice(),
            rules: rules.into_boxed_slice(),
        }
    }

    #[inline]
    fn run(&self, (start, end): Span) -> &[u16] {
        self.rules.get(start as usize..end as usize).unwrap_or_default()
    }

    /// The rules of `group` with `eq port`.
    #[inline]
    fn eq_run(&self, group: &Group, port: u16) -> &[u16] {
        let ports = self.eq_ports.get(group.eq.0 as usize..group.eq.1 as usize).unwrap_or_default();
        match ports.binary_search(&port) {
            Ok(at) => self.eq_spans.get(group.eq.0 as usize + at).map_or(&[], |&span| self.run(span)),
            Err(_) => &[],
        }
    }

    /// The first rule, in list order, for which `matches` holds among those that can match
    /// `packet`; `matches` is the rule's full check.
    #[inline]
    pub fn first(&self, packet: &Packet, mut matches: impl FnMut(usize) -> bool) -> Option<usize> {
        let ported = packet.has_transport && matches!(packet.protocol, 6 | 17);
        let any = &self.groups[ANY_PROTOCOL];
        let own = self.groups.get(usize::from(self.group_of[usize::from(packet.protocol)]));
        let own = own.unwrap_or(any);
        let eq = |group: &Group| if ported { self.eq_run(group, packet.dst_port) } else { &[] };
        let mut runs = [self.run(any.other_ports), eq(any), &[][..], &[][..]];
        if !core::ptr::eq(own, any) {
            runs[2] = self.run(own.other_ports);
            runs[3] = eq(own);
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
            runs[which] = &runs[which][1..];
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
