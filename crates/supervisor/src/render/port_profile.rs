//! `show port-profile [name X]` and `show port-profile brief`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use config::{Config, EffectivePolicy, PortProfile, ProfileType};

/// Renders every port-profile (`name: None`) or one, in name order, blocks separated by a blank
/// line. `evaluated` holds the policies of the profiles that evaluate. `None` if `name` is not a
/// profile.
pub fn show_port_profile(
    config: &Config,
    evaluated: &BTreeMap<String, EffectivePolicy>,
    name: Option<&str>,
) -> Option<String> {
    let blocks: Vec<String> = match name {
        Some(name) => vec![profile_block(name, config.port_profiles.get(name)?, evaluated.get(name))],
        None => config
            .port_profiles
            .iter()
            .map(|(name, profile)| profile_block(name, profile, evaluated.get(name)))
            .collect(),
    };
    Some(blocks.join("\n"))
}

fn profile_block(name: &str, profile: &PortProfile, policy: Option<&EffectivePolicy>) -> String {
    let mut out = String::new();
    let mut line = |text: std::fmt::Arguments<'_>| {
        let _ = out.write_fmt(text);
        out.push('\n');
    };
    line(format_args!("port-profile {name}"));
    line(format_args!(" type: {}", type_name(profile.kind)));
    line(format_args!(" description:{}", with_space(profile.description.as_deref())));
    line(format_args!(" status: {}", if profile.state_enabled { "enabled" } else { "disabled" }));
    let max_ports = policy.map_or(config::defaults::MAX_PORTS, |policy| policy.max_ports);
    line(format_args!(" max-ports: {max_ports}"));
    line(format_args!(" min-ports: 1"));
    line(format_args!(
        " inherit:{}",
        with_space(profile.inherit.as_deref().map(|parent| format!("port-profile {parent}")).as_deref())
    ));
    line(format_args!(" config attributes:"));
    for attribute in config::profile_lines(profile) {
        line(format_args!("  {attribute}"));
    }
    line(format_args!(" evaluated config attributes:"));
    for attribute in policy.map(config::evaluated_lines).unwrap_or_default() {
        line(format_args!("  {attribute}"));
    }
    // vEthernets come with the datapath; until then no interface is assigned.
    line(format_args!(" assigned interfaces:"));
    let binding = policy.map_or(config::defaults::PORT_BINDING, |policy| policy.port_binding);
    line(format_args!(" port-binding: {}", config::print::binding_name(binding)));
    out
}

/// Renders `show port-profile brief`.
pub fn show_port_profile_brief(config: &Config, evaluated: &BTreeMap<String, EffectivePolicy>) -> String {
    const RULE: &str = "--------------------------------------------------------------------------------\n";
    let mut out = String::new();
    out.push_str(RULE);
    out.push_str("Port                        Profile    Profile  Conf   Eval   Assigned  Child\n");
    out.push_str("Profile                     Type       State    Items  Items  Intfs     Profs\n");
    out.push_str(RULE);
    for (name, profile) in &config.port_profiles {
        let conf_items = config::profile_lines(profile).len();
        let eval_items = evaluated.get(name).map_or(0, |policy| config::evaluated_lines(policy).len());
        let children =
            config.port_profiles.values().filter(|child| child.inherit.as_deref() == Some(name)).count();
        let _ = writeln!(
            out,
            "{name:<27} {:<10} {:<8} {conf_items:<6} {eval_items:<6} {:<9} {children}",
            type_name(profile.kind),
            u8::from(profile.state_enabled),
            0,
        );
    }
    out
}

fn type_name(kind: ProfileType) -> &'static str {
    match kind {
        ProfileType::Vethernet => "Vethernet",
        ProfileType::Ethernet => "Ethernet",
    }
}

/// `" value"`, or nothing for an unset field (no trailing space).
fn with_space(value: Option<&str>) -> String {
    value.map(|value| format!(" {value}")).unwrap_or_default()
}
