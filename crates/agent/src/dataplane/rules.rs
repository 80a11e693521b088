//! From a port-profile's evaluated policy to the datapath's own policy types, pure: access lists
//! (entries become rules), port security, storm control. The config speaks the operator's
//! language; the datapath its own compact forms — this is the one place that translates.

use std::sync::Arc;

use config::acl::{AddressMatch, Protocol};
use config::{AccessGroups, Direction, EffectiveAcl, Family};
use datapath::{
    Acl, AclRule, IpNet, PortAcls, PortMatch, PortSecurity, StormControl, TcpFlagMatch, ViolationAction,
};

/// The lists a port applies in `direction`, translated.
pub fn port_acls(groups: &AccessGroups, direction: Direction) -> PortAcls {
    PortAcls {
        v4: groups.get(Family::Ipv4, direction).map(|list| Arc::new(acl(list))),
        v6: groups.get(Family::Ipv6, direction).map(|list| Arc::new(acl(list))),
    }
}

/// One access list, its entries in sequence order.
pub fn acl(list: &EffectiveAcl) -> Acl {
    let family = match list.family {
        Family::Ipv4 => datapath::Family::V4,
        Family::Ipv6 => datapath::Family::V6,
    };
    Acl::new(
        list.name.as_str(),
        family,
        list.entries.iter().map(|entry| rule(entry.sequence, &entry.ace, list.family)),
    )
}

/// One entry as a datapath rule.
fn rule(sequence: u32, ace: &config::Ace, family: Family) -> AclRule {
    let action = match ace.action {
        config::acl::Action::Permit => datapath::Action::Permit,
        config::acl::Action::Deny => datapath::Action::Deny,
    };
    let mut rule = AclRule::new(sequence, action);
    rule.stateful = ace.stateful && ace.is_permit();
    rule.protocol = ace.protocol_number(family);
    rule.source = net(ace.source);
    rule.destination = net(ace.destination);
    if matches!(ace.protocol, Protocol::Tcp | Protocol::Udp) {
        rule.src_ports = ports(ace.source_port);
        rule.dst_ports = ports(ace.destination_port);
    }
    if ace.protocol == Protocol::Tcp {
        rule.tcp_flags = if ace.established {
            TcpFlagMatch::Established
        } else if ace.tcp_flags.is_empty() {
            TcpFlagMatch::Any
        } else {
            let bits = ace.tcp_flag_bits();
            TcpFlagMatch::Bits { mask: bits, value: bits }
        };
    }
    if let Some(icmp) = ace.icmp {
        rule.icmp_type = Some(icmp.icmp_type);
        rule.icmp_code = icmp.code;
    }
    rule
}

fn net(address: AddressMatch) -> IpNet {
    match address {
        AddressMatch::Any => IpNet::ANY,
        AddressMatch::Host { address } => IpNet::host(address),
        // The config never holds a prefix longer than its address (validation); if it did,
        // the whole family is the safe reading only for a permit, so match nothing wider: host.
        AddressMatch::Prefix { address, length } => {
            IpNet::new(address, length).unwrap_or_else(|| IpNet::host(address))
        }
    }
}

fn ports(condition: Option<config::acl::PortMatch>) -> PortMatch {
    use config::acl::PortMatch as P;
    match condition {
        None => PortMatch::Any,
        Some(P::Eq(port)) => PortMatch::Eq(port),
        Some(P::Neq(port)) => PortMatch::Neq(port),
        Some(P::Lt(port)) => PortMatch::Lt(port),
        Some(P::Gt(port)) => PortMatch::Gt(port),
        Some(P::Range { first, last }) => PortMatch::Range(first, last),
    }
}

/// `switchport port-security …`.
pub fn port_security(security: &config::PortSecurity) -> PortSecurity {
    let violation = match security.violation {
        config::Violation::Protect => ViolationAction::Protect,
        config::Violation::Restrict => ViolationAction::Restrict,
        config::Violation::Shutdown => ViolationAction::Shutdown,
    };
    PortSecurity { maximum: security.maximum, violation, sticky: security.sticky }
}

/// `storm-control … level pps N`.
pub fn storm_control(storm: &config::StormControl) -> StormControl {
    StormControl {
        broadcast_pps: storm.broadcast_pps,
        multicast_pps: storm.multicast_pps,
        unknown_unicast_pps: storm.unknown_unicast_pps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> EffectiveAcl {
        let script = format!(
            "ip access-list WEB\n{text}\nport-profile type vethernet web\n  ip port access-group WEB in\n"
        );
        let applied = config::apply(&config::Config::default(), &script).expect("valid");
        let policies = config::evaluate_all(&applied.config);
        policies["web"].access_groups.ipv4_in.clone().expect("the list")
    }

    #[test]
    fn entries_become_rules_that_print_the_same() {
        let acl = acl(&list(
            "  10 permit tcp any 10.100.0.0/24 eq 80\n  20 permit udp host 10.0.0.1 range 1000 2000 any\n  30 permit tcp any any established\n  40 permit icmp any any 8 stateful\n  50 deny ip any any",
        ));
        let printed: Vec<String> = acl.rules().iter().map(|rule| format!("{} {rule}", rule.seq)).collect();
        assert_eq!(
            printed,
            [
                "10 permit tcp any 10.100.0.0/24 eq 80",
                "20 permit udp host 10.0.0.1 range 1000 2000 any",
                "30 permit tcp any any established",
                "40 permit icmp any any 8 stateful",
                "50 deny ip any any",
            ]
        );
        assert_eq!(acl.name().as_ref(), "WEB");
    }

    #[test]
    fn port_security_and_storm_control_keep_their_numbers() {
        let security =
            config::PortSecurity { maximum: 3, violation: config::Violation::Restrict, sticky: true };
        assert_eq!(
            port_security(&security),
            PortSecurity { maximum: 3, violation: ViolationAction::Restrict, sticky: true }
        );
        let storm = config::StormControl {
            broadcast_pps: Some(100),
            multicast_pps: None,
            unknown_unicast_pps: Some(5),
        };
        assert_eq!(storm_control(&storm).unknown_unicast_pps, Some(5));
    }
}
