//! The requests the [`Dataplane`] handle sends its thread, and the answers.

use std::sync::Arc;
use std::time::Duration;

use datapath::{
    AclHits, Connection, DatapathEvent, DhcpBinding, DropCounters, FlowRecord, FlowTableCounters,
    MacTableRow, Overlay, PortConfig, PortId, PortSecurity, PortStats, Snapshot,
};
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
    /// What the policy did: hit counters, secure ports, DHCP bindings, the flow table's fill.
    PolicyState {
        reply: Reply<PolicyState>,
    },
    /// The datapath's events since the last poll (port-security violations, error-disabled
    /// ports, sticky MACs, DHCP bindings made and ended), oldest first.
    Events {
        reply: Reply<Vec<DatapathEvent>>,
    },
    /// Records of flows due for export (idle past `inactive`, or open longer than `active`),
    /// with the datapath's clock when they were taken (their times are on that clock).
    ExpiredFlows {
        active: Duration,
        inactive: Duration,
        reply: Reply<(Duration, Vec<FlowRecord>)>,
    },
    /// Every flow in the flow table now.
    Flows {
        reply: Reply<Vec<FlowRecord>>,
    },
    /// Every tracked connection now.
    Connections {
        reply: Reply<Vec<Connection>>,
    },
    /// Forgets every tracked connection.
    ClearConntrack {
        reply: Reply<()>,
    },
    /// Brings an error-disabled port back; `false` if it was not error-disabled.
    RecoverPort {
        port: PortId,
        reply: Reply<bool>,
    },
    /// The last handle is gone.
    Stop,
}

/// What the datapath's policy did, as [`Dataplane::policy_state`] reports it.
#[derive(Debug, Clone, Default)]
pub struct PolicyState {
    /// Packets each access-list entry decided (the implicit deny has no sequence number).
    pub acl_hits: Vec<AclHits>,
    /// The ports the datapath error-disabled.
    pub err_disabled: Vec<PortId>,
    /// Each port with port security: its secure MACs.
    pub secure_macs: Vec<(PortId, Vec<MacTableRow>)>,
    /// Each port with port security: its settings.
    pub security: std::collections::BTreeMap<PortId, PortSecurity>,
    /// DHCP snooping's bindings.
    pub dhcp_bindings: Vec<DhcpBinding>,
    /// The flow table's fill (the connection tracker lives in it).
    pub flow_table: FlowTableCounters,
    /// New connections denied because the table was full.
    pub conntrack_full: u64,
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
