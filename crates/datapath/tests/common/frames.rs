//! Frames the guard tests send: IPv4 and IPv6 from chosen addresses, ARP, neighbour
//! advertisements and DHCP messages.

use std::net::{Ipv4Addr, Ipv6Addr};

use wire::build::{self, Ipv4Pair, L2};
use wire::{EtherType, IpProtocol, MacAddr, arp, dhcp, ipv6};

/// A UDP/IPv4 frame from `src` (`src_ip`:`ports.0`) to `dst` (`dst_ip`:`ports.1`).
pub fn udp4(
    src: MacAddr,
    dst: MacAddr,
    ips: (Ipv4Addr, Ipv4Addr),
    ports: (u16, u16),
    payload: &[u8],
) -> Vec<u8> {
    let mut buf = vec![0u8; 64 + payload.len()];
    let pair = Ipv4Pair { src: ips.0, dst: ips.1 };
    let len = build::udp_ipv4(&mut buf, &L2::untagged(src, dst), &pair, ports, payload).expect("fits");
    buf.truncate(len.max(60));
    buf
}

/// A 60-byte UDP/IPv4 frame from `src_ip` to `dst_ip`.
pub fn ip4(src: MacAddr, dst: MacAddr, src_ip: Ipv4Addr, dst_ip: Ipv4Addr) -> Vec<u8> {
    udp4(src, dst, (src_ip, dst_ip), (1000, 2000), &[0x5a; 18])
}

/// An ARP packet from `src` (the Ethernet source and the sender MAC) claiming `sender_ip`.
pub fn arp(
    operation: arp::Operation,
    src: MacAddr,
    sender_ip: Ipv4Addr,
    target: (MacAddr, Ipv4Addr),
) -> Vec<u8> {
    let repr = arp::Repr {
        operation,
        source_hardware_addr: src,
        source_protocol_addr: sender_ip,
        target_hardware_addr: target.0,
        target_protocol_addr: target.1,
    };
    let dst = if operation == arp::Operation::REQUEST { MacAddr::BROADCAST } else { target.0 };
    let mut buf = [0u8; 64];
    let len = build::arp(&mut buf, &L2::untagged(src, dst), &repr).expect("fits");
    buf[..len].to_vec()
}

/// An IPv6 frame of `next_header` carrying `payload`.
pub fn ip6(
    src: MacAddr,
    dst: MacAddr,
    ips: (Ipv6Addr, Ipv6Addr),
    next_header: IpProtocol,
    payload: &[u8],
) -> Vec<u8> {
    let mut buf = vec![0u8; 14 + ipv6::HEADER_LEN + payload.len()];
    let repr = ipv6::Repr {
        src_addr: ips.0,
        dst_addr: ips.1,
        next_header,
        payload_len: payload.len() as u16,
        hop_limit: 255,
    };
    let body = L2::untagged(src, dst)
        .emit(&mut buf, EtherType::IPV6, ipv6::HEADER_LEN + payload.len())
        .expect("fits");
    let mut packet = ipv6::Packet::new_unchecked(body);
    repr.emit(&mut packet);
    packet.payload_mut().copy_from_slice(payload);
    buf
}

/// A neighbour advertisement of `target` from `src`, with a target link-layer option naming
/// `lladdr` if given (checksum left zero: the datapath does not verify it).
pub fn advert(src: MacAddr, src_ip: Ipv6Addr, target: Ipv6Addr, lladdr: Option<MacAddr>) -> Vec<u8> {
    let mut icmp = vec![136, 0, 0, 0, 0x20, 0, 0, 0];
    icmp.extend_from_slice(&target.octets());
    if let Some(mac) = lladdr {
        icmp.extend_from_slice(&[2, 1]);
        icmp.extend_from_slice(mac.as_bytes());
    }
    let all_nodes: Ipv6Addr = "ff02::1".parse().expect("literal");
    ip6(src, MacAddr([0x33, 0x33, 0, 0, 0, 1]), (src_ip, all_nodes), IpProtocol::ICMPV6, &icmp)
}

/// A DHCP message in UDP/IPv4: from a server (67 → 68) for OFFER, ACK and NAK, else from a
/// client (68 → 67).
pub fn dhcp(src: MacAddr, dst: MacAddr, ips: (Ipv4Addr, Ipv4Addr), repr: &dhcp::Repr) -> Vec<u8> {
    let mut message = [0u8; 300];
    let len = repr.emit(&mut message).expect("fits");
    let server = matches!(
        repr.message_type,
        dhcp::MessageType::OFFER | dhcp::MessageType::ACK | dhcp::MessageType::NAK
    );
    let ports = if server { (67, 68) } else { (68, 67) };
    udp4(src, dst, ips, ports, &message[..len])
}

/// A DHCP message of `kind` about `client` and the address `yiaddr`, leased for `lease_secs`.
pub fn dhcp_repr(
    kind: dhcp::MessageType,
    client: MacAddr,
    client_addr: Ipv4Addr,
    yiaddr: Ipv4Addr,
    lease_secs: Option<u32>,
) -> dhcp::Repr {
    dhcp::Repr {
        message_type: kind,
        xid: 7,
        client_mac: client,
        client_addr,
        your_addr: yiaddr,
        lease_secs,
        server_id: Some(Ipv4Addr::new(10, 0, 0, 254)),
    }
}
