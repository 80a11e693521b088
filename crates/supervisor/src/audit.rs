//! The accounting log: who changed what, from where, when. Kept in the store apart from the event
//! log, with its own retention, so noise never pushes it out.
//!
//! Interface only for now (entries go to the tracing log); the store-backed log replaces the body
//! of [`Audit::record`].

use std::sync::Arc;

use store::Store;

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
    /// A port was bound or unbound by an agent.
    Port,
    /// A module was revoked or removed.
    Module,
}

/// One accounting entry. `command` is exactly what was asked for, with secrets redacted.
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

/// The accounting log.
#[derive(Debug)]
pub struct Audit {
    #[allow(dead_code)]
    store: Arc<dyn Store>,
}

impl Audit {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Records one entry. Never fails the caller's action: a store error is logged.
    pub async fn record(&self, entry: AuditEntry) {
        tracing::info!(?entry, "audit");
    }
}
