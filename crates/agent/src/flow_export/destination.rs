//! One exporter's session: its socket, its encoder and its counters.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use wire::flow_export::{Exporter, FlowRecord};

use super::{ExporterConfig, ExporterStats, FlowExportError, SEND_TIMEOUT};

/// An exporter's session towards its collector.
#[derive(Debug)]
pub(super) struct Destination {
    config: ExporterConfig,
    /// `None` until a socket opens; retried on each export.
    socket: Option<UdpSocket>,
    exporter: Exporter,
    buf: Vec<u8>,
    stats: ExporterStats,
}

impl Destination {
    pub fn new(config: ExporterConfig, uptime_origin_ms: u64) -> Self {
        let exporter = Exporter::new(config.version, config.observation_domain, config.mtu)
            .with_template_refresh(config.template_refresh)
            .with_uptime_origin(uptime_origin_ms);
        let stats = ExporterStats {
            name: config.name.clone(),
            collector: Some(config.collector()),
            version: config.version.to_string(),
            ..ExporterStats::default()
        };
        let mut destination = Self { buf: vec![0; config.mtu], config, socket: None, exporter, stats };
        if let Err(error) = destination.open() {
            destination.fail(&error);
        }
        destination
    }

    /// This new session with the counters of `previous`, the same exporter before a change.
    pub fn with_stats_of(mut self, previous: Self) -> Self {
        let ExporterStats {
            records_exported,
            packets_sent,
            templates_sent,
            send_errors,
            records_dropped,
            ..
        } = previous.stats;
        self.stats = ExporterStats {
            records_exported,
            packets_sent,
            templates_sent,
            send_errors: send_errors + self.stats.send_errors,
            records_dropped,
            last_error: self.stats.last_error.or(previous.stats.last_error),
            ..self.stats
        };
        self
    }

    pub fn config(&self) -> &ExporterConfig {
        &self.config
    }

    pub fn stats(&self) -> &ExporterStats {
        &self.stats
    }

    /// Sends `records` (and templates when due) at `now_ms`.
    pub fn export(&mut self, now_ms: u64, records: &[FlowRecord]) {
        if self.socket.is_none()
            && let Err(error) = self.open()
        {
            self.stats.records_dropped += records.len() as u64;
            self.fail(&error);
            return;
        }
        let Self { socket: Some(socket), exporter, buf, stats, config } = self else { return };
        let mut rest = records;
        loop {
            let out = match exporter.encode(now_ms, rest, buf) {
                Ok(Some(out)) => out,
                Ok(None) => return,
                Err(error) => {
                    stats.records_dropped += rest.len() as u64;
                    record_failure(stats, &config.name, &FlowExportError::from(error));
                    return;
                }
            };
            rest = &rest[out.records..];
            match socket.send(&buf[..out.len]) {
                Ok(_) => {
                    stats.packets_sent += 1;
                    stats.templates_sent += u64::from(out.templates);
                    stats.records_exported += out.records as u64;
                }
                Err(source) => {
                    stats.records_dropped += out.records as u64;
                    let error = FlowExportError::Send { collector: config.collector(), source };
                    record_failure(stats, &config.name, &error);
                }
            }
        }
    }

    /// A socket of the collector's family on an ephemeral port, connected to the collector so
    /// sends name no address and ICMP errors surface as send errors.
    fn open(&mut self) -> Result<(), FlowExportError> {
        let collector = self.config.collector();
        let local: SocketAddr = match collector {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let open = || {
            let socket = UdpSocket::bind(local)?;
            socket.set_write_timeout(Some(SEND_TIMEOUT))?;
            socket.connect(collector)?;
            Ok(socket)
        };
        let socket = open().map_err(|source| FlowExportError::Open { collector, source })?;
        self.socket = Some(socket);
        Ok(())
    }

    fn fail(&mut self, error: &FlowExportError) {
        record_failure(&mut self.stats, &self.config.name, error);
    }
}

/// Counts `error` against exporter `name`.
fn record_failure(stats: &mut ExporterStats, name: &str, error: &FlowExportError) {
    stats.send_errors += 1;
    stats.last_error = Some(error.to_string());
    tracing::debug!("flow exporter {name}: {error}");
}
