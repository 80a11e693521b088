//! The REST handlers. Each is documented for the OpenAPI document.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use config::PortProfile;

use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, TextBody};
use crate::audit::{Actor, AuditKind, AuditQuery, AuditRecord};
use crate::bridge_domain_views::BridgeDomainView;
use crate::config_store::{self, ConfigChange};
use crate::events::EventRecord;
use crate::exec::{self, ExecError};
use crate::ipam::{self, PoolView};
use crate::module_removal::{self, RemoveError, Removed};
use crate::modules::ModuleView;
use crate::policy_views::{self, AccessListView};
use crate::port_views::{InterfaceView, MacView};
use crate::state::SupervisorState;
use crate::trust::{Caller, Connection};
use crate::uplink_views::UplinkView;

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
            ExecError::Parse { column, message, detail } => Self::with_body(
                StatusCode::BAD_REQUEST,
                ErrorBody { error: message, column: Some(column), detail, ..ErrorBody::default() },
            ),
            ExecError::SessionCommand(_) => Self::new(StatusCode::BAD_REQUEST, message),
            ExecError::Forbidden { caller, command } => {
                super::auth::forbidden(&caller, &format!("'{command}'"))
            }
            ExecError::NotFound(_) => Self::not_found(message),
            ExecError::Config(error) => error.into(),
            ExecError::Modules(error) => error.into(),
            ExecError::Ports(error) => error.into(),
            ExecError::Remove(error) => error.into(),
            ExecError::Store(error) => error.into(),
            ExecError::Members(crate::cluster::members::MembersError::Store(error)) => error.into(),
            ExecError::Members(_) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, message),
            ExecError::Enrolment(error) => error.into(),
            ExecError::ConfigSession(error) => error.into(),
            ExecError::Insecure | ExecError::NotAttached(_) => Self::new(StatusCode::CONFLICT, message),
            ExecError::Ipam(_) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, message),
        }
    }
}

impl From<RemoveError> for ApiError {
    fn from(error: RemoveError) -> Self {
        let message = error.to_string();
        match error {
            RemoveError::Unknown(_) => Self::not_found(message),
            RemoveError::Online(_) | RemoveError::Contended => Self::new(StatusCode::CONFLICT, message),
            RemoveError::Module(error) => error.into(),
            RemoveError::Ports(error) => error.into(),
            RemoveError::Store(error) => error.into(),
        }
    }
}

/// Who is calling and from where, for the accounting log: the authenticated caller and the
/// connection the listener attached (absent when nothing authenticated the request).
/// The caller (the gate put it there: every route behind the gate has one; a route without it
/// fails closed, 500, rather than run as someone) and the client's address.
fn who(
    caller: Option<Extension<Caller>>,
    connection: Option<Extension<Connection>>,
) -> Result<(Caller, String), ApiError> {
    let Extension(caller) =
        caller.ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "no authenticated caller"))?;
    let source =
        connection.map_or_else(|| "-".to_owned(), |Extension(connection)| connection.peer.ip().to_string());
    Ok((caller, source))
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
        (status = 422, description = "JSON of the wrong shape (an unknown field, a wrong type); `field` names it", body = ErrorBody),
    )
)]
pub async fn put_profile(
    State(state): AppState,
    actor: Actor,
    name: Result<Path<String>, PathRejection>,
    JsonBody(profile): JsonBody<PortProfile>,
) -> Result<Json<ConfigChange>, ApiError> {
    let Path(name) = name?;
    // The exact request: the method, the path and the body as JSON.
    let body = serde_json::to_string(&profile).unwrap_or_default();
    let command = format!("PUT /api/v1/port-profiles/{name} {body}");
    let result = config_store::put_profile(&state.journal, &name, profile).await;
    state.audit.record(actor.entry(AuditKind::Config, command, &result, change_detail)).await;
    Ok(Json(result?))
}

/// Deletes a port-profile: refused while another profile inherits it, and while vEthernets are
/// assigned to it unless `force=true` (they go down: `port-profile not found`).
#[utoipa::path(
    delete, path = "/api/v1/port-profiles/{name}", tag = "config",
    params(
        ("name" = String, Path, description = "Port-profile name"),
        ("force" = Option<bool>, Query, description = "Delete it even while vEthernets are assigned to it"),
    ),
    responses(
        (status = 200, description = "Deleted", body = ConfigChange),
        (status = 400, description = "Deleting it would make the config invalid, or a bad query", body = ErrorBody),
        (status = 404, description = "No such port-profile", body = ErrorBody),
        (status = 409, description = "vEthernets are assigned to it (the error names them); nothing deleted", body = ErrorBody),
    )
)]
pub async fn delete_profile(
    State(state): AppState,
    actor: Actor,
    name: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<ConfigChange>, ApiError> {
    let Path(name) = name?;
    let force = force_flag(query.as_deref().unwrap_or_default())?;
    let command = format!("DELETE /api/v1/port-profiles/{name}{}", if force { "?force=true" } else { "" });
    let result = config_store::delete_profile(&state.journal, &name, force).await;
    state.audit.record(actor.entry(AuditKind::Config, command, &result, change_detail)).await;
    Ok(Json(result?))
}

/// What a config change did, for its accounting entry: the logged change lines.
fn change_detail(change: &ConfigChange) -> String {
    change.changes.join("; ")
}

/// The running config as NX-OS text (`show running-config`); it parses back to the same model.
#[utoipa::path(
    get, path = "/api/v1/config", tag = "config",
    responses((status = 200, description = "Running config", body = String, content_type = "text/plain"))
)]
pub async fn get_config(
    State(state): AppState,
    Extension(caller): Extension<Caller>,
) -> Result<impl IntoResponse, ApiError> {
    let (config, _) = config_store::read(&state.journal).await?;
    Ok(plain_text(config_store::running_config(&config, &caller)))
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
    actor: Actor,
    TextBody(text): TextBody,
) -> Result<Json<ConfigChange>, ApiError> {
    let result = config_store::apply_text(&state.journal, &text).await;
    state.audit.record(actor.entry(AuditKind::Config, text, &result, change_detail)).await;
    Ok(Json(result?))
}

/// Runs one shell command (`show module`, `show port-profile brief`, …) and returns its output.
#[utoipa::path(
    post, path = "/api/v1/exec", tag = "status",
    request_body(content = String, content_type = "text/plain", description = "One command line"),
    responses(
        (status = 200, description = "The command's output", body = String, content_type = "text/plain"),
        (status = 400, description = "Invalid command; `column` is where it went wrong", body = ErrorBody),
        (status = 403, description = "The command changes something and the caller is a network-operator", body = ErrorBody),
    )
)]
pub async fn post_exec(
    State(state): AppState,
    caller: Option<Extension<Caller>>,
    connection: Option<Extension<Connection>>,
    TextBody(line): TextBody,
) -> Result<impl IntoResponse, ApiError> {
    let (caller, source) = who(caller, connection)?;
    Ok(plain_text(exec::execute(&state, &caller, &source, &line).await?))
}

/// Every module (agent host) with its number and status.
#[utoipa::path(
    get, path = "/api/v1/modules", tag = "status",
    responses((status = 200, description = "Modules by number", body = Vec<ModuleView>))
)]
pub async fn list_modules(State(state): AppState) -> Result<Json<Vec<ModuleView>>, ApiError> {
    Ok(Json(state.modules.list(&state.journal).await?))
}

/// Every supervisor that joined the store, by number, with whether it is up and which one
/// answered (`show system redundancy status`).
#[utoipa::path(
    get, path = "/api/v1/supervisors", tag = "status",
    responses((status = 200, description = "Supervisors by number", body = Vec<crate::cluster::members::SupervisorView>))
)]
pub async fn list_supervisors(
    State(state): AppState,
) -> Result<Json<Vec<crate::cluster::members::SupervisorView>>, ApiError> {
    Ok(Json(state.members.list().await.map_err(ExecError::from)?))
}

/// `show system redundancy status` as data: the supervisors and the store they share.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RedundancyView {
    pub supervisors: Vec<crate::cluster::members::SupervisorView>,
    /// The store's health as this supervisor sees it.
    #[schema(value_type = Object)]
    pub store: store::StoreHealth,
}

/// The supervisors sharing the store and the store's health (backend, location, `ok`, the last
/// error and when, recoveries): what monitoring polls.
#[utoipa::path(
    get, path = "/api/v1/system/redundancy", tag = "status",
    responses((status = 200, description = "Supervisors and store health", body = RedundancyView))
)]
pub async fn redundancy(State(state): AppState) -> Result<Json<RedundancyView>, ApiError> {
    let supervisors = state.members.list().await.map_err(ExecError::from)?;
    Ok(Json(RedundancyView { supervisors, store: state.store.health() }))
}

/// Removes a module (`no module N`): its record and host mapping, and its ports per their
/// port-binding (`static` bindings kept detached, the others released), logging
/// `VEM_MGR_REMOVED` and an `IF_DETACHED` per port. Refused while the module is online (stop its
/// agent first); the host may register again later, as a new module.
#[utoipa::path(
    delete, path = "/api/v1/modules/{module}", tag = "status",
    params(("module" = u32, Path, description = "Module number (3 and up)")),
    responses(
        (status = 200, description = "Removed, with the ports it released", body = Removed),
        (status = 400, description = "Not a module number", body = ErrorBody),
        (status = 404, description = "No such module", body = ErrorBody),
        (status = 409, description = "The module is online", body = ErrorBody),
    )
)]
pub async fn delete_module(
    State(state): AppState,
    caller: Option<Extension<Caller>>,
    connection: Option<Extension<Connection>>,
    module: Result<Path<u32>, PathRejection>,
) -> Result<Json<Removed>, ApiError> {
    let Path(module) = module?;
    let (caller, source) = who(caller, connection)?;
    Ok(Json(module_removal::remove_module(&state, module, &caller, &source).await?))
}

/// The event log, oldest first (the newest 10,000 events by default).
#[utoipa::path(
    get, path = "/api/v1/events", tag = "status",
    responses((status = 200, description = "Events, oldest first", body = Vec<EventRecord>))
)]
pub async fn list_events(State(state): AppState) -> Result<Json<Vec<EventRecord>>, ApiError> {
    Ok(Json(state.journal.read().await?))
}

/// The accounting log, oldest first: who changed what, from where, when — every configuration
/// change (failed ones too), login, enrolment, join token, port bind and module removal, with
/// secrets redacted. Kept by age and by count (`--audit-max-age`, `--audit-max-entries`), apart
/// from the event log.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "status",
    params(
        ("since" = Option<u64>, Query, description = "Only entries after this `seq`; with `limit`, the oldest of them (page forward with the last `seq` seen)"),
        ("limit" = Option<u64>, Query, description = "At most this many entries; without `since`, the newest"),
    ),
    responses(
        (status = 200, description = "Accounting entries, oldest first", body = Vec<AuditRecord>),
        (status = 400, description = "A bad query", body = ErrorBody),
    )
)]
pub async fn list_audit(
    State(state): AppState,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<AuditRecord>>, ApiError> {
    let query = audit_query(query.as_deref().unwrap_or_default())?;
    Ok(Json(state.audit.read(query).await?))
}

/// Every vEthernet, by number: its binding (VethN, iface-id, owner, module, port-profile, MAC),
/// state and reason, mode and VLAN, and counters from its module's latest report.
#[utoipa::path(
    get, path = "/api/v1/interfaces", tag = "status",
    responses((status = 200, description = "vEthernets by number", body = Vec<InterfaceView>))
)]
pub async fn list_interfaces(State(state): AppState) -> Result<Json<Vec<InterfaceView>>, ApiError> {
    Ok(Json(state.ports.interfaces(&state.journal, &state.modules, &state.fanout).await?))
}

/// One vEthernet.
#[utoipa::path(
    get, path = "/api/v1/interfaces/{veth}", tag = "status",
    params(("veth" = String, Path, description = "`Vethernet1`, `Veth1` or `1` (any case)")),
    responses(
        (status = 200, description = "The vEthernet", body = InterfaceView),
        (status = 404, description = "No such vEthernet", body = ErrorBody),
    )
)]
pub async fn get_interface(
    State(state): AppState,
    veth: Result<Path<String>, PathRejection>,
) -> Result<Json<InterfaceView>, ApiError> {
    let Path(veth) = veth?;
    let missing = || ApiError::not_found(format!("no vEthernet {veth}"));
    let number = veth_number(&veth).ok_or_else(missing)?;
    let views = state.ports.interfaces(&state.journal, &state.modules, &state.fanout).await?;
    views.into_iter().find(|view| view.binding.veth == number).map(Json).ok_or_else(missing)
}

/// Every uplink (`EthernetM/K`), by module and index: its NIC, host, port-profile, state and
/// reason, trunk mode and VLANs, pinned vEthernets, and counters from its module's latest report.
#[utoipa::path(
    get, path = "/api/v1/uplinks", tag = "status",
    responses((status = 200, description = "Uplinks by module and index", body = Vec<UplinkView>))
)]
pub async fn list_uplinks(State(state): AppState) -> Result<Json<Vec<UplinkView>>, ApiError> {
    Ok(Json(state.ports.uplinks(&state.journal, &state.modules, &state.fanout).await?))
}

/// One uplink, `EthernetM/K` (`show interface ethernet M/K`).
#[utoipa::path(
    get, path = "/api/v1/uplinks/{module}/{index}", tag = "status",
    params(
        ("module" = u32, Path, description = "M of EthernetM/K"),
        ("index" = u32, Path, description = "K of EthernetM/K"),
    ),
    responses(
        (status = 200, description = "The uplink", body = UplinkView),
        (status = 400, description = "M or K is not a number", body = ErrorBody),
        (status = 404, description = "No such uplink", body = ErrorBody),
    )
)]
pub async fn get_uplink(
    State(state): AppState,
    path: Result<Path<(u32, u32)>, PathRejection>,
) -> Result<Json<UplinkView>, ApiError> {
    let Path((module, index)) = path?;
    let views = state.ports.uplinks(&state.journal, &state.modules, &state.fanout).await?;
    views
        .into_iter()
        .find(|view| view.module == module && view.index == index)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no uplink Ethernet{module}/{index}")))
}

/// Every bridge-domain, by name: segment id, state, and the member modules with their VTEPs and
/// attached ports (vEthernet and MAC) — what the supervisor distributes to the agents.
#[utoipa::path(
    get, path = "/api/v1/bridge-domains", tag = "status",
    responses((status = 200, description = "Bridge-domains by name", body = Vec<BridgeDomainView>))
)]
pub async fn list_bridge_domains(State(state): AppState) -> Result<Json<Vec<BridgeDomainView>>, ApiError> {
    Ok(Json(exec::bridge_domains(&state).await?))
}

/// One bridge-domain (`show bridge-domain X`, `… vteps`, `… mac`).
#[utoipa::path(
    get, path = "/api/v1/bridge-domains/{name}", tag = "status",
    params(("name" = String, Path, description = "Bridge-domain name")),
    responses(
        (status = 200, description = "The bridge-domain", body = BridgeDomainView),
        (status = 404, description = "No such bridge-domain", body = ErrorBody),
    )
)]
pub async fn get_bridge_domain(
    State(state): AppState,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<BridgeDomainView>, ApiError> {
    let Path(name) = name?;
    exec::bridge_domains(&state)
        .await?
        .into_iter()
        .find(|view| view.name == name)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("bridge-domain {name} does not exist")))
}

/// Every access list, IPv4 then IPv6, by name: its entries as the config prints them, each with
/// its matches summed over the modules' latest reports (`show ip access-lists`' `[match=N]`,
/// counted whether or not the list has `statistics per-entry`), and the implicit deny's.
#[utoipa::path(
    get, path = "/api/v1/access-lists", tag = "status",
    responses((status = 200, description = "Access lists, IPv4 then IPv6, by name", body = Vec<AccessListView>))
)]
pub async fn list_access_lists(State(state): AppState) -> Result<Json<Vec<AccessListView>>, ApiError> {
    let (config, _) = config_store::read(&state.journal).await?;
    Ok(Json(policy_views::access_list_views(&config, &state.ports.acl_hits(), None, None)))
}

/// Every address pool by name (`show ip pool`): its network, default-router, lines, size,
/// use, and allocations.
#[utoipa::path(
    get, path = "/api/v1/ip-pools", tag = "status",
    responses((status = 200, description = "Address pools, by name", body = Vec<PoolView>))
)]
pub async fn list_ip_pools(State(state): AppState) -> Result<Json<Vec<PoolView>>, ApiError> {
    let (config, allocations, ports) = pool_state(&state).await?;
    Ok(Json(ipam::pool_views(&config, &allocations, &ports)))
}

/// One address pool (`show ip pool NAME`), with every allocation and the vEthernet its owner
/// is attached as.
#[utoipa::path(
    get, path = "/api/v1/ip-pools/{name}", tag = "status",
    params(("name" = String, Path, description = "Pool name")),
    responses(
        (status = 200, description = "The pool", body = PoolView),
        (status = 404, description = "No such pool", body = ErrorBody),
    )
)]
pub async fn get_ip_pool(
    State(state): AppState,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<PoolView>, ApiError> {
    let Path(name) = name?;
    let (config, allocations, ports) = pool_state(&state).await?;
    ipam::pool_view(&config, &allocations, &ports, &name)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("ip pool {name} does not exist")))
}

/// What the pool views are made of: the config, the allocations, the port bindings.
async fn pool_state(
    state: &SupervisorState,
) -> Result<(config::Config, Vec<ipam::allocator::Stored>, Vec<crate::port_binding::PortRecord>), ApiError> {
    let (config, _) = config_store::read(&state.journal).await?;
    let allocations = ipam::allocator::read_all(state.store.as_ref()).await?;
    let ports = crate::ports::Ports::records(&state.journal).await?;
    Ok((config, allocations, ports))
}

/// `Vethernet1`, `Veth1` or `1` (any case) as 1.
fn veth_number(text: &str) -> Option<u32> {
    let lower = text.to_ascii_lowercase();
    let digits = ["vethernet", "veth"].iter().find_map(|prefix| lower.strip_prefix(prefix)).unwrap_or(&lower);
    digits.parse().ok().filter(|&n| n > 0)
}

/// The MAC tables of the online modules (from their agents' latest reports): VLAN entries by
/// VLAN and MAC, then bridge-domain entries (with `bridge_domain`, `segment_id`, and `vtep` for
/// remote ones) by name and MAC.
#[utoipa::path(
    get, path = "/api/v1/mac-address-table", tag = "status",
    params(("vlan" = Option<u16>, Query, description = "Only this VLAN's entries")),
    responses(
        (status = 200, description = "MAC table entries", body = Vec<MacView>),
        (status = 400, description = "A bad query (`vlan` must be 1-4094)", body = ErrorBody),
    )
)]
pub async fn mac_address_table(
    State(state): AppState,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<MacView>>, ApiError> {
    let vlan = vlan_filter(query.as_deref().unwrap_or_default())?;
    Ok(Json(state.ports.mac_table(&state.journal, &state.modules, vlan).await?))
}

/// The `vlan` of a query string; other parameters are refused so typos do not go unnoticed.
fn vlan_filter(query: &str) -> Result<Option<u32>, ApiError> {
    let mut vlan = None;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let bad = || {
            ApiError::new(StatusCode::BAD_REQUEST, format!("bad query parameter {pair:?}; only vlan=1-4094"))
        };
        let value = pair.strip_prefix("vlan=").ok_or_else(bad)?;
        vlan = Some(value.parse().ok().filter(|v| (1..=4094).contains(v)).ok_or_else(bad)?);
    }
    Ok(vlan)
}

/// The `name=value` pairs of a query string; a name outside `allowed` is refused so typos do not
/// go unnoticed.
fn query_pairs<'q>(query: &'q str, allowed: &str) -> Result<Vec<(&'q str, &'q str)>, ApiError> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if allowed.split(", ").any(|known| known == name) {
                Ok((name, value))
            } else {
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("bad query parameter {pair:?}; only {allowed}"),
                ))
            }
        })
        .collect()
}

/// `since` and `limit` of `GET /api/v1/audit`.
fn audit_query(query: &str) -> Result<AuditQuery, ApiError> {
    let mut audit = AuditQuery::default();
    for (name, value) in query_pairs(query, "since, limit")? {
        let number = value.parse().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("bad query parameter {name}={value:?}; expected a number"),
            )
        })?;
        if name == "since" {
            audit.since = Some(number);
        } else {
            audit.limit = Some(number);
        }
    }
    Ok(audit)
}

/// `force` of `DELETE /api/v1/port-profiles/{name}`: `force`, `force=true` or `force=false`.
fn force_flag(query: &str) -> Result<bool, ApiError> {
    let mut force = false;
    for (_, value) in query_pairs(query, "force")? {
        force = match value {
            "" | "true" => true,
            "false" => false,
            other => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("bad query parameter force={other:?}; expected true or false"),
                ));
            }
        };
    }
    Ok(force)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_and_force_queries() {
        assert_eq!(audit_query("").ok(), Some(AuditQuery::default()));
        assert_eq!(audit_query("since=4&limit=2").ok(), Some(AuditQuery { since: Some(4), limit: Some(2) }));
        assert!(audit_query("limit=x").is_err());
        assert!(audit_query("lmit=2").is_err());
        assert_eq!(force_flag("").ok(), Some(false));
        assert_eq!(force_flag("force=true").ok(), Some(true));
        assert_eq!(force_flag("force").ok(), Some(true));
        assert_eq!(force_flag("force=false").ok(), Some(false));
        assert!(force_flag("force=yes").is_err());
        assert!(force_flag("forse=true").is_err());
    }

    #[test]
    fn vethernet_names() {
        assert_eq!(veth_number("Vethernet12"), Some(12));
        assert_eq!(veth_number("veth3"), Some(3));
        assert_eq!(veth_number("7"), Some(7));
        assert_eq!(veth_number("Veth0"), None);
        assert_eq!(veth_number("eth1"), None);
    }

    #[test]
    fn vlan_query() {
        assert_eq!(vlan_filter("").ok(), Some(None));
        assert_eq!(vlan_filter("vlan=100").ok(), Some(Some(100)));
        assert!(vlan_filter("vlan=5000").is_err());
        assert!(vlan_filter("vlan=x").is_err());
        assert!(vlan_filter("vlna=1").is_err());
    }
}
