//! The REST handlers. Each is documented for the OpenAPI document.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use config::PortProfile;

use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, TextBody};
use crate::config_store::{self, ConfigChange};
use crate::events::EventRecord;
use crate::exec::{self, ExecError};
use crate::modules::ModuleView;
use crate::state::SupervisorState;

type AppState = State<Arc<SupervisorState>>;

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(rejection.status(), rejection.body_text())
    }
}

impl From<ExecError> for ApiError {
    fn from(error: ExecError) -> Self {
        let message = error.to_string();
        match error {
            ExecError::Parse { column, message, detail } => Self {
                status: StatusCode::BAD_REQUEST,
                body: ErrorBody { error: message, column: Some(column), detail, ..ErrorBody::default() },
            },
            ExecError::SessionCommand(_) => Self::new(StatusCode::BAD_REQUEST, message),
            ExecError::NotFound(_) => Self::not_found(message),
            ExecError::Config(error) => error.into(),
            ExecError::Modules(error) => error.into(),
            ExecError::Store(error) => error.into(),
        }
    }
}

fn plain_text(text: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text)
}

/// Every port-profile as configured (before inheritance), by name.
#[utoipa::path(
    get, path = "/api/v1/port-profiles", tag = "config",
    responses((status = 200, description = "Port-profiles by name", body = BTreeMap<String, PortProfile>))
)]
pub async fn list_profiles(State(state): AppState) -> Result<Json<BTreeMap<String, PortProfile>>, ApiError> {
    let (config, _) = config_store::read(&state.journal).await?;
    Ok(Json(config.port_profiles))
}

/// One port-profile as configured.
#[utoipa::path(
    get, path = "/api/v1/port-profiles/{name}", tag = "config",
    params(("name" = String, Path, description = "Port-profile name")),
    responses(
        (status = 200, description = "The port-profile", body = PortProfile),
        (status = 404, description = "No such port-profile", body = ErrorBody),
    )
)]
pub async fn get_profile(
    State(state): AppState,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<PortProfile>, ApiError> {
    let Path(name) = name?;
    config_store::read_profile(&state.journal, &name)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("port-profile {name} does not exist")))
}

/// Creates or replaces a port-profile. Validated with the rest of the config and applied in one
/// transaction, like config text; agents get the new policy in one step.
#[utoipa::path(
    put, path = "/api/v1/port-profiles/{name}", tag = "config",
    params(("name" = String, Path, description = "Port-profile name")),
    request_body(content = PortProfile, content_type = "application/json"),
    responses(
        (status = 200, description = "Applied (or nothing to change)", body = ConfigChange),
        (status = 400, description = "The profile makes the config invalid", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "JSON of the wrong shape", body = ErrorBody),
    )
)]
pub async fn put_profile(
    State(state): AppState,
    name: Result<Path<String>, PathRejection>,
    JsonBody(profile): JsonBody<PortProfile>,
) -> Result<Json<ConfigChange>, ApiError> {
    let Path(name) = name?;
    Ok(Json(config_store::put_profile(&state.journal, &name, profile).await?))
}

/// Deletes a port-profile (refused while another profile inherits it).
#[utoipa::path(
    delete, path = "/api/v1/port-profiles/{name}", tag = "config",
    params(("name" = String, Path, description = "Port-profile name")),
    responses(
        (status = 200, description = "Deleted", body = ConfigChange),
        (status = 400, description = "Deleting it would make the config invalid", body = ErrorBody),
        (status = 404, description = "No such port-profile", body = ErrorBody),
    )
)]
pub async fn delete_profile(
    State(state): AppState,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<ConfigChange>, ApiError> {
    let Path(name) = name?;
    Ok(Json(config_store::delete_profile(&state.journal, &name).await?))
}

/// The running config as NX-OS text (`show running-config`); it parses back to the same model.
#[utoipa::path(
    get, path = "/api/v1/config", tag = "config",
    responses((status = 200, description = "Running config", body = String, content_type = "text/plain"))
)]
pub async fn get_config(State(state): AppState) -> Result<impl IntoResponse, ApiError> {
    let (config, _) = config_store::read(&state.journal).await?;
    Ok(plain_text(config::print_running_config(&config)))
}

/// Applies NX-OS config text (what `configure terminal` accepts), atomically: one bad line and
/// nothing changes.
#[utoipa::path(
    post, path = "/api/v1/config", tag = "config",
    request_body(content = String, content_type = "text/plain",
                 description = "Config lines, e.g. `port-profile type vethernet web\\n  switchport access vlan 100`"),
    responses(
        (status = 200, description = "Applied: the new revision and one line per change", body = ConfigChange),
        (status = 400, description = "A line did not parse or the result is invalid; nothing applied", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
    )
)]
pub async fn post_config(
    State(state): AppState,
    TextBody(text): TextBody,
) -> Result<Json<ConfigChange>, ApiError> {
    Ok(Json(config_store::apply_text(&state.journal, &text).await?))
}

/// Runs one shell command (`show module`, `show port-profile brief`, …) and returns its output.
#[utoipa::path(
    post, path = "/api/v1/exec", tag = "status",
    request_body(content = String, content_type = "text/plain", description = "One command line"),
    responses(
        (status = 200, description = "The command's output", body = String, content_type = "text/plain"),
        (status = 400, description = "Invalid command; `column` is where it went wrong", body = ErrorBody),
    )
)]
pub async fn post_exec(
    State(state): AppState,
    TextBody(line): TextBody,
) -> Result<impl IntoResponse, ApiError> {
    Ok(plain_text(exec::execute(&state, &line).await?))
}

/// Every module (agent host) with its number and status.
#[utoipa::path(
    get, path = "/api/v1/modules", tag = "status",
    responses((status = 200, description = "Modules by number", body = Vec<ModuleView>))
)]
pub async fn list_modules(State(state): AppState) -> Result<Json<Vec<ModuleView>>, ApiError> {
    Ok(Json(state.modules.list(&state.journal).await?))
}

/// The event log, oldest first (the newest 10,000 events by default).
#[utoipa::path(
    get, path = "/api/v1/events", tag = "status",
    responses((status = 200, description = "Events, oldest first", body = Vec<EventRecord>))
)]
pub async fn list_events(State(state): AppState) -> Result<Json<Vec<EventRecord>>, ApiError> {
    Ok(Json(state.journal.read().await?))
}
