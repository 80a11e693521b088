//! Watchers: replay the history from a revision, then follow the live feed.
//!
//! The handover neither loses nor repeats a revision: a watcher subscribes to the live feed
//! *before* it reads the history, so every revision committed after that read reaches it live,
//! and revisions that arrive both ways are skipped by number. A watcher whose consumer is slow
//! falls off the bounded live feed and catches up from the history on disk; only when the
//! history has been compacted past it does its stream end, with [`StoreError::Compacted`].

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};

use super::tables::{HistoryChunk, event_matches};
use super::{Committed, Inner};
use crate::{Event, Revision, StoreError, WatchStream};

/// Starts a watcher on `prefix` from `start_revision` (inclusive; 0 or less: from the next
/// write). A start that is already compacted fails here rather than on the stream.
pub(crate) async fn start(
    inner: &Arc<Inner>,
    prefix: &str,
    start_revision: Revision,
) -> Result<WatchStream, StoreError> {
    let live = inner.live.subscribe();
    let next = if start_revision > 0 { start_revision } else { inner.revision.load(Ordering::Acquire) + 1 };
    let store = Arc::downgrade(inner);
    let prefix = prefix.to_string();
    let first = read_chunk(&store, &prefix, next).await?;
    let (tx, rx) = mpsc::channel(inner.options.watch_buffer);
    let watcher = Watcher { store, prefix, next, live, tx };
    tokio::spawn(watcher.run(first));
    Ok(rx)
}

/// Why a watcher stops.
enum Stop {
    /// The consumer dropped its stream.
    ConsumerGone,
    /// The stream ends with this error.
    Failed(StoreError),
}

struct Watcher {
    /// Weak, so that watchers do not keep a dropped store open.
    store: Weak<Inner>,
    prefix: String,
    /// The first revision this watcher has not yet delivered (or skipped as irrelevant).
    next: Revision,
    live: broadcast::Receiver<Arc<Committed>>,
    tx: mpsc::Sender<Result<Vec<Event>, StoreError>>,
}

impl Watcher {
    async fn run(mut self, first: HistoryChunk) {
        let mut chunk = Some(first);
        let stop = loop {
            if let Err(stop) = self.replay(chunk.take()).await {
                break stop;
            }
            if let Err(stop) = self.follow().await {
                break stop;
            }
            // Fell behind the live feed: subscribe afresh, then replay what was missed.
            self.live = self.live.resubscribe();
        };
        if let Stop::Failed(error) = stop {
            let _ = self.tx.send(Err(error)).await;
        }
    }

    /// Delivers history from `self.next` up to the revision current when the last chunk was read.
    async fn replay(&mut self, mut chunk: Option<HistoryChunk>) -> Result<(), Stop> {
        loop {
            let chunk = match chunk.take() {
                Some(chunk) => chunk,
                None => read_chunk(&self.store, &self.prefix, self.next).await.map_err(Stop::Failed)?,
            };
            for (_, events) in chunk.entries {
                self.deliver(events).await?;
            }
            self.next = chunk.next;
            if chunk.complete {
                return Ok(());
            }
        }
    }

    /// Delivers live revisions; returns `Ok` when the watcher must catch up from history.
    async fn follow(&mut self) -> Result<(), Stop> {
        loop {
            let received = tokio::select! {
                () = self.tx.closed() => return Err(Stop::ConsumerGone),
                received = self.live.recv() => received,
            };
            let committed = match received {
                Ok(committed) => committed,
                Err(RecvError::Lagged(_)) => return Ok(()),
                Err(RecvError::Closed) => return Err(Stop::Failed(StoreError::Closed)),
            };
            if committed.revision < self.next {
                continue; // already replayed
            }
            if committed.revision > self.next {
                // Cannot happen while commits publish in order; recover rather than skip.
                tracing::warn!(
                    expected = self.next,
                    got = committed.revision,
                    "watch feed skipped a revision; replaying from history"
                );
                return Ok(());
            }
            self.next = committed.revision + 1;
            let events: Vec<Event> =
                committed.events.iter().filter(|event| event_matches(event, &self.prefix)).cloned().collect();
            if !events.is_empty() {
                self.deliver(events).await?;
            }
        }
    }

    async fn deliver(&self, events: Vec<Event>) -> Result<(), Stop> {
        self.tx.send(Ok(events)).await.map_err(|_| Stop::ConsumerGone)
    }
}

async fn read_chunk(store: &Weak<Inner>, prefix: &str, from: Revision) -> Result<HistoryChunk, StoreError> {
    let inner = store.upgrade().ok_or(StoreError::Closed)?;
    let prefix = prefix.to_string();
    tokio::task::spawn_blocking(move || inner.read_history(&prefix, from)).await?
}
