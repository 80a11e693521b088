//! The kinds of device a dataplane port can have: an AF_PACKET socket on an interface (veths,
//! uplinks) or the VXLAN tunnel's UDP socket. One type, so the pump moves frames between both.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use datapath::io::{PortIo, Sent};
use datapath::{PortId, RxBatch, TxView};

use super::af_packet::{AfPacketPort, DeviceCounters};
use super::tunnel::TunnelPort;

/// A port's device.
#[derive(Debug)]
pub(super) enum Endpoint {
    /// An interface, through AF_PACKET.
    Packet(AfPacketPort),
    /// The VXLAN tunnel endpoint.
    Tunnel(TunnelPort),
}

impl Endpoint {
    /// The interface's name; `vxlan` for the tunnel.
    pub(super) fn ifname(&self) -> &str {
        match self {
            Self::Packet(port) => port.ifname(),
            Self::Tunnel(_) => datapath::TUNNEL_NAME,
        }
    }

    /// The interface's index; 0 for the tunnel (a socket, not an interface).
    pub(super) fn ifindex(&self) -> u32 {
        match self {
            Self::Packet(port) => port.ifindex(),
            Self::Tunnel(_) => 0,
        }
    }

    /// What happened on the device so far.
    pub(super) fn counters(&mut self) -> DeviceCounters {
        match self {
            Self::Packet(port) => port.counters(),
            Self::Tunnel(tunnel) => tunnel.counters(),
        }
    }
}

impl From<AfPacketPort> for Endpoint {
    fn from(port: AfPacketPort) -> Self {
        Self::Packet(port)
    }
}

impl AsFd for Endpoint {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Packet(port) => port.as_fd(),
            Self::Tunnel(tunnel) => tunnel.as_fd(),
        }
    }
}

impl PortIo for Endpoint {
    fn receive(&mut self, port: PortId, rx: &mut RxBatch) -> io::Result<usize> {
        match self {
            Self::Packet(device) => device.receive(port, rx),
            Self::Tunnel(device) => device.receive(port, rx),
        }
    }

    fn transmit(&mut self, frame: &TxView<'_>) -> io::Result<Sent> {
        match self {
            Self::Packet(device) => device.transmit(frame),
            Self::Tunnel(device) => device.transmit(frame),
        }
    }

    fn transmit_batch(&mut self, frames: &[TxView<'_>]) -> io::Result<usize> {
        match self {
            Self::Packet(device) => device.transmit_batch(frames),
            Self::Tunnel(device) => device.transmit_batch(frames),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Packet(device) => device.flush(),
            Self::Tunnel(device) => device.flush(),
        }
    }
}
