//! A supervisor in this process, on 127.0.0.1 with an ephemeral port and a real RedbStore in a
//! temporary directory, plus small HTTP and gRPC clients.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::http::{Method, Request, StatusCode};
use proto::supervisor_client::SupervisorClient;
use store::RedbStore;
use supervisor::SupervisorOptions;
use supervisor::events::EventRecord;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// The password of `admin` in every test supervisor (`--admin-password-file`'s role).
pub const ADMIN_PASSWORD: &str = "test-admin-pw";

/// The event of the first admin's creation: the first in every test supervisor's log.
pub const FIRST_ADMIN_EVENT: &str =
    "%SECURITYD-5-CONFIG_CHANGED: username admin created: username admin password 5 ***** role network-admin";

/// How a test request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum As<'a> {
    /// HTTP Basic.
    User(&'a str, &'a str),
    /// `Authorization: Bearer TOKEN`.
    Token(&'a str),
    /// No `Authorization` header.
    Nobody,
}

/// `admin` with [`ADMIN_PASSWORD`].
pub const ADMIN: As<'static> = As::User("admin", ADMIN_PASSWORD);

/// A running in-process supervisor.
pub struct Running {
    pub addr: SocketAddr,
    /// Started `--insecure`: plain HTTP and h2c, identities from request fields.
    pub insecure: bool,
    pub data_dir: PathBuf,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Starts a supervisor on the store in `data_dir`, with test-friendly options adjusted by
    /// `tweak`.
    pub async fn start(data_dir: &Path, tweak: impl FnOnce(&mut SupervisorOptions)) -> Self {
        Self::start_on(open_store(data_dir).await, data_dir, tweak).await
    }

    /// Starts a supervisor on an open store (two supervisors may share one).
    pub async fn start_on(
        store: Arc<RedbStore>,
        data_dir: &Path,
        tweak: impl FnOnce(&mut SupervisorOptions),
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut options = SupervisorOptions::new(data_dir, addr);
        options.admin_password = Some(supervisor::trust::Secret::new(ADMIN_PASSWORD));
        tweak(&mut options);
        let (stop, stopped) = oneshot::channel();
        let secure = !options.insecure;
        let given_cert = options.tls.cert.clone();
        let task = tokio::spawn(supervisor::serve(store, listener, options, async move {
            let _ = stopped.await;
        }));
        // The TLS material is made (or checked) before the supervisor serves; clients need its CA.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let server_pem = given_cert.unwrap_or_else(|| data_dir.join("tls/server.pem"));
        while secure && !server_pem.exists() {
            assert!(std::time::Instant::now() < deadline, "the supervisor made no TLS material");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Self { addr, insecure: !secure, data_dir: data_dir.to_owned(), stop, task }
    }

    /// Shuts the supervisor down and waits until it has let go of its store.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }

    /// A gRPC client on a channel of its own, over TLS without a client certificate: what an
    /// agent has before it enrols.
    pub async fn grpc(&self) -> SupervisorClient<Channel> {
        if self.insecure {
            return SupervisorClient::connect(format!("http://{}", self.addr)).await.unwrap();
        }
        SupervisorClient::new(tls::channel(self.addr, self.client_config(None)).await)
    }

    /// A gRPC client of host `name` (host id `id-{name}`, as [`host`] registers it): enrolled
    /// with a fresh join token, then on a mutual-TLS channel with its certificate.
    pub async fn grpc_as(&self, name: &str) -> SupervisorClient<Channel> {
        self.grpc_enrolled(name, "").await
    }

    /// [`Self::grpc_as`] for a host that enrols with VTEP `vtep` (empty: none). A host enrolled
    /// before (its certificate is kept in the data dir, as an agent keeps it) reconnects with
    /// its certificate.
    pub async fn grpc_enrolled(&self, name: &str, vtep: &str) -> SupervisorClient<Channel> {
        let kept = self.data_dir.join(format!("test-agent-{name}.pem"));
        let (cert, key) = match std::fs::read_to_string(&kept) {
            Ok(both) => {
                let (cert, key) = both.split_once("\n\n").unwrap();
                (cert.to_owned(), key.to_owned())
            }
            Err(_) => {
                let both = self
                    .enrol(name, vtep)
                    .await
                    .unwrap_or_else(|status| panic!("enrolling {name}: {status}"));
                std::fs::write(&kept, format!("{}\n\n{}", both.0, both.1)).unwrap();
                both
            }
        };
        let identity = pki::tls::Identity::from_pem(&cert, &key).unwrap();
        SupervisorClient::new(tls::channel(self.addr, self.client_config(Some(identity))).await)
    }

    /// Enrols host `name` with a fresh token; its certificate and key (PEM).
    pub async fn enrol(&self, name: &str, vtep: &str) -> Result<(String, String), tonic::Status> {
        let token = self.join_token().await;
        let key = pki::request::AgentKey::generate(&format!("id-{name}")).unwrap();
        let request = proto::EnrollRequest {
            token,
            csr_pem: key.csr_pem.clone(),
            host_id: format!("id-{name}"),
            host_name: name.to_owned(),
            vtep: vtep.to_owned(),
        };
        let reply = self.grpc().await.enroll(request).await?.into_inner();
        Ok((reply.certificate_pem, key.key_pem))
    }

    /// A new one-time join token, made through REST.
    pub async fn join_token(&self) -> String {
        let reply =
            self.http(Method::POST, "/api/v1/join-tokens", Some("application/json"), "{}".to_owned()).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.json()["token"].as_str().unwrap().to_owned()
    }

    /// A gRPC client of enrolled host `name` on `endpoint` (its settings, this supervisor).
    pub async fn grpc_on(
        &self,
        name: &str,
        endpoint: tonic::transport::Endpoint,
    ) -> SupervisorClient<Channel> {
        let kept = std::fs::read_to_string(self.data_dir.join(format!("test-agent-{name}.pem"))).unwrap();
        let (cert, key) = kept.split_once("\n\n").unwrap();
        let identity = pki::tls::Identity::from_pem(cert, key).unwrap();
        SupervisorClient::new(tls::channel_on(endpoint, self.addr, self.client_config(Some(identity))).await)
    }

    /// The CA the supervisor made in its data dir.
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("tls/ca.pem")).unwrap()
    }

    /// A client configuration trusting the supervisor's CA, with `identity` as client
    /// certificate if given.
    pub fn client_config(&self, identity: Option<pki::tls::Identity>) -> Arc<rustls::ClientConfig> {
        let roots = pki::certificates_from_pem(&self.ca_pem()).unwrap();
        pki::tls::client_config(&pki::tls::Trust::Roots(roots), identity, &[b"h2"]).unwrap()
    }

    /// One HTTP/1.1 request as `admin`.
    pub async fn http(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Reply {
        let headers: Vec<(&str, &str)> =
            content_type.map(|value| ("content-type", value)).into_iter().collect();
        self.request(ADMIN, method, path, &headers, body).await
    }

    /// One HTTP/1.1 request as `who`, with these headers.
    pub async fn request(
        &self,
        who: As<'_>,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host")) {
            request = request.header("host", self.addr.to_string());
        }
        match who {
            As::User(user, password) => {
                request = request
                    .header("authorization", supervisor::trust::credentials::basic_header(user, password));
            }
            As::Token(token) => request = request.header("authorization", format!("Bearer {token}")),
            As::Nobody => {}
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(body.into()).unwrap();
        let response = if self.insecure {
            tls::plain_request(self.addr, request).await
        } else {
            let roots = pki::certificates_from_pem(&self.ca_pem()).unwrap();
            let config =
                pki::tls::client_config(&pki::tls::Trust::Roots(roots), None, &[b"http/1.1"]).unwrap();
            tls::request(self.addr, config, request).await
        };
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let header =
            |name: &str| response.headers().get(name).map(|value| value.to_str().unwrap().to_owned());
        let (www_authenticate, retry_after) = (header("www-authenticate"), header("retry-after"));
        let bytes = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX).await.unwrap();
        Reply {
            status,
            content_type,
            www_authenticate,
            retry_after,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.http(Method::GET, path, None, Body::empty()).await
    }

    /// `POST /api/v1/config` with config text.
    pub async fn configure(&self, text: &str) -> Reply {
        self.http(Method::POST, "/api/v1/config", Some("text/plain"), text.to_owned()).await
    }

    /// `POST /api/v1/exec` with one command line.
    pub async fn exec(&self, line: &str) -> Reply {
        self.http(Method::POST, "/api/v1/exec", Some("text/plain"), line.to_owned()).await
    }

    /// `GET /api/v1/audit?{query}`: the accounting entries, oldest first.
    pub async fn audit(&self, query: &str) -> Vec<serde_json::Value> {
        let reply = self.get(&format!("/api/v1/audit?{query}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.json().as_array().unwrap_or_else(|| panic!("not a list: {}", reply.body)).clone()
    }

    /// The event log's messages (`%FAC-SEV-MNEM: text`), oldest first.
    pub async fn event_messages(&self) -> Vec<String> {
        let reply = self.get("/api/v1/events").await;
        assert_eq!(reply.status, StatusCode::OK);
        let records: Vec<EventRecord> =
            serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("not events ({e}): {}", reply.body));
        // Enrolments (every grpc_as makes one) are the trust tests' business.
        records
            .iter()
            .map(EventRecord::message)
            .filter(|message| !message.contains("VEM_MGR_ENROLLED"))
            .collect()
    }
}

/// TLS plumbing for the tests' clients.
pub mod tls {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use axum::body::Body;
    use hyper::http::{Request, Response};
    use hyper_util::rt::TokioIo;
    use rustls::ClientConfig;
    use tokio::net::TcpStream;
    use tonic::transport::{Channel, Endpoint};

    pub use testbed::supervisor_access::tls_connect as connect;

    /// A gRPC channel over TLS with `config` (connected eagerly; panics if it cannot be).
    pub async fn channel(addr: SocketAddr, config: Arc<ClientConfig>) -> Channel {
        testbed::supervisor_access::grpc_channel(addr, config).await.unwrap()
    }

    /// [`channel`] with the endpoint's settings given.
    pub async fn channel_on(endpoint: Endpoint, addr: SocketAddr, config: Arc<ClientConfig>) -> Channel {
        testbed::supervisor_access::grpc_channel_on(endpoint, addr, config).await.unwrap()
    }

    /// One HTTP/1.1 request in clear (a supervisor run `--insecure`).
    pub async fn plain_request(addr: SocketAddr, request: Request<Body>) -> Response<hyper::body::Incoming> {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        sender.send_request(request).await.unwrap()
    }

    /// One HTTP/1.1 request over a TLS connection of its own.
    pub async fn request(
        addr: SocketAddr,
        config: Arc<ClientConfig>,
        request: Request<Body>,
    ) -> Response<hyper::body::Incoming> {
        let stream = connect(addr, config).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        sender.send_request(request).await.unwrap()
    }
}

/// Polls `check` until it answers `Some`, failing with `what` once `limit` has passed.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Opens the store, waiting while a previous owner (a stopped supervisor's last blocking
/// calls) lets go of the file.
pub async fn open_store(data_dir: &Path) -> Arc<RedbStore> {
    let mut attempts = 0;
    loop {
        match RedbStore::open(data_dir) {
            Ok(store) => return store,
            Err(error) if attempts < 50 => {
                attempts += 1;
                let _ = error;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("cannot reopen the store: {error}"),
        }
    }
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    /// The `WWW-Authenticate` header, if any.
    pub www_authenticate: Option<String>,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    pub body: String,
}

impl Reply {
    /// The body as JSON (panics, with the body, if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A registration for host `name`, whose host id is derived from the name.
pub fn host(name: &str) -> proto::RegisterRequest {
    proto::RegisterRequest {
        host_name: name.to_owned(),
        host_id: format!("id-{name}"),
        version: "0.1.0".to_owned(),
        addresses: vec!["127.0.0.1".to_owned()],
        hardware: "Linux test".to_owned(),
        ..Default::default()
    }
}

/// Config text for one enabled access profile.
pub fn access_profile(name: &str, vlan: u16) -> String {
    format!(
        "port-profile type vethernet {name}\n  switchport mode access\n  switchport access vlan {vlan}\n  state enabled\n"
    )
}

/// An access port on VLAN 100, up, as its agent reports it.
pub fn up(iface: &str) -> proto::PortStatus {
    proto::PortStatus {
        iface_id: iface.to_owned(),
        up: true,
        mode: "access".to_owned(),
        vlan: 100,
        counters: Some(proto::PortCounters::default()),
        ..Default::default()
    }
}

/// A bind request for port `iface` (container `iface`'s eth0, at LTL 48 + `index`) on the
/// module of host `name` (registered with [`host`]).
pub fn port(name: &str, module: u32, iface: &str, profile: &str, index: u32) -> proto::BindPortRequest {
    proto::BindPortRequest {
        module,
        host_id: format!("id-{name}"),
        iface_id: iface.to_owned(),
        profile: profile.to_owned(),
        adapter: format!("veth{index}_{iface}"),
        container_ifname: "eth0".to_owned(),
        mac: format!("02:ab:cd:00:{:02x}:{:02x}", index >> 8, index & 0xff),
        owner_uuid: format!("uuid-{iface}"),
        owner_name: iface.to_owned(),
        ltl: 48 + index,
    }
}
