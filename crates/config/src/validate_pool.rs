//! Semantic checks of `ip pool` blocks and of the profiles' `ip pool` lines: a pool a profile
//! uses has a network, every address inside it, ranges that run forwards, no two pools' networks overlap,
//! a profile names a pool that exists (so deleting a pool in use is refused at its `no` line).
//! Part of [`crate::validate::issues`].

use std::net::Ipv4Addr;

use crate::grammar::{self, Param};
use crate::ip_pool::{AddressRange, IpPool, Ipv4Network, POOL_NAME_MAX};
use crate::model::{Config, PortProfile, ProfileType};
use crate::validate::{Field, Issue, Subject, kind_name};

/// Issues of the pools themselves.
pub(crate) fn pool_issues(config: &Config, out: &mut Vec<Issue>) {
    for (name, pool) in &config.ip_pools {
        one_pool_issues(name, pool, out);
    }
    overlap_issues(config, out);
}

fn one_pool_issues(name: &str, pool: &IpPool, out: &mut Vec<Issue>) {
    let at = |field| Subject::IpPool(name.to_string(), field);
    if !grammar::is_name(name, POOL_NAME_MAX) {
        out.push(
            Issue::new(at(Field::Header), format!("invalid ip pool name '{name}'"))
                .expecting(Param::Name { max: POOL_NAME_MAX }),
        );
    }
    // A pool is typed a line at a time, so one without a network is valid until something
    // uses it (like a flow exporter without a destination): see `profile_pool_issues`.
    let Some(network) = pool.network else { return };
    if let Some(router) = pool.default_router {
        if !network.contains(router) {
            out.push(outside(at(Field::DefaultRouter), "default-router", router, network));
        } else if network.prefix_len() < 31 && is_network_or_broadcast(network, router) {
            out.push(Issue::new(
                at(Field::DefaultRouter),
                format!("default-router {router} is the network or broadcast address of {network}"),
            ));
        }
    }
    for (field, line, ranges) in
        [(Field::Ranges, "range", &pool.ranges), (Field::Excludes, "exclude", &pool.excludes)]
    {
        for range in ranges {
            out.extend(range_issue(at(field), line, *range, network));
        }
    }
}

fn is_network_or_broadcast(network: Ipv4Network, address: Ipv4Addr) -> bool {
    let (first, last) = network.bounds();
    let n = u32::from(address);
    n == first || n == last
}

fn outside(at: Subject, line: &str, address: Ipv4Addr, network: Ipv4Network) -> Issue {
    Issue::new(at, format!("{line} {address} is outside the pool's network {network}"))
        .expecting_text(format!("an address in {network}"))
}

fn range_issue(at: Subject, line: &str, range: AddressRange, network: Ipv4Network) -> Option<Issue> {
    if range.first > range.last {
        return Some(Issue::new(
            at,
            format!("{line} {} {} runs backwards: give the lower address first", range.first, range.last),
        ));
    }
    [range.first, range.last]
        .into_iter()
        .find(|a| !network.contains(*a))
        .map(|a| outside(at, line, a, network))
}

/// Two pools whose networks share an address would hand out the same address twice: the one
/// later by name is blamed.
fn overlap_issues(config: &Config, out: &mut Vec<Issue>) {
    let networks: Vec<(&String, Ipv4Network)> =
        config.ip_pools.iter().filter_map(|(name, pool)| pool.network.map(|n| (name, n))).collect();
    for (i, (name, network)) in networks.iter().enumerate() {
        if let Some((other, other_network)) = networks[..i].iter().find(|(_, n)| n.overlaps(*network)) {
            out.push(Issue::new(
                Subject::IpPool((*name).clone(), Field::Network),
                format!("network {network} overlaps ip pool {other}'s network {other_network}"),
            ));
        }
    }
}

/// Issues of one profile's `ip pool` line.
pub(crate) fn profile_pool_issues(config: &Config, name: &str, p: &PortProfile, out: &mut Vec<Issue>) {
    let Some(pool) = &p.ip_pool else { return };
    let at = Subject::Profile(name.to_string(), Field::IpPool);
    if p.kind != ProfileType::Vethernet {
        out.push(Issue::new(
            at.clone(),
            format!("ip pool applies only to {} port-profiles", kind_name(ProfileType::Vethernet)),
        ));
    }
    match config.ip_pools.get(pool) {
        None => out.push(Issue::new(at, format!("ip pool '{pool}' does not exist")).caused_by(
            Subject::IpPool(pool.clone(), Field::Removed),
            format!("ip pool '{pool}' is used by port-profile '{name}'"),
        )),
        Some(p) if p.network.is_none() => out.push(
            Issue::new(at, format!("ip pool '{pool}' has no network"))
                .expecting_text("a 'network A.B.C.D/LEN' line under it".to_string())
                .caused_by(
                    Subject::IpPool(pool.clone(), Field::Network),
                    format!("ip pool '{pool}' is used by port-profile '{name}' and needs a network"),
                ),
        ),
        Some(_) => {}
    }
}
