//! Packet I/O: the small trait every port's frame source and sink implements (smoltcp's
//! `phy::Device` idea), and the loop that moves frames between devices and the datapath.
//!
//! The agent implements [`PortIo`] over AF_PACKET sockets on veth host ends; [`memory`] is the
//! in-memory backend for tests and simulations, and [`faulty`] wraps any device to drop,
//! corrupt and truncate frames on purpose.

pub mod faulty;
pub mod memory;
mod pump;

use std::io;

pub use pump::{Pump, Round};

use crate::{PortId, RxBatch, TxView};

/// What became of a frame handed to [`PortIo::transmit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Sent, or queued to be sent at the next [`PortIo::flush`].
    Queued,
    /// The device had no room; the frame is gone (counted as `tx_queue_full`).
    QueueFull,
}

/// One port's frame source and sink. Never blocks: readiness is the caller's business (poll,
/// epoll, a simulation's clock).
pub trait PortIo {
    /// Moves frames waiting on the device into `rx`, as received on `port`, until none wait or
    /// `rx` is full. Returns how many it moved.
    fn receive(&mut self, port: PortId, rx: &mut RxBatch) -> io::Result<usize>;

    /// Sends `frame`, or queues it for [`Self::flush`].
    fn transmit(&mut self, frame: &TxView<'_>) -> io::Result<Sent>;

    /// Sends `frames`, in order, all for this device's port (several per system call where the
    /// device can). Returns how many it accepted; the others are gone (counted as
    /// `tx_queue_full`). An error means the device failed.
    fn transmit_batch(&mut self, frames: &[TxView<'_>]) -> io::Result<usize> {
        let mut sent = 0;
        for frame in frames {
            sent += usize::from(self.transmit(frame)? == Sent::Queued);
        }
        Ok(sent)
    }

    /// Sends whatever [`Self::transmit`] queued.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<T: PortIo + ?Sized> PortIo for Box<T> {
    fn receive(&mut self, port: PortId, rx: &mut RxBatch) -> io::Result<usize> {
        (**self).receive(port, rx)
    }

    fn transmit(&mut self, frame: &TxView<'_>) -> io::Result<Sent> {
        (**self).transmit(frame)
    }

    fn transmit_batch(&mut self, frames: &[TxView<'_>]) -> io::Result<usize> {
        (**self).transmit_batch(frames)
    }

    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
}

impl<T: PortIo + ?Sized> PortIo for &mut T {
    fn receive(&mut self, port: PortId, rx: &mut RxBatch) -> io::Result<usize> {
        (**self).receive(port, rx)
    }

    fn transmit(&mut self, frame: &TxView<'_>) -> io::Result<Sent> {
        (**self).transmit(frame)
    }

    fn transmit_batch(&mut self, frames: &[TxView<'_>]) -> io::Result<usize> {
        (**self).transmit_batch(frames)
    }

    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
}
