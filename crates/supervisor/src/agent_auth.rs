//! The one check every agent RPC goes through: which enrolled host is calling? The answer comes
//! from the client certificate of the connection and the store's enrolment record — never from a
//! field of the request, which may only repeat it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use tonic::{Request, Status};

use crate::agent_input::bounded;
use crate::enrolment::{EnrolError, EnrolmentRecord};
use crate::events::Event;
use crate::state::SupervisorState;
use crate::trust::Connection;
use crate::trust::limiter::FailureLimiter;

/// Agents refused, per source address. Every refusal is an event (and an enrolment's an
/// accounting entry too) while its source has refusals left within the limiter's window; past
/// that, the source is answered RESOURCE_EXHAUSTED and nothing is written, so that nobody who can
/// reach the port can flush the event or accounting log with garbage tokens or dead certificates.
#[derive(Debug)]
pub struct AgentRefusals(Mutex<FailureLimiter>);

/// Refusals a source may cause within the limiter's window (a minute) before it is cut short.
pub const REFUSALS_PER_SOURCE: usize = 10;

impl Default for AgentRefusals {
    fn default() -> Self {
        Self(Mutex::new(FailureLimiter::new(REFUSALS_PER_SOURCE)))
    }
}

impl AgentRefusals {
    /// Refuses with `status`, logging `why` (as `%VEM_MGR-2-VEM_MGR_REFUSED`) while `peer` has
    /// refusals left; `Err` (RESOURCE_EXHAUSTED, nothing logged) once it has used them up.
    pub async fn refuse(
        &self,
        state: &SupervisorState,
        peer: Option<SocketAddr>,
        why: &str,
        status: Status,
    ) -> Status {
        if let Err(limited) = self.count(peer.map(|peer| peer.ip())) {
            return limited;
        }
        let source = peer.map_or_else(|| "-".to_owned(), |peer| peer.ip().to_string());
        state.journal.log(vec![Event::host_refused(&source, why)]).await;
        status
    }

    /// Whether `source` is still within its refusals (`Err` once it is not); does not count.
    pub fn check(&self, source: Option<IpAddr>) -> Result<(), Status> {
        self.lock().check(source.map(crate::server::source_of), Instant::now()).map_err(limited)
    }

    /// Counts one refusal of `source`, if it has one left.
    pub fn count(&self, source: Option<IpAddr>) -> Result<(), Status> {
        self.lock().reserve(source.map(crate::server::source_of), Instant::now()).map_err(limited)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FailureLimiter> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn limited(retry_after: std::time::Duration) -> Status {
    Status::resource_exhausted(format!(
        "too many refused attempts from this address; retry in {} s",
        retry_after.as_secs().max(1)
    ))
}

/// The calling host.
#[derive(Debug, Clone)]
pub struct AgentIdentity {
    pub host_id: String,
    /// What it enrolled with; `None` when the supervisor runs `--insecure`.
    pub enrolled: Option<EnrolmentRecord>,
}

impl AgentIdentity {
    /// Checks the host name and VTEP an agent registers with against its enrolment.
    pub fn check_registration(&self, host_name: &str, vtep: &str) -> Result<(), Status> {
        let Some(enrolled) = &self.enrolled else { return Ok(()) };
        if !host_name.is_empty() && host_name != enrolled.host_name {
            return Err(Status::permission_denied(format!(
                "this host enrolled as {}, not {host_name}; to rename it, remove the module (no module N) and enrol again",
                enrolled.host_name
            )));
        }
        if vtep.is_empty() {
            return Ok(());
        }
        let asked: Option<Ipv4Addr> = vtep.parse().ok();
        if asked.is_some() && asked == enrolled.vtep {
            return Ok(());
        }
        let enrolled_vtep = enrolled.vtep.map_or_else(|| "none".to_owned(), |vtep| vtep.to_string());
        Err(Status::permission_denied(format!(
            "VTEP {vtep} is not the one this host enrolled with ({enrolled_vtep}); a VTEP is approved at enrolment: \
             remove the module (no module N) and enrol again with the new --vtep"
        )))
    }
}

/// The switch that ends `caller`'s stream of `module` when its host is revoked or removed. Taken
/// after the caller was authenticated, so the enrolment is read once more: a revocation that
/// landed in between (its cut came before this switch existed) refuses the stream here.
pub async fn kill_switch(
    state: &SupervisorState,
    caller: &AgentIdentity,
    module: u32,
) -> Result<tokio::sync::watch::Receiver<bool>, Status> {
    let switch = state.kills.watch(module);
    if let (Some(enrolments), Some(_)) = (&state.enrolments, &caller.enrolled) {
        let enrolled =
            enrolments.still_enrolled(&caller.host_id).await.map_err(|e| Status::internal(e.to_string()))?;
        if !enrolled {
            return Err(Status::unauthenticated(format!("host {} was revoked or removed", caller.host_id)));
        }
    }
    Ok(switch)
}

/// Who is calling, for a request whose `host_id` field says `claimed` (may be empty).
pub async fn authenticate<T>(
    state: &SupervisorState,
    request: &Request<T>,
    claimed: &str,
) -> Result<AgentIdentity, Status> {
    if state.options.insecure {
        if claimed.is_empty() {
            return Err(Status::invalid_argument("host_id is required (the supervisor runs --insecure)"));
        }
        return Ok(AgentIdentity { host_id: claimed.to_owned(), enrolled: None });
    }
    let connection = request.extensions().get::<Connection>();
    let peer = connection.map(|c| c.peer);
    let Some(certificate) = connection.and_then(|c| c.client.as_ref()) else {
        return Err(Status::unauthenticated(
            "no client certificate: enrol this agent first (switchyard agent --join-token T --ca-hash sha256:…)",
        ));
    };
    let enrolments = state.enrolments.as_ref().ok_or_else(|| Status::internal("enrolment is not set up"))?;
    let enrolled = match enrolments.identify(certificate).await {
        Ok(record) => record,
        Err(EnrolError::Refused(why)) => {
            let why = why.to_string();
            let status = Status::unauthenticated(why.clone());
            return Err(state.agent_refusals.refuse(state, peer, &why, status).await);
        }
        Err(error) => return Err(Status::internal(error.to_string())),
    };
    if !claimed.is_empty() && claimed != enrolled.host_id {
        let why = format!("host {} claimed to be host {}", enrolled.host_id, bounded(claimed));
        let status = Status::permission_denied(format!(
            "this certificate is host {}'s; the request claims host {}",
            enrolled.host_id,
            bounded(claimed)
        ));
        return Err(state.agent_refusals.refuse(state, peer, &why, status).await);
    }
    Ok(AgentIdentity { host_id: enrolled.host_id.clone(), enrolled: Some(enrolled) })
}
