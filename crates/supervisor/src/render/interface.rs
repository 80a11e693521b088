//! `show interface virtual`, `show interface vethernet N`, `show interface ethernet M/K`,
//! `show interface brief`.

use super::text::{RULE, cell, dotted_mac, line};
use crate::port_state::Rates;
use crate::port_views::{Counters, InterfaceView};
use crate::uplink_views::UplinkView;

/// The wider rule of the Ethernet section of `show interface brief` (80 dashes, as NX-OS).
const WIDE_RULE: &str = "--------------------------------------------------------------------------------\n";

/// The interface inside the container (`eth0`), or the host end when the attacher did not say.
pub(super) fn container_adapter(view: &InterfaceView) -> &str {
    let binding = &view.binding;
    if binding.container_ifname.is_empty() { &binding.adapter } else { &binding.container_ifname }
}

/// Renders `show interface virtual`: the attached vEthernets.
pub fn show_interface_virtual(views: &[InterfaceView]) -> String {
    let mut out = String::new();
    out.push_str(RULE);
    out.push_str("Port        Adapter           Owner                    Mod Host\n");
    out.push_str(RULE);
    for view in views.iter().filter(|view| view.binding.attached) {
        line(
            &mut out,
            format_args!(
                "{}{}{}{}{}",
                cell(&view.short_name(), 12),
                cell(&view.binding.adapter, 18),
                cell(view.binding.owner(), 25),
                cell(&view.binding.module.to_string(), 4),
                view.host_name
            ),
        );
    }
    out
}

/// Renders `show interface vethernet N` for one vEthernet.
pub fn show_interface_vethernet(view: &InterfaceView) -> String {
    let binding = &view.binding;
    let counters = &view.counters;
    let rates = &view.rates;
    let adapter = container_adapter(view);
    let mac = dotted_mac(&binding.mac);
    let mut out = String::new();
    let mut put = |args: std::fmt::Arguments<'_>| line(&mut out, args);
    if view.up {
        put(format_args!("{} is up", view.name));
    } else {
        put(format_args!("{} is down ({})", view.name, view.reason));
    }
    put(format_args!("  Port description is {}, {adapter}", binding.owner()));
    put(format_args!("  Hardware: Virtual, address: {mac} (bia {mac})"));
    put(format_args!("  Owner is container \"{}\", adapter is {adapter}", binding.owner()));
    if binding.attached {
        put(format_args!("  Active on module {}", binding.module));
    } else {
        put(format_args!("  Detached; last active on module {}", binding.module));
    }
    put(format_args!("  Port-Profile is {}", binding.profile));
    put(format_args!("  Port mode is {}", view.mode));
    traffic(&mut out, counters, rates);
    out
}

/// Renders `show interface ethernet M/K` for one uplink.
pub fn show_interface_ethernet(view: &UplinkView) -> String {
    let mut out = String::new();
    let mut put = |args: std::fmt::Arguments<'_>| line(&mut out, args);
    if view.up {
        put(format_args!("{} is up", view.name));
    } else {
        put(format_args!("{} is down ({})", view.name, view.reason));
    }
    put(format_args!("  Hardware: Ethernet, adapter is {} of host {}", view.nic, view.host_name));
    put(format_args!("  Active on module {}", view.module));
    put(format_args!("  Port-Profile is {}", view.profile));
    put(format_args!("  Port mode is {}", view.mode));
    if view.mode == "trunk" {
        let native = view.native_vlan.map_or_else(|| "--".to_owned(), |vlan| vlan.to_string());
        let allowed = if view.allowed_vlans.is_empty() { "--" } else { &view.allowed_vlans };
        put(format_args!("  Trunk native VLAN {native}, allowed VLANs {allowed}"));
    }
    let pinned: Vec<String> = view.pinned_veths.iter().map(|veth| format!("Veth{veth}")).collect();
    put(format_args!(
        "  Pinned vEthernets (mac-pinning): {}",
        if pinned.is_empty() { "none".to_owned() } else { pinned.join(", ") }
    ));
    traffic(&mut out, &view.counters, &view.rates);
    out
}

/// The rates and counters block both interface kinds end with.
fn traffic(out: &mut String, counters: &Counters, rates: &Rates) {
    let mut put = |args: std::fmt::Arguments<'_>| line(out, args);
    put(format_args!(
        "  5 minute input rate {} bits/second, {} packets/second",
        rates.input_bits_per_second, rates.input_packets_per_second
    ));
    put(format_args!(
        "  5 minute output rate {} bits/second, {} packets/second",
        rates.output_bits_per_second, rates.output_packets_per_second
    ));
    put(format_args!("  Rx"));
    put(format_args!("    {} Input Packets {} Unicast Packets", counters.rx_packets, counters.rx_unicast));
    put(format_args!(
        "    {} Multicast Packets {} Broadcast Packets",
        counters.rx_multicast, counters.rx_broadcast
    ));
    put(format_args!("    {} Bytes", counters.rx_bytes));
    put(format_args!("  Tx"));
    put(format_args!("    {} Output Packets {} Unicast Packets", counters.tx_packets, counters.tx_unicast));
    put(format_args!(
        "    {} Multicast Packets {} Broadcast Packets {} Flood Packets",
        counters.tx_multicast, counters.tx_broadcast, counters.tx_flood
    ));
    put(format_args!("    {} Bytes", counters.tx_bytes));
    put(format_args!(
        "    {} Input Packet Drops {} Output Packet Drops",
        counters.rx_drops, counters.tx_drops
    ));
}

/// The columns an uplink and a vEthernet share in `show interface brief`: Interface, VLAN, Type,
/// Mode, Status, Reason.
struct BriefRow<'a> {
    name: &'a str,
    vlan: Option<u16>,
    kind: &'a str,
    mode: &'a str,
    up: bool,
    reason: &'a str,
}

impl std::fmt::Display for BriefRow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let vlan = self.vlan.map_or_else(|| "--".to_owned(), |vlan| vlan.to_string());
        let status = if self.up { "up" } else { "down" };
        let reason = if self.up || self.reason.is_empty() { "none" } else { self.reason };
        write!(
            f,
            "{}{}{}{}{}{}",
            cell(self.name, 14),
            cell(&vlan, 7),
            cell(self.kind, 5),
            cell(self.mode, 7),
            cell(status, 8),
            cell(reason, 25)
        )
    }
}

/// Renders `show interface brief`: the uplinks (when there are any), then the vEthernets.
pub fn show_interface_brief(uplinks: &[UplinkView], views: &[InterfaceView]) -> String {
    let mut out = String::new();
    if !uplinks.is_empty() {
        out.push_str(WIDE_RULE);
        out.push_str("Ethernet      VLAN   Type Mode   Status  Reason                   Speed   Port\n");
        out.push_str("Interface                                                                 Ch #\n");
        out.push_str(WIDE_RULE);
        for uplink in uplinks {
            let row = BriefRow {
                name: &uplink.short_name(),
                vlan: uplink.native_vlan,
                kind: "eth",
                mode: &uplink.mode,
                up: uplink.up,
                reason: &uplink.reason,
            };
            line(&mut out, format_args!("{}{}--", row, cell("auto", 8)));
        }
        out.push('\n');
    }
    out.push_str(RULE);
    out.push_str("Vethernet     VLAN   Type Mode   Status  Reason                   Speed\n");
    out.push_str(RULE);
    for view in views {
        let row = BriefRow {
            name: &view.short_name(),
            vlan: view.vlan,
            kind: "virt",
            mode: &view.mode,
            up: view.up,
            reason: &view.reason,
        };
        line(&mut out, format_args!("{row}auto"));
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use crate::port_binding::PortRecord;
    use crate::port_state::Rates;
    use crate::port_views::{Counters, InterfaceView};

    use super::*;

    /// A vEthernet as the views show it: up in VLAN 100 unless changed.
    pub fn view(veth: u32, owner: &str) -> InterfaceView {
        InterfaceView {
            name: format!("Vethernet{veth}"),
            binding: PortRecord {
                veth,
                iface_id: format!("iface-{veth}"),
                module: 3,
                host_id: "id-bilbo".into(),
                profile: "vlan100".into(),
                adapter: "veth18924_eth0".into(),
                container_ifname: "eth0".into(),
                mac: "02:ab:cd:00:01:01".into(),
                owner_name: owner.into(),
                owner_uuid: String::new(),
                ltl: 48 + veth,
                attached: true,
            },
            host_name: "bilbo".into(),
            up: true,
            reason: String::new(),
            mode: "access".into(),
            vlan: Some(100),
            counters: Counters::default(),
            rates: Rates::default(),
        }
    }

    #[test]
    fn virtual_matches_the_nxos_layout() {
        let mut detached = view(2, "web2");
        detached.binding.attached = false;
        let mut long = view(3, "a-container-name-longer-than-the-column");
        long.binding.module = 14;
        let expected = "\
-------------------------------------------------------------------------------
Port        Adapter           Owner                    Mod Host
-------------------------------------------------------------------------------
Veth1       veth18924_eth0    web1                     3   bilbo
Veth3       veth18924_eth0    a-container-name-longer-than-the-column 14  bilbo
";
        assert_eq!(show_interface_virtual(&[view(1, "web1"), detached, long]), expected);
    }

    #[test]
    fn vethernet_matches_the_nxos_layout() {
        let mut web1 = view(1, "web1");
        web1.counters = Counters {
            rx_packets: 1024,
            rx_unicast: 980,
            rx_multicast: 40,
            rx_broadcast: 4,
            rx_bytes: 131_072,
            tx_packets: 998,
            tx_unicast: 990,
            tx_multicast: 6,
            tx_broadcast: 2,
            tx_flood: 12,
            tx_bytes: 129_000,
            ..Counters::default()
        };
        let expected = "\
Vethernet1 is up
  Port description is web1, eth0
  Hardware: Virtual, address: 02ab.cd00.0101 (bia 02ab.cd00.0101)
  Owner is container \"web1\", adapter is eth0
  Active on module 3
  Port-Profile is vlan100
  Port mode is access
  5 minute input rate 0 bits/second, 0 packets/second
  5 minute output rate 0 bits/second, 0 packets/second
  Rx
    1024 Input Packets 980 Unicast Packets
    40 Multicast Packets 4 Broadcast Packets
    131072 Bytes
  Tx
    998 Output Packets 990 Unicast Packets
    6 Multicast Packets 2 Broadcast Packets 12 Flood Packets
    129000 Bytes
    0 Input Packet Drops 0 Output Packet Drops
";
        assert_eq!(show_interface_vethernet(&web1), expected);
    }

    #[test]
    fn vethernet_down_says_why() {
        let mut web4 = view(4, "web4");
        web4.up = false;
        web4.reason = "port-profile not found".into();
        web4.counters.rx_drops = 7;
        web4.rates.input_bits_per_second = 8_000;
        web4.rates.input_packets_per_second = 10;
        let text = show_interface_vethernet(&web4);
        assert!(text.starts_with("Vethernet4 is down (port-profile not found)\n"), "{text}");
        assert!(text.contains("  5 minute input rate 8000 bits/second, 10 packets/second\n"));
        assert!(text.ends_with("    7 Input Packet Drops 0 Output Packet Drops\n"));
        web4.binding.attached = false;
        assert!(show_interface_vethernet(&web4).contains("  Detached; last active on module 3\n"));
    }

    #[test]
    fn brief_matches_the_nxos_layout() {
        let mut waiting = view(4, "web4");
        waiting.up = false;
        waiting.reason = "port-profile not found".into();
        waiting.vlan = None;
        let mut trunk = view(5, "router");
        trunk.mode = "trunk".into();
        trunk.vlan = None;
        let expected = "\
-------------------------------------------------------------------------------
Vethernet     VLAN   Type Mode   Status  Reason                   Speed
-------------------------------------------------------------------------------
Veth1         100    virt access up      none                     auto
Veth4         --     virt access down    port-profile not found   auto
Veth5         --     virt trunk  up      none                     auto
";
        assert_eq!(show_interface_brief(&[], &[view(1, "web1"), waiting, trunk]), expected);
    }

    /// An uplink as the views show it: Eth3/1 on eth1, up, trunk with native VLAN 1.
    pub fn uplink(index: u32) -> UplinkView {
        UplinkView {
            name: format!("Ethernet3/{index}"),
            module: 3,
            index,
            host_name: "bilbo".into(),
            nic: format!("eth{index}"),
            profile: "uplink".into(),
            up: true,
            reason: String::new(),
            mode: "trunk".into(),
            native_vlan: Some(1),
            allowed_vlans: "100-109".into(),
            pinned_veths: vec![1, 2],
            counters: Counters::default(),
            rates: Rates::default(),
        }
    }

    #[test]
    fn brief_lists_uplinks_first() {
        let mut down = uplink(2);
        down.up = false;
        down.reason = "Link not connected".into();
        let text = show_interface_brief(&[uplink(1), down], &[view(1, "web1")]);
        let expected = "\
--------------------------------------------------------------------------------
Ethernet      VLAN   Type Mode   Status  Reason                   Speed   Port
Interface                                                                 Ch #
--------------------------------------------------------------------------------
Eth3/1        1      eth  trunk  up      none                     auto    --
Eth3/2        1      eth  trunk  down    Link not connected       auto    --

-------------------------------------------------------------------------------
Vethernet     VLAN   Type Mode   Status  Reason                   Speed
-------------------------------------------------------------------------------
Veth1         100    virt access up      none                     auto
";
        assert_eq!(text, expected);
    }

    #[test]
    fn ethernet_shows_the_trunk_and_its_pins() {
        let mut eth = uplink(1);
        eth.counters.rx_packets = 7;
        let text = show_interface_ethernet(&eth);
        let head = "\
Ethernet3/1 is up
  Hardware: Ethernet, adapter is eth1 of host bilbo
  Active on module 3
  Port-Profile is uplink
  Port mode is trunk
  Trunk native VLAN 1, allowed VLANs 100-109
  Pinned vEthernets (mac-pinning): Veth1, Veth2
  5 minute input rate 0 bits/second, 0 packets/second
";
        assert!(text.starts_with(head), "{text}");
        assert!(text.contains("    7 Input Packets 0 Unicast Packets\n"), "{text}");
        eth.up = false;
        eth.reason = "Link not connected".into();
        eth.pinned_veths.clear();
        let down = show_interface_ethernet(&eth);
        assert!(down.starts_with("Ethernet3/1 is down (Link not connected)\n"), "{down}");
        assert!(down.contains("  Pinned vEthernets (mac-pinning): none\n"));
    }
}
