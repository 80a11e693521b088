//! One `flow exporter` as the agent runs it.

use std::net::{IpAddr, SocketAddr};

use wire::flow_export::{DEFAULT_MTU, TemplateRefresh, Version};

/// A `flow exporter`: where to send, in which protocol, as which observation domain.
///
/// ```text
/// flow exporter COLLECTOR
///   destination 10.100.0.250
///   transport udp 4739
///   version ipfix
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExporterConfig {
    /// The exporter's name (`COLLECTOR`).
    pub name: String,
    /// The collector's address, IPv4 or IPv6.
    pub destination: IpAddr,
    /// The collector's UDP port (`transport udp PORT`).
    pub port: u16,
    /// IPFIX or NetFlow v9.
    pub version: Version,
    /// The IPFIX observation domain / NetFlow v9 source id: this agent's module number, so a
    /// collector tells the hosts apart.
    pub observation_domain: u32,
    /// When templates are sent again.
    pub template_refresh: TemplateRefresh,
    /// The largest UDP payload sent.
    pub mtu: usize,
}

impl ExporterConfig {
    /// An exporter with the version's default template refresh and a 1400-byte payload.
    pub fn new(name: impl Into<String>, destination: SocketAddr, version: Version, module: u32) -> Self {
        Self {
            name: name.into(),
            destination: destination.ip(),
            port: destination.port(),
            version,
            observation_domain: module,
            template_refresh: TemplateRefresh::default_for(version),
            mtu: DEFAULT_MTU,
        }
    }

    /// The collector's socket address.
    pub fn collector(&self) -> SocketAddr {
        SocketAddr::new(self.destination, self.port)
    }
}
