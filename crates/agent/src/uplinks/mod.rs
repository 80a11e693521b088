//! Uplinks: the host NICs that carry the switch's VLANs to the physical network
//! (`--uplink IFACE=PROFILE`), as the Nexus 1000V's `EthernetM/K` ports under a `type ethernet`
//! port-profile with `channel-group auto mode on mac-pinning`.
//!
//! - [`spec`]: the flags, checked (malformed, duplicate, too many), and the numbering
//!   (uplink K is LTL 16 + K).
//! - [`set`]: pure: each uplink's datapath configuration under its profile and link state,
//!   pins kept from one snapshot to the next, the vEthernets a change moved.
//! - [`rarp`]: the announcement sent for each moved vEthernet, pure.
//! - [`link_watch`]: follows the NICs' link state.
//! - [`view`]: what vemcmd and the supervisor's report show.
//!
//! The uplink's device is an [`AfPacketPort`](crate::dataplane::AfPacketPort) like a
//! vEthernet's: promiscuous, tags the kernel strips put back from the aux data, tags pushed on
//! egress by the datapath.

pub mod link_watch;
pub mod rarp;
pub mod set;
pub mod spec;
pub mod view;

pub use link_watch::{LINK_POLL, follow_links};
pub use set::{Announcement, Move, Uplink, UplinkSet, keep_pins, uplink_reason};
pub use spec::{UplinkError, UplinkSpec};
pub use view::UplinkView;
