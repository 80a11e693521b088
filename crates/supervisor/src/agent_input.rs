//! Everything an agent sends, checked in one place before anything of it is stored, logged or
//! shown. Pure.
//!
//! An agent is a program on a host the supervisor does not control: even an enrolled one may be
//! compromised or buggy. What it sends ends up in store keys, in event lines, in `show` tables on
//! an operator's terminal and in other agents' overlay views, so every field is bounded in
//! length, free of control characters, escape sequences and bidirectional overrides (which would
//! forge rows or drive the terminal), and parsed where it has a syntax (MACs, IP addresses,
//! LTLs, VLANs). A request that breaks a rule is refused whole, with the field and the reason
//! (the gRPC layer answers `INVALID_ARGUMENT`), never silently trimmed: a trimmed iface-id or
//! MAC would be another port.
//!
//! The gRPC handlers call [`check_registration`], [`check_bind`], [`check_unbind`],
//! [`check_report`] and [`check_watch`]; the domain types' own `validate` calls the same rules, so no path around
//! them exists. [`printable`] is the renderers' second line of defence.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use crate::modules::{MAX_UPLINKS, Registration, UplinkRecord};
use crate::port_binding::{BindRequest, FIRST_VETH_LTL};

/// Longest stable id (host id, iface-id, owner uuid).
pub const ID_MAX: usize = 256;
/// Longest host name (a DNS name's limit).
pub const HOST_NAME_MAX: usize = 253;
/// Longest interface name (adapter, container interface, uplink NIC); Linux allows 15.
pub const IFNAME_MAX: usize = 64;
/// Longest owner (container or VM) name.
pub const OWNER_NAME_MAX: usize = 256;
/// Longest software version.
pub const VERSION_MAX: usize = 64;
/// Longest hardware description.
pub const HARDWARE_MAX: usize = 128;
/// Longest reason, mode, MAC entry kind or port name in a report.
pub const SHORT_TEXT_MAX: usize = 64;
/// Most addresses a host may list.
pub const ADDRESSES_MAX: usize = 64;
/// Most vEthernets one module may hold (its LTLs are 49 … 49 + this − 1); the agent today
/// attaches at most 248.
pub const PORTS_PER_MODULE_MAX: u32 = 1024;
/// The highest vEthernet LTL.
pub const LAST_VETH_LTL: u32 = FIRST_VETH_LTL + PORTS_PER_MODULE_MAX - 1;
/// Most MAC table entries in one report (the agent's table holds 16 Ki learned entries plus the
/// static and installed ones).
pub const MACS_PER_REPORT_MAX: usize = 65_536;
/// Most drop reasons per port in a report.
pub const DROP_REASONS_MAX: usize = 64;
/// Longest allowed-VLAN list text of an uplink (`1-5,7,…`).
pub const VLAN_LIST_MAX: usize = 1024;
/// Most access-list entries one report may count (every entry of every list a module uses).
pub const ACL_HITS_MAX: usize = 65_536;
/// Longest access-list or exporter name (NX-OS: 64).
pub const POLICY_NAME_MAX: usize = 64;
/// Most secure MACs one port may list (port-security maximum is 1025).
pub const SECURE_MACS_MAX: usize = 1025;
/// Most DHCP snooping bindings in one report.
pub const DHCP_BINDINGS_MAX: usize = 65_536;
/// Most flow exporters one module may report.
pub const EXPORTERS_MAX: usize = 64;
/// Longest exporter destination (`[v6 address]:port`).
const DESTINATION_MAX: usize = 64;
/// The highest VLAN id.
const VLAN_MAX: u32 = 4094;

/// A field an agent sent that is refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct InputError {
    /// The field, with its position for lists: `uplinks[2].name`, `ports[0].reason`.
    pub field: String,
    pub reason: String,
}

fn refuse(field: impl Into<String>, reason: impl Into<String>) -> InputError {
    InputError { field: field.into(), reason: reason.into() }
}

/// Whether `c` must never reach a terminal: control characters (C0, DEL, C1 — ESC starts every
/// escape sequence), and the format characters that reorder or hide text (bidirectional
/// overrides and isolates, zero-width characters, line and paragraph separators, BOM).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// `text` with every unsafe character (see [`is_unsafe`]) shown as `?`: what renderers print
/// of anything an agent sent, even though it was checked on the way in (records written by an
/// older supervisor, or another one sharing the store, were not).
pub fn printable(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_unsafe) {
        Cow::Owned(text.chars().map(|c| if is_unsafe(c) { '?' } else { c }).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// How many characters of an agent's value a message or a log line quotes.
const QUOTED_MAX: usize = 64;

/// A refused value as an error message quotes it: at most [`QUOTED_MAX`] characters, quoted and
/// escaped (a refusal must not hand megabytes back, nor reach a log unbounded).
fn shown(value: &str) -> String {
    match value.char_indices().nth(QUOTED_MAX) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}

/// An agent's value as a log line names it before (or whether or not) it was checked: at most
/// 64 characters, unsafe ones as `?`.
pub fn bounded(value: &str) -> String {
    match value.char_indices().nth(QUOTED_MAX) {
        Some((cut, _)) => format!("{}…", printable(&value[..cut])),
        None => printable(value).into_owned(),
    }
}

/// One word: 1–`max` bytes of printable ASCII, no spaces (ids, names, interface names).
pub fn word(field: &str, value: &str, max: usize) -> Result<(), InputError> {
    if value.is_empty() {
        return Err(refuse(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(refuse(field, format!("is {} bytes long; at most {max}", value.len())));
    }
    if let Some(bad) = value.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(refuse(field, format!("contains {bad:?}; only printable ASCII without spaces")));
    }
    Ok(())
}

/// Like [`word`], or empty.
pub fn optional_word(field: &str, value: &str, max: usize) -> Result<(), InputError> {
    if value.is_empty() { Ok(()) } else { word(field, value, max) }
}

/// Free text (may be empty): at most `max` bytes, spaces allowed inside, no unsafe characters,
/// no leading or trailing whitespace.
pub fn text(field: &str, value: &str, max: usize) -> Result<(), InputError> {
    if value.len() > max {
        return Err(refuse(field, format!("is {} bytes long; at most {max}", value.len())));
    }
    if let Some(bad) = value.chars().find(|&c| is_unsafe(c)) {
        return Err(refuse(field, format!("contains the control or format character {bad:?}")));
    }
    if value.trim() != value {
        return Err(refuse(field, "has leading or trailing whitespace"));
    }
    Ok(())
}

/// `aa:bb:cc:dd:ee:ff` (either case) as bytes.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        let part = parts.next()?;
        if part.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Bytes as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: [u8; 6]) -> String {
    mac.map(|b| format!("{b:02x}")).join(":")
}

/// A port's own address: a unicast MAC (not broadcast, not multicast, not all zero).
pub fn unicast_mac(field: &str, value: &str) -> Result<[u8; 6], InputError> {
    let mac = parse_mac(value)
        .ok_or_else(|| refuse(field, format!("{} does not read aa:bb:cc:dd:ee:ff", shown(value))))?;
    if mac == [0; 6] {
        return Err(refuse(field, "00:00:00:00:00:00 is no port's address"));
    }
    if mac[0] & 1 == 1 {
        let kind = if mac == [0xff; 6] { "broadcast" } else { "multicast" };
        return Err(refuse(
            field,
            format!("{} is a {kind} address; a port's MAC is unicast", format_mac(mac)),
        ));
    }
    Ok(mac)
}

/// A VTEP: empty (none) or a unicast IPv4 address.
pub fn vtep(field: &str, value: &str) -> Result<Option<Ipv4Addr>, InputError> {
    if value.is_empty() {
        return Ok(None);
    }
    let address: Ipv4Addr = value
        .parse()
        .map_err(|_| refuse(field, format!("{} is not an IPv4 address (a.b.c.d)", shown(value))))?;
    if address.is_unspecified() || address.is_broadcast() || address.is_multicast() {
        return Err(refuse(field, format!("{address} is not a unicast address")));
    }
    Ok(Some(address))
}

fn port_profile(field: &str, value: &str) -> Result<(), InputError> {
    if config::grammar::is_name(value, config::language::PROFILE_NAME_MAX) {
        Ok(())
    } else {
        Err(refuse(
            field,
            format!("{} is not a port-profile name (one word, at most 80 characters)", shown(value)),
        ))
    }
}

fn mode(field: &str, value: &str) -> Result<(), InputError> {
    match value {
        "" | "access" | "trunk" => Ok(()),
        _ => Err(refuse(field, format!("{} is not access or trunk", shown(value)))),
    }
}

fn at_most(field: &str, count: usize, max: usize, what: &str) -> Result<(), InputError> {
    if count > max {
        return Err(refuse(field, format!("{count} {what}; at most {max}")));
    }
    Ok(())
}

/// A registration: host id and name are words (the id is a store key: no `/`), version and
/// hardware short text, every address an IP address, the VTEP a unicast IPv4 address, the
/// uplinks as [`check_uplinks`] says.
pub fn check_registration(request: &Registration) -> Result<(), InputError> {
    word("host_id", &request.host_id, ID_MAX)?;
    if request.host_id.contains('/') {
        return Err(refuse("host_id", "must not contain '/'"));
    }
    word("host_name", &request.host_name, HOST_NAME_MAX)?;
    text("version", &request.version, VERSION_MAX)?;
    text("hardware", &request.hardware, HARDWARE_MAX)?;
    at_most("addresses", request.addresses.len(), ADDRESSES_MAX, "addresses")?;
    for (i, address) in request.addresses.iter().enumerate() {
        address.parse::<IpAddr>().map_err(|_| {
            refuse(format!("addresses[{i}]"), format!("{} is not an IP address", shown(address)))
        })?;
    }
    vtep("vtep", &request.vtep)?;
    check_uplinks(&request.uplinks)
}

/// Uplinks: at most 32, indexes 1–32, each index and NIC once, NIC names that are words,
/// profile names that the config language accepts.
pub fn check_uplinks(uplinks: &[UplinkRecord]) -> Result<(), InputError> {
    at_most("uplinks", uplinks.len(), MAX_UPLINKS as usize, "uplinks")?;
    let (mut indexes, mut names) = (BTreeSet::new(), BTreeSet::new());
    for (i, uplink) in uplinks.iter().enumerate() {
        let field = |name: &str| format!("uplinks[{i}].{name}");
        uplink_index(&field("index"), uplink.index, &mut indexes)?;
        word(&field("name"), &uplink.name, IFNAME_MAX)?;
        if !names.insert(uplink.name.as_str()) {
            return Err(refuse(field("name"), format!("interface {} is given twice", uplink.name)));
        }
        port_profile(&field("profile"), &uplink.profile)?;
    }
    Ok(())
}

fn uplink_index(field: &str, index: u32, seen: &mut BTreeSet<u32>) -> Result<(), InputError> {
    if !(1..=MAX_UPLINKS).contains(&index) {
        return Err(refuse(field, format!("uplink index {index} is out of range 1-{MAX_UPLINKS}")));
    }
    if !seen.insert(index) {
        return Err(refuse(field, format!("uplink index {index} is given twice")));
    }
    Ok(())
}

/// An iface-id: a word that can be a store key (no `/`).
pub fn iface_id(field: &str, value: &str) -> Result<(), InputError> {
    word(field, value, ID_MAX)?;
    if value.contains('/') {
        return Err(refuse(field, "must not contain '/'"));
    }
    Ok(())
}

/// A bind: the iface-id a key, the profile a profile name, adapter and container interface
/// names words, the owner's uuid a word and its name text, the MAC unicast, the LTL one of a
/// vEthernet (49 … [`LAST_VETH_LTL`]).
pub fn check_bind(request: &BindRequest) -> Result<(), InputError> {
    iface_id("iface_id", &request.iface_id)?;
    port_profile("profile", &request.profile)?;
    word("adapter", &request.adapter, IFNAME_MAX)?;
    optional_word("container_ifname", &request.container_ifname, IFNAME_MAX)?;
    optional_word("owner_uuid", &request.owner_uuid, ID_MAX)?;
    text("owner_name", &request.owner_name, OWNER_NAME_MAX)?;
    unicast_mac("mac", &request.mac)?;
    if !(FIRST_VETH_LTL..=LAST_VETH_LTL).contains(&request.ltl) {
        return Err(refuse(
            "ltl",
            format!(
                "{} is not a vEthernet LTL ({FIRST_VETH_LTL}-{LAST_VETH_LTL}: at most \
                 {PORTS_PER_MODULE_MAX} ports per module)",
                request.ltl
            ),
        ));
    }
    Ok(())
}

/// An unbind names an iface-id.
pub fn check_unbind(iface: &str) -> Result<(), InputError> {
    iface_id("iface_id", iface)
}

/// Most policies an agent may say it holds when it opens its Watch stream.
pub const KNOWN_POLICIES_MAX: usize = 65_536;

/// A Watch request: what the agent says it holds is at most [`KNOWN_POLICIES_MAX`] port-profile
/// names (the sync answers names it should drop with removes, so they must be names).
pub fn check_watch(request: &proto::WatchRequest) -> Result<(), InputError> {
    at_most("known", request.known.len(), KNOWN_POLICIES_MAX, "policies")?;
    for name in request.known.keys() {
        port_profile("known", name)?;
    }
    Ok(())
}

/// A report: at most [`PORTS_PER_MODULE_MAX`] ports, [`MACS_PER_REPORT_MAX`] MAC entries and 32
/// uplinks; every text field short and clean, every MAC, VLAN and VTEP well formed.
pub fn check_report(report: &proto::PortReport) -> Result<(), InputError> {
    at_most("ports", report.ports.len(), PORTS_PER_MODULE_MAX as usize, "ports")?;
    for (i, port) in report.ports.iter().enumerate() {
        let field = |name: &str| format!("ports[{i}].{name}");
        iface_id(&field("iface_id"), &port.iface_id)?;
        text(&field("reason"), &port.reason, SHORT_TEXT_MAX)?;
        mode(&field("mode"), &port.mode)?;
        vlan(&field("vlan"), port.vlan)?;
        counters(&field("counters"), port.counters.as_ref())?;
    }
    at_most("macs", report.macs.len(), MACS_PER_REPORT_MAX, "entries")?;
    for (i, entry) in report.macs.iter().enumerate() {
        let field = |name: &str| format!("macs[{i}].{name}");
        parse_mac(&entry.mac).ok_or_else(|| {
            refuse(field("mac"), format!("{} does not read aa:bb:cc:dd:ee:ff", shown(&entry.mac)))
        })?;
        vlan(&field("vlan"), entry.vlan)?;
        word(&field("kind"), &entry.kind, SHORT_TEXT_MAX)?;
        text(&field("port"), &entry.port, SHORT_TEXT_MAX)?;
        if !entry.bridge_domain.is_empty()
            && !config::grammar::is_name(&entry.bridge_domain, config::language::BRIDGE_DOMAIN_NAME_MAX)
        {
            return Err(refuse(field("bridge_domain"), "is not a bridge-domain name (one word, at most 32)"));
        }
        vtep(&field("vtep"), &entry.vtep)?;
    }
    at_most("uplinks", report.uplinks.len(), MAX_UPLINKS as usize, "uplinks")?;
    let mut indexes = BTreeSet::new();
    for (i, uplink) in report.uplinks.iter().enumerate() {
        let field = |name: &str| format!("uplinks[{i}].{name}");
        uplink_index(&field("index"), uplink.index, &mut indexes)?;
        word(&field("name"), &uplink.name, IFNAME_MAX)?;
        if !uplink.profile.is_empty() {
            port_profile(&field("profile"), &uplink.profile)?;
        }
        text(&field("reason"), &uplink.reason, SHORT_TEXT_MAX)?;
        mode(&field("mode"), &uplink.mode)?;
        vlan(&field("native_vlan"), uplink.native_vlan)?;
        if uplink.allowed_vlans.len() > VLAN_LIST_MAX
            || !uplink.allowed_vlans.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '-')
        {
            return Err(refuse(field("allowed_vlans"), "is not a VLAN list like 100-109,200"));
        }
        at_most(
            &field("pinned_veths"),
            uplink.pinned_veths.len(),
            PORTS_PER_MODULE_MAX as usize,
            "vEthernets",
        )?;
        counters(&field("counters"), uplink.counters.as_ref())?;
    }
    report.policy.as_ref().map_or(Ok(()), check_policy)
}

/// A module's policy state: bounded lists, names that are names, addresses that parse, no
/// text that could reach a terminal unescaped.
fn check_policy(policy: &proto::PolicyReport) -> Result<(), InputError> {
    at_most("policy.acl_hits", policy.acl_hits.len(), ACL_HITS_MAX, "entries")?;
    let mut entries = BTreeSet::new();
    for (i, hits) in policy.acl_hits.iter().enumerate() {
        policy_name(&format!("policy.acl_hits[{i}].list"), &hits.list)?;
        once(&format!("policy.acl_hits[{i}]"), &mut entries, (&hits.list, hits.ipv6, hits.sequence))?;
    }
    at_most("policy.secure_ports", policy.secure_ports.len(), PORTS_PER_MODULE_MAX as usize, "ports")?;
    let mut veths = BTreeSet::new();
    for (i, port) in policy.secure_ports.iter().enumerate() {
        let field = |name: &str| format!("policy.secure_ports[{i}].{name}");
        once(&field("veth"), &mut veths, port.veth)?;
        at_most(&field("macs"), port.macs.len(), SECURE_MACS_MAX, "MACs")?;
        let mut macs = BTreeSet::new();
        for mac in &port.macs {
            once(&field("macs"), &mut macs, unicast_mac(&field("macs"), mac)?)?;
        }
        match port.action.as_str() {
            "protect" | "restrict" | "shutdown" => {}
            other => {
                return Err(refuse(
                    field("action"),
                    format!("{} is not protect, restrict or shutdown", shown(other)),
                ));
            }
        }
    }
    at_most("policy.dhcp_bindings", policy.dhcp_bindings.len(), DHCP_BINDINGS_MAX, "bindings")?;
    for (i, binding) in policy.dhcp_bindings.iter().enumerate() {
        let field = |name: &str| format!("policy.dhcp_bindings[{i}].{name}");
        unicast_mac(&field("mac"), &binding.mac)?;
        binding
            .ip
            .parse::<Ipv4Addr>()
            .map_err(|_| refuse(field("ip"), format!("{} is not an IPv4 address", shown(&binding.ip))))?;
        vlan(&field("vlan"), binding.vlan)?;
    }
    at_most("policy.exporters", policy.exporters.len(), EXPORTERS_MAX, "exporters")?;
    let mut names = BTreeSet::new();
    for (i, exporter) in policy.exporters.iter().enumerate() {
        let field = |name: &str| format!("policy.exporters[{i}].{name}");
        policy_name(&field("name"), &exporter.name)?;
        once(&field("name"), &mut names, exporter.name.as_str())?;
        exporter.destination.parse::<std::net::SocketAddr>().map_err(|_| {
            refuse(field("destination"), format!("{} is not an address:port", shown(&exporter.destination)))
        })?;
        at_most(&field("destination"), exporter.destination.len(), DESTINATION_MAX, "characters")?;
        match exporter.version.as_str() {
            "ipfix" | "9" => {}
            other => return Err(refuse(field("version"), format!("{} is not ipfix or 9", shown(other)))),
        }
        text(&field("last_error"), &exporter.last_error, HARDWARE_MAX)?;
    }
    Ok(())
}

/// `key` must not have been seen in this list yet: a report names each thing once, so that no
/// view shows it twice or sums it twice.
fn once<K: Ord>(field: &str, seen: &mut BTreeSet<K>, key: K) -> Result<(), InputError> {
    if seen.insert(key) { Ok(()) } else { Err(refuse(field, "appears twice")) }
}

fn policy_name(field: &str, value: &str) -> Result<(), InputError> {
    if config::grammar::is_name(value, POLICY_NAME_MAX) {
        Ok(())
    } else {
        Err(refuse(
            field,
            format!("{} is not a name (one word, at most {POLICY_NAME_MAX} characters)", shown(value)),
        ))
    }
}

fn vlan(field: &str, value: u32) -> Result<(), InputError> {
    if value > VLAN_MAX {
        return Err(refuse(field, format!("{value} is not a VLAN id (0 for none, 1-{VLAN_MAX})")));
    }
    Ok(())
}

fn counters(field: &str, counters: Option<&proto::PortCounters>) -> Result<(), InputError> {
    let Some(counters) = counters else { return Ok(()) };
    let field = format!("{field}.drops_by_reason");
    at_most(&field, counters.drops_by_reason.len(), DROP_REASONS_MAX, "reasons")?;
    for reason in counters.drops_by_reason.keys() {
        word(&field, reason, SHORT_TEXT_MAX)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn registration() -> Registration {
        Registration {
            host_name: "bilbo".into(),
            host_id: "id-bilbo".into(),
            version: "0.1.0".into(),
            addresses: vec!["10.0.0.1".into(), "fd00::1".into()],
            hardware: "Linux 6.1 x86_64".into(),
            vtep: "10.78.0.11".into(),
            uplinks: vec![UplinkRecord { index: 1, name: "eth1".into(), profile: "uplink".into() }],
        }
    }

    fn bind() -> BindRequest {
        BindRequest {
            module: 3,
            host_id: "id-bilbo".into(),
            iface_id: "9f1c".into(),
            profile: "web".into(),
            adapter: "veth1_web".into(),
            container_ifname: "eth0".into(),
            mac: "02:ab:cd:00:01:01".into(),
            owner_uuid: "u-1".into(),
            owner_name: "web 1".into(),
            ltl: 49,
        }
    }

    fn field_of(result: Result<(), InputError>) -> String {
        result.map(|()| String::new()).unwrap_or_else(|error| error.field)
    }

    #[test]
    fn registrations() {
        assert_eq!(check_registration(&registration()), Ok(()));
        let cases: [(Registration, &str); 12] = [
            (Registration { host_id: String::new(), ..registration() }, "host_id"),
            (Registration { host_id: "a/b".into(), ..registration() }, "host_id"),
            (Registration { host_name: "two words".into(), ..registration() }, "host_name"),
            (Registration { host_name: "x".repeat(254), ..registration() }, "host_name"),
            (Registration { version: "0.1.0\n4    0      forged".into(), ..registration() }, "version"),
            (Registration { hardware: "\u{1b}[2J\u{1b}[31mred".into(), ..registration() }, "hardware"),
            (Registration { hardware: "abc\u{202e}fed".into(), ..registration() }, "hardware"),
            (Registration { addresses: vec!["not-an-ip".into()], ..registration() }, "addresses[0]"),
            (Registration { addresses: vec!["10.0.0.1".into(); 65], ..registration() }, "addresses"),
            (Registration { vtep: "224.0.0.1".into(), ..registration() }, "vtep"),
            (
                Registration {
                    uplinks: vec![
                        UplinkRecord { index: 1, name: "eth1".into(), profile: "u".into() },
                        UplinkRecord { index: 2, name: "eth1".into(), profile: "u".into() },
                    ],
                    ..registration()
                },
                "uplinks[1].name",
            ),
            (
                Registration {
                    uplinks: vec![UplinkRecord { index: 33, name: "eth1".into(), profile: "u".into() }],
                    ..registration()
                },
                "uplinks[0].index",
            ),
        ];
        for (request, field) in cases {
            assert_eq!(field_of(check_registration(&request)), field, "{request:?}");
        }
        let error =
            check_registration(&Registration { version: "1\n2".into(), ..registration() }).unwrap_err();
        assert_eq!(error.to_string(), "invalid version: contains the control or format character '\\n'");
    }

    #[test]
    fn binds() {
        assert_eq!(check_bind(&bind()), Ok(()));
        let cases: [(BindRequest, &str); 11] = [
            (BindRequest { iface_id: "a/b".into(), ..bind() }, "iface_id"),
            (BindRequest { profile: "two words".into(), ..bind() }, "profile"),
            (BindRequest { adapter: "veth\u{1b}[0m".into(), ..bind() }, "adapter"),
            (BindRequest { owner_name: "web\r\nVeth9".into(), ..bind() }, "owner_name"),
            (BindRequest { mac: "ff:ff:ff:ff:ff:ff".into(), ..bind() }, "mac"),
            (BindRequest { mac: "01:00:5e:00:00:01".into(), ..bind() }, "mac"),
            (BindRequest { mac: "00:00:00:00:00:00".into(), ..bind() }, "mac"),
            (BindRequest { mac: "02:ab:cd:00:01".into(), ..bind() }, "mac"),
            (BindRequest { ltl: 17, ..bind() }, "ltl"),
            (BindRequest { ltl: u32::MAX, ..bind() }, "ltl"),
            (BindRequest { ltl: LAST_VETH_LTL + 1, ..bind() }, "ltl"),
        ];
        for (request, field) in cases {
            assert_eq!(field_of(check_bind(&request)), field, "{request:?}");
        }
        assert_eq!(check_bind(&BindRequest { ltl: LAST_VETH_LTL, ..bind() }), Ok(()));
        assert_eq!(
            check_bind(&BindRequest { mac: "FF:FF:FF:FF:FF:FF".into(), ..bind() }).unwrap_err().to_string(),
            "invalid mac: ff:ff:ff:ff:ff:ff is a broadcast address; a port's MAC is unicast"
        );
        assert_eq!(
            check_bind(&BindRequest { ltl: u32::MAX, ..bind() }).unwrap_err().to_string(),
            "invalid ltl: 4294967295 is not a vEthernet LTL (49-1072: at most 1024 ports per module)"
        );
    }

    #[test]
    fn policy_reports() {
        let policy = proto::PolicyReport {
            acl_hits: vec![proto::AclEntryHits {
                list: "WEB-IN".into(),
                ipv6: false,
                sequence: 10,
                matches: 42,
            }],
            secure_ports: vec![proto::SecurePort {
                veth: 3,
                maximum: 1,
                macs: vec!["02:00:00:00:00:05".into()],
                violations: 1,
                action: "shutdown".into(),
                err_disabled: true,
            }],
            dhcp_bindings: vec![proto::DhcpBinding {
                mac: "02:00:00:00:00:05".into(),
                ip: "10.100.0.20".into(),
                lease_seconds: 3600,
                vlan: 100,
                veth: 3,
            }],
            exporters: vec![proto::ExporterStatus {
                name: "COLLECTOR".into(),
                destination: "10.100.0.250:4739".into(),
                version: "ipfix".into(),
                ..Default::default()
            }],
            conntrack: None,
        };
        let report =
            |policy: proto::PolicyReport| proto::PortReport { policy: Some(policy), ..Default::default() };
        assert_eq!(check_report(&report(policy.clone())), Ok(()));
        let bad = |policy: proto::PolicyReport| field_of(check_report(&report(policy)));
        let mut evil = policy.clone();
        evil.acl_hits[0].list = "WEB\u{1b}[2J".into();
        assert_eq!(bad(evil), "policy.acl_hits[0].list");
        let mut evil = policy.clone();
        evil.secure_ports[0].macs = vec!["ff:ff:ff:ff:ff:ff".into()];
        assert_eq!(bad(evil), "policy.secure_ports[0].macs");
        let mut evil = policy.clone();
        evil.secure_ports[0].action = "explode".into();
        assert_eq!(bad(evil), "policy.secure_ports[0].action");
        let mut evil = policy.clone();
        evil.dhcp_bindings[0].ip = "10.0.0.999".into();
        assert_eq!(bad(evil), "policy.dhcp_bindings[0].ip");
        let mut evil = policy.clone();
        evil.exporters[0].destination = "collector".into();
        assert_eq!(bad(evil), "policy.exporters[0].destination");
        let mut evil = policy;
        evil.acl_hits =
            vec![proto::AclEntryHits { list: "L".into(), ..Default::default() }; ACL_HITS_MAX + 1];
        assert_eq!(bad(evil), "policy.acl_hits");
    }

    #[test]
    fn reports() {
        let port = proto::PortStatus {
            iface_id: "a".into(),
            up: false,
            reason: "port-profile not found".into(),
            mode: "access".into(),
            vlan: 100,
            ..Default::default()
        };
        let entry = proto::MacEntry {
            vlan: 100,
            mac: "02:00:00:00:00:01".into(),
            kind: "static".into(),
            port: "LTL 17".into(),
            ..Default::default()
        };
        let good =
            proto::PortReport { ports: vec![port.clone()], macs: vec![entry.clone()], ..Default::default() };
        assert_eq!(check_report(&good), Ok(()));
        let bad = |report: proto::PortReport| field_of(check_report(&report));
        let with_port = |port: proto::PortStatus| proto::PortReport { ports: vec![port], ..good.clone() };
        let with_mac = |entry: proto::MacEntry| proto::PortReport { macs: vec![entry], ..good.clone() };
        assert_eq!(
            bad(with_port(proto::PortStatus { reason: "a\u{1b}[1m".into(), ..port.clone() })),
            "ports[0].reason"
        );
        assert_eq!(bad(with_port(proto::PortStatus { vlan: 5000, ..port.clone() })), "ports[0].vlan");
        assert_eq!(
            bad(with_port(proto::PortStatus { mode: "evil".into(), ..port.clone() })),
            "ports[0].mode"
        );
        let counters = proto::PortCounters {
            drops_by_reason: (0..65).map(|i| (format!("r{i}"), 1)).collect(),
            ..Default::default()
        };
        assert_eq!(
            bad(with_port(proto::PortStatus { counters: Some(counters), ..port.clone() })),
            "ports[0].counters.drops_by_reason"
        );
        assert_eq!(bad(with_mac(proto::MacEntry { mac: "zz".into(), ..entry.clone() })), "macs[0].mac");
        assert_eq!(bad(with_mac(proto::MacEntry { port: "\u{7}".into(), ..entry.clone() })), "macs[0].port");
        assert_eq!(bad(with_mac(proto::MacEntry { vtep: "x".into(), ..entry.clone() })), "macs[0].vtep");
        let many = proto::PortReport { ports: vec![port; PORTS_PER_MODULE_MAX as usize + 1], ..good.clone() };
        assert_eq!(bad(many), "ports");
        let uplink = proto::UplinkStatus { index: 1, name: "eth1".into(), ..Default::default() };
        let twice = proto::PortReport { uplinks: vec![uplink.clone(), uplink.clone()], ..good.clone() };
        assert_eq!(bad(twice), "uplinks[1].index");
        let vlans = proto::UplinkStatus { allowed_vlans: "1-5;rm -rf".into(), ..uplink };
        assert_eq!(bad(proto::PortReport { uplinks: vec![vlans], ..good }), "uplinks[0].allowed_vlans");
    }

    #[test]
    fn watches() {
        let known = |names: &[&str]| proto::WatchRequest {
            known: names.iter().map(|name| ((*name).to_owned(), 1)).collect(),
            ..Default::default()
        };
        assert_eq!(check_watch(&known(&["web", "db"])), Ok(()));
        assert_eq!(field_of(check_watch(&known(&["two words"]))), "known");
        let many: Vec<String> = (0..=KNOWN_POLICIES_MAX).map(|i| format!("p{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(field_of(check_watch(&known(&many))), "known");
    }

    #[test]
    fn printable_replaces_what_a_terminal_would_obey() {
        assert_eq!(printable("Linux 6.1"), "Linux 6.1");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        assert_eq!(printable("a\u{1b}[2Jb\nc\u{202e}d\u{85}"), "a?[2Jb?c?d?");
    }

    proptest! {
        /// Whatever an agent sends, a field is either refused or clean: bounded, and without a
        /// character a terminal would obey.
        #[test]
        fn any_string_is_refused_or_clean(value in any::<String>()) {
            if text("hardware", &value, HARDWARE_MAX).is_ok() {
                prop_assert!(value.len() <= HARDWARE_MAX);
                prop_assert!(!value.chars().any(is_unsafe));
            }
            if word("host_name", &value, HOST_NAME_MAX).is_ok() {
                prop_assert!(!value.is_empty() && value.len() <= HOST_NAME_MAX);
                prop_assert!(value.chars().all(|c| c.is_ascii_graphic()));
            }
            if let Ok(mac) = unicast_mac("mac", &value) {
                prop_assert!(mac[0] & 1 == 0 && mac != [0; 6]);
            }
            prop_assert!(!printable(&value).chars().any(is_unsafe));
        }

        /// Terminal escapes inside otherwise fine text are always refused.
        #[test]
        fn escapes_are_refused(before in "[a-z ]{0,20}", after in "[a-z ]{0,20}", c in prop::sample::select(vec!['\u{1b}', '\n', '\r', '\u{7}', '\u{9b}', '\u{202e}', '\u{2066}'])) {
            let value = format!("x{before}{c}{after}x");
            prop_assert!(text("version", &value, VERSION_MAX).is_err());
            prop_assert!(word("iface_id", &value, ID_MAX).is_err());
        }

        /// Every MAC a port may have is accepted in either case, and only those.
        #[test]
        fn macs(bytes in any::<[u8; 6]>(), upper in any::<bool>()) {
            let text = format_mac(bytes);
            let text = if upper { text.to_ascii_uppercase() } else { text };
            let unicast = bytes[0] & 1 == 0 && bytes != [0; 6];
            prop_assert_eq!(unicast_mac("mac", &text).ok(), unicast.then_some(bytes));
        }
    }
}
