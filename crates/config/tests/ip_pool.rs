//! `ip pool` end to end: the block and the profile line, their `no` forms, errors at the line
//! and column that caused them, printing, inheritance and the allocatable set.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use config::{ChangeKind, Config, ConfigError, Object, apply, print_running_config, profile_ip_pool};

/// The issue's example, in running-config order.
const BASE: &str = "\
ip pool web-pool
  network 10.100.0.0/24
  default-router 10.100.0.1
  range 10.100.0.10 10.100.0.200
  exclude 10.100.0.50

port-profile type vethernet base
  ip pool web-pool

port-profile type vethernet web
  inherit port-profile base
  state enabled
";

fn base() -> Config {
    apply(&Config::default(), BASE).unwrap().config
}

fn error(config: &Config, text: &str) -> ConfigError {
    apply(config, text).unwrap_err()
}

#[test]
fn the_example_parses_prints_back_and_inherits() {
    let c = base();
    assert_eq!(print_running_config(&c), BASE);
    let pool = &c.ip_pools["web-pool"];
    assert_eq!(pool.network.unwrap().to_string(), "10.100.0.0/24");
    assert_eq!(pool.allocatable().size(), 190);
    assert_eq!(profile_ip_pool(&c, "web").unwrap().as_deref(), Some("web-pool"));
    let json = serde_json::to_string(&c).unwrap();
    assert!(json.contains(r#""network":"10.100.0.0/24""#), "{json}");
    assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), c);
}

#[test]
fn changes_name_the_pool() {
    let applied = apply(&Config::default(), BASE).unwrap();
    let first = &applied.changes[0];
    assert_eq!((&first.object, first.kind), (&Object::IpPool("web-pool".into()), ChangeKind::Created));
    assert_eq!(first.to_string().split(" (").next(), Some("ip pool web-pool created"));
    let modified = apply(&base(), "ip pool web-pool\n  exclude 10.100.0.60 10.100.0.69\n").unwrap();
    assert_eq!(modified.changes[0].kind, ChangeKind::Modified);
    assert_eq!(modified.config.ip_pools["web-pool"].allocatable().size(), 180);
}

#[test]
fn no_forms_remove_what_they_name() {
    let c = apply(
        &base(),
        "ip pool web-pool\n  no range 10.100.0.10 10.100.0.200\n  no exclude 10.100.0.50\n  no default-router\n",
    )
    .unwrap()
    .config;
    assert_eq!(c.ip_pools["web-pool"].allocatable().size(), 254);
    let e = error(&base(), "ip pool web-pool\n  no exclude 10.100.0.51\n");
    assert_eq!((e.line, e.column, e.message.as_str()), (2, 14, "ip pool web-pool has no such exclude line"));
    let c = apply(&base(), "port-profile base\n  no ip pool\n").unwrap().config;
    assert_eq!(profile_ip_pool(&c, "web").unwrap(), None);
    let e = error(&base(), "port-profile base\n  no ip pool other\n");
    assert_eq!(e.message, "'other' is not applied here: ip pool is web-pool");
}

#[test]
fn a_profile_naming_a_missing_pool_is_refused_at_its_line() {
    let e = error(&Config::default(), "port-profile type vethernet p\n  state enabled\n  ip pool nope\n");
    assert_eq!((e.line, e.column, e.message.as_str()), (3, 11, "ip pool 'nope' does not exist"));
}

#[test]
fn deleting_a_pool_in_use_is_refused_at_the_no_line() {
    let e = error(&base(), "vlan 5\nno ip pool web-pool\n");
    assert_eq!((e.line, e.column), (2, 12));
    assert_eq!(e.message, "ip pool 'web-pool' is used by port-profile 'base'");
    let c = apply(&base(), "port-profile base\n  no ip pool\nexit\nno ip pool web-pool\n").unwrap().config;
    assert!(c.ip_pools.is_empty());
}

#[test]
fn bad_pools_are_refused_at_the_line_that_made_them_bad() {
    let cases: &[(&str, usize, usize, &str)] = &[
        (
            "ip pool p\n  default-router 10.0.0.1\nport-profile type vethernet w\n  ip pool p\n",
            4,
            11,
            "ip pool 'p' has no network",
        ),
        (
            "ip pool p\n  network 10.0.0.0/24\n  default-router 10.0.1.1\n",
            3,
            18,
            "default-router 10.0.1.1 is outside the pool's network 10.0.0.0/24",
        ),
        (
            "ip pool p\n  network 10.0.0.0/24\n  default-router 10.0.0.255\n",
            3,
            18,
            "default-router 10.0.0.255 is the network or broadcast address of 10.0.0.0/24",
        ),
        (
            "ip pool p\n  network 10.0.0.0/24\n  range 10.0.0.9 10.0.0.3\n",
            3,
            9,
            "range 10.0.0.9 10.0.0.3 runs backwards: give the lower address first",
        ),
        (
            "ip pool p\n  network 10.0.0.0/24\n  exclude 10.0.0.9 10.0.1.3\n",
            3,
            11,
            "exclude 10.0.1.3 is outside the pool's network 10.0.0.0/24",
        ),
        (
            "ip pool a\n  network 10.0.0.0/16\nip pool b\n  network 10.0.5.0/24\n",
            4,
            11,
            "network 10.0.5.0/24 overlaps ip pool a's network 10.0.0.0/16",
        ),
        (
            "ip pool p\n  network 10.0.0.0/24\nport-profile type ethernet up\n  ip pool p\n",
            4,
            11,
            "ip pool applies only to vethernet port-profiles",
        ),
    ];
    for (text, line, column, message) in cases {
        let e = error(&Config::default(), text);
        assert_eq!((e.line, e.column, e.message.as_str()), (*line, *column, *message), "{text}");
    }
}

#[test]
fn a_pool_is_typed_a_line_at_a_time_but_one_in_use_keeps_its_network() {
    let c = apply(&Config::default(), "ip pool p\n").unwrap().config;
    assert_eq!(c.ip_pools["p"].allocatable().size(), 0);
    assert_eq!(print_running_config(&c), "ip pool p\n");
    let e = error(&base(), "ip pool web-pool\n  no network\n");
    assert_eq!((e.line, e.column), (2, 3));
    assert_eq!(e.message, "ip pool 'web-pool' is used by port-profile 'base' and needs a network");
}

#[test]
fn bad_words_are_refused_while_parsing() {
    let e = error(&Config::default(), "ip pool p\n  network 10.0.0.1/24\n");
    assert_eq!((e.line, e.column), (2, 11));
    assert_eq!(e.message, "network '10.0.0.1/24' has host bits set; did you mean 10.0.0.0/24?");
    let e = error(&Config::default(), "ip pool p\n  default-router 2001:db8::1\n");
    assert_eq!(e.message, "invalid IPv4 address '2001:db8::1'");
    let e = error(&Config::default(), "ip pool p\n  network 10.0.0.0/4\n");
    assert!(e.message.starts_with("invalid prefix length"), "{}", e.message);
}

#[test]
fn the_allocatable_set_hands_out_in_order() {
    let c = base();
    let set = c.ip_pools["web-pool"].allocatable();
    let mut held = BTreeSet::new();
    for _ in 0..41 {
        held.insert(set.next_free(&held).unwrap());
    }
    // 10-49, then 51 (50 is excluded).
    assert!(!held.contains(&Ipv4Addr::new(10, 100, 0, 50)));
    assert_eq!(held.last(), Some(&Ipv4Addr::new(10, 100, 0, 51)));
    assert!(!set.contains(Ipv4Addr::new(10, 100, 0, 1)) && !set.contains(Ipv4Addr::new(10, 100, 0, 201)));
}
