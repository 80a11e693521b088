//! What the local API and the supervisor's report say about uplinks, pure.

use datapath::{PortConfig, PortMode, Segment};
use serde::{Deserialize, Serialize};

use super::set::Uplink;
use crate::ports::status::{Counted, counters};
use crate::ports::view::{DropCount, Traffic, all_drops};

/// One uplink for `vemcmd show port|port vlans|stats|drops|pinning` and the port report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UplinkView {
    /// 16 + K.
    pub ltl: u32,
    /// K of EthernetM/K.
    pub index: u32,
    /// `Eth3/1` (`Eth-/1` before the module has a number).
    pub name: String,
    /// The host NIC (`Vem Port`).
    pub iface: String,
    pub profile: String,
    /// The profile's admin state.
    pub admin_up: bool,
    /// The NIC is up with carrier.
    pub link_up: bool,
    /// The datapath forwards on it.
    pub forwarding: bool,
    /// Why not, when it does not.
    pub reason: String,
    /// `trunk` or `access`.
    pub mode: String,
    /// A trunk's native VLAN, or the access VLAN.
    pub native_vlan: u16,
    /// The VLANs it carries, `100-109,200`.
    pub allowed_vlans: String,
    /// The mac-pinning sub-group: K − 1.
    pub sgid: u32,
    /// The vEthernets pinned to it: (N of VethernetN, LTL).
    pub pinned: Vec<(u32, u32)>,
    pub rx: Traffic,
    pub tx: Traffic,
    /// Drops by reason (only reasons that happened).
    pub drops: Vec<DropCount>,
    pub rx_drops: u64,
    pub tx_drops: u64,
}

/// Uplink `uplink`'s view: its config in force, its state (`reason` empty when up), its
/// counters and the vEthernets pinned to it.
pub fn uplink_view(
    uplink: &Uplink,
    config: &PortConfig,
    reason: &str,
    counted: Option<&Counted>,
    pinned: Vec<(u32, u32)>,
) -> UplinkView {
    let (mode, native_vlan, allowed_vlans) = match &config.mode {
        PortMode::Trunk { allowed, native } => ("trunk", *native, allowed.to_string()),
        PortMode::Access { segment: Segment::Vlan(vlan) } => ("access", *vlan, vlan.to_string()),
        PortMode::Access { segment } => ("access", 0, segment.to_string()),
    };
    let counted = counted.cloned().unwrap_or_default();
    let drops = all_drops(&counted);
    UplinkView {
        ltl: uplink.port().0,
        index: uplink.index,
        name: config.name.clone(),
        iface: uplink.iface.clone(),
        profile: uplink.profile.clone(),
        admin_up: config.admin_up,
        link_up: uplink.link_up,
        forwarding: reason.is_empty(),
        reason: reason.to_owned(),
        mode: mode.to_owned(),
        native_vlan,
        allowed_vlans,
        sgid: uplink.index - 1,
        pinned,
        rx: Traffic::from(&counted.stats.rx),
        tx: Traffic::from(&counted.stats.tx),
        drops,
        rx_drops: counted.rx_drops(),
        tx_drops: counted.tx_drops(),
    }
}

/// The report's `UplinkStatus` of `view`, with `counted`'s counters.
pub fn uplink_status(view: &UplinkView, counted: Option<&Counted>) -> proto::UplinkStatus {
    proto::UplinkStatus {
        index: view.index,
        name: view.iface.clone(),
        profile: view.profile.clone(),
        up: view.forwarding,
        reason: view.reason.clone(),
        mode: view.mode.clone(),
        native_vlan: u32::from(view.native_vlan),
        allowed_vlans: view.allowed_vlans.clone(),
        counters: Some(counted.map(counters).unwrap_or_default()),
        pinned_veths: view.pinned.iter().map(|(veth, _)| *veth).collect(),
    }
}
