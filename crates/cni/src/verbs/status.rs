//! STATUS: ready when the agent runs and is connected to its supervisor (it binds new ports only
//! then), and a delegated IPAM plugin that knows STATUS is ready too.

use crate::agent::{Agent, AgentError};
use crate::config::Ipam;
use crate::env::Command;
use crate::error::{CniError, ErrorCode};
use crate::ipam::{IpamExec, speaks_1_1};
use crate::verbs::{Request, agent_error};

fn not_available(details: String) -> CniError {
    CniError::new(ErrorCode::NotAvailable, "The Switchyard plugin cannot add containers now", details)
}

/// Whether ADD can be served.
pub fn status<A: Agent, E: IpamExec>(agent: &A, request: &mut Request<'_, E>) -> Result<(), CniError> {
    match agent.status() {
        Err(error @ AgentError::NotRunning(_)) => return Err(agent_error(Command::Status, &error)),
        Err(error) => return Err(not_available(error.to_string())),
        Ok(status) if !status.reachable => {
            return Err(not_available(format!(
                "the Switchyard agent does not answer ({}): start it with `switchyard agent`",
                status.reason
            )));
        }
        Ok(status) if !status.connected => {
            return Err(not_available(format!(
                "the agent is headless: {}; it keeps forwarding for existing containers but binds no new port until its supervisor is reachable again (see `switchyard vemcmd show card`)",
                status.reason
            )));
        }
        Ok(_) => {}
    }
    if let Ipam::Delegated(plugin) = &request.conf.ipam {
        if speaks_1_1(request.exec, plugin, request.env) {
            request
                .exec
                .exec(plugin, Command::Status, request.env, request.stdin)
                .map_err(|error| error.into_cni())?;
        } else {
            request
                .notes
                .push(format!("IPAM plugin {plugin:?} predates CNI 1.1 and was not asked for STATUS"));
        }
    }
    Ok(())
}
