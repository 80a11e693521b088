//! Which offloads each frame of the receive batch arrived with, so that the port sending it can
//! hand them on.
//!
//! [`datapath::io::PortIo`] moves bare frames: the ingress port writes into an
//! [`RxBatch`](datapath::RxBatch) slot, the datapath names that frame in a
//! [`TxView`](datapath::TxView), another port sends it. The virtio-net header has no place in
//! that path, so the ports of one [`Pump`](datapath::io::Pump) share a ledger: receiving records
//! each frame's header by its slot, transmitting finds the slot again from the view's first
//! bytes (a view borrows its frame in place) and corrects the header for a tag pushed or popped.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use datapath::TxView;

use super::vnet::VnetHeader;

/// The offload headers of one receive batch, shared by the ports that fill and drain it.
/// Every device of the batch must record into the ledger: a slot filled by another device
/// would still carry the header of an earlier frame.
#[derive(Debug, Clone, Default)]
pub struct OffloadLedger {
    entries: Arc<Mutex<Entries>>,
}

#[derive(Debug, Default)]
pub(super) struct Entries {
    /// Bumped whenever a round starts (an empty batch is received into).
    round: u64,
    /// Address of the batch's first slot, and the slot size: where a view's bytes come from.
    base: usize,
    slot_len: usize,
    slots: Vec<Entry>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    round: u64,
    /// Where in its slot the frame the header describes starts (past a VXLAN header, say).
    start: usize,
    /// The frame's length in its slot, tag included: a view of another length had a tag
    /// pushed or popped.
    len: usize,
    header: VnetHeader,
}

impl OffloadLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Entries> {
        // Entries are plain values rewritten whole; a panic elsewhere cannot leave one torn.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Entries {
    /// Starts a new round if the batch about to be received into is empty.
    pub fn begin(&mut self, batch_is_empty: bool) {
        if batch_is_empty {
            self.round += 1;
        }
    }

    /// Records `header` for the frame of `len` bytes in slot `index`, which starts at `slot`.
    pub fn record(&mut self, index: usize, slot: &[u8], len: usize, header: VnetHeader) {
        self.record_at(index, slot, 0, len, header);
    }

    /// Like [`Self::record`], for a frame that starts `start` bytes into its slot.
    pub fn record_at(&mut self, index: usize, slot: &[u8], start: usize, len: usize, header: VnetHeader) {
        self.slot_len = slot.len();
        self.base = (slot.as_ptr() as usize).wrapping_sub(index * slot.len());
        if self.slots.len() <= index {
            self.slots.resize(index + 1, Entry::default());
        }
        self.slots[index] = Entry { round: self.round, start, len, header };
    }

    /// The header to send `view` with: its ingress header, shifted by the tag pushed or popped
    /// since; no offloads if the frame was not recorded this round.
    pub fn header_for(&self, view: &TxView<'_>) -> VnetHeader {
        let [addresses, ..] = view.slices();
        let offset = (addresses.as_ptr() as usize).wrapping_sub(self.base);
        if self.slot_len == 0 {
            return VnetHeader::NONE;
        }
        match self.slots.get(offset / self.slot_len) {
            Some(entry) if entry.round == self.round && entry.start == offset % self.slot_len => {
                let delta = view.len() as isize - entry.len as isize;
                entry.header.shifted(i16::try_from(delta).unwrap_or(0))
            }
            _ => VnetHeader::NONE,
        }
    }
}

#[cfg(test)]
mod tests {
    use datapath::{Datapath, PortConfig, PortId, RxBatch, Segment, Settings, Snapshot, TxBatch, VlanBitmap};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    const PARTIAL: VnetHeader =
        VnetHeader { flags: 1, gso_type: 1, hdr_len: 54, gso_size: 1448, csum_start: 34, csum_offset: 16 };

    fn frame(src: u8, dst: u8) -> Vec<u8> {
        let mut frame = vec![0u8; 60];
        frame[..6].copy_from_slice(&[2, 0, 0, 0, 0, dst]);
        frame[6..12].copy_from_slice(&[2, 0, 0, 0, 0, src]);
        frame[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        frame
    }

    /// Receives `frames` into `rx` the way a port does, recording `headers`.
    fn receive(ledger: &OffloadLedger, rx: &mut RxBatch, frames: &[(PortId, Vec<u8>, VnetHeader)]) {
        let mut entries = ledger.lock();
        entries.begin(rx.is_empty());
        for (port, bytes, header) in frames {
            let index = rx.len();
            let slot = rx.next_slot().expect("room");
            slot[..bytes.len()].copy_from_slice(bytes);
            entries.record(index, slot, bytes.len(), *header);
            rx.commit(*port, bytes.len());
        }
    }

    #[test]
    fn hands_each_frame_its_own_header_shifted_by_the_tag() {
        // An access port on VLAN 100 and a trunk: what leaves the trunk gains a tag.
        let access = PortConfig::access(PortId(49), "Veth1", Segment::Vlan(100), "p");
        let trunk =
            PortConfig::trunk(PortId(17), "Eth3/1", [100].into_iter().collect::<VlanBitmap>(), 1, "u");
        let other = PortConfig::access(PortId(50), "Veth2", Segment::Vlan(100), "p");
        let snapshot = Snapshot::new(vec![access, trunk, other]).expect("valid");
        let mut datapath = Datapath::new(&Settings::default(), Arc::new(snapshot));
        let ledger = OffloadLedger::new();
        let mut rx = RxBatch::new(4, 128);
        let mut tx = TxBatch::new(16);
        receive(
            &ledger,
            &mut rx,
            &[(PortId(49), frame(1, 9), PARTIAL), (PortId(49), frame(1, 8), VnetHeader::NONE)],
        );
        datapath.process(Duration::ZERO, &rx, &mut tx);
        let entries = ledger.lock();
        let headers: Vec<_> = tx.views(&rx).map(|view| (view.port, entries.header_for(&view))).collect();
        assert_eq!(
            headers,
            [
                (PortId(17), PARTIAL.shifted(4)),
                (PortId(50), PARTIAL),
                (PortId(17), VnetHeader::NONE),
                (PortId(50), VnetHeader::NONE)
            ]
        );
    }

    #[test]
    fn forgets_headers_of_earlier_rounds() {
        let ledger = OffloadLedger::new();
        let mut rx = RxBatch::new(2, 128);
        receive(&ledger, &mut rx, &[(PortId(49), frame(1, 2), PARTIAL)]);
        let view_bytes = frame(1, 2);
        {
            let entries = ledger.lock();
            let first = rx.get(0).expect("held").bytes;
            assert_eq!(entries.header_for(&TxView::from_bytes(PortId(50), first)), PARTIAL);
            // A view of bytes outside the batch has no header.
            assert_eq!(entries.header_for(&TxView::from_bytes(PortId(50), &view_bytes)), VnetHeader::NONE);
        }
        // Next round: the slot is refilled by a device that does not record (a test pushing).
        rx.clear();
        ledger.lock().begin(rx.is_empty());
        rx.push(PortId(49), &view_bytes);
        let entries = ledger.lock();
        let refilled = rx.get(0).expect("held").bytes;
        assert_eq!(entries.header_for(&TxView::from_bytes(PortId(50), refilled)), VnetHeader::NONE);
    }
}
