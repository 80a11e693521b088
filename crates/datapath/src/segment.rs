//! Segments: the broadcast domains frames are switched within.

use core::fmt;

use wire::Vni;

/// A broadcast domain. MAC addresses are learned per segment and frames never leave theirs.
///
/// VLANs come from access ports and 802.1Q tags on trunks; bridge-domains (VXLAN segment ids)
/// from `switchport access bridge-domain`. Both key the same MAC table and flood lists, so a
/// VXLAN uplink can later join a bridge-domain's flood list like any port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// An 802.1Q VLAN, 1–4094.
    Vlan(u16),
    /// A bridge-domain, named on the wire by its VXLAN segment id.
    BridgeDomain(Vni),
}

impl fmt::Display for Segment {
    /// `vlan 100` or `bridge-domain 5000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Vlan(vlan) => write!(f, "vlan {vlan}"),
            Self::BridgeDomain(vni) => write!(f, "bridge-domain {vni}"),
        }
    }
}
