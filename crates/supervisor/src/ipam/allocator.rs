//! The allocator's I/O shell: reads a pool's allocations, plans with [`super::plan`], commits
//! under the journal's writer with a compare on the `ipam-generation` counter.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use config::Config;
use store::{Compare, KeyValue, Op, Revision, Store};

use super::plan::{Choice, choose};
use super::{Allocation, IpamError, OVERLAY_MTU, VLAN_MTU};
use crate::clock::unix_ms_now;
use crate::events::Event;
use crate::journal::{Journal, MAX_ATTEMPTS, Write, Writer};
use crate::layout::{
    IPAM_GENERATION_KEY, IPAM_PREFIX, ipam_key, ipam_pool_prefix, parse_counter, parse_ipam_key,
};

/// One stored allocation with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub pool: String,
    pub address: Ipv4Addr,
    pub allocation: Allocation,
    /// The key's mod revision, compared when it is deleted.
    pub revision: Revision,
}

/// What `AllocateAddress` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocated {
    pub pool: String,
    pub address: Ipv4Addr,
    pub network: config::Ipv4Network,
    pub default_router: Option<Ipv4Addr>,
    /// False when the owner held it already (nothing was written).
    pub new: bool,
}

/// An allocation request, checked.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub module: u32,
    /// The pool's name; empty to use `profile`'s.
    pub pool: &'a str,
    pub profile: &'a str,
    pub owner: &'a str,
    pub owner_name: &'a str,
    pub address: Option<Ipv4Addr>,
}

fn decode(kv: &KeyValue) -> Result<Option<Stored>, IpamError> {
    let Some((pool, address)) = parse_ipam_key(&kv.key) else { return Ok(None) };
    let allocation = serde_json::from_slice(&kv.value)
        .map_err(|e| IpamError::Corrupt { key: kv.key.clone(), reason: e.to_string() })?;
    Ok(Some(Stored { pool: pool.to_owned(), address, allocation, revision: kv.mod_revision }))
}

/// Every allocation under `prefix`; with `pool`, only that pool's (a prefix also matches pools
/// whose names continue with `/`).
async fn read(store: &dyn Store, prefix: &str, pool: Option<&str>) -> Result<Vec<Stored>, IpamError> {
    let range = store.range(prefix).await?;
    let mut out = Vec::new();
    for kv in &range.kvs {
        if let Some(stored) = decode(kv)?
            && pool.is_none_or(|p| p == stored.pool)
        {
            out.push(stored);
        }
    }
    Ok(out)
}

/// Every allocation of every pool, for the views.
pub async fn read_all(store: &dyn Store) -> Result<Vec<Stored>, IpamError> {
    read(store, IPAM_PREFIX, None).await
}

/// The `ipam-generation` counter and its mod revision (0: absent).
async fn generation(store: &dyn Store) -> Result<(u64, Revision), IpamError> {
    let kv = store.get(IPAM_GENERATION_KEY).await?;
    let value = parse_counter(kv.as_ref().map(|kv| kv.value.as_slice()), 0)
        .map_err(|reason| IpamError::Corrupt { key: IPAM_GENERATION_KEY.to_owned(), reason })?;
    Ok((value, kv.map_or(0, |kv| kv.mod_revision)))
}

/// `write` guarded by, and bumping, the generation read.
fn guarded(mut write: Write, (value, revision): (u64, Revision)) -> Write {
    write.compare.push(Compare::ModRevision(IPAM_GENERATION_KEY.to_owned(), revision));
    write
        .ops
        .push(Op::Put { key: IPAM_GENERATION_KEY.to_owned(), value: (value + 1).to_string().into_bytes() });
    write
}

/// The pool a request names: its own, or its profile's `ip pool`.
fn pool_of(config: &Config, pool: &str, profile: &str) -> Result<String, IpamError> {
    if !pool.is_empty() {
        return Ok(pool.to_owned());
    }
    if !config.port_profiles.contains_key(profile) {
        return Err(IpamError::NoSuchProfile(profile.to_owned()));
    }
    config::profile_ip_pool(config, profile)
        .map_err(|e| IpamError::BrokenProfile { profile: profile.to_owned(), reason: e.message })?
        .ok_or_else(|| IpamError::NoPoolOnProfile(profile.to_owned()))
}

/// `AllocateAddress`: the owner's address in the pool, allocating one when it holds none.
pub async fn allocate(journal: &Journal, request: &Request<'_>) -> Result<Allocated, IpamError> {
    let (config, _) = crate::config_store::read(journal).await?;
    let pool_name = pool_of(&config, request.pool, request.profile)?;
    let pool = config.ip_pools.get(&pool_name).ok_or_else(|| IpamError::NoSuchPool(pool_name.clone()))?;
    let network = pool.network.ok_or_else(|| IpamError::NoNetwork(pool_name.clone()))?;
    let set = pool.allocatable();
    let answer = |address, new| Allocated {
        pool: pool_name.clone(),
        address,
        network,
        default_router: pool.default_router,
        new,
    };
    let mut writer = journal.writer().await;
    for _ in 0..MAX_ATTEMPTS {
        let store = writer.store().clone();
        let generation = generation(store.as_ref()).await?;
        let held: BTreeMap<Ipv4Addr, Allocation> =
            read(store.as_ref(), &ipam_pool_prefix(&pool_name), Some(&pool_name))
                .await?
                .into_iter()
                .map(|s| (s.address, s.allocation))
                .collect();
        let address = match choose(&pool_name, &set, &held, request.module, request.owner, request.address)? {
            Choice::Held(address) => return Ok(answer(address, false)),
            Choice::New(address) => address,
        };
        let allocation = Allocation {
            module: request.module,
            owner: request.owner.to_owned(),
            owner_name: request.owner_name.to_owned(),
            allocated_at: unix_ms_now(),
        };
        let key = ipam_key(&pool_name, address);
        let value = serde_json::to_vec(&allocation).map_err(|e| store::StoreError::Io(e.to_string()))?;
        let write = Write {
            // Absent, whatever the generation says (a store written by an older supervisor).
            compare: vec![Compare::ModRevision(key.clone(), 0)],
            ops: vec![Op::Put { key, value }],
            events: Vec::new(),
        };
        if writer.try_commit(guarded(write, generation)).await?.is_some() {
            return Ok(answer(address, true));
        }
    }
    Err(IpamError::Contended)
}

/// Deletes `chosen` (with `events`) in one guarded transaction; how many.
async fn delete(
    writer: &mut Writer<'_>,
    generation: (u64, Revision),
    chosen: &[Stored],
    events: Vec<Event>,
) -> Result<Option<u32>, IpamError> {
    if chosen.is_empty() {
        return Ok(Some(0));
    }
    let mut write = Write { events, ..Write::default() };
    for stored in chosen {
        let key = ipam_key(&stored.pool, stored.address);
        write.compare.push(Compare::ModRevision(key.clone(), stored.revision));
        write.ops.push(Op::Delete { key });
    }
    let committed = writer.try_commit(guarded(write, generation)).await?;
    Ok(committed.map(|_| u32::try_from(chosen.len()).unwrap_or(u32::MAX)))
}

/// Frees the allocations `select` picks from every one there is, re-planning on a lost race;
/// `events` describes what was picked.
async fn free_where(
    journal: &Journal,
    select: impl Fn(&Stored) -> bool,
    events: impl Fn(&[Stored]) -> Vec<Event>,
) -> Result<u32, IpamError> {
    let mut writer = journal.writer().await;
    for _ in 0..MAX_ATTEMPTS {
        let store = writer.store().clone();
        let generation = generation(store.as_ref()).await?;
        let chosen: Vec<Stored> = read_all(store.as_ref()).await?.into_iter().filter(|s| select(s)).collect();
        let events = events(&chosen);
        if let Some(freed) = delete(&mut writer, generation, &chosen, events).await? {
            return Ok(freed);
        }
    }
    Err(IpamError::Contended)
}

/// `ReleaseAddress`: `module`'s allocations owned by `owner` (when given), or its one `address`
/// of `pool` (when given). What is not the module's is left alone.
pub async fn release(
    journal: &Journal,
    module: u32,
    owner: Option<&str>,
    at: Option<(&str, Ipv4Addr)>,
) -> Result<u32, IpamError> {
    free_where(
        journal,
        |s| {
            s.allocation.module == module
                && owner.is_none_or(|o| s.allocation.owner == o)
                && at.is_none_or(|(pool, address)| s.pool == pool && s.address == address)
        },
        |_| Vec::new(),
    )
    .await
}

/// The port with this iface-id detached from `module`: its addresses go.
pub async fn release_owner(journal: &Journal, module: u32, owner: &str) -> Result<u32, IpamError> {
    release(journal, module, Some(owner), None).await
}

/// `no module N`: every address of the module goes.
pub async fn release_module(journal: &Journal, module: u32) -> Result<u32, IpamError> {
    free_where(journal, |s| s.allocation.module == module, |_| Vec::new()).await
}

/// The leak collector: frees `module`'s allocations older than `grace` that are not in `held`
/// (pool, address), logging `%IPAM-4-ADDRESS_RECLAIMED` for each.
pub async fn collect_leaks(
    journal: &Journal,
    module: u32,
    held: &BTreeSet<(String, Ipv4Addr)>,
    grace: Duration,
) -> Result<u32, IpamError> {
    let now = unix_ms_now();
    let grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
    let leaked = |s: &Stored| {
        s.allocation.module == module
            && s.allocation.allocated_at.saturating_add(grace_ms) <= now
            && !held.contains(&(s.pool.clone(), s.address))
    };
    // Most reports free nothing: a read, no write.
    let any = read_all(journal.store().as_ref()).await?.iter().any(leaked);
    if !any {
        return Ok(0);
    }
    free_where(journal, leaked, |chosen| {
        chosen
            .iter()
            .map(|s| Event::address_reclaimed(&s.pool, s.address, &s.allocation.owner, module, grace))
            .collect()
    })
    .await
}

/// What `DescribePool` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub name: String,
    pub network: config::Ipv4Network,
    pub default_router: Option<Ipv4Addr>,
    /// Only when looked up by profile.
    pub mtu: Option<u32>,
    pub size: u64,
    pub used: u64,
}

/// How `DescribePool` looks a pool up.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    Profile(&'a str),
    Pool(&'a str),
    Network(config::Ipv4Network),
}

/// `DescribePool`.
pub async fn describe(journal: &Journal, lookup: Lookup<'_>) -> Result<Described, IpamError> {
    let (config, _) = crate::config_store::read(journal).await?;
    let (name, mtu) = match lookup {
        Lookup::Profile(profile) => {
            let name = pool_of(&config, "", profile)?;
            let policy = config::evaluate(&config, profile)
                .map_err(|e| IpamError::BrokenProfile { profile: profile.to_owned(), reason: e.message })?;
            (name, Some(if policy.bridge_domain.is_some() { OVERLAY_MTU } else { VLAN_MTU }))
        }
        Lookup::Pool(pool) => (pool.to_owned(), None),
        Lookup::Network(network) => {
            let name = config
                .ip_pools
                .iter()
                .find(|(_, p)| p.network == Some(network))
                .map(|(name, _)| name.clone())
                .ok_or_else(|| IpamError::NoPoolForNetwork(network.to_string()))?;
            (name, None)
        }
    };
    let pool = config.ip_pools.get(&name).ok_or_else(|| IpamError::NoSuchPool(name.clone()))?;
    let network = pool.network.ok_or_else(|| IpamError::NoNetwork(name.clone()))?;
    let used = read(journal.store().as_ref(), &ipam_pool_prefix(&name), Some(&name)).await?.len();
    Ok(Described {
        network,
        default_router: pool.default_router,
        mtu,
        size: pool.allocatable().size(),
        used: u64::try_from(used).unwrap_or(u64::MAX),
        name,
    })
}
