//! In-memory ports: the two ends of a wire, each a queue of frames. The switch's end implements
//! [`PortIo`]; the host's end is driven with [`MemoryPort::send`] and [`MemoryPort::recv`].
//!
//! And an in-memory IPv4 underlay for VXLAN: an [`Underlay`] delivers UDP payloads between
//! VTEP addresses; each datapath's tunnel port is a [`MemoryTunnel`] on it.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, PoisonError};

use super::{PortIo, Sent};
use crate::{PortId, RxBatch, TxView};

type Queue = Arc<Mutex<VecDeque<Vec<u8>>>>;

/// One end of an in-memory wire (like one end of a veth pair).
#[derive(Debug, Clone)]
pub struct MemoryPort {
    inbox: Queue,
    peer_inbox: Queue,
    capacity: usize,
}

/// Two connected ends; each queue holds at most `capacity` frames (more are dropped).
pub fn link(capacity: usize) -> (MemoryPort, MemoryPort) {
    let a: Queue = Arc::default();
    let b: Queue = Arc::default();
    (
        MemoryPort { inbox: Arc::clone(&a), peer_inbox: Arc::clone(&b), capacity },
        MemoryPort { inbox: b, peer_inbox: a, capacity },
    )
}

fn lock<T>(queue: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Queues of byte vectors cannot be left half-updated; a panic elsewhere does not matter.
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryPort {
    /// Puts `frame` on the wire to the other end. `false` if the other end's queue is full.
    pub fn send(&self, frame: &[u8]) -> bool {
        let mut queue = lock(&self.peer_inbox);
        if queue.len() >= self.capacity {
            return false;
        }
        queue.push_back(frame.to_vec());
        true
    }

    /// The oldest frame that arrived from the other end.
    pub fn recv(&self) -> Option<Vec<u8>> {
        lock(&self.inbox).pop_front()
    }

    /// Every frame that arrived from the other end, oldest first.
    pub fn recv_all(&self) -> Vec<Vec<u8>> {
        lock(&self.inbox).drain(..).collect()
    }

    /// Frames waiting to be received at this end.
    pub fn pending(&self) -> usize {
        lock(&self.inbox).len()
    }
}

impl PortIo for MemoryPort {
    fn receive(&mut self, port: PortId, rx: &mut RxBatch) -> io::Result<usize> {
        let mut queue = lock(&self.inbox);
        let mut moved = 0;
        while rx.room() > 0 {
            let Some(frame) = queue.pop_front() else { break };
            rx.push(port, &frame);
            moved += 1;
        }
        Ok(moved)
    }

    fn transmit(&mut self, frame: &TxView<'_>) -> io::Result<Sent> {
        let mut queue = lock(&self.peer_inbox);
        if queue.len() >= self.capacity {
            return Ok(Sent::QueueFull);
        }
        queue.push_back(frame.to_vec());
        Ok(Sent::Queued)
    }
}

/// UDP payloads waiting at each VTEP, with the VTEP that sent them.
type Inboxes = BTreeMap<Ipv4Addr, VecDeque<(Ipv4Addr, Vec<u8>)>>;

/// An IPv4 network between VTEPs, carrying UDP payloads (VXLAN header and inner frame). Like
/// UDP, a payload for an address without an endpoint, or for a full inbox, is lost.
#[derive(Debug, Clone)]
pub struct Underlay {
    inboxes: Arc<Mutex<Inboxes>>,
    capacity: usize,
}

impl Underlay {
    /// An underlay whose endpoints each hold at most `capacity` payloads.
    pub fn new(capacity: usize) -> Self {
        Self { inboxes: Arc::default(), capacity }
    }

    /// The endpoint at `vtep`: a tunnel port for a datapath.
    pub fn endpoint(&self, vtep: Ipv4Addr) -> MemoryTunnel {
        lock(&self.inboxes).entry(vtep).or_default();
        MemoryTunnel { vtep, underlay: self.clone() }
    }

    /// Sends `payload` from `from` to `to` (also for injecting any bytes). `false` if lost.
    pub fn send(&self, from: Ipv4Addr, to: Ipv4Addr, payload: &[u8]) -> bool {
        let mut inboxes = lock(&self.inboxes);
        match inboxes.get_mut(&to) {
            Some(inbox) if inbox.len() < self.capacity => {
                inbox.push_back((from, payload.to_vec()));
                true
            }
            _ => false,
        }
    }

    /// Payloads waiting at `vtep`.
    pub fn pending(&self, vtep: Ipv4Addr) -> usize {
        lock(&self.inboxes).get(&vtep).map_or(0, VecDeque::len)
    }
}

/// A datapath's tunnel port ([`crate::TUNNEL_PORT`]) on an [`Underlay`]: receives payloads as
/// tunneled frames and sends each frame with its [`crate::Encap`].
#[derive(Debug, Clone)]
pub struct MemoryTunnel {
    vtep: Ipv4Addr,
    underlay: Underlay,
}

impl MemoryTunnel {
    /// Its address.
    pub fn vtep(&self) -> Ipv4Addr {
        self.vtep
    }
}

impl PortIo for MemoryTunnel {
    fn receive(&mut self, port: PortId, rx: &mut RxBatch) -> io::Result<usize> {
        let mut inboxes = lock(&self.underlay.inboxes);
        let Some(inbox) = inboxes.get_mut(&self.vtep) else { return Ok(0) };
        let mut moved = 0;
        while rx.room() > 0 {
            let Some((source, payload)) = inbox.pop_front() else { break };
            rx.push_tunneled(port, &payload, source);
            moved += 1;
        }
        Ok(moved)
    }

    fn transmit(&mut self, frame: &TxView<'_>) -> io::Result<Sent> {
        let Some(encap) = frame.vxlan() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a frame for the tunnel has no VXLAN header",
            ));
        };
        let mut payload = encap.header.to_vec();
        for slice in frame.slices() {
            payload.extend_from_slice(slice);
        }
        // A datagram to nowhere is as sent as UDP ever says.
        self.underlay.send(self.vtep, encap.remote, &payload);
        Ok(Sent::Queued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_cross_the_wire_both_ways_and_queues_are_bounded() {
        let (mut switch_end, host_end) = link(2);
        assert!(host_end.send(&[1, 2, 3]) && host_end.send(&[4]));
        assert!(!host_end.send(&[5]));
        let mut rx = RxBatch::new(8, 64);
        assert_eq!(switch_end.receive(PortId(49), &mut rx).ok(), Some(2));
        assert_eq!(rx.get(1).map(|frame| (frame.port, frame.bytes)), Some((PortId(49), &[4][..])));
        let frame = [9u8; 14];
        let view = TxView::from_bytes(PortId(49), &frame);
        assert_eq!(switch_end.transmit(&view).ok(), Some(Sent::Queued));
        assert_eq!(switch_end.transmit(&view).ok(), Some(Sent::Queued));
        assert_eq!(switch_end.transmit(&view).ok(), Some(Sent::QueueFull));
        assert_eq!(host_end.pending(), 2);
        assert_eq!(host_end.recv(), Some(frame.to_vec()));
        assert_eq!(host_end.recv_all().len(), 1);
        assert_eq!(host_end.recv(), None);
    }

    #[test]
    fn tunnels_carry_payloads_between_vteps() {
        let underlay = Underlay::new(1);
        let (a, b) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
        let mut tunnel_a = underlay.endpoint(a);
        let mut tunnel_b = underlay.endpoint(b);
        let frame = [7u8; 14];
        assert!(tunnel_a.transmit(&TxView::from_bytes(crate::TUNNEL_PORT, &frame)).is_err());
        assert!(underlay.send(b, a, &[1, 2, 3]));
        assert!(!underlay.send(b, a, &[4]), "inbox full");
        assert!(!underlay.send(a, Ipv4Addr::new(192, 0, 2, 9), &[5]), "nobody there");
        let mut rx = RxBatch::new(4, 64);
        assert_eq!(tunnel_a.receive(crate::TUNNEL_PORT, &mut rx).ok(), Some(1));
        let got = rx.get(0).expect("received");
        assert_eq!((got.bytes, got.source_vtep), (&[1, 2, 3][..], Some(b)));
        assert_eq!((underlay.pending(a), underlay.pending(b), tunnel_b.vtep()), (0, 0, b));
        assert_eq!(tunnel_b.receive(crate::TUNNEL_PORT, &mut rx).ok(), Some(0));
    }
}
