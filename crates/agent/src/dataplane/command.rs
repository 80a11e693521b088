//! The requests the [`Dataplane`] handle sends its thread, and the answers.

use std::sync::Arc;

use datapath::{DropCounters, MacTableRow, Overlay, PortConfig, PortId, PortStats, Snapshot};
use tokio::sync::oneshot;

#[cfg(doc)]
use super::Dataplane;
use super::af_packet::{DeviceCounters, DeviceDrops};
use super::error::DataplaneError;

/// Where the thread sends the answer to one request.
pub(super) type Reply<T> = oneshot::Sender<T>;

/// One request to the dataplane thread.
#[derive(Debug)]
pub(super) enum Command {
    AddPort {
        ifname: String,
        config: Box<PortConfig>,
        reply: Reply<Result<(), DataplaneError>>,
    },
    RemovePort {
        port: PortId,
        reply: Reply<Result<(), DataplaneError>>,
    },
    SetSnapshot {
        snapshot: Arc<Snapshot>,
        reply: Reply<()>,
    },
    SetOverlay {
        overlay: Box<Overlay>,
        reply: Reply<()>,
    },
    PortStats {
        port: PortId,
        reply: Reply<Option<PortStats>>,
    },
    Drops {
        reply: Reply<SwitchDrops>,
    },
    MacTable {
        reply: Reply<Vec<MacTableRow>>,
    },
    Trace {
        port: PortId,
        frame: Vec<u8>,
        reply: Reply<Vec<String>>,
    },
    Devices {
        reply: Reply<Vec<PortDevice>>,
    },
    /// The snapshot in force.
    Config {
        reply: Reply<Arc<Snapshot>>,
    },
    /// Sends one frame out of a port's device, past the datapath (an uplink's announcements).
    Transmit {
        port: PortId,
        frame: Vec<u8>,
        reply: Reply<Result<(), DataplaneError>>,
    },
    /// The last handle is gone.
    Stop,
}

/// Every drop of the switch, as [`Dataplane::drops`] reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwitchDrops {
    /// The datapath's, by reason (ports since removed included).
    pub datapath: DropCounters,
    /// What every device lost before the datapath saw it (devices since closed included).
    pub devices: DeviceDrops,
}

/// A port's device as [`Dataplane::devices`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortDevice {
    /// The port it serves.
    pub port: PortId,
    /// The interface: the host end of the container's veth pair.
    pub ifname: String,
    /// The interface's index in the dataplane's network namespace.
    pub ifindex: u32,
    /// What happened on the device.
    pub counters: DeviceCounters,
}
