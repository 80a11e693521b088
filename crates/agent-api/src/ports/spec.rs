//! What `switchyard attach` and `switchyard detach` ask the agent, as local API messages. Pure;
//! the agent checks an attach in full when it turns it into its own request.

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// `--ip auto`: an address from the profile's `ip pool`.
pub const AUTO_ADDRESS: &str = "auto";

/// Whose network namespace a port goes into.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetSpec {
    /// `--pid PID`.
    Pid(u32),
    /// `--netns NAME`.
    Netns(String),
    /// `--container NAME`.
    Container(String),
    /// A namespace by its file (CNI's `CNI_NETNS`: `/run/netns/cni-…`, `/proc/PID/ns/net`).
    NetnsPath(String),
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetSpec::Pid(pid) => write!(f, "process {pid}"),
            TargetSpec::Netns(name) => write!(f, "network namespace '{name}'"),
            TargetSpec::Container(name) => write!(f, "container '{name}'"),
            TargetSpec::NetnsPath(path) => write!(f, "network namespace {path}"),
        }
    }
}

impl TargetSpec {
    /// The owner's name when the attach gives none: the container or namespace name, or
    /// `pid-N`.
    pub fn default_owner_name(&self) -> String {
        match self {
            TargetSpec::Pid(pid) => format!("pid-{pid}"),
            TargetSpec::Netns(name) | TargetSpec::Container(name) | TargetSpec::NetnsPath(name) => {
                name.clone()
            }
        }
    }
}

/// `switchyard attach`: one container interface onto the switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachSpec {
    /// Whose namespace gets the interface.
    pub target: TargetSpec,
    /// The port-profile the port inherits. It need not exist yet: the port then stays down
    /// (`port-profile not found`) until it does.
    pub profile: String,
    /// `ADDRESS/PREFIX` for the container interface, or [`AUTO_ADDRESS`] for the next free
    /// address of the profile's `ip pool` (with its default-router as the gateway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The default route's next hop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Ipv4Addr>,
    /// The container interface's MAC; generated from the iface-id when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The MTU of both ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// The interface name inside the namespace (`eth0` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ifname: Option<String>,
    /// The owner's name (the seed's `vm-name`); defaults to the container or namespace name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The port's stable identity (the seed's `iface-id`); a uuid is generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iface_id: Option<String>,
}

impl AttachSpec {
    /// An attach of `target` with `profile` and every option at its default.
    pub fn new(target: TargetSpec, profile: impl Into<String>) -> Self {
        Self {
            target,
            profile: profile.into(),
            ip: None,
            gateway: None,
            mac: None,
            mtu: None,
            ifname: None,
            name: None,
            iface_id: None,
        }
    }

    /// Whether the address is to come from the profile's pool (`--ip auto`).
    pub fn wants_pool_address(&self) -> bool {
        self.ip.as_deref() == Some(AUTO_ADDRESS)
    }

    /// The address the port is attached with (`--ip A/LEN`), if any and well formed: the
    /// port's IP binding.
    pub fn ip_address(&self) -> Option<std::net::IpAddr> {
        let (address, _) = parse_cidr(self.ip.as_deref()?).ok()?;
        Some(address.into())
    }

    /// The owner's name: as given, or the target's.
    pub fn owner_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.target.default_owner_name())
    }
}

/// `switchyard detach`: which port to take off the switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetachSpec {
    /// `--iface-id ID`.
    IfaceId(String),
    /// `--vethernet N`.
    Vethernet(u32),
    /// `--netns NAME` / `--pid PID` / `--container NAME`, with `--ifname` (`eth0`).
    Interface {
        /// Whose namespace the interface is in.
        target: TargetSpec,
        /// Its name there.
        ifname: String,
    },
}

impl fmt::Display for DetachSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DetachSpec::IfaceId(id) => write!(f, "iface-id '{id}'"),
            DetachSpec::Vethernet(veth) => write!(f, "Vethernet{veth}"),
            DetachSpec::Interface { target, ifname } => write!(f, "{ifname} of {target}"),
        }
    }
}

/// Parses `ADDRESS/PREFIX` (`10.0.0.1/24`).
pub fn parse_cidr(text: &str) -> Result<(Ipv4Addr, u8), String> {
    let problem = || format!("ip {text:?}: expected ADDRESS/PREFIX, e.g. 10.0.0.1/24");
    let (address, prefix) = text.split_once('/').ok_or_else(problem)?;
    let address: Ipv4Addr = address.parse().map_err(|_| problem())?;
    let prefix: u8 = prefix.parse().map_err(|_| problem())?;
    if prefix > 32 {
        return Err(format!("ip {text}: prefix must be 0-32"));
    }
    Ok((address, prefix))
}

/// Parses `Veth3`, `Vethernet3`, `vethernet 3` or `3` as a vEthernet number.
pub fn parse_vethernet(text: &str) -> Result<u32, String> {
    let lower = text.trim().to_ascii_lowercase();
    let digits =
        lower.strip_prefix("vethernet").or_else(|| lower.strip_prefix("veth")).unwrap_or(&lower).trim();
    match digits.parse::<u32>() {
        Ok(number) if number > 0 => Ok(number),
        _ => Err(format!("{text:?} is not a vEthernet: expected N, VethN or VethernetN (N from 1)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_tagged_json() {
        let mut spec = AttachSpec::new(TargetSpec::Netns("red".into()), "vlan100");
        spec.ip = Some("10.0.0.1/24".into());
        let json = serde_json::to_string(&spec).expect("json");
        assert_eq!(json, r#"{"target":{"netns":"red"},"profile":"vlan100","ip":"10.0.0.1/24"}"#);
        assert_eq!(serde_json::from_str::<AttachSpec>(&json).expect("parse"), spec);
        let detach = DetachSpec::Interface { target: TargetSpec::Pid(7), ifname: "eth0".into() };
        let json = serde_json::to_string(&detach).expect("json");
        assert_eq!(json, r#"{"interface":{"target":{"pid":7},"ifname":"eth0"}}"#);
        assert_eq!(serde_json::to_string(&DetachSpec::Vethernet(3)).expect("json"), r#"{"vethernet":3}"#);
    }

    #[test]
    fn vethernet_numbers_parse_in_every_spelling() {
        for text in ["3", "Veth3", "veth3", "Vethernet3", "VETHERNET 3"] {
            assert_eq!(parse_vethernet(text), Ok(3), "{text}");
        }
        for bad in ["0", "Veth", "Eth3/1", "-1", ""] {
            assert!(parse_vethernet(bad).is_err(), "{bad}");
        }
    }
}
