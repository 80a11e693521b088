//! The port manager's uplinks: their devices opened at start, their links followed, and every
//! datapath snapshot completed with them — pins kept, moved vEthernets announced.

use std::collections::BTreeMap;
use std::sync::Arc;

use datapath::{PortId, Snapshot};

use super::{Inner, PortManager};
use crate::ports::record::PortsFile;
use crate::ports::status::Counted;
use crate::uplinks::link_watch::LinkReader;
use crate::uplinks::set::{announcements, moves};
use crate::uplinks::view::{uplink_status, uplink_view};
use crate::uplinks::{UplinkError, UplinkView};

impl PortManager {
    /// Opens every uplink's NIC as its datapath port, under its profile and current link state.
    /// Fails on a NIC that does not exist or that a vEthernet of `ports.json` already uses.
    pub async fn open_uplinks(&self) -> anyhow::Result<()> {
        let mut inner = self.inner.lock().await;
        if inner.uplinks.is_empty() {
            return Ok(());
        }
        let reader = LinkReader::open()?;
        let persisted = PortsFile::load(&self.ports_file).unwrap_or_default();
        let module = self.status.borrow().module;
        let uplinks: Vec<_> = inner.uplinks.iter().cloned().collect();
        for uplink in uplinks {
            if let Some(port) = persisted.ports.iter().find(|port| port.host_ifname == uplink.iface) {
                return Err(UplinkError::IsVethernet { iface: uplink.iface, veth: port.veth }.into());
            }
            let Some(up) = reader.link(&uplink.iface).await else {
                return Err(UplinkError::NoSuchInterface { iface: uplink.iface }.into());
            };
            inner.uplinks.set_link(&uplink.iface, up);
            let config =
                inner.uplinks.by_port(uplink.port()).map(|uplink| uplink.port_config(&inner.applied, module));
            if let Some(config) = config {
                self.dataplane.add_port(&uplink.iface, config).await?;
            }
            tracing::info!(
                "uplink {} on {} (LTL {}, port-profile {}), link {}",
                uplink.index,
                uplink.iface,
                uplink.port().0,
                uplink.profile,
                if up { "up" } else { "down" }
            );
        }
        Ok(())
    }

    /// The uplinks' NICs, by index.
    pub async fn uplink_ifaces(&self) -> Vec<String> {
        self.inner.lock().await.uplinks.iter().map(|uplink| uplink.iface.clone()).collect()
    }

    /// Records the NICs' link states; on a change re-programs the dataplane (vEthernets of a
    /// failed uplink move, and are announced). True when an uplink changed state.
    pub async fn set_uplink_links(&self, states: &BTreeMap<String, bool>) -> bool {
        let mut inner = self.inner.lock().await;
        let mut changed = false;
        for (iface, up) in states {
            if inner.uplinks.set_link(iface, *up) {
                tracing::info!("uplink {iface}: link {}", if *up { "up" } else { "down" });
                changed = true;
            }
        }
        if changed {
            self.program(&inner).await;
        }
        changed
    }

    /// Puts `veths` (the vEthernets' snapshot) in force with the uplinks added, every
    /// vEthernet keeping its pin where it can, and sends a RARP for each one that moved.
    pub(super) async fn install(&self, inner: &Inner, veths: &Snapshot) {
        let current = match self.dataplane.config().await {
            Ok(current) => current,
            Err(error) => {
                tracing::error!("cannot program the dataplane: {error}");
                return;
            }
        };
        let module = self.status.borrow().module;
        let complete = match inner.uplinks.complete(veths, &current, &inner.applied, module) {
            Ok(complete) => Arc::new(complete),
            // vEthernets and uplinks have LTLs of their own: this cannot happen.
            Err(error) => {
                tracing::error!("the ports and uplinks make no valid datapath configuration: {error}");
                return;
            }
        };
        if let Err(error) = self.dataplane.set_snapshot(Arc::clone(&complete)).await {
            tracing::error!("cannot program the dataplane: {error}");
            return;
        }
        let moved = moves(&current, &complete);
        for announcement in announcements(&moved, &complete) {
            let veth = inner.table.by_ltl(announcement.veth.0).map_or(0, |record| record.veth);
            let uplink = inner.uplinks.by_port(announcement.uplink).map_or("?", |uplink| &uplink.iface);
            match self.dataplane.transmit(announcement.uplink, announcement.frame).await {
                Ok(()) => tracing::info!(
                    "Vethernet{veth} ({}) pinned to uplink {uplink}: RARP sent",
                    announcement.mac.colon()
                ),
                Err(error) => {
                    tracing::warn!("Vethernet{veth} moved to uplink {uplink}: RARP not sent: {error}")
                }
            }
        }
    }

    /// Every uplink's view.
    pub(super) async fn uplink_views(&self, inner: &Inner) -> Vec<UplinkView> {
        let stats = self.stats_of(inner.uplinks.iter().map(|uplink| uplink.port().0)).await;
        self.uplink_views_counted(inner, &stats).await
    }

    /// Every uplink's view, with the counters of `stats` (by LTL).
    async fn uplink_views_counted(&self, inner: &Inner, stats: &BTreeMap<u32, Counted>) -> Vec<UplinkView> {
        if inner.uplinks.is_empty() {
            return Vec::new();
        }
        let Ok(current) = self.dataplane.config().await else { return Vec::new() };
        let pins: Vec<(PortId, PortId)> = current.pins().collect();
        inner
            .uplinks
            .iter()
            .filter_map(|uplink| {
                let config = current.port(uplink.port())?;
                let (_, reason) = uplink.state(&inner.applied);
                let pinned = pins
                    .iter()
                    .filter(|(_, to)| *to == uplink.port())
                    .map(|(veth, _)| (inner.table.by_ltl(veth.0).map_or(0, |record| record.veth), veth.0))
                    .collect();
                Some(uplink_view(uplink, config, reason, stats.get(&uplink.port().0), pinned))
            })
            .collect()
    }

    /// Names the MAC entries learned on uplinks (`Eth3/1`, not `LTL 17`) in `report`, and
    /// adds the uplinks' statuses.
    pub(super) async fn report_uplinks(&self, inner: &Inner, report: &mut proto::PortReport) {
        for entry in &mut report.macs {
            let uplink = inner.uplinks.iter().find(|uplink| entry.port == format!("LTL {}", uplink.port().0));
            if let Some(uplink) = uplink {
                entry.port = crate::uplinks::spec::short_name(Some(report.module), uplink.index);
            }
        }
        report.uplinks = self.uplink_statuses(inner).await;
    }

    /// The report's uplinks.
    async fn uplink_statuses(&self, inner: &Inner) -> Vec<proto::UplinkStatus> {
        let stats = self.stats_of(inner.uplinks.iter().map(|uplink| uplink.port().0)).await;
        self.uplink_views_counted(inner, &stats)
            .await
            .iter()
            .map(|view| uplink_status(view, stats.get(&view.ltl)))
            .collect()
    }
}
