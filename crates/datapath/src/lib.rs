//! Switchyard's datapath: the switching pipeline of one host, pure.
//!
//! Frames arrive in an [`RxBatch`], each tagged with its port; [`Datapath::process`] decides
//! each frame's fate and writes what to send into a [`TxBatch`], which names input frames by
//! index (no copies). Per frame: ingress port policy (profile found, admin state) → segment
//! (access VLAN or bridge-domain; trunk allowed VLANs, native untagged) → port security and
//! anti-spoofing (IP source guard, ARP inspection, DHCP snooping; per-port MAC limits and
//! port-security maximums at learning; storm control where a frame floods) → source MAC learning
//! (static entries for attached MACs, dynamic ones with aging, moves) → destination lookup
//! (known unicast to one port; broadcast, multicast and unknown unicast flooded within the
//! segment, never back out of the ingress port) → egress tagging. IP frames of ports with
//! access lists or flow accounting also pass through the flow table: the input
//! list before learning, each egress port's output list before sending, connection tracking
//! for stateful permits, and the per-flow counters flow export reads. Every drop is counted by
//! [`DropReason`], per port and in total. [`Datapath::trace`] runs one frame through the same
//! decisions and says what each was.
//!
//! Uplinks ([`PortKind::Uplink`]) follow the VEM's mac-pinning rules: each vEthernet is pinned
//! to one uplink, uplinks never forward to each other, and an uplink delivers only to the
//! vEthernets pinned to it. Bridge-domains span hosts through the VXLAN tunnel,
//! [`TUNNEL_PORT`], by the [`Overlay`] the supervisor describes: floods are replicated to each
//! remote VTEP, known remote MACs go to theirs, and frames from the tunnel stay local.
//!
//! What the guard decides that the agent must act on (violations, error-disabled ports, sticky
//! MACs, DHCP bindings) comes out as [`DatapathEvent`]s from [`Datapath::poll_event`].
//!
//! Configuration is an immutable [`Snapshot`] swapped whole by [`Datapath::set_config`].
//! No I/O, no clock (`now` is passed in), no allocation per frame. Packet I/O sits behind
//! [`io::PortIo`]; [`io::memory`] is the in-memory backend tests and simulations use.

mod acl;
mod batch;
mod conntrack;
mod counters;
mod datapath;
mod error;
mod flow_table;
mod flows;
mod forward;
mod guard;
pub mod io;
mod mac_table;
mod overlay;
mod packet;
mod policy;
mod port;
mod segment;
mod snapshot;
mod vlan_bitmap;

pub use acl::{
    Acl, AclHits, AclRule, Action, Family, IpNet, MAX_RULES, PortAcls, PortMatch, TcpFlagMatch, tcp_flags,
};
pub use batch::{Encap, RxBatch, RxFrame, TxBatch, TxFrame, TxView};
pub use conntrack::{ConnDirection, ConnState};
pub use counters::{Direction, DropCounters, DropReason, MacTableCounters, PortStats, TrafficCounters};
pub use datapath::{Datapath, Settings};
pub use error::ConfigError;
pub use flow_table::DEFAULT_FLOW_TABLE_SIZE;
pub use flows::{Connection, FlowRecord};
pub use guard::{
    DatapathEvent, DhcpBinding, DhcpBindingEnd, EVENT_QUEUE_LEN, ErrDisableReason, PortSecurity,
    StormControl, ViolationAction,
};
pub use mac_table::{MacKind, MacTableRow};
pub use overlay::{Overlay, OverlaySegment, TUNNEL_NAME, TUNNEL_PORT};
pub use policy::FlowTableCounters;
pub use port::{PortConfig, PortId, PortKind, PortMode, ProfileBinding};
pub use segment::Segment;
pub use snapshot::{DEFAULT_MAC_AGING, Snapshot, StaticMacConflict};
pub use vlan_bitmap::VlanBitmap;
