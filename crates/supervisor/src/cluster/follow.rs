//! Following a prefix of the store: read it whole, then apply every change as it commits. If the
//! watch breaks (the store closed it, its history was compacted, the backend was unreachable),
//! read it whole again and watch from there: a mirror never misses a change for long, and never
//! applies one twice out of order.

use std::sync::Arc;
use std::time::Duration;

use store::{Event, RangeResponse, Revision, Store};
use tokio::sync::watch;

use crate::server::stopped;

/// How long to wait before re-reading after a failure.
const RETRY: Duration = Duration::from_millis(250);

/// What a mirror does with what it reads.
pub trait Mirror: Send {
    /// The prefix it mirrors.
    fn prefix(&self) -> &'static str;
    /// The whole prefix, as of `range.revision`.
    fn reload(&mut self, range: RangeResponse) -> impl Future<Output = ()> + Send;
    /// One committed revision's changes.
    fn apply(&mut self, events: Vec<Event>) -> impl Future<Output = ()> + Send;
}

/// A whole prefix read again, as the puts a watch would have delivered: for mirrors that act on
/// each key as it comes and keep nothing to replace.
pub fn as_puts(range: RangeResponse) -> Vec<Event> {
    range.kvs.into_iter().map(|kv| Event::Put { kv }).collect()
}

/// Follows `mirror`'s prefix from `revision` (its last read) until shutdown.
pub async fn follow<M: Mirror>(
    store: Arc<dyn Store>,
    mut mirror: M,
    mut revision: Revision,
    mut shutdown: watch::Receiver<bool>,
) {
    let prefix = mirror.prefix();
    loop {
        match store.watch(prefix, revision + 1).await {
            Ok(mut events) => loop {
                tokio::select! {
                    () = stopped(&mut shutdown) => return,
                    batch = events.recv() => match batch {
                        Some(Ok(batch)) => {
                            if let Some(at) = batch.iter().map(event_revision).max() {
                                revision = revision.max(at);
                            }
                            mirror.apply(batch).await;
                        }
                        Some(Err(error)) => {
                            tracing::warn!(%error, prefix, "watch failed; re-reading");
                            break;
                        }
                        None => {
                            tracing::warn!(prefix, "watch closed; re-reading");
                            break;
                        }
                    },
                }
            },
            Err(error) => tracing::warn!(%error, prefix, "cannot watch; retrying"),
        }
        loop {
            tokio::select! {
                () = stopped(&mut shutdown) => return,
                () = tokio::time::sleep(RETRY) => {}
            }
            match store.range(prefix).await {
                Ok(range) => {
                    revision = range.revision;
                    mirror.reload(range).await;
                    break;
                }
                Err(error) => tracing::warn!(%error, prefix, "cannot re-read; retrying"),
            }
        }
    }
}

/// The revision an event was committed at.
pub fn event_revision(event: &Event) -> Revision {
    match event {
        Event::Put { kv } => kv.mod_revision,
        Event::Delete { mod_revision, .. } => *mod_revision,
    }
}
