//! What the plugin needs from the host's Switchyard agent. The binary implements this over the
//! agent's local API; tests implement it in memory.

use std::net::IpAddr;

use crate::net::{Cidr, Route};

/// The host's agent, as the plugin uses it. Every call is one request; the agent serialises what
/// it must, so concurrent plugin processes need no lock here.
pub trait Agent {
    /// Whether the agent runs and is connected to its supervisor.
    fn status(&self) -> Result<AgentStatus, AgentError>;

    /// Creates the veth pair, moves one end into `netns_path` as `ifname`, addresses it, binds it
    /// to the profile and returns once the port's policy is in place.
    fn attach(&self, request: &PortRequest) -> Result<PortResult, AgentError>;

    /// Removes the port with this iface_id; a port that is not there is success.
    fn detach(&self, iface_id: &str) -> Result<(), AgentError>;

    /// The port with this iface_id, if the agent has it.
    fn port(&self, iface_id: &str) -> Result<Option<PortResult>, AgentError>;

    /// The iface_ids of every CNI port of `network` on this host (they start with
    /// `cni:<network>:`).
    fn cni_ports(&self, network: &str) -> Result<Vec<String>, AgentError>;
}

/// How the container end gets its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressPlan {
    /// `ipam.type` is `switchyard`: the agent allocates from the profile's pool and sets the
    /// address, the gateway and a default route through it.
    Auto,
    /// A delegated IPAM plugin chose these; the agent sets them as given.
    Given {
        /// Addresses for the container interface.
        ips: Vec<Cidr>,
        /// The default gateway, if the IPAM result named one.
        gateway: Option<IpAddr>,
        /// Routes to install in the container.
        routes: Vec<Route>,
    },
    /// No `ipam` section: the interface comes up without addresses.
    None,
}

/// One attachment for the agent to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRequest {
    /// `cni:<network>:<container id>:<ifname>` (see [`crate::IfaceId`]).
    pub iface_id: String,
    /// The container's network namespace (CNI_NETNS).
    pub netns_path: String,
    /// The interface name inside the container (CNI_IFNAME).
    pub ifname: String,
    /// The port-profile to bind the port to.
    pub profile: String,
    /// Who owns the port, as `show interface virtual` prints it: the container id, or
    /// `namespace/pod` when Kubernetes passed K8S_POD_NAMESPACE and K8S_POD_NAME.
    pub owner_name: String,
    /// Where the addresses come from.
    pub address: AddressPlan,
    /// The MTU asked for by the configuration's `mtu`; the agent's default otherwise.
    pub mtu: Option<u32>,
}

/// A port the agent holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortResult {
    /// Its vEthernet number.
    pub veth: u32,
    /// The host end's interface name.
    pub host_ifname: String,
    /// The container end's MAC address, `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// The container end's interface name.
    pub ifname: String,
    /// The container end's addresses.
    pub ips: Vec<Cidr>,
    /// The container's default gateway.
    pub gateway: Option<IpAddr>,
    /// The routes the agent installed in the container.
    pub routes: Vec<Route>,
    /// The container end's MTU.
    pub mtu: u32,
    /// Whether the port is up (bound and forwarding).
    pub up: bool,
}

/// The agent's health, for STATUS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStatus {
    /// The agent answered.
    pub reachable: bool,
    /// The agent is connected to its supervisor (it cannot bind new ports when headless).
    pub connected: bool,
    /// Why not, in the agent's words (e.g. "supervisor 10.77.0.2:9443 unreachable since 06:01").
    pub reason: String,
}

/// Why a call to the agent failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// Nothing answers on the agent's socket: the agent is not running (yet). ADD and DEL answer
    /// "try again later"; STATUS answers "not available".
    #[error("the Switchyard agent is not running ({0}): start it with `switchyard agent` and retry")]
    NotRunning(String),
    /// The agent runs but cannot do it now (headless: its supervisor is unreachable). ADD and
    /// DEL answer "try again later"; STATUS answers "not available".
    #[error("the Switchyard agent cannot do it now: {0}; retry once it reconnects")]
    Unavailable(String),
    /// The agent answered and refused, e.g. an unknown port-profile or an exhausted pool.
    #[error("the Switchyard agent refused: {0}")]
    Refused(String),
    /// The exchange broke half-way, or the agent failed doing what it was asked.
    #[error("the Switchyard agent failed: {0}; see the agent's log, then retry")]
    Failed(String),
}
