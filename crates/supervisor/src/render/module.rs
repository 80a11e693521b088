//! `show module`: the module table, the software/hardware table, the server table.

use std::collections::BTreeMap;

use super::text::line;
use crate::modules::{ModuleStatus, ModuleView};

/// The supervisor's own module number (supervisors are 1–2).
pub const SUPERVISOR_MODULE: u32 = 1;

/// Renders `show module` as NX-OS does; `*` marks the supervisor this session talks to. The
/// Ports column counts the module's attached vEthernets (`ports`, by module number; NX-OS gave
/// the module's capacity there, which tells an operator less).
pub fn show_module(modules: &[ModuleView], ports: &BTreeMap<u32, usize>) -> String {
    let mut out = String::new();
    out.push_str("Mod  Ports  Module-Type                       Model               Status\n");
    out.push_str("---  -----  --------------------------------  ------------------  ------------\n");
    row(&mut out, SUPERVISOR_MODULE, 0, "Virtual Supervisor Module", "Switchyard", "active *");
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

fn row(out: &mut String, module: u32, ports: usize, kind: &str, model: &str, status: &str) {
    line(out, format_args!("{module:<5}{ports:<7}{kind:<34}{model:<20}{status}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::ModuleRecord;

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
            &[view(3, "bilbo", ModuleStatus::Ok), view(4, "frodo", ModuleStatus::Offline)],
            &[(3, 2)].into(),
        );
        let expected = "\
Mod  Ports  Module-Type                       Model               Status
---  -----  --------------------------------  ------------------  ------------
1    0      Virtual Supervisor Module         Switchyard          active *
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
        let text = show_module(&[], &BTreeMap::new());
        assert!(
            text.contains("1    0      Virtual Supervisor Module         Switchyard          active *\n")
        );
        assert!(text.ends_with("--------------------\n\n* this terminal session\n"));
    }
}
