//! One turn of the crank: receive from every port, process, transmit, flush.

use std::io;
use std::time::Duration;

use super::{PortIo, Sent};
use crate::{Datapath, DropReason, PortId, RxBatch, TxBatch};

/// The batches of a polling loop, allocated once and reused every round.
#[derive(Debug)]
pub struct Pump {
    rx: RxBatch,
    tx: TxBatch,
    /// The port received from first next round: rotates so that no port can fill every batch.
    first: usize,
}

/// What one round moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    /// Frames received from devices.
    pub received: usize,
    /// Frames devices accepted to send.
    pub sent: usize,
}

impl Pump {
    /// Batches of `rx_frames` frames of up to `slot_len` bytes in, `tx_frames` frames out.
    pub fn new(rx_frames: usize, slot_len: usize, tx_frames: usize) -> Self {
        Self { rx: RxBatch::new(rx_frames, slot_len), tx: TxBatch::new(tx_frames), first: 0 }
    }

    /// One round over `ports` (each device with the port number it serves). Frames for a port
    /// without a device are counted as `no_device` drops, refused ones as `tx_queue_full`.
    /// Stops at the first device error.
    pub fn run<D: PortIo>(
        &mut self,
        datapath: &mut Datapath,
        now: Duration,
        ports: &mut [(PortId, D)],
    ) -> io::Result<Round> {
        self.rx.clear();
        let count = ports.len();
        for turn in 0..count {
            if self.rx.room() == 0 {
                break;
            }
            let (port, device) = &mut ports[(self.first + turn) % count];
            device.receive(*port, &mut self.rx)?;
        }
        self.first = if count == 0 { 0 } else { (self.first + 1) % count };

        datapath.process(now, &self.rx, &mut self.tx);

        let mut sent = 0;
        for view in self.tx.views(&self.rx) {
            let Some((_, device)) = ports.iter_mut().find(|(port, _)| *port == view.port) else {
                datapath.record_tx_drops(view.port, DropReason::NoDevice, 1);
                continue;
            };
            match device.transmit(&view)? {
                Sent::Queued => sent += 1,
                Sent::QueueFull => datapath.record_tx_drops(view.port, DropReason::TxQueueFull, 1),
            }
        }
        for (_, device) in ports.iter_mut() {
            device.flush()?;
        }
        Ok(Round { received: self.rx.len(), sent })
    }
}
