//! The config in the store: reading it, mirroring it from a watch, and changing it atomically.
//!
//! Every change — config text, a REST `PUT`/`DELETE` — is planned on a fresh read and committed
//! as one transaction that writes only the objects that changed (one key each, see
//! [`crate::layout`]), bumps the config generation it read, and logs one event per change. A bad
//! line or an invalid result commits nothing and logs nothing.
//!
//! Deleting a port-profile that interfaces are assigned to (attached vEthernets, registered
//! uplinks) is refused, as NX-OS refuses it, and the error names them; `no port-profile NAME force` (REST: `DELETE …?force=true`) deletes it
//! anyway and its ports go down (`port-profile not found`). The check reads the bindings under
//! the `ports-generation` guard, so a port bound to the profile meanwhile fails the commit.

use std::collections::{BTreeMap, HashMap};

use config::{
    AccessList, BridgeDomain, Change, ChangeKind, Config, ConfigError, EffectivePolicy, FlowExporter,
    FlowMonitor, IpPool, Object, Password, PortProfile, Role, User, Vlan,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use store::{Compare, KeyValue, Op, Revision, StoreError};
use utoipa::ToSchema;

use crate::events::Event;
use crate::journal::{Journal, MAX_ATTEMPTS, Write};
use crate::layout::{
    CONFIG_GENERATION_KEY, CONFIG_PREFIX, ConfigKey, DHCP_SNOOPING_KEY, FLOW_EXPORTERS_PREFIX,
    FLOW_MONITORS_PREFIX, IP_ACCESS_LISTS_PREFIX, IPV6_ACCESS_LISTS_PREFIX, PORTS_GENERATION_KEY,
    bridge_domain_key, ip_pool_key, parse_config_key, parse_counter, profile_key, user_key, vlan_key,
};
use crate::modules::{Modules, UplinkRecord};
use crate::port_views::ports_per_profile;
use crate::ports::{PortError, Ports};
use crate::trust::password;

/// How one port-profile deletion was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Removal {
    /// The line and the column of the name, for config text.
    site: Option<(usize, usize)>,
    /// Delete it even while vEthernets are assigned to it.
    forced: bool,
}

/// A planned change: the next config, its events, and how each deleted profile was asked for.
struct Plan {
    next: Config,
    events: Vec<Event>,
    removals: BTreeMap<String, Removal>,
}

/// The facility of port-profile change events.
const PROFILE_FACILITY: &str = "PORT_PROFILE";
/// The facility of VLAN change events.
const VLAN_FACILITY: &str = "VLAN_MGR";
/// The facility of bridge-domain change events (the Nexus 1000V's segmentation manager).
const BRIDGE_DOMAIN_FACILITY: &str = "SEG_BD";
/// The facility of account change events (NX-OS's security daemon).
const ACCOUNT_FACILITY: &str = "SECURITYD";
/// The facility of access-list changes (NX-OS's ACL manager).
const ACL_FACILITY: &str = "ACLMGR";
/// The facility of flow exporter and monitor changes (NX-OS's NetFlow manager).
const FLOW_FACILITY: &str = "NFM";
/// The facility of the global `ip dhcp snooping` line.
const DHCP_SNOOP_FACILITY: &str = "DHCP_SNOOP";
/// The facility of `ip pool` changes (and of the allocator's events).
pub const IPAM_FACILITY: &str = "IPAM";
/// The account the supervisor creates on first start.
pub const FIRST_ADMIN: &str = "admin";

/// A committed config change (`POST /api/v1/config`, `PUT`/`DELETE` of a port-profile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ConfigChange {
    /// The store revision after the change (the current one when nothing changed).
    pub revision: Revision,
    /// One line per change, as logged: `port-profile web modified: switchport access vlan 101`.
    pub changes: Vec<String>,
}

/// Why a config change was not made. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum ConfigWriteError {
    /// The text did not parse, or the result did not validate.
    #[error("{message}")]
    Rejected { line: usize, column: usize, message: String, expected: Vec<String> },
    /// A request outside the language (a bad profile name in a URL) was refused.
    #[error("{0}")]
    Invalid(String),
    #[error("port-profile {0} does not exist")]
    NoSuchProfile(String),
    /// `no port-profile NAME` while vEthernets are assigned to it. `site` is the line and the
    /// column of the name in config text.
    #[error(
        "port-profile {name} has assigned interfaces: {}; detach them first, or delete it anyway \
         with 'no port-profile {name} force'",
        interfaces.join(", ")
    )]
    ProfileInUse { name: String, interfaces: Vec<String>, site: Option<(usize, usize)> },
    #[error("cannot read the port bindings: {0}")]
    Ports(#[from] PortError),
    #[error("the config changed concurrently {MAX_ATTEMPTS} times; try again")]
    Contended,
    /// A password could not be hashed (no randomness); nothing was stored.
    #[error("cannot hash the password: {0}")]
    Password(#[from] password::PasswordError),
    #[error("stored config object {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ConfigError> for ConfigWriteError {
    fn from(error: ConfigError) -> Self {
        Self::Rejected {
            line: error.line,
            column: error.column,
            message: error.message,
            expected: error.expected,
        }
    }
}

/// The config as stored, with the revision of the read.
pub async fn read(journal: &Journal) -> Result<(Config, Revision), ConfigWriteError> {
    let range = journal.store().range(CONFIG_PREFIX).await?;
    Ok((decode_strict(&range.kvs)?, range.revision))
}

/// One port-profile as stored, if it exists (one key read).
pub async fn read_profile(journal: &Journal, name: &str) -> Result<Option<PortProfile>, ConfigWriteError> {
    let key = profile_key(name);
    let Some(kv) = journal.store().get(&key).await? else { return Ok(None) };
    serde_json::from_slice(&kv.value)
        .map(Some)
        .map_err(|e| ConfigWriteError::Corrupt { key, reason: e.to_string() })
}

/// Applies NX-OS config text on top of the stored config. Clear-text passwords it sets are
/// hashed here, before anything is stored, printed or logged.
pub async fn apply_text(journal: &Journal, text: &str) -> Result<ConfigChange, ConfigWriteError> {
    update(journal, |config| {
        let mut applied = config::apply(config, text)?;
        hash_clear_passwords(&mut applied.config)?;
        let events = applied.changes.iter().map(change_event).collect();
        let removals = applied
            .profile_removals
            .iter()
            .map(|(name, removal)| {
                (name.clone(), Removal { site: Some((removal.line, removal.column)), forced: removal.forced })
            })
            .collect();
        Ok(Plan { next: applied.config, events, removals })
    })
    .await
}

/// Replaces every clear-text password with its argon2id hash (random salt). The text form of a
/// clear password is valid config, but only its hash may leave this function.
fn hash_clear_passwords(config: &mut Config) -> Result<(), ConfigWriteError> {
    for user in config.users.values_mut() {
        if let Password::Clear(clear) = &user.password {
            user.password = Password::Hashed(password::hash(clear)?);
        }
    }
    Ok(())
}

/// Creates `admin` (network-admin) with the password whose hash is given, if the config has no
/// account yet. Returns whether it did: another supervisor on the same store may have won.
pub async fn create_first_admin(journal: &Journal, hash: &str) -> Result<bool, ConfigWriteError> {
    let admin = User { password: Password::Hashed(hash.to_owned()), role: Role::NetworkAdmin };
    let change = update(journal, |config| {
        if !config.users.is_empty() {
            return Ok(Plan { next: config.clone(), events: Vec::new(), removals: BTreeMap::new() });
        }
        let mut next = config.clone();
        next.users.insert(FIRST_ADMIN.to_owned(), admin.clone());
        config::validate(&next)?;
        let line = config::redact_line(&config::username_line(FIRST_ADMIN, &admin));
        let created = Change {
            object: Object::User(FIRST_ADMIN.to_owned()),
            kind: ChangeKind::Created,
            lines: vec![line],
        };
        Ok(Plan { next, events: vec![change_event(&created)], removals: BTreeMap::new() })
    })
    .await?;
    Ok(!change.changes.is_empty())
}

/// `show running-config` for `caller`: whole for those who may change it (it parses back);
/// a read-only operator sees the accounts' password hashes as `*****` (a hash is an offline
/// guessing target, and reading the config is not the right to it).
pub fn running_config(config: &Config, caller: &crate::trust::Caller) -> String {
    let text = config::print_running_config(config);
    if caller.may_write() { text } else { config::redact(&text) }
}

/// One account as stored, if it exists (one key read: what each authenticated request costs).
pub async fn read_user(journal: &Journal, name: &str) -> Result<Option<User>, ConfigWriteError> {
    let key = user_key(name);
    let Some(kv) = journal.store().get(&key).await? else { return Ok(None) };
    serde_json::from_slice(&kv.value)
        .map(Some)
        .map_err(|e| ConfigWriteError::Corrupt { key, reason: e.to_string() })
}

/// Creates or replaces one port-profile.
pub async fn put_profile(
    journal: &Journal,
    name: &str,
    profile: PortProfile,
) -> Result<ConfigChange, ConfigWriteError> {
    update(journal, |config| {
        let mut next = config.clone();
        let old = next.port_profiles.insert(name.to_owned(), profile.clone());
        config::validate(&next)?;
        let events = profile_change(name, old.as_ref(), Some(&profile)).iter().map(change_event).collect();
        Ok(Plan { next, events, removals: BTreeMap::new() })
    })
    .await
}

/// Deletes one port-profile; refused while vEthernets are assigned to it unless `force`.
pub async fn delete_profile(
    journal: &Journal,
    name: &str,
    force: bool,
) -> Result<ConfigChange, ConfigWriteError> {
    update(journal, |config| {
        let mut next = config.clone();
        let old = next
            .port_profiles
            .remove(name)
            .ok_or_else(|| ConfigWriteError::NoSuchProfile(name.to_owned()))?;
        config::validate(&next)?;
        let events = profile_change(name, Some(&old), None).iter().map(change_event).collect();
        let removals = BTreeMap::from([(name.to_owned(), Removal { site: None, forced: force })]);
        Ok(Plan { next, events, removals })
    })
    .await
}

/// Reads the config, lets `change` compute the next one and its events, and commits the
/// difference in one transaction guarded by the config generation. Retries on a lost race.
async fn update(
    journal: &Journal,
    change: impl Fn(&Config) -> Result<Plan, ConfigWriteError>,
) -> Result<ConfigChange, ConfigWriteError> {
    let mut writer = journal.writer().await;
    for _ in 0..MAX_ATTEMPTS {
        let store = writer.store().clone();
        // The guard is read before the config: a write landing in between fails our compare.
        let generation = store.get(CONFIG_GENERATION_KEY).await?;
        let (current, read_revision) = read(journal).await?;
        let Plan { next, events, removals } = change(&current)?;
        let ops = diff_ops(&current, &next)?;
        if ops.is_empty() {
            return Ok(ConfigChange { revision: read_revision, changes: Vec::new() });
        }
        let mut compare = Vec::new();
        let deleted: Vec<&String> =
            current.port_profiles.keys().filter(|name| !next.port_profiles.contains_key(*name)).collect();
        if !deleted.is_empty() {
            // The guard first, as above: a bind landing after it fails our commit.
            let ports_generation = store.get(PORTS_GENERATION_KEY).await?;
            let assigned = assigned_interfaces(journal).await?;
            if let Some(refusal) = in_use(&deleted, &removals, &assigned) {
                return Err(refusal);
            }
            compare.push(Compare::ModRevision(
                PORTS_GENERATION_KEY.into(),
                ports_generation.map_or(0, |kv| kv.mod_revision),
            ));
        }
        let count = parse_counter(generation.as_ref().map(|kv| kv.value.as_slice()), 0)
            .map_err(|reason| ConfigWriteError::Corrupt { key: CONFIG_GENERATION_KEY.into(), reason })?;
        compare.push(Compare::ModRevision(
            CONFIG_GENERATION_KEY.into(),
            generation.map_or(0, |kv| kv.mod_revision),
        ));
        let mut write = Write { compare, ops, events };
        write
            .ops
            .push(Op::Put { key: CONFIG_GENERATION_KEY.into(), value: (count + 1).to_string().into_bytes() });
        let changes = write.events.iter().map(|event| event.text.clone()).collect();
        if let Some(revision) = writer.try_commit(write).await? {
            return Ok(ConfigChange { revision, changes });
        }
    }
    Err(ConfigWriteError::Contended)
}

/// The interfaces assigned to each profile, as `show port-profile` lists them: attached
/// vEthernets (`Vethernet1`), then the uplinks modules registered on it (`Ethernet3/1`).
async fn assigned_interfaces(journal: &Journal) -> Result<BTreeMap<String, Vec<String>>, ConfigWriteError> {
    let mut assigned: BTreeMap<String, Vec<String>> = ports_per_profile(&Ports::records(journal).await?)
        .into_iter()
        .map(|(profile, numbers)| (profile, numbers.iter().map(|n| format!("Vethernet{n}")).collect()))
        .collect();
    for module in Modules::records(journal).await.map_err(PortError::from)? {
        for uplink in &module.uplinks {
            let name = UplinkRecord::interface_name(module.module, uplink.index);
            assigned.entry(uplink.profile.clone()).or_default().push(name);
        }
    }
    Ok(assigned)
}

/// The refusal of the first `deleted` profile that interfaces are assigned to (`assigned`: their
/// names by profile) and whose deletion was not forced. A profile deleted without a removal of
/// its own (never, today) counts as not forced.
fn in_use(
    deleted: &[&String],
    removals: &BTreeMap<String, Removal>,
    assigned: &BTreeMap<String, Vec<String>>,
) -> Option<ConfigWriteError> {
    deleted.iter().find_map(|&name| {
        let removal = removals.get(name).copied().unwrap_or(Removal { site: None, forced: false });
        let interfaces = assigned.get(name).filter(|names| !names.is_empty() && !removal.forced)?;
        Some(ConfigWriteError::ProfileInUse {
            name: name.clone(),
            interfaces: interfaces.clone(),
            site: removal.site,
        })
    })
}

/// The event logged for one change: `port-profile web modified: switchport access vlan 101`.
fn change_event(change: &Change) -> Event {
    let facility = match change.object {
        Object::Vlans(_) => VLAN_FACILITY,
        Object::BridgeDomain(_) => BRIDGE_DOMAIN_FACILITY,
        Object::PortProfile(_) => PROFILE_FACILITY,
        Object::User(_) => ACCOUNT_FACILITY,
        Object::AccessList(..) => ACL_FACILITY,
        Object::FlowExporter(_) | Object::FlowMonitor(_) => FLOW_FACILITY,
        Object::DhcpSnooping => DHCP_SNOOP_FACILITY,
        Object::IpPool(_) => IPAM_FACILITY,
    };
    let mut text = format!("{} {}", change.object, change.kind);
    if !change.lines.is_empty() {
        text.push_str(": ");
        text.push_str(&change.lines.join("; "));
    }
    Event::config_changed(facility, text)
}

/// The change made by replacing profile `old` with `new` as a whole (the REST path), described
/// in the language: the lines of a new profile, `no …` for each line dropped and each line added.
fn profile_change(name: &str, old: Option<&PortProfile>, new: Option<&PortProfile>) -> Option<Change> {
    let (kind, lines) = match (old, new) {
        (None, None) => return None,
        (None, Some(new)) => (ChangeKind::Created, config::profile_lines(new)),
        (Some(_), None) => (ChangeKind::Removed, Vec::new()),
        (Some(old), Some(new)) => {
            let before = config::profile_lines(old);
            let after = config::profile_lines(new);
            let removed = before.iter().filter(|line| !after.contains(line)).map(|line| format!("no {line}"));
            let added = after.iter().filter(|line| !before.contains(line)).cloned();
            (ChangeKind::Modified, removed.chain(added).collect())
        }
    };
    Some(Change { object: Object::PortProfile(name.to_owned()), kind, lines })
}

/// The store operations that turn `old` into `new`: a put per changed object, a delete per
/// removed one.
fn diff_ops(old: &Config, new: &Config) -> Result<Vec<Op>, ConfigWriteError> {
    let mut ops = Vec::new();
    diff_map(&old.vlans, &new.vlans, |id| vlan_key(*id), &mut ops)?;
    diff_map(&old.bridge_domains, &new.bridge_domains, |name| bridge_domain_key(name), &mut ops)?;
    diff_map(&old.port_profiles, &new.port_profiles, |name| profile_key(name), &mut ops)?;
    if new.users.values().any(|user| matches!(user.password, Password::Clear(_))) {
        // A bug upstream, never a user's mistake: refuse rather than store a password in clear.
        return Err(ConfigWriteError::Invalid("refusing to store a clear-text password".to_owned()));
    }
    diff_map(&old.users, &new.users, |name| user_key(name), &mut ops)?;
    diff_map(
        &old.ip_access_lists,
        &new.ip_access_lists,
        |name| format!("{IP_ACCESS_LISTS_PREFIX}{name}"),
        &mut ops,
    )?;
    diff_map(
        &old.ipv6_access_lists,
        &new.ipv6_access_lists,
        |name| format!("{IPV6_ACCESS_LISTS_PREFIX}{name}"),
        &mut ops,
    )?;
    diff_map(
        &old.flow_exporters,
        &new.flow_exporters,
        |name| format!("{FLOW_EXPORTERS_PREFIX}{name}"),
        &mut ops,
    )?;
    diff_map(
        &old.flow_monitors,
        &new.flow_monitors,
        |name| format!("{FLOW_MONITORS_PREFIX}{name}"),
        &mut ops,
    )?;
    diff_map(&old.ip_pools, &new.ip_pools, |name| ip_pool_key(name), &mut ops)?;
    match (old.dhcp_snooping, new.dhcp_snooping) {
        (false, true) => ops.push(Op::Put { key: DHCP_SNOOPING_KEY.to_owned(), value: b"true".to_vec() }),
        (true, false) => ops.push(Op::Delete { key: DHCP_SNOOPING_KEY.to_owned() }),
        _ => {}
    }
    Ok(ops)
}

fn diff_map<K: Ord, V: PartialEq + Serialize>(
    old: &BTreeMap<K, V>,
    new: &BTreeMap<K, V>,
    key: impl Fn(&K) -> String,
    ops: &mut Vec<Op>,
) -> Result<(), ConfigWriteError> {
    for (id, value) in new {
        if old.get(id) != Some(value) {
            let bytes = serde_json::to_vec(value)
                .map_err(|e| ConfigWriteError::Store(StoreError::Io(e.to_string())))?;
            ops.push(Op::Put { key: key(id), value: bytes });
        }
    }
    ops.extend(old.keys().filter(|id| !new.contains_key(id)).map(|id| Op::Delete { key: key(id) }));
    Ok(())
}

/// One decoded config object. Short-lived (decoded, then moved into a `Config`): boxing the
/// profile would cost an allocation per object for nothing.
#[allow(clippy::large_enum_variant)]
enum StoredObject {
    Vlan(u16, Vlan),
    BridgeDomain(String, BridgeDomain),
    Profile(String, PortProfile),
    User(String, User),
    AccessList(bool, String, AccessList),
    FlowExporter(String, FlowExporter),
    FlowMonitor(String, FlowMonitor),
    DhcpSnooping(bool),
    IpPool(String, IpPool),
}

impl StoredObject {
    /// Puts the object into `config`.
    fn insert_into(self, config: &mut Config) {
        match self {
            Self::Vlan(id, vlan) => {
                config.vlans.insert(id, vlan);
            }
            Self::BridgeDomain(name, domain) => {
                config.bridge_domains.insert(name, domain);
            }
            Self::Profile(name, profile) => {
                config.port_profiles.insert(name, profile);
            }
            Self::User(name, user) => {
                config.users.insert(name, user);
            }
            Self::AccessList(ipv6, name, list) => {
                let lists = if ipv6 { &mut config.ipv6_access_lists } else { &mut config.ip_access_lists };
                lists.insert(name, list);
            }
            Self::FlowExporter(name, exporter) => {
                config.flow_exporters.insert(name, exporter);
            }
            Self::FlowMonitor(name, monitor) => {
                config.flow_monitors.insert(name, monitor);
            }
            Self::DhcpSnooping(on) => config.dhcp_snooping = on,
            Self::IpPool(name, pool) => {
                config.ip_pools.insert(name, pool);
            }
        }
    }
}

/// Takes the object `key` names out of `config`.
fn remove_from(config: &mut Config, key: &ConfigKey<'_>) {
    match *key {
        ConfigKey::Vlan(id) => {
            config.vlans.remove(&id);
        }
        ConfigKey::BridgeDomain(name) => {
            config.bridge_domains.remove(name);
        }
        ConfigKey::PortProfile(name) => {
            config.port_profiles.remove(name);
        }
        ConfigKey::User(name) => {
            config.users.remove(name);
        }
        ConfigKey::AccessList(ipv6, name) => {
            let lists = if ipv6 { &mut config.ipv6_access_lists } else { &mut config.ip_access_lists };
            lists.remove(name);
        }
        ConfigKey::FlowExporter(name) => {
            config.flow_exporters.remove(name);
        }
        ConfigKey::FlowMonitor(name) => {
            config.flow_monitors.remove(name);
        }
        ConfigKey::DhcpSnooping => config.dhcp_snooping = false,
        ConfigKey::IpPool(name) => {
            config.ip_pools.remove(name);
        }
    }
}

fn decode_object(kv: &KeyValue) -> Result<Option<StoredObject>, String> {
    fn json<T: DeserializeOwned>(value: &[u8]) -> Result<T, String> {
        serde_json::from_slice(value).map_err(|e| e.to_string())
    }
    Ok(match parse_config_key(&kv.key) {
        Some(ConfigKey::Vlan(id)) => Some(StoredObject::Vlan(id, json(&kv.value)?)),
        Some(ConfigKey::BridgeDomain(name)) => {
            Some(StoredObject::BridgeDomain(name.to_owned(), json(&kv.value)?))
        }
        Some(ConfigKey::PortProfile(name)) => Some(StoredObject::Profile(name.to_owned(), json(&kv.value)?)),
        Some(ConfigKey::User(name)) => Some(StoredObject::User(name.to_owned(), json(&kv.value)?)),
        Some(ConfigKey::AccessList(ipv6, name)) => {
            Some(StoredObject::AccessList(ipv6, name.to_owned(), json(&kv.value)?))
        }
        Some(ConfigKey::FlowExporter(name)) => {
            Some(StoredObject::FlowExporter(name.to_owned(), json(&kv.value)?))
        }
        Some(ConfigKey::FlowMonitor(name)) => {
            Some(StoredObject::FlowMonitor(name.to_owned(), json(&kv.value)?))
        }
        Some(ConfigKey::DhcpSnooping) => Some(StoredObject::DhcpSnooping(json(&kv.value)?)),
        Some(ConfigKey::IpPool(name)) => Some(StoredObject::IpPool(name.to_owned(), json(&kv.value)?)),
        None => None,
    })
}

/// Decodes the config for a write: an unreadable object is an error (writing on top of it
/// could lose data).
fn decode_strict(kvs: &[KeyValue]) -> Result<Config, ConfigWriteError> {
    let mut config = Config::default();
    for kv in kvs {
        if let Some(object) =
            decode_object(kv).map_err(|reason| ConfigWriteError::Corrupt { key: kv.key.clone(), reason })?
        {
            object.insert_into(&mut config);
        }
    }
    Ok(config)
}

/// Evaluates every port-profile (inheritance resolved) into the policies agents receive.
pub fn evaluate(config: &Config) -> BTreeMap<String, EffectivePolicy> {
    config::evaluate_all(config)
}

/// A copy of the stored config kept current from a watch, with each profile's and each
/// bridge-domain's revision.
#[derive(Debug, Default)]
pub struct ConfigMirror {
    config: Config,
    profile_revisions: HashMap<String, Revision>,
    bridge_domain_revisions: HashMap<String, Revision>,
    /// The newest change (put or delete) of any object a policy embeds (access lists, flow
    /// monitors and exporters, DHCP snooping). Every chain's revision is at least this: a
    /// change to one of them may change any profile's policy, and an agent that reconnects
    /// must not take an old policy for the new one because their revisions are equal.
    policy_objects_revision: Revision,
}

impl ConfigMirror {
    /// Builds the mirror from a range read. Unreadable objects are skipped (and reported): the
    /// fan-out serves what it can.
    pub fn from_kvs(kvs: &[KeyValue]) -> Self {
        let mut mirror = Self::default();
        for kv in kvs {
            mirror.put(kv);
        }
        mirror
    }

    /// The mirrored config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Applies one batch of watch events; returns the newest revision among them, if any
    /// touched the config.
    pub fn apply(&mut self, events: &[store::Event]) -> Option<Revision> {
        let mut newest = None;
        for event in events {
            let revision = match event {
                store::Event::Put { kv } => {
                    self.put(kv);
                    kv.mod_revision
                }
                store::Event::Delete { prev, mod_revision } => {
                    if let Some(key) = parse_config_key(&prev.key) {
                        match key {
                            ConfigKey::BridgeDomain(name) => {
                                self.bridge_domain_revisions.remove(name);
                            }
                            ConfigKey::PortProfile(name) => {
                                self.profile_revisions.remove(name);
                            }
                            _ if key.is_policy_object() => {
                                self.policy_objects_revision =
                                    self.policy_objects_revision.max(*mod_revision);
                            }
                            _ => {}
                        }
                        remove_from(&mut self.config, &key);
                    }
                    *mod_revision
                }
            };
            newest = newest.max(Some(revision));
        }
        newest
    }

    /// The newest revision among a profile, the profiles it inherits from and the bridge-domain
    /// its chain names (whose segment id is part of the policy): the revision of its evaluated
    /// policy on a fresh start.
    pub fn chain_revision(&self, name: &str) -> Revision {
        let mut newest = self.policy_objects_revision;
        let mut seen = Vec::new();
        let mut next = Some(name);
        while let Some(current) = next.filter(|current| !seen.contains(current)) {
            seen.push(current);
            newest = newest.max(self.profile_revisions.get(current).copied().unwrap_or(0));
            let profile = self.config.port_profiles.get(current);
            if let Some(domain) = profile.and_then(|profile| profile.access_bridge_domain.as_deref()) {
                newest = newest.max(self.bridge_domain_revisions.get(domain).copied().unwrap_or(0));
            }
            next = profile.and_then(|profile| profile.inherit.as_deref());
        }
        newest
    }

    fn put(&mut self, kv: &KeyValue) {
        match decode_object(kv) {
            Ok(Some(object)) => {
                match &object {
                    StoredObject::BridgeDomain(name, _) => {
                        self.bridge_domain_revisions.insert(name.clone(), kv.mod_revision);
                    }
                    StoredObject::Profile(name, _) => {
                        self.profile_revisions.insert(name.clone(), kv.mod_revision);
                    }
                    StoredObject::AccessList(..)
                    | StoredObject::FlowExporter(..)
                    | StoredObject::FlowMonitor(..)
                    | StoredObject::DhcpSnooping(_) => {
                        self.policy_objects_revision = self.policy_objects_revision.max(kv.mod_revision);
                    }
                    StoredObject::Vlan(..) | StoredObject::User(..) | StoredObject::IpPool(..) => {}
                }
                object.insert_into(&mut self.config);
            }
            Ok(None) => {}
            Err(reason) => tracing::warn!(key = %kv.key, %reason, "skipping unreadable config object"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleting_a_profile_in_use_is_refused_unless_forced() {
        let web = "web".to_owned();
        let idle = "idle".to_owned();
        let assigned =
            BTreeMap::from([(web.clone(), vec!["Vethernet1".to_owned(), "Ethernet3/1".to_owned()])]);
        let plain = Removal { site: Some((2, 17)), forced: false };
        let refused = in_use(&[&idle, &web], &BTreeMap::from([(web.clone(), plain)]), &assigned);
        let Some(ConfigWriteError::ProfileInUse { name, interfaces, site }) = refused else {
            panic!("not refused: {refused:?}")
        };
        assert_eq!(
            (name.as_str(), interfaces, site),
            ("web", vec!["Vethernet1".into(), "Ethernet3/1".into()], Some((2, 17)))
        );
        let forced = Removal { forced: true, ..plain };
        assert!(in_use(&[&web], &BTreeMap::from([(web.clone(), forced)]), &assigned).is_none());
        assert!(in_use(&[&idle], &BTreeMap::new(), &assigned).is_none());
        assert!(in_use(&[&web], &BTreeMap::new(), &assigned).is_some(), "unforced by default");
    }
}
