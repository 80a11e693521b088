//! IPv4 addresses with a prefix length, as Docker writes them ("10.99.0.5/24").

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A text that is not an IPv4 address with a prefix length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("'{0}' is not an IPv4 address with a prefix length (like 10.99.0.0/24)")]
    Malformed(String),
    #[error("'{0}' has a prefix length over 32")]
    PrefixTooLong(String),
}

/// An IPv4 address and a prefix length; the address may have host bits set (an interface's
/// address) or not (a network).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
}

impl Cidr {
    /// The network this address is in: host bits cleared.
    pub fn network(self) -> Cidr {
        let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix_len)).unwrap_or(0);
        Cidr { address: Ipv4Addr::from(u32::from(self.address) & mask), prefix_len: self.prefix_len }
    }

    /// Whether `address` lies inside this network.
    pub fn contains(self, address: Ipv4Addr) -> bool {
        Cidr { address, prefix_len: self.prefix_len }.network() == self.network()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, CidrError> {
        let malformed = || CidrError::Malformed(text.to_owned());
        let (address, prefix_len) = text.split_once('/').ok_or_else(malformed)?;
        let address: Ipv4Addr = address.parse().map_err(|_| malformed())?;
        let prefix_len: u8 = prefix_len.parse().map_err(|_| malformed())?;
        if prefix_len > 32 {
            return Err(CidrError::PrefixTooLong(text.to_owned()));
        }
        Ok(Cidr { address, prefix_len })
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_prints_and_finds_the_network() {
        let cidr: Cidr = "10.99.0.5/24".parse().unwrap();
        assert_eq!(cidr.to_string(), "10.99.0.5/24");
        assert_eq!(cidr.network().to_string(), "10.99.0.0/24");
        assert!(cidr.contains(Ipv4Addr::new(10, 99, 0, 200)));
        assert!(!cidr.contains(Ipv4Addr::new(10, 99, 1, 1)));
        assert_eq!("0.0.0.0/0".parse::<Cidr>().unwrap().network().to_string(), "0.0.0.0/0");
        assert!(Cidr { address: Ipv4Addr::new(1, 2, 3, 4), prefix_len: 0 }.contains(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn refuses_what_is_not_a_cidr() {
        for bad in ["10.99.0.0", "10.99.0.0/", "10.99.0/24", "10.99.0.0/x", "fe80::1/64", ""] {
            assert!(matches!(bad.parse::<Cidr>(), Err(CidrError::Malformed(_))), "{bad}");
        }
        assert_eq!("10.0.0.0/33".parse::<Cidr>(), Err(CidrError::PrefixTooLong("10.0.0.0/33".into())));
    }
}
