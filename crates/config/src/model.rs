//! The configuration model: what `show running-config` describes.
//!
//! Everything here is plain data with serde derives; it is the JSON form served by the REST API
//! and the form persisted in the store. The text form (NX-OS language) lives in `parse`/`print`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::vlan_set::VlanSet;

/// A VLAN id, 1–4094.
pub type VlanId = u16;

/// The lowest and highest VLAN ids a user may configure.
pub const VLAN_MIN: VlanId = 1;
pub const VLAN_MAX: VlanId = 4094;

/// The whole configuration of one Switchyard domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Config {
    /// Configured VLANs by id.
    #[serde(default)]
    pub vlans: BTreeMap<VlanId, Vlan>,
    /// Port-profiles by name.
    #[serde(default)]
    pub port_profiles: BTreeMap<String, PortProfile>,
}

/// `vlan N` with its sub-mode lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Vlan {
    /// `name TEXT`; `None` prints nothing (NX-OS shows the default `VLAN0100`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `port-profile type vethernet|ethernet NAME`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ProfileType {
    /// Container / VM ports (vEthernet).
    #[default]
    Vethernet,
    /// Uplinks (host NICs).
    Ethernet,
}

/// `switchport mode access|trunk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SwitchportMode {
    Access,
    Trunk,
}

/// `port-binding static|dynamic|ephemeral`: what happens to a VethN number when its port detaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PortBinding {
    /// The number stays with the interface (iface-id) after detach.
    Static,
    /// The number is kept while attached, released on detach.
    Dynamic,
    /// Like dynamic; kept for NX-OS compatibility.
    Ephemeral,
}

/// One port-profile as configured (before inheritance is evaluated).
///
/// Every attribute is `Option`: `None` means "not configured here", which matters for
/// `inherit port-profile`: an unset attribute is taken from the parent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PortProfile {
    #[serde(rename = "type", default)]
    pub kind: ProfileType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<SwitchportMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_vlan: Option<VlanId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "100-109")]
    pub trunk_allowed_vlans: Option<VlanSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trunk_native_vlan: Option<VlanId>,
    /// `channel-group auto mode on mac-pinning`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_group_mac_pinning: Option<bool>,
    /// `inherit port-profile NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ports: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_binding: Option<PortBinding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "100")]
    pub system_vlans: Option<VlanSet>,
    /// `shutdown` (true) / `no shutdown` (false); `None` = not configured (ports default up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown: Option<bool>,
    /// `state enabled`: a profile is usable by ports only when enabled.
    #[serde(default)]
    pub state_enabled: bool,
}

/// A profile after `inherit` has been resolved: what a port using it actually gets.
/// This is what agents receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EffectivePolicy {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ProfileType,
    pub mode: SwitchportMode,
    pub access_vlan: VlanId,
    #[schema(value_type = String)]
    pub trunk_allowed_vlans: VlanSet,
    pub trunk_native_vlan: VlanId,
    pub channel_group_mac_pinning: bool,
    pub max_ports: u32,
    pub port_binding: PortBinding,
    #[schema(value_type = String)]
    pub system_vlans: VlanSet,
    /// Ports using the profile are administratively down (`shutdown` or `no state enabled`).
    pub shutdown: bool,
    pub state_enabled: bool,
}

/// Defaults NX-OS applies when a profile does not say.
pub mod defaults {
    use super::*;
    pub const MODE: SwitchportMode = SwitchportMode::Access;
    pub const ACCESS_VLAN: VlanId = 1;
    pub const NATIVE_VLAN: VlanId = 1;
    pub const MAX_PORTS: u32 = 32;
    pub const PORT_BINDING: PortBinding = PortBinding::Static;
}
