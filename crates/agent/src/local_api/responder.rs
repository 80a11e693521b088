//! Answers local API requests from the agent's live state.

use std::sync::{Arc, Weak};
use std::time::Instant;

use tokio::sync::watch;

use super::protocol::{CardInfo, Request, Response, from_hex};
use crate::identity::HostIdentity;
use crate::ports::{PortError, PortManager};
use crate::snapshot::PolicySnapshot;
use crate::status::AgentStatus;
use crate::{MAX_VIRTUAL_PORTS, SWITCH_NAME};

/// The agent as the local API sees it. It holds the port manager weakly: an agent that stops
/// takes its dataplane down at once, even while clients keep connections open.
#[derive(Debug, Clone)]
pub(crate) struct Responder {
    pub(crate) identity: Arc<HostIdentity>,
    pub(crate) supervisor: String,
    pub(crate) status: watch::Receiver<AgentStatus>,
    pub(crate) policies: watch::Receiver<Arc<PolicySnapshot>>,
    pub(crate) ports: Weak<PortManager>,
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
            Request::ShowPorts => Ok(Response::Ports(self.ports()?.ports_view().await)),
            Request::ShowL2 { vlan } => {
                self.ports()?.mac_table(vlan).await.map(|entries| Response::L2 { entries })
            }
            Request::Trace { port, frame_hex } => {
                let frame = from_hex(&frame_hex).map_err(PortError::Invalid)?;
                self.ports()?.trace(&port, frame).await.map(Response::Trace)
            }
        }
    }

    fn ports(&self) -> Result<Arc<PortManager>, PortError> {
        self.ports.upgrade().ok_or(PortError::Stopping)
    }

    fn card(&self, now: Instant) -> CardInfo {
        let status = self.status.borrow().clone();
        let policies = Arc::clone(&self.policies.borrow());
        let identity = &self.identity;
        CardInfo {
            card_name: identity.host_name.clone(),
            host_id: identity.host_id.clone(),
            switch_name: SWITCH_NAME.to_owned(),
            module: status.module,
            supervisor: self.supervisor.clone(),
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

/// Runs `work` on a task of its own and waits for it.
async fn run_to_end<F>(work: F) -> Result<Response, PortError>
where
    F: Future<Output = Result<Response, PortError>> + Send + 'static,
{
    tokio::spawn(work)
        .await
        .unwrap_or_else(|error| Err(PortError::Invalid(format!("the request failed: {error}"))))
}
