//! The `transact` requests the agent sends, and reading their replies. Pure.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};

use super::OvsdbError;
use super::datum::{Atom, Datum};
use super::replica::Replica;
use super::schema::{BRIDGE, DATABASE, INTERFACE, OPEN_VSWITCH};
use super::view::find_bridge;

/// `ofport` of an interface that could not be added (ovs-vswitchd's convention, which
/// `ovs-vsctl` reports as "Error detected while setting up").
pub const OFPORT_FAILED: i64 = -1;

/// `link_state` / `admin_state` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// `up`.
    Up,
    /// `down`.
    Down,
}

impl LinkState {
    /// `up` when `up` is true.
    pub fn from_up(up: bool) -> Self {
        if up { LinkState::Up } else { LinkState::Down }
    }

    fn as_str(self) -> &'static str {
        match self {
            LinkState::Up => "up",
            LinkState::Down => "down",
        }
    }
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the agent writes on one Interface row (the columns ovs-vswitchd would own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceState {
    /// The row's `name`.
    pub name: String,
    /// `ofport`: the port's number on the switch (> 0), or [`OFPORT_FAILED`].
    pub ofport: i64,
    /// `link_state`; `None` clears it.
    pub link_state: Option<LinkState>,
    /// `admin_state`; `None` clears it.
    pub admin_state: Option<LinkState>,
    /// `status`: free-form key/value facts about the port (its vEthernet, profile, …).
    pub status: BTreeMap<String, String>,
    /// `error`: why the interface is not (fully) working; `None` clears it.
    pub error: Option<String>,
}

impl InterfaceState {
    /// A working port: `ofport`, both states up, no error, empty status.
    pub fn up(name: impl Into<String>, ofport: i64) -> Self {
        Self {
            name: name.into(),
            ofport,
            link_state: Some(LinkState::Up),
            admin_state: Some(LinkState::Up),
            status: BTreeMap::new(),
            error: None,
        }
    }

    /// An interface the agent could not make a port of: `ofport` -1, `error` set, states
    /// cleared.
    pub fn failed(name: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ofport: OFPORT_FAILED,
            link_state: None,
            admin_state: None,
            status: BTreeMap::new(),
            error: Some(error.into()),
        }
    }

    /// Adds one `status` entry.
    pub fn with_status(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.status.insert(key.into(), value.into());
        self
    }

    fn update_op(&self) -> Value {
        let text = |s: Option<&str>| Datum::optional(s.map(|s| Atom::String(s.to_owned()))).to_json();
        json!({
            "op": "update",
            "table": INTERFACE,
            "where": [["name", "==", self.name]],
            "row": {
                "ofport": self.ofport,
                "link_state": text(self.link_state.map(LinkState::as_str)),
                "admin_state": text(self.admin_state.map(LinkState::as_str)),
                "status": Datum::string_map(&self.status).to_json(),
                "error": text(self.error.as_deref()),
            },
        })
    }
}

/// `transact` params writing `states` (rows that vanished meanwhile are skipped).
pub fn set_interface_states(states: &[InterfaceState]) -> Value {
    let mut ops = vec![json!(DATABASE)];
    ops.extend(states.iter().map(InterfaceState::update_op));
    Value::Array(ops)
}

/// `transact` params writing `states` and then `cur_cfg = next_cfg`, in one transaction, so an
/// `ovs-vsctl` waiting for `cur_cfg` finds the `ofport`s already there. `cur_cfg` only moves
/// forward: acknowledging an older configuration after a newer one changes nothing.
pub fn acknowledge(next_cfg: i64, states: &[InterfaceState]) -> Value {
    let mut ops = set_interface_states(states);
    if let Value::Array(ops) = &mut ops {
        ops.push(json!({
            "op": "update",
            "table": OPEN_VSWITCH,
            "where": [["cur_cfg", "<", next_cfg]],
            "row": {"cur_cfg": next_cfg},
        }));
        ops.push(json!({"op": "comment", "comment": format!("switchyard agent: configuration {next_cfg} applied")}));
    }
    ops
}

/// `transact` params creating `bridge` when the replica lacks it, `None` when it is there. The
/// transaction first checks that no row took the name meanwhile (`wait`), so two agents or an
/// `ovs-vsctl add-br` racing with this one cannot make two bridges of one name. A database
/// nobody ran `ovs-vsctl init` on gets its root row too.
pub fn ensure_bridge(replica: &Replica, bridge: &str) -> Option<Value> {
    if find_bridge(replica, bridge).is_some() {
        return None;
    }
    let new_bridge = json!(["named-uuid", "bridge"]);
    let mut ops = vec![
        json!(DATABASE),
        json!({"op": "wait", "table": BRIDGE, "where": [["name", "==", bridge]], "columns": ["name"],
               "until": "==", "rows": [], "timeout": 0}),
        json!({"op": "insert", "table": BRIDGE, "row": {"name": bridge}, "uuid-name": "bridge"}),
    ];
    if replica.rows(OPEN_VSWITCH).next().is_some() {
        ops.push(json!({"op": "mutate", "table": OPEN_VSWITCH, "where": [],
                        "mutations": [["bridges", "insert", ["set", [new_bridge]]]]}));
    } else {
        ops.push(json!({"op": "wait", "table": OPEN_VSWITCH, "where": [], "columns": ["next_cfg"],
                        "until": "==", "rows": [], "timeout": 0}));
        ops.push(json!({"op": "insert", "table": OPEN_VSWITCH, "row": {"bridges": new_bridge}}));
    }
    ops.push(json!({"op": "comment", "comment": format!("switchyard agent: create bridge {bridge}")}));
    Some(Value::Array(ops))
}

/// Checks a `transact` result: an array with one result per operation, where a failed
/// operation (or the commit, as an extra element) is an object with `error`.
pub fn check_result(result: &Value) -> Result<(), OvsdbError> {
    let Value::Array(results) = result else {
        return Err(OvsdbError::malformed(format!("transact result is not an array: {result}")));
    };
    let failures: Vec<String> = results
        .iter()
        .filter_map(|op| {
            let error = op.get("error")?.as_str().unwrap_or("error");
            Some(match op.get("details").and_then(Value::as_str) {
                Some(details) => format!("{error} ({details})"),
                None => error.to_owned(),
            })
        })
        .collect();
    if failures.is_empty() { Ok(()) } else { Err(OvsdbError::TransactionFailed(failures.join("; "))) }
}

#[cfg(test)]
mod tests {
    #![cfg_attr(test, allow(clippy::unwrap_used))]

    use super::*;
    use crate::replica::UpdateFormat;

    #[test]
    fn acknowledge_writes_every_column_then_cur_cfg() {
        let states = [
            InterfaceState::up("veth1", 5).with_status("vethernet", "Vethernet1"),
            InterfaceState::failed("veth2", "no such profile"),
        ];
        let ops = acknowledge(9, &states);
        assert_eq!(ops[0], json!("Open_vSwitch"));
        assert_eq!(
            ops[1],
            json!({"op": "update", "table": "Interface", "where": [["name", "==", "veth1"]],
                   "row": {"ofport": 5, "link_state": "up", "admin_state": "up",
                           "status": ["map", [["vethernet", "Vethernet1"]]], "error": ["set", []]}})
        );
        assert_eq!(
            ops[2]["row"],
            json!({"ofport": -1, "link_state": ["set", []], "admin_state": ["set", []],
                   "status": ["map", []], "error": "no such profile"})
        );
        assert_eq!(
            ops[3],
            json!({"op": "update", "table": "Open_vSwitch", "where": [["cur_cfg", "<", 9]], "row": {"cur_cfg": 9}})
        );
        assert_eq!(ops[4]["op"], "comment");
    }

    #[test]
    fn set_interface_states_leaves_cur_cfg_alone() {
        let ops = set_interface_states(&[InterfaceState::up("veth1", 5)]);
        assert_eq!(ops.as_array().map(Vec::len), Some(2));
        assert!(!ops.to_string().contains("cur_cfg"));
    }

    fn replica(updates: &Value) -> Replica {
        let mut replica = Replica::new();
        replica.apply(UpdateFormat::Update2, updates).unwrap();
        replica
    }

    #[test]
    fn ensure_bridge_inserts_and_links_a_missing_bridge() {
        let replica = replica(&json!({"Open_vSwitch": {"root": {"initial": {}}}}));
        let ops = ensure_bridge(&replica, "sy-br").unwrap();
        assert_eq!(ops[1]["op"], "wait");
        assert_eq!(
            ops[2],
            json!({"op": "insert", "table": "Bridge", "row": {"name": "sy-br"}, "uuid-name": "bridge"})
        );
        assert_eq!(ops[3]["mutations"], json!([["bridges", "insert", ["set", [["named-uuid", "bridge"]]]]]));
    }

    #[test]
    fn ensure_bridge_makes_the_root_row_of_an_uninitialised_database() {
        let ops = ensure_bridge(&Replica::new(), "sy-br").unwrap();
        assert_eq!(ops[3]["table"], "Open_vSwitch");
        assert_eq!(ops[3]["op"], "wait");
        assert_eq!(
            ops[4],
            json!({"op": "insert", "table": "Open_vSwitch", "row": {"bridges": ["named-uuid", "bridge"]}})
        );
    }

    #[test]
    fn ensure_bridge_is_quiet_when_the_bridge_is_there() {
        let replica = replica(&json!({
            "Open_vSwitch": {"root": {"initial": {"bridges": ["uuid", "b"]}}},
            "Bridge": {"b": {"initial": {"name": "sy-br"}}},
        }));
        assert_eq!(ensure_bridge(&replica, "sy-br"), None);
        assert!(ensure_bridge(&replica, "other").is_some());
    }

    #[test]
    fn check_result_reports_every_failed_operation() {
        assert!(check_result(&json!([{"count": 1}, {}])).is_ok());
        let error =
            check_result(&json!([{"count": 0}, {"error": "timed out", "details": "\"wait\" timed out"},
                                         {"error": "aborted"}]))
            .unwrap_err();
        assert_eq!(error.to_string(), "ovsdb transaction failed: timed out (\"wait\" timed out); aborted");
        assert!(matches!(check_result(&json!({})), Err(OvsdbError::Malformed(_))));
    }
}
