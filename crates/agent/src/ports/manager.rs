//! The port manager: the I/O shell that carries a port through its life on this host.
//!
//! Attach: veth pair ([`create_port`]) → `BindPort` (VethN and policy) → the dataplane opens the
//! host end with the port's policy already in force → `ports.json` → `ReportPorts` → reply.
//! Any failure undoes what was done, in reverse. Detach reverses attach. A policy change
//! re-programs every port at once; a restart restores the ports whose links survived.
//!
//! One lock (`inner`) orders every change to the table and the dataplane's configuration, so
//! the datapath always runs exactly the table under one policy snapshot. Reports take a second
//! lock first (`reporting`), then `inner` briefly, and send outside it: reports leave in order
//! and a slow supervisor never holds up a policy change.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datapath::PortId;
use tokio::sync::{Mutex, watch};

use super::PortError;
use super::record::{PortRecord, PortsFile};
use super::rpc::PortRpc;
use super::spec::{AttachSpec, DetachSpec, TargetSpec, parse_vethernet};
use super::status::{self, Counted, PortState};
use super::table::PortTable;
use super::view::{self, AttachedView, DetachedView, MacView, PortsView, TraceView};
use crate::MAX_VIRTUAL_PORTS;
use crate::attach::{
    CreatedPort, DockerEngine, NETNS_RUN_DIR, create_port_with, delete_port, list_switchyard_links,
};
use crate::dataplane::{Dataplane, DataplaneError};
use crate::snapshot::PolicySnapshot;
use crate::status::{AgentStatus, ConnectionState};

/// Everything a port manager is made from.
#[derive(Debug)]
pub struct PortManagerParts {
    /// The dataplane that switches the ports.
    pub dataplane: Dataplane,
    /// The agent's policy snapshots.
    pub policies: watch::Receiver<Arc<PolicySnapshot>>,
    /// The supervisor link's status (connected? which module?).
    pub status: watch::Receiver<AgentStatus>,
    /// The supervisor's URL (for messages) and its gRPC endpoint.
    pub supervisor: String,
    pub endpoint: tonic::transport::Endpoint,
    /// This host's id.
    pub host_id: String,
    /// `D/ports.json`.
    pub ports_file: PathBuf,
    /// Where `--container` targets are looked up.
    pub docker: DockerEngine,
}

/// The table and the policy snapshot the dataplane runs it under.
#[derive(Debug)]
struct Inner {
    table: PortTable,
    applied: Arc<PolicySnapshot>,
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
}

impl PortManager {
    /// A manager with no port; [`PortManager::restore`] brings back the persisted ones.
    pub fn new(parts: PortManagerParts) -> Self {
        let applied = Arc::clone(&parts.policies.borrow());
        Self {
            inner: Mutex::new(Inner { table: PortTable::default(), applied }),
            reporting: Mutex::new(()),
            dataplane: parts.dataplane,
            rpc: PortRpc::new(&parts.endpoint),
            policies: parts.policies,
            status: parts.status,
            supervisor: parts.supervisor,
            host_id: parts.host_id,
            ports_file: parts.ports_file,
            docker: parts.docker,
        }
    }

    /// Attaches a container interface and returns its vEthernet once the port's policy is in
    /// force in the dataplane. Fails, leaving nothing behind, when the supervisor cannot bind the
    /// port or any step fails.
    pub async fn attach(&self, spec: &AttachSpec) -> Result<AttachedView, PortError> {
        let iface_id = spec.iface_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let request = spec.to_request(&iface_id)?;
        let module = self.connected_module()?;
        let attached = {
            let mut inner = self.inner.lock().await;
            if let Some(existing) = inner.table.by_iface_id(&iface_id) {
                return Err(PortError::AlreadyAttached { iface_id, veth: existing.veth });
            }
            let ltl = inner.table.free_ltl().ok_or(PortError::Full { max: MAX_VIRTUAL_PORTS })?;
            // The new port joins a dataplane that runs the newest policies.
            self.apply_latest(&mut inner).await;
            let created = create_port_with(&request, &self.docker).await?;
            let record = self.new_record(&inner.table, spec, &created, ltl);
            match self.bind_and_program(&mut inner, record, module).await {
                Ok(attached) => attached,
                Err(error) => {
                    if let Err(undo) = delete_port(&created.host_ifname).await {
                        tracing::error!("rolling back: cannot delete {}: {undo}", created.host_ifname);
                    }
                    return Err(error);
                }
            }
        };
        tracing::info!(
            "attached Vethernet{} ({}, iface-id {}) on LTL {}",
            attached.veth,
            attached.host_ifname,
            attached.iface_id,
            attached.ltl
        );
        self.report_logged().await;
        Ok(attached)
    }

    /// Detaches a port: out of the dataplane, link deleted, binding released (or queued until
    /// the supervisor answers).
    pub async fn detach(&self, spec: &DetachSpec) -> Result<DetachedView, PortError> {
        let netns_inode = match spec {
            DetachSpec::Interface { target, .. } => self.netns_inode(target).await,
            _ => None,
        };
        let detached = {
            let mut inner = self.inner.lock().await;
            let record = find(&inner.table, spec, netns_inode)
                .cloned()
                .ok_or_else(|| PortError::NotAttached(spec.to_string()))?;
            match self.dataplane.remove_port(PortId(record.ltl)).await {
                Ok(()) | Err(DataplaneError::NoSuchPort(_)) => {}
                Err(error) => return Err(error.into()),
            }
            if let Err(error) = delete_port(&record.host_ifname).await {
                // Nothing changed after all: the port goes back into the dataplane.
                self.reopen(&inner, &record).await;
                return Err(error.into());
            }
            inner.table.remove(record.ltl);
            let binding = self.release(&mut inner.table, &record.iface_id).await;
            if let Err(error) = self.save(&inner.table).await {
                tracing::error!("{error}; a restart will find the link gone and forget the port anyway");
            }
            DetachedView { veth: record.veth, iface_id: record.iface_id, binding: binding.to_owned() }
        };
        tracing::info!("detached Vethernet{} (iface-id {})", detached.veth, detached.iface_id);
        self.report_logged().await;
        Ok(detached)
    }

    /// Brings back the ports of `ports.json` whose host ends still exist, re-opened in the
    /// dataplane with the persisted policies (no supervisor needed). Entries whose link is gone
    /// (the container went away meanwhile) are dropped and their bindings queued for release.
    pub async fn restore(&self) {
        let file = match PortsFile::load(&self.ports_file) {
            Ok(file) => file,
            Err(error) => {
                tracing::error!("{error}; starting with no ports");
                return;
            }
        };
        if file == PortsFile::default() {
            return;
        }
        let mut table = PortTable::from_file(file);
        let links = match list_switchyard_links().await {
            Ok(links) => Some(links),
            Err(error) => {
                tracing::error!("cannot list host interfaces: {error}; trying every persisted port");
                None
            }
        };
        let mut inner = self.inner.lock().await;
        inner.applied = Arc::clone(&self.policies.borrow());
        let records: Vec<PortRecord> = table.iter().cloned().collect();
        for record in records {
            let alive = links.as_ref().is_none_or(|links| {
                links
                    .iter()
                    .any(|link| link.host_ifname == record.host_ifname && link.iface_id == record.iface_id)
            });
            let opened = if alive {
                let config = table.port_config(record.ltl, &inner.applied);
                match config {
                    Some(config) => self.dataplane.add_port(&record.host_ifname, config).await.map_err(Some),
                    None => Err(None),
                }
            } else {
                Err(None)
            };
            match opened {
                Ok(()) => tracing::info!("restored Vethernet{} on {}", record.veth, record.host_ifname),
                Err(error) => {
                    let why = error.map_or_else(|| "its link is gone".to_owned(), |error| error.to_string());
                    tracing::warn!("forgetting Vethernet{} ({}): {why}", record.veth, record.host_ifname);
                    table.remove(record.ltl);
                    table.queue_unbind(&record.iface_id);
                }
            }
        }
        inner.table = table;
        self.program(&inner).await;
        if let Err(error) = self.save(&inner.table).await {
            tracing::error!("{error}");
        }
    }

    /// Puts the newest policy snapshot in force for every port; true when a port's state
    /// (up/down, reason, mode, VLAN) changed, which calls for a report.
    pub async fn apply_policies(&self) -> bool {
        let mut inner = self.inner.lock().await;
        self.apply_latest(&mut inner).await
    }

    /// Forgets the ports whose host end is gone (the container's namespace went away without a
    /// detach): out of the dataplane, binding released (or queued). True when any was.
    pub async fn forget_vanished(&self) -> bool {
        let links = match list_switchyard_links().await {
            Ok(links) => links,
            Err(error) => {
                tracing::debug!("cannot list host interfaces: {error}");
                return false;
            }
        };
        let mut inner = self.inner.lock().await;
        let vanished: Vec<PortRecord> = inner
            .table
            .iter()
            .filter(|record| {
                !links
                    .iter()
                    .any(|link| link.host_ifname == record.host_ifname && link.iface_id == record.iface_id)
            })
            .cloned()
            .collect();
        for record in &vanished {
            tracing::info!(
                "Vethernet{} ({}) is gone from the host: forgetting it",
                record.veth,
                record.host_ifname
            );
            if let Err(error) = self.dataplane.remove_port(PortId(record.ltl)).await {
                tracing::debug!("{error}");
            }
            inner.table.remove(record.ltl);
            self.release(&mut inner.table, &record.iface_id).await;
        }
        if !vanished.is_empty()
            && let Err(error) = self.save(&inner.table).await
        {
            tracing::error!("{error}");
        }
        !vanished.is_empty()
    }

    /// Binds every port again (same VethN: the supervisor recognises them) and releases the
    /// bindings of ports that left while it was unreachable. Run on every (re)connection.
    pub async fn rebind(&self) {
        let Ok(module) = self.connected_module() else { return };
        let mut inner = self.inner.lock().await;
        let mut changed = false;
        let records: Vec<PortRecord> = inner.table.iter().cloned().collect();
        for record in records {
            match self.rpc.bind(record.bind_request(module, &self.host_id)).await {
                Ok(binding) => {
                    if binding.veth != record.veth {
                        tracing::warn!(
                            "the supervisor now calls Vethernet{} (iface-id {}) Vethernet{}",
                            record.veth,
                            record.iface_id,
                            binding.veth
                        );
                    }
                    if let Some(port) = inner.table.get_mut(record.ltl)
                        && (port.veth != binding.veth || port.bound_policy != binding.policy)
                    {
                        port.veth = binding.veth;
                        port.bound_policy = binding.policy;
                        changed = true;
                    }
                }
                Err(error) => tracing::warn!("cannot re-bind Vethernet{}: {error}", record.veth),
            }
        }
        for iface_id in inner.table.pending_unbinds() {
            match self.rpc.unbind(module, &self.host_id, &iface_id).await {
                Ok(_) => {
                    inner.table.unbound(&iface_id);
                    changed = true;
                }
                Err(error) => tracing::warn!("cannot release the binding of iface-id {iface_id}: {error}"),
            }
        }
        let applied = Arc::clone(&inner.applied);
        changed |= inner.table.forget_caught_up_policies(&applied);
        if changed {
            self.program(&inner).await;
            if let Err(error) = self.save(&inner.table).await {
                tracing::error!("{error}");
            }
        }
    }

    /// Sends the complete port report, if the supervisor is connected.
    pub async fn report(&self) -> Result<(), PortError> {
        let _turn = self.reporting.lock().await;
        let Ok(module) = self.connected_module() else { return Ok(()) };
        let report = {
            let inner = self.inner.lock().await;
            let states = inner.table.states(&inner.applied);
            let stats = self.stats(&inner.table).await;
            let macs = self.dataplane.mac_table().await.unwrap_or_default();
            status::report(module, &self.host_id, &inner.table, &states, &stats, &macs)
        };
        self.rpc.report(report).await
    }

    /// [`PortManager::report`], logging a failure: the next report (at most 5 s away) retries.
    pub async fn report_logged(&self) {
        if let Err(error) = self.report().await {
            tracing::warn!("{error}");
        }
    }

    /// Every port, for `vemcmd show port|stats|drops`.
    pub async fn ports_view(&self) -> PortsView {
        let carrier: BTreeMap<String, bool> = list_switchyard_links()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|link| (link.host_ifname, link.admin_up && link.carrier))
            .collect();
        let inner = self.inner.lock().await;
        let effective = inner.table.effective_policies(&inner.applied);
        let stats = self.stats(&inner.table).await;
        let ports = inner
            .table
            .iter()
            .filter_map(|record| {
                let config = inner.table.port_config(record.ltl, &inner.applied)?;
                let state = PortState::of(effective.get(&record.profile));
                let link_up = carrier.get(&record.host_ifname).copied().unwrap_or(false);
                Some(view::port_view(record, &config, state, stats.get(&record.ltl), link_up))
            })
            .collect();
        let total_drops =
            self.dataplane.drops().await.map(|drops| view::drop_counts(&drops)).unwrap_or_default();
        PortsView { ports, total_drops }
    }

    /// The MAC table of `vlan` (every VLAN when `None`), for `vemcmd show l2`.
    pub async fn mac_table(&self, vlan: Option<u16>) -> Result<Vec<MacView>, PortError> {
        let rows = self.dataplane.mac_table().await?;
        let inner = self.inner.lock().await;
        let name = |ltl| inner.table.by_ltl(ltl).map(PortRecord::short_name).unwrap_or_default();
        Ok(view::mac_views(&rows, vlan, name))
    }

    /// Runs `frame` through the datapath as if received on `port` (`Veth3`, `Vethernet3`, or
    /// an LTL number) and returns each decision.
    pub async fn trace(&self, port: &str, frame: Vec<u8>) -> Result<TraceView, PortError> {
        let (ltl, label) = {
            let inner = self.inner.lock().await;
            resolve_port(&inner.table, port)?
        };
        let lines = self.dataplane.trace(PortId(ltl), frame).await?;
        Ok(TraceView { port: label, lines })
    }

    /// The module, when the supervisor is connected.
    fn connected_module(&self) -> Result<u32, PortError> {
        let status = self.status.borrow();
        match (status.state, status.module) {
            (ConnectionState::Connected, Some(module)) => Ok(module),
            _ => Err(PortError::Headless { supervisor: self.supervisor.clone() }),
        }
    }

    /// The record of a port just created on `ltl`, before its binding.
    fn new_record(
        &self,
        table: &PortTable,
        spec: &AttachSpec,
        created: &CreatedPort,
        ltl: u32,
    ) -> PortRecord {
        // Interfaces of one namespace belong to one owner (the seed's vm-uuid).
        let owner_uuid = table
            .iter()
            .find(|record| record.netns_inode == created.netns_inode)
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), |record| record.owner_uuid.clone());
        PortRecord {
            iface_id: created.iface_id.clone(),
            veth: 0,
            ltl,
            profile: spec.profile.clone(),
            host_ifname: created.host_ifname.clone(),
            mac: created.mac,
            container_ifname: created.container_ifname.clone(),
            owner_name: spec.owner_name(),
            owner_uuid,
            target: spec.target.clone(),
            netns_inode: created.netns_inode,
            bound_policy: None,
        }
    }

    /// Binds the new port, then programs and persists it; on failure releases the binding
    /// again (a failed attach leaves no binding it made).
    async fn bind_and_program(
        &self,
        inner: &mut Inner,
        mut record: PortRecord,
        module: u32,
    ) -> Result<AttachedView, PortError> {
        let binding = match self.rpc.bind(record.bind_request(module, &self.host_id)).await {
            Ok(binding) => binding,
            Err(error) => {
                if matches!(
                    error,
                    PortError::Supervisor { uncertain: true, .. } | PortError::BadPolicy { .. }
                ) {
                    self.unbind_quietly(module, &record.iface_id).await;
                }
                return Err(error);
            }
        };
        record.veth = binding.veth;
        record.bound_policy = binding.policy;
        let iface_id = record.iface_id.clone();
        let programmed = self.program_new_port(inner, record).await;
        if programmed.is_err() {
            self.unbind_quietly(module, &iface_id).await;
        }
        programmed
    }

    /// Adds a bound port to the table, the dataplane and `ports.json`, or to none of them.
    async fn program_new_port(
        &self,
        inner: &mut Inner,
        record: PortRecord,
    ) -> Result<AttachedView, PortError> {
        let ltl = record.ltl;
        inner.table.insert(record.clone());
        let applied = Arc::clone(&inner.applied);
        inner.table.forget_caught_up_policies(&applied);
        let config = inner.table.port_config(ltl, &inner.applied);
        let state = PortState::of(inner.table.effective_policies(&inner.applied).get(&record.profile));
        let added = match config {
            Some(config) => {
                self.dataplane.add_port(&record.host_ifname, config).await.map_err(PortError::from)
            }
            None => Err(PortError::Invalid(format!("LTL {ltl} vanished from the table"))),
        };
        if let Err(error) = added {
            inner.table.remove(ltl);
            return Err(error);
        }
        if let Err(error) = self.save(&inner.table).await {
            inner.table.remove(ltl);
            if let Err(undo) = self.dataplane.remove_port(PortId(ltl)).await {
                tracing::error!("rolling back: {undo}");
            }
            return Err(error);
        }
        Ok(AttachedView {
            veth: record.veth,
            iface_id: record.iface_id,
            host_ifname: record.host_ifname,
            ltl,
            up: state.up,
            reason: state.reason.to_owned(),
        })
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

    async fn unbind_quietly(&self, module: u32, iface_id: &str) {
        if let Err(error) = self.rpc.unbind(module, &self.host_id, iface_id).await {
            tracing::warn!("rolling back: cannot release the binding of iface-id {iface_id}: {error}");
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
        match inner.table.datapath_snapshot(&inner.applied) {
            Ok(snapshot) => {
                if let Err(error) = self.dataplane.set_snapshot(Arc::new(snapshot)).await {
                    tracing::error!("cannot program the dataplane: {error}");
                }
            }
            // Ports come from the table, which holds one per LTL: this cannot happen.
            Err(error) => tracing::error!("the ports make no valid datapath configuration: {error}"),
        }
    }

    /// Opens `record`'s port in the dataplane again after a failed detach.
    async fn reopen(&self, inner: &Inner, record: &PortRecord) {
        if let Some(config) = inner.table.port_config(record.ltl, &inner.applied)
            && let Err(error) = self.dataplane.add_port(&record.host_ifname, config).await
        {
            tracing::error!("cannot re-open Vethernet{} after a failed detach: {error}", record.veth);
        }
    }

    /// Every port's counters, by LTL.
    async fn stats(&self, table: &PortTable) -> BTreeMap<u32, Counted> {
        let devices = self.dataplane.devices().await.unwrap_or_default();
        let mut counted = BTreeMap::new();
        for record in table.iter() {
            let port = PortId(record.ltl);
            if let Ok(Some(stats)) = self.dataplane.port_stats(port).await {
                let device = devices.iter().find(|device| device.port == port).map(|device| device.counters);
                counted.insert(record.ltl, Counted { stats, device: device.unwrap_or_default() });
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

    /// The inode of `target`'s network namespace, when it can be found.
    async fn netns_inode(&self, target: &TargetSpec) -> Option<u64> {
        let path = match target {
            TargetSpec::Pid(pid) => PathBuf::from(format!("/proc/{pid}/ns/net")),
            TargetSpec::Netns(name) => Path::new(NETNS_RUN_DIR).join(name),
            TargetSpec::Container(name) => {
                let pid = self.docker.container_pid(name).await.ok()?;
                PathBuf::from(format!("/proc/{pid}/ns/net"))
            }
        };
        std::fs::metadata(path).ok().map(|meta| meta.ino())
    }
}

/// The port a detach names.
fn find<'t>(table: &'t PortTable, spec: &DetachSpec, netns_inode: Option<u64>) -> Option<&'t PortRecord> {
    match spec {
        DetachSpec::IfaceId(iface_id) => table.by_iface_id(iface_id),
        DetachSpec::Vethernet(veth) => table.by_veth(*veth),
        DetachSpec::Interface { target, ifname } => table.by_interface(target, netns_inode, ifname),
    }
}

/// A trace's ingress port: `Veth3`/`Vethernet3` by vEthernet, a bare number by LTL; with its
/// label (`Veth3 (LTL 51)`).
fn resolve_port(table: &PortTable, text: &str) -> Result<(u32, String), PortError> {
    let by_number = text.trim().parse::<u32>();
    let record = match by_number {
        Ok(ltl) => table.by_ltl(ltl),
        Err(_) => table.by_veth(parse_vethernet(text).map_err(PortError::Invalid)?),
    };
    match (record, by_number) {
        (Some(record), _) => Ok((record.ltl, format!("{} (LTL {})", record.short_name(), record.ltl))),
        // An LTL with no vEthernet: the datapath says what it makes of it.
        (None, Ok(ltl)) => Ok((ltl, format!("LTL {ltl}"))),
        (None, Err(_)) => Err(PortError::NotAttached(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::record::testing::record;

    #[test]
    fn traces_name_ports_by_vethernet_or_ltl() {
        let mut table = PortTable::default();
        table.insert(record(3, 51, "web"));
        let veth3 = (51, "Veth3 (LTL 51)".to_owned());
        assert_eq!(resolve_port(&table, "Veth3").expect("veth"), veth3);
        assert_eq!(resolve_port(&table, "vethernet3").expect("veth"), veth3);
        assert_eq!(resolve_port(&table, "51").expect("ltl"), veth3);
        assert_eq!(resolve_port(&table, "17").expect("uplink ltl"), (17, "LTL 17".to_owned()));
        assert!(matches!(resolve_port(&table, "Veth4"), Err(PortError::NotAttached(_))));
        assert!(matches!(resolve_port(&table, "Eth3/1"), Err(PortError::Invalid(_))));
    }

    #[test]
    fn detach_finds_ports_by_every_name() {
        let mut table = PortTable::default();
        table.insert(record(3, 51, "web"));
        let ns = TargetSpec::Netns("ns3".into());
        for spec in [
            DetachSpec::IfaceId("port-3".into()),
            DetachSpec::Vethernet(3),
            DetachSpec::Interface { target: ns.clone(), ifname: "eth0".into() },
        ] {
            assert_eq!(find(&table, &spec, None).map(|record| record.veth), Some(3), "{spec}");
        }
        assert_eq!(find(&table, &DetachSpec::Interface { target: ns, ifname: "eth1".into() }, None), None);
    }
}
