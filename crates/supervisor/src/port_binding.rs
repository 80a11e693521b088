//! vEthernet bindings: which iface-id holds which `VethernetN`, and what a bind or an unbind
//! changes. Pure: the caller reads the bindings, calls [`plan_bind`] / [`plan_unbind`], and
//! commits the plan (see [`crate::ports`]).
//!
//! Numbering rules:
//! - an iface-id that has a binding gets its number back, whatever host it comes from;
//! - a new iface-id gets the lowest number no binding holds, so numbers freed by
//!   `port-binding dynamic|ephemeral` ports are reused (Vethernet numbers stay small under
//!   container churn, as on the Nexus 1000V);
//! - `port-binding static` (the default) keeps the binding after detach: the number stays
//!   reserved for the iface-id; `dynamic` and `ephemeral` delete it.
//!
//! `max-ports` counts the profile's *attached* ports: a binding kept after detach reserves a
//! number, not a place in the profile.

use std::collections::{BTreeMap, BTreeSet};

use config::{EffectivePolicy, PortBinding, ProfileType};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::events::Event;

/// vEthernet LTLs start here on every agent (17–48 are uplinks).
pub const FIRST_VETH_LTL: u32 = 49;
/// Longest iface-id, owner or adapter name accepted.
const MAX_FIELD_LEN: usize = 256;

/// One vEthernet binding as the store keeps it (`/switchyard/ports/<iface-id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PortRecord {
    /// N of `VethernetN`.
    pub veth: u32,
    /// The port's stable identity (OVSDB `external_ids:iface-id`).
    pub iface_id: String,
    /// The module the port is (or was last) attached on, and that module's host id.
    pub module: u32,
    pub host_id: String,
    /// The port-profile the port asked for (it may not exist).
    pub profile: String,
    /// The host-end interface (`veth18924_eth0`).
    pub adapter: String,
    /// The interface inside the container (`eth0`); empty when the attacher did not say.
    pub container_ifname: String,
    /// `aa:bb:cc:dd:ee:ff`, lower case.
    pub mac: String,
    /// The container (or VM) that owns the interface.
    pub owner_name: String,
    pub owner_uuid: String,
    /// The agent's local port number (49 and up).
    pub ltl: u32,
    /// False once detached: a `port-binding static` binding kept for the iface-id's return.
    pub attached: bool,
}

impl PortRecord {
    /// `Vethernet1`.
    pub fn name(&self) -> String {
        format!("Vethernet{}", self.veth)
    }

    /// The port number of `IF_ATTACHED`: the agent's vEthernet port index, LTL − 48.
    pub fn port_index(&self) -> u32 {
        self.ltl.saturating_sub(FIRST_VETH_LTL - 1)
    }

    /// Who to name as the owner: the name, else the uuid, else `-`.
    pub fn owner(&self) -> &str {
        [self.owner_name.as_str(), self.owner_uuid.as_str()]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or("-")
    }
}

/// An agent's request to bind a port (`BindPort`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindRequest {
    pub module: u32,
    pub host_id: String,
    pub iface_id: String,
    pub profile: String,
    pub adapter: String,
    pub container_ifname: String,
    pub mac: String,
    pub owner_uuid: String,
    pub owner_name: String,
    pub ltl: u32,
}

/// Why a port was not bound. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(
        "port-profile {profile} allows {max_ports} ports (max-ports) and {attached} are attached; \
         the port was not bound"
    )]
    MaxPorts { profile: String, max_ports: u32, attached: usize },
    #[error("port-profile {profile} is of type ethernet (uplinks); a vEthernet needs a vethernet profile")]
    NotVethernet { profile: String },
}

impl BindRequest {
    /// Refuses what cannot be a key, shown to an operator, or programmed.
    pub fn validate(&self) -> Result<(), BindError> {
        check_word("iface_id", &self.iface_id, false)?;
        if self.iface_id.contains('/') {
            return Err(invalid("iface_id", "must not contain '/'"));
        }
        if !config::grammar::is_name(&self.profile, config::language::PROFILE_NAME_MAX) {
            return Err(invalid("profile", "must be a port-profile name (one word, at most 80 characters)"));
        }
        check_word("adapter", &self.adapter, false)?;
        check_word("container_ifname", &self.container_ifname, true)?;
        check_word("owner_uuid", &self.owner_uuid, true)?;
        if self.owner_name.len() > MAX_FIELD_LEN || self.owner_name.chars().any(char::is_control) {
            return Err(invalid("owner_name", "must be at most 256 bytes without control characters"));
        }
        parse_mac(&self.mac).ok_or_else(|| invalid("mac", "must read aa:bb:cc:dd:ee:ff"))?;
        if self.ltl < FIRST_VETH_LTL {
            return Err(invalid("ltl", "must be 49 or more (vEthernet LTLs start at 49)"));
        }
        Ok(())
    }

    fn record(&self, veth: u32) -> PortRecord {
        PortRecord {
            veth,
            iface_id: self.iface_id.clone(),
            module: self.module,
            host_id: self.host_id.clone(),
            profile: self.profile.clone(),
            adapter: self.adapter.clone(),
            container_ifname: self.container_ifname.clone(),
            // Validated: it parses.
            mac: parse_mac(&self.mac).map(format_mac).unwrap_or_default(),
            owner_name: self.owner_name.clone(),
            owner_uuid: self.owner_uuid.clone(),
            ltl: self.ltl,
            attached: true,
        }
    }
}

fn invalid(field: &'static str, reason: &str) -> BindError {
    BindError::Invalid { field, reason: reason.to_owned() }
}

fn check_word(field: &'static str, value: &str, may_be_empty: bool) -> Result<(), BindError> {
    if value.is_empty() && !may_be_empty {
        return Err(invalid(field, "must not be empty"));
    }
    if value.len() > MAX_FIELD_LEN {
        return Err(invalid(field, "is longer than 256 bytes"));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid(field, "must not contain spaces or control characters"));
    }
    Ok(())
}

/// `aa:bb:cc:dd:ee:ff` (either case) as bytes.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        let part = parts.next()?;
        if part.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

fn format_mac(mac: [u8; 6]) -> String {
    mac.map(|b| format!("{b:02x}")).join(":")
}

/// What a bind changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindPlan {
    /// The binding after the bind.
    pub record: PortRecord,
    /// `IF_ATTACHED`, when the binding changed (a repeated bind of an unchanged attached port,
    /// as an agent restoring its ports after a restart, writes and logs nothing).
    pub attached_event: Option<Event>,
}

/// Plans binding `request` given every binding (by iface-id) and the evaluated policy of the
/// requested profile (`None`: the profile does not exist; the port is bound and stays down).
pub fn plan_bind(
    bindings: &BTreeMap<String, PortRecord>,
    policy: Option<&EffectivePolicy>,
    request: &BindRequest,
) -> Result<BindPlan, BindError> {
    request.validate()?;
    if let Some(policy) = policy {
        if policy.kind != ProfileType::Vethernet {
            return Err(BindError::NotVethernet { profile: request.profile.clone() });
        }
        let attached = bindings
            .values()
            .filter(|other| {
                other.attached && other.profile == request.profile && other.iface_id != request.iface_id
            })
            .count();
        if attached >= usize::try_from(policy.max_ports).unwrap_or(usize::MAX) {
            return Err(BindError::MaxPorts {
                profile: request.profile.clone(),
                max_ports: policy.max_ports,
                attached,
            });
        }
    }
    let existing = bindings.get(&request.iface_id);
    let veth = existing.map_or_else(|| lowest_free(bindings), |old| old.veth);
    let record = request.record(veth);
    let attached_event = (existing != Some(&record)).then(|| {
        Event::interface_attached(veth, &record.adapter, record.owner(), record.port_index(), record.module)
    });
    Ok(BindPlan { record, attached_event })
}

/// The lowest vEthernet number no binding holds.
fn lowest_free(bindings: &BTreeMap<String, PortRecord>) -> u32 {
    let held: BTreeSet<u32> = bindings.values().map(|record| record.veth).collect();
    (1..).find(|n| !held.contains(n)).unwrap_or(u32::MAX)
}

/// What an unbind changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnbindPlan {
    /// Nothing to do: no binding, already detached, or attached on another module now (the port
    /// moved; the old host's late detach must not take it down). `kept` tells whether the
    /// iface-id still holds a number.
    Nothing { kept: bool },
    /// `port-binding static`: keep the number, mark the binding detached.
    Keep { record: PortRecord, event: Event },
    /// `port-binding dynamic|ephemeral`: delete the binding, freeing its number.
    Release { record: PortRecord, event: Event },
}

/// Plans unbinding `iface_id` from `module`; `binding` is the port-binding of the binding's
/// profile (`None` when the profile does not exist: the default, static, applies).
pub fn plan_unbind(
    bindings: &BTreeMap<String, PortRecord>,
    module: u32,
    iface_id: &str,
    binding: Option<PortBinding>,
) -> UnbindPlan {
    let Some(record) = bindings.get(iface_id) else { return UnbindPlan::Nothing { kept: false } };
    if !record.attached || record.module != module {
        return UnbindPlan::Nothing { kept: true };
    }
    let event = Event::interface_detached(record.veth);
    match binding.unwrap_or(config::defaults::PORT_BINDING) {
        PortBinding::Static => {
            UnbindPlan::Keep { record: PortRecord { attached: false, ..record.clone() }, event }
        }
        PortBinding::Dynamic | PortBinding::Ephemeral => {
            UnbindPlan::Release { record: record.clone(), event }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testing::access_policy;

    fn policy(max_ports: u32, port_binding: PortBinding) -> EffectivePolicy {
        EffectivePolicy { max_ports, port_binding, ..access_policy("web", 100) }
    }

    fn request(iface: &str) -> BindRequest {
        BindRequest {
            module: 3,
            host_id: "id-bilbo".into(),
            iface_id: iface.into(),
            profile: "web".into(),
            adapter: format!("veth{iface}"),
            container_ifname: "eth0".into(),
            mac: "02:AB:CD:00:01:01".into(),
            owner_uuid: "u-1".into(),
            owner_name: "web1".into(),
            ltl: 49,
        }
    }

    /// Binds and stores, as the shell would.
    fn bind(bindings: &mut BTreeMap<String, PortRecord>, request: &BindRequest) -> BindPlan {
        let plan = plan_bind(bindings, Some(&policy(32, PortBinding::Static)), request).unwrap();
        bindings.insert(plan.record.iface_id.clone(), plan.record.clone());
        plan
    }

    #[test]
    fn numbers_go_up_and_come_back() {
        let mut bindings = BTreeMap::new();
        let first = bind(&mut bindings, &request("a"));
        assert_eq!(first.record.veth, 1);
        assert_eq!(first.record.mac, "02:ab:cd:00:01:01", "stored in lower case");
        assert_eq!(
            first.attached_event.unwrap().text,
            "Interface Vethernet1 is attached to vetha of web1 on port 1 of module 3"
        );
        assert_eq!(bind(&mut bindings, &request("b")).record.veth, 2);

        let again = bind(&mut bindings, &request("a"));
        assert_eq!(again.record.veth, 1);
        assert_eq!(again.attached_event, None, "an unchanged rebind logs nothing");

        let moved = bind(&mut bindings, &BindRequest { module: 4, ltl: 50, ..request("a") });
        assert_eq!(moved.record.veth, 1, "the number follows the iface-id to another host");
        assert!(moved.attached_event.unwrap().text.ends_with("on port 2 of module 4"));
    }

    #[test]
    fn lowest_free_number_is_reused() {
        let mut bindings = BTreeMap::new();
        for iface in ["a", "b", "c"] {
            bind(&mut bindings, &request(iface));
        }
        bindings.remove("b");
        assert_eq!(bind(&mut bindings, &request("d")).record.veth, 2);
        assert_eq!(bind(&mut bindings, &request("e")).record.veth, 4);
    }

    #[test]
    fn max_ports_counts_attached_ports_of_the_profile() {
        let mut bindings = BTreeMap::new();
        let two = policy(2, PortBinding::Static);
        for iface in ["a", "b"] {
            let plan = plan_bind(&bindings, Some(&two), &request(iface)).unwrap();
            bindings.insert(iface.to_owned(), plan.record);
        }
        let refused = plan_bind(&bindings, Some(&two), &request("c")).unwrap_err();
        assert_eq!(refused, BindError::MaxPorts { profile: "web".into(), max_ports: 2, attached: 2 });
        assert_eq!(
            refused.to_string(),
            "port-profile web allows 2 ports (max-ports) and 2 are attached; the port was not bound"
        );
        assert!(plan_bind(&bindings, Some(&two), &request("a")).is_ok(), "a rebind takes no new place");
        bindings.get_mut("b").unwrap().attached = false;
        assert!(plan_bind(&bindings, Some(&two), &request("c")).is_ok(), "a kept binding takes no place");
        let other = BindRequest { profile: "db".into(), ..request("c") };
        assert!(plan_bind(&bindings, None, &other).is_ok(), "no profile, no limit");
    }

    #[test]
    fn ethernet_profiles_are_refused() {
        let uplink = EffectivePolicy { kind: ProfileType::Ethernet, ..policy(32, PortBinding::Static) };
        let error = plan_bind(&BTreeMap::new(), Some(&uplink), &request("a")).unwrap_err();
        assert!(matches!(error, BindError::NotVethernet { .. }));
    }

    #[test]
    fn requests_are_validated() {
        let bad = [
            BindRequest { iface_id: String::new(), ..request("a") },
            BindRequest { iface_id: "a/b".into(), ..request("a") },
            BindRequest { profile: "two words".into(), ..request("a") },
            BindRequest { adapter: String::new(), ..request("a") },
            BindRequest { mac: "02:ab:cd:00:01".into(), ..request("a") },
            BindRequest { mac: "02:ab:cd:00:01:zz".into(), ..request("a") },
            BindRequest { mac: "02:ab:cd:00:01:01:02".into(), ..request("a") },
            BindRequest { owner_name: "a\nb".into(), ..request("a") },
            BindRequest { ltl: 17, ..request("a") },
        ];
        for request in bad {
            assert!(matches!(request.validate(), Err(BindError::Invalid { .. })), "{request:?}");
        }
        let minimal = BindRequest {
            container_ifname: String::new(),
            owner_name: String::new(),
            owner_uuid: String::new(),
            ..request("a")
        };
        assert_eq!(minimal.validate(), Ok(()));
        assert_eq!(minimal.record(1).owner(), "-");
    }

    #[test]
    fn unbind_keeps_static_and_releases_dynamic() {
        let mut bindings = BTreeMap::new();
        bind(&mut bindings, &request("a"));
        match plan_unbind(&bindings, 3, "a", Some(PortBinding::Static)) {
            UnbindPlan::Keep { record, event } => {
                assert!(!record.attached);
                assert_eq!(record.veth, 1);
                assert_eq!(event.text, "Interface Vethernet1 is detached");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(plan_unbind(&bindings, 3, "a", None), UnbindPlan::Keep { .. }), "default static");
        assert!(matches!(
            plan_unbind(&bindings, 3, "a", Some(PortBinding::Dynamic)),
            UnbindPlan::Release { .. }
        ));
        assert!(matches!(
            plan_unbind(&bindings, 3, "a", Some(PortBinding::Ephemeral)),
            UnbindPlan::Release { .. }
        ));
        assert_eq!(plan_unbind(&bindings, 4, "a", None), UnbindPlan::Nothing { kept: true }, "moved away");
        assert_eq!(plan_unbind(&bindings, 3, "zz", None), UnbindPlan::Nothing { kept: false });
        bindings.get_mut("a").unwrap().attached = false;
        assert_eq!(plan_unbind(&bindings, 3, "a", None), UnbindPlan::Nothing { kept: true }, "twice");
    }
}
