//! Flow export: this agent's flow records sent straight to the collectors of its `flow exporter`s
//! (data never passes the supervisor), as IPFIX or NetFlow v9 over UDP.
//!
//! The encoding is [`wire::flow_export`]'s pure [`Exporter`](wire::flow_export::Exporter); this
//! module is the I/O shell around it: one UDP socket per exporter, the wall clock, counters for
//! `show flow exporter`. It does not know where records come from: the datapath's flow table
//! produces [`FlowRecord`]s and the caller hands them to [`FlowExport::export`] (interfaces named
//! by [`ifindex()`]).
//!
//! Sends block while the socket's buffer is full, for at most [`SEND_TIMEOUT`]: call
//! [`FlowExport::export`] from a thread that may wait that long, not from the packet loop.

mod config;
mod destination;
mod error;
pub mod ifindex;
mod stats;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use config::ExporterConfig;
use destination::Destination;
pub use error::FlowExportError;
pub use ifindex::ifindex;
pub use stats::ExporterStats;
pub use wire::flow_export::{FlowAddresses, FlowDirection, FlowRecord, TemplateRefresh, Version};

/// The longest a send waits for room in the socket's buffer before it counts as an error.
pub const SEND_TIMEOUT: Duration = Duration::from_millis(50);

/// Every `flow exporter` of this agent: their sockets, export sessions and counters.
#[derive(Debug)]
pub struct FlowExport {
    destinations: Vec<Destination>,
    /// What NetFlow v9's sysUptime counts from: when the host booted (RFC 3954: "time since
    /// this device was first booted"), so every flow the host saw has a positive uptime.
    uptime_origin_ms: u64,
}

impl FlowExport {
    /// Exporters for `configs`. A socket that cannot be opened is retried on each export and
    /// reported in the exporter's [`ExporterStats::last_error`].
    pub fn new(configs: Vec<ExporterConfig>) -> Self {
        let uptime_origin_ms = boot_time_ms(SystemTime::now());
        let destinations =
            configs.into_iter().map(|config| Destination::new(config, uptime_origin_ms)).collect();
        Self { destinations, uptime_origin_ms }
    }

    /// Applies a new set of exporters. One whose configuration is unchanged keeps its session
    /// (socket, sequence numbers, template timer); a changed one starts a new session (templates
    /// go first again) and keeps its counters; one no longer configured is dropped.
    pub fn reconfigure(&mut self, configs: Vec<ExporterConfig>) {
        let mut old = std::mem::take(&mut self.destinations);
        for config in configs {
            let kept = old.iter().position(|d| d.config().name == config.name).map(|i| old.swap_remove(i));
            let destination = match kept {
                Some(d) if *d.config() == config => d,
                Some(d) => Destination::new(config, self.uptime_origin_ms).with_stats_of(d),
                None => Destination::new(config, self.uptime_origin_ms),
            };
            self.destinations.push(destination);
        }
    }

    /// Sends `records` to every exporter, as many UDP packets as they take, with templates when
    /// due. With no records it sends only templates that are due: call it periodically (every
    /// second or so) so templates are refreshed on an idle switch too. Failures are counted in
    /// the exporters' stats, never returned: export is best effort, as UDP is.
    pub fn export(&mut self, now: SystemTime, records: &[FlowRecord]) {
        let now_ms = unix_ms(now);
        for destination in &mut self.destinations {
            destination.export(now_ms, records);
        }
    }

    /// Sends `records` to the exporter named `name` only; `false` when there is none.
    pub fn export_to(&mut self, name: &str, now: SystemTime, records: &[FlowRecord]) -> bool {
        let now_ms = unix_ms(now);
        match self.destinations.iter_mut().find(|d| d.config().name == name) {
            Some(destination) => {
                destination.export(now_ms, records);
                true
            }
            None => false,
        }
    }

    /// Each exporter's counters, in configuration order.
    pub fn stats(&self) -> Vec<ExporterStats> {
        self.destinations.iter().map(|d| d.stats().clone()).collect()
    }
}

/// When the host booted, in ms since the UNIX epoch: `now` less `/proc/uptime`; `now` itself if
/// that cannot be read (flows older than the exporter then report an uptime of 0).
fn boot_time_ms(now: SystemTime) -> u64 {
    let uptime_secs = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    unix_ms(now).saturating_sub((uptime_secs * 1000.0) as u64)
}

/// Milliseconds since the UNIX epoch; 0 for a clock set before it.
fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::net::{Ipv4Addr, UdpSocket};

    use super::*;

    fn record() -> FlowRecord {
        FlowRecord {
            addresses: FlowAddresses::V4 { src: Ipv4Addr::new(10, 0, 0, 1), dst: Ipv4Addr::new(10, 0, 0, 2) },
            protocol: 17,
            src_port: 1000,
            dst_port: 53,
            tos: 0,
            tcp_flags: 0,
            packets: 1,
            bytes: 60,
            first_ms: 1_780_000_000_000,
            last_ms: 1_780_000_000_000,
            input_ifindex: 49,
            output_ifindex: 17,
            vlan_id: Some(100),
            segment_id: None,
            direction: FlowDirection::Ingress,
        }
    }

    /// A collector socket on loopback, and a way to read a packet's version, whether it starts
    /// with a template set, and its sequence number.
    fn collector() -> (UdpSocket, impl Fn(&UdpSocket) -> (u16, bool, u32)) {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let read = |socket: &UdpSocket| {
            let mut buf = [0; 2000];
            let len = socket.recv(&mut buf).unwrap();
            let be16 = |at: usize| u16::from_be_bytes([buf[at], buf[at + 1]]);
            let be32 = |at: usize| u32::from_be_bytes(buf[at..at + 4].try_into().unwrap());
            assert!(len > 20);
            match be16(0) {
                10 => (10, be16(16) == 2, be32(8)),
                v => (v, be16(20) == 0, be32(12)),
            }
        };
        (socket, read)
    }

    #[test]
    fn reconfigure_keeps_an_unchanged_session_and_restarts_a_changed_one() {
        let (socket, read) = collector();
        let config = ExporterConfig::new("C", socket.local_addr().unwrap(), Version::Ipfix, 3);
        let mut export = FlowExport::new(vec![config.clone()]);
        let now = SystemTime::now();
        export.export(now, &[record(), record()]);
        assert_eq!(read(&socket), (10, true, 0));

        export.reconfigure(vec![config.clone()]);
        export.export(now, &[record()]);
        assert_eq!(read(&socket), (10, false, 2), "same session: no templates, sequence goes on");

        let changed = ExporterConfig { version: Version::NetflowV9, ..config };
        export.reconfigure(vec![changed]);
        export.export(now, &[record()]);
        assert_eq!(read(&socket), (9, true, 0), "new session: templates first, sequence from 0");
        let [stats] = <[_; 1]>::try_from(export.stats()).unwrap();
        assert_eq!((stats.records_exported, stats.packets_sent, stats.templates_sent), (4, 3, 2));
        assert_eq!(stats.version, "9");

        assert!(!export.export_to("other", now, &[record()]));
        export.reconfigure(Vec::new());
        assert!(export.stats().is_empty());
    }

    #[test]
    fn an_idle_export_sends_only_due_templates() {
        let (socket, read) = collector();
        let config = ExporterConfig::new("C", socket.local_addr().unwrap(), Version::Ipfix, 3);
        let mut export = FlowExport::new(vec![config]);
        let now = SystemTime::now();
        export.export(now, &[]);
        assert_eq!(read(&socket), (10, true, 0));
        export.export(now + Duration::from_secs(59), &[]);
        export.export(now + Duration::from_secs(60), &[]);
        assert_eq!(read(&socket), (10, true, 0), "the refresh, 60 s on; nothing in between");
        assert_eq!(export.stats()[0].packets_sent, 2);
    }

    #[test]
    fn stats_serialise_for_the_supervisor() {
        let stats = ExporterStats { name: "C".into(), version: "ipfix".into(), ..ExporterStats::default() };
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["name"], "C");
        assert_eq!(json["records_exported"], 0);
    }
}
