//! The encoder's state machine: one export session towards one collector.

use core::fmt;

use super::cursor::Cursor;
use super::record::{FlowAddresses, FlowRecord};
use super::template::Template;
use super::{ipfix, netflow_v9};
use crate::{Error, Result};

/// The UDP payload size an exporter fills at most unless told otherwise: below any path MTU of
/// 1500 bytes with room for IPv6, UDP and a tunnel header.
pub const DEFAULT_MTU: usize = 1400;

/// Set and data set headers: set id and length.
const SET_HEADER_LEN: usize = 4;
/// The most padding a set takes to end on a four-byte boundary.
const MAX_PADDING: usize = 3;

/// The export protocol (`version ipfix` or `version 9` of a `flow exporter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// IPFIX, RFC 7011: message version 10.
    Ipfix,
    /// NetFlow version 9, RFC 3954.
    NetflowV9,
}

impl Version {
    /// The version number in the message header: 10 or 9.
    pub const fn number(self) -> u16 {
        match self {
            Self::Ipfix => ipfix::VERSION,
            Self::NetflowV9 => netflow_v9::VERSION,
        }
    }

    const fn header_len(self) -> usize {
        match self {
            Self::Ipfix => ipfix::HEADER_LEN,
            Self::NetflowV9 => netflow_v9::HEADER_LEN,
        }
    }

    const fn template_set_id(self) -> u16 {
        match self {
            Self::Ipfix => ipfix::TEMPLATE_SET_ID,
            Self::NetflowV9 => netflow_v9::TEMPLATE_FLOWSET_ID,
        }
    }

    const fn templates(self) -> [Template; 2] {
        match self {
            Self::Ipfix => [ipfix::V4, ipfix::V6],
            Self::NetflowV9 => [netflow_v9::V4, netflow_v9::V6],
        }
    }

    const fn template_for(self, record: &FlowRecord) -> Template {
        let [v4, v6] = self.templates();
        match record.addresses {
            FlowAddresses::V4 { .. } => v4,
            FlowAddresses::V6 { .. } => v6,
        }
    }

    /// Bytes of the template set holding both templates.
    const fn template_set_len(self) -> usize {
        let [v4, v6] = self.templates();
        SET_HEADER_LEN + v4.definition_len() + v6.definition_len()
    }

    /// Bytes of the longest data record.
    const fn max_record_len(self) -> usize {
        let [v4, v6] = self.templates();
        if v4.record_len() > v6.record_len() { v4.record_len() } else { v6.record_len() }
    }
}

impl fmt::Display for Version {
    /// `ipfix` or `9`, as `flow exporter`'s `version` line spells them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ipfix => f.write_str("ipfix"),
            Self::NetflowV9 => f.write_str("9"),
        }
    }
}

/// When templates are sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemplateRefresh {
    /// Milliseconds between template sends.
    pub interval_ms: u64,
    /// Also resend after this many packets without templates; `None`: by time only.
    pub packets: Option<u32>,
}

impl TemplateRefresh {
    /// The default for `version`: every 60 s, and for NetFlow v9 also every 20 packets.
    pub const fn default_for(version: Version) -> Self {
        let packets = match version {
            Version::Ipfix => None,
            Version::NetflowV9 => Some(20),
        };
        Self { interval_ms: 60_000, packets }
    }
}

/// One payload written by [`Exporter::encode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoded {
    /// Bytes of the payload, from the start of the buffer.
    pub len: usize,
    /// Records taken from the front of the slice given; the caller passes the rest next time.
    pub records: usize,
    /// Whether the payload starts with the templates.
    pub templates: bool,
}

/// One export session: writes IPFIX messages or NetFlow v9 packets, each a whole UDP payload.
///
/// ```
/// use wire::flow_export::{Exporter, Version};
/// # fn send(_: &[u8]) {}
/// # let records = [];
/// let mut exporter = Exporter::new(Version::Ipfix, 3, 1400);
/// let mut buf = [0; 1400];
/// let mut rest: &[wire::flow_export::FlowRecord] = &records;
/// let now_ms = 1_700_000_000_000;
/// while let Some(out) = exporter.encode(now_ms, rest, &mut buf).unwrap() {
///     send(&buf[..out.len]);
///     rest = &rest[out.records..];
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Exporter {
    version: Version,
    observation_domain: u32,
    mtu: usize,
    refresh: TemplateRefresh,
    /// What NetFlow v9's sysUptime counts from, in ms since the epoch; set by the first
    /// `encode` unless given.
    uptime_origin_ms: Option<u64>,
    /// IPFIX: data records sent; NetFlow v9: packets sent (each modulo 2^32).
    sequence: u32,
    /// When templates were last sent; `None` until the first payload.
    templates_sent_ms: Option<u64>,
    packets_since_templates: u32,
}

impl Exporter {
    /// A session of `version` for `observation_domain` (the NetFlow v9 source id), filling
    /// payloads of at most `mtu` bytes, with the version's default template refresh.
    pub const fn new(version: Version, observation_domain: u32, mtu: usize) -> Self {
        Self {
            version,
            observation_domain,
            mtu,
            refresh: TemplateRefresh::default_for(version),
            uptime_origin_ms: None,
            sequence: 0,
            templates_sent_ms: None,
            packets_since_templates: 0,
        }
    }

    /// This session with templates refreshed per `refresh`.
    #[must_use]
    pub const fn with_template_refresh(mut self, refresh: TemplateRefresh) -> Self {
        self.refresh = refresh;
        self
    }

    /// This session with NetFlow v9's sysUptime counted from `origin_ms` (ms since the epoch,
    /// rounded down to the second), e.g. when the host booted, so flows older than the session
    /// still get a positive `FIRST_SWITCHED`. Without it, uptime counts from the first `encode`.
    #[must_use]
    pub const fn with_uptime_origin(mut self, origin_ms: u64) -> Self {
        self.uptime_origin_ms = Some(origin_ms);
        self
    }

    /// The protocol.
    pub const fn version(&self) -> Version {
        self.version
    }

    /// The observation domain (source id).
    pub const fn observation_domain(&self) -> u32 {
        self.observation_domain
    }

    /// The largest payload written.
    pub const fn mtu(&self) -> usize {
        self.mtu
    }

    /// The template refresh.
    pub const fn template_refresh(&self) -> TemplateRefresh {
        self.refresh
    }

    /// The sequence number the next payload carries.
    pub const fn sequence(&self) -> u32 {
        self.sequence
    }

    /// The smallest buffer (and mtu) that holds the header, both templates and one record.
    pub const fn min_payload_len(version: Version) -> usize {
        version.header_len()
            + version.template_set_len()
            + SET_HEADER_LEN
            + version.max_record_len()
            + MAX_PADDING
    }

    /// Whether the next payload must start with the templates.
    pub fn templates_due(&self, now_ms: u64) -> bool {
        let Some(sent) = self.templates_sent_ms else { return true };
        // A clock stepped back counts as due: otherwise templates would wait out the step.
        let by_time = now_ms.checked_sub(sent).is_none_or(|age| age >= self.refresh.interval_ms);
        let by_packets = self.refresh.packets.is_some_and(|n| self.packets_since_templates >= n);
        by_time || by_packets
    }

    /// Writes the next payload at `now_ms` (ms since the UNIX epoch) into `buf`: the templates
    /// if due, then as many of `records`, from the front, as fit in `min(mtu, buf.len())`
    /// bytes. `Ok(None)` when there is nothing to send (no records, templates not due).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when the buffer or mtu is below [`Self::min_payload_len`].
    pub fn encode(&mut self, now_ms: u64, records: &[FlowRecord], buf: &mut [u8]) -> Result<Option<Encoded>> {
        let templates = self.templates_due(now_ms);
        if records.is_empty() && !templates {
            return Ok(None);
        }
        let version = self.version;
        let capacity = buf.len().min(self.mtu).min(usize::from(u16::MAX));
        let needed = Self::min_payload_len(version);
        if capacity < needed {
            return Err(Error::BufferTooSmall { needed, available: capacity });
        }
        let origin = *self.uptime_origin_ms.get_or_insert(now_ms) / 1000 * 1000;

        let mut out = Cursor::new(&mut buf[..capacity]);
        // The header is written last, once lengths and counts are known.
        out.put_zeros(version.header_len());
        let mut template_records = 0;
        if templates {
            out.put_u16(version.template_set_id());
            out.put_u16(version.template_set_len() as u16);
            for template in version.templates() {
                template.write_definition(&mut out);
                template_records += 1;
            }
        }

        // Records go in data sets, one per run of records of the same template.
        let mut open_set: Option<(usize, u16)> = None;
        let mut taken = 0;
        for record in records {
            let template = version.template_for(record);
            let same_set = open_set.is_some_and(|(_, id)| id == template.id);
            let set_header = if same_set { 0 } else { SET_HEADER_LEN };
            // Sets start on four-byte boundaries; the room for the open set's padding was
            // reserved when its last record was taken.
            let start = if same_set { out.pos() } else { out.pos().next_multiple_of(4) };
            let end = start + set_header + template.record_len();
            if end.next_multiple_of(4) > capacity {
                break;
            }
            if !same_set {
                if let Some((set_start, _)) = open_set {
                    close_set(&mut out, set_start);
                }
                open_set = Some((out.pos(), template.id));
                out.put_u16(template.id);
                out.put_u16(0);
            }
            template.write_record(record, origin, &mut out);
            taken += 1;
        }
        if let Some((set_start, _)) = open_set {
            close_set(&mut out, set_start);
        }

        let len = out.pos();
        let header_buf = out.buf_mut();
        match version {
            Version::Ipfix => {
                ipfix::Header {
                    length: len as u16,
                    export_time: (now_ms / 1000) as u32,
                    sequence: self.sequence,
                    observation_domain: self.observation_domain,
                }
                .write(header_buf);
                // RFC 7011 section 3.1: the count of data records sent before this message.
                self.sequence = self.sequence.wrapping_add(taken as u32);
            }
            Version::NetflowV9 => {
                netflow_v9::Header {
                    count: (template_records + taken) as u16,
                    // Taken at the whole second `unix_secs` names, so that a collector's
                    // `unix_secs * 1000 - sysUptime` is the origin to the millisecond and
                    // FIRST/LAST_SWITCHED convert back exactly.
                    sys_uptime: (now_ms / 1000 * 1000).saturating_sub(origin) as u32,
                    unix_secs: (now_ms / 1000) as u32,
                    sequence: self.sequence,
                    source_id: self.observation_domain,
                }
                .write(header_buf);
                // RFC 3954 section 5.1: the count of export packets sent before this one.
                self.sequence = self.sequence.wrapping_add(1);
            }
        }
        if templates {
            self.templates_sent_ms = Some(now_ms);
            self.packets_since_templates = 0;
        } else {
            self.packets_since_templates = self.packets_since_templates.saturating_add(1);
        }
        Ok(Some(Encoded { len, records: taken, templates }))
    }
}

/// Pads the set that started at `set_start` to four bytes and writes its length.
fn close_set(out: &mut Cursor<'_>, set_start: usize) {
    out.pad_to_4();
    let len = out.pos() - set_start;
    // A set fits in a payload, whose length is at most u16::MAX.
    out.patch_u16(set_start + 2, len as u16);
}
