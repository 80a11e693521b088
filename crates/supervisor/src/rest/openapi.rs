//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{enrolment, handlers, sessions, tokens};

/// The supervisor's REST API.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Switchyard supervisor",
        description = "Port-profiles, config, modules, vEthernets, uplinks, bridge-domains, MAC tables, the event log and the accounting log of a Switchyard domain."
    ),
    paths(
        handlers::list_profiles,
        handlers::get_profile,
        handlers::put_profile,
        handlers::delete_profile,
        handlers::get_config,
        handlers::post_config,
        sessions::list_sessions,
        sessions::open_session,
        sessions::get_session,
        sessions::add_lines,
        sessions::verify_session,
        sessions::commit_session,
        sessions::abort_session,
        handlers::post_exec,
        handlers::list_modules,
        handlers::list_supervisors,
        handlers::redundancy,
        handlers::delete_module,
        handlers::list_events,
        handlers::list_audit,
        handlers::list_interfaces,
        handlers::get_interface,
        handlers::mac_address_table,
        handlers::list_uplinks,
        handlers::get_uplink,
        handlers::list_bridge_domains,
        handlers::get_bridge_domain,
        handlers::list_access_lists,
        handlers::list_ip_pools,
        handlers::get_ip_pool,
        enrolment::create_join_token,
        enrolment::list_join_tokens,
        enrolment::delete_join_token,
        enrolment::list_enrolments,
        enrolment::revoke,
        tokens::create_token,
        tokens::delete_token,
    ),
    modifiers(&SecuritySchemes),
    // Every operation needs one of them (POST /api/v1/tokens: Basic only); /openapi.json is public.
    security(("basic" = []), ("bearer" = [])),
    tags((name = "config", description = "Port-profiles and the running config"),
         (name = "trust", description = "Join tokens, enrolled hosts, revocation"),
         (name = "status", description = "Modules, vEthernets, uplinks, bridge-domains, MAC tables, access-list matches, events, the accounting log and show commands"),
         (name = "auth", description = "Bearer tokens for operator accounts (`username … role …`)"))
)]
pub struct ApiDoc;

/// The two ways to authenticate: HTTP Basic with an account's user name and password, or a
/// bearer token from `POST /api/v1/tokens`.
#[derive(Debug)]
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("basic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// `GET /openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
