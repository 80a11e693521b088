//! The mirrors every supervisor keeps of what other supervisors write: online modules, module
//! records, port bindings, revoked hosts. Each applies a change to the in-memory copy and tells
//! the fan-out, so an agent's stream on this supervisor follows a bind, a move or a removal made
//! on another one.

use std::sync::Arc;

use store::{Event, RangeResponse, Store};
use tokio::sync::watch;

use super::follow::{Mirror, as_puts, follow};
use super::reports::SharedReport;
use crate::enrolment::EnrolmentRecord;
use crate::layout::{
    ENROLMENTS_PREFIX, LIVE_MODULES_PREFIX, LIVE_PORT_COMMANDS_PREFIX, LIVE_REPORTS_PREFIX, MODULES_PREFIX,
    PORTS_PREFIX,
};
use crate::modules::ModuleRecord;
use crate::state::SupervisorState;

/// Starts every mirror's watch from `revision` (the revision the start-up reads reflect, or
/// later: a mirror applying a change it already holds is harmless).
pub fn spawn_all(
    tasks: &mut tokio::task::JoinSet<()>,
    store: &Arc<dyn Store>,
    state: &Arc<SupervisorState>,
    revision: store::Revision,
    shutdown: &watch::Receiver<bool>,
) {
    tasks.spawn(follow(store.clone(), LiveModules(state.clone()), revision, shutdown.clone()));
    tasks.spawn(follow(store.clone(), ModuleRecords(state.clone()), revision, shutdown.clone()));
    tasks.spawn(follow(store.clone(), PortBindings(state.clone()), revision, shutdown.clone()));
    tasks.spawn(follow(store.clone(), Revocations(state.clone()), revision, shutdown.clone()));
    tasks.spawn(follow(store.clone(), PeerReports(state.clone()), revision, shutdown.clone()));
    tasks.spawn(follow(store.clone(), PortCommands(state.clone()), revision, shutdown.clone()));
}

/// `live/modules/`: online and offline, from whichever supervisor.
struct LiveModules(Arc<SupervisorState>);

impl LiveModules {
    async fn changed(&self, modules: Vec<u32>) {
        let state = &self.0;
        for module in modules {
            state.fanout.module_liveness(module, || state.modules.is_online(module));
            // Going offline is logged by whoever sees it first (a supervisor that died cannot);
            // coming online by the supervisor that marked the module live, which knows whether
            // it registered (`VEM_MGR_DETECTED`) or came back.
            if !state.modules.is_online(module) {
                let logged = state.modules.presence().settle(&state.journal, module, None).await;
                let logged = logged.unwrap_or_else(|error| {
                    tracing::warn!(%error, module, "cannot log the module's liveness");
                    false
                });
                state.ports.module_offline(&state.journal, module, logged).await;
            }
        }
    }
}

impl Mirror for LiveModules {
    fn prefix(&self) -> &'static str {
        LIVE_MODULES_PREFIX
    }

    async fn reload(&mut self, range: RangeResponse) {
        let changed = self.0.modules.presence().reload(&range);
        self.changed(changed).await;
    }

    async fn apply(&mut self, events: Vec<Event>) {
        let changed = self.0.modules.presence().apply(&events);
        self.changed(changed).await;
    }
}

/// `modules/`: registrations (VTEP, uplinks) and removals.
struct ModuleRecords(Arc<SupervisorState>);

impl ModuleRecords {
    fn removed(&self, record: &ModuleRecord) {
        let state = &self.0;
        state.modules.forget(record.module);
        state.kills.cut(record.module);
        state.fanout.module_removed(record.module);
    }
}

impl Mirror for ModuleRecords {
    fn prefix(&self) -> &'static str {
        MODULES_PREFIX
    }

    async fn reload(&mut self, range: RangeResponse) {
        let state = &self.0;
        let records: Vec<ModuleRecord> =
            range.kvs.iter().filter_map(|kv| serde_json::from_slice(&kv.value).ok()).collect();
        for gone in state.modules.known_except(records.iter().map(|record| record.module)) {
            state.modules.forget(gone);
            state.kills.cut(gone);
            state.fanout.module_removed(gone);
        }
        for record in &records {
            state.modules.learn(record);
            state.fanout.module_changed(record);
        }
    }

    async fn apply(&mut self, events: Vec<Event>) {
        for event in events {
            match event {
                Event::Put { kv } => {
                    if let Ok(record) = serde_json::from_slice::<ModuleRecord>(&kv.value) {
                        self.0.modules.learn(&record);
                        self.0.fanout.module_changed(&record);
                    }
                }
                Event::Delete { prev, .. } => {
                    if let Ok(record) = serde_json::from_slice::<ModuleRecord>(&prev.value) {
                        self.removed(&record);
                    }
                }
            }
        }
    }
}

/// `ports/`: binds and unbinds made by any supervisor.
struct PortBindings(Arc<SupervisorState>);

impl Mirror for PortBindings {
    fn prefix(&self) -> &'static str {
        PORTS_PREFIX
    }

    async fn reload(&mut self, _range: RangeResponse) {
        // The copy re-reads itself (and rebuilds the interest) before the next plan.
        self.0.ports.invalidate();
        if let Err(error) = self.0.ports.reload(self.0.store.as_ref(), &self.0.fanout).await {
            tracing::warn!(%error, "cannot re-read the port bindings");
        }
    }

    async fn apply(&mut self, events: Vec<Event>) {
        for event in events {
            self.0.ports.mirror(&event, &self.0.fanout);
        }
    }
}

/// `live/reports/`: what the agents served by other supervisors report.
struct PeerReports(Arc<SupervisorState>);

impl Mirror for PeerReports {
    fn prefix(&self) -> &'static str {
        LIVE_REPORTS_PREFIX
    }

    async fn reload(&mut self, range: RangeResponse) {
        self.apply(as_puts(range)).await;
    }

    async fn apply(&mut self, events: Vec<Event>) {
        let state = &self.0;
        for event in events {
            let Event::Put { kv } = event else { continue };
            let Some((supervisor, report)) = SharedReport::decode(&kv.value) else {
                tracing::warn!(key = %kv.key, "skipping an unreadable shared report");
                continue;
            };
            // Its own, or a late one about a module it now serves itself: it knows better.
            if supervisor == state.reports.me() || state.modules.presence().serves(report.module) {
                continue;
            }
            if state.modules.is_online(report.module) {
                state.ports.peer_report(report, std::time::Instant::now());
            }
        }
    }
}

/// `live/port-commands/`: operators' commands for the modules this supervisor serves, asked on
/// another supervisor.
struct PortCommands(Arc<SupervisorState>);

impl Mirror for PortCommands {
    fn prefix(&self) -> &'static str {
        LIVE_PORT_COMMANDS_PREFIX
    }

    async fn reload(&mut self, range: RangeResponse) {
        self.apply(as_puts(range)).await;
    }

    async fn apply(&mut self, events: Vec<Event>) {
        let state = &self.0;
        for event in events {
            let Event::Put { kv } = event else { continue };
            let Some((module, veth, shutdown)) = super::commands::parse(&kv.key, &kv.value) else { continue };
            if !state.modules.presence().serves(module) {
                continue;
            }
            state.ports.request_port_command(module, veth, shutdown);
            let taken = store::Txn {
                compare: vec![store::Compare::ModRevision(kv.key.clone(), kv.mod_revision)],
                success: vec![store::Op::Delete { key: kv.key.clone() }],
                failure: Vec::new(),
            };
            if let Err(error) = state.store.txn(taken).await {
                tracing::warn!(%error, module, veth, "cannot clear a port command taken over");
            }
        }
    }
}

/// `enrolments/`: a host revoked on another supervisor loses its streams here too.
struct Revocations(Arc<SupervisorState>);

impl Mirror for Revocations {
    fn prefix(&self) -> &'static str {
        ENROLMENTS_PREFIX
    }

    async fn reload(&mut self, range: RangeResponse) {
        self.apply(as_puts(range)).await;
    }

    async fn apply(&mut self, events: Vec<Event>) {
        for event in events {
            let Event::Put { kv } = event else { continue };
            let Ok(record) = serde_json::from_slice::<EnrolmentRecord>(&kv.value) else { continue };
            if record.revoked
                && let Some(module) = self.0.modules.module_of(&record.host_id)
            {
                self.0.kills.cut(module);
            }
        }
    }
}
