//! The configuration model: what `show running-config` describes.
//!
//! Everything here is plain data with serde derives; it is the JSON form served by the REST API
//! and the form persisted in the store. The text form (NX-OS language) lives in `parse`/`print`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::acl::{AccessList, EffectiveAcl};
use crate::flow::{FlowExporter, FlowMonitor, FlowMonitors};
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
    /// `ip access-list NAME` (IPv4) by name. Absent from older JSON, which still parses.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ip_access_lists: BTreeMap<String, AccessList>,
    /// `ipv6 access-list NAME` by name (a namespace of its own, as in NX-OS).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ipv6_access_lists: BTreeMap<String, AccessList>,
    /// `flow exporter NAME` by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flow_exporters: BTreeMap<String, FlowExporter>,
    /// `flow monitor NAME` by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flow_monitors: BTreeMap<String, FlowMonitor>,
    /// `ip dhcp snooping`: DHCP snooping is on (it learns IP bindings for `ip verify source`
    /// and `ip arp inspection`, trusting DHCP servers only behind `ip dhcp snooping trust`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dhcp_snooping: bool,
    /// `ip pool NAME` by name: the address pools the supervisor allocates from.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ip_pools: BTreeMap<String, crate::ip_pool::IpPool>,
}

impl Config {
    /// The access lists of `family`.
    pub fn access_lists(&self, family: crate::acl::Family) -> &BTreeMap<String, AccessList> {
        match family {
            crate::acl::Family::Ipv4 => &self.ip_access_lists,
            crate::acl::Family::Ipv6 => &self.ipv6_access_lists,
        }
    }

    /// The access lists of `family`, to change.
    pub fn access_lists_mut(&mut self, family: crate::acl::Family) -> &mut BTreeMap<String, AccessList> {
        match family {
            crate::acl::Family::Ipv4 => &mut self.ip_access_lists,
            crate::acl::Family::Ipv6 => &mut self.ipv6_access_lists,
        }
    }
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
    /// `ip port access-group NAME in|out` and `ipv6 port traffic-filter NAME in|out`: access
    /// lists by name, each direction inherited on its own.
    #[serde(default, skip_serializing_if = "AccessGroupNames::is_empty")]
    pub access_groups: AccessGroupNames,
    /// `switchport port-security …`, each line inherited on its own.
    #[serde(default, skip_serializing_if = "PortSecurityConfig::is_empty")]
    pub port_security: PortSecurityConfig,
    /// `ip verify source [dhcp-snooping-vlan]`: IP source guard. Like the other on/off policy
    /// lines it can only be turned on: a profile inheriting it keeps it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verify_source: bool,
    /// `ip arp inspection`: ARP (and IPv6 neighbour advertisement) inspection on the profile's
    /// ports.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub arp_inspection: bool,
    /// `ip dhcp snooping trust`: DHCP server messages are accepted from these ports (uplinks,
    /// DHCP servers' vEthernets).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dhcp_snooping_trust: bool,
    /// `storm-control broadcast|multicast|unicast level pps N`, each kind inherited on its own.
    #[serde(default, skip_serializing_if = "StormControl::is_empty")]
    pub storm_control: StormControl,
    /// `ip flow monitor NAME input|output`: monitors by name, each direction inherited on its own.
    #[serde(default, skip_serializing_if = "FlowMonitorNames::is_empty")]
    pub flow_monitors: FlowMonitorNames,
    /// `ip pool NAME`: the pool the ports' addresses come from (`switchyard attach --ip auto`,
    /// Docker, CNI). Inherited like the other lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_pool: Option<String>,
}

/// A profile's access lists by name and direction. `in` is traffic from the container into the
/// switch, `out` traffic from the switch towards the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessGroupNames {
    /// `ip port access-group NAME in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_in: Option<String>,
    /// `ip port access-group NAME out`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_out: Option<String>,
    /// `ipv6 port traffic-filter NAME in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_in: Option<String>,
    /// `ipv6 port traffic-filter NAME out`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_out: Option<String>,
}

impl AccessGroupNames {
    /// No access list is named.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The name for `family` and `direction`.
    pub fn get(&self, family: crate::acl::Family, direction: Direction) -> Option<&String> {
        self.slot(family, direction).as_ref()
    }

    /// The name for `family` and `direction`, to change.
    pub fn get_mut(&mut self, family: crate::acl::Family, direction: Direction) -> &mut Option<String> {
        use crate::acl::Family::{Ipv4, Ipv6};
        match (family, direction) {
            (Ipv4, Direction::In) => &mut self.ipv4_in,
            (Ipv4, Direction::Out) => &mut self.ipv4_out,
            (Ipv6, Direction::In) => &mut self.ipv6_in,
            (Ipv6, Direction::Out) => &mut self.ipv6_out,
        }
    }

    fn slot(&self, family: crate::acl::Family, direction: Direction) -> &Option<String> {
        use crate::acl::Family::{Ipv4, Ipv6};
        match (family, direction) {
            (Ipv4, Direction::In) => &self.ipv4_in,
            (Ipv4, Direction::Out) => &self.ipv4_out,
            (Ipv6, Direction::In) => &self.ipv6_in,
            (Ipv6, Direction::Out) => &self.ipv6_out,
        }
    }
}

/// The direction of an access group or flow monitor, seen from the switch: `in` (`input`)
/// is what a container sends, `out` (`output`) what it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    /// Both directions, `in` first.
    pub const BOTH: [Self; 2] = [Self::In, Self::Out];
}

/// A profile's flow monitors by name and direction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowMonitorNames {
    /// `ip flow monitor NAME input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// `ip flow monitor NAME output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

impl FlowMonitorNames {
    /// No monitor is named.
    pub fn is_empty(&self) -> bool {
        self.input.is_none() && self.output.is_none()
    }

    /// The name for `direction`, to change.
    pub fn get_mut(&mut self, direction: Direction) -> &mut Option<String> {
        match direction {
            Direction::In => &mut self.input,
            Direction::Out => &mut self.output,
        }
    }

    /// The name for `direction`.
    pub fn get(&self, direction: Direction) -> Option<&String> {
        match direction {
            Direction::In => self.input.as_ref(),
            Direction::Out => self.output.as_ref(),
        }
    }
}

/// `switchport port-security violation protect|restrict|shutdown`: what a frame from one MAC
/// too many does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Violation {
    /// Drop it.
    Protect,
    /// Drop it and count the violation.
    Restrict,
    /// Errdisable the port (NX-OS's default); `shutdown` / `no shutdown` on it recovers.
    Shutdown,
}

impl Violation {
    /// `protect` / `restrict` / `shutdown`.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Protect => "protect",
            Self::Restrict => "restrict",
            Self::Shutdown => "shutdown",
        }
    }
}

/// A profile's `switchport port-security` lines as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortSecurityConfig {
    /// `switchport port-security`: on (can only be turned on, like the other flags).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enabled: bool,
    /// `switchport port-security maximum N` (1–1025).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<u32>,
    /// `switchport port-security violation …`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<Violation>,
    /// `switchport port-security mac-address sticky`: learned MACs stay across relearning.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sticky: bool,
}

impl PortSecurityConfig {
    /// Nothing is configured.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Port security as a port applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct PortSecurity {
    /// The most source MACs the port may use (its attached MAC counts).
    pub maximum: u32,
    pub violation: Violation,
    pub sticky: bool,
}

/// `storm-control broadcast|multicast|unicast level pps N`: the most frames per second of each
/// kind a port sends into the switch; `None` is no limit. `unicast` is unknown unicast (frames
/// that would be flooded), as NX-OS means it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct StormControl {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast_pps: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multicast_pps: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_unicast_pps: Option<u32>,
}

impl StormControl {
    /// No limit is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The limit of one kind, to change.
    pub fn get_mut(&mut self, kind: StormKind) -> &mut Option<u32> {
        match kind {
            StormKind::Broadcast => &mut self.broadcast_pps,
            StormKind::Multicast => &mut self.multicast_pps,
            StormKind::UnknownUnicast => &mut self.unknown_unicast_pps,
        }
    }

    /// The limit of one kind.
    pub fn get(&self, kind: StormKind) -> Option<u32> {
        match kind {
            StormKind::Broadcast => self.broadcast_pps,
            StormKind::Multicast => self.multicast_pps,
            StormKind::UnknownUnicast => self.unknown_unicast_pps,
        }
    }
}

/// The traffic kinds storm control limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StormKind {
    Broadcast,
    Multicast,
    /// `unicast` in the language.
    UnknownUnicast,
}

impl StormKind {
    /// Every kind, in printing order.
    pub const ALL: [Self; 3] = [Self::Broadcast, Self::Multicast, Self::UnknownUnicast];

    /// `broadcast` / `multicast` / `unicast`.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Broadcast => "broadcast",
            Self::Multicast => "multicast",
            Self::UnknownUnicast => "unicast",
        }
    }
}

/// The access lists a port applies, embedded (not just named).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct AccessGroups {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_in: Option<EffectiveAcl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_out: Option<EffectiveAcl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_in: Option<EffectiveAcl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_out: Option<EffectiveAcl>,
}

impl AccessGroups {
    /// No access list applies.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The list for `family` and `direction`.
    pub fn get(&self, family: crate::acl::Family, direction: Direction) -> Option<&EffectiveAcl> {
        use crate::acl::Family::{Ipv4, Ipv6};
        match (family, direction) {
            (Ipv4, Direction::In) => self.ipv4_in.as_ref(),
            (Ipv4, Direction::Out) => self.ipv4_out.as_ref(),
            (Ipv6, Direction::In) => self.ipv6_in.as_ref(),
            (Ipv6, Direction::Out) => self.ipv6_out.as_ref(),
        }
    }

    /// Any list has a stateful entry (the port needs connection tracking).
    pub fn is_stateful(&self) -> bool {
        [&self.ipv4_in, &self.ipv4_out, &self.ipv6_in, &self.ipv6_out]
            .into_iter()
            .flatten()
            .any(EffectiveAcl::is_stateful)
    }
}

/// A profile after `inherit` has been resolved: what a port using it actually gets.
/// This is what agents receive.
///
/// Neither this nor any type it embeds (access lists and their entries, port security, storm
/// control, flow monitors and exporters) refuses unknown fields: an agent must keep working
/// with a newer supervisor that added some.
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
    /// The access lists the ports apply, with their entries. Every policy field below is absent
    /// from older JSON, which still parses (to "no such policy").
    #[serde(default, skip_serializing_if = "AccessGroups::is_empty")]
    pub access_groups: AccessGroups,
    /// Port security, when `switchport port-security` is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_security: Option<PortSecurity>,
    /// `ip verify source`: drop frames whose source MAC or IP is not bound to the port.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verify_source: bool,
    /// `ip arp inspection`: drop ARP / neighbour advertisements whose sender is not bound.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub arp_inspection: bool,
    /// The global `ip dhcp snooping` is on: learn bindings from DHCP on these ports.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dhcp_snooping: bool,
    /// `ip dhcp snooping trust`: DHCP server messages are accepted from these ports.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dhcp_snooping_trust: bool,
    /// Storm-control limits.
    #[serde(default, skip_serializing_if = "StormControl::is_empty")]
    pub storm_control: StormControl,
    /// Flow monitors by direction, with their exporters.
    #[serde(default, skip_serializing_if = "FlowMonitors::is_empty")]
    pub flow_monitors: FlowMonitors,
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
    /// `switchport port-security maximum` (NX-OS: 1).
    pub const PORT_SECURITY_MAXIMUM: u32 = 1;
    /// `switchport port-security violation` (NX-OS: shutdown).
    pub const PORT_SECURITY_VIOLATION: Violation = Violation::Shutdown;
}
