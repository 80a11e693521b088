//! Counters: per-port traffic (what `show interface vethernet N` prints) and drops by reason.

use core::fmt;

/// Which side of a port a drop happened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The frame was received and not forwarded ("Input Packet Drops").
    Input,
    /// The frame was forwarded to the port but not sent ("Output Packet Drops").
    Output,
}

macro_rules! drop_reasons {
    ($($reason:ident = $name:literal, $direction:ident, $text:literal;)*) => {
        /// Why the datapath dropped a frame. Every drop is counted under exactly one reason,
        /// on the port it concerns and in the total.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum DropReason {
            $(#[doc = $text] $reason,)*
        }

        impl DropReason {
            /// Every reason, in counter order.
            pub const ALL: [DropReason; [$(DropReason::$reason),*].len()] = [$(DropReason::$reason),*];
            /// How many reasons there are.
            pub const COUNT: usize = Self::ALL.len();

            /// Short identifier for tables and JSON: `port_down`.
            pub const fn name(self) -> &'static str {
                match self { $(Self::$reason => $name,)* }
            }

            /// What happened, for people: `port down`.
            pub const fn text(self) -> &'static str {
                match self { $(Self::$reason => $text,)* }
            }

            /// Whether the frame was lost coming in or going out.
            pub const fn direction(self) -> Direction {
                match self { $(Self::$reason => Direction::$direction,)* }
            }
        }
    };
}

drop_reasons! {
    NoIngressPort = "no_port", Input, "received on a port the datapath does not know";
    PortDown = "port_down", Input, "port down";
    ProfileMissing = "profile_missing", Input, "port-profile not found";
    Malformed = "malformed", Input, "malformed frame";
    Oversize = "oversize", Input, "frame longer than the receive buffer";
    TaggedOnAccess = "tagged_on_access", Input, "tagged frame on access port";
    VlanNotAllowed = "vlan_not_allowed", Input, "VLAN not allowed on port";
    SourceMacInvalid = "src_mac_invalid", Input, "source MAC multicast or zero";
    SourceMacStatic = "src_mac_static", Input, "source MAC is static on another port";
    DestinationIsIngress = "dst_on_ingress", Input, "destination is on the ingress port";
    NoUplink = "no_uplink", Input, "no uplink pinned for the destination behind the uplinks";
    UplinkNotPinned = "uplink_not_pinned", Input, "destination vEthernet is pinned to another uplink";
    UplinkToUplink = "uplink_to_uplink", Input, "destination is behind an uplink (no uplink-to-uplink forwarding)";
    UplinkSourceLocal = "uplink_src_local", Input, "source MAC of a local vEthernet received on an uplink";
    VxlanMalformed = "vxlan_malformed", Input, "VXLAN header short or without the I flag";
    VniUnknown = "vni_unknown", Input, "VXLAN segment id of no local bridge-domain";
    VtepNotMember = "vtep_not_member", Input, "VXLAN source is not a VTEP of the bridge-domain";
    AclIn = "acl_in", Input, "denied by an access list on input";
    ConntrackFull = "conntrack_full", Input, "connection table full: new connection denied";
    ErrDisabled = "err_disabled", Input, "port error-disabled";
    PortSecurity = "port_security", Input, "port-security violation: source MAC beyond the port's maximum";
    SourceGuardMac = "src_guard_mac", Input, "ip verify source: source MAC is not the port's attached MAC";
    SourceGuardIp = "src_guard_ip", Input, "ip verify source: source IP address not bound to the port";
    ArpInspection = "arp_inspection", Input, "ARP inspection: sender MAC or IP address does not match the port";
    DhcpUntrustedServer = "dhcp_untrusted_server", Input, "DHCP snooping: server message on an untrusted port";
    StormBroadcast = "storm_broadcast", Input, "storm control: broadcast rate exceeded";
    StormMulticast = "storm_multicast", Input, "storm control: multicast rate exceeded";
    StormUnknownUnicast = "storm_unknown_unicast", Input, "storm control: unknown unicast rate exceeded";
    TxBatchFull = "tx_batch_full", Output, "transmit batch full";
    TxQueueFull = "tx_queue_full", Output, "transmit queue full";
    NoDevice = "no_device", Output, "no device for port";
    AclOut = "acl_out", Output, "denied by an access list on output";
}

impl DropReason {
    /// Frames dropped for this reason still count as received on their port: they arrived on a
    /// port that was up. A down port (or one without its profile) receives nothing.
    pub const fn counts_as_received(self) -> bool {
        !matches!(self, Self::NoIngressPort | Self::PortDown | Self::ProfileMissing | Self::ErrDisabled)
            && matches!(self.direction(), Direction::Input)
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// Drops counted by reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropCounters {
    counts: [u64; DropReason::COUNT],
}

impl Default for DropCounters {
    fn default() -> Self {
        Self { counts: [0; DropReason::COUNT] }
    }
}

impl DropCounters {
    /// Drops for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.counts[reason as usize]
    }

    /// All drops.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Drops in one direction ("Input Packet Drops" / "Output Packet Drops").
    pub fn in_direction(&self, direction: Direction) -> u64 {
        self.iter().filter(|(reason, _)| reason.direction() == direction).map(|(_, count)| count).sum()
    }

    /// Every reason with its count, in counter order (zeros included).
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.into_iter().zip(self.counts.iter().copied())
    }

    /// Counts `count` more drops for `reason`.
    #[inline]
    pub fn add(&mut self, reason: DropReason, count: u64) {
        let slot = &mut self.counts[reason as usize];
        *slot = slot.wrapping_add(count);
    }
}

/// Traffic through one side of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrafficCounters {
    /// Frames.
    pub packets: u64,
    /// Bytes of those frames (as received, or as sent: a pushed or popped tag counts).
    pub bytes: u64,
    /// Frames to a unicast MAC.
    pub unicast: u64,
    /// Frames to a multicast MAC other than broadcast.
    pub multicast: u64,
    /// Frames to `ffff.ffff.ffff`.
    pub broadcast: u64,
    /// Unicast frames sent because their destination was unknown (transmit side only).
    pub flood: u64,
}

/// What one frame counts as, by its destination MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cast {
    Unicast,
    Multicast,
    Broadcast,
}

impl Cast {
    /// `None` for frames too short to have a destination.
    #[inline]
    pub fn of(frame: &[u8]) -> Option<Self> {
        let dst = wire::MacAddr::from_slice(frame)?;
        Some(if dst.is_broadcast() {
            Self::Broadcast
        } else if dst.is_multicast() {
            Self::Multicast
        } else {
            Self::Unicast
        })
    }
}

impl TrafficCounters {
    /// Counts one frame of `bytes` bytes.
    #[inline]
    pub(crate) fn count(&mut self, bytes: usize, cast: Option<Cast>, flooded_unicast: bool) {
        self.packets += 1;
        self.bytes += bytes as u64;
        match cast {
            Some(Cast::Unicast) => self.unicast += 1,
            Some(Cast::Multicast) => self.multicast += 1,
            Some(Cast::Broadcast) => self.broadcast += 1,
            None => {}
        }
        if flooded_unicast {
            self.flood += 1;
        }
    }
}

/// Everything counted for one port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortStats {
    /// Frames received (including those dropped afterwards, except on a down port).
    /// Unicast + multicast + broadcast is less than `packets` only by runts shorter than six
    /// bytes, which have no destination to classify.
    pub rx: TrafficCounters,
    /// Frames handed to the port's device to send.
    pub tx: TrafficCounters,
    /// Frames dropped, by reason.
    pub drops: DropCounters,
    /// Source MACs not learned because the port had reached its MAC limit (their frames were
    /// still forwarded, as for a full table).
    pub mac_limit: u64,
}

/// Events of the MAC table, switch-wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MacTableCounters {
    /// Dynamic entries created.
    pub learned: u64,
    /// Dynamic entries that moved to another port.
    pub moves: u64,
    /// Dynamic entries removed by aging.
    pub aged: u64,
    /// Source MACs not learned because the table was full (their frames were still forwarded).
    pub table_full: u64,
    /// Source MACs not learned because their port had reached its per-port limit.
    pub port_limit: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_have_distinct_names_and_directions() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|reason| reason.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        assert_eq!(DropReason::TaggedOnAccess.to_string(), "tagged frame on access port");
        assert!(DropReason::Malformed.counts_as_received());
        assert!(!DropReason::PortDown.counts_as_received());
        assert!(!DropReason::TxQueueFull.counts_as_received());
    }

    #[test]
    fn sums_by_direction() {
        let mut drops = DropCounters::default();
        drops.add(DropReason::Malformed, 3);
        drops.add(DropReason::TxQueueFull, 2);
        assert_eq!((drops.total(), drops.in_direction(Direction::Input)), (5, 3));
        assert_eq!(drops.in_direction(Direction::Output), 2);
        assert_eq!(drops.get(DropReason::Malformed), 3);
    }
}
