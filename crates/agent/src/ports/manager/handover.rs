//! Ports whose container end a container engine moves into the container itself (Docker's
//! remote network drivers): the agent makes the pair in its own namespace and leaves the
//! container end there, named as the engine expects, with the MAC and MTU set and no address
//! (the engine configures the interface once it has moved it).

use std::net::IpAddr;

use wire::MacAddr;

use super::PortManager;
use super::attach::PortOwner;
use crate::attach::{AttachRequest, Target};
use crate::ports::{AttachedView, DetachSpec, PortError};

/// A port for a container engine to take over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverPort {
    /// The port's identity (`docker:<endpoint>`).
    pub iface_id: String,
    pub profile: String,
    /// The container end's name on the host until the engine moves it (at most 15 bytes).
    pub container_end: String,
    pub mac: MacAddr,
    pub mtu: u32,
    /// The address the engine will give the interface: the port's IP binding.
    pub address: Option<IpAddr>,
    /// Shown as the owner until [`PortManager::rename_owner`] names the container.
    pub owner_name: String,
}

impl PortManager {
    /// Makes, binds and programs `port`, leaving its container end on the host.
    pub async fn attach_handover(&self, port: HandoverPort) -> Result<AttachedView, PortError> {
        let request = AttachRequest {
            target: Target::Host,
            iface_id: port.iface_id,
            ifname: port.container_end,
            mac: Some(port.mac),
            ip: None,
            gateway: None,
            mtu: Some(port.mtu),
            keep_default_route: false,
        };
        let owner = PortOwner {
            profile: port.profile,
            owner_name: port.owner_name,
            target: None,
            ips: port.address.into_iter().collect(),
            ip_pool: None,
        };
        self.attach_request(request, owner).await
    }

    /// Detaches `iface_id`'s port; one that is not attached counts as detached.
    pub async fn detach_if_attached(&self, iface_id: &str) -> Result<(), PortError> {
        match self.detach(&DetachSpec::IfaceId(iface_id.to_owned())).await {
            Ok(_) | Err(PortError::NotAttached(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Shows `owner_name` as the owner of `iface_id`'s port from now on (the supervisor is told
    /// by binding the port again, which keeps its vEthernet).
    pub async fn rename_owner(&self, iface_id: &str, owner_name: &str) -> Result<(), PortError> {
        let module = self.connected_module()?;
        let mut inner = self.inner.lock().await;
        let Some(mut record) = inner.table.by_iface_id(iface_id).cloned() else {
            return Err(PortError::NotAttached(format!("iface-id '{iface_id}'")));
        };
        if record.owner_name == owner_name {
            return Ok(());
        }
        record.owner_name = owner_name.to_owned();
        self.rpc.bind(record.bind_request(module, &self.host_id)).await?;
        inner.table.insert(record);
        self.save(&inner.table).await
    }
}
