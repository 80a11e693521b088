//! The one check every agent RPC goes through: which enrolled host is calling? The answer comes
//! from the client certificate of the connection and the store's enrolment record — never from a
//! field of the request, which may only repeat it.

use std::net::Ipv4Addr;

use tonic::{Request, Status};

use crate::enrol_rpc::printable;
use crate::enrolment::{EnrolError, EnrolmentRecord};
use crate::events::Event;
use crate::state::SupervisorState;
use crate::trust::Connection;

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
    let peer = connection.map_or_else(|| "?".to_owned(), |c| c.peer.to_string());
    let Some(certificate) = connection.and_then(|c| c.client.as_ref()) else {
        return Err(Status::unauthenticated(
            "no client certificate: enrol this agent first (switchyard agent --join-token T --ca-hash sha256:…)",
        ));
    };
    let enrolments = state.enrolments.as_ref().ok_or_else(|| Status::internal("enrolment is not set up"))?;
    let enrolled = match enrolments.identify(certificate).await {
        Ok(record) => record,
        Err(EnrolError::Refused(why)) => {
            state.journal.log(vec![Event::host_refused(&peer, &why.to_string())]).await;
            return Err(Status::unauthenticated(why.to_string()));
        }
        Err(error) => return Err(Status::internal(error.to_string())),
    };
    if !claimed.is_empty() && claimed != enrolled.host_id {
        let why = format!("host {} claimed to be host {}", enrolled.host_id, printable(claimed));
        state.journal.log(vec![Event::host_refused(&peer, &why)]).await;
        return Err(Status::permission_denied(format!(
            "this certificate is host {}'s; the request claims host {claimed}",
            enrolled.host_id
        )));
    }
    Ok(AgentIdentity { host_id: enrolled.host_id.clone(), enrolled: Some(enrolled) })
}
