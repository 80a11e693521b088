//! What the local API answers about ports ([`agent_api::ports::view`]), built from the table,
//! the datapath config and counters, pure.

use std::collections::BTreeMap;

use datapath::{
    Direction, DropCounters, MacKind, MacTableRow, Overlay, PortConfig, PortMode, PortStats, Segment,
    TrafficCounters,
};

use super::record::PortRecord;
use super::status::{Counted, PortState};
use crate::dataplane::{DeviceCounters, DeviceDrops, SwitchDrops};
pub use agent_api::ports::view::*;

/// One direction's counters as the local API carries them.
pub fn traffic(counters: &TrafficCounters) -> Traffic {
    Traffic {
        packets: counters.packets,
        bytes: counters.bytes,
        unicast: counters.unicast,
        multicast: counters.multicast,
        broadcast: counters.broadcast,
        flood: counters.flood,
    }
}

/// The reasons `drops` counted, in counter order.
pub fn drop_counts(drops: &DropCounters) -> Vec<DropCount> {
    drops
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(reason, count)| DropCount { reason: reason.text().to_owned(), count })
        .collect()
}

/// Every drop of the switch: the datapath's reasons, then what devices lost before the datapath
/// saw it (full receive rings, receive errors), those that happened.
pub fn total_drops(drops: &SwitchDrops) -> Vec<DropCount> {
    let mut counts = drop_counts(&drops.datapath);
    counts.extend(device_drop_counts(drops.devices));
    counts
}

fn device_drop_counts(drops: DeviceDrops) -> impl Iterator<Item = DropCount> {
    drops
        .reasons()
        .into_iter()
        .filter(|(_, _, count)| *count > 0)
        .map(|(_, reason, count)| DropCount { reason: reason.to_owned(), count })
}

/// Every drop of a port: the datapath's reasons, then its device's own (socket errors, full
/// rings), those that happened.
pub fn all_drops(counted: &Counted) -> Vec<DropCount> {
    let mut drops = drop_counts(&counted.stats.drops);
    drops.extend(device_drop_counts(counted.device.drops()));
    drops
}

/// One port's view.
pub fn port_view(
    record: &PortRecord,
    config: &PortConfig,
    state: PortState,
    counted: Option<&Counted>,
    link_up: bool,
) -> PortView {
    let (mode, vlan, allowed_vlans) = match &config.mode {
        PortMode::Access { segment: Segment::Vlan(vlan) } => ("access", *vlan, vlan.to_string()),
        PortMode::Access { segment } => ("access", 0, segment.to_string()),
        PortMode::Trunk { allowed, native } => ("trunk", *native, allowed.to_string()),
    };
    let counted = counted.cloned().unwrap_or_default();
    let stats = &counted.stats;
    let drops = all_drops(&counted);
    PortView {
        ltl: record.ltl,
        veth: record.veth,
        iface_id: record.iface_id.clone(),
        host_ifname: record.host_ifname.clone(),
        profile: record.profile.clone(),
        owner_name: record.owner_name.clone(),
        container_ifname: record.container_ifname.clone(),
        mac: record.mac.colon().to_string(),
        admin_up: config.admin_up,
        link_up,
        forwarding: config.is_forwarding(),
        reason: state.reason.to_owned(),
        mode: mode.to_owned(),
        vlan,
        allowed_vlans,
        rx: traffic(&stats.rx),
        tx: traffic(&stats.tx),
        rx_drops: counted.rx_drops(),
        tx_drops: counted.tx_drops(),
        drops,
    }
}

/// The MAC table rows of `segment` (every segment when `None`), bridge-domains named from
/// `names` (segment id → name), with `port_name` naming LTLs.
pub fn mac_views(
    rows: &[MacTableRow],
    segment: Option<Segment>,
    names: &BTreeMap<u32, String>,
    port_name: impl Fn(u32) -> String,
) -> Vec<MacView> {
    rows.iter()
        .filter(|row| segment.is_none_or(|wanted| wanted == row.segment))
        .map(|row| {
            let (vlan, segment_id) = match row.segment {
                Segment::Vlan(vlan) => (vlan, 0),
                Segment::BridgeDomain(vni) => (0, vni.get()),
            };
            MacView {
                vlan,
                bridge_domain: names.get(&segment_id).cloned().unwrap_or_default(),
                segment_id,
                mac: row.mac.colon().to_string(),
                kind: match row.kind {
                    MacKind::Static => "Static",
                    MacKind::Dynamic => "Dynamic",
                    MacKind::Installed => "SwInsta",
                }
                .to_owned(),
                ltl: row.port.0,
                port: port_name(row.port.0),
                age_secs: row.age_secs,
                remote_vtep: row.remote_vtep.map(|vtep| vtep.to_string()).unwrap_or_default(),
            }
        })
        .collect()
}

/// Finds the bridge-domain called `name` among `names` (segment id → name); the error lists
/// the ones this host knows.
pub fn bridge_domain_named(names: &BTreeMap<u32, String>, name: &str) -> Result<u32, String> {
    if let Some((&id, _)) = names.iter().find(|(_, known)| *known == name) {
        return Ok(id);
    }
    let known: Vec<String> =
        names.iter().filter(|(_, n)| !n.is_empty()).map(|(id, n)| format!("{n} (segment {id})")).collect();
    let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
    Err(format!("no bridge-domain {name:?} on this host; the bridge-domains it knows: {known}"))
}

/// The remote side of every bridge-domain in `names` or in `overlay` (the datapath's), with
/// the remote MACs of `rows` counted per segment.
pub fn bridge_domain_overlays(
    names: &BTreeMap<u32, String>,
    overlay: &Overlay,
    rows: &[MacTableRow],
) -> Vec<BridgeDomainOverlay> {
    let mut domains: BTreeMap<u32, BridgeDomainOverlay> = names
        .iter()
        .map(|(&segment_id, name)| {
            let domain = BridgeDomainOverlay {
                name: name.clone(),
                segment_id,
                remote_vteps: Vec::new(),
                installed_macs: 0,
                learned_macs: 0,
            };
            (segment_id, domain)
        })
        .collect();
    for (vni, segment) in &overlay.segments {
        let domain = domains.entry(vni.get()).or_insert_with(|| BridgeDomainOverlay {
            name: String::new(),
            segment_id: vni.get(),
            remote_vteps: Vec::new(),
            installed_macs: 0,
            learned_macs: 0,
        });
        domain.remote_vteps.clone_from(&segment.vteps);
    }
    for row in rows.iter().filter(|row| row.remote_vtep.is_some()) {
        let Segment::BridgeDomain(vni) = row.segment else { continue };
        let Some(domain) = domains.get_mut(&vni.get()) else { continue };
        match row.kind {
            MacKind::Installed => domain.installed_macs += 1,
            MacKind::Dynamic | MacKind::Static => domain.learned_macs += 1,
        }
    }
    domains.into_values().collect()
}

/// The tunnel's counters from the datapath's `stats` of the tunnel port and its socket's
/// `device` counters.
pub fn tunnel_counters(stats: &PortStats, device: &DeviceCounters) -> TunnelCounters {
    let input_drops = stats.drops.in_direction(Direction::Input);
    let mut drops = drop_counts(&stats.drops);
    let socket = [
        ("receive buffer full (dropped by the kernel)", device.rx_kernel_drops),
        ("receive error", device.rx_errors),
        ("socket send buffer full", device.tx_busy),
        ("refused by the kernel (longer than the underlay MTU with DF set)", device.tx_rejected),
        ("underlay down or unreachable", device.tx_link_down),
    ];
    drops.extend(
        socket
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(reason, count)| DropCount { reason: reason.to_owned(), count }),
    );
    TunnelCounters {
        encapsulated: traffic(&stats.tx),
        sent_datagrams: device.tx_frames,
        sent_bytes: device.tx_bytes,
        received: traffic(&stats.rx),
        decapsulated: stats.rx.packets.saturating_sub(input_drops),
        drops,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    use datapath::{PortId, TUNNEL_PORT, VlanBitmap};
    use wire::{MacAddr, Vni};

    use super::*;
    use crate::ports::record::testing::record;

    #[test]
    fn port_views_say_mode_vlans_and_state() {
        let record = record(2, 50, "web");
        let access = PortConfig::access(PortId(50), "Veth2", Segment::Vlan(100), "web");
        let view = port_view(
            &record,
            &access,
            PortState { up: true, reason: "", mode: "access", vlan: 100 },
            None,
            true,
        );
        assert_eq!((view.mode.as_str(), view.vlan, view.allowed_vlans.as_str()), ("access", 100, "100"));
        assert!(view.forwarding && view.admin_up && view.link_up);
        let allowed: VlanBitmap = [100, 101, 102, 200].into_iter().collect();
        let trunk = PortConfig::trunk(PortId(50), "Veth2", allowed, 1, "web");
        let view = port_view(&record, &trunk, PortState::of(None), None, false);
        assert_eq!((view.mode.as_str(), view.vlan), ("trunk", 1));
        assert!(view.allowed_vlans.starts_with("100-102"), "{}", view.allowed_vlans);
    }

    fn row(segment: Segment, last: u8, kind: MacKind, port: u32, vtep: Option<[u8; 4]>) -> MacTableRow {
        MacTableRow {
            segment,
            mac: MacAddr([2, 0, 0, 0, 0, last]),
            kind,
            port: PortId(port),
            age_secs: 3,
            remote_vtep: vtep.map(Ipv4Addr::from),
        }
    }

    fn red() -> Segment {
        Segment::BridgeDomain(Vni::new(5000).expect("24 bits"))
    }

    #[test]
    fn mac_views_filter_by_segment_and_name_bridge_domains() {
        let rows = [
            row(Segment::Vlan(100), 1, MacKind::Dynamic, 49, None),
            row(Segment::Vlan(200), 2, MacKind::Dynamic, 49, None),
            row(red(), 3, MacKind::Static, 50, None),
            row(red(), 4, MacKind::Installed, 10, Some([10, 77, 0, 12])),
        ];
        let names = BTreeMap::from([(5000, "tenant-red".to_owned())]);
        let views = mac_views(&rows, Some(Segment::Vlan(200)), &names, |ltl| format!("L{ltl}"));
        assert_eq!(views.len(), 1);
        assert_eq!(
            (views[0].mac.as_str(), views[0].kind.as_str(), views[0].port.as_str(), views[0].vlan),
            ("02:00:00:00:00:02", "Dynamic", "L49", 200)
        );
        assert_eq!(
            (views[0].segment_id, views[0].bridge_domain.as_str(), views[0].remote_vtep.as_str()),
            (0, "", "")
        );
        let views = mac_views(&rows, Some(red()), &names, |ltl| format!("L{ltl}"));
        assert_eq!(views.len(), 2);
        let remote = &views[1];
        assert_eq!(
            (remote.vlan, remote.segment_id, remote.bridge_domain.as_str(), remote.kind.as_str()),
            (0, 5000, "tenant-red", "SwInsta")
        );
        assert_eq!((remote.ltl, remote.remote_vtep.as_str(), remote.age_secs), (10, "10.77.0.12", 3));
        assert_eq!(views[0].remote_vtep, "", "a local MAC has no VTEP");
        assert_eq!(mac_views(&rows, None, &BTreeMap::new(), |_| String::new()).len(), 4);
    }

    #[test]
    fn an_unknown_bridge_domain_lists_the_known_ones() {
        let names = BTreeMap::from([(6000, "tenant-blue".to_owned()), (5000, "tenant-red".to_owned())]);
        assert_eq!(bridge_domain_named(&names, "tenant-blue"), Ok(6000));
        assert_eq!(
            bridge_domain_named(&names, "tenant-green"),
            Err("no bridge-domain \"tenant-green\" on this host; the bridge-domains it knows: \
                 tenant-red (segment 5000), tenant-blue (segment 6000)"
                .to_owned())
        );
        assert_eq!(
            bridge_domain_named(&BTreeMap::new(), "x"),
            Err("no bridge-domain \"x\" on this host; the bridge-domains it knows: none".to_owned())
        );
    }

    #[test]
    fn bridge_domain_overlays_count_remote_macs_per_segment() {
        let vtep = Ipv4Addr::new(10, 77, 0, 12);
        let blue = Vni::new(6000).expect("24 bits");
        let overlay = Overlay {
            local_vtep: Some(Ipv4Addr::new(10, 77, 0, 11)),
            segments: BTreeMap::from([
                (
                    Vni::new(5000).expect("24 bits"),
                    datapath::OverlaySegment { vteps: vec![vtep], macs: vec![] },
                ),
                (blue, datapath::OverlaySegment::default()),
            ]),
        };
        let rows = [
            row(red(), 3, MacKind::Static, 50, None),
            row(red(), 4, MacKind::Installed, 10, Some([10, 77, 0, 12])),
            row(red(), 5, MacKind::Installed, 10, Some([10, 77, 0, 12])),
            row(red(), 6, MacKind::Dynamic, 10, Some([10, 77, 0, 12])),
        ];
        let names = BTreeMap::from([(5000, "tenant-red".to_owned())]);
        let domains = bridge_domain_overlays(&names, &overlay, &rows);
        assert_eq!(
            domains,
            [
                BridgeDomainOverlay {
                    name: "tenant-red".into(),
                    segment_id: 5000,
                    remote_vteps: vec![vtep],
                    installed_macs: 2,
                    learned_macs: 1
                },
                BridgeDomainOverlay {
                    name: String::new(),
                    segment_id: 6000,
                    remote_vteps: vec![],
                    installed_macs: 0,
                    learned_macs: 0
                },
            ]
        );
    }

    /// The tunnel's counters after a datapath with Veth1 in bridge-domain 5000 (remote VTEP
    /// 10.77.0.12) received `payloads` from `source`.
    fn tunnel_stats(payloads: &[&[u8]], source: Ipv4Addr) -> PortStats {
        let veth = PortConfig::access(PortId(49), "Veth1", red(), "red");
        let overlay = Overlay {
            local_vtep: Some(Ipv4Addr::new(10, 77, 0, 11)),
            segments: BTreeMap::from([(
                Vni::new(5000).expect("24 bits"),
                datapath::OverlaySegment { vteps: vec![Ipv4Addr::new(10, 77, 0, 12)], macs: vec![] },
            )]),
        };
        let snapshot = datapath::Snapshot::new(vec![veth]).expect("valid").with_overlay(overlay);
        let mut datapath = datapath::Datapath::new(&datapath::Settings::default(), Arc::new(snapshot));
        let mut rx = datapath::RxBatch::new(8, 2048);
        for payload in payloads {
            assert!(rx.push_tunneled(TUNNEL_PORT, payload, source));
        }
        let mut tx = datapath::TxBatch::new(8);
        datapath.process(std::time::Duration::ZERO, &rx, &mut tx);
        datapath.port_stats(TUNNEL_PORT).expect("the tunnel is counted").clone()
    }

    #[test]
    fn the_switch_total_counts_what_devices_lost_before_the_datapath() {
        let mut datapath = DropCounters::default();
        datapath.add(datapath::DropReason::PortDown, 50);
        let drops = SwitchDrops { datapath, devices: DeviceDrops { rx_buffer_full: 1_970_000, rx_error: 0 } };
        let total = total_drops(&drops);
        let counts: Vec<(&str, u64)> = total.iter().map(|drop| (drop.reason.as_str(), drop.count)).collect();
        assert_eq!(counts, [("port down", 50), ("receive buffer full (dropped by the kernel)", 1_970_000)]);
    }

    #[test]
    fn tunnel_counters_take_drops_out_of_what_was_decapsulated() {
        // VXLAN header (I flag, VNI) then a broadcast ARP frame's first bytes.
        let vxlan = |vni: u32| {
            let mut payload = vec![0x08, 0, 0, 0];
            payload.extend_from_slice(&(vni << 8).to_be_bytes());
            payload.extend_from_slice(&[0xff; 6]);
            payload.extend_from_slice(&[2, 0, 0, 0, 0, 0x99, 0x08, 0x06]);
            payload.resize(8 + 60, 0);
            payload
        };
        let (good, unknown) = (vxlan(5000), vxlan(7000));
        let stats = tunnel_stats(&[&good, &unknown, &unknown, &[0x08, 0]], Ipv4Addr::new(10, 77, 0, 12));
        let device =
            DeviceCounters { tx_frames: 9, tx_bytes: 1500, tx_rejected: 1, ..DeviceCounters::default() };
        let counters = tunnel_counters(&stats, &device);
        assert_eq!((counters.sent_datagrams, counters.sent_bytes), (9, 1500));
        assert_eq!((counters.received.packets, counters.decapsulated), (4, 1));
        let reasons: Vec<(&str, u64)> =
            counters.drops.iter().map(|drop| (drop.reason.as_str(), drop.count)).collect();
        assert_eq!(
            reasons,
            [
                ("VXLAN header short or without the I flag", 1),
                ("VXLAN segment id of no local bridge-domain", 2),
                ("refused by the kernel (longer than the underlay MTU with DF set)", 1)
            ]
        );
    }
}
