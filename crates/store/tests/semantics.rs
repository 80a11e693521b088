//! etcd's data model on the redb backend: revisions, versions, transactions, ranges, reopen.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use common::temp_store;
use store::{Compare, Event, Op, RedbStore, Store, Txn};

#[tokio::test]
async fn a_new_store_is_at_revision_zero() {
    let (_dir, store) = temp_store();
    assert_eq!(store.revision().await.unwrap(), 0);
    assert_eq!(store.get("a").await.unwrap(), None);
    let range = store.range("").await.unwrap();
    assert!(range.kvs.is_empty());
    assert_eq!(range.revision, 0);
}

#[tokio::test]
async fn every_write_bumps_one_global_revision() {
    let (_dir, store) = temp_store();
    assert_eq!(store.put("a", b"1".to_vec()).await.unwrap(), 1);
    assert_eq!(store.put("b", b"1".to_vec()).await.unwrap(), 2);
    assert_eq!(store.put("a", b"2".to_vec()).await.unwrap(), 3);
    assert_eq!(store.delete("b").await.unwrap(), Some(4));
    assert_eq!(store.revision().await.unwrap(), 4);
}

#[tokio::test]
async fn keys_track_create_and_mod_revision_and_version() {
    let (_dir, store) = temp_store();
    store.put("other", b"x".to_vec()).await.unwrap();
    store.put("k", b"v1".to_vec()).await.unwrap();
    store.put("k", b"v2".to_vec()).await.unwrap();
    store.put("k", b"v2".to_vec()).await.unwrap();
    let kv = store.get("k").await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (2, 4, 3));
    assert_eq!(kv.value, b"v2");

    // Deleting resets the key: it is created afresh, at version 1.
    store.delete("k").await.unwrap();
    store.put("k", b"v3".to_vec()).await.unwrap();
    let kv = store.get("k").await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (6, 6, 1));
}

#[tokio::test]
async fn deleting_an_absent_key_writes_nothing() {
    let (_dir, store) = temp_store();
    store.put("a", b"1".to_vec()).await.unwrap();
    assert_eq!(store.delete("missing").await.unwrap(), None);
    assert_eq!(store.revision().await.unwrap(), 1);
}

#[tokio::test]
async fn range_is_by_prefix_in_key_order() {
    let (_dir, store) = temp_store();
    for key in ["port-profile/web", "module/3", "port-profile/db", "port-profile", "port-profilex"] {
        store.put(key, key.as_bytes().to_vec()).await.unwrap();
    }
    let range = store.range("port-profile/").await.unwrap();
    let keys: Vec<_> = range.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["port-profile/db", "port-profile/web"]);
    assert_eq!(range.revision, 5);
    assert_eq!(store.range("").await.unwrap().kvs.len(), 5);
}

#[tokio::test]
async fn range_between_is_half_open() {
    let (_dir, store) = temp_store();
    for key in ["a", "b", "c", "d"] {
        store.put(key, Vec::new()).await.unwrap();
    }
    let keys = |r: store::RangeResponse| r.kvs.into_iter().map(|kv| kv.key).collect::<Vec<_>>();
    assert_eq!(keys(store.range_between("b".."d").await.unwrap()), ["b", "c"]);
    assert_eq!(keys(store.range_between("".."b").await.unwrap()), ["a"]);
    assert!(keys(store.range_between("d".."b").await.unwrap()).is_empty());
    assert!(keys(store.range_between("b".."b").await.unwrap()).is_empty());
}

#[tokio::test]
async fn txn_runs_success_when_every_compare_holds() {
    let (_dir, store) = temp_store();
    let rev = store.put("lock", b"free".to_vec()).await.unwrap();
    let response = store
        .txn(Txn {
            compare: vec![
                Compare::ModRevision("lock".into(), rev),
                Compare::CreateRevision("lock".into(), rev),
                Compare::Value("lock".into(), b"free".to_vec()),
                Compare::ModRevision("absent".into(), 0),
            ],
            success: vec![
                Op::Put { key: "lock".into(), value: b"held".to_vec() },
                Op::Put { key: "owner".into(), value: b"vsm-1".to_vec() },
                Op::Get { key: "lock".into() },
            ],
            failure: vec![Op::Put { key: "lost".into(), value: Vec::new() }],
        })
        .await
        .unwrap();
    assert!(response.succeeded);
    // Both puts share one revision, and a get inside the transaction sees the put before it.
    assert_eq!(response.revision, rev + 1);
    assert_eq!(response.gets.len(), 1);
    let got = response.gets[0].clone().unwrap();
    assert_eq!((got.value.as_slice(), got.mod_revision, got.version), (&b"held"[..], rev + 1, 2));
    assert_eq!(store.get("owner").await.unwrap().unwrap().mod_revision, rev + 1);
    assert_eq!(store.get("lost").await.unwrap(), None);
}

#[tokio::test]
async fn txn_runs_failure_when_a_compare_fails() {
    let (_dir, store) = temp_store();
    let rev = store.put("lock", b"held".to_vec()).await.unwrap();
    for compare in [
        Compare::ModRevision("lock".into(), rev + 7),
        Compare::CreateRevision("lock".into(), 0),
        Compare::Value("lock".into(), b"free".to_vec()),
        Compare::Value("absent".into(), Vec::new()),
    ] {
        let response = store
            .txn(Txn {
                compare: vec![compare.clone()],
                success: vec![Op::Put { key: "won".into(), value: Vec::new() }],
                failure: vec![Op::Get { key: "lock".into() }],
            })
            .await
            .unwrap();
        assert!(!response.succeeded, "{compare:?} should fail");
        assert_eq!(response.revision, rev, "a read-only branch writes nothing");
        assert_eq!(response.gets[0].as_ref().unwrap().value, b"held");
    }
    assert_eq!(store.get("won").await.unwrap(), None);
    assert_eq!(store.revision().await.unwrap(), rev);
}

#[tokio::test]
async fn delete_prefix_removes_exactly_the_prefix_in_one_revision() {
    let (_dir, store) = temp_store();
    for key in ["module/3/port/1", "module/3/port/2", "module/30/port/1", "module/4/port/1"] {
        store.put(key, Vec::new()).await.unwrap();
    }
    let mut watch = store.watch("module/", 5).await.unwrap();
    let response = store
        .txn(Txn { success: vec![Op::DeletePrefix { prefix: "module/3/".into() }], ..Txn::default() })
        .await
        .unwrap();
    assert_eq!(response.revision, 5);
    let left: Vec<_> = store.range("").await.unwrap().kvs.into_iter().map(|kv| kv.key).collect();
    assert_eq!(left, ["module/30/port/1", "module/4/port/1"]);

    let batch = common::next_batch(&mut watch).await;
    let deleted: Vec<_> = batch
        .iter()
        .map(|event| match event {
            Event::Delete { prev, mod_revision } => (prev.key.as_str(), *mod_revision),
            Event::Put { .. } => panic!("unexpected put"),
        })
        .collect();
    assert_eq!(deleted, [("module/3/port/1", 5), ("module/3/port/2", 5)]);

    // A prefix that matches nothing writes nothing.
    let response = store
        .txn(Txn { success: vec![Op::DeletePrefix { prefix: "vlan/".into() }], ..Txn::default() })
        .await
        .unwrap();
    assert_eq!(response.revision, 5);
}

#[tokio::test]
async fn reopening_keeps_keys_metadata_and_the_revision_counter() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let store = RedbStore::open(dir.path()).unwrap();
        store.put("a", b"1".to_vec()).await.unwrap();
        store.put("a", b"2".to_vec()).await.unwrap();
        store.put("b", b"1".to_vec()).await.unwrap();
        // The last write is a delete, so only the counter can remember revision 4.
        store.delete("b").await.unwrap();
        store.range("").await.unwrap()
    };
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.revision().await.unwrap(), 4);
    assert_eq!(store.range("").await.unwrap(), before);
    assert_eq!(store.put("c", Vec::new()).await.unwrap(), 5);
    // History survives too: a watch can replay from before the restart.
    let mut watch = store.watch("", 3).await.unwrap();
    let batches = common::batches(&mut watch, 3).await;
    let revisions: Vec<_> = batches.iter().map(|b| common::event_revision(&b[0])).collect();
    assert_eq!(revisions, [3, 4, 5]);
}

#[tokio::test]
async fn the_store_file_is_created_in_a_new_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("nested/data");
    let store = RedbStore::open(&data_dir).unwrap();
    store.put("a", Vec::new()).await.unwrap();
    assert!(RedbStore::file_path(&data_dir).is_file());
}

#[tokio::test]
async fn a_second_open_of_the_same_file_fails_cleanly() {
    let (dir, _store) = temp_store();
    let error = RedbStore::open(dir.path()).unwrap_err();
    assert!(matches!(error, store::StoreError::Open { .. }), "{error}");
}

#[tokio::test]
async fn works_behind_the_object_safe_trait() {
    let (_dir, store) = temp_store();
    let shared: std::sync::Arc<dyn Store> = store;
    assert_eq!(shared.put("a", Vec::new()).await.unwrap(), 1);
    assert_eq!(shared.get("a").await.unwrap().unwrap().version, 1);
}
