//! The local copy of the monitored tables, built from the monitor reply and kept current by
//! `update` / `update2` notifications. Pure.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::OvsdbError;
use super::datum::{Atom, ColumnKind, Datum};
use super::jsonrpc::kind;
use super::schema::column_kind;

/// Which notification format a `<table-updates>` object is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateFormat {
    /// RFC 7047 `monitor` / `update`: `{"old": row, "new": row}` per row.
    Update,
    /// ovsdb-server's `monitor_cond` / `update2`: `initial`, `insert`, `modify` (a diff) or
    /// `delete` per row.
    Update2,
}

/// One row: its monitored columns. A column absent here holds its type's default (`update2`
/// omits those), which the accessors return.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    columns: BTreeMap<String, Datum>,
}

impl Row {
    fn from_json(table: &str, value: &Value) -> Result<Self, OvsdbError> {
        let mut row = Row::default();
        row.overlay(table, value)?;
        Ok(row)
    }

    fn overlay(&mut self, table: &str, value: &Value) -> Result<(), OvsdbError> {
        for (column, datum) in object(value, table)? {
            self.columns.insert(column.clone(), Datum::from_json(datum)?);
        }
        Ok(())
    }

    fn apply_diff(&mut self, table: &str, value: &Value) -> Result<(), OvsdbError> {
        for (column, diff) in object(value, table)? {
            let diff = Datum::from_json(diff)?;
            match (column_kind(table, column), self.columns.get_mut(column)) {
                (Some(kind @ (ColumnKind::Set | ColumnKind::Map)), Some(current)) => {
                    current.apply_diff(diff, kind)?
                }
                (Some(ColumnKind::Map), None) => {
                    let mut current = Datum::Map(Vec::new());
                    current.apply_diff(diff, ColumnKind::Map)?;
                    self.columns.insert(column.clone(), current);
                }
                // A scalar, a set that held the default (the diff is then its whole value), or
                // a column this client did not ask for.
                _ => {
                    self.columns.insert(column.clone(), diff);
                }
            }
        }
        Ok(())
    }

    /// The raw value of `column`, if the row carries it.
    pub fn get(&self, column: &str) -> Option<&Datum> {
        self.columns.get(column)
    }

    /// A string column (`""` when absent).
    pub fn text(&self, column: &str) -> &str {
        self.optional_text(column).unwrap_or_default()
    }

    /// An optional string column.
    pub fn optional_text(&self, column: &str) -> Option<&str> {
        self.get(column)?.single()?.as_str()
    }

    /// An integer column (0 when absent).
    pub fn integer(&self, column: &str) -> i64 {
        self.optional_integer(column).unwrap_or_default()
    }

    /// An optional integer column.
    pub fn optional_integer(&self, column: &str) -> Option<i64> {
        self.get(column)?.single()?.as_integer()
    }

    /// The uuids a reference column holds.
    pub fn uuids(&self, column: &str) -> Vec<&str> {
        self.get(column).map(|datum| datum.atoms().filter_map(Atom::as_uuid).collect()).unwrap_or_default()
    }

    /// A string-to-string map column.
    pub fn string_map(&self, column: &str) -> BTreeMap<String, String> {
        self.get(column).map(Datum::to_string_map).unwrap_or_default()
    }
}

/// The monitored tables: table name → row uuid → row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replica {
    tables: BTreeMap<String, BTreeMap<String, Row>>,
}

impl Replica {
    /// An empty replica.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a `<table-updates>` or `<table-updates2>` object: the monitor reply's initial
    /// rows or a notification's changes. On error the replica may be half-updated; the caller
    /// drops the connection and starts over from a fresh monitor.
    pub fn apply(&mut self, format: UpdateFormat, updates: &Value) -> Result<(), OvsdbError> {
        for (table, rows) in object(updates, "table-updates")? {
            let replica_rows = self.tables.entry(table.clone()).or_default();
            for (uuid, update) in object(rows, table)? {
                let update = object(update, uuid)?;
                match format {
                    UpdateFormat::Update => apply_update(replica_rows, table, uuid, update)?,
                    UpdateFormat::Update2 => apply_update2(replica_rows, table, uuid, update)?,
                }
            }
        }
        Ok(())
    }

    /// The rows of `table`, by uuid.
    pub fn rows(&self, table: &str) -> impl Iterator<Item = (&str, &Row)> {
        self.tables.get(table).into_iter().flatten().map(|(uuid, row)| (uuid.as_str(), row))
    }

    /// One row of `table`.
    pub fn row(&self, table: &str, uuid: &str) -> Option<&Row> {
        self.tables.get(table)?.get(uuid)
    }
}

fn apply_update(
    rows: &mut BTreeMap<String, Row>,
    table: &str,
    uuid: &str,
    update: &Map<String, Value>,
) -> Result<(), OvsdbError> {
    match update.get("new") {
        None | Some(Value::Null) => {
            rows.remove(uuid);
        }
        // "new" carries every monitored column; overlaying keeps the replica right even for a
        // server that sends only the changed ones.
        Some(new) => match rows.get_mut(uuid) {
            Some(row) => row.overlay(table, new)?,
            None => {
                rows.insert(uuid.to_owned(), Row::from_json(table, new)?);
            }
        },
    }
    Ok(())
}

fn apply_update2(
    rows: &mut BTreeMap<String, Row>,
    table: &str,
    uuid: &str,
    update: &Map<String, Value>,
) -> Result<(), OvsdbError> {
    let [(kind, row)] = update.iter().collect::<Vec<_>>()[..] else {
        return Err(OvsdbError::malformed(format!(
            "{table} row {uuid}: expected one of initial/insert/modify/delete"
        )));
    };
    match kind.as_str() {
        "initial" | "insert" => {
            rows.insert(uuid.to_owned(), Row::from_json(table, row)?);
        }
        "modify" => match rows.get_mut(uuid) {
            Some(existing) => existing.apply_diff(table, row)?,
            None => {
                return Err(OvsdbError::malformed(format!("{table} row {uuid}: modify of an unknown row")));
            }
        },
        "delete" => {
            rows.remove(uuid);
        }
        other => return Err(OvsdbError::malformed(format!("{table} row {uuid}: unknown update '{other}'"))),
    }
    Ok(())
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, OvsdbError> {
    value
        .as_object()
        .ok_or_else(|| OvsdbError::malformed(format!("{what}: expected an object, got {}", kind(value))))
}

#[cfg(test)]
mod tests {
    #![cfg_attr(test, allow(clippy::unwrap_used))]

    use serde_json::json;

    use super::*;

    fn replica_with(format: UpdateFormat, updates: &Value) -> Replica {
        let mut replica = Replica::new();
        replica.apply(format, updates).unwrap();
        replica
    }

    #[test]
    fn initial_rows_fill_the_replica_and_absent_columns_read_as_defaults() {
        let replica = replica_with(
            UpdateFormat::Update2,
            &json!({
                "Open_vSwitch": {"o": {"initial": {"next_cfg": 3, "bridges": ["uuid", "b"]}}},
                "Interface": {"i": {"initial": {"name": "veth1", "ofport": ["set", []]}}},
            }),
        );
        let ovs = replica.row("Open_vSwitch", "o").unwrap();
        assert_eq!(ovs.integer("next_cfg"), 3);
        assert_eq!(ovs.integer("cur_cfg"), 0);
        assert_eq!(ovs.uuids("bridges"), ["b"]);
        let iface = replica.row("Interface", "i").unwrap();
        assert_eq!(iface.text("name"), "veth1");
        assert_eq!(iface.optional_integer("ofport"), None);
        assert!(iface.string_map("external_ids").is_empty());
        assert_eq!(replica.rows("Interface").count(), 1);
    }

    #[test]
    fn update2_modify_applies_diffs_and_delete_removes() {
        let mut replica = replica_with(
            UpdateFormat::Update2,
            &json!({"Interface": {"i": {"insert": {"name": "v", "external_ids": ["map", [["a", "1"]]]}}},
                   "Bridge": {"b": {"insert": {"name": "br", "ports": ["uuid", "p1"]}}}}),
        );
        replica
            .apply(
                UpdateFormat::Update2,
                &json!({"Interface": {"i": {"modify": {"ofport": 4, "external_ids": ["map", [["a", "1"], ["b", "2"]]]}}},
                        "Bridge": {"b": {"modify": {"ports": ["set", [["uuid", "p1"], ["uuid", "p2"]]]}}}}),
            )
            .unwrap();
        let iface = replica.row("Interface", "i").unwrap();
        assert_eq!(iface.optional_integer("ofport"), Some(4));
        assert_eq!(iface.string_map("external_ids"), BTreeMap::from([("b".into(), "2".into())]));
        assert_eq!(replica.row("Bridge", "b").unwrap().uuids("ports"), ["p2"]);

        replica.apply(UpdateFormat::Update2, &json!({"Interface": {"i": {"delete": null}}})).unwrap();
        assert!(replica.row("Interface", "i").is_none());
    }

    #[test]
    fn update_v1_replaces_rows_and_deletes_without_new() {
        let mut replica = replica_with(
            UpdateFormat::Update,
            &json!({"Port": {"p": {"new": {"name": "veth1", "interfaces": ["uuid", "i1"]}}}}),
        );
        replica
            .apply(
                UpdateFormat::Update,
                &json!({"Port": {"p": {"old": {"interfaces": ["uuid", "i1"]}, "new": {"name": "veth1", "interfaces": ["uuid", "i2"]}}}}),
            )
            .unwrap();
        assert_eq!(replica.row("Port", "p").unwrap().uuids("interfaces"), ["i2"]);
        replica.apply(UpdateFormat::Update, &json!({"Port": {"p": {"old": {"name": "veth1"}}}})).unwrap();
        assert!(replica.row("Port", "p").is_none());
    }

    #[test]
    fn malformed_updates_are_errors() {
        for (format, bad) in [
            (UpdateFormat::Update2, json!([])),
            (UpdateFormat::Update2, json!({"Port": []})),
            (UpdateFormat::Update2, json!({"Port": {"p": {"insert": {}, "delete": null}}})),
            (UpdateFormat::Update2, json!({"Port": {"p": {"modify": {"name": "x"}}}})),
            (UpdateFormat::Update2, json!({"Port": {"p": {"rename": {}}}})),
            (UpdateFormat::Update2, json!({"Port": {"p": {"insert": {"name": {"bad": 1}}}}})),
            (UpdateFormat::Update, json!({"Port": {"p": "x"}})),
        ] {
            let mut replica = Replica::new();
            assert!(replica.apply(format, &bad).is_err(), "{bad}");
        }
    }
}
