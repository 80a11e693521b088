//! Flow export: `flow exporter NAME`, `flow monitor NAME`, and what a port gets from
//! `ip flow monitor NAME input|output`.
//!
//! ```text
//! flow exporter COLLECTOR
//!   destination 10.100.0.250
//!   transport udp 4739
//!   version ipfix
//! flow monitor MON
//!   record netflow-original
//!   exporter COLLECTOR
//!   timeout active 60
//!   timeout inactive 15
//! ```
//!
//! Defaults (what an unset line means): `version 9` (NX-OS's); `transport udp` 4739 for IPFIX
//! (its IANA port) and 9995 for NetFlow v9 (nfcapd's default); `record netflow-original`;
//! `timeout active 60` (NX-OS has 1800: a minute shows long flows sooner) and `timeout
//! inactive 15`. Custom `flow record NAME` definitions are not supported: a monitor uses the
//! predefined `netflow-original` record (`record netflow ipv4 original-input` is accepted as its
//! other name). `source IFNAME` is not supported: each agent sends from its own address.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest exporter or monitor name NX-OS accepts.
pub const FLOW_NAME_MAX: usize = 63;
/// Longest description of an exporter or monitor.
pub const FLOW_DESCRIPTION_MAX: usize = 63;
/// The most exporters one monitor sends to.
pub const MONITOR_EXPORTERS_MAX: usize = 2;
/// Timeouts' range in seconds.
pub const TIMEOUT_MIN: u32 = 1;
/// Timeouts' range in seconds (a week).
pub const TIMEOUT_MAX: u32 = 604_800;
/// `cache size N`'s range (entries).
pub const CACHE_SIZE_MIN: u32 = 16;
/// `cache size N`'s range (entries).
pub const CACHE_SIZE_MAX: u32 = 1_048_576;
/// The highest `dscp`.
pub const DSCP_MAX: u8 = 63;

/// Defaults of flow export (see the module documentation).
pub mod defaults {
    use super::{FlowExportVersion, FlowRecord};
    pub const VERSION: FlowExportVersion = FlowExportVersion::V9;
    pub const IPFIX_PORT: u16 = 4739;
    pub const V9_PORT: u16 = 9995;
    pub const RECORD: FlowRecord = FlowRecord::NetflowOriginal;
    pub const ACTIVE_TIMEOUT_SECS: u32 = 60;
    pub const INACTIVE_TIMEOUT_SECS: u32 = 15;
}

/// `version 9` / `version ipfix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FlowExportVersion {
    /// NetFlow v9 (RFC 3954).
    V9,
    /// IPFIX (RFC 7011).
    Ipfix,
}

impl FlowExportVersion {
    /// `9` / `ipfix`, as `version …` spells it.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::V9 => "9",
            Self::Ipfix => "ipfix",
        }
    }

    /// The collector port when `transport udp` is not given.
    pub fn default_port(self) -> u16 {
        match self {
            Self::V9 => defaults::V9_PORT,
            Self::Ipfix => defaults::IPFIX_PORT,
        }
    }
}

/// The record a monitor fills (only the predefined one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FlowRecord {
    /// `netflow-original`: the 5-tuple, ToS, bytes, packets, first/last seen, input/output
    /// interface, VLAN or segment.
    NetflowOriginal,
}

impl FlowRecord {
    /// `netflow-original`.
    pub fn name(self) -> &'static str {
        match self {
            Self::NetflowOriginal => "netflow-original",
        }
    }
}

/// `flow exporter NAME` with its sub-mode lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowExporter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `destination A` (IPv4 or IPv6): the collector. A monitor in use needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub destination: Option<IpAddr>,
    /// `transport udp PORT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_udp: Option<u16>,
    /// `version 9|ipfix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<FlowExportVersion>,
    /// `dscp N` (0–63) of the export packets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dscp: Option<u8>,
}

/// `flow monitor NAME` with its sub-mode lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowMonitor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `record netflow-original`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<FlowRecord>,
    /// `exporter NAME` lines, in the order given (at most 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exporters: Vec<String>,
    /// `timeout active S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_active: Option<u32>,
    /// `timeout inactive S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_inactive: Option<u32>,
    /// `cache size N`: the most flows the monitor keeps per host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_size: Option<u32>,
}

/// An exporter as an agent uses it: every default resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct EffectiveExporter {
    pub name: String,
    #[schema(value_type = String)]
    pub destination: IpAddr,
    /// The collector's UDP port.
    pub port: u16,
    pub version: FlowExportVersion,
    /// DSCP of the export packets (0 when unset).
    pub dscp: u8,
}

/// A monitor as a port applies it, its exporters embedded: a change to an exporter or monitor
/// changes the policy of every profile that uses it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct EffectiveFlowMonitor {
    pub name: String,
    pub record: FlowRecord,
    /// Zero, one or two; a monitor without exporters still keeps flows (`vemcmd show flows`).
    pub exporters: Vec<EffectiveExporter>,
    pub active_timeout_secs: u32,
    pub inactive_timeout_secs: u32,
    /// `cache size`, when configured; the agent's own bound otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_size: Option<u32>,
}

/// The monitors of a port, by direction (`ip flow monitor NAME input|output`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct FlowMonitors {
    /// `input`: traffic from the container into the switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<EffectiveFlowMonitor>,
    /// `output`: traffic from the switch towards the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<EffectiveFlowMonitor>,
}

impl FlowMonitors {
    /// Neither direction is monitored.
    pub fn is_empty(&self) -> bool {
        self.input.is_none() && self.output.is_none()
    }
}
