//! Measures the embedded store's write and read latency: sequential puts, guarded transactions
//! and gets, each durable write fsynced before it returns.
//!
//! `cargo run --release -p switchyard-store --example latency -- [OPS] [DATA_DIR]`
//! (defaults: 1000 operations, a temporary directory).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use store::{Compare, Op, RedbStore, Store, Txn};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let ops: usize = args.next().map_or(1000, |n| n.parse().expect("OPS is a number"));
    let temp = tempfile::tempdir().unwrap();
    let dir = args.next().map_or_else(|| temp.path().to_path_buf(), Into::into);
    let store = RedbStore::open(&dir).unwrap();
    let value = vec![0x5a; 256];

    let puts = time(ops, |i| {
        let (store, value) = (store.clone(), value.clone());
        async move {
            store.put(&format!("port-profile/{i:06}"), value).await.unwrap();
        }
    })
    .await;
    report("put, new key (256 B, durable)", &puts);

    let overwrites = time(ops, |i| {
        let (store, value) = (store.clone(), value.clone());
        async move {
            store.put(&format!("port-profile/{i:06}"), value).await.unwrap();
        }
    })
    .await;
    report("put, existing key (256 B, durable)", &overwrites);

    let txns = time(ops, |i| {
        let (store, value) = (store.clone(), value.clone());
        async move {
            let key = format!("port-profile/{i:06}");
            let current = store.get(&key).await.unwrap().unwrap().mod_revision;
            let response = store
                .txn(Txn {
                    compare: vec![Compare::ModRevision(key.clone(), current)],
                    success: vec![Op::Put { key, value }],
                    failure: vec![],
                })
                .await
                .unwrap();
            assert!(response.succeeded);
        }
    })
    .await;
    report("get + txn(compare mod_revision, put)", &txns);

    let gets = time(ops, |i| {
        let store = store.clone();
        async move {
            store.get(&format!("port-profile/{i:06}")).await.unwrap().unwrap();
        }
    })
    .await;
    report("get", &gets);

    let started = Instant::now();
    let range = store.range("port-profile/").await.unwrap();
    println!("range of {} keys: {:?}", range.kvs.len(), started.elapsed());
}

async fn time<F, Fut>(ops: usize, mut op: F) -> Vec<Duration>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(ops);
    for i in 0..ops {
        let started = Instant::now();
        op(i).await;
        samples.push(started.elapsed());
    }
    samples
}

fn report(what: &str, samples: &[Duration]) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let total: Duration = sorted.iter().sum();
    let n = u32::try_from(sorted.len()).unwrap();
    let at = |q: f64| sorted[((sorted.len() as f64 - 1.0) * q) as usize];
    println!(
        "{what}: {} ops, mean {:?}, p50 {:?}, p99 {:?}, max {:?}",
        sorted.len(),
        total / n,
        at(0.5),
        at(0.99),
        sorted[sorted.len() - 1]
    );
}
