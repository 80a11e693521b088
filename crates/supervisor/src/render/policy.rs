//! `show port-security`, `show ip dhcp snooping binding`, `show flow exporter`: what the modules
//! last reported of their policy, laid out as NX-OS does.

use std::collections::{BTreeMap, BTreeSet};

use super::text::{cell, line};

/// One secure vEthernet, from its module's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurePortView {
    pub veth: u32,
    pub maximum: u32,
    pub current: usize,
    pub violations: u64,
    /// `protect`, `restrict`, `shutdown`.
    pub action: String,
    pub err_disabled: bool,
}

/// `show port-security`: one row per vEthernet with port security.
pub fn show_port_security(ports: &[SecurePortView]) -> String {
    let mut out = String::new();
    let secured: usize = ports.iter().map(|port| port.current.saturating_sub(1)).sum();
    line(
        &mut out,
        format_args!("Total Secured Mac Addresses in System (excluding one mac per port)     : {secured}"),
    );
    out.push('\n');
    out.push_str("----------------------------------------------------------------------------\n");
    out.push_str("Secure Port  MaxSecureAddr  CurrentAddr  SecurityViolation  Security Action\n");
    out.push_str("                (Count)       (Count)          (Count)\n");
    out.push_str("----------------------------------------------------------------------------\n");
    for port in ports {
        let action = match port.action.as_str() {
            "protect" => "Protect",
            "restrict" => "Restrict",
            _ => "Shutdown",
        };
        let state = if port.err_disabled { " (err-disabled)" } else { "" };
        line(
            &mut out,
            format_args!(
                "{}{}{}{}{action}{state}",
                cell(&format!("Vethernet{}", port.veth), 13),
                cell(&format!("{:>8}", port.maximum), 15),
                cell(&format!("{:>8}", port.current), 13),
                cell(&format!("{:>10}", port.violations), 19),
            ),
        );
    }
    out.push_str("==========================================================================\n");
    out
}

/// One binding DHCP snooping learned, from its module's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpBindingView {
    pub mac: String,
    pub ip: String,
    pub lease_seconds: u32,
    pub vlan: u32,
    /// The vEthernet (the reporting module's own: others are dropped on the way in).
    pub veth: u32,
}

/// `show ip dhcp snooping binding`.
pub fn show_ip_dhcp_snooping_binding(bindings: &[DhcpBindingView]) -> String {
    let mut out = String::new();
    out.push_str("MacAddress         IpAddress        LeaseSec  Type           VLAN  Interface\n");
    out.push_str("-----------------  ---------------  --------  -------------  ----  -------------\n");
    for binding in bindings {
        let interface = format!("Vethernet{}", binding.veth);
        line(
            &mut out,
            format_args!(
                "{}{}{}{}{}{interface}",
                cell(&binding.mac, 19),
                cell(&binding.ip, 17),
                cell(&binding.lease_seconds.to_string(), 10),
                cell("dhcp-snoop", 15),
                cell(&binding.vlan.to_string(), 6),
            ),
        );
    }
    line(&mut out, format_args!("Total number of bindings: {}", bindings.len()));
    out
}

/// One flow exporter as one module reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExporterView {
    pub module: u32,
    pub status: proto::ExporterStatus,
}

/// `show flow exporter`: each exporter, configured (`configured`, by name) or still reported by
/// a module, by name; where it sends (the config's, else the first report's), then what each
/// module sent with it. A configured exporter no module reported yet says so.
pub fn show_flow_exporter(
    configured: &BTreeMap<String, config::FlowExporter>,
    exporters: &[ExporterView],
) -> String {
    let mut out = String::new();
    let names: BTreeSet<&str> = configured
        .keys()
        .map(String::as_str)
        .chain(exporters.iter().map(|exporter| exporter.status.name.as_str()))
        .collect();
    for name in names {
        let sending: Vec<&ExporterView> =
            exporters.iter().filter(|exporter| exporter.status.name == name).collect();
        line(&mut out, format_args!("Flow exporter {name}:"));
        match (configured.get(name), sending.first()) {
            (Some(exporter), _) => configured_destination(&mut out, exporter),
            (None, Some(first)) => {
                line(&mut out, format_args!("    Destination: {}", first.status.destination));
                line(&mut out, format_args!("    Export Version {}", version_name(&first.status.version)));
            }
            (None, None) => {}
        }
        if sending.is_empty() {
            line(&mut out, format_args!("    Exporter Statistics: no module has reported it yet"));
        }
        for exporter in sending {
            let status = &exporter.status;
            line(&mut out, format_args!("    Exporter Statistics of module {}", exporter.module));
            line(&mut out, format_args!("        Number of Flow Records Exported: {}", status.records));
            line(&mut out, format_args!("        Number of Export Packets Sent: {}", status.packets));
            line(&mut out, format_args!("        Number of Export Bytes Sent: {}", status.bytes));
            line(&mut out, format_args!("        Number of Export Errors: {}", status.errors));
            if !status.last_error.is_empty() {
                line(&mut out, format_args!("        Last Error: {}", status.last_error));
            }
        }
    }
    out
}

/// Where a configured exporter sends, its defaults filled in, as NX-OS lays it out.
fn configured_destination(out: &mut String, exporter: &config::FlowExporter) {
    let version = exporter.version.unwrap_or(config::flow::defaults::VERSION);
    match exporter.destination {
        Some(destination) => line(out, format_args!("    Destination: {destination}")),
        None => line(out, format_args!("    Destination: not configured")),
    }
    let port = exporter.transport_udp.unwrap_or_else(|| version.default_port());
    line(out, format_args!("    Destination UDP Port {port}"));
    line(out, format_args!("    Export Version {}", version_name(version.keyword())));
}

/// `9` or `IPFIX (10)` for a report's or the config's version word.
fn version_name(version: &str) -> &'static str {
    if version == "9" { "9" } else { "IPFIX (10)" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_security_rows() {
        let ports = [SecurePortView {
            veth: 3,
            maximum: 1,
            current: 1,
            violations: 2,
            action: "shutdown".into(),
            err_disabled: true,
        }];
        let shown = show_port_security(&ports);
        assert!(
            shown.contains(
                "Vethernet3          1              1              2         Shutdown (err-disabled)"
            ),
            "{shown}"
        );
    }

    #[test]
    fn dhcp_binding_rows() {
        let bindings = [DhcpBindingView {
            mac: "0f:00:60:b3:2c:01".into(),
            ip: "10.3.2.2".into(),
            lease_seconds: 600,
            vlan: 100,
            veth: 5,
        }];
        let shown = show_ip_dhcp_snooping_binding(&bindings);
        assert!(
            shown.contains("0f:00:60:b3:2c:01  10.3.2.2         600       dhcp-snoop     100   Vethernet5"),
            "{shown}"
        );
        assert!(shown.ends_with("Total number of bindings: 1\n"), "{shown}");
    }

    #[test]
    fn exporters_per_module() {
        let status = |records| proto::ExporterStatus {
            name: "COLLECTOR".into(),
            destination: "10.100.0.250:4739".into(),
            version: "ipfix".into(),
            records,
            packets: 1,
            bytes: 100,
            ..Default::default()
        };
        let shown = show_flow_exporter(
            &BTreeMap::new(),
            &[ExporterView { module: 3, status: status(10) }, ExporterView { module: 4, status: status(20) }],
        );
        assert_eq!(shown.matches("Flow exporter COLLECTOR:").count(), 1, "{shown}");
        assert!(
            shown.contains("    Destination: 10.100.0.250:4739\n    Export Version IPFIX (10)\n"),
            "{shown}"
        );
        assert!(
            shown.contains("Exporter Statistics of module 4\n        Number of Flow Records Exported: 20"),
            "{shown}"
        );
    }

    #[test]
    fn configured_exporters_show_before_any_report() {
        let configured: BTreeMap<String, config::FlowExporter> = [
            (
                "COLLECTOR".to_owned(),
                config::FlowExporter {
                    destination: Some("10.100.0.250".parse().expect("address")),
                    version: Some(config::FlowExportVersion::Ipfix),
                    ..Default::default()
                },
            ),
            ("SPARE".to_owned(), config::FlowExporter::default()),
        ]
        .into();
        assert_eq!(
            show_flow_exporter(&configured, &[]),
            "Flow exporter COLLECTOR:\n\
             \x20   Destination: 10.100.0.250\n\
             \x20   Destination UDP Port 4739\n\
             \x20   Export Version IPFIX (10)\n\
             \x20   Exporter Statistics: no module has reported it yet\n\
             Flow exporter SPARE:\n\
             \x20   Destination: not configured\n\
             \x20   Destination UDP Port 9995\n\
             \x20   Export Version 9\n\
             \x20   Exporter Statistics: no module has reported it yet\n"
        );
    }
}
