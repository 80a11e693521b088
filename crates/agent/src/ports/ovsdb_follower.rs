//! The agent's side of OVSDB (`--ovsdb unix:PATH --ovs-bridge NAME`): the ports follow the
//! Interface rows of the agent's bridge, and the rows show the ports. Each configuration the
//! database asks for (`next_cfg`) is acknowledged (`cur_cfg`) once its ports are in place, as
//! ovs-vswitchd does, so `ovs-vsctl add-port` without `--no-wait` returns when the port
//! forwards — or says why it does not.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use super::PortManager;
use super::adoption::{self, RowFailure};
use crate::attach::host_link_carrier;
use crate::ovsdb::{DesiredState, InterfaceState, OvsdbEvent, OvsdbHandle};
use crate::status::{AgentStatus, ConnectionState};

/// How often rows that failed for a reason that may pass (no such interface yet, the
/// supervisor away) are retried, and carrier changes written to the rows.
pub const ROW_POLL: Duration = Duration::from_secs(1);

/// How long an acknowledgement may wait for the supervisor to number new ports. An agent
/// started a moment before `ovs-vsctl add-port` (as the bench script does) has not joined yet;
/// answering at once would fail the port for nothing.
pub const SUPERVISOR_GRACE: Duration = Duration::from_millis(1500);

/// Follows the OVSDB client's events until it stops (every handle dropped). `status` is the
/// supervisor link's: a (re)connection retries the rows that waited for it.
pub async fn follow_ovsdb(
    ports: Arc<PortManager>,
    ovsdb: OvsdbHandle,
    mut events: mpsc::Receiver<OvsdbEvent>,
    mut status: watch::Receiver<AgentStatus>,
    bridge: String,
) {
    let mut changes = ports.changes();
    let mut follower = Follower {
        ports,
        ovsdb,
        bridge,
        latest: None,
        failures: BTreeMap::new(),
        written: None,
        unacked: None,
    };
    let mut tick = tokio::time::interval(ROW_POLL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut connected = connected_module(&status.borrow());
    loop {
        let deadline = follower.unacked.map(|(_, deadline)| deadline);
        tokio::select! {
            biased;
            event = events.recv() => match event {
                Some(OvsdbEvent::Changed(state)) => follower.changed(state).await,
                Some(OvsdbEvent::Connected) => {}
                Some(OvsdbEvent::Disconnected { .. }) => {
                    // The rows are written again in full with the next connection's first view.
                    follower.written = None;
                    follower.unacked = None;
                }
                None => return,
            },
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                follower.refresh(Retry::All).await;
            }
            changed = status.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = connected_module(&status.borrow_and_update());
                if now != connected {
                    connected = now;
                    follower.refresh(Retry::All).await;
                }
            }
            () = sleep_until(deadline), if deadline.is_some() => follower.refresh(Retry::Transient).await,
            _ = tick.tick() => follower.refresh(Retry::Transient).await,
        }
    }
}

/// Which failed rows to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Every row: something changed that may cure any failure.
    All,
    /// The rows whose failure may pass on its own.
    Transient,
}

struct Follower {
    ports: Arc<PortManager>,
    ovsdb: OvsdbHandle,
    bridge: String,
    /// The database's latest view of the bridge.
    latest: Option<DesiredState>,
    /// Rows that are not (fully) ports, by interface name.
    failures: BTreeMap<String, RowFailure>,
    /// The rows as last written.
    written: Option<Vec<InterfaceState>>,
    /// The configuration to acknowledge, and until when it may wait for the supervisor.
    unacked: Option<(i64, Instant)>,
}

impl Follower {
    /// A new view of the rows: make the ports, then acknowledge.
    async fn changed(&mut self, state: DesiredState) {
        let next_cfg = state.next_cfg;
        self.latest = Some(state);
        self.sync(Retry::All).await;
        // A newer configuration waits no longer than the oldest one not yet acknowledged.
        let deadline =
            self.unacked.map_or_else(|| Instant::now() + SUPERVISOR_GRACE, |(_, deadline)| deadline);
        self.unacked = Some((next_cfg, deadline));
        self.settle().await;
    }

    async fn refresh(&mut self, retry: Retry) {
        if self.latest.is_some() {
            self.sync(retry).await;
            self.settle().await;
        }
    }

    /// Makes the ports follow the latest rows and notes the rows that fail.
    async fn sync(&mut self, retry: Retry) {
        let Some(latest) = &self.latest else { return };
        let skip: BTreeSet<String> = match retry {
            Retry::All => BTreeSet::new(),
            Retry::Transient => self
                .failures
                .iter()
                .filter(|(_, failure)| !failure.transient)
                .map(|(name, _)| name.clone())
                .collect(),
        };
        let fresh = self.ports.sync_ovsdb(&self.bridge, &latest.desired, &skip).await;
        let mut failures: BTreeMap<String, RowFailure> =
            fresh.iter().map(|(name, error)| (name.clone(), RowFailure::of(error))).collect();
        for name in skip {
            if let Some(failure) = self.failures.remove(&name)
                && latest.desired.iter().any(|port| port.ifname == name)
            {
                failures.entry(name).or_insert(failure);
            }
        }
        for (name, failure) in &failures {
            if self.failures.get(name) != Some(failure) {
                tracing::warn!(bridge = %self.bridge, "ovsdb: interface {name}: {}", failure.message);
            }
        }
        self.failures = failures;
    }

    /// Acknowledges the pending configuration once its rows are settled (or waited long enough
    /// for the supervisor); otherwise writes the rows that changed.
    async fn settle(&mut self) {
        let Some(latest) = &self.latest else { return };
        let carrier = host_link_carrier().await;
        let adopted = self.ports.adopted_ports().await;
        let rows = adoption::rows(
            latest,
            &adopted,
            |name| carrier.get(name).copied().unwrap_or(false),
            &self.failures,
        );
        if let Some((next_cfg, deadline)) = self.unacked {
            let awaiting = self.failures.values().any(|failure| failure.awaits_supervisor);
            if awaiting && Instant::now() < deadline {
                return;
            }
            self.unacked = None;
            match self.ovsdb.acknowledge(next_cfg, rows.clone()).await {
                Ok(()) => self.written = Some(rows),
                // The connection's next view brings the configuration back.
                Err(error) => tracing::debug!("ovsdb: cannot acknowledge configuration {next_cfg}: {error}"),
            }
        } else if self.written.as_ref() != Some(&rows) {
            match self.ovsdb.set_interface_states(rows.clone()).await {
                Ok(()) => self.written = Some(rows),
                Err(error) => tracing::debug!("ovsdb: cannot write the interface rows: {error}"),
            }
        }
    }
}

/// The module while the supervisor is connected.
fn connected_module(status: &AgentStatus) -> Option<u32> {
    (status.state == ConnectionState::Connected).then_some(status.module).flatten()
}

/// Sleeps until `deadline`; for ever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
