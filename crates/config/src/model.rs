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

/// The lowest VLAN id a user may configure.
pub const VLAN_MIN: VlanId = 1;
/// The highest VLAN id a user may configure.
pub const VLAN_MAX: VlanId = 4094;

/// A bridge-domain's segment id: the 24-bit VXLAN network identifier (VNI), 1–16777215.
pub type SegmentId = u32;

/// The lowest segment id a user may configure.
pub const SEGMENT_ID_MIN: SegmentId = 1;
/// The highest segment id a user may configure (24 bits).
pub const SEGMENT_ID_MAX: SegmentId = 0x00ff_ffff;

/// The whole configuration of one Switchyard domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Config {
    /// Configured VLANs by id.
    #[serde(default)]
    pub vlans: BTreeMap<VlanId, Vlan>,
    /// Bridge-domains (VXLAN segments) by name. Absent from older JSON, which still parses.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bridge_domains: BTreeMap<String, BridgeDomain>,
    /// Port-profiles by name.
    #[serde(default)]
    pub port_profiles: BTreeMap<String, PortProfile>,
    /// Operator accounts by user name (`username NAME password … role …`). Absent from older
    /// JSON, which still parses.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub users: BTreeMap<String, User>,
}

/// `username NAME password … role ROLE`: one operator account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub password: Password,
    pub role: Role,
}

/// An account's password: as typed (`password SECRET`), or hashed (`password 5 HASH`).
///
/// The language keeps what it read; the supervisor hashes every `Clear` password before the
/// config is stored, printed or logged, so only `Hashed` ever leaves it. `Debug` never shows a
/// clear password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Password {
    /// A clear-text password, to be hashed before it goes anywhere.
    Clear(String),
    /// A PHC-format argon2id hash (`$argon2id$v=19$…`).
    Hashed(String),
}

impl Password {
    /// The hash, if this is one.
    pub fn hash(&self) -> Option<&str> {
        match self {
            Self::Clear(_) => None,
            Self::Hashed(hash) => Some(hash),
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Clear(_) => f.write_str("Clear(<redacted>)"),
            Self::Hashed(hash) => f.debug_tuple("Hashed").field(hash).finish(),
        }
    }
}

/// An operator's role (`username NAME … role ROLE`), as NX-OS names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything: show, configure, attach, enrol, revoke.
    NetworkAdmin,
    /// Read-only: every `show`, nothing else.
    NetworkOperator,
}

impl Role {
    /// Whether this role may change anything.
    pub fn may_write(self) -> bool {
        matches!(self, Self::NetworkAdmin)
    }

    /// `network-admin` / `network-operator`, as the language spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::NetworkAdmin => "network-admin",
            Self::NetworkOperator => "network-operator",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `bridge-domain NAME` with its sub-mode lines: one VXLAN segment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BridgeDomain {
    /// `segment id N` (1–16777215); `None` until configured. A profile may only use a
    /// bridge-domain that has one, and no two bridge-domains share one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_id: Option<SegmentId>,
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
///
/// Unknown fields are refused: this is the body of `PUT /api/v1/port-profiles/{name}`, where a
/// misspelt field must be an error, not a default silently taken. The store holds this JSON too:
/// a supervisor reads what older ones wrote (fields are only ever added), but refuses — as a
/// corrupt object, rather than dropping what it does not know on its next write — a profile
/// written by a newer one. Agents never read it (they get [`EffectivePolicy`], which stays
/// tolerant of newer supervisors).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortProfile {
    #[serde(rename = "type", default)]
    pub kind: ProfileType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<SwitchportMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_vlan: Option<VlanId>,
    /// `switchport access bridge-domain NAME`: access ports join this bridge-domain instead of a
    /// VLAN. One profile sets at most one of this and `access_vlan` (the later line wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_bridge_domain: Option<String>,
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
    /// The bridge-domain access ports join instead of `access_vlan` (`switchport access
    /// bridge-domain`, resolved through inheritance). Only ever set in access mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_domain: Option<EffectiveBridgeDomain>,
}

/// The bridge-domain of an [`EffectivePolicy`], with the segment id it has in the config.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct EffectiveBridgeDomain {
    /// The bridge-domain's name.
    pub name: String,
    /// Its segment id (the VXLAN VNI).
    pub segment_id: SegmentId,
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
