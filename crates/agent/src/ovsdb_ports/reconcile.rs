//! From the replica to the ports the agent should have: every Interface row on the agent's
//! bridge that carries the seed's five external_ids. Pure.

use std::collections::BTreeMap;
use std::fmt;

use wire::MacAddr;

use ovsdb::replica::{Replica, Row};
use ovsdb::schema::{INTERFACE, OPEN_VSWITCH, PORT};
use ovsdb::{InterfaceState, View, find_bridge};

/// The external_ids keys the seed's `ovs-vsctl add-port` sets, all required.
pub const REQUIRED_KEYS: [&str; 5] = ["iface-id", "attached-mac", "profile", "vm-uuid", "vm-name"];

/// One port the agent should have, from one Interface row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredPort {
    /// `external_ids:iface-id`: the port's stable identity.
    pub iface_id: String,
    /// The row's `name`: the host-side kernel interface (the veth's host end).
    pub ifname: String,
    /// `external_ids:attached-mac`: the container interface's MAC.
    pub mac: MacAddr,
    /// `external_ids:profile`: the port-profile the port inherits.
    pub profile: String,
    /// `external_ids:vm-uuid`: the owning container or VM.
    pub vm_uuid: String,
    /// `external_ids:vm-name`: its name.
    pub vm_name: String,
}

/// Why an Interface row on the agent's bridge cannot become a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// Some of [`REQUIRED_KEYS`] are absent or empty.
    MissingKeys(Vec<&'static str>),
    /// `attached-mac` is not a MAC address.
    BadMac(String),
    /// Another row on the bridge has the same `iface-id`.
    DuplicateIfaceId {
        /// The iface-id.
        iface_id: String,
        /// The other rows' names.
        others: Vec<String>,
    },
    /// The row's `type` is not a plain kernel interface (`""` or `system`).
    UnsupportedType(String),
    /// The row's Port holds several interfaces (a bond).
    Bond {
        /// The Port row's name.
        port: String,
    },
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::MissingKeys(keys) => {
                let keys: Vec<String> = keys.iter().map(|key| format!("external_ids:{key}")).collect();
                write!(f, "missing {}", keys.join(", "))
            }
            RejectReason::BadMac(mac) => write!(f, "external_ids:attached-mac '{mac}' is not a MAC address"),
            RejectReason::DuplicateIfaceId { iface_id, others } => {
                write!(f, "external_ids:iface-id {iface_id} is also used by {}", others.join(", "))
            }
            RejectReason::UnsupportedType(kind) => {
                write!(f, "interface type '{kind}' is not supported (only system interfaces, such as veths)")
            }
            RejectReason::Bond { port } => {
                write!(f, "port {port} has several interfaces; bonds are not supported")
            }
        }
    }
}

/// An Interface row on the agent's bridge that cannot become a port, and why. Its `error`
/// column should say so ([`RejectedInterface::state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedInterface {
    /// The row's `name`.
    pub ifname: String,
    /// Why.
    pub reason: RejectReason,
}

impl RejectedInterface {
    /// What to write back: `ofport` -1 and the reason in `error`, as ovs-vswitchd does for an
    /// interface it could not add.
    pub fn state(&self) -> InterfaceState {
        InterfaceState::failed(&self.ifname, self.reason.to_string())
    }
}

/// What the database asks of the agent now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredState {
    /// The ports to have, sorted by `ifname`.
    pub desired: Vec<DesiredPort>,
    /// The rows to mark with an error, sorted by `ifname`.
    pub rejected: Vec<RejectedInterface>,
    /// `Open_vSwitch.next_cfg`: acknowledging it as `cur_cfg` releases the `ovs-vsctl` calls
    /// that made this configuration.
    pub next_cfg: i64,
    /// Whether the bridge row exists.
    pub bridge_exists: bool,
}

/// The ports the Interface rows on `bridge` ask for. The bridge's own internal interface (the
/// one named like the bridge, which `ovs-vsctl add-br` creates) is neither a port nor an error.
///
/// Duplicate `iface-id`s: a row that already holds an `ofport` (it was a port before the
/// duplicate appeared) keeps the iface-id when it is the only such row; every other row with
/// that iface-id is rejected, so a second `add-port` never steals a working port's identity.
pub fn reconcile(replica: &Replica, bridge: &str) -> DesiredState {
    let next_cfg =
        replica.rows(OPEN_VSWITCH).next().map(|(_, row)| row.integer("next_cfg")).unwrap_or_default();
    let Some(bridge_row) = find_bridge(replica, bridge) else {
        return DesiredState { next_cfg, ..DesiredState::default() };
    };

    let mut candidates = Vec::new();
    let mut rejected = Vec::new();
    for port in bridge_row.uuids("ports").into_iter().filter_map(|uuid| replica.row(PORT, uuid)) {
        let interfaces: Vec<&Row> =
            port.uuids("interfaces").into_iter().filter_map(|uuid| replica.row(INTERFACE, uuid)).collect();
        for iface in &interfaces {
            let ifname = iface.text("name");
            if ifname == bridge && iface.text("type") == "internal" {
                continue;
            }
            let verdict = if interfaces.len() > 1 {
                Err(RejectReason::Bond { port: port.text("name").to_owned() })
            } else {
                desired_port(iface)
            };
            match verdict {
                Ok(desired) => {
                    candidates.push((desired, iface.optional_integer("ofport").is_some_and(|p| p > 0)))
                }
                Err(reason) => rejected.push(RejectedInterface { ifname: ifname.to_owned(), reason }),
            }
        }
    }

    let (mut desired, duplicates) = split_duplicates(candidates);
    rejected.extend(duplicates);
    desired.sort_by(|a, b| a.ifname.cmp(&b.ifname));
    rejected.sort_by(|a, b| a.ifname.cmp(&b.ifname));
    DesiredState { desired, rejected, next_cfg, bridge_exists: true }
}

/// The client reports a new [`DesiredState`] whenever the rows change it, and nothing for our own
/// write-backs.
impl View for DesiredState {
    fn of(replica: &Replica, bridge: &str) -> Self {
        reconcile(replica, bridge)
    }

    /// Logs each row newly rejected on this connection, once.
    fn announce(&self, bridge: &str, previous: Option<&Self>) {
        let before = previous.map(|state| state.rejected.as_slice()).unwrap_or_default();
        for rejected in self.rejected.iter().filter(|r| !before.contains(r)) {
            tracing::warn!(bridge = %bridge, "ovsdb: interface {}: {}", rejected.ifname, rejected.reason);
        }
    }
}

fn desired_port(iface: &Row) -> Result<DesiredPort, RejectReason> {
    let kind = iface.text("type");
    if !matches!(kind, "" | "system") {
        return Err(RejectReason::UnsupportedType(kind.to_owned()));
    }
    let ids = iface.string_map("external_ids");
    let value = |key: &str| ids.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let missing: Vec<&'static str> = REQUIRED_KEYS.into_iter().filter(|key| value(key).is_none()).collect();
    let [Some(iface_id), Some(mac), Some(profile), Some(vm_uuid), Some(vm_name)] = REQUIRED_KEYS.map(value)
    else {
        return Err(RejectReason::MissingKeys(missing));
    };
    let mac = mac.parse::<MacAddr>().map_err(|_| RejectReason::BadMac(mac.to_owned()))?;
    Ok(DesiredPort {
        iface_id: iface_id.to_owned(),
        ifname: iface.text("name").to_owned(),
        mac,
        profile: profile.to_owned(),
        vm_uuid: vm_uuid.to_owned(),
        vm_name: vm_name.to_owned(),
    })
}

/// Splits `(port, was_already_a_port)` candidates into the ports kept and the duplicates
/// rejected.
fn split_duplicates(candidates: Vec<(DesiredPort, bool)>) -> (Vec<DesiredPort>, Vec<RejectedInterface>) {
    let mut by_iface_id: BTreeMap<String, Vec<(DesiredPort, bool)>> = BTreeMap::new();
    for candidate in candidates {
        by_iface_id.entry(candidate.0.iface_id.clone()).or_default().push(candidate);
    }
    let mut kept = Vec::new();
    let mut rejected = Vec::new();
    for (iface_id, mut group) in by_iface_id {
        if group.len() == 1 {
            kept.extend(group.pop().map(|(port, _)| port));
            continue;
        }
        let incumbents = group.iter().filter(|(_, was_port)| *was_port).count();
        let names: Vec<String> = group.iter().map(|(port, _)| port.ifname.clone()).collect();
        for (port, was_port) in group {
            if incumbents == 1 && was_port {
                kept.push(port);
                continue;
            }
            let others = names.iter().filter(|name| **name != port.ifname).cloned().collect();
            let reason = RejectReason::DuplicateIfaceId { iface_id: iface_id.clone(), others };
            rejected.push(RejectedInterface { ifname: port.ifname, reason });
        }
    }
    (kept, rejected)
}

#[cfg(test)]
mod tests {
    #![cfg_attr(test, allow(clippy::unwrap_used))]

    use serde_json::{Value, json};

    use super::*;
    use crate::ovsdb::replica::UpdateFormat;

    const MAC: &str = "02:42:ac:11:00:02";

    fn ids(iface_id: &str, profile: &str) -> Value {
        json!([
            "map",
            [
                ["iface-id", iface_id],
                ["attached-mac", MAC],
                ["profile", profile],
                ["vm-uuid", "c0ffee"],
                ["vm-name", "web1"]
            ]
        ])
    }

    /// A replica with bridge `br` holding one port per `(name, row)` interface.
    fn replica(bridge: &str, interfaces: &[(&str, Value)]) -> Replica {
        let mut updates = json!({
            "Open_vSwitch": {"root": {"initial": {"next_cfg": 7, "cur_cfg": 6, "bridges": ["uuid", "br-row"]}}},
            "Bridge": {"br-row": {"initial": {"name": bridge, "ports": ["set",
                interfaces.iter().map(|(name, _)| json!(["uuid", format!("port-{name}")])).collect::<Vec<_>>()]}}},
            "Port": {}, "Interface": {},
        });
        for (name, row) in interfaces {
            let mut row = row.clone();
            row["name"] = json!(name);
            updates["Port"][format!("port-{name}")] =
                json!({"initial": {"name": name, "interfaces": ["uuid", format!("iface-{name}")]}});
            updates["Interface"][format!("iface-{name}")] = json!({ "initial": row });
        }
        let mut replica = Replica::new();
        replica.apply(UpdateFormat::Update2, &updates).unwrap();
        replica
    }

    #[test]
    fn the_seed_row_becomes_a_port() {
        let view = reconcile(
            &replica("sy-br", &[("veth1", json!({"external_ids": ids("id-1", "vlan100")}))]),
            "sy-br",
        );
        assert_eq!(view.next_cfg, 7);
        assert!(view.bridge_exists);
        assert!(view.rejected.is_empty());
        assert_eq!(
            view.desired,
            [DesiredPort {
                iface_id: "id-1".into(),
                ifname: "veth1".into(),
                mac: MAC.parse().unwrap(),
                profile: "vlan100".into(),
                vm_uuid: "c0ffee".into(),
                vm_name: "web1".into(),
            }]
        );
    }

    #[test]
    fn rows_of_other_bridges_are_not_ours() {
        let view = reconcile(
            &replica("other", &[("veth1", json!({"external_ids": ids("id-1", "vlan100")}))]),
            "sy-br",
        );
        assert_eq!(view, DesiredState { next_cfg: 7, ..DesiredState::default() });
    }

    #[test]
    fn incomplete_rows_are_rejected_with_the_missing_keys() {
        let partial = json!({"external_ids": ["map", [["iface-id", "x"], ["profile", " "]]]});
        let bad_mac = json!({"external_ids": ["map", [["iface-id", "y"], ["attached-mac", "zz"], ["profile", "p"],
                                                      ["vm-uuid", "u"], ["vm-name", "n"]]]});
        let view = reconcile(&replica("br", &[("a", partial), ("b", bad_mac), ("c", json!({}))]), "br");
        assert!(view.desired.is_empty());
        let messages: Vec<String> =
            view.rejected.iter().map(|r| format!("{}: {}", r.ifname, r.reason)).collect();
        assert_eq!(
            messages,
            [
                "a: missing external_ids:attached-mac, external_ids:profile, external_ids:vm-uuid, external_ids:vm-name",
                "b: external_ids:attached-mac 'zz' is not a MAC address",
                "c: missing external_ids:iface-id, external_ids:attached-mac, external_ids:profile, \
                 external_ids:vm-uuid, external_ids:vm-name",
            ]
        );
        let state = view.rejected[1].state();
        assert_eq!(state.ofport, -1);
        assert_eq!(state.error.as_deref(), Some("external_ids:attached-mac 'zz' is not a MAC address"));
    }

    #[test]
    fn fresh_duplicates_are_all_rejected() {
        let view = reconcile(
            &replica(
                "br",
                &[
                    ("a", json!({"external_ids": ids("same", "p")})),
                    ("b", json!({"external_ids": ids("same", "p")})),
                ],
            ),
            "br",
        );
        assert!(view.desired.is_empty());
        assert_eq!(
            view.rejected,
            [
                RejectedInterface {
                    ifname: "a".into(),
                    reason: RejectReason::DuplicateIfaceId {
                        iface_id: "same".into(),
                        others: vec!["b".into()]
                    }
                },
                RejectedInterface {
                    ifname: "b".into(),
                    reason: RejectReason::DuplicateIfaceId {
                        iface_id: "same".into(),
                        others: vec!["a".into()]
                    }
                },
            ]
        );
    }

    #[test]
    fn a_working_port_keeps_its_iface_id_against_a_newcomer() {
        let view = reconcile(
            &replica(
                "br",
                &[
                    ("old", json!({"external_ids": ids("same", "p"), "ofport": 3})),
                    ("new", json!({"external_ids": ids("same", "p")})),
                ],
            ),
            "br",
        );
        assert_eq!(view.desired.iter().map(|p| p.ifname.as_str()).collect::<Vec<_>>(), ["old"]);
        assert_eq!(view.rejected.iter().map(|r| r.ifname.as_str()).collect::<Vec<_>>(), ["new"]);
    }

    #[test]
    fn the_bridge_local_interface_is_skipped_and_other_types_are_rejected() {
        let view = reconcile(
            &replica(
                "br",
                &[
                    ("br", json!({"type": "internal"})),
                    ("tun", json!({"type": "vxlan", "external_ids": ids("t", "p")})),
                ],
            ),
            "br",
        );
        assert!(view.desired.is_empty());
        assert_eq!(
            view.rejected,
            [RejectedInterface {
                ifname: "tun".into(),
                reason: RejectReason::UnsupportedType("vxlan".into())
            }]
        );
    }

    #[test]
    fn bonds_are_rejected() {
        let mut replica = replica("br", &[("a", json!({"external_ids": ids("a", "p")}))]);
        replica
            .apply(
                UpdateFormat::Update2,
                &json!({"Port": {"port-a": {"modify": {"interfaces": ["uuid", "iface-b"]}}},
                        "Interface": {"iface-b": {"insert": {"name": "b", "external_ids": ids("b", "p")}}}}),
            )
            .unwrap();
        let view = reconcile(&replica, "br");
        assert!(view.desired.is_empty());
        assert_eq!(view.rejected.len(), 2);
        assert!(view.rejected.iter().all(|r| r.reason == RejectReason::Bond { port: "a".into() }));
    }
}
