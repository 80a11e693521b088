//! The announcement sent for a vEthernet that moved to another uplink: a broadcast RARP
//! (ethertype 0x8035, "request reverse", as VMware and QEMU send after a move), from its MAC, in
//! its VLAN. Every switch on the way learns the MAC behind the new uplink at once instead of
//! sending its traffic to the failed one until its entry ages out. Pure.

use wire::MacAddr;

/// The RARP ethertype.
pub const ETHERTYPE_RARP: u16 = 0x8035;

/// The 802.1Q tag protocol identifier.
const TPID: u16 = 0x8100;

/// An untagged Ethernet frame's minimum length, without the FCS.
const MIN_FRAME: usize = 60;

/// The RARP frame announcing `mac` in `vlan`: tagged with `vlan`, or untagged when `vlan` is the
/// uplink's native VLAN (`None`).
pub fn rarp_announcement(mac: MacAddr, vlan: Option<u16>) -> Vec<u8> {
    let mut frame = Vec::with_capacity(MIN_FRAME + 4);
    frame.extend_from_slice(MacAddr::BROADCAST.as_bytes());
    frame.extend_from_slice(mac.as_bytes());
    if let Some(vlan) = vlan {
        frame.extend_from_slice(&TPID.to_be_bytes());
        frame.extend_from_slice(&(vlan & 0x0fff).to_be_bytes());
    }
    frame.extend_from_slice(&ETHERTYPE_RARP.to_be_bytes());
    frame.extend_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    frame.extend_from_slice(&0x0800u16.to_be_bytes()); // protocol: IPv4
    frame.extend_from_slice(&[6, 4]); // address lengths
    frame.extend_from_slice(&3u16.to_be_bytes()); // request reverse
    frame.extend_from_slice(mac.as_bytes()); // sender hardware
    frame.extend_from_slice(&[0; 4]); // sender protocol: unknown
    frame.extend_from_slice(mac.as_bytes()); // target hardware
    frame.extend_from_slice(&[0; 4]); // target protocol: unknown
    let min = MIN_FRAME + if vlan.is_some() { 4 } else { 0 };
    frame.resize(min, 0);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 7]);

    #[test]
    fn tagged_announcement_layout() {
        let frame = rarp_announcement(MAC, Some(100));
        assert_eq!(frame.len(), 64);
        assert_eq!(&frame[..6], &[0xff; 6]);
        assert_eq!(&frame[6..12], MAC.as_bytes());
        assert_eq!(&frame[12..18], &[0x81, 0x00, 0x00, 100, 0x80, 0x35]);
        assert_eq!(&frame[18..26], &[0, 1, 0x08, 0, 6, 4, 0, 3]);
        assert_eq!(&frame[26..32], MAC.as_bytes());
        assert_eq!(&frame[36..42], MAC.as_bytes());
        assert!(frame[42..].iter().all(|byte| *byte == 0));
    }

    #[test]
    fn native_vlan_announcement_is_untagged() {
        let frame = rarp_announcement(MAC, None);
        assert_eq!(frame.len(), 60);
        assert_eq!(&frame[12..14], &[0x80, 0x35]);
        assert_eq!(&frame[22..28], MAC.as_bytes());
    }
}
