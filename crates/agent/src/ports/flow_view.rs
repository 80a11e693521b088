//! `vemcmd show conntrack` and `show flows`: the flow table's entries as the local API carries
//! them ([`agent_api::ports::flow_view`]), built here, pure.

use std::net::IpAddr;

pub use agent_api::ports::flow_view::{ConnectionView, ConntrackView, FlowView};
use datapath::{ConnDirection, Connection, FlowRecord, FlowTableCounters, PortId};

/// The connections and the table's fill; `name_of` names ports.
pub fn conntrack_view(
    connections: &[Connection],
    table: &FlowTableCounters,
    full_drops: u64,
    name_of: impl Fn(PortId) -> String,
) -> ConntrackView {
    let connections = connections
        .iter()
        .map(|conn| ConnectionView {
            port: name_of(conn.port),
            direction: match conn.direction {
                ConnDirection::In => "in",
                ConnDirection::Out => "out",
            }
            .to_owned(),
            protocol: protocol(conn.protocol),
            src: endpoint(conn.src, conn.src_port, conn.protocol),
            dst: endpoint(conn.dst, conn.dst_port, conn.protocol),
            state: conn.state.to_string(),
            expires_in_secs: conn.expires_in.as_secs(),
        })
        .collect();
    ConntrackView { entries: table.entries, capacity: table.capacity, full_drops, connections }
}

/// The flows, at datapath time `now`.
pub fn flow_views(
    flows: &[FlowRecord],
    now: std::time::Duration,
    name_of: impl Fn(PortId) -> String,
) -> Vec<FlowView> {
    flows
        .iter()
        .map(|flow| FlowView {
            input: name_of(flow.input),
            output: if flow.output == PortId(0) { "flood".to_owned() } else { name_of(flow.output) },
            protocol: protocol(flow.protocol),
            src: endpoint(flow.src, flow.src_port, flow.protocol),
            dst: endpoint(flow.dst, flow.dst_port, flow.protocol),
            packets: flow.packets,
            bytes: flow.bytes,
            idle_secs: now.saturating_sub(flow.last).as_secs(),
            monitored: match (flow.monitored_input, flow.monitored_output) {
                (true, true) => "both",
                (true, false) => "input",
                (false, true) => "output",
                (false, false) => "",
            }
            .to_owned(),
        })
        .collect()
}

fn protocol(number: u8) -> String {
    match number {
        1 => "icmp".to_owned(),
        6 => "tcp".to_owned(),
        17 => "udp".to_owned(),
        58 => "icmpv6".to_owned(),
        other => other.to_string(),
    }
}

/// `10.0.0.1:80`, `[2001:db8::1]:80`; ICMP has no port: the address alone.
fn endpoint(address: IpAddr, port: u16, protocol: u8) -> String {
    match (address, protocol) {
        (_, 1 | 58) => address.to_string(),
        (IpAddr::V4(v4), _) => format!("{v4}:{port}"),
        (IpAddr::V6(v6), _) => format!("[{v6}]:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_read_as_addresses_and_ports() {
        assert_eq!(endpoint("10.0.0.1".parse().expect("ip"), 80, 6), "10.0.0.1:80");
        assert_eq!(endpoint("2001:db8::1".parse().expect("ip"), 22, 6), "[2001:db8::1]:22");
        assert_eq!(endpoint("10.0.0.1".parse().expect("ip"), 0x0800, 1), "10.0.0.1");
        assert_eq!(protocol(47), "47");
    }
}
