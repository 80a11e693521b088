//! What the local API and the supervisor's report say about uplinks, pure.

use datapath::{PortConfig, PortMode, Segment};

use super::set::Uplink;
use crate::ports::status::{Counted, counters};
use crate::ports::view::{all_drops, traffic};
pub use agent_api::uplinks::UplinkView;

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
        rx: traffic(&counted.stats.rx),
        tx: traffic(&counted.stats.tx),
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
