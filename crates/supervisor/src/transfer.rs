//! Moving a supervisor's state from one store to another (`switchyard supervisor export` /
//! `import`): redb to etcd, etcd to redb, or one data dir to a new one.
//!
//! What moves is every durable key under `/switchyard/`: the config (profiles, VLANs,
//! bridge-domains, access lists, flow objects, pools, accounts), module records, vEthernet
//! bindings, the counters (so module numbers and VethN go on from where they were, never from 1),
//! enrolments, join tokens, address allocations, the event and accounting logs, and REST tokens.
//! What does not move is live state under [`SKIPPED_PREFIXES`] (leases of running supervisors
//! and modules): it belongs to processes of the old store and is made again by the new one.
//! Revisions do not move either: the new store numbers its own, and agents resynchronise their
//! policies by value when they reconnect.
//!
//! The export is one range read, so it is one revision even while supervisors write (etcd); an
//! import checks the whole file ([`mod@format`]) before it writes anything, refuses a store that holds
//! switchyard keys unless forced, and writes in transactions of at most [`MAX_TXN_OPS`] operations
//! (etcd allows 128 by default) and about [`MAX_TXN_BYTES`] bytes (etcd's request limit is 1.5 MiB).

pub mod format;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io::{BufRead, Write};

use store::{Op, Revision, Store, StoreError, Txn};

pub use format::{FormatError, Record};

/// Every key of the supervisor's state starts with this.
pub const SWITCHYARD_PREFIX: &str = format::KEY_PREFIX;
/// Live state, never exported, imported or deleted by an import: module and supervisor leases,
/// which only mean something to the processes holding them.
pub const SKIPPED_PREFIXES: &[&str] = &["/switchyard/live/"];
/// Most operations in one import transaction (etcd's default `--max-txn-ops` is 128).
pub const MAX_TXN_OPS: usize = 100;
/// Bytes of keys and values one import transaction aims to stay under (etcd refuses requests
/// over 1.5 MiB by default); a single larger value still goes, alone.
pub const MAX_TXN_BYTES: usize = 512 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("reading the store: {0}")]
    Read(StoreError),
    #[error(
        "the store holds no switchyard keys: nothing to export (is it the right store, data dir or prefix?)"
    )]
    NothingToExport,
    #[error("writing the export: {0}")]
    Write(std::io::Error),
    #[error("not a valid export, nothing was written: {0}")]
    Format(FormatError),
    #[error(
        "the store already holds {keys} switchyard keys (revision {revision}); import into an empty store, \
         or force the import to replace them"
    )]
    NotEmpty { keys: usize, revision: Revision },
    #[error(
        "writing to the store failed after {written} of {total} operations ({error}); the store holds part \
         of the import: run it again, forced, once the store is back"
    )]
    Partial { written: usize, total: usize, error: StoreError },
}

// Each message says its cause itself (an error chain printed whole would say it twice).
impl From<FormatError> for TransferError {
    fn from(error: FormatError) -> Self {
        Self::Format(error)
    }
}

/// How keys count in a summary: by kind, `config/<kind>` for config objects, else the first part
/// of the key after `/switchyard/` (`ports`, `modules`, `counters`, `events`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kinds(pub BTreeMap<String, usize>);

impl Kinds {
    fn of<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        let mut kinds = BTreeMap::new();
        for key in keys {
            *kinds.entry(kind_of(key)).or_default() += 1;
        }
        Self(kinds)
    }
}

/// The kind a key counts under in [`Kinds`].
pub fn kind_of(key: &str) -> String {
    let rest = key.strip_prefix(SWITCHYARD_PREFIX).unwrap_or(key);
    let mut parts = rest.split('/');
    let first = parts.next().unwrap_or_default();
    match (first, parts.next()) {
        ("config", Some(kind)) => format!("config/{kind}"),
        _ => first.to_owned(),
    }
}

impl fmt::Display for Kinds {
    /// One line a kind: `  config/port-profiles           2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (kind, count) in &self.0 {
            writeln!(f, "  {kind:<30} {count:>7}")?;
        }
        Ok(())
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub keys: usize,
    /// The store revision the export reflects.
    pub revision: Revision,
    /// Live keys left out.
    pub skipped_live: usize,
    pub kinds: Kinds,
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub keys: usize,
    /// Keys the store held that the file does not (deleted: forced imports only).
    pub deleted: usize,
    pub transactions: usize,
    /// The exported store's revision, from the file's header.
    pub source_revision: Revision,
    pub exported_at_unix_ms: u64,
    /// The store's revision once the import is written.
    pub revision: Revision,
    pub kinds: Kinds,
}

/// How an import treats a store that is not empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Replace what the store holds: every durable switchyard key not in the file is deleted.
    pub force: bool,
}

/// Whether `key` is live state (never carried).
pub fn is_live(key: &str) -> bool {
    SKIPPED_PREFIXES.iter().any(|prefix| key.starts_with(prefix))
}

/// Writes every durable switchyard key of `store`, read at one revision, to `out`.
pub async fn export(store: &dyn Store, out: impl Write) -> Result<ExportSummary, TransferError> {
    let read = store.range(SWITCHYARD_PREFIX).await.map_err(TransferError::Read)?;
    let (live, durable): (Vec<_>, Vec<_>) = read.kvs.into_iter().partition(|kv| is_live(&kv.key));
    if durable.is_empty() {
        return Err(TransferError::NothingToExport);
    }
    let records: Vec<Record> =
        durable.into_iter().map(|kv| Record { key: kv.key, value: kv.value }).collect();
    format::write(out, crate::clock::unix_ms_now(), read.revision, &records).map_err(TransferError::Write)?;
    Ok(ExportSummary {
        keys: records.len(),
        revision: read.revision,
        skipped_live: live.len(),
        kinds: Kinds::of(records.iter().map(|record| record.key.as_str())),
    })
}

/// Reads a whole export from `input`, checks it, and writes it into `store`. Nothing is written
/// unless every line is good and the store is empty of switchyard keys (or `force`).
pub async fn import(
    store: &dyn Store,
    input: impl BufRead,
    options: ImportOptions,
) -> Result<ImportSummary, TransferError> {
    import_checked(store, format::read(input)?, options).await
}

/// [`import`] of an export already read and checked ([`format::read`]): for callers that check
/// the file before they open (and so create) the store.
pub async fn import_checked(
    store: &dyn Store,
    export: format::Export,
    options: ImportOptions,
) -> Result<ImportSummary, TransferError> {
    let present = store.range(SWITCHYARD_PREFIX).await.map_err(TransferError::Read)?;
    let durable: Vec<&str> =
        present.kvs.iter().map(|kv| kv.key.as_str()).filter(|key| !is_live(key)).collect();
    if !durable.is_empty() && !options.force {
        return Err(TransferError::NotEmpty { keys: durable.len(), revision: present.revision });
    }
    let incoming: HashSet<&str> = export.records.iter().map(|record| record.key.as_str()).collect();
    let deletes: Vec<Op> = durable
        .iter()
        .filter(|key| !incoming.contains(*key))
        .map(|key| Op::Delete { key: (*key).to_owned() })
        .collect();
    let deleted = deletes.len();
    let puts =
        export.records.iter().map(|record| Op::Put { key: record.key.clone(), value: record.value.clone() });
    let ops: Vec<Op> = deletes.into_iter().chain(puts).collect();
    let total = ops.len();
    let mut written = 0;
    let mut revision = present.revision;
    let batches = batches(ops);
    let transactions = batches.len();
    for batch in batches {
        let size = batch.len();
        let response = store
            .txn(Txn { success: batch, ..Txn::default() })
            .await
            .map_err(|error| TransferError::Partial { written, total, error })?;
        written += size;
        revision = response.revision;
    }
    Ok(ImportSummary {
        keys: export.records.len(),
        deleted,
        transactions,
        source_revision: export.header.source_revision,
        exported_at_unix_ms: export.header.exported_at_unix_ms,
        revision,
        kinds: Kinds::of(export.records.iter().map(|record| record.key.as_str())),
    })
}

/// Splits `ops` into transactions of at most [`MAX_TXN_OPS`] operations and, where values allow,
/// [`MAX_TXN_BYTES`] bytes; order is kept.
fn batches(ops: Vec<Op>) -> Vec<Vec<Op>> {
    let mut batches: Vec<Vec<Op>> = Vec::new();
    let mut bytes = 0;
    for op in ops {
        let size = op_size(&op);
        let full = batches.last().is_none_or(|batch| {
            batch.len() >= MAX_TXN_OPS || (!batch.is_empty() && bytes + size > MAX_TXN_BYTES)
        });
        if full {
            batches.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(batch) = batches.last_mut() {
            batch.push(op);
        }
    }
    batches
}

fn op_size(op: &Op) -> usize {
    match op {
        Op::Put { key, value } | Op::PutLeased { key, value, .. } => key.len() + value.len(),
        Op::Delete { key } | Op::Get { key } => key.len(),
        Op::DeletePrefix { prefix } => prefix.len(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use store::RedbStore;

    use super::*;

    fn put(key: &str, bytes: usize) -> Op {
        Op::Put { key: key.to_owned(), value: vec![b'x'; bytes] }
    }

    #[test]
    fn transactions_stay_within_etcds_limits() {
        let sizes: Vec<usize> = batches((0..250).map(|i| put(&format!("/switchyard/k{i}"), 10)).collect())
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [100, 100, 50]);
        let big = batches(vec![
            put("/a", 300_000),
            put("/b", 200_000),
            put("/c", 300_000),
            put("/d", 600_000),
            put("/e", 1),
        ]);
        let sizes: Vec<usize> = big.iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 1, 1, 1], "bounded by bytes; a value over the bound goes alone");
        assert!(batches(Vec::new()).is_empty());
    }

    #[test]
    fn kinds_name_config_objects_and_top_level_parts() {
        assert_eq!(kind_of("/switchyard/config/port-profiles/web"), "config/port-profiles");
        assert_eq!(kind_of("/switchyard/config/dhcp-snooping"), "config/dhcp-snooping");
        assert_eq!(kind_of("/switchyard/counters/next-module"), "counters");
        assert_eq!(kind_of("/switchyard/ports/9f1c"), "ports");
        let kinds = Kinds::of(["/switchyard/ports/a", "/switchyard/ports/b", "/switchyard/modules/h"]);
        assert_eq!(kinds.to_string(), format!("  {:<30} {:>7}\n  {:<30} {:>7}\n", "modules", 1, "ports", 2));
    }

    async fn store_with(dir: &std::path::Path, keys: &[(&str, &str)]) -> Arc<RedbStore> {
        let store = RedbStore::open(dir).unwrap();
        for (key, value) in keys {
            store.put(key, value.as_bytes().to_vec()).await.unwrap();
        }
        store
    }

    async fn contents(store: &dyn Store) -> Vec<(String, Vec<u8>)> {
        store.range("").await.unwrap().kvs.into_iter().map(|kv| (kv.key, kv.value)).collect()
    }

    #[tokio::test]
    async fn a_round_trip_carries_durable_keys_and_leaves_live_ones() {
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let source = store_with(
            dirs[0].path(),
            &[
                ("/switchyard/config/port-profiles/web", r#"{"name":"web"}"#),
                ("/switchyard/counters/next-module", "5"),
                ("/switchyard/live/modules/3", "lease"),
                ("/elsewhere/x", "not ours"),
            ],
        )
        .await;
        let mut file = Vec::new();
        let summary = export(source.as_ref(), &mut file).await.unwrap();
        assert_eq!((summary.keys, summary.skipped_live), (2, 1));
        assert_eq!(summary.revision, 4);

        let target = RedbStore::open(dirs[1].path()).unwrap();
        let imported = import(target.as_ref(), file.as_slice(), ImportOptions::default()).await.unwrap();
        assert_eq!((imported.keys, imported.deleted, imported.transactions), (2, 0, 1));
        assert_eq!(imported.source_revision, 4);
        assert_eq!(
            contents(target.as_ref()).await,
            vec![
                ("/switchyard/config/port-profiles/web".to_owned(), br#"{"name":"web"}"#.to_vec()),
                ("/switchyard/counters/next-module".to_owned(), b"5".to_vec()),
            ]
        );
    }

    #[tokio::test]
    async fn a_store_in_use_is_refused_unless_forced_and_then_replaced() {
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let source = store_with(dirs[0].path(), &[("/switchyard/a", "1"), ("/switchyard/b", "2")]).await;
        let mut file = Vec::new();
        export(source.as_ref(), &mut file).await.unwrap();
        let target = store_with(
            dirs[1].path(),
            &[("/switchyard/a", "old"), ("/switchyard/stale", "x"), ("/switchyard/live/m", "lease")],
        )
        .await;
        let before = target.revision().await.unwrap();
        let err = import(target.as_ref(), file.as_slice(), ImportOptions::default()).await.unwrap_err();
        assert!(matches!(err, TransferError::NotEmpty { keys: 2, .. }), "{err}");
        assert_eq!(target.revision().await.unwrap(), before, "nothing written");

        let summary = import(target.as_ref(), file.as_slice(), ImportOptions { force: true }).await.unwrap();
        assert_eq!(summary.deleted, 1);
        let keys: Vec<String> = contents(target.as_ref()).await.into_iter().map(|(key, _)| key).collect();
        assert_eq!(
            keys,
            ["/switchyard/a", "/switchyard/b", "/switchyard/live/m"],
            "live keys are left alone"
        );
    }

    #[tokio::test]
    async fn a_bad_file_writes_nothing_and_an_empty_store_exports_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(dir.path(), &[("/elsewhere/x", "1")]).await;
        assert!(matches!(export(store.as_ref(), Vec::new()).await, Err(TransferError::NothingToExport)));
        let truncated = "{\"format\":\"switchyard-export\",\"version\":1,\"exported_at_unix_ms\":0,\"source_revision\":1,\"keys\":1}\n\
                         {\"key\":\"/switchyard/a\",\"value\":1}\n";
        let err = import(store.as_ref(), truncated.as_bytes(), ImportOptions::default()).await.unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        assert_eq!(store.revision().await.unwrap(), 1, "nothing written");
    }

    #[tokio::test]
    async fn a_large_store_goes_in_several_transactions() {
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let source = RedbStore::open(dirs[0].path()).unwrap();
        let ops = (0..250).map(|i| put(&format!("/switchyard/events/{i:020}"), 20)).collect::<Vec<_>>();
        source.txn(Txn { success: ops, ..Txn::default() }).await.unwrap();
        let mut file = Vec::new();
        export(source.as_ref(), &mut file).await.unwrap();
        let target = RedbStore::open(dirs[1].path()).unwrap();
        let summary = import(target.as_ref(), file.as_slice(), ImportOptions::default()).await.unwrap();
        assert_eq!(summary.transactions, 3);
        assert_eq!(contents(target.as_ref()).await, contents(source.as_ref()).await);
    }
}
