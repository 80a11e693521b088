//! What the datapath knows about a port: its number, state, mode, attached MAC and profile.

use core::fmt;

use std::net::IpAddr;

use wire::MacAddr;

use crate::guard::{PortSecurity, StormControl};
use crate::{PortAcls, Segment, VlanBitmap};

/// A port's number in the datapath: the LTL of the Nexus 1000V (17–48 uplinks, 49 and up
/// vEthernets). Stable for the port's life; counters and MAC entries are kept by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortId(pub u32);

impl fmt::Display for PortId {
    /// `LTL 49`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LTL {}", self.0)
    }
}

/// How a port carries segments.
// The trunk's 512-byte bitmap stays inline: modes live in a snapshot built once per config
// change, and the per-frame membership test then reads it without another indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortMode {
    /// Untagged frames, all in one segment (`switchport mode access`).
    Access {
        /// `switchport access vlan N` or `switchport access bridge-domain X`.
        segment: Segment,
    },
    /// 802.1Q-tagged frames of the allowed VLANs; untagged ones belong to the native VLAN
    /// (`switchport mode trunk`).
    Trunk {
        /// `switchport trunk allowed vlan …`.
        allowed: VlanBitmap,
        /// `switchport trunk native vlan N`: sent and received untagged, if also allowed.
        native: u16,
    },
}

impl fmt::Display for PortMode {
    /// `access vlan 100`, `trunk allowed 100-109 native 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Access { segment } => write!(f, "access {segment}"),
            Self::Trunk { allowed, native } => write!(f, "trunk allowed {allowed} native {native}"),
        }
    }
}

/// What a port faces: a container or VM (vEthernet), or the physical network (an uplink).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortKind {
    /// A vEthernet: the host end of a container's or VM's interface (LTL 49 and up).
    Vethernet,
    /// An uplink `EthernetM/K`: a host NIC to the physical network (LTL 17–48). Uplinks never
    /// forward to each other, and each vEthernet is pinned to one of them (mac-pinning).
    Uplink,
}

/// The port-profile a port inherits, found or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileBinding {
    /// The profile exists; its policy is what this port's config says.
    Applied(String),
    /// The port names a profile that does not exist: the port stays down
    /// (`port-profile not found`) until it is created.
    NotFound(String),
}

/// One port's policy in a [`crate::Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// Its number.
    pub id: PortId,
    /// Its name in traces and `show` output: `Veth1`, `Eth3/1`.
    pub name: String,
    /// `no shutdown` (and the profile's `state enabled`). A down port neither receives nor sends.
    pub admin_up: bool,
    /// Access or trunk, and the segments it carries.
    pub mode: PortMode,
    /// The MAC of the container or VM interface behind the port: installed as a static MAC entry
    /// (in the access segment, or the native VLAN of a trunk) while the port forwards.
    pub attached_mac: Option<MacAddr>,
    /// The port-profile it inherits.
    pub profile: ProfileBinding,
    /// vEthernet or uplink.
    pub kind: PortKind,
    /// Carrier. A port whose link is down neither receives nor sends (and an uplink loses its
    /// pins); vEthernets are always up.
    pub link_up: bool,
    /// vEthernets only: the uplink it was pinned to in the previous snapshot (feed
    /// [`crate::Snapshot::pins`] back here), kept if still usable so that pins do not move
    /// without reason.
    pub pin: Option<PortId>,
    /// Access lists on frames from the port into the switch (`ip port access-group X in`,
    /// `ipv6 port traffic-filter X in`).
    pub acl_in: PortAcls,
    /// Access lists on frames the switch sends to the port (`… out`).
    pub acl_out: PortAcls,
    /// Flows entering by this port are accounted for export (`ip flow monitor X input`).
    pub flow_accounting_in: bool,
    /// Flows leaving by this port are accounted for export (`ip flow monitor X output`).
    pub flow_accounting_out: bool,
    /// `switchport port-security`: which source MACs the port may use (vEthernets only).
    pub port_security: Option<PortSecurity>,
    /// `ip verify source`: drop frames whose source MAC is not the attached MAC, or whose
    /// source IPv4/IPv6 address is not bound to the port.
    pub verify_source: bool,
    /// The addresses bound to the port (attach `--ip`, IPAM); DHCP snooping adds its own.
    pub ip_bindings: Box<[IpAddr]>,
    /// `ip arp inspection`: drop ARP and IPv6 neighbour advertisements whose sender does not
    /// match the attached MAC and a binding.
    pub arp_inspection: bool,
    /// `ip dhcp snooping trust`: DHCP server messages may arrive here (uplinks to the server).
    pub dhcp_snooping_trust: bool,
    /// `storm-control`: per-port rates for broadcast, multicast and unknown unicast.
    pub storm_control: StormControl,
}

impl PortConfig {
    /// A vEthernet that forwards in access mode: up, profile applied, no attached MAC, no pin.
    pub fn access(id: PortId, name: impl Into<String>, segment: Segment, profile: impl Into<String>) -> Self {
        Self::vethernet(id, name.into(), PortMode::Access { segment }, profile.into())
    }

    /// A vEthernet that forwards in trunk mode: up, profile applied, no attached MAC, no pin.
    pub fn trunk(
        id: PortId,
        name: impl Into<String>,
        allowed: VlanBitmap,
        native: u16,
        profile: impl Into<String>,
    ) -> Self {
        Self::vethernet(id, name.into(), PortMode::Trunk { allowed, native }, profile.into())
    }

    /// An uplink (`Eth3/1`, LTL 17 and up) that forwards: admin and link up, profile applied.
    pub fn uplink(id: PortId, name: impl Into<String>, mode: PortMode, profile: impl Into<String>) -> Self {
        Self { kind: PortKind::Uplink, ..Self::vethernet(id, name.into(), mode, profile.into()) }
    }

    fn vethernet(id: PortId, name: String, mode: PortMode, profile: String) -> Self {
        Self {
            id,
            name,
            admin_up: true,
            mode,
            attached_mac: None,
            profile: ProfileBinding::Applied(profile),
            kind: PortKind::Vethernet,
            link_up: true,
            pin: None,
            acl_in: PortAcls::default(),
            acl_out: PortAcls::default(),
            flow_accounting_in: false,
            flow_accounting_out: false,
            port_security: None,
            verify_source: false,
            ip_bindings: Box::default(),
            arp_inspection: false,
            dhcp_snooping_trust: false,
            storm_control: StormControl::default(),
        }
    }

    /// `true` for an uplink.
    #[inline]
    pub fn is_uplink(&self) -> bool {
        self.kind == PortKind::Uplink
    }

    /// The same port with `mac` attached.
    pub fn with_attached_mac(mut self, mac: MacAddr) -> Self {
        self.attached_mac = Some(mac);
        self
    }

    /// `true` if the ingress inspection (source guard, ARP inspection) runs on frames from this port
    /// before their source is learned.
    #[inline]
    pub fn inspects(&self) -> bool {
        self.verify_source || self.arp_inspection
    }

    /// `true` if the port receives and sends: admin and link up, and its profile found.
    #[inline]
    pub fn is_forwarding(&self) -> bool {
        self.admin_up && self.link_up && matches!(self.profile, ProfileBinding::Applied(_))
    }

    /// `true` if frames of `segment` may enter and leave this port. Bridge-domains travel in
    /// the VXLAN tunnel, never on uplinks.
    #[inline]
    pub fn carries(&self, segment: Segment) -> bool {
        match (&self.mode, segment) {
            (_, Segment::BridgeDomain(_)) if self.is_uplink() => false,
            (PortMode::Access { segment: own }, _) => *own == segment,
            (PortMode::Trunk { allowed, .. }, Segment::Vlan(vlan)) => allowed.contains(vlan),
            (PortMode::Trunk { .. }, Segment::BridgeDomain(_)) => false,
        }
    }

    /// The segment its attached MAC lives in: the access segment, or a trunk's native VLAN.
    pub fn home_segment(&self) -> Segment {
        match &self.mode {
            PortMode::Access { segment } => *segment,
            PortMode::Trunk { native, .. } => Segment::Vlan(*native),
        }
    }
}
