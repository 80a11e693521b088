//! `show accounting log [last N]`: one entry a line, NX-OS's form.

use crate::audit::AuditRecord;

/// Renders accounting entries, oldest first.
pub fn show_accounting_log(records: &[AuditRecord]) -> String {
    records.iter().map(|record| record.line() + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEntry, AuditKind};

    #[test]
    fn one_line_per_entry() {
        let entry = |user: &str, success| AuditEntry {
            kind: AuditKind::Config,
            user: user.into(),
            source: "10.0.0.5".into(),
            command: "vlan 100".into(),
            success,
            detail: if success { String::new() } else { "denied".into() },
        };
        let records = [
            AuditRecord::new(0, 1_796_576_774_000, entry("admin", true)),
            AuditRecord::new(1, 1_796_576_775_000, entry("bob", false)),
        ];
        assert_eq!(
            show_accounting_log(&records),
            "Sun Dec  6 17:06:14 2026:type=update:id=10.0.0.5:user=admin:cmd=vlan 100 (SUCCESS)\n\
             Sun Dec  6 17:06:15 2026:type=update:id=10.0.0.5:user=bob:cmd=vlan 100 (FAILURE: denied)\n"
        );
    }
}
