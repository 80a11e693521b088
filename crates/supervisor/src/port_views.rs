//! vEthernets and MAC tables as operators see them (`show interface …`, `show mac
//! address-table`, `GET /api/v1/interfaces`): the bindings joined with the modules, the policies
//! and the agents' latest reports. Pure.
//!
//! A port's state, first match wins:
//! 1. detached (a kept `port-binding static` binding) — down, `detached`;
//! 2. its module is offline — down, `module offline`;
//! 3. its module reported it — what the module said, but `errDisabled` (down) whenever the
//!    report says the port is error-disabled: in its reason (`Error disabled. Reason:…`) or in
//!    its port-security state (`SecurePort.err_disabled`);
//! 4. not reported yet — down, with the reason the policy gives (`port-profile not found`,
//!    `port-profile disabled`, `administratively down`), else `initializing`.

use std::collections::{BTreeMap, HashMap};

use config::{EffectivePolicy, SwitchportMode};
use serde::Serialize;
use utoipa::ToSchema;

use crate::events::down_reason;
use crate::modules::{ModuleStatus, ModuleView};
use crate::port_binding::PortRecord;
use crate::port_state::{PortLive, Rates};

/// A port's counters as its module last reported them (zero before any report).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Counters {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub rx_unicast: u64,
    pub rx_multicast: u64,
    pub rx_broadcast: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub tx_unicast: u64,
    pub tx_multicast: u64,
    pub tx_broadcast: u64,
    pub tx_flood: u64,
    pub rx_drops: u64,
    pub tx_drops: u64,
    /// Drops by reason (the datapath's names).
    pub drops_by_reason: BTreeMap<String, u64>,
}

impl From<&proto::PortCounters> for Counters {
    fn from(c: &proto::PortCounters) -> Self {
        Self {
            rx_packets: c.rx_packets,
            rx_bytes: c.rx_bytes,
            rx_unicast: c.rx_unicast,
            rx_multicast: c.rx_multicast,
            rx_broadcast: c.rx_broadcast,
            tx_packets: c.tx_packets,
            tx_bytes: c.tx_bytes,
            tx_unicast: c.tx_unicast,
            tx_multicast: c.tx_multicast,
            tx_broadcast: c.tx_broadcast,
            tx_flood: c.tx_flood,
            rx_drops: c.rx_drops,
            tx_drops: c.tx_drops,
            drops_by_reason: c.drops_by_reason.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }
    }
}

/// One vEthernet (`GET /api/v1/interfaces`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InterfaceView {
    /// `Vethernet1`.
    pub name: String,
    #[serde(flatten)]
    pub binding: PortRecord,
    /// The host name of the port's module (empty if the module is unknown).
    pub host_name: String,
    pub up: bool,
    /// Why the port is down (`port-profile not found`, `module offline`, …); empty when up.
    pub reason: String,
    /// `access` or `trunk`: as reported, else as the profile says.
    pub mode: String,
    /// The access VLAN: as reported, else as the profile says; absent for trunks and ports
    /// whose profile is not known.
    pub vlan: Option<u16>,
    pub counters: Counters,
    pub rates: Rates,
}

impl InterfaceView {
    /// `Veth1`, the short name tables use.
    pub fn short_name(&self) -> String {
        format!("Veth{}", self.binding.veth)
    }
}

/// Every binding as a view, by vEthernet number. `policies` holds the evaluated policies of
/// (at least) the profiles the bindings name.
pub fn interface_views(
    bindings: &[PortRecord],
    modules: &[ModuleView],
    policies: &BTreeMap<String, EffectivePolicy>,
    live: &PortLive,
) -> Vec<InterfaceView> {
    let modules: HashMap<u32, &ModuleView> = modules.iter().map(|view| (view.record.module, view)).collect();
    let mut views: Vec<InterfaceView> = bindings
        .iter()
        .map(|binding| {
            let module = modules.get(&binding.module);
            let online = module.is_some_and(|view| view.status == ModuleStatus::Ok);
            let policy = policies.get(&binding.profile);
            let reported =
                live.port(binding.module, &binding.iface_id).filter(|_| online && binding.attached);
            let (up, reason) = match reported {
                _ if !binding.attached => (false, down_reason::DETACHED.to_owned()),
                _ if !online => (false, down_reason::MODULE_OFFLINE.to_owned()),
                Some(port)
                    if live.err_disabled(binding.module, binding.veth)
                        || down_reason::is_err_disabled(&port.status.reason) =>
                {
                    (false, down_reason::ERR_DISABLED.to_owned())
                }
                Some(port) => {
                    (port.status.up, if port.status.up { String::new() } else { port.status.reason.clone() })
                }
                None => (false, expected_reason(policy).to_owned()),
            };
            let (mode, vlan) =
                match reported.map(|port| &port.status).filter(|status| !status.mode.is_empty()) {
                    Some(status) => {
                        let vlan = u16::try_from(status.vlan)
                            .ok()
                            .filter(|&vlan| status.mode == "access" && vlan != 0);
                        (status.mode.clone(), vlan)
                    }
                    None => match policy {
                        Some(policy) if policy.mode == SwitchportMode::Trunk => ("trunk".to_owned(), None),
                        Some(policy) => ("access".to_owned(), Some(policy.access_vlan)),
                        None => ("access".to_owned(), None),
                    },
                };
            InterfaceView {
                name: binding.name(),
                binding: binding.clone(),
                host_name: module.map(|view| view.record.host_name.clone()).unwrap_or_default(),
                up,
                reason,
                mode,
                vlan,
                counters: reported
                    .and_then(|port| port.status.counters.as_ref())
                    .map(Counters::from)
                    .unwrap_or_default(),
                rates: reported.map(|port| port.rates).unwrap_or_default(),
            }
        })
        .collect();
    views.sort_by_key(|view| view.binding.veth);
    views
}

/// Why a port its module has not reported yet cannot be up, as far as the policy tells.
pub(crate) fn expected_reason(policy: Option<&EffectivePolicy>) -> &'static str {
    match policy {
        None => down_reason::PROFILE_NOT_FOUND,
        Some(policy) if !policy.state_enabled => down_reason::PROFILE_DISABLED,
        Some(policy) if policy.shutdown => down_reason::ADMIN_DOWN,
        Some(_) => down_reason::INITIALIZING,
    }
}

/// One MAC table entry (`GET /api/v1/mac-address-table`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MacView {
    pub vlan: u32,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// `static` (a port's attached MAC) or `dynamic` (learned).
    pub kind: String,
    pub age_seconds: u32,
    /// `Veth1` for a vEthernet, the remote VTEP for an entry behind the tunnel, else the
    /// port's name (`eth1`).
    pub port: String,
    pub module: u32,
    /// The bridge-domain of the entry; absent for VLAN entries (then `vlan` is set, else 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridge_domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_id: Option<u32>,
    /// The remote VTEP when the entry is behind the VXLAN tunnel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vtep: Option<String>,
}

/// The MAC tables of the online modules: VLAN entries by VLAN, then bridge-domain entries by
/// name, each by MAC and module; only `vlan`'s if given.
pub fn mac_views(live: &PortLive, modules: &[ModuleView], vlan: Option<u32>) -> Vec<MacView> {
    let online =
        |module: u32| modules.iter().any(|v| v.record.module == module && v.status == ModuleStatus::Ok);
    let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    let mut views: Vec<MacView> = live
        .macs()
        .filter(|(module, entry)| {
            online(*module) && vlan.is_none_or(|vlan| entry.vlan == vlan && entry.bridge_domain.is_empty())
        })
        .map(|(module, entry)| MacView {
            vlan: entry.vlan,
            mac: entry.mac.to_ascii_lowercase(),
            kind: entry.kind.clone(),
            age_seconds: entry.age_seconds,
            port: match () {
                () if !entry.vtep.is_empty() => entry.vtep.clone(),
                () if entry.veth != 0 => format!("Veth{}", entry.veth),
                () => entry.port.clone(),
            },
            module,
            bridge_domain: non_empty(&entry.bridge_domain),
            segment_id: non_empty(&entry.bridge_domain).map(|_| entry.segment_id),
            vtep: non_empty(&entry.vtep),
        })
        .collect();
    views.sort_by(|a, b| {
        (&a.bridge_domain, a.vlan, &a.mac, a.module).cmp(&(&b.bridge_domain, b.vlan, &b.mac, b.module))
    });
    views
}

/// The number of attached vEthernets per module (`show module`'s Ports column).
pub fn ports_per_module(bindings: &[PortRecord]) -> BTreeMap<u32, usize> {
    let mut counts = BTreeMap::new();
    for binding in bindings.iter().filter(|binding| binding.attached) {
        *counts.entry(binding.module).or_default() += 1;
    }
    counts
}

/// The attached vEthernets per profile, by number (`show port-profile`'s assigned interfaces).
pub fn ports_per_profile(bindings: &[PortRecord]) -> BTreeMap<String, Vec<u32>> {
    let mut assigned: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for binding in bindings.iter().filter(|binding| binding.attached) {
        assigned.entry(binding.profile.clone()).or_default().push(binding.veth);
    }
    for numbers in assigned.values_mut() {
        numbers.sort_unstable();
    }
    assigned
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::modules::ModuleRecord;
    use crate::testing::access_policy;

    fn module(number: u32, status: ModuleStatus) -> ModuleView {
        ModuleView {
            record: ModuleRecord {
                module: number,
                host_name: format!("host{number}"),
                host_id: format!("id{number}"),
                version: "0.1.0".into(),
                addresses: Vec::new(),
                hardware: String::new(),
                vtep: None,
                uplinks: Vec::new(),
            },
            status,
        }
    }

    fn binding(iface: &str, veth: u32, module: u32, profile: &str) -> PortRecord {
        PortRecord {
            veth,
            iface_id: iface.into(),
            module,
            host_id: format!("id{module}"),
            profile: profile.into(),
            adapter: format!("veth{veth}"),
            container_ifname: "eth0".into(),
            mac: "02:00:00:00:00:01".into(),
            owner_name: "c".into(),
            owner_uuid: String::new(),
            ltl: 48 + veth,
            attached: true,
        }
    }

    fn policy(state_enabled: bool, shutdown: bool, mode: SwitchportMode) -> EffectivePolicy {
        EffectivePolicy { state_enabled, shutdown, mode, ..access_policy("p", 100) }
    }

    fn report(module: u32, ports: &[(&str, bool, &str)], macs: Vec<proto::MacEntry>) -> proto::PortReport {
        proto::PortReport {
            module,
            host_id: format!("id{module}"),
            ports: ports
                .iter()
                .map(|&(iface, up, reason)| proto::PortStatus {
                    iface_id: iface.into(),
                    veth: 0,
                    up,
                    reason: reason.into(),
                    mode: "access".into(),
                    vlan: 101,
                    counters: Some(proto::PortCounters { rx_packets: 5, ..Default::default() }),
                })
                .collect(),
            macs,
            ..Default::default()
        }
    }

    fn state(view: &InterfaceView) -> (bool, &str, &str, Option<u16>) {
        (view.up, view.reason.as_str(), view.mode.as_str(), view.vlan)
    }

    #[test]
    fn state_comes_from_binding_module_report_then_policy() {
        let mut detached = binding("gone", 9, 3, "ok");
        detached.attached = false;
        let bindings = vec![
            binding("up", 2, 3, "ok"),
            binding("offline", 3, 4, "ok"),
            binding("missing", 4, 3, "nope"),
            binding("disabled", 5, 3, "disabled"),
            binding("shut", 6, 3, "shut"),
            binding("new", 7, 3, "ok"),
            binding("trunk", 8, 3, "trunk"),
            detached,
            binding("admin", 1, 3, "ok"),
        ];
        let policies: BTreeMap<String, EffectivePolicy> = [
            ("ok".to_owned(), policy(true, false, SwitchportMode::Access)),
            ("disabled".to_owned(), policy(false, true, SwitchportMode::Access)),
            ("shut".to_owned(), policy(true, true, SwitchportMode::Access)),
            ("trunk".to_owned(), policy(true, false, SwitchportMode::Trunk)),
        ]
        .into();
        let records: BTreeMap<String, PortRecord> =
            bindings.iter().map(|b| (b.iface_id.clone(), b.clone())).collect();
        let mut live = PortLive::default();
        let now = Instant::now();
        live.report(
            &records,
            report(
                3,
                &[("up", true, ""), ("admin", false, "administratively down"), ("gone", true, "")],
                vec![],
            ),
            now,
        );
        live.report(&records, report(4, &[("offline", true, "")], vec![]), now);
        let modules = [module(3, ModuleStatus::Ok), module(4, ModuleStatus::Offline)];
        let views = interface_views(&bindings, &modules, &policies, &live);

        let numbers: Vec<u32> = views.iter().map(|v| v.binding.veth).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7, 8, 9], "by number");
        let by = |veth: u32| views.iter().find(|v| v.binding.veth == veth).expect("listed");
        assert_eq!(state(by(1)), (false, "administratively down", "access", Some(101)));
        assert_eq!(state(by(2)), (true, "", "access", Some(101)));
        assert_eq!(by(2).counters.rx_packets, 5);
        assert_eq!(by(2).host_name, "host3");
        assert_eq!(state(by(3)), (false, "module offline", "access", Some(100)));
        assert_eq!(by(3).counters.rx_packets, 0, "an offline module's report is not shown");
        assert_eq!(state(by(4)), (false, "port-profile not found", "access", None));
        assert_eq!(state(by(5)), (false, "port-profile disabled", "access", Some(100)));
        assert_eq!(state(by(6)), (false, "administratively down", "access", Some(100)));
        assert_eq!(state(by(7)), (false, "initializing", "access", Some(100)));
        assert_eq!(state(by(8)), (false, "initializing", "trunk", None));
        assert!(!by(9).up);
        assert_eq!(by(9).reason, "detached");

        assert_eq!(ports_per_module(&bindings), [(3, 7), (4, 1)].into());
        assert_eq!(ports_per_profile(&bindings)["ok"], [1, 2, 3, 7]);
    }

    #[test]
    fn error_disabled_ports_read_err_disabled_from_the_reason_or_port_security() {
        let bindings = vec![binding("a", 1, 3, "ok"), binding("b", 2, 3, "ok"), binding("c", 3, 3, "ok")];
        let policies: BTreeMap<String, EffectivePolicy> =
            [("ok".to_owned(), policy(true, false, SwitchportMode::Access))].into();
        let records: BTreeMap<String, PortRecord> =
            bindings.iter().map(|b| (b.iface_id.clone(), b.clone())).collect();
        let mut report = report(
            3,
            &[
                ("a", false, "Error disabled. Reason:Port Security violation"),
                ("b", true, ""),
                ("c", true, ""),
            ],
            vec![],
        );
        // Port security says Veth2 is error-disabled though its status still says up.
        let secure = |veth, err_disabled| proto::SecurePort { veth, err_disabled, ..Default::default() };
        report.policy = Some(proto::PolicyReport {
            secure_ports: vec![secure(2, true), secure(3, false)],
            ..Default::default()
        });
        let mut live = PortLive::default();
        live.report(&records, report, Instant::now());
        let views = interface_views(&bindings, &[module(3, ModuleStatus::Ok)], &policies, &live);
        let states: Vec<(bool, &str)> = views.iter().map(|v| (v.up, v.reason.as_str())).collect();
        assert_eq!(states, [(false, "errDisabled"), (false, "errDisabled"), (true, "")]);
    }

    #[test]
    fn mac_tables_of_online_modules() {
        let mac = |vlan: u32, mac: &str, veth: u32, port: &str| proto::MacEntry {
            vlan,
            mac: mac.into(),
            kind: if veth == 0 { "dynamic" } else { "static" }.into(),
            age_seconds: 3,
            veth,
            port: port.into(),
            ..Default::default()
        };
        let mut live = PortLive::default();
        let now = Instant::now();
        // Vethernet1 is module 3's, Vethernet2 module 4's, Vethernet3 module 5's.
        let none: BTreeMap<String, PortRecord> = [(1, 3), (2, 4), (3, 5)]
            .into_iter()
            .map(|(veth, module)| {
                let record =
                    PortRecord { veth, ..crate::testing::attached_port(&format!("p{veth}"), module, "x") };
                (record.iface_id.clone(), record)
            })
            .collect();
        live.report(
            &none,
            report(
                3,
                &[],
                vec![mac(200, "02:00:00:00:00:09", 1, ""), mac(100, "02:00:00:00:00:0B", 0, "eth1")],
            ),
            now,
        );
        live.report(&none, report(4, &[], vec![mac(100, "02:00:00:00:00:0a", 2, "")]), now);
        live.report(&none, report(5, &[], vec![mac(100, "02:00:00:00:00:01", 3, "")]), now);
        let modules =
            [module(3, ModuleStatus::Ok), module(4, ModuleStatus::Ok), module(5, ModuleStatus::Offline)];
        let rows: Vec<(u32, String, String, u32)> =
            mac_views(&live, &modules, None).into_iter().map(|v| (v.vlan, v.mac, v.port, v.module)).collect();
        assert_eq!(
            rows,
            [
                (100, "02:00:00:00:00:0a".to_owned(), "Veth2".to_owned(), 4),
                (100, "02:00:00:00:00:0b".to_owned(), "eth1".to_owned(), 3),
                (200, "02:00:00:00:00:09".to_owned(), "Veth1".to_owned(), 3),
            ]
        );
        assert_eq!(mac_views(&live, &modules, Some(200)).len(), 1);
        assert!(mac_views(&live, &modules, Some(300)).is_empty());
    }
}
