//! The one gate every REST request passes (`/openapi.json` aside): Host/Origin checks, then
//! authentication (HTTP Basic or a bearer token), then the role: a network-operator reads —
//! every GET, and `show` commands through `POST /api/v1/exec`, which checks each command
//! itself — and changes nothing. The authenticated [`Caller`] and [`LoginMethod`] go into the
//! request's extensions for the handlers. In `--insecure` mode only the Host/Origin checks
//! remain and every request is [`Caller::Insecure`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::audit::{AuditEntry, AuditKind};
use crate::state::SupervisorState;
use crate::trust::authenticate::AuthError;
use crate::trust::origin;
use crate::trust::{Caller, Connection};

/// The challenge of every 401.
const CHALLENGE: &str = "Basic realm=\"switchyard\", Bearer realm=\"switchyard\"";
/// Paths anyone may read.
const PUBLIC: &[&str] = &["/openapi.json"];
/// Paths every authenticated caller may use whatever the method: exec checks each command's
/// role itself; anyone may get and delete their own tokens.
const SELF_CHECKED: &[&str] = &["/api/v1/exec", "/api/v1/tokens"];

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn gate(State(state): State<Arc<SupervisorState>>, mut request: Request, next: Next) -> Response {
    let peer = peer(&request);
    let tls = request.extensions().get::<Connection>().map(|connection| connection.tls);
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri().authority().map(|authority| authority.as_str()));
    let origin = request.headers().get(header::ORIGIN).and_then(|value| value.to_str().ok());
    // The names the server certificate carries are names clients reach this supervisor by.
    let allowed: Vec<String> = state.options.allowed_hosts.iter().chain(&state.tls_names).cloned().collect();
    if let Err(error) = origin::check(host, origin, &allowed, tls) {
        return ApiError::new(StatusCode::FORBIDDEN, error.to_string()).into_response();
    }
    if PUBLIC.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    if state.options.insecure {
        request.extensions_mut().insert(Caller::Insecure);
        return next.run(request).await;
    }
    let authorization = request.headers().get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
    // Failed logins count per source: an IPv4 address, an IPv6 /64.
    let source = peer.map(|peer| crate::server::source_of(peer.ip()));
    match state.auth.authenticate(&state.journal, authorization, source).await {
        Ok(login) => {
            if let Err(refusal) = permitted(request.method(), request.uri().path(), &login.caller) {
                return refusal.into_response();
            }
            request.extensions_mut().insert(login.caller);
            request.extensions_mut().insert(login.method);
            next.run(request).await
        }
        Err(error) => {
            if error.is_failed_login() {
                state
                    .audit
                    .record(AuditEntry {
                        kind: AuditKind::Login,
                        user: error.claimed_user().to_owned(),
                        source: source_name(peer),
                        // The path is the client's: bounded, as everything an anonymous client
                        // can make the accounting log keep.
                        command: format!("{} {}", request.method(), truncated(request.uri().path(), 200)),
                        success: false,
                        detail: error.to_string(),
                    })
                    .await;
            }
            refusal(&error)
        }
    }
}

/// At most `max` characters of `text`, with `…` when cut.
fn truncated(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The client's address, from the listener's [`Connection`].
pub fn peer(request: &Request) -> Option<SocketAddr> {
    request.extensions().get::<Connection>().map(|connection| connection.peer)
}

/// The source an audit entry names.
pub fn source_name(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "unknown".to_owned(), |peer| peer.ip().to_string())
}

/// The role check: reads for everyone, writes for those whose role may write.
fn permitted(method: &Method, path: &str, caller: &Caller) -> Result<(), ApiError> {
    let reads = matches!(*method, Method::GET | Method::HEAD);
    let self_checked = SELF_CHECKED
        .iter()
        .any(|prefix| path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')));
    if reads || self_checked || caller.may_write() {
        return Ok(());
    }
    Err(forbidden(caller, &format!("{method} {path}")))
}

/// 403 for a caller whose role may not do `what`.
pub fn forbidden(caller: &Caller, what: &str) -> ApiError {
    let who = match caller {
        Caller::Operator { user, role } => format!("{user} is {role} (read-only)"),
        other => other.audit_name(),
    };
    ApiError::new(StatusCode::FORBIDDEN, format!("permission denied: {who}; {what} needs network-admin"))
}

/// The answer to a failed authentication: 401 with the challenge, 429 with `Retry-After`.
fn refusal(error: &AuthError) -> Response {
    match error {
        AuthError::TooManyFailures { retry_after } => {
            let seconds = retry_after.as_secs().max(1).to_string();
            let mut response =
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, error.to_string()).into_response();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        AuthError::Store { unavailable: true, .. } => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()).into_response()
        }
        AuthError::Store { unavailable: false, .. } => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
        }
        AuthError::Missing
        | AuthError::Malformed(_)
        | AuthError::WrongPassword { .. }
        | AuthError::BadToken => {
            let mut response = ApiError::new(StatusCode::UNAUTHORIZED, error.to_string()).into_response();
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use config::Role;

    #[test]
    fn operators_read_and_use_exec_and_tokens() {
        let operator = Caller::Operator { user: "op".into(), role: Role::NetworkOperator };
        let admin = Caller::Operator { user: "admin".into(), role: Role::NetworkAdmin };
        assert!(permitted(&Method::GET, "/api/v1/config", &operator).is_ok());
        assert!(permitted(&Method::POST, "/api/v1/exec", &operator).is_ok());
        assert!(permitted(&Method::POST, "/api/v1/tokens", &operator).is_ok());
        assert!(permitted(&Method::DELETE, "/api/v1/tokens/abc", &operator).is_ok());
        assert!(permitted(&Method::POST, "/api/v1/tokensx", &operator).is_err());
        let refused = permitted(&Method::POST, "/api/v1/config", &operator).unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(
            refused.body.error,
            "permission denied: op is network-operator (read-only); POST /api/v1/config needs network-admin"
        );
        assert!(permitted(&Method::PUT, "/api/v1/port-profiles/x", &admin).is_ok());
        assert!(permitted(&Method::DELETE, "/api/v1/port-profiles/x", &Caller::Insecure).is_ok());
    }
}
