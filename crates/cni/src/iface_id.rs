//! The port identity an attachment has at the agent: `cni:<network>:<container id>:<ifname>`.
//!
//! Network names and container ids are `[a-zA-Z0-9][a-zA-Z0-9_.-]*` by the spec and interface
//! names never hold `:`, so the three parts parse back uniquely, and two distinct attachments
//! never share an id. The agent derives the host-end veth name from this id.

use std::fmt;

use crate::error::{CniError, ErrorCode};

/// What every CNI port's iface_id starts with, so `GC` can tell them from other ports.
pub const PREFIX: &str = "cni:";

/// The longest iface_id accepted, in bytes (room under the agent's 255-byte limit).
pub const MAX_LEN: usize = 230;

/// The longest interface name Linux accepts (IFNAMSIZ - 1).
const MAX_IFNAME_LEN: usize = 15;

/// One attachment's identity: which network, which container, which interface inside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IfaceId {
    network: String,
    container_id: String,
    ifname: String,
}

/// Why an attachment cannot be named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IfaceIdError {
    /// The network `name` breaks the spec's rule.
    #[error(
        "network name {0:?} is invalid: it must start with a letter or digit, followed by letters, digits, '_', '.' or '-'"
    )]
    BadNetworkName(String),
    /// CNI_CONTAINERID breaks the spec's rule.
    #[error(
        "CNI_CONTAINERID {0:?} is invalid: it must start with a letter or digit, followed by letters, digits, '_', '.' or '-'"
    )]
    BadContainerId(String),
    /// CNI_IFNAME is not a name Linux accepts.
    #[error(
        "CNI_IFNAME {0:?} is invalid: an interface name is 1-15 bytes without '/', ':' or whitespace, and not '.' or '..'"
    )]
    BadIfname(String),
    /// The whole id is longer than the agent accepts.
    #[error(
        "the port id {0:?} is {len} bytes, over {MAX_LEN}: shorten the network name or the container id",
        len = .0.len()
    )]
    TooLong(String),
    /// A port id that is not a CNI attachment's.
    #[error("{0:?} is not a CNI port id (cni:<network>:<container id>:<ifname>)")]
    NotCni(String),
}

impl IfaceIdError {
    /// The spec error this becomes: code 4 names an environment variable, 7 the configuration.
    pub fn into_cni(self) -> CniError {
        let code = match self {
            Self::BadContainerId(_) | Self::BadIfname(_) => ErrorCode::InvalidEnvironment,
            Self::BadNetworkName(_) | Self::TooLong(_) | Self::NotCni(_) => ErrorCode::InvalidConfig,
        };
        let msg = match code {
            ErrorCode::InvalidEnvironment => "Invalid environment variable",
            _ => "Invalid network configuration",
        };
        CniError::new(code, msg, self.to_string())
    }
}

/// Whether `text` follows the spec's rule for network names and container ids.
pub fn is_valid_cni_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Whether Linux accepts `text` as an interface name (and it has no `:`, which aliases use).
pub fn is_valid_ifname(text: &str) -> bool {
    (1..=MAX_IFNAME_LEN).contains(&text.len())
        && text != "."
        && text != ".."
        && !text.chars().any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
}

impl IfaceId {
    /// Names an attachment, checking each part.
    pub fn new(network: &str, container_id: &str, ifname: &str) -> Result<Self, IfaceIdError> {
        if !is_valid_cni_name(network) {
            return Err(IfaceIdError::BadNetworkName(network.into()));
        }
        if !is_valid_cni_name(container_id) {
            return Err(IfaceIdError::BadContainerId(container_id.into()));
        }
        if !is_valid_ifname(ifname) {
            return Err(IfaceIdError::BadIfname(ifname.into()));
        }
        let id = Self { network: network.into(), container_id: container_id.into(), ifname: ifname.into() };
        let text = id.to_string();
        if text.len() > MAX_LEN {
            return Err(IfaceIdError::TooLong(text));
        }
        Ok(id)
    }

    /// Reads an id back from the agent's list of ports.
    pub fn parse(text: &str) -> Result<Self, IfaceIdError> {
        let rest = text.strip_prefix(PREFIX).ok_or_else(|| IfaceIdError::NotCni(text.into()))?;
        let mut parts = rest.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(network), Some(container_id), Some(ifname)) => Self::new(network, container_id, ifname),
            _ => Err(IfaceIdError::NotCni(text.into())),
        }
    }

    /// The network (`name` of the configuration).
    pub fn network(&self) -> &str {
        &self.network
    }

    /// The container (CNI_CONTAINERID).
    pub fn container_id(&self) -> &str {
        &self.container_id
    }

    /// The interface inside the container (CNI_IFNAME).
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The prefix every port of `network` starts with.
    pub fn network_prefix(network: &str) -> String {
        format!("{PREFIX}{network}:")
    }
}

impl fmt::Display for IfaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}:{}:{}", self.network, self.container_id, self.ifname)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    const NAME: &str = "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,40}";
    const IFNAME: &str = "[a-zA-Z0-9_.@-]{1,15}";

    #[test]
    fn formats_the_agreed_shape() {
        let id = IfaceId::new("web", "0123abcd", "eth0").unwrap();
        assert_eq!(id.to_string(), "cni:web:0123abcd:eth0");
    }

    #[test]
    fn refuses_bad_parts_with_the_right_code() {
        let cases = [
            (IfaceId::new("-web", "c1", "eth0"), ErrorCode::InvalidConfig),
            (IfaceId::new("web", "c:1", "eth0"), ErrorCode::InvalidEnvironment),
            (IfaceId::new("web", "", "eth0"), ErrorCode::InvalidEnvironment),
            (IfaceId::new("web", "c1", "eth:0"), ErrorCode::InvalidEnvironment),
            (IfaceId::new("web", "c1", "a-name-of-16-byt"), ErrorCode::InvalidEnvironment),
            (IfaceId::new("web", "c1", ".."), ErrorCode::InvalidEnvironment),
            (IfaceId::new("web", "c1", "eth 0"), ErrorCode::InvalidEnvironment),
            (IfaceId::new("web", &"c".repeat(230), "eth0"), ErrorCode::InvalidConfig),
        ];
        for (result, code) in cases {
            assert_eq!(result.unwrap_err().into_cni().code, code);
        }
    }

    #[test]
    fn parse_refuses_other_ports() {
        assert!(matches!(IfaceId::parse("docker:abc"), Err(IfaceIdError::NotCni(_))));
        assert!(matches!(IfaceId::parse("cni:web:c1"), Err(IfaceIdError::NotCni(_))));
        assert!(IfaceId::parse("cni:web:c1:eth0:x").is_err());
    }

    proptest! {
        #[test]
        fn round_trips(network in NAME, cid in NAME, ifname in IFNAME) {
            prop_assume!(ifname != "." && ifname != "..");
            let id = IfaceId::new(&network, &cid, &ifname).unwrap();
            prop_assert_eq!(IfaceId::parse(&id.to_string()).unwrap(), id);
        }

        #[test]
        fn distinct_attachments_get_distinct_ids(
            a in (NAME, NAME, IFNAME),
            b in (NAME, NAME, IFNAME),
        ) {
            prop_assume!(a != b);
            prop_assume!(![&a.2, &b.2].iter().any(|name| *name == "." || *name == ".."));
            let id_a = IfaceId::new(&a.0, &a.1, &a.2).unwrap().to_string();
            let id_b = IfaceId::new(&b.0, &b.1, &b.2).unwrap().to_string();
            prop_assert_ne!(id_a, id_b);
        }
    }
}
