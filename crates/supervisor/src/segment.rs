//! Which broadcast domains a policy puts a port in: one bridge-domain, or VLANs (the access VLAN,
//! or a trunk's allowed VLANs). Pure. Two ports whose domains overlap can hear each other's
//! floods, so they must not share a MAC (see [`crate::port_binding::plan_bind`]).

use config::{EffectivePolicy, SwitchportMode, VlanSet};

/// The broadcast domains of a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segments {
    /// A VXLAN bridge-domain, by name.
    BridgeDomain(String),
    /// VLANs.
    Vlans(VlanSet),
}

impl Segments {
    /// The domains a port on `policy` is in.
    pub fn of(policy: &EffectivePolicy) -> Self {
        match (&policy.bridge_domain, policy.mode) {
            (Some(domain), _) => Self::BridgeDomain(domain.name.clone()),
            (None, SwitchportMode::Trunk) => Self::Vlans(policy.trunk_allowed_vlans.clone()),
            (None, _) => Self::Vlans(VlanSet::single(policy.access_vlan)),
        }
    }

    /// Whether a frame flooded in one could reach the other.
    pub fn overlaps(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::BridgeDomain(a), Self::BridgeDomain(b)) => a == b,
            (Self::Vlans(a), Self::Vlans(b)) => !a.intersection(b).is_empty(),
            _ => false,
        }
    }

    /// `VLAN 100`, `VLANs 100-109`, `bridge-domain red`: for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::BridgeDomain(name) => format!("bridge-domain {name}"),
            Self::Vlans(vlans) => {
                let ranges: Vec<String> = vlans
                    .ranges()
                    .iter()
                    .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
                    .collect();
                let noun = if vlans.len() == 1 { "VLAN" } else { "VLANs" };
                format!("{noun} {}", ranges.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use config::EffectiveBridgeDomain;

    use super::*;
    use crate::testing::access_policy;

    #[test]
    fn access_trunk_and_bridge_domain() {
        let v100 = Segments::of(&access_policy("a", 100));
        let v200 = Segments::of(&access_policy("b", 200));
        let trunk = Segments::of(&EffectivePolicy {
            mode: SwitchportMode::Trunk,
            trunk_allowed_vlans: VlanSet::range(100, 109),
            ..access_policy("t", 1)
        });
        let red = Segments::of(&EffectivePolicy {
            bridge_domain: Some(EffectiveBridgeDomain { name: "red".into(), segment_id: 5000 }),
            ..access_policy("r", 100)
        });
        assert!(v100.overlaps(&v100));
        assert!(!v100.overlaps(&v200));
        assert!(trunk.overlaps(&v100) && !trunk.overlaps(&v200));
        assert!(red.overlaps(&red.clone()) && !red.overlaps(&v100), "a bridge-domain is not its VLAN");
        assert_eq!(v100.describe(), "VLAN 100");
        assert_eq!(trunk.describe(), "VLANs 100-109");
        assert_eq!(red.describe(), "bridge-domain red");
    }
}
