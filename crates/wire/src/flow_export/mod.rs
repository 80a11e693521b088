//! Flow export encoders: IPFIX (RFC 7011) and NetFlow v9 (RFC 3954) messages from
//! [`FlowRecord`]s.
//!
//! An [`Exporter`] is the per-destination state of one export session: sequence numbers, when
//! templates were last sent, the uptime NetFlow v9 counts from. It takes `now` and records and
//! writes whole UDP payloads into the caller's buffer; the caller sends them. Both protocols use
//! two templates, [`TEMPLATE_ID_V4`] and [`TEMPLATE_ID_V6`], carrying the `netflow-original`
//! record.
//!
//! Over UDP a collector that starts (or restarts) after the exporter learns the templates only
//! when they are sent again, so templates go at the start of a session and then again every
//! [`TemplateRefresh::interval_ms`] (60 s by default: RFC 7011 section 8.4 asks for a periodic
//! resend and leaves the period to configuration; 60 s bounds what a restarted collector loses
//! to a minute) and, if set, every [`TemplateRefresh::packets`] packets (20 by default for v9,
//! as Cisco's `template data timeout` / refresh-rate defaults do).

mod cursor;
mod exporter;
pub mod ipfix;
pub mod netflow_v9;
mod record;
mod template;

pub use exporter::{DEFAULT_MTU, Encoded, Exporter, TemplateRefresh, Version};
pub use record::{FlowAddresses, FlowDirection, FlowRecord};
pub use template::{TEMPLATE_ID_V4, TEMPLATE_ID_V6};

#[cfg(test)]
mod tests;
