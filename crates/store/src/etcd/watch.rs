//! One etcd watch stream per [`crate::Store::watch`] call, converted to a [`WatchStream`]: one
//! item per revision, deletes with their previous value (etcd's `prev_kv`).
//!
//! The stream ends with an error when etcd cancels the watch — [`StoreError::Compacted`] if the
//! watcher fell behind a compaction, [`StoreError::Unavailable`] if its member lost the leader
//! or the connection broke. The caller then re-reads and watches again from where it was.

use etcd_client::{GetOptions, WatchOptions, WatchResponse};
use tokio::sync::mpsc;

use super::keys::Keyspace;
use super::status::Health;
use super::{EtcdStore, Repeat};
use crate::{Event, Revision, StoreError, WatchStream};

/// Revisions buffered for a consumer before the watch stops reading from etcd.
const WATCH_BUFFER: usize = 256;

pub(super) async fn start(
    store: &EtcdStore,
    prefix: &str,
    start: Revision,
) -> Result<WatchStream, StoreError> {
    let key = store.keys.etcd_key(prefix);
    // etcd accepts a watch from a compacted revision and cancels it just after; ask first, so
    // that the caller gets the error from `watch()` itself, as from the redb backend.
    let compacted = start > 0 && start_is_compacted(store, &key, start).await?;
    let mut options = WatchOptions::new().with_prefix().with_prev_key();
    if start > 0 {
        options = options.with_start_revision(start);
    }
    let (mut stream, created) = store
        .call("watch", Repeat::Safe, |client| {
            let (key, options) = (key.clone(), options.clone());
            async move {
                let mut stream = client.watch_client().watch(key, Some(options)).await?;
                let created = stream.message().await?;
                Ok((stream, created))
            }
        })
        .await?;
    let created =
        created.ok_or_else(|| StoreError::Unavailable("etcd closed the watch as it opened".into()))?;
    let refusal = if created.canceled() {
        Some(created.clone())
    } else if compacted {
        // The cancellation that follows carries the oldest revision still available.
        let next = tokio::time::timeout(store.request_timeout, stream.message()).await;
        match next {
            Ok(Ok(message)) => message.filter(WatchResponse::canceled),
            Ok(Err(error)) => return Err(super::errors::from_etcd(error)),
            Err(_) => None,
        }
    } else {
        None
    };
    if let Some(refusal) = refusal {
        let error = cancelled(&refusal, start);
        store.health.observe_error(&error);
        return Err(error);
    }
    let next = if start > 0 { start } else { created.header().map_or(0, |h| h.revision()) + 1 };
    let (tx, rx) = mpsc::channel(WATCH_BUFFER);
    let watcher = Watcher { stream, tx, keys: store.keys.clone(), health: store.health.clone(), next };
    tokio::spawn(watcher.run());
    Ok(rx)
}

/// Whether history at `start` is gone: a read at that revision fails if it is.
async fn start_is_compacted(store: &EtcdStore, key: &[u8], start: Revision) -> Result<bool, StoreError> {
    let options = GetOptions::new().with_prefix().with_count_only().with_revision(start);
    let read = store
        .call("read", Repeat::Safe, |client| {
            let (key, options) = (key.to_vec(), options.clone());
            async move { client.kv_client().get(key, Some(options)).await }
        })
        .await;
    match read {
        Ok(_) | Err(StoreError::FutureRevision { .. }) => Ok(false),
        Err(StoreError::Compacted { .. }) => Ok(true),
        Err(error) => Err(error),
    }
}

/// Why etcd cancelled a watch.
fn cancelled(response: &WatchResponse, next: Revision) -> StoreError {
    if response.compact_revision() > 0 {
        StoreError::Compacted { requested: next, oldest: response.compact_revision() }
    } else {
        let reason = response.cancel_reason();
        let reason = if reason.is_empty() { "no reason given" } else { reason };
        StoreError::Unavailable(format!("etcd cancelled the watch: {reason}"))
    }
}

struct Watcher {
    stream: etcd_client::WatchStream,
    tx: mpsc::Sender<Result<Vec<Event>, StoreError>>,
    keys: Keyspace,
    health: Health,
    /// The first revision not yet delivered.
    next: Revision,
}

impl Watcher {
    async fn run(mut self) {
        let error = loop {
            let message = tokio::select! {
                () = self.tx.closed() => return, // the consumer is gone; dropping the stream cancels the watch
                message = self.stream.message() => message,
            };
            let response = match message {
                Ok(Some(response)) => response,
                Ok(None) => break StoreError::Unavailable("etcd closed the watch stream".into()),
                Err(error) => break super::errors::from_etcd(error),
            };
            if response.canceled() {
                break cancelled(&response, self.next);
            }
            match self.batches(&response) {
                Ok(batches) => {
                    for (revision, events) in batches {
                        self.next = revision + 1;
                        if self.tx.send(Ok(events)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(error) => break error,
            }
        };
        self.health.observe_error(&error);
        let _ = self.tx.send(Err(error)).await;
    }

    /// Splits a response into one batch per revision (etcd may send several revisions in one).
    fn batches(&self, response: &WatchResponse) -> Result<Vec<(Revision, Vec<Event>)>, StoreError> {
        let mut batches: Vec<(Revision, Vec<Event>)> = Vec::new();
        for event in response.events() {
            let revision = event.kv().map_or(0, etcd_client::KeyValue::mod_revision);
            let event = self.keys.event(event)?;
            match batches.last_mut() {
                Some((last, events)) if *last == revision => events.push(event),
                _ => batches.push((revision, vec![event])),
            }
        }
        Ok(batches)
    }
}
