//! The ports of this host, pure: lookups, local port numbers (LTLs), the bindings still to be
//! released, and what the datapath runs: every port under its profile's policy.

use std::collections::{BTreeMap, BTreeSet};

use datapath::{ConfigError, PortConfig, Snapshot};

use super::record::{PortRecord, PortsFile};
use super::status::PortState;
use crate::MAX_VIRTUAL_PORTS;
use crate::dataplane::{datapath_snapshot, port_config};
use crate::snapshot::PolicySnapshot;

/// The first vEthernet LTL (17–48 are uplinks).
pub const FIRST_VETH_LTL: u32 = 49;

/// The ports attached on this host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortTable {
    /// By LTL.
    ports: BTreeMap<u32, PortRecord>,
    /// iface-ids whose binding the supervisor still has to release.
    pending_unbinds: BTreeSet<String>,
}

impl PortTable {
    /// The table `ports.json` describes.
    pub fn from_file(file: PortsFile) -> Self {
        Self {
            ports: file.ports.into_iter().map(|record| (record.ltl, record)).collect(),
            pending_unbinds: file.pending_unbinds.into_iter().collect(),
        }
    }

    /// What `ports.json` should hold.
    pub fn to_file(&self) -> PortsFile {
        PortsFile {
            ports: self.ports.values().cloned().collect(),
            pending_unbinds: self.pending_unbinds.iter().cloned().collect(),
        }
    }

    /// The ports, by LTL.
    pub fn iter(&self) -> impl Iterator<Item = &PortRecord> {
        self.ports.values()
    }

    /// How many ports there are.
    pub fn len(&self) -> usize {
        self.ports.len()
    }

    /// True when no port is attached.
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }

    /// The lowest LTL no port holds, if the module has room.
    pub fn free_ltl(&self) -> Option<u32> {
        (FIRST_VETH_LTL..FIRST_VETH_LTL + MAX_VIRTUAL_PORTS).find(|ltl| !self.ports.contains_key(ltl))
    }

    /// The port of `iface_id`.
    pub fn by_iface_id(&self, iface_id: &str) -> Option<&PortRecord> {
        self.ports.values().find(|record| record.iface_id == iface_id)
    }

    /// The port that is VethernetN.
    pub fn by_veth(&self, veth: u32) -> Option<&PortRecord> {
        self.ports.values().find(|record| record.veth == veth)
    }

    /// The port switching host interface `ifname`.
    pub fn by_host_ifname(&self, ifname: &str) -> Option<&PortRecord> {
        self.ports.values().find(|record| record.host_ifname == ifname)
    }

    /// The port on `ltl`.
    pub fn by_ltl(&self, ltl: u32) -> Option<&PortRecord> {
        self.ports.get(&ltl)
    }

    /// The port whose container end is `ifname` in the namespace `target` names, or in the
    /// namespace with inode `netns_inode` (`detach --pid` of a port attached by `--netns`).
    pub fn by_interface(
        &self,
        target: &super::TargetSpec,
        netns_inode: Option<u64>,
        ifname: &str,
    ) -> Option<&PortRecord> {
        self.ports.values().find(|record| {
            record.container_ifname == ifname
                && (record.target.as_ref() == Some(target) || netns_inode == Some(record.netns_inode))
        })
    }

    /// Adds (or replaces) the port on `record.ltl`.
    pub fn insert(&mut self, record: PortRecord) {
        self.pending_unbinds.remove(&record.iface_id);
        self.ports.insert(record.ltl, record);
    }

    /// Removes the port on `ltl`.
    pub fn remove(&mut self, ltl: u32) -> Option<PortRecord> {
        self.ports.remove(&ltl)
    }

    /// The port on `ltl`, to change.
    pub fn get_mut(&mut self, ltl: u32) -> Option<&mut PortRecord> {
        self.ports.get_mut(&ltl)
    }

    /// Remembers that `iface_id`'s binding must still be released.
    pub fn queue_unbind(&mut self, iface_id: &str) {
        self.pending_unbinds.insert(iface_id.to_owned());
    }

    /// The bindings still to release.
    pub fn pending_unbinds(&self) -> Vec<String> {
        self.pending_unbinds.iter().cloned().collect()
    }

    /// `iface_id`'s binding was released.
    pub fn unbound(&mut self, iface_id: &str) {
        self.pending_unbinds.remove(iface_id);
    }

    /// The policies the ports run on: the agent's snapshot, except where a binding brought a
    /// policy the snapshot has not caught up with yet (a profile created a moment before the
    /// attach). A snapshot at or past a bound policy's revision is authoritative, including
    /// about the profile being gone.
    pub fn effective_policies(&self, snapshot: &PolicySnapshot) -> PolicySnapshot {
        let mut effective = snapshot.clone();
        for entry in self.ports.values().filter_map(|record| record.bound_policy.as_ref()) {
            let newer =
                effective.policies.get(&entry.policy.name).is_none_or(|held| held.revision < entry.revision);
            if entry.revision > snapshot.revision && newer {
                effective.policies.insert(entry.policy.name.clone(), entry.clone());
            }
        }
        effective
    }

    /// Drops bound policies the snapshot has caught up with; true if any was dropped.
    pub fn forget_caught_up_policies(&mut self, snapshot: &PolicySnapshot) -> bool {
        let mut changed = false;
        for record in self.ports.values_mut() {
            if record.bound_policy.as_ref().is_some_and(|entry| entry.revision <= snapshot.revision) {
                record.bound_policy = None;
                changed = true;
            }
        }
        changed
    }

    /// The datapath configuration of every port under `snapshot`.
    pub fn datapath_snapshot(&self, snapshot: &PolicySnapshot) -> Result<Snapshot, ConfigError> {
        let ports: Vec<_> = self.ports.values().map(PortRecord::attached_port).collect();
        datapath_snapshot(&self.effective_policies(snapshot), &ports)
    }

    /// The datapath configuration of the port on `ltl` under `snapshot`.
    pub fn port_config(&self, ltl: u32, snapshot: &PolicySnapshot) -> Option<PortConfig> {
        let record = self.ports.get(&ltl)?;
        Some(port_config(&record.attached_port(), &self.effective_policies(snapshot)))
    }

    /// Every port's state under `snapshot`, by iface-id.
    pub fn states(&self, snapshot: &PolicySnapshot) -> BTreeMap<String, PortState> {
        let effective = self.effective_policies(snapshot);
        self.ports
            .values()
            .map(|record| (record.iface_id.clone(), PortState::of(effective.get(&record.profile))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use datapath::{PortId, PortMode, Segment};

    use super::*;
    use crate::ports::TargetSpec;
    use crate::ports::record::testing::record;
    use crate::snapshot::PolicyEntry;
    use crate::snapshot::testing::access_policy;

    fn snapshot(revision: i64, entries: &[(&str, u16, i64)]) -> PolicySnapshot {
        let policies = entries
            .iter()
            .map(|(name, vlan, revision)| {
                ((*name).to_owned(), PolicyEntry { revision: *revision, policy: access_policy(name, *vlan) })
            })
            .collect();
        PolicySnapshot { revision, policies }
    }

    /// The VLAN the port on `ltl` forwards in, if it forwards.
    fn vlan_of(table: &PortTable, ltl: u32, policies: &PolicySnapshot) -> Option<u16> {
        let config = table.port_config(ltl, policies)?;
        match config.mode {
            PortMode::Access { segment: Segment::Vlan(vlan) } if config.is_forwarding() => Some(vlan),
            _ => None,
        }
    }

    #[test]
    fn ltls_fill_the_lowest_gap() {
        let mut table = PortTable::default();
        assert_eq!(table.free_ltl(), Some(49));
        table.insert(record(1, 49, "a"));
        table.insert(record(2, 50, "a"));
        table.insert(record(3, 52, "a"));
        assert_eq!(table.free_ltl(), Some(51));
        table.remove(49);
        assert_eq!(table.free_ltl(), Some(49));
        let mut full = PortTable::default();
        for n in 0..MAX_VIRTUAL_PORTS {
            full.insert(record(n + 1, FIRST_VETH_LTL + n, "a"));
        }
        assert_eq!(full.free_ltl(), None);
    }

    #[test]
    fn ports_are_found_every_way_a_detach_names_them() {
        let mut table = PortTable::default();
        table.insert(record(7, 49, "a"));
        let port = record(7, 49, "a");
        assert_eq!(table.by_iface_id("port-7"), Some(&port));
        assert_eq!(table.by_veth(7), Some(&port));
        assert_eq!(table.by_ltl(49), Some(&port));
        assert_eq!(table.by_interface(&TargetSpec::Netns("ns7".into()), None, "eth0"), Some(&port));
        assert_eq!(table.by_interface(&TargetSpec::Netns("ns7".into()), None, "eth1"), None);
        // The same namespace named by a process in it.
        assert_eq!(table.by_interface(&TargetSpec::Pid(99), Some(port.netns_inode), "eth0"), Some(&port));
        assert_eq!(table.by_interface(&TargetSpec::Pid(99), Some(1), "eth0"), None);
        assert_eq!(table.by_veth(8), None);
    }

    #[test]
    fn a_bound_policy_counts_only_until_the_snapshot_catches_up() {
        let mut table = PortTable::default();
        let mut port = record(1, 49, "new");
        port.bound_policy = Some(PolicyEntry { revision: 12, policy: access_policy("new", 300) });
        table.insert(port);

        // The snapshot has not seen revision 12: the binding's policy is used.
        let behind = snapshot(10, &[]);
        assert_eq!(vlan_of(&table, 49, &behind), Some(300));
        assert!(!table.clone().forget_caught_up_policies(&behind));

        // At revision 12 the snapshot decides, even that the profile is gone again.
        let caught_up = snapshot(13, &[("new", 301, 13)]);
        assert_eq!(vlan_of(&table, 49, &caught_up), Some(301));
        let gone = snapshot(14, &[]);
        assert_eq!(vlan_of(&table, 49, &gone), None);
        assert_eq!(table.states(&gone)["port-1"].reason, "port-profile not found");
        assert!(table.forget_caught_up_policies(&gone));
        assert_eq!(table.by_ltl(49).and_then(|record| record.bound_policy.as_ref()), None);
    }

    #[test]
    fn the_datapath_snapshot_holds_every_port() {
        let mut table = PortTable::default();
        table.insert(record(1, 49, "a"));
        table.insert(record(2, 50, "missing"));
        let config = table.datapath_snapshot(&snapshot(3, &[("a", 100, 3)])).expect("valid");
        assert_eq!(config.ports().len(), 2);
        assert!(config.port(PortId(49)).is_some_and(PortConfig::is_forwarding));
        assert!(config.port(PortId(50)).is_some_and(|port| !port.is_forwarding()));
    }

    #[test]
    fn pending_unbinds_survive_the_file_and_clear_on_reattach() {
        let mut table = PortTable::default();
        table.queue_unbind("port-1");
        table.queue_unbind("port-2");
        let reloaded = PortTable::from_file(table.to_file());
        assert_eq!(reloaded.pending_unbinds(), vec!["port-1".to_owned(), "port-2".to_owned()]);
        table.insert(record(1, 49, "a"));
        table.unbound("port-2");
        assert!(table.pending_unbinds().is_empty());
    }
}
