//! Uplinks (`EthernetM/K`) as `show interface` shows them: each module's registered uplinks
//! (and any its agent reports beyond them), with state from the latest report.
//!
//! Pure. State, in order: the module is offline — down, `module offline`; the module reported
//! the uplink — what it said; not reported yet — down, with the reason the profile gives, else
//! `initializing`.

use std::collections::BTreeMap;

use config::EffectivePolicy;
use serde::Serialize;
use utoipa::ToSchema;

use crate::events::down_reason;
use crate::modules::{ModuleStatus, ModuleView, UplinkRecord};
use crate::port_state::{PortLive, Rates};
use crate::port_views::{Counters, expected_reason};

/// One uplink (`GET /api/v1/uplinks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UplinkView {
    /// `Ethernet3/1`.
    pub name: String,
    pub module: u32,
    /// K of `EthernetM/K`.
    pub index: u32,
    /// The module's host name.
    pub host_name: String,
    /// The host NIC (`eth1`).
    pub nic: String,
    pub profile: String,
    pub up: bool,
    /// Why it is down (`Link not connected`, `module offline`, …); empty when up.
    pub reason: String,
    /// `trunk` or `access`: as reported, else as the profile says.
    pub mode: String,
    /// The trunk's native VLAN, when known.
    pub native_vlan: Option<u16>,
    /// The allowed VLANs as NX-OS writes them (`100-109`), when known.
    pub allowed_vlans: String,
    /// The vEthernets pinned to it (mac-pinning), by number.
    pub pinned_veths: Vec<u32>,
    pub counters: Counters,
    pub rates: Rates,
}

impl UplinkView {
    /// `Eth3/1`, the short name tables use.
    pub fn short_name(&self) -> String {
        format!("Eth{}/{}", self.module, self.index)
    }
}

/// Every module's uplinks, by module and index. `policies` holds the evaluated policies of (at
/// least) the uplinks' profiles.
pub fn uplink_views(
    modules: &[ModuleView],
    policies: &BTreeMap<String, EffectivePolicy>,
    live: &PortLive,
) -> Vec<UplinkView> {
    let mut views = Vec::new();
    for module in modules {
        let number = module.record.module;
        let online = module.status == ModuleStatus::Ok;
        // Registered uplinks, then any the agent reports that its registration did not name.
        let mut uplinks: BTreeMap<u32, UplinkRecord> =
            module.record.uplinks.iter().map(|uplink| (uplink.index, uplink.clone())).collect();
        if online {
            for reported in live.uplinks(number) {
                let status = &reported.status;
                uplinks.entry(status.index).or_insert_with(|| UplinkRecord {
                    index: status.index,
                    name: status.name.clone(),
                    profile: status.profile.clone(),
                });
            }
        }
        for uplink in uplinks.into_values() {
            let reported = live.uplink(number, uplink.index).filter(|_| online);
            let policy = policies.get(&uplink.profile);
            let (up, reason) = match reported {
                _ if !online => (false, down_reason::MODULE_OFFLINE.to_owned()),
                Some(port) if port.status.up => (true, String::new()),
                Some(port) => (false, port.status.reason.clone()),
                None => (false, expected_reason(policy).to_owned()),
            };
            let status = reported.map(|port| &port.status).filter(|status| !status.mode.is_empty());
            let (mode, native_vlan, allowed_vlans) = match (status, policy) {
                (Some(status), _) => (
                    status.mode.clone(),
                    u16::try_from(status.native_vlan).ok().filter(|&vlan| vlan != 0),
                    status.allowed_vlans.clone(),
                ),
                (None, Some(policy)) => (
                    config::print::mode_name(policy.mode).to_owned(),
                    Some(policy.trunk_native_vlan),
                    policy.trunk_allowed_vlans.to_string(),
                ),
                (None, None) => ("trunk".to_owned(), None, String::new()),
            };
            let mut pinned_veths = reported.map(|port| port.status.pinned_veths.clone()).unwrap_or_default();
            pinned_veths.sort_unstable();
            views.push(UplinkView {
                name: UplinkRecord::interface_name(number, uplink.index),
                module: number,
                index: uplink.index,
                host_name: module.record.host_name.clone(),
                nic: uplink.name,
                profile: uplink.profile,
                up,
                reason,
                mode,
                native_vlan,
                allowed_vlans,
                pinned_veths,
                counters: reported
                    .and_then(|port| port.status.counters.as_ref())
                    .map(Counters::from)
                    .unwrap_or_default(),
                rates: reported.map(|port| port.rates).unwrap_or_default(),
            });
        }
    }
    views
}
