//! The handler: one Docker request in, one answer out. Pure of sockets; state is kept in
//! memory and saved to the state file before a change is acknowledged.

mod ipam;
mod network;

use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::{Backend, BackendError};
use crate::protocol::{ActivateResponse, ErrorResponse};
use crate::state::{State, StateError, StateFile};

/// How long a backend call may take before Docker gets an error instead (dockerd waits on the
/// plugin with its own locks held).
pub const DEFAULT_BACKEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a Docker request failed; the text is what the operator reads after "Error response from
/// daemon:".
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("malformed request to {path}: {source}")]
    Malformed { path: String, source: serde_json::Error },
    #[error(
        "switchyard's IPAM needs to know which pool to use: add `--ipam-opt profile=NAME` (the \
         port-profile whose pool to use) or `--ipam-opt pool=NAME`, or give `--subnet` equal to a \
         pool's network (Docker passes `-o` options to the network driver only, not to IPAM)"
    )]
    NoPoolChosen,
    #[error(
        "switchyard's IPAM hands out IPv4 addresses only; leave out --ipv6, or use Docker's IPAM for IPv6"
    )]
    Ipv6Unsupported,
    #[error(
        "--ip-range is not supported with switchyard's IPAM: addresses come from the pool's \
         ranges on the supervisor"
    )]
    SubPoolUnsupported,
    #[error("pool '{pool}' has network {network}, not the {requested} given with --subnet")]
    SubnetMismatch { pool: String, network: String, requested: String },
    #[error(
        "pool id '{0}' is not known to switchyard's IPAM on this host; remove the network and create it again"
    )]
    UnknownPool(String),
    #[error(
        "the gateway of pool '{pool}' is its default-router {default_router}; leave out --gateway \
         or give {default_router}"
    )]
    GatewayMismatch { pool: String, default_router: Ipv4Addr },
    #[error(
        "pool '{0}' has no default-router: give the pool one on the supervisor, or name the \
         gateway with docker network create --gateway"
    )]
    NoGateway(String),
    #[error("'{value}' is not {what}")]
    BadValue { what: &'static str, value: String },
    #[error(
        "say which port-profile the network's containers get: docker network create -d switchyard \
         -o profile=NAME …"
    )]
    NoProfile,
    #[error(
        "port-profile '{0}' does not exist on the supervisor: create it there (port-profile type vethernet {0}) first"
    )]
    ProfileMissing(String),
    #[error(
        "network {0} is not known to switchyard on this host (its state was lost?); remove it \
         with docker network rm and create it again"
    )]
    UnknownNetwork(String),
    #[error(
        "endpoint {0} is not known to switchyard on this host; disconnect the container and connect it again"
    )]
    UnknownEndpoint(String),
    #[error("{action}: {source}")]
    Backend { action: String, source: BackendError },
    #[error(
        "{action}: no answer within {after:?}; check that this host's switchyard agent is \
         connected to its supervisor, then try again"
    )]
    Timeout { action: String, after: Duration },
    #[error(transparent)]
    State(#[from] StateError),
}

/// The outcome of one request: HTTP status and JSON body.
pub type Answer = (u16, Vec<u8>);

/// The network and IPAM driver over a backend.
#[derive(Debug)]
pub struct Plugin<B> {
    backend: Arc<B>,
    state: Mutex<State>,
    file: StateFile,
    backend_timeout: Duration,
}

impl<B: Backend> Plugin<B> {
    /// Loads the state saved in `file` (none yet is fine) and serves with `backend`.
    pub fn open(backend: B, file: StateFile) -> Result<Self, StateError> {
        let state = file.load()?;
        Ok(Self {
            backend: Arc::new(backend),
            state: Mutex::new(state),
            file,
            backend_timeout: DEFAULT_BACKEND_TIMEOUT,
        })
    }

    /// Bounds each backend call by `timeout` instead of [`DEFAULT_BACKEND_TIMEOUT`].
    pub fn with_backend_timeout(mut self, timeout: Duration) -> Self {
        self.backend_timeout = timeout;
        self
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<B> {
        &self.backend
    }

    /// Every address this plugin holds from the supervisor's pools: (pool name, address), for
    /// the supervisor's leak collector.
    pub fn held_addresses(&self) -> Vec<(String, Ipv4Addr)> {
        self.lock().held_addresses()
    }

    /// A copy of the state, for inspection.
    pub fn state(&self) -> State {
        self.lock().clone()
    }

    /// Answers one request: `path` is the HTTP path ("/NetworkDriver.Join"), `body` its JSON.
    /// Never panics on what Docker (or anyone on the socket) sends.
    pub async fn handle(&self, path: &str, body: &[u8]) -> Answer {
        let result = match path {
            "/Plugin.Activate" => {
                encode(&ActivateResponse { implements: vec!["NetworkDriver", "IpamDriver"] })
            }
            _ => match self.dispatch(path, body).await {
                Some(result) => result,
                None => {
                    let message = format!("switchyard's Docker plugin has no endpoint {path}");
                    return (404, encode_error(&message));
                }
            },
        };
        match result {
            Ok(json) => (200, json),
            Err(err @ PluginError::Malformed { .. }) => (400, encode_error(&err.to_string())),
            // Not 200: Docker 20.10's remote IPAM ignores `Err` in a 200 answer (RequestPool then
            // fails on the empty pool with "invalid CIDR address"); a failure status makes every
            // caller report the message.
            Err(err) => {
                tracing::warn!("Docker plugin: {path} failed: {err}");
                (500, encode_error(&err.to_string()))
            }
        }
    }

    async fn dispatch(&self, path: &str, body: &[u8]) -> Option<Result<Vec<u8>, PluginError>> {
        let (family, method) = path.strip_prefix('/')?.split_once('.')?;
        match family {
            "IpamDriver" => self.handle_ipam(method, path, body).await.transpose(),
            "NetworkDriver" => self.handle_network(method, path, body).await.transpose(),
            _ => None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the state as whole as the last
        // completed change: keep serving it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `change` to a copy of the state, saves the copy, and only then makes it the
    /// state: a change that cannot be saved is not made.
    fn commit<T>(&self, change: impl FnOnce(&mut State) -> T) -> Result<T, PluginError> {
        let mut state = self.lock();
        let mut next = state.clone();
        let out = change(&mut next);
        if next != *state {
            self.file.save(&next)?;
            *state = next;
        }
        Ok(out)
    }

    /// Runs a backend call within the deadline.
    async fn call<T>(
        &self,
        action: impl Into<String>,
        work: impl Future<Output = Result<T, BackendError>>,
    ) -> Result<T, PluginError> {
        match tokio::time::timeout(self.backend_timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(PluginError::Backend { action: action.into(), source }),
            Err(_) => Err(PluginError::Timeout { action: action.into(), after: self.backend_timeout }),
        }
    }
}

fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, PluginError> {
    // An empty body is what a request without parameters may carry.
    let body = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
    serde_json::from_slice(body).map_err(|source| PluginError::Malformed { path: path.to_owned(), source })
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, PluginError> {
    // Our response types serialise infallibly (string keys, no custom serialisers that fail).
    Ok(serde_json::to_vec(value).unwrap_or_else(|err| encode_error(&err.to_string())))
}

fn encode_error(message: &str) -> Vec<u8> {
    serde_json::to_vec(&ErrorResponse { err: message })
        .unwrap_or_else(|_| b"{\"Err\":\"internal error\"}".to_vec())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
