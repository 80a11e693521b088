//! `show module`: the module table, the software/hardware table, the server table.

use std::collections::BTreeMap;

use super::text::line;
use crate::cluster::members::SupervisorView;
use crate::modules::{ModuleStatus, ModuleView};

/// The first supervisor's number (supervisors are modules 1 and 2, then the next free numbers).
pub const SUPERVISOR_MODULE: u32 = 1;

/// Renders `show module` as NX-OS does: the supervisors (modules 1 and 2, then the next free numbers, as they joined the
/// store; `*` marks the one this session talks to), then the agents' modules. The Ports column
/// counts the module's attached vEthernets (`ports`, by module number; NX-OS gave the module's
/// capacity there, which tells an operator less).
pub fn show_module(
    supervisors: &[SupervisorView],
    modules: &[ModuleView],
    ports: &BTreeMap<u32, usize>,
) -> String {
    let mut out = String::new();
    out.push_str("Mod  Ports  Module-Type                       Model               Status\n");
    out.push_str("---  -----  --------------------------------  ------------------  ------------\n");
    for supervisor in supervisors {
        let status = supervisor_status(supervisor);
        row(&mut out, supervisor.record.number, 0, "Virtual Supervisor Module", "Switchyard", status);
    }
    for view in modules {
        let status = match view.status {
            ModuleStatus::Ok => "ok",
            ModuleStatus::Offline => "offline",
        };
        let count = ports.get(&view.record.module).copied().unwrap_or(0);
        row(&mut out, view.record.module, count, "Virtual Ethernet Module", "NA", status);
    }

    out.push_str("\nMod  Sw                  Hw\n");
    out.push_str("---  ------------------  ------------------------------------------------\n");
    for view in modules {
        let record = &view.record;
        line(&mut out, format_args!("{:<5}{:<20}{}", record.module, record.version, record.hardware));
    }

    out.push_str("\nMod  Server-IP        Server-UUID                           Server-Name\n");
    out.push_str("---  ---------------  ------------------------------------  --------------------\n");
    for view in modules {
        let record = &view.record;
        let address = record.addresses.first().map_or("NA", String::as_str);
        line(
            &mut out,
            format_args!("{:<5}{:<17}{:<38}{}", record.module, address, record.host_id, record.host_name),
        );
    }
    out.push_str("\n* this terminal session\n");
    out
}

/// `active *` (this one), `active`, or `offline`.
fn supervisor_status(supervisor: &SupervisorView) -> &'static str {
    match (supervisor.active, supervisor.this) {
        (_, true) => "active *",
        (true, false) => "active",
        (false, false) => "offline",
    }
}

/// Renders `show system redundancy status`: every supervisor sharing the store, how many modules
/// each serves (`online`: module → supervisor id), and the store's health.
pub fn show_system_redundancy_status(
    supervisors: &[SupervisorView],
    online: &BTreeMap<u32, String>,
    store: &store::StoreHealth,
) -> String {
    let mut out = String::new();
    let active = supervisors.iter().filter(|supervisor| supervisor.active).count();
    out.push_str("Redundancy mode\n---------------\n");
    line(&mut out, format_args!("      administrative:   every supervisor active"));
    line(
        &mut out,
        format_args!("         operational:   {active} of {} supervisors active", supervisors.len()),
    );
    out.push_str("\nSup  Status    Modules  Host                  Address                Version   Id\n");
    out.push_str("---  --------  -------  --------------------  ---------------------  --------  --------------------------------\n");
    for supervisor in supervisors {
        let record = &supervisor.record;
        let served = online.values().filter(|id| **id == record.id).count();
        line(
            &mut out,
            format_args!(
                "{:<5}{:<10}{:<9}{:<22}{:<23}{:<10}{}",
                record.number,
                supervisor_status(supervisor),
                served,
                record.host_name,
                record.address,
                record.version,
                record.id
            ),
        );
    }
    out.push_str("\nStore\n-----\n");
    line(&mut out, format_args!("             backend:   {}", store.backend));
    line(&mut out, format_args!("            location:   {}", store.location));
    let state = match (&store.last_error, store.ok) {
        (_, true) => "ok".to_owned(),
        (Some(error), false) => format!("failing: {error}"),
        (None, false) => "failing".to_owned(),
    };
    line(&mut out, format_args!("               state:   {state}"));
    if let (Some(error), Some(at), true) = (&store.last_error, store.last_error_unix_ms, store.ok) {
        line(
            &mut out,
            format_args!("          last error:   {} ({error})", crate::clock::format_timestamp(at)),
        );
    }
    line(&mut out, format_args!("          recoveries:   {}", store.recoveries));
    out.push_str("\n* this terminal session\n");
    out
}

fn row(out: &mut String, module: u32, ports: usize, kind: &str, model: &str, status: &str) {
    line(out, format_args!("{module:<5}{ports:<7}{kind:<34}{model:<20}{status}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::members::SupervisorRecord;
    use crate::modules::ModuleRecord;

    fn supervisor(number: u32, active: bool, this: bool) -> SupervisorView {
        SupervisorView {
            record: SupervisorRecord {
                number,
                id: format!("{number:032x}"),
                host_name: format!("sup-{number}"),
                address: format!("10.0.0.{number}:7400"),
                version: "0.1.0".into(),
                started_unix_ms: 0,
            },
            active,
            this,
        }
    }

    fn view(module: u32, host: &str, status: ModuleStatus) -> ModuleView {
        ModuleView {
            record: ModuleRecord {
                module,
                host_name: host.into(),
                host_id: "80c34566-7e89-b601-b4f9-001a64dc9054".into(),
                version: "0.1.0".into(),
                addresses: vec!["10.77.0.11".into()],
                hardware: "Linux 6.1 x86_64".into(),
                vtep: None,
                uplinks: Vec::new(),
            },
            status,
        }
    }

    #[test]
    fn matches_the_nxos_layout() {
        let text = show_module(
            &[supervisor(1, true, true), supervisor(2, true, false)],
            &[view(3, "bilbo", ModuleStatus::Ok), view(4, "frodo", ModuleStatus::Offline)],
            &[(3, 2)].into(),
        );
        let expected = "\
Mod  Ports  Module-Type                       Model               Status
---  -----  --------------------------------  ------------------  ------------
1    0      Virtual Supervisor Module         Switchyard          active *
2    0      Virtual Supervisor Module         Switchyard          active
3    2      Virtual Ethernet Module           NA                  ok
4    0      Virtual Ethernet Module           NA                  offline

Mod  Sw                  Hw
---  ------------------  ------------------------------------------------
3    0.1.0               Linux 6.1 x86_64
4    0.1.0               Linux 6.1 x86_64

Mod  Server-IP        Server-UUID                           Server-Name
---  ---------------  ------------------------------------  --------------------
3    10.77.0.11       80c34566-7e89-b601-b4f9-001a64dc9054  bilbo
4    10.77.0.11       80c34566-7e89-b601-b4f9-001a64dc9054  frodo

* this terminal session
";
        assert_eq!(text, expected);
    }

    #[test]
    fn no_agents_yet() {
        let text = show_module(&[supervisor(1, true, true)], &[], &BTreeMap::new());
        assert!(
            text.contains("1    0      Virtual Supervisor Module         Switchyard          active *\n")
        );
        assert!(text.ends_with("--------------------\n\n* this terminal session\n"));
    }

    #[test]
    fn redundancy_lists_supervisors_and_the_store() {
        let online = [(3, format!("{:032x}", 2)), (4, format!("{:032x}", 2))].into();
        let health = store::StoreHealth {
            backend: "etcd".into(),
            location: "http://127.0.0.1:2379".into(),
            ok: false,
            last_error: Some("the store is unavailable: no leader".into()),
            last_error_unix_ms: Some(0),
            recoveries: 0,
        };
        let text = show_system_redundancy_status(
            &[supervisor(1, true, true), supervisor(2, true, false), supervisor(3, false, false)],
            &online,
            &health,
        );
        assert!(text.contains("         operational:   2 of 3 supervisors active\n"), "{text}");
        assert!(text.contains("\n2    active    2        sup-2 "), "{text}");
        assert!(text.contains("\n3    offline   0        sup-3 "), "{text}");
        assert!(
            text.contains("               state:   failing: the store is unavailable: no leader\n"),
            "{text}"
        );
    }
}
