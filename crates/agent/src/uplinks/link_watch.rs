//! Follows the uplinks' NICs: up with carrier or not, read over route netlink every
//! [`LINK_POLL`], so a failed uplink's vEthernets move to another well within a second.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use rtnetlink::packet_route::link::LinkFlags;
use tokio::time::MissedTickBehavior;

use crate::ports::PortManager;

/// How often the uplinks' link states are read.
pub const LINK_POLL: Duration = Duration::from_millis(50);

/// Reads links over one route-netlink connection (in the network namespace of the thread
/// that opened it).
#[derive(Debug)]
pub struct LinkReader {
    handle: rtnetlink::Handle,
    driver: tokio::task::JoinHandle<()>,
}

impl LinkReader {
    /// Opens the connection; its driver runs on the current tokio runtime.
    pub fn open() -> std::io::Result<Self> {
        let (connection, handle, _) = rtnetlink::new_connection()?;
        Ok(Self { handle, driver: tokio::spawn(connection) })
    }

    /// Whether `iface` is up with carrier; `None` when there is no such interface (or it
    /// cannot be read).
    pub async fn link(&self, iface: &str) -> Option<bool> {
        let mut reply = self.handle.link().get().match_name(iface.to_owned()).execute();
        let message = reply.try_next().await.ok()??;
        let flags = message.header.flags;
        Some(flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::LowerUp))
    }

    /// Whether each of `ifaces` is up with carrier; one that is gone is down.
    pub async fn states(&self, ifaces: &[String]) -> BTreeMap<String, bool> {
        let mut states = BTreeMap::new();
        for iface in ifaces {
            states.insert(iface.clone(), self.link(iface).await.unwrap_or(false));
        }
        states
    }
}

impl Drop for LinkReader {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Reads the uplinks' link states every [`LINK_POLL`] and hands every change to the port
/// manager (which re-pins and announces). Ends when the agent stops; returns at once without
/// uplinks.
pub async fn follow_links(ports: Arc<PortManager>) {
    let ifaces: Vec<String> = ports.uplink_ifaces().await;
    if ifaces.is_empty() {
        return;
    }
    let reader = match LinkReader::open() {
        Ok(reader) => reader,
        Err(error) => {
            tracing::error!("cannot follow the uplinks' links (netlink: {error}); they stay as they are");
            return;
        }
    };
    let mut tick = tokio::time::interval(LINK_POLL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let states = reader.states(&ifaces).await;
        if ports.set_uplink_links(&states).await {
            ports.report_logged().await;
        }
    }
}
