//! `vemcmd show conntrack` and `show flows`: the flow table's tables.

use std::fmt::Write as _;

use crate::ports::flow_view::{ConntrackView, FlowView};

/// `vemcmd show conntrack`: the table's fill, then one connection a line.
pub fn render_conntrack(view: &ConntrackView) -> String {
    let mut text = format!(
        "Flow table entries: {} of {}; new connections denied (table full): {}\n",
        view.entries, view.capacity, view.full_drops
    );
    text.push_str("  Port      Dir  Proto   Source                                   Destination                              State        Expires\n");
    for conn in &view.connections {
        let _ = writeln!(
            text,
            "  {:<9} {:<4} {:<7} {:<40} {:<40} {:<12} {} s",
            conn.port, conn.direction, conn.protocol, conn.src, conn.dst, conn.state, conn.expires_in_secs
        );
    }
    let _ = writeln!(text, "Total connections: {}", view.connections.len());
    text
}

/// `vemcmd show flows`: one flow a line, with its counters.
pub fn render_flows(flows: &[FlowView]) -> String {
    let mut text = String::from(
        "  In        Out       Proto   Source                                   Destination                                 Packets          Bytes   Idle  Export\n",
    );
    for flow in flows {
        let _ = writeln!(
            text,
            "  {:<9} {:<9} {:<7} {:<40} {:<40} {:>10} {:>14} {:>5}s  {}",
            flow.input,
            flow.output,
            flow.protocol,
            flow.src,
            flow.dst,
            flow.packets,
            flow.bytes,
            flow.idle_secs,
            flow.monitored
        );
    }
    let _ = writeln!(text, "Total flows: {}", flows.len());
    text.lines().map(str::trim_end).fold(String::new(), |mut all, line| {
        all.push_str(line);
        all.push('\n');
        all
    })
}
