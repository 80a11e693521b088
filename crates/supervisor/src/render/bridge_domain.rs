//! `show bridge-domain [X]`, `show bridge-domain X vteps`, `show bridge-domain X mac`, after the
//! Nexus 1000V's layouts (unicast-only mode: the supervisor distributes VTEPs and MACs).

use super::text::{cell, dotted_mac, line};
use crate::bridge_domain_views::BridgeDomainView;

/// Renders every bridge-domain (`show bridge-domain`) or the given ones, blocks apart.
pub fn show_bridge_domain(views: &[BridgeDomainView]) -> String {
    let mut out = String::new();
    out.push_str("Global Configuration:\nMode: Unicast-only\nMAC Distribution: Enable\n");
    for view in views {
        let veths = view.veths();
        out.push('\n');
        line(&mut out, format_args!("Bridge-domain {} ({} ports in all)", view.name, veths.len()));
        match view.segment_id {
            Some(segment) => line(&mut out, format_args!("Segment ID: {segment} (Manual/Active)")),
            None => line(&mut out, format_args!("Segment ID: none")),
        }
        out.push_str("Mode: Unicast-only (default)\nMAC Distribution: Enable (default)\n");
        line(&mut out, format_args!("{}Mac learning: Enabled", cell(&format!("State: {}", state(view)), 24)));
        let ports: Vec<String> = veths.iter().map(|veth| format!("Veth{veth}")).collect();
        if !ports.is_empty() {
            line(&mut out, format_args!("{}", ports.join(", ")));
        }
    }
    out
}

/// Renders `show bridge-domain X vteps`: the VTEPs with members, one line per member module
/// (offline ones marked).
pub fn show_bridge_domain_vteps(view: &BridgeDomainView) -> String {
    let mut out = header(view);
    out.push_str("VTEP-IP          Module  Host                 Ports\n");
    out.push_str("---------------  ------  -------------------  ------------------------------\n");
    for member in &view.members {
        let vtep = member.vtep.map_or_else(|| "(none)".to_owned(), |vtep| vtep.to_string());
        let ports: Vec<String> = member.ports.iter().map(|port| format!("Veth{}", port.veth)).collect();
        // An offline member is listed, but no other VTEP is told of it until it returns.
        let offline = if member.online { "" } else { " (module offline)" };
        line(
            &mut out,
            format_args!(
                "{}{}{}{}{offline}",
                cell(&vtep, 17),
                cell(&member.module.to_string(), 8),
                cell(&member.host_name, 21),
                ports.join(", ")
            ),
        );
    }
    line(&mut out, format_args!("Total VTEPs: {}", view.vteps().len()));
    out
}

/// Renders `show bridge-domain X mac`: the MACs of its attached ports, as the supervisor
/// distributes them to the member VTEPs.
pub fn show_bridge_domain_mac(view: &BridgeDomainView) -> String {
    let mut out = header(view);
    out.push_str("Mac Address     Module  Port      VTEP-IP\n");
    out.push_str("--------------  ------  --------  ---------------\n");
    let mut rows: Vec<(String, u32, u32, String)> = view
        .members
        .iter()
        .flat_map(|member| {
            let vtep = member.vtep.map_or_else(|| "(none)".to_owned(), |vtep| vtep.to_string());
            member
                .ports
                .iter()
                .map(move |port| (dotted_mac(&port.mac), member.module, port.veth, vtep.clone()))
        })
        .collect();
    rows.sort();
    for (mac, module, veth, vtep) in &rows {
        line(
            &mut out,
            format_args!(
                "{}{}{}{vtep}",
                cell(mac, 16),
                cell(&module.to_string(), 8),
                cell(&format!("Veth{veth}"), 10)
            ),
        );
    }
    line(&mut out, format_args!("Total MAC Addresses: {}", rows.len()));
    out
}

fn state(view: &BridgeDomainView) -> &'static str {
    if view.up { "UP" } else { "DOWN" }
}

fn header(view: &BridgeDomainView) -> String {
    let mut out = String::new();
    let segment = view.segment_id.map_or_else(|| "none".to_owned(), |segment| segment.to_string());
    line(&mut out, format_args!("Bridge-domain: {}", view.name));
    line(&mut out, format_args!("Segment ID: {segment}  State: {}", state(view)));
    out
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::bridge_domain_views::BridgeDomainMember;
    use crate::overlay::DomainPort;

    fn red() -> BridgeDomainView {
        let member =
            |module: u32, host: &str, vtep: Option<[u8; 4]>, ports: &[(u32, &str)]| BridgeDomainMember {
                module,
                host_name: host.into(),
                vtep: vtep.map(Ipv4Addr::from),
                online: true,
                ports: ports.iter().map(|&(veth, mac)| DomainPort { veth, mac: mac.into() }).collect(),
            };
        BridgeDomainView {
            name: "tenant-red".into(),
            segment_id: Some(5000),
            up: true,
            members: vec![
                member(
                    3,
                    "bilbo",
                    Some([10, 78, 0, 11]),
                    &[(1, "02:00:00:00:00:01"), (3, "02:00:00:00:00:03")],
                ),
                member(4, "frodo", Some([10, 78, 0, 12]), &[(2, "02:00:00:00:00:02")]),
                member(5, "sam", None, &[(4, "02:00:00:00:00:04")]),
            ],
        }
    }

    #[test]
    fn summary_lists_segment_state_and_ports() {
        let empty =
            BridgeDomainView { name: "blue".into(), segment_id: None, up: false, members: Vec::new() };
        let expected = "\
Global Configuration:
Mode: Unicast-only
MAC Distribution: Enable

Bridge-domain blue (0 ports in all)
Segment ID: none
Mode: Unicast-only (default)
MAC Distribution: Enable (default)
State: DOWN             Mac learning: Enabled

Bridge-domain tenant-red (4 ports in all)
Segment ID: 5000 (Manual/Active)
Mode: Unicast-only (default)
MAC Distribution: Enable (default)
State: UP               Mac learning: Enabled
Veth1, Veth2, Veth3, Veth4
";
        assert_eq!(show_bridge_domain(&[empty, red()]), expected);
    }

    #[test]
    fn vteps_and_macs() {
        let expected = "\
Bridge-domain: tenant-red
Segment ID: 5000  State: UP
VTEP-IP          Module  Host                 Ports
---------------  ------  -------------------  ------------------------------
10.78.0.11       3       bilbo                Veth1, Veth3
10.78.0.12       4       frodo                Veth2
(none)           5       sam                  Veth4
Total VTEPs: 2
";
        assert_eq!(show_bridge_domain_vteps(&red()), expected);
        let expected = "\
Bridge-domain: tenant-red
Segment ID: 5000  State: UP
Mac Address     Module  Port      VTEP-IP
--------------  ------  --------  ---------------
0200.0000.0001  3       Veth1     10.78.0.11
0200.0000.0002  4       Veth2     10.78.0.12
0200.0000.0003  3       Veth3     10.78.0.11
0200.0000.0004  5       Veth4     (none)
Total MAC Addresses: 4
";
        assert_eq!(show_bridge_domain_mac(&red()), expected);
    }
}
