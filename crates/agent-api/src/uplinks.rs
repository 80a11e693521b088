//! What the local API says about uplinks.

use serde::{Deserialize, Serialize};

use crate::ports::{DropCount, Traffic};

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
