//! The port manager's background tasks: live policy, periodic reports, re-binding on connect.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::PortManager;
use crate::policy_feed::PolicyFeed;
use crate::status::{AgentStatus, ConnectionState};

/// How often the complete port report goes to the supervisor besides state changes.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(5);

/// Re-programs the ports on every policy snapshot (a profile change reaches the datapath here)
/// and reports when a port's state changed. Ends when the agent stops.
pub async fn follow_policies(ports: Arc<PortManager>, mut feed: PolicyFeed) {
    while feed.changed().await.is_some() {
        if ports.apply_policies().await {
            ports.report_logged().await;
        }
    }
}

/// How often the datapath's events are logged and its expired flows exported.
pub const DATAPATH_POLL: Duration = Duration::from_secs(1);

/// Every [`DATAPATH_POLL`] logs what the datapath's policy did (violations, error-disabled
/// ports, DHCP bindings) and exports the flows due; reports at once when a port went down.
/// Ends when the agent stops.
pub async fn follow_datapath(ports: Arc<PortManager>) {
    let mut tick = tokio::time::interval(DATAPATH_POLL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if ports.follow_datapath().await {
            ports.report_logged().await;
        }
    }
}

/// Every [`REPORT_INTERVAL`] forgets the ports whose link vanished (a container removed without
/// a detach) and reports; on every (re)connection binds the ports again and releases the
/// bindings of ports that left meanwhile, then reports. Ends when the agent stops.
pub async fn report_and_rebind(ports: Arc<PortManager>, mut status: watch::Receiver<AgentStatus>) {
    let mut tick = tokio::time::interval(REPORT_INTERVAL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut session: Option<(u64, u32)> = None;
    loop {
        let now = status.borrow_and_update().clone();
        let current = match (now.state, now.module) {
            (ConnectionState::Connected, Some(module)) => Some((now.session, module)),
            _ => None,
        };
        if current.is_some() && current != session {
            ports.rebind().await;
            ports.report_logged().await;
            tick.reset();
        }
        session = current;
        tokio::select! {
            _ = tick.tick() => {
                ports.forget_vanished().await;
                ports.report_logged().await;
            }
            changed = status.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}
