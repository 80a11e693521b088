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

use crate::agent_input::{self, InputError, PORTS_PER_MODULE_MAX};
use crate::events::Event;
use crate::segment::Segments;

/// vEthernet LTLs start here on every agent (17–48 are uplinks).
pub const FIRST_VETH_LTL: u32 = 49;

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
    #[error(transparent)]
    Invalid(#[from] InputError),
    /// Another module holds the port: only its agent's detach or an operator moves it.
    #[error(
        "iface-id {iface_id} is attached on module {module}; it moves only when module {module} \
         detaches it or an operator removes the module (no module {module})"
    )]
    AttachedElsewhere { iface_id: String, module: u32 },
    /// Another attached port in an overlapping segment has the MAC.
    #[error(
        "invalid mac: {mac} is already Vethernet{veth}'s (module {module}, {segments}); a port's MAC \
         must be unique in its segment"
    )]
    MacInUse { mac: String, veth: u32, module: u32, segments: String },
    #[error(
        "module {module} has {max} vEthernets attached, the most one module may hold; the port \
         was not bound"
    )]
    ModuleFull { module: u32, max: u32 },
    #[error(
        "port-profile {profile} allows {max_ports} ports (max-ports) and {attached} are attached; \
         the port was not bound"
    )]
    MaxPorts { profile: String, max_ports: u32, attached: usize },
    #[error("port-profile {profile} is of type ethernet (uplinks); a vEthernet needs a vethernet profile")]
    NotVethernet { profile: String },
}

impl BindRequest {
    /// Refuses what cannot be a key, shown to an operator, or programmed (see
    /// [`agent_input::check_bind`]).
    pub fn validate(&self) -> Result<(), BindError> {
        Ok(agent_input::check_bind(self)?)
    }

    /// The MAC in its stored form (lower case). Call after [`Self::validate`].
    fn mac(&self) -> String {
        agent_input::parse_mac(&self.mac).map(agent_input::format_mac).unwrap_or_default()
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
            mac: self.mac(),
            owner_name: self.owner_name.clone(),
            owner_uuid: self.owner_uuid.clone(),
            ltl: self.ltl,
            attached: true,
        }
    }
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

/// Plans binding `request` given every binding (by iface-id), the evaluated policy of the
/// requested profile (`None`: the profile does not exist; the port is bound and stays down), and
/// the segments of any profile's ports (`None`: no such profile).
///
/// Refused, with nothing changed: a request that breaks [`agent_input`]'s rules; an iface-id
/// attached on another module (a port moves between modules only by its own agent's detach or an
/// operator's `no module`, never by another module's claim — even when the owner is offline, as
/// NX-OS keeps an offline VEM's ports); an ethernet profile; a full profile (`max-ports`) or
/// module ([`PORTS_PER_MODULE_MAX`]); a MAC another attached port has in an overlapping segment.
/// A binding kept detached (`port-binding static`) may be bound on any module: the container
/// moved hosts.
pub fn plan_bind(
    bindings: &BTreeMap<String, PortRecord>,
    policy: Option<&EffectivePolicy>,
    request: &BindRequest,
    segments_of: impl Fn(&str) -> Option<Segments>,
) -> Result<BindPlan, BindError> {
    request.validate()?;
    let existing = bindings.get(&request.iface_id);
    if let Some(owner) = existing.filter(|old| old.attached && old.module != request.module) {
        return Err(BindError::AttachedElsewhere {
            iface_id: request.iface_id.clone(),
            module: owner.module,
        });
    }
    let others = || bindings.values().filter(|other| other.attached && other.iface_id != request.iface_id);
    if let Some(policy) = policy {
        if policy.kind != ProfileType::Vethernet {
            return Err(BindError::NotVethernet { profile: request.profile.clone() });
        }
        let attached = others().filter(|other| other.profile == request.profile).count();
        if attached >= usize::try_from(policy.max_ports).unwrap_or(usize::MAX) {
            return Err(BindError::MaxPorts {
                profile: request.profile.clone(),
                max_ports: policy.max_ports,
                attached,
            });
        }
    }
    let on_module = others().filter(|other| other.module == request.module).count();
    if on_module >= PORTS_PER_MODULE_MAX as usize {
        return Err(BindError::ModuleFull { module: request.module, max: PORTS_PER_MODULE_MAX });
    }
    let mac = request.mac();
    if let Some(segments) = policy.map(Segments::of) {
        let clash = others()
            .filter(|other| other.mac == mac)
            .find(|other| segments_of(&other.profile).is_some_and(|theirs| theirs.overlaps(&segments)));
        if let Some(other) = clash {
            return Err(BindError::MacInUse {
                mac,
                veth: other.veth,
                module: other.module,
                segments: segments.describe(),
            });
        }
    }
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
            // One MAC per iface-id, written in upper case: stored in lower case.
            mac: format!("02:AB:CD:00:01:{:02X}", iface.bytes().last().unwrap_or(0)),
            owner_uuid: "u-1".into(),
            owner_name: "web1".into(),
            ltl: 49,
        }
    }

    /// Every profile's ports are in VLAN 100.
    fn vlan100(_profile: &str) -> Option<Segments> {
        Some(Segments::of(&access_policy("any", 100)))
    }

    /// Binds and stores, as the shell would.
    fn bind(bindings: &mut BTreeMap<String, PortRecord>, request: &BindRequest) -> BindPlan {
        let plan = plan_bind(bindings, Some(&policy(32, PortBinding::Static)), request, vlan100).unwrap();
        bindings.insert(plan.record.iface_id.clone(), plan.record.clone());
        plan
    }

    #[test]
    fn numbers_go_up_and_come_back() {
        let mut bindings = BTreeMap::new();
        let first = bind(&mut bindings, &request("a"));
        assert_eq!(first.record.veth, 1);
        assert_eq!(first.record.mac, "02:ab:cd:00:01:61", "stored in lower case");
        assert_eq!(
            first.attached_event.unwrap().text,
            "Interface Vethernet1 is attached to vetha of web1 on port 1 of module 3"
        );
        assert_eq!(bind(&mut bindings, &request("b")).record.veth, 2);

        let again = bind(&mut bindings, &request("a"));
        assert_eq!(again.record.veth, 1);
        assert_eq!(again.attached_event, None, "an unchanged rebind logs nothing");

        // Detached (a static binding is kept), it may come back on another host.
        bindings.get_mut("a").unwrap().attached = false;
        let moved = bind(&mut bindings, &BindRequest { module: 4, ltl: 50, ..request("a") });
        assert_eq!(moved.record.veth, 1, "the number follows the iface-id to another host");
        assert!(moved.attached_event.unwrap().text.ends_with("on port 2 of module 4"));
    }

    #[test]
    fn another_module_cannot_take_an_attached_port() {
        let mut bindings = BTreeMap::new();
        bind(&mut bindings, &request("a"));
        let web = policy(32, PortBinding::Static);
        let claim = BindRequest { module: 4, host_id: "id-frodo".into(), ..request("a") };
        let refused = plan_bind(&bindings, Some(&web), &claim, vlan100).unwrap_err();
        assert_eq!(refused, BindError::AttachedElsewhere { iface_id: "a".into(), module: 3 });
        assert_eq!(
            refused.to_string(),
            "iface-id a is attached on module 3; it moves only when module 3 detaches it or an \
             operator removes the module (no module 3)"
        );
        assert!(plan_bind(&bindings, None, &claim, vlan100).is_err(), "with or without a profile");
        // The owner may change its own port.
        let own = BindRequest { owner_name: "renamed".into(), ..request("a") };
        assert!(plan_bind(&bindings, Some(&web), &own, vlan100).unwrap().attached_event.is_some());
    }

    #[test]
    fn a_mac_is_unique_in_its_segment() {
        let mut bindings = BTreeMap::new();
        bind(&mut bindings, &request("a"));
        let web = policy(32, PortBinding::Static);
        let copy = BindRequest { mac: request("a").mac.to_lowercase(), ..request("b") };
        let refused = plan_bind(&bindings, Some(&web), &copy, vlan100).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "invalid mac: 02:ab:cd:00:01:61 is already Vethernet1's (module 3, VLAN 100); a port's \
             MAC must be unique in its segment"
        );
        let elsewhere = |_: &str| Some(Segments::of(&access_policy("other", 200)));
        assert!(plan_bind(&bindings, Some(&web), &copy, elsewhere).is_ok(), "another VLAN: fine");
        assert!(plan_bind(&bindings, None, &copy, vlan100).is_ok(), "no profile yet: no segment");
        bindings.get_mut("a").unwrap().attached = false;
        assert!(plan_bind(&bindings, Some(&web), &copy, vlan100).is_ok(), "a detached port holds no MAC");
    }

    #[test]
    fn a_module_holds_a_bounded_number_of_ports() {
        let mut bindings = BTreeMap::new();
        for n in 0..PORTS_PER_MODULE_MAX {
            let record = PortRecord {
                veth: n + 1,
                iface_id: format!("p{n}"),
                mac: format!("02:00:00:00:{:02x}:{:02x}", n >> 8, n & 0xff),
                ..request("x").record(0)
            };
            bindings.insert(record.iface_id.clone(), record);
        }
        let refused = plan_bind(&bindings, None, &request("new"), vlan100).unwrap_err();
        assert_eq!(refused, BindError::ModuleFull { module: 3, max: PORTS_PER_MODULE_MAX });
        let elsewhere = BindRequest { module: 4, ..request("new") };
        assert!(plan_bind(&bindings, None, &elsewhere, vlan100).is_ok());
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
            let plan = plan_bind(&bindings, Some(&two), &request(iface), vlan100).unwrap();
            bindings.insert(iface.to_owned(), plan.record);
        }
        let refused = plan_bind(&bindings, Some(&two), &request("c"), vlan100).unwrap_err();
        assert_eq!(refused, BindError::MaxPorts { profile: "web".into(), max_ports: 2, attached: 2 });
        assert_eq!(
            refused.to_string(),
            "port-profile web allows 2 ports (max-ports) and 2 are attached; the port was not bound"
        );
        assert!(
            plan_bind(&bindings, Some(&two), &request("a"), vlan100).is_ok(),
            "a rebind takes no new place"
        );
        bindings.get_mut("b").unwrap().attached = false;
        assert!(
            plan_bind(&bindings, Some(&two), &request("c"), vlan100).is_ok(),
            "a kept binding takes no place"
        );
        let other = BindRequest { profile: "db".into(), ..request("c") };
        assert!(plan_bind(&bindings, None, &other, vlan100).is_ok(), "no profile, no limit");
    }

    #[test]
    fn ethernet_profiles_are_refused() {
        let uplink = EffectivePolicy { kind: ProfileType::Ethernet, ..policy(32, PortBinding::Static) };
        let error = plan_bind(&BTreeMap::new(), Some(&uplink), &request("a"), vlan100).unwrap_err();
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
