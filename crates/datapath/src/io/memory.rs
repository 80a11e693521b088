//! In-memory ports: the two ends of a wire, each a queue of frames. The switch's end implements
//! [`PortIo`]; the host's end is driven with [`MemoryPort::send`] and [`MemoryPort::recv`].

use std::collections::VecDeque;
use std::io;
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

fn lock(queue: &Queue) -> std::sync::MutexGuard<'_, VecDeque<Vec<u8>>> {
    // A queue of byte vectors cannot be left half-updated; a panic elsewhere does not matter.
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
}
