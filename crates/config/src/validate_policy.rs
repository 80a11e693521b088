//! Semantic checks of the policy objects (access lists, flow exporters and monitors) and of the
//! policy lines of port-profiles: names that must exist, values in range, lines that only apply
//! to vethernet profiles. Part of [`crate::validate::issues`].

use crate::ace::parse_ace;
use crate::acl::{ACL_NAME_MAX, AccessList, Family, SEQUENCE_MIN};
use crate::flow::{
    CACHE_SIZE_MAX, CACHE_SIZE_MIN, DSCP_MAX, FLOW_DESCRIPTION_MAX, FLOW_NAME_MAX, FlowExporter, FlowMonitor,
    MONITOR_EXPORTERS_MAX, TIMEOUT_MAX, TIMEOUT_MIN,
};
use crate::grammar::{self, Param};
use crate::language::{PORT_SECURITY_MAX_MAX, PORT_SECURITY_MAX_MIN, STORM_PPS_MAX, STORM_PPS_MIN};
use crate::model::{Config, Direction, PortProfile, ProfileType, StormKind};
use crate::validate::{Field, Issue, Subject, kind_name};

/// Issues of the access lists, exporters and monitors themselves.
pub(crate) fn object_issues(config: &Config, out: &mut Vec<Issue>) {
    for family in [Family::Ipv4, Family::Ipv6] {
        for (name, list) in config.access_lists(family) {
            access_list_issues(family, name, list, out);
        }
    }
    for (name, exporter) in &config.flow_exporters {
        exporter_issues(name, exporter, out);
    }
    for (name, monitor) in &config.flow_monitors {
        monitor_issues(config, name, monitor, out);
    }
}

fn name_issue(at: Subject, what: &str, name: &str, max: usize) -> Option<Issue> {
    (!grammar::is_name(name, max))
        .then(|| Issue::new(at, format!("invalid {what} name '{name}'")).expecting(Param::Name { max }))
}

fn description_issue(at: Subject, description: Option<&String>, max: usize) -> Option<Issue> {
    let d = description?;
    (!grammar::is_text(d, max))
        .then(|| Issue::new(at, format!("invalid description '{d}'")).expecting(Param::Text { max }))
}

fn access_list_issues(family: Family, name: &str, list: &AccessList, out: &mut Vec<Issue>) {
    let at = |field| Subject::AccessList(family, name.to_string(), field);
    out.extend(name_issue(at(Field::Header), "access-list", name, ACL_NAME_MAX));
    for (sequence, ace) in &list.entries {
        if *sequence < SEQUENCE_MIN {
            out.push(Issue::new(at(Field::Entry(*sequence)), "invalid sequence number '0'".to_string()));
            continue;
        }
        // An entry is valid when its text reads back to it: that checks the family of every
        // address, masked prefixes, ports and flags only where the protocol has them, and more.
        let text = ace.display(family).to_string();
        let body = text.split_once(' ').map_or("", |(_, body)| body);
        match parse_ace(family, ace.action, body) {
            Ok(back) if back == *ace => {}
            Ok(back) => out.push(Issue::new(
                at(Field::Entry(*sequence)),
                format!("entry is not in canonical form: '{text}' reads as '{}'", back.display(family)),
            )),
            Err(e) => out.push(
                Issue::new(at(Field::Entry(*sequence)), format!("invalid entry '{text}': {}", e.message))
                    .expecting_list(e.expected),
            ),
        }
    }
}

fn exporter_issues(name: &str, exporter: &FlowExporter, out: &mut Vec<Issue>) {
    let at = |field| Subject::FlowExporter(name.to_string(), field);
    out.extend(name_issue(at(Field::Header), "flow exporter", name, FLOW_NAME_MAX));
    out.extend(description_issue(
        at(Field::Description),
        exporter.description.as_ref(),
        FLOW_DESCRIPTION_MAX,
    ));
    if exporter.transport_udp == Some(0) {
        out.push(
            Issue::new(at(Field::Transport), "invalid UDP port '0'".to_string())
                .expecting(Param::Number { min: 1, max: 65535 }),
        );
    }
    if let Some(dscp) = exporter.dscp.filter(|d| *d > DSCP_MAX) {
        out.push(
            Issue::new(at(Field::Dscp), format!("invalid DSCP '{dscp}'"))
                .expecting(Param::Number { min: 0, max: u32::from(DSCP_MAX) }),
        );
    }
}

fn monitor_issues(config: &Config, name: &str, monitor: &FlowMonitor, out: &mut Vec<Issue>) {
    let at = |field| Subject::FlowMonitor(name.to_string(), field);
    out.extend(name_issue(at(Field::Header), "flow monitor", name, FLOW_NAME_MAX));
    out.extend(description_issue(at(Field::Description), monitor.description.as_ref(), FLOW_DESCRIPTION_MAX));
    let timeouts =
        [(Field::TimeoutActive, monitor.timeout_active), (Field::TimeoutInactive, monitor.timeout_inactive)];
    for (field, timeout) in timeouts {
        if let Some(t) = timeout.filter(|t| !(TIMEOUT_MIN..=TIMEOUT_MAX).contains(t)) {
            out.push(
                Issue::new(at(field), format!("invalid timeout '{t}'"))
                    .expecting(Param::Number { min: TIMEOUT_MIN, max: TIMEOUT_MAX }),
            );
        }
    }
    if let Some(n) = monitor.cache_size.filter(|n| !(CACHE_SIZE_MIN..=CACHE_SIZE_MAX).contains(n)) {
        out.push(
            Issue::new(at(Field::CacheSize), format!("invalid cache size '{n}'"))
                .expecting(Param::Number { min: CACHE_SIZE_MIN, max: CACHE_SIZE_MAX }),
        );
    }
    if monitor.exporters.len() > MONITOR_EXPORTERS_MAX {
        out.push(Issue::new(
            at(Field::Exporters),
            format!("a flow monitor sends to at most {MONITOR_EXPORTERS_MAX} exporters"),
        ));
    }
    for (i, exporter) in monitor.exporters.iter().enumerate() {
        if monitor.exporters[..i].contains(exporter) {
            out.push(Issue::new(at(Field::Exporters), format!("flow exporter '{exporter}' is listed twice")));
            continue;
        }
        let used = format!("flow exporter '{exporter}' is used by flow monitor '{name}'");
        match config.flow_exporters.get(exporter) {
            None => out.push(
                Issue::new(at(Field::Exporters), format!("flow exporter '{exporter}' does not exist"))
                    .caused_by(Subject::FlowExporter(exporter.clone(), Field::Removed), used),
            ),
            Some(e) if e.destination.is_none() => out.push(
                Issue::new(at(Field::Exporters), format!("flow exporter '{exporter}' has no destination"))
                    .caused_by(
                        Subject::FlowExporter(exporter.clone(), Field::Destination),
                        format!("{used} and needs a destination"),
                    ),
            ),
            Some(_) => {}
        }
    }
}

/// Issues of one profile's policy lines.
pub(crate) fn profile_issues(config: &Config, name: &str, p: &PortProfile, out: &mut Vec<Issue>) {
    let at = |field| Subject::Profile(name.to_string(), field);
    for family in [Family::Ipv4, Family::Ipv6] {
        for direction in Direction::BOTH {
            if let Some(list) = p.access_groups.get(family, direction) {
                out.extend(access_group_issue(config, name, family, direction, list));
            }
        }
    }
    if let Some(n) =
        p.port_security.maximum.filter(|n| !(PORT_SECURITY_MAX_MIN..=PORT_SECURITY_MAX_MAX).contains(n))
    {
        out.push(
            Issue::new(at(Field::PortSecurityMaximum), format!("invalid number '{n}'"))
                .expecting(Param::Number { min: PORT_SECURITY_MAX_MIN, max: PORT_SECURITY_MAX_MAX }),
        );
    }
    for kind in StormKind::ALL {
        if let Some(pps) = p.storm_control.get(kind).filter(|n| !(STORM_PPS_MIN..=STORM_PPS_MAX).contains(n))
        {
            out.push(
                Issue::new(at(Field::StormControl(kind)), format!("invalid rate '{pps}'"))
                    .expecting(Param::Number { min: STORM_PPS_MIN, max: STORM_PPS_MAX }),
            );
        }
    }
    for direction in Direction::BOTH {
        let Some(monitor) = p.flow_monitors.get(direction) else { continue };
        if !config.flow_monitors.contains_key(monitor) {
            out.push(
                Issue::new(
                    at(Field::FlowMonitor(direction)),
                    format!("flow monitor '{monitor}' does not exist"),
                )
                .caused_by(
                    Subject::FlowMonitor(monitor.clone(), Field::Removed),
                    format!("flow monitor '{monitor}' is used by port-profile '{name}'"),
                ),
            );
        }
    }
    if p.kind != ProfileType::Vethernet {
        vethernet_only(name, p, out);
    }
}

/// An access group's list must exist, in the family the line names.
fn access_group_issue(
    config: &Config,
    profile: &str,
    family: Family,
    direction: Direction,
    list: &str,
) -> Option<Issue> {
    if config.access_lists(family).contains_key(list) {
        return None;
    }
    let at = Subject::Profile(profile.to_string(), Field::AccessGroup(family, direction));
    let kind = family.keyword();
    let other = match family {
        Family::Ipv4 => Family::Ipv6,
        Family::Ipv6 => Family::Ipv4,
    };
    if config.access_lists(other).contains_key(list) {
        let line = match family {
            Family::Ipv4 => "ip port access-group",
            Family::Ipv6 => "ipv6 port traffic-filter",
        };
        return Some(Issue::new(
            at,
            format!("'{list}' is an {} access-list; {line} takes an {kind} access-list", other.keyword()),
        ));
    }
    Some(Issue::new(at, format!("{kind} access-list '{list}' does not exist")).caused_by(
        Subject::AccessList(family, list.to_string(), Field::Removed),
        format!("{kind} access-list '{list}' is used by port-profile '{profile}'"),
    ))
}

/// The policy lines that apply to vEthernets only (everything but `ip dhcp snooping trust`).
fn vethernet_only(name: &str, p: &PortProfile, out: &mut Vec<Issue>) {
    let at = |field| Subject::Profile(name.to_string(), field);
    let mut lines: Vec<(Field, &str)> = Vec::new();
    for family in [Family::Ipv4, Family::Ipv6] {
        for direction in Direction::BOTH {
            if p.access_groups.get(family, direction).is_some() {
                let line = match family {
                    Family::Ipv4 => "ip port access-group",
                    Family::Ipv6 => "ipv6 port traffic-filter",
                };
                lines.push((Field::AccessGroup(family, direction), line));
            }
        }
    }
    if !p.port_security.is_empty() {
        lines.push((Field::PortSecurity, "switchport port-security"));
    }
    if p.verify_source {
        lines.push((Field::VerifySource, "ip verify source"));
    }
    if p.arp_inspection {
        lines.push((Field::ArpInspection, "ip arp inspection"));
    }
    for kind in StormKind::ALL {
        if p.storm_control.get(kind).is_some() {
            lines.push((Field::StormControl(kind), "storm-control"));
        }
    }
    for direction in Direction::BOTH {
        if p.flow_monitors.get(direction).is_some() {
            lines.push((Field::FlowMonitor(direction), "ip flow monitor"));
        }
    }
    for (field, line) in lines {
        out.push(Issue::new(
            at(field),
            format!("{line} applies only to {} port-profiles", kind_name(ProfileType::Vethernet)),
        ));
    }
}
