//! Helpers shared by the datapath's integration tests: ports, frames and a one-frame-at-a-time
//! switch harness.
#![allow(dead_code)]

mod frames;
#[allow(unused_imports)] // not every test binary sends these frames
pub use frames::*;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use datapath::{
    Datapath, Encap, PortConfig, PortId, PortMode, PortStats, RxBatch, Segment, Settings, Snapshot,
    TUNNEL_PORT, TxBatch,
};
use wire::build::{self, Ipv4Pair, L2};
use wire::{MacAddr, Tci, Vni, vxlan};

/// A locally administered MAC ending in `n`.
pub fn mac(n: u8) -> MacAddr {
    MacAddr([0x02, 0xab, 0xcd, 0, 0, n])
}

/// 10.0.0.n.
pub fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

/// An up access port `Veth{id-48}` in `vlan`, with profile `vlan{vlan}`.
pub fn veth(id: u32, vlan: u16) -> PortConfig {
    PortConfig::access(PortId(id), format!("Veth{}", id - 48), Segment::Vlan(vlan), format!("vlan{vlan}"))
}

/// An up trunk port `Eth3/{id-16}`.
pub fn uplink(id: u32, allowed: &[u16], native: u16) -> PortConfig {
    PortConfig::trunk(
        PortId(id),
        format!("Eth3/{}", id - 16),
        allowed.iter().copied().collect(),
        native,
        "uplink",
    )
}

/// A real uplink (`PortKind::Uplink`) `Eth3/{id-16}`: a trunk of `allowed` VLANs.
pub fn eth(id: u32, allowed: &[u16], native: u16) -> PortConfig {
    let mode = PortMode::Trunk { allowed: allowed.iter().copied().collect(), native };
    PortConfig::uplink(PortId(id), format!("Eth3/{}", id - 16), mode, "uplink")
}

/// VNI `n`.
pub fn vni(n: u32) -> Vni {
    Vni::new(n).expect("24-bit")
}

/// An up vEthernet in the bridge-domain of segment id `segment`.
pub fn bd(id: u32, segment: u32) -> PortConfig {
    let domain = Segment::BridgeDomain(vni(segment));
    PortConfig::access(PortId(id), format!("Veth{}", id - 48), domain, format!("bd{segment}"))
}

/// 192.0.2.n, a VTEP.
pub fn vtep(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, n)
}

/// A UDP payload: the VXLAN header of `segment`, then `frame`.
pub fn vxlan_payload(segment: u32, frame: &[u8]) -> Vec<u8> {
    let mut payload = vec![0; vxlan::HEADER_LEN];
    vxlan::Repr { vni: vni(segment) }.emit(&mut vxlan::Packet::new_unchecked(&mut payload[..]));
    payload.extend_from_slice(frame);
    payload
}

/// A minimum-size UDP frame from `src` to `dst`: 60 bytes (64 on the wire with the FCS), or 64
/// with the tag if `vlan` is given.
pub fn udp(src: MacAddr, dst: MacAddr, vlan: Option<u16>) -> Vec<u8> {
    let l2 = L2 { src, dst, vlan: vlan.map(Tci::vlan) };
    let mut buf = [0u8; 128];
    let len = build::udp_ipv4(&mut buf, &l2, &Ipv4Pair { src: ip(1), dst: ip(2) }, (1000, 2000), &[0x5a; 18])
        .expect("fits");
    buf[..len].to_vec()
}

/// Runs frames through a datapath one batch at a time and hands back what it sends.
pub struct Harness {
    pub datapath: Datapath,
    pub now: Duration,
    rx: RxBatch,
    tx: TxBatch,
    /// The encapsulation of each frame the last send produced (`None` off the tunnel).
    pub encaps: Vec<Option<Encap>>,
}

impl Harness {
    pub fn new(ports: Vec<PortConfig>) -> Self {
        Self::with_snapshot(Snapshot::new(ports).expect("valid ports"))
    }

    pub fn with_snapshot(snapshot: Snapshot) -> Self {
        Self {
            datapath: Datapath::new(&Settings::default(), Arc::new(snapshot)),
            now: Duration::ZERO,
            rx: RxBatch::new(32, 2048),
            tx: TxBatch::new(32 * 16),
            encaps: Vec::new(),
        }
    }

    pub fn set_ports(&mut self, ports: Vec<PortConfig>) {
        self.datapath.set_config(Arc::new(Snapshot::new(ports).expect("valid ports")));
    }

    /// Sends one frame in on port `from`; returns `(port, bytes)` for every frame sent.
    pub fn send(&mut self, from: u32, frame: &[u8]) -> Vec<(u32, Vec<u8>)> {
        self.send_all(&[(from, frame.to_vec())])
    }

    /// Sends frames in as one batch.
    pub fn send_all(&mut self, frames: &[(u32, Vec<u8>)]) -> Vec<(u32, Vec<u8>)> {
        self.rx.clear();
        for (port, frame) in frames {
            assert!(self.rx.push(PortId(*port), frame), "batch full");
        }
        self.run()
    }

    /// Sends a UDP payload in on the tunnel, from `source`.
    pub fn send_tunneled(&mut self, source: Ipv4Addr, payload: &[u8]) -> Vec<(u32, Vec<u8>)> {
        self.rx.clear();
        assert!(self.rx.push_tunneled(TUNNEL_PORT, payload, source), "batch full");
        self.run()
    }

    fn run(&mut self) -> Vec<(u32, Vec<u8>)> {
        self.datapath.process(self.now, &self.rx, &mut self.tx);
        self.encaps = self.tx.views(&self.rx).map(|view| view.vxlan()).collect();
        self.tx.views(&self.rx).map(|view| (view.port.0, view.to_vec())).collect()
    }

    /// The ports a frame went out of, sorted.
    pub fn ports_of(out: &[(u32, Vec<u8>)]) -> Vec<u32> {
        let mut ports: Vec<u32> = out.iter().map(|(port, _)| *port).collect();
        ports.sort_unstable();
        ports
    }

    pub fn stats(&self, port: u32) -> PortStats {
        self.datapath.port_stats(PortId(port)).cloned().expect("known port")
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
    }
}
