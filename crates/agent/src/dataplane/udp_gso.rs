//! The system calls of UDP segmentation offloads, each wrapped once in a safe function: sending
//! many datagrams as one buffer (`UDP_SEGMENT`, UDP GSO) and receiving many as one (`UDP_GRO`).
//! The tunnel socket uses them so that one system call carries a whole TCP super-frame's worth
//! of VXLAN datagrams each way.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr;

/// The most datagrams one `UDP_SEGMENT` send may carry (the kernel's `UDP_MAX_SEGMENTS` is 64
/// on older kernels, more on newer ones).
pub(super) const MAX_SEGMENTS: usize = 64;

/// The most bytes one `UDP_SEGMENT` send may carry: one UDP length's worth.
pub(super) const MAX_SEND: usize = 65_535 - 8;

/// Control buffer for one `u16`-carrying control message, aligned like a `cmsghdr`.
#[repr(C, align(8))]
struct Control([u8; 64]);

/// Asks the kernel to hand over received datagrams of one flow coalesced (`UDP_GRO`).
pub(super) fn enable_gro(fd: BorrowedFd<'_>) -> io::Result<()> {
    let on: libc::c_int = 1;
    super::sys::set_option(fd, libc::SOL_UDP, libc::UDP_GRO, &on)
}

fn address_of(to: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: to.port().to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from(*to.ip()).to_be() },
        sin_zero: [0; 8],
    }
}

/// A message naming `address`, with one `iov` and the first `control_len` bytes of `control`.
/// The pointers it holds are only valid while the borrowed values live: use it at once.
fn message(
    address: &mut libc::sockaddr_in,
    iov: &mut libc::iovec,
    control: &mut Control,
    control_len: usize,
) -> libc::msghdr {
    // SAFETY: an all-zero msghdr is valid (null name, no iovecs, no control).
    let mut message: libc::msghdr = unsafe { mem::zeroed() };
    message.msg_name = ptr::from_mut(address).cast();
    message.msg_namelen = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    message.msg_iov = ptr::from_mut(iov);
    message.msg_iovlen = 1;
    message.msg_control = control.0.as_mut_ptr().cast();
    message.msg_controllen = control_len.min(control.0.len()) as _;
    message
}

/// Sends `buffer` to `to` as datagrams of `segment` bytes each (the last may be shorter), in
/// one system call, without blocking. At most [`MAX_SEND`] bytes and [`MAX_SEGMENTS`] datagrams.
pub(super) fn send_segmented(
    fd: BorrowedFd<'_>,
    buffer: &[u8],
    segment: u16,
    to: SocketAddrV4,
) -> io::Result<usize> {
    let mut address = address_of(to);
    // The kernel only reads from the buffer; iovec just has no const flavour.
    let mut iov = libc::iovec { iov_base: buffer.as_ptr().cast_mut().cast(), iov_len: buffer.len() };
    let mut control = Control([0; 64]);
    // SAFETY: only computes a length.
    let space = unsafe { libc::CMSG_SPACE(mem::size_of::<u16>() as u32) } as usize;
    let message = message(&mut address, &mut iov, &mut control, space);
    // SAFETY: the control buffer is live, aligned and `space` bytes long, so the first header
    // and its u16 of data lie within it.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&message);
        (*cmsg).cmsg_level = libc::SOL_UDP;
        (*cmsg).cmsg_type = libc::UDP_SEGMENT;
        (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<u16>() as u32) as _;
        ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), segment);
    }
    // SAFETY: the iovec covers `buffer`, the name `address`, the control `control`, all live
    // for the call; sendmsg only reads them.
    let sent = unsafe { libc::sendmsg(fd.as_raw_fd(), &message, libc::MSG_DONTWAIT) };
    usize::try_from(sent).map_err(|_| io::Error::last_os_error())
}

/// One read of [`receive_coalesced`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Coalesced {
    /// Bytes read.
    pub len: usize,
    /// The sender, if IPv4.
    pub source: Option<Ipv4Addr>,
    /// Every datagram in the buffer is this long but the last (shorter or equal); `None` for a
    /// single datagram.
    pub segment: Option<u16>,
    /// The read did not fit `buffer` (the rest is lost).
    pub truncated: bool,
}

/// Reads one datagram, or several coalesced by `UDP_GRO`, into `buffer`. Never blocks.
pub(super) fn receive_coalesced(fd: BorrowedFd<'_>, buffer: &mut [u8]) -> io::Result<Coalesced> {
    // SAFETY: all-zero is a valid sockaddr_in (the kernel fills it).
    let mut address: libc::sockaddr_in = unsafe { mem::zeroed() };
    let mut iov = libc::iovec { iov_base: buffer.as_mut_ptr().cast(), iov_len: buffer.len() };
    let mut control = Control([0; 64]);
    let control_len = control.0.len();
    let mut message = message(&mut address, &mut iov, &mut control, control_len);
    // SAFETY: the iovec covers `buffer`, exclusively borrowed; name and control are live and as
    // long as the message says.
    let read = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut message, libc::MSG_DONTWAIT) };
    let len = usize::try_from(read).map_err(|_| io::Error::last_os_error())?;
    let source = (i32::from(address.sin_family) == libc::AF_INET)
        .then(|| Ipv4Addr::from(u32::from_be(address.sin_addr.s_addr)));
    Ok(Coalesced {
        len,
        source,
        segment: gro_size(&message),
        truncated: message.msg_flags & libc::MSG_TRUNC != 0,
    })
}

/// The `UDP_GRO` control message of `message`: the size of the coalesced datagrams.
fn gro_size(message: &libc::msghdr) -> Option<u16> {
    // SAFETY: `message` was filled by recvmsg; CMSG_FIRSTHDR only reads its control fields.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(message) };
    while !cmsg.is_null() {
        // SAFETY: CMSG_FIRSTHDR/CMSG_NXTHDR return null or a header within the control buffer.
        let header = unsafe { ptr::read_unaligned(cmsg) };
        // SAFETY: only computes a length.
        let wanted = unsafe { libc::CMSG_LEN(mem::size_of::<libc::c_int>() as u32) } as usize;
        if header.cmsg_level == libc::SOL_UDP
            && header.cmsg_type == libc::UDP_GRO
            && header.cmsg_len as usize >= wanted
        {
            // SAFETY: the message's length covers the int the kernel writes; it may be
            // unaligned, so it is copied out unaligned.
            let size: libc::c_int = unsafe { ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast()) };
            return u16::try_from(size).ok().filter(|&size| size > 0);
        }
        // SAFETY: `cmsg` is a header within `message`'s control buffer (see above).
        cmsg = unsafe { libc::CMSG_NXTHDR(message, cmsg) };
    }
    None
}
