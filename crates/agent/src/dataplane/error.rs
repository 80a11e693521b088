//! What can go wrong running the dataplane.

use std::io;
use std::path::PathBuf;

use datapath::{ConfigError, PortId};

/// Why a dataplane request failed. The dataplane itself keeps running on its last good state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataplaneError {
    /// An interface could not be opened as a port.
    #[error("cannot {action} interface {ifname}: {source}")]
    Interface {
        /// The interface.
        ifname: String,
        /// What was being done: `look up`, `bind to`, …
        action: &'static str,
        /// What the kernel said.
        source: io::Error,
    },
    /// The ports' policies do not form a valid datapath configuration.
    #[error("invalid datapath configuration: {0}")]
    Config(#[from] ConfigError),
    /// A port with this number is already attached.
    #[error("{0} already has a device")]
    PortExists(PortId),
    /// The interface is already the device of another port.
    #[error("interface {ifname} is already the device of {port}")]
    InterfaceInUse {
        /// The interface.
        ifname: String,
        /// The port it serves.
        port: PortId,
    },
    /// No port with this number is attached.
    #[error("{0} has no device")]
    NoSuchPort(PortId),
    /// The dataplane thread could not enter the network namespace it was given.
    #[error("cannot enter network namespace {path}: {source}")]
    Namespace {
        /// The namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`).
        path: PathBuf,
        /// What the kernel said.
        source: io::Error,
    },
    /// The dataplane thread could not be started.
    #[error("cannot start the dataplane thread: {0}")]
    Start(io::Error),
    /// The dataplane thread is gone (stopped, or failed).
    #[error("the dataplane has stopped")]
    Stopped,
}
