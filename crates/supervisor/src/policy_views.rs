//! Access lists and flow monitors as operators see them (`show ip access-lists`, `show flow
//! monitor`, `GET /api/v1/access-lists`): the config joined with what the modules report and
//! with the profiles and ports that apply them. Pure.

use std::collections::BTreeMap;

use config::flow::defaults;
use config::{AccessList, Config, EffectivePolicy, Family};
use serde::Serialize;
use utoipa::ToSchema;

/// Matches per access-list entry, summed over the modules: by (list, IPv6, sequence; 0 for the
/// implicit deny) — what [`crate::ports::Ports::acl_hits`] returns.
pub type AclHits = BTreeMap<(String, bool, u32), u64>;

/// One access list with its entries' matches (`GET /api/v1/access-lists`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AccessListView {
    pub name: String,
    pub family: Family,
    /// `statistics per-entry`: `show ip access-lists` prints `[match=N]` only then.
    pub statistics_per_entry: bool,
    /// In sequence order.
    pub entries: Vec<AceView>,
    /// Packets no entry matched (the implicit deny at the end), summed over the modules.
    pub implicit_deny_matches: u64,
}

/// One entry of an access list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AceView {
    pub sequence: u32,
    /// The entry as the config prints it, without its number: `permit tcp any any eq 80`.
    pub entry: String,
    /// Packets it decided, summed over the modules' latest reports.
    pub matches: u64,
}

/// The access lists of `family` (both, IPv4 first, when `None`), only those named `name` if
/// given, by name, with `hits`.
pub fn access_list_views(
    config: &Config,
    hits: &AclHits,
    family: Option<Family>,
    name: Option<&str>,
) -> Vec<AccessListView> {
    let families = match family {
        Some(family) => vec![family],
        None => vec![Family::Ipv4, Family::Ipv6],
    };
    families
        .into_iter()
        .flat_map(|family| {
            config
                .access_lists(family)
                .iter()
                .filter(move |(list, _)| name.is_none_or(|name| name == list.as_str()))
                .map(move |(list, acl)| access_list_view(list, family, acl, hits))
        })
        .collect()
}

fn access_list_view(name: &str, family: Family, list: &AccessList, hits: &AclHits) -> AccessListView {
    let ipv6 = family == Family::Ipv6;
    let matches = |sequence: u32| hits.get(&(name.to_owned(), ipv6, sequence)).copied().unwrap_or(0);
    AccessListView {
        name: name.to_owned(),
        family,
        statistics_per_entry: list.statistics_per_entry,
        entries: list
            .entries
            .iter()
            .map(|(&sequence, ace)| AceView {
                sequence,
                entry: ace.display(family).to_string(),
                matches: matches(sequence),
            })
            .collect(),
        implicit_deny_matches: matches(0),
    }
}

/// One flow monitor as `show flow monitor` shows it: its settings (defaults filled in) and
/// where it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowMonitorView {
    pub name: String,
    pub description: Option<String>,
    pub record: &'static str,
    pub exporters: Vec<String>,
    pub active_timeout: u32,
    pub inactive_timeout: u32,
    pub cache_size: Option<u32>,
    /// The port-profiles applying it (inheritance resolved), by name then direction.
    pub uses: Vec<MonitorUse>,
}

impl FlowMonitorView {
    /// NX-OS's use count: the interfaces it is applied to, each direction counted.
    pub fn use_count(&self) -> usize {
        self.uses.iter().map(|applied| applied.ports).sum()
    }
}

/// A port-profile applying a monitor in one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorUse {
    pub profile: String,
    /// `input` or `output`.
    pub direction: &'static str,
    /// Its attached vEthernets.
    pub ports: usize,
}

/// The configured flow monitors (only `name` if given), by name. `evaluated` holds the
/// evaluated profiles, `assigned` their attached vEthernets.
pub fn flow_monitor_views(
    config: &Config,
    evaluated: &BTreeMap<String, EffectivePolicy>,
    assigned: &BTreeMap<String, Vec<u32>>,
    name: Option<&str>,
) -> Vec<FlowMonitorView> {
    config
        .flow_monitors
        .iter()
        .filter(|(monitor, _)| name.is_none_or(|name| name == monitor.as_str()))
        .map(|(monitor, settings)| {
            let mut uses = Vec::new();
            for (profile, policy) in evaluated {
                let directions =
                    [("input", &policy.flow_monitors.input), ("output", &policy.flow_monitors.output)];
                for (direction, applied) in directions {
                    if applied.as_ref().is_some_and(|applied| &applied.name == monitor) {
                        let ports = assigned.get(profile).map_or(0, Vec::len);
                        uses.push(MonitorUse { profile: profile.clone(), direction, ports });
                    }
                }
            }
            FlowMonitorView {
                name: monitor.clone(),
                description: settings.description.clone(),
                record: settings.record.unwrap_or(defaults::RECORD).name(),
                exporters: settings.exporters.clone(),
                active_timeout: settings.timeout_active.unwrap_or(defaults::ACTIVE_TIMEOUT_SECS),
                inactive_timeout: settings.timeout_inactive.unwrap_or(defaults::INACTIVE_TIMEOUT_SECS),
                cache_size: settings.cache_size,
                uses,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let text = "ip access-list WEB\n  statistics per-entry\n  10 permit tcp any any eq 80\n  20 deny ip any any\n\
                    ipv6 access-list WEB\n  10 permit ipv6 any any\n\
                    flow exporter C\n  destination 10.0.0.9\n\
                    flow monitor MON\n  exporter C\n  timeout active 30\n\
                    port-profile type vethernet web\n  ip flow monitor MON input\n  state enabled\n\
                    port-profile type vethernet child\n  inherit port-profile web\n  ip flow monitor MON output\n  state enabled\n";
        config::apply(&Config::default(), text)
            .map(|applied| applied.config)
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn access_lists_carry_the_summed_matches_of_their_family() {
        let hits: AclHits = [
            (("WEB".to_owned(), false, 10), 42),
            (("WEB".to_owned(), false, 0), 3),
            (("WEB".to_owned(), true, 10), 7),
        ]
        .into();
        let views = access_list_views(&config(), &hits, None, Some("WEB"));
        assert_eq!(views.len(), 2);
        assert_eq!(views[0].family, Family::Ipv4);
        assert_eq!(
            views[0].entries,
            [
                AceView { sequence: 10, entry: "permit tcp any any eq 80".into(), matches: 42 },
                AceView { sequence: 20, entry: "deny ip any any".into(), matches: 0 },
            ]
        );
        assert_eq!(views[0].implicit_deny_matches, 3);
        assert_eq!(views[1].entries[0].matches, 7);
        assert!(!views[1].statistics_per_entry);
        assert!(access_list_views(&config(), &hits, Some(Family::Ipv4), Some("NONE")).is_empty());
        assert_eq!(access_list_views(&config(), &hits, Some(Family::Ipv6), None).len(), 1);
    }

    #[test]
    fn monitors_list_the_profiles_that_apply_them() {
        let config = config();
        let evaluated = config::evaluate_all(&config);
        let assigned: BTreeMap<String, Vec<u32>> =
            [("web".to_owned(), vec![1, 2]), ("child".to_owned(), vec![3])].into();
        let views = flow_monitor_views(&config, &evaluated, &assigned, None);
        assert_eq!(views.len(), 1);
        let view = &views[0];
        assert_eq!((view.active_timeout, view.inactive_timeout, view.record), (30, 15, "netflow-original"));
        assert_eq!(
            view.uses,
            [
                MonitorUse { profile: "child".into(), direction: "input", ports: 1 },
                MonitorUse { profile: "child".into(), direction: "output", ports: 1 },
                MonitorUse { profile: "web".into(), direction: "input", ports: 2 },
            ]
        );
        assert_eq!(view.use_count(), 4);
        assert!(flow_monitor_views(&config, &evaluated, &assigned, Some("OTHER")).is_empty());
    }
}
