//! The agent's copy of the policies that concern its host.

use std::collections::{BTreeMap, HashMap};

use config::EffectivePolicy;
use serde::{Deserialize, Serialize};

/// All policies the agent holds, as of one supervisor config revision.
///
/// Immutable once published: the agent swaps in a whole new snapshot (behind an `Arc`) on every
/// change, so a reader never sees half an update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySnapshot {
    /// The config revision the supervisor last brought this snapshot to (0: never synced).
    pub revision: i64,
    /// Evaluated port-profiles by name.
    pub policies: BTreeMap<String, PolicyEntry>,
}

/// One evaluated port-profile and the config revision it derives from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEntry {
    pub revision: i64,
    pub policy: EffectivePolicy,
}

impl PolicySnapshot {
    /// The policy of port-profile `name`, if the agent holds it.
    pub fn get(&self, name: &str) -> Option<&EffectivePolicy> {
        self.policies.get(name).map(|entry| &entry.policy)
    }

    /// How many policies the snapshot holds.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// True when the snapshot holds no policy.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// What the agent tells the supervisor it already holds (`WatchRequest.known`):
    /// policy name → revision.
    pub fn known(&self) -> HashMap<String, i64> {
        self.policies.iter().map(|(name, entry)| (name.clone(), entry.revision)).collect()
    }
}

/// Policies for tests.
#[cfg(test)]
pub(crate) mod testing {
    use config::{EffectivePolicy, PortBinding, ProfileType, SwitchportMode, VlanSet};

    /// An enabled access port-profile on `vlan`.
    pub(crate) fn access_policy(name: &str, vlan: u16) -> EffectivePolicy {
        EffectivePolicy {
            name: name.to_owned(),
            kind: ProfileType::Vethernet,
            mode: SwitchportMode::Access,
            access_vlan: vlan,
            trunk_allowed_vlans: VlanSet::all(),
            trunk_native_vlan: 1,
            channel_group_mac_pinning: false,
            max_ports: 32,
            port_binding: PortBinding::Static,
            system_vlans: VlanSet::none(),
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

    /// A snapshot at revision 1 holding `entries`.
    pub(crate) fn policies(entries: impl IntoIterator<Item = EffectivePolicy>) -> super::PolicySnapshot {
        let policies = entries
            .into_iter()
            .map(|policy| (policy.name.clone(), super::PolicyEntry { revision: 1, policy }))
            .collect();
        super::PolicySnapshot { revision: 1, policies }
    }

    /// `access_policy` as the supervisor sends it.
    pub(crate) fn wire_policy(name: &str, vlan: u16, revision: i64) -> proto::Policy {
        proto::Policy {
            name: name.to_owned(),
            revision,
            json: serde_json::to_string(&access_policy(name, vlan)).expect("serialize policy"),
        }
    }
}
