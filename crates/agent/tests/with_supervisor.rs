//! The agent against a real supervisor in this process, on 127.0.0.1, with a real store.
//!
//! The supervisor sends an agent the policies of the port-profiles its ports use. Ports are bound
//! here over the supervisor's gRPC with the agent's module and host id, as the agent's port
//! manager binds them on attach: the datapath side of an attach needs root, the policy stream
//! does not (`tests/ports.rs` attaches real ports).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agent::{Agent, AgentOptions, ConnectionState, PolicySnapshot};
use proto::supervisor_client::SupervisorClient;
use store::RedbStore;
use supervisor::SupervisorOptions;
use testbed::supervisor_access::SupervisorAccess;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// Generous: reconnect backoff alone may take 5 s.
const PATIENCE: Duration = Duration::from_secs(20);

/// A supervisor serving in this process.
struct Supervisor {
    addr: SocketAddr,
    access: SupervisorAccess,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Supervisor {
    /// Serves the store in `data_dir` on `addr` (port 0: any).
    async fn start(data_dir: &Path, addr: SocketAddr) -> Self {
        Self::start_with(data_dir, addr, |_| {}).await
    }

    /// [`Self::start`] with options adjusted by `tweak`.
    async fn start_with(
        data_dir: &Path,
        addr: SocketAddr,
        tweak: impl FnOnce(&mut SupervisorOptions),
    ) -> Self {
        let store = open_store(data_dir).await;
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut options = SupervisorOptions::new(data_dir, addr);
        tweak(&mut options);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(supervisor::serve(store, listener, options, async move {
            let _ = stopped.await;
        }));
        let access = SupervisorAccess::new(addr, data_dir);
        access.wait_until_ready().await.unwrap();
        Self { addr, access, stop, task }
    }

    fn url(&self) -> String {
        self.access.url()
    }

    /// Starts an agent of `host_name` in `data_dir` that joins this supervisor with a fresh
    /// join token (or, enrolled before, with its certificate).
    async fn start_agent(&self, data_dir: &Path, host_name: &str) -> Agent {
        let token = self.access.join_token().await.unwrap();
        let ca = agent::trust::CaTrust::Hash(token.ca_hash.parse().unwrap());
        let options = AgentOptions::new(self.url(), host_name, data_dir).with_join_token(token.token, ca);
        Agent::start(options).await.unwrap()
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }

    /// `POST /api/v1/config`; returns the config revision it committed.
    async fn configure(&self, text: &str) -> i64 {
        let (status, body) =
            self.access.request("POST", "/api/v1/config", Some("text/plain"), text).await.unwrap();
        assert_eq!(status, 200, "config {text:?} refused:\n{body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        json["revision"].as_i64().expect("a revision")
    }

    /// A gRPC client with `agent`'s own certificate.
    async fn grpc(&self, agent: &Agent) -> SupervisorClient<Channel> {
        SupervisorClient::new(self.access.grpc_as_agent(agent.data_dir().root()).await.unwrap())
    }

    /// Binds port `iface` of `agent`'s host to `profile`, as the agent's port manager does on
    /// attach; returns the reply.
    async fn bind(&self, agent: &Agent, iface: &str, profile: &str) -> proto::BindPortReply {
        let request = proto::BindPortRequest {
            module: module_of(agent),
            host_id: agent.identity().host_id.clone(),
            iface_id: iface.to_owned(),
            profile: profile.to_owned(),
            adapter: format!("veth_{iface}"),
            container_ifname: "eth0".to_owned(),
            mac: "02:ab:cd:00:00:01".to_owned(),
            owner_uuid: String::new(),
            owner_name: iface.to_owned(),
            ltl: 49,
        };
        self.grpc(agent).await.bind_port(request).await.unwrap().into_inner()
    }

    /// Unbinds port `iface` of `agent`'s host, as a detach does.
    async fn unbind(&self, agent: &Agent, iface: &str) {
        let request = proto::UnbindPortRequest {
            module: module_of(agent),
            host_id: agent.identity().host_id.clone(),
            iface_id: iface.to_owned(),
        };
        self.grpc(agent).await.unbind_port(request).await.unwrap();
    }
}

/// The module a connected agent was registered as.
fn module_of(agent: &Agent) -> u32 {
    agent.status().borrow().module.expect("registered")
}

/// Opens the store, waiting while a stopped supervisor's last blocking calls let go of it.
async fn open_store(data_dir: &Path) -> Arc<RedbStore> {
    for _ in 0..50 {
        if let Ok(store) = RedbStore::open(data_dir) {
            return store;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot open the store in {}", data_dir.display());
}

/// Restarts an agent that enrolled before: no token needed.
async fn restart_agent(data_dir: &Path, host_name: &str, supervisor: &str) -> Agent {
    Agent::start(AgentOptions::new(supervisor, host_name, data_dir)).await.unwrap()
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future).await.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

async fn wait_for_state(agent: &Agent, state: ConnectionState) {
    let mut status = agent.status();
    within(&format!("{state:?}"), status.wait_for(|s| s.state == state)).await.unwrap();
}

/// Waits until the agent's snapshot satisfies `accept`.
async fn wait_for_policies(
    agent: &Agent,
    what: &str,
    accept: impl FnMut(&PolicySnapshot) -> bool,
) -> Arc<PolicySnapshot> {
    let mut feed = agent.policies();
    within(what, feed.wait_for(accept)).await.unwrap()
}

fn access_vlan(snapshot: &PolicySnapshot, name: &str) -> Option<u16> {
    snapshot.get(name).map(|policy| policy.access_vlan)
}

fn persisted(data_dir: &Path) -> PolicySnapshot {
    agent::persist::load(&data_dir.join("policies.json")).unwrap().expect("policies.json exists")
}

async fn show_card(data_dir: &Path) -> String {
    let data_dir: PathBuf = data_dir.to_owned();
    tokio::task::spawn_blocking(move || {
        agent::vemcmd::run(&data_dir, &["show".into(), "card".into()]).unwrap()
    })
    .await
    .unwrap()
}

const VLAN100: &str = "vlan 100,150,300\n\
port-profile type vethernet vlan100\n  switchport mode access\n  switchport access vlan 100\n  state enabled\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_join_as_modules_3_and_4_and_keep_their_numbers() {
    let sup_dir = tempfile::tempdir().unwrap();
    let (bilbo_dir, frodo_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let supervisor = Supervisor::start(sup_dir.path(), "127.0.0.1:0".parse().unwrap()).await;

    let bilbo = supervisor.start_agent(bilbo_dir.path(), "bilbo").await;
    wait_for_state(&bilbo, ConnectionState::Connected).await;
    let frodo = supervisor.start_agent(frodo_dir.path(), "frodo").await;
    wait_for_state(&frodo, ConnectionState::Connected).await;
    assert_eq!(bilbo.status().borrow().module, Some(3));
    assert_eq!(frodo.status().borrow().module, Some(4));
    let module_file = std::fs::read_to_string(bilbo_dir.path().join("module")).unwrap();
    assert_eq!(module_file.trim(), "3");

    let card = show_card(bilbo_dir.path()).await;
    for line in [
        "Card name: bilbo",
        "Card slot (module): 3",
        &format!("Supervisor address: {}", supervisor.url()),
        "Supervisor trust: mutual TLS, certificate ",
        "Supervisor state: connected",
        "Heartbeat Set: True",
    ] {
        assert!(card.contains(line), "{line:?} missing from\n{card}");
    }
    assert!(!card.contains("Last heartbeat ack: never"), "{card}");

    // A restarted agent gets its number back (frodo keeps running meanwhile).
    bilbo.stop().await;
    let bilbo = restart_agent(bilbo_dir.path(), "bilbo", &supervisor.url()).await;
    assert_eq!(bilbo.status().borrow().module, Some(3), "persisted module");
    wait_for_state(&bilbo, ConnectionState::Connected).await;
    assert_eq!(bilbo.status().borrow().module, Some(3));

    bilbo.stop().await;
    frodo.stop().await;
    supervisor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_changes_reach_the_snapshot_and_policies_json() {
    let sup_dir = tempfile::tempdir().unwrap();
    let agent_dir = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::start(sup_dir.path(), "127.0.0.1:0".parse().unwrap()).await;
    let agent = supervisor.start_agent(agent_dir.path(), "bilbo").await;
    wait_for_state(&agent, ConnectionState::Connected).await;

    // A port waiting for its profile: the profile reaches the agent the moment it is created.
    let waiting = supervisor.bind(&agent, "web1", "vlan100").await;
    assert!(waiting.policy_json.is_empty());
    supervisor.configure(VLAN100).await;
    let snapshot = wait_for_policies(&agent, "vlan100", |s| access_vlan(s, "vlan100") == Some(100)).await;
    assert_eq!(persisted(agent_dir.path()), *snapshot, "persisted before published");

    supervisor.configure("port-profile type vethernet vlan100\n  switchport access vlan 150\n").await;
    let snapshot = wait_for_policies(&agent, "vlan 150", |s| access_vlan(s, "vlan100") == Some(150)).await;
    assert_eq!(persisted(agent_dir.path()), *snapshot);

    // The port still uses it: NX-OS refuses the plain form.
    supervisor.configure("no port-profile type vethernet vlan100 force\n").await;
    let snapshot = wait_for_policies(&agent, "removal", |s| s.get("vlan100").is_none()).await;
    assert_eq!(persisted(agent_dir.path()), *snapshot);

    agent.stop().await;
    supervisor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_without_the_supervisor_then_resync_when_it_returns() {
    let sup_dir = tempfile::tempdir().unwrap();
    let agent_dir = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::start(sup_dir.path(), "127.0.0.1:0".parse().unwrap()).await;
    let addr = supervisor.addr;
    let agent = supervisor.start_agent(agent_dir.path(), "bilbo").await;
    wait_for_state(&agent, ConnectionState::Connected).await;
    supervisor.bind(&agent, "web1", "vlan100").await;
    // Waits for vlan300, which is made while the agent is away.
    supervisor.bind(&agent, "db1", "vlan300").await;
    supervisor.configure(VLAN100).await;
    let before = wait_for_policies(&agent, "vlan100", |s| access_vlan(s, "vlan100") == Some(100)).await;

    // The supervisor goes away: headless, policies kept.
    supervisor.stop().await;
    wait_for_state(&agent, ConnectionState::Headless).await;
    assert_eq!(agent.policies().current(), before);
    let card = show_card(agent_dir.path()).await;
    assert!(card.contains("Supervisor state: headless"), "{card}");
    assert!(card.contains("Card slot (module): 3"), "{card}");
    assert!(card.contains("Port-profiles in use on this host: 1"), "{card}");

    // It comes back on the same address: the running agent reconnects and is still current.
    let supervisor = Supervisor::start(sup_dir.path(), addr).await;
    wait_for_state(&agent, ConnectionState::Connected).await;
    // The same policies at their revisions; the snapshot's own revision may have moved on with
    // writes that are not config (the config change's accounting entry).
    let synced = agent.policies().current();
    assert_eq!(synced.policies, before.policies);
    assert!(synced.revision >= before.revision);

    // While the agent is down the config changes; the supervisor then goes too.
    agent.stop().await;
    supervisor
        .configure(
            "port-profile type vethernet vlan100\n  switchport access vlan 150\n\
             port-profile type vethernet vlan300\n  switchport access vlan 300\n  state enabled\n",
        )
        .await;
    supervisor.stop().await;

    // A restarted agent runs headless on what it persisted…
    let agent = restart_agent(agent_dir.path(), "bilbo", &format!("https://{addr}")).await;
    assert_eq!(*agent.policies().current(), *synced);
    assert_eq!(agent.status().borrow().state, ConnectionState::Headless);

    // …and resyncs by `known` when the supervisor returns.
    let supervisor = Supervisor::start(sup_dir.path(), addr).await;
    wait_for_state(&agent, ConnectionState::Connected).await;
    let after = wait_for_policies(&agent, "resync", |s| {
        access_vlan(s, "vlan100") == Some(150) && access_vlan(s, "vlan300") == Some(300)
    })
    .await;
    assert!(after.revision > synced.revision);
    assert_eq!(persisted(agent_dir.path()), *after);
    assert_eq!(agent.status().borrow().module, Some(3));

    agent.stop().await;
    supervisor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_holds_only_the_profiles_its_ports_use() {
    let sup_dir = tempfile::tempdir().unwrap();
    let (bilbo_dir, frodo_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let supervisor = Supervisor::start(sup_dir.path(), "127.0.0.1:0".parse().unwrap()).await;
    let bilbo = supervisor.start_agent(bilbo_dir.path(), "bilbo").await;
    let frodo = supervisor.start_agent(frodo_dir.path(), "frodo").await;
    wait_for_state(&bilbo, ConnectionState::Connected).await;
    wait_for_state(&frodo, ConnectionState::Connected).await;
    supervisor
        .configure(
            "port-profile type vethernet vlan100\n  switchport access vlan 100\n  state enabled\n\
             port-profile type vethernet vlan300\n  switchport access vlan 300\n  state enabled\n",
        )
        .await;
    supervisor.bind(&bilbo, "web1", "vlan100").await;
    supervisor.bind(&frodo, "db1", "vlan300").await;
    let on_bilbo = wait_for_policies(&bilbo, "vlan100 on bilbo", |s| s.get("vlan100").is_some()).await;
    assert!(on_bilbo.get("vlan300").is_none(), "{on_bilbo:?}");
    let on_frodo = wait_for_policies(&frodo, "vlan300 on frodo", |s| s.get("vlan300").is_some()).await;
    assert!(on_frodo.get("vlan100").is_none(), "{on_frodo:?}");

    // A change to frodo's profile: frodo gets it; bilbo only moves to the new revision.
    let changed =
        supervisor.configure("port-profile type vethernet vlan300\n  switchport access vlan 301\n").await;
    wait_for_policies(&frodo, "vlan 301 on frodo", |s| access_vlan(s, "vlan300") == Some(301)).await;
    let on_bilbo = wait_for_policies(&bilbo, "the revision on bilbo", |s| s.revision >= changed).await;
    assert_eq!(on_bilbo.policies.keys().collect::<Vec<_>>(), ["vlan100"]);

    // bilbo's last port on vlan100 goes: so does vlan100, from memory and from disk.
    supervisor.unbind(&bilbo, "web1").await;
    let emptied = wait_for_policies(&bilbo, "vlan100 gone from bilbo", |s| s.is_empty()).await;
    assert_eq!(persisted(bilbo_dir.path()), *emptied);
    let card = show_card(bilbo_dir.path()).await;
    assert!(card.contains("Port-profiles in use on this host: 0"), "{card}");

    bilbo.stop().await;
    frodo.stop().await;
    supervisor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_is_renewed_over_the_running_link_without_dropping_it() {
    let sup_dir = tempfile::tempdir().unwrap();
    let agent_dir = tempfile::tempdir().unwrap();
    // 6 s certificates: renewed after about 4 s, the next heartbeat after that.
    let supervisor = Supervisor::start_with(sup_dir.path(), "127.0.0.1:0".parse().unwrap(), |options| {
        options.agent_cert_lifetime = Duration::from_secs(6);
    })
    .await;
    let agent = supervisor.start_agent(agent_dir.path(), "bilbo").await;
    wait_for_state(&agent, ConnectionState::Connected).await;
    let certificate = agent_dir.path().join("tls/client.pem");
    let serial = |path: &Path| {
        pki::PeerCertificate::parse_pem(&std::fs::read_to_string(path).unwrap()).unwrap().serial
    };
    let first = serial(&certificate);
    let mode = |path: &Path| {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions()) & 0o777
    };
    assert_eq!(mode(&agent_dir.path().join("tls/client.key")), 0o600);
    assert_eq!(mode(&agent_dir.path().join("tls")), 0o700);
    supervisor.bind(&agent, "web1", "vlan100").await;

    // Every state the link passes through from now on (a drop goes headless for at least the
    // reconnect backoff, 100 ms, long enough to be seen here).
    let mut status = agent.status();
    let seen = tokio::spawn(async move {
        let mut seen = vec![status.borrow_and_update().state];
        while status.changed().await.is_ok() {
            seen.push(status.borrow_and_update().state);
        }
        seen
    });
    within("a renewed certificate", async {
        while serial(&certificate) == first {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    // The stream still brings changes after the renewal…
    supervisor.configure(VLAN100).await;
    wait_for_policies(&agent, "vlan100 after the renewal", |s| access_vlan(s, "vlan100") == Some(100)).await;
    // …and the link never dropped.
    agent.stop().await;
    let seen = seen.await.unwrap();
    assert!(seen.iter().all(|state| *state == ConnectionState::Connected), "{seen:?}");
    // Past the first certificate's life, a restarted agent connects with the renewed one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let agent = restart_agent(agent_dir.path(), "bilbo", &supervisor.url()).await;
    wait_for_state(&agent, ConnectionState::Connected).await;
    agent.stop().await;
    supervisor.stop().await;
}
