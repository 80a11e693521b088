//! What only the etcd backend has: prefixes that keep installations apart, a cluster that loses
//! members (and quorum) and gets them back, TLS with client certificates.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::etcd::{REQUEST_TIMEOUT, options, start_cluster};
use common::{assert_quiet, final_error, next_batch};
use store::{EtcdOptions, EtcdStore, EtcdTls, Event, Op, Store, StoreError, Txn};
use testbed::etcd::{EtcdCluster, EtcdServerTls};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_with_different_prefixes_do_not_see_each_other() {
    let cluster = start_cluster(3).await;
    let a = EtcdStore::connect(options(&cluster, "/site-a/")).await.unwrap();
    let b = EtcdStore::connect(options(&cluster, "/site-b/")).await.unwrap();
    let mut watch_a = a.watch("", 0).await.unwrap();
    a.put("module/3", b"a".to_vec()).await.unwrap();
    b.put("module/3", b"b".to_vec()).await.unwrap();
    b.put("only-b", Vec::new()).await.unwrap();

    assert_eq!(a.get("module/3").await.unwrap().unwrap().value, b"a");
    assert_eq!(b.get("module/3").await.unwrap().unwrap().value, b"b");
    assert_eq!(a.get("only-b").await.unwrap(), None);
    let keys: Vec<_> = a.range("").await.unwrap().kvs.into_iter().map(|kv| kv.key).collect();
    assert_eq!(keys, ["module/3"], "keys come back without the prefix");
    let batch = next_batch(&mut watch_a).await;
    assert!(
        matches!(&batch[..], [Event::Put { kv }] if kv.key == "module/3" && kv.value == b"a"),
        "{batch:?}"
    );

    // Deleting everything in one store leaves the other alone.
    a.txn(Txn { success: vec![Op::DeletePrefix { prefix: String::new() }], ..Txn::default() }).await.unwrap();
    assert!(
        matches!(&next_batch(&mut watch_a).await[..], [Event::Delete { prev, .. }] if prev.key == "module/3")
    );
    assert!(a.range("").await.unwrap().kvs.is_empty());
    assert_eq!(b.range("").await.unwrap().kvs.len(), 2);
    assert_quiet(&mut watch_a).await;
}

/// Kill a follower of three: nothing visible. Kill the leader too: writes fail within the
/// request timeout with `Unavailable`, health says so and watches end with an error. Bring both
/// back: writes work and health recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_that_loses_quorum_fails_cleanly_and_recovers() {
    let mut cluster = start_cluster(3).await;
    let store = EtcdStore::connect(options(&cluster, "/quorum/")).await.unwrap();
    store.put("before", b"1".to_vec()).await.unwrap();

    let leader = cluster.wait_for_leader();
    let follower = (leader + 1) % 3;
    cluster.kill(follower);
    for i in 0..20 {
        store.put(&format!("one-down/{i}"), Vec::new()).await.unwrap();
        assert_eq!(store.get("before").await.unwrap().unwrap().value, b"1");
    }
    assert!(store.health().ok, "{:?}", store.health());

    let mut watch = store.watch("", 0).await.unwrap();
    cluster.kill(leader);
    let started = Instant::now();
    match store.put("no-quorum", Vec::new()).await {
        Err(StoreError::Unavailable(reason)) => assert!(reason.contains("etcd"), "{reason}"),
        other => panic!("expected Unavailable without quorum, got {other:?}"),
    }
    let waited = started.elapsed();
    assert!(waited < REQUEST_TIMEOUT + Duration::from_secs(1), "the write failed only after {waited:?}");
    let health = store.health();
    assert!(!health.ok, "{health:?}");
    assert!(health.last_error.is_some() && health.last_error_unix_ms.is_some());
    // A watch does not outlive the quorum silently: it ends with an error, and the caller
    // watches again once the cluster is back.
    assert!(matches!(final_error(&mut watch).await, StoreError::Unavailable(_)));

    let _cluster = tokio::task::spawn_blocking(move || {
        cluster.restart(leader);
        cluster.restart(follower);
        cluster
    })
    .await
    .unwrap();
    let revision = put_until_it_works(&store, "after").await;
    let health = store.health();
    assert!(health.ok, "{health:?}");
    assert!(health.recoveries >= 1, "{health:?}");
    assert_eq!(store.get("before").await.unwrap().unwrap().value, b"1");
    let mut watch = store.watch("", revision).await.unwrap();
    assert!(matches!(&next_batch(&mut watch).await[..], [Event::Put { kv }] if kv.key == "after"));
}

/// Writes until one succeeds (within 20 s); only `Unavailable` may come before.
async fn put_until_it_works(store: &EtcdStore, key: &str) -> store::Revision {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match store.put(key, Vec::new()).await {
            Ok(revision) => return revision,
            Err(StoreError::Unavailable(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("writes did not come back: {error}"),
        }
    }
}

/// When the leader dies, reads keep working (they move to another member and wait out the
/// election), and writes work again as soon as there is a new leader. A write sent while the
/// old leader was dying may fail with `Unavailable` (etcd drops it; it cannot be repeated
/// blindly), never with anything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_survive_a_leader_failover_and_writes_resume() {
    let mut cluster = start_cluster(3).await;
    let mut options = options(&cluster, "/failover/");
    options.request_timeout = Duration::from_secs(5);
    let store = EtcdStore::connect(options).await.unwrap();
    store.put("kept", b"v".to_vec()).await.unwrap();
    let leader = cluster.wait_for_leader();
    cluster.kill(leader);
    let killed = Instant::now();
    while killed.elapsed() < Duration::from_secs(2) {
        assert_eq!(store.get("kept").await.unwrap().unwrap().value, b"v");
    }
    put_until_it_works(&store, "after").await;
    assert!(killed.elapsed() < Duration::from_secs(10), "writes came back only after {:?}", killed.elapsed());
    for i in 0..10 {
        store.put(&format!("steady/{i}"), Vec::new()).await.unwrap();
    }
}

#[tokio::test]
async fn a_store_with_no_reachable_member_fails_to_connect_with_unavailable() {
    let cluster = start_cluster(1).await;
    let mut options = options(&cluster, "");
    drop(cluster);
    options.request_timeout = Duration::from_millis(500);
    let started = Instant::now();
    match EtcdStore::connect(options).await {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    let no_endpoints = EtcdStore::connect(EtcdOptions::default()).await;
    assert!(
        matches!(no_endpoints, Err(StoreError::Unavailable(reason)) if reason.contains("no etcd endpoints"))
    );
}

/// TLS material: a CA, etcd's server certificate for 127.0.0.1, and a client certificate.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let lifetime = Duration::from_secs(3600);
        let ca = pki::Authority::generate("etcd test CA", now).unwrap();
        let server = ca.issue_server(&["127.0.0.1".to_string()], now, lifetime).unwrap();
        let client_key = pki::request::AgentKey::generate("supervisor").unwrap();
        let client = ca.issue_agent(&client_key.csr_pem, "supervisor", now, lifetime).unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("ca.pem", ca.cert_pem());
        write("server.pem", &server.issued.cert_pem);
        write("server-key.pem", &server.key_pem);
        write("client.pem", &client.cert_pem);
        write("client-key.pem", &client_key.key_pem);
        Self { dir }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_client_certificate_works_and_without_one_is_refused() {
    let pki = Pki::new();
    let server_tls = EtcdServerTls {
        ca: pki.path("ca.pem"),
        cert: pki.path("server.pem"),
        key: pki.path("server-key.pem"),
    };
    let cluster =
        tokio::task::spawn_blocking(move || EtcdCluster::start_with(1, Some(server_tls))).await.unwrap();
    // Endpoints as `parse_store_url` gives them: http, switched to https by the TLS settings.
    let endpoints: Vec<String> =
        cluster.endpoints().iter().map(|e| e.replace("https://", "http://")).collect();
    let with_tls = |cert: Option<&str>, key: Option<&str>| EtcdOptions {
        endpoints: endpoints.clone(),
        tls: Some(EtcdTls {
            ca: pki.path("ca.pem"),
            cert: cert.map(|c| pki.path(c)),
            key: key.map(|k| pki.path(k)),
        }),
        request_timeout: Duration::from_secs(2),
        ..EtcdOptions::default()
    };

    let store = EtcdStore::connect(with_tls(Some("client.pem"), Some("client-key.pem"))).await.unwrap();
    store.put("secure", b"yes".to_vec()).await.unwrap();
    assert_eq!(store.get("secure").await.unwrap().unwrap().value, b"yes");

    let refused = EtcdStore::connect(with_tls(None, None)).await;
    assert!(matches!(refused, Err(StoreError::Unavailable(_))), "{refused:?}");
    let half = EtcdStore::connect(with_tls(Some("client.pem"), None)).await;
    assert!(matches!(&half, Err(StoreError::Open { reason, .. }) if reason.contains("both")), "{half:?}");
    let missing = EtcdStore::connect(EtcdOptions {
        tls: Some(EtcdTls { ca: pki.path("absent.pem"), cert: None, key: None }),
        ..with_tls(None, None)
    })
    .await;
    assert!(
        matches!(&missing, Err(StoreError::Open { path, .. }) if path.ends_with("absent.pem")),
        "{missing:?}"
    );
}
