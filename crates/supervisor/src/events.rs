//! The event log's entries, in NX-OS form: `%FACILITY-SEVERITY-MNEMONIC: text`.
//!
//! Pure: an [`Event`] is what happened; the event log ([`crate::journal`]) numbers and stamps it
//! into an [`EventRecord`] inside the transaction that makes it true.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::format_timestamp;

/// Something worth a line in `show logging logfile`, not yet numbered or stamped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub facility: &'static str,
    /// Syslog severity, 0 (emergency) – 7 (debug).
    pub severity: u8,
    pub mnemonic: &'static str,
    pub text: String,
}

impl Event {
    /// A host joined (or re-joined) and holds this module number.
    pub fn module_detected(host_name: &str, module: u32) -> Self {
        Self::vem_mgr("VEM_MGR_DETECTED", format!("Host {host_name} detected as module {module}"))
    }

    /// A module is heartbeating.
    pub fn module_online(module: u32) -> Self {
        Self::vem_mgr("MOD_ONLINE", format!("Module {module} is online"))
    }

    /// A module missed its heartbeats.
    pub fn module_offline(module: u32) -> Self {
        Self::vem_mgr("MOD_OFFLINE", format!("Module {module} is offline"))
    }

    /// One configuration change, described as NX-OS text (`port-profile vlan100 modified:
    /// switchport access vlan 101`).
    pub fn config_changed(facility: &'static str, text: String) -> Self {
        Self { facility, severity: 5, mnemonic: "CONFIG_CHANGED", text }
    }

    fn vem_mgr(mnemonic: &'static str, text: String) -> Self {
        Self { facility: "VEM_MGR", severity: 2, mnemonic, text }
    }
}

/// One stored line of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventRecord {
    /// Position in the log; increases by one per event, never reused.
    pub seq: u64,
    /// When it was logged, milliseconds since the Unix epoch.
    pub time_ms: u64,
    pub facility: String,
    pub severity: u8,
    pub mnemonic: String,
    pub text: String,
}

impl EventRecord {
    /// Numbers and stamps an event.
    pub fn new(seq: u64, time_ms: u64, event: &Event) -> Self {
        Self {
            seq,
            time_ms,
            facility: event.facility.to_owned(),
            severity: event.severity,
            mnemonic: event.mnemonic.to_owned(),
            text: event.text.clone(),
        }
    }

    /// `%VEM_MGR-2-MOD_ONLINE: Module 3 is online`.
    pub fn message(&self) -> String {
        format!("%{}-{}-{}: {}", self.facility, self.severity, self.mnemonic, self.text)
    }

    /// The `show logging logfile` line: `2026 Nov 29 06:01:02 switch %VEM_MGR-2-MOD_ONLINE: …`.
    pub fn logfile_line(&self, switch_name: &str) -> String {
        format!("{} {switch_name} {}", format_timestamp(self.time_ms), self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_like_nxos() {
        let record = EventRecord::new(7, 1_795_932_062_000, &Event::module_detected("bilbo", 3));
        assert_eq!(
            record.logfile_line("switch"),
            "2026 Nov 29 06:01:02 switch %VEM_MGR-2-VEM_MGR_DETECTED: Host bilbo detected as module 3"
        );
        assert_eq!(
            EventRecord::new(0, 0, &Event::module_online(3)).message(),
            "%VEM_MGR-2-MOD_ONLINE: Module 3 is online"
        );
        assert_eq!(
            EventRecord::new(0, 0, &Event::module_offline(4)).message(),
            "%VEM_MGR-2-MOD_OFFLINE: Module 4 is offline"
        );
        let change = Event::config_changed("PORT_PROFILE", "port-profile web modified: shutdown".into());
        assert_eq!(
            EventRecord::new(0, 0, &change).message(),
            "%PORT_PROFILE-5-CONFIG_CHANGED: port-profile web modified: shutdown"
        );
    }
}
