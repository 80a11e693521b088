//! `show mac address-table [vlan N]`.

use super::text::{cell, dotted_mac, line};
use crate::port_views::MacView;

/// Renders the MAC table as NX-OS does, with the total.
pub fn show_mac_address_table(entries: &[MacView]) -> String {
    let mut out = String::new();
    out.push_str("VLAN      MAC Address       Type      Age       Port                           Mod\n");
    out.push_str("---------+-----------------+---------+---------+------------------------------+---\n");
    for entry in entries {
        line(
            &mut out,
            format_args!(
                "{}{}{}{}{}{}",
                cell(entry.bridge_domain.clone().unwrap_or_else(|| entry.vlan.to_string()).as_str(), 10),
                cell(&dotted_mac(&entry.mac), 18),
                cell(&entry.kind, 10),
                cell(&entry.age_seconds.to_string(), 10),
                cell(&entry.port, 31),
                entry.module
            ),
        );
    }
    line(&mut out, format_args!("Total MAC Addresses: {}", entries.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(vlan: u32, mac: &str, kind: &str, age_seconds: u32, port: &str) -> MacView {
        MacView {
            vlan,
            mac: mac.into(),
            kind: kind.into(),
            age_seconds,
            port: port.into(),
            module: 3,
            bridge_domain: None,
            segment_id: None,
            vtep: None,
        }
    }

    #[test]
    fn matches_the_nxos_layout() {
        let entries = [
            entry(100, "00:50:56:b3:06:d1", "static", 0, "Veth1"),
            entry(100, "00:50:56:b3:07:02", "dynamic", 12, "Eth3/1"),
        ];
        let expected = "\
VLAN      MAC Address       Type      Age       Port                           Mod
---------+-----------------+---------+---------+------------------------------+---
100       0050.56b3.06d1    static    0         Veth1                          3
100       0050.56b3.0702    dynamic   12        Eth3/1                         3
Total MAC Addresses: 2
";
        assert_eq!(show_mac_address_table(&entries), expected);
        assert!(show_mac_address_table(&[]).ends_with("---\nTotal MAC Addresses: 0\n"));

        let remote = MacView {
            bridge_domain: Some("tenant-red".into()),
            segment_id: Some(5000),
            vtep: Some("10.78.0.12".into()),
            ..entry(0, "02:00:00:00:00:02", "static", 0, "10.78.0.12")
        };
        let text = show_mac_address_table(&[remote]);
        assert!(
            text.contains(
                "\ntenant-red 0200.0000.0002    static    0         10.78.0.12                     3\n"
            ),
            "{text}"
        );
    }
}
