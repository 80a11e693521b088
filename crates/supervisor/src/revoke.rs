//! Revoking a module: an operator's answer to a host that must no longer be trusted. Its
//! certificates are refused from the next request on, it goes offline (its ports down, out of
//! every bridge-domain), and its ports are released per their port-binding, as if detached.

use crate::events::Event;
use crate::exec::ExecError;
use crate::modules::Modules;
use crate::ports::Ports;
use crate::state::SupervisorState;

/// Revokes module `module`; returns the host name it had.
pub async fn revoke_module(state: &SupervisorState, module: u32) -> Result<String, ExecError> {
    let enrolments = state.enrolments.as_ref().ok_or(ExecError::Insecure)?;
    let records = Modules::records(&state.journal).await.map_err(ExecError::from)?;
    let record = records
        .into_iter()
        .find(|record| record.module == module)
        .ok_or_else(|| ExecError::NotFound(format!("module {module} does not exist")))?;
    if !enrolments.revoke(&record.host_id).await.map_err(ExecError::from)? {
        tracing::warn!(module, host_id = %record.host_id, "revoking a module that never enrolled (registered --insecure)");
    }
    state.journal.log(vec![Event::host_revoked(&record.host_name, Some(module))]).await;
    state.kills.cut(module);
    let logged = state.modules.take_offline(&state.journal, module).await;
    state.ports.module_offline(&state.journal, module, logged).await;
    let bound = Ports::records(&state.journal).await.map_err(ExecError::from)?;
    for port in bound.iter().filter(|port| port.module == module && port.attached) {
        state
            .ports
            .unbind(&state.journal, &state.fanout, module, &port.iface_id)
            .await
            .map_err(ExecError::from)?;
    }
    Ok(record.host_name)
}
