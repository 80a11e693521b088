//! Inheritance: a profile's effective policy, what its ports actually get.
//!
//! A profile's own setting wins; an unset one comes from its parent (`inherit port-profile`),
//! then the parent's parent, then NX-OS's defaults ([`crate::model::defaults`]). `state enabled`
//! and the type are the profile's own and never inherited.
//!
//! `switchport access vlan` and `switchport access bridge-domain` are one attribute, the access
//! segment: the nearest profile in the chain that sets either decides. A bridge-domain's
//! segment id is part of the policy, so a policy also depends on the bridge-domain it uses
//! ([`bridge_domain_dependents`]).
//!
//! The policy lines inherit the same way, each on its own: each access-group direction, each
//! port-security line, each storm-control kind, each flow-monitor direction. The on/off lines
//! (`switchport port-security`, `ip verify source`, `ip arp inspection`, `ip dhcp snooping
//! trust`, `mac-address sticky`) are on when any profile in the chain turns them on. The access
//! lists, monitors and exporters a policy names are embedded in it, so a change to one changes
//! the policy of every profile using it ([`policy_object_dependents`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::acl::{EffectiveAcl, Family};
use crate::change::Object;
use crate::error::ConfigError;
use crate::flow::{self, EffectiveExporter, EffectiveFlowMonitor, FlowMonitors};
use crate::model::{
    AccessGroups, Config, Direction, EffectiveBridgeDomain, EffectivePolicy, PortProfile, PortSecurity,
    StormControl, StormKind, SwitchportMode, VlanId, defaults,
};
use crate::print::{CHANNEL_GROUP, mode_name, shutdown_line};
use crate::vlan_set::VlanSet;

/// The effective policy of profile `name`.
///
/// Fails (line 0) when the profile, or a profile it inherits from, does not exist, the chain
/// loops, or the bridge-domain it uses does not exist or has no segment id — none of which a
/// validated model has.
pub fn evaluate(config: &Config, name: &str) -> Result<EffectivePolicy, ConfigError> {
    let chain = chain(config, name)?;
    let own = chain[0];
    let shutdown = inherited(&chain, |p| p.shutdown).unwrap_or(false);
    let mode = inherited(&chain, |p| p.mode).unwrap_or(defaults::MODE);
    let segment = access_segment(&chain);
    let bridge_domain = match segment {
        Some(AccessSegment::BridgeDomain(domain)) if mode == SwitchportMode::Access => {
            Some(effective_bridge_domain(config, domain)?)
        }
        _ => None,
    };
    Ok(EffectivePolicy {
        name: name.to_string(),
        kind: own.kind,
        mode,
        access_vlan: match segment {
            Some(AccessSegment::Vlan(id)) => id,
            _ => defaults::ACCESS_VLAN,
        },
        trunk_allowed_vlans: inherited(&chain, |p| p.trunk_allowed_vlans.clone())
            .unwrap_or_else(VlanSet::all),
        trunk_native_vlan: inherited(&chain, |p| p.trunk_native_vlan).unwrap_or(defaults::NATIVE_VLAN),
        channel_group_mac_pinning: inherited(&chain, |p| p.channel_group_mac_pinning).unwrap_or(false),
        max_ports: inherited(&chain, |p| p.max_ports).unwrap_or(defaults::MAX_PORTS),
        port_binding: inherited(&chain, |p| p.port_binding).unwrap_or(defaults::PORT_BINDING),
        system_vlans: inherited(&chain, |p| p.system_vlans.clone()).unwrap_or_default(),
        shutdown: shutdown || !own.state_enabled,
        state_enabled: own.state_enabled,
        bridge_domain,
        access_groups: access_groups(config, &chain)?,
        port_security: chain.iter().any(|p| p.port_security.enabled).then(|| PortSecurity {
            maximum: inherited(&chain, |p| p.port_security.maximum)
                .unwrap_or(defaults::PORT_SECURITY_MAXIMUM),
            violation: inherited(&chain, |p| p.port_security.violation)
                .unwrap_or(defaults::PORT_SECURITY_VIOLATION),
            sticky: chain.iter().any(|p| p.port_security.sticky),
        }),
        verify_source: chain.iter().any(|p| p.verify_source),
        arp_inspection: chain.iter().any(|p| p.arp_inspection),
        dhcp_snooping: config.dhcp_snooping,
        dhcp_snooping_trust: chain.iter().any(|p| p.dhcp_snooping_trust),
        storm_control: storm_control(&chain),
        flow_monitors: FlowMonitors {
            input: flow_monitor(config, &chain, Direction::In)?,
            output: flow_monitor(config, &chain, Direction::Out)?,
        },
    })
}

fn access_groups(config: &Config, chain: &[&PortProfile]) -> Result<AccessGroups, ConfigError> {
    let acl = |family, direction| -> Result<Option<EffectiveAcl>, ConfigError> {
        let Some(name) = inherited(chain, |p| p.access_groups.get(family, direction).cloned()) else {
            return Ok(None);
        };
        match config.access_lists(family).get(&name) {
            Some(list) => Ok(Some(EffectiveAcl::new(&name, family, list))),
            None => {
                Err(ConfigError::model(format!("{} access-list '{name}' does not exist", family.keyword())))
            }
        }
    };
    Ok(AccessGroups {
        ipv4_in: acl(Family::Ipv4, Direction::In)?,
        ipv4_out: acl(Family::Ipv4, Direction::Out)?,
        ipv6_in: acl(Family::Ipv6, Direction::In)?,
        ipv6_out: acl(Family::Ipv6, Direction::Out)?,
    })
}

fn storm_control(chain: &[&PortProfile]) -> StormControl {
    let mut out = StormControl::default();
    for kind in StormKind::ALL {
        *out.get_mut(kind) = inherited(chain, |p| p.storm_control.get(kind));
    }
    out
}

fn flow_monitor(
    config: &Config,
    chain: &[&PortProfile],
    direction: Direction,
) -> Result<Option<EffectiveFlowMonitor>, ConfigError> {
    let Some(name) = inherited(chain, |p| p.flow_monitors.get(direction).cloned()) else {
        return Ok(None);
    };
    let Some(monitor) = config.flow_monitors.get(&name) else {
        return Err(ConfigError::model(format!("flow monitor '{name}' does not exist")));
    };
    let exporters = monitor
        .exporters
        .iter()
        .map(|exporter| {
            let missing = || ConfigError::model(format!("flow exporter '{exporter}' does not exist"));
            let e = config.flow_exporters.get(exporter).ok_or_else(missing)?;
            let destination = e.destination.ok_or_else(|| {
                ConfigError::model(format!("flow exporter '{exporter}' has no destination"))
            })?;
            let version = e.version.unwrap_or(flow::defaults::VERSION);
            Ok(EffectiveExporter {
                name: exporter.clone(),
                destination,
                port: e.transport_udp.unwrap_or_else(|| version.default_port()),
                version,
                dscp: e.dscp.unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    Ok(Some(EffectiveFlowMonitor {
        name,
        record: monitor.record.unwrap_or(flow::defaults::RECORD),
        exporters,
        active_timeout_secs: monitor.timeout_active.unwrap_or(flow::defaults::ACTIVE_TIMEOUT_SECS),
        inactive_timeout_secs: monitor.timeout_inactive.unwrap_or(flow::defaults::INACTIVE_TIMEOUT_SECS),
        cache_size: monitor.cache_size,
    }))
}

/// The profiles whose effective policy embeds `object` (an access list, flow monitor or
/// exporter; every profile for `ip dhcp snooping`): a change to it changes exactly their
/// policies. Empty for other objects. Sorted.
pub fn policy_object_dependents(config: &Config, object: &Object) -> Vec<String> {
    let uses = |policy: &EffectivePolicy| -> bool {
        let monitors = || [&policy.flow_monitors.input, &policy.flow_monitors.output].into_iter().flatten();
        match object {
            Object::AccessList(family, name) => Direction::BOTH
                .into_iter()
                .any(|d| policy.access_groups.get(*family, d).is_some_and(|acl| acl.name == *name)),
            Object::FlowMonitor(name) => monitors().any(|m| m.name == *name),
            Object::FlowExporter(name) => monitors().any(|m| m.exporters.iter().any(|e| e.name == *name)),
            Object::DhcpSnooping => true,
            // A pool is not part of any policy: agents ask for addresses, they are not pushed.
            Object::Vlans(_)
            | Object::BridgeDomain(_)
            | Object::PortProfile(_)
            | Object::User(_)
            | Object::IpPool(_) => false,
        }
    };
    evaluate_all(config).into_iter().filter(|(_, policy)| uses(policy)).map(|(name, _)| name).collect()
}

/// The `ip pool` of profile `name`, its own or inherited; `Ok(None)` when it has none. Fails
/// (line 0) as [`evaluate`] does when the profile or its inheritance chain is broken.
pub fn profile_ip_pool(config: &Config, name: &str) -> Result<Option<String>, ConfigError> {
    let chain = chain(config, name)?;
    Ok(inherited(&chain, |p| p.ip_pool.clone()))
}

/// Where an access port goes: a VLAN or a bridge-domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccessSegment<'c> {
    Vlan(VlanId),
    BridgeDomain(&'c str),
}

/// The access segment of the first profile in the chain that sets one.
fn access_segment<'c>(chain: &[&'c PortProfile]) -> Option<AccessSegment<'c>> {
    chain.iter().find_map(|p| match (p.access_vlan, p.access_bridge_domain.as_deref()) {
        (Some(id), _) => Some(AccessSegment::Vlan(id)),
        (None, Some(domain)) => Some(AccessSegment::BridgeDomain(domain)),
        (None, None) => None,
    })
}

fn effective_bridge_domain(config: &Config, name: &str) -> Result<EffectiveBridgeDomain, ConfigError> {
    let Some(domain) = config.bridge_domains.get(name) else {
        return Err(ConfigError::model(format!("bridge-domain '{name}' does not exist")));
    };
    let Some(segment_id) = domain.segment_id else {
        return Err(ConfigError::model(format!("bridge-domain '{name}' has no segment id")));
    };
    Ok(EffectiveBridgeDomain { name: name.to_string(), segment_id })
}

/// The first profile in the chain that sets the attribute.
fn inherited<T>(chain: &[&PortProfile], get: impl Fn(&PortProfile) -> Option<T>) -> Option<T> {
    chain.iter().find_map(|p| get(p))
}

/// `name`, its parent, its parent's parent, …
fn chain<'c>(config: &'c Config, name: &str) -> Result<Vec<&'c PortProfile>, ConfigError> {
    let mut chain = Vec::new();
    let mut names = vec![name];
    let mut current = name;
    loop {
        let Some(profile) = config.port_profiles.get(current) else {
            return Err(ConfigError::model(format!("port-profile '{current}' does not exist")));
        };
        chain.push(profile);
        let Some(parent) = profile.inherit.as_deref() else {
            return Ok(chain);
        };
        if names.contains(&parent) {
            names.push(parent);
            return Err(ConfigError::model(format!("inheritance cycle: {}", names.join(" -> "))));
        }
        names.push(parent);
        current = parent;
    }
}

/// Effective policies of every profile that evaluates (all of them, in a validated model).
pub fn evaluate_all(config: &Config) -> BTreeMap<String, EffectivePolicy> {
    config
        .port_profiles
        .keys()
        .filter_map(|name| Some((name.clone(), evaluate(config, name).ok()?)))
        .collect()
}

/// The policy as configuration lines (the "evaluated config attributes" of `show port-profile`):
/// the mode and the VLAN lines that matter for it, channel-group, system VLANs, shutdown.
pub fn evaluated_lines(policy: &EffectivePolicy) -> Vec<String> {
    let mut lines = vec![format!("switchport mode {}", mode_name(policy.mode))];
    match (policy.mode, &policy.bridge_domain) {
        (SwitchportMode::Access, Some(domain)) => {
            lines.push(format!("switchport access bridge-domain {}", domain.name));
        }
        (SwitchportMode::Access, None) => {
            lines.push(format!("switchport access vlan {}", policy.access_vlan));
        }
        (SwitchportMode::Trunk, _) => {
            lines.push(format!("switchport trunk native vlan {}", policy.trunk_native_vlan));
            lines.push(format!("switchport trunk allowed vlan {}", policy.trunk_allowed_vlans));
        }
    }
    if policy.channel_group_mac_pinning {
        lines.push(CHANNEL_GROUP.to_string());
    }
    if !policy.system_vlans.is_empty() {
        lines.push(format!("system vlan {}", policy.system_vlans));
    }
    lines.push(shutdown_line(policy.shutdown).to_string());
    lines.extend(crate::print::effective_policy_lines(policy));
    lines
}

/// The profiles whose effective policy depends on `name`: those inheriting from it, directly or
/// through others. Sorted; `name` itself is not included.
pub fn dependents(config: &Config, name: &str) -> Vec<String> {
    dependents_of_all(config, &[name]).into_iter().collect()
}

/// The profiles whose effective policy depends on bridge-domain `name`: those whose ports join
/// it (directly or through inheritance, in access mode), whose policies carry its segment id.
/// So a change to the bridge-domain (its segment id) changes exactly these policies. Sorted.
pub fn bridge_domain_dependents(config: &Config, name: &str) -> Vec<String> {
    config
        .port_profiles
        .keys()
        .filter(|profile| {
            let Ok(chain) = chain(config, profile) else { return false };
            let mode = inherited(&chain, |p| p.mode).unwrap_or(defaults::MODE);
            mode == SwitchportMode::Access
                && access_segment(&chain) == Some(AccessSegment::BridgeDomain(name))
        })
        .cloned()
        .collect()
}

/// [`dependents`] of several profiles at once (one pass over the model).
pub fn dependents_of_all(config: &Config, names: &[&str]) -> BTreeSet<String> {
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (child, profile) in &config.port_profiles {
        if let Some(parent) = profile.inherit.as_deref() {
            children.entry(parent).or_default().push(child);
        }
    }
    let mut out = BTreeSet::new();
    let mut queue: Vec<&str> = names.to_vec();
    while let Some(parent) = queue.pop() {
        for child in children.get(parent).into_iter().flatten() {
            if !names.contains(child) && out.insert(child.to_string()) {
                queue.push(child);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::{PortBinding, ProfileType};

    fn config() -> Config {
        let mut c = Config::default();
        c.port_profiles.insert(
            "base".into(),
            PortProfile {
                mode: Some(SwitchportMode::Access),
                access_vlan: Some(100),
                shutdown: Some(false),
                max_ports: Some(8),
                state_enabled: true,
                ..PortProfile::default()
            },
        );
        c.port_profiles.insert(
            "web".into(),
            PortProfile {
                inherit: Some("base".into()),
                access_vlan: Some(200),
                port_binding: Some(PortBinding::Dynamic),
                state_enabled: true,
                ..PortProfile::default()
            },
        );
        c.port_profiles
            .insert("web-dev".into(), PortProfile { inherit: Some("web".into()), ..PortProfile::default() });
        c.port_profiles.insert("other".into(), PortProfile::default());
        c
    }

    #[test]
    fn child_wins_parent_fills_defaults_last() {
        let p = evaluate(&config(), "web").unwrap();
        assert_eq!(p.access_vlan, 200);
        assert_eq!(p.max_ports, 8);
        assert_eq!(p.port_binding, PortBinding::Dynamic);
        assert_eq!(p.mode, SwitchportMode::Access);
        assert_eq!(p.trunk_allowed_vlans, VlanSet::all());
        assert_eq!(p.trunk_native_vlan, 1);
        assert!(!p.shutdown);
        assert_eq!(p.kind, ProfileType::Vethernet);
    }

    #[test]
    fn state_is_not_inherited_and_disabled_means_down() {
        let p = evaluate(&config(), "web-dev").unwrap();
        assert_eq!(p.access_vlan, 200);
        assert!(!p.state_enabled);
        assert!(p.shutdown);
        let p = evaluate(&config(), "other").unwrap();
        assert_eq!((p.access_vlan, p.max_ports), (1, 32));
    }

    #[test]
    fn errors_for_missing_and_cycles() {
        let mut c = config();
        assert!(evaluate(&c, "nope").is_err());
        c.port_profiles.get_mut("base").unwrap().inherit = Some("web-dev".into());
        let e = evaluate(&c, "web").unwrap_err();
        assert_eq!(e.message, "inheritance cycle: web -> base -> web-dev -> web");
        assert_eq!(evaluate_all(&c).len(), 1);
    }

    #[test]
    fn dependents_are_transitive() {
        let c = config();
        assert_eq!(dependents(&c, "base"), vec!["web", "web-dev"]);
        assert_eq!(dependents(&c, "web-dev"), Vec::<String>::new());
        assert_eq!(evaluate_all(&c).len(), 4);
    }

    #[test]
    fn evaluated_lines_follow_the_mode() {
        let p = evaluate(&config(), "web").unwrap();
        assert_eq!(
            evaluated_lines(&p),
            vec!["switchport mode access", "switchport access vlan 200", "no shutdown"]
        );
        let mut c = Config::default();
        c.port_profiles.insert(
            "up".into(),
            PortProfile {
                kind: ProfileType::Ethernet,
                mode: Some(SwitchportMode::Trunk),
                trunk_allowed_vlans: Some(VlanSet::range(100, 109)),
                channel_group_mac_pinning: Some(true),
                system_vlans: Some(VlanSet::single(100)),
                state_enabled: true,
                ..PortProfile::default()
            },
        );
        assert_eq!(
            evaluated_lines(&evaluate(&c, "up").unwrap()),
            vec![
                "switchport mode trunk",
                "switchport trunk native vlan 1",
                "switchport trunk allowed vlan 100-109",
                "channel-group auto mode on mac-pinning",
                "system vlan 100",
                "no shutdown",
            ]
        );
    }
}
