//! Runs every view, accessor and `Repr::parse` of this crate over arbitrary bytes.
//!
//! Shared by the never-panic property test and the `wire_parse` fuzz target (enable the
//! `exercise` feature), so both check the same thing: no input makes this crate panic.

use core::fmt::{self, Write};

use crate::{MacAddr, PseudoHeader, Tci};
use crate::{arp, describe, dhcp, ethernet, gso, icmpv4, icmpv6, ipv4, ipv6, tcp, udp, vlan, vxlan};

/// Largest prefix copied for the in-place tag helpers; keeps the exercise allocation-free.
const SCRATCH_LEN: usize = 2048;

/// Feeds `bytes` (and its suffixes at every header offset that matters) to every view.
pub fn exercise(bytes: &[u8]) {
    for offset in [0, 4, 8, 14, 18, 20, 28, 34, 40, 42, 54] {
        if let Some(rest) = bytes.get(offset..) {
            every_view(rest);
        }
    }
    let _ = describe(bytes).to_string_sink();
    if let Ok(text) = core::str::from_utf8(bytes) {
        let _ = text.parse::<MacAddr>();
    }
    let mut scratch = [0u8; SCRATCH_LEN];
    let len = bytes.len().min(SCRATCH_LEN - vlan::TAG_LEN);
    scratch[..len].copy_from_slice(&bytes[..len]);
    let _ = vlan::pop_tag(&mut scratch, len);
    let _ = vlan::push_tag(&mut scratch, len, Tci::vlan(100));
    let _ = vlan::push_tag(&mut scratch, bytes.len(), Tci::vlan(100));
    software_offloads(bytes, &mut scratch[..len]);
}

/// Segments `bytes` as TCPv4 and TCPv6 GSO frames and finishes a checksum at a few places.
fn software_offloads(bytes: &[u8], scratch: &mut [u8]) {
    let mut headers = [0u8; gso::MAX_HEADER_LEN];
    for kind in [gso::GsoKind::TcpV4, gso::GsoKind::TcpV6] {
        if let Ok(mut segmenter) = gso::Segmenter::new(bytes, gso::Gso { kind, size: 7 }) {
            let _ = (segmenter.header_len(), segmenter.count());
            while segmenter.next_into(&mut headers).is_some() {}
        }
    }
    for (start, offset) in [(34, 16), (34, 6), (54, 16), (0, 0), (u16::MAX, 2)] {
        let _ = gso::finish_checksum(scratch, gso::PartialChecksum { start, offset });
    }
}

fn every_view(bytes: &[u8]) {
    if let Ok(frame) = ethernet::Frame::new_checked(bytes) {
        let _ = (frame.dst_addr(), frame.src_addr(), frame.ethertype(), frame.payload());
        let _ = ethernet::Repr::parse(&frame);
    }
    if let Ok(tag) = vlan::Tag::new_checked(bytes) {
        let _ = (tag.tci(), tag.vlan_id(), tag.pcp(), tag.ethertype(), tag.payload());
        let _ = vlan::Repr::parse(&tag);
    }
    if let Ok(packet) = arp::Packet::new_checked(bytes) {
        let _ =
            (packet.hardware_type(), packet.protocol_type(), packet.hardware_len(), packet.protocol_len());
        let _ = (packet.operation(), packet.source_hardware_addr(), packet.source_protocol_addr());
        let _ = (packet.target_hardware_addr(), packet.target_protocol_addr());
        let _ = arp::Repr::parse(&packet);
    }
    let pseudo = PseudoHeader::V4 { src: [10, 0, 0, 1].into(), dst: [10, 0, 0, 2].into() };
    if let Ok(packet) = ipv4::Packet::new_checked(bytes) {
        let _ = (packet.version(), packet.header_len(), packet.dscp(), packet.ecn(), packet.total_len());
        let _ = (packet.ident(), packet.dont_frag(), packet.more_frags(), packet.frag_offset());
        let _ = (packet.hop_limit(), packet.next_header(), packet.checksum(), packet.src_addr());
        let _ = (packet.dst_addr(), packet.verify_checksum(), packet.payload());
        let _ = ipv4::Repr::parse(&packet);
    }
    if let Ok(packet) = ipv6::Packet::new_checked(bytes) {
        let _ = (packet.version(), packet.traffic_class(), packet.flow_label(), packet.payload_len());
        let _ = (
            packet.next_header(),
            packet.hop_limit(),
            packet.src_addr(),
            packet.dst_addr(),
            packet.payload(),
        );
        let _ = ipv6::Repr::parse(&packet);
    }
    if let Ok(packet) = udp::Packet::new_checked(bytes) {
        let _ = (
            packet.src_port(),
            packet.dst_port(),
            packet.datagram_len(),
            packet.checksum(),
            packet.payload(),
        );
        let _ = packet.verify_checksum(&pseudo);
        let _ = udp::Repr::parse(&packet);
    }
    if let Ok(packet) = tcp::Packet::new_checked(bytes) {
        let _ = (packet.src_port(), packet.dst_port(), packet.seq_number(), packet.ack_number());
        let _ = (packet.header_len(), packet.flags(), packet.window_len(), packet.checksum());
        let _ =
            (packet.urgent_pointer(), packet.options(), packet.payload(), packet.verify_checksum(&pseudo));
        let _ = tcp::Repr::parse(&packet);
    }
    if let Ok(packet) = icmpv4::Packet::new_checked(bytes) {
        let _ = (packet.msg_type(), packet.msg_code(), packet.checksum(), packet.echo_ident());
        let _ = (packet.echo_seq_no(), packet.data(), packet.verify_checksum());
        let _ = icmpv4::Repr::parse(&packet);
    }
    if let Ok(packet) = vxlan::Packet::new_checked(bytes) {
        let _ = (packet.flags(), packet.vni(), packet.payload());
        let _ = vxlan::Repr::parse(&packet);
    }
    if let Ok(packet) = icmpv6::Packet::new_checked(bytes) {
        let _ = (packet.msg_type(), packet.msg_code(), packet.checksum());
    }
    if let Ok(advert) = icmpv6::NeighborAdvert::new_checked(bytes) {
        let _ = (advert.router(), advert.solicited(), advert.override_flag(), advert.target_addr());
        let _ = advert.target_link_layer_addr();
    }
    if let Ok(packet) = dhcp::Packet::new_checked(bytes) {
        let _ = (packet.op(), packet.xid(), packet.ciaddr(), packet.yiaddr(), packet.client_mac());
        let _ = (packet.options().count(), dhcp::Repr::parse(&packet));
    }
}

/// Formats into nothing: exercises `Display` without allocating.
trait ToSink {
    fn to_string_sink(&self) -> fmt::Result;
}

impl<T: fmt::Display> ToSink for T {
    fn to_string_sink(&self) -> fmt::Result {
        struct Sink;
        impl Write for Sink {
            fn write_str(&mut self, _: &str) -> fmt::Result {
                Ok(())
            }
        }
        write!(Sink, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            exercise(&bytes);
        }

        /// Random bytes behind a plausible Ethernet + IPv4 prefix reach the deeper parsers.
        #[test]
        fn plausible_prefixes_never_panic(ethertype in prop::sample::select(vec![0x0800u16, 0x0806, 0x8100, 0x86dd]),
                                           ihl in 0u8..16, protocol in prop::sample::select(vec![1u8, 6, 17]),
                                           rest in proptest::collection::vec(any::<u8>(), 0..120)) {
            let mut bytes = vec![0xff; 12];
            bytes.extend_from_slice(&ethertype.to_be_bytes());
            bytes.extend_from_slice(&[0x40 | ihl, 0, 0, 0xff, 0, 0, 0, 0, 64, protocol, 0, 0]);
            bytes.extend_from_slice(&rest);
            exercise(&bytes);
        }
    }
}
