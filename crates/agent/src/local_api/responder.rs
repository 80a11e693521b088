//! Answers local API requests from the agent's live state.

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::sync::{Arc, Weak};
use std::time::Instant;

use tokio::sync::watch;

use crate::identity::HostIdentity;
use crate::overlay::{OverlayFile, vtep};
use crate::ports::{PortError, PortManager, VtepView};
use crate::snapshot::PolicySnapshot;
use crate::status::{AgentStatus, ConnectionState};
use crate::{MAX_VIRTUAL_PORTS, SWITCH_NAME};
use agent_api::{CardInfo, Request, Response, from_hex};

/// The agent as the local API sees it. It holds the port manager weakly: an agent that stops
/// takes its dataplane down at once, even while clients keep connections open.
#[derive(Debug, Clone)]
pub(crate) struct Responder {
    pub(crate) identity: Arc<HostIdentity>,
    /// The configured supervisors, the one connected to, and the agent's credentials.
    pub(crate) supervisors: Arc<crate::trust::Supervisors>,
    pub(crate) status: watch::Receiver<AgentStatus>,
    pub(crate) policies: watch::Receiver<Arc<PolicySnapshot>>,
    pub(crate) ports: Weak<PortManager>,
    /// The overlay in force (bridge-domain names the policies may not give).
    pub(crate) overlay: watch::Receiver<Arc<OverlayFile>>,
    /// The VTEP's address and UDP port, with `--vtep`.
    pub(crate) tunnel: Option<SocketAddrV4>,
}

impl Responder {
    /// Answers `request` (`now` dates the card's heartbeat age).
    pub(crate) async fn respond(&self, request: Request, now: Instant) -> Response {
        self.answer(request, now).await.unwrap_or_else(|error| Response::error(error.to_string()))
    }

    async fn answer(&self, request: Request, now: Instant) -> Result<Response, PortError> {
        match request {
            Request::ShowCard => Ok(Response::Card(Box::new(self.card(now)))),
            // Attach and detach run to the end on their own task, even if the client goes away
            // half-way: a port is never left half made.
            Request::Attach { spec } => {
                let ports = self.ports()?;
                run_to_end(async move { ports.attach(&spec).await.map(Response::Attached) }).await
            }
            Request::Detach { port } => {
                let ports = self.ports()?;
                run_to_end(async move { ports.detach(&port).await.map(Response::Detached) }).await
            }
            Request::DetachIfAttached { iface_id } => {
                let ports = self.ports()?;
                run_to_end(async move { ports.detach_if_attached(&iface_id).await.map(|()| Response::Done) })
                    .await
            }
            Request::ShowAttached { iface_id } => {
                Ok(Response::Port { port: self.ports()?.attached_view(&iface_id).await })
            }
            Request::ShowPorts => Ok(Response::Ports(self.ports()?.ports_view().await)),
            Request::ShowL2 { vlan } => {
                let names = self.overlay_names();
                self.ports()?.mac_table(vlan, &names).await.map(|entries| Response::L2 { entries })
            }
            Request::ShowL2BridgeDomain { name } => {
                let names = self.overlay_names();
                let (segment_id, entries) = self.ports()?.bridge_domain_mac_table(&name, &names).await?;
                Ok(Response::BridgeDomainL2 { name, segment_id, entries })
            }
            Request::ShowVxlan => {
                let names = self.overlay_names();
                let mut view = self.ports()?.vxlan_view(&names).await?;
                view.vtep = match self.tunnel {
                    Some(tunnel) => Some(vtep_view(tunnel).await),
                    None => None,
                };
                Ok(Response::Vxlan(Box::new(view)))
            }
            Request::ShowConntrack => Ok(Response::Conntrack(self.ports()?.conntrack_view().await?)),
            Request::ClearConntrack => self.ports()?.clear_conntrack().await.map(|()| Response::Done),
            Request::ShowFlows => Ok(Response::Flows { flows: self.ports()?.flow_views().await? }),
            Request::Trace { port, frame_hex } => {
                let frame = from_hex(&frame_hex).map_err(PortError::Invalid)?;
                self.ports()?.trace(&port, frame).await.map(Response::Trace)
            }
        }
    }

    /// The bridge-domain names of the overlay in force, by segment id.
    fn overlay_names(&self) -> BTreeMap<u32, String> {
        let overlay = self.overlay.borrow();
        overlay.segments.iter().map(|(&id, segment)| (id, segment.name.clone())).collect()
    }

    fn ports(&self) -> Result<Arc<PortManager>, PortError> {
        self.ports.upgrade().ok_or(PortError::Stopping)
    }

    fn card(&self, now: Instant) -> CardInfo {
        let status = self.status.borrow().clone();
        let policies = Arc::clone(&self.policies.borrow());
        let identity = &self.identity;
        let supervisor = match (status.state, self.supervisors.current()) {
            (ConnectionState::Connected, Some(target)) => target.to_string(),
            _ => self.supervisors.describe(),
        };
        CardInfo {
            card_name: identity.host_name.clone(),
            host_id: identity.host_id.clone(),
            switch_name: SWITCH_NAME.to_owned(),
            module: status.module,
            supervisor,
            supervisors: self.supervisors.endpoints().urls(),
            trust: crate::trust::describe(
                self.supervisors.credentials().map(Arc::as_ref),
                std::time::SystemTime::now(),
            ),
            state: status.state,
            last_heartbeat_ack_ms: status
                .last_heartbeat_ack
                .map(|at| u64::try_from(now.saturating_duration_since(at).as_millis()).unwrap_or(u64::MAX)),
            policy_count: policies.len(),
            policy_revision: policies.revision,
            supervisor_revision: status.supervisor_revision,
            max_virtual_ports: MAX_VIRTUAL_PORTS,
            addresses: identity.addresses.clone(),
            hardware: identity.hardware.clone(),
            version: identity.version.clone(),
        }
    }
}

/// The VTEP bound at `tunnel`, with the interface holding its address now (and its MTU).
async fn vtep_view(tunnel: SocketAddrV4) -> VtepView {
    let interface = vtep::locate(*tunnel.ip()).await.ok();
    VtepView {
        address: *tunnel.ip(),
        udp_port: tunnel.port(),
        mtu: interface.as_ref().map(|interface| interface.mtu),
        interface: interface.map(|interface| interface.ifname),
    }
}

/// Runs `work` on a task of its own and waits for it.
async fn run_to_end<F>(work: F) -> Result<Response, PortError>
where
    F: Future<Output = Result<Response, PortError>> + Send + 'static,
{
    tokio::spawn(work)
        .await
        .unwrap_or_else(|error| Err(PortError::Invalid(format!("the request failed: {error}"))))
}
