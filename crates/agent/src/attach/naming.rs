//! Names and addresses derived from an iface-id: the host end's interface name, its alias, and
//! the generated MAC. Pure and stable across builds and hosts, so an agent that restarts (or a
//! second `attach` of the same iface-id) finds the same host end again.

use wire::MacAddr;

use super::AttachError;

/// The longest interface name Linux accepts (`IFNAMSIZ` less the terminating NUL).
pub const MAX_IFNAME_LEN: usize = 15;

/// How many host-end names one iface-id may try: `sy<hash>_0` … `sy<hash>_9`. The index moves
/// past 0 only when another iface-id's hash collides (one chance in 2^40 per pair).
pub const HOST_NAME_CANDIDATES: u8 = 10;

/// The prefix of the alias (`ip link show` prints it) that marks a host end as Switchyard's and
/// carries its iface-id: `switchyard iface-id=<id>`.
const ALIAS_PREFIX: &str = "switchyard iface-id=";

/// The longest iface-id accepted: the alias must fit the kernel's `IFALIASZ` (256, with NUL).
pub const MAX_IFACE_ID_LEN: usize = 255 - ALIAS_PREFIX.len();

/// The host end's name for `iface_id`, candidate `index`: `sy` + 40 bits of hash in hex + `_` +
/// index, 14 characters.
pub fn host_ifname(iface_id: &str, index: u8) -> String {
    let hash = fnv1a64(&[b"host-ifname\0", iface_id.as_bytes()]) >> 24;
    format!("sy{hash:010x}_{index}")
}

/// The MAC a port gets when none is given: locally administered, unicast, from the iface-id.
pub fn generated_mac(iface_id: &str) -> MacAddr {
    let hash = fnv1a64(&[b"mac\0", iface_id.as_bytes()]).to_be_bytes();
    let mut bytes = [0u8; 6];
    bytes.copy_from_slice(&hash[..6]);
    // Clear the group bit, set the locally-administered bit.
    bytes[0] = (bytes[0] & 0xfc) | 0x02;
    MacAddr(bytes)
}

/// The alias written on a host end.
pub(crate) fn alias_for(iface_id: &str) -> String {
    format!("{ALIAS_PREFIX}{iface_id}")
}

/// The iface-id an alias carries, if it is one of ours.
pub(crate) fn iface_id_from_alias(alias: &str) -> Option<&str> {
    alias.strip_prefix(ALIAS_PREFIX).filter(|id| !id.is_empty())
}

/// Checks a name the kernel will accept for an interface (`dev_valid_name`).
pub fn validate_ifname(name: &str) -> Result<(), AttachError> {
    let problem = if name.is_empty() {
        Some("is empty")
    } else if name.len() > MAX_IFNAME_LEN {
        Some("is too long (at most 15 characters)")
    } else if name == "." || name == ".." {
        Some("is reserved")
    } else if name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control()) {
        Some("may not contain '/', ':' or spaces")
    } else {
        None
    };
    match problem {
        Some(problem) => {
            Err(AttachError::InvalidName { kind: "interface name", name: name.to_owned(), problem })
        }
        None => Ok(()),
    }
}

/// Checks an iface-id: it must fit in the host end's alias and print on one line.
pub fn validate_iface_id(iface_id: &str) -> Result<(), AttachError> {
    let problem = if iface_id.is_empty() {
        Some("is empty")
    } else if iface_id.len() > MAX_IFACE_ID_LEN {
        Some("is too long (at most 235 characters)")
    } else if iface_id.chars().any(char::is_control) {
        Some("may not contain control characters")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(AttachError::InvalidIfaceId { iface_id: iface_id.to_owned(), problem }),
        None => Ok(()),
    }
}

/// FNV-1a, 64 bits: tiny, and unlike `std`'s hashers fixed forever, which names that must
/// survive upgrades need.
fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.iter().flat_map(|part| part.iter()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "5a2f6c3e-9d1b-4f7a-8c2e-0b1d3e5f7a9c";

    #[test]
    fn host_names_are_stable_short_and_distinct() {
        let first = host_ifname(UUID, 0);
        // Pinned: a change here renames every host end of a running agent.
        assert_eq!(first, "syd880decbf2_0");
        assert_eq!(first.len(), 14);
        assert!(validate_ifname(&first).is_ok());
        assert_eq!(host_ifname(UUID, 0), first);
        assert_eq!(host_ifname(UUID, 9), "syd880decbf2_9");
        assert_ne!(host_ifname("another", 0), first);
    }

    #[test]
    fn generated_macs_are_local_unicast_and_stable() {
        let mac = generated_mac(UUID);
        assert!(mac.is_local() && mac.is_unicast() && !mac.is_zero(), "{mac}");
        assert_eq!(generated_mac(UUID), mac);
        assert_ne!(generated_mac("another"), mac);
        for id in ["", "a", "b", "web1-eth0", UUID] {
            let mac = generated_mac(id);
            assert!(mac.is_local() && mac.is_unicast(), "{id}: {mac}");
        }
    }

    #[test]
    fn alias_round_trips() {
        assert_eq!(iface_id_from_alias(&alias_for(UUID)), Some(UUID));
        assert_eq!(iface_id_from_alias("switchyard iface-id="), None);
        assert_eq!(iface_id_from_alias("docker0"), None);
        let longest = "x".repeat(MAX_IFACE_ID_LEN);
        assert!(validate_iface_id(&longest).is_ok());
        assert_eq!(alias_for(&longest).len(), 255);
    }

    #[test]
    fn ifnames_are_checked_like_the_kernel_does() {
        for good in ["eth0", "net1", "a", "abcdefghijklmno", "eth-0.100"] {
            assert!(validate_ifname(good).is_ok(), "{good}");
        }
        let error = validate_ifname("abcdefghijklmnop").expect_err("16 characters");
        assert_eq!(
            error.to_string(),
            "interface name 'abcdefghijklmnop' is too long (at most 15 characters)"
        );
        for bad in ["", ".", "..", "eth/0", "eth:0", "eth 0", "eth\n"] {
            assert!(validate_ifname(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn iface_ids_are_checked() {
        assert!(validate_iface_id(UUID).is_ok());
        assert!(validate_iface_id("").is_err());
        assert!(validate_iface_id(&"x".repeat(MAX_IFACE_ID_LEN + 1)).is_err());
        assert!(validate_iface_id("a\u{7}b").is_err());
    }
}
