//! Names the plugin derives from Docker's ids: the container end of a port's veth pair, and a
//! MAC for endpoints Docker gives none.

use sha2::{Digest, Sha256};

/// Linux interface names are at most 15 bytes.
pub const MAX_IFNAME_LEN: usize = 15;

const CONTAINER_END_PREFIX: &str = "syd";

/// The name of the container end of `endpoint_id`'s veth pair: "syd" and 12 hex digits of a
/// hash of the id (and of `attempt`, which the caller raises past a name another endpoint
/// already uses, so two endpoints never share one).
pub fn container_end_name(endpoint_id: &str, attempt: u32) -> String {
    let digest = Sha256::new().chain_update(endpoint_id).chain_update(attempt.to_be_bytes()).finalize();
    let hex_len = MAX_IFNAME_LEN - CONTAINER_END_PREFIX.len();
    let mut name = String::with_capacity(MAX_IFNAME_LEN);
    name.push_str(CONTAINER_END_PREFIX);
    for byte in digest.iter().take(hex_len / 2) {
        name.push_str(&format!("{byte:02x}"));
    }
    name
}

/// The MAC of an endpoint with an IPv4 address when the user gave none: `02:42` and the address,
/// as Docker's own bridge driver makes it. The same address always brings the same MAC, so a
/// container that leaves and comes back (`docker network disconnect`/`connect`, a restart) is
/// not cut off by its peers' ARP caches still holding a random MAC of before.
pub fn address_mac(address: std::net::Ipv4Addr) -> String {
    let [a, b, c, d] = address.octets();
    format!("02:42:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

/// A locally administered unicast MAC derived from the endpoint id, for an endpoint without an
/// IPv4 address.
pub fn endpoint_mac(endpoint_id: &str) -> String {
    let digest = Sha256::digest(endpoint_id.as_bytes());
    let mut octets = [0x02, 0x53, 0, 0, 0, 0];
    octets[2..].copy_from_slice(&digest[..4]);
    octets.iter().map(|octet| format!("{octet:02x}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn container_end_names_fit_and_differ() {
        let name = container_end_name("3e1f00aa", 0);
        assert_eq!(name.len(), MAX_IFNAME_LEN);
        assert!(name.starts_with("syd"));
        assert_eq!(name, container_end_name("3e1f00aa", 0), "stable");
        assert_ne!(name, container_end_name("3e1f00aa", 1));
        assert_ne!(name, container_end_name("3e1f00ab", 0));
    }

    #[test]
    fn an_address_gives_dockers_mac() {
        assert_eq!(address_mac(std::net::Ipv4Addr::new(10, 100, 0, 11)), "02:42:0a:64:00:0b");
    }

    #[test]
    fn macs_are_local_unicast_and_stable() {
        let mac = endpoint_mac("3e1f00aa");
        assert!(mac.starts_with("02:53:"), "{mac}");
        assert_eq!(mac.len(), 17);
        assert_eq!(mac, endpoint_mac("3e1f00aa"));
        assert_ne!(mac, endpoint_mac("3e1f00ab"));
    }
}
