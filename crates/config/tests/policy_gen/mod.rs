//! Generators of valid policy: access lists with every kind of entry, flow exporters and
//! monitors, and the policy lines of profiles that use them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use config::acl::mask_address;
use config::{
    AccessList, Ace, Action, AddressMatch, Direction, Family, FlowExportVersion, FlowExporter, FlowMonitor,
    FlowRecord, IcmpMatch, PortMatch, PortProfile, PortSecurityConfig, ProfileType, Protocol, StormControl,
    TcpFlag, Violation,
};
use proptest::prelude::*;

fn address(family: Family) -> BoxedStrategy<IpAddr> {
    match family {
        Family::Ipv4 => prop_oneof![
            Just(IpAddr::V4(Ipv4Addr::new(10, 100, 0, 1))),
            any::<u32>().prop_map(|a| IpAddr::V4(a.into()))
        ]
        .boxed(),
        Family::Ipv6 => prop_oneof![
            Just(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            any::<u128>().prop_map(|a| IpAddr::V6(a.into()))
        ]
        .boxed(),
    }
}

pub fn address_match(family: Family) -> impl Strategy<Value = AddressMatch> {
    let max = family.max_prefix_len();
    prop_oneof![
        Just(AddressMatch::Any),
        address(family).prop_map(|address| AddressMatch::Host { address }),
        (address(family), 0..=max)
            .prop_map(|(a, length)| AddressMatch::Prefix { address: mask_address(a, length), length }),
    ]
}

fn port_match() -> impl Strategy<Value = PortMatch> {
    prop_oneof![
        any::<u16>().prop_map(PortMatch::Eq),
        any::<u16>().prop_map(PortMatch::Neq),
        any::<u16>().prop_map(PortMatch::Lt),
        any::<u16>().prop_map(PortMatch::Gt),
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| PortMatch::Range { first: a.min(b), last: a.max(b) }),
    ]
}

fn protocol(family: Family) -> impl Strategy<Value = Protocol> {
    prop_oneof![
        Just(Protocol::Ip),
        Just(Protocol::Tcp),
        Just(Protocol::Udp),
        Just(Protocol::Icmp),
        any::<u8>().prop_map(move |n| Protocol::from_number(n, family)),
    ]
}

pub fn ace(family: Family) -> impl Strategy<Value = Ace> {
    (
        prop_oneof![Just(Action::Permit), Just(Action::Deny)],
        protocol(family),
        address_match(family),
        address_match(family),
        (prop::option::of(port_match()), prop::option::of(port_match())),
        (prop::collection::btree_set(prop::sample::select(TcpFlag::ALL.to_vec()), 0..3), any::<bool>()),
        prop::option::of((any::<u8>(), prop::option::of(any::<u8>()))),
        any::<bool>(),
    )
        .prop_map(
            |(action, protocol, source, destination, ports, (flags, established), icmp, stateful)| {
                let mut ace = Ace::new(action, protocol, source, destination);
                if protocol.has_ports() {
                    (ace.source_port, ace.destination_port) = ports;
                }
                if protocol == Protocol::Tcp {
                    ace.tcp_flags = flags.into_iter().collect();
                    ace.established = established;
                }
                if protocol == Protocol::Icmp {
                    ace.icmp = icmp.map(|(icmp_type, code)| IcmpMatch { icmp_type, code });
                }
                ace.stateful = stateful && action == Action::Permit;
                ace
            },
        )
}

pub fn access_list(family: Family) -> impl Strategy<Value = AccessList> {
    (any::<bool>(), prop::collection::btree_map(prop_oneof![1u32..=100, 1u32..=u32::MAX], ace(family), 0..6))
        .prop_map(|(statistics_per_entry, entries)| AccessList { statistics_per_entry, entries })
}

fn acl_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.-]{1,64}"
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9 ,.-]{0,40}[a-zA-Z0-9]"
}

fn exporter() -> impl Strategy<Value = FlowExporter> {
    (
        prop::option::of(text()),
        prop::option::of(prop_oneof![address(Family::Ipv4), address(Family::Ipv6)]),
        prop::option::of(1u16..=65535),
        prop::option::of(prop_oneof![Just(FlowExportVersion::V9), Just(FlowExportVersion::Ipfix)]),
        prop::option::of(0u8..=63),
    )
        .prop_map(|(description, destination, transport_udp, version, dscp)| FlowExporter {
            description,
            destination,
            transport_udp,
            version,
            dscp,
        })
}

/// The objects profiles may use.
#[derive(Debug, Clone)]
pub struct PolicyObjects {
    pub ip_access_lists: BTreeMap<String, AccessList>,
    pub ipv6_access_lists: BTreeMap<String, AccessList>,
    pub flow_exporters: BTreeMap<String, FlowExporter>,
    pub flow_monitors: BTreeMap<String, FlowMonitor>,
    pub dhcp_snooping: bool,
}

type MonitorParts =
    (Option<String>, Option<FlowRecord>, Vec<prop::sample::Index>, Option<u32>, Option<u32>, Option<u32>);

fn monitor_parts() -> impl Strategy<Value = (String, MonitorParts)> {
    (
        acl_name().prop_map(|n| n.chars().take(63).collect::<String>()),
        (
            prop::option::of(text()),
            prop::option::of(Just(FlowRecord::NetflowOriginal)),
            prop::collection::vec(any::<prop::sample::Index>(), 0..3),
            prop::option::of(1u32..=604_800),
            prop::option::of(1u32..=604_800),
            prop::option::of(16u32..=1_048_576),
        ),
    )
}

pub fn policy_objects() -> impl Strategy<Value = PolicyObjects> {
    (
        prop::collection::btree_map(acl_name(), access_list(Family::Ipv4), 0..4),
        prop::collection::btree_map(acl_name(), access_list(Family::Ipv6), 0..3),
        prop::collection::btree_map("[a-zA-Z0-9_.-]{1,63}", exporter(), 0..3),
        prop::collection::vec(monitor_parts(), 0..3),
        any::<bool>(),
    )
        .prop_map(|(ip_access_lists, ipv6_access_lists, flow_exporters, monitors, dhcp_snooping)| {
            // A monitor may only use exporters that have a destination.
            let usable: Vec<&String> =
                flow_exporters.iter().filter(|(_, e)| e.destination.is_some()).map(|(n, _)| n).collect();
            let mut flow_monitors = BTreeMap::new();
            for (name, (description, record, picks, timeout_active, timeout_inactive, cache_size)) in monitors
            {
                let mut exporters: Vec<String> = Vec::new();
                if !usable.is_empty() {
                    for pick in picks {
                        let e = pick.get(&usable).to_string();
                        if !exporters.contains(&e) {
                            exporters.push(e);
                        }
                    }
                }
                let monitor = FlowMonitor {
                    description,
                    record,
                    exporters,
                    timeout_active,
                    timeout_inactive,
                    cache_size,
                };
                flow_monitors.insert(name, monitor);
            }
            PolicyObjects { ip_access_lists, ipv6_access_lists, flow_exporters, flow_monitors, dhcp_snooping }
        })
}

/// What a profile may set, as picks among the objects (resolved by [`add_policy`]).
#[derive(Debug, Clone)]
pub struct ProfilePolicy {
    groups: [Option<prop::sample::Index>; 4],
    monitors: [Option<prop::sample::Index>; 2],
    port_security: PortSecurityConfig,
    flags: (bool, bool, bool),
    storm: StormControl,
}

pub fn profile_policy() -> impl Strategy<Value = ProfilePolicy> {
    let violation =
        prop_oneof![Just(Violation::Protect), Just(Violation::Restrict), Just(Violation::Shutdown)];
    let rate = || prop::option::of(1u32..=100_000_000);
    (
        any::<[Option<prop::sample::Index>; 4]>(),
        any::<[Option<prop::sample::Index>; 2]>(),
        (any::<bool>(), prop::option::of(1u32..=1025), prop::option::of(violation), any::<bool>()),
        any::<(bool, bool, bool)>(),
        (rate(), rate(), rate()),
    )
        .prop_map(|(groups, monitors, (enabled, maximum, violation, sticky), flags, (b, m, u))| {
            ProfilePolicy {
                groups,
                monitors,
                port_security: PortSecurityConfig { enabled, maximum, violation, sticky },
                flags,
                storm: StormControl { broadcast_pps: b, multicast_pps: m, unknown_unicast_pps: u },
            }
        })
}

/// Sets the policy lines the profile's type allows, naming existing objects.
pub fn add_policy(profile: &mut PortProfile, policy: &ProfilePolicy, objects: &PolicyObjects) {
    profile.dhcp_snooping_trust = policy.flags.2;
    if profile.kind != ProfileType::Vethernet {
        return;
    }
    let pick = |map: &BTreeMap<String, AccessList>, index: &Option<prop::sample::Index>| {
        let names: Vec<&String> = map.keys().collect();
        index.as_ref().filter(|_| !names.is_empty()).map(|i| i.get(&names).to_string())
    };
    let slots = [
        (Family::Ipv4, Direction::In),
        (Family::Ipv4, Direction::Out),
        (Family::Ipv6, Direction::In),
        (Family::Ipv6, Direction::Out),
    ];
    for ((family, direction), index) in slots.into_iter().zip(&policy.groups) {
        let map = match family {
            Family::Ipv4 => &objects.ip_access_lists,
            Family::Ipv6 => &objects.ipv6_access_lists,
        };
        *profile.access_groups.get_mut(family, direction) = pick(map, index);
    }
    let monitors: Vec<&String> = objects.flow_monitors.keys().collect();
    for (direction, index) in Direction::BOTH.into_iter().zip(&policy.monitors) {
        *profile.flow_monitors.get_mut(direction) =
            index.as_ref().filter(|_| !monitors.is_empty()).map(|i| i.get(&monitors).to_string());
    }
    profile.port_security = policy.port_security.clone();
    (profile.verify_source, profile.arp_inspection) = (policy.flags.0, policy.flags.1);
    profile.storm_control = policy.storm;
}
