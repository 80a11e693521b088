//! The text of one access-list entry after `permit`/`deny`: protocol, addresses, ports, TCP
//! flags or ICMP type, `stateful` ([`crate::acl`] describes what each part means).
//!
//! The grammar tables hand the rest of an entry's line to [`parse_ace`] (too many forms for one
//! table row each); errors carry the character offset of the bad word, so the caller's error
//! points at it. Keywords are case-insensitive and may be abbreviated, as in the rest of the
//! language. `A/len` with host bits set is accepted and masked (`10.1.1.1/24` reads as
//! `10.1.1.0/24`), as NX-OS does; the masked form is what prints. (A model that arrives as
//! JSON with host bits set is refused by validation instead: there is no typed text to mask.)

use std::net::IpAddr;

use crate::acl::{Ace, Action, AddressMatch, Family, IcmpMatch, PortMatch, Protocol, TcpFlag, mask_address};

/// Why an entry's text is not valid: where (character offset in the text) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AceError {
    /// Character offset of the offending word in the text given to [`parse_ace`].
    pub offset: usize,
    pub message: String,
    /// What would have been accepted there.
    pub expected: Vec<String>,
}

/// Well-known TCP/UDP port names NX-OS accepts (a subset); ports print as numbers.
pub const PORT_NAMES: &[(&str, u16)] = &[
    ("bgp", 179),
    ("bootpc", 68),
    ("bootps", 67),
    ("domain", 53),
    ("ftp", 21),
    ("ftp-data", 20),
    ("ntp", 123),
    ("pop3", 110),
    ("smtp", 25),
    ("snmp", 161),
    ("ssh", 22),
    ("telnet", 23),
    ("tftp", 69),
    ("www", 80),
];

/// ICMP type names (a subset) by family; types print as numbers.
fn icmp_names(family: Family) -> &'static [(&'static str, u16)] {
    match family {
        Family::Ipv4 => &[("echo", 8), ("echo-reply", 0), ("time-exceeded", 11), ("unreachable", 3)],
        Family::Ipv6 => {
            &[("echo-reply", 129), ("echo-request", 128), ("time-exceeded", 3), ("unreachable", 1)]
        }
    }
}

/// One word of the text with its character offset.
#[derive(Debug, Clone, Copy)]
struct Word<'a> {
    text: &'a str,
    offset: usize,
}

struct Cursor<'a> {
    words: Vec<Word<'a>>,
    next: usize,
    /// Character count of the text: where "the end" is.
    end: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        let words = crate::grammar::split_words(text)
            .into_iter()
            .map(|w| Word { text: w.text, offset: w.column - 1 })
            .collect();
        Self { words, next: 0, end: text.chars().count() }
    }

    fn peek(&self) -> Option<Word<'a>> {
        self.words.get(self.next).copied()
    }

    /// The next word, or an "incomplete" error expecting `expected`.
    fn take(&mut self, expected: &[&str]) -> Result<Word<'a>, AceError> {
        let word = self.peek().ok_or_else(|| AceError {
            offset: self.end + 1,
            message: "incomplete access-list entry".to_string(),
            expected: strings(expected),
        })?;
        self.next += 1;
        Ok(word)
    }

    /// Takes the next word if it is (an abbreviation of) one of `keywords`.
    fn keyword(&mut self, keywords: &[&'static str]) -> Result<Option<&'static str>, AceError> {
        let Some(word) = self.peek() else { return Ok(None) };
        let found = match_keyword(word, keywords)?;
        if found.is_some() {
            self.next += 1;
        }
        Ok(found)
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn invalid(word: Word<'_>, message: String, expected: &[&str]) -> AceError {
    AceError { offset: word.offset, message, expected: strings(expected) }
}

/// The keyword `word` names: exactly, or as the only keyword it abbreviates.
fn match_keyword(word: Word<'_>, keywords: &[&'static str]) -> Result<Option<&'static str>, AceError> {
    let lower = word.text.to_ascii_lowercase();
    if let Some(k) = keywords.iter().find(|k| **k == lower) {
        return Ok(Some(k));
    }
    let prefixed: Vec<&'static str> = keywords.iter().copied().filter(|k| k.starts_with(&lower)).collect();
    match prefixed.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(AceError {
            offset: word.offset,
            message: format!("ambiguous word '{}'", word.text),
            expected: strings(many),
        }),
    }
}

/// Parses the text after `permit`/`deny` of an entry in a list of `family`.
pub fn parse_ace(family: Family, action: Action, text: &str) -> Result<Ace, AceError> {
    let mut cursor = Cursor::new(text);
    let protocol = protocol(&mut cursor, family)?;
    let source = address(&mut cursor, family)?;
    let source_port = if protocol.has_ports() { port_match(&mut cursor)? } else { None };
    let destination = address(&mut cursor, family)?;
    let destination_port = if protocol.has_ports() { port_match(&mut cursor)? } else { None };
    let mut ace = Ace { source_port, destination_port, ..Ace::new(action, protocol, source, destination) };
    match protocol {
        Protocol::Tcp => tcp_flags(&mut cursor, &mut ace)?,
        Protocol::Icmp => ace.icmp = icmp(&mut cursor, family)?,
        _ => {}
    }
    if let Some(word) = cursor.peek()
        && match_keyword(word, &["stateful"])?.is_some()
    {
        if action != Action::Permit {
            return Err(invalid(word, "only a permit can be stateful".to_string(), &[]));
        }
        cursor.next += 1;
        ace.stateful = true;
    }
    match cursor.peek() {
        None => Ok(ace),
        Some(word) => Err(invalid(
            word,
            format!("unexpected '{}' in an access-list entry", word.text),
            &what_may_follow(&ace, family),
        )),
    }
}

/// What may still come after the entry parsed so far (for the error about an extra word).
fn what_may_follow(ace: &Ace, family: Family) -> Vec<&'static str> {
    let mut out = Vec::new();
    if ace.protocol == Protocol::Tcp {
        out.extend(["ack", "fin", "psh", "rst", "syn", "urg", "established"]);
    }
    if ace.protocol == Protocol::Icmp && ace.icmp.is_none() {
        out.push(match family {
            Family::Ipv4 => "an ICMP type 0-255",
            Family::Ipv6 => "an ICMPv6 type 0-255",
        });
    }
    if ace.action == Action::Permit && !ace.stateful {
        out.push("stateful");
    }
    if out.is_empty() {
        out.push("the end of the line");
    }
    out
}

fn protocol(cursor: &mut Cursor<'_>, family: Family) -> Result<Protocol, AceError> {
    let names: &[&'static str] = match family {
        Family::Ipv4 => &["ip", "tcp", "udp", "icmp"],
        Family::Ipv6 => &["ipv6", "tcp", "udp", "icmp", "icmpv6"],
    };
    let expected: Vec<&str> = names.iter().copied().chain(["a protocol number 0-255"]).collect();
    let word = cursor.take(&expected)?;
    if let Some(n) = number(word.text) {
        return match u8::try_from(n) {
            Ok(n) => Ok(Protocol::from_number(n, family)),
            Err(_) => Err(invalid(word, format!("invalid protocol number '{}'", word.text), &expected)),
        };
    }
    match match_keyword(word, names)? {
        Some("ip" | "ipv6") => Ok(Protocol::Ip),
        Some("tcp") => Ok(Protocol::Tcp),
        Some("udp") => Ok(Protocol::Udp),
        Some("icmp" | "icmpv6") => Ok(Protocol::Icmp),
        _ => {
            let other = match family {
                Family::Ipv4 if word.text.eq_ignore_ascii_case("ipv6") => {
                    " (an ip access-list is for IPv4; use an ipv6 access-list)"
                }
                Family::Ipv6 if word.text.eq_ignore_ascii_case("ip") => {
                    " (in an ipv6 access-list it is 'ipv6')"
                }
                _ => "",
            };
            Err(invalid(word, format!("invalid protocol '{}'{other}", word.text), &expected))
        }
    }
}

fn address(cursor: &mut Cursor<'_>, family: Family) -> Result<AddressMatch, AceError> {
    let prefix_syntax = match family {
        Family::Ipv4 => "an IPv4 prefix A.B.C.D/LEN",
        Family::Ipv6 => "an IPv6 prefix X:X::X/LEN",
    };
    let expected = ["any", "host", prefix_syntax];
    let word = cursor.take(&expected)?;
    match match_keyword(word, &["any", "host"])? {
        Some("any") => return Ok(AddressMatch::Any),
        Some(_) => {
            let host_syntax = match family {
                Family::Ipv4 => "an IPv4 address",
                Family::Ipv6 => "an IPv6 address",
            };
            let word = cursor.take(&[host_syntax])?;
            let address: IpAddr = word
                .text
                .parse()
                .map_err(|_| invalid(word, format!("invalid address '{}'", word.text), &[host_syntax]))?;
            check_family(word, family, address)?;
            return Ok(AddressMatch::Host { address });
        }
        None => {}
    }
    let Some((address, length)) = word.text.split_once('/') else {
        return Err(invalid(word, format!("invalid address '{}'", word.text), &expected));
    };
    let address: IpAddr =
        address.parse().map_err(|_| invalid(word, format!("invalid address '{}'", word.text), &expected))?;
    check_family(word, family, address)?;
    let max = family.max_prefix_len();
    let length_offset = word.offset + word.text.chars().count() - length.chars().count();
    let length =
        number(length).and_then(|n| u8::try_from(n).ok()).filter(|n| *n <= max).ok_or_else(|| AceError {
            offset: length_offset,
            message: format!("invalid prefix length '{length}'"),
            expected: vec![format!("a number 0-{max}")],
        })?;
    Ok(AddressMatch::Prefix { address: mask_address(address, length), length })
}

fn check_family(word: Word<'_>, family: Family, address: IpAddr) -> Result<(), AceError> {
    if family.holds(&address) {
        return Ok(());
    }
    let list = match family {
        Family::Ipv4 => "an ip access-list holds IPv4 addresses only",
        Family::Ipv6 => "an ipv6 access-list holds IPv6 addresses only",
    };
    Err(invalid(word, format!("'{}' is not an {} address: {list}", word.text, family.label()), &[]))
}

fn port_match(cursor: &mut Cursor<'_>) -> Result<Option<PortMatch>, AceError> {
    let Some(op) = cursor.keyword(&["eq", "neq", "lt", "gt", "range"])? else {
        return Ok(None);
    };
    let first = port(cursor)?;
    Ok(Some(match op {
        "eq" => PortMatch::Eq(first.0),
        "neq" => PortMatch::Neq(first.0),
        "lt" => PortMatch::Lt(first.0),
        "gt" => PortMatch::Gt(first.0),
        _ => {
            let last = port(cursor)?;
            if last.0 < first.0 {
                return Err(invalid(
                    last.1,
                    format!("port range {} {} runs backwards", first.0, last.0),
                    &[],
                ));
            }
            PortMatch::Range { first: first.0, last: last.0 }
        }
    }))
}

const PORT_EXPECTED: &str = "a port number 0-65535 or a name like www, ssh, domain";

fn port<'a>(cursor: &mut Cursor<'a>) -> Result<(u16, Word<'a>), AceError> {
    let word = cursor.take(&[PORT_EXPECTED])?;
    let value = match number(word.text) {
        Some(n) => u16::try_from(n).ok(),
        None => {
            let lower = word.text.to_ascii_lowercase();
            PORT_NAMES.iter().find(|(name, _)| *name == lower).map(|(_, p)| *p)
        }
    };
    value
        .map(|p| (p, word))
        .ok_or_else(|| invalid(word, format!("invalid port '{}'", word.text), &[PORT_EXPECTED]))
}

fn tcp_flags(cursor: &mut Cursor<'_>, ace: &mut Ace) -> Result<(), AceError> {
    let names: Vec<&'static str> = TcpFlag::ALL.iter().map(|f| f.keyword()).chain(["established"]).collect();
    while let Some(word) = cursor.peek() {
        let Some(found) = match_keyword(word, &names)? else { break };
        cursor.next += 1;
        let duplicate = if found == "established" {
            std::mem::replace(&mut ace.established, true)
        } else {
            let flag = TcpFlag::ALL.into_iter().find(|f| f.keyword() == found);
            match flag {
                Some(flag) if ace.tcp_flags.contains(&flag) => true,
                Some(flag) => {
                    ace.tcp_flags.push(flag);
                    false
                }
                None => false,
            }
        };
        if duplicate {
            return Err(invalid(word, format!("'{found}' is given twice"), &[]));
        }
    }
    ace.tcp_flags.sort();
    Ok(())
}

fn icmp(cursor: &mut Cursor<'_>, family: Family) -> Result<Option<IcmpMatch>, AceError> {
    let Some(word) = cursor.peek() else { return Ok(None) };
    let names = icmp_names(family);
    let named = names.iter().find(|(name, _)| word.text.eq_ignore_ascii_case(name)).map(|(_, t)| *t);
    let Some(icmp_type) = number(word.text).or(named.map(u32::from)) else {
        return Ok(None); // `stateful` or an error about an extra word comes next
    };
    let icmp_type = u8::try_from(icmp_type)
        .map_err(|_| invalid(word, format!("invalid ICMP type '{}'", word.text), &["a number 0-255"]))?;
    cursor.next += 1;
    let code = match cursor.peek() {
        Some(word) if number(word.text).is_some() => {
            cursor.next += 1;
            let code = number(word.text).and_then(|n| u8::try_from(n).ok());
            Some(code.ok_or_else(|| {
                invalid(word, format!("invalid ICMP code '{}'", word.text), &["a number 0-255"])
            })?)
        }
        _ => None,
    };
    Ok(Some(IcmpMatch { icmp_type, code }))
}

/// A decimal number of ASCII digits (no sign); `None` otherwise or on overflow.
fn number(word: &str) -> Option<u32> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn canonical(family: Family, text: &str) -> String {
        parse_ace(family, Action::Permit, text).unwrap().display(family).to_string()
    }

    fn error(family: Family, action: Action, text: &str) -> AceError {
        parse_ace(family, action, text).unwrap_err()
    }

    #[test]
    fn every_part_parses_and_prints_canonically() {
        let v4 = Family::Ipv4;
        assert_eq!(canonical(v4, "tcp any 10.100.0.0/24 eq 80"), "permit tcp any 10.100.0.0/24 eq 80");
        assert_eq!(
            canonical(v4, "TCP host 1.2.3.4 range 1000 2000 any eq www"),
            "permit tcp host 1.2.3.4 range 1000 2000 any eq 80"
        );
        assert_eq!(
            canonical(v4, "tcp any any syn ack established stateful"),
            "permit tcp any any ack syn established stateful"
        );
        assert_eq!(canonical(v4, "udp any neq 53 any lt 1024"), "permit udp any neq 53 any lt 1024");
        assert_eq!(canonical(v4, "icmp any any echo"), "permit icmp any any 8");
        assert_eq!(canonical(v4, "icmp any any 3 1"), "permit icmp any any 3 1");
        assert_eq!(canonical(v4, "6 any any gt 5"), "permit tcp any any gt 5");
        assert_eq!(canonical(v4, "47 any any"), "permit 47 any any");
        assert_eq!(canonical(v4, "ip 10.1.1.1/24 any"), "permit ip 10.1.1.0/24 any");
        assert_eq!(canonical(v4, "tc any any"), "permit tcp any any");
        assert!(error(v4, Action::Permit, "i any any").message.contains("ambiguous"));
        let v6 = Family::Ipv6;
        assert_eq!(canonical(v6, "ipv6 any 2001:db8::/32"), "permit ipv6 any 2001:db8::/32");
        assert_eq!(canonical(v6, "icmpv6 any any echo-request"), "permit icmp any any 128");
        assert_eq!(canonical(v6, "58 any any"), "permit icmp any any");
        assert_eq!(
            canonical(v6, "tcp any host ::1 eq 22 stateful"),
            "permit tcp any host ::1 eq 22 stateful"
        );
    }

    #[test]
    fn errors_point_at_the_bad_word() {
        let v4 = Family::Ipv4;
        let e = error(v4, Action::Permit, "tcp any 2001:db8::/32");
        assert_eq!(e.offset, 8);
        assert_eq!(
            e.message,
            "'2001:db8::/32' is not an IPv4 address: an ip access-list holds IPv4 addresses only"
        );
        let e = error(v4, Action::Permit, "ipv6 any any");
        assert_eq!(
            (e.offset, e.message.as_str()),
            (0, "invalid protocol 'ipv6' (an ip access-list is for IPv4; use an ipv6 access-list)")
        );
        // `ip` abbreviates `ipv6` in an ipv6 list.
        assert_eq!(canonical(Family::Ipv6, "ip any any"), "permit ipv6 any any");
        let e = error(v4, Action::Permit, "tcp any any eq 70000");
        assert_eq!((e.offset, e.message.as_str()), (15, "invalid port '70000'"));
        let e = error(v4, Action::Permit, "tcp any 10.0.0.0/33");
        assert_eq!((e.offset, e.message.as_str()), (17, "invalid prefix length '33'"));
        let e = error(v4, Action::Permit, "tcp any");
        assert_eq!((e.offset, e.message.as_str()), (8, "incomplete access-list entry"));
        assert!(e.expected.contains(&"host".to_string()));
        let e = error(v4, Action::Deny, "ip any any stateful");
        assert_eq!((e.offset, e.message.as_str()), (11, "only a permit can be stateful"));
        let e = error(v4, Action::Permit, "udp any any syn");
        assert_eq!(e.offset, 12);
        assert_eq!(e.expected, vec!["stateful"]);
        let e = error(v4, Action::Permit, "tcp any any syn syn");
        assert_eq!((e.offset, e.message.as_str()), (16, "'syn' is given twice"));
        let e = error(v4, Action::Permit, "tcp any any range 9 8");
        assert_eq!(e.message, "port range 9 8 runs backwards");
        let e = error(v4, Action::Permit, "256 any any");
        assert_eq!(e.message, "invalid protocol number '256'");
        let e = error(v4, Action::Permit, "ip any host 1.2.3");
        assert_eq!((e.offset, e.message.as_str()), (12, "invalid address '1.2.3'"));
        let e = error(v4, Action::Permit, "icmp any any 300");
        assert_eq!(e.message, "invalid ICMP type '300'");
        assert_eq!(error(v4, Action::Permit, "").offset, 1);
    }
}
