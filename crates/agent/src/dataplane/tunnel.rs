//! The VXLAN tunnel endpoint's device: one UDP socket bound to the VTEP address and port.
//!
//! Transmitting sends the datapath's VXLAN header and the inner frame as one datagram (a
//! gathering `sendmsg`, no copy), after doing in software what the frame's virtio-net header
//! still owes — a UDP socket cannot hand offloads on — with [`wire::gso`]: a partial checksum
//! is finished; a TCP super-frame from a container is cut into MSS-sized segments, each behind
//! its VXLAN header, laid end to end in one buffer and sent with `UDP_SEGMENT` (UDP GSO): one
//! system call for up to 64 datagrams, all the same length but the last, which the kernel (or
//! the underlay device) cuts apart. Where the kernel refuses that, each datagram goes alone.
//!
//! Receiving asks for `UDP_GRO`, so one read returns many datagrams of one sender; each is a
//! VXLAN header and an inner frame. Consecutive inner TCP segments of one flow are coalesced
//! back into a super-frame ([`wire::gro`]) in one receive batch slot, behind the first one's
//! VXLAN header, and recorded in the ledger with a virtio-net header (GSO, partial checksum),
//! so the container's veth takes the whole of it at once. The datapath checks the header and
//! decapsulates as for any datagram.
//!
//! The socket sets DF (`IP_PMTUDISC_DO`): an encapsulated frame too long for the underlay is
//! refused (`EMSGSIZE`, counted) rather than fragmented; attach sizes container MTUs to fit.
//! Datagrams leave from the VTEP's own port (4789), so every tunnel flow has one UDP source
//! port: simple, at the cost of ECMP spreading in the underlay.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd};

use datapath::io::{PortIo, Sent};
use datapath::{PortId, RxBatch, TxView};
use wire::gro::{Coalesced, Merger};
use wire::gso::{self, GsoKind, Offload, Segmenter};

use super::af_packet::{DeviceCounters, MAX_FRAME_LEN};
use super::error::DataplaneError;
use super::ledger::{Entries, OffloadLedger};
use super::sys;
use super::udp_gso;
use super::vnet::VnetHeader;

const VXLAN_LEN: usize = wire::vxlan::HEADER_LEN;

/// Socket buffers: room for bursts of segmented super-frames.
const SOCKET_BUFFER_BYTES: libc::c_int = 8 << 20;

/// The most one read returns: a UDP length's worth of coalesced datagrams.
const RECEIVE_BUFFER_LEN: usize = 65_536;

/// The tunnel's socket and what it needs to send frames that owe offloads.
#[derive(Debug)]
pub(super) struct TunnelSocket {
    socket: UdpSocket,
    local: SocketAddrV4,
    /// A contiguous copy of a frame whose checksum must be finished or that must be segmented.
    scratch: Box<[u8]>,
    /// One segment's headers at a time.
    headers: Box<gso::HeaderBuf>,
    /// Encapsulated segments laid end to end, for one `UDP_SEGMENT` send.
    batch: Box<[u8]>,
    /// `false` once the kernel refused UDP GSO outright (`EIO`: no checksum offload on the
    /// route's device): every datagram then goes alone.
    gso: bool,
    /// Received datagrams, many at once with `UDP_GRO`, and how far they have been taken.
    received: Box<[u8]>,
    pending: Pending,
    counters: DeviceCounters,
    offloads: TunnelOffloads,
}

/// What the tunnel's offloads did, beside the device counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct TunnelOffloads {
    /// `UDP_SEGMENT` sends (each many datagrams).
    pub gso_sends: u64,
    /// Sends of a segmented frame the kernel refused as a whole, sent datagram by datagram.
    pub gso_fallbacks: u64,
    /// Reads that returned more than one datagram (`UDP_GRO`).
    pub gro_reads: u64,
    /// Super-frames built from received segments, and the segments they hold.
    pub coalesced_frames: u64,
    pub coalesced_segments: u64,
}

/// The datagrams of the last read not yet taken: `received[at..end]`, each `segment` bytes
/// long but the last.
#[derive(Debug, Clone, Copy)]
struct Pending {
    at: usize,
    end: usize,
    segment: usize,
    source: Ipv4Addr,
}

/// What [`TunnelSocket::send`] did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TunnelSent {
    /// Every datagram of the frame went to the kernel.
    Sent,
    /// The frame (or one of its segments) was not sent; the counters say why.
    Dropped,
}

impl TunnelSocket {
    /// Binds `vtep:port` (in the calling thread's network namespace), non-blocking, with DF set.
    pub(super) fn open(vtep: Ipv4Addr, port: u16) -> Result<Self, DataplaneError> {
        let ifname = format!("vxlan (VTEP {vtep}:{port})");
        let fail = |action: &'static str| {
            let ifname = ifname.clone();
            move |source: io::Error| DataplaneError::Interface { ifname, action, source }
        };
        let socket = UdpSocket::bind(SocketAddrV4::new(vtep, port)).map_err(fail("bind"))?;
        socket.set_nonblocking(true).map_err(fail("make non-blocking"))?;
        let fd = socket.as_fd();
        sys::set_option(fd, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, &libc::IP_PMTUDISC_DO)
            .map_err(fail("set DF (IP_PMTUDISC_DO) on"))?;
        let grow = |option| sys::set_option(fd, libc::SOL_SOCKET, option, &SOCKET_BUFFER_BYTES);
        if grow(libc::SO_RCVBUFFORCE).is_err() {
            let _ = sys::set_option(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &SOCKET_BUFFER_BYTES);
        }
        if grow(libc::SO_SNDBUFFORCE).is_err() {
            let _ = sys::set_option(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &SOCKET_BUFFER_BYTES);
        }
        // Without it (an old kernel) every read returns one datagram: slower, still right.
        if let Err(error) = udp_gso::enable_gro(fd) {
            tracing::debug!("vxlan: no UDP GRO on the tunnel socket: {error}");
        }
        let local = match socket.local_addr().map_err(fail("read the address of"))? {
            SocketAddr::V4(local) => local,
            SocketAddr::V6(_) => SocketAddrV4::new(vtep, port),
        };
        Ok(Self {
            socket,
            local,
            scratch: vec![0; MAX_FRAME_LEN].into_boxed_slice(),
            headers: Box::new([0; gso::MAX_HEADER_LEN]),
            batch: vec![0; udp_gso::MAX_SEND].into_boxed_slice(),
            gso: true,
            received: vec![0; RECEIVE_BUFFER_LEN].into_boxed_slice(),
            pending: Pending { at: 0, end: 0, segment: 1, source: Ipv4Addr::UNSPECIFIED },
            counters: DeviceCounters::default(),
            offloads: TunnelOffloads::default(),
        })
    }

    /// The address and port the socket is bound to.
    pub(super) fn local(&self) -> SocketAddrV4 {
        self.local
    }

    /// What happened so far.
    pub(super) fn counters(&self) -> DeviceCounters {
        self.counters
    }

    /// What the offloads did so far (not shown anywhere yet: the device counters are).
    #[cfg(test)]
    fn offloads(&self) -> TunnelOffloads {
        self.offloads
    }

    /// The next received datagram and its sender, reading the socket when none is left from
    /// the last read; `None` when none waits. It stays next until [`Self::take`]. Errors other
    /// than "nothing to read" are counted and end this read (the next may work).
    fn peek(&mut self) -> Option<(Range<usize>, Ipv4Addr)> {
        while self.pending.at >= self.pending.end {
            match udp_gso::receive_coalesced(self.socket.as_fd(), &mut self.received) {
                Ok(read) => {
                    // An IPv4 socket only hears IPv4 senders; a datagram longer than the
                    // buffer cannot be VXLAN from a VTEP of ours.
                    let Some(source) = read.source.filter(|_| !read.truncated) else {
                        self.counters.rx_errors += 1;
                        continue;
                    };
                    let segment = read.segment.map_or(read.len, usize::from).max(1);
                    let datagrams = read.len.div_ceil(segment);
                    self.counters.rx_frames += datagrams as u64;
                    self.counters.rx_bytes += read.len as u64;
                    self.offloads.gro_reads += u64::from(datagrams > 1);
                    self.pending = Pending { at: 0, end: read.len, segment, source };
                    if read.len == 0 {
                        // An empty datagram: nothing to switch (the datapath would drop it).
                        self.counters.rx_errors += 1;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return None,
                Err(_) => {
                    // ICMP errors for earlier sends surface here (ECONNREFUSED, …).
                    self.counters.rx_errors += 1;
                    return None;
                }
            }
        }
        let Pending { at, end, segment, source } = self.pending;
        Some((at..(at + segment).min(end), source))
    }

    /// Moves past the datagram [`Self::peek`] returned.
    fn take(&mut self) {
        self.pending.at = (self.pending.at + self.pending.segment).min(self.pending.end);
    }

    /// Reads one datagram into `slot`: its length and sender, or `None` when none waits. A
    /// datagram longer than `slot` is cut short (its length says so).
    #[cfg(test)]
    fn receive(&mut self, slot: &mut [u8]) -> Option<(usize, Ipv4Addr)> {
        let (range, source) = self.peek()?;
        let datagram = &self.received[range];
        let len = datagram.len();
        let kept = len.min(slot.len());
        slot[..kept].copy_from_slice(&datagram[..kept]);
        self.take();
        Some((len, source))
    }

    /// Sends `header` and the frame (its pieces, in order) to `remote` as VXLAN, first doing what
    /// `offloads` says the frame still owes.
    pub(super) fn send(
        &mut self,
        remote: Ipv4Addr,
        header: &[u8; wire::vxlan::HEADER_LEN],
        frame: &[&[u8]; 3],
        offloads: VnetHeader,
    ) -> TunnelSent {
        let to = SocketAddrV4::new(remote, self.local.port());
        let owed = match Offload::from_virtio(
            offloads.flags,
            offloads.gso_type,
            offloads.gso_size,
            offloads.csum_start,
            offloads.csum_offset,
        ) {
            Ok(owed) => owed,
            Err(error) => return self.refuse(&error),
        };
        let [a, b, c] = *frame;
        if owed.is_none() {
            return self.send_datagram(&[header, a, b, c], to);
        }
        let len = a.len() + b.len() + c.len();
        let Some(copy) = self.scratch.get_mut(..len) else {
            self.counters.tx_rejected += 1;
            return TunnelSent::Dropped;
        };
        let (first, rest) = copy.split_at_mut(a.len());
        first.copy_from_slice(a);
        let (second, third) = rest.split_at_mut(b.len());
        second.copy_from_slice(b);
        third.copy_from_slice(c);
        match owed.gso {
            // Segments get complete checksums of their own: the partial one is moot.
            Some(segmentation) => self.send_segments(header, len, segmentation, to),
            None => {
                if let Some(partial) = owed.checksum
                    && let Err(error) = gso::finish_checksum(&mut self.scratch[..len], partial)
                {
                    return self.refuse(&error);
                }
                let frame = &self.scratch[..len];
                send_counted(&self.socket, &mut self.counters, &[header, frame], to)
            }
        }
    }

    fn send_segments(
        &mut self,
        header: &[u8; VXLAN_LEN],
        len: usize,
        segmentation: gso::Gso,
        to: SocketAddrV4,
    ) -> TunnelSent {
        // Out of `self` while its segments are sent (an empty box allocates nothing).
        let scratch = std::mem::take(&mut self.scratch);
        let outcome = self.send_segments_of(&scratch[..len], header, segmentation, to);
        self.scratch = scratch;
        outcome
    }

    fn send_segments_of(
        &mut self,
        frame: &[u8],
        header: &[u8; VXLAN_LEN],
        segmentation: gso::Gso,
        to: SocketAddrV4,
    ) -> TunnelSent {
        let mut segmenter = match Segmenter::new(frame, segmentation) {
            Ok(segmenter) => segmenter,
            Err(error) => return self.refuse(&error),
        };
        if !self.gso {
            while let Some(segment) = segmenter.next_into(&mut self.headers) {
                let pieces = [&header[..], &self.headers[..segment.header_len], segment.payload];
                if send_counted(&self.socket, &mut self.counters, &pieces, to) == TunnelSent::Dropped {
                    // The rest would only arrive as a hole-y stream: TCP resends the lot anyway.
                    return TunnelSent::Dropped;
                }
            }
            return TunnelSent::Sent;
        }
        // Segments laid end to end, each behind its VXLAN header; all but the last the same length.
        let (mut filled, mut count, mut size) = (0, 0, 0);
        while let Some(segment) = segmenter.next_into(&mut self.headers) {
            let datagram = VXLAN_LEN + segment.len();
            if count == udp_gso::MAX_SEGMENTS || filled + datagram > self.batch.len() {
                if self.send_batch(filled, size, to) == TunnelSent::Dropped {
                    return TunnelSent::Dropped;
                }
                (filled, count) = (0, 0);
            }
            if count == 0 {
                size = datagram;
            }
            let out = &mut self.batch[filled..filled + datagram];
            out[..VXLAN_LEN].copy_from_slice(header);
            out[VXLAN_LEN..VXLAN_LEN + segment.header_len]
                .copy_from_slice(&self.headers[..segment.header_len]);
            out[VXLAN_LEN + segment.header_len..].copy_from_slice(segment.payload);
            filled += datagram;
            count += 1;
        }
        self.send_batch(filled, size, to)
    }

    /// Sends `batch[..filled]` as datagrams of `size` bytes (the last may be shorter) in one
    /// `UDP_SEGMENT` send, or one by one if the kernel refuses that.
    fn send_batch(&mut self, filled: usize, size: usize, to: SocketAddrV4) -> TunnelSent {
        let datagrams = filled.div_ceil(size.max(1)) as u64;
        let segment = u16::try_from(size).unwrap_or(u16::MAX);
        match udp_gso::send_segmented(self.socket.as_fd(), &self.batch[..filled], segment, to) {
            Ok(sent) => {
                self.counters.tx_frames += datagrams;
                self.counters.tx_bytes += sent as u64;
                self.offloads.gso_sends += 1;
                TunnelSent::Sent
            }
            // EIO: the route's device cannot checksum for UDP GSO, so never again; EINVAL: a
            // segment the kernel will not take this way (longer than the path MTU, say).
            Err(error) if matches!(error.raw_os_error(), Some(libc::EIO | libc::EINVAL)) => {
                tracing::debug!("vxlan: UDP GSO refused ({error}), sending datagram by datagram");
                self.offloads.gso_fallbacks += 1;
                if error.raw_os_error() == Some(libc::EIO) {
                    self.gso = false;
                }
                for datagram in self.batch[..filled].chunks(size.max(1)) {
                    if send_counted(&self.socket, &mut self.counters, &[datagram], to) == TunnelSent::Dropped
                    {
                        return TunnelSent::Dropped;
                    }
                }
                TunnelSent::Sent
            }
            Err(error) => {
                count_send_error(&mut self.counters, &error, datagrams);
                TunnelSent::Dropped
            }
        }
    }

    fn send_datagram(&mut self, pieces: &[&[u8]], to: SocketAddrV4) -> TunnelSent {
        send_counted(&self.socket, &mut self.counters, pieces, to)
    }

    fn refuse(&mut self, error: &gso::GsoError) -> TunnelSent {
        tracing::debug!("vxlan: dropping a frame: {error}");
        self.counters.tx_rejected += 1;
        TunnelSent::Dropped
    }
}

/// Sends one datagram and counts what became of it.
fn send_counted(
    socket: &UdpSocket,
    counters: &mut DeviceCounters,
    pieces: &[&[u8]],
    to: SocketAddrV4,
) -> TunnelSent {
    match sys::send_datagram(socket.as_fd(), pieces, to) {
        Ok(sent) => {
            counters.tx_frames += 1;
            counters.tx_bytes += sent as u64;
            TunnelSent::Sent
        }
        Err(error) => {
            count_send_error(counters, &error, 1);
            TunnelSent::Dropped
        }
    }
}

/// Counts `datagrams` lost to a send that failed with `error`.
fn count_send_error(counters: &mut DeviceCounters, error: &io::Error, datagrams: u64) {
    let counter = match error.raw_os_error() {
        Some(libc::EAGAIN | libc::ENOBUFS | libc::EINTR) => &mut counters.tx_busy,
        Some(libc::ENETDOWN | libc::ENETUNREACH | libc::EHOSTUNREACH) => &mut counters.tx_link_down,
        // EMSGSIZE: longer than the path MTU with DF set; anything else: refused too.
        _ => &mut counters.tx_rejected,
    };
    *counter += datagrams;
}

/// The tunnel as a [`PortIo`] device of the dataplane (port [`datapath::TUNNEL_PORT`]).
#[derive(Debug)]
pub(super) struct TunnelPort {
    socket: TunnelSocket,
    /// Shared with the veths: which offloads each frame of the batch still owes.
    ledger: OffloadLedger,
}

impl TunnelPort {
    /// Binds `vtep:port`; frames to send find their offloads in `ledger`.
    pub(super) fn open(vtep: Ipv4Addr, port: u16, ledger: &OffloadLedger) -> Result<Self, DataplaneError> {
        Ok(Self { socket: TunnelSocket::open(vtep, port)?, ledger: ledger.clone() })
    }

    /// What happened so far.
    pub(super) fn counters(&self) -> DeviceCounters {
        self.socket.counters()
    }

    /// The address and port the tunnel is bound to.
    pub(super) fn local(&self) -> SocketAddrV4 {
        self.socket.local()
    }
}

/// Commits the (maybe coalesced) datagram a merger built in the next free slot of `rx`, from
/// VTEP `source`, recording what its inner frame owes.
fn close(
    ledger: &mut Entries,
    rx: &mut RxBatch,
    port: PortId,
    (merger, source): (Merger, Ipv4Addr),
    offloads: &mut TunnelOffloads,
) {
    let index = rx.len();
    let Some(slot) = rx.next_slot() else { return };
    let inner = merger.len();
    let header = match merger.finish(&mut slot[VXLAN_LEN..]) {
        Some(coalesced) => {
            offloads.coalesced_frames += 1;
            offloads.coalesced_segments += u64::from(coalesced.segments);
            vnet_header(&coalesced)
        }
        None => VnetHeader::NONE,
    };
    ledger.record_at(index, slot, VXLAN_LEN, inner, header);
    rx.commit_tunneled(port, VXLAN_LEN + inner, source);
}

/// The virtio-net header of a coalesced super-frame: segment it again, finish its checksum.
fn vnet_header(coalesced: &Coalesced) -> VnetHeader {
    VnetHeader {
        flags: VnetHeader::NEEDS_CSUM,
        gso_type: match coalesced.gso.kind {
            GsoKind::TcpV4 => gso::VIRTIO_GSO_TCPV4,
            GsoKind::TcpV6 => gso::VIRTIO_GSO_TCPV6,
        },
        hdr_len: coalesced.header_len,
        gso_size: coalesced.gso.size,
        csum_start: coalesced.checksum.start,
        csum_offset: coalesced.checksum.offset,
    }
}

impl PortIo for TunnelPort {
    fn receive(&mut self, port: PortId, rx: &mut RxBatch) -> io::Result<usize> {
        let mut ledger = self.ledger.lock();
        ledger.begin(rx.is_empty());
        let mut moved = 0;
        // The super-frame being built in the next free slot, not yet committed.
        let mut open: Option<(Merger, Ipv4Addr)> = None;
        while let Some((range, source)) = self.socket.peek() {
            let datagram = &self.socket.received[range];
            if let Some((merger, from)) = open.as_mut()
                && let Some(slot) = rx.next_slot()
                && *from == source
                && datagram.len() > VXLAN_LEN
                && slot[..VXLAN_LEN] == datagram[..VXLAN_LEN]
                && merger.append(&mut slot[VXLAN_LEN..], &datagram[VXLAN_LEN..])
            {
                self.socket.take();
                continue;
            }
            if let Some((merger, from)) = open.take() {
                close(&mut ledger, rx, port, (merger, from), &mut self.socket.offloads);
                moved += 1;
            }
            let index = rx.len();
            let Some(slot) = rx.next_slot() else { break };
            let len = datagram.len();
            let kept = len.min(slot.len());
            slot[..kept].copy_from_slice(&datagram[..kept]);
            self.socket.take();
            if let Some(merger) = slot.get(VXLAN_LEN..len).and_then(Merger::start) {
                open = Some((merger, source));
                continue;
            }
            // A datagram owes nothing (its sender finished it); record so, or the slot would
            // keep the offloads of a veth frame received into it earlier.
            ledger.record(index, slot, len, VnetHeader::NONE);
            rx.commit_tunneled(port, len, source);
            moved += 1;
        }
        if let Some(open) = open {
            close(&mut ledger, rx, port, open, &mut self.socket.offloads);
            moved += 1;
        }
        Ok(moved)
    }

    fn transmit(&mut self, frame: &TxView<'_>) -> io::Result<Sent> {
        let Some(encap) = frame.vxlan() else {
            // The datapath sends only encapsulated frames to the tunnel.
            self.socket.counters.tx_rejected += 1;
            return Ok(Sent::QueueFull);
        };
        let offloads = self.ledger.lock().header_for(frame);
        match self.socket.send(encap.remote, &encap.header, &frame.slices(), offloads) {
            TunnelSent::Sent => Ok(Sent::Queued),
            // Counted by the socket; the datapath counts an output drop of the tunnel.
            TunnelSent::Dropped => Ok(Sent::QueueFull),
        }
    }
}

impl AsFd for TunnelPort {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsFd for TunnelSocket {
    /// The socket, to wait on for datagrams.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use wire::build::{self, Ipv4Pair, L2};
    use wire::{MacAddr, PseudoHeader, ipv4, tcp};

    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
    const HEADER: [u8; 8] = [0x08, 0, 0, 0, 0, 0x13, 0x88, 0];

    /// Two tunnel endpoints on loopback addresses, one port.
    fn pair() -> (TunnelSocket, TunnelSocket) {
        for _ in 0..20 {
            let a = TunnelSocket::open(A, 0).expect("bind 127.0.0.1");
            if let Ok(b) = TunnelSocket::open(B, a.local().port()) {
                return (a, b);
            }
        }
        panic!("no port free on both 127.0.0.1 and 127.0.0.2");
    }

    /// Every datagram waiting on `socket` (waits a little for the first).
    fn drain(socket: &mut TunnelSocket) -> Vec<(Vec<u8>, Ipv4Addr)> {
        let mut slot = vec![0u8; MAX_FRAME_LEN];
        let mut out = Vec::new();
        for _ in 0..200 {
            match socket.receive(&mut slot) {
                Some((len, from)) => out.push((slot[..len].to_vec(), from)),
                None if out.is_empty() => std::thread::sleep(std::time::Duration::from_millis(5)),
                None => break,
            }
        }
        out
    }

    /// A TCP/IPv4 super-frame as a container's veth hands it over, with its virtio-net header.
    fn super_frame(payload_len: usize, mss: u16) -> (Vec<u8>, VnetHeader) {
        let l2 = L2::untagged(MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2]));
        let ip = Ipv4Pair { src: Ipv4Addr::new(10, 5, 0, 1), dst: Ipv4Addr::new(10, 5, 0, 2) };
        let payload: Vec<u8> = (0..payload_len).map(|i| (i % 251) as u8).collect();
        // Build as UDP to get Ethernet + IPv4 right, then make it TCP with a partial checksum.
        let mut frame = vec![0u8; 14 + 20 + 20 + payload_len];
        let udp_len = build::udp_ipv4(&mut frame, &l2, &ip, (1, 2), &[0; 12]).expect("fits");
        assert_eq!(udp_len, 14 + 20 + 20);
        frame[14 + 2..14 + 4]
            .copy_from_slice(&u16::try_from(20 + 20 + payload_len).expect("u16").to_be_bytes());
        frame[14 + 9] = 6;
        let mut header = ipv4::Packet::new_unchecked(&mut frame[14..34]);
        header.set_fragment(true, false, 0);
        header.fill_checksum();
        let tcp_bytes = &mut frame[34..54];
        tcp_bytes.fill(0);
        tcp_bytes[12] = 5 << 4;
        tcp_bytes[13] = 0x18; // PSH|ACK
        let pseudo = PseudoHeader::V4 { src: ip.src, dst: ip.dst };
        let seed = pseudo.sum(wire::IpProtocol::TCP, u32::try_from(20 + payload_len).expect("u32"));
        tcp_bytes[16..18].copy_from_slice(&seed.to_be_bytes());
        frame[54..].copy_from_slice(&payload);
        let vnet =
            VnetHeader { flags: 1, gso_type: 1, hdr_len: 54, gso_size: mss, csum_start: 34, csum_offset: 16 };
        (frame, vnet)
    }

    fn tcp_of(datagram: &[u8]) -> (u32, Vec<u8>) {
        assert_eq!(&datagram[..8], &HEADER);
        let ip = ipv4::Packet::new_checked(&datagram[8 + 14..]).expect("IPv4");
        assert!(ip.verify_checksum() && ip.dont_frag());
        let segment = tcp::Packet::new_checked(ip.payload()).expect("TCP");
        assert!(segment.verify_checksum(&PseudoHeader::V4 { src: ip.src_addr(), dst: ip.dst_addr() }));
        (segment.seq_number(), segment.payload().to_vec())
    }

    #[test]
    fn sends_header_and_frame_as_one_datagram_and_receives_it_with_its_source() {
        let (mut a, mut b) = pair();
        let frame: Vec<u8> = (0..100).collect();
        let pieces = [&frame[..12], &[][..], &frame[12..]];
        assert_eq!(a.send(B, &HEADER, &pieces, VnetHeader::NONE), TunnelSent::Sent);
        let got = drain(&mut b);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, A);
        assert_eq!(&got[0].0[..8], &HEADER);
        assert_eq!(&got[0].0[8..], &frame[..]);
        assert_eq!((a.counters().tx_frames, b.counters().rx_frames), (1, 1));
        assert_eq!(b.counters().rx_bytes, 108);
    }

    #[test]
    fn segments_a_tcp_super_frame_into_mss_sized_datagrams() {
        let (mut a, mut b) = pair();
        let (frame, vnet) = super_frame(4000, 1398);
        assert_eq!(a.send(B, &HEADER, &[&frame[..], &[], &[]], vnet), TunnelSent::Sent);
        let got = drain(&mut b);
        assert_eq!(
            got.iter().map(|(d, _)| d.len()).collect::<Vec<_>>(),
            [8 + 54 + 1398, 8 + 54 + 1398, 8 + 54 + 1204]
        );
        let mut stream = Vec::new();
        for (datagram, _) in &got {
            let (seq, data) = tcp_of(datagram);
            assert_eq!(seq as usize, stream.len());
            stream.extend(data);
        }
        assert_eq!(stream, frame[54..]);
        assert_eq!(a.counters().tx_frames, 3);
    }

    #[test]
    fn sends_a_super_frame_in_one_gso_send_and_receives_it_coalesced() {
        let (mut a, b) = pair();
        let ledger = OffloadLedger::new();
        let mut b = TunnelPort { socket: b, ledger: ledger.clone() };
        let (frame, vnet) = super_frame(20_000, 1398);
        assert_eq!(a.send(B, &HEADER, &[&frame[..30], &frame[30..], &[]], vnet), TunnelSent::Sent);
        assert_eq!(a.offloads().gso_sends, 1);
        assert_eq!(a.counters().tx_frames, 15);
        let mut rx = RxBatch::new(4, MAX_FRAME_LEN);
        for _ in 0..100 {
            b.receive(datapath::TUNNEL_PORT, &mut rx).expect("receives");
            if b.socket.pending.at == b.socket.pending.end && !rx.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(rx.len(), 1, "one super-frame");
        let got = rx.get(0).expect("held");
        assert_eq!(got.source_vtep, Some(A));
        assert_eq!(&got.bytes[..8], &HEADER);
        // Byte for byte what the container sent: lengths of the whole, the checksum partial.
        assert_eq!(&got.bytes[8..], &frame[..]);
        let inner = TxView::from_bytes(PortId(49), &got.bytes[8..]);
        assert_eq!(ledger.lock().header_for(&inner), VnetHeader { hdr_len: 54, ..vnet });
        let offloads = b.socket.offloads();
        assert_eq!((offloads.coalesced_frames, offloads.coalesced_segments), (1, 15));
        assert_eq!(b.counters().rx_frames, 15);
    }

    #[test]
    fn finishes_a_partial_checksum_without_segmenting() {
        let (mut a, mut b) = pair();
        let (frame, vnet) = super_frame(300, 1398);
        let checksum_only = VnetHeader { gso_type: 0, gso_size: 0, ..vnet };
        assert_eq!(
            a.send(B, &HEADER, &[&frame[..20], &frame[20..40], &frame[40..]], checksum_only),
            TunnelSent::Sent
        );
        let got = drain(&mut b);
        assert_eq!(got.len(), 1);
        assert_eq!(tcp_of(&got[0].0).1, frame[54..]);
    }

    #[test]
    fn unsupported_offloads_and_oversize_datagrams_are_counted_drops() {
        let (mut a, _b) = pair();
        let (frame, vnet) = super_frame(100, 1398);
        let uso = VnetHeader { gso_type: 5, ..vnet };
        assert_eq!(a.send(B, &HEADER, &[&frame[..], &[], &[]], uso), TunnelSent::Dropped);
        // Loopback's MTU is 65536: a 70 000-byte datagram cannot be sent with DF (nor at all).
        let big = vec![0u8; 70_000];
        assert_eq!(a.send(B, &HEADER, &[&big[..], &[], &[]], VnetHeader::NONE), TunnelSent::Dropped);
        assert_eq!((a.counters().tx_rejected, a.counters().tx_frames), (2, 0));
    }

    #[test]
    fn binding_an_address_not_on_the_host_fails_clearly() {
        let error = TunnelSocket::open(Ipv4Addr::new(192, 0, 2, 77), 4789).expect_err("not ours");
        let text = error.to_string();
        assert!(text.starts_with("cannot bind interface vxlan (VTEP 192.0.2.77:4789): "), "{text}");
    }
}
