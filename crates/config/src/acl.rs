//! IP access lists: `ip access-list NAME` / `ipv6 access-list NAME` and their entries (ACEs).
//!
//! ```text
//! ip access-list WEB-IN
//!   statistics per-entry
//!   10 permit tcp any 10.100.0.0/24 eq 80 stateful
//!   20 permit icmp any any 8
//!   30 deny ip any any
//! ```
//!
//! An entry matches a packet when every part it names matches: the protocol, the source and
//! destination (`any`, `host A`, `A/len`), the ports after each address (tcp and udp), the TCP
//! flags (all the listed ones set; `established`: ACK or RST set), the ICMP type and code.
//! Entries are tried in sequence order; the first that matches decides. **A packet no entry
//! matches is denied** (the implicit `deny ip any any` at the end of every list, as NX-OS): that is a
//! property of evaluation, not an entry in the model, and `show` does not print it.
//!
//! **Stateful permits** (Switchyard's addition; NX-OS ACLs are stateless): a trailing
//! `stateful` on a permit, like IOS's reflexive `reflect`, lets the replies of a connection the
//! entry allowed pass the opposite direction without an entry of their own. Only a permit can be
//! stateful.
//!
//! In an ipv6 list `ip` is spelt `ipv6` and `icmp` means ICMPv6 (`icmpv6` is accepted too);
//! every address is IPv6, and in an ip list every address is IPv4. Numbers print as names where
//! one exists (`permit 6 any any` prints `permit tcp any any`), ports always as numbers.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest access-list name NX-OS accepts.
pub const ACL_NAME_MAX: usize = 64;
/// The lowest sequence number.
pub const SEQUENCE_MIN: u32 = 1;
/// The highest sequence number (NX-OS: 4294967295).
pub const SEQUENCE_MAX: u32 = u32::MAX;
/// The step between entries typed without a number (and `resequence`'s usual one).
pub const SEQUENCE_STEP: u32 = 10;

/// The address family of an access list (and of every address in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `ip access-list`: IPv4.
    Ipv4,
    /// `ipv6 access-list`: IPv6.
    Ipv6,
}

impl Family {
    /// `ip` / `ipv6`: how the language names the family (`ip access-list`, `ipv6 access-list`),
    /// which is also the any-protocol word of its entries.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Ipv4 => "ip",
            Self::Ipv6 => "ipv6",
        }
    }

    /// `IPv4` / `IPv6`, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ipv4 => "IPv4",
            Self::Ipv6 => "IPv6",
        }
    }

    /// The longest prefix length: 32 or 128.
    pub fn max_prefix_len(self) -> u8 {
        match self {
            Self::Ipv4 => 32,
            Self::Ipv6 => 128,
        }
    }

    /// Whether `address` is of this family.
    pub fn holds(self, address: &IpAddr) -> bool {
        matches!((self, address), (Self::Ipv4, IpAddr::V4(_)) | (Self::Ipv6, IpAddr::V6(_)))
    }

    /// The IP protocol number of ICMP in this family: 1 (ICMP) or 58 (ICMPv6).
    pub fn icmp_protocol(self) -> u8 {
        match self {
            Self::Ipv4 => 1,
            Self::Ipv6 => 58,
        }
    }
}

/// `ip access-list NAME` / `ipv6 access-list NAME` with its sub-mode lines. The family is the
/// map the list is in ([`crate::Config::ip_access_lists`] or `ipv6_access_lists`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessList {
    /// `statistics per-entry`: count hits per entry (`show ip access-lists` shows `[match=N]`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub statistics_per_entry: bool,
    /// The entries by sequence number (1–4294967295), evaluated in that order.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub entries: std::collections::BTreeMap<u32, Ace>,
}

impl AccessList {
    /// The number an entry typed without one gets: the last one plus 10 (10 in an empty list),
    /// as NX-OS; `None` past the highest sequence number.
    pub fn next_sequence(&self) -> Option<u32> {
        match self.entries.keys().next_back() {
            None => Some(SEQUENCE_STEP),
            Some(last) => last.checked_add(SEQUENCE_STEP),
        }
    }
}

/// One access-list entry: `permit|deny PROTOCOL SOURCE [PORTS] DESTINATION [PORTS] [FLAGS|ICMP]
/// [stateful]`. [`Ace::display`] prints it canonically (the any-protocol word depends on the
/// list's family, which the entry does not carry).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Ace {
    pub action: Action,
    pub protocol: Protocol,
    pub source: AddressMatch,
    /// Only with tcp or udp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_port: Option<PortMatch>,
    pub destination: AddressMatch,
    /// Only with tcp or udp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_port: Option<PortMatch>,
    /// TCP flags that must all be set, in canonical order (ack fin psh rst syn urg). Only with tcp.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_flags: Vec<TcpFlag>,
    /// `established`: ACK or RST set (a packet of an existing connection). Only with tcp.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub established: bool,
    /// ICMP type and optional code. Only with icmp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp: Option<IcmpMatch>,
    /// `stateful`: replies of connections this entry permitted pass the other direction. Only
    /// on a permit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stateful: bool,
}

impl Ace {
    /// An entry with only action, protocol and addresses.
    pub fn new(action: Action, protocol: Protocol, source: AddressMatch, destination: AddressMatch) -> Self {
        Self {
            action,
            protocol,
            source,
            source_port: None,
            destination,
            destination_port: None,
            tcp_flags: Vec::new(),
            established: false,
            icmp: None,
            stateful: false,
        }
    }

    /// The IP protocol number the entry matches in a list of `family`; `None` for `ip`/`ipv6`
    /// (any protocol). In an ipv6 list `icmp` is 58 (ICMPv6).
    pub fn protocol_number(&self, family: Family) -> Option<u8> {
        self.protocol.number(family)
    }

    /// The TCP flags as the bits of the TCP header's flag byte (FIN 0x01 … URG 0x20).
    pub fn tcp_flag_bits(&self) -> u8 {
        self.tcp_flags.iter().fold(0, |bits, flag| bits | flag.bit())
    }

    /// Whether the entry permits.
    pub fn is_permit(&self) -> bool {
        self.action == Action::Permit
    }
}

impl Ace {
    /// The canonical text in a list of `family`, without the sequence number: `permit tcp any
    /// 10.100.0.0/24 eq 80 stateful` (the any-protocol word is `ip` or `ipv6`).
    pub fn display(&self, family: Family) -> impl fmt::Display + '_ {
        AceText { ace: self, family }
    }
}

struct AceText<'a> {
    ace: &'a Ace,
    family: Family,
}

impl fmt::Display for AceText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ace = self.ace;
        write!(f, "{} {} {}", ace.action, ace.protocol.display(self.family), ace.source)?;
        if let Some(port) = &ace.source_port {
            write!(f, " {port}")?;
        }
        write!(f, " {}", ace.destination)?;
        if let Some(port) = &ace.destination_port {
            write!(f, " {port}")?;
        }
        if let Some(icmp) = &ace.icmp {
            write!(f, " {}", icmp.icmp_type)?;
            if let Some(code) = icmp.code {
                write!(f, " {code}")?;
            }
        }
        for flag in &ace.tcp_flags {
            write!(f, " {flag}")?;
        }
        if ace.established {
            f.write_str(" established")?;
        }
        if ace.stateful {
            f.write_str(" stateful")?;
        }
        Ok(())
    }
}

/// An entry with its sequence number, as an agent receives it in an [`EffectiveAcl`]
/// ([`EffectiveAcl::entry_line`] prints it: `10 permit tcp any 10.100.0.0/24 eq 80`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct AclEntry {
    pub sequence: u32,
    pub ace: Ace,
}

/// An access list as a port applies it: its name, family and entries in order. Part of
/// [`crate::EffectivePolicy`], so a change to a list's entries changes the policy of every
/// profile that uses it. A packet no entry matches is denied.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct EffectiveAcl {
    pub name: String,
    pub family: Family,
    pub statistics_per_entry: bool,
    /// In sequence order.
    pub entries: Vec<AclEntry>,
}

impl EffectiveAcl {
    /// `name`'s list of `family` as a port applies it.
    pub fn new(name: &str, family: Family, list: &AccessList) -> Self {
        Self {
            name: name.to_string(),
            family,
            statistics_per_entry: list.statistics_per_entry,
            entries: list
                .entries
                .iter()
                .map(|(sequence, ace)| AclEntry { sequence: *sequence, ace: ace.clone() })
                .collect(),
        }
    }

    /// Whether any entry is stateful (the port then needs connection tracking).
    pub fn is_stateful(&self) -> bool {
        self.entries.iter().any(|e| e.ace.stateful)
    }

    /// The entry's line as `show ip access-lists` prints it (`10 permit tcp any any eq 80`).
    pub fn entry_line(&self, entry: &AclEntry) -> String {
        format!("{} {}", entry.sequence, entry.ace.display(self.family))
    }
}

/// `permit` / `deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Permit,
    Deny,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Permit => "permit",
            Self::Deny => "deny",
        })
    }
}

/// The protocol an entry matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// `ip` (`ipv6` in an ipv6 list): any protocol.
    Ip,
    Tcp,
    Udp,
    /// ICMP in an ip list, ICMPv6 in an ipv6 list.
    Icmp,
    /// Another protocol by number, 0–255 (never one of the named ones: 6 is `tcp`).
    Number(u8),
}

impl Protocol {
    /// The protocol number in `family`; `None` for any protocol.
    pub fn number(self, family: Family) -> Option<u8> {
        match self {
            Self::Ip => None,
            Self::Tcp => Some(6),
            Self::Udp => Some(17),
            Self::Icmp => Some(family.icmp_protocol()),
            Self::Number(n) => Some(n),
        }
    }

    /// The named protocol for a number, where one exists in `family`.
    pub fn from_number(n: u8, family: Family) -> Self {
        match n {
            6 => Self::Tcp,
            17 => Self::Udp,
            n if n == family.icmp_protocol() => Self::Icmp,
            n => Self::Number(n),
        }
    }

    /// Whether ports may follow the addresses.
    pub fn has_ports(self) -> bool {
        matches!(self, Self::Tcp | Self::Udp)
    }

    /// How the protocol prints in a list of `family`.
    pub fn display(self, family: Family) -> impl fmt::Display {
        ProtocolText { protocol: self, family }
    }
}

struct ProtocolText {
    protocol: Protocol,
    family: Family,
}

impl fmt::Display for ProtocolText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.protocol {
            Protocol::Ip => f.write_str(self.family.keyword()),
            Protocol::Tcp => f.write_str("tcp"),
            Protocol::Udp => f.write_str("udp"),
            Protocol::Icmp => f.write_str("icmp"),
            Protocol::Number(n) => write!(f, "{n}"),
        }
    }
}

/// A source or destination: `any`, `host A`, or `A/len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AddressMatch {
    Any,
    /// `host A`.
    Host {
        #[schema(value_type = String)]
        address: IpAddr,
    },
    /// `A/len`; `address` has no bits set past `length` (the text form masks them, as NX-OS).
    Prefix {
        #[schema(value_type = String)]
        address: IpAddr,
        length: u8,
    },
}

impl AddressMatch {
    /// Whether `address` matches (an address of the other family never does).
    pub fn contains(&self, address: IpAddr) -> bool {
        match *self {
            Self::Any => true,
            Self::Host { address: host } => host == address,
            // `network` has no host bits (the language masks them, validation refuses them).
            Self::Prefix { address: network, length } => mask_address(address, length) == network,
        }
    }

    /// The address of the match, if it has one.
    pub fn address(&self) -> Option<IpAddr> {
        match *self {
            Self::Any => None,
            Self::Host { address } | Self::Prefix { address, .. } => Some(address),
        }
    }
}

/// `address` with every bit past `length` cleared.
pub fn mask_address(address: IpAddr, length: u8) -> IpAddr {
    match address {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(length.min(32))).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(length.min(128))).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

impl fmt::Display for AddressMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::Host { address } => write!(f, "host {address}"),
            Self::Prefix { address, length } => write!(f, "{address}/{length}"),
        }
    }
}

/// A port operator: `eq P`, `neq P`, `lt P`, `gt P`, `range P1 P2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PortMatch {
    Eq(u16),
    Neq(u16),
    Lt(u16),
    Gt(u16),
    /// `range FIRST LAST`, both included; `first <= last`.
    Range {
        first: u16,
        last: u16,
    },
}

impl PortMatch {
    /// Whether `port` matches.
    pub fn contains(&self, port: u16) -> bool {
        match *self {
            Self::Eq(p) => port == p,
            Self::Neq(p) => port != p,
            Self::Lt(p) => port < p,
            Self::Gt(p) => port > p,
            Self::Range { first, last } => (first..=last).contains(&port),
        }
    }
}

impl fmt::Display for PortMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Eq(p) => write!(f, "eq {p}"),
            Self::Neq(p) => write!(f, "neq {p}"),
            Self::Lt(p) => write!(f, "lt {p}"),
            Self::Gt(p) => write!(f, "gt {p}"),
            Self::Range { first, last } => write!(f, "range {first} {last}"),
        }
    }
}

/// A TCP flag an entry requires, in canonical (printing) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TcpFlag {
    Ack,
    Fin,
    Psh,
    Rst,
    Syn,
    Urg,
}

impl TcpFlag {
    /// Every flag, in canonical order.
    pub const ALL: [Self; 6] = [Self::Ack, Self::Fin, Self::Psh, Self::Rst, Self::Syn, Self::Urg];

    /// The flag's bit in the TCP header's flag byte.
    pub fn bit(self) -> u8 {
        match self {
            Self::Fin => 0x01,
            Self::Syn => 0x02,
            Self::Rst => 0x04,
            Self::Psh => 0x08,
            Self::Ack => 0x10,
            Self::Urg => 0x20,
        }
    }

    /// The keyword: `ack`, `fin`, …
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Ack => "ack",
            Self::Fin => "fin",
            Self::Psh => "psh",
            Self::Rst => "rst",
            Self::Syn => "syn",
            Self::Urg => "urg",
        }
    }
}

impl fmt::Display for TcpFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// `icmp … TYPE [CODE]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct IcmpMatch {
    pub icmp_type: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
}

impl IcmpMatch {
    /// Whether an ICMP message of `icmp_type` and `code` matches.
    pub fn contains(&self, icmp_type: u8, code: u8) -> bool {
        self.icmp_type == icmp_type && self.code.is_none_or(|c| c == code)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn prefixes_match_by_their_length() {
        let p = AddressMatch::Prefix { address: "10.100.0.0".parse().unwrap(), length: 24 };
        assert!(p.contains("10.100.0.77".parse().unwrap()));
        assert!(!p.contains("10.100.1.1".parse().unwrap()));
        assert!(!p.contains("::1".parse().unwrap()));
        let all = AddressMatch::Prefix { address: IpAddr::V4(0.into()), length: 0 };
        assert!(all.contains(IpAddr::V4(0xffff_ffff.into())));
        assert_eq!(mask_address("2001:db8::ff".parse().unwrap(), 64).to_string(), "2001:db8::");
    }

    #[test]
    fn ports_flags_and_protocols() {
        assert!(PortMatch::Range { first: 10, last: 20 }.contains(20));
        assert!(!PortMatch::Lt(10).contains(10));
        assert!(PortMatch::Neq(10).contains(11));
        let mut ace = Ace::new(Action::Permit, Protocol::Tcp, AddressMatch::Any, AddressMatch::Any);
        ace.tcp_flags = vec![TcpFlag::Ack, TcpFlag::Syn];
        assert_eq!(ace.tcp_flag_bits(), 0x12);
        assert_eq!(ace.protocol_number(Family::Ipv4), Some(6));
        assert_eq!(Protocol::Icmp.number(Family::Ipv6), Some(58));
        assert_eq!(Protocol::Ip.number(Family::Ipv6), None);
        assert_eq!(Protocol::from_number(58, Family::Ipv6), Protocol::Icmp);
        assert_eq!(Protocol::from_number(58, Family::Ipv4), Protocol::Number(58));
        assert_eq!(ace.display(Family::Ipv4).to_string(), "permit tcp any any ack syn");
        ace.protocol = Protocol::Ip;
        ace.tcp_flags.clear();
        assert_eq!(ace.display(Family::Ipv6).to_string(), "permit ipv6 any any");
        assert!(IcmpMatch { icmp_type: 8, code: None }.contains(8, 3));
        assert!(!IcmpMatch { icmp_type: 3, code: Some(1) }.contains(3, 3));
    }
}
