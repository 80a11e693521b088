//! What the agent tells the supervisor about its host: hardware string and addresses.
//!
//! Read from `/proc` (no libc calls); the parsers are pure and tested on captured text.

use std::collections::BTreeSet;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A one-line description of the host, e.g. `Linux 6.1.0-18-amd64 x86_64`.
pub fn hardware() -> String {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let release = release.trim();
    let release = if release.is_empty() { "unknown" } else { release };
    format!("Linux {release} {}", std::env::consts::ARCH)
}

/// The host's addresses other than loopback and link-local, IPv4 first. Empty when `/proc`
/// cannot be read; the supervisor only displays them.
pub fn addresses() -> Vec<IpAddr> {
    let v4 =
        fs::read_to_string("/proc/net/fib_trie").map(|text| local_ipv4_addresses(&text)).unwrap_or_default();
    let v6 =
        fs::read_to_string("/proc/net/if_inet6").map(|text| global_ipv6_addresses(&text)).unwrap_or_default();
    v4.into_iter().map(IpAddr::V4).chain(v6.into_iter().map(IpAddr::V6)).collect()
}

/// The addresses `/proc/net/fib_trie` marks `/32 host LOCAL` (assigned to this host), minus
/// loopback and link-local, sorted and without duplicates (the trie lists each table).
fn local_ipv4_addresses(fib_trie: &str) -> Vec<Ipv4Addr> {
    let mut found = BTreeSet::new();
    let mut last_leaf: Option<Ipv4Addr> = None;
    for line in fib_trie.lines() {
        let line = line.trim();
        if let Some(leaf) = line.strip_prefix("|-- ") {
            last_leaf = leaf.parse().ok();
        } else if line.starts_with("/32 host LOCAL")
            && let Some(addr) = last_leaf.filter(|a| !a.is_loopback() && !a.is_link_local())
        {
            found.insert(addr);
        }
    }
    found.into_iter().collect()
}

/// The global-scope addresses in `/proc/net/if_inet6` (32 hex digits, ifindex, prefix length,
/// scope, flags, interface name per line).
fn global_ipv6_addresses(if_inet6: &str) -> Vec<Ipv6Addr> {
    const SCOPE_GLOBAL: &str = "00";
    let mut found = BTreeSet::new();
    for line in if_inet6.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [hex, _index, _prefix, scope, ..] = fields[..] else {
            continue;
        };
        if scope != SCOPE_GLOBAL {
            continue;
        }
        if let Ok(bits) = u128::from_str_radix(hex, 16) {
            let addr = Ipv6Addr::from(bits);
            if !addr.is_loopback() {
                found.insert(addr);
            }
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIB_TRIE: &str = "\
Main:
  +-- 0.0.0.0/0 3 0 4
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 192.0.2.0/24 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
           |-- 169.254.1.1
              /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 4
           |-- 10.77.0.11
              /32 host LOCAL
           |-- 192.0.2.2
              /32 host LOCAL
";

    const IF_INET6: &str = "\
fd000000000000000000000000000002 04 40 00 82     eth0
00000000000000000000000000000001 01 80 10 80       lo
fe8000000000000000fc00fffe000001 04 40 20 80     eth0
garbage
";

    #[test]
    fn ipv4_keeps_local_host_routes_except_loopback_and_link_local() {
        let found = local_ipv4_addresses(FIB_TRIE);
        let expected: Vec<Ipv4Addr> = vec![[10, 77, 0, 11].into(), [192, 0, 2, 2].into()];
        assert_eq!(found, expected);
    }

    #[test]
    fn ipv6_keeps_global_scope_only() {
        let found = global_ipv6_addresses(IF_INET6);
        assert_eq!(found, vec!["fd00::2".parse::<Ipv6Addr>().expect("addr")]);
    }

    #[test]
    fn hardware_names_kernel_and_architecture() {
        let hw = hardware();
        assert!(hw.starts_with("Linux "), "{hw}");
        assert!(hw.ends_with(std::env::consts::ARCH), "{hw}");
    }
}
