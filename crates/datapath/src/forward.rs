//! The forwarding decision for one frame, shared by `process` (silent, allocation-free) and
//! `trace` (which narrates every step): ingress port policy (or, from the tunnel, VXLAN
//! decapsulation) → segment → source learning → destination lookup → egress ports and tags.
//!
//! With uplinks, the VEM's rules keep several uplinks to one physical network loop-free and
//! duplicate-free: uplinks never forward to each other; a vEthernet reaches the physical network
//! only through its pinned uplink; an uplink delivers only to the vEthernets pinned to it. With
//! the overlay, a bridge-domain's floods are copied to each remote VTEP (head-end replication)
//! and frames from the tunnel go to local ports only.
//!
//! Deciding only reads the snapshot and the MAC table; the caller applies the decision (learns,
//! counts, emits). That split is what lets `trace` run the very same code without side effects.

use core::fmt;
use core::slice;
use std::net::Ipv4Addr;

use wire::{EtherType, MacAddr, Tci, ethernet, vlan, vxlan};

use crate::batch::{Encap, RxFrame};
use crate::guard::{self, Bindings};
use crate::mac_table::{Learn, MacEntry, MacKind, MacTable};
use crate::port::{PortConfig, PortMode, ProfileBinding};
use crate::snapshot::{PortIndex, Snapshot, TUNNEL_INDEX};
use crate::{DropReason, Segment, TUNNEL_PORT};

/// Receives the narration of a decision. The fast path's [`Silent`] observer compiles away.
pub(crate) trait Observer {
    /// Whether notes are wanted; when `false` their arguments are never even formatted.
    const ENABLED: bool;

    /// One decision, in words.
    fn note(&mut self, line: fmt::Arguments<'_>);

    fn enabled(&self) -> bool {
        Self::ENABLED
    }
}

/// The observer of `process`: hears nothing.
pub(crate) struct Silent;

impl Observer for Silent {
    const ENABLED: bool = false;
    fn note(&mut self, _: fmt::Arguments<'_>) {}
}

/// The observer of `trace`: keeps every line.
#[derive(Default)]
pub(crate) struct Narrator {
    pub lines: Vec<String>,
}

impl Observer for Narrator {
    const ENABLED: bool = true;
    fn note(&mut self, line: fmt::Arguments<'_>) {
        self.lines.push(line.to_string());
    }
}

macro_rules! note {
    ($observer:expr, $($arg:tt)*) => {
        if $observer.enabled() {
            $observer.note(format_args!($($arg)*));
        }
    };
}
pub(crate) use note;

/// Why a frame goes to more than one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloodCause {
    Broadcast,
    Multicast,
    UnknownUnicast,
}

/// Where a frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Destination {
    /// One known local port.
    Port(PortIndex),
    /// One remote VTEP, through the tunnel.
    Remote(Ipv4Addr),
    /// The other forwarding ports of the segment the rules allow, and the remote VTEPs.
    Flood(FloodCause),
    /// Nowhere, after learning (the destination is behind the ingress port, or the uplink rules
    /// forbid the path).
    Discard(DropReason),
}

/// A frame accepted into a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Forwarding {
    pub ingress: PortIndex,
    /// The VTEP a frame from the tunnel came from.
    pub source_vtep: Option<Ipv4Addr>,
    pub segment: Segment,
    pub src: MacAddr,
    pub learn: Learn,
    pub destination: Destination,
    /// Where the Ethernet frame starts in the received bytes: 0, or past the VXLAN header.
    pub frame_start: u8,
    /// Where the payload starts after the addresses (from `frame_start`): 12, or 16 past a tag.
    pub body_offset: u8,
    /// Priority and drop eligibility to keep if the frame leaves tagged.
    pub pcp: u8,
    pub dei: bool,
}

impl Forwarding {
    /// Bytes of the Ethernet frame without its tag.
    #[inline]
    pub fn untagged_len(&self, received: &[u8]) -> usize {
        let removed = usize::from(self.frame_start) + usize::from(self.body_offset) - ADDRESSES_LEN;
        received.len().saturating_sub(removed)
    }
}

const ADDRESSES_LEN: usize = ethernet::field::ETHERTYPE.start;

/// The decision about one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// The ingress port, if the datapath knows it.
    pub ingress: Option<PortIndex>,
    pub outcome: Result<Forwarding, DropReason>,
}

/// Decides what happens to `frame`, which arrived on `ingress` (already looked up).
#[inline(always)]
pub(crate) fn decide<O: Observer>(
    config: &Snapshot,
    macs: &MacTable,
    bindings: &Bindings,
    now: u64,
    frame: RxFrame<'_>,
    ingress: Option<PortIndex>,
    observer: &mut O,
) -> Decision {
    let Some(index) = ingress else {
        note!(observer, "drop: {} is not a port of this datapath", frame.port);
        return Decision { ingress, outcome: Err(DropReason::NoIngressPort) };
    };
    let outcome = if index == TUNNEL_INDEX {
        decapsulate(config, macs, now, frame, observer)
    } else {
        accept(config, macs, bindings, now, frame, index, observer)
    };
    if let Err(reason) = outcome {
        note!(observer, "dropped: {reason}");
    }
    Decision { ingress, outcome }
}

/// A frame from a configured port.
#[inline(always)]
fn accept<O: Observer>(
    config: &Snapshot,
    macs: &MacTable,
    bindings: &Bindings,
    now: u64,
    frame: RxFrame<'_>,
    index: PortIndex,
    observer: &mut O,
) -> Result<Forwarding, DropReason> {
    let port = config.by_index(index);
    note!(observer, "ingress {} ({}) {}", port.name, port.id, port.mode);
    if let ProfileBinding::NotFound(profile) = &port.profile {
        note!(observer, "port-profile {profile} does not exist");
        return Err(DropReason::ProfileMissing);
    }
    if !port.admin_up {
        note!(observer, "port is administratively down");
        return Err(DropReason::PortDown);
    }
    if !port.link_up {
        note!(observer, "link is down");
        return Err(DropReason::PortDown);
    }
    if config.err_disabled(index) {
        note!(observer, "port is error-disabled");
        return Err(DropReason::ErrDisabled);
    }
    if frame.wire_len > frame.bytes.len() {
        note!(observer, "{} byte frame, receive buffer holds {}", frame.wire_len, frame.bytes.len());
        return Err(DropReason::Oversize);
    }
    let ethernet = ethernet::Frame::new_checked(frame.bytes).map_err(|error| {
        note!(observer, "{error}");
        DropReason::Malformed
    })?;
    let (tci, body_offset) = read_tag(&ethernet, observer)?;
    let segment = classify(port, tci, observer)?;
    if port.inspects() || config.dhcp_snooping() {
        guard::inspect(port, bindings, config.dhcp_snooping(), &ethernet, body_offset, now, observer)?;
    }
    if let Some(uplink) = config.pin_of(index) {
        let uplink = config.by_index(uplink);
        note!(observer, "pinned to {} ({})", uplink.name, uplink.id);
    }
    let arrival = Arrival { index, source_vtep: None, segment, tci, frame_start: 0, body_offset };
    switch(config, macs, now, &ethernet, arrival, observer)
}

/// A UDP payload from the tunnel: VXLAN header, then a frame of one of the bridge-domains.
#[inline(always)]
fn decapsulate<O: Observer>(
    config: &Snapshot,
    macs: &MacTable,
    now: u64,
    frame: RxFrame<'_>,
    observer: &mut O,
) -> Result<Forwarding, DropReason> {
    match frame.source_vtep {
        Some(vtep) => note!(observer, "ingress {} ({TUNNEL_PORT}) from VTEP {vtep}", crate::TUNNEL_NAME),
        None => note!(observer, "ingress {} ({TUNNEL_PORT}), source VTEP unknown", crate::TUNNEL_NAME),
    }
    if frame.wire_len > frame.bytes.len() {
        note!(observer, "{} byte payload, receive buffer holds {}", frame.wire_len, frame.bytes.len());
        return Err(DropReason::Oversize);
    }
    let parsed = vxlan::Packet::new_checked(frame.bytes)
        .and_then(|packet| vxlan::Repr::parse(&packet).map(|repr| (repr, packet)));
    let (repr, packet) = parsed.map_err(|error| {
        note!(observer, "{error}");
        DropReason::VxlanMalformed
    })?;
    let segment = Segment::BridgeDomain(repr.vni);
    if config.flood_list(segment).is_empty() {
        note!(observer, "VNI {}: no local port is in {segment}", repr.vni);
        return Err(DropReason::VniUnknown);
    }
    let member = frame.source_vtep.filter(|vtep| config.replication_list(segment).contains(vtep));
    let Some(source_vtep) = member else {
        note!(observer, "VNI {}: the source is not a VTEP of {segment}", repr.vni);
        return Err(DropReason::VtepNotMember);
    };
    let inner = packet.payload();
    note!(observer, "decapsulated VNI {}: {}", repr.vni, wire::describe(inner));
    let ethernet = ethernet::Frame::new_checked(inner).map_err(|error| {
        note!(observer, "{error}");
        DropReason::Malformed
    })?;
    let (tci, body_offset) = read_tag(&ethernet, observer)?;
    if let Some(vid) = tci.map(|tci| tci.vid).filter(|&vid| vid != 0) {
        note!(observer, "inner frame tagged vlan {vid}");
        return Err(DropReason::TaggedOnAccess);
    }
    let frame_start = vxlan::HEADER_LEN as u8;
    let arrival = Arrival {
        index: TUNNEL_INDEX,
        source_vtep: Some(source_vtep),
        segment,
        tci,
        frame_start,
        body_offset,
    };
    switch(config, macs, now, &ethernet, arrival, observer)
}

/// A frame admitted into its segment, before learning and lookup.
#[derive(Clone, Copy)]
struct Arrival {
    index: PortIndex,
    source_vtep: Option<Ipv4Addr>,
    segment: Segment,
    tci: Option<Tci>,
    frame_start: u8,
    body_offset: u8,
}

/// Source learning and destination lookup within the segment.
#[inline(always)]
fn switch<O: Observer>(
    config: &Snapshot,
    macs: &MacTable,
    now: u64,
    ethernet: &ethernet::Frame<&[u8]>,
    arrival: Arrival,
    observer: &mut O,
) -> Result<Forwarding, DropReason> {
    let Arrival { index, source_vtep, segment, tci, frame_start, body_offset } = arrival;
    let src = ethernet.src_addr();
    if src.is_multicast() || src.is_zero() {
        note!(observer, "source MAC {src} is not a unicast address");
        return Err(DropReason::SourceMacInvalid);
    }
    let found = macs.lookup(&(segment, src), now);
    let learn = match MacTable::plan(found, index, source_vtep, now) {
        Ok(learn) => learn,
        Err(owner) => {
            note!(
                observer,
                "source MAC {src} is the {} MAC of {}",
                kind_name(owner.kind),
                Place::of(config, &owner)
            );
            return Err(DropReason::SourceMacStatic);
        }
    };
    // With several uplinks to one network, a local vEthernet's frame can come back on another
    // uplink: learning it there would pull the MAC away from its port.
    if let Some(entry) = found
        && config.is_uplink(index)
        && is_vethernet(config, entry.port)
    {
        note!(observer, "source MAC {src} is on local {}", Place::of(config, entry));
        return Err(DropReason::UplinkSourceLocal);
    }
    // Per-port MAC limits and port security: only a new (or moving) MAC can pass them.
    let learn = match learn {
        Learn::New | Learn::Move { .. } if index != TUNNEL_INDEX && macs.port_full(index) => {
            guard::over_limit(config, macs, index, src, observer)?
        }
        learn => learn,
    };
    narrate_learning(config, index, source_vtep, src, learn, observer);

    let dst = ethernet.dst_addr();
    let destination = if dst.is_broadcast() {
        Destination::Flood(FloodCause::Broadcast)
    } else if dst.is_multicast() {
        Destination::Flood(FloodCause::Multicast)
    } else {
        match macs.lookup(&(segment, dst), now) {
            Some(entry) => unicast(config, index, segment, dst, entry, observer),
            None => Destination::Flood(FloodCause::UnknownUnicast),
        }
    };
    let (pcp, dei) = tci.map_or((0, false), |tci| (tci.pcp, tci.dei));
    let forwarding = Forwarding {
        ingress: index,
        source_vtep,
        segment,
        src,
        learn,
        destination,
        frame_start,
        body_offset,
        pcp,
        dei,
    };
    if let Destination::Flood(cause) = destination {
        let cause = match cause {
            FloodCause::Broadcast => "broadcast",
            FloodCause::Multicast => "multicast",
            FloodCause::UnknownUnicast => "destination unknown",
        };
        note!(observer, "{cause} {dst}: flood to {}", FloodList { config, forwarding: &forwarding });
    }
    Ok(forwarding)
}

/// Where a known unicast destination `entry` is reached from `ingress`, by the uplink rules.
#[inline]
fn unicast<O: Observer>(
    config: &Snapshot,
    ingress: PortIndex,
    segment: Segment,
    dst: MacAddr,
    entry: &MacEntry,
    observer: &mut O,
) -> Destination {
    if entry.port == ingress {
        note!(observer, "destination {dst} is on the ingress port");
        return Destination::Discard(DropReason::DestinationIsIngress);
    }
    note!(observer, "destination {dst} is on {} ({})", Place::of(config, entry), kind_name(entry.kind));
    if let (TUNNEL_INDEX, Some(vtep)) = (entry.port, entry.vtep) {
        return Destination::Remote(vtep);
    }
    match (config.is_uplink(ingress), config.is_uplink(entry.port)) {
        (true, true) => {
            note!(observer, "uplinks do not forward to each other");
            Destination::Discard(DropReason::UplinkToUplink)
        }
        (true, false) if config.pin_of(entry.port) != Some(ingress) => {
            note!(observer, "{} is not pinned to the ingress uplink", config.id_of(entry.port));
            Destination::Discard(DropReason::UplinkNotPinned)
        }
        (false, true) => match config.pin_of(ingress).filter(|&pin| config.by_index(pin).carries(segment)) {
            Some(pin) => {
                let uplink = config.by_index(pin);
                note!(observer, "behind the uplinks: leaves by the pinned {} ({})", uplink.name, uplink.id);
                Destination::Port(pin)
            }
            None => {
                note!(
                    observer,
                    "behind the uplinks, and no uplink in {segment} is pinned to the ingress port"
                );
                Destination::Discard(DropReason::NoUplink)
            }
        },
        _ => Destination::Port(entry.port),
    }
}

#[inline]
fn is_vethernet(config: &Snapshot, index: PortIndex) -> bool {
    index != TUNNEL_INDEX && !config.by_index(index).is_uplink()
}

fn kind_name(kind: MacKind) -> &'static str {
    match kind {
        MacKind::Static => "static",
        MacKind::Dynamic => "dynamic",
        MacKind::Installed => "installed",
    }
}

/// Where a MAC is: `LTL 50`, or `vxlan (LTL 10) VTEP 192.0.2.2`.
struct Place {
    id: crate::PortId,
    vtep: Option<Ipv4Addr>,
}

impl Place {
    fn of(config: &Snapshot, entry: &MacEntry) -> Self {
        Self { id: config.id_of(entry.port), vtep: entry.vtep }
    }

    fn at(config: &Snapshot, port: PortIndex, vtep: Option<Ipv4Addr>) -> Self {
        Self { id: config.id_of(port), vtep }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.vtep {
            Some(vtep) => write!(f, "{} ({}) VTEP {vtep}", crate::TUNNEL_NAME, self.id),
            None => write!(f, "{}", self.id),
        }
    }
}

/// The 802.1Q tag, if any, and where the payload starts after it.
#[inline(always)]
fn read_tag<O: Observer>(
    ethernet: &ethernet::Frame<&[u8]>,
    observer: &mut O,
) -> Result<(Option<Tci>, u8), DropReason> {
    const UNTAGGED_BODY: u8 = ethernet::field::ETHERTYPE.start as u8;
    const TAGGED_BODY: u8 = UNTAGGED_BODY + vlan::TAG_LEN as u8;
    if ethernet.ethertype() != EtherType::VLAN {
        return Ok((None, UNTAGGED_BODY));
    }
    let tag = vlan::Tag::new_checked(ethernet.payload()).and_then(|tag| vlan::Repr::parse(&tag));
    match tag {
        Ok(tag) => Ok((Some(tag.tci), TAGGED_BODY)),
        Err(error) => {
            note!(observer, "{error}");
            Err(DropReason::Malformed)
        }
    }
}

/// The segment a frame with `tci` enters on `port`, or why it may not.
#[inline(always)]
fn classify<O: Observer>(
    port: &PortConfig,
    tci: Option<Tci>,
    observer: &mut O,
) -> Result<Segment, DropReason> {
    // VLAN 0 is a priority tag: the frame belongs where an untagged one would.
    let vid = tci.map(|tci| tci.vid).filter(|&vid| vid != 0);
    match &port.mode {
        PortMode::Access { segment } => match vid {
            Some(vid) => {
                note!(observer, "frame tagged vlan {vid} on an access port");
                Err(DropReason::TaggedOnAccess)
            }
            None if !port.carries(*segment) => {
                note!(observer, "uplinks do not carry bridge-domains");
                Err(DropReason::VlanNotAllowed)
            }
            None => Ok(*segment),
        },
        PortMode::Trunk { allowed, native } => {
            let vlan = vid.unwrap_or(*native);
            let how = if vid.is_some() { "tagged" } else { "untagged, native" };
            if !allowed.contains(vlan) {
                note!(observer, "{how} vlan {vlan} is not in the allowed vlans {allowed}");
                return Err(DropReason::VlanNotAllowed);
            }
            note!(observer, "{how} vlan {vlan}");
            Ok(Segment::Vlan(vlan))
        }
    }
}

fn narrate_learning<O: Observer>(
    config: &Snapshot,
    port: PortIndex,
    vtep: Option<Ipv4Addr>,
    src: MacAddr,
    learn: Learn,
    observer: &mut O,
) {
    let here = Place::at(config, port, vtep);
    match learn {
        Learn::New => note!(observer, "learn {src} on {here} (new entry)"),
        Learn::Move { from, from_vtep } => {
            note!(observer, "learn {src} on {here} (moved from {})", Place::at(config, from, from_vtep))
        }
        Learn::Refresh => note!(observer, "source {src} known on {here} (refreshed)"),
        Learn::Nothing => note!(observer, "source {src} known on {here}"),
        Learn::OverLimit => {} // the guard said why
    }
}

/// One copy of a forwarded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Egress {
    /// The port, or [`TUNNEL_INDEX`].
    pub port: PortIndex,
    /// The 802.1Q tag to send it with.
    pub tag: Option<Tci>,
    /// For the tunnel: the VTEP and header.
    pub encap: Option<Encap>,
}

/// The copies a forwarded frame leaves as. Never by the ingress port; floods by the uplink
/// rules (see the module comment); bridge-domain floods from a local port also to each remote
/// VTEP, never back into the tunnel.
#[inline]
pub(crate) fn egresses<'c>(
    config: &'c Snapshot,
    forwarding: &'c Forwarding,
) -> impl Iterator<Item = Egress> + 'c {
    let from_tunnel = forwarding.ingress == TUNNEL_INDEX;
    let (ports, vteps): (&[PortIndex], &[Ipv4Addr]) = match &forwarding.destination {
        Destination::Port(port) => (slice::from_ref(port), &[]),
        Destination::Remote(vtep) => (&[], slice::from_ref(vtep)),
        Destination::Flood(_) if from_tunnel => (config.flood_list(forwarding.segment), &[]),
        Destination::Flood(_) => {
            (config.flood_list(forwarding.segment), config.replication_list(forwarding.segment))
        }
        Destination::Discard(_) => (&[], &[]),
    };
    let flood = matches!(forwarding.destination, Destination::Flood(_));
    let locals = ports
        .iter()
        .filter(move |&&port| {
            port != forwarding.ingress && (!flood || flood_reaches(config, forwarding, port))
        })
        .map(move |&port| Egress { port, tag: egress_tag(config.by_index(port), forwarding), encap: None });
    let remotes = vteps.iter().filter_map(move |&vtep| match forwarding.segment {
        Segment::BridgeDomain(vni) => {
            Some(Egress { port: TUNNEL_INDEX, tag: None, encap: Some(Encap::new(vtep, vni)) })
        }
        Segment::Vlan(_) => None,
    });
    locals.chain(remotes)
}

/// Whether a flood from the forwarding's ingress reaches `port` (a member of the segment):
/// from an uplink, only the vEthernets pinned to it; from a vEthernet, every vEthernet and its
/// own pinned uplink; from the tunnel, local ports.
#[inline]
fn flood_reaches(config: &Snapshot, forwarding: &Forwarding, port: PortIndex) -> bool {
    let ingress = forwarding.ingress;
    match (config.is_uplink(ingress), config.is_uplink(port)) {
        (true, true) => false,
        (true, false) => config.pin_of(port) == Some(ingress),
        (false, true) => ingress != TUNNEL_INDEX && config.pin_of(ingress) == Some(port),
        (false, false) => true,
    }
}

/// Trunks tag every VLAN but the native one; access ports send untagged.
#[inline]
fn egress_tag(port: &PortConfig, forwarding: &Forwarding) -> Option<Tci> {
    match (&port.mode, forwarding.segment) {
        (PortMode::Trunk { native, .. }, Segment::Vlan(vid)) if vid != *native => {
            Some(Tci { pcp: forwarding.pcp, dei: forwarding.dei, vid })
        }
        _ => None,
    }
}

/// `LTL 17, 50`, or `no other port in vlan 100`.
struct FloodList<'a> {
    config: &'a Snapshot,
    forwarding: &'a Forwarding,
}

impl fmt::Display for FloodList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut vteps = 0;
        for egress in egresses(self.config, self.forwarding) {
            if let Some(encap) = egress.encap {
                f.write_str(if vteps == 0 { if first { "" } else { "; " } } else { ", " })?;
                if vteps == 0 {
                    f.write_str("replicate to VTEPs ")?;
                }
                write!(f, "{}", encap.remote)?;
                vteps += 1;
                first = false;
                continue;
            }
            let id = self.config.id_of(egress.port);
            if first {
                write!(f, "{id}")?
            } else {
                write!(f, ", {}", id.0)?
            }
            first = false;
        }
        if first { write!(f, "no other port in {}", self.forwarding.segment) } else { Ok(()) }
    }
}
