//! What the datapath's policy did, in the forms the agent sends and shows, pure: the
//! supervisor's [`proto::PolicyReport`], the flow export plan of the policies in force, flow
//! records for the collectors, and the NX-OS log lines of datapath events.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use config::{EffectiveFlowMonitor, FlowExportVersion};
use datapath::{DatapathEvent, PortId, Segment};
use wire::flow_export::{FlowAddresses, FlowDirection, Version};

use super::table::PortTable;
use crate::dataplane::PolicyState;
use crate::flow_export::{ExporterConfig, ExporterStats};
use crate::snapshot::PolicySnapshot;

/// Why a port the datapath error-disabled is down, in NX-OS words (the supervisor logs
/// `IF_DOWN_ERROR_DISABLED` for it).
pub const ERROR_DISABLED_REASON: &str = "Error disabled. Reason:Port Security violation";

/// The policy part of this host's report.
pub fn policy_report(
    state: &PolicyState,
    table: &PortTable,
    violations: impl Fn(PortId) -> u64,
    exporters: &[ExporterStats],
    now: Duration,
) -> proto::PolicyReport {
    let veth = |port: PortId| table.by_ltl(port.0).map_or(0, |record| record.veth);
    let acl_hits = state
        .acl_hits
        .iter()
        .map(|hits| proto::AclEntryHits {
            list: hits.list.to_string(),
            ipv6: hits.family == datapath::Family::V6,
            sequence: hits.seq.unwrap_or(0),
            matches: hits.matches,
        })
        .collect();
    let secure_ports = state
        .secure_macs
        .iter()
        .filter_map(|(port, macs)| {
            let config = table.by_ltl(port.0)?;
            let security = state.security.get(port)?;
            Some(proto::SecurePort {
                veth: config.veth,
                maximum: security.maximum,
                macs: macs.iter().map(|row| row.mac.colon().to_string()).collect(),
                violations: violations(*port),
                action: security.violation.to_string(),
                err_disabled: state.err_disabled.contains(port),
            })
        })
        .collect();
    let dhcp_bindings = state
        .dhcp_bindings
        .iter()
        .filter(|binding| binding.expires > now)
        .map(|binding| proto::DhcpBinding {
            mac: binding.mac.colon().to_string(),
            ip: binding.ip.to_string(),
            lease_seconds: u32::try_from(binding.expires.saturating_sub(now).as_secs()).unwrap_or(u32::MAX),
            vlan: match binding.segment {
                Segment::Vlan(vlan) => u32::from(vlan),
                Segment::BridgeDomain(_) => 0,
            },
            veth: veth(binding.port),
        })
        .collect();
    let exporters = exporters
        .iter()
        .map(|stats| proto::ExporterStatus {
            name: stats.name.clone(),
            destination: stats.collector.map(|collector| collector.to_string()).unwrap_or_default(),
            version: stats.version.clone(),
            records: stats.records_exported,
            packets: stats.packets_sent,
            bytes: 0,
            errors: stats.send_errors,
            last_error: stats.last_error.clone().unwrap_or_default(),
        })
        .collect();
    let conntrack = proto::ConntrackStatus {
        entries: state.flow_table.entries,
        capacity: state.flow_table.capacity,
        full_drops: state.conntrack_full,
    };
    proto::PolicyReport { acl_hits, secure_ports, dhcp_bindings, exporters, conntrack: Some(conntrack) }
}

/// What flow export does under the policies in force: the exporters to keep, the timeouts to
/// expire flows by, and which exporters each monitored port's flows go to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportPlan {
    pub exporters: Vec<ExporterConfig>,
    /// The shortest active and inactive timeouts of the monitors in use (one flow table
    /// expires every flow by the same clock).
    pub active: Duration,
    pub inactive: Duration,
    /// By LTL: the exporters of the port's input monitor and of its output monitor.
    pub routes: BTreeMap<u32, (Vec<String>, Vec<String>)>,
}

/// The export plan of the ports of `table` under `policies`, exporting as `module`.
pub fn export_plan(table: &PortTable, policies: &PolicySnapshot, module: u32) -> ExportPlan {
    let mut plan = ExportPlan { active: Duration::MAX, inactive: Duration::MAX, ..ExportPlan::default() };
    let mut exporters: BTreeMap<String, ExporterConfig> = BTreeMap::new();
    let mut names_of = |monitor: Option<&EffectiveFlowMonitor>, plan: &mut ExportPlan| -> Vec<String> {
        let Some(monitor) = monitor else { return Vec::new() };
        plan.active = plan.active.min(Duration::from_secs(u64::from(monitor.active_timeout_secs)));
        plan.inactive = plan.inactive.min(Duration::from_secs(u64::from(monitor.inactive_timeout_secs)));
        for exporter in &monitor.exporters {
            let version = match exporter.version {
                FlowExportVersion::Ipfix => Version::Ipfix,
                FlowExportVersion::V9 => Version::NetflowV9,
            };
            let collector = SocketAddr::new(exporter.destination, exporter.port);
            exporters
                .entry(exporter.name.clone())
                .or_insert_with(|| ExporterConfig::new(exporter.name.clone(), collector, version, module));
        }
        monitor.exporters.iter().map(|exporter| exporter.name.clone()).collect()
    };
    for record in table.iter() {
        let Some(policy) = policies.get(&record.profile) else { continue };
        let input = names_of(policy.flow_monitors.input.as_ref(), &mut plan);
        let output = names_of(policy.flow_monitors.output.as_ref(), &mut plan);
        if !input.is_empty() || !output.is_empty() {
            plan.routes.insert(record.ltl, (input, output));
        }
    }
    plan.exporters = exporters.into_values().collect();
    if plan.routes.is_empty() {
        plan.active = Duration::ZERO;
        plan.inactive = Duration::ZERO;
    }
    plan
}

/// A datapath flow record as collectors get it, seen in `direction`. `now` is the datapath's
/// clock when the record was taken and `wall` the time of day then: the datapath's times are
/// converted by their distance to `now`.
pub fn export_record(
    record: &datapath::FlowRecord,
    direction: FlowDirection,
    now: Duration,
    wall: SystemTime,
) -> wire::flow_export::FlowRecord {
    let wall_ms = |at: Duration| {
        let ago = now.saturating_sub(at);
        wall.checked_sub(ago)
            .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    };
    let addresses = match (record.src, record.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => FlowAddresses::V4 { src, dst },
        (src, dst) => FlowAddresses::V6 { src: v6(src), dst: v6(dst) },
    };
    let (vlan_id, segment_id) = match record.segment {
        Segment::Vlan(vlan) => (Some(vlan), None),
        Segment::BridgeDomain(vni) => (None, Some(vni.get())),
    };
    wire::flow_export::FlowRecord {
        addresses,
        protocol: record.protocol,
        src_port: record.src_port,
        dst_port: record.dst_port,
        tos: record.tos,
        tcp_flags: record.tcp_flags,
        packets: record.packets,
        bytes: record.bytes,
        first_ms: wall_ms(record.first),
        last_ms: wall_ms(record.last),
        input_ifindex: crate::flow_export::ifindex(record.input),
        output_ifindex: crate::flow_export::ifindex(record.output),
        vlan_id,
        segment_id,
        direction,
    }
}

fn v6(address: IpAddr) -> std::net::Ipv6Addr {
    match address {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The NX-OS log line of a datapath event, and whether it changes a port's state (then the
/// supervisor should hear of it at once). `name_of` names a port (`Vethernet3`).
pub fn event_line(event: &DatapathEvent, name_of: impl Fn(PortId) -> String) -> (String, bool) {
    match event {
        DatapathEvent::PortSecurityViolation { port, mac, .. } => (
            format!(
                "%PORT-SECURITY-2-PSECURE_VIOLATION: Security violation occurred, caused by MAC {} on port {}",
                mac,
                name_of(*port)
            ),
            false,
        ),
        DatapathEvent::PortErrDisabled { port, reason } => (
            format!(
                "%ETHPORT-2-IF_DOWN_ERROR_DISABLED: Interface {} is down (Error disabled. Reason:{reason})",
                name_of(*port)
            ),
            true,
        ),
        DatapathEvent::StickyMacLearned { port, mac } => (
            format!(
                "%PORT-SECURITY-5-STICKY_MAC_LEARNED: Sticky MAC {} learned on port {}",
                mac,
                name_of(*port)
            ),
            false,
        ),
        DatapathEvent::DhcpBindingAdded(binding) => (
            format!(
                "%DHCP_SNOOP-6-BINDING_ADDED: {} bound to {} on port {} for {} s",
                binding.ip,
                binding.mac,
                name_of(binding.port),
                binding.lease_secs
            ),
            false,
        ),
        DatapathEvent::DhcpBindingRemoved { binding, end } => (
            format!(
                "%DHCP_SNOOP-6-BINDING_REMOVED: {} of {} on port {} ({end:?})",
                binding.ip,
                binding.mac,
                name_of(binding.port)
            ),
            false,
        ),
    }
}
