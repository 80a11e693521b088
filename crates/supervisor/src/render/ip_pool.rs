//! `show ip pool` (one row per pool) and `show ip pool NAME` (its lines, then one row per
//! allocation). NX-OS has no cluster IPAM; the table style is `show bridge-domain`'s.

use super::text::{cell, line};
use crate::clock::format_timestamp;
use crate::ipam::PoolView;

/// One row per pool: name, network, default-router, size, used, free.
pub fn show_ip_pools(pools: &[PoolView]) -> String {
    let mut out = String::new();
    out.push_str("Pool                  Network             Default-Router   Size      Used      Free\n");
    out.push_str("--------------------  ------------------  ---------------  --------  --------  --------\n");
    for pool in pools {
        line(
            &mut out,
            format_args!(
                "{}{}{}{}{}{}",
                cell(&pool.name, 22),
                cell(&pool.network, 20),
                cell(pool.default_router.as_deref().unwrap_or("-"), 17),
                cell(&pool.size.to_string(), 10),
                cell(&pool.used.to_string(), 10),
                pool.free
            ),
        );
    }
    out
}

/// The pool's configuration lines and counts, then one row per allocation: address, module,
/// owner (the container's name, else the owner id), the vEthernet when the owner is an attached
/// port, and when it was allocated.
pub fn show_ip_pool(pool: &PoolView) -> String {
    let mut out = String::new();
    line(&mut out, format_args!("ip pool {}", pool.name));
    for config_line in &pool.lines {
        line(&mut out, format_args!("  {config_line}"));
    }
    line(&mut out, format_args!(" size: {}  used: {}  free: {}", pool.size, pool.used, pool.free));
    out.push('\n');
    out.push_str("Address          Mod  Owner                     Interface      Allocated\n");
    out.push_str("---------------  ---  ------------------------  -------------  --------------------\n");
    for allocation in &pool.allocations {
        let owner = if allocation.owner_name.is_empty() { &allocation.owner } else { &allocation.owner_name };
        line(
            &mut out,
            format_args!(
                "{}{}{}{}{}",
                cell(&allocation.address, 17),
                cell(&allocation.module.to_string(), 5),
                cell(owner, 26),
                cell(allocation.interface.as_deref().unwrap_or("-"), 15),
                format_timestamp(allocation.allocated_at)
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipam::views::AllocationView;

    fn pool() -> PoolView {
        PoolView {
            name: "web-pool".into(),
            network: "10.100.0.0/24".into(),
            default_router: Some("10.100.0.1".into()),
            lines: vec!["network 10.100.0.0/24".into(), "default-router 10.100.0.1".into()],
            size: 190,
            used: 2,
            free: 188,
            allocations: vec![
                AllocationView {
                    address: "10.100.0.10".into(),
                    module: 3,
                    owner: "iface-a".into(),
                    owner_name: "web1".into(),
                    interface: Some("Vethernet1".into()),
                    allocated_at: 0,
                },
                AllocationView {
                    address: "10.100.0.11".into(),
                    module: 4,
                    owner: "docker-ep-\u{1b}x".into(),
                    owner_name: String::new(),
                    interface: None,
                    allocated_at: 86_400_000,
                },
            ],
        }
    }

    #[test]
    fn one_row_per_pool() {
        assert_eq!(
            show_ip_pools(&[pool()]),
            "Pool                  Network             Default-Router   Size      Used      Free\n\
             --------------------  ------------------  ---------------  --------  --------  --------\n\
             web-pool              10.100.0.0/24       10.100.0.1       190       2         188\n"
        );
    }

    #[test]
    fn one_pool_with_its_allocations() {
        assert_eq!(
            show_ip_pool(&pool()),
            "ip pool web-pool\n  network 10.100.0.0/24\n  default-router 10.100.0.1\n size: 190  used: 2  free: 188\n\n\
             Address          Mod  Owner                     Interface      Allocated\n\
             ---------------  ---  ------------------------  -------------  --------------------\n\
             10.100.0.10      3    web1                      Vethernet1     1970 Jan 01 00:00:00\n\
             10.100.0.11      4    docker-ep-?x              -              1970 Jan 02 00:00:00\n"
        );
    }
}
