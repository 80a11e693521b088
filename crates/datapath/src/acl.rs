//! Compiled IP access lists: what `ip access-list` and `ipv6 access-list` become in a port's
//! policy ([`crate::PortConfig::acl_in`] / [`crate::PortConfig::acl_out`]).
//!
//! A list is an ordered set of [`AclRule`]s; the first rule that matches a packet decides, and
//! a packet no rule matches is denied by the implicit deny at the end (reported on its own, as
//! NX-OS does). Port ACLs filter IP only: ARP and every other non-IP frame passes; IPv4 packets
//! are checked by a port's IPv4 list and IPv6 packets by its IPv6 list, and a family with no
//! list passes.
//!
//! Fragments: a non-first fragment carries no transport header, so rules that look at ports,
//! TCP flags or ICMP type/code never match it; rules on addresses and protocol alone do.
//!
//! Evaluation reads a [`Packet`] parsed once per frame (never per rule), and the flow table
//! caches its verdict, so evaluation runs once per flow and configuration; it checks only the
//! rules a pre-classification by protocol and destination port leaves (`acl/classifier.rs`).

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::packet::Packet;

mod classifier;

use classifier::Classifier;

/// Permit or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Let the packet through.
    Permit,
    /// Drop it (`acl_in` / `acl_out`).
    Deny,
}

/// The IP version a list filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// `ip access-list`.
    V4,
    /// `ipv6 access-list`.
    V6,
}

impl fmt::Display for Family {
    /// `ip` or `ipv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V4 => "ip",
            Self::V6 => "ipv6",
        })
    }
}

/// An address prefix: `any` (length 0), `host A` (full length) or `A/len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    len: u8,
}

impl IpNet {
    /// Every address (of the list's family).
    pub const ANY: Self = Self { addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED), len: 0 };

    /// `addr/len`, with the host bits cleared; `None` if `len` is longer than the address.
    pub fn new(addr: IpAddr, len: u8) -> Option<Self> {
        let bits = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if len > bits {
            return None;
        }
        let net = Self { addr, len };
        let value = net.value() & net.mask();
        let addr = match addr {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(value as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(value)),
        };
        Some(Self { addr, len })
    }

    /// `host addr`.
    pub fn host(addr: IpAddr) -> Self {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        Self { addr, len }
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// `true` for `any`.
    pub fn is_any(&self) -> bool {
        self.len == 0
    }

    fn value(&self) -> u128 {
        match self.addr {
            IpAddr::V4(addr) => u128::from(u32::from(addr)),
            IpAddr::V6(addr) => u128::from(addr),
        }
    }

    /// The mask over [`Packet`]'s address form (IPv4 in the low 32 bits).
    fn mask(&self) -> u128 {
        let bits = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.len == 0 {
            0
        } else {
            (u128::MAX << (bits - u32::from(self.len))) & (u128::MAX >> (128 - bits))
        }
    }
}

impl fmt::Display for IpNet {
    /// `any`, `host 10.0.0.1`, `10.100.0.0/24`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = if self.addr.is_ipv4() { 32 } else { 128 };
        match self.len {
            0 => f.write_str("any"),
            len if len == full => write!(f, "host {}", self.addr),
            len => write!(f, "{}/{len}", self.addr),
        }
    }
}

/// A prefix as the matcher reads it: one mask and compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Prefix {
    mask: u128,
    value: u128,
}

impl From<IpNet> for Prefix {
    fn from(net: IpNet) -> Self {
        let mask = net.mask();
        Self { mask, value: net.value() & mask }
    }
}

/// A transport port condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PortMatch {
    /// No condition.
    #[default]
    Any,
    /// `eq N`.
    Eq(u16),
    /// `neq N`.
    Neq(u16),
    /// `lt N`.
    Lt(u16),
    /// `gt N`.
    Gt(u16),
    /// `range A B`, inclusive.
    Range(u16, u16),
}

impl PortMatch {
    #[inline]
    fn matches(self, port: u16) -> bool {
        match self {
            Self::Any => true,
            Self::Eq(n) => port == n,
            Self::Neq(n) => port != n,
            Self::Lt(n) => port < n,
            Self::Gt(n) => port > n,
            Self::Range(low, high) => (low..=high).contains(&port),
        }
    }
}

impl fmt::Display for PortMatch {
    /// ` eq 80`, ` range 1000 2000`, or nothing for `Any` (leading space included).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => Ok(()),
            Self::Eq(n) => write!(f, " eq {n}"),
            Self::Neq(n) => write!(f, " neq {n}"),
            Self::Lt(n) => write!(f, " lt {n}"),
            Self::Gt(n) => write!(f, " gt {n}"),
            Self::Range(low, high) => write!(f, " range {low} {high}"),
        }
    }
}

/// TCP flag bits as in the header's low byte.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// Names in NX-OS keyword order.
    pub(crate) const NAMES: [(u8, &str); 6] =
        [(ACK, "ack"), (FIN, "fin"), (PSH, "psh"), (RST, "rst"), (SYN, "syn"), (URG, "urg")];
}

/// A TCP flags condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TcpFlagMatch {
    /// No condition.
    #[default]
    Any,
    /// `established`: ACK or RST set (a segment of a connection already open).
    Established,
    /// The flags under `mask` equal `value` (`syn` is mask SYN, value SYN).
    Bits {
        /// Which flags are looked at.
        mask: u8,
        /// What they must be.
        value: u8,
    },
}

impl TcpFlagMatch {
    #[inline]
    fn matches(self, flags: u8) -> bool {
        match self {
            Self::Any => true,
            Self::Established => flags & (tcp_flags::ACK | tcp_flags::RST) != 0,
            Self::Bits { mask, value } => flags & mask == value & mask,
        }
    }
}

impl fmt::Display for TcpFlagMatch {
    /// ` established`, ` ack syn`; flags that must be clear are shown as `-syn` (not NX-OS).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => Ok(()),
            Self::Established => f.write_str(" established"),
            Self::Bits { mask, value } => {
                for (bit, name) in tcp_flags::NAMES {
                    if mask & bit != 0 {
                        let sign = if value & bit != 0 { "" } else { "-" };
                        write!(f, " {sign}{name}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// One entry (ACE) of an access list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AclRule {
    /// Its sequence number (`10 permit …`).
    pub seq: u32,
    /// Permit or deny.
    pub action: Action,
    /// A stateful permit: replies of the connections it admits pass the opposite direction of
    /// the same port without a rule of their own. Ignored on a deny.
    pub stateful: bool,
    /// IP protocol number, `None` for `ip` (any).
    pub protocol: Option<u8>,
    /// Source prefix.
    pub source: IpNet,
    /// Source port (TCP and UDP).
    pub src_ports: PortMatch,
    /// Destination prefix.
    pub destination: IpNet,
    /// Destination port (TCP and UDP).
    pub dst_ports: PortMatch,
    /// TCP flags (TCP only).
    pub tcp_flags: TcpFlagMatch,
    /// ICMP type (ICMP and ICMPv6 only).
    pub icmp_type: Option<u8>,
    /// ICMP code (only with a type).
    pub icmp_code: Option<u8>,
}

impl AclRule {
    /// `seq permit|deny ip any any`: a rule with no condition, to refine field by field.
    pub fn new(seq: u32, action: Action) -> Self {
        Self {
            seq,
            action,
            stateful: false,
            protocol: None,
            source: IpNet::ANY,
            src_ports: PortMatch::Any,
            destination: IpNet::ANY,
            dst_ports: PortMatch::Any,
            tcp_flags: TcpFlagMatch::Any,
            icmp_type: None,
            icmp_code: None,
        }
    }

    /// `true` if it looks past the IP header.
    fn needs_transport(&self) -> bool {
        self.src_ports != PortMatch::Any
            || self.dst_ports != PortMatch::Any
            || self.tcp_flags != TcpFlagMatch::Any
            || self.icmp_type.is_some()
    }

    /// `true` for a permit that tracks connections.
    pub fn is_stateful_permit(&self) -> bool {
        self.stateful && self.action == Action::Permit
    }
}

fn protocol_name(protocol: Option<u8>) -> Option<&'static str> {
    match protocol {
        None => Some("ip"),
        Some(1 | 58) => Some("icmp"),
        Some(6) => Some("tcp"),
        Some(17) => Some("udp"),
        Some(_) => None,
    }
}

impl fmt::Display for AclRule {
    /// The ACE as the config language writes it, without the sequence number:
    /// `permit tcp any 10.100.0.0/24 eq 80`, `permit udp host 10.0.0.1 range 1000 2000 any stateful`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            Action::Permit => "permit",
            Action::Deny => "deny",
        };
        match (protocol_name(self.protocol), self.protocol) {
            (Some(name), _) => write!(f, "{action} {name}")?,
            (None, Some(number)) => write!(f, "{action} {number}")?,
            (None, None) => unreachable!("protocol_name(None) is \"ip\""),
        }
        write!(f, " {}{} {}{}", self.source, self.src_ports, self.destination, self.dst_ports)?;
        write!(f, "{}", self.tcp_flags)?;
        if let Some(kind) = self.icmp_type {
            write!(f, " {kind}")?;
            if let Some(code) = self.icmp_code {
                write!(f, " {code}")?;
            }
        }
        if self.is_stateful_permit() {
            f.write_str(" stateful")?;
        }
        Ok(())
    }
}

/// A rule as the matcher reads it: prefixes as masks, the family's ICMP protocol resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Compiled {
    protocol: Option<u8>,
    source: Prefix,
    destination: Prefix,
    src_ports: PortMatch,
    dst_ports: PortMatch,
    tcp_flags: TcpFlagMatch,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    needs_transport: bool,
    /// Addresses of the other family never match.
    family_mismatch: bool,
}

impl Compiled {
    fn new(rule: &AclRule, family: Family) -> Self {
        let of_family = |net: &IpNet| net.is_any() || net.addr.is_ipv4() == (family == Family::V4);
        Self {
            protocol: rule.protocol,
            source: rule.source.into(),
            destination: rule.destination.into(),
            src_ports: rule.src_ports,
            dst_ports: rule.dst_ports,
            tcp_flags: rule.tcp_flags,
            icmp_type: rule.icmp_type,
            icmp_code: rule.icmp_type.and(rule.icmp_code),
            needs_transport: rule.needs_transport(),
            family_mismatch: !of_family(&rule.source) || !of_family(&rule.destination),
        }
    }

    #[inline]
    fn matches(&self, packet: &Packet) -> bool {
        if self.family_mismatch
            || self.protocol.is_some_and(|protocol| protocol != packet.protocol)
            || packet.src & self.source.mask != self.source.value
            || packet.dst & self.destination.mask != self.destination.value
        {
            return false;
        }
        if !self.needs_transport {
            return true;
        }
        if !packet.has_transport {
            return false; // a non-first fragment, or a truncated header
        }
        match packet.protocol {
            6 | 17 if self.icmp_type.is_none() => {
                self.src_ports.matches(packet.src_port)
                    && self.dst_ports.matches(packet.dst_port)
                    && (packet.protocol == 6 || self.tcp_flags == TcpFlagMatch::Any)
                    && self.tcp_flags.matches(packet.tcp_flags)
            }
            1 | 58
                if self.src_ports == PortMatch::Any
                    && self.dst_ports == PortMatch::Any
                    && self.tcp_flags == TcpFlagMatch::Any =>
            {
                self.icmp_type.is_none_or(|kind| kind == packet.icmp_type)
                    && self.icmp_code.is_none_or(|code| code == packet.icmp_code)
            }
            _ => false,
        }
    }
}

/// Which rule of a list decided a packet: an index into [`Acl::rules`], or the implicit deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Hit {
    Rule(u16),
    ImplicitDeny,
}

impl Hit {
    /// The slot of its hit counter: the rule's index, the implicit deny's after the last rule.
    pub fn counter(self, rules: usize) -> usize {
        match self {
            Self::Rule(index) => usize::from(index),
            Self::ImplicitDeny => rules,
        }
    }
}

/// An access list, compiled.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Acl {
    name: Arc<str>,
    family: Family,
    rules: Box<[AclRule]>,
    compiled: Box<[Compiled]>,
    /// Which rules can match which packets, so that evaluation skips the others.
    classifier: Classifier,
}

impl fmt::Debug for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acl")
            .field("name", &self.name)
            .field("family", &self.family)
            .field("rules", &self.rules)
            .finish()
    }
}

/// The most rules a list holds (verdicts name rules by a 16-bit index).
pub const MAX_RULES: usize = u16::MAX as usize - 1;

impl Acl {
    /// A list of `rules`, sorted by sequence number; the first `MAX_RULES` are kept.
    pub fn new(name: impl Into<Arc<str>>, family: Family, rules: impl IntoIterator<Item = AclRule>) -> Self {
        let mut rules: Vec<AclRule> = rules.into_iter().take(MAX_RULES).collect();
        rules.sort_by_key(|rule| rule.seq);
        let compiled: Box<[Compiled]> = rules.iter().map(|rule| Compiled::new(rule, family)).collect();
        let classifier = Classifier::new(&compiled);
        Self { name: name.into(), family, rules: rules.into_boxed_slice(), compiled, classifier }
    }

    /// Its name.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The family it filters.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Its rules, by sequence number.
    pub fn rules(&self) -> &[AclRule] {
        &self.rules
    }

    /// The first rule matching `packet`, or the implicit deny: the classifier's candidates
    /// only, in order.
    #[inline]
    pub(crate) fn evaluate(&self, packet: &Packet) -> Hit {
        let matches = |index: usize| self.compiled.get(index).is_some_and(|rule| rule.matches(packet));
        match self.classifier.first(packet, matches) {
            Some(index) => Hit::Rule(index as u16),
            None => Hit::ImplicitDeny,
        }
    }

    /// The rule a hit names (`None` for the implicit deny).
    pub(crate) fn rule(&self, hit: Hit) -> Option<&AclRule> {
        match hit {
            Hit::Rule(index) => self.rules.get(usize::from(index)),
            Hit::ImplicitDeny => None,
        }
    }

    /// `true` if `hit` lets the packet through.
    pub(crate) fn permits(&self, hit: Hit) -> bool {
        self.rule(hit).is_some_and(|rule| rule.action == Action::Permit)
    }
}

/// A port's lists for one direction, one per family.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortAcls {
    /// `ip port access-group NAME in|out`.
    pub v4: Option<Arc<Acl>>,
    /// `ipv6 port traffic-filter NAME in|out`.
    pub v6: Option<Arc<Acl>>,
}

impl PortAcls {
    /// `true` if neither family has a list.
    pub fn is_empty(&self) -> bool {
        self.v4.is_none() && self.v6.is_none()
    }
}

/// How often one entry of a list decided a packet, summed over every port using the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclHits {
    /// The list.
    pub list: Arc<str>,
    /// Its family.
    pub family: Family,
    /// The entry's sequence number; `None` for the implicit deny.
    pub seq: Option<u32>,
    /// Packets it decided (`[match=N]` in `show ip access-lists`).
    pub matches: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        let (addr, len) = text.split_once('/').expect("prefix");
        IpNet::new(addr.parse().expect("address"), len.parse().expect("length")).expect("valid")
    }

    fn packet(protocol: u8, dst: Ipv4Addr, dst_port: u16) -> Packet {
        Packet {
            protocol,
            src: u128::from(u32::from(Ipv4Addr::new(192, 168, 1, 7))),
            dst: u128::from(u32::from(dst)),
            src_port: 40000,
            dst_port,
            has_transport: true,
            ..Packet::default()
        }
    }

    fn web() -> Acl {
        let mut http = AclRule::new(10, Action::Permit);
        http.protocol = Some(6);
        http.destination = net("10.100.0.0/24");
        http.dst_ports = PortMatch::Eq(80);
        let mut icmp = AclRule::new(20, Action::Permit);
        icmp.protocol = Some(1);
        let deny = AclRule::new(30, Action::Deny);
        Acl::new("WEB-IN", Family::V4, [deny, icmp, http])
    }

    #[test]
    fn first_match_wins_and_implicit_deny_ends() {
        let acl = web();
        assert_eq!(acl.rules().iter().map(|rule| rule.seq).collect::<Vec<_>>(), [10, 20, 30]);
        let http = packet(6, Ipv4Addr::new(10, 100, 0, 9), 80);
        assert_eq!(acl.evaluate(&http), Hit::Rule(0));
        assert!(acl.permits(Hit::Rule(0)));
        assert_eq!(acl.evaluate(&packet(6, Ipv4Addr::new(10, 100, 1, 9), 80)), Hit::Rule(2));
        assert_eq!(acl.evaluate(&packet(1, Ipv4Addr::new(8, 8, 8, 8), 0)), Hit::Rule(1));
        let only_http = Acl::new("X", Family::V4, [acl.rules()[0].clone()]);
        assert_eq!(only_http.evaluate(&packet(17, Ipv4Addr::new(10, 100, 0, 9), 80)), Hit::ImplicitDeny);
        assert!(!only_http.permits(Hit::ImplicitDeny));
        // A non-first fragment has no ports: only address rules see it.
        let fragment = Packet { has_transport: false, ..http };
        assert_eq!(acl.evaluate(&fragment), Hit::Rule(2));
    }

    #[test]
    fn port_operators_flags_and_icmp() {
        for (operator, yes, no) in [
            (PortMatch::Eq(80), 80, 81),
            (PortMatch::Neq(80), 81, 80),
            (PortMatch::Lt(1024), 1023, 1024),
            (PortMatch::Gt(1024), 1025, 1024),
            (PortMatch::Range(1000, 2000), 2000, 2001),
        ] {
            assert!(operator.matches(yes) && !operator.matches(no), "{operator}");
        }
        assert!(TcpFlagMatch::Established.matches(tcp_flags::ACK));
        assert!(TcpFlagMatch::Established.matches(tcp_flags::RST));
        assert!(!TcpFlagMatch::Established.matches(tcp_flags::SYN));
        let syn_only = TcpFlagMatch::Bits { mask: tcp_flags::SYN | tcp_flags::ACK, value: tcp_flags::SYN };
        assert!(syn_only.matches(tcp_flags::SYN) && !syn_only.matches(tcp_flags::SYN | tcp_flags::ACK));
        let mut echo = AclRule::new(10, Action::Permit);
        echo.protocol = Some(1);
        echo.icmp_type = Some(8);
        let acl = Acl::new("PING", Family::V4, [echo]);
        let request = Packet { icmp_type: 8, ..packet(1, Ipv4Addr::new(10, 0, 0, 1), 0) };
        let reply = Packet { icmp_type: 0, ..request };
        assert_eq!((acl.evaluate(&request), acl.evaluate(&reply)), (Hit::Rule(0), Hit::ImplicitDeny));
    }

    #[test]
    fn prints_nxos_aces() {
        let acl = web();
        let lines: Vec<String> = acl.rules().iter().map(|rule| format!("{} {rule}", rule.seq)).collect();
        assert_eq!(
            lines,
            ["10 permit tcp any 10.100.0.0/24 eq 80", "20 permit icmp any any", "30 deny ip any any"]
        );
        let mut rule = AclRule::new(40, Action::Permit);
        rule.protocol = Some(17);
        rule.source = IpNet::host("10.0.0.1".parse().expect("address"));
        rule.src_ports = PortMatch::Range(1000, 2000);
        rule.destination = net("2001:db8::/32");
        rule.stateful = true;
        assert_eq!(rule.to_string(), "permit udp host 10.0.0.1 range 1000 2000 2001:db8::/32 stateful");
        rule.protocol = Some(6);
        rule.tcp_flags = TcpFlagMatch::Established;
        rule.stateful = false;
        rule.action = Action::Deny;
        assert!(rule.to_string().ends_with("2001:db8::/32 established"), "{rule}");
        let mut icmp = AclRule::new(50, Action::Permit);
        icmp.protocol = Some(1);
        icmp.icmp_type = Some(3);
        icmp.icmp_code = Some(4);
        assert_eq!(icmp.to_string(), "permit icmp any any 3 4");
        let mut gre = AclRule::new(60, Action::Deny);
        gre.protocol = Some(47);
        assert_eq!(gre.to_string(), "deny 47 any any");
        assert_eq!(net("10.1.2.3/8").to_string(), "10.0.0.0/8");
    }

    #[test]
    fn addresses_of_the_other_family_never_match() {
        let mut rule = AclRule::new(10, Action::Permit);
        rule.destination = net("10.0.0.0/8");
        let acl = Acl::new("V6", Family::V6, [rule]);
        let packet = Packet { dst: u128::from(u32::from(Ipv4Addr::new(10, 0, 0, 1))), ..Packet::default() };
        assert_eq!(acl.evaluate(&packet), Hit::ImplicitDeny);
    }
}
