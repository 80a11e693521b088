//! The accounting log's one writer: batches queued entries into single transactions, trims by
//! count as it appends, and sweeps entries that aged out.
//!
//! It keeps the (sequence, time) of every live entry in memory, read once at start (about
//! 16 bytes an entry: 1.6 MB at the default 100,000), so retention never scans the store. A
//! second supervisor sharing the store makes the counter compare fail; the writer then re-reads
//! the index and tries again.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use store::{Compare, Op, Revision, Store, StoreError, Txn};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::Submission;
use super::record::AuditRecord;
use super::retention::{Retention, Stamp};
use crate::clock::unix_ms_now;
use crate::journal::MAX_ATTEMPTS;
use crate::layout::{AUDIT_PREFIX, NEXT_AUDIT_KEY, audit_key, parse_audit_key, parse_counter};
use crate::server::stopped;

/// Most entries committed in one transaction.
const MAX_BATCH: usize = 512;
/// How long, after shutdown starts, entries of requests still draining are accepted.
const DRAIN: Duration = Duration::from_secs(10);

/// Where the next entry goes, as last read or written.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    next_seq: u64,
    /// The counter key's mod revision (0: absent), compared on commit.
    mod_revision: Revision,
}

/// The part of a stored record retention needs.
#[derive(Debug, Deserialize)]
struct StoredStamp {
    time_ms: u64,
}

/// The writer task's state; run it with [`AuditWriter::run`].
#[derive(Debug)]
pub struct AuditWriter {
    store: Arc<dyn Store>,
    retention: Retention,
    queue: mpsc::UnboundedReceiver<Submission>,
    /// Live entries, oldest first; re-read with the counter whenever `cursor` is `None`.
    live: VecDeque<Stamp>,
    cursor: Option<Cursor>,
}

impl AuditWriter {
    pub(super) async fn load(
        store: Arc<dyn Store>,
        retention: Retention,
        queue: mpsc::UnboundedReceiver<Submission>,
    ) -> Result<Self, StoreError> {
        let mut writer = Self { store, retention, queue, live: VecDeque::new(), cursor: None };
        writer.reload().await?;
        Ok(writer)
    }

    /// Stores entries until every sender is gone, or `DRAIN` after `shutdown` turns true.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut sweep = tokio::time::interval(self.retention.sweep_period());
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut deadline: Option<Instant> = None;
        loop {
            tokio::select! {
                received = self.queue.recv() => match received {
                    Some(first) => {
                        let mut batch = vec![first];
                        while batch.len() < MAX_BATCH {
                            match self.queue.try_recv() {
                                Ok(more) => batch.push(more),
                                Err(_) => break,
                            }
                        }
                        self.commit(batch).await;
                    }
                    None => return,
                },
                _ = sweep.tick() => self.sweep().await,
                () = stopped(&mut shutdown), if deadline.is_none() => deadline = Some(Instant::now() + DRAIN),
                () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    let mut rest = Vec::new();
                    while let Ok(more) = self.queue.try_recv() {
                        rest.push(more);
                    }
                    if !rest.is_empty() {
                        self.commit(rest).await;
                    }
                    return;
                }
            }
        }
    }

    /// Stores `batch` in one transaction (re-planned if another supervisor wrote first), then
    /// tells whoever waits. Entries that cannot be stored are logged, not lost silently.
    async fn commit(&mut self, batch: Vec<Submission>) {
        let mut outcome = Err(StoreError::Io("the accounting log is contended".into()));
        for _ in 0..MAX_ATTEMPTS {
            match self.try_commit(&batch).await {
                Ok(true) => {
                    outcome = Ok(());
                    break;
                }
                Ok(false) => {}
                Err(error) => {
                    outcome = Err(error);
                    break;
                }
            }
        }
        if let Err(error) = outcome {
            self.cursor = None;
            for submission in &batch {
                let record = AuditRecord::new(0, submission.time_ms, submission.entry.clone());
                tracing::error!(%error, entry = %record.line(), "cannot store accounting entry");
            }
        }
        for submission in batch {
            if let Some(done) = submission.done {
                let _ = done.send(());
            }
        }
    }

    /// One attempt: `Ok(false)` when the counter moved under us (the index is re-read).
    async fn try_commit(&mut self, batch: &[Submission]) -> Result<bool, StoreError> {
        let cursor = match self.cursor {
            Some(cursor) => cursor,
            None => self.reload().await?,
        };
        let kept = self.live.len();
        let mut ops = Vec::with_capacity(batch.len() + 2);
        for (seq, submission) in (cursor.next_seq..).zip(batch) {
            let record = AuditRecord::new(seq, submission.time_ms, submission.entry.clone());
            let value = serde_json::to_vec(&record).map_err(|e| StoreError::Io(e.to_string()))?;
            ops.push(Op::Put { key: audit_key(seq), value });
            self.live.push_back(Stamp { seq, time_ms: submission.time_ms });
        }
        // Never the entries this batch adds: a key cannot be put and deleted in one transaction
        // (a batch alone over the limit is trimmed by the next sweep).
        let expired = self.retention.expired(&self.live, unix_ms_now()).min(kept);
        ops.extend(self.live.iter().take(expired).map(|stamp| Op::Delete { key: audit_key(stamp.seq) }));
        let next_seq = cursor.next_seq + u64::try_from(batch.len()).unwrap_or(u64::MAX);
        ops.push(Op::Put { key: NEXT_AUDIT_KEY.to_owned(), value: next_seq.to_string().into_bytes() });
        let txn = Txn {
            compare: vec![Compare::ModRevision(NEXT_AUDIT_KEY.to_owned(), cursor.mod_revision)],
            success: ops,
            failure: Vec::new(),
        };
        let response = match self.store.txn(txn).await {
            Ok(response) => response,
            Err(error) => {
                self.live.truncate(kept);
                return Err(error);
            }
        };
        if !response.succeeded {
            self.cursor = None;
            return Ok(false);
        }
        self.live.drain(..expired);
        self.cursor = Some(Cursor { next_seq, mod_revision: response.revision });
        Ok(true)
    }

    /// Deletes the entries that aged out (or exceed a lowered count) since the last write.
    async fn sweep(&mut self) {
        if self.cursor.is_none()
            && let Err(error) = self.reload().await
        {
            tracing::warn!(%error, "cannot read the accounting log");
            return;
        }
        let expired = self.retention.expired(&self.live, unix_ms_now());
        if expired == 0 {
            return;
        }
        let ops =
            self.live.iter().take(expired).map(|stamp| Op::Delete { key: audit_key(stamp.seq) }).collect();
        // No compare: deleting an old entry twice (two supervisors sweeping) is harmless.
        match self.store.txn(Txn { compare: Vec::new(), success: ops, failure: Vec::new() }).await {
            Ok(_) => {
                self.live.drain(..expired);
            }
            Err(error) => tracing::warn!(%error, "cannot trim the accounting log"),
        }
    }

    /// Re-reads the counter and the index of live entries.
    async fn reload(&mut self) -> Result<Cursor, StoreError> {
        let counter = self.store.get(NEXT_AUDIT_KEY).await?;
        let next_seq =
            parse_counter(counter.as_ref().map(|kv| kv.value.as_slice()), 0).map_err(StoreError::Corrupt)?;
        let cursor = Cursor { next_seq, mod_revision: counter.map_or(0, |kv| kv.mod_revision) };
        let range = self.store.range(AUDIT_PREFIX).await?;
        self.live = range
            .kvs
            .iter()
            .filter_map(|kv| {
                let seq = parse_audit_key(&kv.key)?;
                // An unreadable entry still counts, as the oldest possible, so it is trimmed first.
                let time_ms =
                    serde_json::from_slice::<StoredStamp>(&kv.value).map_or(0, |stamp| stamp.time_ms);
                Some(Stamp { seq, time_ms })
            })
            .collect();
        self.cursor = Some(cursor);
        Ok(cursor)
    }
}
