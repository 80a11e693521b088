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
    if port.arp_inspection {
        // Past any extension headers: a neighbour advertisement behind a destination option or
        // in fragments must not slip by (RFC 6980 forbids fragmented neighbour discovery).
        let upper = crate::packet::upper_layer(packet.next_header().0, packet.payload());
        match upper {
            Some(upper) if upper.protocol == IpProtocol::ICMPV6.0 && !upper.fragmented => {
                inspect_advertisement(port, bindings, upper.payload, now, observer)?;
            }
            Some(upper)
                if upper.protocol != IpProtocol::ICMPV6.0
                    && !crate::packet::is_extension_header(upper.protocol) => {}
            _ => {
                note!(
                    observer,
                    "ip arp inspection: ICMPv6 fragmented, or behind extension headers it cannot cross"
                );
                return Err(DropReason::ArpInspection);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::Silent;
    use crate::{PortId, Segment};
    use wire::MacAddr;
    use wire::build::{self, Ipv4Pair, L2};

    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);

    fn port() -> PortConfig {
        PortConfig {
            verify_source: true,
            ip_bindings: vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))].into(),
            ..PortConfig::access(PortId(49), "Veth1", Segment::Vlan(100), "p").with_attached_mac(MAC)
        }
    }

    fn check(port: &PortConfig, snooping: bool, frame: &[u8]) -> Result<(), DropReason> {
        let bindings = Bindings::new(4);
        let ethernet = ethernet::Frame::new_checked(frame).expect("frame");
        inspect(port, &bindings, snooping, &ethernet, 12, 0, &mut Silent)
    }

    fn udp(src: Ipv4Addr, ports: (u16, u16)) -> Vec<u8> {
        let mut buf = [0u8; 128];
        let pair = Ipv4Pair { src, dst: Ipv4Addr::new(10, 0, 0, 2) };
        let len = build::udp_ipv4(&mut buf, &L2::untagged(MAC, MacAddr::BROADCAST), &pair, ports, &[0; 18])
            .expect("fits");
        buf[..len].to_vec()
    }

    #[test]
    fn source_guard_checks_mac_then_address() {
        let port = port();
        assert_eq!(check(&port, false, &udp(Ipv4Addr::new(10, 0, 0, 1), (1, 2))), Ok(()));
        assert_eq!(
            check(&port, false, &udp(Ipv4Addr::new(10, 0, 0, 9), (1, 2))),
            Err(DropReason::SourceGuardIp)
        );
        assert_eq!(check(&port, false, &udp(Ipv4Addr::UNSPECIFIED, (68, 67))), Ok(()));
        assert_eq!(
            check(&port, false, &udp(Ipv4Addr::UNSPECIFIED, (67, 68))),
            Err(DropReason::SourceGuardIp)
        );
        let mut foreign = udp(Ipv4Addr::new(10, 0, 0, 1), (1, 2));
        foreign[11] = 9;
        assert_eq!(check(&port, false, &foreign), Err(DropReason::SourceGuardMac));
        // Other EtherTypes pass the MAC check only; a cut IPv4 header is dropped.
        let mut other = udp(Ipv4Addr::new(10, 0, 0, 9), (1, 2));
        other[12..14].copy_from_slice(&[0x88, 0xcc]);
        assert_eq!(check(&port, false, &other), Ok(()));
        let cut = &udp(Ipv4Addr::new(10, 0, 0, 1), (1, 2))[..30];
        assert_eq!(check(&port, false, cut), Err(DropReason::SourceGuardIp));
        let unattached = PortConfig { attached_mac: None, ..port };
        assert_eq!(
            check(&unattached, false, &udp(Ipv4Addr::new(10, 0, 0, 1), (1, 2))),
            Err(DropReason::SourceGuardMac)
        );
    }

    #[test]
    fn untrusted_ports_send_no_dhcp_server_messages_but_later_fragments_are_not_read() {
        let plain = PortConfig::access(PortId(50), "Veth2", Segment::Vlan(100), "p");
        let offer = udp(Ipv4Addr::new(10, 0, 0, 7), (67, 68));
        assert_eq!(check(&plain, true, &offer), Err(DropReason::DhcpUntrustedServer));
        assert_eq!(check(&plain, false, &offer), Ok(()), "snooping off");
        let trusted = PortConfig { dhcp_snooping_trust: true, ..plain.clone() };
        assert_eq!(check(&trusted, true, &offer), Ok(()));
        let mut fragment = offer;
        fragment[20..22].copy_from_slice(&[0x00, 0x10]); // fragment offset 128 bytes
        assert_eq!(check(&plain, true, &fragment), Ok(()));
    }

    #[test]
    fn link_local_is_fe80_slash_10() {
        for (text, expected) in
            [("fe80::1", true), ("febf::1", true), ("fec0::1", false), ("2001:db8::1", false)]
        {
            assert_eq!(is_link_local(text.parse().expect("literal")), expected, "{text}");
        }
    }
}
