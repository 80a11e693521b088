//! The forwarding decision for one frame, shared by `process` (silent, allocation-free) and
//! `trace` (which narrates every step): ingress port policy → segment → source learning →
//! destination lookup → egress ports and tags.
//!
//! Deciding only reads the snapshot and the MAC table; the caller applies the decision (learns,
//! counts, emits). That split is what lets `trace` run the very same code without side effects.

use core::fmt;
use core::slice;

use wire::{EtherType, MacAddr, Tci, ethernet, vlan};

use crate::batch::RxFrame;
use crate::mac_table::{Learn, MacKind, MacTable};
use crate::port::{PortConfig, PortMode, ProfileBinding};
use crate::snapshot::{PortIndex, Snapshot};
use crate::{DropReason, Segment};

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
    /// One known port.
    Port(PortIndex),
    /// Every other forwarding port of the segment.
    Flood(FloodCause),
    /// Nowhere, after learning (the destination is behind the ingress port).
    Discard(DropReason),
}

/// A frame accepted into a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Forwarding {
    pub ingress: PortIndex,
    pub segment: Segment,
    pub src: MacAddr,
    pub learn: Learn,
    pub destination: Destination,
    /// Where the payload starts after the addresses: 12, or 16 past an ingress tag.
    pub body_offset: u8,
    /// Priority and drop eligibility to keep if the frame leaves tagged.
    pub pcp: u8,
    pub dei: bool,
}

/// The decision about one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// The ingress port, if the datapath knows it.
    pub ingress: Option<PortIndex>,
    pub outcome: Result<Forwarding, DropReason>,
}

/// Decides what happens to `frame`, which arrived on `ingress` (already looked up).
pub(crate) fn decide<O: Observer>(
    config: &Snapshot,
    macs: &MacTable,
    now: u64,
    frame: RxFrame<'_>,
    ingress: Option<PortIndex>,
    observer: &mut O,
) -> Decision {
    let Some(index) = ingress else {
        note!(observer, "drop: {} is not a port of this datapath", frame.port);
        return Decision { ingress, outcome: Err(DropReason::NoIngressPort) };
    };
    let outcome = accept(config, macs, now, frame, index, observer);
    if let Err(reason) = outcome {
        note!(observer, "dropped: {reason}");
    }
    Decision { ingress, outcome }
}

fn accept<O: Observer>(
    config: &Snapshot,
    macs: &MacTable,
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

    let src = ethernet.src_addr();
    if src.is_multicast() || src.is_zero() {
        note!(observer, "source MAC {src} is not a unicast address");
        return Err(DropReason::SourceMacInvalid);
    }
    let learn = match MacTable::plan(macs.lookup(&(segment, src), now), index, now) {
        Ok(learn) => learn,
        Err(owner) => {
            let owner = config.by_index(owner);
            note!(observer, "source MAC {src} is the static MAC of {} ({})", owner.name, owner.id);
            return Err(DropReason::SourceMacStatic);
        }
    };
    narrate_learning(config, port, src, learn, observer);

    let dst = ethernet.dst_addr();
    let destination = if dst.is_broadcast() {
        Destination::Flood(FloodCause::Broadcast)
    } else if dst.is_multicast() {
        Destination::Flood(FloodCause::Multicast)
    } else {
        match macs.lookup(&(segment, dst), now) {
            Some(entry) if entry.port == index => Destination::Discard(DropReason::DestinationIsIngress),
            Some(entry) => {
                let kind = if entry.kind == MacKind::Static { "static" } else { "dynamic" };
                note!(observer, "destination {dst} is on {} ({kind})", config.by_index(entry.port).id);
                Destination::Port(entry.port)
            }
            None => Destination::Flood(FloodCause::UnknownUnicast),
        }
    };
    let (pcp, dei) = tci.map_or((0, false), |tci| (tci.pcp, tci.dei));
    let forwarding = Forwarding { ingress: index, segment, src, learn, destination, body_offset, pcp, dei };
    if let Destination::Flood(cause) = destination {
        let cause = match cause {
            FloodCause::Broadcast => "broadcast",
            FloodCause::Multicast => "multicast",
            FloodCause::UnknownUnicast => "destination unknown",
        };
        note!(observer, "{cause} {dst}: flood to {}", FloodList { config, forwarding: &forwarding });
    }
    if let Destination::Discard(_) = destination {
        note!(observer, "destination {dst} is on the ingress port");
    }
    Ok(forwarding)
}

/// The 802.1Q tag, if any, and where the payload starts after it.
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
    port: &PortConfig,
    src: MacAddr,
    learn: Learn,
    observer: &mut O,
) {
    match learn {
        Learn::New => note!(observer, "learn {src} on {} (new entry)", port.id),
        Learn::Move { from } => {
            note!(observer, "learn {src} on {} (moved from {})", port.id, config.by_index(from).id)
        }
        Learn::Refresh => note!(observer, "source {src} known on {} (refreshed)", port.id),
        Learn::Nothing => note!(observer, "source {src} known on {}", port.id),
    }
}

/// The ports a forwarded frame leaves by, each with the tag it leaves with. Never the ingress
/// port.
pub(crate) fn egresses<'c>(
    config: &'c Snapshot,
    forwarding: &'c Forwarding,
) -> impl Iterator<Item = (PortIndex, Option<Tci>)> + 'c {
    let ports: &[PortIndex] = match &forwarding.destination {
        Destination::Port(port) => slice::from_ref(port),
        Destination::Flood(_) => config.flood_list(forwarding.segment),
        Destination::Discard(_) => &[],
    };
    ports
        .iter()
        .filter(move |&&port| port != forwarding.ingress)
        .map(move |&port| (port, egress_tag(config.by_index(port), forwarding)))
}

/// Trunks tag every VLAN but the native one; access ports send untagged.
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
        for (port, _) in egresses(self.config, self.forwarding) {
            let id = self.config.by_index(port).id;
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
