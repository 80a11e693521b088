//! The VXLAN side of the agent: the VTEP (`--vtep`, checked against the host's addresses), and
//! the overlay — which remote VTEPs and MACs each bridge-domain has — followed from the
//! supervisor's WatchOverlay stream, persisted (`D/overlay.json`) so a headless restart keeps
//! forwarding, and put in force in the dataplane.
//!
//! - [`vtep`]: where the VTEP address lives (interface, MTU), or a startup error.
//! - [`model`]: the overlay as the supervisor sends it and as persisted, to the datapath's, pure.
//! - [`follow_overlay`]: the WatchOverlay subscription, reconnecting like the Watch stream.

mod link;
pub mod model;
pub mod vtep;

pub use link::{OverlayFollower, follow_overlay};
pub use model::{OverlayFile, RemoteMacEntry, SegmentEntry};
pub use vtep::{VtepError, VtepInterface};

/// The bytes VXLAN adds to a frame on an IPv4 underlay: outer IPv4 (20), UDP (8), VXLAN (8) and
/// the inner Ethernet header (14). A container MTU of the underlay's minus this fits unfragmented.
pub const VXLAN_OVERHEAD: u32 = 50;
