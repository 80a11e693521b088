//! A device wrapper that drops, corrupts and truncates frames on purpose, in both directions,
//! from a seeded generator: the same seed gives the same faults, so failures replay.

use std::io;

use super::{PortIo, Sent};
use crate::{PortId, RxBatch, TxView};

/// How often each fault strikes, as probabilities per frame (0.0–1.0), checked in this order:
/// a dropped frame is not also corrupted.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Faults {
    /// The frame vanishes.
    pub drop: f64,
    /// One to three bytes are flipped.
    pub corrupt: f64,
    /// The frame is cut to a random shorter length (possibly empty).
    pub truncate: f64,
}

/// Faults injected so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultCounts {
    /// Frames dropped.
    pub dropped: u64,
    /// Frames corrupted.
    pub corrupted: u64,
    /// Frames truncated.
    pub truncated: u64,
}

/// Wraps a device and damages what passes through it.
#[derive(Debug)]
pub struct Faulty<D> {
    inner: D,
    faults: Faults,
    rng: SplitMix64,
    staging: RxBatch,
    scratch: Vec<u8>,
    counts: FaultCounts,
}

impl<D: PortIo> Faulty<D> {
    /// Wraps `inner`; frames longer than `slot_len` are received truncated, as by any batch.
    pub fn new(inner: D, faults: Faults, seed: u64, slot_len: usize) -> Self {
        Self {
            inner,
            faults,
            rng: SplitMix64(seed),
            staging: RxBatch::new(1, slot_len),
            scratch: Vec::with_capacity(slot_len),
            counts: FaultCounts::default(),
        }
    }

    /// Faults injected so far.
    pub fn counts(&self) -> FaultCounts {
        self.counts
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// Damages `self.scratch` in place; `false` if the frame is to be dropped.
    fn mangle(&mut self) -> bool {
        if self.rng.chance(self.faults.drop) {
            self.counts.dropped += 1;
            return false;
        }
        if self.rng.chance(self.faults.corrupt) && !self.scratch.is_empty() {
            self.counts.corrupted += 1;
            for _ in 0..=self.rng.below(3) {
                let at = self.rng.below(self.scratch.len());
                self.scratch[at] ^= 1 + self.rng.below(255) as u8;
            }
        }
        if self.rng.chance(self.faults.truncate) && !self.scratch.is_empty() {
            self.counts.truncated += 1;
            let len = self.rng.below(self.scratch.len());
            self.scratch.truncate(len);
        }
        true
    }
}

impl<D: PortIo> PortIo for Faulty<D> {
    fn receive(&mut self, port: PortId, rx: &mut RxBatch) -> io::Result<usize> {
        let mut moved = 0;
        while rx.room() > 0 {
            self.staging.clear();
            if self.inner.receive(port, &mut self.staging)? == 0 {
                break;
            }
            let Some(frame) = self.staging.get(0) else { break };
            self.scratch.clear();
            self.scratch.extend_from_slice(frame.bytes);
            if self.mangle() {
                rx.push(port, &self.scratch);
                moved += 1;
            }
        }
        Ok(moved)
    }

    fn transmit(&mut self, frame: &TxView<'_>) -> io::Result<Sent> {
        self.scratch.clear();
        for slice in frame.slices() {
            self.scratch.extend_from_slice(slice);
        }
        if !self.mangle() {
            return Ok(Sent::Queued); // lost on the wire: the sender cannot tell
        }
        self.inner.transmit(&TxView::from_bytes(frame.port, &self.scratch))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A small, fast, seedable generator (Steele, Lea & Flood's SplitMix64): enough for faults.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `true` with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        // 53 random bits as a fraction in [0, 1).
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// Uniform-enough in `0..bound` (`bound` > 0).
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::memory;

    fn received_through(faults: Faults, seed: u64, frames: usize) -> (Vec<Vec<u8>>, FaultCounts) {
        let (switch_end, host_end) = memory::link(1024);
        for i in 0..frames {
            host_end.send(&[i as u8; 60]);
        }
        let mut faulty = Faulty::new(switch_end, faults, seed, 128);
        let mut rx = RxBatch::new(1024, 128);
        faulty.receive(PortId(1), &mut rx).expect("in-memory never fails");
        (rx.iter().map(|frame| frame.bytes.to_vec()).collect(), faulty.counts())
    }

    #[test]
    fn damages_as_configured_and_replays_by_seed() {
        let faults = Faults { drop: 0.2, corrupt: 0.2, truncate: 0.2 };
        let (frames, counts) = received_through(faults, 7, 500);
        assert_eq!(frames.len() as u64, 500 - counts.dropped);
        for (expected, rate) in [(counts.dropped, 0.2), (counts.corrupted, 0.16), (counts.truncated, 0.16)] {
            let share = expected as f64 / 500.0;
            assert!((share - rate).abs() < 0.06, "{counts:?}");
        }
        let short = frames.iter().filter(|frame| frame.len() < 60).count() as u64;
        assert_eq!(short, counts.truncated);
        assert_eq!(received_through(faults, 7, 500), (frames, counts));
        let (clean, none) = received_through(Faults::default(), 7, 50);
        assert_eq!((clean.len(), none), (50, FaultCounts::default()));
    }

    #[test]
    fn damages_transmitted_frames_too() {
        let (switch_end, host_end) = memory::link(64);
        let mut faulty = Faulty::new(switch_end, Faults { drop: 1.0, ..Faults::default() }, 1, 64);
        let frame = [1u8; 20];
        assert_eq!(faulty.transmit(&TxView::from_bytes(PortId(1), &frame)).ok(), Some(Sent::Queued));
        assert_eq!((host_end.pending(), faulty.counts().dropped), (0, 1));
    }
}
