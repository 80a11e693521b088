//! Assembles the agent: identity, persisted snapshot, supervisor link, dataplane and ports,
//! local API.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::attach::DockerEngine;
use crate::dataplane::{Dataplane, DataplaneOptions};
use crate::identity::{HostIdentity, load_module, load_or_create_host_id};
use crate::local_api::{LocalApiServer, Request, Responder};
use crate::overlay::{self, OverlayFile, OverlayFollower};
use crate::ovsdb::{self, Endpoint, OvsdbConfig};
use crate::paths::DataDir;
use crate::policy_feed::PolicyFeed;
use crate::policy_sync::PolicySync;
use crate::ports::{self, PortManager, PortManagerParts};
use crate::snapshot::PolicySnapshot;
use crate::status::AgentStatus;
use crate::supervisor_link::SupervisorLink;
use crate::trust::{CaTrust, Credentials, Supervisors, TrustOptions};
use crate::uplinks::{self, UplinkSpec};
use crate::{host_info, persist};

/// The flow table's default size: 256 Ki entries (connections, cached verdicts, flows).
pub const DEFAULT_FLOW_TABLE_SIZE: u32 = 256 * 1024;
const _: () = assert!(DEFAULT_FLOW_TABLE_SIZE as usize == datapath::DEFAULT_FLOW_TABLE_SIZE);

/// What `switchyard agent` is started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentOptions {
    /// The supervisors' URLs as `--supervisor` takes them: one, e.g. `https://10.0.0.2:7400`, or
    /// several, comma-separated, tried in order (a host name with several addresses stands for
    /// each of them). All share one store: the agent moves to the next when its own dies.
    pub supervisor: String,
    /// This host's name (the card name, `Server-Name` in `show module`).
    pub host_name: String,
    /// Where the agent keeps host id, module number, policies and its socket.
    pub data_dir: PathBuf,
    /// Overrides the host id persisted in the data dir (nothing is written then).
    pub host_id: Option<String>,
    /// The ovsdb-server to take ports from, and the agent's bridge in it (`--ovsdb`,
    /// `--ovs-bridge`); `None`: ports come from `switchyard attach` only.
    pub ovsdb: Option<OvsdbConfig>,
    /// The uplinks (`--uplink IFACE=PROFILE`, in order: the K of EthernetM/K).
    pub uplinks: Vec<UplinkSpec>,
    /// This host's VXLAN tunnel endpoint (`--vtep`): an IPv4 address of the host. `None`: no
    /// bridge-domain traffic leaves the host.
    pub vtep: Option<Ipv4Addr>,
    /// The UDP port of VXLAN (`--vxlan-port`, default 4789), the same on every host.
    pub vxlan_port: u16,
    /// How the link is secured: enrolled (the default), joining with a token, or insecure.
    pub trust: TrustOptions,
    /// Most entries of the flow table (`--conntrack-size`): connections, cached verdicts, flows.
    pub flow_table_size: usize,
    /// Serve Docker's network and IPAM driver (`--docker`).
    pub docker: Option<crate::docker_driver::DockerOptions>,
}

impl AgentOptions {
    /// Options for an agent of `host_name` joining `supervisor` (one URL or several,
    /// comma-separated), keeping its state in `data_dir`; the host id comes from the data dir.
    pub fn new(
        supervisor: impl Into<String>,
        host_name: impl Into<String>,
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            supervisor: supervisor.into(),
            host_name: host_name.into(),
            data_dir: data_dir.into(),
            host_id: None,
            ovsdb: None,
            uplinks: Vec::new(),
            vtep: None,
            vxlan_port: wire::vxlan::UDP_PORT,
            trust: TrustOptions::Enrolled,
            flow_table_size: DEFAULT_FLOW_TABLE_SIZE as usize,
            docker: None,
        }
    }

    /// Adds uplinks: host NICs under `type ethernet` port-profiles, numbered in order after
    /// any already given.
    pub fn with_uplinks(mut self, uplinks: impl IntoIterator<Item = UplinkSpec>) -> Self {
        self.uplinks.extend(uplinks);
        self
    }

    /// Makes `vtep` (an address of this host) the VXLAN tunnel endpoint, on UDP `port`.
    pub fn with_vtep(mut self, vtep: Ipv4Addr, port: u16) -> Self {
        self.vtep = Some(vtep);
        self.vxlan_port = port;
        self
    }

    /// Also makes ports of the Interface rows on `bridge` in the ovsdb-server at `endpoint`
    /// (the seed's `ovs-vsctl add-port`); the bridge is created when missing.
    pub fn with_ovsdb(mut self, endpoint: Endpoint, bridge: impl Into<String>) -> Self {
        self.ovsdb = Some(OvsdbConfig::new(endpoint, bridge));
        self
    }

    /// Joins with a one-time token from `join-token create`, trusting the supervisor as `ca`
    /// says; once enrolled, the token is not needed any more.
    pub fn with_join_token(mut self, token: impl Into<String>, ca: CaTrust) -> Self {
        self.trust = TrustOptions::Join { token: token.into(), ca };
        self
    }

    /// No TLS and no identity proof (`--insecure`): benchmarks only.
    pub fn insecure(mut self) -> Self {
        self.trust = TrustOptions::Insecure;
        self
    }

    /// Uses `host_id` (a `String`, or `None` for the persisted one) instead of `D/host-id`.
    pub fn with_host_id(mut self, host_id: impl Into<Option<String>>) -> Self {
        self.host_id = host_id.into();
        self
    }
}

/// A running agent. Dropping it stops its tasks and removes its socket.
#[derive(Debug)]
pub struct Agent {
    data_dir: DataDir,
    identity: Arc<HostIdentity>,
    policies: watch::Receiver<Arc<PolicySnapshot>>,
    status: watch::Receiver<AgentStatus>,
    ports: Arc<PortManager>,
    tasks: Vec<JoinHandle<()>>,
    /// The Docker plugin's socket (`--docker`), removed with the agent's own so dockerd sees the
    /// plugin gone rather than a socket that refuses.
    docker_socket: Option<std::path::PathBuf>,
}

impl Agent {
    /// Starts the agent: connects to ovsdb-server first, if given (so the bridge row exists
    /// within milliseconds: a script may `ovs-vsctl add-port` right after starting the agent),
    /// loads its identity and last snapshot (running headless on it at once), starts the
    /// dataplane and restores the ports of `ports.json` whose links survived, serves the local
    /// API, starts joining the supervisor in the background, and follows the OVSDB rows.
    ///
    /// Fails only on what retrying cannot fix: an unusable data dir, a malformed supervisor
    /// URL (or list of them), another agent already serving the data dir's socket, no dataplane thread, an
    /// uplink that cannot be (given twice, no such interface, already a vEthernet), or a VTEP
    /// that is not an address of this host (or whose port is taken).
    pub async fn start(options: AgentOptions) -> anyhow::Result<Self> {
        let endpoints: agent_api::SupervisorEndpoints = options.supervisor.parse()?;
        Supervisors::check(&endpoints, &options.trust)?;
        uplinks::spec::validate(&options.uplinks)?;
        let vtep = match options.vtep {
            Some(vtep) => Some((vtep, overlay::vtep::locate(vtep).await?)),
            None => None,
        };
        // Before anything that takes time. Its events wait, coalesced, for the ports.
        let ovsdb = options.ovsdb.map(|config| {
            let bridge = config.bridge.clone();
            let (handle, events) = ovsdb::spawn(config);
            (handle, events, bridge)
        });
        let data_dir = DataDir::new(&options.data_dir);
        // 0700, and tightened if an older build left it open: host id, policies, ports and keys
        // are root's, and so is the local socket inside it.
        store::private_fs::create_private_dir(data_dir.root())
            .with_context(|| format!("cannot create data dir {}", data_dir.root().display()))?;
        for file in data_dir.state_files() {
            store::private_fs::restrict_file(&file)
                .with_context(|| format!("cannot make {} private", file.display()))?;
        }
        let host_id = match options.host_id {
            Some(id) => id,
            None => load_or_create_host_id(&data_dir.host_id_file())?,
        };
        let credentials = match &options.trust {
            TrustOptions::Insecure => {
                tracing::warn!(
                    "INSECURE: --insecure is for benchmarks only. The link to the supervisor is plain HTTP: \
                     anyone on the path can read and forge it, and the supervisor cannot tell this host from another."
                );
                None
            }
            trust => Some(Arc::new(Credentials::load(data_dir.root(), &host_id, trust)?)),
        };
        let supervisors = Arc::new(Supervisors::new(endpoints, &options.trust, credentials)?);
        let identity = Arc::new(HostIdentity {
            host_name: options.host_name,
            host_id,
            hardware: host_info::hardware(),
            addresses: host_info::addresses().iter().map(ToString::to_string).collect(),
            vtep: options.vtep,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uplinks: options.uplinks.clone(),
        });

        let snapshot = persist::load_or_empty(&data_dir.policies_file());
        if !snapshot.is_empty() {
            tracing::info!(
                "loaded {} policies at revision {} from {}; headless until the supervisor answers",
                snapshot.len(),
                snapshot.revision,
                data_dir.policies_file().display()
            );
        }
        let sync = PolicySync::new(snapshot);
        let (policies_tx, policies) = watch::channel(Arc::clone(sync.snapshot()));
        let (status_tx, status) = watch::channel(AgentStatus::headless(load_module(&data_dir.module_file())));

        let local_api = LocalApiServer::bind(&data_dir.socket()).await?;
        let overlay_file = overlay::model::file_in(data_dir.root());
        let overlay = OverlayFile::load_or_empty(&overlay_file);
        let tunnel_address =
            vtep.as_ref().map(|(address, _)| SocketAddrV4::new(*address, options.vxlan_port));
        let mut dataplane_options = DataplaneOptions {
            tunnel: tunnel_address,
            overlay: overlay.to_overlay(),
            ..DataplaneOptions::default()
        };
        dataplane_options.settings.flow_table_size = options.flow_table_size;
        let dataplane = Dataplane::spawn(dataplane_options).context("cannot start the dataplane")?;
        let tunnel_mtu = vtep.as_ref().map(|(address, interface)| {
            tracing::info!(
                "VTEP {address}:{} on {} (MTU {}): containers get MTU {}",
                options.vxlan_port,
                interface.ifname,
                interface.mtu,
                interface.container_mtu()
            );
            interface.container_mtu()
        });
        let ports = Arc::new(PortManager::new(PortManagerParts {
            dataplane: dataplane.clone(),
            policies: policies.clone(),
            status: status.clone(),
            supervisor: supervisors.describe(),
            supervisors: Arc::clone(&supervisors),
            host_id: identity.host_id.clone(),
            ports_file: data_dir.ports_file(),
            docker: DockerEngine::from_env(),
            uplinks: options.uplinks,
            tunnel_mtu,
        }));
        ports.open_uplinks().await?;
        // Before the link starts: ports forward (headless) before the supervisor is asked.
        ports.restore().await;
        if ovsdb.is_none() {
            let adopted = ports.adopted_ports().await;
            if let Some((record, _)) = adopted.first() {
                tracing::warn!(
                    "{} ports came from OVSDB (Vethernet{} on {}, ...) but the agent runs without \
                     --ovsdb: they keep forwarding, and nothing removes them until it runs with it again",
                    adopted.len(),
                    record.veth,
                    record.host_ifname
                );
            }
        }
        // Once the ports are back (joined or headless): dockerd may call at once.
        let docker = match &options.docker {
            Some(docker) => Some(crate::docker_driver::DockerService::open(docker, &ports).await?),
            None => None,
        };
        let (published_overlay, overlay) = watch::channel(Arc::new(overlay));
        let responder = Responder {
            identity: Arc::clone(&identity),
            supervisors: Arc::clone(&supervisors),
            status: status.clone(),
            policies: policies.clone(),
            ports: Arc::downgrade(&ports),
            overlay,
            tunnel: tunnel_address,
        };
        let handler = move |request: Request| {
            let responder = responder.clone();
            async move { responder.respond(request, Instant::now()).await }
        };
        let overlay_follower = vtep.is_some().then(|| OverlayFollower {
            supervisors: Arc::clone(&supervisors),
            host_id: identity.host_id.clone(),
            status: status.clone(),
            dataplane,
            file: overlay_file,
            published: published_overlay,
        });
        let link =
            SupervisorLink::new(supervisors, Arc::clone(&identity), &data_dir, sync, policies_tx, status_tx);
        let mut tasks = vec![
            tokio::spawn(local_api.serve(Arc::new(handler))),
            tokio::spawn(link.run()),
            tokio::spawn(ports::follow_policies(Arc::clone(&ports), PolicyFeed::new(policies.clone()))),
            tokio::spawn(ports::report_and_rebind(Arc::clone(&ports), status.clone())),
            tokio::spawn(ports::follow_datapath(Arc::clone(&ports))),
            tokio::spawn(uplinks::follow_links(Arc::clone(&ports))),
        ];
        if let Some(follower) = overlay_follower {
            tasks.push(tokio::spawn(overlay::follow_overlay(follower)));
        }
        if let Some(docker) = docker {
            tasks.push(tokio::spawn(docker.run()));
        }
        if let Some((handle, events, bridge)) = ovsdb {
            tasks.push(tokio::spawn(ports::follow_ovsdb(
                Arc::clone(&ports),
                handle,
                events,
                status.clone(),
                bridge,
            )));
        }
        tracing::info!(
            "agent {} ({}) serving {}",
            identity.host_name,
            identity.host_id,
            data_dir.socket().display()
        );
        let docker_socket = options.docker.as_ref().map(|docker| docker.socket.clone());
        Ok(Self { data_dir, identity, policies, status, ports, tasks, docker_socket })
    }

    /// A subscription to the policy snapshots: the datapath's way in (see [`PolicyFeed`]).
    pub fn policies(&self) -> PolicyFeed {
        PolicyFeed::new(self.policies.clone())
    }

    /// The ports of this host: attach, detach and the host views, in process.
    pub fn ports(&self) -> &Arc<PortManager> {
        &self.ports
    }

    /// The supervisor link's live status.
    pub fn status(&self) -> watch::Receiver<AgentStatus> {
        self.status.clone()
    }

    /// Who this host is.
    pub fn identity(&self) -> &HostIdentity {
        &self.identity
    }

    /// The data dir and its files.
    pub fn data_dir(&self) -> &DataDir {
        &self.data_dir
    }

    /// Stops the agent and waits until its tasks are gone (the socket is removed, the
    /// supervisor sees heartbeats stop, the dataplane closes its ports but leaves their links:
    /// the next agent restores them).
    pub async fn stop(mut self) {
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks.drain(..) {
            // Cancelled is the expected outcome; a panic was already reported by tokio.
            let _ = task.await;
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        for socket in std::iter::once(self.data_dir.socket()).chain(self.docker_socket.clone()) {
            if let Err(err) = std::fs::remove_file(&socket)
                && err.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!("cannot remove {}: {err}", socket.display());
            }
        }
    }
}

/// Runs the agent until SIGTERM or ctrl-c (`switchyard agent`).
pub async fn run(options: AgentOptions) -> anyhow::Result<()> {
    let agent = Agent::start(options).await?;
    shutdown_signal().await?;
    tracing::info!("shutting down");
    agent.stop().await;
    Ok(())
}

async fn shutdown_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot watch ctrl-c")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}
