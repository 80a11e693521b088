//! What the datapath's policy reports back: its events (port-security violations, error-disabled
//! ports, DHCP bindings) logged in NX-OS words, flows exported to the collectors the policies
//! name, error-disabled ports recovered on the supervisor's word.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError};
use std::time::SystemTime;

use datapath::PortId;
use wire::flow_export::FlowDirection;

use super::{Inner, PortManager};
use crate::ports::policy_view::{self, ExportPlan};

impl PortManager {
    /// Takes what the datapath did since the last call: logs its events and exports the flows
    /// due. Returns true when a port's state changed (an error-disabled port): report then.
    pub async fn follow_datapath(&self) -> bool {
        let events = self.dataplane.events().await.unwrap_or_default();
        let (plan, names) = {
            let inner = self.inner.lock().await;
            let module = self.connected_module().unwrap_or(0);
            let plan = policy_view::export_plan(&inner.table, &inner.applied, module);
            // Names only for the events there are (most seconds, none).
            let names = if events.is_empty() { BTreeMap::new() } else { port_names(&inner) };
            (plan, names)
        };
        let mut changed = false;
        for event in &events {
            let name_of = |port: PortId| names.get(&port.0).cloned().unwrap_or_else(|| port.to_string());
            let (line, state_changed) = policy_view::event_line(event, name_of);
            if state_changed {
                tracing::error!("{line}");
            } else {
                tracing::warn!("{line}");
            }
            changed |= state_changed;
        }
        self.export_flows(plan).await;
        changed
    }

    /// Exports the flows due under `plan` (none if no port monitors flows).
    async fn export_flows(&self, plan: ExportPlan) {
        let idle = plan.routes.is_empty() && plan.exporters.is_empty();
        if idle && self.flow_export.lock().unwrap_or_else(PoisonError::into_inner).stats().is_empty() {
            return;
        }
        let (now, records) = if plan.routes.is_empty() {
            (std::time::Duration::ZERO, Vec::new())
        } else {
            self.dataplane.expired_flows(plan.active, plan.inactive).await.unwrap_or_default()
        };
        let wall = SystemTime::now();
        let export = Arc::clone(&self.flow_export);
        // Sending may wait on a full socket buffer: never on the runtime's threads.
        let sent = tokio::task::spawn_blocking(move || {
            let mut export = export.lock().unwrap_or_else(PoisonError::into_inner);
            export.reconfigure(plan.exporters.clone());
            for (&ltl, (input, output)) in &plan.routes {
                for (names, direction) in [(input, FlowDirection::Ingress), (output, FlowDirection::Egress)] {
                    if names.is_empty() {
                        continue;
                    }
                    let batch: Vec<_> = records
                        .iter()
                        .filter(|record| observed_at(record, ltl, direction))
                        .map(|record| policy_view::export_record(record, direction, now, wall))
                        .collect();
                    for name in names {
                        export.export_to(name, wall, &batch);
                    }
                }
            }
            // Templates due on idle exporters go out too.
            export.export(wall, &[]);
        })
        .await;
        if let Err(error) = sent {
            tracing::error!("flow export stopped: {error}");
        }
    }

    /// Carries out the supervisor's requests for ports; true when a port came back.
    /// `shutdown` leaves an error-disabled port down and an up port up (there is no per-port
    /// administrative state yet); `no shutdown` recovers an error-disabled one.
    pub(super) async fn run_port_commands(&self, commands: Vec<proto::PortCommand>) -> bool {
        let mut recovered = false;
        for command in commands.into_iter().filter(|command| !command.shutdown) {
            recovered |= self.recover_vethernet(command.veth).await;
        }
        recovered
    }

    /// Brings the error-disabled port of Vethernet `veth` back (`no shutdown` on it at the
    /// supervisor); false when this host has no such port or it was not error-disabled.
    pub async fn recover_vethernet(&self, veth: u32) -> bool {
        let ltl = {
            let inner = self.inner.lock().await;
            inner.table.iter().find(|record| record.veth == veth).map(|record| record.ltl)
        };
        let Some(ltl) = ltl else { return false };
        let recovered = self.dataplane.recover_port(PortId(ltl)).await.unwrap_or(false);
        if recovered {
            tracing::info!(
                "%ETHPORT-5-IF_ERRDIS_RECOVERY: Interface Vethernet{veth} is recovered from error-disabled"
            );
        }
        recovered
    }
}

/// Whether port `ltl` monitors `record` in `direction`: its input monitor sees the flows that
/// entered by it, its output monitor those that left by it.
fn observed_at(record: &datapath::FlowRecord, ltl: u32, direction: FlowDirection) -> bool {
    match direction {
        FlowDirection::Ingress => record.monitored_input && record.input.0 == ltl,
        FlowDirection::Egress => record.monitored_output && record.output.0 == ltl,
    }
}

/// `Vethernet3` by LTL, for log lines.
fn port_names(inner: &Inner) -> BTreeMap<u32, String> {
    inner.table.iter().map(|record| (record.ltl, format!("Vethernet{}", record.veth))).collect()
}
