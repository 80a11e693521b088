//! Cluster-wide IPAM: addresses from `ip pool NAME`, handed out to a module's ports, Docker
//! endpoints and CNI attachments so that no two hosts ever hand out the same one.
//!
//! Each allocation is one store key, `/switchyard/ipam/POOL/A.B.C.D`, holding an [`Allocation`]
//! (who holds it, since when). An allocation is keyed by (pool, module, owner): asking again
//! with the same owner returns the address already held. Allocations are planned from a fresh
//! read under the journal's writer and committed with a compare on the `ipam-generation`
//! counter, so two requests — in one supervisor or in two sharing a store — never get the same
//! address ([`allocator`]).
//!
//! Allocations go when their owner does: `UnbindPort` releases the port's iface-id's, `no
//! module N` all of module N's, and the leak collector ([`allocator::collect_leaks`]) those a
//! module no longer reports holding once they are older than [`ADDRESS_GRACE`].

use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod allocator;
pub mod input;
pub mod plan;
pub mod views;

pub use allocator::{allocate, collect_leaks, describe, release, release_module, release_owner};
pub use views::{PoolView, pool_view, pool_views};

/// The most addresses one module may hold in one pool: four times a module's 1,024 ports, room
/// for its Docker endpoints too. A broken or hostile host, which may ask for addresses under any
/// owner names it likes, cannot take a whole pool from the other hosts.
pub const MODULE_SHARE: usize = 4096;

/// How long an allocation may go unreported before the leak collector frees it: an address in
/// flight (allocated, not yet configured on the container) is not a leak.
pub const ADDRESS_GRACE: Duration = Duration::from_secs(60);

/// The MTU of a container interface on a bridge-domain: 1500 less VXLAN's 50 bytes of headers.
pub const OVERLAY_MTU: u32 = 1450;
/// The MTU of a container interface on a VLAN.
pub const VLAN_MTU: u32 = 1500;

/// One allocated address, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Allocation {
    /// The module holding it.
    pub module: u32,
    /// Who holds it on that module: a port's iface-id, a Docker endpoint, a CNI attachment.
    pub owner: String,
    /// The container's name, for `show ip pool NAME`.
    #[serde(default)]
    pub owner_name: String,
    /// When it was allocated, Unix milliseconds.
    pub allocated_at: u64,
}

/// Why an address request failed. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    #[error(transparent)]
    Invalid(#[from] crate::agent_input::InputError),
    #[error("ip pool {0} does not exist")]
    NoSuchPool(String),
    #[error("port-profile {0} does not exist")]
    NoSuchProfile(String),
    #[error("port-profile {0} has no ip pool; add 'ip pool NAME' to it, or name a pool")]
    NoPoolOnProfile(String),
    #[error("ip pool {0} has no network yet; add 'network A.B.C.D/LEN' to it")]
    NoNetwork(String),
    #[error("no ip pool has network {0}")]
    NoPoolForNetwork(String),
    #[error("port-profile {profile} cannot be evaluated: {reason}")]
    BrokenProfile { profile: String, reason: String },
    #[error(
        "ip pool {pool} is full: all {size} of its addresses are allocated; release some, or widen \
         its range"
    )]
    Full { pool: String, size: u64 },
    #[error(
        "module {module} holds {held} addresses of ip pool {pool}, the most one module may hold; \
         release some (or detach ports) first"
    )]
    ModuleShare { pool: String, module: u32, held: usize },
    #[error("address {address} of ip pool {pool} is held by another owner")]
    Taken { pool: String, address: std::net::Ipv4Addr },
    #[error("owner {owner} already holds {held} of ip pool {pool}; release it before asking for {asked}")]
    OwnerHoldsAnother { pool: String, owner: String, held: std::net::Ipv4Addr, asked: std::net::Ipv4Addr },
    #[error("invalid address: {address} is not one of ip pool {pool}'s allocatable addresses")]
    NotAllocatable { pool: String, address: std::net::Ipv4Addr },
    #[error(transparent)]
    Module(#[from] crate::modules::ModuleError),
    #[error("the address allocations changed concurrently {} times; try again", crate::journal::MAX_ATTEMPTS)]
    Contended,
    #[error("cannot read the config: {0}")]
    Config(String),
    #[error("stored allocation {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl From<crate::config_store::ConfigWriteError> for IpamError {
    fn from(error: crate::config_store::ConfigWriteError) -> Self {
        Self::Config(error.to_string())
    }
}

impl From<IpamError> for tonic::Status {
    fn from(error: IpamError) -> Self {
        let message = error.to_string();
        match error {
            IpamError::Invalid(_) | IpamError::NotAllocatable { .. } => Self::invalid_argument(message),
            IpamError::NoSuchPool(_) | IpamError::NoSuchProfile(_) | IpamError::NoPoolForNetwork(_) => {
                Self::not_found(message)
            }
            IpamError::NoPoolOnProfile(_)
            | IpamError::NoNetwork(_)
            | IpamError::BrokenProfile { .. }
            | IpamError::OwnerHoldsAnother { .. } => Self::failed_precondition(message),
            IpamError::Full { .. } | IpamError::ModuleShare { .. } => Self::resource_exhausted(message),
            IpamError::Taken { .. } => Self::already_exists(message),
            IpamError::Module(error) => error.into(),
            IpamError::Contended => Self::aborted(message),
            IpamError::Config(_) | IpamError::Corrupt { .. } | IpamError::Store(_) => Self::internal(message),
        }
    }
}
