//! Adoption: ports made of interfaces someone else created and named in OVSDB rows. The
//! interface is switched as it is and never deleted; the rest of a port's life (binding,
//! dataplane, `ports.json`, reports) is an attached port's.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datapath::PortId;

use super::{Inner, PortManager};
use crate::MAX_VIRTUAL_PORTS;
use crate::attach::{KernelLink, bring_up, list_host_links};
use crate::dataplane::DataplaneError;
use crate::ovsdb::DesiredPort;
use crate::ports::PortError;
use crate::ports::adoption::{self, adopted_record};
use crate::ports::record::PortRecord;
use crate::ports::status::PortState;
use crate::ports::view::AttachedView;

impl PortManager {
    /// Makes the ports adopted from OVSDB exactly the rows `desired` of `bridge`: releases the
    /// ports whose row is gone (leaving their interface on the host), follows changed rows, and
    /// adopts new rows — except those named in `skip` (rows that failed in a way only a change
    /// can cure). Returns the rows that are not (fully) ports, with why, by interface name.
    pub async fn sync_ovsdb(
        &self,
        bridge: &str,
        desired: &[DesiredPort],
        skip: &BTreeSet<String>,
    ) -> BTreeMap<String, PortError> {
        let links = match list_host_links().await {
            Ok(links) => Some(links),
            Err(error) => {
                tracing::warn!("cannot list host interfaces: {error}; trying every OVSDB row");
                None
            }
        };
        let mut failures = BTreeMap::new();
        let changed = {
            let mut inner = self.inner.lock().await;
            let plan = adoption::plan(&inner.table, bridge, desired);
            let changed = !plan.release.is_empty() || !plan.update.is_empty();
            for ltl in plan.release {
                self.release_adopted(&mut inner, ltl).await;
            }
            for (ltl, port) in plan.update {
                if let Err(error) = self.update_adopted(&mut inner, bridge, ltl, &port).await {
                    failures.insert(port.ifname, error);
                }
            }
            let mut adopting = plan.adopt.into_iter().filter(|port| !skip.contains(&port.ifname)).peekable();
            if adopting.peek().is_some() {
                // New ports join a dataplane that runs the newest policies.
                self.apply_latest(&mut inner).await;
            }
            let mut adopted = false;
            for port in adopting {
                match self.adopt(&mut inner, bridge, &port, links.as_deref()).await {
                    Ok(_) => adopted = true,
                    Err(error) => {
                        failures.insert(port.ifname, error);
                    }
                }
            }
            failures.extend(plan.refuse);
            if changed && let Err(error) = self.save(&inner.table).await {
                tracing::error!("{error}");
            }
            changed || adopted
        };
        if changed {
            self.report_logged().await;
        }
        failures
    }

    /// The ports adopted from OVSDB, with their state under the policies in force.
    pub async fn adopted_ports(&self) -> Vec<(PortRecord, PortState)> {
        let inner = self.inner.lock().await;
        let effective = inner.table.effective_policies(&inner.applied);
        inner
            .table
            .iter()
            .filter(|record| record.origin.ovsdb_bridge().is_some())
            .map(|record| (record.clone(), PortState::of(effective.get(&record.profile))))
            .collect()
    }

    /// Adopts `port`'s interface: brought up, bound, opened in the dataplane, persisted.
    async fn adopt(
        &self,
        inner: &mut Inner,
        bridge: &str,
        port: &DesiredPort,
        links: Option<&[KernelLink]>,
    ) -> Result<AttachedView, PortError> {
        if links.is_some_and(|links| !links.iter().any(|link| link.name == port.ifname)) {
            return Err(PortError::NoSuchInterface { ifname: port.ifname.clone() });
        }
        let module = self.connected_module()?;
        let ltl = inner.table.free_ltl().ok_or(PortError::Full { max: MAX_VIRTUAL_PORTS })?;
        // A switch enables its ports, as ovs-vswitchd does; the peer is its owner's business.
        bring_up(&port.ifname).await?;
        let attached = self.bind_and_program(inner, adopted_record(port, bridge, ltl), module).await?;
        tracing::info!(
            "attached Vethernet{} ({} of {}, iface-id {}) from OVSDB bridge {bridge} on LTL {}",
            attached.veth,
            port.ifname,
            port.vm_name,
            port.iface_id,
            attached.ltl
        );
        Ok(attached)
    }

    /// Takes the adopted port on `ltl` out of the dataplane and releases its binding (or
    /// queues the release); its interface stays, it belongs to whoever made it.
    async fn release_adopted(&self, inner: &mut Inner, ltl: u32) {
        let Some(record) = inner.table.remove(ltl) else { return };
        match self.dataplane.remove_port(PortId(ltl)).await {
            Ok(()) | Err(DataplaneError::NoSuchPort(_)) => {}
            Err(error) => tracing::error!("cannot close {}: {error}", record.host_ifname),
        }
        let binding = self.release(&mut inner.table, &record.iface_id).await;
        self.touched();
        tracing::info!(
            "detached Vethernet{} (iface-id {}): its OVSDB row is gone; {} stays on the host \
             (binding {binding})",
            record.veth,
            record.iface_id,
            record.host_ifname
        );
    }

    /// Makes the adopted port on `ltl` what its changed row asks (another profile, MAC or
    /// owner), keeping its LTL and vEthernet. Headless, the change is made here and the
    /// supervisor hears of it with the re-bind when it returns.
    async fn update_adopted(
        &self,
        inner: &mut Inner,
        bridge: &str,
        ltl: u32,
        port: &DesiredPort,
    ) -> Result<(), PortError> {
        let Some(old) = inner.table.by_ltl(ltl).cloned() else { return Ok(()) };
        let mut record = PortRecord {
            veth: old.veth,
            bound_policy: old.bound_policy,
            ..adopted_record(port, bridge, ltl)
        };
        if let Ok(module) = self.connected_module() {
            let binding = self.rpc.bind(record.bind_request(module, &self.host_id)).await?;
            record.veth = binding.veth;
            record.bound_policy = binding.policy;
        }
        tracing::info!(
            "Vethernet{} ({}) follows its OVSDB row: port-profile {}, MAC {}, owner {}",
            record.veth,
            record.host_ifname,
            record.profile,
            record.mac.colon(),
            record.owner_name
        );
        inner.table.insert(record);
        let applied = Arc::clone(&inner.applied);
        inner.table.forget_caught_up_policies(&applied);
        self.program(inner).await;
        Ok(())
    }
}
