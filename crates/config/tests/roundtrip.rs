//! Properties of the language: print ∘ parse is a fixed point over random valid models, and no
//! input makes `apply` panic.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use config::{
    AddressRange, BridgeDomain, Config, IpPool, Ipv4Network, Password, PortBinding, PortProfile, ProfileType,
    Role, SwitchportMode, User, Vlan, VlanSet, apply, evaluate_all, print_running_config, validate,
};
use proptest::prelude::*;

mod policy_gen;
use policy_gen::{PolicyObjects, add_policy, policy_objects};

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.:/!#$%&*+,;<=>@^~|-]{1,20}"
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9é][a-zA-Z0-9é ,.!?-]{0,60}"
        .prop_map(|s| s.trim_end().to_string())
        .prop_filter("non-empty", |s| !s.is_empty())
}

fn vlan_id() -> impl Strategy<Value = u16> {
    prop_oneof![1u16..=10, 4090u16..=4094, 1u16..=4094]
}

fn vlan_set() -> impl Strategy<Value = VlanSet> {
    prop_oneof![
        Just(VlanSet::all()),
        Just(VlanSet::none()),
        prop::collection::vec((vlan_id(), 0u16..40), 1..6).prop_map(|runs| {
            runs.into_iter().fold(VlanSet::none(), |set, (first, len)| {
                set.union(&VlanSet::range(first, first.saturating_add(len)))
            })
        }),
    ]
}

fn non_empty_vlan_set() -> impl Strategy<Value = VlanSet> {
    vlan_set().prop_filter("system vlan lists are never empty", |s| !s.is_empty())
}

fn vlans() -> impl Strategy<Value = BTreeMap<u16, Vlan>> {
    prop::collection::btree_map(
        vlan_id(),
        prop::option::of("[a-zA-Z0-9_-]{1,32}").prop_map(|name| Vlan { name }),
        0..8,
    )
}

fn segment_id() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..=10, 16_777_200u32..=16_777_215, 1u32..=16_777_215]
}

/// Bridge-domains with distinct segment ids (a taken id leaves the later one without).
fn bridge_domains() -> impl Strategy<Value = BTreeMap<String, BridgeDomain>> {
    prop::collection::vec(("[a-zA-Z0-9_-]{1,32}", prop::option::of(segment_id())), 0..5).prop_map(|entries| {
        let mut out: BTreeMap<String, BridgeDomain> = BTreeMap::new();
        for (name, segment_id) in entries {
            let taken = out.values().any(|d| d.segment_id.is_some() && d.segment_id == segment_id);
            out.entry(name).or_insert(BridgeDomain { segment_id: segment_id.filter(|_| !taken) });
        }
        out
    })
}

/// Accounts: clear passwords (any word, `0` and `5` too) or hashes; at least one network-admin.
fn users() -> impl Strategy<Value = BTreeMap<String, User>> {
    let password = prop_oneof![
        "[!-~&&[^?]]{1,64}".prop_map(Password::Clear),
        "[a-zA-Z0-9+/=,$]{1,80}".prop_map(|tail| Password::Hashed(format!("$argon2id${tail}"))),
    ];
    let role = prop_oneof![Just(Role::NetworkAdmin), Just(Role::NetworkOperator)];
    prop::collection::btree_map("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,27}", (password, role), 0..4).prop_map(|users| {
        let mut users: BTreeMap<String, User> =
            users.into_iter().map(|(name, (password, role))| (name, User { password, role })).collect();
        if let Some(first) = users.values_mut().next() {
            first.role = Role::NetworkAdmin;
        }
        users
    })
}

/// A profile with attributes allowed for `kind`, no inheritance yet.
fn profile(kind: ProfileType) -> impl Strategy<Value = PortProfile> {
    let vethernet = kind == ProfileType::Vethernet;
    (
        (
            prop::option::of(text()),
            prop::option::of(prop_oneof![Just(SwitchportMode::Access), Just(SwitchportMode::Trunk)]),
            prop::option::of(vlan_id()),
            prop::option::of(vlan_set()),
            prop::option::of(vlan_id()),
        ),
        (
            any::<bool>(),
            prop::option::of(1u32..=1024),
            prop::option::of(prop_oneof![
                Just(PortBinding::Static),
                Just(PortBinding::Dynamic),
                Just(PortBinding::Ephemeral)
            ]),
            prop::option::of(non_empty_vlan_set()),
            prop::option::of(any::<bool>()),
            any::<bool>(),
        ),
    )
        .prop_map(
            move |(
                (description, mode, access_vlan, trunk_allowed_vlans, trunk_native_vlan),
                (mac_pinning, max_ports, port_binding, system_vlans, shutdown, state_enabled),
            )| PortProfile {
                kind,
                description,
                mode,
                access_vlan,
                access_bridge_domain: None,
                trunk_allowed_vlans,
                trunk_native_vlan,
                channel_group_mac_pinning: (!vethernet && mac_pinning).then_some(true),
                inherit: None,
                max_ports: max_ports.filter(|_| vethernet),
                port_binding: port_binding.filter(|_| vethernet),
                system_vlans,
                shutdown,
                state_enabled,
                ..PortProfile::default()
            },
        )
}

fn kind() -> impl Strategy<Value = ProfileType> {
    prop_oneof![Just(ProfileType::Vethernet), Just(ProfileType::Ethernet)]
}

/// A host address of 10.I.0.0/24.
fn host(i: u8, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, i, 0, host)
}

/// Pools on distinct /24s (networks never overlap), with addresses inside their network.
fn ip_pools() -> impl Strategy<Value = BTreeMap<String, IpPool>> {
    let pair = || (1u8..255, 1u8..255).prop_map(|(a, b)| (a.min(b), a.max(b)));
    let pool = (
        name(),
        any::<Option<u8>>(),
        prop::collection::vec(pair(), 0..3),
        prop::collection::vec(pair(), 0..3),
        any::<bool>(),
    );
    prop::collection::btree_map(any::<u8>(), pool, 0..4).prop_map(move |by_octet| {
        by_octet
            .into_iter()
            .map(|(i, (name, router, ranges, excludes, network_given))| {
                let mut pool = IpPool {
                    network: Some(Ipv4Network::new(Ipv4Addr::new(10, i, 0, 0), 24).unwrap()),
                    default_router: router.filter(|r| (1..255).contains(r)).map(|r| host(i, r)),
                    ranges: ranges
                        .iter()
                        .map(|(a, b)| AddressRange { first: host(i, *a), last: host(i, *b) })
                        .collect(),
                    excludes: excludes
                        .iter()
                        .map(|(a, b)| AddressRange { first: host(i, *a), last: host(i, *b) })
                        .collect(),
                };
                if !network_given {
                    pool.ranges.clear();
                }
                (format!("{name}-{i}"), pool)
            })
            .collect()
    })
}

/// Valid models: profiles inherit only from earlier profiles of their own type (no cycles);
/// vethernet profiles may join a bridge-domain that has a segment id (instead of a VLAN).
fn valid_config() -> impl Strategy<Value = Config> {
    let entry = (
        name(),
        kind(),
        any::<Option<prop::sample::Index>>(),
        any::<Option<prop::sample::Index>>(),
        policy_gen::profile_policy(),
        any::<Option<prop::sample::Index>>(),
    )
        .prop_flat_map(|(name, kind, parent, domain, policy, pool)| {
            (Just(name), profile(kind), Just(parent), Just(domain), Just(policy), Just(pool))
        });
    (vlans(), bridge_domains(), prop::collection::vec(entry, 0..8), users(), policy_objects(), ip_pools())
        .prop_map(|(vlans, bridge_domains, entries, users, objects, ip_pools)| {
            let pool_names: Vec<&String> = ip_pools.keys().collect();
            let usable: Vec<&String> =
                bridge_domains.iter().filter(|(_, d)| d.segment_id.is_some()).map(|(n, _)| n).collect();
            let mut port_profiles: BTreeMap<String, PortProfile> = BTreeMap::new();
            for (name, mut profile, parent, domain, policy, pool) in entries {
                if port_profiles.contains_key(&name) {
                    continue;
                }
                let candidates: Vec<&String> =
                    port_profiles.iter().filter(|(_, p)| p.kind == profile.kind).map(|(n, _)| n).collect();
                if let Some(index) = parent
                    && !candidates.is_empty()
                {
                    profile.inherit = Some(index.get(&candidates).to_string());
                }
                if let Some(index) = domain
                    && profile.kind == ProfileType::Vethernet
                    && !usable.is_empty()
                {
                    profile.access_bridge_domain = Some(index.get(&usable).to_string());
                    profile.access_vlan = None;
                }
                add_policy(&mut profile, &policy, &objects);
                if let Some(index) = pool
                    && profile.kind == ProfileType::Vethernet
                    && !pool_names.is_empty()
                {
                    profile.ip_pool = Some(index.get(&pool_names).to_string());
                }
                port_profiles.insert(name, profile);
            }
            let PolicyObjects {
                ip_access_lists,
                ipv6_access_lists,
                flow_exporters,
                flow_monitors,
                dhcp_snooping,
            } = objects;
            Config {
                vlans,
                bridge_domains,
                port_profiles,
                users,
                ip_access_lists,
                ipv6_access_lists,
                flow_exporters,
                flow_monitors,
                dhcp_snooping,
                ip_pools,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_models_are_valid(c in valid_config()) {
        prop_assert_eq!(validate(&c), Ok(()));
        prop_assert_eq!(evaluate_all(&c).len(), c.port_profiles.len());
    }

    #[test]
    fn print_then_apply_gives_the_model_back(c in valid_config()) {
        let text = print_running_config(&c);
        let applied = apply(&Config::default(), &text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&applied.config, &c, "{}", text);
        // print ∘ parse is a fixed point.
        prop_assert_eq!(print_running_config(&applied.config), text);
        // Applying the running config onto itself changes nothing.
        let again = apply(&c, &print_running_config(&c)).unwrap();
        prop_assert!(again.changes.is_empty());
    }

    #[test]
    fn json_round_trips(c in valid_config()) {
        let json = serde_json::to_string(&c).unwrap();
        prop_assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), c);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC*") {
        let _ = apply(&Config::default(), &text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = apply(&Config::default(), &String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_lines_of_real_words_never_panic(
        lines in prop::collection::vec(
            (
                prop_oneof![Just(""), Just("  "), Just("\t")],
                prop::collection::vec(
                    prop_oneof![
                        Just("no"), Just("vlan"), Just("port-profile"), Just("type"),
                        Just("vethernet"), Just("ethernet"), Just("switchport"), Just("mode"),
                        Just("access"), Just("trunk"), Just("allowed"), Just("add"),
                        Just("remove"), Just("except"), Just("all"), Just("none"),
                        Just("native"), Just("inherit"), Just("max-ports"), Just("state"),
                        Just("enabled"), Just("shutdown"), Just("description"), Just("name"),
                        Just("system"), Just("exit"), Just("end"), Just("1-5,7"), Just("0"),
                        Just("bridge-domain"), Just("segment"), Just("id"), Just("16777215"),
                        Just("16777216"), Just("red"), Just("username"), Just("password"),
                        Just("role"), Just("network-admin"), Just("network-operator"), Just("5"),
                        Just("4095"), Just("100"), Just("a"), Just("b"), Just("é"), Just("?"),
                    ],
                    0..7,
                ),
            ),
            0..12,
        )
    ) {
        let text: String = lines
            .iter()
            .map(|(indent, words)| format!("{indent}{}\n", words.join(" ")))
            .collect();
        let base = apply(
            &Config::default(),
            "port-profile a\nport-profile b\n  inherit port-profile a\nvlan 5\nbridge-domain red\n  segment id 5\n",
        )
            .unwrap()
            .config;
        if let Ok(applied) = apply(&base, &text) {
            // Whatever was accepted is valid and prints back to itself.
            prop_assert_eq!(validate(&applied.config), Ok(()));
            let printed = print_running_config(&applied.config);
            prop_assert_eq!(&apply(&Config::default(), &printed).unwrap().config, &applied.config);
        }
    }
}

/// A valid model with at least one bridge-domain that has a segment id, the name of one such
/// bridge-domain, and a segment id no bridge-domain has.
fn config_with_domain() -> impl Strategy<Value = (Config, String, u32)> {
    (valid_config(), any::<prop::sample::Index>(), segment_id()).prop_filter_map(
        "needs a bridge-domain with a segment id and a free id",
        |(c, index, id)| {
            let usable: Vec<&String> =
                c.bridge_domains.iter().filter(|(_, d)| d.segment_id.is_some()).map(|(n, _)| n).collect();
            if usable.is_empty() {
                return None;
            }
            let name = index.get(&usable).to_string();
            let free = c.bridge_domains.values().all(|d| d.segment_id != Some(id));
            free.then_some((c.clone(), name, id))
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A new segment id changes the policy of exactly the profiles that use the bridge-domain
    /// (directly or through inheritance): what `bridge_domain_dependents` lists, all of them
    /// among `affected_profiles`.
    #[test]
    fn segment_id_change_reaches_every_user((c, domain, id) in config_with_domain()) {
        let before = evaluate_all(&c);
        let applied = apply(&c, &format!("bridge-domain {domain}\n  segment id {id}\n")).unwrap();
        let after = evaluate_all(&applied.config);
        let changed: Vec<String> =
            after.iter().filter(|(name, p)| before.get(*name) != Some(p)).map(|(name, _)| name.clone()).collect();
        prop_assert_eq!(&changed, &config::bridge_domain_dependents(&applied.config, &domain));
        for (name, policy) in &after {
            let joined = policy.bridge_domain.as_ref().is_some_and(|d| d.name == domain);
            prop_assert_eq!(changed.contains(name), joined);
            if joined {
                prop_assert_eq!(policy.bridge_domain.as_ref().map(|d| d.segment_id), Some(id));
            }
        }
        let affected = applied.affected_profiles();
        prop_assert!(changed.iter().all(|name| affected.contains(name)), "{changed:?} {affected:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A new entry in an access list changes the policy of exactly the profiles that apply the
    /// list (directly or through inheritance), all of them among `affected_profiles`.
    #[test]
    fn access_list_change_reaches_every_user(c in valid_config(), index in any::<prop::sample::Index>()) {
        let names: Vec<&String> = c.ip_access_lists.keys().collect();
        prop_assume!(!names.is_empty());
        let list = index.get(&names).to_string();
        prop_assume!(c.ip_access_lists[&list].next_sequence().is_some());
        let before = evaluate_all(&c);
        let applied = apply(&c, &format!("ip access-list {list}\n  permit udp any any eq 4242\n")).unwrap();
        let after = evaluate_all(&applied.config);
        let changed: Vec<String> =
            after.iter().filter(|(name, p)| before.get(*name) != Some(p)).map(|(name, _)| name.clone()).collect();
        let users: Vec<String> = after
            .iter()
            .filter(|(_, p)| {
                [&p.access_groups.ipv4_in, &p.access_groups.ipv4_out].into_iter().flatten().any(|a| a.name == list)
            })
            .map(|(name, _)| name.clone())
            .collect();
        prop_assert_eq!(&changed, &users);
        let affected = applied.affected_profiles();
        prop_assert!(changed.iter().all(|name| affected.contains(name)), "{changed:?} {affected:?}");
    }

    /// Every generated entry prints to text that parses back to it, in its family.
    #[test]
    fn entries_round_trip_through_text(
        (family, ace) in prop_oneof![Just(config::Family::Ipv4), Just(config::Family::Ipv6)]
            .prop_flat_map(|family| (Just(family), policy_gen::ace(family)))
    ) {
        let text = ace.display(family).to_string();
        let (_, body) = text.split_once(' ').unwrap();
        prop_assert_eq!(config::ace::parse_ace(family, ace.action, body), Ok(ace), "{}", text);
    }

    /// Lines of real access-list words in any order: never a panic; whatever is accepted is
    /// valid and prints back to itself.
    #[test]
    fn garbled_access_list_lines_never_panic(
        lines in prop::collection::vec(
            (
                prop_oneof![Just(""), Just("  ")],
                prop::collection::vec(
                    prop_oneof![
                        Just("no"), Just("10"), Just("20"), Just("0"), Just("4294967296"), Just("permit"),
                        Just("deny"), Just("ip"), Just("ipv6"), Just("tcp"), Just("udp"), Just("icmp"),
                        Just("icmpv6"), Just("6"), Just("300"), Just("any"), Just("host"), Just("10.0.0.1"),
                        Just("10.0.0.0/8"), Just("10.0.0.0/33"), Just("::1"), Just("2001:db8::/32"),
                        Just("eq"), Just("neq"), Just("lt"), Just("gt"), Just("range"), Just("80"),
                        Just("65536"), Just("www"), Just("syn"), Just("ack"), Just("established"),
                        Just("echo"), Just("stateful"), Just("statistics"), Just("per-entry"),
                        Just("access-list"), Just("A"), Just("B"), Just("resequence"), Just("exit"),
                        Just("port-profile"), Just("p"), Just("port"), Just("access-group"), Just("in"),
                        Just("out"), Just("traffic-filter"), Just("flow"), Just("monitor"), Just("exporter"),
                        Just("M"), Just("E"), Just("destination"), Just("input"), Just("?"), Just("/"),
                    ],
                    0..9,
                ),
            ),
            0..10,
        )
    ) {
        let text: String = lines.iter().map(|(indent, words)| format!("{indent}{}\n", words.join(" "))).collect();
        let base = apply(
            &Config::default(),
            "ip access-list A\n  10 permit ip any any\nipv6 access-list B\nflow exporter E\n  destination ::1\n\
             flow monitor M\n  exporter E\nport-profile p\n",
        )
        .unwrap()
        .config;
        for start in [format!("ip access-list A\n{text}"), format!("ipv6 access-list B\n{text}"), text.clone()] {
            if let Ok(applied) = apply(&base, &start) {
                prop_assert_eq!(validate(&applied.config), Ok(()));
                let printed = print_running_config(&applied.config);
                prop_assert_eq!(&apply(&Config::default(), &printed).unwrap().config, &applied.config);
            }
        }
    }

    /// Any text after `permit` never panics the entry parser, in either family.
    #[test]
    fn arbitrary_entry_text_never_panics(text in "\\PC{0,80}") {
        for family in [config::Family::Ipv4, config::Family::Ipv6] {
            let _ = config::ace::parse_ace(family, config::Action::Permit, &text);
            let _ = apply(&Config::default(), &format!("{} access-list A\n  10 permit {text}\n", family.keyword()));
        }
    }
}
