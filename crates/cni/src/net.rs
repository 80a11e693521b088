//! Addresses, routes and DNS settings as CNI writes them (`"10.1.0.5/16"`, `{"dst","gw"}`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An address with its prefix length: `10.1.0.5/16`, `fd00::5/64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    /// The address (host bits kept: this is an interface address, not only a network).
    pub addr: IpAddr,
    /// The prefix length: at most 32 for IPv4, 128 for IPv6.
    pub prefix: u8,
}

/// Why a string is not an address in CIDR notation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// No `/` between address and prefix.
    #[error("{0:?} has no prefix length: write it as address/prefix, e.g. 10.1.0.5/16")]
    NoPrefix(String),
    /// The part before `/` is not an address.
    #[error("{0:?} is not an IPv4 or IPv6 address")]
    BadAddress(String),
    /// The prefix is not a number or too long for the family.
    #[error("{0:?} has a prefix length out of range (0-32 for IPv4, 0-128 for IPv6)")]
    BadPrefix(String),
}

impl Cidr {
    /// Whether this is an IPv4 address.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = text.split_once('/').ok_or_else(|| CidrError::NoPrefix(text.into()))?;
        let addr: IpAddr = addr.parse().map_err(|_| CidrError::BadAddress(text.into()))?;
        let prefix: u8 = prefix.parse().map_err(|_| CidrError::BadPrefix(text.into()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(CidrError::BadPrefix(text.into()));
        }
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A route the attachment installs in the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The destination network.
    pub dst: Cidr,
    /// The next hop; when absent, the gateway of the matching address is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<IpAddr>,
}

/// Resolver settings for the container (`dns` in configuration and results).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    /// Nameservers, most preferred first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    /// The local domain for short names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Search domains, most preferred first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
    /// Resolver options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl Dns {
    /// Whether nothing is set (a result then omits `dns`).
    pub fn is_empty(&self) -> bool {
        self.nameservers.is_empty()
            && self.domain.is_none()
            && self.search.is_empty()
            && self.options.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cidr_round_trips_both_families() {
        for text in ["10.1.0.5/16", "fd00::5/64", "0.0.0.0/0", "::/0"] {
            assert_eq!(text.parse::<Cidr>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn cidr_refuses_what_is_not_one() {
        assert!(matches!("10.1.0.5".parse::<Cidr>(), Err(CidrError::NoPrefix(_))));
        assert!(matches!("10.1.0/16".parse::<Cidr>(), Err(CidrError::BadAddress(_))));
        assert!(matches!("10.1.0.5/33".parse::<Cidr>(), Err(CidrError::BadPrefix(_))));
        assert!(matches!("fd00::5/129".parse::<Cidr>(), Err(CidrError::BadPrefix(_))));
        assert!(matches!("10.1.0.5/x".parse::<Cidr>(), Err(CidrError::BadPrefix(_))));
    }
}
