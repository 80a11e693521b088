//! The supervisor's one way to write: a store transaction that carries its own event lines.
//!
//! Every write (a config apply, a module joining, a module going offline) is planned from a fresh
//! read, then committed by [`Writer::try_commit`] as ONE transaction that also appends its events
//! and trims the log. The transaction compares the event counter (and whatever the plan adds), so
//! a write planned on stale data fails instead of interleaving; the caller re-reads and re-plans
//! ([`MAX_ATTEMPTS`] times at most). Writers inside one supervisor queue on a mutex, so conflicts
//! only happen between supervisors sharing a store.

use std::sync::Arc;

use store::{Compare, Op, Revision, Store, StoreError, Txn};
use tokio::sync::{Mutex, MutexGuard};

use crate::clock::unix_ms_now;
use crate::events::{Event, EventRecord};
use crate::layout::{EVENTS_PREFIX, NEXT_EVENT_KEY, event_key, parse_counter};

/// How often a write is re-planned after losing a race before giving up.
pub const MAX_ATTEMPTS: usize = 16;

/// A planned write: store operations guarded by compares, and the events it logs.
#[derive(Debug, Default)]
pub struct Write {
    pub compare: Vec<Compare>,
    pub ops: Vec<Op>,
    pub events: Vec<Event>,
}

/// Where the next event goes, as last read or written by this supervisor.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    next_seq: u64,
    /// The counter key's mod revision (0: absent), compared on commit.
    mod_revision: Revision,
}

/// The event log and the write path.
#[derive(Debug)]
pub struct Journal {
    store: Arc<dyn Store>,
    capacity: u64,
    cursor: Mutex<Option<Cursor>>,
}

/// Exclusive right to write; hold it from the read that plans a write to its commit.
#[derive(Debug)]
pub struct Writer<'a> {
    journal: &'a Journal,
    cursor: MutexGuard<'a, Option<Cursor>>,
}

impl Journal {
    /// A journal keeping at most `capacity` events (at least 1).
    pub fn new(store: Arc<dyn Store>, capacity: u64) -> Self {
        Self { store, capacity: capacity.max(1), cursor: Mutex::new(None) }
    }

    /// The store the journal writes to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Waits for the right to write.
    pub async fn writer(&self) -> Writer<'_> {
        Writer { journal: self, cursor: self.cursor.lock().await }
    }

    /// Logs events that need no other write. A failure is reported, not returned: the state
    /// change the events describe has already happened.
    pub async fn log(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let mut writer = self.writer().await;
        for _ in 0..MAX_ATTEMPTS {
            let write = Write { events: events.clone(), ..Write::default() };
            match writer.try_commit(write).await {
                Ok(Some(_)) => return,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%error, "cannot log events");
                    return;
                }
            }
        }
        tracing::warn!("cannot log events: the event log is contended");
    }

    /// The whole log, oldest first. Records that do not parse are skipped (and reported).
    pub async fn read(&self) -> Result<Vec<EventRecord>, StoreError> {
        let range = self.store.range(EVENTS_PREFIX).await?;
        Ok(range
            .kvs
            .iter()
            .filter_map(|kv| match serde_json::from_slice(&kv.value) {
                Ok(record) => Some(record),
                Err(error) => {
                    tracing::warn!(key = %kv.key, %error, "skipping unreadable event record");
                    None
                }
            })
            .collect())
    }
}

impl Writer<'_> {
    /// The store this writer writes to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.journal.store
    }

    /// Commits `write` plus its events in one transaction. `Ok(Some(revision))` when committed,
    /// `Ok(None)` when a compare failed: re-read, re-plan and try again.
    pub async fn try_commit(&mut self, write: Write) -> Result<Option<Revision>, StoreError> {
        let cursor = match *self.cursor {
            Some(cursor) => cursor,
            None => self.read_cursor().await?,
        };
        let Write { mut compare, mut ops, events } = write;
        let appended = u64::try_from(events.len()).unwrap_or(u64::MAX);
        if !events.is_empty() {
            let now = unix_ms_now();
            for (seq, event) in (cursor.next_seq..).zip(&events) {
                let record = EventRecord::new(seq, now, event);
                let value = serde_json::to_vec(&record).map_err(|e| StoreError::Io(e.to_string()))?;
                ops.push(Op::Put { key: event_key(seq), value });
                if let Some(evicted) = seq.checked_sub(self.journal.capacity) {
                    ops.push(Op::Delete { key: event_key(evicted) });
                }
            }
            let next_seq = cursor.next_seq + appended;
            ops.push(Op::Put { key: NEXT_EVENT_KEY.to_owned(), value: next_seq.to_string().into_bytes() });
            compare.push(Compare::ModRevision(NEXT_EVENT_KEY.to_owned(), cursor.mod_revision));
        }
        if ops.is_empty() {
            return self.journal.store.revision().await.map(Some);
        }
        let response = self.journal.store.txn(Txn { compare, success: ops, failure: Vec::new() }).await?;
        if !response.succeeded {
            // Someone else wrote: the cursor may be stale too.
            *self.cursor = None;
            return Ok(None);
        }
        if appended > 0 {
            *self.cursor =
                Some(Cursor { next_seq: cursor.next_seq + appended, mod_revision: response.revision });
        }
        Ok(Some(response.revision))
    }

    async fn read_cursor(&mut self) -> Result<Cursor, StoreError> {
        let kv = self.journal.store.get(NEXT_EVENT_KEY).await?;
        let next_seq =
            parse_counter(kv.as_ref().map(|kv| kv.value.as_slice()), 0).map_err(StoreError::Corrupt)?;
        let cursor = Cursor { next_seq, mod_revision: kv.map_or(0, |kv| kv.mod_revision) };
        *self.cursor = Some(cursor);
        Ok(cursor)
    }
}
