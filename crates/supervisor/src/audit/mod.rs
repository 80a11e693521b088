//! The accounting log: who changed what, from where, when — NX-OS's `show accounting log`.
//!
//! Kept in the store under its own prefix and counter ([`crate::layout::AUDIT_PREFIX`]), apart
//! from the event log, with its own retention by age and by count ([`Retention`]), so noise
//! never pushes it out. Every entry is redacted before it is stored ([`AuditRecord::new`]).
//!
//! Writes go through one writer task ([`AuditWriter`]) that commits whatever is queued in one
//! transaction: callers never hold the journal's write lock for an audit entry, and a burst of
//! attaches costs one store commit, not one each. [`Audit::record`] waits for the commit (a
//! REST answer follows its entry); [`Audit::submit`] does not (for the agents' hot path).

mod actor;
mod record;
mod retention;
mod writer;

use std::sync::Arc;

use store::{Store, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::clock::unix_ms_now;
use crate::layout::{NEXT_AUDIT_KEY, audit_key, parse_counter};

pub use actor::Actor;
pub use record::AuditRecord;
pub use retention::{Retention, Stamp, parse_age};
pub use writer::AuditWriter;

/// What kind of action an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuditKind {
    /// Configuration text or a REST change to the config.
    Config,
    /// An operator logged in (or failed to).
    Login,
    /// An agent enrolled with a join token (or failed to).
    Enrol,
    /// A join token was created or deleted.
    JoinToken,
    /// A port was bound or unbound by an agent, or an operator asked a module to shut down or
    /// recover one (`interface vethernet N` … `[no] shutdown`).
    Port,
    /// A module was revoked or removed.
    Module,
}

impl AuditKind {
    /// NX-OS's `type=` word: `start` for a session (a login), `update` for everything else.
    pub fn nxos_type(self) -> &'static str {
        match self {
            Self::Login => "start",
            Self::Config | Self::Enrol | Self::JoinToken | Self::Port | Self::Module => "update",
        }
    }
}

/// One accounting entry. `command` is exactly what was asked for; secrets are redacted when it
/// is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub kind: AuditKind,
    /// `Caller::audit_name()`, or the user name a failed login claimed.
    pub user: String,
    /// The client's address.
    pub source: String,
    pub command: String,
    pub success: bool,
    /// Why it failed, or what it changed.
    pub detail: String,
}

impl AuditEntry {
    /// An entry for an action with this result: its detail is what the action returned (`what`
    /// of the success) or the error's message.
    pub fn outcome<T, E: std::fmt::Display>(
        kind: AuditKind,
        user: String,
        source: String,
        command: String,
        result: &Result<T, E>,
        what: impl FnOnce(&T) -> String,
    ) -> Self {
        let (success, detail) = match result {
            Ok(value) => (true, what(value)),
            Err(error) => (false, error.to_string()),
        };
        Self { kind, user, source, command, success, detail }
    }
}

/// Which entries to read: after a sequence number and/or at most so many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries with a greater sequence number; then `limit` takes the oldest of them (a
    /// client pages forward with the last `seq` it saw).
    pub since: Option<u64>,
    /// At most this many: the newest, without `since`.
    pub limit: Option<u64>,
}

impl AuditQuery {
    /// The sequence numbers `[start, end)` to read when the next entry will be `next`.
    pub fn span(&self, next: u64) -> (u64, u64) {
        match (self.since, self.limit) {
            (Some(since), limit) => {
                let start = since.saturating_add(1).min(next);
                (start, limit.map_or(next, |limit| start.saturating_add(limit).min(next)))
            }
            (None, Some(limit)) => (next.saturating_sub(limit), next),
            (None, None) => (0, next),
        }
    }
}

/// A queued entry, stamped when it was recorded, and whom to tell once it is stored.
#[derive(Debug)]
struct Submission {
    entry: AuditEntry,
    time_ms: u64,
    done: Option<oneshot::Sender<()>>,
}

/// The accounting log: record entries, read them back.
#[derive(Debug)]
pub struct Audit {
    store: Arc<dyn Store>,
    retention: Retention,
    queue: mpsc::UnboundedSender<Submission>,
}

impl Audit {
    /// Reads the log's index from `store` and returns the log and the writer task the
    /// supervisor runs (until every [`Audit`] is gone or shutdown has drained).
    pub async fn load(
        store: Arc<dyn Store>,
        retention: Retention,
    ) -> Result<(Self, AuditWriter), StoreError> {
        let (queue, queued) = mpsc::unbounded_channel();
        let writer = AuditWriter::load(store.clone(), retention, queued).await?;
        Ok((Self { store, retention, queue }, writer))
    }

    /// Records one entry and waits until it is stored. Never fails the caller's action: a store
    /// error is logged by the writer.
    pub async fn record(&self, entry: AuditEntry) {
        let (done, stored) = oneshot::channel();
        if self.enqueue(entry, Some(done)) {
            // An error here means the writer gave up on the entry; it said why.
            let _ = stored.await;
        }
    }

    /// Records one entry without waiting for the store (for hot paths: a port bind).
    pub fn submit(&self, entry: AuditEntry) {
        self.enqueue(entry, None);
    }

    fn enqueue(&self, entry: AuditEntry, done: Option<oneshot::Sender<()>>) -> bool {
        let submission = Submission { entry, time_ms: unix_ms_now(), done };
        match self.queue.send(submission) {
            Ok(()) => true,
            Err(mpsc::error::SendError(lost)) => {
                tracing::warn!(entry = ?AuditRecord::new(0, lost.time_ms, lost.entry), "accounting log stopped; entry not stored");
                false
            }
        }
    }

    /// Entries oldest first, as `query` selects, without those past the retention age.
    pub async fn read(&self, query: AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let counter = self.store.get(NEXT_AUDIT_KEY).await?;
        let next =
            parse_counter(counter.as_ref().map(|kv| kv.value.as_slice()), 0).map_err(StoreError::Corrupt)?;
        let (start, end) = query.span(next);
        if start >= end {
            return Ok(Vec::new());
        }
        let range = self.store.range_between(audit_key(start).as_str()..audit_key(end).as_str()).await?;
        let now = unix_ms_now();
        Ok(range
            .kvs
            .iter()
            .filter_map(|kv| match serde_json::from_slice::<AuditRecord>(&kv.value) {
                Ok(record) => Some(record),
                Err(error) => {
                    tracing::warn!(key = %kv.key, %error, "skipping unreadable audit record");
                    None
                }
            })
            .filter(|record| self.retention.keeps(record.time_ms, now))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_spans() {
        let all = AuditQuery::default();
        assert_eq!(all.span(10), (0, 10));
        assert_eq!(AuditQuery { since: None, limit: Some(3) }.span(10), (7, 10));
        assert_eq!(AuditQuery { since: None, limit: Some(30) }.span(10), (0, 10));
        assert_eq!(AuditQuery { since: Some(4), limit: None }.span(10), (5, 10));
        assert_eq!(AuditQuery { since: Some(4), limit: Some(2) }.span(10), (5, 7));
        assert_eq!(AuditQuery { since: Some(40), limit: Some(2) }.span(10), (10, 10));
        assert_eq!(AuditQuery { since: Some(u64::MAX), limit: None }.span(10), (10, 10));
    }
}
