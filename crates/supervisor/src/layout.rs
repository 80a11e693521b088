//! Where the supervisor keeps its state in the store.
//!
//! ```text
//! /switchyard/config/vlans/<id, 4 digits>       JSON config::Vlan           one key per VLAN
//! /switchyard/config/bridge-domains/<name>      JSON config::BridgeDomain   one key per bridge-domain
//! /switchyard/config/port-profiles/<name>       JSON config::PortProfile    one key per profile
//! /switchyard/config/users/<name>               JSON config::User           one key per account (hashed password)
//! /switchyard/auth/tokens/<sha256 of token>     JSON TokenRecord            one key per REST bearer token
//! /switchyard/modules/<host-id>                 JSON ModuleRecord           one key per host
//! /switchyard/ports/<iface-id>                  JSON PortRecord             one key per vEthernet binding
//! /switchyard/counters/next-module              decimal: the next module number to hand out
//! /switchyard/counters/next-event               decimal: the sequence number of the next event
//! /switchyard/counters/config-generation        decimal: bumped by every config write
//! /switchyard/counters/ports-generation         decimal: bumped by every port binding write
//! /switchyard/events/<seq, 20 digits>           JSON EventRecord            the event log
//! /switchyard/join-tokens/<id>                  JSON TokenRecord            unused join tokens
//! /switchyard/enrolments/<host-id>              JSON EnrolmentRecord        enrolled agents' certificates
//! /switchyard/counters/next-audit               decimal: the sequence number of the next audit entry
//! /switchyard/audit/<seq, 20 digits>            JSON AuditRecord            the accounting log
//! /switchyard/config/ip-pools/<name>            JSON config::IpPool         one key per address pool
//! /switchyard/ipam/<pool>/<A.B.C.D>             JSON Allocation             one key per allocated address
//! /switchyard/counters/ipam-generation          decimal: bumped by every allocation write
//! /switchyard/supervisors/<id>                  JSON SupervisorRecord       one key per supervisor (its number)
//! /switchyard/counters/next-supervisor          decimal: the next supervisor number (1 when absent)
//! /switchyard/pki/ca                           JSON {cert_pem, key_pem}    the CA every supervisor shares
//! /switchyard/module-presence/<module>          `online` | `offline`: the last MOD_ONLINE/OFFLINE logged
//! /switchyard/live/supervisors/<id>             JSON SupervisorLive         leased: the supervisor is up
//! /switchyard/live/modules/<module, 10 digits>  JSON LiveModule             leased: the module is online
//! /switchyard/live/reports/<module, 10 digits>  JSON SharedReport           leased: the agent's latest report
//! /switchyard/live/port-commands/<module>/<veth> `shutdown` | `no shutdown` leased: for the serving supervisor
//! ```
//!
//! Keys under `/switchyard/live/` are attached to the lease of the supervisor that wrote them
//! (see [`crate::cluster`]): they vanish when that supervisor stops renewing it, so every
//! supervisor sharing the store sees a module (or a supervisor) go away. They are never exported.
//!
//! One key per config object means a store watch of [`CONFIG_PREFIX`] yields per-object deltas.
//! A config write is one transaction that compares the `config-generation` key's revision
//! (read *before* the config itself), so two writers — two shell sessions, or two supervisors
//! sharing one etcd — cannot interleave: the loser re-reads and re-applies. The generation key
//! lives outside the config prefix so it never wakes the policy watch.
//!
//! Port bindings are guarded the same way by `ports-generation`: VethN numbers are chosen from
//! a read of every binding, so two supervisors must not both hand out the same free number.
//!
//! Event keys are zero-padded so that key order is sequence order; the log is bounded by deleting
//! the entry `capacity` places behind each one appended, in the same transaction.
//!
//! The accounting log has a prefix and a counter of its own, and its own retention (by age and
//! by count, [`crate::audit`]): no amount of event noise can push an audit entry out.

/// Everything under this prefix is configuration; the policy fan-out watches it.
pub const CONFIG_PREFIX: &str = "/switchyard/config/";
/// VLAN objects.
pub const VLANS_PREFIX: &str = "/switchyard/config/vlans/";
/// Bridge-domain objects.
pub const BRIDGE_DOMAINS_PREFIX: &str = "/switchyard/config/bridge-domains/";
/// Port-profile objects.
pub const PROFILES_PREFIX: &str = "/switchyard/config/port-profiles/";
/// Operator accounts.
pub const USERS_PREFIX: &str = "/switchyard/config/users/";
/// `ip access-list NAME` objects.
pub const IP_ACCESS_LISTS_PREFIX: &str = "/switchyard/config/ip-access-lists/";
/// `ipv6 access-list NAME` objects (a namespace of their own, as in NX-OS).
pub const IPV6_ACCESS_LISTS_PREFIX: &str = "/switchyard/config/ipv6-access-lists/";
/// `flow exporter NAME` objects.
pub const FLOW_EXPORTERS_PREFIX: &str = "/switchyard/config/flow-exporters/";
/// `flow monitor NAME` objects.
pub const FLOW_MONITORS_PREFIX: &str = "/switchyard/config/flow-monitors/";
/// `ip pool NAME` objects.
pub const IP_POOLS_PREFIX: &str = "/switchyard/config/ip-pools/";
/// Address allocations, keyed by pool and address.
pub const IPAM_PREFIX: &str = "/switchyard/ipam/";
/// Bumped by every allocation write; its revision guards allocation transactions, so two
/// supervisors sharing a store never hand out one address twice.
pub const IPAM_GENERATION_KEY: &str = "/switchyard/counters/ipam-generation";
/// `ip dhcp snooping`: present (`true`) when on.
pub const DHCP_SNOOPING_KEY: &str = "/switchyard/config/dhcp-snooping";
/// REST bearer tokens, keyed by the SHA-256 of the token (the token itself is never stored).
pub const TOKENS_PREFIX: &str = "/switchyard/auth/tokens/";
/// The CA every supervisor sharing the store uses (unless the user brings one).
pub const PKI_CA_KEY: &str = "/switchyard/pki/ca";
/// Supervisor records, keyed by supervisor id.
pub const SUPERVISORS_PREFIX: &str = "/switchyard/supervisors/";
/// The next supervisor number to hand out (1 when absent).
pub const NEXT_SUPERVISOR_KEY: &str = "/switchyard/counters/next-supervisor";
/// The last liveness change logged per module (`online` / `offline`).
pub const MODULE_PRESENCE_PREFIX: &str = "/switchyard/module-presence/";
/// Everything kept alive by a supervisor's lease.
pub const LIVE_PREFIX: &str = "/switchyard/live/";
/// Supervisors that are up, keyed by supervisor id.
pub const LIVE_SUPERVISORS_PREFIX: &str = "/switchyard/live/supervisors/";
/// Agents' latest port reports, keyed by module number.
pub const LIVE_REPORTS_PREFIX: &str = "/switchyard/live/reports/";
/// Operators' port commands on their way to the supervisor serving the port's module.
pub const LIVE_PORT_COMMANDS_PREFIX: &str = "/switchyard/live/port-commands/";
/// Modules that are online, keyed by number.
pub const LIVE_MODULES_PREFIX: &str = "/switchyard/live/modules/";
/// Module records, keyed by host id.
pub const MODULES_PREFIX: &str = "/switchyard/modules/";
/// vEthernet bindings, keyed by iface-id.
pub const PORTS_PREFIX: &str = "/switchyard/ports/";
/// The event log.
pub const EVENTS_PREFIX: &str = "/switchyard/events/";
/// Join tokens not yet used, keyed by token id.
pub const JOIN_TOKENS_PREFIX: &str = "/switchyard/join-tokens/";
/// Enrolled hosts, keyed by host id.
pub const ENROLMENTS_PREFIX: &str = "/switchyard/enrolments/";
/// The accounting log.
pub const AUDIT_PREFIX: &str = "/switchyard/audit/";
/// The sequence number of the next audit entry (0 when absent).
pub const NEXT_AUDIT_KEY: &str = "/switchyard/counters/next-audit";
/// The next module number to hand out (3 when absent).
pub const NEXT_MODULE_KEY: &str = "/switchyard/counters/next-module";
/// The sequence number of the next event (0 when absent).
pub const NEXT_EVENT_KEY: &str = "/switchyard/counters/next-event";
/// Bumped by every config write; its revision guards config transactions.
pub const CONFIG_GENERATION_KEY: &str = "/switchyard/counters/config-generation";
/// Bumped by every port binding write; its revision guards binding transactions.
pub const PORTS_GENERATION_KEY: &str = "/switchyard/counters/ports-generation";

/// The store key of `vlan <id>`.
pub fn vlan_key(id: u16) -> String {
    format!("{VLANS_PREFIX}{id:04}")
}

/// The store key of `bridge-domain <name>`.
pub fn bridge_domain_key(name: &str) -> String {
    format!("{BRIDGE_DOMAINS_PREFIX}{name}")
}

/// The store key of `ip pool <name>`.
pub fn ip_pool_key(name: &str) -> String {
    format!("{IP_POOLS_PREFIX}{name}")
}

/// The prefix of pool `pool`'s allocations.
pub fn ipam_pool_prefix(pool: &str) -> String {
    format!("{IPAM_PREFIX}{pool}/")
}

/// The store key of the allocation of `address` in `pool`.
pub fn ipam_key(pool: &str, address: std::net::Ipv4Addr) -> String {
    format!("{IPAM_PREFIX}{pool}/{address}")
}

/// The pool and address an allocation key names; `None` for anything else.
pub fn parse_ipam_key(key: &str) -> Option<(&str, std::net::Ipv4Addr)> {
    let (pool, address) = key.strip_prefix(IPAM_PREFIX)?.rsplit_once('/')?;
    Some((pool, address.parse().ok()?)).filter(|(pool, _)| !pool.is_empty())
}

/// The store key of `port-profile <name>`.
pub fn profile_key(name: &str) -> String {
    format!("{PROFILES_PREFIX}{name}")
}

/// The store key of `username <name>`.
pub fn user_key(name: &str) -> String {
    format!("{USERS_PREFIX}{name}")
}

/// The store key of the bearer token with this id (the hex SHA-256 of the token).
pub fn token_key(id: &str) -> String {
    format!("{TOKENS_PREFIX}{id}")
}

/// The store key of the module record of the host with this id.
pub fn module_key(host_id: &str) -> String {
    format!("{MODULES_PREFIX}{host_id}")
}

/// The store key of the binding of the port with this iface-id.
pub fn port_key(iface_id: &str) -> String {
    format!("{PORTS_PREFIX}{iface_id}")
}

/// The store key of join token `id`.
pub fn join_token_key(id: &str) -> String {
    format!("{JOIN_TOKENS_PREFIX}{id}")
}

/// The store key of the enrolment of the host with this id.
pub fn enrolment_key(host_id: &str) -> String {
    format!("{ENROLMENTS_PREFIX}{host_id}")
}

/// The store key of event number `seq`.
pub fn event_key(seq: u64) -> String {
    format!("{EVENTS_PREFIX}{seq:020}")
}

/// The store key of audit entry number `seq`.
pub fn audit_key(seq: u64) -> String {
    format!("{AUDIT_PREFIX}{seq:020}")
}

/// The sequence number of an audit key.
pub fn parse_audit_key(key: &str) -> Option<u64> {
    key.strip_prefix(AUDIT_PREFIX)?.parse().ok()
}

/// What a key under [`CONFIG_PREFIX`] names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigKey<'a> {
    Vlan(u16),
    BridgeDomain(&'a str),
    PortProfile(&'a str),
    User(&'a str),
    /// An access list of a family (`true`: IPv6).
    AccessList(bool, &'a str),
    FlowExporter(&'a str),
    FlowMonitor(&'a str),
    DhcpSnooping,
    IpPool(&'a str),
}

impl ConfigKey<'_> {
    /// Whether the object is one a port-profile's effective policy embeds (access lists, flow
    /// monitors and exporters, DHCP snooping): its changes change the policies of profiles.
    pub fn is_policy_object(&self) -> bool {
        matches!(
            self,
            Self::AccessList(..) | Self::FlowExporter(_) | Self::FlowMonitor(_) | Self::DhcpSnooping
        )
    }
}

/// Classifies a config key; `None` for keys this version does not know (left alone, so a newer
/// supervisor sharing the store can add object kinds).
pub fn parse_config_key(key: &str) -> Option<ConfigKey<'_>> {
    if let Some(id) = key.strip_prefix(VLANS_PREFIX) {
        return id.parse().ok().map(ConfigKey::Vlan);
    }
    if let Some(name) = key.strip_prefix(BRIDGE_DOMAINS_PREFIX) {
        return (!name.is_empty()).then_some(ConfigKey::BridgeDomain(name));
    }
    if let Some(name) = key.strip_prefix(USERS_PREFIX) {
        return (!name.is_empty()).then_some(ConfigKey::User(name));
    }
    if key == DHCP_SNOOPING_KEY {
        return Some(ConfigKey::DhcpSnooping);
    }
    let named = |prefix: &str| key.strip_prefix(prefix).filter(|name| !name.is_empty());
    if let Some(name) = named(IP_ACCESS_LISTS_PREFIX) {
        return Some(ConfigKey::AccessList(false, name));
    }
    if let Some(name) = named(IPV6_ACCESS_LISTS_PREFIX) {
        return Some(ConfigKey::AccessList(true, name));
    }
    if let Some(name) = named(FLOW_EXPORTERS_PREFIX) {
        return Some(ConfigKey::FlowExporter(name));
    }
    if let Some(name) = named(FLOW_MONITORS_PREFIX) {
        return Some(ConfigKey::FlowMonitor(name));
    }
    if let Some(name) = named(IP_POOLS_PREFIX) {
        return Some(ConfigKey::IpPool(name));
    }
    key.strip_prefix(PROFILES_PREFIX).filter(|name| !name.is_empty()).map(ConfigKey::PortProfile)
}

/// Reads a decimal counter value; an absent key reads as `default`.
pub fn parse_counter(value: Option<&[u8]>, default: u64) -> Result<u64, String> {
    match value {
        None => Ok(default),
        Some(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .ok_or_else(|| format!("counter value {:?} is not a number", String::from_utf8_lossy(bytes))),
    }
}

/// The store key of supervisor `id`'s record.
pub fn supervisor_key(id: &str) -> String {
    format!("{SUPERVISORS_PREFIX}{id}")
}

/// The leased key saying supervisor `id` is up.
pub fn live_supervisor_key(id: &str) -> String {
    format!("{LIVE_SUPERVISORS_PREFIX}{id}")
}

/// The leased key saying module `module` is online (zero-padded: key order is number order).
pub fn live_module_key(module: u32) -> String {
    format!("{LIVE_MODULES_PREFIX}{module:010}")
}

/// The module a [`live_module_key`] names.
pub fn parse_live_module_key(key: &str) -> Option<u32> {
    key.strip_prefix(LIVE_MODULES_PREFIX)?.parse().ok()
}

/// The leased key holding `module`'s latest port report.
pub fn live_report_key(module: u32) -> String {
    format!("{LIVE_REPORTS_PREFIX}{module:010}")
}

/// The module a [`live_report_key`] names.
pub fn parse_live_report_key(key: &str) -> Option<u32> {
    key.strip_prefix(LIVE_REPORTS_PREFIX)?.parse().ok()
}

/// The key holding the liveness last logged for `module`.
pub fn module_presence_key(module: u32) -> String {
    format!("{MODULE_PRESENCE_PREFIX}{module}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        assert_eq!(vlan_key(100), "/switchyard/config/vlans/0100");
        assert_eq!(parse_config_key(&vlan_key(4094)), Some(ConfigKey::Vlan(4094)));
        assert_eq!(parse_config_key(&profile_key("web")), Some(ConfigKey::PortProfile("web")));
        assert_eq!(
            parse_config_key("/switchyard/config/ipv6-access-lists/WEB6"),
            Some(ConfigKey::AccessList(true, "WEB6"))
        );
        assert_eq!(parse_config_key(DHCP_SNOOPING_KEY), Some(ConfigKey::DhcpSnooping));
        assert_eq!(parse_config_key(&bridge_domain_key("red")), Some(ConfigKey::BridgeDomain("red")));
        assert_eq!(parse_config_key(BRIDGE_DOMAINS_PREFIX), None);
        assert_eq!(parse_config_key("/switchyard/config/acls/x"), None);
        assert_eq!(parse_config_key(PROFILES_PREFIX), None);
        assert!(event_key(9) < event_key(10));
        assert_eq!(port_key("9f1c"), "/switchyard/ports/9f1c");
        assert!(audit_key(99) < audit_key(100));
        assert_eq!(parse_audit_key(&audit_key(42)), Some(42));
        assert!(!audit_key(0).starts_with(EVENTS_PREFIX));
    }

    #[test]
    fn counters() {
        assert_eq!(parse_counter(None, 3), Ok(3));
        assert_eq!(parse_counter(Some(b"17"), 3), Ok(17));
        assert!(parse_counter(Some(b"x"), 3).is_err());
    }
}
