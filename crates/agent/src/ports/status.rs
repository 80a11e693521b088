//! A port's state as the supervisor hears it (up, or down with a reason in NX-OS words), and the
//! complete `ReportPorts` message built from the table, the counters and the MAC table. Pure.

use std::collections::{BTreeMap, HashMap};

use config::{EffectivePolicy, SwitchportMode};
use datapath::{Direction, MacKind, MacTableRow, PortStats, Segment};

use super::table::PortTable;
use crate::dataplane::DeviceCounters;

/// Why a port is down, in the words of `show interface brief` (the supervisor's
/// `down_reason`s).
pub mod down_reason {
    /// The port's profile does not exist (yet).
    pub const PROFILE_NOT_FOUND: &str = "port-profile not found";
    /// The profile says `shutdown`.
    pub const ADMIN_DOWN: &str = "administratively down";
    /// The profile says `no state enabled`.
    pub const PROFILE_DISABLED: &str = "port-profile disabled";
}

/// What a port's policy makes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortState {
    /// Forwarding.
    pub up: bool,
    /// Why not, when down; empty when up.
    pub reason: &'static str,
    /// `access` or `trunk`.
    pub mode: &'static str,
    /// The access VLAN (0 for trunks and for ports without a profile).
    pub vlan: u16,
}

impl PortState {
    /// The state of a port whose profile's policy is `policy` (`None`: not found).
    pub fn of(policy: Option<&EffectivePolicy>) -> Self {
        let Some(policy) = policy else {
            return Self { up: false, reason: down_reason::PROFILE_NOT_FOUND, mode: "access", vlan: 0 };
        };
        let reason = if policy.shutdown {
            down_reason::ADMIN_DOWN
        } else if !policy.state_enabled {
            down_reason::PROFILE_DISABLED
        } else {
            ""
        };
        let (mode, vlan) = match policy.mode {
            SwitchportMode::Access => ("access", policy.access_vlan),
            SwitchportMode::Trunk => ("trunk", 0),
        };
        Self { up: reason.is_empty(), reason, mode, vlan }
    }
}

/// What was counted for one port: by the datapath, and by its device (frames lost before the
/// datapath saw them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counted {
    pub stats: PortStats,
    pub device: DeviceCounters,
}

impl Counted {
    /// Frames the port's device lost on the way in, by reason: (name, words, count). The
    /// datapath never saw them, so its drop counters cannot hold them.
    pub fn device_drops(&self) -> [(&'static str, &'static str, u64); 2] {
        self.device.drops().reasons()
    }

    /// Every input drop: the datapath's and the device's.
    pub fn rx_drops(&self) -> u64 {
        let device: u64 = self.device_drops().iter().map(|(_, _, count)| count).sum();
        self.stats.drops.in_direction(Direction::Input) + device
    }

    /// Every output drop.
    pub fn tx_drops(&self) -> u64 {
        self.stats.drops.in_direction(Direction::Output)
    }
}

/// A port's counters as the protocol carries them.
pub fn counters(counted: &Counted) -> proto::PortCounters {
    let stats = &counted.stats;
    proto::PortCounters {
        rx_packets: stats.rx.packets,
        rx_bytes: stats.rx.bytes,
        rx_unicast: stats.rx.unicast,
        rx_multicast: stats.rx.multicast,
        rx_broadcast: stats.rx.broadcast,
        tx_packets: stats.tx.packets,
        tx_bytes: stats.tx.bytes,
        tx_unicast: stats.tx.unicast,
        tx_multicast: stats.tx.multicast,
        tx_broadcast: stats.tx.broadcast,
        tx_flood: stats.tx.flood,
        rx_drops: counted.rx_drops(),
        tx_drops: counted.tx_drops(),
        drops_by_reason: stats
            .drops
            .iter()
            .map(|(reason, count)| (reason.name(), count))
            .chain(counted.device_drops().into_iter().map(|(name, _, count)| (name, count)))
            .filter(|(_, count)| *count > 0)
            .map(|(name, count)| (name.to_owned(), count))
            .collect::<HashMap<_, _>>(),
    }
}

/// The complete report of this host: every port with its state and counters (`counted` by LTL),
/// and the MAC table's entries — bridge-domain ones named from `bridge_domains` (segment id →
/// name), remote ones with their VTEP as the port.
pub fn report(
    module: u32,
    host_id: &str,
    table: &PortTable,
    states: &BTreeMap<String, PortState>,
    counted: &BTreeMap<u32, Counted>,
    macs: &[MacTableRow],
    bridge_domains: &BTreeMap<u32, String>,
) -> proto::PortReport {
    let ports = table
        .iter()
        .map(|record| {
            let state = states.get(&record.iface_id).copied().unwrap_or_else(|| PortState::of(None));
            proto::PortStatus {
                iface_id: record.iface_id.clone(),
                veth: record.veth,
                up: state.up,
                reason: state.reason.to_owned(),
                mode: state.mode.to_owned(),
                vlan: u32::from(state.vlan),
                counters: Some(counted.get(&record.ltl).map(counters).unwrap_or_default()),
            }
        })
        .collect();
    let macs = macs
        .iter()
        .filter_map(|row| {
            let (vlan, segment_id) = match row.segment {
                Segment::Vlan(vlan) => (vlan, 0),
                Segment::BridgeDomain(vni) => (0, vni.get()),
            };
            // A bridge-domain no local policy names any more is on its way out: not reported.
            let bridge_domain = match segment_id {
                0 => String::new(),
                id => bridge_domains.get(&id)?.clone(),
            };
            let record = table.by_ltl(row.port.0);
            let port = match row.remote_vtep {
                Some(vtep) => vtep.to_string(),
                None => record.map_or_else(|| format!("LTL {}", row.port.0), |record| record.short_name()),
            };
            Some(proto::MacEntry {
                vlan: u32::from(vlan),
                mac: row.mac.colon().to_string(),
                kind: match row.kind {
                    MacKind::Static => "static",
                    MacKind::Dynamic => "dynamic",
                    MacKind::Installed => "installed",
                }
                .to_owned(),
                age_seconds: u32::try_from(row.age_secs).unwrap_or(u32::MAX),
                veth: record.map_or(0, |record| record.veth),
                port,
                bridge_domain,
                segment_id,
                vtep: row.remote_vtep.map(|vtep| vtep.to_string()).unwrap_or_default(),
            })
        })
        .collect();
    proto::PortReport { module, host_id: host_id.to_owned(), ports, macs, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use datapath::PortId;
    use wire::MacAddr;

    use super::*;
    use crate::ports::record::testing::record;
    use crate::snapshot::testing::access_policy;

    #[test]
    fn states_name_why_a_port_is_down() {
        let up = access_policy("web", 100);
        assert_eq!(PortState::of(Some(&up)), PortState { up: true, reason: "", mode: "access", vlan: 100 });
        assert_eq!(PortState::of(None).reason, "port-profile not found");
        let shut = EffectivePolicy { shutdown: true, ..up.clone() };
        assert_eq!(
            (PortState::of(Some(&shut)).up, PortState::of(Some(&shut)).reason),
            (false, "administratively down")
        );
        let disabled = EffectivePolicy { state_enabled: false, ..up.clone() };
        assert_eq!(PortState::of(Some(&disabled)).reason, "port-profile disabled");
        let trunk = EffectivePolicy { mode: SwitchportMode::Trunk, ..up };
        assert_eq!((PortState::of(Some(&trunk)).mode, PortState::of(Some(&trunk)).vlan), ("trunk", 0));
    }

    #[test]
    fn reports_are_complete() {
        let mut table = PortTable::default();
        table.insert(record(1, 49, "web"));
        table.insert(record(2, 50, "gone"));
        let states = BTreeMap::from([
            ("port-1".to_owned(), PortState::of(Some(&access_policy("web", 100)))),
            ("port-2".to_owned(), PortState::of(None)),
        ]);
        let mut counted = Counted::default();
        counted.stats.rx.packets = 5;
        counted.stats.tx.flood = 2;
        counted.device.rx_kernel_drops = 4;
        let stats = BTreeMap::from([(49, counted)]);
        let macs = [
            MacTableRow {
                segment: Segment::Vlan(100),
                mac: MacAddr([2, 0, 0, 0, 0, 1]),
                kind: MacKind::Static,
                port: PortId(49),
                age_secs: 0,
                remote_vtep: None,
            },
            MacTableRow {
                segment: Segment::Vlan(100),
                mac: MacAddr([2, 0, 0, 0, 0, 9]),
                kind: MacKind::Dynamic,
                port: PortId(17),
                age_secs: 12,
                remote_vtep: None,
            },
            MacTableRow {
                segment: Segment::BridgeDomain(wire::Vni::new(5000).expect("24 bits")),
                mac: MacAddr([2, 0, 0, 0, 0, 7]),
                kind: MacKind::Installed,
                port: datapath::TUNNEL_PORT,
                age_secs: 0,
                remote_vtep: Some([10, 77, 0, 12].into()),
            },
            MacTableRow {
                segment: Segment::BridgeDomain(wire::Vni::new(6000).expect("24 bits")),
                mac: MacAddr([2, 0, 0, 0, 0, 8]),
                kind: MacKind::Dynamic,
                port: PortId(49),
                age_secs: 1,
                remote_vtep: None,
            },
        ];
        let domains = BTreeMap::from([(5000, "tenant-red".to_owned())]);
        let report = report(3, "host", &table, &states, &stats, &macs, &domains);
        assert_eq!((report.module, report.host_id.as_str(), report.ports.len()), (3, "host", 2));
        let first = &report.ports[0];
        assert_eq!((first.veth, first.up, first.vlan, first.mode.as_str()), (1, true, 100, "access"));
        let counters = first.counters.as_ref().expect("counters");
        assert_eq!((counters.rx_packets, counters.tx_flood, counters.rx_drops), (5, 2, 4));
        assert_eq!(counters.drops_by_reason, HashMap::from([("rx_buffer_full".to_owned(), 4)]));
        let second = &report.ports[1];
        assert_eq!((second.up, second.reason.as_str()), (false, "port-profile not found"));
        assert_eq!(second.counters, Some(proto::PortCounters::default()));
        // The entry of bridge-domain 6000, which no policy names, is left out.
        assert_eq!(report.macs.len(), 3);
        let remote = &report.macs[2];
        assert_eq!(
            (remote.bridge_domain.as_str(), remote.segment_id, remote.vtep.as_str(), remote.port.as_str()),
            ("tenant-red", 5000, "10.77.0.12", "10.77.0.12")
        );
        assert_eq!((remote.vlan, remote.kind.as_str()), (0, "installed"));
        assert!(report.macs[..2].iter().all(|entry| entry.bridge_domain.is_empty() && entry.vtep.is_empty()));
        assert_eq!(
            (report.macs[0].veth, report.macs[0].port.as_str(), report.macs[0].kind.as_str()),
            (1, "Veth1", "static")
        );
        assert_eq!(
            (report.macs[1].veth, report.macs[1].port.as_str(), report.macs[1].age_seconds),
            (0, "LTL 17", 12)
        );
    }

    #[test]
    fn drops_are_reported_by_reason_name() {
        use datapath::{Datapath, RxBatch, Settings, TxBatch};
        // A real datapath counts one drop: a frame on a port whose profile is missing.
        let table = {
            let mut table = PortTable::default();
            table.insert(record(1, 49, "missing"));
            table
        };
        let config = table.datapath_snapshot(&crate::PolicySnapshot::default()).expect("valid");
        let mut datapath = Datapath::new(&Settings::default(), std::sync::Arc::new(config));
        let mut rx = RxBatch::new(1, 128);
        assert!(rx.push(PortId(49), &[0xff; 60]));
        datapath.process(std::time::Duration::ZERO, &rx, &mut TxBatch::new(4));
        let stats = datapath.port_stats(PortId(49)).expect("stats").clone();
        let counters = counters(&Counted { stats, device: DeviceCounters::default() });
        assert_eq!(counters.drops_by_reason, HashMap::from([("profile_missing".to_owned(), 1)]));
        assert_eq!((counters.rx_drops, counters.tx_drops), (1, 0));
    }
}
