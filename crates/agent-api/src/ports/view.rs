//! What the local API answers about ports: plain data that `vemcmd` and `switchyard attach`
//! print. The agent builds it from its table, the datapath's config and counters.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::uplinks::UplinkView;

/// The answer to an attach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedView {
    /// N of VethernetN.
    pub veth: u32,
    /// The port's iface-id (generated when the attach gave none).
    pub iface_id: String,
    /// The host end of the veth pair.
    pub host_ifname: String,
    /// The local port number.
    pub ltl: u32,
    /// Forwarding now.
    pub up: bool,
    /// Why not, when down.
    pub reason: String,
    /// The container end's MAC, `aa:bb:cc:dd:ee:ff`.
    #[serde(default)]
    pub mac: String,
    /// The container end's name in its namespace.
    #[serde(default)]
    pub container_ifname: String,
    /// The container end's addresses, `A.B.C.D/LEN` (from `--ip` or the profile's pool).
    #[serde(default)]
    pub ips: Vec<String>,
    /// The default route's next hop the agent set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Ipv4Addr>,
    /// The MTU of both ends; 0 when not known (ports from before the agent kept it).
    #[serde(default)]
    pub mtu: u32,
}

/// The answer to a detach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetachedView {
    /// N of VethernetN.
    pub veth: u32,
    /// The port's iface-id.
    pub iface_id: String,
    /// What became of the vEthernet number: `kept` (static port-binding), `released`, or
    /// `pending` (the supervisor is unreachable; it is told when it answers).
    pub binding: String,
}

/// One port for `vemcmd show port`, `show port vlans`, `show stats` and `show drops`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortView {
    pub ltl: u32,
    pub veth: u32,
    pub iface_id: String,
    /// The host end (`Vem Port`).
    pub host_ifname: String,
    pub profile: String,
    pub owner_name: String,
    pub container_ifname: String,
    /// The attached MAC, `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// The policy's admin state (`no shutdown`, `state enabled`).
    pub admin_up: bool,
    /// The host end has carrier (the container end is up).
    pub link_up: bool,
    /// The datapath forwards for it.
    pub forwarding: bool,
    /// Why it does not, when it does not.
    pub reason: String,
    /// `access` or `trunk`.
    pub mode: String,
    /// The access VLAN, or a trunk's native VLAN.
    pub vlan: u16,
    /// The VLANs it carries, as `100` or `100-109,200`.
    pub allowed_vlans: String,
    pub rx: Traffic,
    pub tx: Traffic,
    /// Drops by reason (only reasons that happened).
    pub drops: Vec<DropCount>,
    /// Frames lost coming in ("Input Packet Drops") and going out ("Output Packet Drops").
    pub rx_drops: u64,
    pub tx_drops: u64,
}

/// One direction's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traffic {
    pub packets: u64,
    pub bytes: u64,
    pub unicast: u64,
    pub multicast: u64,
    pub broadcast: u64,
    pub flood: u64,
}

/// Drops of one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropCount {
    /// The reason, for people (`port-profile not found`).
    pub reason: String,
    pub count: u64,
}

/// Every port, and the switch's drops.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortsView {
    pub ports: Vec<PortView>,
    /// The uplinks (`EthM/K`), by LTL.
    #[serde(default)]
    pub uplinks: Vec<UplinkView>,
    /// Drops by reason over the whole switch (including frames of ports since removed).
    pub total_drops: Vec<DropCount>,
}

/// One MAC table entry for `vemcmd show l2`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacView {
    /// The VLAN; 0 for a bridge-domain entry.
    pub vlan: u16,
    /// The bridge-domain's name (empty for a VLAN entry, or for a segment no policy or overlay
    /// of this host names any more).
    #[serde(default)]
    pub bridge_domain: String,
    /// The bridge-domain's segment id; 0 for a VLAN entry.
    #[serde(default)]
    pub segment_id: u32,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// `Static`, `Dynamic` or `SwInsta` (installed by the supervisor).
    pub kind: String,
    pub ltl: u32,
    /// `Veth3`, `Eth3/1`, `vxlan`, or empty when the LTL is no port of this host.
    pub port: String,
    /// Seconds since last seen (0 for static and installed entries).
    pub age_secs: u64,
    /// The VTEP a MAC behind the tunnel is at; empty for a local one.
    #[serde(default)]
    pub remote_vtep: String,
}

/// Everything `vemcmd show vxlan` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VxlanView {
    /// This host's VTEP; `None` when the agent runs without `--vtep`.
    pub vtep: Option<VtepView>,
    /// The bridge-domains this host knows, by segment id.
    pub bridge_domains: Vec<BridgeDomainOverlay>,
    /// The tunnel port's counters.
    pub tunnel: TunnelCounters,
}

/// The VTEP: where the tunnel's socket is bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VtepView {
    pub address: Ipv4Addr,
    pub udp_port: u16,
    /// The interface holding the address, if it still does.
    pub interface: Option<String>,
    /// That interface's MTU (the underlay's), if known.
    pub mtu: Option<u32>,
}

/// One bridge-domain's remote side, as the datapath runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeDomainOverlay {
    /// Empty if neither a policy nor the overlay names it.
    pub name: String,
    pub segment_id: u32,
    /// The other hosts' VTEPs with members: where floods are replicated to.
    pub remote_vteps: Vec<Ipv4Addr>,
    /// Remote MACs installed from the supervisor's overlay (`SwInsta` entries).
    pub installed_macs: u64,
    /// Remote MACs learned from decapsulated frames.
    pub learned_macs: u64,
}

/// The tunnel's counters: the datapath's for [`TUNNEL_LTL`](crate::TUNNEL_LTL) and its socket's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelCounters {
    /// Frames the datapath sent into the tunnel (one per remote VTEP for a replicated flood).
    pub encapsulated: Traffic,
    /// UDP datagrams the socket sent (a TCP super-frame leaves as several) and their bytes.
    pub sent_datagrams: u64,
    pub sent_bytes: u64,
    /// UDP payloads the tunnel received.
    pub received: Traffic,
    /// Of those, the ones decapsulated and switched (received minus input drops).
    pub decapsulated: u64,
    /// Drops by reason, the datapath's and the socket's (only reasons that happened).
    pub drops: Vec<DropCount>,
}

/// What a trace did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceView {
    /// The ingress port: `Veth1 (LTL 49)`.
    pub port: String,
    /// Each decision, in order.
    pub lines: Vec<String>,
}
