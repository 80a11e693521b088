//! `POST /api/v1/tokens` and `DELETE /api/v1/tokens/{id}`: bearer tokens for REST clients (the
//! shell gets one per session), so that only the first request pays for a password check.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{peer, source_name};
use super::error::{ApiError, ErrorBody};
use crate::audit::{AuditEntry, AuditKind};
use crate::state::SupervisorState;
use crate::trust::authenticate::LoginMethod;
use crate::trust::tokens::{self, TokenError};
use crate::trust::{Caller, Role};

/// What a token request may ask for (the body may be empty).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// How long the token lives, in seconds (default 12 hours, at most a week).
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
}

/// A new bearer token. The token itself is shown only here; the supervisor keeps its hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send it as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// Names the token for `DELETE /api/v1/tokens/{id}` (the SHA-256 of the token, in hex).
    pub id: String,
    pub user: String,
    pub role: Role,
    /// When it stops working, in seconds since the Unix epoch.
    pub expires_at: u64,
}

/// A deleted token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenDeleted {
    pub id: String,
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Store(error) => error.into(),
            other => Self::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

/// Issues a bearer token for the account that authenticated with HTTP Basic. Every issue is a
/// login in the accounting log.
#[utoipa::path(
    post, path = "/api/v1/tokens", tag = "auth",
    security(("basic" = [])),
    request_body(content = Option<TokenRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "The token", body = TokenResponse),
        (status = 400, description = "Not JSON, or a bad lifetime", body = ErrorBody),
        (status = 422, description = "JSON of the wrong shape (an unknown field, a wrong type); `field` names it", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Authenticated with a token: tokens are issued for passwords only", body = ErrorBody),
    )
)]
pub async fn create_token(
    State(state): State<Arc<SupervisorState>>,
    request: Request,
) -> Result<Json<TokenResponse>, ApiError> {
    let source = source_name(peer(&request));
    let (user, role) = match request.extensions().get::<Caller>() {
        Some(Caller::Operator { user, role }) => (user.clone(), *role),
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "tokens are for operator accounts; this supervisor runs without them",
            ));
        }
    };
    if matches!(request.extensions().get::<LoginMethod>(), Some(LoginMethod::Bearer { .. })) {
        // Otherwise a token could renew itself forever.
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a token cannot issue tokens; authenticate with user name and password (HTTP Basic)",
        ));
    }
    let body = axum::body::to_bytes(request.into_body(), state.options.body_limit)
        .await
        .map_err(|e| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("token request: {e}")))?;
    let asked: TokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TokenRequest::default()
    } else {
        super::extract::parse_json(&body)?
    };
    let max = state.options.token_ttl_max;
    let ttl = asked.ttl_seconds.map_or(state.options.token_ttl, Duration::from_secs);
    if ttl.is_zero() || ttl > max {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("ttl_seconds must be 1-{}", max.as_secs()),
        ));
    }
    let issued = tokens::issue(state.store.as_ref(), &user, ttl, SystemTime::now()).await?;
    state
        .audit
        .record(AuditEntry {
            kind: AuditKind::Login,
            user: user.clone(),
            source,
            command: "POST /api/v1/tokens".to_owned(),
            success: true,
            detail: format!("bearer token {} issued for {} s", short(&issued.id), ttl.as_secs()),
        })
        .await;
    Ok(Json(TokenResponse {
        token: issued.token,
        id: issued.id,
        user,
        role,
        expires_at: issued.record.expires,
    }))
}

/// Deletes a token: one's own, or anyone's for a network-admin.
#[utoipa::path(
    delete, path = "/api/v1/tokens/{id}", tag = "auth",
    params(("id" = String, Path, description = "The token's id, as issued")),
    responses(
        (status = 200, description = "Deleted", body = TokenDeleted),
        (status = 403, description = "Another account's token", body = ErrorBody),
        (status = 404, description = "No such token", body = ErrorBody),
    )
)]
pub async fn delete_token(
    State(state): State<Arc<SupervisorState>>,
    caller: Option<axum::Extension<Caller>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<TokenDeleted>, ApiError> {
    let Path(id) = id?;
    let missing = || ApiError::not_found(format!("no token {}", short(&id)));
    let record = tokens::get(state.store.as_ref(), &id).await?.ok_or_else(missing)?;
    let allowed = match caller.as_deref() {
        Some(Caller::Operator { user, role }) => *user == record.user || role.may_write(),
        Some(Caller::Insecure | Caller::Module { .. }) | None => true,
    };
    if !allowed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission denied: the token belongs to another account",
        ));
    }
    if !tokens::revoke(state.store.as_ref(), &id).await? {
        return Err(missing());
    }
    Ok(Json(TokenDeleted { id }))
}

/// The first characters of a token id: enough to tell tokens apart in a log.
fn short(id: &str) -> String {
    id.chars().take(12).collect()
}
