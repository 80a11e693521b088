//! Semantic checks on a whole model: what parsing one line at a time cannot see.
//!
//! [`issues`] lists every problem with the object and field it concerns; [`crate::apply()`] turns
//! the earliest one into an error at the line that set that field, and [`validate()`] (for a model
//! that arrived as JSON) into a message naming the object and field.

use crate::error::ConfigError;
use crate::grammar::{self, Param};
use std::collections::BTreeMap;

use crate::acl::Family;
use crate::language::{
    BRIDGE_DOMAIN_NAME_MAX, DESCRIPTION_MAX, MAX_PORTS_MAX, MAX_PORTS_MIN, PASSWORD_HASH_MAX, PASSWORD_MAX,
    PROFILE_NAME_MAX, USER_NAME_MAX, VLAN_NAME_MAX,
};
use crate::model::{
    Config, Direction, Password, PortProfile, ProfileType, Role, SEGMENT_ID_MAX, SEGMENT_ID_MIN, SegmentId,
    StormKind, VLAN_MAX, VLAN_MIN, VlanId,
};

/// A configurable thing of one object: what an issue is about, and what a line sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// The object itself (`vlan N`, `bridge-domain NAME`, `port-profile …`).
    Header,
    /// `no port-profile …` / `no bridge-domain …` removed it.
    Removed,
    VlanName,
    /// `segment id N` of a bridge-domain.
    SegmentId,
    Description,
    Mode,
    AccessVlan,
    /// `switchport access bridge-domain NAME`.
    AccessBridgeDomain,
    TrunkAllowed,
    TrunkNative,
    ChannelGroup,
    Inherit,
    MaxPorts,
    PortBinding,
    SystemVlans,
    Shutdown,
    State,
    /// `password …` of a `username` line.
    Password,
    /// `role …` of a `username` line.
    Role,
    /// An access list's entry by sequence number.
    Entry(u32),
    /// `statistics per-entry` of an access list.
    StatisticsPerEntry,
    /// `ip port access-group` / `ipv6 port traffic-filter` of a profile.
    AccessGroup(Family, Direction),
    /// `switchport port-security`.
    PortSecurity,
    /// `switchport port-security maximum`.
    PortSecurityMaximum,
    /// `switchport port-security violation`.
    PortSecurityViolation,
    /// `switchport port-security mac-address sticky`.
    PortSecuritySticky,
    VerifySource,
    ArpInspection,
    DhcpSnoopingTrust,
    StormControl(StormKind),
    /// `ip flow monitor NAME input|output` of a profile.
    FlowMonitor(Direction),
    /// `destination` of a flow exporter.
    Destination,
    /// `transport udp` of a flow exporter.
    Transport,
    /// `version` of a flow exporter.
    Version,
    Dscp,
    /// `record` of a flow monitor.
    Record,
    /// `exporter` lines of a flow monitor.
    Exporters,
    TimeoutActive,
    TimeoutInactive,
    CacheSize,
    /// `network` of an ip pool.
    Network,
    /// `default-router` of an ip pool.
    DefaultRouter,
    /// `range` lines of an ip pool.
    Ranges,
    /// `exclude` lines of an ip pool.
    Excludes,
    /// `ip pool NAME` of a profile.
    IpPool,
}

impl Field {
    /// The field as the JSON model names it (for messages about models without text).
    pub fn json_name(self) -> &'static str {
        match self {
            Self::Header | Self::Removed | Self::VlanName => "name",
            Self::SegmentId => "segment_id",
            Self::Description => "description",
            Self::Mode => "mode",
            Self::AccessVlan => "access_vlan",
            Self::AccessBridgeDomain => "access_bridge_domain",
            Self::TrunkAllowed => "trunk_allowed_vlans",
            Self::TrunkNative => "trunk_native_vlan",
            Self::ChannelGroup => "channel_group_mac_pinning",
            Self::Inherit => "inherit",
            Self::MaxPorts => "max_ports",
            Self::PortBinding => "port_binding",
            Self::SystemVlans => "system_vlans",
            Self::Shutdown => "shutdown",
            Self::State => "state_enabled",
            Self::Password => "password",
            Self::Role => "role",
            Self::Entry(_) => "entries",
            Self::StatisticsPerEntry => "statistics_per_entry",
            Self::AccessGroup(..) => "access_groups",
            Self::PortSecurity
            | Self::PortSecurityMaximum
            | Self::PortSecurityViolation
            | Self::PortSecuritySticky => "port_security",
            Self::VerifySource => "verify_source",
            Self::ArpInspection => "arp_inspection",
            Self::DhcpSnoopingTrust => "dhcp_snooping_trust",
            Self::StormControl(_) => "storm_control",
            Self::FlowMonitor(_) => "flow_monitors",
            Self::Destination => "destination",
            Self::Transport => "transport_udp",
            Self::Version => "version",
            Self::Dscp => "dscp",
            Self::Record => "record",
            Self::Exporters => "exporters",
            Self::TimeoutActive => "timeout_active",
            Self::TimeoutInactive => "timeout_inactive",
            Self::CacheSize => "cache_size",
            Self::Network => "network",
            Self::DefaultRouter => "default_router",
            Self::Ranges => "ranges",
            Self::Excludes => "excludes",
            Self::IpPool => "ip_pool",
        }
    }
}

/// One field of one object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Vlan(VlanId, Field),
    /// A field of the named bridge-domain.
    BridgeDomain(String, Field),
    Profile(String, Field),
    /// A field of the named operator account.
    User(String, Field),
    /// A field of the named access list of a family.
    AccessList(Family, String, Field),
    /// A field of the named flow exporter.
    FlowExporter(String, Field),
    /// A field of the named flow monitor.
    FlowMonitor(String, Field),
    /// A field of the named address pool.
    IpPool(String, Field),
    /// The accounts as a whole (at least one network-admin): a line that removed or demoted
    /// one is where it is blamed.
    Accounts,
}

impl Subject {
    /// The object's header, for issues whose field was not set by the text at hand.
    pub fn header(&self) -> Self {
        match self {
            Self::Vlan(id, _) => Self::Vlan(*id, Field::Header),
            Self::BridgeDomain(name, _) => Self::BridgeDomain(name.clone(), Field::Header),
            Self::Profile(name, _) => Self::Profile(name.clone(), Field::Header),
            Self::User(name, _) => Self::User(name.clone(), Field::Header),
            Self::AccessList(family, name, _) => Self::AccessList(*family, name.clone(), Field::Header),
            Self::FlowExporter(name, _) => Self::FlowExporter(name.clone(), Field::Header),
            Self::FlowMonitor(name, _) => Self::FlowMonitor(name.clone(), Field::Header),
            Self::IpPool(name, _) => Self::IpPool(name.clone(), Field::Header),
            Self::Accounts => Self::Accounts,
        }
    }

    fn describe(&self) -> String {
        let (object, field) = match self {
            Self::Vlan(id, field) => (format!("vlan {id}"), field),
            Self::BridgeDomain(name, field) => (format!("bridge-domain {name}"), field),
            Self::Profile(name, field) => (format!("port-profile {name}"), field),
            Self::User(name, field) => (format!("username {name}"), field),
            Self::AccessList(family, name, field) => {
                (format!("{} access-list {name}", family.keyword()), field)
            }
            Self::FlowExporter(name, field) => (format!("flow exporter {name}"), field),
            Self::FlowMonitor(name, field) => (format!("flow monitor {name}"), field),
            Self::IpPool(name, field) => (format!("ip pool {name}"), field),
            Self::Accounts => return "username".to_string(),
        };
        match field {
            Field::Header | Field::Removed => object,
            Field::Entry(sequence) => format!("{object}: entry {sequence}"),
            _ => format!("{object}: {}", field.json_name()),
        }
    }
}

/// A semantic problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub subject: Subject,
    pub message: String,
    pub expected: Vec<String>,
    /// Another field that may have caused the problem, and the message to give if the text
    /// set it: `no port-profile base` when `inherit port-profile base` now points nowhere,
    /// `no segment id` under a bridge-domain a profile uses. The later of the two lines is
    /// blamed.
    pub cause: Option<(Subject, String)>,
}

impl Issue {
    pub(crate) fn new(subject: Subject, message: String) -> Self {
        Self { subject, message, expected: Vec::new(), cause: None }
    }

    pub(crate) fn caused_by(mut self, subject: Subject, message: String) -> Self {
        self.cause = Some((subject, message));
        self
    }

    pub(crate) fn expecting(self, param: Param) -> Self {
        self.expecting_text(param.describe())
    }

    pub(crate) fn expecting_text(mut self, expected: String) -> Self {
        self.expected = vec![expected];
        self
    }

    pub(crate) fn expecting_list(mut self, expected: Vec<String>) -> Self {
        self.expected = expected;
        self
    }
}

/// Checks a model that did not come from text (a REST `PUT`): the first problem, naming the
/// object and field (line and column are 0).
pub fn validate(config: &Config) -> Result<(), ConfigError> {
    match issues(config).into_iter().next() {
        None => Ok(()),
        Some(issue) => Err(ConfigError::model(format!("{}: {}", issue.subject.describe(), issue.message))
            .expecting(issue.expected)),
    }
}

/// Every problem in the model, VLANs first, then bridge-domains, access lists, flow exporters and
/// monitors, then port-profiles by name.
pub fn issues(config: &Config) -> Vec<Issue> {
    let mut out = Vec::new();
    for (id, vlan) in &config.vlans {
        if !(VLAN_MIN..=VLAN_MAX).contains(id) {
            out.push(
                Issue::new(Subject::Vlan(*id, Field::Header), format!("invalid VLAN id '{id}'"))
                    .expecting(Param::VlanId),
            );
        }
        if let Some(name) = &vlan.name
            && !grammar::is_name(name, VLAN_NAME_MAX)
        {
            out.push(
                Issue::new(Subject::Vlan(*id, Field::VlanName), format!("invalid VLAN name '{name}'"))
                    .expecting(Param::Name { max: VLAN_NAME_MAX }),
            );
        }
    }
    bridge_domain_issues(config, &mut out);
    crate::validate_policy::object_issues(config, &mut out);
    crate::validate_pool::pool_issues(config, &mut out);
    for (name, profile) in &config.port_profiles {
        profile_issues(config, name, profile, &mut out);
        crate::validate_policy::profile_issues(config, name, profile, &mut out);
        crate::validate_pool::profile_pool_issues(config, name, profile, &mut out);
    }
    account_issues(config, &mut out);
    out
}

/// The message when a change would leave accounts but no network-admin among them.
pub const LAST_ADMIN: &str =
    "the last network-admin account cannot be removed or demoted; create another network-admin first";

/// What a PHC string of an argon2id hash starts with.
pub const ARGON2ID_PREFIX: &str = "$argon2id$";

fn account_issues(config: &Config, out: &mut Vec<Issue>) {
    for (name, user) in &config.users {
        let at = |field| Subject::User(name.clone(), field);
        if !is_user_name(name) {
            out.push(Issue::new(at(Field::Header), format!("invalid user name '{name}'")).expecting_text(
                format!(
                    "a letter or digit, then up to {} letters, digits, '_', '.' or '-'",
                    USER_NAME_MAX - 1
                ),
            ));
        }
        match &user.password {
            // Never quote a password, not even a bad one.
            Password::Clear(clear) if !grammar::is_name(clear, PASSWORD_MAX) => out.push(
                Issue::new(at(Field::Password), "invalid password".to_string())
                    .expecting(Param::Secret { max: PASSWORD_MAX }),
            ),
            Password::Hashed(hash)
                if !hash.starts_with(ARGON2ID_PREFIX) || !grammar::is_name(hash, PASSWORD_HASH_MAX) =>
            {
                out.push(Issue::new(
                    at(Field::Password),
                    format!("password 5 takes an argon2id hash ({ARGON2ID_PREFIX}…)"),
                ));
            }
            _ => {}
        }
    }
    if !config.users.is_empty() && !config.users.values().any(|user| user.role == Role::NetworkAdmin) {
        out.push(Issue::new(Subject::Accounts, LAST_ADMIN.to_string()));
    }
}

/// The rule for user names: what NX-OS accepts, and never a `:` (HTTP Basic splits on it).
pub fn is_user_name(name: &str) -> bool {
    name.len() <= USER_NAME_MAX
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn bridge_domain_issues(config: &Config, out: &mut Vec<Issue>) {
    // Segment id -> the first bridge-domain (by name) that has it.
    let mut owners: BTreeMap<SegmentId, &str> = BTreeMap::new();
    for (name, domain) in &config.bridge_domains {
        let at = |field| Subject::BridgeDomain(name.clone(), field);
        if !grammar::is_name(name, BRIDGE_DOMAIN_NAME_MAX) {
            out.push(
                Issue::new(at(Field::Header), format!("invalid bridge-domain name '{name}'"))
                    .expecting(Param::Name { max: BRIDGE_DOMAIN_NAME_MAX }),
            );
        }
        let Some(id) = domain.segment_id else { continue };
        if !(SEGMENT_ID_MIN..=SEGMENT_ID_MAX).contains(&id) {
            out.push(
                Issue::new(at(Field::SegmentId), format!("invalid segment id '{id}'"))
                    .expecting(Param::Number { min: SEGMENT_ID_MIN, max: SEGMENT_ID_MAX }),
            );
            continue;
        }
        match owners.get(&id) {
            // Either line may be the new one: the issue is on the later bridge-domain, the
            // earlier one is the alternative to blame.
            Some(first) => out.push(
                Issue::new(
                    at(Field::SegmentId),
                    format!("segment id {id} is already used by bridge-domain '{first}'"),
                )
                .caused_by(
                    Subject::BridgeDomain(first.to_string(), Field::SegmentId),
                    format!("segment id {id} is already used by bridge-domain '{name}'"),
                ),
            ),
            None => {
                owners.insert(id, name);
            }
        }
    }
}

fn profile_issues(config: &Config, name: &str, p: &PortProfile, out: &mut Vec<Issue>) {
    let at = |field| Subject::Profile(name.to_string(), field);
    if !grammar::is_name(name, PROFILE_NAME_MAX) {
        out.push(
            Issue::new(at(Field::Header), format!("invalid port-profile name '{name}'"))
                .expecting(Param::Name { max: PROFILE_NAME_MAX }),
        );
    }
    if let Some(d) = &p.description
        && !grammar::is_text(d, DESCRIPTION_MAX)
    {
        out.push(
            Issue::new(at(Field::Description), format!("invalid description '{d}'"))
                .expecting(Param::Text { max: DESCRIPTION_MAX }),
        );
    }
    for (field, vlan) in [(Field::AccessVlan, p.access_vlan), (Field::TrunkNative, p.trunk_native_vlan)] {
        if let Some(id) = vlan
            && !(VLAN_MIN..=VLAN_MAX).contains(&id)
        {
            out.push(Issue::new(at(field), format!("invalid VLAN id '{id}'")).expecting(Param::VlanId));
        }
    }
    if let Some(n) = p.max_ports
        && !(MAX_PORTS_MIN..=MAX_PORTS_MAX).contains(&n)
    {
        out.push(
            Issue::new(at(Field::MaxPorts), format!("invalid number '{n}'"))
                .expecting(Param::Number { min: MAX_PORTS_MIN, max: MAX_PORTS_MAX }),
        );
    }
    if p.system_vlans.as_ref().is_some_and(|s| s.is_empty()) {
        out.push(
            Issue::new(at(Field::SystemVlans), "empty system VLAN list".to_string())
                .expecting(Param::VlanRanges),
        );
    }
    if p.channel_group_mac_pinning == Some(false) {
        // The text form has no way to say it (`no channel-group` removes the line), so a model
        // holding it would not survive print ∘ parse.
        out.push(Issue::new(
            at(Field::ChannelGroup),
            "channel-group cannot be set to false; leave it unset instead".to_string(),
        ));
    }
    let only = |field, set: bool, kind: ProfileType, what: &str| {
        (set && p.kind != kind).then(|| {
            Issue::new(at(field), format!("{what} applies only to {} port-profiles", kind_name(kind)))
        })
    };
    out.extend(only(
        Field::ChannelGroup,
        p.channel_group_mac_pinning == Some(true),
        ProfileType::Ethernet,
        "channel-group",
    ));
    out.extend(only(Field::MaxPorts, p.max_ports.is_some(), ProfileType::Vethernet, "max-ports"));
    out.extend(only(Field::PortBinding, p.port_binding.is_some(), ProfileType::Vethernet, "port-binding"));
    out.extend(only(
        Field::AccessBridgeDomain,
        p.access_bridge_domain.is_some(),
        ProfileType::Vethernet,
        "switchport access bridge-domain",
    ));
    if let Some(domain) = &p.access_bridge_domain {
        out.extend(bridge_domain_use_issue(config, name, p, domain));
    }
    if let Some(parent) = &p.inherit {
        out.extend(inherit_issue(config, name, p, parent));
    }
}

/// A profile's `switchport access bridge-domain`: the bridge-domain must exist and have a
/// segment id, and the profile cannot also name an access VLAN.
fn bridge_domain_use_issue(config: &Config, name: &str, p: &PortProfile, domain: &str) -> Option<Issue> {
    let at = Subject::Profile(name.to_string(), Field::AccessBridgeDomain);
    if p.access_vlan.is_some() {
        // The text form cannot say both (each line replaces the other).
        return Some(Issue::new(
            at,
            "switchport access vlan and switchport access bridge-domain exclude each other".to_string(),
        ));
    }
    let used = format!("bridge-domain '{domain}' is used by port-profile '{name}'");
    match config.bridge_domains.get(domain) {
        None => Some(
            Issue::new(at, format!("bridge-domain '{domain}' does not exist"))
                .caused_by(Subject::BridgeDomain(domain.to_string(), Field::Removed), used),
        ),
        Some(d) if d.segment_id.is_none() => {
            Some(Issue::new(at, format!("bridge-domain '{domain}' has no segment id")).caused_by(
                Subject::BridgeDomain(domain.to_string(), Field::SegmentId),
                format!("{used} and needs a segment id"),
            ))
        }
        Some(_) => None,
    }
}

fn inherit_issue(config: &Config, name: &str, p: &PortProfile, parent: &str) -> Option<Issue> {
    let at = Subject::Profile(name.to_string(), Field::Inherit);
    if parent == name {
        return Some(Issue::new(at, "a port-profile cannot inherit itself".to_string()));
    }
    let Some(target) = config.port_profiles.get(parent) else {
        return Some(Issue::new(at, format!("port-profile '{parent}' does not exist")).caused_by(
            Subject::Profile(parent.to_string(), Field::Removed),
            format!("port-profile '{parent}' is inherited by '{name}'"),
        ));
    };
    if target.kind != p.kind {
        return Some(Issue::new(
            at,
            format!(
                "port-profile '{parent}' is of type {}, not {}",
                kind_name(target.kind),
                kind_name(p.kind)
            ),
        ));
    }
    inheritance_cycle(config, name)
        .map(|cycle| Issue::new(at, format!("inheritance cycle: {}", cycle.join(" -> "))))
}

/// The names around a cycle that starts and ends at `name`, if `name` is on one.
fn inheritance_cycle(config: &Config, name: &str) -> Option<Vec<String>> {
    let mut chain = vec![name.to_string()];
    let mut current = name;
    // A chain longer than the number of profiles must repeat.
    for _ in 0..=config.port_profiles.len() {
        let parent = config.port_profiles.get(current)?.inherit.as_deref()?;
        chain.push(parent.to_string());
        if parent == name {
            return Some(chain);
        }
        if chain[..chain.len() - 1].iter().any(|seen| seen == parent) {
            return None; // a cycle further up, reported by its own members
        }
        current = parent;
    }
    None
}

/// `vethernet` / `ethernet`, as the language spells the type.
pub fn kind_name(kind: ProfileType) -> &'static str {
    match kind {
        ProfileType::Vethernet => "vethernet",
        ProfileType::Ethernet => "ethernet",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::Vlan;

    fn with(profiles: &[(&str, PortProfile)]) -> Config {
        Config {
            port_profiles: profiles.iter().map(|(n, p)| (n.to_string(), p.clone())).collect(),
            ..Config::default()
        }
    }

    fn message(config: &Config) -> String {
        validate(config).unwrap_err().to_string()
    }

    #[test]
    fn a_good_model_passes() {
        let base = PortProfile { access_vlan: Some(100), ..PortProfile::default() };
        let child =
            PortProfile { inherit: Some("base".into()), max_ports: Some(8), ..PortProfile::default() };
        assert_eq!(validate(&with(&[("base", base), ("child", child)])), Ok(()));
    }

    #[test]
    fn names_the_object_and_field() {
        let p = PortProfile { max_ports: Some(0), ..PortProfile::default() };
        assert_eq!(
            message(&with(&[("web", p)])),
            "port-profile web: max_ports: invalid number '0': expected a number 1-1024"
        );
        let p = PortProfile { access_vlan: Some(5000), ..PortProfile::default() };
        assert!(message(&with(&[("web", p)])).contains("access_vlan: invalid VLAN id '5000'"));
        let mut c = Config::default();
        c.vlans.insert(0, Vlan::default());
        assert!(message(&c).starts_with("vlan 0: invalid VLAN id '0'"));
        c.vlans.clear();
        c.vlans.insert(5, Vlan { name: Some("two words".into()) });
        assert!(message(&c).contains("invalid VLAN name"));
    }

    #[test]
    fn inherit_rules() {
        let inherits = |parent: &str| PortProfile { inherit: Some(parent.into()), ..PortProfile::default() };
        assert!(message(&with(&[("a", inherits("nope"))])).contains("'nope' does not exist"));
        assert!(message(&with(&[("a", inherits("a"))])).contains("cannot inherit itself"));
        let cycle = with(&[("a", inherits("b")), ("b", inherits("c")), ("c", inherits("a"))]);
        assert!(message(&cycle).contains("inheritance cycle: a -> b -> c -> a"));
        let eth = PortProfile { kind: ProfileType::Ethernet, ..PortProfile::default() };
        assert!(
            message(&with(&[("a", inherits("up")), ("up", eth)]))
                .contains("'up' is of type ethernet, not vethernet")
        );
    }

    #[test]
    fn type_specific_attributes() {
        let eth = PortProfile { kind: ProfileType::Ethernet, max_ports: Some(4), ..PortProfile::default() };
        assert!(message(&with(&[("up", eth)])).contains("max-ports applies only to vethernet"));
        let veth = PortProfile { channel_group_mac_pinning: Some(true), ..PortProfile::default() };
        assert!(message(&with(&[("v", veth)])).contains("channel-group applies only to ethernet"));
        let eth = PortProfile {
            kind: ProfileType::Ethernet,
            channel_group_mac_pinning: Some(false),
            ..PortProfile::default()
        };
        assert!(message(&with(&[("up", eth)])).contains("cannot be set to false"));
    }

    #[test]
    fn accounts() {
        use crate::model::User;
        let user = |password: Password, role| User { password, role };
        let hash = || Password::Hashed(format!("{ARGON2ID_PREFIX}v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
        let mut c = Config::default();
        c.users.insert("admin".into(), user(hash(), Role::NetworkAdmin));
        c.users.insert("op".into(), user(Password::Clear("s3cret".into()), Role::NetworkOperator));
        assert_eq!(validate(&c), Ok(()));
        c.users.insert("bad:name".into(), user(hash(), Role::NetworkOperator));
        assert!(message(&c).starts_with("username bad:name: invalid user name"), "{}", message(&c));
        c.users.remove("bad:name");
        c.users.insert("op".into(), user(Password::Clear("two words".into()), Role::NetworkOperator));
        assert_eq!(
            message(&c),
            "username op: password: invalid password: expected a password of 1-64 printable characters, without spaces or '?'"
        );
        c.users.insert("op".into(), user(Password::Hashed("md5".into()), Role::NetworkOperator));
        assert!(message(&c).contains("argon2id"));
        c.users.remove("op");
        c.users.insert("admin".into(), user(hash(), Role::NetworkOperator));
        assert_eq!(message(&c), format!("username: {LAST_ADMIN}"));
    }

    #[test]
    fn text_fields() {
        let p = PortProfile { description: Some(" padded".into()), ..PortProfile::default() };
        assert!(message(&with(&[("a", p)])).contains("invalid description"));
        assert!(
            message(&with(&[("bad name", PortProfile::default())])).contains("invalid port-profile name")
        );
        let p = PortProfile { system_vlans: Some(crate::VlanSet::none()), ..PortProfile::default() };
        assert!(message(&with(&[("a", p)])).contains("empty system VLAN list"));
    }
}
