//! Frames in and out, in batches, without allocating per frame.
//!
//! An [`RxBatch`] owns one fixed slot per frame, allocated once. The datapath's output, a
//! [`TxBatch`], does not copy frames: each [`TxFrame`] names an input frame by index, the port
//! to send it on and the 802.1Q tag to put on it (or take off). [`TxView`] turns that back into
//! bytes as three slices (addresses, tag, rest), ready for a gathering write (`sendmsg` with an
//! iovec) or a copy; a frame for the VXLAN tunnel also carries its [`Encap`].
//!
//! The tunnel's frames arrive as UDP payloads ([`RxBatch::commit_tunneled`]): the VXLAN header
//! stays in the slot, and views of those frames start past it.

use std::net::Ipv4Addr;

use wire::{Tci, Vni, ethernet, vlan, vxlan};

use crate::PortId;

/// Metadata of one received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RxMeta {
    port: PortId,
    /// Bytes stored in the slot.
    len: u32,
    /// Bytes the frame had on the wire; more than `len` if the slot was too small.
    wire_len: u32,
    /// The VTEP a tunneled frame (a UDP payload) came from.
    source_vtep: Option<Ipv4Addr>,
}

/// Received frames, each tagged with the port it came from.
#[derive(Debug, Clone)]
pub struct RxBatch {
    slots: Box<[u8]>,
    slot_len: usize,
    capacity: usize,
    frames: Vec<RxMeta>,
}

/// One received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxFrame<'a> {
    /// The port it arrived on.
    pub port: PortId,
    /// Its bytes (at most the slot length).
    pub bytes: &'a [u8],
    /// Its length on the wire: larger than `bytes.len()` if it did not fit the slot.
    pub wire_len: usize,
    /// For a frame from the tunnel: the VTEP it came from. `bytes` is then the UDP payload,
    /// VXLAN header and inner frame.
    pub source_vtep: Option<Ipv4Addr>,
}

impl RxBatch {
    /// Room for `capacity` frames of up to `slot_len` bytes each (e.g. 32 × 9216).
    pub fn new(capacity: usize, slot_len: usize) -> Self {
        Self {
            slots: vec![0; capacity * slot_len].into_boxed_slice(),
            slot_len,
            capacity,
            frames: Vec::with_capacity(capacity),
        }
    }

    /// Frames it can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The longest frame a slot holds whole.
    pub fn slot_len(&self) -> usize {
        self.slot_len
    }

    /// Frames held.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// `true` if it holds no frame.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Frames it can still take.
    pub fn room(&self) -> usize {
        self.capacity() - self.len()
    }

    /// Forgets every frame.
    pub fn clear(&mut self) {
        self.frames.clear();
    }

    /// Copies `frame`, received on `port`, into the next slot. A frame longer than a slot is
    /// kept truncated (the datapath drops it as oversize). `false` if the batch is full.
    pub fn push(&mut self, port: PortId, frame: &[u8]) -> bool {
        let Some(slot) = self.next_slot() else { return false };
        let len = frame.len().min(slot.len());
        slot[..len].copy_from_slice(&frame[..len]);
        self.commit(port, frame.len())
    }

    /// The next free slot, to receive into directly (`recv` into it, then [`Self::commit`]).
    pub fn next_slot(&mut self) -> Option<&mut [u8]> {
        if self.room() == 0 {
            return None;
        }
        let start = self.len() * self.slot_len;
        self.slots.get_mut(start..start + self.slot_len)
    }

    /// Every free slot, in order, to receive several frames with one call (`recvmmsg`): commit
    /// the frames written into them in the same order, one [`Self::commit`] each.
    pub fn free_slots(&mut self) -> std::slice::ChunksExactMut<'_, u8> {
        let start = self.len() * self.slot_len;
        // Zero-length slots hold nothing (and chunks of zero bytes would not end).
        self.slots[start..].chunks_exact_mut(self.slot_len.max(1))
    }

    /// Takes the frame written into [`Self::next_slot`]: `wire_len` bytes long on the wire
    /// (only the slot's worth is kept). `false` if the batch is full.
    pub fn commit(&mut self, port: PortId, wire_len: usize) -> bool {
        self.commit_from(port, wire_len, None)
    }

    /// Takes the UDP payload written into [`Self::next_slot`], received by the tunnel
    /// (`port` is [`crate::TUNNEL_PORT`]) from the VTEP `source`. `false` if the batch is full.
    pub fn commit_tunneled(&mut self, port: PortId, wire_len: usize, source: Ipv4Addr) -> bool {
        self.commit_from(port, wire_len, Some(source))
    }

    /// Copies a UDP `payload` from the VTEP `source` into the next slot, like [`Self::push`].
    pub fn push_tunneled(&mut self, port: PortId, payload: &[u8], source: Ipv4Addr) -> bool {
        let Some(slot) = self.next_slot() else { return false };
        let len = payload.len().min(slot.len());
        slot[..len].copy_from_slice(&payload[..len]);
        self.commit_tunneled(port, payload.len(), source)
    }

    fn commit_from(&mut self, port: PortId, wire_len: usize, source_vtep: Option<Ipv4Addr>) -> bool {
        if self.room() == 0 {
            return false;
        }
        let wire_len = u32::try_from(wire_len).unwrap_or(u32::MAX);
        let len = wire_len.min(u32::try_from(self.slot_len).unwrap_or(u32::MAX));
        self.frames.push(RxMeta { port, len, wire_len, source_vtep });
        true
    }

    /// The frame at `index`.
    #[inline]
    pub fn get(&self, index: usize) -> Option<RxFrame<'_>> {
        let meta = self.frames.get(index)?;
        let start = index * self.slot_len;
        let bytes = self.slots.get(start..start + meta.len as usize)?;
        Some(RxFrame {
            port: meta.port,
            bytes,
            wire_len: meta.wire_len as usize,
            source_vtep: meta.source_vtep,
        })
    }

    /// Every frame, in arrival order.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = RxFrame<'_>> {
        (0..self.len()).filter_map(|index| self.get(index))
    }
}

/// One frame to send: which input frame, on which port, with which tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxFrame {
    /// The port to send it on.
    pub port: PortId,
    /// The input frame, as an index into the [`RxBatch`] given to `process`.
    pub rx_index: u32,
    /// Where the Ethernet frame starts in the input: 0, or past the VXLAN header of a frame
    /// from the tunnel.
    pub(crate) frame_start: u8,
    /// Where the input frame's payload starts after its addresses (from `frame_start`): past
    /// the EtherType-position tag if it had one (16), else right after the addresses (12).
    pub(crate) body_offset: u8,
    /// The tag to send it with, if any.
    pub tag: Option<Tci>,
    /// For the tunnel: where to and with which VXLAN header.
    pub(crate) encap: Option<Encap>,
}

/// How a frame for the tunnel is sent: `header`, then the frame, as one UDP datagram to `remote`
/// (port [`wire::vxlan::UDP_PORT`] unless configured otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Encap {
    /// The remote VTEP.
    pub remote: Ipv4Addr,
    /// The VXLAN header: I flag and the bridge-domain's segment id.
    pub header: [u8; vxlan::HEADER_LEN],
}

impl Encap {
    /// The encapsulation of a frame of bridge-domain `vni` for the VTEP `remote`.
    pub fn new(remote: Ipv4Addr, vni: Vni) -> Self {
        let mut header = [0; vxlan::HEADER_LEN];
        vxlan::Repr { vni }.emit(&mut vxlan::Packet::new_unchecked(&mut header[..]));
        Self { remote, header }
    }
}

/// Frames to send, produced by `Datapath::process`.
#[derive(Debug, Clone)]
pub struct TxBatch {
    frames: Vec<TxFrame>,
}

impl TxBatch {
    /// Room for `capacity` frames. A flood to N ports takes N, so size it as the receive batch
    /// times the widest flood expected; what does not fit is dropped (`tx_batch_full`).
    pub fn new(capacity: usize) -> Self {
        Self { frames: Vec::with_capacity(capacity) }
    }

    /// Frames held.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// `true` if it holds no frame.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Frames it can hold.
    pub fn capacity(&self) -> usize {
        self.frames.capacity()
    }

    /// Forgets every frame.
    pub fn clear(&mut self) {
        self.frames.clear();
    }

    /// Every frame, in the order the datapath produced them.
    pub fn frames(&self) -> &[TxFrame] {
        &self.frames
    }

    /// Every frame with its bytes, resolved against the batch it was produced from.
    pub fn views<'a>(&'a self, rx: &'a RxBatch) -> impl Iterator<Item = TxView<'a>> + 'a {
        self.frames.iter().filter_map(move |frame| TxView::resolve(frame, rx))
    }

    /// The frames for one port, in order.
    pub fn views_for<'a>(&'a self, port: PortId, rx: &'a RxBatch) -> impl Iterator<Item = TxView<'a>> + 'a {
        self.views(rx).filter(move |view| view.port == port)
    }

    /// Adds a frame unless full.
    #[inline]
    pub(crate) fn push(&mut self, frame: TxFrame) -> bool {
        if self.frames.len() == self.frames.capacity() {
            return false;
        }
        self.frames.push(frame);
        true
    }
}

const ADDRESSES_LEN: usize = ethernet::field::ETHERTYPE.start;

/// The bytes of one frame to send: addresses, then an optional tag, then the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxView<'a> {
    /// The port to send it on.
    pub port: PortId,
    addresses: &'a [u8],
    tag: Option<[u8; vlan::TAG_LEN]>,
    body: &'a [u8],
    encap: Option<Encap>,
}

impl<'a> TxView<'a> {
    fn resolve(frame: &TxFrame, rx: &'a RxBatch) -> Option<Self> {
        let bytes = rx.get(frame.rx_index as usize)?.bytes.get(usize::from(frame.frame_start)..)?;
        let tag = frame.tag.map(|tci| {
            let [tpid_hi, tpid_lo] = wire::EtherType::VLAN.0.to_be_bytes();
            let [tci_hi, tci_lo] = tci.to_bits().to_be_bytes();
            [tpid_hi, tpid_lo, tci_hi, tci_lo]
        });
        Some(Self {
            port: frame.port,
            addresses: bytes.get(..ADDRESSES_LEN)?,
            tag,
            body: bytes.get(usize::from(frame.body_offset)..)?,
            encap: frame.encap,
        })
    }

    /// A view of bytes that are already a whole frame (for devices that rewrite frames).
    pub fn from_bytes(port: PortId, frame: &'a [u8]) -> Self {
        let split = frame.len().min(ADDRESSES_LEN);
        Self { port, addresses: &frame[..split], tag: None, body: &frame[split..], encap: None }
    }

    /// For a frame to the tunnel: send [`Encap::header`] then [`Self::slices`] as one UDP
    /// datagram to [`Encap::remote`]. `None` for every other port.
    pub fn vxlan(&self) -> Option<Encap> {
        self.encap
    }

    /// Length of the frame to send.
    pub fn len(&self) -> usize {
        self.addresses.len() + self.tag.map_or(0, |tag| tag.len()) + self.body.len()
    }

    /// `true` for an empty frame (never produced by the datapath).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frame as three slices, for a gathering write; the middle one is empty when untagged.
    pub fn slices(&self) -> [&[u8]; 3] {
        let tag: &[u8] = match &self.tag {
            Some(tag) => tag,
            None => &[],
        };
        [self.addresses, tag, self.body]
    }

    /// Copies the frame into `out`; returns its length, or `None` if `out` is too small.
    pub fn copy_to(&self, out: &mut [u8]) -> Option<usize> {
        let mut at = 0;
        for slice in self.slices() {
            out.get_mut(at..at + slice.len())?.copy_from_slice(slice);
            at += slice.len();
        }
        Some(at)
    }

    /// The frame as one vector (allocates: for tests and in-memory devices).
    pub fn to_vec(&self) -> Vec<u8> {
        self.slices().concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_frames_in_fixed_slots() {
        let mut rx = RxBatch::new(2, 16);
        assert!(rx.push(PortId(49), &[1; 10]));
        assert!(rx.push(PortId(50), &[2; 20]));
        assert!(!rx.push(PortId(51), &[3; 5]));
        let second = rx.get(1).expect("held");
        assert_eq!((second.port, second.bytes.len(), second.wire_len), (PortId(50), 16, 20));
        assert_eq!(rx.iter().count(), 2);
        rx.clear();
        assert_eq!((rx.len(), rx.room()), (0, 2));
        let slot = rx.next_slot().expect("free");
        slot[..3].copy_from_slice(&[7, 8, 9]);
        assert!(rx.commit(PortId(52), 3));
        assert_eq!(rx.get(0).map(|frame| frame.bytes), Some(&[7, 8, 9][..]));
    }

    fn frame(port: u32, body_offset: u8) -> TxFrame {
        TxFrame { port: PortId(port), rx_index: 0, frame_start: 0, body_offset, tag: None, encap: None }
    }

    #[test]
    fn views_push_and_pop_tags_without_copying() {
        let mut rx = RxBatch::new(1, 64);
        let untagged: Vec<u8> = (0..20).collect();
        rx.push(PortId(49), &untagged);
        let mut tx = TxBatch::new(2);
        let tci = Tci { pcp: 5, dei: false, vid: 100 };
        assert!(tx.push(TxFrame { tag: Some(tci), ..frame(17, 12) }));
        assert!(tx.push(frame(50, 16)));
        assert!(!tx.push(frame(51, 12)));
        let views: Vec<_> = tx.views(&rx).collect();
        let mut tagged = untagged[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0xa0, 0x64]);
        tagged.extend_from_slice(&untagged[12..]);
        assert_eq!(views[0].to_vec(), tagged);
        assert_eq!(views[0].len(), 24);
        assert_eq!(views[1].to_vec(), [&untagged[..12], &untagged[16..]].concat());
        let mut out = [0u8; 24];
        assert_eq!(views[0].copy_to(&mut out), Some(24));
        assert_eq!(&out[..], &tagged[..]);
        assert_eq!(views[0].copy_to(&mut out[..23]), None);
        assert_eq!(tx.views_for(PortId(50), &rx).count(), 1);
        assert_eq!(TxView::from_bytes(PortId(1), &untagged).to_vec(), untagged);
    }
}
