//! Join tokens and enrolled hosts over REST: `POST/GET /api/v1/join-tokens`,
//! `DELETE /api/v1/join-tokens/{id}`, `GET /api/v1/enrolments`, `POST /api/v1/modules/{module}/revoke`.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::JsonBody;
use crate::enrolment::{DEFAULT_TOKEN_TTL, EnrolmentRecord, Enrolments, TokenRecord};
use crate::state::SupervisorState;
use crate::trust::{Caller, Connection};
use crate::trust_ops::{self, Asker};

type AppState = State<Arc<SupervisorState>>;

/// What to make a join token with.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJoinToken {
    /// How long it stays valid, in seconds (default 86400, at most 604800).
    pub ttl_seconds: Option<u64>,
}

/// A join token, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedJoinToken {
    /// `abcdef.0123456789abcdef`: give it to one agent (`--join-token`).
    pub token: String,
    /// The token's public id (`show join-tokens`, `DELETE /api/v1/join-tokens/{id}`).
    pub id: String,
    /// What the agent pins (`--ca-hash`).
    pub ca_hash: String,
    /// Milliseconds since the Unix epoch.
    pub expires_ms: u64,
}

fn enrolments(state: &SupervisorState) -> Result<&Enrolments, ApiError> {
    Ok(trust_ops::enrolments(state)?)
}

/// Who asks (the gate put the caller there: every route behind it has one) and from where.
fn asker<'a>(caller: &'a Caller, connection: Option<&Extension<Connection>>) -> Asker<'a> {
    let source =
        connection.map_or_else(|| "-".to_owned(), |Extension(connection)| connection.peer.ip().to_string());
    Asker { caller, source }
}

/// Makes a one-time join token for one agent.
#[utoipa::path(
    post, path = "/api/v1/join-tokens", tag = "trust",
    request_body(content = NewJoinToken, content_type = "application/json"),
    responses(
        (status = 200, description = "The token (its secret is never shown again)", body = CreatedJoinToken),
        (status = 400, description = "A TTL out of range, or not JSON", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "JSON of the wrong shape (an unknown field, a wrong type); `field` names it", body = ErrorBody),
    )
)]
pub async fn create_join_token(
    State(state): AppState,
    Extension(caller): Extension<Caller>,
    connection: Option<Extension<Connection>>,
    JsonBody(request): JsonBody<NewJoinToken>,
) -> Result<Json<CreatedJoinToken>, ApiError> {
    let ttl = request.ttl_seconds.map_or(DEFAULT_TOKEN_TTL, Duration::from_secs);
    let (token, record) =
        trust_ops::create_join_token(&state, ttl, &asker(&caller, connection.as_ref())).await?;
    Ok(Json(CreatedJoinToken {
        token: token.to_string(),
        id: token.id.clone(),
        ca_hash: enrolments(&state)?.ca_hash().to_string(),
        expires_ms: record.expires_ms,
    }))
}

/// The join tokens not yet used (without their secrets).
#[utoipa::path(
    get, path = "/api/v1/join-tokens", tag = "trust",
    responses((status = 200, description = "Unused tokens", body = Vec<TokenRecord>))
)]
pub async fn list_join_tokens(State(state): AppState) -> Result<Json<Vec<TokenRecord>>, ApiError> {
    Ok(Json(enrolments(&state)?.tokens().await?))
}

/// Deletes an unused join token.
#[utoipa::path(
    delete, path = "/api/v1/join-tokens/{id}", tag = "trust",
    params(("id" = String, Path, description = "The token id (before the dot)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such token", body = ErrorBody),
    )
)]
pub async fn delete_join_token(
    State(state): AppState,
    Extension(caller): Extension<Caller>,
    connection: Option<Extension<Connection>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id?;
    trust_ops::delete_join_token(&state, &id, &asker(&caller, connection.as_ref())).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every enrolled host: what its certificate was issued for.
#[utoipa::path(
    get, path = "/api/v1/enrolments", tag = "trust",
    responses((status = 200, description = "Enrolled hosts", body = Vec<EnrolmentRecord>))
)]
pub async fn list_enrolments(State(state): AppState) -> Result<Json<Vec<EnrolmentRecord>>, ApiError> {
    Ok(Json(enrolments(&state)?.records().await?))
}

/// Revokes a module's host: its certificates are refused from now on (it cannot reconnect
/// without a new join token), it goes offline, and its ports are released per their
/// port-binding.
#[utoipa::path(
    post, path = "/api/v1/modules/{module}/revoke", tag = "trust",
    params(("module" = u32, Path, description = "Module number")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such module", body = ErrorBody),
    )
)]
pub async fn revoke(
    State(state): AppState,
    Extension(caller): Extension<Caller>,
    connection: Option<Extension<Connection>>,
    module: Result<Path<u32>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(module) = module?;
    trust_ops::revoke(&state, module, &asker(&caller, connection.as_ref())).await?;
    Ok(StatusCode::NO_CONTENT)
}
