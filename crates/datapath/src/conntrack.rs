//! Connection tracking for stateful permits: the state of one connection and its timeouts.
//!
//! A connection starts when a stateful permit admits its first packet in one direction of a
//! port (the *original* direction); from then on, packets of the reversed 5-tuple (the
//! *replies*) pass the opposite direction of that port without a rule of their own. The state
//! follows the TCP handshake and teardown (no sequence-window checks); UDP and other protocols
//! by whether replies were seen; ICMP only echo request → echo reply.
//!
//! Timeouts are Open vSwitch's userspace conntrack defaults (`lib/conntrack-private.h`):
//!
//! | state | timeout |
//! |---|---|
//! | TCP `SYN_SENT` (first packet) | 30 s |
//! | TCP `SYN_RECV` (opening) | 30 s |
//! | TCP `ESTABLISHED` | 24 h |
//! | TCP `FIN_WAIT` (one side closed) | 15 min |
//! | TCP `TIME_WAIT` (both sides closed) | 45 s |
//! | TCP `CLOSED` (reset) | 30 s |
//! | UDP / other, first packet or only one way | 60 s |
//! | UDP / other, replied | 30 s |
//! | ICMP echo, request seen | 60 s |
//! | ICMP echo, replied | 30 s |
//!
//! A TCP connection picked up mid-stream (its first packet is not a SYN, e.g. after `clear`
//! or a restart of the agent) starts `ESTABLISHED`. A new SYN of the originator on a closed
//! connection opens it again.
//!
//! Configuration changes: a connection outlives the permit that created it (as cloud security
//! groups do: removing a rule does not cut tracked connections); it ends by its timeouts, a
//! reset, or [`crate::Datapath::clear_conntrack`]. New connections need the new rules.

use core::fmt;

use crate::acl::tcp_flags::{ACK, FIN, RST, SYN};

const SECOND: u64 = 1_000_000_000;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnState {
    /// TCP: the originator's SYN seen.
    SynSent,
    /// TCP: the reply's SYN-ACK seen.
    SynReceived,
    /// TCP: open.
    Established,
    /// TCP: one side sent FIN.
    FinWait,
    /// TCP: both sides sent FIN.
    TimeWait,
    /// TCP: reset.
    Closed,
    /// Not TCP: only the original direction seen so far.
    New,
    /// Not TCP: replies seen.
    Replied,
}

impl ConnState {
    /// How long the connection lives in this state without a packet, in nanoseconds.
    pub(crate) const fn timeout(self, icmp: bool) -> u64 {
        SECOND
            * match self {
                Self::SynSent | Self::SynReceived | Self::Closed => 30,
                Self::Established => 24 * 60 * 60,
                Self::FinWait => 15 * 60,
                Self::TimeWait => 45,
                Self::New => 60,
                Self::Replied if icmp => 30,
                Self::Replied => 30,
            }
    }

    /// The state after a TCP segment with `flags`, from the originator or the replier.
    fn after_tcp(self, flags: u8, reply: bool) -> Self {
        if flags & RST != 0 {
            return Self::Closed;
        }
        let syn = flags & SYN != 0;
        let ack = flags & ACK != 0;
        let fin = flags & FIN != 0;
        match self {
            Self::Closed | Self::TimeWait if syn && !ack && !reply => Self::SynSent,
            Self::SynSent if reply && syn && ack => Self::SynReceived,
            Self::SynReceived if !reply && ack && !syn => Self::Established,
            Self::SynSent | Self::SynReceived | Self::Established if fin => Self::FinWait,
            Self::FinWait if fin => Self::TimeWait,
            state => state,
        }
    }
}

impl fmt::Display for ConnState {
    /// `ESTABLISHED`, `SYN_SENT`, … (conntrack's names); `NEW` and `REPLIED` for the rest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SynSent => "SYN_SENT",
            Self::SynReceived => "SYN_RECV",
            Self::Established => "ESTABLISHED",
            Self::FinWait => "FIN_WAIT",
            Self::TimeWait => "TIME_WAIT",
            Self::Closed => "CLOSED",
            Self::New => "NEW",
            Self::Replied => "REPLIED",
        })
    }
}

/// Which list's stateful permit created a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnDirection {
    /// The port's input list: the originator is behind the port.
    In,
    /// The port's output list: the originator sent towards the port.
    Out,
}

/// One tracked connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Conn {
    pub state: ConnState,
    pub direction: ConnDirection,
    /// Nanoseconds after which it is gone.
    pub expires: u64,
    tcp: bool,
    icmp: bool,
}

impl Conn {
    /// A connection whose first packet (original direction) is `tcp_flags` of `protocol`.
    pub fn new(protocol: u8, tcp_flags: u8, direction: ConnDirection, now: u64) -> Self {
        let tcp = protocol == 6;
        let state = match tcp {
            true if tcp_flags & RST != 0 => ConnState::Closed,
            true if tcp_flags & SYN != 0 && tcp_flags & ACK == 0 => ConnState::SynSent,
            true => ConnState::Established,
            false => ConnState::New,
        };
        let icmp = matches!(protocol, 1 | 58);
        Self { state, direction, expires: now.saturating_add(state.timeout(icmp)), tcp, icmp }
    }

    #[inline]
    pub fn alive(&self, now: u64) -> bool {
        now < self.expires
    }

    /// Takes a packet of the connection: from the originator, or a reply.
    #[inline]
    pub fn update(&mut self, tcp_flags: u8, reply: bool, now: u64) {
        self.state = if self.tcp {
            self.state.after_tcp(tcp_flags, reply)
        } else if reply {
            ConnState::Replied
        } else {
            self.state
        };
        self.expires = now.saturating_add(self.state.timeout(self.icmp));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::tcp_flags::PSH;

    #[test]
    fn follows_a_tcp_connection_through_its_life() {
        let mut conn = Conn::new(6, SYN, ConnDirection::In, 0);
        assert_eq!((conn.state, conn.expires), (ConnState::SynSent, 30 * SECOND));
        conn.update(SYN | ACK, true, SECOND);
        assert_eq!(conn.state, ConnState::SynReceived);
        conn.update(ACK, false, 2 * SECOND);
        assert_eq!((conn.state, conn.expires), (ConnState::Established, 2 * SECOND + 86_400 * SECOND));
        conn.update(PSH | ACK, true, 3 * SECOND);
        assert_eq!(conn.state, ConnState::Established);
        conn.update(FIN | ACK, false, 4 * SECOND);
        assert_eq!(conn.state, ConnState::FinWait);
        conn.update(FIN | ACK, true, 5 * SECOND);
        assert_eq!((conn.state, conn.expires), (ConnState::TimeWait, 50 * SECOND));
        assert!(conn.alive(49 * SECOND) && !conn.alive(50 * SECOND));
        conn.update(SYN, false, 6 * SECOND);
        assert_eq!(conn.state, ConnState::SynSent, "a new SYN reopens");
        conn.update(RST, true, 7 * SECOND);
        assert_eq!((conn.state, conn.expires), (ConnState::Closed, 37 * SECOND));
        assert_eq!(Conn::new(6, ACK, ConnDirection::Out, 0).state, ConnState::Established);
    }

    #[test]
    fn udp_and_icmp_are_new_until_replied() {
        let mut conn = Conn::new(17, 0, ConnDirection::In, 0);
        assert_eq!((conn.state, conn.expires), (ConnState::New, 60 * SECOND));
        conn.update(0, false, SECOND);
        assert_eq!(conn.state, ConnState::New);
        conn.update(0, true, 2 * SECOND);
        assert_eq!(
            (conn.state, conn.expires, conn.state.to_string().as_str()),
            (ConnState::Replied, 32 * SECOND, "REPLIED")
        );
    }
}
