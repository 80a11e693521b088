//! Damaged bytes in the file read as `StoreError::Corrupt`, never as a panic.
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::path::Path;

use redb::{Database, TableDefinition};

use super::tables::{HISTORY, KEYS, META};
use super::{RedbStore, STORE_FILE};
use crate::{Compare, Store, StoreError, Txn};

/// Writes `value` under `key` in `table`, bypassing the store's encoding.
fn tamper<K: redb::Key + 'static>(
    dir: &Path,
    table: TableDefinition<K, &'static [u8]>,
    key: K::SelfType<'_>,
    value: &[u8],
) {
    let db = Database::create(dir.join(STORE_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(table).unwrap().insert(key, value).unwrap();
    txn.commit().unwrap();
}

async fn store_with_two_keys(dir: &Path) {
    let store = RedbStore::open(dir).unwrap();
    store.put("good", b"fine".to_vec()).await.unwrap();
    store.put("bad", b"soon damaged".to_vec()).await.unwrap();
}

#[track_caller]
fn assert_corrupt<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Corrupt(_)) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn a_damaged_value_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    store_with_two_keys(dir.path()).await;
    tamper(dir.path(), KEYS, b"bad".as_slice(), &[1, 2, 3]);

    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.get("good").await.unwrap().unwrap().value, b"fine");
    assert_corrupt(store.get("bad").await);
    assert_corrupt(store.range("").await);
    assert_corrupt(store.range_between("a".."c").await);
    assert_corrupt(store.put("bad", Vec::new()).await);
    let txn = Txn { compare: vec![Compare::Value("bad".into(), Vec::new())], ..Txn::default() };
    assert_corrupt(store.txn(txn).await);
    // A failed write leaves the store usable.
    assert_eq!(store.put("good", b"still".to_vec()).await.unwrap(), 3);
}

#[tokio::test]
async fn a_key_that_is_not_utf8_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    store_with_two_keys(dir.path()).await;
    tamper(dir.path(), KEYS, [0xff, 0xfe].as_slice(), &[0; 24]);
    let store = RedbStore::open(dir.path()).unwrap();
    assert_corrupt(store.range("").await);
}

#[tokio::test]
async fn damaged_history_fails_the_watch_that_replays_it() {
    let dir = tempfile::tempdir().unwrap();
    store_with_two_keys(dir.path()).await;
    tamper(dir.path(), HISTORY, 2, &[7, 0, 0, 0, 0]);
    let store = RedbStore::open(dir.path()).unwrap();
    assert_corrupt(store.watch("", 1).await);
    // Watching after the damage is unaffected.
    let mut watch = store.watch("", 3).await.unwrap();
    store.put("new", Vec::new()).await.unwrap();
    assert!(matches!(watch.recv().await, Some(Ok(events)) if events.len() == 1));
}

#[tokio::test]
async fn a_damaged_revision_counter_fails_the_open() {
    let dir = tempfile::tempdir().unwrap();
    store_with_two_keys(dir.path()).await;
    tamper(dir.path(), META, b"revision".as_slice(), &[1, 2]);
    assert_corrupt(RedbStore::open(dir.path()));
}

#[test]
fn a_file_that_is_not_a_database_fails_the_open_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(STORE_FILE), vec![0x5a; 64 * 1024]).unwrap();
    let result = RedbStore::open(dir.path());
    assert!(
        matches!(result, Err(StoreError::Open { .. } | StoreError::Corrupt(_))),
        "expected a clean error, got {result:?}"
    );
}
