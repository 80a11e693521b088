//! The canonical text form: what `show running-config` prints, and what [`crate::apply()`] reads
//! back into the same model.
//!
//! NX-OS order: accounts first (one `username` line each, passwords hashed), then VLANs (one
//! `vlan` line listing them all, then a block for each named one), then bridge-domains by name,
//! `ip dhcp snooping`, ip then ipv6 access lists by name, flow exporters, flow monitors, then
//! port-profiles by name, sub-mode lines indented two spaces. Only configured attributes print,
//! so an unset attribute stays unset (and keeps inheriting) after a round trip.

use std::fmt::Write as _;

use crate::acl::{AccessList, Family};
use crate::flow::{FlowExporter, FlowMonitor};
use crate::ip_pool::IpPool;
use crate::model::{
    AccessGroupNames, BridgeDomain, Config, Direction, EffectivePolicy, FlowMonitorNames, Password,
    PortBinding, PortProfile, StormControl, StormKind, SwitchportMode, User,
};
use crate::validate::kind_name;
use crate::vlan_set::VlanSet;

/// The indentation of sub-mode lines.
const INDENT: &str = "  ";

/// The whole configuration as NX-OS text (empty for an empty configuration).
pub fn print_running_config(config: &Config) -> String {
    let mut sections = Vec::new();
    if !config.users.is_empty() {
        sections.push(config.users.iter().map(|(name, user)| username_line(name, user) + "\n").collect());
    }
    if !config.vlans.is_empty() {
        let ids: VlanSet = config.vlans.keys().copied().collect();
        let mut text = format!("vlan {ids}\n");
        for (id, vlan) in &config.vlans {
            if let Some(name) = &vlan.name {
                let _ = writeln!(text, "vlan {id}\n{INDENT}name {name}");
            }
        }
        sections.push(text);
    }
    for (name, domain) in &config.bridge_domains {
        sections.push(bridge_domain_block(name, domain));
    }
    if config.dhcp_snooping {
        sections.push(format!("{DHCP_SNOOPING}\n"));
    }
    for family in [Family::Ipv4, Family::Ipv6] {
        for (name, list) in config.access_lists(family) {
            sections.push(access_list_block(family, name, list));
        }
    }
    for (name, exporter) in &config.flow_exporters {
        sections.push(block(&format!("flow exporter {name}"), exporter_lines(exporter)));
    }
    for (name, monitor) in &config.flow_monitors {
        sections.push(block(&format!("flow monitor {name}"), monitor_lines(monitor)));
    }
    for (name, pool) in &config.ip_pools {
        sections.push(block(&format!("ip pool {name}"), pool_lines(pool)));
    }
    for (name, profile) in &config.port_profiles {
        sections.push(profile_block(name, profile));
    }
    sections.join("\n")
}

/// One port-profile as `show running-config port-profile NAME` prints it; `None` if it does not
/// exist.
pub fn print_profile(config: &Config, name: &str) -> Option<String> {
    config.port_profiles.get(name).map(|profile| profile_block(name, profile))
}

/// `username NAME password 5 HASH role ROLE`. A clear password (which the supervisor never keeps)
/// prints as `password 0 SECRET`, the form that reads back whatever the password is.
pub fn username_line(name: &str, user: &User) -> String {
    let password = match &user.password {
        Password::Clear(clear) => format!("0 {clear}"),
        Password::Hashed(hash) => format!("5 {hash}"),
    };
    format!("username {name} password {password} role {}", user.role)
}

/// `bridge-domain NAME` and its `segment id` line.
fn bridge_domain_block(name: &str, domain: &BridgeDomain) -> String {
    let mut text = format!("bridge-domain {name}\n");
    if let Some(id) = domain.segment_id {
        let _ = writeln!(text, "{INDENT}segment id {id}");
    }
    text
}

/// The global DHCP snooping line.
const DHCP_SNOOPING: &str = "ip dhcp snooping";

/// A header and its indented lines.
fn block(header: &str, lines: Vec<String>) -> String {
    let mut text = format!("{header}\n");
    for line in lines {
        let _ = writeln!(text, "{INDENT}{line}");
    }
    text
}

/// `ip access-list NAME` with `statistics per-entry` and its entries in sequence order.
pub fn access_list_block(family: Family, name: &str, list: &AccessList) -> String {
    let mut lines = Vec::new();
    if list.statistics_per_entry {
        lines.push("statistics per-entry".to_string());
    }
    for (sequence, ace) in &list.entries {
        lines.push(format!("{sequence} {}", ace.display(family)));
    }
    block(&format!("{} access-list {name}", family.keyword()), lines)
}

fn exporter_lines(e: &FlowExporter) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(d) = &e.description {
        lines.push(format!("description {d}"));
    }
    if let Some(a) = e.destination {
        lines.push(format!("destination {a}"));
    }
    if let Some(p) = e.transport_udp {
        lines.push(format!("transport udp {p}"));
    }
    if let Some(v) = e.version {
        lines.push(format!("version {}", v.keyword()));
    }
    if let Some(d) = e.dscp {
        lines.push(format!("dscp {d}"));
    }
    lines
}

/// The lines under `ip pool NAME`, unindented: `network`, `default-router`, the `range`s and
/// `exclude`s in address order (the lines of `show ip pool NAME` too).
pub fn pool_lines(pool: &IpPool) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(network) = pool.network {
        lines.push(format!("network {network}"));
    }
    if let Some(router) = pool.default_router {
        lines.push(format!("default-router {router}"));
    }
    for range in &pool.ranges {
        lines.push(format!("range {} {}", range.first, range.last));
    }
    for exclude in &pool.excludes {
        if exclude.first == exclude.last {
            lines.push(format!("exclude {}", exclude.first));
        } else {
            lines.push(format!("exclude {} {}", exclude.first, exclude.last));
        }
    }
    lines
}

fn monitor_lines(m: &FlowMonitor) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(d) = &m.description {
        lines.push(format!("description {d}"));
    }
    if let Some(r) = m.record {
        lines.push(format!("record {}", r.name()));
    }
    lines.extend(m.exporters.iter().map(|e| format!("exporter {e}")));
    if let Some(t) = m.timeout_active {
        lines.push(format!("timeout active {t}"));
    }
    if let Some(t) = m.timeout_inactive {
        lines.push(format!("timeout inactive {t}"));
    }
    if let Some(n) = m.cache_size {
        lines.push(format!("cache size {n}"));
    }
    lines
}

/// `ip port access-group NAME in`, … for the named lists.
fn access_group_lines(names: [(Family, Direction, Option<&str>); 4]) -> impl Iterator<Item = String> {
    names.into_iter().filter_map(|(family, direction, name)| {
        let name = name?;
        let direction = match direction {
            Direction::In => "in",
            Direction::Out => "out",
        };
        Some(match family {
            Family::Ipv4 => format!("ip port access-group {name} {direction}"),
            Family::Ipv6 => format!("ipv6 port traffic-filter {name} {direction}"),
        })
    })
}

fn named_access_groups(g: &AccessGroupNames) -> [(Family, Direction, Option<&str>); 4] {
    [
        (Family::Ipv4, Direction::In, g.ipv4_in.as_deref()),
        (Family::Ipv4, Direction::Out, g.ipv4_out.as_deref()),
        (Family::Ipv6, Direction::In, g.ipv6_in.as_deref()),
        (Family::Ipv6, Direction::Out, g.ipv6_out.as_deref()),
    ]
}

fn storm_control_lines(storm: &StormControl) -> impl Iterator<Item = String> + '_ {
    StormKind::ALL
        .into_iter()
        .filter_map(|kind| Some(format!("storm-control {} level pps {}", kind.keyword(), storm.get(kind)?)))
}

fn flow_monitor_lines(input: Option<&str>, output: Option<&str>) -> Vec<String> {
    [(input, "input"), (output, "output")]
        .into_iter()
        .filter_map(|(name, direction)| Some(format!("ip flow monitor {} {direction}", name?)))
        .collect()
}

const VERIFY_SOURCE: &str = "ip verify source dhcp-snooping-vlan";
const ARP_INSPECTION: &str = "ip arp inspection";
const DHCP_SNOOPING_TRUST: &str = "ip dhcp snooping trust";

/// A profile's configured policy lines, in canonical order.
fn profile_policy_lines(p: &PortProfile) -> Vec<String> {
    let mut lines: Vec<String> = access_group_lines(named_access_groups(&p.access_groups)).collect();
    let security = &p.port_security;
    if security.enabled {
        lines.push("switchport port-security".to_string());
    }
    if let Some(n) = security.maximum {
        lines.push(format!("switchport port-security maximum {n}"));
    }
    if let Some(v) = security.violation {
        lines.push(format!("switchport port-security violation {}", v.keyword()));
    }
    if security.sticky {
        lines.push("switchport port-security mac-address sticky".to_string());
    }
    flags_lines(&mut lines, p.verify_source, p.arp_inspection, p.dhcp_snooping_trust);
    lines.extend(storm_control_lines(&p.storm_control));
    let FlowMonitorNames { input, output } = &p.flow_monitors;
    lines.extend(flow_monitor_lines(input.as_deref(), output.as_deref()));
    if let Some(pool) = &p.ip_pool {
        lines.push(format!("ip pool {pool}"));
    }
    lines
}

fn flags_lines(lines: &mut Vec<String>, verify_source: bool, arp_inspection: bool, trust: bool) {
    for (on, line) in
        [(verify_source, VERIFY_SOURCE), (arp_inspection, ARP_INSPECTION), (trust, DHCP_SNOOPING_TRUST)]
    {
        if on {
            lines.push(line.to_string());
        }
    }
}

/// The policy part of an effective policy as configuration lines (the evaluated config
/// attributes of `show port-profile`): access groups, port security with its resolved
/// defaults, the on/off lines, storm control, flow monitors.
pub fn effective_policy_lines(policy: &EffectivePolicy) -> Vec<String> {
    let g = &policy.access_groups;
    let name = |acl: &Option<crate::acl::EffectiveAcl>| acl.as_ref().map(|a| a.name.clone());
    let names = AccessGroupNames {
        ipv4_in: name(&g.ipv4_in),
        ipv4_out: name(&g.ipv4_out),
        ipv6_in: name(&g.ipv6_in),
        ipv6_out: name(&g.ipv6_out),
    };
    let mut lines: Vec<String> = access_group_lines(named_access_groups(&names)).collect();
    if let Some(security) = &policy.port_security {
        lines.push("switchport port-security".to_string());
        lines.push(format!("switchport port-security maximum {}", security.maximum));
        lines.push(format!("switchport port-security violation {}", security.violation.keyword()));
        if security.sticky {
            lines.push("switchport port-security mac-address sticky".to_string());
        }
    }
    flags_lines(&mut lines, policy.verify_source, policy.arp_inspection, policy.dhcp_snooping_trust);
    lines.extend(storm_control_lines(&policy.storm_control));
    let monitor = |m: &Option<crate::flow::EffectiveFlowMonitor>| m.as_ref().map(|m| m.name.clone());
    let (input, output) = (monitor(&policy.flow_monitors.input), monitor(&policy.flow_monitors.output));
    lines.extend(flow_monitor_lines(input.as_deref(), output.as_deref()));
    lines
}

fn profile_block(name: &str, profile: &PortProfile) -> String {
    let mut text = format!("port-profile type {} {name}\n", kind_name(profile.kind));
    for line in profile_lines(profile) {
        let _ = writeln!(text, "{INDENT}{line}");
    }
    text
}

/// The profile's configured lines, unindented, in canonical order (the "config attributes" of
/// `show port-profile`).
pub fn profile_lines(p: &PortProfile) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(binding) = p.port_binding {
        lines.push(format!("port-binding {}", binding_name(binding)));
    }
    if let Some(parent) = &p.inherit {
        lines.push(format!("inherit port-profile {parent}"));
    }
    if let Some(description) = &p.description {
        lines.push(format!("description {description}"));
    }
    if let Some(mode) = p.mode {
        lines.push(format!("switchport mode {}", mode_name(mode)));
    }
    if let Some(id) = p.access_vlan {
        lines.push(format!("switchport access vlan {id}"));
    }
    if let Some(domain) = &p.access_bridge_domain {
        lines.push(format!("switchport access bridge-domain {domain}"));
    }
    if let Some(id) = p.trunk_native_vlan {
        lines.push(format!("switchport trunk native vlan {id}"));
    }
    if let Some(ids) = &p.trunk_allowed_vlans {
        lines.push(format!("switchport trunk allowed vlan {ids}"));
    }
    if p.channel_group_mac_pinning == Some(true) {
        lines.push(CHANNEL_GROUP.to_string());
    }
    lines.extend(profile_policy_lines(p));
    if let Some(n) = p.max_ports {
        lines.push(format!("max-ports {n}"));
    }
    if let Some(shutdown) = p.shutdown {
        lines.push(shutdown_line(shutdown).to_string());
    }
    if let Some(ids) = p.system_vlans.as_ref().filter(|s| !s.is_empty()) {
        lines.push(format!("system vlan {ids}"));
    }
    if p.state_enabled {
        lines.push("state enabled".to_string());
    }
    lines
}

/// The uplink channel line (one fixed form in this subset).
pub(crate) const CHANNEL_GROUP: &str = "channel-group auto mode on mac-pinning";

pub(crate) fn shutdown_line(shutdown: bool) -> &'static str {
    if shutdown { "shutdown" } else { "no shutdown" }
}

/// `access` / `trunk`.
pub fn mode_name(mode: SwitchportMode) -> &'static str {
    match mode {
        SwitchportMode::Access => "access",
        SwitchportMode::Trunk => "trunk",
    }
}

/// `static` / `dynamic` / `ephemeral`.
pub fn binding_name(binding: PortBinding) -> &'static str {
    match binding {
        PortBinding::Static => "static",
        PortBinding::Dynamic => "dynamic",
        PortBinding::Ephemeral => "ephemeral",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ProfileType, Vlan};

    fn seed() -> Config {
        let mut c = Config::default();
        for id in 100..=109 {
            c.vlans.insert(id, Vlan::default());
        }
        c.vlans.insert(100, Vlan { name: Some("web".into()) });
        c.port_profiles.insert(
            "uplink".into(),
            PortProfile {
                kind: ProfileType::Ethernet,
                mode: Some(SwitchportMode::Trunk),
                trunk_allowed_vlans: Some(VlanSet::range(100, 109)),
                channel_group_mac_pinning: Some(true),
                shutdown: Some(false),
                system_vlans: Some(VlanSet::single(100)),
                state_enabled: true,
                ..PortProfile::default()
            },
        );
        c.port_profiles.insert(
            "vlan100".into(),
            PortProfile {
                mode: Some(SwitchportMode::Access),
                access_vlan: Some(100),
                shutdown: Some(false),
                state_enabled: true,
                ..PortProfile::default()
            },
        );
        c
    }

    #[test]
    fn prints_nx_os_running_config() {
        assert_eq!(
            print_running_config(&seed()),
            "vlan 100-109\n\
             vlan 100\n  name web\n\
             \n\
             port-profile type ethernet uplink\n\
             \x20 switchport mode trunk\n\
             \x20 switchport trunk allowed vlan 100-109\n\
             \x20 channel-group auto mode on mac-pinning\n\
             \x20 no shutdown\n\
             \x20 system vlan 100\n\
             \x20 state enabled\n\
             \n\
             port-profile type vethernet vlan100\n\
             \x20 switchport mode access\n\
             \x20 switchport access vlan 100\n\
             \x20 no shutdown\n\
             \x20 state enabled\n"
        );
    }

    #[test]
    fn accounts_print_first_with_hashes() {
        use crate::model::Role;
        let mut c = seed();
        c.users.insert(
            "alice".into(),
            User { password: Password::Hashed("$argon2id$v=19$x".into()), role: Role::NetworkOperator },
        );
        c.users
            .insert("bob".into(), User { password: Password::Clear("5".into()), role: Role::NetworkAdmin });
        assert!(print_running_config(&c).starts_with(
            "username alice password 5 $argon2id$v=19$x role network-operator\n\
             username bob password 0 5 role network-admin\n\
             \n\
             vlan 100-109\n"
        ));
    }

    #[test]
    fn empty_config_prints_nothing() {
        assert_eq!(print_running_config(&Config::default()), "");
        let mut c = Config::default();
        c.port_profiles.insert("bare".into(), PortProfile::default());
        assert_eq!(print_running_config(&c), "port-profile type vethernet bare\n");
    }

    #[test]
    fn one_profile() {
        assert_eq!(print_profile(&seed(), "vlan100").as_deref().map(|t| t.lines().count()), Some(5));
        assert_eq!(print_profile(&seed(), "nope"), None);
        let p = PortProfile {
            port_binding: Some(PortBinding::Dynamic),
            inherit: Some("base".into()),
            description: Some("web tier".into()),
            trunk_native_vlan: Some(5),
            max_ports: Some(64),
            shutdown: Some(true),
            ..PortProfile::default()
        };
        assert_eq!(
            profile_lines(&p),
            vec![
                "port-binding dynamic",
                "inherit port-profile base",
                "description web tier",
                "switchport trunk native vlan 5",
                "max-ports 64",
                "shutdown",
            ]
        );
    }
}
