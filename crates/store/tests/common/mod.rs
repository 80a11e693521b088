//! Helpers shared by the store's integration tests.
#![allow(dead_code)]

pub mod etcd;
pub mod model;

use std::sync::Arc;
use std::time::Duration;

use store::{Event, RedbStore, RedbStoreOptions, StoreError, WatchStream};
use tempfile::TempDir;

/// A store in a fresh temporary directory (kept alive by the returned `TempDir`).
pub fn temp_store() -> (TempDir, Arc<RedbStore>) {
    temp_store_with(RedbStoreOptions::default())
}

pub fn temp_store_with(options: RedbStoreOptions) -> (TempDir, Arc<RedbStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = RedbStore::open_with(dir.path(), options).expect("open store");
    (dir, store)
}

/// Opens the store in `dir` again after the test dropped its handle. A watcher task may still
/// be finishing a history read that holds the file open, so a refused open is retried briefly.
pub async fn reopen(dir: &std::path::Path) -> Arc<RedbStore> {
    for _ in 0..100 {
        match RedbStore::open(dir) {
            Ok(store) => return store,
            Err(StoreError::Open { .. }) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(error) => panic!("reopen failed: {error}"),
        }
    }
    panic!("the store file stayed locked after its handle was dropped");
}

/// How long a test waits for an event that should arrive.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The next batch on a watch stream; panics if it does not come in time or is an error.
pub async fn next_batch(stream: &mut WatchStream) -> Vec<Event> {
    match tokio::time::timeout(PATIENCE, stream.recv()).await {
        Ok(Some(Ok(events))) => events,
        Ok(Some(Err(error))) => panic!("watch failed: {error}"),
        Ok(None) => panic!("watch stream closed"),
        Err(_) => panic!("no watch event within {PATIENCE:?}"),
    }
}

/// Receives exactly `count` batches.
pub async fn batches(stream: &mut WatchStream, count: usize) -> Vec<Vec<Event>> {
    let mut received = Vec::with_capacity(count);
    for _ in 0..count {
        received.push(next_batch(stream).await);
    }
    received
}

/// Asserts that nothing more arrives on the stream for a short while.
pub async fn assert_quiet(stream: &mut WatchStream) {
    if let Ok(extra) = tokio::time::timeout(Duration::from_millis(50), stream.recv()).await {
        panic!("unexpected watch item: {extra:?}");
    }
}

/// The error that ends a stream, skipping any batches before it.
pub async fn final_error(stream: &mut WatchStream) -> StoreError {
    loop {
        match tokio::time::timeout(PATIENCE, stream.recv()).await {
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(error))) => return error,
            Ok(None) => panic!("watch stream closed without an error"),
            Err(_) => panic!("watch stream neither failed nor closed within {PATIENCE:?}"),
        }
    }
}

/// The revision of an event.
pub fn event_revision(event: &Event) -> i64 {
    match event {
        Event::Put { kv } => kv.mod_revision,
        Event::Delete { mod_revision, .. } => *mod_revision,
    }
}
