//! A test's way into a supervisor it started, secured as any client's would be: HTTPS trusting
//! the CA in the supervisor's data dir, as `admin` with the password the supervisor generated
//! there; join tokens through REST; gRPC as an enrolled host over mutual TLS.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use http_body_util::BodyExt as _;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};

/// How to reach one supervisor.
#[derive(Debug, Clone)]
pub struct SupervisorAccess {
    pub addr: SocketAddr,
    /// The supervisor's data dir: its `tls/ca.pem` and `admin-password`.
    pub data_dir: PathBuf,
}

/// A join token and the CA hash an agent pins.
#[derive(Debug, Clone)]
pub struct JoinToken {
    pub token: String,
    pub ca_hash: String,
}

impl SupervisorAccess {
    pub fn new(addr: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self { addr, data_dir: data_dir.into() }
    }

    /// `https://ADDR`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Waits (at most 10 s) until the supervisor has made its TLS material and its first admin's
    /// password (it makes both before it serves; a request sent earlier would go unauthenticated).
    pub async fn wait_until_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let made = ["tls/server.pem", "admin-password"].map(|file| self.data_dir.join(file));
        while !made.iter().all(|file| file.exists()) {
            if Instant::now() > deadline {
                bail!("no TLS material or admin password in {} after 10 s", self.data_dir.display());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    /// The supervisor's CA (PEM).
    pub fn ca_pem(&self) -> anyhow::Result<String> {
        let path = self.data_dir.join("tls/ca.pem");
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    }

    /// A client configuration trusting the supervisor's CA, speaking `alpn`.
    pub fn client_config(
        &self,
        identity: Option<pki::tls::Identity>,
        alpn: &[&[u8]],
    ) -> anyhow::Result<Arc<ClientConfig>> {
        let roots = pki::certificates_from_pem(&self.ca_pem()?)?;
        Ok(pki::tls::client_config(&pki::tls::Trust::Roots(roots), identity, alpn)?)
    }

    /// One REST request as `admin`; the status and the body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> anyhow::Result<(u16, String)> {
        let mut request =
            hyper::Request::builder().method(method).uri(path).header("host", self.addr.to_string());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(authorization) = admin_authorization(&self.data_dir) {
            request = request.header("authorization", authorization);
        }
        let request = request.body(http_body_util::Full::new(hyper::body::Bytes::from(body.to_owned())))?;
        let stream = tls_connect(self.addr, self.client_config(None, &[b"http/1.1"])?).await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// A new one-time join token.
    pub async fn join_token(&self) -> anyhow::Result<JoinToken> {
        let (status, body) =
            self.request("POST", "/api/v1/join-tokens", Some("application/json"), "{}").await?;
        if status != 200 {
            bail!("join token refused: {status} {body}");
        }
        let json: serde_json::Value = serde_json::from_str(&body)?;
        let field = |name: &str| {
            json[name].as_str().map(str::to_owned).with_context(|| format!("no {name} in {body}"))
        };
        Ok(JoinToken { token: field("token")?, ca_hash: field("ca_hash")? })
    }

    /// A gRPC channel with the certificate an agent keeps in `agent_data_dir/tls/`.
    pub async fn grpc_as_agent(&self, agent_data_dir: &Path) -> anyhow::Result<Channel> {
        let tls = agent_data_dir.join("tls");
        let cert = std::fs::read_to_string(tls.join("client.pem")).context("the agent's certificate")?;
        let key = std::fs::read_to_string(tls.join("client.key")).context("the agent's key")?;
        let config = self.client_config(Some(pki::tls::Identity::from_pem(&cert, &key)?), &[b"h2"])?;
        grpc_channel(self.addr, config).await
    }
}

/// `Basic admin:<password>` when the supervisor made `admin-password` in its data dir.
pub fn admin_authorization(data_dir: &Path) -> Option<String> {
    let password = std::fs::read_to_string(data_dir.join("admin-password")).ok()?;
    use base64::Engine as _;
    let credentials = format!("admin:{}", password.trim());
    Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials)))
}

/// TCP, then TLS with `config`, naming the server by its address.
pub async fn tls_connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    TlsConnector::from(config).connect(ServerName::IpAddress(addr.ip().into()), tcp).await
}

/// A gRPC channel over TLS with `config`.
pub async fn grpc_channel(addr: SocketAddr, config: Arc<ClientConfig>) -> anyhow::Result<Channel> {
    grpc_channel_on(Endpoint::from_shared(format!("http://{addr}"))?, addr, config).await
}

/// [`grpc_channel`] with the endpoint's settings given (window sizes, timeouts).
pub async fn grpc_channel_on(
    endpoint: Endpoint,
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> anyhow::Result<Channel> {
    Ok(endpoint
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let config = Arc::clone(&config);
            async move { tls_connect(addr, config).await.map(TokioIo::new) }
        }))
        .await?)
}
