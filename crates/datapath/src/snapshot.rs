//! The datapath's configuration: an immutable snapshot of every port, with what the fast path
//! needs precomputed (port index, per-segment flood lists, static MAC entries, mac-pinning,
//! the overlay's remote VTEPs and MACs).
//!
//! The agent builds a new [`Snapshot`] for every change and hands it over whole with
//! [`crate::Datapath::set_config`], between two batches: a frame always sees one consistent
//! configuration, never half of an update.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use wire::{MacAddr, Vni};

use crate::overlay::{Overlay, TUNNEL_NAME, TUNNEL_PORT};
use crate::policy::Policies;
use crate::port::{PortConfig, PortId, PortMode};
use crate::vlan_bitmap::is_valid_vlan;
use crate::{ConfigError, Segment};

/// Index of a port within one snapshot (its position in [`Snapshot::ports`]), or
/// [`TUNNEL_INDEX`].
pub(crate) type PortIndex = u16;

/// The tunnel's index: never a configured port's, as a snapshot holds fewer ports than this.
pub(crate) const TUNNEL_INDEX: PortIndex = PortIndex::MAX;

/// How long a dynamic MAC entry lives without traffic, unless configured (NX-OS default).
pub const DEFAULT_MAC_AGING: Duration = Duration::from_secs(300);

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// A static MAC entry: a forwarding port's attached MAC in its home segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StaticMac {
    pub segment: Segment,
    pub mac: MacAddr,
    pub port: PortIndex,
}

/// A remote MAC from the overlay: behind the tunnel, at `vtep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InstalledMac {
    pub segment: Segment,
    pub mac: MacAddr,
    pub vtep: Ipv4Addr,
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
    flood: FastMap<Segment, Box<[PortIndex]>>,
    statics: Vec<StaticMac>,
    conflicts: Vec<StaticMacConflict>,
    mac_aging: Duration,
    /// Parallel to `ports`: the uplink each vEthernet is pinned to.
    pinned: Vec<Option<PortIndex>>,
    overlay: Overlay,
    /// Per bridge-domain: remote VTEPs, ascending, without duplicates or the local VTEP.
    remote_vteps: FastMap<Vni, Box<[Ipv4Addr]>>,
    installed: Vec<InstalledMac>,
    policy: Policies,
    /// `ip dhcp snooping`: server messages only from trusted ports, bindings from their ACKs.
    dhcp_snooping: bool,
    /// Parallel to `ports`: error-disabled by the datapath (see `Datapath::recover_port`).
    err_disabled: Vec<bool>,
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
            pinned: Vec::new(),
            overlay: Overlay::default(),
            remote_vteps: HashMap::default(),
            installed: Vec::new(),
            policy: Policies::default(),
            dhcp_snooping: false,
            err_disabled: Vec::new(),
        }
    }
}

impl Snapshot {
    /// Validates `ports` and precomputes flood lists, static MAC entries and pins.
    pub fn new(mut ports: Vec<PortConfig>) -> Result<Self, ConfigError> {
        if ports.len() >= usize::from(TUNNEL_INDEX) {
            return Err(ConfigError::TooManyPorts(ports.len()));
        }
        ports.sort_by_key(|port| port.id);
        if let Some(pair) = ports.windows(2).find(|pair| pair[0].id == pair[1].id) {
            return Err(ConfigError::DuplicatePort(pair[0].id));
        }
        for port in &ports {
            validate(port)?;
        }
        let policy = Policies::derive(&ports)?;
        let mut snapshot = Self {
            ids: ports.iter().map(|port| port.id).collect(),
            err_disabled: vec![false; ports.len()],
            ports,
            policy,
            ..Self::default()
        };
        snapshot.derive();
        snapshot.pin();
        Ok(snapshot)
    }

    /// The same snapshot with dynamic MAC entries aging after `aging` without traffic;
    /// zero means never (NX-OS `mac address-table aging-time 0`).
    pub fn with_mac_aging(mut self, aging: Duration) -> Self {
        self.mac_aging = aging;
        self
    }

    /// The same snapshot with `overlay` as the remote side of its bridge-domains.
    pub fn with_overlay(mut self, overlay: Overlay) -> Self {
        self.overlay = overlay;
        self.derive_overlay();
        self
    }

    /// A snapshot of `ports` with this one's switch-wide settings (MAC aging, DHCP snooping,
    /// overlay) and its pins ([`Self::carry_pins`]): how a port added, removed or changed keeps
    /// everything else as it was.
    pub fn with_ports(&self, mut ports: Vec<PortConfig>) -> Result<Self, ConfigError> {
        self.carry_pins(&mut ports);
        Ok(Self::new(ports)?
            .with_mac_aging(self.mac_aging)
            .with_dhcp_snooping(self.dhcp_snooping)
            .with_overlay(self.overlay.clone()))
    }

    /// The same snapshot with DHCP snooping on or off (`ip dhcp snooping`).
    pub fn with_dhcp_snooping(mut self, on: bool) -> Self {
        self.dhcp_snooping = on;
        self
    }

    /// `true` if DHCP snooping is on.
    #[inline]
    pub fn dhcp_snooping(&self) -> bool {
        self.dhcp_snooping
    }

    /// `true` if the datapath error-disabled port `id` (it then neither receives nor sends).
    pub fn is_err_disabled(&self, id: PortId) -> bool {
        self.index_of(id).is_some_and(|index| self.err_disabled[usize::from(index)])
    }

    /// The same snapshot with exactly the ports of `ids` error-disabled: out of every flood
    /// list, pin and static entry, as if their link were down.
    pub(crate) fn with_err_disabled(&self, ids: &std::collections::BTreeSet<PortId>) -> Self {
        let mut snapshot = self.clone();
        snapshot.err_disabled = snapshot.ports.iter().map(|port| ids.contains(&port.id)).collect();
        snapshot.statics.clear();
        snapshot.conflicts.clear();
        snapshot.derive();
        snapshot.pin();
        snapshot.derive_overlay();
        snapshot
    }

    /// `true` if the port at `index` receives and sends: forwarding by its config, and not
    /// error-disabled.
    #[inline]
    pub(crate) fn forwards(&self, index: PortIndex) -> bool {
        self.by_index(index).is_forwarding() && !self.err_disabled[usize::from(index)]
    }

    /// `true` if the port at `index` is error-disabled.
    #[inline]
    pub(crate) fn err_disabled(&self, index: PortIndex) -> bool {
        self.err_disabled.get(usize::from(index)).copied().unwrap_or(false)
    }

    /// The MAC aging time.
    pub fn mac_aging(&self) -> Duration {
        self.mac_aging
    }

    /// The overlay in force (empty unless set by [`Self::with_overlay`]).
    pub fn overlay(&self) -> &Overlay {
        &self.overlay
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

    /// The uplink the vEthernet `veth` is pinned to: `None` for a port that is not a
    /// forwarding vEthernet in a VLAN, or when no uplink can carry its VLAN.
    pub fn pinned_uplink(&self, veth: PortId) -> Option<PortId> {
        let index = self.index_of(veth)?;
        self.pin_of(index).map(|uplink| self.by_index(uplink).id)
    }

    /// Gives every vEthernet of `ports` (the next snapshot's) the uplink it is pinned to here as
    /// its preferred one, so that pins do not move without reason from one snapshot to the next.
    pub fn carry_pins(&self, ports: &mut [PortConfig]) {
        for port in ports.iter_mut().filter(|port| port.kind == crate::PortKind::Vethernet) {
            port.pin = self.pinned_uplink(port.id).or(port.pin);
        }
    }

    /// Every pin as (vEthernet, uplink), by ascending vEthernet.
    pub fn pins(&self) -> impl Iterator<Item = (PortId, PortId)> + '_ {
        self.ports
            .iter()
            .zip(&self.pinned)
            .filter_map(|(veth, uplink)| Some((veth.id, self.by_index((*uplink)?).id)))
    }

    /// The remote VTEPs of bridge-domain `vni`, ascending (none while the overlay is off).
    #[inline]
    pub fn remote_vteps(&self, vni: Vni) -> &[Ipv4Addr] {
        self.remote_vteps.get(&vni).map_or(&[], |vteps| vteps)
    }

    #[inline]
    pub(crate) fn index_of(&self, id: PortId) -> Option<PortIndex> {
        let index = self.ids.binary_search(&id).ok()?;
        PortIndex::try_from(index).ok()
    }

    /// Like [`Self::index_of`], and the tunnel too.
    #[inline]
    pub(crate) fn locate(&self, id: PortId) -> Option<PortIndex> {
        if id == TUNNEL_PORT { Some(TUNNEL_INDEX) } else { self.index_of(id) }
    }

    /// A configured port (not the tunnel).
    #[inline]
    pub(crate) fn by_index(&self, index: PortIndex) -> &PortConfig {
        &self.ports[usize::from(index)]
    }

    /// The port's number, the tunnel's included.
    #[inline]
    pub(crate) fn id_of(&self, index: PortIndex) -> PortId {
        if index == TUNNEL_INDEX { TUNNEL_PORT } else { self.by_index(index).id }
    }

    /// The port's name, the tunnel's included.
    pub(crate) fn name_of(&self, index: PortIndex) -> &str {
        if index == TUNNEL_INDEX { TUNNEL_NAME } else { &self.by_index(index).name }
    }

    /// `true` for an uplink (never the tunnel).
    #[inline]
    pub(crate) fn is_uplink(&self, index: PortIndex) -> bool {
        index != TUNNEL_INDEX && self.by_index(index).is_uplink()
    }

    #[inline]
    pub(crate) fn pin_of(&self, index: PortIndex) -> Option<PortIndex> {
        self.pinned.get(usize::from(index)).copied().flatten()
    }

    #[inline]
    pub(crate) fn flood_list(&self, segment: Segment) -> &[PortIndex] {
        self.flood.get(&segment).map_or(&[], |list| list)
    }

    /// Remote VTEPs a frame of `segment` is replicated to.
    #[inline]
    pub(crate) fn replication_list(&self, segment: Segment) -> &[Ipv4Addr] {
        match segment {
            Segment::BridgeDomain(vni) => self.remote_vteps(vni),
            Segment::Vlan(_) => &[],
        }
    }

    /// Access lists and flow accounting of every port.
    #[inline]
    pub(crate) fn policy(&self) -> &Policies {
        &self.policy
    }

    pub(crate) fn statics(&self) -> &[StaticMac] {
        &self.statics
    }

    pub(crate) fn installed(&self) -> &[InstalledMac] {
        &self.installed
    }

    /// Flood lists (forwarding ports per segment) and static entries (forwarding ports' MACs).
    fn derive(&mut self) {
        let mut flood: HashMap<Segment, Vec<PortIndex>, foldhash::fast::FixedState> = HashMap::default();
        let err_disabled = &self.err_disabled;
        let forwarding = (self.ports.iter().zip(0..))
            .filter(|&(port, index)| port.is_forwarding() && !err_disabled[usize::from(index)]);
        for (port, index) in forwarding {
            match &port.mode {
                PortMode::Access { segment } if port.carries(*segment) => {
                    flood.entry(*segment).or_default().push(index)
                }
                PortMode::Access { .. } => {} // an uplink in a bridge-domain: carries nothing
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

    /// Mac-pinning: every forwarding vEthernet whose home segment is a VLAN gets one usable
    /// uplink (forwarding, carrying that VLAN): its previous pin if still usable, else the one
    /// with the fewest pins, ties to the lowest LTL. Previous pins are kept first, so that a
    /// new port never takes a place an old one is coming back to.
    fn pin(&mut self) {
        let mut pinned: Vec<Option<PortIndex>> = vec![None; self.ports.len()];
        let mut load = vec![0usize; self.ports.len()];
        let wanted: Vec<(usize, u16)> = (self.ports.iter().enumerate())
            .filter(|&(index, port)| {
                !port.is_uplink() && self.err_disabled.get(index) == Some(&false) && port.is_forwarding()
            })
            .filter_map(|(index, port)| match port.home_segment() {
                Segment::Vlan(vlan) => Some((index, vlan)),
                Segment::BridgeDomain(_) => None,
            })
            .collect();
        let usable = |uplink: &PortConfig, vlan| {
            uplink.is_uplink() && uplink.is_forwarding() && uplink.carries(Segment::Vlan(vlan))
        };
        for &(index, vlan) in &wanted {
            let previous = self.ports[index].pin.and_then(|id| self.index_of(id));
            if let Some(uplink) = previous.filter(|&uplink| usable(self.by_index(uplink), vlan)) {
                pinned[index] = Some(uplink);
                load[usize::from(uplink)] += 1;
            }
        }
        for &(index, vlan) in &wanted {
            if pinned[index].is_some() {
                continue;
            }
            // Ports are by ascending id: `min_by_key` keeps the first of equals, the lowest LTL.
            let best = (self.ports.iter().zip(0..))
                .filter(|(uplink, _)| usable(uplink, vlan))
                .min_by_key(|&(_, uplink)| load[usize::from(uplink)])
                .map(|(_, uplink)| uplink);
            if let Some(uplink) = best {
                pinned[index] = Some(uplink);
                load[usize::from(uplink)] += 1;
            }
        }
        self.pinned = pinned;
    }

    /// Remote VTEPs per bridge-domain and remote MACs, from the overlay (none while it is off).
    /// A remote MAC that is also a local port's attached MAC in the segment is not installed:
    /// the local port is where it is.
    fn derive_overlay(&mut self) {
        self.remote_vteps = HashMap::default();
        self.installed.clear();
        let Some(local) = self.overlay.local_vtep else { return };
        for (vni, segment) in &self.overlay.segments {
            let mut vteps: Vec<Ipv4Addr> =
                segment.vteps.iter().copied().filter(|&vtep| vtep != local).collect();
            vteps.sort_unstable();
            vteps.dedup();
            self.remote_vteps.insert(*vni, vteps.into_boxed_slice());
            let domain = Segment::BridgeDomain(*vni);
            for &(mac, vtep) in &segment.macs {
                let local_port = self.statics.iter().any(|entry| entry.segment == domain && entry.mac == mac);
                let known = self.installed.iter().any(|entry| entry.segment == domain && entry.mac == mac);
                if vtep != local && !local_port && !known && !mac.is_multicast() && !mac.is_zero() {
                    self.installed.push(InstalledMac { segment: domain, mac, vtep });
                }
            }
        }
    }
}

fn validate(port: &PortConfig) -> Result<(), ConfigError> {
    let invalid = |vlan| ConfigError::InvalidVlan { port: port.id, vlan };
    if port.id == TUNNEL_PORT {
        return Err(ConfigError::ReservedPort(port.id));
    }
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
