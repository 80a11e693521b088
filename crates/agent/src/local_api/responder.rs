//! Answers local API requests from the agent's live state.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use super::protocol::{CardInfo, Request, Response};
use crate::identity::HostIdentity;
use crate::snapshot::PolicySnapshot;
use crate::status::AgentStatus;
use crate::{MAX_VIRTUAL_PORTS, SWITCH_NAME};

/// Read-only view of the agent that turns requests into responses.
#[derive(Debug, Clone)]
pub(crate) struct Responder {
    pub(crate) identity: Arc<HostIdentity>,
    pub(crate) supervisor: String,
    pub(crate) status: watch::Receiver<AgentStatus>,
    pub(crate) policies: watch::Receiver<Arc<PolicySnapshot>>,
}

impl Responder {
    /// Answers `request` as of `now`.
    pub(crate) fn respond(&self, request: &Request, now: Instant) -> Response {
        match request {
            Request::ShowCard => Response::Card(Box::new(self.card(now))),
        }
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
