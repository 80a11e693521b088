//! A thin layer over rtnetlink: the handful of link, address and route requests attach makes,
//! each turning the kernel's errno into an [`AttachError`] that says what was being done.
//!
//! A netlink socket belongs to the network namespace its thread was in when it was opened, so a
//! [`Netlink`] opened on the namespace worker after `setns` speaks to the container's kernel
//! tables, and one opened before speaks to the host's.

use std::net::Ipv4Addr;
use std::os::fd::RawFd;

use futures::TryStreamExt;
use nix::errno::Errno;
use rtnetlink::packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoData, InfoVeth, LinkAttribute, LinkFlags, LinkMessage,
};
use rtnetlink::{Handle, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};
use wire::MacAddr;

use super::AttachError;
use super::naming::iface_id_from_alias;

/// What attach reads off a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkFacts {
    pub index: u32,
    pub name: String,
    pub alias: Option<String>,
    pub mac: Option<MacAddr>,
    pub mtu: Option<u32>,
    pub admin_up: bool,
    pub lower_up: bool,
    pub link_netns_id: Option<i32>,
}

impl LinkFacts {
    fn from_message(message: &LinkMessage) -> Self {
        let mut facts = Self {
            index: message.header.index,
            name: String::new(),
            alias: None,
            mac: None,
            mtu: None,
            admin_up: message.header.flags.contains(LinkFlags::Up),
            lower_up: message.header.flags.contains(LinkFlags::LowerUp),
            link_netns_id: None,
        };
        for attribute in &message.attributes {
            match attribute {
                LinkAttribute::IfName(name) => facts.name.clone_from(name),
                LinkAttribute::IfAlias(alias) => facts.alias = Some(alias.clone()),
                LinkAttribute::Address(bytes) => facts.mac = MacAddr::from_slice(bytes),
                LinkAttribute::Mtu(mtu) => facts.mtu = Some(*mtu),
                LinkAttribute::LinkNetNsId(id) => facts.link_netns_id = Some(*id),
                _ => {}
            }
        }
        facts
    }

    /// The iface-id if this is a Switchyard host end.
    pub fn iface_id(&self) -> Option<&str> {
        self.alias.as_deref().and_then(iface_id_from_alias)
    }
}

/// The veth pair to create: the host end stays where the socket is, the peer goes straight into
/// the target namespace already named, addressed and sized, so the host never holds an
/// interface called `eth0` and a name clash inside the namespace fails before anything exists.
#[derive(Debug)]
pub(crate) struct VethSpec<'a> {
    pub host_ifname: &'a str,
    pub peer_ifname: &'a str,
    pub peer_mac: MacAddr,
    pub mtu: Option<u32>,
    pub peer_netns_fd: RawFd,
}

/// A route-netlink connection in one namespace.
#[derive(Debug, Clone)]
pub(crate) struct Netlink {
    handle: Handle,
}

impl Netlink {
    /// Opens a connection in the calling thread's network namespace; its driver runs as a task
    /// on the current tokio runtime and ends when the last clone is dropped.
    pub fn open() -> Result<Self, AttachError> {
        let (connection, handle, _) = rtnetlink::new_connection()
            .map_err(|error| AttachError::io("opening a netlink socket", error))?;
        tokio::spawn(connection);
        Ok(Self { handle })
    }

    /// Every link in the namespace.
    pub async fn links(&self) -> Result<Vec<LinkFacts>, AttachError> {
        let mut stream = self.handle.link().get().execute();
        let mut links = Vec::new();
        while let Some(message) =
            stream.try_next().await.map_err(|error| AttachError::netlink("listing links", error))?
        {
            links.push(LinkFacts::from_message(&message));
        }
        Ok(links)
    }

    /// The link called `name`, if there is one.
    pub async fn link(&self, name: &str) -> Result<Option<LinkFacts>, AttachError> {
        let mut stream = self.handle.link().get().match_name(name.to_owned()).execute();
        match stream.try_next().await {
            Ok(message) => Ok(message.as_ref().map(LinkFacts::from_message)),
            Err(error) if errno_is(&error, Errno::ENODEV) => Ok(None),
            Err(error) => Err(AttachError::netlink(format!("looking up interface '{name}'"), error)),
        }
    }

    /// Creates the pair in one request (`ip link add H type veth peer name P address M netns N`).
    pub async fn add_veth(&self, spec: &VethSpec<'_>) -> Result<(), AttachError> {
        let mut peer = LinkMessageBuilder::<LinkUnspec>::new()
            .name(spec.peer_ifname)
            .address(spec.peer_mac.as_bytes().to_vec())
            .setns_by_fd(spec.peer_netns_fd);
        let mut host = LinkVeth::new(spec.host_ifname, spec.peer_ifname);
        if let Some(mtu) = spec.mtu {
            peer = peer.mtu(mtu);
            host = host.mtu(mtu);
        }
        let message = host.set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build()))).build();
        self.handle.link().add(message).execute().await.map_err(|error| {
            if errno_is(&error, Errno::EEXIST) {
                AttachError::IfnameInUse {
                    name: spec.peer_ifname.to_owned(),
                    place: "in the target's network namespace",
                }
            } else {
                AttachError::netlink(
                    format!("creating veth pair {}/{}", spec.host_ifname, spec.peer_ifname),
                    error,
                )
            }
        })
    }

    /// Brings a link up.
    pub async fn set_up(&self, index: u32, name: &str) -> Result<(), AttachError> {
        let message = LinkUnspec::new_with_index(index).up().build();
        self.handle
            .link()
            .set(message)
            .execute()
            .await
            .map_err(|error| AttachError::netlink(format!("bringing '{name}' up"), error))
    }

    /// Sets a link's alias (the kernel takes none when a link is created).
    pub async fn set_alias(&self, index: u32, name: &str, alias: &str) -> Result<(), AttachError> {
        let message = LinkUnspec::new_with_index(index).alias(alias).build();
        self.handle
            .link()
            .set(message)
            .execute()
            .await
            .map_err(|error| AttachError::netlink(format!("setting the alias of '{name}'"), error))
    }

    /// Keeps the kernel from giving a link an IPv6 link-local address, so the host's own stack
    /// never speaks on a switch port (no router solicitations or MLD reports into the container).
    pub async fn disable_ipv6_addresses(&self, index: u32, name: &str) -> Result<(), AttachError> {
        let spec = AfSpecUnspec::Inet6(vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)]);
        let message = LinkUnspec::new_with_index(index)
            .append_extra_attribute(LinkAttribute::AfSpecUnspec(vec![spec]))
            .build();
        self.handle.link().set(message).execute().await.map_err(|error| {
            AttachError::netlink(format!("turning off IPv6 address generation on '{name}'"), error)
        })
    }

    /// Deletes a link; a link already gone counts as deleted.
    pub async fn delete(&self, index: u32, name: &str) -> Result<(), AttachError> {
        match self.handle.link().del(index).execute().await {
            Ok(()) => Ok(()),
            Err(error) if errno_is(&error, Errno::ENODEV) => Ok(()),
            Err(error) => Err(AttachError::netlink(format!("deleting '{name}'"), error)),
        }
    }

    /// Adds `ip/prefix` to a link.
    pub async fn add_address(
        &self,
        index: u32,
        name: &str,
        ip: Ipv4Addr,
        prefix: u8,
    ) -> Result<(), AttachError> {
        self.handle
            .address()
            .add(index, ip.into(), prefix)
            .execute()
            .await
            .map_err(|error| AttachError::netlink(format!("adding {ip}/{prefix} to '{name}'"), error))
    }

    /// Adds the default route via `gateway` out of a link.
    pub async fn add_default_route(
        &self,
        index: u32,
        gateway: Ipv4Addr,
        onlink: bool,
        keep_existing: bool,
    ) -> Result<bool, AttachError> {
        let mut route = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gateway).output_interface(index);
        if onlink {
            route = route.onlink();
        }
        match self.handle.route().add(route.build()).execute().await {
            Ok(()) => Ok(true),
            // A second interface of one container (CNI's net1): the first one's route stays.
            Err(error) if keep_existing && errno_is(&error, Errno::EEXIST) => Ok(false),
            Err(error) => {
                let action = if errno_is(&error, Errno::EEXIST) {
                    format!("adding the default route via {gateway} (the namespace already has one)")
                } else {
                    format!("adding the default route via {gateway}")
                };
                Err(AttachError::netlink(action, error))
            }
        }
    }
}

fn errno_is(error: &rtnetlink::Error, errno: Errno) -> bool {
    super::error::errno_of(error) == Some(errno)
}
