//! The Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-headers TCP and UDP include.

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::ip::IpProtocol;

/// The ones'-complement sum of `data` as 16-bit big-endian words (odd tail padded with zero),
/// folded to 16 bits and not yet inverted. Combine partial sums with [`combine`].
///
/// Sums 64-bit native-endian words (two accumulators, carries kept apart) and swaps the folded
/// result's bytes on little-endian machines: the ones'-complement sum does not depend on byte
/// order except for that final swap (RFC 1071, section 2(B)).
pub fn data(data: &[u8]) -> u16 {
    let mut chunks = data.chunks_exact(16);
    let (mut a, mut b, mut carries) = (0u64, 0u64, 0u64);
    for chunk in chunks.by_ref() {
        let (x, y) = chunk.split_at(8);
        let (sum, carry) = a.overflowing_add(u64::from_ne_bytes(x.try_into().unwrap_or_default()));
        a = sum;
        carries += u64::from(carry);
        let (sum, carry) = b.overflowing_add(u64::from_ne_bytes(y.try_into().unwrap_or_default()));
        b = sum;
        carries += u64::from(carry);
    }
    // Up to 15 bytes left: as two zero-padded words (the padding is the RFC's odd-byte pad).
    let mut tail = [0u8; 16];
    let rest = chunks.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    for word in [&tail[..8], &tail[8..]] {
        let (sum, carry) = a.overflowing_add(u64::from_ne_bytes(word.try_into().unwrap_or_default()));
        a = sum;
        carries += u64::from(carry);
    }
    let (sum, carry) = a.overflowing_add(b);
    carries += u64::from(carry);
    // Every carry out of bit 63 is worth 1 in ones'-complement: add them back. Splitting into
    // 32-bit halves first keeps the folding sum from overflowing.
    let native = fold((sum >> 32) + (sum & 0xffff_ffff) + carries);
    if cfg!(target_endian = "little") { native.swap_bytes() } else { native }
}

/// The reference: one big-endian 16-bit word at a time.
#[cfg(test)]
fn data_by_words(data: &[u8]) -> u16 {
    let mut chunks = data.chunks_exact(2);
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

    proptest::proptest! {
        #[test]
        fn sums_like_one_word_at_a_time(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            for start in 0..bytes.len().min(9) {
                proptest::prop_assert_eq!(data(&bytes[start..]), data_by_words(&bytes[start..]));
            }
        }
    }

    #[test]
    fn all_ones_stay_all_ones() {
        assert_eq!(data(&[0xff; 64]), 0xffff);
        assert_eq!(data(&[0xff; 1501]), data_by_words(&[0xff; 1501]));
        assert_eq!(data(&[]), 0);
    }

    #[test]
    fn carries_wrap_around() {
        assert_eq!(combine(&[0xffff, 0x0001]), 0x0001);
        assert_eq!(data(&[0xff; 4]), 0xffff);
    }
}
