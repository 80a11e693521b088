//! Policy in port-profiles end to end: access lists, port security and anti-spoofing, storm
//! control and flow export — the lines, their `no` forms, errors at the line and column that
//! caused them, printing, inheritance into the effective policy, and JSON.
#![allow(clippy::unwrap_used)]

use config::{
    AccessGroups, Action, AddressMatch, ChangeKind, Config, ConfigError, Direction, EffectivePolicy, Family,
    FlowExportVersion, FlowRecord, Object, PortMatch, PortSecurity, Protocol, StormControl, Violation, apply,
    evaluate, evaluated_lines, print_running_config, validate,
};

/// The issue's example, completed, in running-config order.
const BASE: &str = "\
ip dhcp snooping

ip access-list WEB-IN
  statistics per-entry
  10 permit tcp any 10.100.0.0/24 eq 80
  20 permit icmp any any
  30 deny ip any any

ip access-list WEB-OUT
  10 permit tcp any any eq 22 stateful

ipv6 access-list WEB6-IN
  10 permit tcp any any eq 80

flow exporter COLLECTOR
  destination 10.100.0.250
  transport udp 4739
  version ipfix

flow monitor MON
  record netflow-original
  exporter COLLECTOR
  timeout active 60
  timeout inactive 15

port-profile type vethernet base
  ip port access-group WEB-IN in
  switchport port-security
  switchport port-security maximum 4
  ip verify source dhcp-snooping-vlan
  storm-control broadcast level pps 1000
  state enabled

port-profile type ethernet uplink
  ip dhcp snooping trust
  state enabled

port-profile type vethernet web
  inherit port-profile base
  switchport mode access
  switchport access vlan 100
  ip port access-group WEB-OUT out
  ipv6 port traffic-filter WEB6-IN in
  switchport port-security violation restrict
  ip arp inspection
  storm-control multicast level pps 500
  ip flow monitor MON input
  state enabled
";

fn base() -> Config {
    apply(&Config::default(), BASE).unwrap().config
}

fn error(config: &Config, text: &str) -> ConfigError {
    match apply(config, text) {
        Ok(_) => panic!("expected an error for {text:?}"),
        Err(e) => e,
    }
}

#[test]
fn the_example_prints_back_exactly() {
    assert_eq!(print_running_config(&base()), BASE);
}

#[test]
fn the_effective_policy_embeds_lists_monitors_and_exporters() {
    let p = evaluate(&base(), "web").unwrap();
    let acl_in = p.access_groups.ipv4_in.as_ref().unwrap();
    assert_eq!(
        (acl_in.name.as_str(), acl_in.family, acl_in.statistics_per_entry),
        ("WEB-IN", Family::Ipv4, true)
    );
    let lines: Vec<String> = acl_in.entries.iter().map(|e| acl_in.entry_line(e)).collect();
    assert_eq!(
        lines,
        ["10 permit tcp any 10.100.0.0/24 eq 80", "20 permit icmp any any", "30 deny ip any any"]
    );
    let first = &acl_in.entries[0].ace;
    assert_eq!(first.protocol_number(Family::Ipv4), Some(6));
    assert_eq!(first.destination_port, Some(PortMatch::Eq(80)));
    assert!(first.destination.contains("10.100.0.9".parse().unwrap()));
    assert!(p.access_groups.ipv4_out.as_ref().unwrap().is_stateful());
    assert!(p.access_groups.is_stateful());
    assert_eq!(p.access_groups.ipv6_in.as_ref().unwrap().family, Family::Ipv6);
    assert_eq!(p.access_groups.ipv6_out, None);
    // Port security: maximum from the parent, violation from the child.
    assert_eq!(
        p.port_security,
        Some(PortSecurity { maximum: 4, violation: Violation::Restrict, sticky: false })
    );
    assert!(p.verify_source && p.arp_inspection && p.dhcp_snooping && !p.dhcp_snooping_trust);
    assert_eq!(
        p.storm_control,
        StormControl { broadcast_pps: Some(1000), multicast_pps: Some(500), unknown_unicast_pps: None }
    );
    let monitor = p.flow_monitors.input.as_ref().unwrap();
    assert_eq!(
        (monitor.record, monitor.active_timeout_secs, monitor.inactive_timeout_secs),
        (FlowRecord::NetflowOriginal, 60, 15)
    );
    assert_eq!(monitor.exporters.len(), 1);
    let exporter = &monitor.exporters[0];
    assert_eq!(exporter.destination.to_string(), "10.100.0.250");
    assert_eq!((exporter.port, exporter.version, exporter.dscp), (4739, FlowExportVersion::Ipfix, 0));
    assert_eq!(p.flow_monitors.output, None);
    let uplink = evaluate(&base(), "uplink").unwrap();
    assert!(uplink.dhcp_snooping_trust && uplink.dhcp_snooping);
    assert_eq!(uplink.port_security, None);
}

#[test]
fn evaluated_lines_list_the_resolved_policy() {
    let lines = evaluated_lines(&evaluate(&base(), "web").unwrap());
    let policy: Vec<&str> =
        lines.iter().map(String::as_str).skip_while(|l| *l != "no shutdown").skip(1).collect();
    assert_eq!(
        policy,
        [
            "ip port access-group WEB-IN in",
            "ip port access-group WEB-OUT out",
            "ipv6 port traffic-filter WEB6-IN in",
            "switchport port-security",
            "switchport port-security maximum 4",
            "switchport port-security violation restrict",
            "ip verify source dhcp-snooping-vlan",
            "ip arp inspection",
            "storm-control broadcast level pps 1000",
            "storm-control multicast level pps 500",
            "ip flow monitor MON input",
        ]
    );
}

#[test]
fn defaults_of_port_security_and_flow_export() {
    let text = "flow exporter E\n  destination 2001:db8::1\nflow monitor M\n  exporter E\n\
                port-profile p\n  switchport port-security\n  ip flow monitor M output\n";
    let c = apply(&Config::default(), text).unwrap().config;
    let p = evaluate(&c, "p").unwrap();
    assert_eq!(
        p.port_security,
        Some(PortSecurity { maximum: 1, violation: Violation::Shutdown, sticky: false })
    );
    let m = p.flow_monitors.output.unwrap();
    assert_eq!(
        (m.record, m.active_timeout_secs, m.inactive_timeout_secs, m.cache_size),
        (FlowRecord::NetflowOriginal, 60, 15, None)
    );
    assert_eq!((m.exporters[0].port, m.exporters[0].version), (9995, FlowExportVersion::V9));
    assert!(!p.dhcp_snooping);
}

#[test]
fn entries_without_a_number_get_the_last_plus_ten() {
    let c = apply(
        &Config::default(),
        "ip access-list A\n  permit ip any any\n  25 deny udp any any\n  deny tcp any any\n",
    )
    .unwrap()
    .config;
    assert_eq!(c.ip_access_lists["A"].entries.keys().copied().collect::<Vec<_>>(), [10, 25, 35]);
    // Typed in a shell: the sub-mode lines are not indented.
    let c = apply(&c, "ip access-list A\npermit icmp any any echo\nexit\n").unwrap().config;
    assert_eq!(c.ip_access_lists["A"].entries[&45].icmp.unwrap().icmp_type, 8);
}

#[test]
fn entries_are_removed_by_number_or_by_text() {
    let c = base();
    let c = apply(&c, "ip access-list WEB-IN\n  no 20\n").unwrap().config;
    assert_eq!(c.ip_access_lists["WEB-IN"].entries.keys().copied().collect::<Vec<_>>(), [10, 30]);
    let c = apply(&c, "ip access-list WEB-IN\n  no permit tcp any 10.100.0.0/24 eq www\n").unwrap().config;
    assert_eq!(c.ip_access_lists["WEB-IN"].entries.keys().copied().collect::<Vec<_>>(), [30]);
    let e = error(&c, "ip access-list WEB-IN\n  no 20\n");
    assert_eq!(e.to_string(), "line 2, column 6: ip access-list 'WEB-IN' has no entry 20");
    let e = error(&c, "ip access-list WEB-IN\n  no deny tcp any any\n");
    assert_eq!(e.to_string(), "line 2, column 11: ip access-list 'WEB-IN' has no entry 'deny tcp any any'");
    let c = apply(&c, "ip access-list WEB-IN\n  no statistics per-entry\n").unwrap().config;
    assert!(!c.ip_access_lists["WEB-IN"].statistics_per_entry);
}

#[test]
fn a_taken_sequence_number_is_refused_unless_it_is_the_same_entry() {
    let e = error(&base(), "ip access-list WEB-IN\n  10 deny ip any any\n");
    assert_eq!(
        e.to_string(),
        "line 2, column 3: sequence number 10 is already used in ip access-list 'WEB-IN' by \
         'permit tcp any 10.100.0.0/24 eq 80'; remove it first (no 10)"
    );
    let again = apply(&base(), "ip access-list WEB-IN\n  10 permit tcp any 10.100.0.0/24 eq 80\n").unwrap();
    assert!(again.changes.is_empty());
}

#[test]
fn resequence_renumbers() {
    let c = apply(&base(), "resequence ip access-list WEB-IN 100 5\n").unwrap();
    assert_eq!(
        c.config.ip_access_lists["WEB-IN"].entries.keys().copied().collect::<Vec<_>>(),
        [100, 105, 110]
    );
    assert!(c.affected_profiles().contains("web"));
    let e = error(&base(), "resequence ip access-list WEB-IN 4294967290 10\n");
    assert_eq!(
        e.to_string(),
        "line 1, column 45: resequencing 3 entries from 4294967290 by 10 passes 4294967295"
    );
    let e = error(&base(), "resequence ipv6 access-list WEB-IN 1 1\n");
    assert_eq!(e.to_string(), "line 1, column 29: ipv6 access-list 'WEB-IN' does not exist");
}

#[test]
fn entry_errors_point_into_the_line() {
    let e = error(&Config::default(), "ip access-list A\n  10 permit tcp any 2001:db8::/32 eq 80\n");
    assert_eq!(
        e.to_string(),
        "line 2, column 21: '2001:db8::/32' is not an IPv4 address: an ip access-list holds IPv4 addresses only"
    );
    let e = error(&Config::default(), "ipv6 access-list A\n  permit udp host 10.0.0.1 any\n");
    assert_eq!((e.line, e.column), (2, 19));
    assert!(e.message.contains("an ipv6 access-list holds IPv6 addresses only"), "{e}");
    let e = error(&Config::default(), "ip access-list A\n  10 permit tcp any any eq 99999\n");
    assert_eq!(
        e.to_string(),
        "line 2, column 28: invalid port '99999': expected a port number 0-65535 or a name like www, ssh, domain"
    );
    let e = error(&Config::default(), "ip access-list A\n  10 permit\n");
    assert_eq!(e.message, "incomplete command");
    let e = error(&Config::default(), "ip access-list A\n  10 deny tcp any any eq 22 stateful\n");
    assert_eq!(e.to_string(), "line 2, column 29: only a permit can be stateful");
    let e = error(&Config::default(), "ip access-list A\n  0 permit ip any any\n");
    assert_eq!((e.line, e.column), (2, 3));
    // Host bits are masked, as NX-OS does.
    let c = apply(&Config::default(), "ip access-list A\n  10 permit ip 10.1.1.7/24 any\n").unwrap().config;
    assert_eq!(print_running_config(&c), "ip access-list A\n  10 permit ip 10.1.1.0/24 any\n");
}

#[test]
fn access_groups_must_name_a_list_of_their_family() {
    let e = error(&base(), "port-profile web\n  ip port access-group NOPE in\n");
    assert_eq!(e.to_string(), "line 2, column 24: ip access-list 'NOPE' does not exist");
    let e = error(&base(), "port-profile web\n  ip port access-group WEB6-IN in\n");
    assert_eq!(
        e.to_string(),
        "line 2, column 24: 'WEB6-IN' is an ipv6 access-list; ip port access-group takes an ip access-list"
    );
    let e = error(&base(), "port-profile web\n  ipv6 port traffic-filter WEB-IN out\n");
    assert_eq!((e.line, e.column), (2, 28));
    assert!(e.message.contains("'WEB-IN' is an ip access-list"), "{e}");
    let e = error(&base(), "port-profile uplink\n  ip port access-group WEB-IN in\n");
    assert_eq!(
        e.to_string(),
        "line 2, column 24: ip port access-group applies only to vethernet port-profiles"
    );
    // `no` forms unset, when they name what is applied.
    let c = apply(&base(), "port-profile web\n  no ip port access-group WEB-OUT out\n").unwrap().config;
    assert_eq!(c.port_profiles["web"].access_groups.ipv4_out, None);
    let e = error(&base(), "port-profile web\n  no ip port access-group WEB-IN out\n");
    assert_eq!(
        e.to_string(),
        "line 2, column 27: 'WEB-IN' is not applied here: ip port access-group is WEB-OUT"
    );
    let e = error(&base(), "port-profile web\n  no ip flow monitor MON output\n");
    assert_eq!(e.to_string(), "line 2, column 22: 'MON' is not applied here");
}

#[test]
fn a_list_in_use_cannot_be_deleted() {
    let e = error(&base(), "no ip access-list WEB-IN\n");
    assert_eq!(e.to_string(), "line 1, column 19: ip access-list 'WEB-IN' is used by port-profile 'base'");
    let e = error(&base(), "no flow monitor MON\n");
    assert_eq!(e.to_string(), "line 1, column 17: flow monitor 'MON' is used by port-profile 'web'");
    let e = error(&base(), "no flow exporter COLLECTOR\n");
    assert_eq!(e.to_string(), "line 1, column 18: flow exporter 'COLLECTOR' is used by flow monitor 'MON'");
    let e = error(&base(), "flow exporter COLLECTOR\n  no destination\n");
    assert_eq!(
        e.to_string(),
        "line 2, column 3: flow exporter 'COLLECTOR' is used by flow monitor 'MON' and needs a destination"
    );
    // Unused, or used no more in the same text: fine.
    let c = apply(
        &base(),
        "port-profile web\n  no ip port access-group WEB-OUT out\nno ip access-list WEB-OUT\n",
    )
    .unwrap();
    assert!(!c.config.ip_access_lists.contains_key("WEB-OUT"));
    let e = error(&Config::default(), "no ip access-list X\n");
    assert_eq!(e.to_string(), "line 1, column 19: ip access-list 'X' does not exist");
}

#[test]
fn flow_monitor_lines() {
    let e = error(&base(), "flow monitor MON\n  exporter NOPE\n");
    assert_eq!(e.to_string(), "line 2, column 12: flow exporter 'NOPE' does not exist");
    let e = error(
        &base(),
        "flow exporter B\n  destination ::1\nflow exporter C\n  destination ::2\nflow monitor MON\n  exporter B\n  exporter C\n",
    );
    assert_eq!(e.to_string(), "line 7, column 12: a flow monitor sends to at most 2 exporters");
    let e = error(&base(), "port-profile web\n  ip flow monitor NOPE output\n");
    assert_eq!(e.to_string(), "line 2, column 19: flow monitor 'NOPE' does not exist");
    let e = error(&base(), "flow exporter X\n  destination 10.0.0.300\n");
    assert_eq!((e.line, e.column, e.message.as_str()), (2, 15, "invalid address '10.0.0.300'"));
    let c = apply(&base(), "flow monitor MON\n  no exporter COLLECTOR\n  timeout active 120\n  record netflow ipv4 original-input\n  cache size 4096\n").unwrap().config;
    let m = &c.flow_monitors["MON"];
    assert!(m.exporters.is_empty());
    assert_eq!(
        (m.timeout_active, m.cache_size, m.record),
        (Some(120), Some(4096), Some(FlowRecord::NetflowOriginal))
    );
    let e = error(&c, "flow monitor MON\n  no exporter COLLECTOR\n");
    assert_eq!(e.to_string(), "line 2, column 15: flow monitor 'MON' does not use exporter 'COLLECTOR'");
}

#[test]
fn anti_spoofing_lines_and_forms() {
    let c = apply(&Config::default(), "port-profile p\n  ip verify source\n  switchport port-security mac-address sticky\n  storm-control unicast level pps 7\n")
        .unwrap()
        .config;
    assert_eq!(
        print_running_config(&c),
        "port-profile type vethernet p\n  switchport port-security mac-address sticky\n  ip verify source dhcp-snooping-vlan\n  storm-control unicast level pps 7\n"
    );
    let p = evaluate(&c, "p").unwrap();
    assert_eq!(p.port_security, None, "sticky alone does not turn port security on");
    assert_eq!(p.storm_control.unknown_unicast_pps, Some(7));
    let c = apply(&c, "port-profile p\n  no ip verify source\n  no storm-control unicast\n  no switchport port-security mac-address sticky\n").unwrap().config;
    assert_eq!(print_running_config(&c), "port-profile type vethernet p\n");
    let e = error(&c, "port-profile p\n  switchport port-security maximum 1026\n");
    assert_eq!(e.to_string(), "line 2, column 36: invalid number '1026': expected a number 1-1025");
    let e = error(&c, "port-profile type ethernet up\n  ip arp inspection\n");
    assert_eq!(e.to_string(), "line 2, column 3: ip arp inspection applies only to vethernet port-profiles");
    // `ip dhcp snooping` typed in a profile's sub-mode is the global line.
    let a = apply(&c, "port-profile p\nip dhcp snooping\n").unwrap();
    assert!(a.config.dhcp_snooping);
    assert!(a.changes.iter().any(|ch| ch.object == Object::DhcpSnooping && ch.kind == ChangeKind::Created));
    assert!(a.affected_profiles().contains("p"));
}

#[test]
fn changes_name_the_objects_and_reach_the_profiles_using_them() {
    let a = apply(&base(), "ip access-list WEB-IN\n  40 permit udp any any eq domain\n").unwrap();
    assert_eq!(a.changes.len(), 1);
    assert_eq!(a.changes[0].to_string(), "ip access-list WEB-IN modified (40 permit udp any any eq domain)");
    let affected: Vec<String> = a.affected_profiles().into_iter().collect();
    assert_eq!(affected, ["base", "web"]);
    assert_ne!(evaluate(&base(), "web").unwrap(), evaluate(&a.config, "web").unwrap());
    let a = apply(&base(), "flow exporter COLLECTOR\n  dscp 46\n").unwrap();
    assert_eq!(a.changes[0].object, Object::FlowExporter("COLLECTOR".into()));
    assert_eq!(a.affected_profiles().into_iter().collect::<Vec<_>>(), ["web"]);
    let a = apply(&base(), "ipv6 access-list OTHER\n  permit ipv6 any any\n").unwrap();
    assert_eq!(a.changes[0].object, Object::AccessList(Family::Ipv6, "OTHER".into()));
    assert_eq!(a.changes[0].kind, ChangeKind::Created);
    assert!(a.affected_profiles().is_empty());
}

#[test]
fn json_of_the_policy() {
    let c = base();
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), c);
    let policy = evaluate(&c, "web").unwrap();
    let json = serde_json::to_value(&policy).unwrap();
    assert_eq!(json["access_groups"]["ipv4_in"]["entries"][0]["ace"]["destination"]["prefix"]["length"], 24);
    assert_eq!(serde_json::from_value::<EffectivePolicy>(json.clone()).unwrap(), policy);
    // A policy of an older supervisor, without any policy field, still reads.
    let mut old = json.clone();
    for field in [
        "access_groups",
        "port_security",
        "verify_source",
        "arp_inspection",
        "dhcp_snooping",
        "storm_control",
        "flow_monitors",
    ] {
        old.as_object_mut().unwrap().remove(field);
    }
    let old: EffectivePolicy = serde_json::from_value(old).unwrap();
    assert_eq!(
        (old.access_groups, old.port_security, old.verify_source),
        (AccessGroups::default(), None, false)
    );
    // What agents read tolerates fields a newer supervisor added; the stored config does not.
    let mut newer = json;
    newer["access_groups"]["ipv4_in"]["added_later"] = serde_json::json!([]);
    assert!(serde_json::from_value::<EffectivePolicy>(newer).is_ok());
    let e = serde_json::from_str::<Config>(r#"{"ip_access_lists":{"A":{"statistic":true}}}"#).unwrap_err();
    assert!(e.to_string().contains("unknown field `statistic`"), "{e}");
}

#[test]
fn json_models_are_validated() {
    let mut c = Config::default();
    let mut list = config::AccessList::default();
    let mut ace = config::Ace::new(
        Action::Permit,
        Protocol::Tcp,
        AddressMatch::Prefix { address: "10.1.1.7".parse().unwrap(), length: 24 },
        AddressMatch::Any,
    );
    list.entries.insert(10, ace.clone());
    c.ip_access_lists.insert("A".into(), list.clone());
    assert_eq!(
        validate(&c).unwrap_err().to_string(),
        "ip access-list A: entry 10: entry is not in canonical form: 'permit tcp 10.1.1.7/24 any' reads as 'permit tcp 10.1.1.0/24 any'"
    );
    ace.source = AddressMatch::Host { address: "::1".parse().unwrap() };
    list.entries.insert(10, ace.clone());
    c.ip_access_lists.insert("A".into(), list.clone());
    assert!(validate(&c).unwrap_err().to_string().contains("not an IPv4 address"));
    ace.source = AddressMatch::Any;
    ace.protocol = Protocol::Udp;
    ace.tcp_flags = vec![config::TcpFlag::Syn];
    list.entries.insert(10, ace);
    c.ip_access_lists.insert("A".into(), list);
    assert!(validate(&c).unwrap_err().to_string().starts_with("ip access-list A: entry 10: invalid entry"));
    let _ = Direction::BOTH;
}

#[test]
fn the_documented_example_applies_and_prints_back() {
    let doc = include_str!("../../../docs/POLICY.md");
    let start = doc.find("```\n").unwrap() + 4;
    let example = &doc[start..start + doc[start..].find("```").unwrap()];
    let c = apply(&Config::default(), example).unwrap_or_else(|e| panic!("{e}")).config;
    assert_eq!(print_running_config(&c), example);
    assert_eq!(evaluate(&c, "web").unwrap().flow_monitors.output.unwrap().exporters[0].dscp, 46);
}

#[test]
fn the_readme_s_policy_example_applies() {
    let readme = include_str!("../../../README.md");
    let section = &readme[readme.find("## Policy: access lists").unwrap()..];
    let start = section.find("```\n").unwrap() + 4;
    let example = &section[start..start + section[start..].find("```").unwrap()];
    let c = apply(&Config::default(), example).unwrap_or_else(|e| panic!("{e}")).config;
    let web = evaluate(&c, "web").unwrap();
    assert!(web.access_groups.ipv4_out.as_ref().unwrap().is_stateful());
    assert_eq!(web.port_security.unwrap().maximum, 2);
    assert!(web.verify_source && web.arp_inspection && web.dhcp_snooping);
}
