//! The VXLAN tunnel endpoint's device: one UDP socket bound to the VTEP address and port.
//!
//! Receiving reads whole datagrams (VXLAN header + inner frame) into the receive batch with the
//! sender's address; the datapath checks the header. Transmitting sends the datapath's VXLAN
//! header and the inner frame as one datagram (a gathering `sendmsg`, no copy), after doing in
//! software what the frame's virtio-net header still owes — a UDP socket cannot hand offloads on
//! — with [`wire::gso`]: a TCP super-frame from a container leaves as MSS-sized datagrams, a
//! partial checksum is finished first.
//!
//! The socket sets DF (`IP_PMTUDISC_DO`): an encapsulated frame too long for the underlay is
//! refused (`EMSGSIZE`, counted) rather than fragmented; attach sizes container MTUs to fit.
//! Datagrams leave from the VTEP's own port (4789), so every tunnel flow has one UDP source
//! port: simple, at the cost of ECMP spreading in the underlay.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};

use datapath::io::{PortIo, Sent};
use datapath::{PortId, RxBatch, TxView};
use wire::gso::{self, Offload, Segmenter};

use super::af_packet::{DeviceCounters, MAX_FRAME_LEN};
use super::error::DataplaneError;
use super::ledger::OffloadLedger;
use super::sys;
use super::vnet::VnetHeader;

/// Socket buffers: room for bursts of segmented super-frames.
const SOCKET_BUFFER_BYTES: libc::c_int = 8 << 20;

/// The tunnel's socket and what it needs to send frames that owe offloads.
#[derive(Debug)]
pub(super) struct TunnelSocket {
    socket: UdpSocket,
    local: SocketAddrV4,
    /// A contiguous copy of a frame whose checksum must be finished or that must be segmented.
    scratch: Box<[u8]>,
    /// One segment's headers at a time.
    headers: Box<gso::HeaderBuf>,
    counters: DeviceCounters,
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
        let local = match socket.local_addr().map_err(fail("read the address of"))? {
            SocketAddr::V4(local) => local,
            SocketAddr::V6(_) => SocketAddrV4::new(vtep, port),
        };
        Ok(Self {
            socket,
            local,
            scratch: vec![0; MAX_FRAME_LEN].into_boxed_slice(),
            headers: Box::new([0; gso::MAX_HEADER_LEN]),
            counters: DeviceCounters::default(),
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

    /// Reads one datagram into `slot`: its length and sender, or `None` when none waits.
    /// Errors other than "nothing to read" are counted and end this read (the next may work).
    pub(super) fn receive(&mut self, slot: &mut [u8]) -> Option<(usize, Ipv4Addr)> {
        loop {
            match self.socket.recv_from(slot) {
                Ok((len, SocketAddr::V4(source))) => {
                    self.counters.rx_frames += 1;
                    self.counters.rx_bytes += len as u64;
                    return Some((len, *source.ip()));
                }
                // An IPv4 socket only hears IPv4 senders.
                Ok((_, SocketAddr::V6(_))) => self.counters.rx_errors += 1,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return None,
                Err(_) => {
                    // ICMP errors for earlier sends surface here (ECONNREFUSED, …).
                    self.counters.rx_errors += 1;
                    return None;
                }
            }
        }
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
        header: &[u8; wire::vxlan::HEADER_LEN],
        len: usize,
        segmentation: gso::Gso,
        to: SocketAddrV4,
    ) -> TunnelSent {
        let mut segmenter = match Segmenter::new(&self.scratch[..len], segmentation) {
            Ok(segmenter) => segmenter,
            Err(error) => {
                tracing::debug!("vxlan: dropping a frame: {error}");
                self.counters.tx_rejected += 1;
                return TunnelSent::Dropped;
            }
        };
        let mut outcome = TunnelSent::Sent;
        while let Some(segment) = segmenter.next_into(&mut self.headers) {
            let pieces = [&header[..], &self.headers[..segment.header_len], segment.payload];
            if send_counted(&self.socket, &mut self.counters, &pieces, to) == TunnelSent::Dropped {
                // The rest would only arrive as a hole-y stream: TCP resends the lot anyway.
                outcome = TunnelSent::Dropped;
                break;
            }
        }
        outcome
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
            let counter = match error.raw_os_error() {
                Some(libc::EAGAIN | libc::ENOBUFS | libc::EINTR) => &mut counters.tx_busy,
                Some(libc::ENETDOWN | libc::ENETUNREACH | libc::EHOSTUNREACH) => &mut counters.tx_link_down,
                // EMSGSIZE: longer than the path MTU with DF set; anything else: refused too.
                _ => &mut counters.tx_rejected,
            };
            *counter += 1;
            TunnelSent::Dropped
        }
    }
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

impl PortIo for TunnelPort {
    fn receive(&mut self, port: PortId, rx: &mut RxBatch) -> io::Result<usize> {
        let mut ledger = self.ledger.lock();
        ledger.begin(rx.is_empty());
        let mut moved = 0;
        loop {
            let index = rx.len();
            let Some(slot) = rx.next_slot() else { break };
            let Some((len, source)) = self.socket.receive(slot) else { break };
            // A datagram owes nothing (its sender finished it); record so, or the slot would
            // keep the offloads of a veth frame received into it earlier.
            ledger.record(index, slot, len, VnetHeader::NONE);
            rx.commit_tunneled(port, len, source);
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
