//! The datapath's configuration: an immutable snapshot of every port, with what the fast path
//! needs precomputed (port index, per-segment flood lists, static MAC entries).
//!
//! The agent builds a new [`Snapshot`] for every change and hands it over whole with
//! [`crate::Datapath::set_config`], between two batches: a frame always sees one consistent
//! configuration, never half of an update.

use std::collections::HashMap;
use std::time::Duration;

use wire::MacAddr;

use crate::port::{PortConfig, PortId, PortMode};
use crate::vlan_bitmap::is_valid_vlan;
use crate::{ConfigError, Segment};

/// Index of a port within one snapshot (its position in [`Snapshot::ports`]).
pub(crate) type PortIndex = u16;

/// How long a dynamic MAC entry lives without traffic, unless configured (NX-OS default).
pub const DEFAULT_MAC_AGING: Duration = Duration::from_secs(300);

/// A static MAC entry: a forwarding port's attached MAC in its home segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StaticMac {
    pub segment: Segment,
    pub mac: MacAddr,
    pub port: PortIndex,
}

/// Two forwarding ports attached to the same MAC in one segment. The lower port number keeps
/// the static entry; the other port's frames from that MAC are dropped as spoofed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{mac} in {segment} is attached to both {kept} and {ignored}; {kept} keeps it")]
pub struct StaticMacConflict {
    /// The MAC.
    pub mac: MacAddr,
    /// Where both ports put it.
    pub segment: Segment,
    /// The port that has the static entry.
    pub kept: PortId,
    /// The port that does not.
    pub ignored: PortId,
}

/// Every port's policy, and what the pipeline derives from it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    ports: Vec<PortConfig>,
    ids: Vec<PortId>,
    flood: HashMap<Segment, Box<[PortIndex]>, foldhash::fast::FixedState>,
    statics: Vec<StaticMac>,
    conflicts: Vec<StaticMacConflict>,
    mac_aging: Duration,
}

impl Default for Snapshot {
    /// No ports.
    fn default() -> Self {
        Self {
            ports: Vec::new(),
            ids: Vec::new(),
            flood: HashMap::default(),
            statics: Vec::new(),
            conflicts: Vec::new(),
            mac_aging: DEFAULT_MAC_AGING,
        }
    }
}

impl Snapshot {
    /// Validates `ports` and precomputes flood lists and static MAC entries.
    pub fn new(mut ports: Vec<PortConfig>) -> Result<Self, ConfigError> {
        if ports.len() > usize::from(PortIndex::MAX) {
            return Err(ConfigError::TooManyPorts(ports.len()));
        }
        ports.sort_by_key(|port| port.id);
        if let Some(pair) = ports.windows(2).find(|pair| pair[0].id == pair[1].id) {
            return Err(ConfigError::DuplicatePort(pair[0].id));
        }
        for port in &ports {
            validate(port)?;
        }
        let mut snapshot = Self { ids: ports.iter().map(|port| port.id).collect(), ports, ..Self::default() };
        snapshot.derive();
        Ok(snapshot)
    }

    /// The same snapshot with dynamic MAC entries aging after `aging` without traffic;
    /// zero means never (NX-OS `mac address-table aging-time 0`).
    pub fn with_mac_aging(mut self, aging: Duration) -> Self {
        self.mac_aging = aging;
        self
    }

    /// The MAC aging time.
    pub fn mac_aging(&self) -> Duration {
        self.mac_aging
    }

    /// Every port, by ascending id.
    pub fn ports(&self) -> &[PortConfig] {
        &self.ports
    }

    /// The port numbered `id`.
    pub fn port(&self, id: PortId) -> Option<&PortConfig> {
        self.index_of(id).map(|index| self.by_index(index))
    }

    /// Attached MACs claimed by two ports of one segment (the config is used anyway).
    pub fn static_mac_conflicts(&self) -> &[StaticMacConflict] {
        &self.conflicts
    }

    /// The forwarding ports that carry `segment`, by ascending id.
    pub fn segment_members(&self, segment: Segment) -> impl Iterator<Item = &PortConfig> {
        self.flood_list(segment).iter().map(|&index| self.by_index(index))
    }

    pub(crate) fn index_of(&self, id: PortId) -> Option<PortIndex> {
        let index = self.ids.binary_search(&id).ok()?;
        PortIndex::try_from(index).ok()
    }

    pub(crate) fn by_index(&self, index: PortIndex) -> &PortConfig {
        &self.ports[usize::from(index)]
    }

    pub(crate) fn flood_list(&self, segment: Segment) -> &[PortIndex] {
        self.flood.get(&segment).map_or(&[], |list| list)
    }

    pub(crate) fn statics(&self) -> &[StaticMac] {
        &self.statics
    }

    /// Flood lists (forwarding ports per segment) and static entries (forwarding ports' MACs).
    fn derive(&mut self) {
        let mut flood: HashMap<Segment, Vec<PortIndex>, foldhash::fast::FixedState> = HashMap::default();
        let forwarding = self.ports.iter().zip(0..).filter(|(port, _)| port.is_forwarding());
        for (port, index) in forwarding {
            match &port.mode {
                PortMode::Access { segment } => flood.entry(*segment).or_default().push(index),
                PortMode::Trunk { allowed, .. } => {
                    for vlan in allowed.iter() {
                        flood.entry(Segment::Vlan(vlan)).or_default().push(index);
                    }
                }
            }
            let Some(mac) = port.attached_mac else { continue };
            let segment = port.home_segment();
            if !port.carries(segment) {
                continue; // a trunk whose native VLAN is not allowed: the MAC cannot be reached
            }
            match self.statics.iter().find(|entry| entry.segment == segment && entry.mac == mac) {
                Some(kept) => self.conflicts.push(StaticMacConflict {
                    mac,
                    segment,
                    kept: self.by_index(kept.port).id,
                    ignored: port.id,
                }),
                None => self.statics.push(StaticMac { segment, mac, port: index }),
            }
        }
        self.flood = flood.into_iter().map(|(segment, list)| (segment, list.into_boxed_slice())).collect();
    }
}

fn validate(port: &PortConfig) -> Result<(), ConfigError> {
    let invalid = |vlan| ConfigError::InvalidVlan { port: port.id, vlan };
    match &port.mode {
        PortMode::Access { segment: Segment::Vlan(vlan) } if !is_valid_vlan(*vlan) => Err(invalid(*vlan)),
        PortMode::Trunk { native, .. } if !is_valid_vlan(*native) => Err(invalid(*native)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VlanBitmap;

    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);

    fn access(id: u32, vlan: u16) -> PortConfig {
        PortConfig::access(PortId(id), format!("Veth{}", id - 48), Segment::Vlan(vlan), "p")
    }

    #[test]
    fn builds_flood_lists_of_forwarding_ports() {
        let mut down = access(52, 100);
        down.admin_up = false;
        let trunk = PortConfig::trunk(PortId(17), "Eth3/1", [100, 200].into_iter().collect(), 1, "uplink");
        let snapshot = Snapshot::new(vec![access(50, 100), access(49, 100), access(51, 200), down, trunk])
            .expect("valid");
        let ids = |segment| snapshot.segment_members(segment).map(|port| port.id.0).collect::<Vec<_>>();
        assert_eq!(ids(Segment::Vlan(100)), [17, 49, 50]);
        assert_eq!(ids(Segment::Vlan(200)), [17, 51]);
        assert_eq!(ids(Segment::Vlan(300)), Vec::<u32>::new());
        assert_eq!(snapshot.ports().first().map(|port| port.id), Some(PortId(17)));
    }

    #[test]
    fn rejects_duplicates_and_bad_vlans() {
        assert_eq!(
            Snapshot::new(vec![access(49, 100), access(49, 200)]).err(),
            Some(ConfigError::DuplicatePort(PortId(49)))
        );
        assert_eq!(
            Snapshot::new(vec![access(49, 4095)]).err(),
            Some(ConfigError::InvalidVlan { port: PortId(49), vlan: 4095 })
        );
        let trunk = PortConfig::trunk(PortId(17), "Eth3/1", VlanBitmap::all(), 0, "uplink");
        assert_eq!(
            Snapshot::new(vec![trunk]).err(),
            Some(ConfigError::InvalidVlan { port: PortId(17), vlan: 0 })
        );
    }

    #[test]
    fn installs_static_macs_of_forwarding_ports_and_reports_conflicts() {
        let mut down = access(51, 100).with_attached_mac(MacAddr([0x02, 0, 0, 0, 0, 9]));
        down.admin_up = false;
        let ports =
            vec![access(50, 100).with_attached_mac(MAC), access(49, 100).with_attached_mac(MAC), down];
        let snapshot = Snapshot::new(ports).expect("valid");
        assert_eq!(snapshot.statics(), &[StaticMac { segment: Segment::Vlan(100), mac: MAC, port: 0 }]);
        let conflict = snapshot.static_mac_conflicts()[0];
        assert_eq!((conflict.kept, conflict.ignored), (PortId(49), PortId(50)));
        assert_eq!(
            conflict.to_string(),
            "0200.0000.0001 in vlan 100 is attached to both LTL 49 and LTL 50; LTL 49 keeps it"
        );
    }
}
