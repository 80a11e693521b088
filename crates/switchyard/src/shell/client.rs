//! The shell's view of the supervisor: two REST calls, `POST /api/v1/exec` for show commands and
//! `POST /api/v1/config` for configuration lines. All rendering happens in the supervisor.
//!
//! With a [`Login`], the first call gets a bearer token (`POST /api/v1/tokens`, HTTP Basic) and
//! every later one uses it, so only one request per session pays for the password check; a
//! supervisor that issues no token gets HTTP Basic on every request instead.
//!
//! Several supervisors (`--supervisor A,B,C`) answer alike: a call goes to the one that answered
//! last and moves on to the next when it cannot be reached (nothing was sent: no connection, no
//! such host, TLS refused, or 502/503 from a proxy in front of it). An answer, even 4xx, is the
//! answer. A request that was sent and got no answer may have been carried out: it is tried
//! again elsewhere only when doing it twice is harmless (`show`), and otherwise reported.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use agent_api::SupervisorEndpoints;
use serde::Deserialize;

/// How long connecting to one supervisor may take before the next one is tried (all the
/// addresses of a name share it).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one request may take in all.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// None of several supervisors could be reached; why, for each.
    #[error("no supervisor answers: {}", .attempts.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Unreachable { attempts: Vec<ClientError> },
}

/// How one try at one supervisor failed.
#[derive(Debug)]
enum Failure {
    /// Nothing reached the supervisor: another may serve the request.
    NotServed(ClientError),
    /// The request went out and no answer came: it may have been carried out.
    Uncertain(ClientError),
    /// The supervisor answered, with an error: that is the answer.
    Answered(ClientError),
}

/// Whether a request may go to another supervisor after it went out and got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Doing it twice is harmless (reading, logging in, logging out).
    Harmless,
    /// It changes something: once only.
    Once,
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
    /// `SCHEME://HOST:PORT` of each supervisor, in the order given.
    bases: Vec<String>,
    /// The one that answered last: the next call starts there.
    current: AtomicUsize,
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
    /// A client of the supervisor at `base` (`https://HOST:PORT`).
    pub fn new(base: &str) -> Self {
        Self::with_bases(vec![base.trim_end_matches('/').to_owned()])
    }

    /// A client of these supervisors, tried in order (`--supervisor A,B,C`).
    pub fn with_endpoints(endpoints: &SupervisorEndpoints) -> Self {
        Self::with_bases(endpoints.iter().map(agent_api::SupervisorEndpoint::base_url).collect())
    }

    fn with_bases(bases: Vec<String>) -> Self {
        Self {
            bases,
            current: AtomicUsize::new(0),
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

    /// The supervisor that answered last (the first before any call): where the next call goes
    /// first.
    pub fn url(&self) -> &str {
        let index = self.current.load(Ordering::Relaxed);
        self.bases.get(index).or(self.bases.first()).map_or("", String::as_str)
    }

    /// Runs one exec command (`show module`) and returns its rendered output.
    pub fn exec(&self, command: &str) -> Result<String, ClientError> {
        // `show …` only reads: asking another supervisor after no answer is harmless.
        let repeat = if command.trim_start().starts_with("show") { Repeat::Harmless } else { Repeat::Once };
        self.call("POST", "/api/v1/exec", command, repeat)
    }

    /// Applies NX-OS configuration text atomically.
    pub fn configure(&self, text: &str) -> Result<(), ClientError> {
        self.call("POST", "/api/v1/config", text, Repeat::Once).map(drop)
    }

    /// Makes configuration session `name`, or finds this account's own of that name.
    pub fn open_session(&self, name: &str) -> Result<(), ClientError> {
        self.call("PUT", &session_path(name, ""), "", Repeat::Harmless).map(drop)
    }

    /// Records configuration text in session `name`, unapplied.
    pub fn session_lines(&self, name: &str, text: &str) -> Result<(), ClientError> {
        self.call("POST", &session_path(name, "/lines"), text, Repeat::Once).map(drop)
    }

    /// Checks session `name` against the running config.
    pub fn verify_session(&self, name: &str) -> Result<(), ClientError> {
        self.call("POST", &session_path(name, "/verify"), "", Repeat::Harmless).map(drop)
    }

    /// Applies session `name` as one transaction; it ends.
    pub fn commit_session(&self, name: &str) -> Result<(), ClientError> {
        self.call("POST", &session_path(name, "/commit"), "", Repeat::Once).map(drop)
    }

    /// Discards session `name`.
    pub fn abort_session(&self, name: &str) -> Result<(), ClientError> {
        self.call("DELETE", &session_path(name, ""), "", Repeat::Once).map(drop)
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
            let bearer = format!("Bearer {token}");
            let _ = self.in_place(|| self.send("DELETE", &path, "", Some(&bearer), Repeat::Harmless));
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
                Err(ClientError::Transport { url: self.url().to_owned(), reason: format!("{e:#}") })
            }),
        }
    }

    fn call(&self, method: &str, path: &str, body: &str, repeat: Repeat) -> Result<String, ClientError> {
        if self.bases.iter().any(|base| base.starts_with("https://")) && !self.trusts_a_ca {
            return Err(ClientError::Transport {
                url: self.url().to_owned(),
                reason: "no CA certificate to verify the supervisor with: give --ca-cert FILE \
                         (the supervisor's <data-dir>/tls/ca.pem)"
                    .to_owned(),
            });
        }
        self.in_place(|| {
            let authorization = self.authorization()?;
            match self.send(method, path, body, authorization.as_deref(), repeat) {
                // The token expired (or was deleted, or another supervisor does not know it):
                // once more with a new one.
                Err(ClientError::Unauthenticated(_)) if authorization.as_deref().is_some_and(is_bearer) => {
                    *self.token_state() = Token::Unknown;
                    let authorization = self.authorization()?;
                    self.send(method, path, body, authorization.as_deref(), repeat)
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
                // A token nobody uses expires: asking twice is harmless.
                let issued = self.send("POST", "/api/v1/tokens", "", Some(&basic), Repeat::Harmless);
                let next = match issued {
                    Ok(text) => match serde_json::from_str::<IssuedToken>(&text) {
                        Ok(IssuedToken { token, id, role }) => Token::Have { token, id, role },
                        Err(_) => Token::Unavailable,
                    },
                    // A wrong login is the user's to hear about, not a reason to fall back.
                    Err(error @ (ClientError::Unauthenticated(_) | ClientError::TooManyFailures(_))) => {
                        return Err(error);
                    }
                    // No token while the store cannot take writes (etcd without quorum): this
                    // request goes with HTTP Basic, the next one asks again.
                    Err(error) if unavailable(&error) => return Ok(Some(basic)),
                    Err(ClientError::Transport { url, reason }) if !reason.starts_with('4') => {
                        return Err(ClientError::Transport { url, reason });
                    }
                    Err(error @ ClientError::Unreachable { .. }) => return Err(error),
                    Err(_) => Token::Unavailable,
                };
                *self.token_state() = next;
                self.authorization()
            }
        }
    }

    /// Sends one request to the supervisors in turn, from the one that answered last, until
    /// one answers (see the module's comment for when it moves on).
    fn send(
        &self,
        method: &str,
        path: &str,
        body: &str,
        authorization: Option<&str>,
        repeat: Repeat,
    ) -> Result<String, ClientError> {
        let count = self.bases.len();
        let start = self.current.load(Ordering::Relaxed);
        let mut attempts = Vec::new();
        for offset in 0..count {
            let index = (start + offset) % count;
            let answered = |index: usize| self.current.store(index, Ordering::Relaxed);
            match self.send_to(&self.bases[index], method, path, body, authorization) {
                Ok(text) => {
                    answered(index);
                    return Ok(text);
                }
                Err(Failure::Answered(error)) => {
                    answered(index);
                    return Err(error);
                }
                Err(Failure::Uncertain(error)) if repeat == Repeat::Once => {
                    // The next call starts with the next supervisor.
                    answered((index + 1) % count);
                    return Err(match error {
                        ClientError::Transport { url, reason } => ClientError::Transport {
                            url,
                            reason: format!(
                                "{reason}: the request went out and got no answer; it may or may not \
                                 have been carried out"
                            ),
                        },
                        other => other,
                    });
                }
                Err(Failure::NotServed(error) | Failure::Uncertain(error)) => attempts.push(error),
            }
        }
        match attempts.len() {
            1 => Err(attempts.remove(0)),
            _ => Err(ClientError::Unreachable { attempts }),
        }
    }

    /// Sends one request to the supervisor at `base`.
    fn send_to(
        &self,
        base: &str,
        method: &str,
        path: &str,
        body: &str,
        authorization: Option<&str>,
    ) -> Result<String, Failure> {
        let url = format!("{base}{path}");
        let transport = |reason: String| ClientError::Transport { url: base.to_owned(), reason };
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("content-type", "text/plain; charset=utf-8");
        let request = match authorization {
            Some(value) => request.header("authorization", value),
            None => request,
        };
        let request =
            request.body(body.to_owned()).map_err(|e| Failure::Answered(transport(e.to_string())))?;
        let mut response = self.http.run(request).map_err(|error| {
            let served = if not_sent(&error) { Failure::NotServed } else { Failure::Uncertain };
            served(transport(error.to_string()))
        })?;
        let status = response.status();
        let text =
            response.body_mut().read_to_string().map_err(|e| Failure::Uncertain(transport(e.to_string())))?;
        if status.is_success() {
            return Ok(text);
        }
        // A supervisor whose store cannot take writes (etcd without quorum) says so: every
        // supervisor shares that store, so asking the next one would only wait as long again.
        if status.as_u16() == 503 && store_unavailable(&text) {
            return Err(Failure::Answered(transport(format!("{status}: {}", text.trim()))));
        }
        // A proxy in front of a dead supervisor, or a supervisor that cannot serve now.
        if matches!(status.as_u16(), 502 | 503) {
            return Err(Failure::NotServed(transport(format!("{status}: {}", text.trim()))));
        }
        let Ok(err) = serde_json::from_str::<ErrorBody>(&text) else {
            return Err(Failure::Answered(transport(format!("{status}: {}", text.trim()))));
        };
        Err(Failure::Answered(match status.as_u16() {
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
        }))
    }
}

/// Whether a request failed before anything of it reached a supervisor: no such host, no
/// connection, or a TLS handshake that failed.
fn not_sent(error: &ureq::Error) -> bool {
    use std::io::ErrorKind;
    match error {
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed | ureq::Error::Tls(_) => true,
        ureq::Error::Rustls(_) => true,
        ureq::Error::Timeout(timeout) => {
            matches!(timeout, ureq::Timeout::Resolve | ureq::Timeout::Connect)
        }
        ureq::Error::Io(io) => matches!(
            io.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::HostUnreachable
                | ErrorKind::NetworkUnreachable
                | ErrorKind::NetworkDown
                | ErrorKind::AddrNotAvailable
        ),
        _ => false,
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
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(CALL_TIMEOUT));
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

/// Whether a 503's body is a supervisor's own word that its store is unavailable.
fn store_unavailable(body: &str) -> bool {
    serde_json::from_str::<ErrorBody>(body).is_ok_and(|body| body.error.contains("the store is unavailable"))
}

/// Whether every supervisor tried answered 503 (their store cannot take writes).
fn unavailable(error: &ClientError) -> bool {
    match error {
        ClientError::Transport { reason, .. } => reason.starts_with("503"),
        ClientError::Unreachable { attempts } => !attempts.is_empty() && attempts.iter().all(unavailable),
        _ => false,
    }
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
