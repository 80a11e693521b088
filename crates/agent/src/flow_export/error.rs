//! Why an export failed; reported as [`ExporterStats::last_error`](super::ExporterStats).

use std::io;
use std::net::SocketAddr;

/// A failure of one exporter, counted in its stats.
#[derive(Debug, thiserror::Error)]
pub enum FlowExportError {
    /// No UDP socket towards the collector could be opened.
    #[error("cannot open a UDP socket to {collector}: {source}")]
    Open {
        /// The collector.
        collector: SocketAddr,
        /// What the kernel said.
        source: io::Error,
    },
    /// A packet was not sent (the socket's buffer stayed full, or the kernel refused it).
    #[error("sending to {collector} failed: {source}")]
    Send {
        /// The collector.
        collector: SocketAddr,
        /// What the kernel said.
        source: io::Error,
    },
    /// The configured mtu cannot hold one record.
    #[error("cannot encode flow records: {0}")]
    Encode(#[from] wire::Error),
}
