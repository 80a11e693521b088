//! A data centre in network namespaces: hosts joined by a "physical switch" (a plain Linux bridge
//! carrying their 802.1Q uplink trunks) and by an IP underlay (another plain bridge, for VXLAN and
//! for reaching the supervisor, which sits in a namespace of its own).
//!
//! ```text
//!            supervisor ns  (mgmt0 10.77.0.1/24)
//!                  │
//!     underlay ns: bridge ul ── ul0 of every host (10.77.0.11, .12, …/24, the VTEPs)
//!     switch ns:   bridge br0 ── eth1, eth2, … of every host (trunks; tagged frames pass as is)
//! ```
//!
//! The kernel here has neither 802.1Q sub-interfaces nor bridge VLAN filtering: the plain bridge
//! floods and forwards tagged frames like any other, so the agents alone enforce VLANs — as a
//! physical trunk port would. Every namespace goes on drop (also on a panic), taking its links.

use std::net::Ipv4Addr;

use crate::netns::Netns;

/// The underlay's subnet; the supervisor is `.1`, host `i` is `.11 + i`.
const UNDERLAY: [u8; 3] = [10, 77, 0];
/// Name of the bridge in the switch and underlay namespaces.
const BRIDGE: &str = "br0";

/// One host of the fabric: a namespace its agent runs in.
#[derive(Debug)]
pub struct Host {
    /// Its host name (`bilbo`), also the agent's `--host-name`.
    pub name: String,
    /// Its network namespace.
    pub ns: Netns,
    /// Its address on the underlay (`ul0`): its VTEP.
    pub vtep: Ipv4Addr,
    /// Its uplink NICs (`eth1`, `eth2`, …), each a veth into the physical switch.
    pub uplinks: Vec<String>,
}

impl Host {
    /// The switch-side end of uplink `nic` (`bilbo-eth1`): setting it down fails the uplink.
    pub fn switch_port(&self, nic: &str) -> String {
        switch_port(&self.name, nic)
    }
}

/// The namespaces and links of a multi-host lab.
#[derive(Debug)]
pub struct Fabric {
    /// Hosts, in the order asked for. Declared first so they go before the switches.
    pub hosts: Vec<Host>,
    /// The supervisor's namespace, on the underlay as `mgmt0`.
    pub supervisor: Netns,
    /// Its address.
    pub supervisor_ip: Ipv4Addr,
    /// The physical switch: bridge `br0` with every host's uplinks.
    pub switch: Netns,
    /// The IP network between hosts: bridge `br0` with every host's `ul0` and the supervisor.
    pub underlay: Netns,
}

impl Fabric {
    /// Builds the lab: `hosts` are (name, number of uplinks). Underlay MTU 1500.
    pub fn new(hosts: &[(&str, usize)]) -> anyhow::Result<Self> {
        let underlay = Netns::new("underlay")?;
        let switch = Netns::new("pswitch")?;
        for ns in [&underlay, &switch] {
            ns.ip(&["link", "add", BRIDGE, "type", "bridge"])?;
            ns.ip(&["link", "set", BRIDGE, "up"])?;
            // No STP delay, no multicast snooping surprises: ports forward at once.
            ns.ip(&["link", "set", BRIDGE, "type", "bridge", "forward_delay", "0", "mcast_snooping", "0"])?;
        }
        let supervisor = Netns::new("sup")?;
        let supervisor_ip = Ipv4Addr::new(UNDERLAY[0], UNDERLAY[1], UNDERLAY[2], 1);
        plug(&underlay, "sup-mgmt0", &supervisor, "mgmt0")?;
        address(&supervisor, "mgmt0", supervisor_ip)?;

        let mut built = Vec::with_capacity(hosts.len());
        for (index, &(name, uplinks)) in hosts.iter().enumerate() {
            let ns = Netns::new(name)?;
            let last = u8::try_from(11 + index).map_err(|_| anyhow::anyhow!("too many hosts"))?;
            let vtep = Ipv4Addr::new(UNDERLAY[0], UNDERLAY[1], UNDERLAY[2], last);
            plug(&underlay, &format!("{name}-ul0"), &ns, "ul0")?;
            address(&ns, "ul0", vtep)?;
            let mut nics = Vec::with_capacity(uplinks);
            for k in 1..=uplinks {
                let nic = format!("eth{k}");
                plug(&switch, &switch_port(name, &nic), &ns, &nic)?;
                nics.push(nic);
            }
            built.push(Host { name: name.to_owned(), ns, vtep, uplinks: nics });
        }
        Ok(Self { hosts: built, supervisor, supervisor_ip, switch, underlay })
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> &Host {
        self.hosts.iter().find(|host| host.name == name).unwrap_or_else(|| panic!("no host {name}"))
    }

    /// Sets the physical switch's port of `host`'s uplink `nic` up or down (the host sees its
    /// carrier follow).
    pub fn set_switch_port(&self, host: &str, nic: &str, up: bool) -> anyhow::Result<()> {
        let port = self.host(host).switch_port(nic);
        self.switch.ip(&["link", "set", &port, if up { "up" } else { "down" }])
    }
}

fn switch_port(host: &str, nic: &str) -> String {
    // Interface names have at most 15 bytes.
    let mut name = format!("{host}-{nic}");
    name.truncate(15);
    name
}

/// A veth pair: `outer` in `bridge_ns` enslaved to its bridge, `inner` in `ns`; both up.
fn plug(bridge_ns: &Netns, outer: &str, ns: &Netns, inner: &str) -> anyhow::Result<()> {
    bridge_ns.ip(&["link", "add", outer, "type", "veth", "peer", "name", inner, "netns", &ns.name])?;
    bridge_ns.ip(&["link", "set", outer, "master", BRIDGE, "up"])?;
    ns.ip(&["link", "set", inner, "up"])
}

fn address(ns: &Netns, dev: &str, ip: Ipv4Addr) -> anyhow::Result<()> {
    ns.ip(&["addr", "add", &format!("{ip}/24"), "dev", dev])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netns::is_root;

    #[test]
    fn hosts_reach_the_supervisor_and_each_other_and_the_lab_goes_away() {
        if !is_root() {
            eprintln!("SKIPPED: needs root (network namespaces)");
            return;
        }
        let fabric = Fabric::new(&[("bilbo", 2), ("frodo", 1)]).expect("fabric");
        let names: Vec<String> = fabric.hosts.iter().map(|h| h.ns.name.clone()).collect();
        let bilbo = fabric.host("bilbo");
        assert_eq!(bilbo.uplinks, ["eth1", "eth2"]);
        assert!(bilbo.ns.ping(&fabric.supervisor_ip.to_string(), 1), "host → supervisor");
        assert!(bilbo.ns.ping(&fabric.host("frodo").vtep.to_string(), 1), "underlay host → host");
        let carrier = |fabric: &Fabric| {
            fabric.host("bilbo").ns.exec_ok(&["cat", "/sys/class/net/eth1/carrier"]).expect("carrier")
        };
        assert_eq!(carrier(&fabric).trim(), "1");
        fabric.set_switch_port("bilbo", "eth1", false).expect("port down");
        assert_eq!(carrier(&fabric).trim(), "0", "the host sees its uplink lose carrier");
        drop(fabric);
        let left = crate::command::must_run("ip", &["netns", "list"]);
        for name in names {
            assert!(!left.contains(&name), "{name} left behind: {left}");
        }
    }
}
