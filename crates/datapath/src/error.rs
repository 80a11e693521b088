//! Why a configuration snapshot was refused.

use crate::PortId;

/// A port list the datapath cannot use; the previous snapshot stays in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Two ports with one number.
    #[error("{0} is configured twice")]
    DuplicatePort(PortId),
    /// An access or native VLAN outside 1–4094.
    #[error("{port}: VLAN {vlan} is not within 1-4094")]
    InvalidVlan {
        /// The port.
        port: PortId,
        /// The VLAN it names.
        vlan: u16,
    },
    /// A port numbered like the VXLAN tunnel, [`crate::TUNNEL_PORT`].
    #[error("{0} is reserved for the VXLAN tunnel")]
    ReservedPort(PortId),
    /// More ports than the datapath indexes.
    #[error("{0} ports configured; the datapath holds at most 65534")]
    TooManyPorts(usize),
    /// More distinct access lists than verdicts can name.
    #[error("{0} distinct access lists configured; the datapath holds at most 65535")]
    TooManyAccessLists(usize),
}
