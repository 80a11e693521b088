//! The embedded backend: one redb file, `store.redb`, in the supervisor's data directory.
//!
//! redb is synchronous, so every call runs on tokio's blocking pool. Writes are serialised by
//! one mutex that is held from `begin_write` until the commit has been published to watchers:
//! that makes revisions consecutive and the live feed arrive in revision order.

mod apply;
#[cfg(test)]
mod corruption_tests;
mod errors;
mod tables;
mod watch;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use redb::{Database, Durability, ReadableDatabase};
use tokio::sync::broadcast;

use crate::{KeyValue, Op, RangeResponse, Revision, Store, StoreError, Txn, TxnResponse, WatchStream};
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
}

/// One committed revision as the live feed carries it: every event, unfiltered.
#[derive(Debug)]
pub(crate) struct Committed {
    pub revision: Revision,
    pub events: Vec<crate::Event>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    db: Database,
    options: RedbStoreOptions,
    /// The writer's view of the counters; holding the lock is the right to write.
    writer: Mutex<Counters>,
    /// The last committed revision, readable without waiting for a writer.
    revision: AtomicI64,
    live: broadcast::Sender<Arc<Committed>>,
}

impl RedbStore {
    /// Opens (or creates) `data_dir/store.redb`, creating `data_dir` if needed.
    ///
    /// Blocks on file I/O: call it at startup, or from `spawn_blocking`.
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
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::Storage(redb::StorageError::Corrupted(reason)) => {
                StoreError::Corrupt(reason)
            }
            other => open_error(other.to_string()),
        })?;
        let options = RedbStoreOptions {
            history_limit: options.history_limit.max(1),
            watch_buffer: options.watch_buffer.max(1),
            live_buffer: options.live_buffer.max(1),
            replay_batch: options.replay_batch.max(1),
        };
        let counters = prepare(&db, history_limit(&options))?;
        let (live, _) = broadcast::channel(options.live_buffer);
        Ok(Arc::new(RedbStore {
            inner: Arc::new(Inner {
                db,
                options,
                writer: Mutex::new(counters),
                revision: AtomicI64::new(counters.revision),
                live,
            }),
        }))
    }

    /// The path of the store's file inside `data_dir`.
    pub fn file_path(data_dir: &Path) -> PathBuf {
        data_dir.join(STORE_FILE)
    }

    /// The oldest revision a watch can still start from.
    pub async fn oldest_revision(&self) -> Result<Revision, StoreError> {
        self.blocking(|inner| Ok(inner.read_counters()?.compacted + 1)).await
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner)).await?
    }

    async fn write(&self, txn: Txn) -> Result<TxnResponse, StoreError> {
        let written = self.blocking(move |inner| inner.write(&txn)).await?;
        Ok(written.response)
    }
}

/// Creates the tables of a new file, and trims history to the (possibly lowered) limit.
fn prepare(db: &Database, history_limit: Revision) -> Result<Counters, StoreError> {
    let txn = db.begin_write()?;
    let counters = {
        txn.open_table(KEYS)?;
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

fn history_limit(options: &RedbStoreOptions) -> Revision {
    Revision::try_from(options.history_limit).unwrap_or(Revision::MAX)
}

impl Inner {
    fn read_counters(&self) -> Result<Counters, StoreError> {
        let txn = self.db.begin_read()?;
        tables::read_counters(&txn.open_table(META)?)
    }

    fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let txn = self.db.begin_read()?;
        tables::get_key(&txn.open_table(KEYS)?, key)
    }

    /// Reads keys and the revision from one snapshot.
    fn range(
        &self,
        read: impl FnOnce(&redb::ReadOnlyTable<&'static [u8], &'static [u8]>) -> Result<Vec<KeyValue>, StoreError>,
    ) -> Result<RangeResponse, StoreError> {
        let txn = self.db.begin_read()?;
        let kvs = read(&txn.open_table(KEYS)?)?;
        let revision = tables::read_counters(&txn.open_table(META)?)?.revision;
        Ok(RangeResponse { kvs, revision })
    }

    fn read_history(&self, prefix: &str, from: Revision) -> Result<tables::HistoryChunk, StoreError> {
        let txn = self.db.begin_read()?;
        let counters = tables::read_counters(&txn.open_table(META)?)?;
        tables::read_history(&txn.open_table(HISTORY)?, counters, prefix, from, self.options.replay_batch)
    }

    /// Runs `txn` in one redb write transaction, commits it durably if it changed anything and
    /// publishes the change to watchers, all under the writer lock.
    fn write(&self, txn: &Txn) -> Result<Written, StoreError> {
        // A panic while holding the lock cannot leave the counters stale: they change only after
        // a successful commit.
        let mut counters = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut write = self.db.begin_write()?;
        write.set_durability(Durability::Immediate)?;
        let revision = counters.revision + 1;
        let applied = apply::apply(&mut write.open_table(KEYS)?, txn, revision)?;
        if applied.events.is_empty() {
            write.abort()?;
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
        Ok(self.write(txn).await?.revision)
    }

    async fn delete(&self, key: &str) -> Result<Option<Revision>, StoreError> {
        let txn = Txn { success: vec![Op::Delete { key: key.to_string() }], ..Txn::default() };
        let written = self.blocking(move |inner| inner.write(&txn)).await?;
        // A lone delete commits a revision exactly when the key existed.
        Ok(written.changed.then_some(written.response.revision))
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResponse, StoreError> {
        self.write(txn).await
    }

    async fn watch(&self, prefix: &str, start_revision: Revision) -> Result<WatchStream, StoreError> {
        watch::start(&self.inner, prefix, start_revision).await
    }

    async fn revision(&self) -> Result<Revision, StoreError> {
        Ok(self.inner.revision.load(Ordering::Acquire))
    }
}
