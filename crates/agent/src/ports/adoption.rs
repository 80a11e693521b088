//! Ports from OVSDB rows, pure: which rows become ports and which adopted ports go, and what
//! each row says back (`ofport`, `link_state`, `admin_state`, `status`, `error`).
//!
//! A row is a port when its interface is on the host, the supervisor numbered it and the
//! dataplane opened it. The agent adopts the interface as it is (the seed makes the veth pair by
//! hand and moves the peer into the container itself); it never deletes it.

use std::collections::BTreeMap;

use super::PortError;
use super::record::{PortOrigin, PortRecord};
use super::status::{PortState, down_reason};
use super::table::{FIRST_VETH_LTL, PortTable};
use crate::ovsdb::{DesiredPort, DesiredState, InterfaceState, LinkState};

/// What to do to make the adopted ports match the rows.
#[derive(Debug, Default)]
pub struct AdoptionPlan {
    /// Adopted ports no row asks for any more (`ovs-vsctl del-port`, or the row now names
    /// another interface), by LTL.
    pub release: Vec<u32>,
    /// Adopted ports whose row changed (profile, MAC, owner, bridge): bound again on the same
    /// LTL, keeping their vEthernet.
    pub update: Vec<(u32, DesiredPort)>,
    /// Rows with no port yet.
    pub adopt: Vec<DesiredPort>,
    /// Rows that clash with a port that stays, by interface name.
    pub refuse: Vec<(String, PortError)>,
}

impl AdoptionPlan {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.release.is_empty() && self.update.is_empty() && self.adopt.is_empty() && self.refuse.is_empty()
    }
}

/// Plans making the ports adopted from OVSDB exactly `desired`, the rows of `bridge`. An
/// adopted port is a row's when it has the row's iface-id and interface. A row clashing with a
/// port that stays — its iface-id or its interface already switched, say by `switchyard
/// attach` — is refused, never taken from that port.
pub fn plan(table: &PortTable, bridge: &str, desired: &[DesiredPort]) -> AdoptionPlan {
    let mut plan = AdoptionPlan::default();
    let row_of = |record: &PortRecord| {
        desired.iter().find(|port| port.iface_id == record.iface_id && port.ifname == record.host_ifname)
    };
    for record in table.iter().filter(|record| record.origin.ovsdb_bridge().is_some()) {
        match row_of(record) {
            None => plan.release.push(record.ltl),
            Some(port) if !follows(record, bridge, port) => plan.update.push((record.ltl, port.clone())),
            Some(_) => {}
        }
    }
    let staying: Vec<&PortRecord> =
        table.iter().filter(|record| !plan.release.contains(&record.ltl)).collect();
    for port in desired {
        if staying.iter().any(|record| record.iface_id == port.iface_id && record.host_ifname == port.ifname)
        {
            continue;
        }
        let clash = if let Some(holder) = staying.iter().find(|record| record.iface_id == port.iface_id) {
            Some(PortError::AlreadyAttached { iface_id: port.iface_id.clone(), veth: holder.veth })
        } else {
            staying
                .iter()
                .find(|record| record.host_ifname == port.ifname)
                .map(|holder| PortError::InterfaceInUse { ifname: port.ifname.clone(), veth: holder.veth })
        };
        match clash {
            Some(error) => plan.refuse.push((port.ifname.clone(), error)),
            None => plan.adopt.push(port.clone()),
        }
    }
    plan
}

/// Whether `record` already is what `port`, a row of `bridge`, asks for.
fn follows(record: &PortRecord, bridge: &str, port: &DesiredPort) -> bool {
    record.profile == port.profile
        && record.mac == port.mac
        && record.owner_name == port.vm_name
        && record.owner_uuid == port.vm_uuid
        && record.origin.ovsdb_bridge() == Some(bridge)
}

/// The record of `port`, a row of `bridge`, adopted on `ltl`, before its binding. The
/// container's interface name is not known (the seed renames the peer `eth0` after the
/// add-port): empty, so the supervisor shows the host end as the adapter, as the seed's VSM did.
pub fn adopted_record(port: &DesiredPort, bridge: &str, ltl: u32) -> PortRecord {
    PortRecord {
        iface_id: port.iface_id.clone(),
        veth: 0,
        ltl,
        profile: port.profile.clone(),
        host_ifname: port.ifname.clone(),
        mac: port.mac,
        container_ifname: String::new(),
        owner_name: port.vm_name.clone(),
        owner_uuid: port.vm_uuid.clone(),
        ips: Vec::new(),
        ip_pool: None,
        ip_prefix_len: None,
        gateway: None,
        mtu: None,
        target: None,
        netns_inode: 0,
        origin: PortOrigin::Ovsdb { bridge: bridge.to_owned() },
        bound_policy: None,
    }
}

/// A port's `ofport`: its vEthernet port index on the module, LTL − 48 (what `IF_ATTACHED`
/// calls "port N"), stable across agent restarts.
pub fn ofport(ltl: u32) -> i64 {
    i64::from(ltl) - i64::from(FIRST_VETH_LTL - 1)
}

/// What an adopted port's row says: `ofport`; `admin_state` up while the port's policy lets it
/// forward; `link_state` up while it forwards and its interface has carrier (the container end
/// is up); `status` with its vEthernet, profile, mode and VLAN; `error` while its profile does
/// not exist (the port is bound and waits for it).
pub fn interface_state(record: &PortRecord, state: PortState, carrier: bool) -> InterfaceState {
    let mut row = InterfaceState::up(&record.host_ifname, ofport(record.ltl));
    row.admin_state = Some(LinkState::from_up(state.up));
    row.link_state = Some(LinkState::from_up(state.up && carrier));
    row = row
        .with_status("vethernet", format!("Vethernet{}", record.veth))
        .with_status("port-profile", &record.profile)
        .with_status("mode", state.mode)
        .with_status("state", if state.up { "up".to_owned() } else { format!("down ({})", state.reason) });
    if state.vlan != 0 {
        row = row.with_status("access-vlan", state.vlan.to_string());
    }
    if state.reason == down_reason::PROFILE_NOT_FOUND {
        row.error = Some(format!(
            "{}: {} (Vethernet{} is bound and comes up once the port-profile is created)",
            down_reason::PROFILE_NOT_FOUND,
            record.profile,
            record.veth
        ));
    }
    row
}

/// Why a row is not (fully) a port, as its `error` column says it, and when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFailure {
    /// The `error` column.
    pub message: String,
    /// Worth retrying on its own (every second): the interface may appear, the supervisor
    /// return. The rest (a refusal, a clash) is retried when something changes.
    pub transient: bool,
    /// Only the supervisor is missing: the acknowledgement may wait a moment for it (an agent
    /// that has just started has not joined yet).
    pub awaits_supervisor: bool,
}

impl RowFailure {
    /// The row failure `error` makes.
    pub fn of(error: &PortError) -> Self {
        let (message, awaits_supervisor) = match error {
            PortError::Headless { supervisor } => (
                format!(
                    "waiting for the supervisor at {supervisor} to number the port (the agent is headless)"
                ),
                true,
            ),
            PortError::Supervisor { uncertain: true, .. } => (error.to_string(), true),
            _ => (error.to_string(), false),
        };
        let transient = awaits_supervisor
            || matches!(
                error,
                PortError::NoSuchInterface { .. }
                    | PortError::Attach(_)
                    | PortError::Dataplane(_)
                    | PortError::Persist(_)
            );
        Self { message, transient, awaits_supervisor }
    }
}

/// Every row of `desired` as the agent writes it back: adopted ports (`adopted`, with their
/// state) from their record, failed rows with their failure, rejected rows with their reason.
/// `carrier` tells whether an interface has carrier. Sorted by interface name.
pub fn rows(
    desired: &DesiredState,
    adopted: &[(PortRecord, PortState)],
    carrier: impl Fn(&str) -> bool,
    failures: &BTreeMap<String, RowFailure>,
) -> Vec<InterfaceState> {
    let mut rows: Vec<InterfaceState> = desired
        .desired
        .iter()
        .map(|port| {
            let record = adopted
                .iter()
                .find(|(record, _)| record.iface_id == port.iface_id && record.host_ifname == port.ifname);
            let failure = failures.get(&port.ifname);
            match (record, failure) {
                (Some((record, state)), failure) => {
                    let mut row = interface_state(record, *state, carrier(&port.ifname));
                    // A row change the port could not follow: it runs as it was.
                    if let Some(failure) = failure {
                        row.error = Some(failure.message.clone());
                    }
                    row
                }
                (None, Some(failure)) => InterfaceState::failed(&port.ifname, &failure.message),
                (None, None) => InterfaceState::failed(&port.ifname, "not a port yet"),
            }
        })
        .collect();
    rows.extend(desired.rejected.iter().map(|rejected| rejected.state()));
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ovsdb::{OFPORT_FAILED, RejectReason, RejectedInterface};
    use crate::ports::record::testing::record;

    const BRIDGE: &str = "sy-br";

    fn row(iface_id: &str, ifname: &str, profile: &str) -> DesiredPort {
        DesiredPort {
            iface_id: iface_id.into(),
            ifname: ifname.into(),
            mac: wire::MacAddr([0x02, 0x42, 0xac, 0x16, 0x40, 0xc9]),
            profile: profile.into(),
            vm_uuid: format!("vm-{iface_id}"),
            vm_name: format!("c-{ifname}"),
        }
    }

    fn adopted(port: &DesiredPort, veth: u32, ltl: u32) -> PortRecord {
        PortRecord { veth, ..adopted_record(port, BRIDGE, ltl) }
    }

    fn table(records: &[PortRecord]) -> PortTable {
        let mut table = PortTable::default();
        for record in records {
            table.insert(record.clone());
        }
        table
    }

    fn up(vlan: u16) -> PortState {
        PortState { up: true, reason: "", mode: "access", vlan }
    }

    #[test]
    fn new_rows_are_adopted_and_gone_rows_released() {
        let kept = row("id-1", "veth1", "web");
        let gone = row("id-2", "veth2", "web");
        let new = row("id-3", "veth3", "web");
        let table = table(&[adopted(&kept, 1, 49), adopted(&gone, 2, 50), record(9, 51, "web")]);
        let plan = plan(&table, BRIDGE, &[kept, new.clone()]);
        assert_eq!(plan.release, [50]);
        assert!(plan.update.is_empty());
        assert_eq!(plan.adopt, [new]);
        assert!(plan.refuse.is_empty());
    }

    #[test]
    fn attached_ports_are_never_released_or_taken() {
        let attached = record(9, 49, "web");
        let table = table(std::slice::from_ref(&attached));
        assert!(plan(&table, BRIDGE, &[]).is_empty(), "a port of switchyard attach is not the rows'");
        let same_iface_id = row(&attached.iface_id, "veth7", "web");
        let same_interface = row("id-other", &attached.host_ifname, "web");
        let plan = plan(&table, BRIDGE, &[same_iface_id, same_interface]);
        assert!(plan.adopt.is_empty() && plan.release.is_empty());
        let refusals: Vec<String> =
            plan.refuse.iter().map(|(name, error)| format!("{name}: {error}")).collect();
        assert_eq!(
            refusals,
            [
                "veth7: iface-id 'port-9' is already attached as Vethernet9",
                "sy0000000009_0: interface sy0000000009_0 is already switched as Vethernet9",
            ]
        );
    }

    #[test]
    fn a_changed_row_updates_its_port_in_place() {
        let before = row("id-1", "veth1", "web");
        let table = table(&[adopted(&before, 4, 49)]);
        let moved = row("id-1", "veth1", "db");
        let plan = super::plan(&table, BRIDGE, std::slice::from_ref(&moved));
        assert_eq!(plan.update, [(49, moved)]);
        assert!(plan.adopt.is_empty() && plan.release.is_empty());
        // Another bridge's port is this bridge's now: the same.
        let plan = super::plan(&table, "other-br", &[before]);
        assert_eq!(plan.update.len(), 1);
    }

    #[test]
    fn an_iface_id_moving_to_another_interface_is_released_then_adopted() {
        let before = row("id-1", "veth1", "web");
        let after = row("id-1", "veth9", "web");
        let plan = plan(&table(&[adopted(&before, 4, 49)]), BRIDGE, std::slice::from_ref(&after));
        assert_eq!(plan.release, [49]);
        assert_eq!(plan.adopt, [after]);
        assert!(plan.refuse.is_empty());
    }

    #[test]
    fn ofport_is_the_port_index() {
        assert_eq!((ofport(49), ofport(50), ofport(296)), (1, 2, 248));
    }

    #[test]
    fn rows_of_working_waiting_and_failed_ports() {
        let working = row("id-1", "veth1", "web");
        let waiting = row("id-2", "veth2", "later");
        let missing = row("id-3", "veth3", "web");
        let desired = DesiredState {
            desired: vec![working.clone(), waiting.clone(), missing],
            rejected: vec![RejectedInterface {
                ifname: "veth0".into(),
                reason: RejectReason::MissingKeys(vec!["vm-name"]),
            }],
            next_cfg: 3,
            bridge_exists: true,
        };
        let not_found = PortState::of(None);
        let adopted = [(adopted(&working, 1, 49), up(100)), (adopted(&waiting, 2, 50), not_found)];
        let failures = BTreeMap::from([(
            "veth3".to_owned(),
            RowFailure::of(&PortError::NoSuchInterface { ifname: "veth3".into() }),
        )]);
        let rows = rows(&desired, &adopted, |name| name == "veth1", &failures);
        let names: Vec<&str> = rows.iter().map(|row| row.name.as_str()).collect();
        assert_eq!(names, ["veth0", "veth1", "veth2", "veth3"]);

        assert_eq!(rows[0].error.as_deref(), Some("missing external_ids:vm-name"));
        let up_row = &rows[1];
        assert_eq!(
            (up_row.ofport, up_row.link_state, up_row.admin_state),
            (1, Some(LinkState::Up), Some(LinkState::Up))
        );
        assert_eq!(up_row.error, None);
        let status: Vec<String> = up_row.status.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            status,
            ["access-vlan=100", "mode=access", "port-profile=web", "state=up", "vethernet=Vethernet1"]
        );

        let waiting_row = &rows[2];
        assert_eq!(waiting_row.ofport, 2, "a waiting port is bound and keeps its number");
        assert_eq!(
            (waiting_row.link_state, waiting_row.admin_state),
            (Some(LinkState::Down), Some(LinkState::Down))
        );
        assert_eq!(
            waiting_row.error.as_deref(),
            Some(
                "port-profile not found: later (Vethernet2 is bound and comes up once the port-profile is created)"
            )
        );
        assert_eq!(waiting_row.status["state"], "down (port-profile not found)");

        assert_eq!(rows[3].ofport, OFPORT_FAILED);
        assert_eq!(rows[3].error.as_deref(), Some("could not open network device veth3 (No such device)"));
    }

    #[test]
    fn a_port_without_carrier_is_admin_up_and_link_down() {
        let port = row("id-1", "veth1", "web");
        let state = interface_state(&adopted(&port, 1, 49), up(100), false);
        assert_eq!((state.admin_state, state.link_state), (Some(LinkState::Up), Some(LinkState::Down)));
        assert_eq!(state.error, None);
    }

    #[test]
    fn failures_know_what_is_worth_retrying() {
        let headless = RowFailure::of(&PortError::Headless { supervisor: "http://sup:7400".into() });
        assert!(headless.transient && headless.awaits_supervisor);
        assert_eq!(
            headless.message,
            "waiting for the supervisor at http://sup:7400 to number the port (the agent is headless)"
        );
        let missing = RowFailure::of(&PortError::NoSuchInterface { ifname: "x".into() });
        assert!(missing.transient && !missing.awaits_supervisor);
        let refused = RowFailure::of(&PortError::Supervisor {
            call: "BindPort",
            message: "port-profile web allows 1 ports".into(),
            uncertain: false,
        });
        assert!(!refused.transient && !refused.awaits_supervisor);
        assert_eq!(refused.message, "BindPort failed: port-profile web allows 1 ports");
    }
}
