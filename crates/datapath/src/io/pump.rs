//! One turn of the crank: receive from every port, process, transmit, flush.

use std::io;
use std::time::Duration;

use super::PortIo;
use crate::{Datapath, DropReason, PortId, RxBatch, TxBatch, TxView};

/// The batches of a polling loop, allocated once and reused every round.
#[derive(Debug)]
pub struct Pump {
    rx: RxBatch,
    tx: TxBatch,
    /// The views of one round's frames, grouped by port; empty between rounds (it only keeps
    /// its allocation, see [`recycle`]).
    views: Vec<TxView<'static>>,
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
        Self {
            rx: RxBatch::new(rx_frames, slot_len),
            tx: TxBatch::new(tx_frames),
            views: Vec::with_capacity(tx_frames),
            first: 0,
        }
    }

    /// One round over `ports` (each device with the port number it serves). Each device gets
    /// its frames in one [`PortIo::transmit_batch`], in the order the datapath produced them.
    /// Frames for a port without a device are counted as `no_device` drops, refused ones as
    /// `tx_queue_full`. Stops at the first device error.
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

        let mut views: Vec<TxView<'_>> = std::mem::take(&mut self.views);
        views.extend(self.tx.views(&self.rx));
        // A stable sort keeps each port's frames in order; for a batch's worth of views it
        // sorts in a scratch buffer on the stack.
        views.sort_by_key(|view| view.port);
        let result = transmit_grouped(datapath, &views, ports);
        self.views = recycle(views);
        let sent = result?;
        for (_, device) in ports.iter_mut() {
            device.flush()?;
        }
        Ok(Round { received: self.rx.len(), sent })
    }
}

/// Hands each run of `views` for one port to that port's device; returns the frames sent.
fn transmit_grouped<D: PortIo>(
    datapath: &mut Datapath,
    mut views: &[TxView<'_>],
    ports: &mut [(PortId, D)],
) -> io::Result<usize> {
    let mut sent = 0;
    while let Some(first) = views.first() {
        let port = first.port;
        let run = views.iter().take_while(|view| view.port == port).count();
        let (frames, rest) = views.split_at(run);
        views = rest;
        let Some((_, device)) = ports.iter_mut().find(|(id, _)| *id == port) else {
            datapath.record_tx_drops(port, DropReason::NoDevice, run as u64);
            continue;
        };
        let accepted = device.transmit_batch(frames)?.min(run);
        if accepted < run {
            datapath.record_tx_drops(port, DropReason::TxQueueFull, (run - accepted) as u64);
        }
        sent += accepted;
    }
    Ok(sent)
}

/// Empties `views` and keeps its allocation for the next round, whose views borrow another
/// batch: collecting an empty vector's iterator into a vector of the same layout reuses the
/// buffer (std's in-place collection), so rounds do not allocate.
#[expect(clippy::unnecessary_filter_map, reason = "the map changes the lifetime, which `filter` cannot")]
fn recycle(mut views: Vec<TxView<'_>>) -> Vec<TxView<'static>> {
    views.clear();
    views.into_iter().filter_map(|_| None).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::io::memory::{self, MemoryPort};
    use crate::io::{PortIo, Sent};
    use crate::{PortConfig, Segment, Settings, Snapshot};

    fn mac(n: u8) -> [u8; 6] {
        [2, 0, 0, 0, 0, n]
    }

    /// A 60-byte frame from host `src` to host `dst` carrying `seq`.
    fn frame(src: u8, dst: u8, seq: u16) -> Vec<u8> {
        let mut frame = vec![0u8; 60];
        frame[..6].copy_from_slice(&mac(dst));
        frame[6..12].copy_from_slice(&mac(src));
        frame[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        frame[14..16].copy_from_slice(&seq.to_be_bytes());
        frame
    }

    fn seq(frame: &[u8]) -> u16 {
        u16::from_be_bytes([frame[14], frame[15]])
    }

    /// A memory port that remembers how many frames each `transmit_batch` call carried.
    struct Recording {
        wire: MemoryPort,
        batches: Vec<usize>,
    }

    impl PortIo for Recording {
        fn receive(&mut self, port: PortId, rx: &mut RxBatch) -> io::Result<usize> {
            self.wire.receive(port, rx)
        }

        fn transmit(&mut self, frame: &TxView<'_>) -> io::Result<Sent> {
            self.wire.transmit(frame)
        }

        fn transmit_batch(&mut self, frames: &[TxView<'_>]) -> io::Result<usize> {
            self.batches.push(frames.len());
            let mut sent = 0;
            for frame in frames {
                sent += usize::from(self.wire.transmit(frame)? == Sent::Queued);
            }
            Ok(sent)
        }
    }

    /// Ports 1–3 on VLAN 1, host n behind port n; returns the datapath, the switch's devices
    /// (each queue holding `capacity` frames) and the hosts' ends.
    fn switch(capacity: usize) -> (Datapath, Vec<(PortId, Recording)>, Vec<MemoryPort>) {
        let configs = (1..=3)
            .map(|n| {
                PortConfig::access(PortId(n), format!("Veth{n}"), Segment::Vlan(1), "p")
                    .with_attached_mac(wire::MacAddr(mac(n as u8)))
            })
            .collect();
        let datapath = Datapath::new(&Settings::default(), Arc::new(Snapshot::new(configs).expect("valid")));
        let (devices, hosts) = (1..=3)
            .map(|n| {
                let (switch_end, host_end) = memory::link(capacity);
                ((PortId(n), Recording { wire: switch_end, batches: Vec::new() }), host_end)
            })
            .unzip();
        (datapath, devices, hosts)
    }

    #[test]
    fn hands_each_port_its_frames_in_one_batch_and_in_order() {
        let (mut datapath, mut devices, hosts) = switch(64);
        let mut pump = Pump::new(32, 128, 128);
        // Host 1 sends to hosts 2 and 3, interleaved; host 3 sends to host 2.
        for seq in 0..20 {
            assert!(hosts[0].send(&frame(1, 2 + (seq % 2) as u8, seq)));
        }
        for seq in 100..104 {
            assert!(hosts[2].send(&frame(3, 2, seq)));
        }
        let round = pump.run(&mut datapath, Duration::ZERO, &mut devices).expect("round");
        assert_eq!(round, Round { received: 24, sent: 24 });
        let batches: Vec<_> = devices.iter().map(|(_, device)| device.batches.clone()).collect();
        assert_eq!(batches, [vec![], vec![14], vec![10]]);
        let to_2: Vec<u16> = hosts[1].recv_all().iter().map(|frame| seq(frame)).collect();
        let to_3: Vec<u16> = hosts[2].recv_all().iter().map(|frame| seq(frame)).collect();
        // Each port's frames leave in the order they arrived from each sender.
        let from_1: Vec<u16> = to_2.iter().copied().filter(|&seq| seq < 100).collect();
        assert_eq!(from_1, (0..20).filter(|seq| seq % 2 == 0).collect::<Vec<_>>());
        assert_eq!(to_2.iter().filter(|&&seq| seq >= 100).copied().collect::<Vec<_>>(), [100, 101, 102, 103]);
        assert_eq!(to_3, (0..20).filter(|seq| seq % 2 == 1).collect::<Vec<_>>());
        let stats = datapath.port_stats(PortId(2)).expect("configured");
        assert_eq!((stats.rx.packets, stats.tx.packets), (0, 14));
    }

    #[test]
    fn counts_what_a_full_device_refuses() {
        let (mut datapath, mut devices, hosts) = switch(5);
        let mut pump = Pump::new(32, 128, 128);
        for seq in 0..5 {
            assert!(hosts[0].send(&frame(1, 2, seq)));
            assert!(hosts[2].send(&frame(3, 2, 10 + seq)));
        }
        let round = pump.run(&mut datapath, Duration::ZERO, &mut devices).expect("round");
        // Ten frames for port 2, whose queue takes five.
        assert_eq!(round, Round { received: 10, sent: 5 });
        assert_eq!(datapath.drops().get(DropReason::TxQueueFull), 5);
        let stats = datapath.port_stats(PortId(2)).expect("configured");
        assert_eq!(stats.drops.get(DropReason::TxQueueFull), 5);
        assert_eq!(hosts[1].recv_all().len(), 5);
    }

    #[test]
    fn frames_for_a_port_without_a_device_are_counted() {
        let (mut datapath, mut devices, hosts) = switch(8);
        devices.remove(1); // port 2 has a config but no device
        let mut pump = Pump::new(8, 128, 32);
        for seq in 0..3 {
            assert!(hosts[0].send(&frame(1, 2, seq)));
        }
        let round = pump.run(&mut datapath, Duration::ZERO, &mut devices).expect("round");
        assert_eq!(round, Round { received: 3, sent: 0 });
        assert_eq!(datapath.drops().get(DropReason::NoDevice), 3);
    }

    #[test]
    fn rounds_reuse_the_views_allocation() {
        let (mut datapath, mut devices, hosts) = switch(64);
        let mut pump = Pump::new(8, 128, 32);
        let capacity = pump.views.capacity();
        for round in 0..3 {
            for seq in 0..8 {
                assert!(hosts[0].send(&frame(1, 2, round * 8 + seq)));
            }
            pump.run(&mut datapath, Duration::ZERO, &mut devices).expect("round");
            assert_eq!(pump.views.capacity(), capacity);
        }
        assert_eq!(hosts[1].recv_all().len(), 24);
    }
}
