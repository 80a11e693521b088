//! What `show ip pool [NAME]` and `GET /api/v1/ip-pools[/{name}]` show: each pool's shape and
//! use, and for one pool every allocation with the vEthernet its owner is attached as.

use std::collections::BTreeMap;

use config::Config;
use serde::Serialize;
use utoipa::ToSchema;

use super::allocator::Stored;
use crate::port_binding::PortRecord;

/// One pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PoolView {
    pub name: String,
    /// `A.B.C.D/LEN`; empty while the pool has none.
    pub network: String,
    /// `A.B.C.D`; absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_router: Option<String>,
    /// The pool's configuration lines (`network …`, `range …`).
    pub lines: Vec<String>,
    /// Addresses the pool can hand out.
    pub size: u64,
    /// Addresses held now.
    pub used: u64,
    /// `size - used` (never below 0: allocations outside a range that shrank count as used).
    pub free: u64,
    /// Every allocation, by address.
    pub allocations: Vec<AllocationView>,
}

/// One allocated address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AllocationView {
    pub address: String,
    pub module: u32,
    pub owner: String,
    pub owner_name: String,
    /// `VethernetN` when the owner is an iface-id attached on that module.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Unix milliseconds.
    pub allocated_at: u64,
}

/// Every pool, by name.
pub fn pool_views(config: &Config, allocations: &[Stored], ports: &[PortRecord]) -> Vec<PoolView> {
    config.ip_pools.keys().filter_map(|name| pool_view(config, allocations, ports, name)).collect()
}

/// One pool; `None` when it does not exist.
pub fn pool_view(
    config: &Config,
    allocations: &[Stored],
    ports: &[PortRecord],
    name: &str,
) -> Option<PoolView> {
    let pool = config.ip_pools.get(name)?;
    let attached: BTreeMap<(&str, u32), u32> =
        ports.iter().filter(|p| p.attached).map(|p| ((p.iface_id.as_str(), p.module), p.veth)).collect();
    let mut rows: Vec<&Stored> = allocations.iter().filter(|s| s.pool == name).collect();
    rows.sort_by_key(|s| s.address);
    let size = pool.allocatable().size();
    let used = u64::try_from(rows.len()).unwrap_or(u64::MAX);
    Some(PoolView {
        name: name.to_owned(),
        network: pool.network.map(|n| n.to_string()).unwrap_or_default(),
        default_router: pool.default_router.map(|r| r.to_string()),
        lines: config::pool_lines(pool),
        size,
        used,
        free: size.saturating_sub(used),
        allocations: rows
            .into_iter()
            .map(|s| AllocationView {
                address: s.address.to_string(),
                module: s.allocation.module,
                owner: s.allocation.owner.clone(),
                owner_name: s.allocation.owner_name.clone(),
                interface: attached
                    .get(&(s.allocation.owner.as_str(), s.allocation.module))
                    .map(|veth| format!("Vethernet{veth}")),
                allocated_at: s.allocation.allocated_at,
            })
            .collect(),
    })
}
