//! The unix-socket listener of the local API.

use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use agent_api::{MAX_REQUEST_BYTES, Request, Response, encode_line};

/// A connection idle this long is closed, so forgotten clients do not pile up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Only the owner (root, normally) may talk to the agent.
const SOCKET_MODE: u32 = 0o600;

/// A failure setting up the local API socket.
#[derive(Debug, thiserror::Error)]
pub enum LocalApiError {
    #[error("another agent is already serving {path}")]
    AlreadyRunning { path: PathBuf },
    #[error("{path} exists and is not a socket; refusing to replace it")]
    NotASocket { path: PathBuf },
    #[error("cannot remove stale socket {path}: {source}")]
    RemoveStale { path: PathBuf, source: io::Error },
    #[error("cannot listen on {path}: {source}")]
    Bind { path: PathBuf, source: io::Error },
    #[error("cannot restrict {path} to mode 0600: {source}")]
    Permissions { path: PathBuf, source: io::Error },
}

/// The bound socket, ready to serve.
#[derive(Debug)]
pub struct LocalApiServer {
    listener: UnixListener,
    path: PathBuf,
}

impl LocalApiServer {
    /// Listens on `path`, replacing a stale socket left by an agent that died, but never one a
    /// live agent still answers on. Must be called inside a tokio runtime.
    pub async fn bind(path: &Path) -> Result<Self, LocalApiError> {
        remove_stale_socket(path).await?;
        let listener = UnixListener::bind(path)
            .map_err(|source| LocalApiError::Bind { path: path.to_owned(), source })?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
            .map_err(|source| LocalApiError::Permissions { path: path.to_owned(), source })?;
        Ok(Self { listener, path: path.to_owned() })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves connections forever, answering each request with `handler`. Requests on one
    /// connection are answered in order; connections are served concurrently.
    pub async fn serve<H, F>(self, handler: Arc<H>)
    where
        H: Fn(Request) -> F + Send + Sync + 'static,
        F: Future<Output = Response> + Send + 'static,
    {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    let handler = Arc::clone(&handler);
                    tokio::spawn(async move {
                        if let Err(err) = serve_connection(stream, &*handler).await {
                            tracing::debug!("local API connection ended: {err}");
                        }
                    });
                }
                Err(err) => {
                    // EMFILE and friends: back off briefly rather than spin.
                    tracing::warn!("local API accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

async fn remove_stale_socket(path: &Path) -> Result<(), LocalApiError> {
    let meta = match tokio::fs::symlink_metadata(path).await {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(LocalApiError::RemoveStale { path: path.to_owned(), source });
        }
    };
    if !meta.file_type().is_socket() {
        return Err(LocalApiError::NotASocket { path: path.to_owned() });
    }
    if UnixStream::connect(path).await.is_ok() {
        return Err(LocalApiError::AlreadyRunning { path: path.to_owned() });
    }
    tokio::fs::remove_file(path)
        .await
        .map_err(|source| LocalApiError::RemoveStale { path: path.to_owned(), source })
}

/// Answers requests on one connection until the client closes it, idles out, or sends a line
/// too long to be a request.
async fn serve_connection<H, F>(stream: UnixStream, handler: &H) -> io::Result<()>
where
    H: Fn(Request) -> F,
    F: Future<Output = Response>,
{
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let limit = u64::try_from(MAX_REQUEST_BYTES).unwrap_or(u64::MAX) + 1;
        let read = tokio::time::timeout(IDLE_TIMEOUT, (&mut reader).take(limit).read_until(b'\n', &mut line))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client idle"))??;
        if read == 0 {
            return Ok(());
        }
        if line.last() != Some(&b'\n') && line.len() > MAX_REQUEST_BYTES {
            let refusal = Response::error(format!(
                "request longer than {MAX_REQUEST_BYTES} bytes; closing the connection"
            ));
            write.write_all(&encode_line(&refusal)).await?;
            return Ok(());
        }
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        let response = match Request::decode(body) {
            Ok(request) => handler(request).await,
            Err(message) => Response::error(message),
        };
        write.write_all(&encode_line(&response)).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_api::CardInfo;
    use crate::status::ConnectionState;

    fn card() -> CardInfo {
        CardInfo {
            card_name: "bilbo".into(),
            host_id: "id".into(),
            switch_name: "switch".into(),
            module: Some(3),
            supervisor: "https://127.0.0.1:7400".into(),
            supervisors: vec!["https://127.0.0.1:7400".into()],
            trust: String::new(),
            state: ConnectionState::Connected,
            last_heartbeat_ack_ms: Some(12),
            policy_count: 2,
            policy_revision: 7,
            supervisor_revision: Some(7),
            max_virtual_ports: 248,
            addresses: vec![],
            hardware: "Linux 6.1 x86_64".into(),
            version: "0.1.0".into(),
        }
    }

    async fn start(dir: &Path) -> PathBuf {
        let path = dir.join("agent.sock");
        let server = LocalApiServer::bind(&path).await.expect("bind");
        let handler = |_: Request| async { Response::Card(Box::new(card())) };
        tokio::spawn(server.serve(Arc::new(handler)));
        path
    }

    async fn exchange(path: &Path, lines: &[&[u8]]) -> Vec<Response> {
        let stream = UnixStream::connect(path).await.expect("connect");
        let (read, mut write) = stream.into_split();
        for line in lines {
            write.write_all(line).await.expect("write");
        }
        write.shutdown().await.expect("shutdown");
        let mut replies = BufReader::new(read).lines();
        let mut responses = Vec::new();
        // Read until EOF, or until a reset: a server that hangs up on unread input (the
        // oversized request) makes the kernel reset the connection after its answer.
        while let Ok(Some(reply)) = replies.next_line().await {
            responses.push(serde_json::from_str(&reply).expect("response is JSON"));
        }
        responses
    }

    #[tokio::test]
    async fn answers_requests_and_errors_on_garbage_without_dropping_the_connection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = start(dir.path()).await;
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let responses = exchange(
            &path,
            &[b"{\"request\":\"show-card\"}\n", b"garbage\n", b"{\"request\":\"show-card\"}\n"],
        )
        .await;
        assert_eq!(responses.len(), 3);
        assert_eq!(responses[0], Response::Card(Box::new(card())));
        assert!(
            matches!(&responses[1], Response::Error { message } if message.starts_with("malformed request")),
            "{:?}",
            responses[1]
        );
        assert_eq!(responses[2], Response::Card(Box::new(card())));
    }

    #[tokio::test]
    async fn an_oversized_request_is_refused_and_the_server_keeps_serving() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = start(dir.path()).await;
        let huge = vec![b'x'; MAX_REQUEST_BYTES * 4];
        let responses = exchange(&path, &[&huge]).await;
        assert!(
            matches!(&responses[..], [Response::Error { message }] if message.contains("longer than")),
            "{responses:?}"
        );
        let responses = exchange(&path, &[b"{\"request\":\"show-card\"}\n"]).await;
        assert_eq!(responses, vec![Response::Card(Box::new(card()))]);
    }

    #[tokio::test]
    async fn a_stale_socket_is_replaced_but_a_live_one_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("agent.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).expect("stale bind"));
        assert!(path.exists(), "a dropped listener leaves its socket file");
        let server = LocalApiServer::bind(&path).await.expect("stale socket replaced");

        let err = LocalApiServer::bind(&path).await.expect_err("live socket replaced");
        assert!(matches!(err, LocalApiError::AlreadyRunning { .. }), "{err}");
        drop(server);

        let file = dir.path().join("not-a-socket");
        std::fs::write(&file, "x").expect("write");
        let err = LocalApiServer::bind(&file).await.expect_err("file replaced");
        assert!(matches!(err, LocalApiError::NotASocket { .. }), "{err}");
    }
}
