//! The VXLAN overlay as the supervisor describes it to one host: which remote VTEPs have
//! members in each bridge-domain, and which MACs are behind them.
//!
//! Unicast only, no multicast underlay: broadcast and unknown unicast of a bridge-domain are
//! copied to each of its remote VTEPs (head-end replication), and known MACs go to one VTEP.
//! The underlay is IPv4 only.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use wire::{MacAddr, Vni};

use crate::PortId;

/// The datapath's VXLAN tunnel endpoint, as one port: frames from it arrive as UDP payloads
/// (VXLAN header, then the inner frame) through [`crate::RxBatch::commit_tunneled`], and frames
/// to it leave with [`crate::TxView::vxlan`] set. Named `vxlan` in traces.
pub const TUNNEL_PORT: PortId = PortId(10);

/// The tunnel's name in traces and `vemcmd`.
pub const TUNNEL_NAME: &str = "vxlan";

/// What this host knows of the other hosts' VTEPs. Without a `local_vtep` the overlay is off:
/// no copies go into the tunnel and no remote MAC is installed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Overlay {
    /// This host's VTEP address (`--vtep`).
    pub local_vtep: Option<Ipv4Addr>,
    /// Per bridge-domain segment id: the remote side.
    pub segments: BTreeMap<Vni, OverlaySegment>,
}

/// The remote side of one bridge-domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OverlaySegment {
    /// VTEPs of the other hosts with ports in the bridge-domain: where floods are replicated to,
    /// and the only sources whose frames of this VNI are accepted.
    pub vteps: Vec<Ipv4Addr>,
    /// MACs of the ports attached on those hosts, with their VTEP; installed as MAC entries of
    /// kind [`crate::MacKind::Installed`] on the tunnel.
    pub macs: Vec<(MacAddr, Ipv4Addr)>,
}

impl Overlay {
    /// `true` if VXLAN is on: this host has a VTEP.
    pub fn is_active(&self) -> bool {
        self.local_vtep.is_some()
    }
}
