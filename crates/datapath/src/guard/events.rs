//! What the guard tells the agent: violations, error-disabled ports, sticky MACs and DHCP
//! bindings, queued without allocating until polled.

use core::fmt;
use std::collections::VecDeque;

use wire::MacAddr;

use super::{DhcpBinding, DhcpBindingEnd, ViolationAction};
use crate::PortId;

/// Events the datapath keeps until the agent polls them; past that, new ones are counted lost.
pub const EVENT_QUEUE_LEN: usize = 1024;

/// Why the datapath error-disabled a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrDisableReason {
    /// A port-security violation with `violation shutdown`.
    PortSecurity,
}

impl fmt::Display for ErrDisableReason {
    /// As NX-OS words it: `%ETHPORT-2-IF_DOWN_ERROR_DISABLED: Interface Vethernet3 is down
    /// (Error disabled. Reason:Port Security violation)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PortSecurity => "Port Security violation",
        })
    }
}

/// Something the agent should log, persist or report; see [`crate::Datapath::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatapathEvent {
    /// A frame from `mac` passed the port's secure MAC maximum (`restrict` or `shutdown`):
    /// `%PORT-SECURITY-2-PSECURE_VIOLATION: Security violation occurred, caused by MAC
    /// 0200.0000.0005 on port Vethernet3`.
    PortSecurityViolation {
        /// The port.
        port: PortId,
        /// The MAC one too many.
        mac: MacAddr,
        /// What the port does about it.
        action: ViolationAction,
    },
    /// The datapath stopped forwarding the port.
    PortErrDisabled {
        /// The port.
        port: PortId,
        /// Why.
        reason: ErrDisableReason,
    },
    /// A port with `mac-address sticky` learned `mac`: persist it.
    StickyMacLearned {
        /// The port.
        port: PortId,
        /// The MAC.
        mac: MacAddr,
    },
    /// DHCP snooping bound an address to a port (a DHCPACK from a trusted port).
    DhcpBindingAdded(DhcpBinding),
    /// A binding ended.
    DhcpBindingRemoved {
        /// The binding.
        binding: DhcpBinding,
        /// Why.
        end: DhcpBindingEnd,
    },
}

/// Queues `event` in `events` unless full (then counts it in `lost`): never allocates, the
/// queue having its room from the start.
pub(super) fn push(events: &mut VecDeque<DatapathEvent>, lost: &mut u64, event: DatapathEvent) {
    if events.len() < EVENT_QUEUE_LEN {
        events.push_back(event);
    } else {
        *lost += 1;
    }
}
