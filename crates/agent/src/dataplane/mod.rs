//! The agent's dataplane: switch ports on Linux interfaces and the thread that runs the
//! [`datapath`] over them.
//!
//! - [`AfPacketPort`]: a [`datapath::io::PortIo`] device on the host end of a container's veth
//!   pair (AF_PACKET, virtio-net headers so the veth offloads stay on).
//! - [`Dataplane`]: the handle on the dataplane thread, which owns the datapath and the devices,
//!   waits on their sockets with epoll, and takes requests (ports, snapshots, counters, trace).
//! - `TunnelSocket`: the VXLAN tunnel endpoint's UDP socket (VTEP), sending what the veths'
//!   offloads still owe in software ([`wire::gso`]).
//! - [`datapath_snapshot`]: the agent's policies and attached ports as a datapath
//!   configuration, pure.
//!
//! Unsafe code (system calls) is confined to two private files: `sys.rs`, and `udp_gso.rs`
//! for the tunnel's UDP segmentation offloads.

mod af_packet;
mod command;
mod endpoint;
mod error;
mod handle;
mod ledger;
mod policy;
mod rules;
mod runtime;
mod sys;
mod tunnel;
mod udp_gso;
mod vnet;

pub use af_packet::{AfPacketPort, DeviceCounters, DeviceDrops, MAX_FRAME_LEN};
pub use command::{PolicyState, PortDevice, SwitchDrops};
pub use error::DataplaneError;
pub use handle::{Dataplane, DataplaneOptions};
pub use ledger::OffloadLedger;
pub use policy::{AttachedPort, datapath_snapshot, port_config, port_mode};
