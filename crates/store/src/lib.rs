//! A revisioned key-value store with watch — etcd's data model.
//!
//! Every committed write bumps one global `revision`; each key remembers the revision that
//! created it (`create_revision`), last changed it (`mod_revision`) and how many times it has
//! changed (`version`). Transactions compare those before writing. A watch replays every event
//! after a given revision, then follows live writes.
//!
//! Callers hold an `Arc<dyn Store>`; the embedded redb backend ([`RedbStore`]) is the default
//! for one machine, the etcd backend ([`EtcdStore`]) lets several supervisors share one state.
//! Both pass one conformance suite (`tests/conformance.rs`), so callers cannot tell them apart
//! except by the differences listed below.
//!
//! # Leases (etcd's semantics, on both backends)
//! - [`Store::grant_lease`] makes a lease with a TTL (rounded up to whole seconds, at least 1 s;
//!   etcd may raise it further to its own minimum). Granting writes no revision.
//! - [`Op::PutLeased`] attaches a key to a lease; if the lease does not exist the whole
//!   transaction fails with [`StoreError::LeaseNotFound`] and writes nothing. A key put again
//!   with [`Op::Put`] is detached from its lease; a deleted key is detached too.
//! - [`Store::keep_alive`] renews a lease to its full TTL; on an expired or revoked lease it
//!   fails with [`StoreError::LeaseNotFound`].
//! - When a lease expires or is revoked, every key attached to it is deleted in one revision:
//!   watchers see one batch of [`Event::Delete`]s. Revoking a lease that is already gone is Ok.
//! - After a restart (redb: reopening the file; etcd: a leader change) every surviving lease gets
//!   its full TTL again, counted from then: keys with leases never survive forever, and a
//!   holder that keeps renewing never loses its keys to a restart.
//!
//! # Compaction
//! History (what watches replay) is kept from the oldest uncompacted revision on.
//! [`Store::compact`]`(r)` drops every revision before `r`: `watch(start)` with `start < r` then
//! fails with [`StoreError::Compacted`] and a watcher must re-read (`range`) and watch from the
//! read's `revision + 1`. Compacting to a revision already compacted is a no-op; to a revision
//! that does not exist yet fails with [`StoreError::FutureRevision`]. The redb backend also
//! compacts by itself, keeping the newest [`RedbStoreOptions::history_limit`] revisions.
//!
//! # Health and recovery
//! [`Store::health`] is cheap and synchronous. `ok` turns false when a request fails because the
//! backend is unreachable (etcd) or its storage failed (redb), and back on the next success; the
//! last error and its time are kept. The redb backend recovers from storage I/O errors (a full
//! disk, say) by closing and reopening its file before the next operation, counted in
//! `recoveries`; its watch streams continue across such a reopen. Watch streams of the etcd
//! backend end with an error when their etcd member fails; the caller re-watches from the last
//! revision it saw + 1.
//!
//! # Differences between the backends
//! - Revisions of an etcd store are etcd's: writes by other users of the same etcd (other
//!   prefixes) advance them too, so revisions are increasing but not consecutive.
//! - etcd refuses a transaction that writes the same key twice (two puts, or a put and a delete
//!   that overlap); redb runs the operations in order. Callers must not rely on either.
//! - Lease ids are etcd's on etcd and small counters on redb; treat them as opaque.

mod codec;
mod etcd;
mod health;
pub mod private_fs;
mod redb_store;
mod url;

use std::ops::Range;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use etcd::{EtcdOptions, EtcdStore, EtcdTls};
pub use health::StoreHealth;
pub use redb_store::{RedbStore, RedbStoreOptions, STORE_FILE};
pub use url::{StoreUrl, parse_store_url};

/// A global revision. 0 means "nothing written yet".
pub type Revision = i64;

/// A lease's id, chosen by the store. Opaque: never 0.
pub type LeaseId = i64;

/// One key with its value and revision metadata (etcd's `mvccpb.KeyValue`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    pub create_revision: Revision,
    pub mod_revision: Revision,
    /// 1 on creation, +1 per change.
    pub version: i64,
}

/// What a watcher sees for one changed key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// The key was created or changed; `kv` is its new state.
    Put { kv: KeyValue },
    /// The key was deleted at `mod_revision`; `prev` is its last value.
    Delete { prev: KeyValue, mod_revision: Revision },
}

/// A comparison guarding a transaction (etcd `Compare`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compare {
    /// The key's `mod_revision` equals this (0: the key does not exist).
    ModRevision(String, Revision),
    /// The key's `create_revision` equals this (0: the key does not exist).
    CreateRevision(String, Revision),
    /// The key's value equals this.
    Value(String, Vec<u8>),
}

/// One operation inside a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put {
        key: String,
        value: Vec<u8>,
    },
    /// Put attached to a lease: the key is deleted when the lease expires or is revoked. Fails
    /// the whole transaction with [`StoreError::LeaseNotFound`] if the lease does not exist.
    PutLeased {
        key: String,
        value: Vec<u8>,
        lease: LeaseId,
    },
    Delete {
        key: String,
    },
    /// Delete every key starting with the prefix.
    DeletePrefix {
        prefix: String,
    },
    Get {
        key: String,
    },
}

/// A transaction: if every compare holds, run `success`, else `failure` — all in one revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Txn {
    pub compare: Vec<Compare>,
    pub success: Vec<Op>,
    pub failure: Vec<Op>,
}

/// The result of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnResponse {
    pub succeeded: bool,
    /// The store's revision after the transaction (unchanged if it wrote nothing).
    pub revision: Revision,
    /// The results of `Op::Get` operations, in order (`None`: key absent).
    pub gets: Vec<Option<KeyValue>>,
}

/// A range read at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeResponse {
    pub kvs: Vec<KeyValue>,
    /// The store revision the read reflects: watch from `revision + 1` to follow it.
    pub revision: Revision,
}

/// Events delivered to a watcher, in revision order. Closes when the store shuts down or the
/// watcher falls too far behind (it must then re-read and re-watch).
pub type WatchStream = tokio::sync::mpsc::Receiver<Result<Vec<Event>, StoreError>>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open store at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("store I/O failed: {0}")]
    Io(String),
    #[error("revision {requested} has been compacted (oldest available is {oldest})")]
    Compacted { requested: Revision, oldest: Revision },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the store is closed")]
    Closed,
    #[error("lease {lease} has expired or was revoked")]
    LeaseNotFound { lease: LeaseId },
    /// The backend cannot be reached (etcd down, no quorum, a request timed out).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("revision {requested} does not exist yet (the store is at revision {current})")]
    FutureRevision { requested: Revision, current: Revision },
    #[error("invalid store URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
}

/// The store interface. Object safe; hold it as `Arc<dyn Store>`.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// One key, or `None`.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError>;
    /// Every key with this prefix, in key order, at one revision.
    async fn range(&self, prefix: &str) -> Result<RangeResponse, StoreError>;
    /// Keys in `[start, end)`, in key order (etcd's range end).
    async fn range_between(&self, keys: Range<&str>) -> Result<RangeResponse, StoreError>;
    /// Write one key; returns the new revision. Durable when it returns.
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<Revision, StoreError>;
    /// Delete one key; returns the new revision, or `None` if the key did not exist.
    async fn delete(&self, key: &str) -> Result<Option<Revision>, StoreError>;
    /// Run a transaction atomically. Durable when it returns.
    async fn txn(&self, txn: Txn) -> Result<TxnResponse, StoreError>;
    /// Events for keys with `prefix`, starting at `start_revision` (inclusive; use the
    /// `revision + 1` of a previous read; 0 or less: from the next write), then live. One item
    /// per revision that touched a matching key. Fails with [`StoreError::Compacted`] if that
    /// revision is no longer in the history.
    async fn watch(&self, prefix: &str, start_revision: Revision) -> Result<WatchStream, StoreError>;
    /// The current revision.
    async fn revision(&self) -> Result<Revision, StoreError>;
    /// A new lease that expires `ttl` after its grant or last [`Store::keep_alive`] (rounded up
    /// to whole seconds, at least 1 s).
    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId, StoreError>;
    /// Renews the lease to its full TTL; [`StoreError::LeaseNotFound`] if it is gone.
    async fn keep_alive(&self, lease: LeaseId) -> Result<(), StoreError>;
    /// Ends the lease now, deleting its keys in one revision; Ok if it is already gone.
    async fn revoke_lease(&self, lease: LeaseId) -> Result<(), StoreError>;
    /// Drops history before `revision`: a watch from an earlier revision then fails with
    /// [`StoreError::Compacted`]. Ok if already compacted that far.
    async fn compact(&self, revision: Revision) -> Result<(), StoreError>;
    /// The backend's health, for `show system` and `/health`. Cheap; never blocks on I/O.
    fn health(&self) -> StoreHealth;
}

/// A lease TTL as the stores keep it: whole seconds, rounded up, at least 1.
pub(crate) fn lease_ttl_seconds(ttl: Duration) -> i64 {
    let seconds = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    i64::try_from(seconds.max(1)).unwrap_or(i64::MAX)
}
