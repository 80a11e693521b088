//! The REST API under `/api/v1`, its OpenAPI document, and the gRPC service, in one router.
//!
//! Every REST request goes through one gate (`auth`): Host/Origin checks, authentication
//! (HTTP Basic or a bearer token from `POST /api/v1/tokens`) and the caller's role; only
//! `/openapi.json` is public. gRPC is outside it (agents are identified by their certificates).
//!
//! Every error is JSON ([`ErrorBody`]) with a 4xx status for the client's mistakes — including
//! bodies of the wrong shape or over the size limit, unknown paths and wrong methods.

mod auth;
mod enrolment;
mod error;
mod extract;
mod handlers;
mod openapi;
mod sessions;
mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use tonic::server::NamedService;

use crate::grpc::AgentService;
use crate::state::SupervisorState;

pub use error::{ApiError, ErrorBody};
pub use openapi::ApiDoc;

/// All routes: REST, `/openapi.json`, and `switchyard.v1.Supervisor` (gRPC over h2c).
pub fn router(state: Arc<SupervisorState>) -> Router {
    type Grpc = proto::supervisor_server::SupervisorServer<AgentService>;
    let body_limit = state.options.body_limit;
    let grpc = Grpc::new(AgentService::new(state.clone()));
    Router::new()
        .route("/api/v1/port-profiles", get(handlers::list_profiles))
        .route(
            "/api/v1/port-profiles/{name}",
            get(handlers::get_profile).put(handlers::put_profile).delete(handlers::delete_profile),
        )
        .route("/api/v1/config", get(handlers::get_config).post(handlers::post_config))
        .route("/api/v1/config/sessions", get(sessions::list_sessions))
        .route(
            "/api/v1/config/sessions/{name}",
            get(sessions::get_session).put(sessions::open_session).delete(sessions::abort_session),
        )
        .route("/api/v1/config/sessions/{name}/lines", post(sessions::add_lines))
        .route("/api/v1/config/sessions/{name}/verify", post(sessions::verify_session))
        .route("/api/v1/config/sessions/{name}/commit", post(sessions::commit_session))
        .route("/api/v1/exec", post(handlers::post_exec))
        .route("/api/v1/modules", get(handlers::list_modules))
        .route("/api/v1/supervisors", get(handlers::list_supervisors))
        .route("/api/v1/system/redundancy", get(handlers::redundancy))
        .route("/api/v1/modules/{module}", delete(handlers::delete_module))
        .route("/api/v1/events", get(handlers::list_events))
        .route("/api/v1/audit", get(handlers::list_audit))
        .route("/api/v1/interfaces", get(handlers::list_interfaces))
        .route("/api/v1/interfaces/{veth}", get(handlers::get_interface))
        .route("/api/v1/mac-address-table", get(handlers::mac_address_table))
        .route("/api/v1/uplinks", get(handlers::list_uplinks))
        .route("/api/v1/uplinks/{module}/{index}", get(handlers::get_uplink))
        .route("/api/v1/bridge-domains", get(handlers::list_bridge_domains))
        .route("/api/v1/bridge-domains/{name}", get(handlers::get_bridge_domain))
        .route("/api/v1/access-lists", get(handlers::list_access_lists))
        .route("/api/v1/ip-pools", get(handlers::list_ip_pools))
        .route("/api/v1/ip-pools/{name}", get(handlers::get_ip_pool))
        .route("/api/v1/join-tokens", get(enrolment::list_join_tokens).post(enrolment::create_join_token))
        .route("/api/v1/join-tokens/{id}", axum::routing::delete(enrolment::delete_join_token))
        .route("/api/v1/enrolments", get(enrolment::list_enrolments))
        .route("/api/v1/modules/{module}/revoke", post(enrolment::revoke))
        .route("/api/v1/tokens", post(tokens::create_token))
        .route("/api/v1/tokens/{id}", delete(tokens::delete_token))
        .route("/openapi.json", get(openapi::document))
        .layer(DefaultBodyLimit::max(body_limit))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        // Outermost: every REST request, unknown paths included, passes the gate first.
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::gate))
        .with_state(state)
        .route_service(&format!("/{}/{{*rest}}", Grpc::NAME), grpc)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such resource")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this resource")
}
