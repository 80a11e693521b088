//! Port security and anti-spoofing, at ingress before MAC learning: what a port may claim to
//! be, and how fast it may flood.
//!
//! - Per-port MAC limits. Every vEthernet may have at most `Settings::per_port_mac_limit`
//!   learned MACs, so that one container sending random source MACs cannot fill the host's
//!   table for the others: past the limit its new MACs are not learned (their frames are still
//!   forwarded, as for a full table) and counted (`PortStats::mac_limit`). With
//!   `switchport port-security` the limit is the port's `maximum`, which its attached (static)
//!   MAC counts toward as in NX-OS, and a frame from one more MAC is a violation: `protect`
//!   drops it, `restrict` also reports it (at most one event per port per second), `shutdown`
//!   error-disables the port at once until [`crate::Datapath::recover_port`].
//! - IP source guard (`ip verify source`): the source MAC must be the attached MAC and the
//!   source IPv4/IPv6 address one bound to the port (config or DHCP snooping). Allowed without a
//!   binding: IPv4 `0.0.0.0` from UDP 68 to 67 (a DHCP client before its lease), IPv6 `::`
//!   (duplicate address detection) and link-local `fe80::/10` sources (every IPv6 interface
//!   has one before any binding exists).
//! - ARP inspection (`ip arp inspection`): an ARP's sender must be the attached MAC and a bound
//!   address (a probe from `0.0.0.0` passes); an IPv6 neighbour advertisement must be for a
//!   bound (or link-local) target and carry the attached MAC, if it carries one.
//! - DHCP snooping: server messages (UDP source port 67) only from trusted ports; ACKs to
//!   local vEthernets become bindings until the lease ends, RELEASE and DECLINE end them.
//! - Storm control: per-port token buckets for broadcast, multicast and unknown unicast.
//!
//! Decisions here only read state (so `trace` narrates them without side effects); the
//! datapath applies them: [`GuardState`] holds what they change.

mod dhcp;
mod events;
mod inspect;
mod policy;
mod storm;

use core::fmt;
use std::collections::{BTreeSet, VecDeque};
use std::net::IpAddr;

use wire::MacAddr;

use crate::DropReason;
use crate::PortId;
use crate::forward::{FloodCause, Observer, note};
use crate::mac_table::{Learn, MacTable};
use crate::snapshot::{PortIndex, Snapshot};

pub(crate) use dhcp::Bindings;
pub use dhcp::{DhcpBinding, DhcpBindingEnd};
use events::push;
pub use events::{DatapathEvent, EVENT_QUEUE_LEN, ErrDisableReason};
pub(crate) use inspect::inspect;
pub use policy::{PortSecurity, StormControl, ViolationAction};
pub(crate) use storm::Bucket;

/// What the guard keeps between frames: per-port rate state, error-disabled ports, DHCP
/// bindings and the events not yet polled.
#[derive(Debug)]
pub(crate) struct GuardState {
    /// Parallel to the snapshot's ports.
    ports: Vec<PortGuard>,
    /// Ports error-disabled, kept across snapshots until recovered.
    pub err_disabled: BTreeSet<PortId>,
    pub bindings: Bindings,
    events: VecDeque<DatapathEvent>,
    pub events_lost: u64,
}

/// One port's rate state.
#[derive(Debug, Clone, Default)]
struct PortGuard {
    id: Option<PortId>,
    /// When the last violation event was reported, in nanoseconds.
    last_violation_event: Option<u64>,
    storm: [Bucket; 3],
}

impl GuardState {
    pub fn new(dhcp_bindings: usize) -> Self {
        Self {
            ports: Vec::new(),
            err_disabled: BTreeSet::new(),
            bindings: Bindings::new(dhcp_bindings),
            events: VecDeque::with_capacity(EVENT_QUEUE_LEN),
            events_lost: 0,
        }
    }

    /// Follows a new snapshot: per-port state carried over by port number; error-disabled
    /// ports that left the config are forgotten.
    pub fn install(&mut self, next: &Snapshot) {
        // Both lists are by ascending port number, as snapshots keep their ports.
        let mut old = std::mem::take(&mut self.ports);
        self.ports = next
            .ports()
            .iter()
            .map(|port| {
                let found = old.binary_search_by_key(&Some(port.id), |state| state.id).ok();
                let kept = found.map(|at| std::mem::take(&mut old[at]));
                PortGuard { id: Some(port.id), ..kept.unwrap_or_default() }
            })
            .collect();
        self.err_disabled.retain(|&id| next.index_of(id).is_some());
        self.end_bindings(0, |id| next.index_of(id).is_some());
    }

    /// Queues `event` unless the queue is full (then it is counted lost).
    pub fn report(&mut self, event: DatapathEvent) {
        push(&mut self.events, &mut self.events_lost, event);
    }

    pub fn poll(&mut self) -> Option<DatapathEvent> {
        self.events.pop_front()
    }

    /// Reacts to a port-security violation by `mac` on the port at `index`; `true` if the port
    /// is to be error-disabled now.
    pub fn violation(&mut self, config: &Snapshot, index: PortIndex, mac: MacAddr, now: u64) -> bool {
        let port = config.by_index(index);
        let Some(security) = port.port_security else { return false };
        let state = &mut self.ports[usize::from(index)];
        match security.violation {
            ViolationAction::Protect => false,
            ViolationAction::Restrict => {
                let quiet = state.last_violation_event.is_none_or(|last| now.saturating_sub(last) >= SECOND);
                if quiet {
                    state.last_violation_event = Some(now);
                    self.report(DatapathEvent::PortSecurityViolation {
                        port: port.id,
                        mac,
                        action: security.violation,
                    });
                }
                false
            }
            ViolationAction::Shutdown => {
                if !self.err_disabled.insert(port.id) {
                    return false;
                }
                self.report(DatapathEvent::PortSecurityViolation {
                    port: port.id,
                    mac,
                    action: security.violation,
                });
                self.report(DatapathEvent::PortErrDisabled {
                    port: port.id,
                    reason: ErrDisableReason::PortSecurity,
                });
                true
            }
        }
    }

    /// Storm control on a flood of `cause` from the port at `index`: takes a token of its
    /// bucket, or says why the frame is dropped.
    #[inline]
    pub fn storm(
        &mut self,
        config: &Snapshot,
        index: PortIndex,
        cause: FloodCause,
        now: u64,
    ) -> Result<(), DropReason> {
        let Some(rate) = storm_rate(config, index, cause) else { return Ok(()) };
        let passed = self
            .ports
            .get_mut(usize::from(index))
            .is_none_or(|state| state.storm[cause as usize].take(rate, now));
        if passed { Ok(()) } else { Err(storm_reason(cause)) }
    }

    /// What [`Self::storm`] would say, taking nothing (for `trace`), with the rate.
    pub fn storm_would_drop(
        &self,
        config: &Snapshot,
        index: PortIndex,
        cause: FloodCause,
        now: u64,
    ) -> Option<u32> {
        let rate = storm_rate(config, index, cause)?;
        let state = self.ports.get(usize::from(index))?;
        (!state.storm[cause as usize].would_pass(rate, now)).then_some(rate)
    }

    /// After a source MAC was learned on the port at `index`: a sticky port reports it.
    pub fn learned(&mut self, config: &Snapshot, index: PortIndex, mac: MacAddr) {
        if index == crate::snapshot::TUNNEL_INDEX {
            return;
        }
        let port = config.by_index(index);
        if port.port_security.is_some_and(|security| security.sticky) {
            self.report(DatapathEvent::StickyMacLearned { port: port.id, mac });
        }
    }
}
/// One second in nanoseconds.
const SECOND: u64 = 1_000_000_000;

/// The drop reason of storm control for `cause`.
pub(crate) fn storm_reason(cause: FloodCause) -> DropReason {
    match cause {
        FloodCause::Broadcast => DropReason::StormBroadcast,
        FloodCause::Multicast => DropReason::StormMulticast,
        FloodCause::UnknownUnicast => DropReason::StormUnknownUnicast,
    }
}

#[inline]
fn storm_rate(config: &Snapshot, index: PortIndex, cause: FloodCause) -> Option<u32> {
    if index == crate::snapshot::TUNNEL_INDEX {
        return None;
    }
    let storm = &config.by_index(index).storm_control;
    match cause {
        FloodCause::Broadcast => storm.broadcast_pps,
        FloodCause::Multicast => storm.multicast_pps,
        FloodCause::UnknownUnicast => storm.unknown_unicast_pps,
    }
}

/// A new source MAC on a port that has reached its limit: with port security a violation
/// (`Err`), else not learned (`Learn::OverLimit`, the frame still forwarded).
#[inline(never)]
pub(crate) fn over_limit<O: Observer>(
    config: &Snapshot,
    macs: &MacTable,
    index: PortIndex,
    src: MacAddr,
    observer: &mut O,
) -> Result<Learn, DropReason> {
    let port = config.by_index(index);
    let learned = macs.port_count(index);
    match port.port_security {
        Some(security) => {
            let nth = learned + u32::from(port.attached_mac.is_some()) + 1;
            note!(
                observer,
                "port-security: {src} is a {} secure MAC, maximum {}: violation ({})",
                Ordinal(nth),
                security.maximum,
                security.violation
            );
            Err(DropReason::PortSecurity)
        }
        None => {
            note!(
                observer,
                "mac limit: {} has {learned} learned MACs, its limit: {src} not learned",
                port.name
            );
            Ok(Learn::OverLimit)
        }
    }
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`.
struct Ordinal(u32);

impl fmt::Display for Ordinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        let suffix = match (n % 10, n % 100) {
            (_, 11..=13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        write!(f, "{n}{suffix}")
    }
}

/// `true` if `ip` is bound to `port`: in its config, or by DHCP snooping (lease running).
#[inline]
pub(crate) fn is_bound(port: &crate::PortConfig, bindings: &Bindings, ip: IpAddr, now: u64) -> bool {
    port.ip_bindings.contains(&ip) || bindings.holds(port.id, ip, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_read_as_english() {
        let words: Vec<String> =
            [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111].map(|n| Ordinal(n).to_string()).into();
        assert_eq!(
            words,
            ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]
        );
    }

    #[test]
    fn reasons_read_as_nx_os() {
        assert_eq!(ErrDisableReason::PortSecurity.to_string(), "Port Security violation");
        assert_eq!(ViolationAction::Restrict.to_string(), "restrict");
    }
}
