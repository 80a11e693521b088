//! Leases on the redb backend, where it differs from etcd in how: persisted TTLs restart on
//! reopen, and a store opened outside a runtime still expires its leases. (The semantics both
//! backends share are in `conformance.rs`.)
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use std::time::{Duration, Instant};

use common::{PATIENCE, next_batch, temp_store};
use store::{Event, LeaseId, Op, RedbStore, Store, StoreError, Txn};

async fn put_leased(store: &dyn Store, key: &str, lease: LeaseId) {
    let txn = Txn {
        success: vec![Op::PutLeased { key: key.into(), value: b"v".to_vec(), lease }],
        ..Txn::default()
    };
    store.txn(txn).await.unwrap();
}

/// Polls until `key` is gone.
async fn wait_until_gone(store: &dyn Store, key: &str) {
    let started = Instant::now();
    while store.get(key).await.unwrap().is_some() {
        assert!(started.elapsed() < PATIENCE, "{key} outlived its lease by far");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_reopened_store_gives_every_lease_its_full_ttl_again_then_expires_it() {
    let dir = tempfile::tempdir().unwrap();
    let lease = {
        let store = RedbStore::open(dir.path()).unwrap();
        let lease = store.grant_lease(Duration::from_secs(2)).await.unwrap();
        put_leased(store.as_ref(), "module/3", lease).await;
        store.put("config", b"kept".to_vec()).await.unwrap();
        lease
    };
    // Down for longer than the TTL: the lease would have expired had the store been running.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let store = common::reopen(dir.path()).await;
    let reopened = Instant::now();
    assert!(store.get("module/3").await.unwrap().is_some(), "the TTL restarts at the reopen");
    store.keep_alive(lease).await.unwrap();
    wait_until_gone(store.as_ref(), "module/3").await;
    let lived = reopened.elapsed();
    assert!(lived >= Duration::from_millis(1800), "expired after {lived:?}, before its TTL");
    assert!(
        matches!(store.keep_alive(lease).await, Err(StoreError::LeaseNotFound { lease: l }) if l == lease)
    );
    assert_eq!(store.get("config").await.unwrap().unwrap().value, b"kept");
    drop(store);

    // Expiry is durable: the lease and its key stay gone after another reopen.
    let store = common::reopen(dir.path()).await;
    assert_eq!(store.get("module/3").await.unwrap(), None);
    assert!(matches!(store.keep_alive(lease).await, Err(StoreError::LeaseNotFound { .. })));
}

/// The supervisor's tests open the store before they have a runtime; the expiry task starts
/// with the first call instead.
#[test]
fn a_store_opened_outside_a_runtime_still_expires_leases() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let lease = store.grant_lease(Duration::from_millis(1)).await.unwrap();
        let mut watch = store.watch("", 0).await.unwrap();
        put_leased(store.as_ref(), "a", lease).await;
        assert!(matches!(&next_batch(&mut watch).await[..], [Event::Put { .. }]));
        assert!(matches!(&next_batch(&mut watch).await[..], [Event::Delete { prev, .. }] if prev.key == "a"));
    });
}

#[tokio::test]
async fn dropping_the_store_stops_its_expiry_task() {
    let (dir, store) = temp_store();
    let lease = store.grant_lease(Duration::from_secs(1)).await.unwrap();
    put_leased(store.as_ref(), "a", lease).await;
    drop(store);
    // The file is free again at once: nothing else holds the store open.
    let store = common::reopen(dir.path()).await;
    assert!(store.get("a").await.unwrap().is_some());
}
