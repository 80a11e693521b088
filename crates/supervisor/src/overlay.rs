//! The VXLAN overlay: which modules have attached ports in each bridge-domain, their VTEPs, and
//! the MACs of those ports — what each agent needs to replicate floods to just the VTEPs with
//! members and to send known MACs straight to their VTEP (unicast only, no multicast underlay).
//!
//! Pure, and a function of the store alone: the bindings (attached ports and their profiles),
//! the evaluated policies (which bridge-domain, which segment id) and the module records (VTEPs).
//! Nothing an agent reports goes in, so two supervisors sharing a store compute the same map,
//! and a restarted one the same as before.
//!
//! An agent's view ([`OverlayMap::view`]) holds the segments it has attached ports in, each with
//! the *other* members' VTEPs and MACs. A member module without a VTEP is listed by
//! `show bridge-domain` but cannot be reached, so it is in nobody's view. Nor is an offline
//! member: a VTEP that went away (or never was a real host) must stop receiving the domain's
//! floods and being sent its MACs' frames; it rejoins the views when it comes back online.
//! Liveness is the one input that is not in the store: the caller says which modules are offline.
//!
//! Recomputing keeps the `Arc` of every domain whose content did not change, so an agent stream
//! tells in a few pointer comparisons whether anything of its segments changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::Arc;

use config::EffectivePolicy;
use serde::Serialize;
use utoipa::ToSchema;

use crate::port_binding::PortRecord;

/// The bridge-domain (name, segment id) a policy puts its ports in.
pub fn bridge_domain_of(policy: &EffectivePolicy) -> Option<(String, u32)> {
    policy.bridge_domain.as_ref().map(|domain| (domain.name.clone(), domain.segment_id))
}

/// One attached port in a bridge-domain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct DomainPort {
    /// N of `VethernetN`.
    pub veth: u32,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
}

/// One module's part of a bridge-domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DomainMember {
    pub module: u32,
    /// The module's VTEP; absent when it registered none (it is then unreachable).
    #[schema(value_type = Option<String>, example = "10.78.0.11")]
    pub vtep: Option<Ipv4Addr>,
    /// False while the module is offline: then no other member is told of it.
    pub online: bool,
    /// Its attached ports in the bridge-domain, by vEthernet number.
    pub ports: Vec<DomainPort>,
}

/// A bridge-domain with members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Domain {
    pub name: String,
    pub segment_id: u32,
    /// By module number.
    pub members: Vec<DomainMember>,
}

impl Domain {
    /// The member VTEPs other than `module`'s (and other than its address), sorted, once each.
    fn remote_vteps(&self, module: u32, own: Option<Ipv4Addr>) -> BTreeSet<Ipv4Addr> {
        self.remote_members(module, own).map(|(vtep, _)| vtep).collect()
    }

    /// The reachable (online, with a VTEP) members other than `module`, with their VTEPs.
    fn remote_members(
        &self,
        module: u32,
        own: Option<Ipv4Addr>,
    ) -> impl Iterator<Item = (Ipv4Addr, &DomainMember)> {
        self.members
            .iter()
            .filter(move |member| member.module != module && member.online)
            .filter_map(|member| Some((member.vtep?, member)))
            .filter(move |(vtep, _)| Some(*vtep) != own)
    }

    fn segment(&self, module: u32, own: Option<Ipv4Addr>) -> proto::OverlaySegment {
        let mut macs: Vec<proto::RemoteMac> = self
            .remote_members(module, own)
            .flat_map(|(vtep, member)| {
                member.ports.iter().map(move |port| proto::RemoteMac {
                    mac: port.mac.clone(),
                    vtep: vtep.to_string(),
                    veth: port.veth,
                })
            })
            .collect();
        macs.sort_by(|a, b| (&a.mac, a.veth).cmp(&(&b.mac, b.veth)));
        proto::OverlaySegment {
            segment_id: self.segment_id,
            name: self.name.clone(),
            vteps: self.remote_vteps(module, own).iter().map(ToString::to_string).collect(),
            macs,
        }
    }
}

/// Every bridge-domain with attached ports, and each module's VTEP.
#[derive(Debug, Clone, Default)]
pub struct OverlayMap {
    /// By name.
    domains: BTreeMap<String, Arc<Domain>>,
    /// The domains each module has attached ports in, by segment id.
    by_module: HashMap<u32, Vec<Arc<Domain>>>,
    vteps: HashMap<u32, Ipv4Addr>,
}

impl OverlayMap {
    /// The map of `ports` (attached ones count), where `bridge_domain(profile)` gives the
    /// bridge-domain name and segment id of a profile's policy, `vteps` the modules' VTEPs and
    /// `offline` the modules that are not members of anyone's view now. Domains equal to one of
    /// `previous` keep its `Arc`.
    pub fn compute<'a>(
        previous: &Self,
        ports: impl IntoIterator<Item = &'a PortRecord>,
        bridge_domain: impl Fn(&str) -> Option<(String, u32)>,
        vteps: &HashMap<u32, Ipv4Addr>,
        offline: &BTreeSet<u32>,
    ) -> Self {
        let mut building: BTreeMap<String, (u32, BTreeMap<u32, Vec<DomainPort>>)> = BTreeMap::new();
        let mut profiles: HashMap<&str, Option<(String, u32)>> = HashMap::new();
        for port in ports.into_iter().filter(|port| port.attached) {
            let domain = profiles.entry(&port.profile).or_insert_with(|| bridge_domain(&port.profile));
            let Some((name, segment_id)) = domain else { continue };
            let (_, members) = building.entry(name.clone()).or_insert_with(|| (*segment_id, BTreeMap::new()));
            members
                .entry(port.module)
                .or_default()
                .push(DomainPort { veth: port.veth, mac: port.mac.clone() });
        }
        let mut map = Self { vteps: vteps.clone(), ..Self::default() };
        for (name, (segment_id, members)) in building {
            let members = members
                .into_iter()
                .map(|(module, mut ports)| {
                    ports.sort();
                    let online = !offline.contains(&module);
                    DomainMember { module, vtep: vteps.get(&module).copied(), online, ports }
                })
                .collect();
            let domain = Domain { name: name.clone(), segment_id, members };
            let domain = match previous.domains.get(&name) {
                Some(old) if **old == domain => Arc::clone(old),
                _ => Arc::new(domain),
            };
            for member in &domain.members {
                map.by_module.entry(member.module).or_default().push(Arc::clone(&domain));
            }
            map.domains.insert(name, domain);
        }
        for domains in map.by_module.values_mut() {
            domains.sort_by_key(|domain| domain.segment_id);
        }
        map
    }

    /// Whether the two maps differ in any domain or VTEP (pointer-cheap for domains kept).
    pub fn differs(&self, other: &Self) -> bool {
        self.vteps != other.vteps
            || self.domains.len() != other.domains.len()
            || self.domains.iter().zip(&other.domains).any(|((a, x), (b, y))| a != b || !Arc::ptr_eq(x, y))
    }

    /// The bridge-domains with attached ports, by name.
    pub fn domains(&self) -> impl Iterator<Item = &Arc<Domain>> {
        self.domains.values()
    }

    /// One bridge-domain, if it has attached ports.
    pub fn domain(&self, name: &str) -> Option<&Arc<Domain>> {
        self.domains.get(name)
    }

    /// The domains `module` has attached ports in, by segment id.
    pub fn segments_of(&self, module: u32) -> &[Arc<Domain>] {
        self.by_module.get(&module).map_or(&[], Vec::as_slice)
    }

    /// A module's VTEP.
    pub fn vtep(&self, module: u32) -> Option<Ipv4Addr> {
        self.vteps.get(&module).copied()
    }

    /// What `module`'s agent is told: its segments, each with the other members' VTEPs and
    /// MACs.
    pub fn view(&self, module: u32) -> proto::OverlayUpdate {
        let own = self.vtep(module);
        proto::OverlayUpdate {
            segments: self.segments_of(module).iter().map(|domain| domain.segment(module, own)).collect(),
        }
    }
}

/// What one agent stream last sent, to tell cheaply whether a new map changes its view.
#[derive(Debug, Clone, Default)]
pub struct SentView {
    domains: Vec<Arc<Domain>>,
    own: Option<Ipv4Addr>,
    view: proto::OverlayUpdate,
}

impl SentView {
    /// The update `module`'s stream must send for `map`, if its view changed since the last one;
    /// remembers it as sent. Costs a few pointer comparisons when none of the module's domains
    /// changed, however large the map.
    pub fn next(&mut self, map: &OverlayMap, module: u32) -> Option<proto::OverlayUpdate> {
        let domains = map.segments_of(module);
        let own = map.vtep(module);
        let same_domains = domains.len() == self.domains.len()
            && domains.iter().zip(&self.domains).all(|(a, b)| Arc::ptr_eq(a, b));
        // Other modules' VTEPs live in the domains; only the module's own address is apart.
        if same_domains && own == self.own {
            return None;
        }
        self.domains = domains.to_vec();
        self.own = own;
        let view = map.view(module);
        if view == self.view {
            return None;
        }
        self.view = view.clone();
        Some(view)
    }

    /// The first message of a stream: the whole view, whatever it is.
    pub fn first(map: &OverlayMap, module: u32) -> (Self, proto::OverlayUpdate) {
        let view = map.view(module);
        let sent =
            Self { domains: map.segments_of(module).to_vec(), own: map.vtep(module), view: view.clone() };
        (sent, view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::attached_port;

    fn port(iface: &str, module: u32, profile: &str, veth: u32, mac: &str) -> PortRecord {
        PortRecord { veth, mac: mac.into(), ..attached_port(iface, module, profile) }
    }

    /// Profiles `red*` are in bridge-domain red (5000), `blue*` in blue (5001), others in VLANs.
    fn bridge_domain(profile: &str) -> Option<(String, u32)> {
        if profile.starts_with("red") {
            Some(("red".into(), 5000))
        } else if profile.starts_with("blue") {
            Some(("blue".into(), 5001))
        } else {
            None
        }
    }

    fn vteps(pairs: &[(u32, [u8; 4])]) -> HashMap<u32, Ipv4Addr> {
        pairs.iter().map(|&(module, octets)| (module, Ipv4Addr::from(octets))).collect()
    }

    /// Segment id, VTEPs, (MAC, VTEP, veth) of each segment.
    type Segments = Vec<(u32, Vec<String>, Vec<(String, String, u32)>)>;

    fn segments(update: &proto::OverlayUpdate) -> Segments {
        update
            .segments
            .iter()
            .map(|segment| {
                let macs = segment.macs.iter().map(|m| (m.mac.clone(), m.vtep.clone(), m.veth)).collect();
                (segment.segment_id, segment.vteps.clone(), macs)
            })
            .collect()
    }

    #[test]
    fn each_module_sees_the_other_members() {
        let ports = [
            port("a", 3, "red", 1, "02:00:00:00:00:01"),
            port("b", 4, "red-web", 2, "02:00:00:00:00:02"),
            port("c", 4, "blue", 3, "02:00:00:00:00:03"),
            port("d", 5, "red", 4, "02:00:00:00:00:04"),
            port("e", 5, "vlan100", 5, "02:00:00:00:00:05"),
            PortRecord { attached: false, ..port("f", 6, "red", 6, "02:00:00:00:00:06") },
        ];
        let vteps = vteps(&[(3, [10, 78, 0, 11]), (4, [10, 78, 0, 12])]);
        let map =
            OverlayMap::compute(&OverlayMap::default(), &ports, bridge_domain, &vteps, &BTreeSet::new());

        assert_eq!(
            segments(&map.view(3)),
            [(
                5000,
                vec!["10.78.0.12".to_owned()],
                vec![("02:00:00:00:00:02".into(), "10.78.0.12".into(), 2)]
            )],
            "module 5 has no VTEP: unreachable, not listed"
        );
        let four = segments(&map.view(4));
        assert_eq!(four.len(), 2);
        assert_eq!(four[0].0, 5000);
        assert_eq!(four[0].1, ["10.78.0.11"]);
        assert_eq!((four[1].0, four[1].1.len(), four[1].2.len()), (5001, 0, 0), "alone in blue");
        assert_eq!(segments(&map.view(5))[0].1, ["10.78.0.11", "10.78.0.12"], "sorted");
        assert!(map.view(6).segments.is_empty(), "a detached port is in no domain");
        assert!(map.view(7).segments.is_empty());

        let red = map.domain("red").map(|d| d.members.iter().map(|m| m.module).collect::<Vec<_>>());
        assert_eq!(red, Some(vec![3, 4, 5]));
        assert!(map.domain("green").is_none());
    }

    #[test]
    fn streams_send_only_when_their_view_changes() {
        let vteps = vteps(&[(3, [10, 0, 0, 3]), (4, [10, 0, 0, 4]), (5, [10, 0, 0, 5])]);
        let mut ports = vec![
            port("a", 3, "red", 1, "02:00:00:00:00:01"),
            port("b", 4, "red", 2, "02:00:00:00:00:02"),
            port("c", 5, "blue", 3, "02:00:00:00:00:03"),
        ];
        let map =
            OverlayMap::compute(&OverlayMap::default(), &ports, bridge_domain, &vteps, &BTreeSet::new());
        let (mut three, first) = SentView::first(&map, 3);
        assert_eq!(segments(&first)[0].1, ["10.0.0.4"]);
        let (mut five, _) = SentView::first(&map, 5);

        // A blue port on module 4: red is untouched, module 3 hears nothing.
        ports.push(port("d", 4, "blue", 4, "02:00:00:00:00:04"));
        let next = OverlayMap::compute(&map, &ports, bridge_domain, &vteps, &BTreeSet::new());
        assert!(next.differs(&map));
        assert!(Arc::ptr_eq(&next.segments_of(3)[0], &map.segments_of(3)[0]), "red kept its Arc");
        assert_eq!(three.next(&next, 3), None);
        let update = five.next(&next, 5).map(|u| segments(&u));
        assert_eq!(
            update,
            Some(vec![(
                5001,
                vec!["10.0.0.4".to_owned()],
                vec![("02:00:00:00:00:04".into(), "10.0.0.4".into(), 4)]
            )])
        );
        assert_eq!(five.next(&next, 5), None, "sent once");

        // A second red port on module 3 changes red, but not what module 3 is told.
        ports.push(port("e", 3, "red", 5, "02:00:00:00:00:05"));
        let again = OverlayMap::compute(&next, &ports, bridge_domain, &vteps, &BTreeSet::new());
        assert_eq!(three.next(&again, 3), None, "its own ports are not in its view");

        // Module 4's VTEP moves: module 3's view changes.
        let moved =
            vteps.iter().map(|(&m, &v)| (m, if m == 4 { Ipv4Addr::new(10, 0, 0, 44) } else { v })).collect();
        let last = OverlayMap::compute(&again, &ports, bridge_domain, &moved, &BTreeSet::new());
        assert!(last.differs(&again));
        assert_eq!(
            three.next(&last, 3).map(|u| segments(&u)[0].1.clone()),
            Some(vec!["10.0.0.44".to_owned()])
        );
        assert!(
            !OverlayMap::compute(&last, &ports, bridge_domain, &moved, &BTreeSet::new()).differs(&last),
            "recomputed alike"
        );
    }

    #[test]
    fn offline_members_are_in_nobody_s_view() {
        let vteps = vteps(&[(3, [10, 0, 0, 3]), (4, [10, 0, 0, 4])]);
        let ports =
            [port("a", 3, "red", 1, "02:00:00:00:00:01"), port("b", 4, "red", 2, "02:00:00:00:00:02")];
        let online =
            OverlayMap::compute(&OverlayMap::default(), &ports, bridge_domain, &vteps, &BTreeSet::new());
        let (mut three, first) = SentView::first(&online, 3);
        assert_eq!(segments(&first)[0].1, ["10.0.0.4"]);

        let gone = OverlayMap::compute(&online, &ports, bridge_domain, &vteps, &BTreeSet::from([4]));
        assert!(gone.differs(&online));
        assert_eq!(three.next(&gone, 3).map(|u| segments(&u)), Some(vec![(5000, vec![], vec![])]));
        let red = gone.domain("red").map(|d| d.members.iter().map(|m| (m.module, m.online)).collect());
        assert_eq!(red, Some(vec![(3, true), (4, false)]), "still listed, as offline");

        let back = OverlayMap::compute(&gone, &ports, bridge_domain, &vteps, &BTreeSet::new());
        assert_eq!(
            three.next(&back, 3).map(|u| segments(&u)[0].1.clone()),
            Some(vec!["10.0.0.4".to_owned()])
        );
    }
}
