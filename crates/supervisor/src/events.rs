//! The event log's entries, in NX-OS form: `%FACILITY-SEVERITY-MNEMONIC: text`.
//!
//! Pure: an [`Event`] is what happened; the event log ([`crate::journal`]) numbers and stamps it
//! into an [`EventRecord`] inside the transaction that makes it true.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::format_timestamp;
use crate::modules::UplinkRecord;

/// Something worth a line in `show logging logfile`, not yet numbered or stamped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub facility: &'static str,
    /// Syslog severity, 0 (emergency) – 7 (debug).
    pub severity: u8,
    /// Static for every event but `IF_DOWN_<REASON>` of a reason this version does not know.
    pub mnemonic: Cow<'static, str>,
    pub text: String,
}

/// Why a vEthernet is down, in the words of `show interface brief`'s Reason column and of the
/// agent's `PortStatus.reason`.
pub mod down_reason {
    /// The port's profile does not exist (yet): it comes up once it is created.
    pub const PROFILE_NOT_FOUND: &str = "port-profile not found";
    /// The profile says `shutdown`.
    pub const ADMIN_DOWN: &str = "administratively down";
    /// The profile says `no state enabled`.
    pub const PROFILE_DISABLED: &str = "port-profile disabled";
    /// The port's module stopped heartbeating.
    pub const MODULE_OFFLINE: &str = "module offline";
    /// The port left its host; a `port-binding static` binding keeps its number.
    pub const DETACHED: &str = "detached";
    /// Bound, but its module has not reported the port yet.
    pub const INITIALIZING: &str = "initializing";
    /// An uplink without carrier (the agent's words).
    pub const LINK_NOT_CONNECTED: &str = "Link not connected";
    /// Error-disabled by a port-security violation (`violation shutdown`), as the agent says it
    /// (NX-OS's words); `interface vethernet N` + `no shutdown` recovers it.
    pub const PORT_SECURITY_VIOLATION: &str = "Error disabled. Reason:Port Security violation";
    /// What `show interface` says of any error-disabled port (NX-OS's word).
    pub const ERR_DISABLED: &str = "errDisabled";

    /// Whether a reported reason means error-disabled (`Error disabled. Reason:…`, or
    /// `errDisabled` itself), whatever the cause.
    pub fn is_err_disabled(reason: &str) -> bool {
        reason.eq_ignore_ascii_case(ERR_DISABLED)
            || reason.get(..14).is_some_and(|start| start.eq_ignore_ascii_case("error disabled"))
    }
}

/// The reasons whose `IF_DOWN` event has a mnemonic and words of its own.
const DOWN_EVENTS: [(&str, &str, &str); 7] = [
    (down_reason::LINK_NOT_CONNECTED, "IF_DOWN_LINK_FAILURE", "Link failure"),
    (down_reason::PROFILE_NOT_FOUND, "IF_DOWN_PORT_PROFILE_NOT_FOUND", "port-profile not found"),
    // NX-OS's own words for this one.
    (down_reason::ADMIN_DOWN, "IF_DOWN_ADMIN_DOWN", "Administratively down"),
    (down_reason::PROFILE_DISABLED, "IF_DOWN_PORT_PROFILE_DISABLED", "port-profile disabled"),
    (down_reason::MODULE_OFFLINE, "IF_DOWN_MODULE_OFFLINE", "module offline"),
    (down_reason::PORT_SECURITY_VIOLATION, "IF_DOWN_ERROR_DISABLED", down_reason::PORT_SECURITY_VIOLATION),
    ("", "IF_DOWN_NONE", "None"),
];

impl Event {
    /// A host joined (or re-joined) and holds this module number.
    pub fn module_detected(host_name: &str, module: u32) -> Self {
        Self::vem_mgr("VEM_MGR_DETECTED", format!("Host {host_name} detected as module {module}"))
    }

    /// An agent enrolled with a join token.
    pub fn host_enrolled(host_name: &str, host_id: &str, from: &str) -> Self {
        Self::vem_mgr("VEM_MGR_ENROLLED", format!("Host {host_name} ({host_id}) enrolled from {from}"))
    }

    /// An agent was refused: a bad token, a certificate that no longer counts, or a claim to be
    /// another host. Severity 2: someone may be trying to impersonate a host.
    pub fn host_refused(from: &str, why: &str) -> Self {
        Self::vem_mgr("VEM_MGR_REFUSED", format!("Refused agent at {from}: {why}"))
    }

    /// An operator revoked a host's certificates.
    pub fn host_revoked(host_name: &str, module: Option<u32>) -> Self {
        let module = module.map_or_else(String::new, |module| format!(" (module {module})"));
        Self::vem_mgr(
            "VEM_MGR_REVOKED",
            format!("Host {host_name}{module} revoked: its certificates are refused"),
        )
    }

    /// A host asked to join under a name another host's module holds, and was refused (the
    /// Nexus 1000V's `VEM_MGR_REMOVE_…` family names why a VEM was turned away).
    pub fn duplicate_host_name(host_name: &str, host_id: &str, module: u32) -> Self {
        Self::vem_mgr(
            "VEM_MGR_REMOVE_DUP_HOST_NAME",
            format!("Host {host_name} (host id {host_id}) refused: module {module} has that host name"),
        )
    }

    /// An operator removed a module (`no module N`): its record and host mapping are gone, its
    /// ports released per their port-binding.
    pub fn module_removed(module: u32, host_name: &str) -> Self {
        Self::vem_mgr(
            "VEM_MGR_REMOVED",
            format!("Module {module} (host {host_name}) removed by the operator"),
        )
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
        Self { facility, severity: 5, mnemonic: Cow::Borrowed("CONFIG_CHANGED"), text }
    }

    /// A vEthernet was bound to a container's interface: `Interface Vethernet1 is attached to
    /// veth18924_eth0 of web1 on port 1 of module 3`. `port` is the agent's vEthernet port index
    /// (LTL − 48), as NX-OS gave the host's port number there.
    pub fn interface_attached(veth: u32, adapter: &str, owner: &str, port: u32, module: u32) -> Self {
        Self::vim(
            "IF_ATTACHED",
            format!(
                "Interface Vethernet{veth} is attached to {adapter} of {owner} on port {port} of module {module}"
            ),
        )
    }

    /// A vEthernet's port left its host: `Interface Vethernet1 is detached`.
    pub fn interface_detached(veth: u32) -> Self {
        Self::vim("IF_DETACHED", format!("Interface Vethernet{veth} is detached"))
    }

    /// `Interface Vethernet1 is up in mode access`.
    pub fn interface_up(veth: u32, mode: &str) -> Self {
        Self::port_up(&format!("Vethernet{veth}"), mode)
    }

    /// `Interface Vethernet4 is down (port-profile not found)`, under `IF_DOWN_<REASON>`. A reason
    /// outside `DOWN_EVENTS` gets its words in upper case as the mnemonic.
    pub fn interface_down(veth: u32, reason: &str) -> Self {
        Self::port_down(&format!("Vethernet{veth}"), reason)
    }

    /// `Interface Ethernet3/1 is up in mode trunk`: uplink `index` of `module`.
    pub fn ethernet_up(module: u32, index: u32, mode: &str) -> Self {
        Self::port_up(&UplinkRecord::interface_name(module, index), mode)
    }

    /// `Interface Ethernet3/1 is down (Link failure)`, as [`Event::interface_down`].
    pub fn ethernet_down(module: u32, index: u32, reason: &str) -> Self {
        Self::port_down(&UplinkRecord::interface_name(module, index), reason)
    }

    fn port_up(interface: &str, mode: &str) -> Self {
        Self::ethport(Cow::Borrowed("IF_UP"), format!("Interface {interface} is up in mode {mode}"))
    }

    fn port_down(interface: &str, reason: &str) -> Self {
        let (mnemonic, words) = match DOWN_EVENTS.iter().find(|(known, _, _)| *known == reason) {
            Some(&(_, mnemonic, words)) => (Cow::Borrowed(mnemonic), words),
            None => (Cow::Owned(format!("IF_DOWN_{}", mnemonic_words(reason))), reason),
        };
        Self::ethport(mnemonic, format!("Interface {interface} is down ({words})"))
    }

    /// The leak collector freed an address its module no longer reports holding:
    /// `Address 10.100.0.12 of ip pool web-pool reclaimed from iface-1 on module 3 (not reported
    /// held for 60 s)`.
    pub fn address_reclaimed(
        pool: &str,
        address: std::net::Ipv4Addr,
        owner: &str,
        module: u32,
        grace: std::time::Duration,
    ) -> Self {
        Self {
            facility: "IPAM",
            severity: 4,
            mnemonic: Cow::Borrowed("ADDRESS_RECLAIMED"),
            text: format!(
                "Address {address} of ip pool {pool} reclaimed from {} on module {module} (not reported held \
                 for {})",
                crate::agent_input::printable(owner),
                // Whole seconds as the default grace reads; a shorter one (tests) in milliseconds.
                if grace.subsec_millis() == 0 {
                    format!("{} s", grace.as_secs())
                } else {
                    format!("{} ms", grace.as_millis())
                }
            ),
        }
    }

    fn vem_mgr(mnemonic: &'static str, text: String) -> Self {
        Self { facility: "VEM_MGR", severity: 2, mnemonic: Cow::Borrowed(mnemonic), text }
    }

    fn vim(mnemonic: &'static str, text: String) -> Self {
        Self { facility: "VIM", severity: 5, mnemonic: Cow::Borrowed(mnemonic), text }
    }

    fn ethport(mnemonic: Cow<'static, str>, text: String) -> Self {
        // NX-OS logs an error-disabled port as critical (2), every other up/down as a notice.
        let severity = if mnemonic == "IF_DOWN_ERROR_DISABLED" { 2 } else { 5 };
        Self { facility: "ETHPORT", severity, mnemonic, text }
    }
}

/// `link flap` → `LINK_FLAP`: upper case, anything but letters and digits as `_`.
fn mnemonic_words(reason: &str) -> String {
    reason.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
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
            mnemonic: event.mnemonic.to_string(),
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

    #[test]
    fn a_reclaimed_address_reads_like_nxos() {
        let address = std::net::Ipv4Addr::new(10, 100, 0, 12);
        let event = Event::address_reclaimed("web-pool", address, "iface-1", 3, crate::ipam::ADDRESS_GRACE);
        let record = EventRecord::new(0, 0, &event);
        assert_eq!(
            record.message(),
            "%IPAM-4-ADDRESS_RECLAIMED: Address 10.100.0.12 of ip pool web-pool reclaimed from iface-1 on module 3 \
             (not reported held for 60 s)"
        );
    }

    #[test]
    fn port_events_read_like_nxos() {
        let cases = [
            (
                Event::interface_attached(1, "veth18924_eth0", "web1", 1, 3),
                "%VIM-5-IF_ATTACHED: Interface Vethernet1 is attached to veth18924_eth0 of web1 on port 1 of module 3",
            ),
            (Event::interface_detached(1), "%VIM-5-IF_DETACHED: Interface Vethernet1 is detached"),
            (Event::interface_up(1, "access"), "%ETHPORT-5-IF_UP: Interface Vethernet1 is up in mode access"),
            (
                Event::interface_down(4, "port-profile not found"),
                "%ETHPORT-5-IF_DOWN_PORT_PROFILE_NOT_FOUND: Interface Vethernet4 is down (port-profile not found)",
            ),
            (
                Event::interface_down(2, "administratively down"),
                "%ETHPORT-5-IF_DOWN_ADMIN_DOWN: Interface Vethernet2 is down (Administratively down)",
            ),
            (
                Event::interface_down(2, "port-profile disabled"),
                "%ETHPORT-5-IF_DOWN_PORT_PROFILE_DISABLED: Interface Vethernet2 is down (port-profile disabled)",
            ),
            (
                Event::interface_down(3, down_reason::PORT_SECURITY_VIOLATION),
                "%ETHPORT-2-IF_DOWN_ERROR_DISABLED: Interface Vethernet3 is down (Error disabled. Reason:Port Security violation)",
            ),
            (
                Event::interface_down(2, "module offline"),
                "%ETHPORT-5-IF_DOWN_MODULE_OFFLINE: Interface Vethernet2 is down (module offline)",
            ),
            (Event::interface_down(2, ""), "%ETHPORT-5-IF_DOWN_NONE: Interface Vethernet2 is down (None)"),
            (
                Event::ethernet_up(3, 1, "trunk"),
                "%ETHPORT-5-IF_UP: Interface Ethernet3/1 is up in mode trunk",
            ),
            (
                Event::ethernet_down(3, 2, "Link not connected"),
                "%ETHPORT-5-IF_DOWN_LINK_FAILURE: Interface Ethernet3/2 is down (Link failure)",
            ),
            (
                Event::ethernet_down(4, 1, "module offline"),
                "%ETHPORT-5-IF_DOWN_MODULE_OFFLINE: Interface Ethernet4/1 is down (module offline)",
            ),
            (
                Event::interface_down(2, "link flap"),
                "%ETHPORT-5-IF_DOWN_LINK_FLAP: Interface Vethernet2 is down (link flap)",
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(EventRecord::new(0, 0, &event).message(), expected);
        }
    }
}
