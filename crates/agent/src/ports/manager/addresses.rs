//! Addresses from the supervisor's pools (`ip pool`): what `attach --ip auto`, the Docker IPAM
//! driver and the CNI plugin ask for. The supervisor allocates (so two hosts never hand out one
//! address); the agent remembers what it holds and says so in every report, which is how the
//! supervisor's leak collector tells a leaked address from one in use.

use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;

use super::PortManager;
use crate::ports::PortError;
use crate::ports::table::PortTable;

/// An address the supervisor handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The pool it came from.
    pub pool: String,
    pub address: Ipv4Addr,
    /// The pool network's prefix length.
    pub prefix_len: u8,
    /// The pool's default-router.
    pub default_router: Option<Ipv4Addr>,
}

/// What to allocate from: a profile's pool or a pool by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolRef {
    Profile(String),
    Pool(String),
}

/// How to find a pool without allocating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolQuery {
    Profile(String),
    Pool(String),
    /// `A.B.C.D/LEN`, exactly a pool's network.
    Network(String),
}

/// A pool's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolShape {
    pub name: String,
    /// `A.B.C.D/LEN`.
    pub network: String,
    pub default_router: Option<Ipv4Addr>,
    /// The MTU a container interface on the profile should have (only for profile lookups).
    pub mtu: Option<u32>,
}

/// What the supervisor said of a pool asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolLookup {
    Found(PoolShape),
    /// No such pool, profile or network (the supervisor's words).
    NotFound(String),
    /// The profile exists but has no `ip pool` (the supervisor's words).
    NoPool(String),
}

/// Something besides the ports that holds addresses (the Docker plugin's endpoints): asked on
/// every report.
pub type AddressHolder = Arc<dyn Fn() -> Vec<(String, Ipv4Addr)> + Send + Sync>;

/// The registered [`AddressHolder`]s.
#[derive(Default, Clone)]
pub(super) struct AddressHolders(Vec<AddressHolder>);

impl fmt::Debug for AddressHolders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AddressHolders({})", self.0.len())
    }
}

impl PortManager {
    /// Allocates an address for `owner` (one word: an iface-id, a Docker endpoint, a CNI
    /// attachment). Asking again with the same owner returns the address it holds.
    pub async fn allocate_address(
        &self,
        from: &PoolRef,
        owner: &str,
        owner_name: &str,
        address: Option<Ipv4Addr>,
    ) -> Result<Allocation, PortError> {
        let module = self.module_for_change().await?;
        let (pool, profile) = match from {
            PoolRef::Profile(profile) => (String::new(), profile.clone()),
            PoolRef::Pool(pool) => (pool.clone(), String::new()),
        };
        let reply = self
            .rpc
            .allocate(proto::AllocateAddressRequest {
                module,
                host_id: self.host_id.clone(),
                pool,
                profile,
                owner: owner.to_owned(),
                owner_name: owner_name.to_owned(),
                address: address.map(|a| a.to_string()).unwrap_or_default(),
            })
            .await?;
        let bad = |what: &str| PortError::Supervisor {
            call: "AllocateAddress",
            message: format!("the supervisor sent an unusable {what}"),
            uncertain: false,
        };
        Ok(Allocation {
            address: reply.address.parse().map_err(|_| bad("address"))?,
            prefix_len: u8::try_from(reply.prefix_len)
                .ok()
                .filter(|len| *len <= 32)
                .ok_or_else(|| bad("prefix"))?,
            default_router: optional_address(&reply.default_router).map_err(|()| bad("default-router"))?,
            pool: reply.pool,
        })
    }

    /// Gives back every address `owner` holds on this module.
    pub async fn release_owner(&self, owner: &str) -> Result<u32, PortError> {
        self.release_addresses(owner, "", None).await
    }

    /// Gives back one address of `pool`.
    pub async fn release_address(&self, pool: &str, address: Ipv4Addr) -> Result<u32, PortError> {
        self.release_addresses("", pool, Some(address)).await
    }

    async fn release_addresses(
        &self,
        owner: &str,
        pool: &str,
        address: Option<Ipv4Addr>,
    ) -> Result<u32, PortError> {
        let module = self.connected_module()?;
        self.rpc
            .release(proto::ReleaseAddressRequest {
                module,
                host_id: self.host_id.clone(),
                owner: owner.to_owned(),
                pool: pool.to_owned(),
                address: address.map(|a| a.to_string()).unwrap_or_default(),
            })
            .await
    }

    /// A pool's shape, without allocating; what the supervisor said when there is none.
    pub async fn describe_pool(&self, query: &PoolQuery) -> Result<PoolLookup, PortError> {
        let module = self.module_for_change().await?;
        let mut request =
            proto::DescribePoolRequest { module, host_id: self.host_id.clone(), ..Default::default() };
        match query {
            PoolQuery::Profile(profile) => request.profile = profile.clone(),
            PoolQuery::Pool(pool) => request.pool = pool.clone(),
            PoolQuery::Network(network) => request.network = network.clone(),
        }
        let reply = match self.rpc.describe_pool(request).await? {
            Ok(reply) => reply,
            Err(status) if status.code() == tonic::Code::NotFound => {
                return Ok(PoolLookup::NotFound(status.message().to_owned()));
            }
            Err(status) => return Ok(PoolLookup::NoPool(status.message().to_owned())),
        };
        let default_router = optional_address(&reply.default_router).map_err(|()| PortError::Supervisor {
            call: "DescribePool",
            message: "the supervisor sent an unusable default-router".into(),
            uncertain: false,
        })?;
        Ok(PoolLookup::Found(PoolShape {
            name: reply.name,
            network: reply.network,
            default_router,
            mtu: (reply.mtu > 0).then_some(reply.mtu),
        }))
    }

    /// The MTU a container interface gets when nothing else says: the one that fits the VXLAN
    /// tunnel when this host has a VTEP, else the kernel's.
    pub fn default_container_mtu(&self) -> u32 {
        self.tunnel_mtu.unwrap_or(1500)
    }

    /// Registers something else that holds addresses (the Docker plugin), so the supervisor's
    /// leak collector keeps them.
    pub fn add_address_holder(&self, holder: AddressHolder) {
        self.address_holders.lock().unwrap_or_else(std::sync::PoisonError::into_inner).0.push(holder);
    }

    /// Every address this host holds: its ports' pool addresses and the holders'.
    pub(super) fn held_addresses(&self, table: &PortTable) -> Vec<proto::HeldAddress> {
        let mut held: Vec<proto::HeldAddress> = table
            .iter()
            .filter_map(|record| Some((record.ip_pool.as_ref()?, &record.ips)))
            .flat_map(|(pool, ips)| {
                ips.iter().map(|ip| proto::HeldAddress { pool: pool.clone(), address: ip.to_string() })
            })
            .collect();
        let holders = self.address_holders.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        for holder in &holders.0 {
            held.extend(
                holder()
                    .into_iter()
                    .map(|(pool, address)| proto::HeldAddress { pool, address: address.to_string() }),
            );
        }
        held.sort_by(|a, b| (&a.pool, &a.address).cmp(&(&b.pool, &b.address)));
        held.dedup();
        held
    }
}

/// An address field that may be empty.
fn optional_address(text: &str) -> Result<Option<Ipv4Addr>, ()> {
    if text.is_empty() { Ok(None) } else { text.parse().map(Some).map_err(|_| ()) }
}
