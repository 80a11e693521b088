//! The shell's view of the supervisor: two REST calls, `POST /api/v1/exec` for show commands and
//! `POST /api/v1/config` for configuration lines. All rendering happens in the supervisor.
//!
//! With a [`Login`], the first call gets a bearer token (`POST /api/v1/tokens`, HTTP Basic) and
//! every later one uses it, so only one request per session pays for the password check; a
//! supervisor that issues no token gets HTTP Basic on every request instead.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Deserialize;

/// Why a call to the supervisor failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The supervisor refused the input; `column` (1-based) points into what was sent.
    #[error("{message}")]
    Rejected { message: String, line: usize, column: usize, expected: Vec<String>, detail: Option<String> },
    /// 401: no login, or a wrong one.
    #[error("Authentication failed: {0}")]
    Unauthenticated(String),
    /// 403: the account's role may not do it.
    #[error("Permission denied: {0}")]
    PermissionDenied(String),
    /// 429: too many failed logins from here.
    #[error("{0}")]
    TooManyFailures(String),
    /// The supervisor could not be reached or answered something unexpected.
    #[error("supervisor {url}: {reason}")]
    Transport { url: String, reason: String },
}

/// The JSON error body every REST error carries.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default, deserialize_with = "null_as_default")]
    line: usize,
    #[serde(default, deserialize_with = "null_as_default")]
    column: usize,
    #[serde(default, deserialize_with = "null_as_default")]
    expected: Vec<String>,
    #[serde(default)]
    detail: Option<String>,
}

/// An account to log in as. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login").field("user", &self.user).finish_non_exhaustive()
    }
}

/// Where the session's bearer token stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// Not asked for yet (or the last one expired).
    Unknown,
    /// `token`, its id (to delete it at the end), and the account's role then.
    Have { token: String, id: String, role: String },
    /// The supervisor issues none (`--insecure`, or an older one): HTTP Basic on every request.
    Unavailable,
}

#[derive(Debug)]
pub struct SupervisorClient {
    base: String,
    http: ureq::Agent,
    /// The network namespace calls are made from (a lab's supervisor namespace), if not this
    /// process's own.
    netns: Option<String>,
    login: Option<Login>,
    token: Mutex<Token>,
    /// A CA to verify an `https://` supervisor with was given (`with_ca_cert`).
    trusts_a_ca: bool,
}

impl SupervisorClient {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: agent(None),
            netns: None,
            login: None,
            token: Mutex::new(Token::Unknown),
            trusts_a_ca: false,
        }
    }

    /// The same client, calling from inside the named network namespace (`ip netns` name): each
    /// call runs on a thread that entered it, so a supervisor reachable only there answers.
    pub fn in_netns(mut self, netns: &str) -> Self {
        self.netns = Some(netns.to_owned());
        self
    }

    /// The same client, logging in as `login`.
    pub fn with_login(mut self, login: Login) -> Self {
        self.login = Some(login);
        self
    }

    /// The same client, trusting exactly the CA in this PEM file for `https://` URLs.
    pub fn with_ca_cert(mut self, pem_file: &Path) -> anyhow::Result<Self> {
        self.http = agent(Some(root_certs(pem_file)?));
        self.trusts_a_ca = true;
        Ok(self)
    }

    /// Runs one exec command (`show module`) and returns its rendered output.
    pub fn exec(&self, command: &str) -> Result<String, ClientError> {
        self.call("POST", "/api/v1/exec", command)
    }

    /// Applies NX-OS configuration text atomically.
    pub fn configure(&self, text: &str) -> Result<(), ClientError> {
        self.call("POST", "/api/v1/config", text).map(drop)
    }

    /// Makes configuration session `name`, or finds this account's own of that name.
    pub fn open_session(&self, name: &str) -> Result<(), ClientError> {
        self.call("PUT", &session_path(name, ""), "").map(drop)
    }

    /// Records configuration text in session `name`, unapplied.
    pub fn session_lines(&self, name: &str, text: &str) -> Result<(), ClientError> {
        self.call("POST", &session_path(name, "/lines"), text).map(drop)
    }

    /// Checks session `name` against the running config.
    pub fn verify_session(&self, name: &str) -> Result<(), ClientError> {
        self.call("POST", &session_path(name, "/verify"), "").map(drop)
    }

    /// Applies session `name` as one transaction; it ends.
    pub fn commit_session(&self, name: &str) -> Result<(), ClientError> {
        self.call("POST", &session_path(name, "/commit"), "").map(drop)
    }

    /// Discards session `name`.
    pub fn abort_session(&self, name: &str) -> Result<(), ClientError> {
        self.call("DELETE", &session_path(name, ""), "").map(drop)
    }

    /// The logged-in account's role (`network-admin`, `network-operator`), as the supervisor
    /// said when it issued the session's token (got now if need be); `None` when unknown.
    pub fn role(&self) -> Option<String> {
        self.in_place(|| self.authorization()).ok()?;
        match &*self.token_state() {
            Token::Have { role, .. } => Some(role.clone()),
            Token::Unknown | Token::Unavailable => None,
        }
    }

    /// Deletes the session's token, if it got one (best effort: it expires anyway).
    pub fn logout(&self) {
        let token = std::mem::replace(&mut *self.token_state(), Token::Unknown);
        if let Token::Have { id, token, .. } = token {
            let path = format!("/api/v1/tokens/{id}");
            let _ = self.in_place(|| self.send("DELETE", &path, "", Some(&format!("Bearer {token}"))));
        }
    }

    fn token_state(&self) -> std::sync::MutexGuard<'_, Token> {
        self.token.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` where calls are made from: here, or on a thread in the client's namespace.
    fn in_place<T>(&self, f: impl FnOnce() -> Result<T, ClientError> + Send) -> Result<T, ClientError>
    where
        T: Send,
    {
        match &self.netns {
            None => f(),
            Some(netns) => testbed::netns::run_in(netns, f).unwrap_or_else(|e| {
                Err(ClientError::Transport { url: self.base.clone(), reason: format!("{e:#}") })
            }),
        }
    }

    fn call(&self, method: &str, path: &str, body: &str) -> Result<String, ClientError> {
        if self.base.starts_with("https://") && !self.trusts_a_ca {
            return Err(ClientError::Transport {
                url: self.base.clone(),
                reason: "no CA certificate to verify the supervisor with: give --ca-cert FILE \
                         (the supervisor's <data-dir>/tls/ca.pem)"
                    .to_owned(),
            });
        }
        self.in_place(|| {
            let authorization = self.authorization()?;
            match self.send(method, path, body, authorization.as_deref()) {
                // The token expired (or was deleted): once more with a new one.
                Err(ClientError::Unauthenticated(_)) if authorization.as_deref().is_some_and(is_bearer) => {
                    *self.token_state() = Token::Unknown;
                    let authorization = self.authorization()?;
                    self.send(method, path, body, authorization.as_deref())
                }
                result => result,
            }
        })
    }

    /// The `Authorization` header of the next request: the session's token (got on first use),
    /// HTTP Basic where there is none, nothing without a login.
    fn authorization(&self) -> Result<Option<String>, ClientError> {
        let Some(login) = &self.login else { return Ok(None) };
        let basic = supervisor::trust::credentials::basic_header(&login.user, &login.password);
        let state = self.token_state().clone();
        match state {
            Token::Have { token, .. } => Ok(Some(format!("Bearer {token}"))),
            Token::Unavailable => Ok(Some(basic)),
            Token::Unknown => {
                let issued = self.send("POST", "/api/v1/tokens", "", Some(&basic));
                let next = match issued {
                    Ok(text) => match serde_json::from_str::<IssuedToken>(&text) {
                        Ok(IssuedToken { token, id, role }) => Token::Have { token, id, role },
                        Err(_) => Token::Unavailable,
                    },
                    // A wrong login is the user's to hear about, not a reason to fall back.
                    Err(error @ (ClientError::Unauthenticated(_) | ClientError::TooManyFailures(_))) => {
                        return Err(error);
                    }
                    Err(ClientError::Transport { url, reason }) if !reason.starts_with('4') => {
                        return Err(ClientError::Transport { url, reason });
                    }
                    Err(_) => Token::Unavailable,
                };
                *self.token_state() = next;
                self.authorization()
            }
        }
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: &str,
        authorization: Option<&str>,
    ) -> Result<String, ClientError> {
        let url = format!("{}{path}", self.base);
        let transport = |reason: String| ClientError::Transport { url: url.clone(), reason };
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("content-type", "text/plain; charset=utf-8");
        let request = match authorization {
            Some(value) => request.header("authorization", value),
            None => request,
        };
        let request = request.body(body.to_owned()).map_err(|e| transport(e.to_string()))?;
        let mut response = self.http.run(request).map_err(|e| transport(e.to_string()))?;
        let status = response.status();
        let text = response.body_mut().read_to_string().map_err(|e| transport(e.to_string()))?;
        if status.is_success() {
            return Ok(text);
        }
        let Ok(err) = serde_json::from_str::<ErrorBody>(&text) else {
            return Err(transport(format!("{status}: {}", text.trim())));
        };
        Err(match status.as_u16() {
            401 => ClientError::Unauthenticated(err.error),
            403 => ClientError::PermissionDenied(
                err.error.strip_prefix("permission denied: ").unwrap_or(&err.error).to_owned(),
            ),
            429 => ClientError::TooManyFailures(capitalized(&err.error)),
            _ if status.is_client_error() => ClientError::Rejected {
                message: err.error,
                line: err.line,
                column: err.column,
                expected: err.expected,
                detail: err.detail,
            },
            _ => transport(format!("{status}: {}", err.error)),
        })
    }
}

/// What `POST /api/v1/tokens` answers (the fields the shell uses).
#[derive(Deserialize)]
struct IssuedToken {
    token: String,
    id: String,
    role: String,
}

/// An HTTP agent that answers error statuses as responses, trusting `roots` for TLS (ring as
/// rustls's provider).
/// An HTTP client (statuses are not errors, 30 s per call) trusting exactly the CA in
/// `pem_file` for `https://`: what the shell uses, for scripts and tests that call REST directly.
pub fn https_agent(pem_file: &Path) -> anyhow::Result<ureq::Agent> {
    Ok(agent(Some(root_certs(pem_file)?)))
}

/// The certificates of a PEM file, as the roots to trust.
fn root_certs(pem_file: &Path) -> anyhow::Result<ureq::tls::RootCerts> {
    use anyhow::Context as _;
    let pem = std::fs::read(pem_file).with_context(|| format!("reading {}", pem_file.display()))?;
    let certs = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => Some(Ok(cert)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not PEM", pem_file.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", pem_file.display());
    Ok(ureq::tls::RootCerts::Specific(Arc::new(certs)))
}

fn agent(roots: Option<ureq::tls::RootCerts>) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)));
    if let Some(roots) = roots {
        install_crypto_provider();
        config = config.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build());
    }
    config.build().new_agent()
}

/// Makes ring rustls's process-wide provider (the workspace builds no other). Only the first
/// install wins; later ones fail harmlessly.
#[allow(deprecated)] // ring's provider lacks post-quantum key exchange; it is the one built here.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// `/api/v1/config/sessions/{name}{tail}`, the name percent-encoded (the supervisor refuses
/// names that would need it; the request must still reach it).
fn session_path(name: &str, tail: &str) -> String {
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    format!("/api/v1/config/sessions/{encoded}{tail}")
}

fn is_bearer(authorization: &str) -> bool {
    authorization.starts_with("Bearer ")
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The supervisor sends `null` for fields that do not apply to an error.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
