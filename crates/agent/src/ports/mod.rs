//! Ports: the containers' vEthernets on this host, from attach to detach.
//!
//! - [`PortManager`]: the shell that attaches (veth pair → `BindPort` → dataplane → `ports.json`
//!   → `ReportPorts`), detaches, follows policy changes, reports and restores after a restart.
//! - [`spec`]: what `switchyard attach`/`detach` ask (local API messages), checked.
//! - [`table`], [`status`], [`view`]: pure bookkeeping, the supervisor's report, the host views.
//! - [`record`]: one port as remembered, and `ports.json`.
//! - [`adoption`] and [`follow_ovsdb`]: ports made of the interfaces OVSDB rows name (the
//!   seed's `ovs-vsctl add-port`), and the rows written back.
//!
//! A port is identified by its iface-id (stable, from the attach), named by its vEthernet
//! number (global, from the supervisor) and numbered locally by its LTL (49 and up): the
//! datapath's port id, kept across agent restarts.

pub mod adoption;
mod driver;
mod error;
pub mod flow_view;
mod manager;
mod ovsdb_follower;
pub mod policy_view;
pub mod record;
mod rpc;
pub mod spec;
pub mod status;
pub mod table;
pub mod view;

pub use driver::{DATAPATH_POLL, REPORT_INTERVAL, follow_datapath, follow_policies, report_and_rebind};
pub use error::PortError;
pub use manager::{
    AddressHolder, Allocation, HandoverPort, PoolLookup, PoolQuery, PoolRef, PoolShape, PortManager,
    PortManagerParts,
};
pub use ovsdb_follower::{ROW_POLL, SUPERVISOR_GRACE, follow_ovsdb};
pub use record::{PortOrigin, PortRecord, PortsFile};
pub use spec::{AttachSpec, DetachSpec, TargetSpec, attach_request, parse_cidr, parse_vethernet};
pub use view::{
    AttachedView, BridgeDomainOverlay, DetachedView, DropCount, MacView, PortView, PortsView, TraceView,
    Traffic, TunnelCounters, VtepView, VxlanView,
};
