//! The datapath: a snapshot of the config, the MAC table and the counters, and the two ways
//! frames go through them — `process` (batches, silent) and `trace` (one frame, narrated).

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use crate::batch::{RxBatch, RxFrame, TxBatch, TxFrame};
use crate::counters::{Cast, DropCounters, MacTableCounters, PortStats};
use crate::flow_table::DEFAULT_FLOW_TABLE_SIZE;
use crate::forward::{
    Destination, Egress, FloodCause, Forwarding, Narrator, Observer, Silent, decide, egresses,
};
use crate::guard::{DatapathEvent, DhcpBinding, GuardState};
use crate::mac_table::{Learn, MacKind, MacTable, MacTableRow, nanos};
use crate::policy::PolicyState;
use crate::snapshot::{PortIndex, Snapshot, TUNNEL_INDEX};
use crate::{DropReason, PortId, TUNNEL_PORT};

/// How often aged MAC entries are swept out (lookups ignore them before that).
const SWEEP_INTERVAL_NANOS: u64 = 1_000_000_000;

/// Sizes fixed for the datapath's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Most dynamic MAC entries kept; past that, new source MACs are not learned (their frames
    /// are still forwarded; `MacTableCounters::table_full` counts them).
    pub mac_table_size: usize,
    /// Seed of the MAC table's hash. Give each agent a random one so that nobody can choose
    /// source MACs that collide; tests give a fixed one to stay deterministic.
    pub hash_seed: u64,
    /// Most flows (and connections) the flow table holds: connection tracking and cached ACL
    /// verdicts live there. Allocated only once a snapshot has an access list or flow
    /// accounting.
    pub flow_table_size: usize,
    /// Most dynamic MACs one vEthernet without port security may have learned: a quarter of
    /// the table by default (4096 of 16,384), so that one container sending random source MACs
    /// leaves three quarters to the others, while a container hosting a few hundred VMs or
    /// nested containers still fits. Past it the port's new MACs are not learned (their frames
    /// are still forwarded) and `PortStats::mac_limit` counts them. Uplinks have no per-port
    /// limit: a whole network is behind them.
    pub per_port_mac_limit: u32,
    /// Most DHCP snooping bindings kept; past that, ACKs are forwarded without binding.
    pub dhcp_bindings: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mac_table_size: 16 * 1024,
            hash_seed: 0,
            flow_table_size: DEFAULT_FLOW_TABLE_SIZE,
            per_port_mac_limit: 4096,
            dhcp_bindings: 4096,
        }
    }
}

/// The switching pipeline of one host.
///
/// Pure and deterministic: no I/O, no clock (`now` is a `Duration` since any fixed epoch, e.g.
/// the agent's start, and must not go backwards), no allocation while processing frames.
#[derive(Debug)]
pub struct Datapath {
    /// The snapshot in force: `requested` with the error-disabled ports taken down.
    config: Arc<Snapshot>,
    /// The snapshot the agent gave.
    requested: Arc<Snapshot>,
    guard: GuardState,
    macs: MacTable,
    counters: Counters,
    next_sweep: u64,
    pub(crate) policy: PolicyState,
}

/// A port-security violation by the frame `bytes` from `ingress`: reported, and with
/// `shutdown` the port out of the flood lists and the MAC table before the next frame.
#[cold]
#[inline(never)]
fn violation(
    requested: &Snapshot,
    config: &mut Arc<Snapshot>,
    macs: &mut MacTable,
    guard: &mut GuardState,
    ingress: PortIndex,
    bytes: &[u8],
    now: u64,
) {
    let Some(mac) = wire::MacAddr::from_slice(bytes.get(6..).unwrap_or_default()) else { return };
    if guard.violation(config, ingress, mac, now) {
        let next = Arc::new(requested.with_err_disabled(&guard.err_disabled));
        macs.install(config, &next);
        *config = next;
    }
}

/// After learning something other than a refresh: sticky MACs reported, MACs over a port's
/// limit counted.
#[cold]
#[inline(never)]
fn learned(config: &Snapshot, guard: &mut GuardState, counters: &mut Counters, forwarding: &Forwarding) {
    match forwarding.learn {
        Learn::Nothing | Learn::Refresh => {}
        Learn::New | Learn::Move { .. } => guard.learned(config, forwarding.ingress, forwarding.src),
        Learn::OverLimit => counters.port(forwarding.ingress).mac_limit += 1,
    }
}

/// DHCP snooping reads the frame it forwards.
#[inline(never)]
fn snoop(
    config: &Snapshot,
    macs: &MacTable,
    guard: &mut GuardState,
    forwarding: &Forwarding,
    bytes: &[u8],
    now: u64,
) {
    let body_offset = forwarding.frame_start + forwarding.body_offset;
    guard.snoop(config, macs, forwarding.ingress, forwarding.segment, bytes, body_offset, now);
}

/// Per-port statistics, parallel to the snapshot's ports, the tunnel's, and the switch-wide
/// drop total.
#[derive(Debug, Default)]
struct Counters {
    ports: Vec<PortStats>,
    tunnel: PortStats,
    total_drops: DropCounters,
}

impl Counters {
    fn drop(&mut self, port: Option<PortIndex>, reason: DropReason, count: u64) {
        if let Some(stats) = port.and_then(|port| self.get_mut(port)) {
            stats.drops.add(reason, count);
        }
        self.total_drops.add(reason, count);
    }

    fn port(&mut self, port: PortIndex) -> &mut PortStats {
        if port == TUNNEL_INDEX { &mut self.tunnel } else { &mut self.ports[usize::from(port)] }
    }

    fn get(&self, port: PortIndex) -> Option<&PortStats> {
        if port == TUNNEL_INDEX { Some(&self.tunnel) } else { self.ports.get(usize::from(port)) }
    }

    fn get_mut(&mut self, port: PortIndex) -> Option<&mut PortStats> {
        if port == TUNNEL_INDEX { Some(&mut self.tunnel) } else { self.ports.get_mut(usize::from(port)) }
    }
}

impl Datapath {
    /// A datapath forwarding by `config`, with an empty MAC table.
    pub fn new(settings: &Settings, config: Arc<Snapshot>) -> Self {
        let mut datapath = Self {
            config: Arc::new(Snapshot::default()),
            requested: Arc::new(Snapshot::default()),
            guard: GuardState::new(settings.dhcp_bindings),
            macs: MacTable::new(settings.mac_table_size, settings.per_port_mac_limit, settings.hash_seed),
            counters: Counters::default(),
            next_sweep: 0,
            policy: PolicyState::new(settings.flow_table_size, settings.hash_seed),
        };
        datapath.set_config(config);
        datapath
    }

    /// Switches to `config` between two batches. Counters of ports that remain are kept;
    /// learned MACs are kept where their port still forwards and carries their segment. Ports
    /// the datapath error-disabled stay so (see [`Self::recover_port`]).
    pub fn set_config(&mut self, config: Arc<Snapshot>) {
        self.guard.install(&config);
        self.requested = config;
        let config = self.effective();
        self.macs.install(&self.config, &config);
        self.policy.install(&self.config, &config);
        let mut old_stats = std::mem::take(&mut self.counters.ports);
        self.counters.ports = config
            .ports()
            .iter()
            .map(|port| {
                self.config
                    .index_of(port.id)
                    .and_then(|old| old_stats.get_mut(usize::from(old)))
                    .map(std::mem::take)
                    .unwrap_or_default()
            })
            .collect();
        self.config = config;
    }

    /// The requested snapshot with the error-disabled ports down.
    fn effective(&self) -> Arc<Snapshot> {
        if self.guard.err_disabled.is_empty() {
            Arc::clone(&self.requested)
        } else {
            Arc::new(self.requested.with_err_disabled(&self.guard.err_disabled))
        }
    }

    /// Installs [`Self::effective`] after the error-disabled ports changed (same ports, so the
    /// counters stay where they are).
    fn reinstall(&mut self) {
        let config = self.effective();
        self.macs.install(&self.config, &config);
        self.config = config;
    }

    /// Brings an error-disabled port back (`shutdown` / `no shutdown` on it); `false` if it was
    /// not error-disabled.
    pub fn recover_port(&mut self, port: PortId) -> bool {
        if !self.guard.err_disabled.remove(&port) {
            return false;
        }
        self.reinstall();
        true
    }

    /// The next event not yet polled (port-security violations, error-disabled ports, sticky
    /// MACs, DHCP bindings), oldest first. Poll after each batch: the datapath keeps at most
    /// [`crate::EVENT_QUEUE_LEN`] and counts the rest as lost ([`Self::events_lost`]).
    pub fn poll_event(&mut self) -> Option<DatapathEvent> {
        self.guard.poll()
    }

    /// Events dropped because nobody polled them in time.
    pub fn events_lost(&self) -> u64 {
        self.guard.events_lost
    }

    /// The ports the datapath error-disabled, ascending.
    pub fn err_disabled_ports(&self) -> impl Iterator<Item = PortId> + '_ {
        self.guard.err_disabled.iter().copied()
    }

    /// The secure MACs of every port with port security at `now` (`show port-security`), by
    /// ascending port: its attached MAC (static) and those it learned (dynamic), sorted by
    /// segment then MAC. One walk of the MAC table for all of them (allocates).
    pub fn secure_macs(&self, now: Duration) -> Vec<(PortId, Vec<MacTableRow>)> {
        let mut secure: Vec<(PortId, Vec<MacTableRow>)> = self
            .config
            .ports()
            .iter()
            .filter(|port| port.port_security.is_some())
            .map(|port| (port.id, Vec::new()))
            .collect();
        if secure.is_empty() {
            return secure;
        }
        for row in self.mac_table(now) {
            if let Ok(at) = secure.binary_search_by_key(&row.port, |(port, _)| *port) {
                secure[at].1.push(row);
            }
        }
        secure
    }

    /// Dynamic MACs learned on `port` now in the table (aged ones until the next sweep), and
    /// how many it may have (`u32::MAX`: no per-port limit).
    pub fn port_mac_count(&self, port: PortId) -> Option<(u32, u32)> {
        let index = self.config.index_of(port)?;
        Some((self.macs.port_count(index), self.macs.port_limit(index)))
    }

    /// DHCP snooping's bindings, running or ended but not yet swept, sorted by address
    /// (`show ip dhcp snooping binding`; allocates).
    pub fn dhcp_bindings(&self) -> Vec<DhcpBinding> {
        let mut bindings: Vec<DhcpBinding> = self.guard.bindings.iter().copied().collect();
        bindings.sort_by_key(|binding| binding.ip);
        bindings
    }

    /// DHCPACKs not bound because the bindings table was full.
    pub fn dhcp_bindings_full(&self) -> u64 {
        self.guard.bindings.full
    }

    /// The snapshot in force.
    pub fn config(&self) -> &Arc<Snapshot> {
        &self.config
    }

    /// Switches every frame of `rx` and fills `tx` (cleared first) with what to send. `tx`
    /// refers to `rx`'s frames by index: keep `rx` intact until `tx` is sent.
    pub fn process(&mut self, now: Duration, rx: &RxBatch, tx: &mut TxBatch) {
        tx.clear();
        let now = nanos(now);
        if now >= self.next_sweep {
            self.macs.sweep(now);
            self.guard.end_bindings(now, |_| true);
            self.next_sweep = now.saturating_add(SWEEP_INTERVAL_NANOS);
        }
        self.policy.sweep(now);
        let Self { config, requested, guard, macs, counters, policy, .. } = self;
        // Frames come in runs from one port: look the port up once per run.
        let mut last_port: Option<(PortId, Option<PortIndex>)> = None;
        for (rx_index, frame) in rx.iter().enumerate() {
            let ingress = match last_port {
                Some((id, index)) if id == frame.port => index,
                _ => {
                    let index = config.locate(frame.port);
                    last_port = Some((frame.port, index));
                    index
                }
            };
            let decision = decide(config, macs, &guard.bindings, now, frame, ingress, &mut Silent);
            let Some(ingress) = decision.ingress else {
                counters.drop(None, DropReason::NoIngressPort, 1);
                continue;
            };
            // What a frame counts as is its inner frame's destination, past any VXLAN header.
            let inner = if ingress == TUNNEL_INDEX {
                frame.bytes.get(wire::vxlan::HEADER_LEN..)
            } else {
                Some(frame.bytes)
            };
            let cast = inner.and_then(Cast::of);
            let forwarding = match decision.outcome {
                Ok(forwarding) => forwarding,
                Err(reason) => {
                    if reason.counts_as_received() {
                        counters.port(ingress).rx.count(frame.wire_len, cast, false);
                    }
                    counters.drop(Some(ingress), reason, 1);
                    if reason == DropReason::PortSecurity {
                        violation(requested, config, macs, guard, ingress, frame.bytes, now);
                    }
                    continue;
                }
            };
            counters.port(ingress).rx.count(frame.wire_len, cast, false);
            let mut pass = None;
            if config.policy().active {
                match policy.ingress(config, frame.bytes, &forwarding, now) {
                    Ok(checked) => pass = checked,
                    Err(reason) => {
                        counters.drop(Some(ingress), reason, 1);
                        continue;
                    }
                }
            }
            let key = (forwarding.segment, forwarding.src);
            macs.learn(key, ingress, forwarding.source_vtep, forwarding.learn, now);
            if !matches!(forwarding.learn, Learn::Nothing | Learn::Refresh) {
                learned(config, guard, counters, &forwarding);
            }
            if let Destination::Discard(reason) = forwarding.destination {
                counters.drop(Some(ingress), reason, 1);
                continue;
            }
            if let Destination::Flood(cause) = forwarding.destination
                && let Err(reason) = guard.storm(config, ingress, cause, now)
            {
                counters.drop(Some(ingress), reason, 1);
                continue;
            }
            if config.dhcp_snooping() {
                snoop(config, macs, guard, &forwarding, frame.bytes, now);
            }
            let flooded_unicast = forwarding.destination == Destination::Flood(FloodCause::UnknownUnicast);
            let untagged_len = forwarding.untagged_len(frame.bytes);
            for Egress { port, tag, encap } in egresses(config, &forwarding) {
                if let Some(pass) = &mut pass
                    && let Err(reason) = policy.egress(config, pass, port, now)
                {
                    counters.drop(Some(port), reason, 1);
                    continue;
                }
                let sent = TxFrame {
                    port: config.id_of(port),
                    rx_index: rx_index as u32,
                    frame_start: forwarding.frame_start,
                    body_offset: forwarding.body_offset,
                    tag,
                    encap,
                };
                if tx.push(sent) {
                    // Tunnel counters count UDP payloads, VXLAN header included.
                    let added = match (tag, encap) {
                        (Some(_), _) => wire::vlan::TAG_LEN,
                        (None, Some(encap)) => encap.header.len(),
                        (None, None) => 0,
                    };
                    counters.port(port).tx.count(untagged_len + added, cast, flooded_unicast);
                } else {
                    counters.drop(Some(port), DropReason::TxBatchFull, 1);
                }
            }
            if let Some(pass) = &pass {
                policy.finish(pass);
            }
        }
    }

    /// Runs one frame, received on `in_port`, through the same decisions as [`Self::process`]
    /// and returns each in words:
    ///
    /// ```text
    /// frame 0050.56b3.06d1 > ffff.ffff.ffff, ARP request who-has 10.0.0.2 tell 10.0.0.1, 42 bytes
    /// ingress Veth1 (LTL 49) access vlan 100
    /// learn 0050.56b3.06d1 on LTL 49 (new entry)
    /// broadcast ffff.ffff.ffff: flood to LTL 17, 50
    /// egress Eth3/1 (LTL 17) tagged vlan 100
    /// egress Veth2 (LTL 50) untagged
    /// ```
    ///
    /// Read-only: a trace learns nothing, counts nothing and sends nothing, so tracing a live
    /// switch never disturbs it. "learn …" says what processing the frame would learn.
    pub fn trace(&self, now: Duration, in_port: PortId, frame: &[u8]) -> Vec<String> {
        let mut narrator = Narrator::default();
        narrator.note(format_args!("frame {}", wire::describe(frame)));
        let rx = RxFrame { port: in_port, bytes: frame, wire_len: frame.len(), source_vtep: None };
        self.narrate(now, rx, narrator)
    }

    /// Like [`Self::trace`], for a UDP `payload` (VXLAN header and inner frame) the tunnel
    /// received from the VTEP `source`:
    ///
    /// ```text
    /// frame from VTEP 192.0.2.2, 50 byte UDP payload
    /// ingress vxlan (LTL 10) from VTEP 192.0.2.2
    /// decapsulated VNI 5000: 02ab.cd00.0001 > ffff.ffff.ffff, ARP request …, 42 bytes
    /// learn 02ab.cd00.0001 on vxlan (LTL 10) VTEP 192.0.2.2 (new entry)
    /// broadcast ffff.ffff.ffff: flood to LTL 49
    /// egress Veth1 (LTL 49) untagged
    /// ```
    pub fn trace_tunneled(&self, now: Duration, source: Ipv4Addr, payload: &[u8]) -> Vec<String> {
        let mut narrator = Narrator::default();
        narrator.note(format_args!("frame from VTEP {source}, {} byte UDP payload", payload.len()));
        let rx =
            RxFrame { port: TUNNEL_PORT, bytes: payload, wire_len: payload.len(), source_vtep: Some(source) };
        self.narrate(now, rx, narrator)
    }

    fn narrate(&self, now: Duration, rx: RxFrame<'_>, mut narrator: Narrator) -> Vec<String> {
        let ingress = self.config.locate(rx.port);
        let now = nanos(now);
        let decision =
            decide(&self.config, &self.macs, &self.guard.bindings, now, rx, ingress, &mut narrator);
        let Ok(forwarding) = &decision.outcome else { return narrator.lines };
        let mut pass = None;
        if self.config.policy().active {
            match self.policy.narrate_ingress(&self.config, rx.bytes, forwarding, now, &mut narrator) {
                Ok(checked) => pass = checked,
                Err(reason) => {
                    narrator.note(format_args!("dropped: {reason}"));
                    return narrator.lines;
                }
            }
        }
        if let Destination::Discard(reason) = forwarding.destination {
            narrator.note(format_args!("dropped: {reason}"));
            return narrator.lines;
        }
        if let Destination::Flood(cause) = forwarding.destination
            && let Some(rate) = self.guard.storm_would_drop(&self.config, forwarding.ingress, cause, now)
        {
            let reason = crate::guard::storm_reason(cause);
            narrator.note(format_args!("storm-control: over {rate} pps"));
            narrator.note(format_args!("dropped: {reason}"));
            return narrator.lines;
        }
        for Egress { port, tag, encap } in egresses(&self.config, forwarding) {
            let id = self.config.id_of(port);
            let name = self.config.name_of(port);
            if let Some(pass) = &pass
                && let Err(reason) = self.policy.narrate_egress(&self.config, pass, port, now, &mut narrator)
            {
                narrator.note(format_args!("not sent to {name} ({id}): {reason}"));
                continue;
            }
            match (tag, encap, forwarding.segment) {
                (Some(tci), _, _) => narrator.note(format_args!("egress {name} ({id}) tagged {tci}")),
                (None, Some(encap), crate::Segment::BridgeDomain(vni)) => narrator.note(format_args!(
                    "egress {name} ({id}) encapsulated VXLAN VNI {vni} to VTEP {}",
                    encap.remote
                )),
                (None, _, _) => narrator.note(format_args!("egress {name} ({id}) untagged")),
            }
        }
        narrator.lines
    }

    /// Counters of one port, or of the tunnel ([`TUNNEL_PORT`]: UDP payloads in and out).
    pub fn port_stats(&self, port: PortId) -> Option<&PortStats> {
        self.config.locate(port).and_then(|index| self.counters.get(index))
    }

    /// Every drop, by reason, switch-wide (including frames from unknown ports).
    pub fn drops(&self) -> &DropCounters {
        &self.counters.total_drops
    }

    /// Learning, moves, aging and overflow of the MAC table.
    pub fn mac_counters(&self) -> MacTableCounters {
        self.macs.counters
    }

    /// The MAC table at `now`, sorted by segment then MAC (allocates: for `show` commands).
    pub fn mac_table(&self, now: Duration) -> Vec<MacTableRow> {
        let now = nanos(now);
        let mut rows: Vec<MacTableRow> = self
            .macs
            .iter(now)
            .map(|((segment, mac), entry)| MacTableRow {
                segment,
                mac,
                kind: entry.kind,
                port: self.config.id_of(entry.port),
                age_secs: match entry.kind {
                    MacKind::Static | MacKind::Installed => 0,
                    MacKind::Dynamic => now.saturating_sub(entry.last_seen) / 1_000_000_000,
                },
                remote_vtep: entry.vtep,
            })
            .collect();
        rows.sort_by_key(|row| (row.segment, row.mac));
        rows
    }

    /// Counts `count` frames the I/O shell could not send on `port` (`reason` should be an
    /// output reason: `TxQueueFull`, `NoDevice`).
    pub fn record_tx_drops(&mut self, port: PortId, reason: DropReason, count: u64) {
        let index = self.config.locate(port);
        self.counters.drop(index, reason, count);
    }

    /// Forgets every learned MAC (`clear mac address-table dynamic`).
    pub fn flush_dynamic_macs(&mut self) {
        self.macs.flush_dynamic();
    }

    /// Entries in the MAC table, static and dynamic (aged ones until the next sweep).
    pub fn mac_table_len(&self) -> usize {
        self.macs.len()
    }
}
