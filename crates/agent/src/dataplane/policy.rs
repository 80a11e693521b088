//! From the agent's policies to the datapath's configuration, pure: each attached port inherits
//! its port-profile's evaluated policy — access VLAN or trunk VLANs, and admin state.

use std::net::IpAddr;

use config::{Direction, EffectivePolicy, SwitchportMode, defaults};
use datapath::{ConfigError, PortConfig, PortId, PortMode, ProfileBinding, Segment, Snapshot, VlanBitmap};
use wire::{MacAddr, Vni};

use super::rules;
use crate::PolicySnapshot;

/// A port of this host as the agent knows it: what the datapath needs besides the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedPort {
    /// The port's number in the datapath (its LTL: 49 and up for vEthernets).
    pub id: PortId,
    /// `Veth7`: the name traces and `show` output use.
    pub name: String,
    /// The port-profile it inherits.
    pub profile: String,
    /// The MAC of the container interface behind it: a static MAC entry while it forwards.
    pub mac: Option<MacAddr>,
    /// The addresses it was attached with: bound to it for `ip verify source` and `ip arp
    /// inspection` (DHCP snooping adds its own in the datapath).
    pub ips: Box<[IpAddr]>,
}

/// Port `port`'s datapath configuration under `policies`. A port whose profile the agent does
/// not hold is down (`port-profile not found`); one whose profile is `shutdown` or not `state
/// enabled` is administratively down.
pub fn port_config(port: &AttachedPort, policies: &PolicySnapshot) -> PortConfig {
    let Some(policy) = policies.get(&port.profile) else {
        return PortConfig {
            id: port.id,
            name: port.name.clone(),
            admin_up: false,
            mode: PortMode::Access { segment: Segment::Vlan(defaults::ACCESS_VLAN) },
            attached_mac: port.mac,
            profile: ProfileBinding::NotFound(port.profile.clone()),
            ..PortConfig::access(port.id, port.name.clone(), Segment::Vlan(defaults::ACCESS_VLAN), "")
        };
    };
    PortConfig {
        id: port.id,
        name: port.name.clone(),
        admin_up: !policy.shutdown && policy.state_enabled,
        mode: port_mode(policy),
        attached_mac: port.mac,
        profile: ProfileBinding::Applied(port.profile.clone()),
        acl_in: rules::port_acls(&policy.access_groups, Direction::In),
        acl_out: rules::port_acls(&policy.access_groups, Direction::Out),
        flow_accounting_in: policy.flow_monitors.input.is_some(),
        flow_accounting_out: policy.flow_monitors.output.is_some(),
        port_security: policy.port_security.as_ref().map(rules::port_security),
        verify_source: policy.verify_source,
        ip_bindings: port.ips.clone(),
        arp_inspection: policy.arp_inspection,
        dhcp_snooping_trust: policy.dhcp_snooping_trust,
        storm_control: rules::storm_control(&policy.storm_control),
        ..PortConfig::access(port.id, port.name.clone(), Segment::Vlan(defaults::ACCESS_VLAN), "")
    }
}

/// The datapath configuration of every port in `ports` under `policies`.
pub fn datapath_snapshot(policies: &PolicySnapshot, ports: &[AttachedPort]) -> Result<Snapshot, ConfigError> {
    Ok(Snapshot::new(ports.iter().map(|port| port_config(port, policies)).collect())?
        .with_dhcp_snooping(dhcp_snooping(policies)))
}

/// `ip dhcp snooping` is global: every policy carries it, so any one says.
pub fn dhcp_snooping(policies: &PolicySnapshot) -> bool {
    policies.policies.values().any(|entry| entry.policy.dhcp_snooping)
}

/// The datapath mode of a port under `policy`: its access VLAN, or its trunk's allowed and native VLANs.
pub fn port_mode(policy: &EffectivePolicy) -> PortMode {
    match policy.mode {
        // A bridge-domain replaces the access VLAN (config validated its segment id: 24 bits).
        SwitchportMode::Access => {
            match policy.bridge_domain.as_ref().and_then(|bd| Vni::new(bd.segment_id)) {
                Some(vni) => PortMode::Access { segment: Segment::BridgeDomain(vni) },
                None => PortMode::Access { segment: Segment::Vlan(policy.access_vlan) },
            }
        }
        SwitchportMode::Trunk => PortMode::Trunk {
            allowed: policy.trunk_allowed_vlans.iter().collect::<VlanBitmap>(),
            native: policy.trunk_native_vlan,
        },
    }
}

#[cfg(test)]
mod tests {
    use config::VlanSet;
    use datapath::Segment;

    use super::*;
    use crate::snapshot::testing::{access_policy, policies};

    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 7]);

    fn port(id: u32, profile: &str) -> AttachedPort {
        AttachedPort {
            id: PortId(id),
            name: format!("Veth{}", id - 48),
            profile: profile.to_owned(),
            mac: Some(MAC),
            ips: Box::default(),
        }
    }

    #[test]
    fn access_profile_puts_the_port_in_its_vlan() {
        let config = port_config(&port(49, "web"), &policies([access_policy("web", 100)]));
        assert_eq!(config.mode, PortMode::Access { segment: Segment::Vlan(100) });
        assert_eq!(config.profile, ProfileBinding::Applied("web".to_owned()));
        assert_eq!((config.name.as_str(), config.attached_mac), ("Veth1", Some(MAC)));
        assert!(config.is_forwarding());
    }

    #[test]
    fn bridge_domain_profile_puts_the_port_in_its_segment_instead_of_the_vlan() {
        let mut red = access_policy("red", 100);
        red.bridge_domain =
            Some(config::EffectiveBridgeDomain { name: "tenant-red".to_owned(), segment_id: 5000 });
        let config = port_config(&port(49, "red"), &policies([red]));
        let vni = Vni::new(5000).expect("24 bits");
        assert_eq!(config.mode, PortMode::Access { segment: Segment::BridgeDomain(vni) });
        assert!(config.is_forwarding());
    }

    #[test]
    fn trunk_profile_carries_its_allowed_vlans() {
        let mut trunk = access_policy("uplink", 1);
        trunk.mode = SwitchportMode::Trunk;
        trunk.trunk_allowed_vlans = VlanSet::range(100, 102);
        trunk.trunk_native_vlan = 100;
        let config = port_config(&port(50, "uplink"), &policies([trunk]));
        let PortMode::Trunk { allowed, native } = &config.mode else { panic!("trunk expected: {config:?}") };
        assert_eq!((allowed.iter().collect::<Vec<_>>(), *native), (vec![100, 101, 102], 100));
    }

    #[test]
    fn shutdown_or_disabled_profiles_take_ports_down() {
        let mut shut = access_policy("shut", 100);
        shut.shutdown = true;
        let mut disabled = access_policy("disabled", 100);
        disabled.state_enabled = false;
        let policies = policies([shut, disabled]);
        for profile in ["shut", "disabled"] {
            let config = port_config(&port(49, profile), &policies);
            assert!(!config.admin_up && !config.is_forwarding(), "{profile}");
            assert_eq!(config.profile, ProfileBinding::Applied(profile.to_owned()));
        }
    }

    #[test]
    fn missing_profile_keeps_the_port_down_until_it_exists() {
        let port = port(49, "later");
        let config = port_config(&port, &PolicySnapshot::default());
        assert_eq!(config.profile, ProfileBinding::NotFound("later".to_owned()));
        assert!(!config.is_forwarding());
        let config = port_config(&port, &policies([access_policy("later", 300)]));
        assert!(config.is_forwarding());
        assert_eq!(config.mode, PortMode::Access { segment: Segment::Vlan(300) });
    }

    #[test]
    fn snapshot_holds_every_port_and_floods_within_vlans() {
        let policies = policies([access_policy("a", 100), access_policy("b", 200)]);
        let ports = [port(49, "a"), port(50, "b"), port(51, "a"), port(52, "missing")];
        let snapshot = datapath_snapshot(&policies, &ports).expect("valid");
        assert_eq!(snapshot.ports().len(), 4);
        let members =
            |vlan| snapshot.segment_members(Segment::Vlan(vlan)).map(|port| port.id.0).collect::<Vec<_>>();
        assert_eq!((members(100), members(200), members(1)), (vec![49, 51], vec![50], vec![]));
        let duplicate = datapath_snapshot(&policies, &[port(49, "a"), port(49, "b")]);
        assert_eq!(duplicate.err(), Some(ConfigError::DuplicatePort(PortId(49))));
    }
}
