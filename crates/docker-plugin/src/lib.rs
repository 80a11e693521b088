//! Docker's remote network driver and remote IPAM driver for Switchyard.
//!
//! dockerd finds the plugin by its socket, `/run/docker/plugins/switchyard.sock`, which the
//! agent serves when started with `--docker`. What each of Docker's calls does here:
//!
//! | Docker's call | what the plugin does |
//! |---|---|
//! | `/Plugin.Activate` | says it implements `NetworkDriver` and `IpamDriver` (dockerd caches this per socket) |
//! | `/NetworkDriver.GetCapabilities` | scope `local`: the supervisor, not Docker, is the source of truth across hosts |
//! | `/IpamDriver.RequestPool` | finds a pool on the supervisor by `--ipam-opt profile=NAME`, `--ipam-opt pool=NAME`, or `--subnet` equal to a pool's network (Docker passes `-o` options to the network driver only) |
//! | `/IpamDriver.RequestAddress` | the gateway: the pool's default-router (reserved, not allocated); an endpoint's address: allocated on the supervisor (`docker run --ip` asks for a given one) |
//! | `/NetworkDriver.CreateNetwork` | binds the network to the port-profile of `-o profile=NAME` (or the one its pool was found by), which must exist; takes the MTU from the profile's segment |
//! | `/NetworkDriver.CreateEndpoint` | records the endpoint: address, MAC, and the name of its container end |
//! | `/NetworkDriver.Join` | makes the port: a veth pair, host end on the switch with the network's profile, container end left in the host for dockerd to move into the container as `ethN`, both with the segment's MTU (Docker sets none for remote drivers); answers the gateway. Afterwards, in the background, [`Backend::endpoint_joined`] lets the agent learn the container's name |
//! | `/NetworkDriver.Leave` | deletes the port |
//! | `/NetworkDriver.DeleteEndpoint` | deletes the port if still there, forgets the endpoint |
//! | `/IpamDriver.ReleaseAddress`, `ReleasePool` | give addresses back to the supervisor |
//! | `/NetworkDriver.DeleteNetwork` | forgets the network |
//!
//! The crate is a pure-ish core and a thin shell: [`protocol`] (Docker's JSON), [`Plugin`] (the
//! handler, over the [`Backend`] the agent implements, each call bounded in time so a stuck
//! supervisor never hangs dockerd), [`state`] (what survives restarts, saved atomically before
//! a change is acknowledged), and [`server`] (HTTP over the unix socket). Deletes of unknown
//! networks and endpoints succeed, so dockerd can always clean up. A failure is answered with
//! status 500 and `{"Err": "..."}` (Docker 20.10's remote IPAM ignores `Err` in a 200 answer);
//! the operator reads `Error response from daemon: NetworkDriver.CreateNetwork: <message>`.
//!
//! How the agent serves it (`agent::docker_driver`): [`Plugin::open`] with its [`Backend`] and a
//! [`StateFile`] in the agent's data dir, [`PluginServer::bind`] on the socket, then
//! [`PluginServer::serve`]; [`Plugin::held_addresses`] goes into every report for the
//! supervisor's leak collector.

pub mod backend;
pub mod cidr;
pub mod names;
pub mod plugin;
pub mod protocol;
pub mod server;
pub mod state;

pub use backend::{
    Allocation, AllocationRequest, Backend, BackendError, CreatedPort, DockerPort, JoinedEndpoint, PoolInfo,
    PoolQuery, ProfileInfo,
};
pub use cidr::Cidr;
pub use plugin::{DEFAULT_BACKEND_TIMEOUT, Plugin, PluginError};
pub use server::{DEFAULT_SOCKET_PATH, PluginServer, ServerError};
pub use state::{State, StateError, StateFile};
