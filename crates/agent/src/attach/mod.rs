//! Attach: the host side of putting a container on the switch, the seed's manual steps in one
//! call. [`create_port`] makes a veth pair, puts one end into the container's network namespace
//! (found by pid, by `ip netns` name, or by asking the Docker engine) as `eth0` with its MAC,
//! MTU, address and default route, and brings both ends up; the host end, named
//! `sy<hash>_<n>` from the port's iface-id and carrying the iface-id in its alias, is what the
//! agent's datapath then switches. [`delete_port`] removes the pair; [`list_switchyard_links`]
//! finds the host ends an agent left behind when it restarts.
//!
//! Layout: pure checks and names ([`request`], [`naming`], the HTTP parser) beside thin shells:
//! netlink (rtnetlink), the namespace worker thread, the Docker engine client.

mod docker;
mod error;
mod http;
pub mod naming;
mod netlink;
mod netns;
mod port;
pub mod request;

pub use docker::DockerEngine;
pub use error::AttachError;
pub use naming::{generated_mac, host_ifname};
pub use netns::NETNS_RUN_DIR;
pub use port::{
    CreatedPort, KernelLink, SwitchyardLink, bring_up, create_port, create_port_with, delete_port, find_port,
    host_link_carrier, list_host_links, list_switchyard_links,
};
pub use request::{AttachRequest, DEFAULT_IFNAME, Target};
