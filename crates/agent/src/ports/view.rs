//! What the local API answers about ports: plain data that `vemcmd` and `switchyard attach`
//! print. Built here from the table, the datapath config and counters, pure.

use datapath::{DropCounters, MacKind, MacTableRow, PortConfig, PortMode, Segment, TrafficCounters};
use serde::{Deserialize, Serialize};

use super::record::PortRecord;
use super::status::{Counted, PortState};

/// The answer to an attach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedView {
    /// N of VethernetN.
    pub veth: u32,
    /// The port's iface-id (generated when the attach gave none).
    pub iface_id: String,
    /// The host end of the veth pair.
    pub host_ifname: String,
    /// The local port number.
    pub ltl: u32,
    /// Forwarding now.
    pub up: bool,
    /// Why not, when down.
    pub reason: String,
}

/// The answer to a detach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetachedView {
    /// N of VethernetN.
    pub veth: u32,
    /// The port's iface-id.
    pub iface_id: String,
    /// What became of the vEthernet number: `kept` (static port-binding), `released`, or
    /// `pending` (the supervisor is unreachable; it is told when it answers).
    pub binding: String,
}

/// One port for `vemcmd show port`, `show port vlans`, `show stats` and `show drops`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortView {
    pub ltl: u32,
    pub veth: u32,
    pub iface_id: String,
    /// The host end (`Vem Port`).
    pub host_ifname: String,
    pub profile: String,
    pub owner_name: String,
    pub container_ifname: String,
    /// The attached MAC, `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// The policy's admin state (`no shutdown`, `state enabled`).
    pub admin_up: bool,
    /// The host end has carrier (the container end is up).
    pub link_up: bool,
    /// The datapath forwards for it.
    pub forwarding: bool,
    /// Why it does not, when it does not.
    pub reason: String,
    /// `access` or `trunk`.
    pub mode: String,
    /// The access VLAN, or a trunk's native VLAN.
    pub vlan: u16,
    /// The VLANs it carries, as `100` or `100-109,200`.
    pub allowed_vlans: String,
    pub rx: Traffic,
    pub tx: Traffic,
    /// Drops by reason (only reasons that happened).
    pub drops: Vec<DropCount>,
    /// Frames lost coming in ("Input Packet Drops") and going out ("Output Packet Drops").
    pub rx_drops: u64,
    pub tx_drops: u64,
}

/// One direction's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traffic {
    pub packets: u64,
    pub bytes: u64,
    pub unicast: u64,
    pub multicast: u64,
    pub broadcast: u64,
    pub flood: u64,
}

/// Drops of one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropCount {
    /// The reason, for people (`port-profile not found`).
    pub reason: String,
    pub count: u64,
}

/// Every port, and the switch's drops.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortsView {
    pub ports: Vec<PortView>,
    /// Drops by reason over the whole switch (including frames of ports since removed).
    pub total_drops: Vec<DropCount>,
}

/// One MAC table entry for `vemcmd show l2`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacView {
    pub vlan: u16,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// `Static` or `Dynamic`.
    pub kind: String,
    pub ltl: u32,
    /// `Veth3`, or empty when the LTL is no vEthernet of this host.
    pub port: String,
    /// Seconds since last seen (0 for static entries).
    pub age_secs: u64,
}

/// What a trace did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceView {
    /// The ingress port: `Veth1 (LTL 49)`.
    pub port: String,
    /// Each decision, in order.
    pub lines: Vec<String>,
}

impl From<&TrafficCounters> for Traffic {
    fn from(counters: &TrafficCounters) -> Self {
        Self {
            packets: counters.packets,
            bytes: counters.bytes,
            unicast: counters.unicast,
            multicast: counters.multicast,
            broadcast: counters.broadcast,
            flood: counters.flood,
        }
    }
}

/// The reasons `drops` counted, in counter order.
pub fn drop_counts(drops: &DropCounters) -> Vec<DropCount> {
    drops
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(reason, count)| DropCount { reason: reason.text().to_owned(), count })
        .collect()
}

/// One port's view.
pub fn port_view(
    record: &PortRecord,
    config: &PortConfig,
    state: PortState,
    counted: Option<&Counted>,
    link_up: bool,
) -> PortView {
    let (mode, vlan, allowed_vlans) = match &config.mode {
        PortMode::Access { segment: Segment::Vlan(vlan) } => ("access", *vlan, vlan.to_string()),
        PortMode::Access { segment } => ("access", 0, segment.to_string()),
        PortMode::Trunk { allowed, native } => ("trunk", *native, allowed.to_string()),
    };
    let counted = counted.cloned().unwrap_or_default();
    let stats = &counted.stats;
    let mut drops = drop_counts(&stats.drops);
    drops.extend(
        counted
            .device_drops()
            .into_iter()
            .filter(|(_, _, count)| *count > 0)
            .map(|(_, reason, count)| DropCount { reason: reason.to_owned(), count }),
    );
    PortView {
        ltl: record.ltl,
        veth: record.veth,
        iface_id: record.iface_id.clone(),
        host_ifname: record.host_ifname.clone(),
        profile: record.profile.clone(),
        owner_name: record.owner_name.clone(),
        container_ifname: record.container_ifname.clone(),
        mac: record.mac.colon().to_string(),
        admin_up: config.admin_up,
        link_up,
        forwarding: config.is_forwarding(),
        reason: state.reason.to_owned(),
        mode: mode.to_owned(),
        vlan,
        allowed_vlans,
        rx: Traffic::from(&stats.rx),
        tx: Traffic::from(&stats.tx),
        rx_drops: counted.rx_drops(),
        tx_drops: counted.tx_drops(),
        drops,
    }
}

/// The MAC table rows of `vlan` (every VLAN when `None`), with `port_name` naming LTLs.
pub fn mac_views(rows: &[MacTableRow], vlan: Option<u16>, port_name: impl Fn(u32) -> String) -> Vec<MacView> {
    rows.iter()
        .filter_map(|row| {
            let Segment::Vlan(row_vlan) = row.segment else { return None };
            if vlan.is_some_and(|wanted| wanted != row_vlan) {
                return None;
            }
            Some(MacView {
                vlan: row_vlan,
                mac: row.mac.colon().to_string(),
                kind: match row.kind {
                    MacKind::Static => "Static",
                    MacKind::Dynamic => "Dynamic",
                    MacKind::Installed => "SwInsta",
                }
                .to_owned(),
                ltl: row.port.0,
                port: port_name(row.port.0),
                age_secs: row.age_secs,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use datapath::{PortId, VlanBitmap};
    use wire::MacAddr;

    use super::*;
    use crate::ports::record::testing::record;

    #[test]
    fn port_views_say_mode_vlans_and_state() {
        let record = record(2, 50, "web");
        let access = PortConfig::access(PortId(50), "Veth2", Segment::Vlan(100), "web");
        let view = port_view(
            &record,
            &access,
            PortState { up: true, reason: "", mode: "access", vlan: 100 },
            None,
            true,
        );
        assert_eq!((view.mode.as_str(), view.vlan, view.allowed_vlans.as_str()), ("access", 100, "100"));
        assert!(view.forwarding && view.admin_up && view.link_up);
        let allowed: VlanBitmap = [100, 101, 102, 200].into_iter().collect();
        let trunk = PortConfig::trunk(PortId(50), "Veth2", allowed, 1, "web");
        let view = port_view(&record, &trunk, PortState::of(None), None, false);
        assert_eq!((view.mode.as_str(), view.vlan), ("trunk", 1));
        assert!(view.allowed_vlans.starts_with("100-102"), "{}", view.allowed_vlans);
    }

    #[test]
    fn mac_views_filter_by_vlan() {
        let row = |vlan, last| MacTableRow {
            segment: Segment::Vlan(vlan),
            mac: MacAddr([2, 0, 0, 0, 0, last]),
            kind: MacKind::Dynamic,
            port: PortId(49),
            age_secs: 3,
            remote_vtep: None,
        };
        let rows = [row(100, 1), row(200, 2)];
        let views = mac_views(&rows, Some(200), |ltl| format!("L{ltl}"));
        assert_eq!(views.len(), 1);
        assert_eq!(
            (views[0].mac.as_str(), views[0].kind.as_str(), views[0].port.as_str()),
            ("02:00:00:00:00:02", "Dynamic", "L49")
        );
        assert_eq!(mac_views(&rows, None, |_| String::new()).len(), 2);
    }
}
