//! `apply` end to end: every line form, its `no` form, errors with positions, atomicity, changes.
#![allow(clippy::unwrap_used)]

use config::{
    Applied, ChangeKind, Config, ConfigError, Object, PortBinding, PortProfile, ProfileType, SwitchportMode,
    VlanSet, apply, print_running_config,
};

const SEED: &str = "\
vlan 100-109
vlan 100
  name web

port-profile type ethernet uplink
  switchport mode trunk
  switchport trunk allowed vlan 100-109
  channel-group auto mode on mac-pinning
  no shutdown
  system vlan 100
  state enabled

port-profile type vethernet vlan100
  switchport mode access
  switchport access vlan 100
  no shutdown
  state enabled
";

fn seed() -> Config {
    apply(&Config::default(), SEED).unwrap().config
}

/// Applies `lines` inside `port-profile type vethernet p` (created empty) and returns `p`.
fn profile_after(lines: &str) -> PortProfile {
    profile_after_on(&Config::default(), "vethernet", lines)
}

fn profile_after_on(base: &Config, kind: &str, lines: &str) -> PortProfile {
    let mut text = format!("port-profile type {kind} p\n");
    for line in lines.lines() {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    let applied = apply(base, &text).unwrap_or_else(|e| panic!("{text}: {e}"));
    applied.config.port_profiles["p"].clone()
}

fn error(base: &Config, text: &str) -> ConfigError {
    match apply(base, text) {
        Ok(_) => panic!("expected an error for {text:?}"),
        Err(e) => e,
    }
}

#[test]
fn seed_config_round_trips() {
    let c = seed();
    assert_eq!(print_running_config(&c), SEED);
    assert_eq!(c.vlans.len(), 10);
    assert_eq!(c.vlans[&100].name.as_deref(), Some("web"));
    let up = &c.port_profiles["uplink"];
    assert_eq!(up.kind, ProfileType::Ethernet);
    assert_eq!(up.trunk_allowed_vlans, Some(VlanSet::range(100, 109)));
    assert_eq!(up.channel_group_mac_pinning, Some(true));
    assert_eq!(up.system_vlans, Some(VlanSet::single(100)));
    assert!(up.state_enabled);
}

#[test]
fn vlan_lines() {
    let c = apply(&Config::default(), "vlan 1,5-7\nvlan 6\n  name six\n").unwrap().config;
    assert_eq!(c.vlans.keys().copied().collect::<Vec<_>>(), vec![1, 5, 6, 7]);
    assert_eq!(c.vlans[&6].name.as_deref(), Some("six"));
    let c = apply(&c, "vlan 6\n  no name\nno vlan 1,7\n").unwrap().config;
    assert_eq!(c.vlans.keys().copied().collect::<Vec<_>>(), vec![5, 6]);
    assert_eq!(c.vlans[&6].name, None);
    let c = apply(&c, "vlan 5-6\n  name both\n").unwrap().config;
    assert!(c.vlans.values().all(|v| v.name.as_deref() == Some("both")));
}

#[test]
fn port_profile_headers() {
    let c = apply(&Config::default(), "port-profile web\nport-profile type ethernet up\n").unwrap().config;
    assert_eq!(c.port_profiles["web"].kind, ProfileType::Vethernet);
    assert_eq!(c.port_profiles["up"].kind, ProfileType::Ethernet);
    // The short form enters an existing profile of either type.
    let c = apply(&c, "port-profile up\n  switchport mode trunk\n").unwrap().config;
    assert_eq!(c.port_profiles["up"].mode, Some(SwitchportMode::Trunk));
    let c = apply(&c, "no port-profile web\nno port-profile type ethernet up\n").unwrap().config;
    assert!(c.port_profiles.is_empty());
}

#[test]
fn profile_removals_say_where_and_whether_forced() {
    let c = apply(&Config::default(), "port-profile web\nport-profile type ethernet up\nport-profile db\n")
        .unwrap()
        .config;
    let applied =
        apply(&c, "no port-profile web\nno port-profile type ethernet up force\nno port-profile db force\n")
            .unwrap();
    assert!(applied.config.port_profiles.is_empty());
    let removals: Vec<_> = applied
        .profile_removals
        .iter()
        .map(|(name, r)| (name.as_str(), r.line, r.column, r.forced))
        .collect();
    assert_eq!(removals, [("db", 3, 17, true), ("up", 2, 31, true), ("web", 1, 17, false)]);
    // `force` exists only in the `no` form, and checks the type like the plain form.
    assert!(apply(&c, "port-profile web force\n").is_err());
    assert!(apply(&c, "no port-profile type vethernet up force\n").is_err());
    assert!(apply(&c, "no port-profile ghost force\n").is_err());
    assert!(apply(&c, "port-profile web\n").unwrap().profile_removals.is_empty());
}

#[test]
fn every_profile_attribute_and_its_no_form() {
    let p = profile_after("description web tier 1\nno description");
    assert_eq!(p.description, None);
    assert_eq!(profile_after("description  web tier 1 ").description.as_deref(), Some("web tier 1"));
    assert_eq!(profile_after("switchport mode trunk").mode, Some(SwitchportMode::Trunk));
    assert_eq!(profile_after("switchport mode trunk\nno switchport mode").mode, None);
    assert_eq!(profile_after("switchport access vlan 7").access_vlan, Some(7));
    assert_eq!(profile_after("switchport access vlan 7\nno switchport access vlan 7").access_vlan, None);
    assert_eq!(profile_after("switchport trunk native vlan 9").trunk_native_vlan, Some(9));
    assert_eq!(
        profile_after("switchport trunk native vlan 9\nno switchport trunk native vlan").trunk_native_vlan,
        None
    );
    assert_eq!(profile_after("max-ports 1024").max_ports, Some(1024));
    assert_eq!(profile_after("max-ports 5\nno max-ports").max_ports, None);
    assert_eq!(profile_after("port-binding ephemeral").port_binding, Some(PortBinding::Ephemeral));
    assert_eq!(profile_after("port-binding static\nno port-binding").port_binding, None);
    assert_eq!(profile_after("shutdown").shutdown, Some(true));
    assert_eq!(profile_after("shutdown\nno shutdown").shutdown, Some(false));
    assert!(profile_after("state enabled").state_enabled);
    assert!(!profile_after("state enabled\nno state enabled").state_enabled);
    let eth = |lines: &str| profile_after_on(&Config::default(), "ethernet", lines);
    assert_eq!(eth("channel-group auto mode on mac-pinning").channel_group_mac_pinning, Some(true));
    assert_eq!(
        eth("channel-group auto mode on mac-pinning\nno channel-group").channel_group_mac_pinning,
        None
    );
}

#[test]
fn trunk_allowed_forms() {
    let allowed = |lines: &str| profile_after(lines).trunk_allowed_vlans.map(|s| s.to_string());
    assert_eq!(allowed("switchport trunk allowed vlan 10-12,20").as_deref(), Some("10-12,20"));
    assert_eq!(
        allowed("switchport trunk allowed vlan 10-12\nswitchport trunk allowed vlan add 13,20").as_deref(),
        Some("10-13,20")
    );
    assert_eq!(
        allowed("switchport trunk allowed vlan 10-12\nswitchport trunk allowed vlan remove 11").as_deref(),
        Some("10,12")
    );
    // `remove` with nothing configured starts from the default: every VLAN.
    assert_eq!(allowed("switchport trunk allowed vlan remove 1").as_deref(), Some("2-4094"));
    assert_eq!(allowed("switchport trunk allowed vlan except 1-99").as_deref(), Some("100-4094"));
    assert_eq!(allowed("switchport trunk allowed vlan all").as_deref(), Some("1-4094"));
    assert_eq!(allowed("switchport trunk allowed vlan none").as_deref(), Some("none"));
    assert_eq!(allowed("switchport trunk allowed vlan 5\nno switchport trunk allowed vlan"), None);
}

#[test]
fn system_vlan_forms() {
    let system = |lines: &str| profile_after(lines).system_vlans.map(|s| s.to_string());
    assert_eq!(system("system vlan 1-3").as_deref(), Some("1-3"));
    assert_eq!(system("system vlan 1-3\nsystem vlan 5").as_deref(), Some("5"));
    assert_eq!(system("system vlan 1-3\nno system vlan 2").as_deref(), Some("1,3"));
    assert_eq!(system("system vlan 1-3\nno system vlan 1-3"), None);
    assert_eq!(system("system vlan 1-3\nno system vlan"), None);
}

#[test]
fn inherit_and_its_errors() {
    let base =
        apply(&Config::default(), "port-profile base\nport-profile type ethernet up\n").unwrap().config;
    let p = profile_after_on(&base, "vethernet", "inherit port-profile base");
    assert_eq!(p.inherit.as_deref(), Some("base"));
    let p = profile_after_on(&base, "vethernet", "inherit port-profile base\nno inherit port-profile");
    assert_eq!(p.inherit, None);

    let e = error(&base, "port-profile web\n  inherit port-profile nope\n");
    assert_eq!(e.to_string(), "line 2, column 24: port-profile 'nope' does not exist");
    let e = error(&base, "port-profile web\n  inherit port-profile up\n");
    assert_eq!(e.line, 2);
    assert!(e.message.contains("type ethernet, not vethernet"), "{e}");
    let e = error(&base, "port-profile base\n  inherit port-profile base\n");
    assert!(e.message.contains("cannot inherit itself"));

    let chain = apply(&base, "port-profile a\n  inherit port-profile base\n").unwrap().config;
    let e = error(&chain, "port-profile base\n  description x\n  inherit port-profile a\n");
    assert_eq!((e.line, e.column), (3, 24));
    assert_eq!(e.message, "inheritance cycle: base -> a -> base");

    // Removing a profile another inherits points at the removal.
    let e = error(&chain, "vlan 5\nno port-profile base\n");
    assert_eq!(e.to_string(), "line 2, column 17: port-profile 'base' is inherited by 'a'");
    // …unless the child goes too.
    assert!(apply(&chain, "no port-profile a\nno port-profile base\n").is_ok());
}

#[test]
fn type_specific_lines_are_checked() {
    let e = error(&Config::default(), "port-profile type ethernet up\n  max-ports 4\n");
    assert_eq!((e.line, e.column), (2, 13));
    assert_eq!(e.message, "max-ports applies only to vethernet port-profiles");
    let e = error(&Config::default(), "port-profile type ethernet up\n  port-binding static\n");
    assert_eq!(e.line, 2);
    let e = error(&Config::default(), "port-profile web\n  channel-group auto mode on mac-pinning\n");
    assert_eq!((e.line, e.column), (2, 3));
    assert_eq!(e.message, "channel-group applies only to ethernet port-profiles");
}

#[test]
fn syntax_errors_have_line_column_and_expectations() {
    let e = error(&seed(), "port-profile web\n  switchport access vlan 5000\n");
    assert_eq!(e.to_string(), "line 2, column 26: invalid VLAN id '5000': expected a number 1-4094");
    let e = error(&seed(), "port-profile web\n  max-ports 2000\n");
    assert_eq!(e.to_string(), "line 2, column 13: invalid number '2000': expected a number 1-1024");
    let e = error(&seed(), "vlan 100\n  frobnicate\n");
    assert_eq!((e.line, e.column), (2, 3));
    assert!(e.expected.contains(&"name".to_string()));
    let e = error(&seed(), "port-profile web\n  switchport\n");
    assert_eq!(e.message, "incomplete command");
    assert_eq!(e.expected, vec!["mode", "access", "trunk", "port-security"]);
    let e = error(&seed(), "port-profile type foo x\n");
    assert_eq!((e.line, e.column), (1, 19));
    assert_eq!(e.expected, vec!["vethernet", "ethernet"]);
    let e = error(&seed(), "port-profile web\n  description\n");
    assert_eq!(e.message, "incomplete command");
    let e = error(&seed(), "hostname switch\n");
    assert_eq!((e.line, e.column), (1, 1));
    let e = error(&seed(), "vlan 10-5\n");
    assert!(e.message.contains("runs backwards"));
}

#[test]
fn run_time_errors() {
    let e = error(&seed(), "no port-profile ghost\n");
    assert_eq!(e.to_string(), "line 1, column 17: port-profile 'ghost' does not exist");
    let e = error(&seed(), "port-profile type vethernet uplink\n");
    assert_eq!(e.message, "port-profile 'uplink' exists with type ethernet");
}

#[test]
fn apply_is_atomic() {
    let before = seed();
    let text = "port-profile type vethernet vlan100\n  switchport access vlan 200\n\
                vlan 300\nport-profile new\n  switchport access vlan 5000\n";
    assert!(apply(&before, text).is_err());
    assert_eq!(before, seed());
    // A validation failure at the end also leaves nothing behind.
    let text = "vlan 300\nport-profile new\n  inherit port-profile ghost\n";
    assert!(apply(&before, text).is_err());
    assert_eq!(before, seed());
}

#[test]
fn pasted_session_with_mode_commands() {
    let text = "configure terminal\nport-profile type vethernet web\nswitchport mode access\n\
                switchport access vlan 100\nstate enabled\nexit\nvlan 100\nname web\nend\n";
    let c = apply(&Config::default(), text).unwrap().config;
    assert_eq!(c.port_profiles["web"].access_vlan, Some(100));
    assert!(c.port_profiles["web"].state_enabled);
    assert_eq!(c.vlans[&100].name.as_deref(), Some("web"));
}

#[test]
fn changes_name_objects_and_lines() {
    let Applied { config, changes, .. } = apply(&Config::default(), SEED).unwrap();
    let summary: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(summary[0], "vlan 100 created (vlan 100-109; vlan 100; name web)");
    assert_eq!(summary[1], "vlan 101-109 created (vlan 100-109)");
    assert!(summary[2].starts_with(
        "port-profile uplink created (port-profile type ethernet uplink; switchport mode trunk;"
    ));
    assert_eq!(summary.len(), 4);

    // Re-entering a header changes nothing.
    let again = apply(&config, "port-profile type vethernet vlan100\n  no shutdown\n").unwrap();
    assert!(again.changes.is_empty());
    assert_eq!(again.config, config);

    let applied =
        apply(&config, "port-profile vlan100\n  switchport access vlan 101\nno vlan 109\n").unwrap();
    assert_eq!(applied.changes.len(), 2);
    assert_eq!(applied.changes[0].kind, ChangeKind::Removed);
    assert_eq!(applied.changes[0].object, Object::Vlans(VlanSet::single(109)));
    assert_eq!(applied.changes[1].kind, ChangeKind::Modified);
    assert_eq!(applied.changes[1].profile(), Some("vlan100"));
    // The header only selects the profile: the change is the sub-mode line.
    assert_eq!(applied.changes[1].lines, vec!["switchport access vlan 101"]);
}

#[test]
fn affected_profiles_include_inheritors() {
    let c = apply(
        &Config::default(),
        "port-profile base\nport-profile web\n  inherit port-profile base\nport-profile other\n",
    )
    .unwrap()
    .config;
    let applied = apply(&c, "port-profile base\n  switchport access vlan 5\n").unwrap();
    let affected: Vec<String> = applied.affected_profiles().into_iter().collect();
    assert_eq!(affected, vec!["base", "web"]);
}

#[test]
fn comments_blank_lines_and_crlf() {
    let c = apply(&Config::default(), "!Command: show running-config\r\n\r\nvlan 5\r\n  name five\r\n")
        .unwrap()
        .config;
    assert_eq!(c.vlans[&5].name.as_deref(), Some("five"));
}

#[test]
fn keywords_abbreviate_and_ignore_case() {
    let c = apply(&Config::default(), "PORT-PROF TYPE VETH web\n  sw mo acc\n  sw acc vl 5\n  sta en\n")
        .unwrap()
        .config;
    let p = &c.port_profiles["web"];
    assert_eq!((p.mode, p.access_vlan, p.state_enabled), (Some(SwitchportMode::Access), Some(5), true));
}
