//! A host in a test: a supervisor and an agent in this process (the agent's host ends live in
//! the test's own network namespace, as on a real host), containers made of network
//! namespaces, and the agent's local API driven the way `switchyard attach` drives it.
//! Everything made here is removed on drop, also when a test panics.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use agent::local_api::{ClientError, Request, Response, client};
use agent::ovsdb::Endpoint;
use agent::ports::{AttachSpec, AttachedView, DetachSpec, DetachedView, PortsView, TargetSpec};
use agent::trust::{CaTrust, TrustOptions};
use agent::uplinks::UplinkSpec;
use agent::{Agent, AgentOptions, ConnectionState};
use serde_json::Value;
use store::RedbStore;
use supervisor::SupervisorOptions;
use supervisor::events::EventRecord;
use testbed::supervisor_access::SupervisorAccess;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[path = "../attach_support/mod.rs"]
mod attach_support;

#[allow(unused_imports)]
pub use attach_support::{HostLink, Netns, Place, require_root, run, succeeds, unique};

/// The longest any one test may take.
pub const TEST_BUDGET: Duration = Duration::from_secs(90);

/// Runs a test body within [`TEST_BUDGET`].
pub async fn bounded(body: impl Future<Output = ()>) {
    // Boxed: a test's whole body (supervisor, agent, policies) is a large future.
    tokio::time::timeout(TEST_BUDGET, Box::pin(body)).await.expect("the test ran past its time budget");
}

/// Polls `check` every 10 ms for up to `patience`; panics with `what` if it never holds.
pub async fn eventually<F, Fut>(what: &str, patience: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + patience;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out after {patience:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The URL of a supervisor that never answers: a port nothing listens on.
pub fn dead_supervisor() -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    format!("https://{closed}")
}

/// What an agent whose supervisor is not there yet joins with: a well-formed token of no
/// supervisor's. It never enrols; it runs headless.
pub fn join_nowhere() -> TrustOptions {
    TrustOptions::Join {
        token: "aaaaaa.aaaaaaaaaaaaaaaa".into(),
        ca: CaTrust::Hash(format!("sha256:{}", "0".repeat(64)).parse().unwrap()),
    }
}

/// Writes `text` to the real stderr, past libtest's capture: measurements to read.
pub fn report(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// A supervisor serving in this process on 127.0.0.1.
pub struct Supervisor {
    pub addr: SocketAddr,
    pub access: SupervisorAccess,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    dir: Option<tempfile::TempDir>,
}

impl Supervisor {
    pub async fn start() -> Self {
        Self::start_at("127.0.0.1:0".parse().unwrap()).await
    }

    /// A supervisor on `addr` (say, where an agent already looks for one).
    pub async fn start_at(addr: SocketAddr) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), addr).await
    }

    /// A supervisor on `addr` with the store and CA in `dir` (one that served before).
    pub async fn start_in(dir: tempfile::TempDir, addr: SocketAddr) -> Self {
        let store = RedbStore::open(dir.path()).unwrap();
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let options = SupervisorOptions::new(dir.path(), addr);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(supervisor::serve(store, listener, options, async move {
            let _ = stopped.await;
        }));
        let access = SupervisorAccess::new(addr, dir.path());
        access.wait_until_ready().await.unwrap();
        Self { addr, access, stop: Some(stop), task: Some(task), dir: Some(dir) }
    }

    pub fn url(&self) -> String {
        self.access.url()
    }

    /// How a new agent joins: a fresh token, the CA's hash.
    pub async fn join(&self) -> TrustOptions {
        let token = self.access.join_token().await.unwrap();
        TrustOptions::Join { token: token.token, ca: CaTrust::Hash(token.ca_hash.parse().unwrap()) }
    }

    /// Stops serving and hands back the data dir (to serve it again later).
    pub async fn stop_and_keep(mut self) -> tempfile::TempDir {
        self.stop().await;
        self.dir.take().expect("the data dir")
    }

    /// Stops serving; agents go headless.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// `POST /api/v1/config`: one REST call changes every port of a profile.
    /// Returns the config revision it committed.
    pub async fn configure(&self, text: &str) -> i64 {
        let (status, body) = self.http("POST", "/api/v1/config", Some(text)).await;
        assert_eq!(status, 200, "config {text:?} refused: {body}");
        let reply: Value = serde_json::from_str(&body).unwrap_or_else(|error| panic!("{error}: {body}"));
        reply["revision"].as_i64().expect("a config revision")
    }

    /// `GET path`, as JSON.
    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.http("GET", path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|error| panic!("GET {path}: {error}: {body}"))
    }

    /// The event log's lines, `%FACILITY-SEV-MNEMONIC: text`.
    pub async fn events(&self) -> Vec<String> {
        let events = self.get("/api/v1/events").await;
        let records: Vec<EventRecord> = serde_json::from_value(events).expect("the event log's records");
        records.iter().map(EventRecord::message).collect()
    }

    /// `GET /api/v1/interfaces/vethN`.
    pub async fn interface(&self, veth: u32) -> Value {
        self.get(&format!("/api/v1/interfaces/{veth}")).await
    }

    /// One REST request; returns status and body.
    async fn http(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        self.access.request(method, path, Some("text/plain"), body.unwrap_or("")).await.unwrap()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An agent in this process with a data dir of its own.
pub struct Host {
    pub agent: Option<Agent>,
    pub dir: tempfile::TempDir,
    supervisor: String,
    /// How the agent joins (a token at first, its certificate after).
    trust: TrustOptions,
    /// `--ovsdb` and `--ovs-bridge`, if the agent takes ports from OVSDB too.
    ovsdb: Option<(Endpoint, String)>,
    /// `--uplink` flags.
    pub uplinks: Vec<UplinkSpec>,
}

impl Host {
    /// Starts an agent of `supervisor` and waits until it is connected.
    pub async fn start(supervisor: &Supervisor) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let trust = supervisor.join().await;
        let mut host =
            Self { agent: None, dir, supervisor: supervisor.url(), trust, ovsdb: None, uplinks: Vec::new() };
        host.restart().await;
        host.wait_connected().await;
        host
    }

    /// Starts an agent of `supervisor` that also makes ports of the Interface rows on `bridge`
    /// in the ovsdb-server at `endpoint`, and waits until it is connected.
    pub async fn start_with_ovsdb(supervisor: &Supervisor, endpoint: Endpoint, bridge: &str) -> Self {
        let host =
            Self::start_unconnected_with_ovsdb(supervisor.url(), supervisor.join().await, endpoint, bridge)
                .await;
        host.wait_connected().await;
        host
    }

    /// Starts an agent of the supervisor at `url` (which need not answer), joining with
    /// `trust`, that makes ports of the Interface rows on `bridge` in the ovsdb-server at
    /// `endpoint`.
    pub async fn start_unconnected_with_ovsdb(
        url: String,
        trust: TrustOptions,
        endpoint: Endpoint,
        bridge: &str,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ovsdb = Some((endpoint, bridge.to_owned()));
        let mut host = Self { agent: None, dir, supervisor: url, trust, ovsdb, uplinks: Vec::new() };
        host.restart().await;
        host
    }

    /// Starts an agent whose supervisor never answers.
    pub async fn start_headless() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut host = Self {
            agent: None,
            dir,
            supervisor: dead_supervisor(),
            trust: join_nowhere(),
            ovsdb: None,
            uplinks: Vec::new(),
        };
        host.restart().await;
        host
    }

    /// Starts an agent of `supervisor` with `uplinks` and waits until it is connected.
    pub async fn start_with_uplinks(supervisor: &Supervisor, uplinks: Vec<UplinkSpec>) -> Self {
        let host = Self::try_start_with_uplinks(supervisor, uplinks).await.unwrap();
        host.wait_connected().await;
        host
    }

    /// Starts an agent of `supervisor` with `uplinks`; the agent's startup error if it refuses.
    pub async fn try_start_with_uplinks(
        supervisor: &Supervisor,
        uplinks: Vec<UplinkSpec>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().unwrap();
        let trust = supervisor.join().await;
        let mut host = Self { agent: None, dir, supervisor: supervisor.url(), trust, ovsdb: None, uplinks };
        host.agent = Some(Agent::start(host.options()).await?);
        Ok(host)
    }

    /// From now on, (re)starts agents of `url`.
    pub fn use_supervisor(&mut self, url: String) {
        self.supervisor = url;
    }

    pub fn agent(&self) -> &Agent {
        self.agent.as_ref().expect("agent running")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// Stops the agent (if running) and starts a new one on the same data dir.
    pub async fn restart(&mut self) {
        if let Some(agent) = self.agent.take() {
            agent.stop().await;
        }
        self.agent = Some(Agent::start(self.options()).await.unwrap());
    }

    /// The options the agent starts with.
    fn options(&self) -> AgentOptions {
        let mut options = AgentOptions::new(self.supervisor.clone(), "bilbo", self.dir.path())
            .with_uplinks(self.uplinks.clone());
        options.trust = self.trust.clone();
        if let Some((endpoint, bridge)) = &self.ovsdb {
            options = options.with_ovsdb(endpoint.clone(), bridge.clone());
        }
        options
    }

    pub async fn wait_connected(&self) {
        let mut status = self.agent().status();
        tokio::time::timeout(
            Duration::from_secs(20),
            status.wait_for(|s| s.state == ConnectionState::Connected),
        )
        .await
        .expect("the agent never connected")
        .unwrap();
    }

    /// Sends one local API request, as `switchyard attach` and `vemcmd` do.
    pub async fn ask(&self, request: Request) -> Result<Response, ClientError> {
        let dir = self.data_dir();
        tokio::task::spawn_blocking(move || client::ask(&dir, &request, client::PORT_CHANGE_TIMEOUT))
            .await
            .unwrap()
    }

    pub async fn attach(&self, spec: AttachSpec) -> Result<AttachedView, ClientError> {
        let dir = self.data_dir();
        tokio::task::spawn_blocking(move || client::attach(&dir, &spec)).await.unwrap()
    }

    pub async fn detach(&self, port: DetachSpec) -> Result<DetachedView, ClientError> {
        let dir = self.data_dir();
        tokio::task::spawn_blocking(move || client::detach(&dir, &port)).await.unwrap()
    }

    pub async fn ports(&self) -> PortsView {
        match self.ask(Request::ShowPorts).await.unwrap() {
            Response::Ports(view) => view,
            other => panic!("show ports answered {other:?}"),
        }
    }

    /// `vemcmd ARGS` against this agent.
    pub async fn vemcmd(&self, args: &str) -> String {
        let dir = self.data_dir();
        let args: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
        tokio::task::spawn_blocking(move || agent::vemcmd::run(&dir, &args))
            .await
            .unwrap()
            .unwrap_or_else(|error| panic!("vemcmd: {error}"))
    }
}

/// A container: a network namespace that gets its `eth0` from an attach.
pub struct Container {
    pub netns: Netns,
    pub ip: String,
}

impl Container {
    /// A namespace for a container at `ip` (no interface yet).
    pub fn new(ip: &str) -> Self {
        let netns = Netns::new();
        // IPv6 chatter (router solicitations) would add frames the tests do not expect.
        netns.disable_ipv6().expect("IPv6 off in the container");
        Self { netns, ip: ip.to_owned() }
    }

    /// The attach of this container's `eth0` with `profile`.
    pub fn spec(&self, profile: &str) -> AttachSpec {
        let mut spec = AttachSpec::new(TargetSpec::Netns(self.netns.name.clone()), profile);
        spec.ip = Some(format!("{}/24", self.ip));
        spec
    }

    pub fn target(&self) -> TargetSpec {
        TargetSpec::Netns(self.netns.name.clone())
    }

    /// Whether one ping to `peer` is answered within `wait_ms`.
    pub fn pings(&self, peer: &Container, wait_ms: u32) -> bool {
        let wait = format!("{:.3}", f64::from(wait_ms) / 1000.0);
        succeeds(
            "ip",
            &["netns", "exec", &self.netns.name, "ping", "-n", "-q", "-c", "1", "-W", &wait, &peer.ip],
        )
    }

    /// Pings `peer` until it answers (an ARP exchange may need a retry), up to `patience`.
    pub async fn reaches(&self, peer: &Container, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        loop {
            if self.pings(peer, 300) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
        }
    }

    /// Forgets the neighbours learned (so the next ping asks ARP again).
    pub fn flush_neighbours(&self) {
        let _ = succeeds("ip", &["-n", &self.netns.name, "neigh", "flush", "dev", "eth0"]);
    }
}

/// A guard on an attached port's host end: it is deleted on drop if a test fails half-way.
pub fn guard(attached: &AttachedView) -> HostLink {
    HostLink(attached.host_ifname.clone())
}

/// Whether the host has a link called `name`.
pub fn host_link_exists(name: &str) -> bool {
    Place::Host.link(name).is_some()
}

/// How many packet sockets are bound to host interface `name` (from `/proc/net/packet`): one
/// while an agent's dataplane switches it, none once that agent has stopped.
pub fn packet_sockets_on(name: &str) -> usize {
    let Ok(index) = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex")) else { return 0 };
    let index = index.trim();
    let table = std::fs::read_to_string("/proc/net/packet").unwrap();
    table.lines().skip(1).filter(|line| line.split_whitespace().nth(4) == Some(index)).count()
}
