//! The operator's trust actions — join tokens, revocation — as the shell and REST both run them:
//! one place, so each is in the accounting log whichever way it came.

use std::time::Duration;

use crate::audit::{AuditEntry, AuditKind};
use crate::enrolment::{Enrolments, JoinToken, TokenRecord};
use crate::exec::ExecError;
use crate::state::SupervisorState;
use crate::trust::Caller;

/// Who asked, from where (the client's address).
#[derive(Debug, Clone)]
pub struct Asker<'a> {
    pub caller: &'a Caller,
    pub source: String,
}

/// Makes a one-time join token valid for `ttl` (`join-token create [ttl S]`).
pub async fn create_join_token(
    state: &SupervisorState,
    ttl: Duration,
    asker: &Asker<'_>,
) -> Result<(JoinToken, TokenRecord), ExecError> {
    let created =
        enrolments(state)?.create_token(ttl, &asker.caller.audit_name()).await.map_err(ExecError::from);
    let command = format!("join-token create ttl {}", ttl.as_secs());
    record(state, AuditKind::JoinToken, asker, command, created.as_ref().err()).await;
    created
}

/// Deletes an unused token (`no join-token ID`); `NotFound` when there is none.
pub async fn delete_join_token(
    state: &SupervisorState,
    id: &str,
    asker: &Asker<'_>,
) -> Result<(), ExecError> {
    let deleted = match enrolments(state)?.delete_token(id).await {
        Ok(true) => Ok(()),
        Ok(false) => {
            Err(ExecError::NotFound(format!("join token {id} does not exist (used, expired or never made)")))
        }
        Err(error) => Err(error.into()),
    };
    let command = format!("no join-token {}", crate::agent_input::bounded(id));
    record(state, AuditKind::JoinToken, asker, command, deleted.as_ref().err()).await;
    deleted
}

/// Revokes module `module`'s host (`revoke module N`); returns its host name.
pub async fn revoke(state: &SupervisorState, module: u32, asker: &Asker<'_>) -> Result<String, ExecError> {
    let revoked = crate::revoke::revoke_module(state, module).await;
    record(state, AuditKind::Module, asker, format!("revoke module {module}"), revoked.as_ref().err()).await;
    revoked
}

/// The enrolment service, or why there is none (`--insecure`).
pub fn enrolments(state: &SupervisorState) -> Result<&Enrolments, ExecError> {
    state.enrolments.as_ref().ok_or(ExecError::Insecure)
}

async fn record(
    state: &SupervisorState,
    kind: AuditKind,
    asker: &Asker<'_>,
    command: String,
    error: Option<&ExecError>,
) {
    let entry = AuditEntry {
        kind,
        user: asker.caller.audit_name(),
        source: asker.source.clone(),
        command,
        success: error.is_none(),
        detail: error.map(ToString::to_string).unwrap_or_default(),
    };
    state.audit.record(entry).await;
}
