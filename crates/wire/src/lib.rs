//! Zero-copy views and builders for the frames Switchyard switches, in the style of smoltcp.
//!
//! Each protocol module has:
//! - a view (`Frame<T>`, `Packet<T>`, `Tag<T>`) over any `T: AsRef<[u8]>`: `new_checked`
//!   confirms the buffer is long enough for every accessor, after which no accessor panics;
//!   setters need `T: AsMut<[u8]>`;
//! - a `field` module with the fixed byte offsets the accessors read;
//! - a `Repr`: the header as plain values, with `parse(&view)`, `buffer_len()` and
//!   `emit(&mut view)`, where `parse(emit(repr)) == repr`.
//!
//! [`build`] writes whole frames from `Repr`s; [`describe()`] prints a one-line summary of any
//! bytes. [`flow_export`] encodes flow records as IPFIX and NetFlow v9 messages. Pure: no I/O, no allocation, and no input makes anything here panic (see `exercise`
//! and the `wire_parse` fuzz target).

pub mod arp;
pub mod build;
mod bytes;
pub mod checksum;
mod describe;
pub mod dhcp;
mod error;
pub mod ethernet;
#[cfg(any(test, feature = "exercise"))]
pub mod exercise;
pub mod flow_export;
pub mod gro;
pub mod gso;
pub mod icmpv4;
pub mod icmpv6;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
mod mac;
pub mod tcp;
pub mod udp;
pub mod vlan;
pub mod vxlan;

pub use bytes::{Field, Rest};
pub use checksum::PseudoHeader;
pub use describe::{Summary, describe};
pub use error::{Error, Result};
pub use ethernet::EtherType;
pub use ip::IpProtocol;
pub use mac::{ColonForm, MacAddr};
pub use vlan::Tci;
pub use vxlan::Vni;
