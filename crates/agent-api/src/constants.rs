//! The datapath's facts `vemcmd` prints. They are copies, so a client need not link the
//! datapath; the agent's tests check that they equal the datapath's.

use std::time::Duration;

/// How long a dynamic MAC stays in the table unseen (the datapath's `DEFAULT_MAC_AGING`).
pub const DEFAULT_MAC_AGING: Duration = Duration::from_secs(300);

/// The VXLAN tunnel port's name (the datapath's `TUNNEL_NAME`).
pub const TUNNEL_NAME: &str = "vxlan";

/// The VXLAN tunnel port's LTL (the datapath's `TUNNEL_PORT`).
pub const TUNNEL_LTL: u32 = 10;

/// The bytes VXLAN adds to a frame on the underlay (the agent's `overlay::VXLAN_OVERHEAD`).
pub const VXLAN_OVERHEAD: u32 = 50;
