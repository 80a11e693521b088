//! `show port-profile [name X]` and `show port-profile brief`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use config::{Config, EffectivePolicy, PortProfile, ProfileType};

use super::interface::container_adapter;
use super::text::{RULE, cell, line};
use crate::port_views::InterfaceView;
use crate::uplink_views::UplinkView;

/// The attached vEthernet numbers of each profile, by name (see
/// [`crate::port_views::ports_per_profile`]).
pub type Assigned = BTreeMap<String, Vec<u32>>;

/// Renders every port-profile (`name: None`) or one, in name order, blocks separated by a blank
/// line. `evaluated` holds the policies of the profiles that evaluate, `assigned` their
/// vEthernets. `None` if `name` is not a profile.
pub fn show_port_profile(
    config: &Config,
    evaluated: &BTreeMap<String, EffectivePolicy>,
    assigned: &Assigned,
    name: Option<&str>,
) -> Option<String> {
    let block = |name: &str, profile| {
        profile_block(name, profile, evaluated.get(name), assigned.get(name).map_or(&[][..], Vec::as_slice))
    };
    let blocks: Vec<String> = match name {
        Some(name) => vec![block(name, config.port_profiles.get(name)?)],
        None => config.port_profiles.iter().map(|(name, profile)| block(name, profile)).collect(),
    };
    Some(blocks.join("\n"))
}

fn profile_block(
    name: &str,
    profile: &PortProfile,
    policy: Option<&EffectivePolicy>,
    assigned: &[u32],
) -> String {
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
    for attribute in config_attributes(profile) {
        line(format_args!("  {attribute}"));
    }
    line(format_args!(" evaluated config attributes:"));
    for attribute in policy.map(config::evaluated_lines).unwrap_or_default() {
        line(format_args!("  {attribute}"));
    }
    line(format_args!(" assigned interfaces:"));
    for veth in assigned {
        line(format_args!("  Vethernet{veth}"));
    }
    let binding = policy.map_or(config::defaults::PORT_BINDING, |policy| policy.port_binding);
    line(format_args!(" port-binding: {}", config::print::binding_name(binding)));
    out
}

/// Renders `show port-profile brief`.
pub fn show_port_profile_brief(
    config: &Config,
    evaluated: &BTreeMap<String, EffectivePolicy>,
    assigned: &Assigned,
) -> String {
    const RULE: &str = "--------------------------------------------------------------------------------\n";
    let mut out = String::new();
    out.push_str(RULE);
    out.push_str("Port                        Profile    Profile  Conf   Eval   Assigned  Child\n");
    out.push_str("Profile                     Type       State    Items  Items  Intfs     Profs\n");
    out.push_str(RULE);
    for (name, profile) in &config.port_profiles {
        let conf_items = config_attributes(profile).len();
        let eval_items = evaluated.get(name).map_or(0, |policy| config::evaluated_lines(policy).len());
        let children =
            config.port_profiles.values().filter(|child| child.inherit.as_deref() == Some(name)).count();
        let _ = writeln!(
            out,
            "{name:<27} {:<10} {:<8} {conf_items:<6} {eval_items:<6} {:<9} {children}",
            type_name(profile.kind),
            u8::from(profile.state_enabled),
            assigned.get(name).map_or(0, Vec::len),
        );
    }
    out
}

/// Renders `show port-profile virtual usage`: the attached vEthernets and the uplinks of each
/// profile (an uplink's adapter is its NIC, its owner the host), the profile's name on its first
/// line only.
pub fn show_port_profile_virtual_usage(views: &[InterfaceView], uplinks: &[UplinkView]) -> String {
    // (sort key, port, adapter, owner) per profile: vEthernets by number, then uplinks.
    type Row = ((u32, u32, u32), String, String, String);
    let mut by_profile: BTreeMap<&str, Vec<Row>> = BTreeMap::new();
    for view in views.iter().filter(|view| view.binding.attached) {
        by_profile.entry(&view.binding.profile).or_default().push((
            (0, view.binding.veth, 0),
            view.short_name(),
            container_adapter(view).to_owned(),
            view.binding.owner().to_owned(),
        ));
    }
    for uplink in uplinks {
        by_profile.entry(&uplink.profile).or_default().push((
            (1, uplink.module, uplink.index),
            uplink.short_name(),
            uplink.nic.clone(),
            uplink.host_name.clone(),
        ));
    }
    let mut out = String::new();
    out.push_str(RULE);
    out.push_str("Port Profile               Port        Adapter        Owner\n");
    out.push_str(RULE);
    for (profile, mut rows) in by_profile {
        rows.sort();
        for (index, (_, port, adapter, owner)) in rows.into_iter().enumerate() {
            line(
                &mut out,
                format_args!(
                    "{}{}{}{}",
                    cell(if index == 0 { profile } else { "" }, 27),
                    cell(&port, 12),
                    cell(&adapter, 15),
                    owner
                ),
            );
        }
    }
    out
}

/// The profile's configured lines, less those the block shows in fields of their own
/// (description, inherit, status, max-ports, port-binding).
fn config_attributes(profile: &PortProfile) -> Vec<String> {
    const SHOWN_APART: [&str; 5] =
        ["description ", "inherit ", "state enabled", "max-ports ", "port-binding "];
    config::profile_lines(profile)
        .into_iter()
        .filter(|line| !SHOWN_APART.iter().any(|prefix| line.starts_with(prefix)))
        .collect()
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn seed() -> Config {
        let text = "port-profile type vethernet vlan100\n  switchport mode access\n  switchport access vlan 100\n  \
                    no shutdown\n  state enabled\nport-profile type vethernet web\n  inherit port-profile vlan100\n  \
                    description web tier\n  max-ports 64\n  port-binding dynamic\n\
                    port-profile type ethernet uplink\n  switchport mode trunk\n  switchport trunk allowed vlan 100-109\n  \
                    channel-group auto mode on mac-pinning\n  state enabled\n";
        config::apply(&Config::default(), text).unwrap().config
    }

    #[test]
    fn one_profile_matches_the_nxos_layout() {
        let config = seed();
        let evaluated = config::evaluate_all(&config);
        let expected = "\
port-profile vlan100
 type: Vethernet
 description:
 status: enabled
 max-ports: 32
 min-ports: 1
 inherit:
 config attributes:
  switchport mode access
  switchport access vlan 100
  no shutdown
 evaluated config attributes:
  switchport mode access
  switchport access vlan 100
  no shutdown
 assigned interfaces:
  Vethernet1
  Vethernet2
 port-binding: static
";
        let assigned: Assigned = [("vlan100".to_owned(), vec![1, 2])].into();
        assert_eq!(show_port_profile(&config, &evaluated, &assigned, Some("vlan100")).unwrap(), expected);
    }

    #[test]
    fn inherited_profile_shows_its_own_and_evaluated_attributes() {
        let config = seed();
        let evaluated = config::evaluate_all(&config);
        let expected = "\
port-profile web
 type: Vethernet
 description: web tier
 status: disabled
 max-ports: 64
 min-ports: 1
 inherit: port-profile vlan100
 config attributes:
 evaluated config attributes:
  switchport mode access
  switchport access vlan 100
  shutdown
 assigned interfaces:
 port-binding: dynamic
";
        let none = Assigned::new();
        assert_eq!(show_port_profile(&config, &evaluated, &none, Some("web")).unwrap(), expected);
        assert_eq!(show_port_profile(&config, &evaluated, &none, Some("nope")), None);
    }

    #[test]
    fn all_profiles_in_name_order() {
        let config = seed();
        let evaluated = config::evaluate_all(&config);
        let all = show_port_profile(&config, &evaluated, &Assigned::new(), None).unwrap();
        let headers: Vec<&str> = all.lines().filter(|line| line.starts_with("port-profile ")).collect();
        assert_eq!(headers, ["port-profile uplink", "port-profile vlan100", "port-profile web"]);
        assert!(all.contains(" port-binding: static\n\nport-profile vlan100\n"), "blocks apart: {all}");
        assert!(all.contains("  channel-group auto mode on mac-pinning\n"));
    }

    #[test]
    fn brief_table() {
        let config = seed();
        let evaluated = config::evaluate_all(&config);
        let expected = "\
--------------------------------------------------------------------------------
Port                        Profile    Profile  Conf   Eval   Assigned  Child
Profile                     Type       State    Items  Items  Intfs     Profs
--------------------------------------------------------------------------------
uplink                      Ethernet   1        3      5      0         0
vlan100                     Vethernet  1        3      3      2         1
web                         Vethernet  0        0      3      0         0
";
        let assigned: Assigned = [("vlan100".to_owned(), vec![1, 2])].into();
        assert_eq!(show_port_profile_brief(&config, &evaluated, &assigned), expected);
    }

    #[test]
    fn virtual_usage_matches_the_nxos_layout() {
        use crate::render::interface::tests::{uplink, view};

        let mut web = view(3, "shop");
        web.binding.profile = "web".into();
        let mut gone = view(4, "old");
        gone.binding.attached = false;
        let mut no_ifname = view(5, "db1");
        no_ifname.binding.profile = "web".into();
        no_ifname.binding.container_ifname = String::new();
        let views = [view(2, "web2"), view(1, "web1"), web, gone, no_ifname];
        let expected = "\
-------------------------------------------------------------------------------
Port Profile               Port        Adapter        Owner
-------------------------------------------------------------------------------
uplink                     Eth3/1      eth1           bilbo
                           Eth3/2      eth2           bilbo
vlan100                    Veth1       eth0           web1
                           Veth2       eth0           web2
web                        Veth3       eth0           shop
                           Veth5       veth18924_eth0 db1
";
        assert_eq!(show_port_profile_virtual_usage(&views, &[uplink(2), uplink(1)]), expected);
    }
}
