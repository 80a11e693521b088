//! Channels to the supervisor: over TLS with the agent's current credentials, or in clear with
//! `--insecure`. tonic is built without TLS of its own: a connector makes the TCP connection and
//! the rustls handshake, so the client certificate can change (renewal) between connections.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};

use super::{Credentials, TrustError, TrustOptions};

/// How long TCP + TLS + HTTP/2 may take to come up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the supervisor is and how to reach it safely. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SupervisorEndpoint {
    /// As the operator wrote it (for messages).
    url: String,
    /// The same with `http://`: tonic only carries the bytes our connector secures.
    endpoint: Endpoint,
    /// `None` with `--insecure`.
    tls: Option<Tls>,
}

#[derive(Debug, Clone)]
struct Tls {
    credentials: Arc<Credentials>,
    server_name: ServerName<'static>,
}

/// Why a channel could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to {url}: {source}")]
    Transport { url: String, source: tonic::transport::Error },
    #[error("not enrolled yet")]
    NotEnrolled,
}

/// A supervisor URL checked against how the agent secures its link.
#[derive(Debug)]
pub struct SupervisorUrl {
    /// tonic's endpoint, `http://HOST:PORT`: tonic only carries the bytes our connector secures.
    endpoint: Endpoint,
    /// The name the supervisor's certificate must carry (`None` with `--insecure`).
    server_name: Option<ServerName<'static>>,
}

impl SupervisorUrl {
    /// `https://` unless `--insecure` (then `http://`), with a host: a typo fails at start.
    pub fn parse(url: &str, trust: &TrustOptions) -> Result<Self, TrustError> {
        let bad = |reason: String| TrustError::BadUrl { url: url.to_owned(), reason };
        let uri: Uri = url.parse().map_err(|e: tonic::codegen::http::uri::InvalidUri| bad(e.to_string()))?;
        let scheme = uri.scheme_str().unwrap_or("").to_owned();
        let insecure = matches!(trust, TrustOptions::Insecure);
        let wrong = || TrustError::WrongScheme { url: url.to_owned(), scheme: scheme.clone() };
        match (scheme.as_str(), insecure) {
            ("https", false) | ("http", true) => {}
            _ => return Err(wrong()),
        }
        let host = uri.host().ok_or_else(wrong)?.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = uri.port_u16().unwrap_or(if insecure { 80 } else { 443 });
        let plain = if host.contains(':') {
            format!("http://[{host}]:{port}")
        } else {
            format!("http://{host}:{port}")
        };
        let endpoint = Endpoint::from_shared(plain)
            .map_err(|e| bad(e.to_string()))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true);
        let server_name =
            if insecure { None } else { Some(ServerName::try_from(host).map_err(|e| bad(e.to_string()))?) };
        Ok(Self { endpoint, server_name })
    }
}

impl SupervisorEndpoint {
    /// The endpoint of a checked URL; `credentials` are required unless it is `--insecure`.
    pub fn new(
        url: &str,
        trust: &TrustOptions,
        credentials: Option<Arc<Credentials>>,
    ) -> Result<Self, TrustError> {
        let SupervisorUrl { endpoint, server_name } = SupervisorUrl::parse(url, trust)?;
        let tls = match (server_name, credentials) {
            (None, _) => None,
            (Some(server_name), Some(credentials)) => Some(Tls { credentials, server_name }),
            (Some(_), None) => return Err(TrustError::NotEnrolled),
        };
        Ok(Self { url: url.to_owned(), endpoint, tls })
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The agent's credentials (`None` with `--insecure`).
    pub fn credentials(&self) -> Option<&Arc<Credentials>> {
        self.tls.as_ref().map(|tls| &tls.credentials)
    }

    /// A connected channel with the agent's current certificate.
    pub async fn connect(&self) -> Result<Channel, ConnectError> {
        let result = match &self.tls {
            None => self.endpoint.connect().await,
            Some(tls) => {
                let config = tls.credentials.current().ok_or(ConnectError::NotEnrolled)?.config;
                self.endpoint.connect_with_connector(connector(config, tls.server_name.clone())).await
            }
        };
        result.map_err(|source| ConnectError::Transport { url: self.url.clone(), source })
    }

    /// A channel without a client certificate, trusting the supervisor as the join options say:
    /// for `Enroll`.
    pub async fn connect_to_enrol(&self) -> Result<Channel, String> {
        let tls = self.tls.as_ref().ok_or("the agent runs --insecure")?;
        let config = tls.credentials.enrolling_config().map_err(|e| e.to_string())?;
        self.endpoint
            .connect_with_connector(connector(config, tls.server_name.clone()))
            .await
            .map_err(|e| format!("cannot connect to {}: {}", self.url, error_chain(&e)))
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
