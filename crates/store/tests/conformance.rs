//! One suite, both backends: every case runs against a `RedbStore` in a temporary directory and
//! against an `EtcdStore` on a real 3-member etcd cluster started for the case (`etcd` on PATH:
//! Debian's etcd-server). Cases count revisions from the store's revision when they start (a
//! new etcd is at revision 1, a new redb file at 0).
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{PATIENCE, assert_quiet, batches, event_revision, next_batch};
use store::{Compare, Event, KeyValue, LeaseId, Op, Revision, Store, StoreError, Txn};

/// A store under test and whatever keeps it alive (a directory, an etcd cluster).
struct Subject {
    store: Arc<dyn Store>,
    backend: &'static str,
    _keep: Box<dyn Send>,
}

async fn redb() -> Subject {
    let (dir, store) = common::temp_store();
    Subject { store, backend: "redb", _keep: Box::new(dir) }
}

async fn etcd() -> Subject {
    let (cluster, store) = common::etcd::cluster_and_store("/conformance/").await;
    Subject { store: Arc::new(store), backend: "etcd", _keep: Box::new(cluster) }
}

/// Runs each case once per backend: `redb::case` and `etcd::case`.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod redb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::redb().await).await;
                }
            )*
        }
        mod etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::etcd().await).await;
                }
            )*
        }
    };
}

conformance!(
    puts_and_deletes_track_revisions_and_versions,
    ranges_are_in_key_order,
    txn_compares_choose_the_branch,
    delete_prefix_deletes_exactly_the_prefix_in_one_revision,
    watch_replays_from_a_revision_then_follows_live,
    watch_from_zero_starts_at_the_next_write,
    compaction_fails_older_watches_and_refuses_the_future,
    a_watcher_behind_compaction_resumes_without_missing_events,
    leased_keys_expire_together_and_watchers_see_the_deletes,
    keep_alive_extends_a_lease,
    revoke_deletes_the_keys_in_one_revision,
    a_plain_put_detaches_a_key_and_a_dead_lease_fails_the_whole_txn,
);

fn put(key: &str, value: &[u8]) -> Op {
    Op::Put { key: key.into(), value: value.to_vec() }
}

fn put_leased(key: &str, value: &[u8], lease: LeaseId) -> Op {
    Op::PutLeased { key: key.into(), value: value.to_vec(), lease }
}

fn keys(kvs: &[KeyValue]) -> Vec<&str> {
    kvs.iter().map(|kv| kv.key.as_str()).collect()
}

fn revisions(batches: &[Vec<Event>]) -> Vec<Revision> {
    batches.iter().map(|batch| event_revision(&batch[0])).collect()
}

/// The deletes of one batch as (key, previous value, delete revision).
fn deletes(batch: &[Event]) -> Vec<(String, Vec<u8>, Revision)> {
    batch
        .iter()
        .map(|event| match event {
            Event::Delete { prev, mod_revision } => (prev.key.clone(), prev.value.clone(), *mod_revision),
            Event::Put { kv } => panic!("expected a delete, got a put of {}", kv.key),
        })
        .collect()
}

async fn puts_and_deletes_track_revisions_and_versions(subject: Subject) {
    let store = &subject.store;
    let health = store.health();
    assert!(health.ok, "{health:?}");
    assert_eq!(health.backend, subject.backend);
    let base = store.revision().await.unwrap();
    assert_eq!(store.get("a").await.unwrap(), None);
    assert_eq!(store.put("a", b"1".to_vec()).await.unwrap(), base + 1);
    let kv = store.get("a").await.unwrap().unwrap();
    assert_eq!((kv.key.as_str(), kv.value.as_slice()), ("a", &b"1"[..]));
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (base + 1, base + 1, 1));
    assert_eq!(store.put("a", b"2".to_vec()).await.unwrap(), base + 2);
    let kv = store.get("a").await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (base + 1, base + 2, 2));
    assert_eq!(store.put("b", Vec::new()).await.unwrap(), base + 3);
    assert_eq!(store.delete("a").await.unwrap(), Some(base + 4));
    assert_eq!(store.delete("a").await.unwrap(), None, "deleting an absent key writes nothing");
    assert_eq!(store.revision().await.unwrap(), base + 4);
    assert_eq!(store.get("a").await.unwrap(), None);
    // A deleted key starts afresh.
    assert_eq!(store.put("a", b"3".to_vec()).await.unwrap(), base + 5);
    let kv = store.get("a").await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (base + 5, base + 5, 1));
    assert!(store.health().ok);
}

async fn ranges_are_in_key_order(subject: Subject) {
    let store = &subject.store;
    for key in
        ["port-profile/web", "module/3", "port-profile/db", "port-profile", "port-profilex", "d", "b", "c"]
    {
        store.put(key, key.as_bytes().to_vec()).await.unwrap();
    }
    let current = store.revision().await.unwrap();
    let range = store.range("port-profile/").await.unwrap();
    assert_eq!(keys(&range.kvs), ["port-profile/db", "port-profile/web"]);
    assert_eq!(range.kvs[0].value, b"port-profile/db");
    assert_eq!(range.revision, current);
    let all = store.range("").await.unwrap();
    assert_eq!(
        keys(&all.kvs),
        ["b", "c", "d", "module/3", "port-profile", "port-profile/db", "port-profile/web", "port-profilex"]
    );
    assert!(store.range("vlan/").await.unwrap().kvs.is_empty());
    let between = store.range_between("c".."port-profile/").await.unwrap();
    assert_eq!(keys(&between.kvs), ["c", "d", "module/3", "port-profile"]);
    assert_eq!(between.revision, current);
    assert_eq!(keys(&store.range_between("".."c").await.unwrap().kvs), ["b"]);
    assert!(store.range_between("d".."b").await.unwrap().kvs.is_empty());
    let empty = store.range_between("b".."b").await.unwrap();
    assert!(empty.kvs.is_empty());
    assert_eq!(empty.revision, current);
}

async fn txn_compares_choose_the_branch(subject: Subject) {
    let store = &subject.store;
    let rev = store.put("lock", b"free".to_vec()).await.unwrap();
    let response = store
        .txn(Txn {
            compare: vec![
                Compare::ModRevision("lock".into(), rev),
                Compare::CreateRevision("lock".into(), rev),
                Compare::Value("lock".into(), b"free".to_vec()),
                Compare::ModRevision("absent".into(), 0),
                Compare::CreateRevision("absent".into(), 0),
            ],
            success: vec![put("lock", b"held"), put("owner", b"vsm-1"), Op::Get { key: "lock".into() }],
            failure: vec![put("lost", b"")],
        })
        .await
        .unwrap();
    assert!(response.succeeded);
    // Both puts share one revision, and a get inside the transaction sees the put before it.
    assert_eq!(response.revision, rev + 1);
    let got = response.gets[0].clone().unwrap();
    assert_eq!((got.value.as_slice(), got.mod_revision, got.version), (&b"held"[..], rev + 1, 2));
    assert_eq!(store.get("owner").await.unwrap().unwrap().mod_revision, rev + 1);
    assert_eq!(store.get("lost").await.unwrap(), None);

    for compare in [
        Compare::ModRevision("lock".into(), rev),
        Compare::CreateRevision("lock".into(), 0),
        Compare::Value("lock".into(), b"free".to_vec()),
        Compare::Value("absent".into(), Vec::new()),
        Compare::ModRevision("absent".into(), rev),
    ] {
        let response = store
            .txn(Txn {
                compare: vec![compare.clone()],
                success: vec![put("won", b"")],
                failure: vec![Op::Get { key: "lock".into() }, Op::Get { key: "absent".into() }],
            })
            .await
            .unwrap();
        assert!(!response.succeeded, "{compare:?} should fail");
        assert_eq!(response.revision, rev + 1, "a read-only branch writes nothing");
        assert_eq!(response.gets.len(), 2);
        assert_eq!(response.gets[0].as_ref().unwrap().value, b"held");
        assert_eq!(response.gets[1], None);
    }
    assert_eq!(store.get("won").await.unwrap(), None);
    assert_eq!(store.revision().await.unwrap(), rev + 1);
}

async fn delete_prefix_deletes_exactly_the_prefix_in_one_revision(subject: Subject) {
    let store = &subject.store;
    for key in ["module/3/port/1", "module/3/port/2", "module/30/port/1", "module/4/port/1"] {
        store.put(key, key.as_bytes().to_vec()).await.unwrap();
    }
    let before = store.revision().await.unwrap();
    let mut watch = store.watch("module/", before + 1).await.unwrap();
    let response = store
        .txn(Txn { success: vec![Op::DeletePrefix { prefix: "module/3/".into() }], ..Txn::default() })
        .await;
    assert_eq!(response.unwrap().revision, before + 1);
    assert_eq!(keys(&store.range("").await.unwrap().kvs), ["module/30/port/1", "module/4/port/1"]);
    assert_eq!(
        deletes(&next_batch(&mut watch).await),
        [
            ("module/3/port/1".to_string(), b"module/3/port/1".to_vec(), before + 1),
            ("module/3/port/2".to_string(), b"module/3/port/2".to_vec(), before + 1)
        ]
    );
    // A prefix that matches nothing writes nothing.
    let response =
        store.txn(Txn { success: vec![Op::DeletePrefix { prefix: "vlan/".into() }], ..Txn::default() }).await;
    assert_eq!(response.unwrap().revision, before + 1);
    assert_quiet(&mut watch).await;
}

async fn watch_replays_from_a_revision_then_follows_live(subject: Subject) {
    let store = &subject.store;
    let base = store.revision().await.unwrap();
    for i in 0..3 {
        store.put(&format!("k/{i}"), format!("v{i}").into_bytes()).await.unwrap();
    }
    let mut watch = store.watch("k/", base + 2).await.unwrap();
    assert_eq!(revisions(&batches(&mut watch, 2).await), [base + 2, base + 3]);

    store.put("other", Vec::new()).await.unwrap(); // base + 4: not under the prefix
    store.put("k/3", b"live".to_vec()).await.unwrap(); // base + 5
    let batch = next_batch(&mut watch).await;
    assert!(
        matches!(&batch[..], [Event::Put { kv }] if kv.key == "k/3" && kv.value == b"live" && kv.mod_revision == base + 5),
        "{batch:?}"
    );
    store.delete("k/1").await.unwrap(); // base + 6
    let batch = next_batch(&mut watch).await;
    match &batch[..] {
        [Event::Delete { prev, mod_revision }] => {
            assert_eq!(*mod_revision, base + 6);
            assert_eq!((prev.key.as_str(), prev.value.as_slice()), ("k/1", &b"v1"[..]));
            assert_eq!((prev.create_revision, prev.mod_revision, prev.version), (base + 2, base + 2, 1));
        }
        other => panic!("expected one delete, got {other:?}"),
    }
    // A transaction is one batch, in operation order.
    store
        .txn(Txn { success: vec![put("k/5", b""), put("x", b""), put("k/4", b"")], ..Txn::default() })
        .await
        .unwrap();
    let batch = next_batch(&mut watch).await;
    let batch_keys: Vec<_> = batch.iter().map(|e| common::model::event_key(e).to_string()).collect();
    assert_eq!(batch_keys, ["k/5", "k/4"]);
    assert!(batch.iter().all(|e| event_revision(e) == base + 7));
    assert_quiet(&mut watch).await;
}

async fn watch_from_zero_starts_at_the_next_write(subject: Subject) {
    let store = &subject.store;
    store.put("old", Vec::new()).await.unwrap();
    let mut watch = store.watch("", 0).await.unwrap();
    let revision = store.put("new", Vec::new()).await.unwrap();
    assert_eq!(revisions(&[next_batch(&mut watch).await]), [revision]);
    assert_quiet(&mut watch).await;
}

async fn compaction_fails_older_watches_and_refuses_the_future(subject: Subject) {
    let store = &subject.store;
    let base = store.revision().await.unwrap();
    for i in 0..5 {
        store.put(&format!("k{i}"), Vec::new()).await.unwrap();
    }
    store.compact(base + 4).await.unwrap();
    match store.watch("", base + 3).await {
        Err(StoreError::Compacted { requested, oldest }) => {
            assert_eq!((requested, oldest), (base + 3, base + 4))
        }
        other => panic!("expected Compacted, got {other:?}"),
    }
    let mut watch = store.watch("", base + 4).await.unwrap();
    assert_eq!(revisions(&batches(&mut watch, 2).await), [base + 4, base + 5]);
    // Compacting again, or less far, is a no-op.
    store.compact(base + 4).await.unwrap();
    store.compact(base + 2).await.unwrap();
    match store.compact(base + 50).await {
        Err(StoreError::FutureRevision { requested, current }) => {
            assert_eq!((requested, current), (base + 50, base + 5))
        }
        other => panic!("expected FutureRevision, got {other:?}"),
    }
    // Compaction drops history, not keys.
    assert_eq!(store.range("k").await.unwrap().kvs.len(), 5);
}

/// A watcher that was away while history was compacted past it gets `Compacted`; re-reading
/// and watching from the read's revision + 1 — while a writer keeps going — then misses
/// nothing: the read plus the events equals the final state.
async fn a_watcher_behind_compaction_resumes_without_missing_events(subject: Subject) {
    let store = &subject.store;
    let seen = store.put("w/0", b"0".to_vec()).await.unwrap();
    for i in 1..10 {
        store.put(&format!("w/{}", i % 4), i.to_string().into_bytes()).await.unwrap();
    }
    store.compact(store.revision().await.unwrap()).await.unwrap();
    assert!(matches!(store.watch("w/", seen + 1).await, Err(StoreError::Compacted { .. })));

    let writer = {
        let store = Arc::clone(store);
        tokio::spawn(async move {
            let mut last = 0;
            for i in 10..60 {
                let key = format!("w/{}", i % 7);
                last = if i % 5 == 0 {
                    store.delete(&key).await.unwrap().unwrap_or(last)
                } else {
                    store.put(&key, i.to_string().into_bytes()).await.unwrap()
                };
            }
            last
        })
    };
    tokio::time::sleep(Duration::from_millis(5)).await; // let the writer get going
    let snapshot = store.range("w/").await.unwrap();
    let mut watch = store.watch("w/", snapshot.revision + 1).await.unwrap();
    let last = writer.await.unwrap();

    let mut state: BTreeMap<String, KeyValue> =
        snapshot.kvs.into_iter().map(|kv| (kv.key.clone(), kv)).collect();
    let mut previous = snapshot.revision;
    while previous < last {
        let batch = next_batch(&mut watch).await;
        let revision = event_revision(&batch[0]);
        assert!(revision > previous, "revision {revision} after {previous}: repeated or out of order");
        previous = revision;
        for event in batch {
            match event {
                Event::Put { kv } => state.insert(kv.key.clone(), kv),
                Event::Delete { prev, .. } => state.remove(&prev.key),
            };
        }
    }
    let after: Vec<KeyValue> = state.into_values().collect();
    assert_eq!(after, store.range("w/").await.unwrap().kvs);
    assert_quiet(&mut watch).await;
}

async fn leased_keys_expire_together_and_watchers_see_the_deletes(subject: Subject) {
    let store = &subject.store;
    let granted = Instant::now();
    // 300 ms rounds up to the 1 s minimum.
    let lease = store.grant_lease(Duration::from_millis(300)).await.unwrap();
    let mut watch = store.watch("lease/", 0).await.unwrap();
    let written = store
        .txn(Txn {
            success: vec![
                put_leased("lease/a", b"a", lease),
                put_leased("lease/b", b"b", lease),
                put("lease/plain", b"p"),
            ],
            ..Txn::default()
        })
        .await
        .unwrap()
        .revision;
    assert_eq!(next_batch(&mut watch).await.len(), 3);
    let expired = next_batch(&mut watch).await;
    assert!(granted.elapsed() >= Duration::from_millis(950), "expired after {:?}", granted.elapsed());
    assert_eq!(
        deletes(&expired),
        [
            ("lease/a".to_string(), b"a".to_vec(), written + 1),
            ("lease/b".to_string(), b"b".to_vec(), written + 1)
        ]
    );
    assert_eq!(keys(&store.range("lease/").await.unwrap().kvs), ["lease/plain"]);
    assert!(
        matches!(store.keep_alive(lease).await, Err(StoreError::LeaseNotFound { lease: l }) if l == lease)
    );
    assert_quiet(&mut watch).await;
}

async fn keep_alive_extends_a_lease(subject: Subject) {
    let store = &subject.store;
    let lease = store.grant_lease(Duration::from_secs(1)).await.unwrap();
    store.txn(Txn { success: vec![put_leased("alive", b"", lease)], ..Txn::default() }).await.unwrap();
    let renewing = Instant::now();
    while renewing.elapsed() < Duration::from_millis(3000) {
        store.keep_alive(lease).await.unwrap();
        assert!(store.get("alive").await.unwrap().is_some(), "expired while renewed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Left alone, it expires.
    let stopped = Instant::now();
    while store.get("alive").await.unwrap().is_some() {
        assert!(stopped.elapsed() < PATIENCE, "the lease outlived its TTL by far");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        stopped.elapsed() >= Duration::from_millis(700),
        "expired {:?} after the last renewal",
        stopped.elapsed()
    );
}

async fn revoke_deletes_the_keys_in_one_revision(subject: Subject) {
    let store = &subject.store;
    let lease = store.grant_lease(Duration::from_secs(60)).await.unwrap();
    let other = store.grant_lease(Duration::from_secs(60)).await.unwrap();
    assert_ne!(lease, other);
    store
        .txn(Txn {
            success: vec![
                put_leased("x", b"x", lease),
                put_leased("y", b"y", lease),
                put_leased("z", b"z", other),
            ],
            ..Txn::default()
        })
        .await
        .unwrap();
    let before = store.revision().await.unwrap();
    let mut watch = store.watch("", before + 1).await.unwrap();
    store.revoke_lease(lease).await.unwrap();
    assert_eq!(
        deletes(&next_batch(&mut watch).await),
        [("x".to_string(), b"x".to_vec(), before + 1), ("y".to_string(), b"y".to_vec(), before + 1)]
    );
    assert_eq!(store.revision().await.unwrap(), before + 1);
    assert_eq!(keys(&store.range("").await.unwrap().kvs), ["z"]);
    store.revoke_lease(lease).await.unwrap();
    assert!(matches!(store.keep_alive(lease).await, Err(StoreError::LeaseNotFound { .. })));
    store.keep_alive(other).await.unwrap();
    assert_quiet(&mut watch).await;
}

async fn a_plain_put_detaches_a_key_and_a_dead_lease_fails_the_whole_txn(subject: Subject) {
    let store = &subject.store;
    let lease = store.grant_lease(Duration::from_secs(60)).await.unwrap();
    store
        .txn(Txn {
            success: vec![put_leased("k1", b"1", lease), put_leased("k2", b"2", lease)],
            ..Txn::default()
        })
        .await
        .unwrap();
    store.put("k1", b"plain".to_vec()).await.unwrap();
    store.delete("k2").await.unwrap();
    store.put("k2", b"again".to_vec()).await.unwrap();
    let before = store.revision().await.unwrap();
    store.revoke_lease(lease).await.unwrap();
    assert_eq!(store.revision().await.unwrap(), before, "the lease had no keys left to delete");
    assert_eq!(keys(&store.range("k").await.unwrap().kvs), ["k1", "k2"]);

    let dead = Txn { success: vec![put("written", b""), put_leased("x", b"", lease)], ..Txn::default() };
    match store.txn(dead).await {
        Err(StoreError::LeaseNotFound { lease: l }) => assert_eq!(l, lease),
        other => panic!("expected LeaseNotFound, got {other:?}"),
    }
    assert_eq!(store.get("written").await.unwrap(), None, "nothing of the failed transaction is written");
    assert_eq!(store.revision().await.unwrap(), before);
    // Only the branch that runs needs live leases.
    let response = store
        .txn(Txn {
            compare: vec![Compare::Value("k1".into(), b"other".to_vec())],
            success: vec![put_leased("x", b"", lease)],
            failure: vec![put("fallback", b"")],
        })
        .await
        .unwrap();
    assert!(!response.succeeded);
    assert!(store.get("fallback").await.unwrap().is_some());
}
