//! Attach and detach: the port's life on this host, each step undone if a later one fails.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datapath::PortId;

use super::{Inner, PoolRef, PortManager};
use crate::MAX_VIRTUAL_PORTS;
use crate::attach::{AttachRequest, CreatedPort, NETNS_RUN_DIR, Target, create_port_with, delete_port};
use crate::dataplane::DataplaneError;
use crate::ports::PortError;
use crate::ports::record::{PortOrigin, PortRecord};
use crate::ports::spec::{AttachSpec, DetachSpec, TargetSpec, attach_request};
use crate::ports::status::PortState;
use crate::ports::table::PortTable;
use crate::ports::view::{AttachedView, DetachedView};

impl PortManager {
    /// Attaches a container interface and returns its vEthernet once the port's policy is in
    /// force in the dataplane. Fails, leaving nothing behind, when the supervisor cannot bind the
    /// port or any step fails.
    pub async fn attach(&self, spec: &AttachSpec) -> Result<AttachedView, PortError> {
        let iface_id = spec.iface_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if !spec.wants_pool_address() {
            return self.attach_as(spec, &iface_id, None).await;
        }
        // `--ip auto`: the address comes from the profile's pool, held by the port's iface-id
        // (the supervisor releases it when the port is unbound).
        attach_request(&AttachSpec { gateway: None, ..spec.clone() }, &iface_id)?;
        let allocation = self
            .allocate_address(&PoolRef::Profile(spec.profile.clone()), &iface_id, &spec.owner_name(), None)
            .await?;
        let mut addressed = spec.clone();
        addressed.ip = Some(format!("{}/{}", allocation.address, allocation.prefix_len));
        addressed.gateway = addressed.gateway.or(allocation.default_router);
        let attached = self.attach_as(&addressed, &iface_id, Some(allocation.pool)).await;
        if attached.is_err()
            && let Err(error) = self.release_owner(&iface_id).await
        {
            tracing::warn!("rolling back: cannot give back the address of iface-id {iface_id} yet: {error}");
        }
        attached
    }

    /// [`PortManager::attach`] with the port's identity chosen and its address known.
    async fn attach_as(
        &self,
        spec: &AttachSpec,
        iface_id: &str,
        ip_pool: Option<String>,
    ) -> Result<AttachedView, PortError> {
        let request = attach_request(spec, iface_id)?;
        let owner = PortOwner {
            profile: spec.profile.clone(),
            owner_name: spec.owner_name(),
            target: Some(spec.target.clone()),
            ips: spec.ip_address().into_iter().collect(),
            ip_pool,
        };
        self.attach_request(request, owner).await
    }

    /// Makes, binds and programs the port `request` describes, owned as `owner` says.
    pub(super) async fn attach_request(
        &self,
        mut request: AttachRequest,
        owner: PortOwner,
    ) -> Result<AttachedView, PortError> {
        let iface_id = request.iface_id.clone();
        request.mtu = self.container_mtu(request.mtu);
        let module = self.module_for_change().await?;
        let attached = {
            let mut inner = self.inner.lock().await;
            if let Some(existing) = inner.table.by_iface_id(&iface_id) {
                return Err(PortError::AlreadyAttached { iface_id, veth: existing.veth });
            }
            let ltl = inner.table.free_ltl().ok_or(PortError::Full { max: MAX_VIRTUAL_PORTS })?;
            // The new port joins a dataplane that runs the newest policies.
            self.apply_latest(&mut inner).await;
            let created = create_port_with(&request, &self.docker).await?;
            let record = self.new_record(&inner.table, owner, &created, ltl);
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

    /// The MTU of a new port's veth pair: as asked, else the one that fits the VXLAN tunnel.
    fn container_mtu(&self, asked: Option<u32>) -> Option<u32> {
        match (asked, self.tunnel_mtu) {
            (Some(mtu), Some(fits)) if mtu > fits => {
                tracing::warn!("attach asks for MTU {mtu}: frames over {fits} bytes will not cross VXLAN");
                Some(mtu)
            }
            (asked, fits) => asked.or(fits),
        }
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
            if let PortOrigin::Ovsdb { bridge } = &record.origin {
                return Err(PortError::OwnedByOvsdb {
                    veth: record.veth,
                    bridge: bridge.clone(),
                    ifname: record.host_ifname.clone(),
                });
            }
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
        self.touched();
        tracing::info!("detached Vethernet{} (iface-id {})", detached.veth, detached.iface_id);
        self.report_logged().await;
        Ok(detached)
    }

    /// The record of a port just created on `ltl`, before its binding.
    fn new_record(&self, table: &PortTable, owner: PortOwner, created: &CreatedPort, ltl: u32) -> PortRecord {
        // Interfaces of one namespace belong to one owner (the seed's vm-uuid). The host's own
        // namespace (ports handed over to Docker) owns nothing.
        let owner_uuid = table
            .iter()
            .find(|record| record.netns_inode == created.netns_inode && created.target != Target::Host)
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), |record| record.owner_uuid.clone());
        PortRecord {
            iface_id: created.iface_id.clone(),
            veth: 0,
            ltl,
            profile: owner.profile,
            host_ifname: created.host_ifname.clone(),
            mac: created.mac,
            container_ifname: created.container_ifname.clone(),
            owner_name: owner.owner_name,
            owner_uuid,
            target: owner.target,
            netns_inode: created.netns_inode,
            origin: PortOrigin::Attach,
            bound_policy: None,
            ips: owner.ips,
            ip_pool: owner.ip_pool,
            ip_prefix_len: created.ip.map(|(_, prefix)| prefix),
            gateway: created.gateway,
            mtu: Some(created.mtu),
        }
    }

    /// Binds the new port, then programs and persists it; on failure releases the binding
    /// again (a failed attach leaves no binding it made).
    pub(super) async fn bind_and_program(
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
                    self.unbind_or_queue(inner, module, &record.iface_id).await;
                }
                return Err(error);
            }
        };
        record.veth = binding.veth;
        record.bound_policy = binding.policy;
        let iface_id = record.iface_id.clone();
        let programmed = self.program_new_port(inner, record).await;
        if programmed.is_err() {
            self.unbind_or_queue(inner, module, &iface_id).await;
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
        self.touched();
        Ok(attached_view(&record, state.up, state.reason))
    }

    /// `iface_id`'s port as an attach answered it, if this host has it.
    pub async fn attached_view(&self, iface_id: &str) -> Option<AttachedView> {
        let inner = self.inner.lock().await;
        let record = inner.table.by_iface_id(iface_id)?;
        let state = PortState::of(inner.table.effective_policies(&inner.applied).get(&record.profile));
        Some(attached_view(record, state.up, state.reason))
    }

    /// Releases the binding a failed attach may have made; if the supervisor cannot be told
    /// now, it is told when it answers again (the release is queued and persisted).
    async fn unbind_or_queue(&self, inner: &mut Inner, module: u32, iface_id: &str) {
        if let Err(error) = self.rpc.unbind(module, &self.host_id, iface_id).await {
            tracing::warn!("rolling back: cannot release the binding of iface-id {iface_id} yet: {error}");
            inner.table.queue_unbind(iface_id);
            if let Err(error) = self.save(&inner.table).await {
                tracing::error!("{error}");
            }
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

    /// The inode of `target`'s network namespace, when it can be found.
    async fn netns_inode(&self, target: &TargetSpec) -> Option<u64> {
        let path = match target {
            TargetSpec::Pid(pid) => PathBuf::from(format!("/proc/{pid}/ns/net")),
            TargetSpec::Netns(name) => Path::new(NETNS_RUN_DIR).join(name),
            TargetSpec::Container(name) => {
                let pid = self.docker.container_pid(name).await.ok()?;
                PathBuf::from(format!("/proc/{pid}/ns/net"))
            }
            TargetSpec::NetnsPath(path) => PathBuf::from(path),
        };
        std::fs::metadata(path).ok().map(|meta| meta.ino())
    }
}

/// What an attach answers about `record`.
fn attached_view(record: &PortRecord, up: bool, reason: &str) -> AttachedView {
    let prefix = record.ip_prefix_len.map_or(String::new(), |len| format!("/{len}"));
    AttachedView {
        veth: record.veth,
        iface_id: record.iface_id.clone(),
        host_ifname: record.host_ifname.clone(),
        ltl: record.ltl,
        up,
        reason: reason.to_owned(),
        mac: record.mac.colon().to_string(),
        container_ifname: record.container_ifname.clone(),
        ips: record.ips.iter().map(|ip| format!("{ip}{prefix}")).collect(),
        gateway: record.gateway,
        mtu: record.mtu.unwrap_or(0),
    }
}

/// Whose a new port is, beyond its interface: what its record keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PortOwner {
    pub profile: String,
    /// Shown as the port's owner (the container's name).
    pub owner_name: String,
    /// How the attach named the namespace (for detach by interface); none when handed over.
    pub target: Option<TargetSpec>,
    /// The port's IP bindings (`ip verify source`, `ip arp inspection`).
    pub ips: Vec<std::net::IpAddr>,
    /// The pool `ips` came from.
    pub ip_pool: Option<String>,
}

/// The port a detach names.
fn find<'t>(table: &'t PortTable, spec: &DetachSpec, netns_inode: Option<u64>) -> Option<&'t PortRecord> {
    match spec {
        DetachSpec::IfaceId(iface_id) => table.by_iface_id(iface_id),
        DetachSpec::Vethernet(veth) => table.by_veth(*veth),
        DetachSpec::Interface { target, ifname } => table.by_interface(target, netns_inode, ifname),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::record::testing::record;

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
