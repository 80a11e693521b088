//! Choosing an address, pure: from a pool's allocatable set and its current allocations.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use config::Allocatable;

use super::{Allocation, IpamError, MODULE_SHARE};

/// What an allocation request comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// The owner holds this one already: answer with it, write nothing.
    Held(Ipv4Addr),
    /// Allocate this one.
    New(Ipv4Addr),
}

/// The address for `owner` on `module` in `pool`: the one it holds, the one it asked for, or the
/// next free one.
pub fn choose(
    pool: &str,
    set: &Allocatable,
    held: &BTreeMap<Ipv4Addr, Allocation>,
    module: u32,
    owner: &str,
    asked: Option<Ipv4Addr>,
) -> Result<Choice, IpamError> {
    let own = held.iter().find(|(_, a)| a.module == module && a.owner == owner).map(|(address, _)| *address);
    match (own, asked) {
        (Some(address), None) => return Ok(Choice::Held(address)),
        (Some(address), Some(asked)) if address == asked => return Ok(Choice::Held(address)),
        (Some(held), Some(asked)) => {
            return Err(IpamError::OwnerHoldsAnother {
                pool: pool.to_owned(),
                owner: owner.to_owned(),
                held,
                asked,
            });
        }
        (None, _) => {}
    }
    let module_holds = held.values().filter(|a| a.module == module).count();
    if module_holds >= MODULE_SHARE {
        return Err(IpamError::ModuleShare { pool: pool.to_owned(), module, held: module_holds });
    }
    if let Some(address) = asked {
        if !set.contains(address) {
            return Err(IpamError::NotAllocatable { pool: pool.to_owned(), address });
        }
        if held.contains_key(&address) {
            return Err(IpamError::Taken { pool: pool.to_owned(), address });
        }
        return Ok(Choice::New(address));
    }
    let taken: BTreeSet<Ipv4Addr> = held.keys().copied().collect();
    set.next_free(&taken)
        .map(Choice::New)
        .ok_or_else(|| IpamError::Full { pool: pool.to_owned(), size: set.size() })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use config::IpPool;

    use super::*;

    fn set() -> Allocatable {
        IpPool { network: Some("10.0.0.0/30".parse().unwrap()), ..IpPool::default() }.allocatable()
    }

    fn alloc(module: u32, owner: &str) -> Allocation {
        Allocation { module, owner: owner.into(), owner_name: String::new(), allocated_at: 0 }
    }

    fn a(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, last)
    }

    #[test]
    fn one_module_cannot_take_a_whole_pool() {
        let set = IpPool { network: Some("10.0.0.0/16".parse().unwrap()), ..IpPool::default() }.allocatable();
        let mut held: BTreeMap<Ipv4Addr, Allocation> = (0..MODULE_SHARE)
            .map(|n| (Ipv4Addr::from(0x0a00_0001 + u32::try_from(n).unwrap()), alloc(3, &format!("o{n}"))))
            .collect();
        let refused = choose("p", &set, &held, 3, "one-more", None).unwrap_err();
        assert!(matches!(refused, IpamError::ModuleShare { module: 3, held: MODULE_SHARE, .. }), "{refused}");
        // What it holds it still gets back; another module still gets addresses.
        assert_eq!(
            choose("p", &set, &held, 3, "o0", None).unwrap(),
            Choice::Held(Ipv4Addr::new(10, 0, 0, 1))
        );
        assert!(matches!(choose("p", &set, &held, 4, "x", None).unwrap(), Choice::New(_)));
        held.pop_first();
        assert!(matches!(choose("p", &set, &held, 3, "one-more", None).unwrap(), Choice::New(_)));
    }

    #[test]
    fn the_same_owner_gets_its_address_back_and_others_the_next() {
        let mut held = BTreeMap::new();
        assert_eq!(choose("p", &set(), &held, 3, "x", None).unwrap(), Choice::New(a(1)));
        held.insert(a(1), alloc(3, "x"));
        assert_eq!(choose("p", &set(), &held, 3, "x", None).unwrap(), Choice::Held(a(1)));
        assert_eq!(choose("p", &set(), &held, 3, "x", Some(a(1))).unwrap(), Choice::Held(a(1)));
        // The same owner name on another module is another owner.
        assert_eq!(choose("p", &set(), &held, 4, "x", None).unwrap(), Choice::New(a(2)));
        assert!(matches!(
            choose("p", &set(), &held, 3, "x", Some(a(2))),
            Err(IpamError::OwnerHoldsAnother { .. })
        ));
    }

    #[test]
    fn asked_addresses_must_be_free_and_allocatable() {
        let held = BTreeMap::from([(a(1), alloc(3, "x"))]);
        assert!(matches!(choose("p", &set(), &held, 4, "y", Some(a(1))), Err(IpamError::Taken { .. })));
        assert!(matches!(
            choose("p", &set(), &held, 4, "y", Some(a(3))),
            Err(IpamError::NotAllocatable { .. })
        ));
        assert_eq!(choose("p", &set(), &held, 4, "y", Some(a(2))).unwrap(), Choice::New(a(2)));
    }

    #[test]
    fn a_full_pool_says_its_size() {
        let held = BTreeMap::from([(a(1), alloc(3, "x")), (a(2), alloc(3, "y"))]);
        let e = choose("p", &set(), &held, 3, "z", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ip pool p is full: all 2 of its addresses are allocated; release some, or widen its range"
        );
    }
}
