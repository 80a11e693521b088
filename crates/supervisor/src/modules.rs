//! Modules: hosts as the supervisor sees them. Registration hands out numbers 3, 4, … in join
//! order and gives a host its number back whenever it returns; heartbeats keep it online.
//!
//! Numbers are persisted (module records and the next-number counter live in the store, see
//! [`crate::layout`]), so they survive restarts of either side. Online/offline is
//! [`Presence`]: leased keys that every supervisor sharing the store mirrors.
//!
//! A record also holds what the host brings to the switch beyond its vEthernets: its VXLAN
//! tunnel endpoint (VTEP) and its uplinks (`EthernetM/K`, each on a `type ethernet` profile).
//! Both come with every registration, so an agent restarted with other flags updates them.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{PoisonError, RwLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use store::{Compare, Op, Revision, StoreError};
use utoipa::ToSchema;

use crate::agent_input::{self, InputError};
use crate::cluster::presence::Presence;
use crate::events::Event;
use crate::journal::{Journal, MAX_ATTEMPTS, Write};
use crate::layout::{MODULES_PREFIX, NEXT_MODULE_KEY, module_key, parse_counter};

/// Supervisors are modules 1 and 2; agents start here.
pub const FIRST_AGENT_MODULE: u32 = 3;
/// Uplinks are LTLs 17–48: at most 32 per host.
pub const MAX_UPLINKS: u32 = 32;

/// What the store keeps per host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModuleRecord {
    pub module: u32,
    pub host_name: String,
    /// Stable identity of the host: the same id always gets the same module number.
    pub host_id: String,
    /// The agent's software version.
    pub version: String,
    pub addresses: Vec<String>,
    /// Free text, e.g. `Linux 6.1 x86_64`.
    pub hardware: String,
    /// The host's VXLAN tunnel endpoint; absent when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "10.78.0.11")]
    pub vtep: Option<Ipv4Addr>,
    /// The host's uplinks, by index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uplinks: Vec<UplinkRecord>,
}

/// One uplink of a host: `EthernetM/K` where M is the module and K the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UplinkRecord {
    /// K of `EthernetM/K`: the 1-based position of the agent's `--uplink` flag (LTL 16 + K).
    pub index: u32,
    /// The host NIC (`eth1`).
    pub name: String,
    /// Its `type ethernet` port-profile (which may not exist yet).
    pub profile: String,
}

impl UplinkRecord {
    /// `Ethernet3/1` for uplink 1 of module 3.
    pub fn interface_name(module: u32, index: u32) -> String {
        format!("Ethernet{module}/{index}")
    }
}

/// A module's state as `show module` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModuleStatus {
    /// Heartbeating.
    Ok,
    /// Silent past the heartbeat timeout, or not heard from since the supervisor started.
    Offline,
}

/// A module record with its current status (`GET /api/v1/modules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModuleView {
    #[serde(flatten)]
    pub record: ModuleRecord,
    pub status: ModuleStatus,
}

/// An agent's request to join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub host_name: String,
    pub host_id: String,
    pub version: String,
    pub addresses: Vec<String>,
    pub hardware: String,
    /// The VTEP as the agent wrote it: IPv4 text, empty for none.
    pub vtep: String,
    pub uplinks: Vec<UplinkRecord>,
}

/// Why a registration or heartbeat was refused.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error(transparent)]
    Invalid(#[from] InputError),
    /// Another host holds the name: two modules named alike would make every view ambiguous.
    #[error(
        "host name {host_name} is module {module}'s (another host id); remove that module first \
         (no module {module}) or give this host another name"
    )]
    DuplicateHostName { host_name: String, module: u32 },
    #[error(
        "the domain holds {max} modules, the most it takes; an operator removes modules that are \
         gone (no module N)"
    )]
    Full { max: usize },
    #[error("module {module} is not registered; register first")]
    Unknown { module: u32 },
    #[error("module {module} belongs to another host; register again")]
    WrongHost { module: u32 },
    #[error("module records changed concurrently {MAX_ATTEMPTS} times; try again")]
    Contended,
    #[error("stored module record {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Registration {
    /// Refuses what cannot be a key, shown to an operator, or reached (see
    /// [`agent_input::check_registration`]).
    pub fn validate(&self) -> Result<(), ModuleError> {
        Ok(agent_input::check_registration(self)?)
    }

    /// The record of this registration as module `module`. Call after [`Self::validate`]:
    /// addresses are kept in their canonical form.
    fn record(&self, module: u32) -> ModuleRecord {
        let mut uplinks = self.uplinks.clone();
        uplinks.sort_by_key(|uplink| uplink.index);
        let canonical = |address: &String| {
            address.parse::<IpAddr>().map_or_else(|_| address.clone(), |ip| ip.to_string())
        };
        ModuleRecord {
            module,
            host_name: self.host_name.clone(),
            host_id: self.host_id.clone(),
            version: self.version.clone(),
            addresses: self.addresses.iter().map(canonical).collect(),
            hardware: self.hardware.clone(),
            vtep: agent_input::vtep("vtep", &self.vtep).ok().flatten(),
            uplinks,
        }
    }
}

/// The module of another host (another host id) registered under `request`'s host name, which
/// host names being DNS names, is compared without regard to ASCII case. A removed module holds
/// no name. (Two supervisors sharing a store could each admit one of two hosts racing for a name;
/// both are then listed, and an operator removes one.)
fn name_holder<'a>(records: &'a [ModuleRecord], request: &Registration) -> Option<&'a ModuleRecord> {
    records.iter().find(|record| {
        record.host_id != request.host_id && record.host_name.eq_ignore_ascii_case(&request.host_name)
    })
}

fn decode(key: &str, value: &[u8]) -> Result<ModuleRecord, ModuleError> {
    serde_json::from_slice(value)
        .map_err(|e| ModuleError::Corrupt { key: key.to_owned(), reason: e.to_string() })
}

fn encode(record: &ModuleRecord) -> Result<Vec<u8>, ModuleError> {
    serde_json::to_vec(record).map_err(|e| ModuleError::Store(StoreError::Io(e.to_string())))
}

/// The module registry: numbers (persisted) and liveness (leased keys, mirrored).
#[derive(Debug)]
pub struct Modules {
    /// module number -> host id, for checking heartbeats without a store read.
    hosts: RwLock<HashMap<u32, String>>,
    presence: Presence,
    /// Most modules registered at once.
    max: usize,
}

impl Modules {
    /// Loads the known modules, online as `presence` says. At most `max` modules are
    /// registered at once.
    pub async fn load(journal: &Journal, presence: Presence, max: usize) -> Result<Self, ModuleError> {
        let records = Self::records(journal).await?;
        let hosts = records.into_iter().map(|record| (record.module, record.host_id)).collect();
        Ok(Self { hosts: RwLock::new(hosts), presence, max })
    }

    /// Which modules are online.
    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    /// A module record as another supervisor wrote it: its number answers for its host id.
    pub fn learn(&self, record: &ModuleRecord) {
        self.hosts
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(record.module, record.host_id.clone());
    }

    /// The known modules not in `present` (removed while this supervisor was not watching).
    pub fn known_except(&self, present: impl IntoIterator<Item = u32>) -> Vec<u32> {
        let present: std::collections::HashSet<u32> = present.into_iter().collect();
        let hosts = self.hosts.read().unwrap_or_else(PoisonError::into_inner);
        hosts.keys().filter(|module| !present.contains(module)).copied().collect()
    }

    /// The module number of `host_id`, if this supervisor knows it.
    pub fn module_of(&self, host_id: &str) -> Option<u32> {
        let hosts = self.hosts.read().unwrap_or_else(PoisonError::into_inner);
        hosts.iter().find(|(_, owner)| owner.as_str() == host_id).map(|(&module, _)| module)
    }

    /// Every module record, by number.
    pub async fn records(journal: &Journal) -> Result<Vec<ModuleRecord>, ModuleError> {
        let range = journal.store().range(MODULES_PREFIX).await?;
        let mut records =
            range.kvs.iter().map(|kv| decode(&kv.key, &kv.value)).collect::<Result<Vec<_>, _>>()?;
        records.sort_by_key(|record| record.module);
        Ok(records)
    }

    /// Every module with its status, by number.
    pub async fn list(&self, journal: &Journal) -> Result<Vec<ModuleView>, ModuleError> {
        let records = Self::records(journal).await?;
        Ok(records
            .into_iter()
            .map(|record| {
                let status =
                    if self.is_online(record.module) { ModuleStatus::Ok } else { ModuleStatus::Offline };
                ModuleView { record, status }
            })
            .collect())
    }

    /// Joins a host: its old number if it has one, else the next free one, and marks it online
    /// on this supervisor. Logs `VEM_MGR_DETECTED` and `MOD_ONLINE` unless the module was
    /// already online (here or on another supervisor: an agent moving over).
    pub async fn register(
        &self,
        journal: &Journal,
        request: &Registration,
        now: Instant,
    ) -> Result<ModuleRecord, ModuleError> {
        request.validate()?;
        let key = module_key(&request.host_id);
        let mut writer = journal.writer().await;
        for _ in 0..MAX_ATTEMPTS {
            let store = writer.store().clone();
            let records = Self::records(journal).await?;
            let known = records.iter().any(|record| record.host_id == request.host_id);
            if !known && records.len() >= self.max {
                return Err(ModuleError::Full { max: self.max });
            }
            if let Some(holder) = name_holder(&records, request) {
                drop(writer);
                let event = Event::duplicate_host_name(&request.host_name, &request.host_id, holder.module);
                journal.log(vec![event]).await;
                return Err(ModuleError::DuplicateHostName {
                    host_name: request.host_name.clone(),
                    module: holder.module,
                });
            }
            let mut write = Write::default();
            let record = match store.get(&key).await? {
                Some(kv) => {
                    let old = decode(&kv.key, &kv.value)?;
                    let record = request.record(old.module);
                    write.compare.push(Compare::ModRevision(key.clone(), kv.mod_revision));
                    if record != old {
                        write.ops.push(Op::Put { key: key.clone(), value: encode(&record)? });
                    }
                    record
                }
                None => {
                    let counter = store.get(NEXT_MODULE_KEY).await?;
                    let number = parse_counter(counter.as_ref().map(|kv| kv.value.as_slice()), 3)
                        .map_err(|reason| ModuleError::Corrupt { key: NEXT_MODULE_KEY.into(), reason })?;
                    let number = u32::try_from(number).unwrap_or(u32::MAX).max(FIRST_AGENT_MODULE);
                    let record = request.record(number);
                    write.compare.push(Compare::CreateRevision(key.clone(), 0));
                    write.compare.push(Compare::ModRevision(
                        NEXT_MODULE_KEY.into(),
                        counter.map_or(0, |kv| kv.mod_revision),
                    ));
                    write.ops.push(Op::Put { key: key.clone(), value: encode(&record)? });
                    write.ops.push(Op::Put {
                        key: NEXT_MODULE_KEY.into(),
                        value: (u64::from(number) + 1).to_string().into_bytes(),
                    });
                    record
                }
            };
            if writer.try_commit(write).await?.is_some() {
                drop(writer);
                self.learn(&record);
                self.presence.heartbeat(record.module, &record.host_id, now).await?;
                self.presence.settle(journal, record.module, Some(&record.host_name)).await?;
                return Ok(record);
            }
        }
        Err(ModuleError::Contended)
    }

    /// A heartbeat from `module`, which must belong to `host_id`. Brings the module online on
    /// this supervisor (logging `MOD_ONLINE` if it was offline) if it was not; returns whether it
    /// did. A heartbeat of a module already online here touches no store.
    pub async fn heartbeat(
        &self,
        journal: &Journal,
        module: u32,
        host_id: &str,
        now: Instant,
    ) -> Result<bool, ModuleError> {
        self.check_owner(journal, module, host_id).await?;
        let came_online = self.presence.heartbeat(module, host_id, now).await?;
        if came_online {
            self.presence.settle(journal, module, None).await?;
        }
        Ok(came_online)
    }

    /// The record of module `module` and its store revision, if it is registered.
    pub async fn find(
        journal: &Journal,
        module: u32,
    ) -> Result<Option<(ModuleRecord, Revision)>, ModuleError> {
        let range = journal.store().range(MODULES_PREFIX).await?;
        for kv in &range.kvs {
            let record = decode(&kv.key, &kv.value)?;
            if record.module == module {
                return Ok(Some((record, kv.mod_revision)));
            }
        }
        Ok(None)
    }

    /// A removed module is forgotten: its number no longer answers for its host id (the host's
    /// next request is told to register, and it gets a new number), and it is not online.
    pub fn forget(&self, module: u32) {
        self.hosts.write().unwrap_or_else(PoisonError::into_inner).remove(&module);
        self.presence.forget_local(module);
    }

    /// Takes offline the modules this supervisor serves that fell silent, logging `MOD_OFFLINE`
    /// for each; returns them, each with whether this supervisor logged it (else another did).
    pub async fn expire(&self, journal: &Journal, now: Instant) -> Vec<(u32, bool)> {
        let mut expired = Vec::new();
        for module in self.presence.expire(now).await {
            let logged = self.presence.settle(journal, module, None).await.unwrap_or_else(|error| {
                tracing::warn!(%error, module, "cannot log the module going offline");
                false
            });
            expired.push((module, logged));
        }
        expired
    }

    /// Takes a module offline at once, wherever it is served (an operator revoked it), logging
    /// `MOD_OFFLINE` if it was online; `true` when this supervisor logged it.
    pub async fn take_offline(&self, journal: &Journal, module: u32) -> bool {
        match self.presence.withdraw(module, false).await {
            Ok(_) => self.presence.settle(journal, module, None).await.unwrap_or_else(|error| {
                tracing::warn!(%error, module, "cannot log the module going offline");
                false
            }),
            Err(error) => {
                tracing::warn!(%error, module, "cannot take the module offline");
                false
            }
        }
    }

    /// Whether the module is heartbeating (to this supervisor or another).
    pub fn is_online(&self, module: u32) -> bool {
        self.presence.is_online(module)
    }

    /// Checks that `module` is registered to `host_id`: from memory, or from the store when
    /// another supervisor registered it.
    pub async fn check_owner(
        &self,
        journal: &Journal,
        module: u32,
        host_id: &str,
    ) -> Result<(), ModuleError> {
        let known = self.hosts.read().unwrap_or_else(PoisonError::into_inner).get(&module).cloned();
        match known {
            Some(owner) if owner == host_id => Ok(()),
            Some(_) => Err(ModuleError::WrongHost { module }),
            None => {
                if host_id.is_empty() || host_id.contains('/') {
                    return Err(ModuleError::Unknown { module });
                }
                let key = module_key(host_id);
                match journal.store().get(&key).await? {
                    Some(kv) if decode(&key, &kv.value)?.module == module => {
                        self.hosts
                            .write()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(module, host_id.to_owned());
                        Ok(())
                    }
                    _ => Err(ModuleError::Unknown { module }),
                }
            }
        }
    }
}
