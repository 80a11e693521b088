//! `no module N` / `DELETE /api/v1/modules/{module}`: an operator removes a module.
//!
//! The module's record goes (and with it the mapping from its number to its host id), and its
//! ports are released as a detach would release them: `port-binding static` bindings are kept,
//! detached (the number stays the iface-id's, and the port may now attach on any module — the
//! container moved hosts), the others are deleted. One store transaction does it all, with an
//! `IF_DETACHED` line per port and `VEM_MGR_REMOVED`, and the accounting log records who did it.
//!
//! As NX-OS's `no vem N`, removal is refused while the module is online: an operator stops (or,
//! once enrolled agents can be revoked, revokes) the agent first, or waits the heartbeat timeout.
//! An online agent whose module vanished would register again under a new number and rebind
//! its ports, which is not what removing it means. This is how an operator cleans up hosts that
//! are gone for good — and the only way an offline host's attached ports move elsewhere (a port
//! attached on a module, even an offline one, is never taken by another module's claim).
//!
//! A host whose module was removed may come back: it registers as a new module.

use serde::Serialize;
use store::{Compare, Op, StoreError};
use utoipa::ToSchema;

use crate::audit::{AuditEntry, AuditKind};
use crate::events::Event;
use crate::journal::MAX_ATTEMPTS;
use crate::layout::module_key;
use crate::modules::{ModuleError, Modules};
use crate::ports::{PortError, ReleasedPort};
use crate::state::SupervisorState;
use crate::trust::Caller;

/// What a removal did (`DELETE /api/v1/modules/{module}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Removed {
    pub module: u32,
    pub host_name: String,
    pub host_id: String,
    /// The ports it held, by vEthernet number.
    pub released: Vec<ReleasedPort>,
}

impl Removed {
    /// What the shell prints: one line for the module, one per port.
    pub fn summary(&self) -> String {
        // The host name came from an agent: printed as renderers print it.
        let host = crate::agent_input::printable(&self.host_name);
        let mut out = format!("Module {} (host {host}) removed\n", self.module);
        for port in &self.released {
            let what = if port.kept { "kept, detached (port-binding static)" } else { "released" };
            out.push_str(&format!("  Vethernet{}: {what}\n", port.veth));
        }
        out
    }
}

/// Why a module was not removed. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("module {0} does not exist")]
    Unknown(u32),
    #[error(
        "module {0} is online; stop its agent and wait until the module is offline (show module), \
         then remove it"
    )]
    Online(u32),
    #[error("modules or port bindings changed concurrently {MAX_ATTEMPTS} times; try again")]
    Contended,
    #[error(transparent)]
    Module(#[from] ModuleError),
    #[error(transparent)]
    Ports(#[from] PortError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Removes module `module` for `caller` (from `source`), recording the attempt in the
/// accounting log whatever its outcome.
pub async fn remove_module(
    state: &SupervisorState,
    module: u32,
    caller: &Caller,
    source: &str,
) -> Result<Removed, RemoveError> {
    let outcome = remove(state, module).await;
    let detail = match &outcome {
        Ok(removed) => {
            let ports: Vec<String> =
                removed.released.iter().map(|port| format!("Vethernet{}", port.veth)).collect();
            format!("host {} ({}); ports released: {}", removed.host_name, removed.host_id, ports.join(" "))
        }
        Err(error) => error.to_string(),
    };
    state
        .audit
        .record(AuditEntry {
            kind: AuditKind::Module,
            user: caller.audit_name(),
            source: source.to_owned(),
            command: format!("no module {module}"),
            success: outcome.is_ok(),
            detail,
        })
        .await;
    outcome
}

async fn remove(state: &SupervisorState, module: u32) -> Result<Removed, RemoveError> {
    let mut writer = state.journal.writer().await;
    for _ in 0..MAX_ATTEMPTS {
        let found = Modules::find(&state.journal, module).await?;
        if state.modules.is_online(module) {
            return Err(RemoveError::Online(module));
        }
        let release = state.ports.plan_release(writer.store().as_ref(), &state.fanout, module).await?;
        // Bindings may outlive their module's record (a store shared with an older supervisor):
        // removing the number releases them, or nobody could.
        if found.is_none() && release.is_empty() {
            return Err(RemoveError::Unknown(module));
        }
        let mut write = release.write()?;
        let (host_name, host_id) = match &found {
            Some((record, revision)) => {
                let key = module_key(&record.host_id);
                write.compare.push(Compare::ModRevision(key.clone(), *revision));
                write.ops.push(Op::Delete { key });
                // Its certificates go with it: the host may enrol again, with a new token.
                write.ops.push(Op::Delete { key: crate::layout::enrolment_key(&record.host_id) });
                (record.host_name.clone(), record.host_id.clone())
            }
            None => ("-".to_owned(), String::new()),
        };
        write.ops.extend(crate::cluster::presence::Presence::forget_ops(module));
        write.events.push(Event::module_removed(module, &host_name));
        if let Some(committed) = writer.try_commit(write).await? {
            drop(writer);
            state.modules.forget(module);
            state.kills.cut(module);
            state.ports.released(committed, &release, module, &state.fanout);
            state.fanout.module_removed(module);
            // Its addresses go too. The removal is committed already: a failure is logged, and
            // the addresses stay held until the module's number is removed again.
            if let Err(error) = crate::ipam::release_module(&state.journal, module).await {
                tracing::warn!(%error, module, "cannot release the removed module's addresses");
            }
            tracing::info!(module, host = %host_name, "module removed");
            return Ok(Removed { module, host_name, host_id, released: release.ports() });
        }
        // Someone else wrote: the bindings copy re-reads on the next plan.
        state.ports.invalidate();
    }
    Err(RemoveError::Contended)
}
