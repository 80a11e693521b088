//! The port-security policy of one port, as the datapath takes it: `switchport port-security`
//! and `storm-control`.

use core::fmt;

/// `switchport port-security`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortSecurity {
    /// `switchport port-security maximum N`: secure MACs, the attached MAC included (NX-OS
    /// default 1: the attached MAC alone).
    pub maximum: u32,
    /// `switchport port-security violation …`.
    pub violation: ViolationAction,
    /// `switchport port-security mac-address sticky`: learned MACs are reported
    /// ([`crate::DatapathEvent::StickyMacLearned`]) for the agent to keep.
    pub sticky: bool,
}

impl Default for PortSecurity {
    /// Maximum 1, shutdown, not sticky: NX-OS's defaults.
    fn default() -> Self {
        Self { maximum: 1, violation: ViolationAction::Shutdown, sticky: false }
    }
}

/// What a frame from one MAC too many does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViolationAction {
    /// Dropped and counted.
    Protect,
    /// Dropped, counted and reported (at most one event per port per second).
    Restrict,
    /// Dropped, and the port error-disabled until the agent recovers it.
    Shutdown,
}

impl fmt::Display for ViolationAction {
    /// `protect`, `restrict`, `shutdown`: the config keywords.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Protect => "protect",
            Self::Restrict => "restrict",
            Self::Shutdown => "shutdown",
        })
    }
}

/// `storm-control broadcast|multicast|unicast level pps N`: frames per second a port may send
/// of each kind; `None` is no limit. Bursts of one second's worth pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StormControl {
    /// Broadcast frames per second.
    pub broadcast_pps: Option<u32>,
    /// Multicast frames per second.
    pub multicast_pps: Option<u32>,
    /// Unicast frames to unknown destinations (flooded) per second.
    pub unknown_unicast_pps: Option<u32>,
}

impl StormControl {
    /// `true` if any rate is set.
    #[inline]
    pub fn is_on(&self) -> bool {
        self.broadcast_pps.is_some() || self.multicast_pps.is_some() || self.unknown_unicast_pps.is_some()
    }
}
