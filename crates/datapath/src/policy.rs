//! Access lists and connection tracking in the pipeline, around the flow table.
//!
//! A frame needs the flow table only if it is IP and its ingress port, or a port it may leave
//! by, has a list of its family or flow accounting; every other frame (and every frame of a
//! snapshot without any policy) takes the path it took before, at the same cost.
//!
//! Input (after the segment and destination are known, before MAC learning): the ingress
//! port's list, cached in the flow's entry. Output (per egress port): the port's output list,
//! cached per (flow, egress port) in [`OUT_WAYS`](crate::flow_table) inline ways of the entry.
//! Each check, in order: a connection this direction started passes (it outlives the rule that
//! created it); else the list decides, first match wins; a stateful permit starts a
//! connection; a packet the list denies still passes if it is a reply of a connection the
//! opposite list of the same port admitted. Verdicts are cached for one configuration
//! generation: [`crate::Datapath::set_config`] starts a new one, so a changed list takes
//! effect on the next frame of every flow.
//!
//! Drops: `acl_in` on the ingress port, `acl_out` on the egress port (other copies of a flood
//! still go), `conntrack_full` on the port whose list's stateful permit found no room.
//!
//! Hit counters: every packet a rule decides counts for that rule, cached verdicts included
//! (NX-OS's `[match=N]`); the implicit deny counts too. Counters belong to a list's content:
//! a snapshot that keeps a list unchanged (same name, family and rules) keeps its counters,
//! and a changed list starts from zero.

use std::sync::Arc;

use crate::acl::{Acl, AclHits, Family, Hit};
use crate::conntrack::{Conn, ConnDirection};
use crate::flow_table::{Cached, FlowKey, FlowTable, MONITOR_INPUT, MONITOR_OUTPUT, Role};
use crate::forward::{Destination, Forwarding, Observer};
use crate::packet::Packet;
use crate::port::PortConfig;
use crate::snapshot::{PortIndex, Snapshot};
use crate::{ConfigError, DropReason, Segment};

macro_rules! note {
    ($observer:expr, $($arg:tt)*) => {
        if $observer.enabled() {
            $observer.note(format_args!($($arg)*));
        }
    };
}

/// Flow table entries looked at per batch for expiry, at least; and as many more per entry
/// created since the last sweep: at a high rate of new connections a fixed budget falls
/// behind, and the table fills with expired entries (more memory touched, then full).
const SWEEP_BUDGET: usize = 64;
const SWEEP_PER_CREATED: usize = 2;

/// One port's policy, by list index in [`Policies::lists`]; `[v4, v6]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PortPolicy {
    pub acl_in: [Option<u16>; 2],
    pub acl_out: [Option<u16>; 2],
    pub account_in: bool,
    pub account_out: bool,
}

impl PortPolicy {
    #[inline]
    fn needs_out(&self, family: usize) -> bool {
        self.acl_out[family].is_some() || self.account_out
    }
}

/// The snapshot's policy: every distinct list once, and each port's.
#[derive(Debug, Clone, Default)]
pub(crate) struct Policies {
    pub lists: Vec<Arc<Acl>>,
    ports: Vec<PortPolicy>,
    /// Some port has a list or flow accounting.
    pub active: bool,
}

impl Policies {
    /// The lists and policies of `ports` (in snapshot order).
    pub fn derive(ports: &[PortConfig]) -> Result<Self, ConfigError> {
        let mut lists: Vec<Arc<Acl>> = Vec::new();
        let mut id = |acl: &Option<Arc<Acl>>| -> Result<Option<u16>, ConfigError> {
            let Some(acl) = acl else { return Ok(None) };
            let index = match lists.iter().position(|known| **known == **acl) {
                Some(index) => index,
                None => {
                    lists.push(acl.clone());
                    lists.len() - 1
                }
            };
            u16::try_from(index).map(Some).map_err(|_| ConfigError::TooManyAccessLists(lists.len()))
        };
        let mut policies = Vec::with_capacity(ports.len());
        for port in ports {
            policies.push(PortPolicy {
                acl_in: [id(&port.acl_in.v4)?, id(&port.acl_in.v6)?],
                acl_out: [id(&port.acl_out.v4)?, id(&port.acl_out.v6)?],
                account_in: port.flow_accounting_in,
                account_out: port.flow_accounting_out,
            });
        }
        let active = policies.iter().any(|policy| *policy != PortPolicy::default());
        Ok(Self { lists, ports: policies, active })
    }

    /// A port's policy (none for the tunnel).
    #[inline]
    pub fn port(&self, index: PortIndex) -> PortPolicy {
        self.ports.get(usize::from(index)).copied().unwrap_or_default()
    }
}

/// Events of the flow table, switch-wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowTableCounters {
    /// Entries in use.
    pub entries: u64,
    /// Entries it holds at most (`Settings::flow_table_size`).
    pub capacity: u64,
    /// Entries created.
    pub created: u64,
    /// Entries removed by expiry (or after export).
    pub expired: u64,
    /// Frames of flows that found the table full and were checked without it (still
    /// forwarded, unless a stateful permit needed an entry: then `conntrack_full` drops).
    pub table_full: u64,
}

/// The datapath's policy state: flow table, configuration generation, hit counters.
#[derive(Debug)]
pub(crate) struct PolicyState {
    pub flows: FlowTable,
    pub generation: u32,
    /// Parallel to the snapshot's lists: one counter per rule, then the implicit deny.
    pub hits: Vec<Box<[u64]>>,
    pub counters: FlowTableCounters,
    /// `counters.created` at the last sweep.
    created_at_sweep: u64,
}

/// A frame on its way through the policy: what the output checks need.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pass {
    packet: Packet,
    segment: Segment,
    entry: Option<u32>,
    egresses: u32,
    last_egress: u32,
    /// The last list evaluated for this very packet and its verdict: the same list on the
    /// next port (a flood, or a profile's list in and out) decides the same.
    evaluated: Evaluated,
}

/// A list (by index) and its verdict on the frame at hand.
type Evaluated = Option<(u16, Hit)>;

/// `acl`'s verdict on `packet`, from `evaluated` if it holds the same `list`'s.
#[inline]
fn evaluate(acl: &Acl, list: u16, packet: &Packet, evaluated: &mut Evaluated) -> Hit {
    match *evaluated {
        Some((known, hit)) if known == list => hit,
        _ => {
            let hit = acl.evaluate(packet);
            *evaluated = Some((list, hit));
            hit
        }
    }
}

const FAMILY_V4: usize = 0;
const FAMILY_V6: usize = 1;

fn family_index(packet: &Packet) -> usize {
    if packet.v6 { FAMILY_V6 } else { FAMILY_V4 }
}

/// The IP packet of a forwarded frame.
#[inline]
fn packet_of(received: &[u8], forwarding: &Forwarding) -> Option<Packet> {
    let at = usize::from(forwarding.frame_start) + usize::from(forwarding.body_offset);
    Packet::parse(received.get(at..)?)
}

/// Whether any port the frame may leave by has an output list of `family` or accounting.
#[inline]
fn destination_needs(config: &Snapshot, forwarding: &Forwarding, family: usize) -> bool {
    let policy = config.policy();
    match forwarding.destination {
        Destination::Port(port) => policy.port(port).needs_out(family),
        Destination::Flood(_) => {
            config.flood_list(forwarding.segment).iter().any(|&port| policy.port(port).needs_out(family))
        }
        Destination::Remote(_) | Destination::Discard(_) => false,
    }
}

impl PolicyState {
    pub fn new(capacity: usize, hash_seed: u64) -> Self {
        Self {
            flows: FlowTable::new(capacity, hash_seed),
            generation: 0,
            hits: Vec::new(),
            counters: FlowTableCounters::default(),
            created_at_sweep: 0,
        }
    }

    /// Moves to `next`'s lists: a new generation (cached verdicts go stale), hit counters kept
    /// for lists `previous` had unchanged, the table allocated if `next` needs it.
    pub fn install(&mut self, previous: &Snapshot, next: &Snapshot) {
        self.generation = self.generation.wrapping_add(1);
        let mut old: Vec<(Arc<Acl>, Box<[u64]>)> =
            previous.policy().lists.iter().cloned().zip(std::mem::take(&mut self.hits)).collect();
        self.hits = next
            .policy()
            .lists
            .iter()
            .map(|acl| match old.iter().position(|(known, _)| **known == **acl) {
                Some(index) => old.swap_remove(index).1,
                None => vec![0; acl.rules().len() + 1].into_boxed_slice(),
            })
            .collect();
        if next.policy().active {
            self.flows.reserve();
        }
    }

    /// Removes some expired entries; called once per batch.
    #[inline]
    pub fn sweep(&mut self, now: u64) {
        let created = self.counters.created.wrapping_sub(self.created_at_sweep);
        self.created_at_sweep = self.counters.created;
        if self.flows.len() > 0 {
            let extra = usize::try_from(created).unwrap_or(usize::MAX).saturating_mul(SWEEP_PER_CREATED);
            self.counters.expired += self.flows.sweep(now, SWEEP_BUDGET.saturating_add(extra)) as u64;
        }
    }

    #[inline]
    fn count_hit(&mut self, list: u16, hit: Hit) {
        if let Some(counters) = self.hits.get_mut(usize::from(list)) {
            let slot = hit.counter(counters.len() - 1);
            counters[slot] = counters[slot].wrapping_add(1);
        }
    }

    /// The input side of a frame accepted into its segment: `Ok(None)` if no policy concerns
    /// it, `Ok(Some(pass))` to carry to the output checks, `Err` to drop it.
    #[inline]
    pub fn ingress(
        &mut self,
        config: &Snapshot,
        received: &[u8],
        forwarding: &Forwarding,
        now: u64,
    ) -> Result<Option<Pass>, DropReason> {
        let Some(packet) = packet_of(received, forwarding) else { return Ok(None) };
        let family = family_index(&packet);
        let here = config.policy().port(forwarding.ingress);
        let list = here.acl_in[family];
        if list.is_none() && !here.account_in && !destination_needs(config, forwarding, family) {
            return Ok(None);
        }
        let key = FlowKey::new(config.id_of(forwarding.ingress).0, forwarding.segment, &packet, Role::Flow);
        let entry = match self.flows.find_or_insert(&key, now) {
            Some((id, new)) => {
                self.counters.created += u64::from(new);
                self.flows.get_mut(id).refresh_generation(self.generation);
                Some(id)
            }
            None => {
                self.counters.table_full += 1;
                None
            }
        };
        let evaluated = match list {
            Some(list) => self.check_in(config, list, &packet, &key, entry, now)?,
            None => None,
        };
        if let Some(id) = entry {
            let entry = self.flows.get_mut(id);
            entry.packets += 1;
            entry.delta_packets += 1;
            entry.bytes += u64::from(packet.ip_len);
            entry.delta_bytes += u64::from(packet.ip_len);
            entry.tcp_flags |= packet.tcp_flags;
            entry.tos = packet.tos;
            if here.account_in {
                entry.monitor |= MONITOR_INPUT;
            }
            self.flows.touch(id, now);
        }
        Ok(Some(Pass { packet, segment: forwarding.segment, entry, egresses: 0, last_egress: 0, evaluated }))
    }

    /// The ingress port's input list; `Ok` carries its verdict if the list was evaluated for
    /// this packet (not taken from the flow's cache), for [`Pass::evaluated`].
    fn check_in(
        &mut self,
        config: &Snapshot,
        list: u16,
        packet: &Packet,
        key: &FlowKey,
        entry: Option<u32>,
        now: u64,
    ) -> Result<Evaluated, DropReason> {
        let acl = &config.policy().lists[usize::from(list)];
        let mut cached = None;
        let mut evaluated = None;
        if let Some(id) = entry {
            let flow = self.flows.get_mut(id);
            cached = flow.verdict_in;
            // A connection this direction started passes, whatever the list says now.
            if let Some(conn) =
                flow.conn.as_mut().filter(|conn| conn.alive(now) && conn.direction == ConnDirection::In)
            {
                conn.update(packet.tcp_flags, false, now);
                if let Some(cached) = cached.filter(|cached| acl.permits(cached.hit)) {
                    self.count_hit(cached.list, cached.hit);
                }
                return Ok(evaluated);
            }
        }
        let (hit, link) = match cached {
            Some(cached) => (cached.hit, cached.link),
            None => (evaluate(acl, list, packet, &mut evaluated), None),
        };
        self.count_hit(list, hit);
        let cache = |flows: &mut FlowTable, link| {
            if let Some(id) = entry {
                let verdict = Some(Cached { list, hit, link });
                let flow = flows.get_mut(id);
                if flow.verdict_in != verdict {
                    flow.verdict_in = verdict;
                }
            }
        };
        if acl.permits(hit) {
            if acl.rule(hit).is_some_and(|rule| rule.is_stateful_permit()) && packet.trackable() {
                let Some(id) = entry else { return Err(DropReason::ConntrackFull) };
                let flow = self.flows.get_mut(id);
                flow.conn = Some(Conn::new(packet.protocol, packet.tcp_flags, ConnDirection::In, now));
            }
            cache(&mut self.flows, None);
            return Ok(evaluated);
        }
        // Denied: a reply of a connection this port's output list admitted?
        let original = key.reversed(key.port, Role::OutConnection);
        if let Some(id) = self.live_conn(link, &original, ConnDirection::Out, now) {
            self.reply(id, packet, now);
            cache(&mut self.flows, Some(id));
            return Ok(evaluated);
        }
        cache(&mut self.flows, None);
        Err(DropReason::AclIn)
    }

    /// The entry holding the live connection of `key` started by a list of `direction`,
    /// through `link` if it still holds it, else by lookup.
    #[inline]
    fn live_conn(&self, link: Option<u32>, key: &FlowKey, direction: ConnDirection, now: u64) -> Option<u32> {
        self.live_conn_hashed(link, key, &mut None, direction, now)
    }

    /// [`Self::live_conn`], keeping `key`'s hash in `hash` if it looked the key up, for an
    /// insertion after a miss.
    #[inline(always)]
    fn live_conn_hashed(
        &self,
        link: Option<u32>,
        key: &FlowKey,
        hash: &mut Option<u64>,
        direction: ConnDirection,
        now: u64,
    ) -> Option<u32> {
        let linked = link.filter(|&id| self.flows.linked(id, key, now).is_some());
        let id = linked.or_else(|| {
            let hash = *hash.get_or_insert_with(|| self.flows.hash(key));
            self.flows.find_hashed(key, hash, now)
        })?;
        self.flows.get(id).live_conn(now).filter(|conn| conn.direction == direction).map(|_| id)
    }

    /// A reply of the connection in entry `id`.
    #[inline]
    fn reply(&mut self, id: u32, packet: &Packet, now: u64) {
        if let Some(conn) = self.flows.get_mut(id).conn.as_mut() {
            conn.update(packet.tcp_flags, true, now);
        }
        // The connection's timeout may have shortened (a reset): the entry follows it.
        self.flows.follow_conn(id);
    }

    /// The output side, for one egress port of a frame `ingress` let through.
    #[inline]
    pub fn egress(
        &mut self,
        config: &Snapshot,
        pass: &mut Pass,
        port: PortIndex,
        now: u64,
    ) -> Result<(), DropReason> {
        pass.egresses += 1;
        pass.last_egress = config.id_of(port).0;
        let family = family_index(&pass.packet);
        let there = config.policy().port(port);
        if there.account_out
            && let Some(id) = pass.entry
        {
            self.flows.get_mut(id).monitor |= MONITOR_OUTPUT;
        }
        let Some(list) = there.acl_out[family] else { return Ok(()) };
        self.check_out(config, list, pass, port, now)
    }

    fn check_out(
        &mut self,
        config: &Snapshot,
        list: u16,
        pass: &mut Pass,
        port: PortIndex,
        now: u64,
    ) -> Result<(), DropReason> {
        let acl = &config.policy().lists[usize::from(list)];
        let packet = &pass.packet;
        let port_id = config.id_of(port).0;
        let cached = pass.entry.and_then(|id| self.flows.get(id).cached_out(port, self.generation));
        let (hit, link) = match cached {
            Some(cached) => (cached.hit, cached.link),
            None => (evaluate(acl, list, packet, &mut pass.evaluated), None),
        };
        let cache = |flows: &mut FlowTable, link| {
            let verdict = Cached { list, hit, link };
            if let Some(id) = pass.entry.filter(|_| cached != Some(verdict)) {
                flows.get_mut(id).cache_out(port, verdict);
            }
        };
        let permits = acl.permits(hit);
        let stateful =
            permits && acl.rule(hit).is_some_and(|rule| rule.is_stateful_permit()) && packet.trackable();
        let own = FlowKey::new(port_id, pass.segment, packet, Role::OutConnection);
        let mut own_hash = None;
        // A connection this direction started passes, whatever the list says now.
        if (stateful || !permits)
            && let Some(id) = self.live_conn_hashed(link, &own, &mut own_hash, ConnDirection::Out, now)
        {
            if let Some(conn) = self.flows.get_mut(id).conn.as_mut() {
                conn.update(packet.tcp_flags, false, now);
            }
            self.flows.touch(id, now);
            if permits {
                self.count_hit(list, hit);
            }
            cache(&mut self.flows, Some(id));
            return Ok(());
        }
        self.count_hit(list, hit);
        if stateful {
            let own_hash = own_hash.unwrap_or_else(|| self.flows.hash(&own));
            let Some((id, new)) = self.flows.find_or_insert_hashed(&own, own_hash, now) else {
                return Err(DropReason::ConntrackFull);
            };
            self.counters.created += u64::from(new);
            self.flows.get_mut(id).conn =
                Some(Conn::new(packet.protocol, packet.tcp_flags, ConnDirection::Out, now));
            self.flows.touch(id, now);
            cache(&mut self.flows, Some(id));
            return Ok(());
        }
        if permits {
            cache(&mut self.flows, None);
            return Ok(());
        }
        // Denied: a reply of a connection this port's input list admitted?
        let original = own.reversed(port_id, Role::Flow);
        if let Some(id) = self.live_conn(link, &original, ConnDirection::In, now) {
            self.reply(id, packet, now);
            cache(&mut self.flows, Some(id));
            return Ok(());
        }
        cache(&mut self.flows, None);
        Err(DropReason::AclOut)
    }

    /// After the output checks: the flow's last egress (0 for a flood).
    #[inline]
    pub fn finish(&mut self, pass: &Pass) {
        if let Some(id) = pass.entry {
            self.flows.get_mut(id).out_port = if pass.egresses == 1 { pass.last_egress } else { 0 };
        }
    }

    /// Like [`Self::ingress`] for `trace`: reads only, says what decided. `Ok(None)` when no
    /// output check can concern the frame either.
    pub fn narrate_ingress<O: Observer>(
        &self,
        config: &Snapshot,
        received: &[u8],
        forwarding: &Forwarding,
        now: u64,
        observer: &mut O,
    ) -> Result<Option<Pass>, DropReason> {
        let Some(packet) = packet_of(received, forwarding) else { return Ok(None) };
        let family = family_index(&packet);
        let port_id = config.id_of(forwarding.ingress).0;
        let key = FlowKey::new(port_id, forwarding.segment, &packet, Role::Flow);
        let entry = self.flows.find(&key, now);
        let pass =
            Pass { packet, segment: forwarding.segment, entry, egresses: 0, last_egress: 0, evaluated: None };
        let Some(list) = config.policy().port(forwarding.ingress).acl_in[family] else {
            return Ok(Some(pass));
        };
        let acl = &config.policy().lists[usize::from(list)];
        if let Some(conn) = entry
            .and_then(|id| self.flows.get(id).live_conn(now))
            .filter(|conn| conn.direction == ConnDirection::In)
        {
            note!(observer, "tracked connection ({}): permitted", conn.state);
            return Ok(Some(pass));
        }
        let hit = acl.evaluate(&packet);
        narrate_hit(acl, hit, "in", observer);
        if acl.permits(hit) {
            let stateful = acl.rule(hit).is_some_and(|rule| rule.is_stateful_permit()) && packet.trackable();
            if stateful && entry.is_none() && self.flows.len() >= self.flows.capacity() {
                note!(observer, "conntrack table full: new connection denied");
                return Err(DropReason::ConntrackFull);
            }
            return Ok(Some(pass));
        }
        let original = key.reversed(port_id, Role::OutConnection);
        if let Some(id) = self.live_conn(None, &original, ConnDirection::Out, now) {
            narrate_reply(self, id, observer);
            return Ok(Some(pass));
        }
        Err(DropReason::AclIn)
    }

    /// Like [`Self::egress`] for `trace`.
    pub fn narrate_egress<O: Observer>(
        &self,
        config: &Snapshot,
        pass: &Pass,
        port: PortIndex,
        now: u64,
        observer: &mut O,
    ) -> Result<(), DropReason> {
        let packet = &pass.packet;
        let Some(list) = config.policy().port(port).acl_out[family_index(packet)] else { return Ok(()) };
        let acl = &config.policy().lists[usize::from(list)];
        let port_id = config.id_of(port).0;
        let own = FlowKey::new(port_id, pass.segment, packet, Role::OutConnection);
        if let Some(id) = self.live_conn(None, &own, ConnDirection::Out, now) {
            let state = self.flows.get(id).conn.map(|conn| conn.state);
            note!(
                observer,
                "tracked connection ({}): permitted",
                state.map_or(String::new(), |s| s.to_string())
            );
            return Ok(());
        }
        let hit = acl.evaluate(packet);
        narrate_hit(acl, hit, "out", observer);
        if acl.permits(hit) {
            let stateful = acl.rule(hit).is_some_and(|rule| rule.is_stateful_permit()) && packet.trackable();
            if stateful && self.flows.len() >= self.flows.capacity() {
                note!(observer, "conntrack table full: new connection denied");
                return Err(DropReason::ConntrackFull);
            }
            return Ok(());
        }
        let original = own.reversed(port_id, Role::Flow);
        if let Some(id) = self.live_conn(None, &original, ConnDirection::In, now) {
            narrate_reply(self, id, observer);
            return Ok(());
        }
        Err(DropReason::AclOut)
    }

    /// Every entry's hit count, list by list.
    pub fn hits<'a>(&'a self, config: &'a Snapshot) -> impl Iterator<Item = AclHits> + 'a {
        config.policy().lists.iter().zip(&self.hits).flat_map(|(acl, counts)| {
            let seqs = acl.rules().iter().map(|rule| Some(rule.seq)).chain([None]);
            seqs.zip(counts.iter()).map(|(seq, &matches)| AclHits {
                list: acl.name().clone(),
                family: acl.family(),
                seq,
                matches,
            })
        })
    }
}

fn narrate_hit<O: Observer>(acl: &Acl, hit: Hit, direction: &str, observer: &mut O) {
    let kind = match acl.family() {
        Family::V4 => "access-list",
        Family::V6 => "ipv6 access-list",
    };
    match acl.rule(hit) {
        Some(rule) => note!(observer, "{kind} {} {direction}: {} {rule}", acl.name(), rule.seq),
        None => note!(observer, "{kind} {} {direction}: implicit deny", acl.name()),
    }
}

fn narrate_reply<O: Observer>(state: &PolicyState, id: u32, observer: &mut O) {
    if let Some(conn) = state.flows.get(id).conn {
        note!(observer, "reply of a tracked connection ({}): permitted", conn.state);
    }
}
