//! The agent's side of the Docker plugin (`agent --docker`): the [`docker_plugin::Backend`] over
//! this host's port manager (pools and addresses from the supervisor, ports handed over to
//! dockerd) and the Docker engine (a joined container's name), and the task that serves the
//! plugin's socket.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use docker_plugin::{
    Allocation, AllocationRequest, Backend, BackendError, Cidr, CreatedPort, DockerPort, JoinedEndpoint,
    Plugin, PluginServer, PoolInfo, ProfileInfo, StateFile,
};
use wire::MacAddr;

use crate::attach::DockerEngine;
use crate::ports::{HandoverPort, PoolLookup, PoolQuery, PoolRef, PortError, PortManager};

/// How often, and how far apart, a joined endpoint's container is looked for: dockerd lists
/// the container on the network only once its start has gone through.
const NAME_LOOKUPS: u32 = 20;
const NAME_LOOKUP_INTERVAL: Duration = Duration::from_millis(500);

/// The plugin's backend: this host's ports and the Docker engine.
#[derive(Debug, Clone)]
pub struct AgentBackend {
    ports: Arc<PortManager>,
    engine: DockerEngine,
}

impl AgentBackend {
    pub fn new(ports: Arc<PortManager>, engine: DockerEngine) -> Self {
        Self { ports, engine }
    }

    async fn lookup(&self, query: PoolQuery) -> Result<PoolLookup, BackendError> {
        self.ports.describe_pool(&query).await.map_err(backend_error)
    }
}

#[async_trait::async_trait]
impl Backend for AgentBackend {
    async fn describe_pool(&self, query: docker_plugin::PoolQuery) -> Result<PoolInfo, BackendError> {
        let query = match query {
            docker_plugin::PoolQuery::Profile(profile) => PoolQuery::Profile(profile),
            docker_plugin::PoolQuery::Pool(pool) => PoolQuery::Pool(pool),
            docker_plugin::PoolQuery::Network(network) => PoolQuery::Network(network.to_string()),
        };
        let shape = match self.lookup(query).await? {
            PoolLookup::Found(shape) => shape,
            PoolLookup::NotFound(message) | PoolLookup::NoPool(message) => {
                return Err(BackendError::NotFound(message));
            }
        };
        let network: Cidr = shape.network.parse().map_err(|error| {
            BackendError::Unavailable(format!(
                "the supervisor sent pool {} with network {}: {error}",
                shape.name, shape.network
            ))
        })?;
        Ok(PoolInfo { name: shape.name, network, default_router: shape.default_router })
    }

    async fn describe_profile(&self, profile: &str) -> Result<Option<ProfileInfo>, BackendError> {
        Ok(match self.lookup(PoolQuery::Profile(profile.to_owned())).await? {
            PoolLookup::Found(shape) => {
                Some(ProfileInfo { mtu: shape.mtu.unwrap_or_else(|| self.ports.default_container_mtu()) })
            }
            // The profile exists without a pool (the network uses Docker's IPAM).
            PoolLookup::NoPool(_) => Some(ProfileInfo { mtu: self.ports.default_container_mtu() }),
            PoolLookup::NotFound(_) => None,
        })
    }

    async fn allocate(&self, request: AllocationRequest) -> Result<Allocation, BackendError> {
        let allocation = self
            .ports
            .allocate_address(
                &PoolRef::Pool(request.pool),
                &request.owner,
                &request.owner_name,
                request.requested,
            )
            .await
            .map_err(backend_error)?;
        Ok(Allocation { address: allocation.address, prefix_len: allocation.prefix_len })
    }

    async fn release(&self, pool: &str, address: Ipv4Addr) -> Result<(), BackendError> {
        self.ports.release_address(pool, address).await.map(drop).map_err(backend_error)
    }

    async fn create_port(&self, port: DockerPort) -> Result<CreatedPort, BackendError> {
        let mac: MacAddr = port
            .mac
            .parse()
            .map_err(|error| BackendError::Refused(format!("Docker's MAC {}: {error}", port.mac)))?;
        // Called again for an endpoint (dockerd retrying a Join): the new port replaces the old.
        self.ports.detach_if_attached(&port.iface_id).await.map_err(backend_error)?;
        let attached = self
            .ports
            .attach_handover(HandoverPort {
                iface_id: port.iface_id,
                profile: port.profile,
                container_end: port.container_end_name,
                mac,
                mtu: port.mtu,
                address: port.address.map(|cidr| IpAddr::V4(cidr.address)),
                owner_name: port.owner_name,
            })
            .await
            .map_err(backend_error)?;
        Ok(CreatedPort { host_ifname: attached.host_ifname })
    }

    async fn delete_port(&self, iface_id: &str) -> Result<(), BackendError> {
        self.ports.detach_if_attached(iface_id).await.map_err(backend_error)
    }

    async fn endpoint_joined(&self, joined: JoinedEndpoint) {
        for _ in 0..NAME_LOOKUPS {
            match self.engine.container_of_endpoint(&joined.network_id, &joined.endpoint_id).await {
                Ok(Some(name)) => {
                    if let Err(error) = self.ports.rename_owner(&joined.iface_id, &name).await {
                        tracing::warn!(
                            "cannot show container {name} as the owner of {}: {error}",
                            joined.iface_id
                        );
                    }
                    return;
                }
                Ok(None) => {}
                Err(error) => tracing::debug!(%error, "asking the Docker engine for an endpoint's container"),
            }
            tokio::time::sleep(NAME_LOOKUP_INTERVAL).await;
        }
        tracing::info!(
            "no container found for Docker endpoint {}: the port keeps its owner name",
            joined.endpoint_id
        );
    }
}

/// What Docker is told: the supervisor unreachable is a passing state, a refusal is not.
fn backend_error(error: PortError) -> BackendError {
    match error {
        PortError::Headless { .. } | PortError::Supervisor { uncertain: true, .. } => {
            BackendError::Unavailable(error.to_string())
        }
        other => BackendError::Refused(other.to_string()),
    }
}

/// Where the plugin listens and keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerOptions {
    /// The socket dockerd finds plugins by (`/run/docker/plugins/switchyard.sock`); the
    /// driver's name is the file's stem.
    pub socket: PathBuf,
    /// The directory of the plugin's state file (in the agent's data dir).
    pub state_dir: PathBuf,
}

/// The plugin, ready to serve: its state opened, its socket bound.
#[derive(Debug)]
pub struct DockerService {
    plugin: Arc<Plugin<AgentBackend>>,
    server: PluginServer,
}

impl DockerService {
    /// Opens the plugin's state, registers its addresses with the port manager (so reports
    /// keep them) and binds the socket: a failure is the agent's startup error.
    pub async fn open(options: &DockerOptions, ports: &Arc<PortManager>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&options.state_dir)
            .map_err(|error| anyhow::anyhow!("creating {}: {error}", options.state_dir.display()))?;
        let backend = AgentBackend::new(Arc::clone(ports), DockerEngine::from_env());
        let plugin = Arc::new(Plugin::open(backend, StateFile::in_dir(&options.state_dir))?);
        let held = Arc::clone(&plugin);
        ports.add_address_holder(Arc::new(move || held.held_addresses()));
        let server = PluginServer::bind(&options.socket).await?;
        tracing::info!("Docker network and IPAM driver on {}", options.socket.display());
        Ok(Self { plugin, server })
    }

    /// Serves dockerd until the agent stops.
    pub async fn run(self) {
        self.server.serve(self.plugin, std::future::pending()).await;
    }
}
