//! The unix-socket HTTP server dockerd talks to: HTTP/1.1, one request per plugin call.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::backend::Backend;
use crate::plugin::Plugin;
use crate::protocol::{CONTENT_TYPE, ErrorResponse};

/// Where dockerd looks for the plugin named `switchyard`.
pub const DEFAULT_SOCKET_PATH: &str = "/run/docker/plugins/switchyard.sock";

/// Docker's requests are a few hundred bytes; anything this large is not Docker.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// dockerd runs as root; the group may be given access by the operator.
const SOCKET_MODE: u32 = 0o660;

/// A client that sends no complete request head within this is dropped.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a graceful stop waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// A failure setting up the plugin's socket.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("another process is already serving the Docker plugin on {path}")]
    AlreadyRunning { path: PathBuf },
    #[error("{path} exists and is not a socket; refusing to replace it")]
    NotASocket { path: PathBuf },
    #[error("cannot remove the stale socket {path}: {source}")]
    RemoveStale { path: PathBuf, source: io::Error },
    #[error("cannot create {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot listen on {path}: {source}")]
    Bind { path: PathBuf, source: io::Error },
    #[error("cannot set the mode of {path}: {source}")]
    Permissions { path: PathBuf, source: io::Error },
}

/// The bound socket, ready to serve.
#[derive(Debug)]
pub struct PluginServer {
    listener: UnixListener,
    path: PathBuf,
}

impl PluginServer {
    /// Listens on `path` (creating its directory), replacing a stale socket left by an agent
    /// that died, never one a live process answers on. Must be called inside a tokio runtime.
    pub async fn bind(path: &Path) -> Result<Self, ServerError> {
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|source| ServerError::CreateDir { path: dir.to_owned(), source })?;
        }
        remove_stale_socket(path).await?;
        let listener =
            UnixListener::bind(path).map_err(|source| ServerError::Bind { path: path.to_owned(), source })?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
            .map_err(|source| ServerError::Permissions { path: path.to_owned(), source })?;
        Ok(Self { listener, path: path.to_owned() })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves until `stop` completes; then takes no new connections, lets requests in flight
    /// finish (for a while), and removes the socket so dockerd sees the plugin gone.
    pub async fn serve<B: Backend>(self, plugin: Arc<Plugin<B>>, stop: impl Future<Output = ()>) {
        let (stopping_tx, stopping) = watch::channel(false);
        let mut connections = JoinSet::new();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(serve_connection(stream, Arc::clone(&plugin), stopping.clone()));
                    }
                    Err(err) => {
                        // EMFILE and friends: back off briefly rather than spin.
                        tracing::warn!("Docker plugin: accept failed: {err}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        let _ = stopping_tx.send(true);
        let drained =
            tokio::time::timeout(DRAIN_TIMEOUT, async { while connections.join_next().await.is_some() {} });
        if drained.await.is_err() {
            tracing::warn!("Docker plugin: requests still running after {DRAIN_TIMEOUT:?}; stopping anyway");
            connections.abort_all();
        }
        drop(self.listener);
        if let Err(err) = std::fs::remove_file(&self.path) {
            tracing::warn!("Docker plugin: cannot remove {}: {err}", self.path.display());
        }
    }
}

async fn serve_connection<B: Backend>(
    stream: UnixStream,
    plugin: Arc<Plugin<B>>,
    mut stopping: watch::Receiver<bool>,
) {
    let service = service_fn(move |request| answer(Arc::clone(&plugin), request));
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = async { stopping.wait_for(|stopping| *stopping).await.map(drop) } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        tracing::debug!("Docker plugin: connection ended: {err}");
    }
}

async fn answer<B: Backend>(
    plugin: Arc<Plugin<B>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let (status, json) = match Limited::new(request.into_body(), MAX_BODY_BYTES).collect().await {
        Ok(body) => plugin.handle(&path, &body.to_bytes()).await,
        Err(err) => {
            let message =
                format!("cannot read the request to {path}: {err} (at most {MAX_BODY_BYTES} bytes)");
            (413, serde_json::to_vec(&ErrorResponse { err: &message }).unwrap_or_default())
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(json)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(CONTENT_TYPE));
    Ok(response)
}

async fn remove_stale_socket(path: &Path) -> Result<(), ServerError> {
    let meta = match tokio::fs::symlink_metadata(path).await {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(ServerError::RemoveStale { path: path.to_owned(), source }),
    };
    if !meta.file_type().is_socket() {
        return Err(ServerError::NotASocket { path: path.to_owned() });
    }
    if UnixStream::connect(path).await.is_ok() {
        return Err(ServerError::AlreadyRunning { path: path.to_owned() });
    }
    tokio::fs::remove_file(path)
        .await
        .map_err(|source| ServerError::RemoveStale { path: path.to_owned(), source })
}
