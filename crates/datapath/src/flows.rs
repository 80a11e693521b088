//! What the flow table shows the rest of the agent: flows (`vemcmd show flows`, flow export),
//! tracked connections (`vemcmd show conntrack`, `clear`), access-list hit counters.

use std::net::IpAddr;
use std::time::Duration;

use crate::acl::{AclHits, Family};
use crate::conntrack::{ConnDirection, ConnState};
use crate::flow_table::{FlowEntry, MONITOR_INPUT, MONITOR_OUTPUT, Role};
use crate::mac_table::nanos;
use crate::packet::ip;
use crate::policy::FlowTableCounters;
use crate::{Datapath, PortId, Segment};

/// One flow as it entered the switch, with its counters: a row of `vemcmd show flows` or a
/// record for the flow exporter (NetFlow's `netflow-original` fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRecord {
    /// IPv4 or IPv6.
    pub family: Family,
    /// IP protocol number.
    pub protocol: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// TCP/UDP source port; for ICMP echo, the identifier.
    pub src_port: u16,
    /// TCP/UDP destination port; for ICMP, `type << 8 | code` (as NetFlow exports it).
    pub dst_port: u16,
    /// IPv4 ToS / IPv6 traffic class of the last packet.
    pub tos: u8,
    /// TCP flags of every packet, ORed.
    pub tcp_flags: u8,
    /// Packets (in an export record: since the flow's previous record).
    pub packets: u64,
    /// IP bytes, headers included (likewise).
    pub bytes: u64,
    /// First packet, since the datapath's epoch.
    pub first: Duration,
    /// Last packet.
    pub last: Duration,
    /// The port it entered by ([`crate::TUNNEL_PORT`] from VXLAN).
    pub input: PortId,
    /// The port it last left by; `PortId(0)` if flooded (or not sent yet).
    pub output: PortId,
    /// Its VLAN or bridge-domain.
    pub segment: Segment,
    /// Its input port monitors flows (`ip flow monitor … input`).
    pub monitored_input: bool,
    /// An output port it left by monitors flows (`ip flow monitor … output`).
    pub monitored_output: bool,
    /// Its connection, if a stateful permit on its input port started one.
    pub connection: Option<ConnState>,
}

/// One tracked connection, as `vemcmd show conntrack` lists it (original direction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The port whose list's stateful permit started it.
    pub port: PortId,
    /// Whether that was the port's input or output list.
    pub direction: ConnDirection,
    /// IPv4 or IPv6.
    pub family: Family,
    /// IP protocol number.
    pub protocol: u8,
    /// The originator.
    pub src: IpAddr,
    /// The responder.
    pub dst: IpAddr,
    /// Source port (ICMP: echo identifier).
    pub src_port: u16,
    /// Destination port (ICMP: `type << 8 | code`).
    pub dst_port: u16,
    /// Its VLAN or bridge-domain.
    pub segment: Segment,
    /// Where it is in its life.
    pub state: ConnState,
    /// Time left without a packet before it expires.
    pub expires_in: Duration,
}

fn family(v6: bool) -> Family {
    if v6 { Family::V6 } else { Family::V4 }
}

fn record(entry: &FlowEntry, packets: u64, bytes: u64, now: u64) -> FlowRecord {
    let key = &entry.key;
    FlowRecord {
        family: family(key.v6),
        protocol: key.protocol,
        src: ip(key.src, key.v6),
        dst: ip(key.dst, key.v6),
        src_port: key.src_port,
        dst_port: key.dst_port,
        tos: entry.tos,
        tcp_flags: entry.tcp_flags,
        packets,
        bytes,
        first: Duration::from_nanos(entry.first_seen),
        last: Duration::from_nanos(entry.last_seen),
        input: PortId(key.port),
        output: PortId(entry.out_port),
        segment: key.segment,
        monitored_input: entry.monitor & MONITOR_INPUT != 0,
        monitored_output: entry.monitor & MONITOR_OUTPUT != 0,
        connection: entry.live_conn(now).map(|conn| conn.state),
    }
}

impl Datapath {
    /// Every live flow with its total counters, monitored or not (allocates: for `show`).
    pub fn flows(&self, now: Duration) -> Vec<FlowRecord> {
        let now = nanos(now);
        let flows = &self.policy.flows;
        let mut rows: Vec<FlowRecord> = flows
            .iter()
            .filter(|(_, entry)| entry.key.role == Role::Flow && !entry.expired(now) && entry.packets > 0)
            .map(|(_, entry)| record(entry, entry.packets, entry.bytes, now))
            .collect();
        rows.sort_by_key(|row| (row.input, row.first, row.src, row.dst, row.src_port, row.dst_port));
        rows
    }

    /// Appends to `out` the export records due at `now` of monitored flows (input or output):
    /// a flow idle for `inactive` gets its last record and leaves the table (unless a
    /// connection keeps it); a flow active for `active` since its last record gets one and
    /// goes on. A record counts the packets and bytes since the flow's previous record.
    /// Scans the whole table: call it about once a second, not per batch. Allocates nothing
    /// if `out` has room.
    pub fn expired_flows(
        &mut self,
        now: Duration,
        active: Duration,
        inactive: Duration,
        out: &mut Vec<FlowRecord>,
    ) {
        let now = nanos(now);
        let (active, inactive) = (nanos(active), nanos(inactive));
        let flows = &mut self.policy.flows;
        for id in 0..flows.id_bound() {
            if !flows.is_live(id) {
                continue;
            }
            let entry = flows.get_mut(id);
            if entry.monitor == 0 || entry.key.role != Role::Flow {
                continue;
            }
            let idle = now.saturating_sub(entry.last_seen) >= inactive;
            let due = now.saturating_sub(entry.exported_at) >= active;
            if entry.delta_packets > 0 && (idle || due) {
                out.push(record(entry, entry.delta_packets, entry.delta_bytes, now));
                entry.delta_packets = 0;
                entry.delta_bytes = 0;
                entry.exported_at = now;
            }
            if idle && entry.live_conn(now).is_none() {
                flows.remove(id);
                self.policy.counters.expired += 1;
            }
        }
    }

    /// Every live tracked connection (allocates: for `vemcmd show conntrack`).
    pub fn connections(&self, now: Duration) -> Vec<Connection> {
        let now = nanos(now);
        let mut rows: Vec<Connection> = (self.policy.flows.iter())
            .filter_map(|(_, entry)| {
                let conn = entry.live_conn(now)?;
                let key = &entry.key;
                Some(Connection {
                    port: PortId(key.port),
                    direction: conn.direction,
                    family: family(key.v6),
                    protocol: key.protocol,
                    src: ip(key.src, key.v6),
                    dst: ip(key.dst, key.v6),
                    src_port: key.src_port,
                    dst_port: key.dst_port,
                    segment: key.segment,
                    state: conn.state,
                    expires_in: Duration::from_nanos(conn.expires.saturating_sub(now)),
                })
            })
            .collect();
        rows.sort_by_key(|row| (row.port, row.direction, row.src, row.dst, row.src_port, row.dst_port));
        rows
    }

    /// Forgets every tracked connection (`clear conntrack`): their replies are denied from the
    /// next frame unless a rule permits them; flows keep their counters.
    pub fn clear_conntrack(&mut self) {
        let flows = &mut self.policy.flows;
        for id in 0..flows.id_bound() {
            if !flows.is_live(id) {
                continue;
            }
            let entry = flows.get_mut(id);
            entry.conn = None;
            // Cached links to connections are gone too: recheck every verdict.
            entry.generation = entry.generation.wrapping_sub(1);
            if entry.key.role == Role::OutConnection {
                flows.remove(id);
            }
        }
    }

    /// Every access-list entry's hit count (`show ip access-lists`'s `[match=N]`), list by list
    /// in rule order, each list's implicit deny last (`seq: None`).
    pub fn acl_hits(&self) -> impl Iterator<Item = AclHits> + '_ {
        self.policy.hits(self.config())
    }

    /// Size and events of the flow table.
    pub fn flow_counters(&self) -> FlowTableCounters {
        FlowTableCounters {
            entries: self.policy.flows.len() as u64,
            capacity: self.policy.flows.capacity() as u64,
            ..self.policy.counters
        }
    }
}
