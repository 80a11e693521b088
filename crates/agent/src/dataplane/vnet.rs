//! The virtio-net header (`struct virtio_net_hdr`) an AF_PACKET socket with `PACKET_VNET_HDR`
//! puts before every frame: what the kernel still owes the frame — a checksum to finish, a
//! segmentation to do. A frame forwarded with its header keeps those offloads; one forwarded
//! without it would leave with a half-done checksum or as one 64 KiB "frame" no link accepts.

/// Bytes of the header on the socket (the legacy 10-byte layout, the default).
pub(crate) const LEN: usize = 10;

/// One frame's offload state. Fields in host order (legacy virtio is native-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct VnetHeader {
    /// `NEEDS_CSUM`, `DATA_VALID`.
    pub flags: u8,
    /// `GSO_NONE`, `GSO_TCPV4`, …, with the `GSO_ECN` bit.
    pub gso_type: u8,
    /// Length of the headers before the payload (a hint for GSO).
    pub hdr_len: u16,
    /// Payload bytes per segment when segmented.
    pub gso_size: u16,
    /// Where the checksummed bytes start, from the frame's first byte.
    pub csum_start: u16,
    /// Where the checksum goes, from `csum_start`.
    pub csum_offset: u16,
}

impl VnetHeader {
    /// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the L4 checksum is partial.
    pub const NEEDS_CSUM: u8 = 1;
    /// `VIRTIO_NET_HDR_GSO_ECN`: a flag bit of `gso_type`, not a type.
    const GSO_ECN: u8 = 0x80;
    /// `VIRTIO_NET_HDR_GSO_NONE`.
    const GSO_NONE: u8 = 0;

    /// A frame that owes nothing.
    pub const NONE: Self =
        Self { flags: 0, gso_type: Self::GSO_NONE, hdr_len: 0, gso_size: 0, csum_start: 0, csum_offset: 0 };

    /// Decodes the header as the kernel wrote it.
    pub fn from_bytes(bytes: &[u8; LEN]) -> Self {
        let half = |at: usize| u16::from_ne_bytes([bytes[at], bytes[at + 1]]);
        Self {
            flags: bytes[0],
            gso_type: bytes[1],
            hdr_len: half(2),
            gso_size: half(4),
            csum_start: half(6),
            csum_offset: half(8),
        }
    }

    /// Encodes the header for the kernel.
    pub fn to_bytes(self) -> [u8; LEN] {
        let [h0, h1] = self.hdr_len.to_ne_bytes();
        let [g0, g1] = self.gso_size.to_ne_bytes();
        let [s0, s1] = self.csum_start.to_ne_bytes();
        let [o0, o1] = self.csum_offset.to_ne_bytes();
        [self.flags, self.gso_type, h0, h1, g0, g1, s0, s1, o0, o1]
    }

    /// The frame is one large segment the kernel will cut to size (TSO/USO on the way).
    pub fn is_gso(self) -> bool {
        self.gso_type & !Self::GSO_ECN != Self::GSO_NONE
    }

    /// The frame's L4 checksum is still to be finished.
    pub fn needs_checksum(self) -> bool {
        self.flags & Self::NEEDS_CSUM != 0
    }

    /// The header of the same frame after `delta` bytes were inserted (positive) or removed
    /// (negative) right after its MAC addresses — a VLAN tag pushed or popped. Offsets from the
    /// frame's start move by `delta`; everything else stays.
    pub fn shifted(self, delta: i16) -> Self {
        // 0 means "not given" and stays so; an offset that would leave u16 is left alone (the
        // kernel then rejects the header rather than checksum the wrong bytes).
        let shift = |offset: u16| match offset {
            0 => 0,
            _ => offset.checked_add_signed(delta).unwrap_or(offset),
        };
        let csum_start = if self.needs_checksum() { shift(self.csum_start) } else { self.csum_start };
        Self { hdr_len: shift(self.hdr_len), csum_start, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP_GSO: VnetHeader =
        VnetHeader { flags: 1, gso_type: 1, hdr_len: 66, gso_size: 1448, csum_start: 34, csum_offset: 16 };

    #[test]
    fn round_trips_through_bytes() {
        let bytes = TCP_GSO.to_bytes();
        assert_eq!(bytes[..2], [1, 1]);
        assert_eq!(VnetHeader::from_bytes(&bytes), TCP_GSO);
        assert_eq!(VnetHeader::from_bytes(&[0; LEN]), VnetHeader::NONE);
    }

    #[test]
    fn tells_offloads_apart() {
        assert!(TCP_GSO.is_gso() && TCP_GSO.needs_checksum());
        let ecn_only = VnetHeader { gso_type: 0x80, ..VnetHeader::NONE };
        assert!(!ecn_only.is_gso());
        assert!(!VnetHeader::NONE.is_gso() && !VnetHeader::NONE.needs_checksum());
    }

    #[test]
    fn follows_a_tag_pushed_or_popped() {
        let tagged = TCP_GSO.shifted(4);
        assert_eq!((tagged.csum_start, tagged.hdr_len), (38, 70));
        assert_eq!((tagged.csum_offset, tagged.gso_size), (16, 1448));
        assert_eq!(tagged.shifted(-4), TCP_GSO);
        // Without a partial checksum csum_start means nothing and is left alone; unset stays unset.
        let plain = VnetHeader { csum_start: 34, ..VnetHeader::NONE };
        assert_eq!(plain.shifted(4), plain);
        assert_eq!(VnetHeader::NONE.shifted(-4), VnetHeader::NONE);
    }
}
