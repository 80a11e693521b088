//! Channels to one address of one supervisor: over TLS with the agent's current credentials, or
//! in clear with `--insecure`. tonic is built without TLS of its own: a connector makes the TCP
//! connection and the rustls handshake, so the client certificate can change (renewal) between
//! connections, and the certificate is checked against the URL's host name whichever of its
//! addresses is reached.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use agent_api::SupervisorEndpoint;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::codegen::http::uri::InvalidUri;
use tonic::transport::{Channel, Endpoint, Uri};

use super::{Credentials, TrustError};

/// How long TCP + TLS + HTTP/2 to one address may take. Short: a dead supervisor delays the
/// move to the next one by at most this.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// One address of one configured supervisor, and how to reach it safely. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SupervisorTarget {
    /// The configured URL (for messages).
    url: String,
    /// The address this target connects to.
    addr: SocketAddr,
    /// Whether the URL names a host (messages then say which of its addresses).
    named: bool,
    /// `http://ADDR` (tonic only carries the bytes our connector secures), with the URL's host
    /// as the requests' authority.
    endpoint: Endpoint,
    /// `None` with `--insecure`.
    tls: Option<Tls>,
}

/// What a TLS connection to a supervisor is made with.
#[derive(Debug, Clone)]
pub(crate) struct Tls {
    pub(crate) credentials: Arc<Credentials>,
    /// The name the supervisor's certificate must carry: the URL's host.
    pub(crate) server_name: ServerName<'static>,
}

/// Why a channel could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to {target}: {source}")]
    Transport { target: String, source: tonic::transport::Error },
    #[error("cannot connect to {target}: no connection within {CONNECT_TIMEOUT:?}")]
    Timeout { target: String },
    #[error("not enrolled yet")]
    NotEnrolled,
}

impl SupervisorTarget {
    /// Address `addr` of `endpoint`; `tls` is `None` with `--insecure`.
    pub(crate) fn new(
        endpoint: &SupervisorEndpoint,
        addr: SocketAddr,
        tls: Option<Tls>,
    ) -> Result<Self, TrustError> {
        let bad = |reason: String| TrustError::BadUrl { url: endpoint.url().to_owned(), reason };
        let origin: Uri =
            format!("http://{}", endpoint.authority()).parse().map_err(|e: InvalidUri| bad(e.to_string()))?;
        let plain = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| bad(e.to_string()))?
            .origin(origin)
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true);
        Ok(Self {
            url: endpoint.url().to_owned(),
            addr,
            named: endpoint.ip().is_none(),
            endpoint: plain,
            tls,
        })
    }

    /// The configured URL this target is an address of.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address connected to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether `other` is the same address of the same configured supervisor.
    pub fn same_as(&self, other: &Self) -> bool {
        self.url == other.url && self.addr == other.addr
    }

    /// The agent's credentials (`None` with `--insecure`).
    pub fn credentials(&self) -> Option<&Arc<Credentials>> {
        self.tls.as_ref().map(|tls| &tls.credentials)
    }

    /// A connected channel with the agent's current certificate, within [`CONNECT_TIMEOUT`].
    pub async fn connect(&self) -> Result<Channel, ConnectError> {
        let connecting = async {
            match &self.tls {
                None => self.endpoint.connect().await,
                Some(tls) => {
                    let config = tls.credentials.current().ok_or(ConnectError::NotEnrolled)?.config;
                    self.endpoint.connect_with_connector(connector(config, tls.server_name.clone())).await
                }
            }
            .map_err(|source| ConnectError::Transport { target: self.to_string(), source })
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .unwrap_or_else(|_| Err(ConnectError::Timeout { target: self.to_string() }))
    }

    /// A channel without a client certificate, trusting the supervisor as the join options say:
    /// for `Enroll`.
    pub async fn connect_to_enrol(&self) -> Result<Channel, String> {
        let tls = self.tls.as_ref().ok_or("the agent runs --insecure")?;
        let config = tls.credentials.enrolling_config().map_err(|e| e.to_string())?;
        let connecting = self.endpoint.connect_with_connector(connector(config, tls.server_name.clone()));
        match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Err(_) => Err(format!("cannot connect to {self}: no connection within {CONNECT_TIMEOUT:?}")),
            Ok(result) => result.map_err(|e| format!("cannot connect to {self}: {}", error_chain(&e))),
        }
    }

    /// A channel that connects on first use (and again after failures), each time with the
    /// certificate current then.
    pub fn connect_lazy(&self) -> Channel {
        match &self.tls {
            None => self.endpoint.connect_lazy(),
            Some(tls) => {
                let credentials = Arc::clone(&tls.credentials);
                let server_name = tls.server_name.clone();
                self.endpoint.connect_with_connector_lazy(tower::service_fn(move |uri: Uri| {
                    let config = credentials.current().map(|enrolled| enrolled.config);
                    let server_name = server_name.clone();
                    async move {
                        let config = config.ok_or_else(|| std::io::Error::other("not enrolled yet"))?;
                        handshake(config, server_name, uri).await
                    }
                }))
            }
        }
    }
}

/// The URL, and the address reached when the URL names a host.
impl fmt::Display for SupervisorTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.named { write!(f, "{} ({})", self.url, self.addr) } else { f.write_str(&self.url) }
    }
}

fn connector(
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
) -> impl tower::Service<
    Uri,
    Response = TokioIo<tokio_rustls::client::TlsStream<TcpStream>>,
    Error = std::io::Error,
    Future = impl Future<Output = std::io::Result<TokioIo<tokio_rustls::client::TlsStream<TcpStream>>>> + Send,
> + Send
+ Clone
+ 'static {
    tower::service_fn(move |uri: Uri| handshake(Arc::clone(&config), server_name.clone(), uri))
}

async fn handshake(
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    uri: Uri,
) -> std::io::Result<TokioIo<tokio_rustls::client::TlsStream<TcpStream>>> {
    let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(443);
    let tcp = TcpStream::connect((host, port)).await?;
    tcp.set_nodelay(true)?;
    let tls = TlsConnector::from(config).connect(server_name, tcp).await?;
    Ok(TokioIo::new(tls))
}

/// An error and its causes on one line (tonic's transport errors hide the TLS reason inside).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
