//! `vemcmd show conntrack` and `show flows`: the flow table's entries as the local API carries
//! them.

use serde::{Deserialize, Serialize};

/// The connection tracker: its fill and every connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConntrackView {
    /// Entries in the flow table (flows and connections share it) and its size.
    pub entries: u64,
    pub capacity: u64,
    /// New connections denied because the table was full.
    pub full_drops: u64,
    pub connections: Vec<ConnectionView>,
}

/// One tracked connection, in its original direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    /// The port whose stateful permit started it (`Veth3`).
    pub port: String,
    /// `in` (its input list) or `out`.
    pub direction: String,
    /// `tcp`, `udp`, `icmp`, or the protocol number.
    pub protocol: String,
    /// `10.0.0.1:40000`, `[2001:db8::1]:22`.
    pub src: String,
    pub dst: String,
    /// `ESTABLISHED`, `SYN_SENT`, …
    pub state: String,
    pub expires_in_secs: u64,
}

/// One flow of the flow table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowView {
    pub input: String,
    /// The port it last left by; `flood` when flooded.
    pub output: String,
    pub protocol: String,
    pub src: String,
    pub dst: String,
    pub packets: u64,
    pub bytes: u64,
    /// Seconds since its last packet.
    pub idle_secs: u64,
    /// Exported by a flow monitor (`input`, `output`, `both`), empty when not.
    pub monitored: String,
}
