//! `vemcmd`'s tables, laid out as on the Nexus 1000V's VEM (see `../shared/reference/nxos.md`).
//! Pure: views in, text out.
//!
//! Where the original was poor: `show port` lists why a port is blocked under the table (the
//! VEM left that to `show port-profile`), and `show drops` gives drops by reason per port
//! (the VEM's `show port-drops` gave them by feature).

use std::fmt::Write as _;

use crate::ports::{DropCount, MacView, PortsView, TraceView, Traffic, VxlanView};
use crate::status::ConnectionState;
use crate::uplinks::UplinkView;
use crate::{CardInfo, DEFAULT_MAC_AGING, TUNNEL_LTL, TUNNEL_NAME, VXLAN_OVERHEAD};

/// `vemcmd show card`, laid out as on the Nexus 1000V.
pub fn render_card(card: &CardInfo) -> String {
    let yes_no = |yes: bool| if yes { "Yes" } else { "No" };
    let connected = card.state == ConnectionState::Connected;
    let module = card.module.map_or_else(|| "none (never registered)".to_owned(), |m| m.to_string());
    let heartbeat = card
        .last_heartbeat_ack_ms
        .map_or_else(|| "never".to_owned(), |ms| format!("{:.1} s ago", ms as f64 / 1000.0));
    let state = match card.state {
        ConnectionState::Connected => "connected",
        ConnectionState::Headless => "headless",
    };
    let addresses = if card.addresses.is_empty() { "none".to_owned() } else { card.addresses.join(", ") };
    let mut lines = vec![
        format!("Card name: {}", card.card_name),
        format!("Card UUID: {}", card.host_id),
        format!("Switch name: {}", card.switch_name),
        format!("Card slot (module): {module}"),
        format!("Supervisor address: {}", card.supervisor),
    ];
    if card.supervisors.len() > 1 {
        lines.push(format!("Supervisors configured: {}", card.supervisors.join(", ")));
    }
    lines.extend([
        format!("Supervisor trust: {}", card.trust),
        format!("Supervisor state: {state}"),
        format!("Card Headless Mode : {}", yes_no(!connected)),
        format!("Heartbeat Set: {}", if connected { "True" } else { "False" }),
        format!("Last heartbeat ack: {heartbeat}"),
        format!("Max virtual ports: {}", card.max_virtual_ports),
        format!(
            "Port-profiles in use on this host: {} (revision {})",
            card.policy_count, card.policy_revision
        ),
    ]);
    if let Some(revision) = card.supervisor_revision {
        lines.push(format!("Supervisor config revision: {revision}"));
    }
    lines.push(format!("Management addresses: {addresses}"));
    lines.push(format!("Software: {}", card.version));
    lines.push(format!("Hardware: {}", card.hardware));
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// One row of the port tables: an uplink or a vEthernet.
struct Row<'a> {
    ltl: u32,
    /// `Eth3/1`, `Veth1`.
    name: String,
    admin_up: bool,
    link_up: bool,
    forwarding: bool,
    reason: &'a str,
    /// The mac-pinning sub-group of an uplink.
    sgid: Option<u32>,
    /// The host interface.
    vem_port: &'a str,
    trunk: bool,
    vlan: u16,
    allowed_vlans: &'a str,
    rx: &'a Traffic,
    tx: &'a Traffic,
    drops: &'a [DropCount],
    rx_drops: u64,
    tx_drops: u64,
}

/// The rows of `view`: uplinks (LTL 17–48) first, then vEthernets, as the VEM lists them.
fn rows(view: &PortsView) -> Vec<Row<'_>> {
    let uplinks = view.uplinks.iter().map(|uplink| Row {
        ltl: uplink.ltl,
        name: uplink.name.clone(),
        admin_up: uplink.admin_up,
        link_up: uplink.link_up,
        forwarding: uplink.forwarding,
        reason: &uplink.reason,
        sgid: Some(uplink.sgid),
        vem_port: &uplink.iface,
        trunk: uplink.mode == "trunk",
        vlan: uplink.native_vlan,
        allowed_vlans: &uplink.allowed_vlans,
        rx: &uplink.rx,
        tx: &uplink.tx,
        drops: &uplink.drops,
        rx_drops: uplink.rx_drops,
        tx_drops: uplink.tx_drops,
    });
    let veths = view.ports.iter().map(|port| Row {
        ltl: port.ltl,
        name: format!("Veth{}", port.veth),
        admin_up: port.admin_up,
        link_up: port.link_up,
        forwarding: port.forwarding,
        reason: &port.reason,
        sgid: None,
        vem_port: &port.host_ifname,
        trunk: port.mode == "trunk",
        vlan: port.vlan,
        allowed_vlans: &port.allowed_vlans,
        rx: &port.rx,
        tx: &port.tx,
        drops: &port.drops,
        rx_drops: port.rx_drops,
        tx_drops: port.tx_drops,
    });
    uplinks.chain(veths).collect()
}

/// `vemcmd show port`.
pub fn render_ports(view: &PortsView) -> String {
    let mut text = String::from("  LTL   VSM Port  Admin Link  State  PC-LTL  SGID  Vem Port        Type\n");
    let rows = rows(view);
    for row in &rows {
        // PC-LTL 0: not in a port-channel; SGID (uplinks only: the mac-pinning sub-group) and
        // Type are blank for vEthernets.
        let line = format!(
            "{:>5} {:>10} {:>6} {:>4} {:>6} {:>7} {:>5}  {}",
            row.ltl,
            row.name,
            up_down(row.admin_up),
            up_down(row.link_up),
            if row.forwarding { "FWD" } else { "BLK" },
            0,
            row.sgid.map(|sgid| sgid.to_string()).unwrap_or_default(),
            row.vem_port,
        );
        let _ = writeln!(text, "{}", line.trim_end());
    }
    let blocked: Vec<&Row<'_>> = rows.iter().filter(|row| !row.forwarding).collect();
    if !blocked.is_empty() {
        text.push('\n');
        for row in blocked {
            let _ = writeln!(text, "* {} is blocked: {}", row.name, row.reason);
        }
    }
    text
}

/// `vemcmd show port vlans`.
pub fn render_port_vlans(view: &PortsView) -> String {
    let mut text = String::from(
        "                          Native  VLAN   Allowed\n  LTL   VSM Port  Mode    VLAN    State  Vlans\n",
    );
    for row in rows(view) {
        let mode = if row.trunk { "T" } else { "A" };
        let state = if row.forwarding { "FWD" } else { "BLK" };
        let _ = writeln!(
            text,
            "{:>5} {:>10} {:>5} {:>7}    {:<6} {}",
            row.ltl, row.name, mode, row.vlan, state, row.allowed_vlans
        );
    }
    text
}

/// `vemcmd show pinning`: which uplink each vEthernet is pinned to (mac-pinning).
pub fn render_pinning(view: &PortsView) -> String {
    let mut text = String::from("  LTL   VSM Port  Pinned to   SGID  Uplink LTL  Vem Port\n");
    let mut pins: Vec<(u32, u32, &UplinkView)> = view
        .uplinks
        .iter()
        .flat_map(|uplink| uplink.pinned.iter().map(move |(veth, ltl)| (*ltl, *veth, uplink)))
        .collect();
    pins.sort_by_key(|(ltl, _, _)| *ltl);
    for (ltl, veth, uplink) in &pins {
        let _ = writeln!(
            text,
            "{:>5} {:>10}  {:<10} {:>5} {:>11}  {}",
            ltl,
            format!("Veth{veth}"),
            uplink.name,
            uplink.sgid,
            uplink.ltl,
            uplink.iface
        );
    }
    let unpinned: Vec<String> = view
        .ports
        .iter()
        .filter(|port| port.forwarding && !pins.iter().any(|(ltl, _, _)| *ltl == port.ltl))
        .map(|port| format!("Veth{}", port.veth))
        .collect();
    if !view.uplinks.is_empty() && !unpinned.is_empty() {
        let _ =
            writeln!(text, "\n* not pinned (no usable uplink carries their VLAN): {}", unpinned.join(", "));
    }
    text
}

/// `vemcmd show l2 VLAN` (or `all`): one block per VLAN, then one per bridge-domain.
pub fn render_l2(entries: &[MacView], vlan: Option<u16>) -> String {
    let mut text = String::new();
    let mut rest = entries;
    while let Some(first) = rest.first() {
        let len = rest.iter().take_while(|entry| same_segment(entry, first)).count();
        let (block, after) = rest.split_at(len);
        if first.segment_id == 0 {
            vlan_block(&mut text, first.vlan, block);
        } else {
            bridge_domain_block(&mut text, &first.bridge_domain, first.segment_id, block);
        }
        rest = after;
    }
    match vlan {
        Some(vlan) if text.is_empty() => vlan_block(&mut text, vlan, &[]),
        None if text.is_empty() => text.push_str("no MAC addresses\n"),
        _ => {}
    }
    text
}

/// `vemcmd show l2 bd-name NAME`: the bridge-domain's block.
pub fn render_bridge_domain_l2(name: &str, segment_id: u32, entries: &[MacView]) -> String {
    let mut text = String::new();
    bridge_domain_block(&mut text, name, segment_id, entries);
    text
}

fn same_segment(a: &MacView, b: &MacView) -> bool {
    (a.vlan, a.segment_id) == (b.vlan, b.segment_id)
}

fn vlan_block(text: &mut String, vlan: u16, rows: &[MacView]) {
    let _ = writeln!(
        text,
        "VLAN {vlan}, MAC addresses {}, aging timeout {} s",
        rows.len(),
        DEFAULT_MAC_AGING.as_secs()
    );
    text.push_str("  Type         MAC Address   LTL   timeout  Port\n");
    for row in rows {
        let _ = writeln!(
            text,
            "  {:<8} {:>17} {:>5} {:>9}  {}",
            row.kind, row.mac, row.ltl, row.age_secs, row.port
        );
    }
}

/// A bridge-domain's entries: the VLAN table's columns and the remote VTEP (blank for a MAC
/// of this host).
fn bridge_domain_block(text: &mut String, name: &str, segment_id: u32, rows: &[MacView]) {
    let name = if name.is_empty() { "(no name on this host)" } else { name };
    let _ = writeln!(
        text,
        "Bridge-domain {name}, segment id {segment_id}, MAC addresses {}, aging timeout {} s",
        rows.len(),
        DEFAULT_MAC_AGING.as_secs()
    );
    text.push_str("  Type         MAC Address   LTL   timeout  Port     Remote VTEP\n");
    for row in rows {
        let line = format!(
            "  {:<8} {:>17} {:>5} {:>9}  {:<8} {}",
            row.kind, row.mac, row.ltl, row.age_secs, row.port, row.remote_vtep
        );
        let _ = writeln!(text, "{}", line.trim_end());
    }
}

/// `vemcmd show vxlan`: the VTEP, each bridge-domain's remote side, the tunnel's counters.
pub fn render_vxlan(view: &VxlanView) -> String {
    let mut text = match &view.vtep {
        None => "VTEP: none (the agent runs without --vtep: bridge-domains stay on this host)\n".to_owned(),
        Some(vtep) => {
            let interface = match (&vtep.interface, vtep.mtu) {
                (Some(ifname), Some(mtu)) => format!(
                    "interface {ifname}, MTU {mtu} (containers get {})",
                    mtu.saturating_sub(VXLAN_OVERHEAD)
                ),
                (Some(ifname), None) => format!("interface {ifname}, MTU unknown"),
                (None, _) => "interface unknown (the address is on no interface now)".to_owned(),
            };
            format!("VTEP: {}, UDP port {}, {interface}\n", vtep.address, vtep.udp_port)
        }
    };
    text.push_str("\nBridge-domain         Segment ID  SwInsta MACs  Learned MACs  Remote VTEPs\n");
    for domain in &view.bridge_domains {
        let vteps: Vec<String> = domain.remote_vteps.iter().map(ToString::to_string).collect();
        let vteps = if vteps.is_empty() { "none".to_owned() } else { vteps.join(", ") };
        let name = if domain.name.is_empty() { "-" } else { &domain.name };
        let _ = writeln!(
            text,
            "{name:<20} {:>11} {:>13} {:>13}  {vteps}",
            domain.segment_id, domain.installed_macs, domain.learned_macs
        );
    }
    if view.bridge_domains.is_empty() {
        text.push_str("(none: no port of this host is in a bridge-domain)\n");
    }
    let tunnel = &view.tunnel;
    let _ = writeln!(text, "\nTunnel {TUNNEL_NAME} (LTL {}){:>28}{:>16}", TUNNEL_LTL, "Packets", "Bytes");
    let mut counter = |label: &str, packets: u64, bytes: Option<u64>| {
        let bytes = bytes.map(|bytes| bytes.to_string()).unwrap_or_default();
        let line = format!("  {label:<34} {packets:>12} {bytes:>15}");
        let _ = writeln!(text, "{}", line.trim_end());
    };
    counter("Encapsulated", tunnel.encapsulated.packets, Some(tunnel.encapsulated.bytes));
    counter("Sent (UDP datagrams)", tunnel.sent_datagrams, Some(tunnel.sent_bytes));
    counter("Received (UDP payloads)", tunnel.received.packets, Some(tunnel.received.bytes));
    counter("Decapsulated", tunnel.decapsulated, None);
    counter("Dropped", tunnel.drops.iter().map(|drop| drop.count).sum(), None);
    for drop in &tunnel.drops {
        let _ = writeln!(text, "    {:<48} {:>12}", drop.reason, drop.count);
    }
    text
}

/// `vemcmd show stats`: every port's counters.
pub fn render_stats(view: &PortsView) -> String {
    let mut text = String::from(
        "  LTL   VSM Port      RxPkts       RxBytes   RxUcast   RxMcast   RxBcast      TxPkts       TxBytes   TxUcast   TxMcast   TxBcast   TxFlood   RxDrops   TxDrops\n",
    );
    for row in rows(view) {
        let (rx, tx) = (row.rx, row.tx);
        let _ = writeln!(
            text,
            "{:>5} {:>10} {:>11} {:>13} {:>9} {:>9} {:>9} {:>11} {:>13} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            row.ltl,
            row.name,
            rx.packets,
            rx.bytes,
            rx.unicast,
            rx.multicast,
            rx.broadcast,
            tx.packets,
            tx.bytes,
            tx.unicast,
            tx.multicast,
            tx.broadcast,
            tx.flood,
            row.rx_drops,
            row.tx_drops
        );
    }
    text
}

/// `vemcmd show drops`: drops by reason, per port, then for the whole switch.
pub fn render_drops(view: &PortsView) -> String {
    let mut text = String::from("  LTL   VSM Port  Reason                                          Drops\n");
    for row in rows(view) {
        for drop in row.drops {
            let _ = writeln!(text, "{:>5} {:>10}  {:<40} {:>12}", row.ltl, row.name, drop.reason, drop.count);
        }
    }
    for drop in &view.total_drops {
        let _ = writeln!(text, "Total {:>10}  {:<40} {:>12}", "", drop.reason, drop.count);
    }
    let total: u64 = view.total_drops.iter().map(|drop| drop.count).sum();
    let _ = writeln!(text, "Total {:>10}  {:<40} {:>12}", "", "all reasons", total);
    text
}

/// `vemcmd trace`: the frame's way through the datapath, one decision a line.
pub fn render_trace(view: &TraceView) -> String {
    let mut text = format!("trace: in {}\n", view.port);
    for line in &view.lines {
        let _ = writeln!(text, "  {line}");
    }
    text
}

fn up_down(up: bool) -> &'static str {
    if up { "UP" } else { "DOWN" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::PortView;

    fn card(state: ConnectionState) -> CardInfo {
        CardInfo {
            card_name: "bilbo".into(),
            host_id: "80c34566-7e89-4601-b4f9-001a64dc9054".into(),
            switch_name: "switch".into(),
            module: Some(3),
            supervisor: "https://127.0.0.1:7400".into(),
            supervisors: vec!["https://127.0.0.1:7400".into()],
            trust: "mutual TLS, certificate 3f8d expires in 29 d 23 h (renewed at two thirds of its life)"
                .into(),
            state,
            last_heartbeat_ack_ms: Some(420),
            policy_count: 2,
            policy_revision: 7,
            supervisor_revision: Some(7),
            max_virtual_ports: 248,
            addresses: vec!["10.77.0.11".into()],
            hardware: "Linux 6.1 x86_64".into(),
            version: "0.1.0".into(),
        }
    }

    #[test]
    fn show_card_layout() {
        let text = render_card(&card(ConnectionState::Connected));
        assert_eq!(
            text,
            "Card name: bilbo\n\
             Card UUID: 80c34566-7e89-4601-b4f9-001a64dc9054\n\
             Switch name: switch\n\
             Card slot (module): 3\n\
             Supervisor address: https://127.0.0.1:7400\n\
             Supervisor trust: mutual TLS, certificate 3f8d expires in 29 d 23 h (renewed at two thirds of its life)\n\
             Supervisor state: connected\n\
             Card Headless Mode : No\n\
             Heartbeat Set: True\n\
             Last heartbeat ack: 0.4 s ago\n\
             Max virtual ports: 248\n\
             Port-profiles in use on this host: 2 (revision 7)\n\
             Supervisor config revision: 7\n\
             Management addresses: 10.77.0.11\n\
             Software: 0.1.0\n\
             Hardware: Linux 6.1 x86_64\n"
        );
        let headless = render_card(&CardInfo {
            module: None,
            last_heartbeat_ack_ms: None,
            ..card(ConnectionState::Headless)
        });
        for line in [
            "Card slot (module): none (never registered)",
            "Supervisor state: headless",
            "Card Headless Mode : Yes",
            "Heartbeat Set: False",
            "Last heartbeat ack: never",
        ] {
            assert!(headless.contains(line), "{line:?} missing from\n{headless}");
        }
    }

    #[test]
    fn show_card_lists_the_supervisors_when_there_are_several() {
        let two = vec!["https://10.0.0.1:7400".to_owned(), "https://10.0.0.2:7400".to_owned()];
        let text = render_card(&CardInfo {
            supervisor: "https://10.0.0.2:7400".into(),
            supervisors: two,
            ..card(ConnectionState::Connected)
        });
        assert!(
            text.contains(
                "Supervisor address: https://10.0.0.2:7400\n\
                 Supervisors configured: https://10.0.0.1:7400, https://10.0.0.2:7400\n\
                 Supervisor trust:"
            ),
            "{text}"
        );
    }

    fn port(veth: u32, forwarding: bool) -> PortView {
        PortView {
            ltl: 48 + veth,
            veth,
            iface_id: format!("port-{veth}"),
            host_ifname: format!("sy00000000{veth:02}_0"),
            profile: "vlan100".into(),
            owner_name: format!("web{veth}"),
            container_ifname: "eth0".into(),
            mac: format!("02:00:00:00:00:{veth:02x}"),
            admin_up: forwarding,
            link_up: true,
            forwarding,
            reason: if forwarding { String::new() } else { "port-profile not found".into() },
            mode: "access".into(),
            vlan: 100,
            allowed_vlans: "100".into(),
            rx: Traffic { packets: 12, bytes: 1200, unicast: 10, multicast: 1, broadcast: 1, flood: 0 },
            tx: Traffic { packets: 9, bytes: 900, unicast: 8, multicast: 0, broadcast: 1, flood: 2 },
            drops: if forwarding {
                vec![]
            } else {
                vec![DropCount { reason: "port-profile not found".into(), count: 3 }]
            },
            rx_drops: if forwarding { 0 } else { 3 },
            tx_drops: 0,
        }
    }

    fn ports() -> PortsView {
        PortsView {
            ports: vec![port(1, true), port(2, false)],
            uplinks: Vec::new(),
            total_drops: vec![DropCount { reason: "port-profile not found".into(), count: 3 }],
        }
    }

    #[test]
    fn show_port_layout() {
        assert_eq!(
            render_ports(&ports()),
            "  LTL   VSM Port  Admin Link  State  PC-LTL  SGID  Vem Port        Type\n\
             \x20  49      Veth1     UP   UP    FWD       0        sy0000000001_0\n\
             \x20  50      Veth2   DOWN   UP    BLK       0        sy0000000002_0\n\
             \n\
             * Veth2 is blocked: port-profile not found\n"
        );
    }

    #[test]
    fn show_port_vlans_layout() {
        assert_eq!(
            render_port_vlans(&ports()),
            "                          Native  VLAN   Allowed\n\
             \x20 LTL   VSM Port  Mode    VLAN    State  Vlans\n\
             \x20  49      Veth1     A     100    FWD    100\n\
             \x20  50      Veth2     A     100    BLK    100\n"
        );
    }

    fn with_uplinks() -> PortsView {
        let uplink = |index: u32, up: bool, pinned: Vec<(u32, u32)>| UplinkView {
            ltl: 16 + index,
            index,
            name: format!("Eth3/{index}"),
            iface: format!("eth{index}"),
            profile: "system-uplink".into(),
            admin_up: true,
            link_up: up,
            forwarding: up,
            reason: if up { String::new() } else { "Link not connected".into() },
            mode: "trunk".into(),
            native_vlan: 1,
            allowed_vlans: "100-102".into(),
            sgid: index - 1,
            pinned,
            rx: Traffic::default(),
            tx: Traffic::default(),
            drops: vec![DropCount { reason: "VLAN not allowed on port".into(), count: 2 }],
            rx_drops: 2,
            tx_drops: 0,
        };
        PortsView { uplinks: vec![uplink(1, true, vec![(1, 49)]), uplink(2, false, vec![])], ..ports() }
    }

    #[test]
    fn uplinks_come_first_with_their_sub_group() {
        let view = with_uplinks();
        assert_eq!(
            render_ports(&view),
            "  LTL   VSM Port  Admin Link  State  PC-LTL  SGID  Vem Port        Type\n\
             \x20  17     Eth3/1     UP   UP    FWD       0     0  eth1\n\
             \x20  18     Eth3/2     UP DOWN    BLK       0     1  eth2\n\
             \x20  49      Veth1     UP   UP    FWD       0        sy0000000001_0\n\
             \x20  50      Veth2   DOWN   UP    BLK       0        sy0000000002_0\n\
             \n\
             * Eth3/2 is blocked: Link not connected\n\
             * Veth2 is blocked: port-profile not found\n"
        );
        let vlans = render_port_vlans(&view);
        assert!(vlans.contains("   17     Eth3/1     T       1    FWD    100-102\n"), "{vlans}");
        let drops = render_drops(&view);
        assert!(
            drops.lines().any(|line| line.starts_with("   18     Eth3/2  VLAN not allowed on port")),
            "{drops}"
        );
        assert!(render_stats(&view).lines().any(|line| line.starts_with("   17     Eth3/1")));
        assert_eq!(
            render_pinning(&view),
            "  LTL   VSM Port  Pinned to   SGID  Uplink LTL  Vem Port\n\
             \x20  49      Veth1  Eth3/1         0          17  eth1\n"
        );
    }

    fn mac(vlan: u16, segment_id: u32, last: u8, kind: &str, ltl: u32, port: &str, vtep: &str) -> MacView {
        MacView {
            vlan,
            bridge_domain: if segment_id == 0 { String::new() } else { "tenant-red".into() },
            segment_id,
            mac: format!("02:00:00:00:00:{last:02x}"),
            kind: kind.into(),
            ltl,
            port: port.into(),
            age_secs: if kind == "Dynamic" { 12 } else { 0 },
            remote_vtep: vtep.into(),
        }
    }

    #[test]
    fn show_l2_layout() {
        let entries = [mac(100, 0, 1, "Static", 49, "Veth1", ""), mac(100, 0, 9, "Dynamic", 50, "Veth2", "")];
        assert_eq!(
            render_l2(&entries, Some(100)),
            "VLAN 100, MAC addresses 2, aging timeout 300 s\n\
             \x20 Type         MAC Address   LTL   timeout  Port\n\
             \x20 Static   02:00:00:00:00:01    49         0  Veth1\n\
             \x20 Dynamic  02:00:00:00:00:09    50        12  Veth2\n"
        );
        assert_eq!(
            render_l2(&[], Some(7)),
            "VLAN 7, MAC addresses 0, aging timeout 300 s\n  Type         MAC Address   LTL   timeout  Port\n"
        );
        assert_eq!(render_l2(&[], None), "no MAC addresses\n");
    }

    #[test]
    fn show_l2_bd_name_layout() {
        let entries = [
            mac(0, 5000, 1, "Static", 49, "Veth1", ""),
            mac(0, 5000, 2, "SwInsta", 10, "vxlan", "10.77.0.12"),
            mac(0, 5000, 3, "Dynamic", 10, "vxlan", "10.77.0.13"),
        ];
        assert_eq!(
            render_bridge_domain_l2("tenant-red", 5000, &entries),
            "Bridge-domain tenant-red, segment id 5000, MAC addresses 3, aging timeout 300 s\n\
             \x20 Type         MAC Address   LTL   timeout  Port     Remote VTEP\n\
             \x20 Static   02:00:00:00:00:01    49         0  Veth1\n\
             \x20 SwInsta  02:00:00:00:00:02    10         0  vxlan    10.77.0.12\n\
             \x20 Dynamic  02:00:00:00:00:03    10        12  vxlan    10.77.0.13\n"
        );
        assert_eq!(
            render_bridge_domain_l2("empty", 6000, &[]),
            "Bridge-domain empty, segment id 6000, MAC addresses 0, aging timeout 300 s\n\
             \x20 Type         MAC Address   LTL   timeout  Port     Remote VTEP\n"
        );
    }

    #[test]
    fn show_l2_all_has_vlans_then_bridge_domains() {
        let mut unnamed = mac(0, 7000, 4, "Dynamic", 49, "Veth1", "");
        unnamed.bridge_domain.clear();
        let entries = [
            mac(100, 0, 1, "Static", 49, "Veth1", ""),
            mac(200, 0, 1, "Static", 51, "Veth3", ""),
            mac(0, 5000, 2, "SwInsta", 10, "vxlan", "10.77.0.12"),
            unnamed,
        ];
        let text = render_l2(&entries, None);
        let headers: Vec<&str> = text.lines().filter(|line| !line.starts_with("  ")).collect();
        assert_eq!(
            headers,
            [
                "VLAN 100, MAC addresses 1, aging timeout 300 s",
                "VLAN 200, MAC addresses 1, aging timeout 300 s",
                "Bridge-domain tenant-red, segment id 5000, MAC addresses 1, aging timeout 300 s",
                "Bridge-domain (no name on this host), segment id 7000, MAC addresses 1, aging timeout 300 s",
            ]
        );
        assert!(
            text.contains("\n  SwInsta  02:00:00:00:00:02    10         0  vxlan    10.77.0.12\n"),
            "{text}"
        );
    }

    fn vxlan_view() -> VxlanView {
        use crate::ports::{BridgeDomainOverlay, TunnelCounters, VtepView};
        VxlanView {
            vtep: Some(VtepView {
                address: [10, 77, 0, 11].into(),
                udp_port: 4789,
                interface: Some("ul0".into()),
                mtu: Some(1500),
            }),
            bridge_domains: vec![
                BridgeDomainOverlay {
                    name: "tenant-red".into(),
                    segment_id: 5000,
                    remote_vteps: vec![[10, 77, 0, 12].into(), [10, 77, 0, 13].into()],
                    installed_macs: 2,
                    learned_macs: 1,
                },
                BridgeDomainOverlay {
                    name: "tenant-blue".into(),
                    segment_id: 6000,
                    remote_vteps: vec![],
                    installed_macs: 0,
                    learned_macs: 0,
                },
            ],
            tunnel: TunnelCounters {
                encapsulated: Traffic { packets: 12, bytes: 1400, ..Traffic::default() },
                sent_datagrams: 13,
                sent_bytes: 2100,
                received: Traffic { packets: 10, bytes: 1200, ..Traffic::default() },
                decapsulated: 7,
                drops: vec![
                    DropCount { reason: "VXLAN segment id of no local bridge-domain".into(), count: 2 },
                    DropCount { reason: "VXLAN source is not a VTEP of the bridge-domain".into(), count: 1 },
                ],
            },
        }
    }

    #[test]
    fn show_vxlan_layout() {
        assert_eq!(
            render_vxlan(&vxlan_view()),
            "VTEP: 10.77.0.11, UDP port 4789, interface ul0, MTU 1500 (containers get 1450)\n\
             \n\
             Bridge-domain         Segment ID  SwInsta MACs  Learned MACs  Remote VTEPs\n\
             tenant-red                  5000             2             1  10.77.0.12, 10.77.0.13\n\
             tenant-blue                 6000             0             0  none\n\
             \n\
             Tunnel vxlan (LTL 10)                     Packets           Bytes\n\
             \x20 Encapsulated                                 12            1400\n\
             \x20 Sent (UDP datagrams)                         13            2100\n\
             \x20 Received (UDP payloads)                      10            1200\n\
             \x20 Decapsulated                                  7\n\
             \x20 Dropped                                       3\n\
             \x20   VXLAN segment id of no local bridge-domain                  2\n\
             \x20   VXLAN source is not a VTEP of the bridge-domain             1\n"
        );
        let off = render_vxlan(&VxlanView::default());
        assert!(off.starts_with("VTEP: none (the agent runs without --vtep"), "{off}");
        assert!(off.contains("(none: no port of this host is in a bridge-domain)"), "{off}");
        let gone = render_vxlan(&VxlanView {
            vtep: Some(crate::ports::VtepView {
                address: [10, 77, 0, 11].into(),
                udp_port: 8472,
                interface: None,
                mtu: None,
            }),
            ..VxlanView::default()
        });
        assert!(
            gone.starts_with(
                "VTEP: 10.77.0.11, UDP port 8472, interface unknown (the address is on no interface now)\n"
            ),
            "{gone}"
        );
    }

    #[test]
    fn show_stats_and_drops_layouts() {
        let stats = render_stats(&ports());
        let lines: Vec<&str> = stats.lines().collect();
        assert_eq!(lines.len(), 3);
        let columns: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(
            columns,
            ["50", "Veth2", "12", "1200", "10", "1", "1", "9", "900", "8", "0", "1", "2", "3", "0"]
        );
        assert_eq!(lines[0].split_whitespace().count(), 16, "{}", lines[0]);

        let drops = render_drops(&ports());
        let lines: Vec<&str> = drops.lines().collect();
        assert_eq!(lines.len(), 4, "{drops}");
        assert!(
            lines[1].starts_with("   50      Veth2  port-profile not found") && lines[1].ends_with(" 3"),
            "{drops}"
        );
        assert!(lines[2].starts_with("Total") && lines[2].contains("port-profile not found"), "{drops}");
        assert!(
            lines[3].starts_with("Total") && lines[3].contains("all reasons") && lines[3].ends_with(" 3"),
            "{drops}"
        );
    }

    #[test]
    fn trace_layout() {
        let view = TraceView {
            port: "Veth1 (LTL 49)".into(),
            lines: vec!["frame x".into(), "dropped: port down".into()],
        };
        assert_eq!(render_trace(&view), "trace: in Veth1 (LTL 49)\n  frame x\n  dropped: port down\n");
    }
}
