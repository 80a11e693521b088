//! Watch: replay from a revision, then live; no gaps or repeats at the handover; compaction;
//! slow consumers; shutdown.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use common::{assert_quiet, batches, event_revision, final_error, next_batch, temp_store, temp_store_with};
use store::{Event, Op, RedbStore, RedbStoreOptions, Store, StoreError, Txn};

fn revisions(batches: &[Vec<Event>]) -> Vec<i64> {
    batches.iter().map(|batch| event_revision(&batch[0])).collect()
}

#[tokio::test]
async fn replays_from_the_start_revision_then_follows_live() {
    let (_dir, store) = temp_store();
    for i in 0..3 {
        store.put(&format!("k{i}"), Vec::new()).await.unwrap();
    }
    let mut watch = store.watch("", 2).await.unwrap();
    assert_eq!(revisions(&batches(&mut watch, 2).await), [2, 3]);
    store.put("live", b"v".to_vec()).await.unwrap();
    let batch = next_batch(&mut watch).await;
    assert!(matches!(&batch[..], [Event::Put { kv }] if kv.key == "live" && kv.mod_revision == 4));
    assert_quiet(&mut watch).await;
}

#[tokio::test]
async fn start_zero_means_from_the_next_write() {
    let (_dir, store) = temp_store();
    store.put("old", Vec::new()).await.unwrap();
    let mut watch = store.watch("", 0).await.unwrap();
    store.put("new", Vec::new()).await.unwrap();
    assert_eq!(revisions(&[next_batch(&mut watch).await]), [2]);
    assert_quiet(&mut watch).await;
}

#[tokio::test]
async fn a_future_start_skips_revisions_before_it() {
    let (_dir, store) = temp_store();
    let mut watch = store.watch("", 3).await.unwrap();
    for i in 0..4 {
        store.put(&format!("k{i}"), Vec::new()).await.unwrap();
    }
    assert_eq!(revisions(&batches(&mut watch, 2).await), [3, 4]);
    assert_quiet(&mut watch).await;
}

#[tokio::test]
async fn a_watch_sees_only_its_prefix_and_a_txn_as_one_batch() {
    let (_dir, store) = temp_store();
    let mut watch = store.watch("vlan/", 1).await.unwrap();
    store.put("module/3", Vec::new()).await.unwrap();
    store
        .txn(Txn {
            success: vec![
                Op::Put { key: "vlan/10".into(), value: Vec::new() },
                Op::Put { key: "module/4".into(), value: Vec::new() },
                Op::Put { key: "vlan/20".into(), value: Vec::new() },
            ],
            ..Txn::default()
        })
        .await
        .unwrap();
    let batch = next_batch(&mut watch).await;
    let keys: Vec<_> = batch.iter().map(|e| common::model::event_key(e).to_string()).collect();
    assert_eq!(keys, ["vlan/10", "vlan/20"]);
    assert!(batch.iter().all(|e| event_revision(e) == 2));
    assert_quiet(&mut watch).await;
}

/// Watches started while a writer is busy must each see every revision exactly once, in order,
/// whether it arrived by replay or live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_gaps_or_repeats_across_the_replay_to_live_handover() {
    const WRITES: i64 = 200;
    let (_dir, store) = temp_store();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..WRITES {
                store.put(&format!("k{}", i % 7), i.to_le_bytes().to_vec()).await.unwrap();
            }
        })
    };
    // Start watchers while the writer runs (about one per write on this machine's disk).
    let mut watchers = Vec::new();
    for n in 0..40 {
        let current = store.revision().await.unwrap();
        // Alternate between replaying everything and starting right at the edge.
        let start = if n % 2 == 0 { 1 } else { current.max(1) };
        watchers.push((start, store.watch("", start).await.unwrap()));
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    writer.await.unwrap();
    for (start, mut watch) in watchers {
        let count = usize::try_from(WRITES - start + 1).unwrap();
        let got = revisions(&batches(&mut watch, count).await);
        let want: Vec<i64> = (start..=WRITES).collect();
        assert_eq!(got, want, "watch from {start}");
        assert_quiet(&mut watch).await;
    }
}

#[tokio::test]
async fn a_watch_from_a_compacted_revision_fails() {
    let options = RedbStoreOptions { history_limit: 5, ..RedbStoreOptions::default() };
    let (dir, store) = temp_store_with(options);
    for i in 0..20 {
        store.put(&format!("k{i}"), Vec::new()).await.unwrap();
    }
    assert_eq!(store.oldest_revision().await.unwrap(), 16);
    for start in [1, 15] {
        match store.watch("", start).await {
            Err(StoreError::Compacted { requested, oldest }) => assert_eq!((requested, oldest), (start, 16)),
            other => panic!("watch from {start}: expected Compacted, got {other:?}"),
        }
    }
    let mut watch = store.watch("", 16).await.unwrap();
    assert_eq!(revisions(&batches(&mut watch, 5).await), [16, 17, 18, 19, 20]);
    drop(watch);
    drop(store);

    // Reopening with a smaller limit compacts at once; the revision counter is unaffected.
    let options = RedbStoreOptions { history_limit: 3, ..RedbStoreOptions::default() };
    let store = RedbStore::open_with(dir.path(), options).unwrap();
    assert_eq!(store.oldest_revision().await.unwrap(), 18);
    assert_eq!(store.revision().await.unwrap(), 20);
    assert!(matches!(store.watch("", 17).await, Err(StoreError::Compacted { oldest: 18, .. })));
}

/// A consumer that stops reading overflows the live feed; it must catch up from disk, in order.
#[tokio::test]
async fn a_slow_watcher_catches_up_from_history() {
    let options =
        RedbStoreOptions { live_buffer: 2, watch_buffer: 1, replay_batch: 7, ..RedbStoreOptions::default() };
    let (_dir, store) = temp_store_with(options);
    let mut watch = store.watch("", 1).await.unwrap();
    for i in 0..60 {
        store.put(&format!("k{i}"), Vec::new()).await.unwrap();
    }
    let want: Vec<i64> = (1..=60).collect();
    assert_eq!(revisions(&batches(&mut watch, 60).await), want);
    store.put("after", Vec::new()).await.unwrap();
    assert_eq!(revisions(&[next_batch(&mut watch).await]), [61]);
    assert_quiet(&mut watch).await;
}

/// A consumer so slow that the history it needs is compacted gets an error and a closed stream
/// rather than buffering without bound.
#[tokio::test]
async fn a_watcher_behind_compaction_is_closed_with_an_error() {
    let options =
        RedbStoreOptions { history_limit: 5, live_buffer: 2, watch_buffer: 1, ..RedbStoreOptions::default() };
    let (_dir, store) = temp_store_with(options);
    let mut watch = store.watch("", 1).await.unwrap();
    for i in 0..50 {
        store.put(&format!("k{i}"), Vec::new()).await.unwrap();
    }
    assert!(matches!(final_error(&mut watch).await, StoreError::Compacted { .. }));
    assert!(watch.recv().await.is_none(), "the stream closes after the error");
}

#[tokio::test]
async fn dropping_the_store_closes_watches() {
    let (_dir, store) = temp_store();
    let mut watch = store.watch("", 1).await.unwrap();
    store.put("a", Vec::new()).await.unwrap();
    drop(store);
    assert!(matches!(final_error(&mut watch).await, StoreError::Closed));
    assert!(watch.recv().await.is_none());
}
