//! The listener: TLS (rustls; ALPN h2 for gRPC, http/1.1 for REST clients), then HTTP/1.1 or
//! HTTP/2 on one socket, served by one router. Every request carries the [`Connection`] it came
//! on (peer address, client certificate), from which the handlers' identity checks start.
//!
//! Guards against clients that hold resources: a connection cap, a deadline for the TLS
//! handshake (and, without TLS, for the first byte), HTTP/1 header deadlines, and HTTP/2
//! keep-alive pings so that a peer that vanished releases its streams.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
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
    /// Connections open at once from one source (an IPv4 address, an IPv6 /64): one client
    /// cannot take the whole of `max_connections` and lock every agent and operator out.
    pub max_per_source: usize,
    /// Time a new connection gets to finish its TLS handshake (or send its first byte).
    pub handshake_timeout: Duration,
    /// Time an HTTP/1 client gets to send a request's headers.
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            max_per_source: 256,
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
    let sources = SourceSlots::default();
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
                    let Some(slot) = sources.take(peer.ip(), limits.max_per_source) else {
                        refused += 1;
                        if refused.is_power_of_two() {
                            tracing::warn!(%peer, refused, "a source holds its most connections; closing its new ones");
                        }
                        continue;
                    };
                    // Deltas are small and latency matters more than packing.
                    let _ = stream.set_nodelay(true);
                    let accepted = Accepted { stream, peer, acceptor: acceptor.clone(), limits, _slot: slot };
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
    /// Held for as long as the connection lives.
    _slot: SourceSlot,
}

impl Accepted {
    async fn serve(self, router: axum::Router, shutdown: watch::Receiver<bool>) {
        let Self { stream, peer, acceptor, limits, _slot } = self;
        // A client that never speaks must not hold a connection: it has `handshake_timeout` for
        // its first byte and (with TLS) the whole handshake together.
        let deadline = tokio::time::Instant::now() + limits.handshake_timeout;
        let mut first = [0u8; 1];
        match tokio::time::timeout_at(deadline, stream.peek(&mut first)).await {
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
        let tls = match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
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

/// Open connections per source.
#[derive(Debug, Default, Clone)]
struct SourceSlots(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One connection's place in its source's count, given back on drop (also when its task panics
/// or is aborted).
#[derive(Debug)]
struct SourceSlot {
    slots: SourceSlots,
    source: IpAddr,
}

impl SourceSlots {
    /// A place for one more connection from `peer`'s source, if it holds fewer than `max`.
    fn take(&self, peer: IpAddr, max: usize) -> Option<SourceSlot> {
        let source = source_of(peer);
        let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(source).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(SourceSlot { slots: self.clone(), source })
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self.slots.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.source) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.source);
            }
        }
    }
}

/// The source a connection counts against: its IPv4 address, or its IPv6 /64 (one host usually
/// holds a whole /64).
pub fn source_of(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(_) => peer,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        },
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_source_holds_at_most_its_share_and_gets_it_back() {
        let slots = SourceSlots::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..3).filter_map(|_| slots.take(a, 3)).collect();
        assert_eq!(held.len(), 3);
        assert!(slots.take(a, 3).is_none(), "the fourth from one source");
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(slots.take(b, 3).is_some(), "another source is not affected");
        drop(held);
        assert!(slots.take(a, 3).is_some(), "closed connections give their places back");
    }

    #[test]
    fn an_ipv6_host_is_its_64() {
        let one: IpAddr = "2001:db8::1".parse().unwrap();
        let other: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        let next: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        assert_eq!(source_of(one), source_of(other));
        assert_ne!(source_of(one), source_of(next));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(source_of(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
    }
}
