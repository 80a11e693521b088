//! An exporter's counters, for `show flow exporter`.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// What one exporter has sent since it was configured: `show flow exporter`'s counters, sent to
/// the supervisor with the agent's other stats.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExporterStats {
    /// The exporter's name.
    pub name: String,
    /// The collector.
    pub collector: Option<SocketAddr>,
    /// `ipfix` or `9`.
    pub version: String,
    /// Flow records in packets the kernel accepted.
    pub records_exported: u64,
    /// Packets sent (data and template).
    pub packets_sent: u64,
    /// Packets that carried templates.
    pub templates_sent: u64,
    /// Packets not sent, and exports that found no socket open.
    pub send_errors: u64,
    /// Records lost to send errors.
    pub records_dropped: u64,
    /// The last error, as a sentence.
    pub last_error: Option<String>,
}
