//! The listener: TLS (rustls; ALPN h2 for gRPC, http/1.1 for REST clients), then HTTP/1.1 or
//! HTTP/2 on one socket, served by one router. Every request carries the [`Connection`] it came
//! on (peer address, client certificate), from which the handlers' identity checks start.
//!
//! Guards against clients that hold resources: a connection cap, a deadline for the TLS
//! handshake (and, without TLS, for the first byte), HTTP/1 header deadlines, and HTTP/2
//! keep-alive pings so that a peer that vanished releases its streams.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use pki::PeerCertificate;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::trust::Connection;

/// How often an idle HTTP/2 connection is pinged, and how long the answer may take.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Response bytes buffered per HTTP/2 stream before the stream is no longer polled: bounds the
/// memory a slow agent's watch stream can hold on the supervisor (hyper's default is 400 KiB).
const MAX_SEND_BUFFER: usize = 64 * 1024;
/// How long open requests get to finish once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The first byte of a TLS handshake record; anything else on a TLS port is answered in HTTP.
const TLS_HANDSHAKE: u8 = 0x16;

/// Limits on what clients may hold.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Time a new connection gets to finish its TLS handshake (or send its first byte).
    pub handshake_timeout: Duration,
    /// Time an HTTP/1 client gets to send a request's headers.
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` (over TLS with `tls`, in clear without) until `shutdown` turns
/// true, then lets open requests finish (at most `DRAIN_TIMEOUT`) and returns when every
/// connection is closed.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<Arc<ServerConfig>>,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let mut connections = JoinSet::new();
    let mut refused = 0u64;
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if connections.len() >= limits.max_connections {
                        refused += 1;
                        if refused.is_power_of_two() {
                            tracing::warn!(open = connections.len(), refused, "connection cap reached; closing new connections");
                        }
                        continue;
                    }
                    // Deltas are small and latency matters more than packing.
                    let _ = stream.set_nodelay(true);
                    let accepted = Accepted { stream, peer, acceptor: acceptor.clone(), limits };
                    connections.spawn(accepted.serve(router.clone(), shutdown.clone()));
                }
                Err(error) => {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    let drained =
        tokio::time::timeout(DRAIN_TIMEOUT, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(open = connections.len(), "closing connections that did not finish in time");
        connections.shutdown().await;
    }
}

/// Resolves once `shutdown` turns true (or its sender is gone).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// A connection just accepted.
struct Accepted {
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    limits: ConnectionLimits,
}

impl Accepted {
    async fn serve(self, router: axum::Router, shutdown: watch::Receiver<bool>) {
        let Self { stream, peer, acceptor, limits } = self;
        // A client that never speaks must not hold a connection: wait for its first byte.
        let mut first = [0u8; 1];
        match tokio::time::timeout(limits.handshake_timeout, stream.peek(&mut first)).await {
            Ok(Ok(1)) => {}
            _ => return,
        }
        let Some(acceptor) = acceptor else {
            let connection = Connection { peer, tls: false, client: None };
            return serve_http(stream, connection, router, limits, shutdown).await;
        };
        if first[0] != TLS_HANDSHAKE {
            return refuse_plain_http(stream).await;
        }
        let tls = match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        };
        let client = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|certificate| PeerCertificate::parse(certificate).ok());
        let connection = Connection { peer, tls: true, client };
        serve_http(tls, connection, router, limits, shutdown).await;
    }
}

/// A clear-text request on the TLS port gets one plain answer saying so, then the door.
async fn refuse_plain_http(mut stream: TcpStream) {
    const BODY: &str = "{\"error\":\"this supervisor speaks TLS: use https://\"}";
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(response.as_bytes())).await;
    let _ = stream.shutdown().await;
}

async fn serve_http<S>(
    stream: S,
    connection: Connection,
    router: axum::Router,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .max_send_buf_size(MAX_SEND_BUFFER);
    let service = router.map_request(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(connection.clone());
        request
    });
    let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        () = stopped(&mut shutdown) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
