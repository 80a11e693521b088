//! The Switchyard agent: the per-host daemon (the Nexus 1000V's VEM) as a library.
//!
//! An agent joins the supervisor as a module, heartbeats, and holds one Watch stream over which
//! it receives the port-profiles' evaluated policies: a sync, then deltas. It keeps the policy
//! snapshot in memory (published to the datapath through [`PolicyFeed`]) and on disk
//! (`policies.json`), so with the supervisor gone it runs headless on what it last had and
//! resyncs by telling the supervisor what it holds when it comes back. It owns the host's
//! [`dataplane`] and its [`ports`] (attach, detach, live policy, reports, restore after a
//! restart), and serves a local API on `D/agent.sock` that [`vemcmd`] and `switchyard attach`
//! use.
//!
//! Layout: pure cores ([`policy_sync`], [`backoff`], [`snapshot`], the local API's messages)
//! driven by thin I/O shells (`supervisor_link`, the local API server, [`persist`]).

mod agent;
pub mod attach;
/// Reconnect delays: the OVSDB client's, shared so that there is one implementation.
pub use ::ovsdb::backoff;
pub mod dataplane;
pub mod docker_driver;
mod failover;
pub mod flow_export;
mod fs_atomic;
pub mod host_info;
pub mod identity;
pub mod local_api;
pub mod overlay;
pub mod ovsdb;
pub mod ovsdb_ports;
pub mod paths;
pub mod persist;
pub mod policy_feed;
pub mod policy_sync;
pub mod ports;
pub mod snapshot;
pub mod status;
mod supervisor_link;
pub mod trust;
pub mod uplinks;

pub use agent::{Agent, AgentOptions, DEFAULT_FLOW_TABLE_SIZE, run};
/// `vemcmd`, now [`agent_api::vemcmd`]; re-exported where it was.
pub use agent_api::vemcmd;
pub use paths::DataDir;
pub use policy_feed::PolicyFeed;
pub use ports::PortManager;
pub use snapshot::{PolicyEntry, PolicySnapshot};
pub use status::{AgentStatus, ConnectionState};
pub use supervisor_link::LinkError;

/// The switch name `vemcmd show card` reports. The protocol does not carry the supervisor's
/// switch name yet; `switch` is also the shell's prompt and the event log's host field.
pub const SWITCH_NAME: &str = "switch";

/// The vEthernet ports one module can hold (`show module`'s Ports column).
pub const MAX_VIRTUAL_PORTS: u32 = 248;
