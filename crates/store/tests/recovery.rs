//! A redb store that survives its disk: on a tmpfs that fills up, writes fail cleanly; once the
//! tmpfs grows, writes work again without anyone reopening the store, health tells the story,
//! and a watch opened before the failure carries on. Needs root (it mounts a tmpfs).
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{assert_quiet, batches, event_revision, next_batch};
use store::{RedbStore, Store, StoreError};

/// A tmpfs mounted on a fresh directory; unmounted on drop (lazily if something still holds it).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Self {
        assert!(testbed::netns::is_root(), "this test mounts a tmpfs: run it as root");
        let dir = tempfile::tempdir().unwrap();
        let tmpfs = Self { dir };
        tmpfs.mount_command(&["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"]);
        tmpfs
    }

    fn resize(&self, size: &str) {
        self.mount_command(&["-o", &format!("remount,size={size}")]);
    }

    fn mount_command(&self, args: &[&str]) {
        let path = self.dir.path().to_str().unwrap();
        let mut full = args.to_vec();
        full.push(path);
        testbed::command::must_run("mount", &full);
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let path = self.dir.path();
        let unmounted = Command::new("umount").arg(path).status().is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(path).status();
        }
    }
}

const VALUE: usize = 64 * 1024;

/// Everything the store logs, for counting (this binary's only test installs it globally,
/// since the store logs from tokio's blocking threads).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn install() -> Self {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    }

    fn count(&self, text: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap()).matches(text).count()
    }
}

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_cleanly_and_the_store_recovers_when_space_returns() {
    let logs = Logs::install();
    let tmpfs = Tmpfs::mount("2m");
    let store = RedbStore::open(&tmpfs.path().join("data")).unwrap();
    let mut watch = store.watch("", 1).await.unwrap();

    // Fill the disk: every write either succeeds or fails with a clean I/O error.
    let mut acknowledged = 0;
    let error = loop {
        match store.put(&format!("fill/{acknowledged:04}"), vec![0x5a; VALUE]).await {
            Ok(revision) => {
                acknowledged += 1;
                assert_eq!(revision, acknowledged);
                assert!(acknowledged < 100, "a 2 MB tmpfs took {acknowledged} writes of 64 KiB");
            }
            Err(error) => break error,
        }
    };
    assert!(acknowledged > 0, "not even one write fit");
    match &error {
        StoreError::Io(reason) => assert!(reason.contains("No space left on device"), "{reason}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    // Still full: later writes fail too, cleanly, and reads keep working in between.
    for _ in 0..3 {
        assert!(matches!(store.put("still-full", vec![0; VALUE]).await, Err(StoreError::Io(_))));
        assert_eq!(store.get("fill/0000").await.unwrap().unwrap().value.len(), VALUE);
        assert_eq!(store.revision().await.unwrap(), acknowledged);
    }
    let failing = store.health();
    assert!(!failing.ok, "{failing:?}");
    assert_eq!(failing.backend, "redb");
    assert!(failing.location.ends_with("store.redb"), "{failing:?}");
    assert!(failing.last_error.is_some() && failing.last_error_unix_ms.is_some());
    assert_eq!(failing.recoveries, 0);

    tmpfs.resize("64m");
    // The store reopens its file by itself (at most every half second).
    let grown = Instant::now();
    let revision = loop {
        match store.put("after", b"space is back".to_vec()).await {
            Ok(revision) => break revision,
            Err(StoreError::Io(_)) if grown.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("the store did not recover: {error}"),
        }
    };
    assert_eq!(revision, acknowledged + 1, "a failed write left no revision behind");
    let recovered = store.health();
    assert!(recovered.ok, "{recovered:?}");
    assert_eq!(recovered.recoveries, 1);
    assert!(recovered.last_error.is_some(), "the last error stays visible after recovery");
    // Logged once when it failed and once when it recovered, not once per failed request.
    assert_eq!(logs.count("ERROR"), 1, "{}", String::from_utf8_lossy(&logs.0.lock().unwrap()));
    assert_eq!(logs.count("store I/O failed"), 1);
    assert_eq!(logs.count("store recovered after an I/O error"), 1);

    // Everything acknowledged is there, and the watch from before the failure carries on.
    assert_eq!(store.range("fill/").await.unwrap().kvs.len(), usize::try_from(acknowledged).unwrap());
    assert_eq!(store.get("after").await.unwrap().unwrap().value, b"space is back");
    let seen = batches(&mut watch, usize::try_from(acknowledged).unwrap()).await;
    let want: Vec<i64> = (1..=acknowledged).collect();
    assert_eq!(seen.iter().map(|batch| event_revision(&batch[0])).collect::<Vec<_>>(), want);
    assert_eq!(event_revision(&next_batch(&mut watch).await[0]), revision);
    assert_quiet(&mut watch).await;

    // Leases work again too.
    let lease = store.grant_lease(Duration::from_secs(30)).await.unwrap();
    store.keep_alive(lease).await.unwrap();
    drop(watch);
    drop(store);
}
