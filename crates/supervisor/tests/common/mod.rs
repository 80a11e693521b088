//! A supervisor in this process, on 127.0.0.1 with an ephemeral port and a real RedbStore in a
//! temporary directory, plus small HTTP and gRPC clients.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::http::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
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
        let task = tokio::spawn(supervisor::serve(store, listener, options, async move {
            let _ = stopped.await;
        }));
        Self { addr, data_dir: data_dir.to_owned(), stop, task }
    }

    /// Shuts the supervisor down and waits until it has let go of its store.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }

    /// A gRPC client on a channel of its own.
    pub async fn grpc(&self) -> SupervisorClient<Channel> {
        SupervisorClient::connect(format!("http://{}", self.addr)).await.unwrap()
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
        let client = Client::builder(TokioExecutor::new()).build_http::<Body>();
        let mut request = Request::builder().method(method).uri(format!("http://{}{path}", self.addr));
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
        let response = client.request(request.body(body.into()).unwrap()).await.unwrap();
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

    /// The event log's messages (`%FAC-SEV-MNEM: text`), oldest first.
    pub async fn event_messages(&self) -> Vec<String> {
        let reply = self.get("/api/v1/events").await;
        assert_eq!(reply.status, StatusCode::OK);
        let records: Vec<EventRecord> =
            serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("not events ({e}): {}", reply.body));
        records.iter().map(EventRecord::message).collect()
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
