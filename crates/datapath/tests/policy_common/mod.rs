//! Frames and lists for the access-list and connection-tracking tests: TCP, UDP and ICMP echo
//! over IPv4 or IPv6, tagged or not, and rules written the way the config language reads.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use datapath::{Acl, AclRule, Action, Family, IpNet, PortConfig, PortMatch};
use wire::{EtherType, MacAddr, Tci};

/// TCP flag bits.
#[allow(unused_imports)]
pub use datapath::tcp_flags::{ACK, FIN, RST, SYN};

pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
pub const ICMP: u8 = 1;

/// 10.0.0.n.
pub fn v4(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
}

/// 2001:db8::n.
pub fn v6(n: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n))
}

/// The layer-4 part of a packet to build.
#[derive(Debug, Clone, Copy)]
pub enum L4 {
    Tcp {
        src: u16,
        dst: u16,
        flags: u8,
    },
    Udp {
        src: u16,
        dst: u16,
    },
    /// ICMP (ICMPv6 over IPv6) of `kind` with an echo identifier.
    Icmp {
        kind: u8,
        ident: u16,
    },
}

/// An Ethernet frame from `src_mac` to `dst_mac`, optionally tagged, carrying an IP packet
/// from `src` to `dst` (both of one family) with `l4` and 18 bytes of payload.
pub fn frame(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    vlan: Option<u16>,
    src: IpAddr,
    dst: IpAddr,
    l4: L4,
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&dst_mac.0);
    out.extend_from_slice(&src_mac.0);
    if let Some(vlan) = vlan {
        out.extend_from_slice(&EtherType::VLAN.0.to_be_bytes());
        out.extend_from_slice(&Tci::vlan(vlan).to_bits().to_be_bytes());
    }
    let (protocol, mut transport) = match l4 {
        L4::Tcp { src, dst, flags } => {
            let mut tcp = vec![0u8; 20];
            tcp[0..2].copy_from_slice(&src.to_be_bytes());
            tcp[2..4].copy_from_slice(&dst.to_be_bytes());
            tcp[12] = 5 << 4;
            tcp[13] = flags;
            (TCP, tcp)
        }
        L4::Udp { src, dst } => {
            let mut udp = vec![0u8; 8];
            udp[0..2].copy_from_slice(&src.to_be_bytes());
            udp[2..4].copy_from_slice(&dst.to_be_bytes());
            udp[4..6].copy_from_slice(&26u16.to_be_bytes());
            (UDP, udp)
        }
        L4::Icmp { kind, ident } => {
            let mut icmp = vec![kind, 0, 0, 0, 0, 0, 0, 1];
            icmp[4..6].copy_from_slice(&ident.to_be_bytes());
            (if src.is_ipv6() { 58 } else { ICMP }, icmp)
        }
    };
    transport.extend_from_slice(&[0x5a; 18]);
    match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            out.extend_from_slice(&EtherType::IPV4.0.to_be_bytes());
            let total = (20 + transport.len()) as u16;
            let mut header = vec![0x45, 0x10];
            header.extend_from_slice(&total.to_be_bytes());
            header.extend_from_slice(&[0, 0, 0, 0, 64, protocol, 0, 0]);
            header.extend_from_slice(&src.octets());
            header.extend_from_slice(&dst.octets());
            out.extend_from_slice(&header);
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            out.extend_from_slice(&EtherType::IPV6.0.to_be_bytes());
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&(transport.len() as u16).to_be_bytes());
            out.extend_from_slice(&[protocol, 64]);
            out.extend_from_slice(&src.octets());
            out.extend_from_slice(&dst.octets());
        }
        _ => panic!("addresses of two families"),
    }
    out.extend_from_slice(&transport);
    out
}

/// `seq action protocol any any` to refine.
pub fn rule(seq: u32, action: Action, protocol: Option<u8>) -> AclRule {
    AclRule { protocol, ..AclRule::new(seq, action) }
}

/// `seq permit tcp any any eq port` (stateful if asked).
pub fn permit_tcp_to(seq: u32, port: u16, stateful: bool) -> AclRule {
    AclRule { dst_ports: PortMatch::Eq(port), stateful, ..rule(seq, Action::Permit, Some(TCP)) }
}

/// A prefix.
pub fn net(addr: IpAddr, len: u8) -> IpNet {
    IpNet::new(addr, len).expect("valid prefix")
}

/// An IPv4 list.
pub fn list(name: &str, rules: Vec<AclRule>) -> Arc<Acl> {
    Arc::new(Acl::new(name, Family::V4, rules))
}

/// `port` with `acl` as its IPv4 input list.
pub fn with_in(mut port: PortConfig, acl: &Arc<Acl>) -> PortConfig {
    port.acl_in.v4 = Some(acl.clone());
    port
}

/// `port` with `acl` as its IPv4 output list.
pub fn with_out(mut port: PortConfig, acl: &Arc<Acl>) -> PortConfig {
    port.acl_out.v4 = Some(acl.clone());
    port
}

/// A gratuitous ARP from `src`: teaches the switch its MAC without any IP list seeing it.
pub fn arp(src: MacAddr, ip: Ipv4Addr) -> Vec<u8> {
    let request = wire::arp::Repr {
        operation: wire::arp::Operation::REQUEST,
        source_hardware_addr: src,
        source_protocol_addr: ip,
        target_hardware_addr: MacAddr::ZERO,
        target_protocol_addr: ip,
    };
    let mut buf = [0u8; 64];
    let len = wire::build::arp(&mut buf, &wire::build::L2::untagged(src, MacAddr::BROADCAST), &request)
        .expect("fits");
    buf[..len].to_vec()
}
