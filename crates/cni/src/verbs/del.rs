//! DEL: detach the port, then release delegated IPAM. Both are idempotent, and neither needs the
//! container's network namespace, so DEL succeeds twice and after the namespace is gone.

use crate::agent::Agent;
use crate::env::Command;
use crate::error::CniError;
use crate::ipam::IpamExec;
use crate::verbs::{Request, agent_error, attachment_id_raw};

/// Removes the attachment.
pub fn del<A: Agent, E: IpamExec>(agent: &A, request: &mut Request<'_, E>) -> Result<(), CniError> {
    let iface_id = match attachment_id_raw(request.conf, request.env, Command::Del)? {
        Ok(iface_id) => iface_id,
        // ADD refuses such a name before creating anything, so there is nothing to remove.
        Err(error) => {
            request.notes.push(format!("nothing to delete: {error}"));
            return Ok(());
        }
    };
    // If the agent cannot detach, keep the address: freeing it would let another container get
    // an address still in use. The runtime retries DEL.
    agent.detach(&iface_id.to_string()).map_err(|error| agent_error(Command::Del, &error))?;
    if let Some(delegate) = request.delegate()? {
        request.run_delegate(&delegate, Command::Del, request.env)?;
    }
    Ok(())
}
