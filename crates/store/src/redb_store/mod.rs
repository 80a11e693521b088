//! The embedded backend: one redb file, `store.redb`, in the supervisor's data directory.
//!
//! redb is synchronous, so every call runs on tokio's blocking pool. Writes are serialised by
//! one mutex that is held from `begin_write` until the commit has been published to watchers:
//! that makes revisions consecutive and the live feed arrive in revision order.
//!
//! Leases: their TTLs are in the file, their deadlines in memory ([`leases`]); a tokio task
//! started with the store (or, if it was opened outside a runtime, by its first call) expires
//! them every [`leases::REAP_INTERVAL`] and ends when the store is dropped.
//!
//! After a storage I/O error the file is closed and reopened before the next operation
//! ([`db`]); watch streams continue across the reopen, since they read through the store.

mod apply;
#[cfg(test)]
mod corruption_tests;
mod db;
mod errors;
mod lease_tables;
mod leases;
mod tables;
mod watch;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use redb::{Database, Durability, ReadableDatabase, WriteTransaction};
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

use crate::{
    KeyValue, LeaseId, Op, RangeResponse, Revision, Store, StoreError, StoreHealth, Txn, TxnResponse,
    WatchStream,
};
use apply::{Applied, WriteTables};
use db::{Access, Db};
use lease_tables::{KEY_LEASE, LEASE_KEYS, LEASES, LeaseLinks};
use leases::LeaseClock;
use tables::{Counters, HISTORY, KEYS, META};

/// The file the store keeps in its data directory.
pub const STORE_FILE: &str = "store.redb";

/// Tuning for [`RedbStore`]; the defaults suit a supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedbStoreOptions {
    /// How many of the newest revisions the history keeps for watchers to replay. A watch that
    /// starts (or falls) further back fails with [`StoreError::Compacted`]. At least 1.
    pub history_limit: u64,
    /// Revisions a watcher's channel buffers before the store stops pushing to it.
    pub watch_buffer: usize,
    /// Revisions the live feed buffers for its slowest watcher; one that falls further behind
    /// catches up from the history on disk instead of from memory.
    pub live_buffer: usize,
    /// Revisions read from the history per blocking call while a watcher replays.
    pub replay_batch: usize,
}

impl Default for RedbStoreOptions {
    fn default() -> Self {
        Self { history_limit: 10_000, watch_buffer: 256, live_buffer: 1024, replay_batch: 256 }
    }
}

/// The embedded store: etcd's data model on a redb file. Cheap to share as `Arc<dyn Store>`.
#[derive(Debug)]
pub struct RedbStore {
    inner: Arc<Inner>,
    /// The lease expiry task, once started; aborted when the store is dropped.
    reaper: OnceLock<AbortHandle>,
}

/// One committed revision as the live feed carries it: every event, unfiltered.
#[derive(Debug)]
pub(crate) struct Committed {
    pub revision: Revision,
    pub events: Vec<crate::Event>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    db: Db,
    options: RedbStoreOptions,
    /// The writer's view of the counters; holding the lock is the right to write.
    writer: Mutex<Counters>,
    /// The last committed revision, readable without waiting for a writer.
    revision: AtomicI64,
    live: broadcast::Sender<Arc<Committed>>,
    leases: LeaseClock,
}

impl RedbStore {
    /// Opens (or creates) `data_dir/store.redb`, creating `data_dir` if needed. Every lease in
    /// the file starts its full TTL again now.
    ///
    /// Blocks on file I/O: call it at startup, or from `spawn_blocking`. Inside a tokio runtime
    /// it starts the lease expiry task at once; outside one, on the store's first call.
    pub fn open(data_dir: &Path) -> Result<Arc<RedbStore>, StoreError> {
        Self::open_with(data_dir, RedbStoreOptions::default())
    }

    /// [`RedbStore::open`] with explicit tuning.
    pub fn open_with(data_dir: &Path, options: RedbStoreOptions) -> Result<Arc<RedbStore>, StoreError> {
        let path = data_dir.join(STORE_FILE);
        let open_error = |reason: String| StoreError::Open { path: path.display().to_string(), reason };
        // Only the supervisor's user may read the store: the config, the bindings, the
        // accounting log (and the accounts, once there are any).
        crate::private_fs::create_private_dir(data_dir).map_err(|e| open_error(e.to_string()))?;
        crate::private_fs::touch_private_file(&path).map_err(|e| open_error(e.to_string()))?;
        let db = Db::open(&path)?;
        let options = RedbStoreOptions {
            history_limit: options.history_limit.max(1),
            watch_buffer: options.watch_buffer.max(1),
            live_buffer: options.live_buffer.max(1),
            replay_batch: options.replay_batch.max(1),
        };
        let (counters, persisted_leases) = {
            let guard = db.get()?;
            let file = guard.as_ref().ok_or(StoreError::Closed)?;
            (prepare(file, history_limit(&options))?, read_persisted_leases(file)?)
        };
        let leases = LeaseClock::default();
        for (lease, ttl_seconds) in persisted_leases {
            leases.start(lease, ttl_seconds);
        }
        let (live, _) = broadcast::channel(options.live_buffer);
        let store = Arc::new(RedbStore {
            inner: Arc::new(Inner {
                db,
                options,
                writer: Mutex::new(counters),
                revision: AtomicI64::new(counters.revision),
                live,
                leases,
            }),
            reaper: OnceLock::new(),
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            store.ensure_reaper();
        }
        Ok(store)
    }

    /// The path of the store's file inside `data_dir`.
    pub fn file_path(data_dir: &Path) -> PathBuf {
        data_dir.join(STORE_FILE)
    }

    /// The oldest revision a watch can still start from.
    pub async fn oldest_revision(&self) -> Result<Revision, StoreError> {
        self.blocking(|inner| Ok(inner.read_counters()?.compacted + 1)).await
    }

    /// Starts the lease expiry task if it is not running. Called from async code only.
    fn ensure_reaper(&self) {
        self.reaper.get_or_init(|| tokio::spawn(leases::reap(Arc::downgrade(&self.inner))).abort_handle());
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        self.ensure_reaper();
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner)).await?
    }

    async fn write(&self, txn: Txn) -> Result<Written, StoreError> {
        self.blocking(move |inner| inner.write(&txn)).await
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        if let Some(reaper) = self.reaper.get() {
            reaper.abort();
        }
    }
}

/// Creates the tables of a new file, and trims history to the (possibly lowered) limit.
fn prepare(db: &Database, history_limit: Revision) -> Result<Counters, StoreError> {
    let txn = db.begin_write()?;
    let counters = {
        txn.open_table(KEYS)?;
        txn.open_table(LEASES)?;
        txn.open_table(KEY_LEASE)?;
        txn.open_table(LEASE_KEYS)?;
        let mut history = txn.open_table(HISTORY)?;
        let mut meta = txn.open_table(META)?;
        let mut counters = tables::read_counters(&meta)?;
        counters.compacted = tables::compact_history(&mut history, counters, history_limit)?;
        tables::write_counters(&mut meta, counters)?;
        counters
    };
    txn.commit()?;
    Ok(counters)
}

fn read_persisted_leases(db: &Database) -> Result<Vec<(LeaseId, i64)>, StoreError> {
    let txn = db.begin_read()?;
    lease_tables::read_leases(&txn.open_table(LEASES)?)
}

fn history_limit(options: &RedbStoreOptions) -> Revision {
    Revision::try_from(options.history_limit).unwrap_or(Revision::MAX)
}

fn open_write_tables(write: &WriteTransaction) -> Result<WriteTables<'_>, StoreError> {
    Ok(WriteTables {
        keys: write.open_table(KEYS)?,
        links: LeaseLinks {
            key_lease: write.open_table(KEY_LEASE)?,
            lease_keys: write.open_table(LEASE_KEYS)?,
        },
    })
}

impl Inner {
    /// Runs a read on the database, reopening it first if a storage error broke it.
    fn read<T>(&self, f: impl FnOnce(&Database) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.recover()?;
        let result = self.db.get().and_then(|guard| f(guard.as_ref().ok_or(StoreError::Closed)?));
        self.db.observe(Access::Read, &result);
        result
    }

    /// Runs a write under the writer lock, reopening the database first if it is broken.
    fn locked_write<T>(
        &self,
        f: impl FnOnce(&Database, &mut Counters) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.recover()?;
        // A panic while holding the lock cannot leave the counters stale: they change only after
        // a successful commit.
        let mut counters = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let result =
            self.db.get().and_then(|guard| f(guard.as_ref().ok_or(StoreError::Closed)?, &mut counters));
        self.db.observe(Access::Write, &result);
        result
    }

    /// Reopens a broken database and reloads the counters from it.
    fn recover(&self) -> Result<(), StoreError> {
        if !self.db.is_broken() {
            return Ok(());
        }
        let mut counters = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.db.reopen_if_broken(|db| {
            let reloaded = prepare(db, history_limit(&self.options))?;
            if reloaded.revision != counters.revision {
                // A commit reported as failed reached the disk after all. Watchers notice the
                // gap at the next commit and replay it from history.
                tracing::warn!(
                    expected = counters.revision,
                    found = reloaded.revision,
                    "the reopened store is at another revision than the last acknowledged write"
                );
            }
            *counters = reloaded;
            self.revision.store(reloaded.revision, Ordering::Release);
            Ok(())
        })
    }

    fn read_counters(&self) -> Result<Counters, StoreError> {
        self.read(|db| {
            let txn = db.begin_read()?;
            tables::read_counters(&txn.open_table(META)?)
        })
    }

    fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read()?;
            tables::get_key(&txn.open_table(KEYS)?, key)
        })
    }

    /// Reads keys and the revision from one snapshot.
    fn range(
        &self,
        read: impl FnOnce(&redb::ReadOnlyTable<&'static [u8], &'static [u8]>) -> Result<Vec<KeyValue>, StoreError>,
    ) -> Result<RangeResponse, StoreError> {
        self.read(|db| {
            let txn = db.begin_read()?;
            let kvs = read(&txn.open_table(KEYS)?)?;
            let revision = tables::read_counters(&txn.open_table(META)?)?.revision;
            Ok(RangeResponse { kvs, revision })
        })
    }

    fn read_history(&self, prefix: &str, from: Revision) -> Result<tables::HistoryChunk, StoreError> {
        self.read(|db| {
            let txn = db.begin_read()?;
            let counters = tables::read_counters(&txn.open_table(META)?)?;
            tables::read_history(&txn.open_table(HISTORY)?, counters, prefix, from, self.options.replay_batch)
        })
    }

    /// Runs `txn` in one redb write transaction, commits it durably if it changed anything and
    /// publishes the change to watchers, all under the writer lock.
    fn write(&self, txn: &Txn) -> Result<Written, StoreError> {
        self.commit(|write, revision| {
            let mut tables = open_write_tables(write)?;
            apply::apply(&mut tables, txn, revision, &|lease| self.leases.is_alive(lease))
        })
    }

    /// Deletes a dead lease's keys in one revision and forgets the lease.
    fn revoke(&self, lease: LeaseId) -> Result<(), StoreError> {
        self.commit(|write, revision| {
            let mut tables = open_write_tables(write)?;
            let doomed = tables.links.keys_of(lease)?;
            let txn =
                Txn { success: doomed.into_iter().map(|key| Op::Delete { key }).collect(), ..Txn::default() };
            let mut applied = apply::apply(&mut tables, &txn, revision, &|_| true)?;
            write.open_table(LEASES)?.remove(lease)?;
            applied.side_effects = true;
            Ok(applied)
        })?;
        self.leases.forget(lease);
        Ok(())
    }

    fn grant(&self, ttl_seconds: i64) -> Result<LeaseId, StoreError> {
        self.locked_write(|db, _counters| {
            let mut write = db.begin_write()?;
            write.set_durability(Durability::Immediate)?;
            let lease = lease_tables::next_lease_id(&mut write.open_table(META)?)?;
            write.open_table(LEASES)?.insert(lease, crate::codec::encode_revision(ttl_seconds).as_slice())?;
            write.commit()?;
            // Still under the writer lock: no transaction can look for the lease in between.
            self.leases.start(lease, ttl_seconds);
            Ok(lease)
        })
    }

    fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        self.locked_write(|db, counters| {
            if revision > counters.revision {
                return Err(StoreError::FutureRevision { requested: revision, current: counters.revision });
            }
            // History keeps `revision` itself: a watch may start there.
            let compacted = revision - 1;
            if compacted <= counters.compacted {
                return Ok(());
            }
            let mut write = db.begin_write()?;
            write.set_durability(Durability::Immediate)?;
            let next = Counters { revision: counters.revision, compacted };
            {
                write.open_table(HISTORY)?.retain_in(..=compacted, |_, _| false)?;
                tables::write_counters(&mut write.open_table(META)?, next)?;
            }
            write.commit()?;
            *counters = next;
            Ok(())
        })
    }

    /// Commits what `build` writes at the next revision, durably; publishes its events to
    /// watchers. A build without events commits no revision (and only commits at all if it had
    /// side effects).
    fn commit(
        &self,
        build: impl FnOnce(&WriteTransaction, Revision) -> Result<Applied, StoreError>,
    ) -> Result<Written, StoreError> {
        self.locked_write(|db, counters| {
            let mut write = db.begin_write()?;
            write.set_durability(Durability::Immediate)?;
            let revision = counters.revision + 1;
            let applied = build(&write, revision)?;
            if applied.events.is_empty() {
                if applied.side_effects {
                    write.commit()?;
                } else {
                    write.abort()?;
                }
                return Ok(Written {
                    response: TxnResponse {
                        succeeded: applied.succeeded,
                        revision: counters.revision,
                        gets: applied.gets,
                    },
                    changed: false,
                });
            }
            let mut next = Counters { revision, compacted: counters.compacted };
            {
                let mut history = write.open_table(HISTORY)?;
                tables::append_history(&mut history, revision, &applied.events)?;
                next.compacted = tables::compact_history(&mut history, next, history_limit(&self.options))?;
                tables::write_counters(&mut write.open_table(META)?, next)?;
            }
            write.commit()?;
            *counters = next;
            self.revision.store(revision, Ordering::Release);
            // No receivers is fine: nobody is watching.
            let _ = self.live.send(Arc::new(Committed { revision, events: applied.events }));
            Ok(Written {
                response: TxnResponse { succeeded: applied.succeeded, revision, gets: applied.gets },
                changed: true,
            })
        })
    }
}

/// The outcome of [`Inner::write`].
#[derive(Debug)]
struct Written {
    response: TxnResponse,
    /// Whether the transaction committed a new revision.
    changed: bool,
}

#[async_trait]
impl Store for RedbStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let key = key.to_string();
        self.blocking(move |inner| inner.get(&key)).await
    }

    async fn range(&self, prefix: &str) -> Result<RangeResponse, StoreError> {
        let prefix = prefix.to_string();
        self.blocking(move |inner| inner.range(|keys| tables::keys_with_prefix(keys, &prefix))).await
    }

    async fn range_between(&self, keys: Range<&str>) -> Result<RangeResponse, StoreError> {
        let (start, end) = (keys.start.to_string(), keys.end.to_string());
        self.blocking(move |inner| inner.range(|keys| tables::keys_between(keys, &start, &end))).await
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<Revision, StoreError> {
        let txn = Txn { success: vec![Op::Put { key: key.to_string(), value }], ..Txn::default() };
        Ok(self.write(txn).await?.response.revision)
    }

    async fn delete(&self, key: &str) -> Result<Option<Revision>, StoreError> {
        let txn = Txn { success: vec![Op::Delete { key: key.to_string() }], ..Txn::default() };
        let written = self.write(txn).await?;
        // A lone delete commits a revision exactly when the key existed.
        Ok(written.changed.then_some(written.response.revision))
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResponse, StoreError> {
        Ok(self.write(txn).await?.response)
    }

    async fn watch(&self, prefix: &str, start_revision: Revision) -> Result<WatchStream, StoreError> {
        self.ensure_reaper();
        watch::start(&self.inner, prefix, start_revision).await
    }

    async fn revision(&self) -> Result<Revision, StoreError> {
        Ok(self.inner.revision.load(Ordering::Acquire))
    }

    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId, StoreError> {
        let ttl_seconds = crate::lease_ttl_seconds(ttl);
        self.blocking(move |inner| inner.grant(ttl_seconds)).await
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<(), StoreError> {
        self.ensure_reaper();
        self.inner.leases.keep_alive(lease)
    }

    async fn revoke_lease(&self, lease: LeaseId) -> Result<(), StoreError> {
        if !self.inner.leases.kill(lease) {
            return Ok(()); // already gone
        }
        self.blocking(move |inner| inner.revoke(lease)).await
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        self.blocking(move |inner| inner.compact(revision)).await
    }

    fn health(&self) -> StoreHealth {
        self.inner.db.health.snapshot()
    }
}
