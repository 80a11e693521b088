//! The ADD result (section 5), parsed from IPAM plugins and `prevResult`, rendered per version.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::{CniError, ErrorCode};
use crate::net::{Cidr, Dns, Route};
use crate::version::CniVersion;

/// An interface the attachment created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Its name.
    pub name: String,
    /// Its MAC address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Its MTU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// The network namespace it is in; absent for the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
}

/// An address the attachment assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpConfig {
    /// The address with its prefix length.
    pub address: Cidr,
    /// The gateway of its subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// The index in `interfaces` of the interface holding it (absent in IPAM results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<usize>,
}

/// A success result, version-free; [`CniResult::render`] writes it in a given version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CniResult {
    /// Interfaces created, host ones included.
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    /// Addresses assigned.
    #[serde(default)]
    pub ips: Vec<IpConfig>,
    /// Routes installed.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Resolver settings.
    #[serde(default)]
    pub dns: Dns,
}

/// `IpConfig` as written before 1.0.0: with `"version": "4"|"6"`.
#[derive(Serialize)]
struct LegacyIp<'a> {
    version: &'static str,
    #[serde(flatten)]
    ip: &'a IpConfig,
}

#[derive(Serialize)]
struct Wire<'a, I: Serialize> {
    #[serde(rename = "cniVersion")]
    cni_version: &'static str,
    #[serde(skip_serializing_if = "<[Interface]>::is_empty")]
    interfaces: &'a [Interface],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ips: Vec<I>,
    #[serde(skip_serializing_if = "<[Route]>::is_empty")]
    routes: &'a [Route],
    #[serde(skip_serializing_if = "Dns::is_empty")]
    dns: &'a Dns,
}

impl CniResult {
    /// Parses a result some other plugin wrote (IPAM output, `prevResult`); any version from
    /// 0.3.0 on reads the same way here (`version` on IPs is ignored). Code 6 when it cannot.
    pub fn parse_value(value: serde_json::Value, what: &str) -> Result<Self, CniError> {
        serde_json::from_value(value).map_err(|error| {
            CniError::new(
                ErrorCode::Decode,
                "Failed to decode a result",
                format!("{what} is not a CNI result of version 0.3.0 or later: {error}"),
            )
        })
    }

    /// Parses result bytes (see [`CniResult::parse_value`]).
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, CniError> {
        let value = serde_json::from_slice(bytes).map_err(|error| {
            CniError::new(
                ErrorCode::Decode,
                "Failed to decode a result",
                format!("{what} is not JSON: {error}"),
            )
        })?;
        Self::parse_value(value, what)
    }

    /// Appends `other` (this plugin's part) after `self` (a previous plugin's result), moving
    /// its interface indices past the ones already there.
    pub fn chain(mut self, other: Self) -> Self {
        let offset = self.interfaces.len();
        self.interfaces.extend(other.interfaces);
        self.ips.extend(other.ips.into_iter().map(|mut ip| {
            ip.interface = ip.interface.map(|index| index + offset);
            ip
        }));
        self.routes.extend(other.routes);
        if self.dns.is_empty() {
            self.dns = other.dns;
        }
        self
    }

    /// The result as JSON in `version`'s format.
    pub fn render(&self, version: CniVersion) -> Vec<u8> {
        let bytes = if version.ips_carry_version() {
            let ips = self
                .ips
                .iter()
                .map(|ip| LegacyIp { version: if ip.address.is_ipv4() { "4" } else { "6" }, ip })
                .collect();
            serde_json::to_vec(&self.wire(version, ips))
        } else {
            serde_json::to_vec(&self.wire(version, self.ips.iter().collect()))
        };
        // Strings, numbers and addresses always serialise.
        bytes.unwrap_or_default()
    }

    fn wire<I: Serialize>(&self, version: CniVersion, ips: Vec<I>) -> Wire<'_, I> {
        Wire {
            cni_version: version.as_str(),
            interfaces: &self.interfaces,
            ips,
            routes: &self.routes,
            dns: &self.dns,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn sample() -> CniResult {
        CniResult {
            interfaces: vec![
                Interface { name: "sy1a2b".into(), ..Interface::default() },
                Interface {
                    name: "eth0".into(),
                    mac: Some("02:00:00:00:00:01".into()),
                    mtu: Some(1500),
                    sandbox: Some("/run/netns/c1".into()),
                },
            ],
            ips: vec![
                IpConfig {
                    address: "10.1.0.5/24".parse().unwrap(),
                    gateway: "10.1.0.1".parse().ok(),
                    interface: Some(1),
                },
                IpConfig { address: "fd00::5/64".parse().unwrap(), gateway: None, interface: Some(1) },
            ],
            routes: vec![Route { dst: "0.0.0.0/0".parse().unwrap(), gw: "10.1.0.1".parse().ok() }],
            dns: Dns { nameservers: vec!["10.1.0.53".into()], ..Dns::default() },
        }
    }

    fn rendered(version: CniVersion) -> serde_json::Value {
        serde_json::from_slice(&sample().render(version)).unwrap()
    }

    #[test]
    fn renders_1_1_without_ip_versions() {
        assert_eq!(
            rendered(CniVersion::V1_1_0),
            json!({
                "cniVersion": "1.1.0",
                "interfaces": [{"name":"sy1a2b"},{"name":"eth0","mac":"02:00:00:00:00:01","mtu":1500,"sandbox":"/run/netns/c1"}],
                "ips": [{"address":"10.1.0.5/24","gateway":"10.1.0.1","interface":1},{"address":"fd00::5/64","interface":1}],
                "routes": [{"dst":"0.0.0.0/0","gw":"10.1.0.1"}],
                "dns": {"nameservers":["10.1.0.53"]}
            })
        );
        assert_eq!(rendered(CniVersion::V1_0_0)["cniVersion"], "1.0.0");
    }

    #[test]
    fn renders_0_4_with_ip_versions() {
        let value = rendered(CniVersion::V0_4_0);
        assert_eq!(value["cniVersion"], "0.4.0");
        assert_eq!(
            value["ips"][0],
            json!({"version":"4","address":"10.1.0.5/24","gateway":"10.1.0.1","interface":1})
        );
        assert_eq!(value["ips"][1]["version"], "6");
    }

    #[test]
    fn empty_sections_are_left_out() {
        let value: serde_json::Value =
            serde_json::from_slice(&CniResult::default().render(CniVersion::V1_1_0)).unwrap();
        assert_eq!(value, json!({"cniVersion":"1.1.0"}));
    }

    #[test]
    fn parses_what_it_renders_in_every_version() {
        for version in [
            CniVersion::V0_3_0,
            CniVersion::V0_3_1,
            CniVersion::V0_4_0,
            CniVersion::V1_0_0,
            CniVersion::V1_1_0,
        ] {
            assert_eq!(CniResult::parse(&sample().render(version), "test").unwrap(), sample());
        }
    }

    #[test]
    fn bad_results_are_code_6() {
        assert_eq!(CniResult::parse(b"nope", "x").unwrap_err().code, ErrorCode::Decode);
        let bad_address = br#"{"ips":[{"address":"10.1.0.5"}]}"#;
        assert_eq!(CniResult::parse(bad_address, "x").unwrap_err().code, ErrorCode::Decode);
    }

    #[test]
    fn chaining_moves_interface_indices() {
        let previous = CniResult { interfaces: vec![Interface::default()], ..CniResult::default() };
        let chained = previous.chain(sample());
        assert_eq!(chained.interfaces.len(), 3);
        assert_eq!(chained.ips[0].interface, Some(2));
    }
}
