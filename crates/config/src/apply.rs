//! Atomic apply: parse the whole text, run it on a copy of the model, validate the copy.
//!
//! Any error — a line that does not parse, a line that cannot run (`no port-profile` of one that
//! does not exist), a result that fails validation — returns before the caller's model is
//! touched. Every field a line sets is remembered with its line and column, so a validation
//! problem found at the end is reported at the line that caused it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::change::{self, Change, Touched};
use crate::error::ConfigError;
use crate::evaluate;
use crate::language::{Op, Statement, TrunkEdit};
use crate::model::{BridgeDomain, Config, Password, PortProfile, Role, User, VlanId};
use crate::script::{self, ScriptLine};
use crate::secrets::redact_line;
use crate::validate::{self, Field, Issue, Subject, kind_name};
use crate::vlan_set::VlanSet;

mod policy;
mod pool;

/// The result of a successful apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The new model.
    pub config: Config,
    /// What changed, VLANs first, then bridge-domains, then port-profiles; empty when the text
    /// changed nothing.
    pub changes: Vec<Change>,
    /// Every `no port-profile` the text ran, by profile name: where, and whether it said
    /// `force`. The caller, which knows the ports, refuses to delete a profile in use unless
    /// forced (NX-OS refuses to delete a port-profile with assigned interfaces).
    pub profile_removals: BTreeMap<String, ProfileRemoval>,
}

/// One `no port-profile NAME [force]` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileRemoval {
    /// The line (1-based) of the text…
    pub line: usize,
    /// …and the column of the profile's name on it.
    pub column: usize,
    /// The line said `force`.
    pub forced: bool,
}

impl Applied {
    /// Port-profiles whose effective policy may have changed: every changed profile, every
    /// profile using a changed bridge-domain (its segment id is part of the policy), access
    /// list, flow monitor or exporter (their contents are), every profile when `ip dhcp
    /// snooping` changed, and every profile that inherits from one of those (transitively),
    /// including removed ones.
    pub fn affected_profiles(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> =
            self.changes.iter().filter_map(Change::profile).map(str::to_string).collect();
        for domain in self.changes.iter().filter_map(Change::bridge_domain) {
            out.extend(evaluate::bridge_domain_dependents(&self.config, domain));
        }
        for change in &self.changes {
            out.extend(evaluate::policy_object_dependents(&self.config, &change.object));
        }
        let changed: Vec<&str> = out.iter().map(String::as_str).collect();
        let inheritors = evaluate::dependents_of_all(&self.config, &changed);
        out.extend(inheritors);
        out
    }
}

/// Applies NX-OS configuration text to `config`, atomically: on error nothing changes (the
/// input is never modified; the new model comes back in [`Applied`]).
pub fn apply(config: &Config, text: &str) -> Result<Applied, ConfigError> {
    let lines = script::parse_script(text)?;
    let mut run = Run::new(config.clone());
    for line in &lines {
        run.execute(line)?;
    }
    if let Some(error) = run.lockout(config).or_else(|| run.first_issue()) {
        return Err(error);
    }
    let changes = change::diff(config, &run.config, &run.touched);
    Ok(Applied { config: run.config, changes, profile_removals: run.removals })
}

/// The sub-mode object lines apply to.
#[derive(Debug, Clone)]
enum Context {
    None,
    Vlans(VlanSet),
    BridgeDomain(String),
    Profile(String),
    AccessList(crate::acl::Family, String),
    FlowExporter(String),
    FlowMonitor(String),
    IpPool(String),
}

/// A position in the text.
type Site = (usize, usize);

#[derive(Debug)]
struct Run {
    config: Config,
    context: Context,
    /// Where each field was last set (or each object created or removed).
    sites: HashMap<Subject, Site>,
    /// The lines that touched each object.
    touched: BTreeMap<Touched, Vec<String>>,
    /// The `no port-profile` lines run.
    removals: BTreeMap<String, ProfileRemoval>,
}

impl Run {
    fn new(config: Config) -> Self {
        Self {
            config,
            context: Context::None,
            sites: HashMap::new(),
            touched: BTreeMap::new(),
            removals: BTreeMap::new(),
        }
    }

    fn execute(&mut self, line: &ScriptLine<'_>) -> Result<(), ConfigError> {
        let st = &line.statement;
        let fail = |column: usize, message: String| ConfigError::at(line.number, column, message);
        match st.op {
            Op::ConfigureTerminal => {}
            Op::End | Op::Exit => self.context = Context::None,
            Op::Vlan => {
                let ids = st.vlans(0).cloned().unwrap_or_default();
                for id in ids.iter() {
                    self.touch(Touched::Vlan(id), line);
                    self.sites.insert(Subject::Vlan(id, Field::Header), (line.number, st.arg_column(0)));
                    if st.negated {
                        self.config.vlans.remove(&id);
                    } else {
                        self.config.vlans.entry(id).or_default();
                    }
                }
                self.context = if st.negated { Context::None } else { Context::Vlans(ids) };
            }
            Op::BridgeDomain => {
                let name = st.text(0).unwrap_or_default().to_string();
                let column = st.arg_column(0);
                self.context = Context::None;
                if st.negated {
                    if self.config.bridge_domains.remove(&name).is_none() {
                        return Err(fail(column, format!("bridge-domain '{name}' does not exist")));
                    }
                    self.sites
                        .insert(Subject::BridgeDomain(name.clone(), Field::Removed), (line.number, column));
                    self.touch(Touched::BridgeDomain(name), line);
                } else {
                    // As with profiles, entering an existing bridge-domain changes nothing.
                    if !self.config.bridge_domains.contains_key(&name) {
                        self.config.bridge_domains.insert(name.clone(), BridgeDomain::default());
                        self.touch(Touched::BridgeDomain(name.clone()), line);
                    }
                    self.sites
                        .insert(Subject::BridgeDomain(name.clone(), Field::Header), (line.number, column));
                    self.context = Context::BridgeDomain(name);
                }
            }
            Op::SegmentId => {
                let Context::BridgeDomain(name) = &self.context else {
                    return Err(fail(st.column, "no bridge-domain sub-mode for this line".to_string()));
                };
                let name = name.clone();
                self.touch(Touched::BridgeDomain(name.clone()), line);
                self.set_site(Subject::BridgeDomain(name.clone(), Field::SegmentId), line, st);
                let Some(domain) = self.config.bridge_domains.get_mut(&name) else {
                    return Err(fail(st.column, format!("bridge-domain '{name}' does not exist")));
                };
                domain.segment_id = st.number(0).filter(|_| !st.negated);
            }
            Op::PortProfile(kind) | Op::PortProfileForce(kind) => {
                let name = st.text(0).unwrap_or_default().to_string();
                self.context = Context::None;
                let column = st.arg_column(0);
                if st.negated {
                    let forced = matches!(st.op, Op::PortProfileForce(_));
                    self.removals.insert(name.clone(), ProfileRemoval { line: line.number, column, forced });
                }
                match (self.config.port_profiles.get(&name), st.negated) {
                    (None, true) => {
                        return Err(fail(column, format!("port-profile '{name}' does not exist")));
                    }
                    (Some(existing), _) if kind.is_some_and(|k| k != existing.kind) => {
                        return Err(fail(
                            st.column,
                            format!("port-profile '{name}' exists with type {}", kind_name(existing.kind)),
                        ));
                    }
                    (Some(_), true) => {
                        self.config.port_profiles.remove(&name);
                        self.sites
                            .insert(Subject::Profile(name.clone(), Field::Removed), (line.number, column));
                        self.touch(Touched::Profile(name), line);
                    }
                    (existing, false) => {
                        // Entering an existing profile's sub-mode changes nothing by itself: only
                        // a creation lists the header among the lines that made the change.
                        if existing.is_none() {
                            let profile =
                                PortProfile { kind: kind.unwrap_or_default(), ..PortProfile::default() };
                            self.config.port_profiles.insert(name.clone(), profile);
                            self.touch(Touched::Profile(name.clone()), line);
                        }
                        self.sites
                            .insert(Subject::Profile(name.clone(), Field::Header), (line.number, column));
                        self.context = Context::Profile(name);
                    }
                }
            }
            Op::Username { hashed, role } => {
                self.context = Context::None;
                self.username(line, hashed, role)?;
            }
            Op::AccessList(_)
            | Op::Resequence(_)
            | Op::Ace { .. }
            | Op::StatisticsPerEntry
            | Op::DhcpSnooping
            | Op::FlowExporter
            | Op::FlowMonitor
            | Op::FlowDescription
            | Op::FlowDestination
            | Op::FlowTransport
            | Op::FlowVersion(_)
            | Op::FlowDscp
            | Op::FlowRecord
            | Op::MonitorExporter
            | Op::TimeoutActive
            | Op::TimeoutInactive
            | Op::CacheSize
            | Op::IpPool => self.execute_policy(line)?,
            Op::PoolNetwork | Op::PoolDefaultRouter | Op::PoolRange | Op::PoolExclude => {
                self.pool_line(line)?
            }
            Op::VlanName => {
                let Context::Vlans(ids) = &self.context else {
                    return Err(fail(st.column, "no VLAN sub-mode for this line".to_string()));
                };
                let ids = ids.clone();
                let name = st.text(0).map(str::to_string);
                for id in ids.iter() {
                    self.touch(Touched::Vlan(id), line);
                    self.set_site(Subject::Vlan(id, Field::VlanName), line, st);
                    if let Some(vlan) = self.config.vlans.get_mut(&id) {
                        vlan.name = if st.negated { None } else { name.clone() };
                    }
                }
            }
            _ => {
                let Context::Profile(name) = &self.context else {
                    return Err(fail(st.column, "no port-profile sub-mode for this line".to_string()));
                };
                let name = name.clone();
                self.touch(Touched::Profile(name.clone()), line);
                let Some(profile) = self.config.port_profiles.get_mut(&name) else {
                    return Err(fail(st.column, format!("port-profile '{name}' does not exist")));
                };
                if let Some(message) = removes_another_name(profile, st) {
                    return Err(fail(st.arg_column(0), message));
                }
                let field = set_profile_field(profile, st);
                self.set_site(Subject::Profile(name, field), line, st);
            }
        }
        Ok(())
    }

    /// `username NAME password … role ROLE` / `no username NAME`.
    fn username(&mut self, line: &ScriptLine<'_>, hashed: bool, role: Role) -> Result<(), ConfigError> {
        let st = &line.statement;
        let name = st.text(0).unwrap_or_default().to_string();
        let site = (line.number, st.arg_column(0));
        let old = if st.negated {
            let removed = self.config.users.remove(&name);
            if removed.is_none() {
                return Err(ConfigError::at(site.0, site.1, format!("user '{name}' does not exist")));
            }
            self.sites.insert(Subject::User(name.clone(), Field::Removed), site);
            removed
        } else {
            let secret = st.secret(1).unwrap_or_default().to_string();
            let password = if hashed { Password::Hashed(secret) } else { Password::Clear(secret) };
            self.sites.insert(Subject::User(name.clone(), Field::Header), site);
            self.sites.insert(Subject::User(name.clone(), Field::Password), (line.number, st.arg_column(1)));
            self.config.users.insert(name.clone(), User { password, role })
        };
        let was_admin = old.is_some_and(|user| user.role == Role::NetworkAdmin);
        if was_admin && (st.negated || role != Role::NetworkAdmin) {
            self.sites.insert(Subject::Accounts, site);
        }
        // The change's lines are logged: never with the password in them.
        self.touched.entry(Touched::User(name)).or_default().push(redact_line(line.text));
        Ok(())
    }

    /// Removing every account locks everyone out: refused like removing the last
    /// network-admin (an empty account list is only where a new supervisor starts).
    fn lockout(&self, before: &Config) -> Option<ConfigError> {
        (!before.users.is_empty() && self.config.users.is_empty()).then(|| {
            let (line, column) = self.sites.get(&Subject::Accounts).copied().unwrap_or((0, 0));
            ConfigError::at(line, column, validate::LAST_ADMIN)
        })
    }

    fn touch(&mut self, object: Touched, line: &ScriptLine<'_>) {
        self.touched.entry(object).or_default().push(line.text.to_string());
    }

    fn set_site(&mut self, subject: Subject, line: &ScriptLine<'_>, st: &Statement) {
        self.sites.insert(subject, (line.number, st.arg_column(0)));
    }

    /// The validation issue at the earliest line, located; issues the text did not cause
    /// (no line set that field or object) come last, at line 0.
    fn first_issue(&self) -> Option<ConfigError> {
        validate::issues(&self.config)
            .into_iter()
            .map(|issue| self.locate(issue))
            .min_by_key(|e| (e.line == 0, e.line, e.column))
    }

    fn locate(&self, issue: Issue) -> ConfigError {
        let site = self.sites.get(&issue.subject).or_else(|| self.sites.get(&issue.subject.header()));
        // The cause is blamed when the text set it after (or without) the subject.
        if let Some((cause, message)) = &issue.cause
            && let Some(&(line, column)) = self.sites.get(cause)
            && site.is_none_or(|own| (line, column) > *own)
        {
            return ConfigError::at(line, column, message.clone());
        }
        let (line, column) = site.copied().unwrap_or((0, 0));
        ConfigError::at(line, column, issue.message).expecting(issue.expected)
    }
}

/// Runs one port-profile sub-mode line; returns the field it set.
fn set_profile_field(p: &mut PortProfile, st: &Statement) -> Field {
    let set = !st.negated;
    let vlan = |i| st.number(i).and_then(|n| VlanId::try_from(n).ok());
    match st.op {
        Op::Description => {
            p.description = st.text(0).filter(|_| set).map(str::to_string);
            Field::Description
        }
        Op::SwitchportMode(mode) => {
            p.mode = set.then_some(mode);
            Field::Mode
        }
        Op::AccessVlan => {
            p.access_vlan = vlan(0).filter(|_| set);
            if set {
                // One access segment per profile: the VLAN replaces a bridge-domain.
                p.access_bridge_domain = None;
            }
            Field::AccessVlan
        }
        Op::AccessBridgeDomain => {
            p.access_bridge_domain = st.text(0).filter(|_| set).map(str::to_string);
            if set {
                p.access_vlan = None;
            }
            Field::AccessBridgeDomain
        }
        Op::TrunkNative => {
            p.trunk_native_vlan = vlan(0).filter(|_| set);
            Field::TrunkNative
        }
        Op::TrunkAllowed(edit) => {
            p.trunk_allowed_vlans =
                if set { Some(trunk_edit(p.trunk_allowed_vlans.as_ref(), edit, st.vlans(0))) } else { None };
            Field::TrunkAllowed
        }
        Op::ChannelGroup => {
            p.channel_group_mac_pinning = set.then_some(true);
            Field::ChannelGroup
        }
        Op::Inherit => {
            p.inherit = st.text(0).filter(|_| set).map(str::to_string);
            Field::Inherit
        }
        Op::MaxPorts => {
            p.max_ports = st.number(0).filter(|_| set);
            Field::MaxPorts
        }
        Op::PortBinding(binding) => {
            p.port_binding = set.then_some(binding);
            Field::PortBinding
        }
        Op::SystemVlan => {
            p.system_vlans = system_vlan_edit(p.system_vlans.as_ref(), set, st.vlans(0));
            Field::SystemVlans
        }
        Op::Shutdown => {
            // `no shutdown` is a setting of its own (it prints), not the absence of one.
            p.shutdown = Some(set);
            Field::Shutdown
        }
        Op::StateEnabled => {
            p.state_enabled = set;
            Field::State
        }
        Op::AccessGroup(family, direction) => {
            *p.access_groups.get_mut(family, direction) = st.text(0).filter(|_| set).map(str::to_string);
            Field::AccessGroup(family, direction)
        }
        Op::PortSecurity => {
            p.port_security.enabled = set;
            Field::PortSecurity
        }
        Op::PortSecurityMaximum => {
            p.port_security.maximum = st.number(0).filter(|_| set);
            Field::PortSecurityMaximum
        }
        Op::PortSecurityViolation(violation) => {
            p.port_security.violation = set.then_some(violation);
            Field::PortSecurityViolation
        }
        Op::PortSecuritySticky => {
            p.port_security.sticky = set;
            Field::PortSecuritySticky
        }
        Op::VerifySource => {
            p.verify_source = set;
            Field::VerifySource
        }
        Op::ArpInspection => {
            p.arp_inspection = set;
            Field::ArpInspection
        }
        Op::DhcpSnoopingTrust => {
            p.dhcp_snooping_trust = set;
            Field::DhcpSnoopingTrust
        }
        Op::StormControl(kind) => {
            *p.storm_control.get_mut(kind) = st.number(0).filter(|_| set);
            Field::StormControl(kind)
        }
        Op::ProfileFlowMonitor(direction) => {
            *p.flow_monitors.get_mut(direction) = st.text(0).filter(|_| set).map(str::to_string);
            Field::FlowMonitor(direction)
        }
        Op::ProfileIpPool => {
            p.ip_pool = st.text(0).filter(|_| set).map(str::to_string);
            Field::IpPool
        }
        Op::ConfigureTerminal
        | Op::End
        | Op::Exit
        | Op::Vlan
        | Op::BridgeDomain
        | Op::PortProfile(_)
        | Op::PortProfileForce(_)
        | Op::VlanName
        | Op::SegmentId
        | Op::Username { .. }
        | Op::AccessList(_)
        | Op::Resequence(_)
        | Op::Ace { .. }
        | Op::StatisticsPerEntry
        | Op::DhcpSnooping
        | Op::FlowExporter
        | Op::FlowMonitor
        | Op::FlowDescription
        | Op::FlowDestination
        | Op::FlowTransport
        | Op::FlowVersion(_)
        | Op::FlowDscp
        | Op::FlowRecord
        | Op::MonitorExporter
        | Op::TimeoutActive
        | Op::TimeoutInactive
        | Op::CacheSize
        | Op::IpPool
        | Op::PoolNetwork
        | Op::PoolDefaultRouter
        | Op::PoolRange
        | Op::PoolExclude => Field::Header,
    }
}

/// `no ip port access-group NAME in` (and the traffic-filter and flow monitor lines) must name
/// what the profile has, as NX-OS checks: the message when it names something else.
fn removes_another_name(p: &PortProfile, st: &Statement) -> Option<String> {
    if !st.negated {
        return None;
    }
    let given = st.text(0)?;
    let (current, line) = match st.op {
        Op::AccessGroup(family, direction) => {
            let line = match family {
                crate::acl::Family::Ipv4 => "ip port access-group",
                crate::acl::Family::Ipv6 => "ipv6 port traffic-filter",
            };
            (p.access_groups.get(family, direction), line)
        }
        Op::ProfileFlowMonitor(direction) => (p.flow_monitors.get(direction), "ip flow monitor"),
        Op::ProfileIpPool => (p.ip_pool.as_ref(), "ip pool"),
        _ => return None,
    };
    match current {
        Some(current) if current == given => None,
        Some(current) => Some(format!("'{given}' is not applied here: {line} is {current}")),
        None => Some(format!("'{given}' is not applied here")),
    }
}

/// `switchport trunk allowed vlan …`: `add`/`remove` start from the profile's own list, or from
/// the default (all VLANs) when it has none, as NX-OS does.
fn trunk_edit(current: Option<&VlanSet>, edit: TrunkEdit, ids: Option<&VlanSet>) -> VlanSet {
    let ids = ids.cloned().unwrap_or_default();
    let base = || current.cloned().unwrap_or_else(VlanSet::all);
    match edit {
        TrunkEdit::Set => ids,
        TrunkEdit::Add => base().union(&ids),
        TrunkEdit::Remove => base().difference(&ids),
        TrunkEdit::Except => ids.complement(),
        TrunkEdit::All => VlanSet::all(),
        TrunkEdit::None => VlanSet::none(),
    }
}

/// `system vlan X` replaces the list; `no system vlan X` removes X; `no system vlan` clears it.
fn system_vlan_edit(current: Option<&VlanSet>, set: bool, ids: Option<&VlanSet>) -> Option<VlanSet> {
    match (set, ids) {
        (true, ids) => ids.cloned(),
        (false, None) => None,
        (false, Some(ids)) => {
            let left = current.cloned().unwrap_or_default().difference(ids);
            (!left.is_empty()).then_some(left)
        }
    }
}
