//! Property test: random operation sequences give the same answers, state and watch events on
//! `RedbStore` as on a plain in-memory model of etcd's semantics.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use std::sync::Arc;

use common::model::Model;
use common::{assert_quiet, batches};
use proptest::prelude::*;
use store::{Compare, Op, RedbStore, Revision, Store, Txn};

const KEYS: &[&str] = &["a", "a/1", "a/2", "ab", "b", "b/1"];
const PREFIXES: &[&str] = &["", "a", "a/", "b", "c"];
const VALUES: &[&[u8]] = &[b"", b"x", b"y"];

/// A compare described relative to the model's state when it runs, so that both outcomes occur.
#[derive(Debug, Clone)]
enum CompareSpec {
    ModRevision { key: usize, offset: i64 },
    CreateRevision { key: usize, offset: i64 },
    Value { key: usize, value: usize },
}

#[derive(Debug, Clone)]
enum Action {
    Put {
        key: usize,
        value: usize,
    },
    Delete {
        key: usize,
    },
    Txn {
        compare: Vec<CompareSpec>,
        success: Vec<OpSpec>,
        failure: Vec<OpSpec>,
    },
    /// Start a watch on a prefix from a revision counted back from the current one, while a
    /// put races it, so that the replay-to-live handover happens mid-write.
    Watch {
        prefix: usize,
        back: i64,
        racing_put: usize,
    },
    Reopen,
}

#[derive(Debug, Clone)]
enum OpSpec {
    Put { key: usize, value: usize },
    Delete { key: usize },
    DeletePrefix { prefix: usize },
    Get { key: usize },
}

fn key() -> impl Strategy<Value = usize> {
    0..KEYS.len()
}

fn op() -> impl Strategy<Value = OpSpec> {
    prop_oneof![
        3 => (key(), 0..VALUES.len()).prop_map(|(key, value)| OpSpec::Put { key, value }),
        1 => key().prop_map(|key| OpSpec::Delete { key }),
        1 => (0..PREFIXES.len()).prop_map(|prefix| OpSpec::DeletePrefix { prefix }),
        1 => key().prop_map(|key| OpSpec::Get { key }),
    ]
}

fn compare() -> impl Strategy<Value = CompareSpec> {
    prop_oneof![
        (key(), -1..=1_i64).prop_map(|(key, offset)| CompareSpec::ModRevision { key, offset }),
        (key(), -1..=1_i64).prop_map(|(key, offset)| CompareSpec::CreateRevision { key, offset }),
        (key(), 0..VALUES.len()).prop_map(|(key, value)| CompareSpec::Value { key, value }),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (key(), 0..VALUES.len()).prop_map(|(key, value)| Action::Put { key, value }),
        2 => key().prop_map(|key| Action::Delete { key }),
        3 => (
            prop::collection::vec(compare(), 0..3),
            prop::collection::vec(op(), 0..4),
            prop::collection::vec(op(), 0..3)
        )
            .prop_map(|(compare, success, failure)| Action::Txn { compare, success, failure }),
        1 => (0..PREFIXES.len(), 0..6_i64, key())
            .prop_map(|(prefix, back, racing_put)| Action::Watch { prefix, back, racing_put }),
        1 => Just(Action::Reopen),
    ]
}

fn resolve_compare(spec: &CompareSpec, model: &Model) -> Compare {
    let revision_of =
        |key: usize, pick: fn(&store::KeyValue) -> Revision| model.get(KEYS[key]).map_or(0, |kv| pick(&kv));
    match *spec {
        CompareSpec::ModRevision { key, offset } => {
            Compare::ModRevision(KEYS[key].into(), revision_of(key, |kv| kv.mod_revision) + offset)
        }
        CompareSpec::CreateRevision { key, offset } => {
            Compare::CreateRevision(KEYS[key].into(), revision_of(key, |kv| kv.create_revision) + offset)
        }
        CompareSpec::Value { key, value } => Compare::Value(KEYS[key].into(), VALUES[value].to_vec()),
    }
}

fn resolve_op(spec: &OpSpec) -> Op {
    match *spec {
        OpSpec::Put { key, value } => Op::Put { key: KEYS[key].into(), value: VALUES[value].to_vec() },
        OpSpec::Delete { key } => Op::Delete { key: KEYS[key].into() },
        OpSpec::DeletePrefix { prefix } => Op::DeletePrefix { prefix: PREFIXES[prefix].into() },
        OpSpec::Get { key } => Op::Get { key: KEYS[key].into() },
    }
}

async fn check_state(store: &RedbStore, model: &Model) {
    assert_eq!(store.revision().await.unwrap(), model.revision);
    for prefix in PREFIXES {
        let range = store.range(prefix).await.unwrap();
        assert_eq!(range.kvs, model.range(prefix), "range {prefix:?}");
        assert_eq!(range.revision, model.revision);
    }
    let between = store.range_between("a/".."b").await.unwrap();
    assert_eq!(between.kvs, model.range_between("a/", "b"));
    for key in KEYS {
        assert_eq!(store.get(key).await.unwrap(), model.get(key), "get {key:?}");
    }
}

async fn run(actions: Vec<Action>) {
    let dir = tempfile::tempdir().unwrap();
    let mut store: Arc<RedbStore> = RedbStore::open(dir.path()).unwrap();
    let mut model = Model::default();
    // A watch from the very beginning sees everything, live.
    let mut watches = vec![("", 1, store.watch("", 1).await.unwrap())];
    for action in actions {
        match action {
            Action::Put { key, value } => {
                let got = store.put(KEYS[key], VALUES[value].to_vec()).await.unwrap();
                assert_eq!(got, model.put(KEYS[key], VALUES[value]));
            }
            Action::Delete { key } => {
                assert_eq!(store.delete(KEYS[key]).await.unwrap(), model.delete(KEYS[key]));
            }
            Action::Txn { compare, success, failure } => {
                let txn = Txn {
                    compare: compare.iter().map(|c| resolve_compare(c, &model)).collect(),
                    success: success.iter().map(resolve_op).collect(),
                    failure: failure.iter().map(resolve_op).collect(),
                };
                let want = model.txn(&txn);
                assert_eq!(store.txn(txn).await.unwrap(), want);
            }
            Action::Watch { prefix, back, racing_put } => {
                let start = (model.revision + 1 - back).max(1);
                let (watch, put) = tokio::join!(
                    store.watch(PREFIXES[prefix], start),
                    store.put(KEYS[racing_put], b"race".to_vec())
                );
                assert_eq!(put.unwrap(), model.put(KEYS[racing_put], b"race"));
                watches.push((PREFIXES[prefix], start, watch.unwrap()));
            }
            Action::Reopen => {
                // Watches end with the store; check what they saw so far, then start them again.
                let mut restarted = Vec::new();
                for (prefix, start, mut watch) in watches.drain(..) {
                    let want = model.watch_batches(prefix, start);
                    assert_eq!(batches(&mut watch, want.len()).await, want, "watch {prefix:?} from {start}");
                    restarted.push((prefix, start));
                }
                drop(store);
                store = common::reopen(dir.path()).await;
                for (prefix, start) in restarted {
                    watches.push((prefix, start, store.watch(prefix, start).await.unwrap()));
                }
            }
        }
        check_state(&store, &model).await;
    }
    for (prefix, start, mut watch) in watches {
        let want = model.watch_batches(prefix, start);
        assert_eq!(batches(&mut watch, want.len()).await, want, "watch {prefix:?} from {start}");
        assert_quiet(&mut watch).await;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn redb_store_matches_the_model(actions in prop::collection::vec(action(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(run(actions));
    }
}
