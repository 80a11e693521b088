//! Bridge-domains end to end: the lines and their `no` forms, the profile line that joins one,
//! validation errors at the line that caused them, printing, inheritance and JSON.
#![allow(clippy::unwrap_used)]

use config::{
    BridgeDomain, ChangeKind, Config, ConfigError, EffectiveBridgeDomain, Object, apply,
    bridge_domain_dependents, evaluate, evaluated_lines, print_running_config, validate,
};

const BASE: &str = "\
vlan 100

bridge-domain blue
  segment id 5001

bridge-domain red
  segment id 5000

port-profile type vethernet base
  switchport mode access
  switchport access bridge-domain red
  state enabled

port-profile type vethernet web
  inherit port-profile base
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
fn the_base_prints_back_in_running_config_order() {
    let c = base();
    assert_eq!(c.bridge_domains["red"], BridgeDomain { segment_id: Some(5000) });
    assert_eq!(c.port_profiles["base"].access_bridge_domain.as_deref(), Some("red"));
    assert_eq!(print_running_config(&c), BASE);
}

#[test]
fn bridge_domain_lines_and_no_forms() {
    let c = apply(&Config::default(), "bridge-domain green\n").unwrap().config;
    assert_eq!(c.bridge_domains["green"], BridgeDomain { segment_id: None });
    assert_eq!(print_running_config(&c), "bridge-domain green\n");
    let c = apply(&c, "bridge-domain green\n  segment id 16777215\n").unwrap().config;
    assert_eq!(c.bridge_domains["green"].segment_id, Some(16_777_215));
    let c = apply(&c, "bridge-domain green\n  no segment id\n").unwrap().config;
    assert_eq!(c.bridge_domains["green"].segment_id, None);
    let c = apply(&c, "no bridge-domain green\n").unwrap().config;
    assert!(c.bridge_domains.is_empty());
    // Abbreviated, as typed in a shell session.
    let c = apply(&c, "bridge-d x\nseg i 7\nexit\n").unwrap().config;
    assert_eq!(c.bridge_domains["x"].segment_id, Some(7));
}

#[test]
fn segment_ids_are_checked() {
    let e = error(&Config::default(), "bridge-domain a\n  segment id 16777216\n");
    assert_eq!(e.to_string(), "line 2, column 14: invalid number '16777216': expected a number 1-16777215");
    let e = error(&Config::default(), "bridge-domain a\n  segment id 0\n");
    assert_eq!((e.line, e.column), (2, 14));
    let e = error(&Config::default(), "bridge-domain a\n  segment\n");
    assert_eq!(e.message, "incomplete command");
    assert_eq!(e.expected, vec!["id"]);
}

#[test]
fn two_bridge_domains_cannot_share_a_segment_id() {
    // The later line is blamed, whichever bridge-domain it is under.
    let e = error(&base(), "bridge-domain zebra\n  segment id 5000\n");
    assert_eq!(e.to_string(), "line 2, column 14: segment id 5000 is already used by bridge-domain 'red'");
    let e = error(&base(), "bridge-domain blue\n  segment id 5000\n");
    assert_eq!(e.to_string(), "line 2, column 14: segment id 5000 is already used by bridge-domain 'red'");
    let e = error(&base(), "bridge-domain red\n  segment id 5001\n");
    assert_eq!(e.to_string(), "line 2, column 14: segment id 5001 is already used by bridge-domain 'blue'");
    // Swapping the two in one text is fine.
    let c = apply(&base(), "bridge-domain red\n  segment id 1\nbridge-domain blue\n  segment id 5000\n")
        .unwrap()
        .config;
    assert_eq!(c.bridge_domains["blue"].segment_id, Some(5000));
}

#[test]
fn profiles_may_only_use_usable_bridge_domains() {
    let e = error(&base(), "port-profile web\n  switchport access bridge-domain ghost\n");
    assert_eq!(e.to_string(), "line 2, column 35: bridge-domain 'ghost' does not exist");
    let c = apply(&base(), "bridge-domain bare\n").unwrap().config;
    let e = error(&c, "port-profile web\n  switchport access bridge-domain bare\n");
    assert_eq!(e.to_string(), "line 2, column 35: bridge-domain 'bare' has no segment id");
    let e = error(&base(), "port-profile type ethernet up\n  switchport access bridge-domain red\n");
    assert_eq!(
        e.to_string(),
        "line 2, column 35: switchport access bridge-domain applies only to vethernet port-profiles"
    );
}

#[test]
fn removing_what_a_profile_needs_points_at_the_removal() {
    let e = error(&base(), "vlan 5\nno bridge-domain red\n");
    assert_eq!(e.to_string(), "line 2, column 18: bridge-domain 'red' is used by port-profile 'base'");
    let e = error(&base(), "bridge-domain red\n  no segment id\n");
    assert_eq!(
        e.to_string(),
        "line 2, column 3: bridge-domain 'red' is used by port-profile 'base' and needs a segment id"
    );
    let e = error(&base(), "no bridge-domain ghost\n");
    assert_eq!(e.to_string(), "line 1, column 18: bridge-domain 'ghost' does not exist");
    // Moving the profile off it first makes the removal fine.
    let text = "port-profile base\n  switchport access vlan 100\nno bridge-domain red\n";
    assert!(!apply(&base(), text).unwrap().config.bridge_domains.contains_key("red"));
}

#[test]
fn vlan_and_bridge_domain_replace_each_other() {
    let c = apply(&base(), "port-profile base\n  switchport access vlan 100\n").unwrap().config;
    let p = &c.port_profiles["base"];
    assert_eq!((p.access_vlan, p.access_bridge_domain.as_deref()), (Some(100), None));
    let c = apply(&c, "port-profile base\n  switchport access bridge-domain blue\n").unwrap().config;
    let p = &c.port_profiles["base"];
    assert_eq!((p.access_vlan, p.access_bridge_domain.as_deref()), (None, Some("blue")));
    let c = apply(&c, "port-profile base\n  no switchport access bridge-domain\n").unwrap().config;
    assert_eq!(c.port_profiles["base"].access_bridge_domain, None);
    // A model with both (JSON) is refused.
    let mut c = base();
    c.port_profiles.get_mut("base").unwrap().access_vlan = Some(100);
    assert_eq!(
        validate(&c).unwrap_err().to_string(),
        "port-profile base: access_bridge_domain: switchport access vlan and switchport access \
         bridge-domain exclude each other"
    );
}

#[test]
fn the_policy_carries_the_bridge_domain_through_inheritance() {
    let c = base();
    let want = Some(EffectiveBridgeDomain { name: "red".into(), segment_id: 5000 });
    assert_eq!(evaluate(&c, "base").unwrap().bridge_domain, want);
    let web = evaluate(&c, "web").unwrap();
    assert_eq!(web.bridge_domain, want);
    assert_eq!(
        evaluated_lines(&web),
        vec!["switchport mode access", "switchport access bridge-domain red", "no shutdown"]
    );
    // The nearest access segment wins: a child's VLAN beats the parent's bridge-domain.
    let c = apply(&c, "port-profile web\n  switchport access vlan 100\n").unwrap().config;
    let web = evaluate(&c, "web").unwrap();
    assert_eq!((web.access_vlan, web.bridge_domain), (100, None));
    assert_eq!(bridge_domain_dependents(&c, "red"), vec!["base"]);
    // Trunk ports join no bridge-domain.
    let c = apply(&c, "port-profile base\n  switchport mode trunk\n").unwrap().config;
    assert_eq!(evaluate(&c, "base").unwrap().bridge_domain, None);
    assert!(bridge_domain_dependents(&c, "red").is_empty());
}

#[test]
fn a_new_segment_id_reaches_every_profile_using_it() {
    let c = base();
    assert_eq!(bridge_domain_dependents(&c, "red"), vec!["base", "web"]);
    assert!(bridge_domain_dependents(&c, "blue").is_empty());
    let applied = apply(&c, "bridge-domain red\n  segment id 6000\n").unwrap();
    assert_eq!(applied.changes.len(), 1);
    assert_eq!(applied.changes[0].object, Object::BridgeDomain("red".into()));
    assert_eq!(applied.changes[0].kind, ChangeKind::Modified);
    assert_eq!(applied.changes[0].to_string(), "bridge-domain red modified (segment id 6000)");
    assert_eq!(applied.changes[0].bridge_domain(), Some("red"));
    let affected: Vec<String> = applied.affected_profiles().into_iter().collect();
    assert_eq!(affected, vec!["base", "web"]);
    for name in ["base", "web"] {
        assert_eq!(evaluate(&applied.config, name).unwrap().bridge_domain.unwrap().segment_id, 6000);
    }
}

#[test]
fn changes_list_bridge_domains_between_vlans_and_profiles() {
    let applied = apply(&Config::default(), BASE).unwrap();
    let objects: Vec<String> = applied.changes.iter().map(|c| c.object.to_string()).collect();
    assert_eq!(
        objects,
        vec!["vlan 100", "bridge-domain blue", "bridge-domain red", "port-profile base", "port-profile web"]
    );
    let removed =
        apply(&base(), "no port-profile web\nno port-profile base\nno bridge-domain red\n").unwrap();
    assert_eq!(removed.changes[0].to_string(), "bridge-domain red removed (no bridge-domain red)");
}

#[test]
fn json_without_bridge_domains_still_parses() {
    let old = r#"{"vlans":{"100":{}},"port_profiles":{"web":{"type":"vethernet","access_vlan":100,"state_enabled":true}}}"#;
    let c: Config = serde_json::from_str(old).unwrap();
    assert!(c.bridge_domains.is_empty());
    assert_eq!(c.port_profiles["web"].access_bridge_domain, None);
    // …and a model without them serializes without the new keys.
    let json = serde_json::to_string(&c).unwrap();
    assert!(!json.contains("bridge_domain"), "{json}");
    let policy = serde_json::to_string(&evaluate(&c, "web").unwrap()).unwrap();
    assert!(!policy.contains("bridge_domain"), "{policy}");
    let policy = serde_json::to_value(evaluate(&base(), "web").unwrap()).unwrap();
    assert_eq!(policy["bridge_domain"], serde_json::json!({"name": "red", "segment_id": 5000}));
}

#[test]
fn json_models_are_validated_too() {
    let mut c = base();
    c.bridge_domains.insert("big".into(), BridgeDomain { segment_id: Some(1 << 24) });
    assert_eq!(
        validate(&c).unwrap_err().to_string(),
        "bridge-domain big: segment_id: invalid segment id '16777216': expected a number 1-16777215"
    );
    let mut c = base();
    c.bridge_domains.insert("two words".into(), BridgeDomain::default());
    assert!(validate(&c).unwrap_err().to_string().contains("invalid bridge-domain name"));
    let mut c = base();
    c.bridge_domains.remove("red");
    assert_eq!(
        validate(&c).unwrap_err().to_string(),
        "port-profile base: access_bridge_domain: bridge-domain 'red' does not exist"
    );
}
