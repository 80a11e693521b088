//! What an apply changed: one entry per object created, modified or removed, with the lines
//! that did it, so the supervisor can log one event per change and know which profiles moved.

use std::collections::BTreeMap;
use std::fmt;

use crate::acl::Family;
use crate::model::{Config, VlanId};
use crate::vlan_set::VlanSet;

/// The object a change is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    /// VLANs changed the same way by the same lines (`vlan 100-109` is one change).
    Vlans(VlanSet),
    /// `bridge-domain NAME`.
    BridgeDomain(String),
    PortProfile(String),
    /// `username NAME`.
    User(String),
    /// `ip access-list NAME` / `ipv6 access-list NAME`.
    AccessList(Family, String),
    /// `flow exporter NAME`.
    FlowExporter(String),
    /// `flow monitor NAME`.
    FlowMonitor(String),
    /// The global `ip dhcp snooping` (created: turned on; removed: turned off).
    DhcpSnooping,
    /// `ip pool NAME`.
    IpPool(String),
}

/// What happened to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    Created,
    Modified,
    Removed,
}

/// One changed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub object: Object,
    pub kind: ChangeKind,
    /// The configuration lines that touched the object, trimmed, in order.
    pub lines: Vec<String>,
}

impl Change {
    /// The port-profile this change is about, if it is about one.
    pub fn profile(&self) -> Option<&str> {
        match &self.object {
            Object::PortProfile(name) => Some(name),
            _ => None,
        }
    }

    /// The bridge-domain this change is about, if it is about one.
    pub fn bridge_domain(&self) -> Option<&str> {
        match &self.object {
            Object::BridgeDomain(name) => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Vlans(ids) => write!(f, "vlan {ids}"),
            Self::BridgeDomain(name) => write!(f, "bridge-domain {name}"),
            Self::PortProfile(name) => write!(f, "port-profile {name}"),
            Self::User(name) => write!(f, "username {name}"),
            Self::AccessList(family, name) => write!(f, "{} access-list {name}", family.keyword()),
            Self::FlowExporter(name) => write!(f, "flow exporter {name}"),
            Self::FlowMonitor(name) => write!(f, "flow monitor {name}"),
            Self::DhcpSnooping => f.write_str("ip dhcp snooping"),
            Self::IpPool(name) => write!(f, "ip pool {name}"),
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Created => "created",
            Self::Modified => "modified",
            Self::Removed => "removed",
        })
    }
}

impl fmt::Display for Change {
    /// `port-profile web modified (switchport access vlan 100; state enabled)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.object, self.kind)?;
        if !self.lines.is_empty() {
            write!(f, " ({})", self.lines.join("; "))?;
        }
        Ok(())
    }
}

/// An object a line touched, in running-config order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Touched {
    Vlan(VlanId),
    /// A bridge-domain, by name.
    BridgeDomain(String),
    /// The global `ip dhcp snooping`.
    DhcpSnooping,
    /// An access list, by family and name.
    AccessList(Family, String),
    /// A flow exporter, by name.
    FlowExporter(String),
    /// A flow monitor, by name.
    FlowMonitor(String),
    /// An address pool, by name.
    IpPool(String),
    Profile(String),
    /// An operator account, by user name.
    User(String),
}

/// The changes between `old` and `new`, looking only at touched objects (nothing else moved).
/// VLANs come first, then the other objects in running-config order (bridge-domains, `ip dhcp
/// snooping`, access lists, flow exporters, flow monitors, port-profiles, accounts).
pub fn diff(old: &Config, new: &Config, touched: &BTreeMap<Touched, Vec<String>>) -> Vec<Change> {
    let mut vlan_groups: BTreeMap<(ChangeKind, &[String]), VlanSet> = BTreeMap::new();
    let mut others = Vec::new();
    for (object, lines) in touched {
        match object {
            Touched::Vlan(id) => {
                if let Some(kind) = kind_of(old.vlans.get(id), new.vlans.get(id)) {
                    vlan_groups.entry((kind, lines.as_slice())).or_default().insert(*id);
                }
            }
            Touched::BridgeDomain(name) => {
                let change = kind_of(old.bridge_domains.get(name), new.bridge_domains.get(name));
                if let Some(kind) = change {
                    others.push(Change {
                        object: Object::BridgeDomain(name.clone()),
                        kind,
                        lines: lines.clone(),
                    });
                }
            }
            Touched::Profile(name) => {
                let change = kind_of(old.port_profiles.get(name), new.port_profiles.get(name));
                if let Some(kind) = change {
                    others.push(Change {
                        object: Object::PortProfile(name.clone()),
                        kind,
                        lines: lines.clone(),
                    });
                }
            }
            Touched::User(name) => {
                if let Some(kind) = kind_of(old.users.get(name), new.users.get(name)) {
                    others.push(Change { object: Object::User(name.clone()), kind, lines: lines.clone() });
                }
            }
            Touched::DhcpSnooping => {
                let on = |c: &Config| c.dhcp_snooping.then_some(&());
                if let Some(kind) = kind_of(on(old), on(new)) {
                    others.push(Change { object: Object::DhcpSnooping, kind, lines: lines.clone() });
                }
            }
            Touched::AccessList(family, name) => {
                let change =
                    kind_of(old.access_lists(*family).get(name), new.access_lists(*family).get(name));
                if let Some(kind) = change {
                    let object = Object::AccessList(*family, name.clone());
                    others.push(Change { object, kind, lines: lines.clone() });
                }
            }
            Touched::FlowExporter(name) => {
                if let Some(kind) = kind_of(old.flow_exporters.get(name), new.flow_exporters.get(name)) {
                    let object = Object::FlowExporter(name.clone());
                    others.push(Change { object, kind, lines: lines.clone() });
                }
            }
            Touched::IpPool(name) => {
                if let Some(kind) = kind_of(old.ip_pools.get(name), new.ip_pools.get(name)) {
                    let object = Object::IpPool(name.clone());
                    others.push(Change { object, kind, lines: lines.clone() });
                }
            }
            Touched::FlowMonitor(name) => {
                if let Some(kind) = kind_of(old.flow_monitors.get(name), new.flow_monitors.get(name)) {
                    let object = Object::FlowMonitor(name.clone());
                    others.push(Change { object, kind, lines: lines.clone() });
                }
            }
        }
    }
    let mut vlans: Vec<Change> = vlan_groups
        .into_iter()
        .map(|((kind, lines), ids)| Change { object: Object::Vlans(ids), kind, lines: lines.to_vec() })
        .collect();
    vlans.sort_by_key(|c| match &c.object {
        Object::Vlans(ids) => ids.iter().next(),
        _ => None,
    });
    // `Touched` is in running-config order, so `others` is already in that order.
    vlans.extend(others);
    vlans
}

fn kind_of<T: PartialEq>(old: Option<&T>, new: Option<&T>) -> Option<ChangeKind> {
    match (old, new) {
        (None, Some(_)) => Some(ChangeKind::Created),
        (Some(_), None) => Some(ChangeKind::Removed),
        (Some(a), Some(b)) if a != b => Some(ChangeKind::Modified),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_reads_like_a_log_line() {
        let c = Change {
            object: Object::Vlans(VlanSet::range(100, 109)),
            kind: ChangeKind::Created,
            lines: vec!["vlan 100-109".into()],
        };
        assert_eq!(c.to_string(), "vlan 100-109 created (vlan 100-109)");
        let c = Change {
            object: Object::PortProfile("web".into()),
            kind: ChangeKind::Modified,
            lines: vec!["switchport access vlan 100".into(), "state enabled".into()],
        };
        assert_eq!(c.to_string(), "port-profile web modified (switchport access vlan 100; state enabled)");
        assert_eq!(c.profile(), Some("web"));
    }
}
