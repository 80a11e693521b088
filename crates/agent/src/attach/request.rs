//! What an attach asks for, and the checks that need nothing but the request itself.

use std::fmt;
use std::net::Ipv4Addr;

use wire::MacAddr;

use super::AttachError;
use super::naming::{generated_mac, validate_iface_id, validate_ifname};

/// The interface name a container sees when none is given.
pub const DEFAULT_IFNAME: &str = "eth0";

/// The smallest MTU accepted: IPv4's minimum.
pub const MIN_MTU: u32 = 68;

/// The largest MTU a veth accepts.
pub const MAX_MTU: u32 = 65535;

/// Whose network namespace the port goes into.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// The namespace of a process: `/proc/PID/ns/net` (`--pid`).
    Pid(u32),
    /// A named namespace: `/run/netns/NAME`, as `ip netns add` makes (`--netns`).
    Netns(String),
    /// A Docker container, by name or id; its PID comes from the engine (`--container`).
    Container(String),
    /// A namespace by its file: what CNI runtimes pass (`CNI_NETNS`, e.g. `/run/netns/cni-…`
    /// or `/proc/PID/ns/net`).
    NetnsPath(std::path::PathBuf),
    /// The agent's own namespace: the container end stays on the host for a container engine
    /// to move into the container itself (Docker's remote drivers), so it gets no address.
    Host,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Pid(pid) => write!(f, "process {pid}"),
            Target::Netns(name) => write!(f, "network namespace '{name}'"),
            Target::Container(name) => write!(f, "container '{name}'"),
            Target::NetnsPath(path) => write!(f, "network namespace {}", path.display()),
            Target::Host => f.write_str("the host's network namespace"),
        }
    }
}

/// One container interface to create: the seed's manual steps, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachRequest {
    /// Whose namespace gets the interface.
    pub target: Target,
    /// The port's identity (the seed's `external_ids:iface-id`); names the host end.
    pub iface_id: String,
    /// The interface name inside the namespace ([`DEFAULT_IFNAME`] unless given).
    pub ifname: String,
    /// The container interface's MAC; generated from the iface-id when `None`.
    pub mac: Option<MacAddr>,
    /// The address and prefix length to put on the interface.
    pub ip: Option<(Ipv4Addr, u8)>,
    /// The default route's next hop; needs `ip`. Outside `ip`'s subnet it is added `onlink`.
    pub gateway: Option<Ipv4Addr>,
    /// The MTU of both ends; the kernel's default (1500) when `None`.
    pub mtu: Option<u32>,
    /// When the namespace already has a default route, keep it and set none (CNI: a container's
    /// second interface); otherwise that is an error.
    pub keep_default_route: bool,
}

impl AttachRequest {
    /// A request for `eth0` in `target` with a generated MAC, no address and the default MTU.
    pub fn new(target: Target, iface_id: impl Into<String>) -> Self {
        Self {
            target,
            iface_id: iface_id.into(),
            ifname: DEFAULT_IFNAME.to_owned(),
            mac: None,
            ip: None,
            gateway: None,
            mtu: None,
            keep_default_route: false,
        }
    }

    /// The MAC the container interface gets: the one given, or [`generated_mac`].
    pub fn effective_mac(&self) -> MacAddr {
        self.mac.unwrap_or_else(|| generated_mac(&self.iface_id))
    }

    /// Every check that needs no system call; [`super::create_port`] runs it first.
    pub fn validate(&self) -> Result<(), AttachError> {
        validate_iface_id(&self.iface_id)?;
        validate_ifname(&self.ifname)?;
        if let Some(mac) = self.mac {
            let problem = if mac.is_multicast() {
                Some("must be a unicast address")
            } else if mac.is_zero() {
                Some("must not be all zeros")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(AttachError::InvalidMac { mac: mac.colon().to_string(), problem });
            }
        }
        if let Some((ip, prefix)) = self.ip
            && prefix > 32
        {
            return Err(AttachError::InvalidPrefix { ip, prefix });
        }
        if let Some(mtu) = self.mtu
            && !(MIN_MTU..=MAX_MTU).contains(&mtu)
        {
            return Err(AttachError::InvalidMtu { mtu, min: MIN_MTU, max: MAX_MTU });
        }
        if let Some(gateway) = self.gateway {
            let problem = match self.ip {
                None => Some("needs an address on the port (--ip)"),
                Some((ip, _)) if ip == gateway => Some("is the port's own address"),
                Some(_) if gateway.is_unspecified() || gateway.is_broadcast() => {
                    Some("must be a host address")
                }
                Some(_) => None,
            };
            if let Some(problem) = problem {
                return Err(AttachError::InvalidGateway { gateway, problem });
            }
        }
        Ok(())
    }

    /// Whether the gateway lies outside the port's subnet, so its route needs `onlink`.
    pub(crate) fn gateway_is_offlink(&self) -> bool {
        match (self.ip, self.gateway) {
            (Some((ip, prefix)), Some(gateway)) => !same_subnet(ip, gateway, prefix),
            _ => false,
        }
    }
}

fn same_subnet(a: Ipv4Addr, b: Ipv4Addr, prefix: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0);
    u32::from(a) & mask == u32::from(b) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AttachRequest {
        AttachRequest::new(Target::Netns("ns1".into()), "port-1")
    }

    #[test]
    fn defaults_are_eth0_and_a_generated_mac() {
        let request = request();
        assert_eq!(request.ifname, "eth0");
        assert_eq!(request.effective_mac(), generated_mac("port-1"));
        assert!(request.validate().is_ok());
        let given = MacAddr([0x02, 0, 0, 0, 0, 7]);
        assert_eq!(AttachRequest { mac: Some(given), ..request }.effective_mac(), given);
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let cases = [
            (
                AttachRequest { ip: Some(([10, 0, 0, 1].into(), 33)), ..request() },
                "ip 10.0.0.1/33: prefix must be 0-32",
            ),
            (AttachRequest { mtu: Some(67), ..request() }, "mtu 67: must be 68-65535"),
            (AttachRequest { mtu: Some(65536), ..request() }, "mtu 65536: must be 68-65535"),
            (
                AttachRequest { ifname: "a-very-long-ifname".into(), ..request() },
                "interface name 'a-very-long-ifname' is too long (at most 15 characters)",
            ),
            (
                AttachRequest { mac: Some(MacAddr([1, 0, 0x5e, 0, 0, 1])), ..request() },
                "mac 01:00:5e:00:00:01: must be a unicast address",
            ),
            (
                AttachRequest { mac: Some(MacAddr::ZERO), ..request() },
                "mac 00:00:00:00:00:00: must not be all zeros",
            ),
            (
                AttachRequest { gateway: Some([10, 0, 0, 1].into()), ..request() },
                "gateway 10.0.0.1: needs an address on the port (--ip)",
            ),
            (
                AttachRequest {
                    ip: Some(([10, 0, 0, 1].into(), 24)),
                    gateway: Some([10, 0, 0, 1].into()),
                    ..request()
                },
                "gateway 10.0.0.1: is the port's own address",
            ),
            (AttachRequest { iface_id: String::new(), ..request() }, "iface-id '' is empty"),
        ];
        for (request, message) in cases {
            let error = request.validate().expect_err(message);
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn edge_values_are_accepted() {
        for (ip, prefix) in [([10, 0, 0, 1], 0), ([10, 0, 0, 1], 32)] {
            assert!(AttachRequest { ip: Some((ip.into(), prefix)), ..request() }.validate().is_ok());
        }
        for mtu in [MIN_MTU, 1500, 9000, MAX_MTU] {
            assert!(AttachRequest { mtu: Some(mtu), ..request() }.validate().is_ok());
        }
    }

    #[test]
    fn gateways_outside_the_subnet_go_onlink() {
        let with = |ip: [u8; 4], prefix, gateway: [u8; 4]| AttachRequest {
            ip: Some((ip.into(), prefix)),
            gateway: Some(gateway.into()),
            ..request()
        };
        assert!(!with([10, 0, 0, 2], 24, [10, 0, 0, 1]).gateway_is_offlink());
        assert!(with([10, 0, 1, 2], 24, [10, 0, 0, 1]).gateway_is_offlink());
        assert!(with([10, 0, 0, 2], 32, [169, 254, 1, 1]).gateway_is_offlink());
        assert!(!with([10, 0, 0, 2], 0, [192, 168, 1, 1]).gateway_is_offlink());
        assert!(!request().gateway_is_offlink());
    }

    #[test]
    fn targets_display_for_messages() {
        assert_eq!(Target::Pid(42).to_string(), "process 42");
        assert_eq!(Target::Netns("red".into()).to_string(), "network namespace 'red'");
        assert_eq!(Target::Container("web1".into()).to_string(), "container 'web1'");
    }
}
