//! Accounting entries as stored and as shown: numbered, stamped, secrets redacted, and rendered
//! one a line in NX-OS's `show accounting log` form.
//!
//! Pure: the caller passes the sequence number and the time.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AuditEntry, AuditKind};
use crate::clock::format_ctime;

/// One stored accounting entry (`GET /api/v1/audit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditRecord {
    /// Position in the log; increases by one per entry, never reused.
    pub seq: u64,
    /// When it was recorded, milliseconds since the Unix epoch.
    pub time_ms: u64,
    pub kind: AuditKind,
    /// Who: an operator, `module:<host id>`, `insecure`, or `unknown` when nobody authenticated.
    pub user: String,
    /// From where: the client's address, or `-` when unknown.
    pub source: String,
    /// Exactly what was asked for, secrets redacted (`password *****`).
    pub command: String,
    pub success: bool,
    /// Why it failed, or what it changed.
    pub detail: String,
}

impl AuditRecord {
    /// Numbers and stamps an entry, redacting secrets from its command and detail: nothing
    /// unredacted ever reaches the store.
    pub fn new(seq: u64, time_ms: u64, entry: AuditEntry) -> Self {
        Self {
            seq,
            time_ms,
            kind: entry.kind,
            user: entry.user,
            source: entry.source,
            command: config::redact(&entry.command),
            success: entry.success,
            detail: config::redact(&entry.detail),
        }
    }

    /// The `show accounting log` line: `Sun Dec  6 17:06:14 2026:type=update:id=10.0.0.5:
    /// user=admin:cmd=configure terminal ; vlan 100 (SUCCESS)`, failures `(FAILURE: why)`.
    ///
    /// Multi-line commands are joined with ` ; ` as NX-OS joins a session's commands, and
    /// control characters become `?`: one entry is one line, whatever a client sent.
    pub fn line(&self) -> String {
        let outcome = if self.success {
            "SUCCESS".to_owned()
        } else if self.detail.is_empty() {
            "FAILURE".to_owned()
        } else {
            format!("FAILURE: {}", one_line(&self.detail))
        };
        format!(
            "{}:type={}:id={}:user={}:cmd={} ({outcome})",
            format_ctime(self.time_ms),
            self.kind.nxos_type(),
            one_line(&self.source),
            one_line(&self.user),
            one_line(&self.command),
        )
    }
}

/// `a\n  b\n` → `a ; b`; control characters → `?`.
fn one_line(text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        // The one terminal-safety rule (control, bidirectional and zero-width characters).
        .map(|line| crate::agent_input::printable(line).into_owned())
        .collect();
    lines.join(" ; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(command: &str, success: bool, detail: &str) -> AuditEntry {
        AuditEntry {
            kind: AuditKind::Config,
            user: "admin".into(),
            source: "10.0.0.5".into(),
            command: command.into(),
            success,
            detail: detail.into(),
        }
    }

    #[test]
    fn lines_read_like_nxos() {
        let record =
            AuditRecord::new(10, 1_796_576_774_000, entry("configure terminal\nvlan 100\n", true, ""));
        assert_eq!(
            record.line(),
            "Sun Dec  6 17:06:14 2026:type=update:id=10.0.0.5:user=admin:cmd=configure terminal ; vlan 100 (SUCCESS)"
        );
        let failed =
            AuditRecord::new(11, 1_796_576_774_000, entry("no vlan 7", false, "vlan 7 does not exist"));
        assert!(
            failed.line().ends_with(":cmd=no vlan 7 (FAILURE: vlan 7 does not exist)"),
            "{}",
            failed.line()
        );
    }

    #[test]
    fn secrets_never_reach_the_record() {
        let record =
            AuditRecord::new(0, 0, entry("username bob password hunter2 role network-admin", true, ""));
        assert_eq!(record.command, "username bob password ***** role network-admin");
        assert!(!record.line().contains("hunter2"));
    }

    #[test]
    fn one_entry_is_one_line() {
        let mut sneaky = entry("show x", true, "");
        sneaky.user = "eve\nSun Dec  6 00:00:00 2026:type=update:id=1.2.3.4:user=admin".into();
        sneaky.source = "\u{1b}[2J".into();
        let line = AuditRecord::new(0, 0, sneaky).line();
        assert_eq!(line.lines().count(), 1);
        assert!(!line.contains('\u{1b}'));
    }
}
