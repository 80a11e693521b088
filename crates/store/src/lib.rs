//! A revisioned key-value store with watch — etcd's data model.
//!
//! Every committed write bumps one global `revision`; each key remembers the revision that
//! created it (`create_revision`), last changed it (`mod_revision`) and how many times it has
//! changed (`version`). Transactions compare those before writing. A watch replays every event
//! after a given revision, then follows live writes.
//!
//! Callers hold an `Arc<dyn Store>`; the embedded redb backend ([`RedbStore`]) is the default and
//! an etcd backend can be added behind the same trait without changing them.

mod codec;
pub mod private_fs;
mod redb_store;

use std::ops::Range;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use redb_store::{RedbStore, RedbStoreOptions, STORE_FILE};

/// A global revision. 0 means "nothing written yet".
pub type Revision = i64;

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
}
