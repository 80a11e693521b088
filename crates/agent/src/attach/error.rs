//! The one error type of attach and detach, worded for the person who typed the command.

use std::io;
use std::path::PathBuf;

use nix::errno::Errno;

/// Why a port could not be attached, detached or listed.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// A name (interface, network namespace, container) the kernel or Docker would refuse.
    #[error("{kind} '{name}' {problem}")]
    InvalidName {
        /// What the name names: `interface name`, `network namespace name`, `container name`.
        kind: &'static str,
        /// The name as given.
        name: String,
        /// What is wrong with it, as the rest of the sentence.
        problem: &'static str,
    },
    /// An iface-id the host end's alias cannot carry.
    #[error("iface-id '{iface_id}' {problem}")]
    InvalidIfaceId {
        /// The iface-id as given.
        iface_id: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A prefix length longer than an IPv4 address.
    #[error("ip {ip}/{prefix}: prefix must be 0-32")]
    InvalidPrefix {
        /// The address as given.
        ip: std::net::Ipv4Addr,
        /// The prefix length as given.
        prefix: u8,
    },
    /// An MTU outside what an Ethernet veth accepts.
    #[error("mtu {mtu}: must be {min}-{max}")]
    InvalidMtu {
        /// The MTU as given.
        mtu: u32,
        /// The smallest MTU accepted.
        min: u32,
        /// The largest MTU accepted.
        max: u32,
    },
    /// A MAC address an interface cannot own.
    #[error("mac {mac}: {problem}")]
    InvalidMac {
        /// The address, in the colon form Linux tools print.
        mac: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A gateway the port could not route through.
    #[error("gateway {gateway}: {problem}")]
    InvalidGateway {
        /// The gateway as given.
        gateway: std::net::Ipv4Addr,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// `--pid` names no running process.
    #[error("process {pid} does not exist")]
    ProcessNotFound {
        /// The pid as given.
        pid: u32,
    },
    /// `--netns` names nothing under `/run/netns`.
    #[error("network namespace '{name}' does not exist")]
    NetnsNotFound {
        /// The namespace name as given.
        name: String,
    },
    /// A namespace path (CNI's `CNI_NETNS`) names no file.
    #[error("network namespace {} does not exist (the container is gone?)", .path.display())]
    NetnsPathNotFound {
        /// The path as given.
        path: std::path::PathBuf,
    },
    /// The file given as a namespace is not one (a stale `/run/netns` entry, say).
    #[error("{what} is not a network namespace")]
    NotANetns {
        /// The target, as [`super::Target`] displays it.
        what: String,
    },
    /// Docker knows no such container.
    #[error("container '{name}' not found (docker)")]
    ContainerNotFound {
        /// The container name or id as given.
        name: String,
    },
    /// The container exists but has no process, so no network namespace.
    #[error("container '{name}' is not running (docker)")]
    ContainerNotRunning {
        /// The container name or id as given.
        name: String,
    },
    /// The Docker engine's socket could not be reached or did not answer in time.
    #[error("cannot reach the Docker engine at {}: {source}", socket.display())]
    DockerUnreachable {
        /// The engine's socket.
        socket: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The Docker engine answered, but not with what inspect returns.
    #[error("the Docker engine answered {status} for container '{name}': {message}")]
    DockerFailed {
        /// The container name or id as given.
        name: String,
        /// The HTTP status (0 when the answer was not HTTP at all).
        status: u16,
        /// The engine's message, or what was wrong with its answer.
        message: String,
    },
    /// The kernel refused for lack of privilege.
    #[error("permission denied {action}: run as root (needs CAP_NET_ADMIN and CAP_SYS_ADMIN)")]
    PermissionDenied {
        /// What was being done, as `creating the veth pair`.
        action: String,
    },
    /// The interface name is taken where the new interface would go.
    #[error("interface '{name}' already exists {place}")]
    IfnameInUse {
        /// The name that is taken.
        name: String,
        /// `on the host` or `in the target's network namespace`.
        place: &'static str,
    },
    /// A host end for this iface-id is already there: detach it first.
    #[error("iface-id '{iface_id}' is already attached (host interface {host_ifname})")]
    AlreadyAttached {
        /// The iface-id as given.
        iface_id: String,
        /// The existing host end.
        host_ifname: String,
    },
    /// Every host-end name this iface-id may use belongs to another port (a hash collision).
    #[error("no free host interface name for iface-id '{iface_id}': all of {first}..{last} are taken")]
    NoFreeHostName {
        /// The iface-id as given.
        iface_id: String,
        /// The first candidate name.
        first: String,
        /// The last candidate name.
        last: String,
    },
    /// Detach was asked to delete an interface Switchyard did not create.
    #[error("interface '{name}' is not a Switchyard port; not deleting it")]
    NotSwitchyardPort {
        /// The interface name as given.
        name: String,
    },
    /// The kernel refused a netlink request.
    #[error("{action}: {source}")]
    Netlink {
        /// What was being done, as `adding 10.0.0.2/24 to eth0`.
        action: String,
        /// The kernel's errno, or what was wrong with its answer.
        source: io::Error,
    },
    /// A file or socket operation failed.
    #[error("{action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The error.
        source: io::Error,
    },
    /// The thread that enters the target's namespace could not run or died.
    #[error("namespace worker: {0}")]
    Worker(String),
}

impl AttachError {
    /// Wraps a failed netlink request, telling a missing privilege apart.
    pub(crate) fn netlink(action: impl Into<String>, error: rtnetlink::Error) -> Self {
        let source = match error {
            rtnetlink::Error::NetlinkError(message) => message.to_io(),
            other => io::Error::other(other.to_string()),
        };
        Self::from_io(action, source, |action, source| Self::Netlink { action, source })
    }

    /// Wraps a failed file or socket operation, telling a missing privilege apart.
    pub(crate) fn io(action: impl Into<String>, source: io::Error) -> Self {
        Self::from_io(action, source, |action, source| Self::Io { action, source })
    }

    fn from_io(
        action: impl Into<String>,
        source: io::Error,
        otherwise: impl FnOnce(String, io::Error) -> Self,
    ) -> Self {
        let action = action.into();
        if is_permission(&source) { Self::PermissionDenied { action } } else { otherwise(action, source) }
    }
}

/// The errno of a netlink error, if it carries one.
pub(crate) fn errno_of(error: &rtnetlink::Error) -> Option<Errno> {
    match error {
        rtnetlink::Error::NetlinkError(message) => Some(Errno::from_raw(message.raw_code().abs())),
        _ => None,
    }
}

fn is_permission(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::PermissionDenied || error.raw_os_error() == Some(Errno::EPERM as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_sentences() {
        let prefix = AttachError::InvalidPrefix { ip: [10, 0, 0, 1].into(), prefix: 33 };
        assert_eq!(prefix.to_string(), "ip 10.0.0.1/33: prefix must be 0-32");
        let name = AttachError::InvalidName {
            kind: "interface name",
            name: "abcdefghijklmnop".into(),
            problem: "is too long (at most 15 characters)",
        };
        assert_eq!(name.to_string(), "interface name 'abcdefghijklmnop' is too long (at most 15 characters)");
        let missing = AttachError::ContainerNotFound { name: "web1".into() };
        assert_eq!(missing.to_string(), "container 'web1' not found (docker)");
        let netns = AttachError::NetnsNotFound { name: "x".into() };
        assert_eq!(netns.to_string(), "network namespace 'x' does not exist");
    }

    #[test]
    fn eperm_and_eacces_become_permission_denied() {
        for errno in [Errno::EPERM, Errno::EACCES] {
            let error = AttachError::io("opening /proc/1/ns/net", io::Error::from(errno));
            assert_eq!(
                error.to_string(),
                "permission denied opening /proc/1/ns/net: run as root (needs CAP_NET_ADMIN and CAP_SYS_ADMIN)"
            );
        }
        let other = AttachError::io("reading x", io::Error::from(Errno::EIO));
        assert!(matches!(other, AttachError::Io { .. }), "{other}");
    }
}
