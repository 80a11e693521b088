//! The checks on what a frame claims to be, before its source is learned: IP source guard,
//! ARP inspection and DHCP snooping's untrusted-server rule. Read-only: `trace` runs them too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wire::{EtherType, IpProtocol, arp, ethernet, icmpv6, ipv4, ipv6, udp};

use super::{Bindings, is_bound};
use crate::forward::{Observer, note};
use crate::{DropReason, PortConfig};

const DHCP_SERVER_PORT: u16 = 67;
const DHCP_CLIENT_PORT: u16 = 68;

/// Checks the frame `ethernet`, whose payload's EtherType is at `body_offset`, from `port`.
/// `dhcp_snooping` is the snapshot's switch.
#[inline(never)]
pub(crate) fn inspect<O: Observer>(
    port: &PortConfig,
    bindings: &Bindings,
    dhcp_snooping: bool,
    ethernet: &ethernet::Frame<&[u8]>,
    body_offset: u8,
    now: u64,
    observer: &mut O,
) -> Result<(), DropReason> {
    let src = ethernet.src_addr();
    if port.verify_source && port.attached_mac != Some(src) {
        match port.attached_mac {
            Some(attached) => note!(
                observer,
                "ip verify source: source MAC {src} is not {attached}, the attached MAC of {}",
                port.name
            ),
            None => note!(observer, "ip verify source: {} has no attached MAC", port.name),
        }
        return Err(DropReason::SourceGuardMac);
    }
    let bytes: &[u8] = ethernet.as_ref();
    let at = usize::from(body_offset);
    let Some(&[high, low]) = bytes.get(at..at + 2) else { return Ok(()) };
    let payload = &bytes[at + 2..];
    match EtherType(u16::from_be_bytes([high, low])) {
        EtherType::ARP if port.arp_inspection => inspect_arp(port, bindings, payload, now, observer),
        EtherType::IPV4 => inspect_ipv4(port, bindings, dhcp_snooping, payload, now, observer),
        EtherType::IPV6 if port.inspects() => inspect_ipv6(port, bindings, payload, now, observer),
        _ => Ok(()),
    }
}

fn inspect_arp<O: Observer>(
    port: &PortConfig,
    bindings: &Bindings,
    payload: &[u8],
    now: u64,
    observer: &mut O,
) -> Result<(), DropReason> {
    let parsed = arp::Packet::new_checked(payload).and_then(|packet| arp::Repr::parse(&packet));
    let repr = parsed.map_err(|error| {
        note!(observer, "arp inspection: {error}");
        DropReason::ArpInspection
    })?;
    let (mac, ip) = (repr.source_hardware_addr, repr.source_protocol_addr);
    if port.attached_mac != Some(mac) {
        note!(observer, "arp inspection: sender MAC {mac} is not the attached MAC of {}", port.name);
        return Err(DropReason::ArpInspection);
    }
    // An ARP probe (RFC 5227) claims no address: it asks whether one is free.
    if !ip.is_unspecified() && !is_bound(port, bindings, IpAddr::V4(ip), now) {
        note!(observer, "arp inspection: sender {ip} is not bound to {}", port.name);
        return Err(DropReason::ArpInspection);
    }
    note!(observer, "arp inspection: {ip} at {mac} is bound to {}", port.name);
    Ok(())
}

fn inspect_ipv4<O: Observer>(
    port: &PortConfig,
    bindings: &Bindings,
    dhcp_snooping: bool,
    payload: &[u8],
    now: u64,
    observer: &mut O,
) -> Result<(), DropReason> {
    let packet = match ipv4::Packet::new_checked(payload) {
        Ok(packet) => packet,
        Err(error) if port.verify_source => {
            note!(observer, "ip verify source: {error}");
            return Err(DropReason::SourceGuardIp);
        }
        Err(_) => return Ok(()),
    };
    // Only a first fragment carries the UDP header.
    let ports = (packet.next_header() == IpProtocol::UDP && packet.frag_offset() == 0)
        .then(|| udp::Packet::new_checked(packet.payload()).ok())
        .flatten()
        .map(|datagram| (datagram.src_port(), datagram.dst_port()));
    if dhcp_snooping && !port.dhcp_snooping_trust && ports.is_some_and(|(src, _)| src == DHCP_SERVER_PORT) {
        note!(observer, "dhcp snooping: DHCP server message on untrusted {}", port.name);
        return Err(DropReason::DhcpUntrustedServer);
    }
    if !port.verify_source {
        return Ok(());
    }
    let src = packet.src_addr();
    if src == Ipv4Addr::UNSPECIFIED && ports == Some((DHCP_CLIENT_PORT, DHCP_SERVER_PORT)) {
        note!(observer, "ip verify source: DHCP client without an address");
        return Ok(());
    }
    if !is_bound(port, bindings, IpAddr::V4(src), now) {
        note!(observer, "ip verify source: {src} is not bound to {}", port.name);
        return Err(DropReason::SourceGuardIp);
    }
    note!(observer, "ip verify source: {src} is bound to {}", port.name);
    Ok(())
}

fn inspect_ipv6<O: Observer>(
    port: &PortConfig,
    bindings: &Bindings,
    payload: &[u8],
    now: u64,
    observer: &mut O,
) -> Result<(), DropReason> {
    let packet = ipv6::Packet::new_checked(payload).map_err(|error| {
        note!(observer, "ip verify source: {error}");
        if port.verify_source { DropReason::SourceGuardIp } else { DropReason::ArpInspection }
    })?;
    let src = packet.src_addr();
    if port.verify_source {
        if src.is_unspecified() || is_link_local(src) {
            note!(observer, "ip verify source: {src} needs no binding");
        } else if is_bound(port, bindings, IpAddr::V6(src), now) {
            note!(observer, "ip verify source: {src} is bound to {}", port.name);
        } else {
            note!(observer, "ip verify source: {src} is not bound to {}", port.name);
            return Err(DropReason::SourceGuardIp);
        }
    }
    if port.arp_inspection && packet.next_header() == IpProtocol::ICMPV6 {
        inspect_advertisement(port, bindings, packet.payload(), now, observer)?;
    }
    Ok(())
}

/// An ICMPv6 neighbour advertisement must be for a target bound to the port (or link-local)
/// and name the attached MAC, if it names one. Other ICMPv6 passes.
fn inspect_advertisement<O: Observer>(
    port: &PortConfig,
    bindings: &Bindings,
    icmp: &[u8],
    now: u64,
    observer: &mut O,
) -> Result<(), DropReason> {
    let Ok(packet) = icmpv6::Packet::new_checked(icmp) else { return Ok(()) };
    if packet.msg_type() != icmpv6::Message::NEIGHBOR_ADVERT {
        return Ok(());
    }
    let advert = icmpv6::NeighborAdvert::new_checked(icmp).map_err(|error| {
        note!(observer, "arp inspection: {error}");
        DropReason::ArpInspection
    })?;
    let target = advert.target_addr();
    if let Some(mac) = advert.target_link_layer_addr().filter(|&mac| port.attached_mac != Some(mac)) {
        note!(
            observer,
            "arp inspection: neighbour advertisement names {mac}, not the attached MAC of {}",
            port.name
        );
        return Err(DropReason::ArpInspection);
    }
    if !is_link_local(target) && !is_bound(port, bindings, IpAddr::V6(target), now) {
        note!(observer, "arp inspection: neighbour advertisement for {target}, not bound to {}", port.name);
        return Err(DropReason::ArpInspection);
    }
    note!(observer, "arp inspection: neighbour advertisement for {target} from {}", port.name);
    Ok(())
}

/// `fe80::/10`.
fn is_link_local(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}
