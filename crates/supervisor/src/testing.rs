//! Fixtures for the supervisor's unit tests: one of each, so a new field is added once.

use config::{EffectivePolicy, PortBinding, ProfileType, SwitchportMode, VlanSet};

use crate::port_binding::PortRecord;

/// An enabled, static access port-profile `name` on `vlan`, with NX-OS's other defaults; tests
/// change a field with `EffectivePolicy { shutdown: true, ..access_policy("p", 100) }`.
pub(crate) fn access_policy(name: &str, vlan: u16) -> EffectivePolicy {
    EffectivePolicy {
        name: name.into(),
        kind: ProfileType::Vethernet,
        mode: SwitchportMode::Access,
        access_vlan: vlan,
        trunk_allowed_vlans: VlanSet::default(),
        trunk_native_vlan: 1,
        channel_group_mac_pinning: false,
        max_ports: 32,
        port_binding: PortBinding::Static,
        system_vlans: VlanSet::default(),
        shutdown: false,
        state_enabled: true,
        bridge_domain: None,
        access_groups: config::AccessGroups::default(),
        port_security: None,
        verify_source: false,
        arp_inspection: false,
        dhcp_snooping: false,
        dhcp_snooping_trust: false,
        storm_control: config::StormControl::default(),
        flow_monitors: config::FlowMonitors::default(),
    }
}

/// An attached port `iface` on `module` (host `id-<module>`, LTL 49), asking for `profile`.
pub(crate) fn attached_port(iface: &str, module: u32, profile: &str) -> PortRecord {
    PortRecord {
        veth: 1,
        iface_id: iface.into(),
        module,
        host_id: format!("id-{module}"),
        profile: profile.into(),
        adapter: format!("veth-{iface}"),
        container_ifname: "eth0".into(),
        mac: "02:00:00:00:00:01".into(),
        owner_name: "c".into(),
        owner_uuid: String::new(),
        ltl: 49,
        attached: true,
    }
}
