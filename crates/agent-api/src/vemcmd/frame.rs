//! `vemcmd trace`'s frames, described in words and built with the `wire` builders. Pure.
//!
//! ```text
//! src MAC dst MAC [vlan N [pcp P]] PAYLOAD
//! PAYLOAD := arp [request|reply] [SENDER_IP > TARGET_IP]
//!          | ipv4 SRC_IP > DST_IP [icmp | udp [SPORT > DPORT] | tcp [SPORT > DPORT] [FLAG…]]
//!          | ethertype 0xHHHH
//! ```
//! MACs in any form (`02:00:00:00:00:01`, `0200.0000.0001`); `bcast` is `ff:ff:ff:ff:ff:ff`.
//! Frames shorter than Ethernet's minimum (60 bytes without FCS) are padded to it.

use std::net::Ipv4Addr;
use std::str::FromStr;

use wire::build::{self, Ipv4Pair, L2};
use wire::{EtherType, IpProtocol, MacAddr, PseudoHeader, Tci, arp, icmpv4, ipv4, tcp};

/// Ethernet's shortest frame, without the FCS.
const MIN_FRAME_LEN: usize = 60;
/// Room for any frame these words describe.
const BUFFER_LEN: usize = 256;

/// The grammar, for error messages and usage.
pub const GRAMMAR: &str = "src MAC dst MAC [vlan N [pcp P]] (arp [request|reply] [IP > IP] | \
ipv4 IP > IP [icmp | udp [PORT > PORT] | tcp [PORT > PORT] [syn|ack|fin|rst|psh]…] | ethertype 0xHHHH)";

/// Builds the frame `words` describe.
pub fn build_frame(words: &[&str]) -> Result<Vec<u8>, String> {
    let mut words = Words { words, at: 0 };
    let mut src = None;
    let mut dst = None;
    let mut tag: Option<Tci> = None;
    let mut buf = [0u8; BUFFER_LEN];
    let len = loop {
        let Some(word) = words.next() else {
            return Err(format!("say what the frame carries: {GRAMMAR}"));
        };
        match word {
            "src" => src = Some(words.value::<Mac>("src")?.0),
            "dst" => dst = Some(words.value::<Mac>("dst")?.0),
            "vlan" => {
                let vid = words.value::<u16>("vlan")?;
                if !(1..=wire::vlan::VLAN_ID_MAX).contains(&vid) {
                    return Err(format!("vlan {vid}: must be 1-4094"));
                }
                tag = Some(Tci::vlan(vid));
            }
            "pcp" => {
                let pcp = words.value::<u8>("pcp")?;
                let tci = tag.as_mut().ok_or("pcp needs a vlan before it")?;
                if pcp > 7 {
                    return Err(format!("pcp {pcp}: must be 0-7"));
                }
                tci.pcp = pcp;
            }
            "arp" | "ipv4" | "ethertype" => {
                let (src, dst) = match (src, dst) {
                    (Some(src), Some(dst)) => (src, dst),
                    _ => return Err(format!("give src and dst before {word}: {GRAMMAR}")),
                };
                let l2 = L2 { src, dst, vlan: tag };
                break match word {
                    "arp" => arp_frame(&mut words, &mut buf, &l2)?,
                    "ipv4" => ipv4_frame(&mut words, &mut buf, &l2)?,
                    _ => ethertype_frame(&mut words, &mut buf, &l2)?,
                };
            }
            other => return Err(format!("unexpected {other:?}: {GRAMMAR}")),
        }
    };
    if let Some(extra) = words.next() {
        return Err(format!("unexpected {extra:?} after the frame: {GRAMMAR}"));
    }
    Ok(buf[..len.max(MIN_FRAME_LEN)].to_vec())
}

fn arp_frame(words: &mut Words<'_>, buf: &mut [u8], l2: &L2) -> Result<usize, String> {
    let mut operation = arp::Operation::REQUEST;
    if words.take("reply") {
        operation = arp::Operation::REPLY;
    } else {
        words.take("request");
    }
    let (sender, target) = if words.peek().is_some() {
        words.pair::<Ipv4Addr>("arp")?
    } else {
        (Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED)
    };
    let repr = arp::Repr {
        operation,
        source_hardware_addr: l2.src,
        source_protocol_addr: sender,
        target_hardware_addr: if operation == arp::Operation::REPLY { l2.dst } else { MacAddr::ZERO },
        target_protocol_addr: target,
    };
    build::arp(buf, l2, &repr).map_err(|error| error.to_string())
}

fn ipv4_frame(words: &mut Words<'_>, buf: &mut [u8], l2: &L2) -> Result<usize, String> {
    let (src, dst) = words.pair::<Ipv4Addr>("ipv4")?;
    let ip = Ipv4Pair { src, dst };
    match words.next() {
        None | Some("icmp") => {
            let echo = icmpv4::Repr::EchoRequest { ident: 1, seq_no: 1, data: b"switchyard trace" };
            build::icmpv4(buf, l2, &ip, &echo).map_err(|error| error.to_string())
        }
        Some("udp") => {
            let ports = if words.peek().is_some() { words.pair::<u16>("udp")? } else { (40000, 53) };
            build::udp_ipv4(buf, l2, &ip, ports, b"switchyard trace").map_err(|error| error.to_string())
        }
        Some("tcp") => {
            let ports = if words.peek().is_some_and(|word| word.parse::<u16>().is_ok()) {
                words.pair::<u16>("tcp")?
            } else {
                (40000, 80)
            };
            let mut flags = tcp::Flags(0);
            while let Some(word) = words.next() {
                flags.0 |= match word {
                    "syn" => tcp::Flags::SYN.0,
                    "ack" => tcp::Flags::ACK.0,
                    "fin" => tcp::Flags::FIN.0,
                    "rst" => tcp::Flags::RST.0,
                    "psh" => tcp::Flags::PSH.0,
                    other => return Err(format!("tcp flag {other:?}: expected syn, ack, fin, rst or psh")),
                };
            }
            if flags.0 == 0 {
                flags = tcp::Flags::SYN;
            }
            tcp_frame(buf, l2, &ip, ports, flags)
        }
        Some(other) => Err(format!("ipv4 carries icmp, udp or tcp, not {other:?}")),
    }
}

/// A TCP segment without payload in IPv4 in a frame, checksums filled.
fn tcp_frame(
    buf: &mut [u8],
    l2: &L2,
    ip: &Ipv4Pair,
    (src_port, dst_port): (u16, u16),
    flags: tcp::Flags,
) -> Result<usize, String> {
    let segment = tcp::Repr {
        src_port,
        dst_port,
        seq_number: 1,
        ack_number: 0,
        flags,
        window_len: 64240,
        urgent_pointer: 0,
        options: &[],
    };
    let header = ipv4::Repr {
        src_addr: ip.src,
        dst_addr: ip.dst,
        next_header: IpProtocol::TCP,
        payload_len: u16::try_from(segment.buffer_len()).unwrap_or(u16::MAX),
        hop_limit: build::DEFAULT_TTL,
    };
    let payload = l2
        .emit(buf, EtherType::IPV4, header.buffer_len() + segment.buffer_len())
        .map_err(|error| error.to_string())?;
    let mut packet = ipv4::Packet::new_unchecked(payload);
    header.emit(&mut packet);
    let mut datagram = tcp::Packet::new_unchecked(packet.payload_mut());
    segment.emit(&mut datagram);
    datagram.fill_checksum(&PseudoHeader::V4 { src: ip.src, dst: ip.dst });
    Ok(l2.header_len() + header.buffer_len() + segment.buffer_len())
}

fn ethertype_frame(words: &mut Words<'_>, buf: &mut [u8], l2: &L2) -> Result<usize, String> {
    let text = words.next().ok_or("ethertype needs a value, e.g. 0x88b5")?;
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let ethertype =
        u16::from_str_radix(digits, 16).map_err(|_| format!("ethertype {text:?}: expected 0xHHHH"))?;
    let payload = l2.emit(buf, EtherType(ethertype), 46).map_err(|error| error.to_string())?;
    payload.fill(0);
    Ok(l2.header_len() + 46)
}

/// A MAC word: any form `MacAddr` parses, or `bcast`.
struct Mac(MacAddr);

impl FromStr for Mac {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "bcast" || text == "broadcast" {
            return Ok(Self(MacAddr::BROADCAST));
        }
        text.parse().map(Self).map_err(|error: wire::Error| error.to_string())
    }
}

/// The words, read left to right.
struct Words<'a> {
    words: &'a [&'a str],
    at: usize,
}

impl<'a> Words<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let word = self.words.get(self.at).copied();
        self.at += usize::from(word.is_some());
        word
    }

    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.at).copied()
    }

    /// Consumes `word` if it is next.
    fn take(&mut self, word: &str) -> bool {
        let next = self.peek() == Some(word);
        self.at += usize::from(next);
        next
    }

    /// The value after keyword `what`.
    fn value<T: FromStr>(&mut self, what: &str) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        let text = self.next().ok_or_else(|| format!("{what} needs a value"))?;
        text.parse().map_err(|error| format!("{what} {text:?}: {error}"))
    }

    /// `A > B` after keyword `what`.
    fn pair<T: FromStr>(&mut self, what: &str) -> Result<(T, T), String>
    where
        T::Err: std::fmt::Display,
    {
        let first = self.value(what)?;
        if !self.take(">") {
            return Err(format!("{what}: expected A > B"));
        }
        Ok((first, self.value(what)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        text.split_whitespace().collect()
    }

    fn summary(text: &str) -> String {
        let frame = build_frame(&words(text)).unwrap_or_else(|error| panic!("{text}: {error}"));
        wire::describe(&frame).to_string()
    }

    #[test]
    fn builds_what_the_words_say() {
        let arp = summary("src 02:00:00:00:00:01 dst ff:ff:ff:ff:ff:ff vlan 100 arp");
        assert!(arp.starts_with("0200.0000.0001 > ffff.ffff.ffff vlan 100"), "{arp}");
        assert!(arp.contains("ARP") && arp.ends_with("60 bytes"), "{arp}");
        let ping = summary("src 02:00:00:00:00:01 dst 0200.0000.0002 ipv4 10.0.0.1 > 10.0.0.2 icmp");
        assert!(ping.contains("10.0.0.1 > 10.0.0.2") && ping.contains("ICMP"), "{ping}");
        let udp = summary("src 02:00:00:00:00:01 dst bcast ipv4 10.0.0.1 > 10.0.0.255 udp 68 > 67");
        assert!(udp.contains("UDP") && udp.contains("68 > 67"), "{udp}");
        let tcp = summary(
            "src 02:00:00:00:00:01 dst 02:00:00:00:00:02 ipv4 10.0.0.1 > 10.0.0.2 tcp 1234 > 22 syn ack",
        );
        assert!(tcp.contains("TCP") && tcp.contains("1234 > 22"), "{tcp}");
        let lldp =
            build_frame(&words("src 02:00:00:00:00:01 dst 01:80:c2:00:00:0e ethertype 0x88cc")).expect("raw");
        assert_eq!((&lldp[12..14], lldp.len()), (&[0x88, 0xcc][..], 60));
        let reply = summary("dst 02:00:00:00:00:01 src 02:00:00:00:00:02 arp reply 10.0.0.2 > 10.0.0.1");
        assert!(reply.contains("10.0.0.2"), "{reply}");
    }

    #[test]
    fn mistakes_are_explained() {
        let cases = [
            ("src 02:00:00:00:00:01", "say what the frame carries"),
            ("arp", "give src and dst before arp"),
            ("src nope dst bcast arp", "src \"nope\""),
            ("src bcast dst bcast vlan 4095 arp", "must be 1-4094"),
            ("src bcast dst bcast pcp 3 arp", "pcp needs a vlan"),
            ("src bcast dst bcast ipv4 10.0.0.1 10.0.0.2", "expected A > B"),
            ("src bcast dst bcast ipv4 10.0.0.1 > 10.0.0.2 gre", "not \"gre\""),
            ("src bcast dst bcast arp 10.0.0.1 > 10.0.0.2 extra", "unexpected \"extra\""),
            ("src bcast dst bcast ethertype zz", "expected 0xHHHH"),
            ("bogus", "unexpected \"bogus\""),
        ];
        for (text, message) in cases {
            let error = build_frame(&words(text)).expect_err(text);
            assert!(error.contains(message), "{text}: {error}");
        }
    }
}
