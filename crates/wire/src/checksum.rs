//! The Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-headers TCP and UDP include.

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::ip::IpProtocol;

/// The ones'-complement sum of `data` as 16-bit big-endian words (odd tail padded with zero),
/// folded to 16 bits and not yet inverted. Combine partial sums with [`combine`].
pub fn data(data: &[u8]) -> u16 {
    let mut chunks = data.chunks_exact(2);
    // A u64 accumulator cannot overflow for any buffer that fits in memory.
    let mut sum: u64 = chunks.by_ref().map(|pair| u64::from(u16::from_be_bytes([pair[0], pair[1]]))).sum();
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    fold(sum)
}

/// Adds partial sums in ones'-complement arithmetic.
pub fn combine(parts: &[u16]) -> u16 {
    fold(parts.iter().map(|&part| u64::from(part)).sum())
}

fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop leaves at most 16 significant bits.
    sum as u16
}

/// The addresses a TCP or UDP checksum covers besides the segment itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PseudoHeader {
    /// Carried in IPv4.
    V4 {
        /// IPv4 source.
        src: Ipv4Addr,
        /// IPv4 destination.
        dst: Ipv4Addr,
    },
    /// Carried in IPv6.
    V6 {
        /// IPv6 source.
        src: Ipv6Addr,
        /// IPv6 destination.
        dst: Ipv6Addr,
    },
}

impl PseudoHeader {
    /// The partial sum of the pseudo-header for a `length`-byte segment of `protocol`.
    pub fn sum(&self, protocol: IpProtocol, length: u32) -> u16 {
        let length = length.to_be_bytes();
        let tail = combine(&[
            u16::from(protocol.0),
            u16::from_be_bytes([length[0], length[1]]),
            u16::from_be_bytes([length[2], length[3]]),
        ]);
        match self {
            Self::V4 { src, dst } => combine(&[data(&src.octets()), data(&dst.octets()), tail]),
            Self::V6 { src, dst } => combine(&[data(&src.octets()), data(&dst.octets()), tail]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        assert_eq!(data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn carries_wrap_around() {
        assert_eq!(combine(&[0xffff, 0x0001]), 0x0001);
        assert_eq!(data(&[0xff; 4]), 0xffff);
    }
}
