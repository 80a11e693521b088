//! The VTEP address must be one of this host's: the tunnel socket binds it, and the interface
//! holding it sets how large an encapsulated frame may be.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr};

use futures::TryStreamExt;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::LinkAttribute;

/// Where the VTEP address lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VtepInterface {
    /// The interface holding the address.
    pub ifname: String,
    /// Its MTU: the underlay's.
    pub mtu: u32,
}

impl VtepInterface {
    /// The MTU a container interface may have so that its frames cross the tunnel whole.
    pub fn container_mtu(&self) -> u32 {
        self.mtu.saturating_sub(super::VXLAN_OVERHEAD)
    }
}

/// Why the VTEP cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum VtepError {
    /// The address is not assigned to any interface here.
    #[error("--vtep {vtep} is not an address of this host (its IPv4 addresses: {addresses})")]
    NotOnHost {
        /// The VTEP asked for.
        vtep: Ipv4Addr,
        /// The host's IPv4 addresses, `10.0.0.1 on eth0, …`, or `none`.
        addresses: String,
    },
    /// The host's addresses could not be read.
    #[error("cannot list this host's addresses to check --vtep {vtep}: {reason}")]
    Netlink {
        /// The VTEP asked for.
        vtep: Ipv4Addr,
        /// What went wrong.
        reason: String,
    },
}

/// An IPv4 address of an interface, as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddress {
    /// The address.
    pub address: Ipv4Addr,
    /// The interface's name.
    pub ifname: String,
    /// The interface's MTU.
    pub mtu: u32,
}

/// Finds `vtep` among this host's addresses (in the calling thread's network namespace).
pub async fn locate(vtep: Ipv4Addr) -> Result<VtepInterface, VtepError> {
    let addresses = host_addresses().await.map_err(|reason| VtepError::Netlink { vtep, reason })?;
    find(vtep, &addresses)
}

/// `vtep`'s interface among `addresses`, or the error that lists them all.
pub fn find(vtep: Ipv4Addr, addresses: &[HostAddress]) -> Result<VtepInterface, VtepError> {
    if let Some(found) = addresses.iter().find(|host| host.address == vtep) {
        return Ok(VtepInterface { ifname: found.ifname.clone(), mtu: found.mtu });
    }
    let mut listed = String::new();
    for (i, host) in addresses.iter().enumerate() {
        let _ = write!(listed, "{}{} on {}", if i == 0 { "" } else { ", " }, host.address, host.ifname);
    }
    if listed.is_empty() {
        listed.push_str("none");
    }
    Err(VtepError::NotOnHost { vtep, addresses: listed })
}

/// Every IPv4 address of every interface, with the interface's name and MTU.
async fn host_addresses() -> Result<Vec<HostAddress>, String> {
    let (connection, handle, _) = rtnetlink::new_connection().map_err(|error| error.to_string())?;
    let driver = tokio::spawn(connection);
    let result = async {
        let mut links = Vec::new();
        let mut stream = handle.link().get().execute();
        while let Some(message) = stream.try_next().await.map_err(|error| error.to_string())? {
            let mut name = String::new();
            let mut mtu = 0;
            for attribute in &message.attributes {
                match attribute {
                    LinkAttribute::IfName(ifname) => name.clone_from(ifname),
                    LinkAttribute::Mtu(value) => mtu = *value,
                    _ => {}
                }
            }
            links.push((message.header.index, name, mtu));
        }
        let mut found = Vec::new();
        let mut stream = handle.address().get().execute();
        while let Some(message) = stream.try_next().await.map_err(|error| error.to_string())? {
            let local = message.attributes.iter().find_map(|attribute| match attribute {
                AddressAttribute::Local(IpAddr::V4(address)) => Some(*address),
                _ => None,
            });
            let address = local.or_else(|| {
                message.attributes.iter().find_map(|attribute| match attribute {
                    AddressAttribute::Address(IpAddr::V4(address)) => Some(*address),
                    _ => None,
                })
            });
            let Some(address) = address else { continue };
            if let Some((_, ifname, mtu)) = links.iter().find(|(index, ..)| *index == message.header.index) {
                found.push(HostAddress { address, ifname: ifname.clone(), mtu: *mtu });
            }
        }
        Ok(found)
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(address: [u8; 4], ifname: &str, mtu: u32) -> HostAddress {
        HostAddress { address: address.into(), ifname: ifname.to_owned(), mtu }
    }

    #[test]
    fn finds_the_interface_and_leaves_room_for_vxlan() {
        let addresses = [host([127, 0, 0, 1], "lo", 65536), host([192, 168, 50, 1], "underlay", 1500)];
        let found = find(Ipv4Addr::new(192, 168, 50, 1), &addresses).expect("ours");
        assert_eq!(found, VtepInterface { ifname: "underlay".to_owned(), mtu: 1500 });
        assert_eq!(found.container_mtu(), 1450);
    }

    #[test]
    fn an_address_not_here_names_what_is() {
        let addresses = [host([127, 0, 0, 1], "lo", 65536), host([192, 168, 50, 1], "eth0", 1500)];
        let error = find(Ipv4Addr::new(10, 9, 9, 9), &addresses).expect_err("not ours");
        assert_eq!(
            error.to_string(),
            "--vtep 10.9.9.9 is not an address of this host (its IPv4 addresses: 127.0.0.1 on lo, \
             192.168.50.1 on eth0)"
        );
        let error = find(Ipv4Addr::new(10, 9, 9, 9), &[]).expect_err("nothing here");
        assert!(error.to_string().ends_with("(its IPv4 addresses: none)"), "{error}");
    }

    #[tokio::test]
    async fn loopback_is_found_on_this_host() {
        let found = locate(Ipv4Addr::LOCALHOST).await.expect("127.0.0.1 is on lo");
        assert_eq!(found.ifname, "lo");
        assert!(found.mtu >= 1500, "{found:?}");
    }
}
