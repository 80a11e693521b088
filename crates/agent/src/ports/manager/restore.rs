//! After a restart, and while running: ports brought back from `ports.json`, ports whose link
//! vanished forgotten, and every port bound again when the supervisor (re)connects.

use std::sync::Arc;

use datapath::PortId;

use super::PortManager;
use crate::attach::list_host_links;
use crate::ports::record::{PortRecord, PortsFile};
use crate::ports::table::PortTable;

impl PortManager {
    /// Brings back the ports of `ports.json` whose host ends still exist, re-opened in the
    /// dataplane with the persisted policies (no supervisor needed). Entries whose link is gone
    /// (the container went away meanwhile) are dropped and their bindings queued for release.
    /// Ports adopted from OVSDB come back too; their rows confirm them (or not) once the OVSDB
    /// client has read the database.
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
        let links = match list_host_links().await {
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
            let alive = links.as_deref().is_none_or(|links| record.link_alive(links));
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

    /// Forgets the ports whose host end is gone (the container's namespace went away without a
    /// detach): out of the dataplane, binding released (or queued). True when any was.
    pub async fn forget_vanished(&self) -> bool {
        // The links are listed under the table's lock: an attach (which makes its link and adds
        // its port under the same lock) must not fall between the two, or its brand-new port
        // would look vanished and be unbound while its container runs.
        let mut inner = self.inner.lock().await;
        let links = match list_host_links().await {
            Ok(links) => links,
            Err(error) => {
                tracing::debug!("cannot list host interfaces: {error}");
                return false;
            }
        };
        let vanished: Vec<PortRecord> =
            inner.table.iter().filter(|record| !record.link_alive(&links)).cloned().collect();
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
        if !vanished.is_empty() {
            self.touched();
            if let Err(error) = self.save(&inner.table).await {
                tracing::error!("{error}");
            }
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
}
