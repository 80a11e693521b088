//! The system calls of the dataplane, each wrapped once in a safe function: AF_PACKET sockets,
//! epoll and eventfd. Everything unsafe in the agent lives in this file.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;

use super::vnet;

/// `ETH_P_ALL`: every protocol, in host order.
pub(super) const ETH_P_ALL: u16 = 0x0003;

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

fn check_len(ret: libc::ssize_t) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

fn len_of<T>() -> libc::socklen_t {
    // Socket option and address structs are a few dozen bytes: the cast cannot truncate.
    mem::size_of::<T>() as libc::socklen_t
}

/// Takes ownership of a descriptor a system call just returned.
fn owned(fd: libc::c_int) -> OwnedFd {
    // SAFETY: `fd` was just returned (non-negative, checked) by a call that creates a descriptor,
    // and nothing else holds it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// The index of the interface named `name` in the calling thread's network namespace.
pub(super) fn interface_index(name: &str) -> io::Result<u32> {
    let name = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name contains a NUL byte"))?;
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 { Err(io::Error::last_os_error()) } else { Ok(index) }
}

/// A non-blocking AF_PACKET raw socket of protocol 0: it hears nothing until bound, so no frame
/// of another interface slips in between `socket` and `bind`.
pub(super) fn packet_socket() -> io::Result<OwnedFd> {
    let kind = libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: no pointers are passed.
    let fd = check(unsafe { libc::socket(libc::AF_PACKET, kind, 0) })?;
    Ok(owned(fd))
}

/// `setsockopt(fd, level, name, value)`.
pub(super) fn set_option<T: Copy>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let value: *const T = value;
    // SAFETY: `value` points to a live `T` of `len_of::<T>()` bytes for the whole call; the kernel
    // only reads it.
    check(unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, value.cast(), len_of::<T>()) })?;
    Ok(())
}

/// `getsockopt(fd, level, name)` for an option the kernel fills completely.
fn get_option<T: Copy + Default>(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int) -> io::Result<T> {
    let mut value = T::default();
    let mut len = len_of::<T>();
    let out: *mut T = &mut value;
    // SAFETY: `out` points to a live, exclusively borrowed `T` of `len` bytes; `len` is a live
    // socklen_t the kernel updates.
    check(unsafe { libc::getsockopt(fd.as_raw_fd(), level, name, out.cast(), &mut len) })?;
    Ok(value)
}

/// Binds a packet socket to interface `ifindex` for `protocol` (host order).
pub(super) fn bind_packet(fd: BorrowedFd<'_>, ifindex: u32, protocol: u16) -> io::Result<()> {
    let address = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: protocol.to_be(),
        sll_ifindex: ifindex_c(ifindex)?,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    };
    let address: *const libc::sockaddr_ll = &address;
    // SAFETY: `address` points to a live sockaddr_ll of the length given; the kernel only reads it.
    check(unsafe { libc::bind(fd.as_raw_fd(), address.cast(), len_of::<libc::sockaddr_ll>()) })?;
    Ok(())
}

/// Puts interface `ifindex` in promiscuous mode for as long as the socket lives.
pub(super) fn add_promiscuous_membership(fd: BorrowedFd<'_>, ifindex: u32) -> io::Result<()> {
    let request = libc::packet_mreq {
        mr_ifindex: ifindex_c(ifindex)?,
        mr_type: libc::PACKET_MR_PROMISC as u16,
        mr_alen: 0,
        mr_address: [0; 8],
    };
    set_option(fd, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &request)
}

fn ifindex_c(ifindex: u32) -> io::Result<libc::c_int> {
    libc::c_int::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index out of range"))
}

/// Frames the kernel passed to the socket and dropped for want of buffer space since the last
/// call (`PACKET_STATISTICS` resets on read).
pub(super) fn packet_drops(fd: BorrowedFd<'_>) -> io::Result<u64> {
    #[derive(Clone, Copy, Default)]
    #[repr(C)]
    struct Stats {
        packets: libc::c_uint,
        drops: libc::c_uint,
    }
    let stats: Stats = get_option(fd, libc::SOL_PACKET, libc::PACKET_STATISTICS)?;
    Ok(u64::from(stats.drops))
}

/// An 802.1Q tag the kernel took off a received frame (VLAN acceleration) and reported aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StrippedTag {
    /// The tag protocol identifier: 0x8100 or 0x88a8.
    pub tpid: u16,
    /// Priority, drop eligibility and VLAN id.
    pub tci: u16,
}

/// One frame read by [`receive_frames`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Received {
    /// The frame's length on the wire, without the virtio-net header (may exceed the buffer).
    pub len: usize,
    /// The tag the kernel stripped, if any.
    pub tag: Option<StrippedTag>,
}

/// Control buffer for one `PACKET_AUXDATA` message (CMSG_SPACE of 20 bytes is 40), aligned
/// like a `cmsghdr`.
#[repr(C, align(8))]
struct AuxBuffer([u8; 64]);

/// The most frames one [`receive_frames`] or [`send_frames`] call moves.
pub(super) const BATCH: usize = 32;

/// Reads up to [`BATCH`] frames with one `recvmmsg`: frame `i`'s virtio-net header into
/// `headers[i]`, its bytes into the `i`-th slot of `slots`, its length and tag into `out[i]`.
/// Returns how many it read (at least one), or an error if none. Never blocks.
pub(super) fn receive_frames<'a>(
    fd: BorrowedFd<'_>,
    headers: &mut [[u8; vnet::LEN]; BATCH],
    slots: impl Iterator<Item = &'a mut [u8]>,
    out: &mut [Received; BATCH],
) -> io::Result<usize> {
    let empty = libc::iovec { iov_base: ptr::null_mut(), iov_len: 0 };
    let mut iov = [[empty; 2]; BATCH];
    let mut control = [const { AuxBuffer([0; 64]) }; BATCH];
    // SAFETY: an all-zero mmsghdr is valid (null name, no iovecs, no control), and some targets
    // have private padding fields that cannot be named in a struct literal.
    let mut messages: [libc::mmsghdr; BATCH] = unsafe { mem::zeroed() };
    let mut count = 0;
    for ((((slot, header), iov), control), message) in
        slots.zip(headers.iter_mut()).zip(iov.iter_mut()).zip(control.iter_mut()).zip(messages.iter_mut())
    {
        *iov = [
            libc::iovec { iov_base: header.as_mut_ptr().cast(), iov_len: header.len() },
            libc::iovec { iov_base: slot.as_mut_ptr().cast(), iov_len: slot.len() },
        ];
        message.msg_hdr.msg_iov = iov.as_mut_ptr();
        message.msg_hdr.msg_iovlen = iov.len() as _;
        message.msg_hdr.msg_control = control.0.as_mut_ptr().cast();
        message.msg_hdr.msg_controllen = control.0.len() as _;
        count += 1;
    }
    if count == 0 {
        return Ok(0);
    }
    let flags = libc::MSG_DONTWAIT | libc::MSG_TRUNC;
    // SAFETY: the first `count` messages point at iovecs covering headers and slots that stay
    // exclusively borrowed (for 'a and by `headers`) for the whole call, and at live control
    // buffers of the lengths given; a null timeout is allowed.
    let received = check(unsafe {
        libc::recvmmsg(fd.as_raw_fd(), messages.as_mut_ptr(), count as _, flags, ptr::null_mut())
    })? as usize;
    for (message, out) in messages.iter().zip(out.iter_mut()).take(received) {
        let len = (message.msg_len as usize).saturating_sub(vnet::LEN);
        *out = Received { len, tag: stripped_tag(&message.msg_hdr) };
    }
    Ok(received)
}

/// Sends up to [`BATCH`] frames with one `sendmmsg`, each given as consecutive pieces
/// (virtio-net header first). Returns how many the kernel took, in order (at least one), or the
/// error of the first. Never blocks.
pub(super) fn send_frames(fd: BorrowedFd<'_>, frames: &[[&[u8]; 4]]) -> io::Result<usize> {
    let frames = &frames[..frames.len().min(BATCH)];
    let empty = libc::iovec { iov_base: ptr::null_mut(), iov_len: 0 };
    let mut iov = [[empty; 4]; BATCH];
    // SAFETY: as in `receive_frames`, all-zero is a valid mmsghdr.
    let mut messages: [libc::mmsghdr; BATCH] = unsafe { mem::zeroed() };
    for ((pieces, iov), message) in frames.iter().zip(iov.iter_mut()).zip(messages.iter_mut()) {
        // The kernel only reads from these buffers; iovec just has no const flavour.
        *iov = pieces
            .map(|piece| libc::iovec { iov_base: piece.as_ptr().cast_mut().cast(), iov_len: piece.len() });
        message.msg_hdr.msg_iov = iov.as_mut_ptr();
        message.msg_hdr.msg_iovlen = iov.len() as _;
    }
    if frames.is_empty() {
        return Ok(0);
    }
    // SAFETY: the first `frames.len()` messages point at iovecs covering `frames`' pieces,
    // borrowed for the call; sendmmsg only reads them.
    let sent = check(unsafe {
        libc::sendmmsg(fd.as_raw_fd(), messages.as_mut_ptr(), frames.len() as _, libc::MSG_DONTWAIT)
    })?;
    Ok(sent as usize)
}

/// The VLAN tag in a `PACKET_AUXDATA` control message of `message`, if the kernel stripped one.
fn stripped_tag(message: &libc::msghdr) -> Option<StrippedTag> {
    // SAFETY: `message` was filled by recvmsg; CMSG_FIRSTHDR only reads its control fields.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(message) };
    while !cmsg.is_null() {
        // SAFETY: CMSG_FIRSTHDR/CMSG_NXTHDR return either null or a header that lies entirely
        // within the control buffer the kernel filled.
        let header = unsafe { ptr::read_unaligned(cmsg) };
        // SAFETY: only computes a length.
        let wanted = unsafe { libc::CMSG_LEN(mem::size_of::<libc::tpacket_auxdata>() as u32) } as usize;
        if header.cmsg_level == libc::SOL_PACKET
            && header.cmsg_type == libc::PACKET_AUXDATA
            && header.cmsg_len as usize >= wanted
        {
            // SAFETY: the message's length covers a whole tpacket_auxdata after the header; it
            // may be unaligned, so it is copied out unaligned.
            let aux: libc::tpacket_auxdata = unsafe { ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast()) };
            if aux.tp_status & libc::TP_STATUS_VLAN_VALID == 0 {
                return None;
            }
            let tpid =
                if aux.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0 { aux.tp_vlan_tpid } else { 0x8100 };
            return Some(StrippedTag { tpid, tci: aux.tp_vlan_tci });
        }
        // SAFETY: `cmsg` is a header within `message`'s control buffer (see above).
        cmsg = unsafe { libc::CMSG_NXTHDR(message, cmsg) };
    }
    None
}

/// The most pieces [`send_datagram`] gathers: VXLAN header, then a frame in up to three pieces.
pub(super) const MAX_PIECES: usize = 4;

/// Sends `pieces` (at most [`MAX_PIECES`]) as one UDP datagram to `to`, without blocking.
pub(super) fn send_datagram(
    fd: BorrowedFd<'_>,
    pieces: &[&[u8]],
    to: std::net::SocketAddrV4,
) -> io::Result<usize> {
    if pieces.len() > MAX_PIECES {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    let empty = libc::iovec { iov_base: ptr::null_mut(), iov_len: 0 };
    let mut iov = [empty; MAX_PIECES];
    for (slot, piece) in iov.iter_mut().zip(pieces) {
        // The kernel only reads from these buffers; iovec just has no const flavour.
        *slot = libc::iovec { iov_base: piece.as_ptr().cast_mut().cast(), iov_len: piece.len() };
    }
    let mut address = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: to.port().to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from(*to.ip()).to_be() },
        sin_zero: [0; 8],
    };
    // SAFETY: as in `receive_frames`, all-zero is a valid msghdr.
    let mut message: libc::msghdr = unsafe { mem::zeroed() };
    message.msg_name = (&raw mut address).cast();
    message.msg_namelen = len_of::<libc::sockaddr_in>();
    message.msg_iov = iov.as_mut_ptr();
    message.msg_iovlen = pieces.len() as _;
    // SAFETY: the iovecs cover `pieces` and the name `address`, all borrowed for the call;
    // sendmsg only reads them.
    check_len(unsafe { libc::sendmsg(fd.as_raw_fd(), &message, libc::MSG_DONTWAIT) })
}

/// An epoll instance: which of many descriptors can be read, each named by a token.
#[derive(Debug)]
pub(super) struct Epoll(OwnedFd);

/// A ready descriptor's token, as registered.
pub(super) type Token = u64;

impl Epoll {
    pub(super) fn new() -> io::Result<Self> {
        // SAFETY: no pointers are passed.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        Ok(Self(owned(fd)))
    }

    /// Watches `fd` for input (level-triggered), reporting it as `token`.
    pub(super) fn add(&self, fd: BorrowedFd<'_>, token: Token) -> io::Result<()> {
        let mut event = libc::epoll_event { events: libc::EPOLLIN as u32, u64: token };
        // SAFETY: `event` is a live epoll_event the kernel only reads.
        check(unsafe {
            libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd.as_raw_fd(), &mut event)
        })?;
        Ok(())
    }

    /// Stops watching `fd`.
    pub(super) fn remove(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        // SAFETY: EPOLL_CTL_DEL ignores the event pointer, which may be null.
        check(unsafe {
            libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_DEL, fd.as_raw_fd(), ptr::null_mut())
        })?;
        Ok(())
    }

    /// Waits up to `timeout_ms` (-1: for ever) and appends the tokens of ready descriptors to
    /// `ready` (cleared first). An interrupted wait returns no tokens.
    pub(super) fn wait(&self, ready: &mut Vec<Token>, timeout_ms: i32) -> io::Result<()> {
        const EVENTS: usize = 64;
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; EVENTS];
        ready.clear();
        // SAFETY: `events` is a live, exclusively borrowed array of EVENTS entries.
        let count =
            unsafe { libc::epoll_wait(self.0.as_raw_fd(), events.as_mut_ptr(), EVENTS as i32, timeout_ms) };
        if count < 0 {
            let error = io::Error::last_os_error();
            return if error.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(error) };
        }
        // epoll_event is packed: copy each out before reading its field.
        ready.extend(events.iter().take(count as usize).map(|event| {
            let event = *event;
            event.u64
        }));
        Ok(())
    }
}

/// A non-blocking eventfd: one thread signals it, the epoll loop of another wakes up.
pub(super) fn event_fd() -> io::Result<File> {
    // SAFETY: no pointers are passed.
    let fd = check(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
    Ok(File::from(owned(fd)))
}
