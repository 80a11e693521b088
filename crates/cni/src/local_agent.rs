//! [`Agent`] over the host agent's local API (`agent.sock`, the `agent-api` crate): what the
//! `switchyard-cni` binary runs with. One request per call; the agent serializes port changes.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use agent_api::client::{self, ClientError, PORT_CHANGE_TIMEOUT, SHOW_TIMEOUT};
use agent_api::ports::spec::AUTO_ADDRESS;
use agent_api::ports::{AttachSpec, AttachedView, TargetSpec};
use agent_api::status::ConnectionState;
use agent_api::{Request, Response};

use crate::agent::{AddressPlan, Agent, AgentError, AgentStatus, PortRequest, PortResult};
use crate::net::{Cidr, Route};

/// Where the agent keeps its socket unless the network config says (`dataDir`) or
/// `SWITCHYARD_DATA_DIR` does: the agent's own default.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/switchyard";

/// The network config key naming the agent's data dir.
pub const DATA_DIR_KEY: &str = "dataDir";

/// The host's agent, reached through the socket in its data dir.
#[derive(Debug, Clone)]
pub struct LocalAgent {
    data_dir: PathBuf,
}

impl LocalAgent {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self { data_dir: data_dir.into() }
    }

    /// The agent a network config names: its `dataDir`, else `SWITCHYARD_DATA_DIR`, else
    /// [`DEFAULT_DATA_DIR`]. A config that does not parse leaves that to [`crate::run`].
    pub fn for_config(stdin: &[u8]) -> Self {
        let from_config = serde_json::from_slice::<serde_json::Value>(stdin)
            .ok()
            .and_then(|config| config.get(DATA_DIR_KEY)?.as_str().map(PathBuf::from));
        let from_env = || std::env::var_os("SWITCHYARD_DATA_DIR").map(PathBuf::from);
        Self::new(from_config.or_else(from_env).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)))
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn ask(&self, request: &Request, long: bool) -> Result<Response, AgentError> {
        let timeout = if long { PORT_CHANGE_TIMEOUT } else { SHOW_TIMEOUT };
        client::ask(&self.data_dir, request, timeout).map_err(agent_error)
    }
}

fn agent_error(error: ClientError) -> AgentError {
    match error {
        ClientError::NoSocket { .. } | ClientError::Refused { .. } => {
            AgentError::NotRunning(error.to_string())
        }
        ClientError::Agent(message) => AgentError::Refused(message),
        other => AgentError::Failed(other.to_string()),
    }
}

fn unexpected(response: &Response) -> AgentError {
    AgentError::Failed(format!("unexpected answer from the agent: {response:?}"))
}

impl Agent for LocalAgent {
    fn status(&self) -> Result<AgentStatus, AgentError> {
        match self.ask(&Request::ShowCard, false)? {
            Response::Card(card) => {
                let connected = card.state == ConnectionState::Connected;
                let reason = if connected {
                    String::new()
                } else {
                    format!("its supervisor at {} is unreachable", card.supervisor)
                };
                Ok(AgentStatus { reachable: true, connected, reason })
            }
            other => Err(unexpected(&other)),
        }
    }

    fn attach(&self, request: &PortRequest) -> Result<PortResult, AgentError> {
        // A headless agent cannot bind a new port: say "try again later", not "refused".
        let status = self.status()?;
        if !status.connected {
            return Err(AgentError::Unavailable(format!(
                "the agent is headless ({}), and a new port needs its vEthernet number from the supervisor",
                status.reason
            )));
        }
        let mut spec =
            AttachSpec::new(TargetSpec::NetnsPath(request.netns_path.clone()), request.profile.clone());
        spec.iface_id = Some(request.iface_id.clone());
        spec.ifname = Some(request.ifname.clone());
        spec.name = Some(request.owner_name.clone());
        spec.mtu = request.mtu;
        let mut routes = Vec::new();
        match &request.address {
            AddressPlan::Auto => spec.ip = Some(AUTO_ADDRESS.to_owned()),
            AddressPlan::None => {}
            AddressPlan::Given { ips, gateway, routes: given } => {
                let address = one_ipv4(ips)?;
                spec.ip = Some(address.to_string());
                spec.gateway = match gateway {
                    Some(IpAddr::V4(gateway)) => Some(*gateway),
                    Some(IpAddr::V6(gateway)) => {
                        return Err(AgentError::Refused(format!(
                            "IPAM named the IPv6 gateway {gateway}; Switchyard ports take an IPv4 gateway"
                        )));
                    }
                    None => None,
                };
                // The agent sets the default route through the gateway; other routes are not
                // installed, so they are not reported either.
                routes = given.iter().filter(|route| route.dst.prefix == 0).cloned().collect();
            }
        }
        match self.ask(&Request::Attach { spec }, true)? {
            Response::Attached(view) => {
                let mut result = port_result(&view)?;
                if routes.is_empty()
                    && let Some(gateway) = result.gateway
                {
                    routes.push(default_route(gateway));
                }
                result.routes = routes;
                Ok(result)
            }
            other => Err(unexpected(&other)),
        }
    }

    fn detach(&self, iface_id: &str) -> Result<(), AgentError> {
        match self.ask(&Request::DetachIfAttached { iface_id: iface_id.to_owned() }, true)? {
            Response::Done => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    fn port(&self, iface_id: &str) -> Result<Option<PortResult>, AgentError> {
        match self.ask(&Request::ShowAttached { iface_id: iface_id.to_owned() }, false)? {
            Response::Port { port } => port.as_ref().map(port_result).transpose(),
            other => Err(unexpected(&other)),
        }
    }

    fn cni_ports(&self, network: &str) -> Result<Vec<String>, AgentError> {
        let prefix = format!("cni:{network}:");
        match self.ask(&Request::ShowPorts, false)? {
            Response::Ports(view) => Ok(view
                .ports
                .into_iter()
                .map(|port| port.iface_id)
                .filter(|iface_id| iface_id.starts_with(&prefix))
                .collect()),
            other => Err(unexpected(&other)),
        }
    }
}

/// The one IPv4 address a Switchyard port takes.
fn one_ipv4(ips: &[Cidr]) -> Result<Cidr, AgentError> {
    match ips {
        [only] if only.addr.is_ipv4() => Ok(*only),
        _ => Err(AgentError::Refused(format!(
            "IPAM gave {}; a Switchyard port takes exactly one IPv4 address: configure the IPAM plugin \
             for one IPv4 range",
            if ips.is_empty() {
                "no address".to_owned()
            } else {
                ips.iter().map(Cidr::to_string).collect::<Vec<_>>().join(", ")
            }
        ))),
    }
}

fn default_route(gateway: IpAddr) -> Route {
    Route { dst: Cidr { addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED), prefix: 0 }, gw: Some(gateway) }
}

/// What the plugin reports of an attached port.
fn port_result(view: &AttachedView) -> Result<PortResult, AgentError> {
    let ips = view
        .ips
        .iter()
        .map(|text| {
            text.parse::<Cidr>()
                .map_err(|error| AgentError::Failed(format!("the agent sent address {text}: {error}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let gateway = view.gateway.map(IpAddr::V4);
    Ok(PortResult {
        veth: view.veth,
        host_ifname: view.host_ifname.clone(),
        mac: view.mac.clone(),
        ifname: view.container_ifname.clone(),
        ips,
        gateway,
        routes: gateway.map(default_route).into_iter().collect(),
        mtu: view.mtu,
        up: view.up,
    })
}
