//! The host views: ports with their counters, the MAC table, traces. Read-only.

use datapath::PortId;

use super::PortManager;
use crate::attach::host_link_carrier;
use crate::ports::PortError;
use crate::ports::record::PortRecord;
use crate::ports::spec::parse_vethernet;
use crate::ports::status::PortState;
use crate::ports::table::PortTable;
use crate::ports::view::{self, MacView, PortsView, TraceView};

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
            self.dataplane.drops().await.map(|drops| view::drop_counts(&drops)).unwrap_or_default();
        PortsView { ports, uplinks, total_drops }
    }

    /// The MAC table of `vlan` (every VLAN when `None`), for `vemcmd show l2`.
    pub async fn mac_table(&self, vlan: Option<u16>) -> Result<Vec<MacView>, PortError> {
        let rows = self.dataplane.mac_table().await?;
        let inner = self.inner.lock().await;
        let name = |ltl| inner.table.by_ltl(ltl).map(PortRecord::short_name).unwrap_or_default();
        Ok(view::mac_views(&rows, vlan, name))
    }

    /// Runs `frame` through the datapath as if received on `port` (`Veth3`, `Vethernet3`, or
    /// an LTL number) and returns each decision.
    pub async fn trace(&self, port: &str, frame: Vec<u8>) -> Result<TraceView, PortError> {
        let (ltl, label) = {
            let inner = self.inner.lock().await;
            resolve_port(&inner.table, port)?
        };
        let lines = self.dataplane.trace(PortId(ltl), frame).await?;
        Ok(TraceView { port: label, lines })
    }
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
