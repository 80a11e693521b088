//! The host's uplinks as the datapath runs them, pure: each uplink's port configuration under
//! its `type ethernet` profile and its link state, the vEthernets' pins carried from one
//! datapath snapshot to the next, and the vEthernets a new snapshot moved to another uplink.

use std::collections::BTreeMap;

use config::{ProfileType, defaults};
use datapath::{ConfigError, PortConfig, PortId, PortKind, PortMode, ProfileBinding, Segment, Snapshot};
use wire::MacAddr;

use super::rarp::rarp_announcement;
use super::spec::{UplinkSpec, short_name, uplink_ltl};
use crate::dataplane::port_mode;
use crate::ports::status::down_reason;
use crate::snapshot::PolicySnapshot;

/// Why an uplink is down, beyond the reasons vEthernets share ([`down_reason`]).
pub mod uplink_reason {
    /// The NIC has no carrier (or is administratively down in the kernel).
    pub const LINK_DOWN: &str = "Link not connected";
    /// The profile is a `type vethernet` profile.
    pub const NOT_ETHERNET: &str = "port-profile is not type ethernet";
}

/// One uplink: its flag and its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uplink {
    /// K of EthernetM/K: the position of its `--uplink` flag, from 1.
    pub index: u32,
    /// The host NIC.
    pub iface: String,
    /// Its `type ethernet` port-profile.
    pub profile: String,
    /// The NIC is up with carrier.
    pub link_up: bool,
}

impl Uplink {
    /// Its datapath port: LTL 16 + K.
    pub fn port(&self) -> PortId {
        uplink_ltl(self.index)
    }

    /// Its datapath configuration under `policies`: the profile's mode and VLANs, admin state
    /// from the profile, link state from the NIC.
    pub fn port_config(&self, policies: &PolicySnapshot, module: Option<u32>) -> PortConfig {
        let name = short_name(module, self.index);
        let mut config = match policies.get(&self.profile) {
            Some(policy) => {
                let mut config =
                    PortConfig::uplink(self.port(), name, port_mode(policy), self.profile.clone());
                config.admin_up =
                    !policy.shutdown && policy.state_enabled && policy.kind == ProfileType::Ethernet;
                config.dhcp_snooping_trust = policy.dhcp_snooping_trust;
                config
            }
            None => {
                let mode = PortMode::Access { segment: Segment::Vlan(defaults::ACCESS_VLAN) };
                let mut config = PortConfig::uplink(self.port(), name, mode, self.profile.clone());
                config.admin_up = false;
                config.profile = ProfileBinding::NotFound(self.profile.clone());
                config
            }
        };
        config.link_up = self.link_up;
        config
    }

    /// Up, or down and why, under `policies`: `(up, reason)`.
    pub fn state(&self, policies: &PolicySnapshot) -> (bool, &'static str) {
        let reason = match policies.get(&self.profile) {
            None => down_reason::PROFILE_NOT_FOUND,
            Some(policy) if policy.kind != ProfileType::Ethernet => uplink_reason::NOT_ETHERNET,
            Some(policy) if policy.shutdown => down_reason::ADMIN_DOWN,
            Some(policy) if !policy.state_enabled => down_reason::PROFILE_DISABLED,
            Some(_) if !self.link_up => uplink_reason::LINK_DOWN,
            Some(_) => "",
        };
        (reason.is_empty(), reason)
    }
}

/// A vEthernet whose pin a new snapshot changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    /// The vEthernet.
    pub veth: PortId,
    /// The uplink it was pinned to, if any.
    pub from: Option<PortId>,
    /// The uplink it is pinned to now.
    pub to: PortId,
}

/// A frame to send out of one uplink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The uplink.
    pub uplink: PortId,
    /// The vEthernet announced.
    pub veth: PortId,
    /// Its MAC.
    pub mac: MacAddr,
    /// The RARP frame.
    pub frame: Vec<u8>,
}

/// The host's uplinks, in flag order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UplinkSet {
    uplinks: Vec<Uplink>,
}

impl UplinkSet {
    /// The uplinks of `specs` (already validated), numbered by position, links down until
    /// told otherwise.
    pub fn new(specs: &[UplinkSpec]) -> Self {
        let uplinks = specs
            .iter()
            .zip(1..)
            .map(|(spec, index)| Uplink {
                index,
                iface: spec.iface.clone(),
                profile: spec.profile.clone(),
                link_up: false,
            })
            .collect();
        Self { uplinks }
    }

    /// The uplinks, by index.
    pub fn iter(&self) -> impl Iterator<Item = &Uplink> {
        self.uplinks.iter()
    }

    /// True when the host has no uplink.
    pub fn is_empty(&self) -> bool {
        self.uplinks.is_empty()
    }

    /// The uplink on datapath port `port`.
    pub fn by_port(&self, port: PortId) -> Option<&Uplink> {
        self.uplinks.iter().find(|uplink| uplink.port() == port)
    }

    /// Records NIC `iface`'s link state; true when it changed.
    pub fn set_link(&mut self, iface: &str, up: bool) -> bool {
        match self.uplinks.iter_mut().find(|uplink| uplink.iface == iface) {
            Some(uplink) if uplink.link_up != up => {
                uplink.link_up = up;
                true
            }
            _ => false,
        }
    }

    /// The datapath snapshot of `veths` (the vEthernets' snapshot) with the uplinks added under
    /// `policies`, and every vEthernet keeping the pin it has in `current` (the snapshot in force)
    /// while that uplink stays usable.
    pub fn complete(
        &self,
        veths: &Snapshot,
        current: &Snapshot,
        policies: &PolicySnapshot,
        module: Option<u32>,
    ) -> Result<Snapshot, ConfigError> {
        let mut ports: Vec<PortConfig> =
            veths.ports().iter().filter(|port| port.kind == PortKind::Vethernet).cloned().collect();
        keep_pins(&mut ports, current);
        ports.extend(self.uplinks.iter().map(|uplink| uplink.port_config(policies, module)));
        veths.with_ports(ports)
    }
}

/// Gives every vEthernet of `ports` the pin it has in `current` as its preferred uplink.
pub fn keep_pins(ports: &mut [PortConfig], current: &Snapshot) {
    current.carry_pins(ports);
}

/// The vEthernets pinned elsewhere in `after` than in `before` (newly attached ones excluded:
/// nobody has learned their MAC anywhere yet).
pub fn moves(before: &Snapshot, after: &Snapshot) -> Vec<Move> {
    let old: BTreeMap<PortId, PortId> = before.pins().collect();
    after
        .pins()
        .filter(|(veth, _)| before.port(*veth).is_some())
        .filter_map(|(veth, to)| {
            let from = old.get(&veth).copied();
            (from != Some(to)).then_some(Move { veth, from, to })
        })
        .collect()
}

/// One RARP per moved vEthernet with a MAC, out of its new uplink, in its VLAN (untagged on the
/// uplink's native VLAN or an access uplink).
pub fn announcements(moves: &[Move], after: &Snapshot) -> Vec<Announcement> {
    moves
        .iter()
        .filter_map(|moved| {
            let veth = after.port(moved.veth)?;
            let mac = veth.attached_mac?;
            let Segment::Vlan(vlan) = veth.home_segment() else { return None };
            let tag = match &after.port(moved.to)?.mode {
                PortMode::Trunk { native, .. } if *native != vlan => Some(vlan),
                _ => None,
            };
            Some(Announcement { uplink: moved.to, veth: moved.veth, mac, frame: rarp_announcement(mac, tag) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use config::{EffectivePolicy, SwitchportMode, VlanSet};

    use super::*;
    use crate::snapshot::testing::{access_policy, policies};

    fn trunk(name: &str) -> EffectivePolicy {
        EffectivePolicy {
            kind: ProfileType::Ethernet,
            mode: SwitchportMode::Trunk,
            trunk_allowed_vlans: VlanSet::range(100, 101),
            trunk_native_vlan: 101,
            channel_group_mac_pinning: true,
            ..access_policy(name, 1)
        }
    }

    fn two_uplinks() -> UplinkSet {
        let specs = ["eth1=up", "eth2=up"].map(|text| text.parse::<UplinkSpec>().expect("valid"));
        let mut set = UplinkSet::new(&specs);
        assert!(set.set_link("eth1", true) && set.set_link("eth2", true));
        assert!(!set.set_link("eth2", true), "no change");
        set
    }

    fn veths() -> Snapshot {
        let veth = |ltl: u32, vlan| {
            PortConfig::access(PortId(ltl), format!("Veth{}", ltl - 48), Segment::Vlan(vlan), "p")
                .with_attached_mac(MacAddr([2, 0, 0, 0, 0, ltl as u8]))
        };
        Snapshot::new(vec![veth(49, 100), veth(50, 100), veth(51, 101)]).expect("valid")
    }

    #[test]
    fn uplink_configs_follow_profile_and_link() {
        let set = two_uplinks();
        let uplink = set.by_port(PortId(18)).expect("uplink 2");
        let config = uplink.port_config(&policies([trunk("up")]), Some(3));
        assert_eq!(
            (config.name.as_str(), config.kind, config.is_forwarding()),
            ("Eth3/2", PortKind::Uplink, true)
        );
        assert!(matches!(config.mode, PortMode::Trunk { native: 101, .. }));
        assert_eq!(uplink.state(&policies([trunk("up")])), (true, ""));

        let missing = uplink.port_config(&PolicySnapshot::default(), None);
        assert_eq!(missing.profile, ProfileBinding::NotFound("up".into()));
        assert_eq!(uplink.state(&PolicySnapshot::default()), (false, "port-profile not found"));
        let veth_profile = policies([access_policy("up", 100)]);
        assert!(!uplink.port_config(&veth_profile, None).admin_up);
        assert_eq!(uplink.state(&veth_profile).1, uplink_reason::NOT_ETHERNET);

        let mut down = set.clone();
        down.set_link("eth2", false);
        let uplink = down.by_port(PortId(18)).expect("uplink 2");
        assert!(!uplink.port_config(&policies([trunk("up")]), None).link_up);
        assert_eq!(uplink.state(&policies([trunk("up")])).1, "Link not connected");
    }

    #[test]
    fn a_failed_uplinks_vethernets_move_and_are_announced_once() {
        let policies = policies([trunk("up")]);
        let mut set = two_uplinks();
        let first = set.complete(&veths(), &Snapshot::default(), &policies, Some(3)).expect("valid");
        let pins: BTreeMap<PortId, PortId> = first.pins().collect();
        assert_eq!(pins.len(), 3, "every vEthernet pinned: {pins:?}");
        // A snapshot with nothing changed keeps every pin: nothing moves.
        let again = set.complete(&veths(), &first, &policies, Some(3)).expect("valid");
        assert!(moves(&first, &again).is_empty());

        set.set_link("eth1", false);
        let after = set.complete(&veths(), &again, &policies, Some(3)).expect("valid");
        assert!(after.pins().all(|(_, uplink)| uplink == PortId(18)));
        let moved = moves(&again, &after);
        let expected: Vec<Move> = pins
            .iter()
            .filter(|(_, uplink)| **uplink == PortId(17))
            .map(|(veth, _)| Move { veth: *veth, from: Some(PortId(17)), to: PortId(18) })
            .collect();
        assert_eq!(moved, expected);
        let announced = announcements(&moved, &after);
        assert_eq!(announced.len(), moved.len());
        for announcement in &announced {
            let vlan = match after.port(announcement.veth).expect("veth").home_segment() {
                Segment::Vlan(vlan) => vlan,
                other => panic!("{other:?}"),
            };
            // Tagged, except on the native VLAN.
            let tag = (vlan != 101).then_some(vlan);
            assert_eq!(announcement.frame, rarp_announcement(announcement.mac, tag));
            assert_eq!(announcement.uplink, PortId(18));
        }

        // The failed uplink returns: pins stay where they are.
        set.set_link("eth1", true);
        let back = set.complete(&veths(), &after, &policies, Some(3)).expect("valid");
        assert!(moves(&after, &back).is_empty());
        assert!(back.pins().all(|(_, uplink)| uplink == PortId(18)));
    }

    #[test]
    fn new_vethernets_are_no_moves() {
        let policies = policies([trunk("up")]);
        let set = two_uplinks();
        let empty = set.complete(&Snapshot::default(), &Snapshot::default(), &policies, None).expect("valid");
        let full = set.complete(&veths(), &empty, &policies, None).expect("valid");
        assert_eq!(full.pins().count(), 3);
        assert!(moves(&empty, &full).is_empty());
    }
}
