//! Configuration sessions over REST (`/api/v1/config/sessions…`): what the shell's
//! `configure session NAME`, `verify`, `commit` and `abort` call. See [`crate::config_sessions`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::PathRejection;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::{Json, response::IntoResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::TextBody;
use crate::audit::{Actor, AuditKind};
use crate::config_sessions::{SessionError, SessionSummary, SessionView};
use crate::config_store::{self, ConfigChange, ConfigWriteError};
use crate::state::SupervisorState;
use crate::trust::Caller;

type AppState = State<Arc<SupervisorState>>;

/// What `verify` found: the session applies cleanly on the running config, with these changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Verified {
    /// One line per change the commit would make, as it would log them.
    pub changes: Vec<String>,
}

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> Self {
        let status = match &error {
            SessionError::NoSuchSession(_) => StatusCode::NOT_FOUND,
            SessionError::NotOwner { .. } => StatusCode::FORBIDDEN,
            SessionError::BadName(_) => StatusCode::BAD_REQUEST,
            SessionError::TooManySessions | SessionError::TooManyLines => StatusCode::CONFLICT,
        };
        Self::new(status, error.to_string())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis().try_into().unwrap_or(u64::MAX))
}

/// A refusal of the session's text: `detail` quotes the session line it is about.
fn session_error(error: ConfigWriteError, text: &str) -> ApiError {
    let mut api: ApiError = error.into();
    if let Some(line) = api.body.line.and_then(|n| text.lines().nth(n.checked_sub(1)?).map(|l| (n, l))) {
        api.body.detail = Some(format!("line {}: {}", line.0, config::redact_line(line.1)));
    }
    api
}

/// Every configuration session of this supervisor (anyone's), by name.
#[utoipa::path(
    get, path = "/api/v1/config/sessions", tag = "config",
    responses((status = 200, description = "Sessions by name", body = Vec<SessionSummary>))
)]
pub async fn list_sessions(State(state): AppState) -> Json<Vec<SessionSummary>> {
    Json(state.config_sessions.summaries())
}

/// Makes configuration session `name` (`configure session NAME`), or finds the caller's own of
/// that name. Sessions live in this supervisor's memory until committed or aborted.
#[utoipa::path(
    put, path = "/api/v1/config/sessions/{name}", tag = "config",
    params(("name" = String, Path, description = "Session name: 1-63 letters, digits, '-', '_'")),
    responses(
        (status = 200, description = "The session", body = SessionSummary),
        (status = 400, description = "A bad name", body = ErrorBody),
        (status = 403, description = "Another account's session", body = ErrorBody),
        (status = 409, description = "Too many sessions", body = ErrorBody),
    )
)]
pub async fn open_session(
    State(state): AppState,
    Extension(caller): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<SessionSummary>, ApiError> {
    let Path(name) = name?;
    let owner = caller.audit_name();
    state.config_sessions.open(&name, &owner, now_ms())?;
    Ok(Json(state.config_sessions.view(&name, &owner)?.summary))
}

/// The caller's session `name` with its lines (`show configuration session NAME`).
#[utoipa::path(
    get, path = "/api/v1/config/sessions/{name}", tag = "config",
    params(("name" = String, Path, description = "Session name")),
    responses(
        (status = 200, description = "The session and its lines", body = SessionView),
        (status = 403, description = "Another account's session", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    )
)]
pub async fn get_session(
    State(state): AppState,
    Extension(caller): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<SessionView>, ApiError> {
    let Path(name) = name?;
    let mut view = state.config_sessions.view(&name, &caller.audit_name())?;
    view.lines = view.lines.iter().map(|line| config::redact_line(line)).collect();
    Ok(Json(view))
}

/// Records config text (what `configure terminal` accepts) in the session, unapplied. The text
/// must parse on its own (a sub-mode line under its header); it is checked against the running
/// config by `verify` and `commit`.
#[utoipa::path(
    post, path = "/api/v1/config/sessions/{name}/lines", tag = "config",
    params(("name" = String, Path, description = "Session name")),
    request_body(content = String, content_type = "text/plain", description = "Config lines"),
    responses(
        (status = 200, description = "Recorded", body = SessionSummary),
        (status = 400, description = "A line did not parse; nothing recorded", body = ErrorBody),
        (status = 403, description = "Another account's session", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "Too many lines", body = ErrorBody),
    )
)]
pub async fn add_lines(
    State(state): AppState,
    Extension(caller): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    TextBody(text): TextBody,
) -> Result<Json<SessionSummary>, ApiError> {
    let Path(name) = name?;
    config::script::parse_script(&text).map_err(ConfigWriteError::from)?;
    let owner = caller.audit_name();
    state.config_sessions.append(&name, &owner, &text)?;
    Ok(Json(state.config_sessions.view(&name, &owner)?.summary))
}

/// Checks the whole session against the running config with the parser and checks of
/// `POST /api/v1/config`, changing nothing (`verify`).
#[utoipa::path(
    post, path = "/api/v1/config/sessions/{name}/verify", tag = "config",
    params(("name" = String, Path, description = "Session name")),
    responses(
        (status = 200, description = "It would apply, with these changes", body = Verified),
        (status = 400, description = "It would not: `line` is the session's line, `detail` quotes it", body = ErrorBody),
        (status = 403, description = "Another account's session", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    )
)]
pub async fn verify_session(
    State(state): AppState,
    Extension(caller): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<Verified>, ApiError> {
    let Path(name) = name?;
    let (text, _) = state.config_sessions.text(&name, &caller.audit_name())?;
    let (running, _) = config_store::read(&state.journal).await?;
    let applied = config::apply(&running, &text).map_err(|e| session_error(e.into(), &text))?;
    let changes = applied.changes.iter().map(|change| change.to_string()).collect();
    Ok(Json(Verified { changes }))
}

/// Applies the whole session as one transaction, exactly as `POST /api/v1/config` would apply
/// its text, and ends the session (`commit`). Refused: nothing applied, the session kept.
#[utoipa::path(
    post, path = "/api/v1/config/sessions/{name}/commit", tag = "config",
    params(("name" = String, Path, description = "Session name")),
    responses(
        (status = 200, description = "Applied; the session is over", body = ConfigChange),
        (status = 400, description = "Refused, nothing applied: `line` is the session's line, `detail` quotes it", body = ErrorBody),
        (status = 403, description = "Another account's session", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    )
)]
pub async fn commit_session(
    State(state): AppState,
    Extension(caller): Extension<Caller>,
    actor: Actor,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<ConfigChange>, ApiError> {
    let Path(name) = name?;
    let (text, count) = state.config_sessions.text(&name, &caller.audit_name())?;
    let result = config_store::apply_text(&state.journal, &text).await;
    let command = format!("configure session {name} commit\n{text}");
    state
        .audit
        .record(actor.entry(AuditKind::Config, command, &result, |change| change.changes.join("; ")))
        .await;
    let change = result.map_err(|e| session_error(e, &text))?;
    state.config_sessions.committed(&name, count);
    Ok(Json(change))
}

/// Ends the session without applying it (`abort`).
#[utoipa::path(
    delete, path = "/api/v1/config/sessions/{name}", tag = "config",
    params(("name" = String, Path, description = "Session name")),
    responses(
        (status = 204, description = "Discarded"),
        (status = 403, description = "Another account's session", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    )
)]
pub async fn abort_session(
    State(state): AppState,
    Extension(caller): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Path(name) = name?;
    state.config_sessions.abort(&name, &caller.audit_name())?;
    Ok(StatusCode::NO_CONTENT)
}
