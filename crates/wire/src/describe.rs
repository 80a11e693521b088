//! One-line, tcpdump-like summaries of frames, for packet traces and `vemcmd`.
//!
//! [`describe`] borrows the frame and formats lazily: nothing is parsed or allocated until the
//! summary is displayed. Whatever the bytes, the summary displays; what could not be read is
//! named in parentheses.

use core::fmt;

use crate::ethernet::{self, EtherType};
use crate::ip::IpProtocol;
use crate::{Error, arp, icmpv4, ipv4, ipv6, tcp, udp, vlan, vxlan};

/// A frame to be summarised; see [`describe`].
#[derive(Debug, Clone, Copy)]
pub struct Summary<'a> {
    frame: &'a [u8],
    /// Whether a VXLAN payload's inner frame is summarised too (only one level deep, so a
    /// crafted frame of nested tunnels cannot recurse without bound).
    decap: bool,
}

/// Summarises a frame: `0050.56b3.06d1 > ffff.ffff.ffff vlan 100, ARP request who-has 10.0.0.2
/// tell 10.0.0.1, 46 bytes`.
pub fn describe(frame: &[u8]) -> Summary<'_> {
    Summary { frame, decap: true }
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match ethernet::Frame::new_checked(self.frame) {
            Ok(frame) => {
                write!(f, "{} > {}", frame.src_addr(), frame.dst_addr())?;
                let (ethertype, payload) = if frame.ethertype() == EtherType::VLAN {
                    match vlan::Tag::new_checked(frame.payload()) {
                        Ok(tag) => {
                            write!(f, " {}", tag.tci())?;
                            (tag.ethertype(), &frame.payload()[vlan::field::PAYLOAD])
                        }
                        Err(error) => return write!(f, " ({error}), {} bytes", self.frame.len()),
                    }
                } else {
                    (frame.ethertype(), frame.payload())
                };
                f.write_str(", ")?;
                if let Err(error) = self.network(f, ethertype, payload)? {
                    write!(f, " ({error})")?;
                }
            }
            Err(error) => write!(f, "({error})")?,
        }
        write!(f, ", {} bytes", self.frame.len())
    }
}

/// The outer `fmt::Result` is the formatter's; the inner one says whether the bytes parsed.
type Described = Result<(), Error>;

impl Summary<'_> {
    fn network(
        &self,
        f: &mut fmt::Formatter<'_>,
        ethertype: EtherType,
        payload: &[u8],
    ) -> Result<Described, fmt::Error> {
        match ethertype {
            EtherType::ARP => {
                f.write_str("ARP")?;
                let repr = match arp::Packet::new_checked(payload).and_then(|p| arp::Repr::parse(&p)) {
                    Ok(repr) => repr,
                    Err(error) => return Ok(Err(error)),
                };
                match repr.operation {
                    arp::Operation::REQUEST => write!(
                        f,
                        " request who-has {} tell {}",
                        repr.target_protocol_addr, repr.source_protocol_addr
                    )?,
                    arp::Operation::REPLY => {
                        write!(f, " reply {} is-at {}", repr.source_protocol_addr, repr.source_hardware_addr)?
                    }
                    other => write!(f, " {other}")?,
                }
                Ok(Ok(()))
            }
            EtherType::IPV4 => {
                let packet = match ipv4::Packet::new_checked(payload) {
                    Ok(packet) => packet,
                    Err(error) => return f.write_str("IPv4").map(|()| Err(error)),
                };
                write!(f, "IPv4 {} > {}", packet.src_addr(), packet.dst_addr())?;
                if packet.more_frags() || packet.frag_offset() != 0 {
                    return write!(f, ", fragment at {}", packet.frag_offset()).map(Ok);
                }
                self.transport(f, packet.next_header(), packet.payload())
            }
            EtherType::IPV6 => {
                let packet = match ipv6::Packet::new_checked(payload) {
                    Ok(packet) => packet,
                    Err(error) => return f.write_str("IPv6").map(|()| Err(error)),
                };
                write!(f, "IPv6 {} > {}", packet.src_addr(), packet.dst_addr())?;
                self.transport(f, packet.next_header(), packet.payload())
            }
            other => write!(f, "{other}").map(Ok),
        }
    }

    fn transport(
        &self,
        f: &mut fmt::Formatter<'_>,
        protocol: IpProtocol,
        payload: &[u8],
    ) -> Result<Described, fmt::Error> {
        write!(f, ", {protocol}")?;
        match protocol {
            IpProtocol::ICMP => {
                let packet = match icmpv4::Packet::new_checked(payload) {
                    Ok(packet) => packet,
                    Err(error) => return Ok(Err(error)),
                };
                write!(f, " {}", packet.msg_type())?;
                if matches!(packet.msg_type(), icmpv4::Message::ECHO_REQUEST | icmpv4::Message::ECHO_REPLY) {
                    write!(f, " id {} seq {}", packet.echo_ident(), packet.echo_seq_no())?;
                }
                Ok(Ok(()))
            }
            IpProtocol::UDP => {
                let packet = match udp::Packet::new_checked(payload) {
                    Ok(packet) => packet,
                    Err(error) => return Ok(Err(error)),
                };
                write!(f, " {} > {}", packet.src_port(), packet.dst_port())?;
                if packet.dst_port() == vxlan::UDP_PORT {
                    return self.vxlan(f, packet.payload());
                }
                Ok(Ok(()))
            }
            IpProtocol::TCP => {
                let packet = match tcp::Packet::new_checked(payload) {
                    Ok(packet) => packet,
                    Err(error) => return Ok(Err(error)),
                };
                write!(f, " {} > {} [{}]", packet.src_port(), packet.dst_port(), packet.flags()).map(Ok)
            }
            _ => Ok(Ok(())),
        }
    }

    fn vxlan(&self, f: &mut fmt::Formatter<'_>, payload: &[u8]) -> Result<Described, fmt::Error> {
        let packet = match vxlan::Packet::new_checked(payload) {
            Ok(packet) => packet,
            Err(error) => return Ok(Err(error)),
        };
        match vxlan::Repr::parse(&packet) {
            Ok(repr) if self.decap => {
                let inner = Summary { frame: packet.payload(), decap: false };
                write!(f, ", VXLAN vni {} [{inner}]", repr.vni).map(Ok)
            }
            Ok(repr) => write!(f, ", VXLAN vni {}", repr.vni).map(Ok),
            Err(error) => Ok(Err(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tci;
    use crate::build::tests::{A, B, IPS};
    use crate::build::{self, L2};

    #[test]
    fn summarises_arp_on_a_vlan() {
        let summary = describe(&ethernet::tests::ARP_REQUEST).to_string();
        assert_eq!(
            summary,
            "0050.56b3.06d1 > ffff.ffff.ffff, ARP request who-has 10.0.0.2 tell 10.0.0.1, 60 bytes"
        );
        let mut buf = [0u8; 64];
        let l2 = L2::tagged(A, B, Tci { pcp: 3, dei: false, vid: 100 });
        let len =
            build::icmpv4(&mut buf, &l2, &IPS, &icmpv4::Repr::EchoReply { ident: 7, seq_no: 9, data: &[] })
                .expect("fits");
        assert_eq!(
            describe(&buf[..len]).to_string(),
            "0050.56b3.06d1 > 0050.56b3.0702 vlan 100 p 3, IPv4 10.0.0.1 > 10.0.0.2, ICMP echo reply id 7 seq 9, 46 bytes"
        );
    }

    #[test]
    fn summarises_vxlan_one_level_deep() {
        let mut inner = [0u8; 64];
        let inner_len =
            build::udp_ipv4(&mut inner, &L2::untagged(A, B), &IPS, (1000, 2000), b"x").expect("fits");
        let mut outer = [0u8; 200];
        let vni = vxlan::Vni::new(5000).expect("24-bit");
        let len = build::vxlan_ipv4(&mut outer, &L2::untagged(B, A), &IPS, 49152, vni, &inner[..inner_len])
            .expect("fits");
        assert_eq!(
            describe(&outer[..len]).to_string(),
            "0050.56b3.0702 > 0050.56b3.06d1, IPv4 10.0.0.1 > 10.0.0.2, UDP 49152 > 4789, VXLAN vni 5000 \
             [0050.56b3.06d1 > 0050.56b3.0702, IPv4 10.0.0.1 > 10.0.0.2, UDP 1000 > 2000, 43 bytes], 93 bytes"
        );
    }

    #[test]
    fn names_what_it_could_not_read() {
        assert_eq!(
            describe(&[1, 2, 3]).to_string(),
            "(Ethernet header truncated: needs 14 bytes, has 3), 3 bytes"
        );
        let mut runt_ip = ethernet::tests::ARP_REQUEST;
        runt_ip[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(
            describe(&runt_ip[..30]).to_string(),
            "0050.56b3.06d1 > ffff.ffff.ffff, IPv4 (IPv4 header truncated: needs 20 bytes, has 16), 30 bytes"
        );
        assert_eq!(
            describe(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 0x88, 0xcc]).to_string(),
            "0000.0000.0001 > ffff.ffff.ffff, ethertype 0x88cc, 14 bytes"
        );
    }
}
