//! The part of `vswitch.ovsschema` the agent replicates: tables, columns and the kind of each
//! column (which `update2` diffs need). Names follow ovs-vswitchd.conf.db(5).

use serde_json::{Value, json};

use super::datum::ColumnKind;

/// The database ovs-vswitchd and ovs-vsctl use.
pub const DATABASE: &str = "Open_vSwitch";

/// The root table: one row holding the bridges and the configuration counters.
pub const OPEN_VSWITCH: &str = "Open_vSwitch";
/// Bridges, by name.
pub const BRIDGE: &str = "Bridge";
/// Ports of a bridge; each holds one interface (or several for a bond).
pub const PORT: &str = "Port";
/// Interfaces: the rows `ovs-vsctl add-port` creates and the agent writes back to.
pub const INTERFACE: &str = "Interface";

/// A replicated table and its monitored columns.
#[derive(Debug)]
pub struct TableSpec {
    /// The table's name.
    pub name: &'static str,
    /// Each monitored column with its kind.
    pub columns: &'static [(&'static str, ColumnKind)],
}

/// Every table and column the replica holds.
pub const MONITORED: &[TableSpec] = &[
    TableSpec {
        name: OPEN_VSWITCH,
        columns: &[
            ("next_cfg", ColumnKind::Scalar),
            ("cur_cfg", ColumnKind::Scalar),
            ("bridges", ColumnKind::Set),
        ],
    },
    TableSpec { name: BRIDGE, columns: &[("name", ColumnKind::Scalar), ("ports", ColumnKind::Set)] },
    TableSpec { name: PORT, columns: &[("name", ColumnKind::Scalar), ("interfaces", ColumnKind::Set)] },
    TableSpec {
        name: INTERFACE,
        columns: &[
            ("name", ColumnKind::Scalar),
            ("type", ColumnKind::Scalar),
            ("external_ids", ColumnKind::Map),
            ("ofport", ColumnKind::Set),
            ("error", ColumnKind::Set),
        ],
    },
];

/// The kind of a monitored column; `None` for a table or column outside [`MONITORED`].
pub fn column_kind(table: &str, column: &str) -> Option<ColumnKind> {
    let spec = MONITORED.iter().find(|spec| spec.name == table)?;
    spec.columns.iter().find(|(name, _)| *name == column).map(|(_, kind)| *kind)
}

/// The `<monitor-requests>` (and `<monitor-cond-requests>`: without `where`, every row) of
/// [`MONITORED`].
pub fn monitor_requests() -> Value {
    let tables = MONITORED
        .iter()
        .map(|spec| {
            let columns: Vec<&str> = spec.columns.iter().map(|(name, _)| *name).collect();
            (spec.name.to_owned(), json!([{"columns": columns}]))
        })
        .collect::<serde_json::Map<_, _>>();
    Value::Object(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_kind_of_every_monitored_column() {
        assert_eq!(column_kind(INTERFACE, "external_ids"), Some(ColumnKind::Map));
        assert_eq!(column_kind(INTERFACE, "ofport"), Some(ColumnKind::Set));
        assert_eq!(column_kind(OPEN_VSWITCH, "next_cfg"), Some(ColumnKind::Scalar));
        assert_eq!(column_kind(INTERFACE, "mtu"), None);
        assert_eq!(column_kind("Mirror", "name"), None);
    }

    #[test]
    fn monitor_requests_list_the_columns() {
        let requests = monitor_requests();
        assert_eq!(requests[BRIDGE], json!([{"columns": ["name", "ports"]}]));
        assert_eq!(requests.as_object().map(|tables| tables.len()), Some(4));
    }
}
