//! A switch port on a Linux interface — the host end of a container's veth pair — through an
//! AF_PACKET raw socket.
//!
//! The socket is bound to the one interface, non-blocking, promiscuous, and deaf to its own
//! transmissions (`PACKET_IGNORE_OUTGOING`). It runs with `PACKET_VNET_HDR`, so the veth offloads
//! can stay on: a container's TCP stack hands over 64 KiB segments with partial checksums, the
//! port receives them as they are with a virtio-net header saying what is still owed, and the
//! egress port sends them with that header (through the shared [`OffloadLedger`]) so the kernel
//! finishes the job on the way out. The kernel takes 802.1Q tags off received frames (VLAN
//! acceleration) and reports them aside (`PACKET_AUXDATA`); the port puts them back, so the
//! datapath sees every frame as it was on the wire.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use datapath::io::{PortIo, Sent};
use datapath::{PortId, RxBatch, TxView};

use super::error::DataplaneError;
use super::ledger::OffloadLedger;
use super::sys;
use super::vnet::{self, VnetHeader};

/// The largest frame a port receives whole: a 64 KiB GSO segment with its Ethernet header and
/// two tags. Size receive batch slots to this.
pub const MAX_FRAME_LEN: usize = 65_536 + 14 + 8;

/// Socket buffers: a few hundred full-size frames, so a burst of 64 KiB segments does not
/// overflow while the dataplane thread is busy elsewhere.
const SOCKET_BUFFER_BYTES: libc::c_int = 8 << 20;

/// What happened on one port's device, beside what the datapath counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceCounters {
    /// Frames read from the socket.
    pub rx_frames: u64,
    /// Their bytes, as on the wire.
    pub rx_bytes: u64,
    /// Frames that arrived as GSO segments (more than one packet's worth).
    pub rx_gso: u64,
    /// Frames that arrived with a partial checksum.
    pub rx_partial_checksum: u64,
    /// Frames whose 802.1Q tag the kernel had taken off and the port put back.
    pub rx_tags_restored: u64,
    /// Frames the kernel dropped before the port read them (socket buffer full).
    pub rx_kernel_drops: u64,
    /// Receive errors other than "nothing to read" (the link going down, for instance).
    pub rx_errors: u64,
    /// Frames handed to the kernel to send.
    pub tx_frames: u64,
    /// Their bytes.
    pub tx_bytes: u64,
    /// Frames not sent because the socket's buffer was full.
    pub tx_busy: u64,
    /// Frames the kernel refused: longer than the interface's MTU, or malformed.
    pub tx_rejected: u64,
    /// Frames not sent because the interface was down or gone.
    pub tx_link_down: u64,
}

impl DeviceCounters {
    /// The frames this device lost before the datapath saw them.
    pub fn drops(&self) -> DeviceDrops {
        DeviceDrops { rx_buffer_full: self.rx_kernel_drops, rx_error: self.rx_errors }
    }
}

/// Frames devices lost on the way in, before the datapath saw them: the datapath's drop
/// counters cannot hold them, so every drop view adds these to its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceDrops {
    /// Dropped by the kernel because the socket's receive buffer was full.
    pub rx_buffer_full: u64,
    /// Receive errors other than "nothing to read".
    pub rx_error: u64,
}

impl DeviceDrops {
    /// Each reason: (name for JSON, words for tables, count).
    pub fn reasons(&self) -> [(&'static str, &'static str, u64); 2] {
        [
            ("rx_buffer_full", "receive buffer full (dropped by the kernel)", self.rx_buffer_full),
            ("rx_error", "receive error", self.rx_error),
        ]
    }
}

impl core::ops::AddAssign for DeviceDrops {
    fn add_assign(&mut self, other: Self) {
        self.rx_buffer_full += other.rx_buffer_full;
        self.rx_error += other.rx_error;
    }
}

/// A [`PortIo`] device on one Linux interface. See the module documentation.
#[derive(Debug)]
pub struct AfPacketPort {
    socket: OwnedFd,
    ifname: String,
    ifindex: u32,
    ledger: OffloadLedger,
    counters: DeviceCounters,
}

impl AfPacketPort {
    /// Opens interface `ifname` (in the calling thread's network namespace) with a ledger of
    /// its own: it can hand on the offloads of frames it received itself only.
    pub fn open(ifname: &str) -> Result<Self, DataplaneError> {
        Self::open_with_ledger(ifname, &OffloadLedger::new())
    }

    /// Opens interface `ifname`, sharing `ledger` with the other ports of the same receive batch.
    pub fn open_with_ledger(ifname: &str, ledger: &OffloadLedger) -> Result<Self, DataplaneError> {
        let fail = |action: &'static str| {
            move |source: io::Error| DataplaneError::Interface { ifname: ifname.to_owned(), action, source }
        };
        let ifindex = sys::interface_index(ifname).map_err(fail("look up"))?;
        let socket = sys::packet_socket().map_err(fail("open a packet socket on"))?;
        let fd = socket.as_fd();
        let on: libc::c_int = 1;
        sys::set_option(fd, libc::SOL_PACKET, libc::PACKET_VNET_HDR, &on)
            .map_err(fail("enable vnet headers on"))?;
        sys::set_option(fd, libc::SOL_PACKET, libc::PACKET_AUXDATA, &on)
            .map_err(fail("enable aux data on"))?;
        sys::set_option(fd, libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, &on)
            .map_err(fail("ignore outgoing frames on"))?;
        // Frames go straight to the driver: a veth has no queue to bypass anyway, and the
        // kernel's own transmit path would only look for one. Older kernels lack it: no harm.
        let _ = sys::set_option(fd, libc::SOL_PACKET, libc::PACKET_QDISC_BYPASS, &on);
        // Root may exceed the sysctl limits; without it the kernel's defaults still work, slower.
        let grow = |option| sys::set_option(fd, libc::SOL_SOCKET, option, &SOCKET_BUFFER_BYTES);
        if grow(libc::SO_RCVBUFFORCE).is_err() {
            let _ = sys::set_option(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &SOCKET_BUFFER_BYTES);
        }
        if grow(libc::SO_SNDBUFFORCE).is_err() {
            let _ = sys::set_option(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &SOCKET_BUFFER_BYTES);
        }
        sys::bind_packet(fd, ifindex, sys::ETH_P_ALL).map_err(fail("bind to"))?;
        sys::add_promiscuous_membership(fd, ifindex).map_err(fail("make promiscuous"))?;
        Ok(Self {
            socket,
            ifname: ifname.to_owned(),
            ifindex,
            ledger: ledger.clone(),
            counters: DeviceCounters::default(),
        })
    }

    /// The interface's name.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The interface's index (in its network namespace).
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// What happened on the device so far (also collects the kernel's drop count).
    pub fn counters(&mut self) -> DeviceCounters {
        if let Ok(drops) = sys::packet_drops(self.socket.as_fd()) {
            self.counters.rx_kernel_drops += drops;
        }
        self.counters
    }
}

impl AsFd for AfPacketPort {
    /// The socket, to wait on for frames to read.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl PortIo for AfPacketPort {
    /// Reads with `recvmmsg`, up to 32 frames per call, straight into the batch's
    /// slots (each frame's virtio-net header into a buffer of its own).
    fn receive(&mut self, port: PortId, rx: &mut RxBatch) -> io::Result<usize> {
        let mut ledger = self.ledger.lock();
        ledger.begin(rx.is_empty());
        let mut moved = 0;
        let mut headers = [[0u8; vnet::LEN]; sys::BATCH];
        let mut received = [sys::Received::default(); sys::BATCH];
        while rx.room() > 0 {
            let asked = rx.room().min(sys::BATCH);
            let count = match sys::receive_frames(
                self.socket.as_fd(),
                &mut headers,
                rx.free_slots(),
                &mut received,
            ) {
                Ok(count) => count,
                Err(error) => match error.kind() {
                    io::ErrorKind::WouldBlock => break,
                    io::ErrorKind::Interrupted => continue,
                    // The link went down (the error is reported once, then the socket carries
                    // on when it comes back up): nothing to read now.
                    _ if error.raw_os_error() == Some(libc::ENETDOWN) => {
                        self.counters.rx_errors += 1;
                        break;
                    }
                    _ => return Err(error),
                },
            };
            for (header, frame) in headers.iter().zip(&received).take(count) {
                let index = rx.len();
                let Some(slot) = rx.next_slot() else { break };
                let mut offloads = VnetHeader::from_bytes(header);
                let mut len = frame.len;
                if let Some(tag) = frame.tag {
                    len += restore_tag(slot, frame.len, tag);
                    offloads = offloads.shifted(4);
                    self.counters.rx_tags_restored += 1;
                }
                let counters = &mut self.counters;
                counters.rx_frames += 1;
                counters.rx_bytes += len as u64;
                counters.rx_gso += u64::from(offloads.is_gso());
                counters.rx_partial_checksum += u64::from(offloads.needs_checksum());
                ledger.record(index, slot, len, offloads);
                rx.commit(port, len);
                moved += 1;
            }
            if count < asked {
                break; // drained: another call would only say so
            }
        }
        Ok(moved)
    }

    fn transmit(&mut self, frame: &TxView<'_>) -> io::Result<Sent> {
        let sent = self.transmit_batch(std::slice::from_ref(frame))?;
        Ok(if sent == 1 { Sent::Queued } else { Sent::QueueFull })
    }

    /// Sends with `sendmmsg`, up to 32 frames per call, each with the virtio-net
    /// header its ingress port recorded in the ledger.
    fn transmit_batch(&mut self, frames: &[TxView<'_>]) -> io::Result<usize> {
        let ledger = self.ledger.lock();
        let mut sent = 0;
        for chunk in frames.chunks(sys::BATCH) {
            let mut headers = [[0u8; vnet::LEN]; sys::BATCH];
            let mut pieces: [[&[u8]; 4]; sys::BATCH] = [[&[]; 4]; sys::BATCH];
            for (header, frame) in headers.iter_mut().zip(chunk) {
                *header = ledger.header_for(frame).to_bytes();
            }
            for ((pieces, header), frame) in pieces.iter_mut().zip(&headers).zip(chunk) {
                let [addresses, tag, body] = frame.slices();
                *pieces = [header, addresses, tag, body];
            }
            let mut at = 0;
            while at < chunk.len() {
                match sys::send_frames(self.socket.as_fd(), &pieces[at..chunk.len()]) {
                    Ok(count) => {
                        let bytes: usize = chunk[at..at + count].iter().map(TxView::len).sum();
                        self.counters.tx_frames += count as u64;
                        self.counters.tx_bytes += bytes as u64;
                        sent += count;
                        at += count;
                    }
                    Err(error) => {
                        let counter = match error.raw_os_error() {
                            Some(libc::EAGAIN | libc::ENOBUFS | libc::EINTR) => &mut self.counters.tx_busy,
                            Some(libc::EMSGSIZE | libc::EINVAL) => &mut self.counters.tx_rejected,
                            Some(libc::ENETDOWN | libc::ENXIO | libc::ENODEV) => {
                                &mut self.counters.tx_link_down
                            }
                            // Unexpected: the caller hears of it, unless frames went before it
                            // (then the next batch, failing from its first frame, tells).
                            _ if sent == 0 => return Err(error),
                            _ => return Ok(sent),
                        };
                        // The frame is lost; the datapath counts it as an output drop.
                        *counter += 1;
                        at += 1;
                    }
                }
            }
        }
        Ok(sent)
    }
}

/// Puts `tag` back after the MAC addresses of the `len`-byte frame at the start of `slot`.
/// Returns the bytes the frame grew by (4), even when the slot was too short to hold it all:
/// the frame then counts as longer than its slot and the datapath drops it as oversize.
fn restore_tag(slot: &mut [u8], len: usize, tag: sys::StrippedTag) -> usize {
    const ADDRESSES: usize = 12;
    const TAG: usize = 4;
    let kept = len.min(slot.len()); // the bytes actually in the slot
    if kept >= ADDRESSES {
        let end = (kept + TAG).min(slot.len());
        slot.copy_within(ADDRESSES..end - TAG, ADDRESSES + TAG);
        let [p0, p1] = tag.tpid.to_be_bytes();
        let [t0, t1] = tag.tci.to_be_bytes();
        slot[ADDRESSES..ADDRESSES + TAG].copy_from_slice(&[p0, p1, t0, t1]);
    }
    TAG
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restores_a_stripped_tag_after_the_addresses() {
        let mut slot = [0u8; 24];
        let frame: Vec<u8> = (1..=16).collect();
        slot[..16].copy_from_slice(&frame);
        let tag = sys::StrippedTag { tpid: 0x8100, tci: 0x2064 };
        assert_eq!(restore_tag(&mut slot, 16, tag), 4);
        let mut expected = frame[..12].to_vec();
        expected.extend_from_slice(&[0x81, 0x00, 0x20, 0x64]);
        expected.extend_from_slice(&frame[12..]);
        assert_eq!(&slot[..20], &expected[..]);
    }

    #[test]
    fn restoring_into_a_full_slot_keeps_what_fits() {
        let mut slot: Vec<u8> = (1..=16).collect();
        assert_eq!(restore_tag(&mut slot, 40, sys::StrippedTag { tpid: 0x88a8, tci: 5 }), 4);
        assert_eq!(&slot[12..16], &[0x88, 0xa8, 0, 5]);
        assert_eq!(&slot[..12], &(1..=12).collect::<Vec<u8>>()[..]);
    }
}
