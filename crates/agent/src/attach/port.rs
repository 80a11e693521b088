//! Creating and deleting a port's veth pair: the seed's manual steps, with a roll back on every
//! failure so a failed or abandoned attach leaves no link behind.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use wire::MacAddr;

use super::docker::DockerEngine;
use super::naming::{HOST_NAME_CANDIDATES, alias_for, host_ifname, validate_ifname};
use super::netlink::{LinkFacts, Netlink, VethSpec};
use super::netns::{Entered, TargetNamespace};
use super::{AttachError, AttachRequest, Target};

/// The MTU a veth gets when none is asked for.
const KERNEL_DEFAULT_MTU: u32 = 1500;

/// A port that [`create_port`] made: the host end is up, the container end configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedPort {
    /// The port's identity, as requested.
    pub iface_id: String,
    /// The host end's name (`sy<hash>_<n>`), what the agent's datapath opens.
    pub host_ifname: String,
    /// The host end's interface index.
    pub ifindex: u32,
    /// The container end's MAC: the port's attached MAC.
    pub mac: MacAddr,
    /// The container end's name inside its namespace (`eth0`).
    pub container_ifname: String,
    /// The MTU of both ends.
    pub mtu: u32,
    /// The address put on the container end.
    pub ip: Option<(Ipv4Addr, u8)>,
    /// The default route's next hop, when the attach set one (a namespace that already had a
    /// default route keeps it).
    pub gateway: Option<Ipv4Addr>,
    /// Whose namespace the container end is in, as requested.
    pub target: Target,
    /// The process whose namespace it is (`--pid`, or the container's PID from Docker).
    pub owner_pid: Option<u32>,
    /// The namespace's inode number, which identifies it while it lives.
    pub netns_inode: u64,
}

/// A Switchyard host end found on the host: what an agent restoring its ports after a restart
/// starts from. Both ends of a pair live while the container's namespace does, so every link
/// listed still leads into a running container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchyardLink {
    /// The host end's name.
    pub host_ifname: String,
    /// The host end's interface index.
    pub ifindex: u32,
    /// The port's iface-id, read from the host end's alias.
    pub iface_id: String,
    /// The host end's own MAC (not the container's).
    pub host_mac: Option<MacAddr>,
    /// The host end's MTU.
    pub mtu: Option<u32>,
    /// Administratively up (`ip link set … up`).
    pub admin_up: bool,
    /// Carrier: the container end is up too.
    pub carrier: bool,
}

impl SwitchyardLink {
    fn from_facts(facts: LinkFacts) -> Option<Self> {
        let iface_id = facts.iface_id()?.to_owned();
        Some(Self {
            host_ifname: facts.name,
            ifindex: facts.index,
            iface_id,
            host_mac: facts.mac,
            mtu: facts.mtu,
            admin_up: facts.admin_up,
            carrier: facts.lower_up,
        })
    }
}

/// A link on the host, whoever made it: what the agent checks the interfaces of OVSDB rows
/// against (they are made by hand, as in the seed, not by [`create_port`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelLink {
    /// The link's name.
    pub name: String,
    /// Its interface index.
    pub ifindex: u32,
    /// The iface-id in its alias, when it is a Switchyard host end.
    pub iface_id: Option<String>,
    /// Administratively up (`ip link set … up`).
    pub admin_up: bool,
    /// Carrier: for a veth, its peer is up too.
    pub carrier: bool,
}

impl KernelLink {
    fn from_facts(facts: LinkFacts) -> Self {
        Self {
            iface_id: facts.iface_id().map(str::to_owned),
            name: facts.name,
            ifindex: facts.index,
            admin_up: facts.admin_up,
            carrier: facts.lower_up,
        }
    }
}

/// Attaches: creates the veth pair, puts the peer into the target's namespace as
/// `request.ifname` with its MAC, MTU, address and default route, brings it and `lo` up, and
/// brings the host end up. A container target's PID comes from the Docker engine `DOCKER_HOST`
/// names (see [`DockerEngine::from_env`]).
///
/// Fails without touching anything when the request is invalid, the target is missing, or the
/// iface-id already has a host end ([`AttachError::AlreadyAttached`]); any later failure, or
/// dropping the returned future before it finishes, deletes the pair again.
pub async fn create_port(request: &AttachRequest) -> Result<CreatedPort, AttachError> {
    create_port_with(request, &DockerEngine::from_env()).await
}

/// [`create_port`] asking a given Docker engine about containers.
pub async fn create_port_with(
    request: &AttachRequest,
    docker: &DockerEngine,
) -> Result<CreatedPort, AttachError> {
    request.validate()?;
    let namespace = TargetNamespace::open(&request.target, docker).await?;
    let owner = Owner { pid: namespace.owner_pid, netns_inode: namespace.inode };
    let request = request.clone();
    namespace
        .run_inside(
            move |entered| build_port(entered, request, owner),
            |host, abandoned: CreatedPort| async move {
                remove_quietly(&host, &abandoned.host_ifname).await;
            },
        )
        .await
}

/// Detaches: deletes the host end, which takes the container end with it. A host end that is
/// already gone counts as deleted; an interface Switchyard did not create is refused.
pub async fn delete_port(host_ifname: &str) -> Result<(), AttachError> {
    validate_ifname(host_ifname)?;
    let host = Netlink::open()?;
    let Some(link) = host.link(host_ifname).await? else {
        return Ok(());
    };
    if link.iface_id().is_none() {
        return Err(AttachError::NotSwitchyardPort { name: host_ifname.to_owned() });
    }
    host.delete(link.index, host_ifname).await
}

/// Every Switchyard host end on this host (those whose alias carries an iface-id).
pub async fn list_switchyard_links() -> Result<Vec<SwitchyardLink>, AttachError> {
    let host = Netlink::open()?;
    Ok(host.links().await?.into_iter().filter_map(SwitchyardLink::from_facts).collect())
}

/// Every link on the host (in the caller's network namespace).
pub async fn list_host_links() -> Result<Vec<KernelLink>, AttachError> {
    let host = Netlink::open()?;
    Ok(host.links().await?.into_iter().map(KernelLink::from_facts).collect())
}

/// Whether each host link carries traffic (up, with carrier), by name. Empty when the links
/// cannot be read: every port then reads as down rather than failing a status query.
pub async fn host_link_carrier() -> BTreeMap<String, bool> {
    list_host_links()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|link| (link.name, link.admin_up && link.carrier))
        .collect()
}

/// Brings host link `name` up (a switch port someone else made, which the switch enables as
/// ovs-vswitchd does); one already up is left alone.
pub async fn bring_up(name: &str) -> Result<(), AttachError> {
    validate_ifname(name)?;
    let host = Netlink::open()?;
    match host.link(name).await? {
        Some(link) if link.admin_up => Ok(()),
        Some(link) => host.set_up(link.index, name).await,
        None => Err(AttachError::Netlink {
            action: format!("bringing '{name}' up"),
            source: std::io::Error::from(nix::errno::Errno::ENODEV),
        }),
    }
}

/// The host end of `iface_id`, if it has one.
pub async fn find_port(iface_id: &str) -> Result<Option<SwitchyardLink>, AttachError> {
    Ok(list_switchyard_links().await?.into_iter().find(|link| link.iface_id == iface_id))
}

/// What the namespace says about who owns it, carried into [`CreatedPort`].
#[derive(Debug, Clone, Copy)]
struct Owner {
    pid: Option<u32>,
    netns_inode: u64,
}

/// Runs on the namespace worker: checks, creates the pair, then configures it or rolls back.
async fn build_port(
    entered: Entered,
    request: AttachRequest,
    owner: Owner,
) -> Result<CreatedPort, AttachError> {
    let Entered { host, inside, netns_fd } = entered;
    let host_links = host.links().await?;
    if let Some(existing) = host_links.iter().find(|link| link.iface_id() == Some(request.iface_id.as_str()))
    {
        return Err(AttachError::AlreadyAttached {
            iface_id: request.iface_id.clone(),
            host_ifname: existing.name.clone(),
        });
    }
    let host_ifname = free_host_ifname(&request.iface_id, &host_links)?;
    if inside.link(&request.ifname).await?.is_some() {
        return Err(AttachError::IfnameInUse {
            name: request.ifname.clone(),
            place: "in the target's network namespace",
        });
    }
    let mac = request.effective_mac();
    host.add_veth(&VethSpec {
        host_ifname: &host_ifname,
        peer_ifname: &request.ifname,
        peer_mac: mac,
        mtu: request.mtu,
        peer_netns_fd: netns_fd,
    })
    .await?;
    match configure(&host, &inside, &request, &host_ifname).await {
        Ok((ifindex, mtu, gateway)) => Ok(CreatedPort {
            iface_id: request.iface_id,
            host_ifname,
            ifindex,
            mac,
            container_ifname: request.ifname,
            mtu,
            ip: request.ip,
            gateway,
            target: request.target,
            owner_pid: owner.pid,
            netns_inode: owner.netns_inode,
        }),
        Err(error) => {
            remove_quietly(&host, &host_ifname).await;
            Err(error)
        }
    }
}

/// Everything after the pair exists; returns the host end's index, the MTU and the default
/// route's next hop if it set one.
async fn configure(
    host: &Netlink,
    inside: &Netlink,
    request: &AttachRequest,
    host_ifname: &str,
) -> Result<(u32, u32, Option<Ipv4Addr>), AttachError> {
    let host_end = host.link(host_ifname).await?.ok_or_else(|| vanished(host_ifname, "on the host"))?;
    host.set_alias(host_end.index, host_ifname, &alias_for(&request.iface_id)).await?;
    let ifname = request.ifname.as_str();
    let peer = inside.link(ifname).await?.ok_or_else(|| vanished(ifname, "in the target's namespace"))?;
    if let Some((ip, prefix)) = request.ip {
        inside.add_address(peer.index, ifname, ip, prefix).await?;
    }
    inside.set_up(peer.index, ifname).await?;
    if let Some(lo) = inside.link("lo").await?
        && !lo.admin_up
    {
        inside.set_up(lo.index, "lo").await?;
    }
    let mut routed = None;
    if let Some(gateway) = request.gateway {
        if inside
            .add_default_route(peer.index, gateway, request.gateway_is_offlink(), request.keep_default_route)
            .await?
        {
            routed = Some(gateway);
        } else {
            tracing::info!("{ifname}: the namespace already has a default route; it stays");
        }
    }
    // Before the host end comes up, or the kernel has already made its link-local address.
    if let Err(error) = host.disable_ipv6_addresses(host_end.index, host_ifname).await {
        // A kernel without IPv6 has nothing to turn off.
        tracing::debug!(%error, "leaving IPv6 address generation on");
    }
    host.set_up(host_end.index, host_ifname).await?;
    Ok((host_end.index, peer.mtu.unwrap_or(KERNEL_DEFAULT_MTU), routed))
}

/// The first candidate name no other link holds.
fn free_host_ifname(iface_id: &str, host_links: &[LinkFacts]) -> Result<String, AttachError> {
    (0..HOST_NAME_CANDIDATES)
        .map(|index| host_ifname(iface_id, index))
        .find(|name| !host_links.iter().any(|link| &link.name == name))
        .ok_or_else(|| AttachError::NoFreeHostName {
            iface_id: iface_id.to_owned(),
            first: host_ifname(iface_id, 0),
            last: host_ifname(iface_id, HOST_NAME_CANDIDATES - 1),
        })
}

/// Deletes a half-made pair, logging rather than failing: the caller already has the error
/// that matters.
async fn remove_quietly(host: &Netlink, host_ifname: &str) {
    let outcome = match host.link(host_ifname).await {
        Ok(Some(link)) => host.delete(link.index, host_ifname).await,
        Ok(None) => Ok(()),
        Err(error) => Err(error),
    };
    if let Err(error) = outcome {
        tracing::warn!(%error, host_ifname, "could not remove a half-made port; delete it by hand");
    }
}

fn vanished(name: &str, place: &str) -> AttachError {
    AttachError::Worker(format!("interface '{name}' vanished {place} while being set up"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str) -> LinkFacts {
        LinkFacts {
            index: 1,
            name: name.to_owned(),
            alias: None,
            mac: None,
            mtu: None,
            admin_up: false,
            lower_up: false,
            link_netns_id: None,
        }
    }

    #[test]
    fn the_first_free_candidate_wins() {
        assert_eq!(free_host_ifname("p", &[]).expect("free"), host_ifname("p", 0));
        let taken = [link(&host_ifname("p", 0)), link(&host_ifname("p", 1)), link("eth0")];
        assert_eq!(free_host_ifname("p", &taken).expect("free"), host_ifname("p", 2));
        let all: Vec<_> = (0..HOST_NAME_CANDIDATES).map(|n| link(&host_ifname("p", n))).collect();
        let error = free_host_ifname("p", &all).expect_err("all taken");
        assert!(matches!(error, AttachError::NoFreeHostName { .. }), "{error}");
    }

    #[test]
    fn only_aliased_links_are_switchyards() {
        assert_eq!(SwitchyardLink::from_facts(link("eth0")), None);
        let ours = LinkFacts { alias: Some(alias_for("port-9")), ..link("sy0000000000_0") };
        let found = SwitchyardLink::from_facts(ours).expect("ours");
        assert_eq!(found.iface_id, "port-9");
        assert_eq!(found.host_ifname, "sy0000000000_0");
    }
}
