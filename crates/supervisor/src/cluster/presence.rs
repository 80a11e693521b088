//! Which modules are online, as every supervisor sharing the store sees it.
//!
//! A module is online while its key under `live/modules/` exists. The supervisor serving the
//! module's agent writes it on the agent's registration (or first heartbeat after a move),
//! attached to its own lease, and deletes it when the agent falls silent for the heartbeat
//! timeout — only if the key is still the one it wrote. Every supervisor mirrors the keys
//! ([`Presence::reload`], [`Presence::apply`]): that mirror answers `is_online`.
//!
//! Heartbeats never wait for the journal: a heartbeat from a module this supervisor already
//! marked live is a clock update in memory ([`Liveness`]).
//!
//! The events: `MOD_ONLINE` and `MOD_OFFLINE` are logged when the module's presence key (what was
//! last logged) disagrees with its live key, in one transaction comparing both
//! ([`Presence::settle`]) — whichever supervisor sees the change first logs it, once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use store::{Compare, Event as StoreEvent, KeyValue, Op, RangeResponse, Revision, Store, StoreError};

use super::lease::SupervisorLease;
use crate::clock::unix_ms_now;
use crate::events::Event;
use crate::journal::{Journal, MAX_ATTEMPTS, Write};
use crate::layout::{live_module_key, module_presence_key, parse_live_module_key};
use crate::liveness::Liveness;

const ONLINE: &[u8] = b"online";
/// The least time between two writes of one module's live key by this supervisor: an agent
/// heartbeating to two supervisors at once (broken, or hostile) makes them take the key from each
/// other, and each take is a store write; this bounds that to one per module per gap.
pub const MARK_GAP: std::time::Duration = std::time::Duration::from_secs(1);
const OFFLINE: &[u8] = b"offline";

/// What a live module key holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveModule {
    pub module: u32,
    pub host_id: String,
    /// The id of the supervisor serving its agent.
    pub supervisor: String,
    /// When that supervisor took it (Unix ms).
    pub since_unix_ms: u64,
}

/// A live key as mirrored: its value and the revision that wrote it.
#[derive(Debug, Clone)]
struct Mirrored {
    live: LiveModule,
    mod_revision: Revision,
}

/// The online modules.
#[derive(Debug)]
pub struct Presence {
    store: Arc<dyn Store>,
    lease: Arc<SupervisorLease>,
    /// This supervisor's id.
    me: String,
    mirror: RwLock<BTreeMap<u32, Mirrored>>,
    /// Heartbeat times of the modules this supervisor serves.
    served: Mutex<Liveness>,
    /// module → host id of the modules this supervisor serves, with the lease their key is on.
    serving: Mutex<BTreeMap<u32, (String, store::LeaseId)>>,
    /// When this supervisor last wrote each module's live key (see [`MARK_GAP`]).
    marked: Mutex<BTreeMap<u32, Instant>>,
}

impl Presence {
    /// The online modules as of `range` (a read of `live/modules/`).
    pub fn new(
        store: Arc<dyn Store>,
        lease: Arc<SupervisorLease>,
        me: &str,
        liveness: Liveness,
        range: &RangeResponse,
    ) -> Self {
        let presence = Self {
            store,
            lease,
            me: me.to_owned(),
            mirror: RwLock::new(BTreeMap::new()),
            served: Mutex::new(liveness),
            serving: Mutex::new(BTreeMap::new()),
            marked: Mutex::new(BTreeMap::new()),
        };
        presence.replace(&range.kvs);
        presence
    }

    /// Whether this supervisor serves `module`'s agent.
    pub fn serves(&self, module: u32) -> bool {
        self.serving().contains_key(&module)
    }

    /// Whether `module` is online (on any supervisor).
    pub fn is_online(&self, module: u32) -> bool {
        self.mirror().contains_key(&module)
    }

    /// The online modules with the supervisor serving each.
    pub fn online(&self) -> BTreeMap<u32, String> {
        self.mirror().iter().map(|(&module, mirrored)| (module, mirrored.live.supervisor.clone())).collect()
    }

    /// A sign of life from `module` (registered to `host_id`) on this supervisor. Marks it live
    /// here when it is not already (a registration, a module moving over from another
    /// supervisor, a lease replaced); `true` when it wrote.
    pub async fn heartbeat(&self, module: u32, host_id: &str, now: Instant) -> Result<bool, StoreError> {
        self.served().heartbeat(module, now);
        let lease = self.lease.id();
        let holder = self.mirror().get(&module).map(|mirrored| mirrored.live.supervisor == self.me);
        let ours = holder == Some(true);
        let theirs = holder == Some(false);
        let same_lease = self.serving().get(&module).is_some_and(|(_, held)| *held == lease);
        if ours && same_lease {
            return Ok(false);
        }
        {
            // Taking a key another supervisor holds is what two supervisors could do to each
            // other on every heartbeat; bringing back a module that is offline never waits.
            let mut marked = self.marked.lock().unwrap_or_else(PoisonError::into_inner);
            if theirs && marked.get(&module).is_some_and(|at| now.saturating_duration_since(*at) < MARK_GAP) {
                return Ok(false);
            }
            marked.insert(module, now);
        }
        self.mark_live(module, host_id, lease).await?;
        Ok(true)
    }

    async fn mark_live(&self, module: u32, host_id: &str, lease: store::LeaseId) -> Result<(), StoreError> {
        let live = LiveModule {
            module,
            host_id: host_id.to_owned(),
            supervisor: self.me.clone(),
            since_unix_ms: unix_ms_now(),
        };
        let value = serde_json::to_vec(&live).map_err(|e| StoreError::Io(e.to_string()))?;
        let key = live_module_key(module);
        let txn = store::Txn {
            compare: Vec::new(),
            success: vec![Op::PutLeased { key, value, lease }],
            failure: Vec::new(),
        };
        let response = self.store.txn(txn).await?;
        self.serving().insert(module, (host_id.to_owned(), lease));
        self.mirror_put(Mirrored { live, mod_revision: response.revision });
        Ok(())
    }

    /// Re-attaches every served module's key to the current lease (after a new one was granted);
    /// returns the modules, for [`Presence::settle`] (their keys may have expired meanwhile).
    pub async fn reattach(&self) -> Vec<u32> {
        let lease = self.lease.id();
        let serving: Vec<(u32, String)> =
            self.serving().iter().map(|(&module, (host_id, _))| (module, host_id.clone())).collect();
        let mut marked = Vec::with_capacity(serving.len());
        for (module, host_id) in serving {
            match self.mark_live(module, &host_id, lease).await {
                Ok(()) => marked.push(module),
                Err(error) => tracing::warn!(%error, module, "cannot mark the module live on the new lease"),
            }
        }
        marked
    }

    /// Takes offline the served modules silent past the timeout: deletes their live keys where
    /// they are still this supervisor's. Returns the modules whose keys it deleted.
    pub async fn expire(&self, now: Instant) -> Vec<u32> {
        let silent = self.served().expire(now);
        let mut gone = Vec::new();
        for module in silent {
            self.serving().remove(&module);
            match self.withdraw(module, true).await {
                Ok(true) => gone.push(module),
                Ok(false) => tracing::debug!(module, "the module moved to another supervisor"),
                Err(error) => tracing::warn!(%error, module, "cannot take the silent module offline"),
            }
        }
        gone
    }

    /// Deletes `module`'s live key: only if this supervisor wrote it (`only_ours`), or whoever did
    /// (an operator revoked or removed the module). `true` when a key was deleted.
    pub async fn withdraw(&self, module: u32, only_ours: bool) -> Result<bool, StoreError> {
        self.served().forget(module);
        self.serving().remove(&module);
        let key = live_module_key(module);
        let Some(kv) = self.store.get(&key).await? else {
            self.mirror_remove(module);
            return Ok(false);
        };
        if only_ours && decode(&kv).is_none_or(|live| live.supervisor != self.me) {
            return Ok(false);
        }
        let txn = store::Txn {
            compare: vec![Compare::ModRevision(key.clone(), kv.mod_revision)],
            success: vec![Op::Delete { key }],
            failure: Vec::new(),
        };
        let deleted = self.store.txn(txn).await?.succeeded;
        if deleted {
            self.mirror_remove(module);
        }
        Ok(deleted)
    }

    /// Logs `module`'s liveness change if nobody has: `detected` adds `VEM_MGR_DETECTED` before
    /// `MOD_ONLINE` (a registration). Returns whether this call logged.
    pub async fn settle(
        &self,
        journal: &Journal,
        module: u32,
        host_name: Option<&str>,
    ) -> Result<bool, StoreError> {
        let live_key = live_module_key(module);
        let presence_key = module_presence_key(module);
        let mut writer = journal.writer().await;
        for _ in 0..MAX_ATTEMPTS {
            let live = self.store.get(&live_key).await?;
            let logged = self.store.get(&presence_key).await?;
            let logged_online = logged.as_ref().is_some_and(|kv| kv.value == ONLINE);
            if live.is_some() == logged_online {
                return Ok(false);
            }
            let mut write = Write {
                compare: vec![
                    Compare::ModRevision(live_key.clone(), live.as_ref().map_or(0, |kv| kv.mod_revision)),
                    Compare::ModRevision(
                        presence_key.clone(),
                        logged.as_ref().map_or(0, |kv| kv.mod_revision),
                    ),
                ],
                ..Write::default()
            };
            if live.is_some() {
                if let Some(host_name) = host_name {
                    write.events.push(Event::module_detected(host_name, module));
                }
                write.events.push(Event::module_online(module));
                write.ops.push(Op::Put { key: presence_key.clone(), value: ONLINE.to_vec() });
            } else {
                write.events.push(Event::module_offline(module));
                write.ops.push(Op::Put { key: presence_key.clone(), value: OFFLINE.to_vec() });
            }
            if writer.try_commit(write).await?.is_some() {
                return Ok(true);
            }
        }
        tracing::warn!(module, "cannot log the module's liveness: contended");
        Ok(false)
    }

    /// A removed module: this supervisor stops serving it (its keys go with the removal's
    /// transaction, [`Presence::forget_ops`]).
    pub fn forget_local(&self, module: u32) {
        self.served().forget(module);
        self.serving().remove(&module);
        self.mirror_remove(module);
    }

    /// Forgets a removed module's presence record (with its removal).
    pub fn forget_ops(module: u32) -> Vec<Op> {
        vec![Op::Delete { key: live_module_key(module) }, Op::Delete { key: module_presence_key(module) }]
    }

    /// The mirror read whole; returns the modules whose liveness changed.
    pub fn reload(&self, range: &RangeResponse) -> Vec<u32> {
        let before: Vec<u32> = self.mirror().keys().copied().collect();
        self.replace(&range.kvs);
        let after = self.mirror();
        let mut changed: Vec<u32> =
            before.iter().filter(|module| !after.contains_key(module)).copied().collect();
        changed.extend(after.keys().filter(|module| !before.contains(module)));
        changed.sort_unstable();
        changed
    }

    /// One revision's changes to the live keys; returns the modules whose liveness changed.
    pub fn apply(&self, events: &[StoreEvent]) -> Vec<u32> {
        let mut changed = Vec::new();
        for event in events {
            match event {
                StoreEvent::Put { kv } => {
                    let Some(live) = decode(kv) else { continue };
                    let module = live.module;
                    // Another supervisor took a module this one served: stop answering for it.
                    if live.supervisor != self.me && self.serving().remove(&module).is_some() {
                        self.served().forget(module);
                    }
                    if self.mirror_put(Mirrored { live, mod_revision: kv.mod_revision }) {
                        changed.push(module);
                    }
                }
                StoreEvent::Delete { prev, .. } => {
                    if let Some(module) = parse_live_module_key(&prev.key)
                        && self.mirror_remove(module)
                    {
                        changed.push(module);
                    }
                }
            }
        }
        changed
    }

    fn replace(&self, kvs: &[KeyValue]) {
        let entries = kvs.iter().filter_map(|kv| {
            decode(kv).map(|live| (live.module, Mirrored { live, mod_revision: kv.mod_revision }))
        });
        *self.mirror.write().unwrap_or_else(PoisonError::into_inner) = entries.collect();
    }

    /// `true` when the module was not online before.
    fn mirror_put(&self, mirrored: Mirrored) -> bool {
        let mut mirror = self.mirror.write().unwrap_or_else(PoisonError::into_inner);
        match mirror.get(&mirrored.live.module) {
            Some(known) if known.mod_revision > mirrored.mod_revision => false,
            known => {
                let was_offline = known.is_none();
                mirror.insert(mirrored.live.module, mirrored);
                was_offline
            }
        }
    }

    /// `true` when the module was online.
    fn mirror_remove(&self, module: u32) -> bool {
        self.mirror.write().unwrap_or_else(PoisonError::into_inner).remove(&module).is_some()
    }

    fn mirror(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u32, Mirrored>> {
        self.mirror.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn served(&self) -> std::sync::MutexGuard<'_, Liveness> {
        self.served.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn serving(&self) -> std::sync::MutexGuard<'_, BTreeMap<u32, (String, store::LeaseId)>> {
        self.serving.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn decode(kv: &KeyValue) -> Option<LiveModule> {
    match serde_json::from_slice(&kv.value) {
        Ok(live) => Some(live),
        Err(error) => {
            tracing::warn!(key = %kv.key, %error, "skipping an unreadable live module key");
            None
        }
    }
}
