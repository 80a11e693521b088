//! What the plugin needs from the agent: the supervisor's pools and port-profiles, addresses,
//! and switch ports. The agent implements [`Backend`]; the plugin bounds every call in time.

use std::net::Ipv4Addr;

use crate::cidr::Cidr;

/// Why the agent could not do what the plugin asked. The text reaches the operator through
/// Docker's error message, so it should say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The thing asked for does not exist (a pool, a profile's pool, a subnet).
    #[error("{0}")]
    NotFound(String),
    /// The supervisor refused (pool exhausted, address taken, profile full, ...).
    #[error("{0}")]
    Refused(String),
    /// The supervisor or the datapath could not be reached or failed.
    #[error("{0}")]
    Unavailable(String),
}

/// How `docker network create` named the pool it wants addresses from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolQuery {
    /// The pool of this port-profile (`--ipam-opt profile=web`).
    Profile(String),
    /// The pool with this name (`--ipam-opt pool=web-pool`).
    Pool(String),
    /// The pool whose network is exactly this (`--subnet 10.99.0.0/24`).
    Network(Cidr),
}

/// A pool on the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolInfo {
    /// The pool's name on the supervisor.
    pub name: String,
    /// Its network, host bits clear (10.99.0.0/24).
    pub network: Cidr,
    /// The gateway containers use, reserved in the pool (never handed out); None when the pool
    /// has none (then `docker network create --gateway` must name one).
    pub default_router: Option<Ipv4Addr>,
}

/// A port-profile on the supervisor, as far as the plugin cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInfo {
    /// The MTU of the profile's segment (1450 over VXLAN, 1500 on a VLAN).
    pub mtu: u32,
}

/// An address to take from a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationRequest {
    /// The pool's name on the supervisor.
    pub pool: String,
    /// A key for the holder that stays the same across restarts of the agent and of dockerd
    /// (`docker:<pool id>:<n>`); releasing by pool and address is enough, this is for the
    /// supervisor's records and its leak collector.
    pub owner: String,
    /// What to show as the holder until the container is known.
    pub owner_name: String,
    /// A specific address (`docker run --ip`), or any free one.
    pub requested: Option<Ipv4Addr>,
}

/// An address the supervisor handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocation {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
}

/// A switch port for one Docker endpoint: a veth pair whose host end joins the switch with
/// `profile` and whose other end, `container_end_name`, stays in the host namespace for dockerd
/// to move into the container and rename to ethN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerPort {
    /// The port's interface id on the supervisor (`docker:<endpoint id>`): stable, unique.
    pub iface_id: String,
    pub profile: String,
    /// At most 15 bytes, unique among this plugin's endpoints.
    pub container_end_name: String,
    /// The container end's MAC, "02:42:..." as Docker chose it.
    pub mac: String,
    /// The MTU to set on both ends (Docker sets none for remote drivers).
    pub mtu: u32,
    /// The endpoint's IPv4 address, for the port's IP bindings, when it has one.
    pub address: Option<Cidr>,
    /// The holder to show until the container's name is known (see
    /// [`Backend::endpoint_joined`]).
    pub owner_name: String,
}

/// The port the agent made for a [`DockerPort`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedPort {
    /// The host end's interface name.
    pub host_ifname: String,
}

/// A container's endpoint that Docker just joined, for the agent to learn the container's name
/// (from dockerd, by the sandbox key) and show it as the port's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedEndpoint {
    pub network_id: String,
    pub endpoint_id: String,
    pub iface_id: String,
    /// The network namespace path dockerd gave ("/var/run/docker/netns/75c9e5ad0bd4").
    pub sandbox_key: String,
}

/// The agent's side of the plugin. Calls may block on the supervisor: the plugin gives each a
/// deadline and answers Docker with an error when it passes, so the work a call does must be
/// safe to abandon half-way (the plugin undoes what it knows was done).
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Finds a pool on the supervisor.
    async fn describe_pool(&self, query: PoolQuery) -> Result<PoolInfo, BackendError>;

    /// Looks a port-profile up; `Ok(None)` when there is no profile of that name.
    async fn describe_profile(&self, profile: &str) -> Result<Option<ProfileInfo>, BackendError>;

    /// Takes an address from a pool.
    async fn allocate(&self, request: AllocationRequest) -> Result<Allocation, BackendError>;

    /// Gives an address back. Releasing an address not held must succeed.
    async fn release(&self, pool: &str, address: Ipv4Addr) -> Result<(), BackendError>;

    /// Makes the veth pair and attaches its host end to the switch. May come again for an
    /// iface id whose port exists (dockerd retrying a Join): replace that port.
    async fn create_port(&self, port: DockerPort) -> Result<CreatedPort, BackendError>;

    /// Detaches and deletes the port of `iface_id` with both ends of its veth pair, wherever
    /// they are. A port that is already gone is not an error.
    async fn delete_port(&self, iface_id: &str) -> Result<(), BackendError>;

    /// Called in a task of its own after Join has answered (dockerd holds locks while a request
    /// is pending, so asking it about the container inside Join would deadlock). Not bounded
    /// in time; the default does nothing.
    async fn endpoint_joined(&self, _joined: JoinedEndpoint) {}
}
