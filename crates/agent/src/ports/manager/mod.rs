//! The port manager: the I/O shell that carries a port through its life on this host.
//!
//! Attach: veth pair ([`create_port`](crate::attach::create_port)) → `BindPort` (VethN and policy) → the dataplane opens the
//! host end with the port's policy already in force → `ports.json` → `ReportPorts` → reply.
//! Any failure undoes what was done, in reverse. Detach reverses attach. A policy change
//! re-programs every port at once; a restart restores the ports whose links survived.
//!
//! One lock (`inner`) orders every change to the table and the dataplane's configuration, so
//! the datapath always runs exactly the table under one policy snapshot. Reports take a second
//! lock first (`reporting`), then `inner` briefly, and send outside it: reports leave in order
//! and a slow supervisor never holds up a policy change.

mod addresses;
mod adopt;
mod attach;
mod handover;
mod policy;
mod queries;
mod restore;
mod uplinks;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use datapath::PortId;
use tokio::sync::{Mutex, watch};

use super::PortError;
use super::policy_view;
use super::rpc::PortRpc;
use super::status::{self, Counted};
use super::table::PortTable;
use crate::attach::DockerEngine;
use crate::dataplane::Dataplane;
use crate::flow_export::FlowExport;
use crate::snapshot::PolicySnapshot;
use crate::status::{AgentStatus, ConnectionState};
use crate::uplinks::{UplinkSet, UplinkSpec};

pub use addresses::{AddressHolder, Allocation, PoolLookup, PoolQuery, PoolRef, PoolShape};
pub use handover::HandoverPort;

/// How long a new port or address waits for a (re)connecting supervisor link.
const CONNECTING_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Reports one turn may send back to back while their replies keep changing ports.
const MAX_REPORTS_PER_TURN: usize = 3;

/// Everything a port manager is made from.
#[derive(Debug)]
pub struct PortManagerParts {
    /// The dataplane that switches the ports.
    pub dataplane: Dataplane,
    /// The agent's policy snapshots.
    pub policies: watch::Receiver<Arc<PolicySnapshot>>,
    /// The supervisor link's status (connected? which module?).
    pub status: watch::Receiver<AgentStatus>,
    /// The supervisors' URLs (for messages).
    pub supervisor: String,
    /// The supervisors, and the one the link is registered with (where port calls go).
    pub supervisors: Arc<crate::trust::Supervisors>,
    /// This host's id.
    pub host_id: String,
    /// `D/ports.json`.
    pub ports_file: PathBuf,
    /// Where `--container` targets are looked up.
    pub docker: DockerEngine,
    /// The uplinks (`--uplink`), validated; opened by [`PortManager::open_uplinks`].
    pub uplinks: Vec<UplinkSpec>,
    /// The MTU container interfaces get when attach does not ask for one: set with a VTEP, so
    /// that frames cross the VXLAN tunnel whole (the underlay's MTU - 50).
    pub tunnel_mtu: Option<u32>,
}

/// The table and the policy snapshot the dataplane runs it under.
#[derive(Debug)]
struct Inner {
    table: PortTable,
    applied: Arc<PolicySnapshot>,
    uplinks: UplinkSet,
}

/// The ports of this host. Shared (`Arc`) by the local API and the agent's background tasks.
#[derive(Debug)]
pub struct PortManager {
    inner: Mutex<Inner>,
    reporting: Mutex<()>,
    dataplane: Dataplane,
    rpc: PortRpc,
    policies: watch::Receiver<Arc<PolicySnapshot>>,
    status: watch::Receiver<AgentStatus>,
    supervisor: String,
    host_id: String,
    ports_file: PathBuf,
    docker: DockerEngine,
    tunnel_mtu: Option<u32>,
    /// Bumped whenever the ports or the policies in force change (see [`PortManager::changes`]).
    changes: watch::Sender<u64>,
    /// The flow exporters the policies in force name (sending blocks: used off the runtime).
    flow_export: Arc<std::sync::Mutex<FlowExport>>,
    /// What else holds pool addresses on this host (the Docker plugin).
    address_holders: std::sync::Mutex<addresses::AddressHolders>,
}

impl PortManager {
    /// A manager with no port; [`PortManager::restore`] brings back the persisted ones.
    pub fn new(parts: PortManagerParts) -> Self {
        let applied = Arc::clone(&parts.policies.borrow());
        Self {
            inner: Mutex::new(Inner {
                table: PortTable::default(),
                applied,
                uplinks: UplinkSet::new(&parts.uplinks),
            }),
            reporting: Mutex::new(()),
            dataplane: parts.dataplane,
            rpc: PortRpc::new(parts.supervisors),
            policies: parts.policies,
            status: parts.status,
            supervisor: parts.supervisor,
            host_id: parts.host_id,
            ports_file: parts.ports_file,
            docker: parts.docker,
            tunnel_mtu: parts.tunnel_mtu,
            changes: watch::Sender::new(0),
            flow_export: Arc::new(std::sync::Mutex::new(FlowExport::new(Vec::new()))),
            address_holders: std::sync::Mutex::default(),
        }
    }

    /// Wakes whenever a port came or went or the dataplane was re-programmed (a policy change,
    /// a restore, a re-bind): when what the ports' OVSDB rows say may be stale.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Tells [`PortManager::changes`] subscribers.
    fn touched(&self) {
        self.changes.send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    /// Puts the newest policy snapshot in force for every port; true when a port's state
    /// (up/down, reason, mode, VLAN) changed, which calls for a report.
    pub async fn apply_policies(&self) -> bool {
        let mut inner = self.inner.lock().await;
        self.apply_latest(&mut inner).await
    }

    /// Sends the complete port report, if the supervisor is connected.
    pub async fn report(&self) -> Result<(), PortError> {
        let _turn = self.reporting.lock().await;
        let Ok(module) = self.connected_module() else { return Ok(()) };
        // A reply may ask for ports back (`no shutdown`); the report after it tells the
        // supervisor at once (and carries any request that came meanwhile).
        for _ in 0..MAX_REPORTS_PER_TURN {
            let commands = self.rpc.report(self.report_body(module).await).await?;
            if !self.run_port_commands(commands).await {
                break;
            }
        }
        Ok(())
    }

    /// This host's complete report: ports with their state and counters (error-disabled ports
    /// down), MAC table, uplinks, and what the policy did.
    async fn report_body(&self, module: u32) -> proto::PortReport {
        let inner = self.inner.lock().await;
        let mut states = inner.table.states(&inner.applied);
        let stats = self.stats(&inner.table).await;
        let policy_state = self.dataplane.policy_state().await.unwrap_or_default();
        for port in &policy_state.err_disabled {
            if let Some(record) = inner.table.by_ltl(port.0)
                && let Some(state) = states.get_mut(&record.iface_id)
            {
                state.up = false;
                state.reason = policy_view::ERROR_DISABLED_REASON;
            }
        }
        let exporters = self.flow_export.lock().unwrap_or_else(std::sync::PoisonError::into_inner).stats();
        let violations = |port: PortId| {
            stats
                .get(&port.0)
                .map_or(0, |counted| counted.stats.drops.get(datapath::DropReason::PortSecurity))
        };
        let policy = policy_view::policy_report(
            &policy_state,
            &inner.table,
            violations,
            &exporters,
            self.dataplane.clock(),
        );
        let macs = self.dataplane.mac_table().await.unwrap_or_default();
        let bridge_domains = inner
            .applied
            .policies
            .values()
            .filter_map(|entry| entry.policy.bridge_domain.as_ref())
            .map(|domain| (domain.segment_id, domain.name.clone()))
            .collect();
        let mut report =
            status::report(module, &self.host_id, &inner.table, &states, &stats, &macs, &bridge_domains);
        report.policy = Some(policy);
        report.held_addresses = self.held_addresses(&inner.table);
        report.reports_addresses = true;
        self.report_uplinks(&inner, &mut report).await;
        report
    }

    /// [`PortManager::report`], logging a failure: the next report (at most 5 s away) retries.
    pub async fn report_logged(&self) {
        if let Err(error) = self.report().await {
            tracing::warn!("{error}");
        }
    }

    /// The module, when the supervisor is connected.
    fn connected_module(&self) -> Result<u32, PortError> {
        let status = self.status.borrow();
        match (status.state, status.module) {
            (ConnectionState::Connected, Some(module)) => Ok(module),
            _ => Err(PortError::Headless { supervisor: self.supervisor.clone() }),
        }
    }

    /// The module for a new port or address: as [`Self::connected_module`], but a request that
    /// comes while the agent is (re)connecting (registered, its policy stream syncing) waits up
    /// to [`CONNECTING_WAIT`] for it rather than failing at once.
    async fn module_for_change(&self) -> Result<u32, PortError> {
        if let Ok(module) = self.connected_module() {
            return Ok(module);
        }
        let mut status = self.status.clone();
        let connected = |s: &AgentStatus| s.state == ConnectionState::Connected && s.module.is_some();
        // A closed channel (the agent stopping) or the deadline: headless.
        let _ = tokio::time::timeout(CONNECTING_WAIT, status.wait_for(connected)).await;
        self.connected_module()
    }

    /// Releases `iface_id`'s binding now, or queues the release; says which.
    async fn release(&self, table: &mut PortTable, iface_id: &str) -> &'static str {
        let outcome = match self.connected_module() {
            Ok(module) => self.rpc.unbind(module, &self.host_id, iface_id).await,
            Err(error) => Err(error),
        };
        match outcome {
            Ok(true) => "kept",
            Ok(false) => "released",
            Err(error) => {
                tracing::warn!(
                    "{error}; the binding of iface-id {iface_id} is released once the supervisor answers"
                );
                table.queue_unbind(iface_id);
                "pending"
            }
        }
    }

    /// Moves the dataplane to the newest snapshot; true when a port's state changed.
    async fn apply_latest(&self, inner: &mut Inner) -> bool {
        let latest = Arc::clone(&self.policies.borrow());
        if Arc::ptr_eq(&latest, &inner.applied) {
            return false;
        }
        let before = inner.table.states(&inner.applied);
        inner.applied = latest;
        if inner.table.forget_caught_up_policies(&inner.applied)
            && let Err(error) = self.save(&inner.table).await
        {
            tracing::error!("{error}");
        }
        self.program(inner).await;
        inner.table.states(&inner.applied) != before
    }

    /// Puts the table under the applied snapshot in force in the dataplane.
    async fn program(&self, inner: &Inner) {
        self.touched();
        match inner.table.datapath_snapshot(&inner.applied) {
            Ok(snapshot) => self.install(inner, &snapshot).await,
            // Ports come from the table, which holds one per LTL: this cannot happen.
            Err(error) => tracing::error!("the ports make no valid datapath configuration: {error}"),
        }
    }

    /// Every port's counters, by LTL.
    async fn stats(&self, table: &PortTable) -> BTreeMap<u32, Counted> {
        self.stats_of(table.iter().map(|record| record.ltl)).await
    }

    /// The counters of the ports on `ltls`, by LTL.
    async fn stats_of(&self, ltls: impl Iterator<Item = u32>) -> BTreeMap<u32, Counted> {
        let devices = self.dataplane.devices().await.unwrap_or_default();
        let mut counted = BTreeMap::new();
        for ltl in ltls {
            let port = PortId(ltl);
            if let Ok(Some(stats)) = self.dataplane.port_stats(port).await {
                let device = devices.iter().find(|device| device.port == port).map(|device| device.counters);
                counted.insert(ltl, Counted { stats, device: device.unwrap_or_default() });
            }
        }
        counted
    }

    async fn save(&self, table: &PortTable) -> Result<(), PortError> {
        let file = table.to_file();
        let path = self.ports_file.clone();
        match tokio::task::spawn_blocking(move || file.save(&path)).await {
            Ok(result) => result.map_err(|error| PortError::Persist(error.to_string())),
            Err(error) => Err(PortError::Persist(format!("the writer panicked: {error}"))),
        }
    }
}
