//! What the agents say about their ports: the latest report of every module (states, counters,
//! MAC tables), kept in memory only, and the `IF_UP` / `IF_DOWN` events their changes make.
//!
//! Pure: the caller passes the bindings and `now`, and logs the events returned.
//!
//! An event is logged when a port goes up or down — not for every report, and not when only the
//! reason of a down port changes. The first report of a port bound by this supervisor process
//! is logged whatever it says (`IF_UP` right after `IF_ATTACHED`, or `IF_DOWN_…` for a port
//! waiting for its profile); after a supervisor restart the first report of a port already bound
//! is taken silently, so a restart does not repeat every port's `IF_UP`.
//!
//! Uplinks (`EthernetM/K`) follow the same rules, keyed by (module, index): the first report of
//! an uplink registered by this process is logged, a link without carrier logs
//! `IF_DOWN_LINK_FAILURE`, and an uplink missing from a report is forgotten (the agent dropped it).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use serde::Serialize;
use utoipa::ToSchema;

use crate::events::{Event, down_reason};
use crate::modules::ModuleRecord;
use crate::port_binding::PortRecord;

/// What was last logged for a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logged {
    /// Bound by this process; its first report is logged.
    Pending,
    Up,
    Down,
}

/// Rates between a port's last two reports (the original's "5 minute" rates, measured over the
/// agent's report interval instead).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Rates {
    pub input_bits_per_second: u64,
    pub input_packets_per_second: u64,
    pub output_bits_per_second: u64,
    pub output_packets_per_second: u64,
}

impl Rates {
    fn between(old: &proto::PortCounters, new: &proto::PortCounters, seconds: f64) -> Self {
        if seconds <= 0.0 {
            return Self::default();
        }
        // Counters that went backwards (an agent restart) read as no traffic.
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let per_second = |old: u64, new: u64| (new.saturating_sub(old) as f64 / seconds) as u64;
        Self {
            input_bits_per_second: per_second(old.rx_bytes, new.rx_bytes).saturating_mul(8),
            input_packets_per_second: per_second(old.rx_packets, new.rx_packets),
            output_bits_per_second: per_second(old.tx_bytes, new.tx_bytes).saturating_mul(8),
            output_packets_per_second: per_second(old.tx_packets, new.tx_packets),
        }
    }
}

/// One port as its module last reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedPort {
    pub status: proto::PortStatus,
    pub rates: Rates,
}

/// One uplink as its module last reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedUplink {
    pub status: proto::UplinkStatus,
    pub rates: Rates,
}

/// A module's latest report.
#[derive(Debug, Clone)]
struct ModuleReport {
    at: Instant,
    ports: HashMap<String, ReportedPort>,
    /// By index.
    uplinks: BTreeMap<u32, ReportedUplink>,
    macs: Vec<proto::MacEntry>,
    policy: proto::PolicyReport,
}

/// The latest reports and what was logged of them.
#[derive(Debug, Default)]
pub struct PortLive {
    logged: HashMap<String, Logged>,
    /// By (module, uplink index).
    uplinks_logged: HashMap<(u32, u32), Logged>,
    reports: BTreeMap<u32, ModuleReport>,
}

/// The rates between two reports of one port's counters.
fn rates_since(
    previous: Option<(&proto::PortCounters, Instant)>,
    counters: Option<&proto::PortCounters>,
    now: Instant,
) -> Rates {
    match (previous, counters) {
        (Some((old, at)), Some(new)) => {
            Rates::between(old, new, now.saturating_duration_since(at).as_secs_f64())
        }
        _ => Rates::default(),
    }
}

/// The vEthernets attached on `module`: all a module's report may name.
fn own_veths(bindings: &BTreeMap<String, PortRecord>, module: u32) -> BTreeSet<u32> {
    bindings
        .values()
        .filter(|binding| binding.attached && binding.module == module)
        .map(|binding| binding.veth)
        .collect()
}

/// A module's MAC entries may name only its own attached vEthernets: an entry naming another
/// (another module's port, or one it no longer has) — by number, or by a port text that spells
/// one — keeps its MAC but loses the name, so no module's table can show a row on someone else's
/// port. (An agent's own port texts are `LTL n` or an uplink's NIC.)
fn own_veths_only(own: &BTreeSet<u32>, mut macs: Vec<proto::MacEntry>) -> Vec<proto::MacEntry> {
    let names_a_veth = |port: &str| port.get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case("veth"));
    for entry in &mut macs {
        if (entry.veth != 0 && !own.contains(&entry.veth)) || (entry.veth == 0 && names_a_veth(&entry.port)) {
            entry.veth = 0;
            entry.port = "-".to_owned();
        }
    }
    macs
}

/// A module's policy state may speak only of its own attached vEthernets: secure ports and
/// DHCP bindings on any other port are left out (a binding without its port would still show a
/// MAC and an address in `show ip dhcp snooping binding` that no port of that module holds).
fn own_policy_only(own: &BTreeSet<u32>, mut policy: proto::PolicyReport) -> proto::PolicyReport {
    policy.secure_ports.retain(|port| own.contains(&port.veth));
    policy.dhcp_bindings.retain(|binding| own.contains(&binding.veth));
    policy
}

/// Whether an event is due for a port that was `before` and is now `up`; remembers nothing.
fn due(before: Option<Logged>, up: bool) -> bool {
    let now = if up { Logged::Up } else { Logged::Down };
    match before {
        Some(Logged::Pending) => true,
        Some(before) => before != now,
        None => false,
    }
}

fn logged(up: bool) -> Logged {
    if up { Logged::Up } else { Logged::Down }
}

impl PortLive {
    /// A port was (re)attached and `IF_ATTACHED` logged: its next report is logged too.
    pub fn attached(&mut self, iface_id: &str) {
        self.logged.insert(iface_id.to_owned(), Logged::Pending);
    }

    /// A port was detached: forget what was logged of it.
    pub fn detached(&mut self, iface_id: &str) {
        self.logged.remove(iface_id);
    }

    /// A module registered: the first report of each of its uplinks not yet known is logged.
    pub fn uplinks_registered(&mut self, record: &ModuleRecord) {
        for uplink in &record.uplinks {
            self.uplinks_logged.entry((record.module, uplink.index)).or_insert(Logged::Pending);
        }
    }

    /// Takes `report` (checked with [`crate::agent_input::check_report`]) as its module's latest and returns the
    /// events of the ports and uplinks that went up or down. Only ports attached on the reporting
    /// module count (a late report from a host a port has left changes nothing).
    pub fn report(
        &mut self,
        bindings: &BTreeMap<String, PortRecord>,
        report: proto::PortReport,
        now: Instant,
    ) -> Vec<Event> {
        let module = report.module;
        let previous = self.reports.remove(&module);
        let mut events = Vec::new();
        let mut ports = HashMap::with_capacity(report.ports.len());
        for status in report.ports {
            let old = previous
                .as_ref()
                .and_then(|old| Some((old.ports.get(&status.iface_id)?.status.counters.as_ref()?, old.at)));
            let rates = rates_since(old, status.counters.as_ref(), now);
            let binding = bindings.get(&status.iface_id).filter(|b| b.attached && b.module == module);
            if let Some(binding) = binding {
                events.extend(self.transition(binding, &status));
            }
            ports.insert(status.iface_id.clone(), ReportedPort { status, rates });
        }
        let own = own_veths(bindings, module);
        let mut uplinks = BTreeMap::new();
        for mut status in report.uplinks {
            // An uplink may list only this module's own vEthernets as pinned to it.
            status.pinned_veths.retain(|veth| own.contains(veth));
            let old = previous
                .as_ref()
                .and_then(|old| Some((old.uplinks.get(&status.index)?.status.counters.as_ref()?, old.at)));
            let rates = rates_since(old, status.counters.as_ref(), now);
            let before = self.uplinks_logged.insert((module, status.index), logged(status.up));
            if due(before, status.up) {
                events.push(if status.up {
                    Event::ethernet_up(
                        module,
                        status.index,
                        if status.mode.is_empty() { "trunk" } else { &status.mode },
                    )
                } else {
                    Event::ethernet_down(module, status.index, &status.reason)
                });
            }
            uplinks.insert(status.index, ReportedUplink { status, rates });
        }
        // An uplink the agent no longer has: forget it (a new one at its index logs afresh).
        self.uplinks_logged.retain(|&(owner, index), state| {
            owner != module || uplinks.contains_key(&index) || *state == Logged::Pending
        });
        let macs = own_veths_only(&own, report.macs);
        let policy = own_policy_only(&own, report.policy.unwrap_or_default());
        self.reports.insert(module, ModuleReport { at: now, ports, uplinks, macs, policy });
        events
    }

    /// The event of one reported port, if its state changed, and the state remembered.
    fn transition(&mut self, binding: &PortRecord, status: &proto::PortStatus) -> Option<Event> {
        let before = self.logged.insert(binding.iface_id.clone(), logged(status.up));
        due(before, status.up).then(|| {
            if status.up {
                Event::interface_up(
                    binding.veth,
                    if status.mode.is_empty() { "access" } else { &status.mode },
                )
            } else {
                Event::interface_down(binding.veth, &status.reason)
            }
        })
    }

    /// A module went offline: its report is dropped and its ports that were up go down
    /// (`IF_DOWN_MODULE_OFFLINE`); the report after its return brings them back up.
    pub fn module_offline(&mut self, bindings: &BTreeMap<String, PortRecord>, module: u32) -> Vec<Event> {
        self.reports.remove(&module);
        let mut events = Vec::new();
        for binding in bindings.values().filter(|b| b.attached && b.module == module) {
            if let Some(logged) = self.logged.get_mut(&binding.iface_id)
                && *logged == Logged::Up
            {
                *logged = Logged::Down;
                events.push(Event::interface_down(binding.veth, down_reason::MODULE_OFFLINE));
            }
        }
        let mut uplinks: Vec<(u32, u32)> = self
            .uplinks_logged
            .iter_mut()
            .filter(|((owner, _), state)| *owner == module && **state == Logged::Up)
            .map(|(&key, state)| {
                *state = Logged::Down;
                key
            })
            .collect();
        uplinks.sort_unstable();
        events.extend(
            uplinks
                .into_iter()
                .map(|(module, index)| Event::ethernet_down(module, index, down_reason::MODULE_OFFLINE)),
        );
        events
    }

    /// A module was removed: its report and what was logged of its uplinks are forgotten (its
    /// ports were detached one by one).
    pub fn module_removed(&mut self, module: u32) {
        self.reports.remove(&module);
        self.uplinks_logged.retain(|&(owner, _), _| owner != module);
    }

    /// An uplink as its module last reported it.
    pub fn uplink(&self, module: u32, index: u32) -> Option<&ReportedUplink> {
        self.reports.get(&module)?.uplinks.get(&index)
    }

    /// Every uplink `module` last reported, by index.
    pub fn uplinks(&self, module: u32) -> impl Iterator<Item = &ReportedUplink> {
        self.reports.get(&module).into_iter().flat_map(|report| report.uplinks.values())
    }

    /// A port as `module` last reported it.
    pub fn port(&self, module: u32, iface_id: &str) -> Option<&ReportedPort> {
        self.reports.get(&module)?.ports.get(iface_id)
    }

    /// Whether `module` last reported its port `veth` error-disabled by port security.
    pub fn err_disabled(&self, module: u32, veth: u32) -> bool {
        self.reports.get(&module).is_some_and(|report| {
            report.policy.secure_ports.iter().any(|port| port.veth == veth && port.err_disabled)
        })
    }

    /// Every module's latest policy state, by module.
    pub fn policies(&self) -> impl Iterator<Item = (u32, &proto::PolicyReport)> {
        self.reports.iter().map(|(&module, report)| (module, &report.policy))
    }

    /// Every module's MAC table entries, by module.
    pub fn macs(&self) -> impl Iterator<Item = (u32, &proto::MacEntry)> {
        self.reports.iter().flat_map(|(&module, report)| report.macs.iter().map(move |entry| (module, entry)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn binding(iface: &str, veth: u32, module: u32) -> PortRecord {
        PortRecord {
            veth,
            iface_id: iface.into(),
            module,
            host_id: "id".into(),
            profile: "web".into(),
            adapter: "veth0".into(),
            container_ifname: "eth0".into(),
            mac: "02:00:00:00:00:01".into(),
            owner_name: "web1".into(),
            owner_uuid: String::new(),
            ltl: 48 + veth,
            attached: true,
        }
    }

    fn status(iface: &str, up: bool, reason: &str, rx_bytes: u64) -> proto::PortStatus {
        proto::PortStatus {
            iface_id: iface.into(),
            veth: 0,
            up,
            reason: reason.into(),
            mode: "access".into(),
            vlan: 100,
            counters: Some(proto::PortCounters {
                rx_bytes,
                rx_packets: rx_bytes / 100,
                ..Default::default()
            }),
        }
    }

    fn report(module: u32, ports: Vec<proto::PortStatus>) -> proto::PortReport {
        proto::PortReport { module, host_id: "id".into(), ports, ..Default::default() }
    }

    fn texts(events: &[Event]) -> Vec<String> {
        events.iter().map(|e| format!("{}: {}", e.mnemonic, e.text)).collect()
    }

    #[test]
    fn transitions_are_logged_once() {
        let bindings: BTreeMap<_, _> = [("a".to_owned(), binding("a", 1, 3))].into();
        let mut live = PortLive::default();
        let start = Instant::now();
        live.attached("a");
        let first =
            live.report(&bindings, report(3, vec![status("a", false, "port-profile not found", 0)]), start);
        assert_eq!(
            texts(&first),
            ["IF_DOWN_PORT_PROFILE_NOT_FOUND: Interface Vethernet1 is down (port-profile not found)"]
        );
        let again =
            live.report(&bindings, report(3, vec![status("a", false, "port-profile not found", 0)]), start);
        assert!(again.is_empty());
        let reason_only =
            live.report(&bindings, report(3, vec![status("a", false, "port-profile disabled", 0)]), start);
        assert!(reason_only.is_empty(), "a down port changing reasons logs nothing");
        let up = live.report(&bindings, report(3, vec![status("a", true, "", 0)]), start);
        assert_eq!(texts(&up), ["IF_UP: Interface Vethernet1 is up in mode access"]);
        assert!(live.report(&bindings, report(3, vec![status("a", true, "", 1000)]), start).is_empty());
        let down =
            live.report(&bindings, report(3, vec![status("a", false, "administratively down", 0)]), start);
        assert_eq!(
            texts(&down),
            ["IF_DOWN_ADMIN_DOWN: Interface Vethernet1 is down (Administratively down)"]
        );
    }

    #[test]
    fn only_ports_attached_on_the_reporting_module_count() {
        let mut detached = binding("b", 2, 3);
        detached.attached = false;
        let bindings: BTreeMap<_, _> =
            [("a".to_owned(), binding("a", 1, 4)), ("b".to_owned(), detached)].into();
        let mut live = PortLive::default();
        live.attached("a");
        live.attached("b");
        let events = live.report(
            &bindings,
            report(3, vec![status("a", true, "", 0), status("b", true, "", 0)]),
            Instant::now(),
        );
        assert!(events.is_empty(), "{events:?}");
        assert!(live.port(3, "a").is_some(), "kept for the views all the same");
    }

    #[test]
    fn mac_entries_name_only_the_module_s_own_ports() {
        let bindings: BTreeMap<_, _> =
            [("a".to_owned(), binding("a", 1, 3)), ("b".to_owned(), binding("b", 2, 4))].into();
        let entry = |veth: u32| proto::MacEntry {
            vlan: 100,
            mac: "02:00:00:00:00:09".into(),
            kind: "static".into(),
            veth,
            port: format!("Veth{veth}"),
            ..Default::default()
        };
        let mut live = PortLive::default();
        // Module 3 names its own Veth1, module 4's Veth2 by number, and Veth2 again by text only.
        let spelled = proto::MacEntry { port: "vethernet2".into(), ..entry(0) };
        let uplink_port = proto::MacEntry { port: "eth1".into(), ..entry(0) };
        let uplink = proto::UplinkStatus { index: 1, pinned_veths: vec![1, 2], ..Default::default() };
        let report = proto::PortReport {
            macs: vec![entry(1), entry(2), spelled, uplink_port],
            uplinks: vec![uplink],
            ..report(3, Vec::new())
        };
        live.report(&bindings, report, Instant::now());
        let seen: Vec<(u32, &str)> = live.macs().map(|(_, e)| (e.veth, e.port.as_str())).collect();
        assert_eq!(seen, [(1, "Veth1"), (0, "-"), (0, "-"), (0, "eth1")], "Vethernet2 is module 4's");
        let pinned = live.uplink(3, 1).map(|uplink| uplink.status.pinned_veths.clone());
        assert_eq!(pinned, Some(vec![1]), "an uplink lists only its own module's vEthernets");
    }

    #[test]
    fn policy_state_names_only_the_module_s_own_ports() {
        let bindings: BTreeMap<_, _> =
            [("a".to_owned(), binding("a", 1, 3)), ("b".to_owned(), binding("b", 2, 4))].into();
        let secure = |veth| proto::SecurePort { veth, action: "shutdown".into(), ..Default::default() };
        let lease = |veth| proto::DhcpBinding { veth, mac: "02:00:00:00:00:09".into(), ..Default::default() };
        let policy = proto::PolicyReport {
            secure_ports: vec![secure(1), secure(2)],
            dhcp_bindings: vec![lease(1), lease(2)],
            ..Default::default()
        };
        let mut live = PortLive::default();
        live.report(
            &bindings,
            proto::PortReport { policy: Some(policy), ..report(3, Vec::new()) },
            Instant::now(),
        );
        let (module, kept) = live.policies().next().expect("module 3 reported");
        assert_eq!(module, 3);
        assert_eq!(
            kept.secure_ports.iter().map(|port| port.veth).collect::<Vec<_>>(),
            [1],
            "Vethernet2 is module 4's"
        );
        assert_eq!(kept.dhcp_bindings.iter().map(|lease| lease.veth).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn first_report_after_a_supervisor_restart_is_silent() {
        let bindings: BTreeMap<_, _> = [("a".to_owned(), binding("a", 1, 3))].into();
        let mut live = PortLive::default();
        assert!(live.report(&bindings, report(3, vec![status("a", true, "", 0)]), Instant::now()).is_empty());
        let down = live.report(&bindings, report(3, vec![status("a", false, "", 0)]), Instant::now());
        assert_eq!(texts(&down), ["IF_DOWN_NONE: Interface Vethernet1 is down (None)"]);
    }

    #[test]
    fn module_offline_takes_up_ports_down_and_back() {
        let bindings: BTreeMap<_, _> =
            [("a".to_owned(), binding("a", 1, 3)), ("b".to_owned(), binding("b", 2, 3))].into();
        let mut live = PortLive::default();
        live.attached("a");
        live.attached("b");
        let now = Instant::now();
        live.report(&bindings, report(3, vec![status("a", true, "", 0), status("b", false, "x", 0)]), now);
        let offline = live.module_offline(&bindings, 3);
        assert_eq!(
            texts(&offline),
            ["IF_DOWN_MODULE_OFFLINE: Interface Vethernet1 is down (module offline)"]
        );
        assert!(live.port(3, "a").is_none(), "the report is dropped");
        assert!(live.module_offline(&bindings, 3).is_empty());
        let back = live.report(
            &bindings,
            report(3, vec![status("a", true, "", 0), status("b", false, "x", 0)]),
            now,
        );
        assert_eq!(texts(&back), ["IF_UP: Interface Vethernet1 is up in mode access"]);
    }

    fn uplink(index: u32, up: bool, reason: &str) -> proto::UplinkStatus {
        proto::UplinkStatus {
            index,
            name: format!("eth{index}"),
            profile: "uplink".into(),
            up,
            reason: reason.into(),
            mode: "trunk".into(),
            ..Default::default()
        }
    }

    fn uplink_report(module: u32, uplinks: Vec<proto::UplinkStatus>) -> proto::PortReport {
        proto::PortReport { module, uplinks, ..report(module, Vec::new()) }
    }

    fn registered(module: u32, indexes: &[u32]) -> ModuleRecord {
        ModuleRecord {
            module,
            host_name: "bilbo".into(),
            host_id: "id".into(),
            version: String::new(),
            addresses: Vec::new(),
            hardware: String::new(),
            vtep: None,
            uplinks: indexes
                .iter()
                .map(|&index| crate::modules::UplinkRecord {
                    index,
                    name: format!("eth{index}"),
                    profile: "uplink".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn uplink_transitions_are_logged() {
        let none = BTreeMap::new();
        let mut live = PortLive::default();
        let now = Instant::now();
        live.uplinks_registered(&registered(3, &[1, 2]));
        let first = live.report(
            &none,
            uplink_report(3, vec![uplink(1, true, ""), uplink(2, false, "Link not connected")]),
            now,
        );
        assert_eq!(
            texts(&first),
            [
                "IF_UP: Interface Ethernet3/1 is up in mode trunk",
                "IF_DOWN_LINK_FAILURE: Interface Ethernet3/2 is down (Link failure)"
            ]
        );
        let same = live.report(
            &none,
            uplink_report(3, vec![uplink(1, true, ""), uplink(2, false, "Link not connected")]),
            now,
        );
        assert!(same.is_empty(), "{same:?}");
        live.uplinks_registered(&registered(3, &[1, 2]));
        let failed = live.report(
            &none,
            uplink_report(3, vec![uplink(1, false, "Link not connected"), uplink(2, true, "")]),
            now,
        );
        assert_eq!(
            texts(&failed),
            [
                "IF_DOWN_LINK_FAILURE: Interface Ethernet3/1 is down (Link failure)",
                "IF_UP: Interface Ethernet3/2 is up in mode trunk"
            ],
            "registering again does not make known uplinks log afresh"
        );
        assert_eq!(live.uplink(3, 2).map(|u| u.status.name.as_str()), Some("eth2"));
        let offline = live.module_offline(&none, 3);
        assert_eq!(
            texts(&offline),
            ["IF_DOWN_MODULE_OFFLINE: Interface Ethernet3/2 is down (module offline)"]
        );
        assert!(live.uplink(3, 2).is_none());
        // Uplink 2 went away; an uplink never registered by this process is taken silently.
        let back = live.report(&none, uplink_report(3, vec![uplink(1, true, "")]), now);
        assert_eq!(texts(&back), ["IF_UP: Interface Ethernet3/1 is up in mode trunk"]);
        assert!(live.report(&none, uplink_report(4, vec![uplink(1, true, "")]), now).is_empty());
    }

    #[test]
    fn rates_come_from_the_last_two_reports() {
        let bindings = BTreeMap::new();
        let mut live = PortLive::default();
        let start = Instant::now();
        live.report(&bindings, report(3, vec![status("a", true, "", 1_000)]), start);
        live.report(
            &bindings,
            report(3, vec![status("a", true, "", 21_000)]),
            start + Duration::from_secs(2),
        );
        let rates = live.port(3, "a").map(|port| port.rates).unwrap_or_default();
        assert_eq!(rates.input_bits_per_second, 80_000);
        assert_eq!(rates.input_packets_per_second, 100);
        assert_eq!(rates.output_bits_per_second, 0);
    }
}
