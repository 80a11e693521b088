//! The host views: ports with their counters, the MAC table, traces. Read-only.

use std::collections::BTreeMap;

use datapath::{PortId, Segment, TUNNEL_NAME, TUNNEL_PORT};
use wire::Vni;

use super::{Inner, PortManager};
use crate::attach::host_link_carrier;
use crate::ports::PortError;
use crate::ports::flow_view::{self, ConntrackView, FlowView};
use crate::ports::record::PortRecord;
use crate::ports::spec::parse_vethernet;
use crate::ports::status::PortState;
use crate::ports::table::PortTable;
use crate::ports::view::{self, MacView, PortsView, TraceView, VxlanView};
use crate::uplinks::spec::short_name;

impl PortManager {
    /// Every port, for `vemcmd show port|stats|drops`.
    pub async fn ports_view(&self) -> PortsView {
        let carrier = host_link_carrier().await;
        let inner = self.inner.lock().await;
        let effective = inner.table.effective_policies(&inner.applied);
        let stats = self.stats(&inner.table).await;
        let ports = inner
            .table
            .iter()
            .filter_map(|record| {
                let config = inner.table.port_config(record.ltl, &inner.applied)?;
                let state = PortState::of(effective.get(&record.profile));
                let link_up = carrier.get(&record.host_ifname).copied().unwrap_or(false);
                Some(view::port_view(record, &config, state, stats.get(&record.ltl), link_up))
            })
            .collect();
        let uplinks = self.uplink_views(&inner).await;
        let total_drops =
            self.dataplane.drops().await.map(|drops| view::total_drops(&drops)).unwrap_or_default();
        PortsView { ports, uplinks, total_drops }
    }

    /// The MAC table of `vlan` (every VLAN and bridge-domain when `None`), for `vemcmd show l2`.
    /// `overlay_names` (segment id → name, from the supervisor's overlay) names bridge-domains
    /// the policies in force do not.
    pub async fn mac_table(
        &self,
        vlan: Option<u16>,
        overlay_names: &BTreeMap<u32, String>,
    ) -> Result<Vec<MacView>, PortError> {
        let rows = self.dataplane.mac_table().await?;
        let inner = self.inner.lock().await;
        let names = bridge_domain_names(&inner, overlay_names);
        Ok(view::mac_views(&rows, vlan.map(Segment::Vlan), &names, self.port_namer(&inner)))
    }

    /// The MAC table of the bridge-domain called `name`, for `vemcmd show l2 bd-name NAME`:
    /// its segment id and entries. An unknown name is an error listing the known ones.
    pub async fn bridge_domain_mac_table(
        &self,
        name: &str,
        overlay_names: &BTreeMap<u32, String>,
    ) -> Result<(u32, Vec<MacView>), PortError> {
        let rows = self.dataplane.mac_table().await?;
        let inner = self.inner.lock().await;
        let names = bridge_domain_names(&inner, overlay_names);
        let segment_id = view::bridge_domain_named(&names, name).map_err(PortError::Invalid)?;
        let segment = Vni::new(segment_id).map(Segment::BridgeDomain);
        let entries = match segment {
            Some(segment) => view::mac_views(&rows, Some(segment), &names, self.port_namer(&inner)),
            None => Vec::new(),
        };
        Ok((segment_id, entries))
    }

    /// The VXLAN side of this host, for `vemcmd show vxlan`: the bridge-domains (named from the
    /// policies, then `overlay_names`) with their remote VTEPs and MACs as the datapath runs them,
    /// and the tunnel's counters. `vtep` is filled in by the caller, which knows the address.
    pub async fn vxlan_view(&self, overlay_names: &BTreeMap<u32, String>) -> Result<VxlanView, PortError> {
        let snapshot = self.dataplane.config().await?;
        let rows = self.dataplane.mac_table().await?;
        let stats = self.dataplane.port_stats(TUNNEL_PORT).await?.unwrap_or_default();
        let devices = self.dataplane.devices().await?;
        let device = devices.iter().find(|device| device.port == TUNNEL_PORT).map(|device| device.counters);
        let names = {
            let inner = self.inner.lock().await;
            bridge_domain_names(&inner, overlay_names)
        };
        Ok(VxlanView {
            vtep: None,
            bridge_domains: view::bridge_domain_overlays(&names, snapshot.overlay(), &rows),
            tunnel: view::tunnel_counters(&stats, &device.unwrap_or_default()),
        })
    }

    /// Names LTLs for the host views: `Veth3`, `Eth3/1`, `vxlan`, or empty.
    fn port_namer<'a>(&self, inner: &'a Inner) -> impl Fn(u32) -> String + 'a {
        let module = self.status.borrow().module;
        move |ltl| {
            if ltl == TUNNEL_PORT.0 {
                return TUNNEL_NAME.to_owned();
            }
            if let Some(uplink) = inner.uplinks.by_port(PortId(ltl)) {
                return short_name(module, uplink.index);
            }
            inner.table.by_ltl(ltl).map(PortRecord::short_name).unwrap_or_default()
        }
    }

    /// Runs `frame` through the datapath as if received on `port` (`Veth3`, `Vethernet3`, or
    /// an LTL number) and returns each decision.
    /// `vemcmd show conntrack`: the connection tracker's fill and connections.
    pub async fn conntrack_view(&self) -> Result<ConntrackView, PortError> {
        let connections = self.dataplane.connections().await?;
        let state = self.dataplane.policy_state().await?;
        let inner = self.inner.lock().await;
        let name_of = self.port_namer(&inner);
        Ok(flow_view::conntrack_view(&connections, &state.flow_table, state.conntrack_full, |port| {
            name_of(port.0)
        }))
    }

    /// `vemcmd clear conntrack`.
    pub async fn clear_conntrack(&self) -> Result<(), PortError> {
        Ok(self.dataplane.clear_conntrack().await?)
    }

    /// `vemcmd show flows`: every flow of the flow table.
    pub async fn flow_views(&self) -> Result<Vec<FlowView>, PortError> {
        let flows = self.dataplane.flows().await?;
        let now = self.dataplane.clock();
        let inner = self.inner.lock().await;
        let name_of = self.port_namer(&inner);
        Ok(flow_view::flow_views(&flows, now, |port| name_of(port.0)))
    }

    pub async fn trace(&self, port: &str, frame: Vec<u8>) -> Result<TraceView, PortError> {
        let (ltl, label) = {
            let inner = self.inner.lock().await;
            resolve_port(&inner.table, port)?
        };
        let lines = self.dataplane.trace(PortId(ltl), frame).await?;
        Ok(TraceView { port: label, lines })
    }
}

/// The bridge-domains this host knows, segment id → name: those of the policies in force, then
/// those only the supervisor's overlay names.
fn bridge_domain_names(inner: &Inner, overlay_names: &BTreeMap<u32, String>) -> BTreeMap<u32, String> {
    let mut names = overlay_names.clone();
    for domain in inner.applied.policies.values().filter_map(|entry| entry.policy.bridge_domain.as_ref()) {
        names.insert(domain.segment_id, domain.name.clone());
    }
    names
}

/// A trace's ingress port: `Veth3`/`Vethernet3` by vEthernet, a bare number by LTL; with its
/// label (`Veth3 (LTL 51)`).
fn resolve_port(table: &PortTable, text: &str) -> Result<(u32, String), PortError> {
    let by_number = text.trim().parse::<u32>();
    let record = match by_number {
        Ok(ltl) => table.by_ltl(ltl),
        Err(_) => table.by_veth(parse_vethernet(text).map_err(PortError::Invalid)?),
    };
    match (record, by_number) {
        (Some(record), _) => Ok((record.ltl, format!("{} (LTL {})", record.short_name(), record.ltl))),
        // An LTL with no vEthernet: the datapath says what it makes of it.
        (None, Ok(ltl)) => Ok((ltl, format!("LTL {ltl}"))),
        (None, Err(_)) => Err(PortError::NotAttached(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::record::testing::record;

    #[test]
    fn traces_name_ports_by_vethernet_or_ltl() {
        let mut table = PortTable::default();
        table.insert(record(3, 51, "web"));
        let veth3 = (51, "Veth3 (LTL 51)".to_owned());
        assert_eq!(resolve_port(&table, "Veth3").expect("veth"), veth3);
        assert_eq!(resolve_port(&table, "vethernet3").expect("veth"), veth3);
        assert_eq!(resolve_port(&table, "51").expect("ltl"), veth3);
        assert_eq!(resolve_port(&table, "17").expect("uplink ltl"), (17, "LTL 17".to_owned()));
        assert!(matches!(resolve_port(&table, "Veth4"), Err(PortError::NotAttached(_))));
        assert!(matches!(resolve_port(&table, "Eth3/1"), Err(PortError::Invalid(_))));
    }
}
