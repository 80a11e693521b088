//! What an apply changed: one entry per object created, modified or removed, with the lines
//! that did it, so the supervisor can log one event per change and know which profiles moved.

use std::collections::BTreeMap;
use std::fmt;

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
            Object::Vlans(_) | Object::BridgeDomain(_) | Object::User(_) => None,
        }
    }

    /// The bridge-domain this change is about, if it is about one.
    pub fn bridge_domain(&self) -> Option<&str> {
        match &self.object {
            Object::BridgeDomain(name) => Some(name),
            Object::Vlans(_) | Object::PortProfile(_) | Object::User(_) => None,
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

/// An object a line touched.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Touched {
    Vlan(VlanId),
    /// A bridge-domain, by name.
    BridgeDomain(String),
    Profile(String),
    /// An operator account, by user name.
    User(String),
}

/// The changes between `old` and `new`, looking only at touched objects (nothing else moved).
/// VLANs come first, then bridge-domains, then port-profiles, each in running-config order.
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
        }
    }
    let mut vlans: Vec<Change> = vlan_groups
        .into_iter()
        .map(|((kind, lines), ids)| Change { object: Object::Vlans(ids), kind, lines: lines.to_vec() })
        .collect();
    vlans.sort_by_key(|c| match &c.object {
        Object::Vlans(ids) => ids.iter().next(),
        Object::BridgeDomain(_) | Object::PortProfile(_) | Object::User(_) => None,
    });
    // `Touched` orders bridge-domains before profiles before users, so `others` is already in
    // that order.
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
