//! Real etcd clusters for the store's tests (`etcd` on PATH: Debian's etcd-server).

use std::time::Duration;

use store::{EtcdOptions, EtcdStore};
use testbed::etcd::EtcdCluster;

/// How long a request may take in tests: long enough for an election, short enough that a
/// test of an unavailable cluster stays quick.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts a cluster off the async threads (it polls and sleeps while members come up).
pub async fn start_cluster(members: usize) -> EtcdCluster {
    tokio::task::spawn_blocking(move || EtcdCluster::start(members)).await.expect("starting etcd panicked")
}

pub fn options(cluster: &EtcdCluster, prefix: &str) -> EtcdOptions {
    EtcdOptions {
        endpoints: cluster.endpoints(),
        prefix: prefix.to_string(),
        connect_timeout: Duration::from_secs(1),
        request_timeout: REQUEST_TIMEOUT,
        ..EtcdOptions::default()
    }
}

/// A 3-member cluster and a store on it under `prefix`.
pub async fn cluster_and_store(prefix: &str) -> (EtcdCluster, EtcdStore) {
    let cluster = start_cluster(3).await;
    let store = EtcdStore::connect(options(&cluster, prefix)).await.expect("connecting to etcd");
    (cluster, store)
}
