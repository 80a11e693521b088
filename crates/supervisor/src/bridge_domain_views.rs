//! Bridge-domains as `show bridge-domain` shows them: every configured bridge-domain with its
//! segment id and the modules, VTEPs and vEthernets of its attached ports (from
//! [`crate::overlay`], so from the store alone).

use std::net::Ipv4Addr;

use config::Config;
use serde::Serialize;
use utoipa::ToSchema;

use crate::modules::ModuleView;
use crate::overlay::{DomainPort, OverlayMap};

/// One module's part of a bridge-domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BridgeDomainMember {
    pub module: u32,
    /// The module's host name (empty if the module is unknown).
    pub host_name: String,
    /// The module's VTEP; absent when it has none (then no other module can reach its ports).
    #[schema(value_type = Option<String>, example = "10.78.0.11")]
    pub vtep: Option<Ipv4Addr>,
    /// False while the module is offline: the other members are not told of it then.
    pub online: bool,
    /// Its attached ports in the bridge-domain, by vEthernet number.
    pub ports: Vec<DomainPort>,
}

/// One bridge-domain (`GET /api/v1/bridge-domains`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BridgeDomainView {
    pub name: String,
    /// The VXLAN segment id; absent until `segment id N` is configured.
    pub segment_id: Option<u32>,
    /// Up once it has a segment id.
    pub up: bool,
    /// The modules with attached ports in it, by module.
    pub members: Vec<BridgeDomainMember>,
}

impl BridgeDomainView {
    /// Every member vEthernet, by number.
    pub fn veths(&self) -> Vec<u32> {
        let mut veths: Vec<u32> =
            self.members.iter().flat_map(|member| member.ports.iter().map(|port| port.veth)).collect();
        veths.sort_unstable();
        veths
    }

    /// The member VTEPs, sorted, once each.
    pub fn vteps(&self) -> Vec<Ipv4Addr> {
        let mut vteps: Vec<Ipv4Addr> = self.members.iter().filter_map(|member| member.vtep).collect();
        vteps.sort_unstable();
        vteps.dedup();
        vteps
    }
}

/// Every configured bridge-domain, by name, with its members in `map`.
pub fn bridge_domain_views(
    config: &Config,
    map: &OverlayMap,
    modules: &[ModuleView],
) -> Vec<BridgeDomainView> {
    let host = |module: u32| {
        modules
            .iter()
            .find(|view| view.record.module == module)
            .map(|view| view.record.host_name.clone())
            .unwrap_or_default()
    };
    config
        .bridge_domains
        .iter()
        .map(|(name, domain)| BridgeDomainView {
            name: name.clone(),
            segment_id: domain.segment_id,
            up: domain.segment_id.is_some(),
            members: map
                .domain(name)
                .map(|found| {
                    found
                        .members
                        .iter()
                        .map(|member| BridgeDomainMember {
                            module: member.module,
                            host_name: host(member.module),
                            vtep: member.vtep,
                            online: member.online,
                            ports: member.ports.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}
