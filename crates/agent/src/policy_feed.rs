//! The seam between the agent's control plane and a datapath.
//!
//! The agent owns the policy state; a datapath only reads it. Every change produces a new,
//! complete, immutable [`PolicySnapshot`] which is swapped in atomically on a
//! `tokio::sync::watch` channel. A datapath plugs in by taking a [`PolicyFeed`] from
//! [`Agent::policies`](crate::Agent::policies) and running:
//!
//! ```no_run
//! # async fn datapath(mut feed: agent::PolicyFeed) {
//! let mut snapshot = feed.current();
//! // program ports from `snapshot` …
//! while let Some(next) = feed.changed().await {
//!     // reprogram the ports whose port-profile differs between `snapshot` and `next` …
//!     snapshot = next;
//! }
//! // the agent stopped
//! # }
//! ```
//!
//! Because every snapshot is whole, a slow datapath may skip intermediate ones and lose nothing:
//! it always converges on the latest. Readers never block the control plane.

use std::sync::Arc;

use tokio::sync::watch;

use crate::snapshot::PolicySnapshot;

/// A read-only subscription to the agent's policy snapshots. Cheap to clone; each clone tracks
/// which snapshot it has seen independently.
#[derive(Debug, Clone)]
pub struct PolicyFeed {
    rx: watch::Receiver<Arc<PolicySnapshot>>,
}

impl PolicyFeed {
    pub(crate) fn new(rx: watch::Receiver<Arc<PolicySnapshot>>) -> Self {
        Self { rx }
    }

    /// The snapshot in force now (marks it seen).
    pub fn current(&mut self) -> Arc<PolicySnapshot> {
        Arc::clone(&self.rx.borrow_and_update())
    }

    /// Waits for a snapshot newer than the last one seen; `None` once the agent has stopped.
    pub async fn changed(&mut self) -> Option<Arc<PolicySnapshot>> {
        self.rx.changed().await.ok()?;
        Some(self.current())
    }

    /// Waits until the current snapshot satisfies `accept` (checked on the current one first);
    /// `None` if the agent stops before that.
    pub async fn wait_for(
        &mut self,
        mut accept: impl FnMut(&PolicySnapshot) -> bool,
    ) -> Option<Arc<PolicySnapshot>> {
        let snapshot = self.rx.wait_for(|snapshot| accept(snapshot)).await.ok()?;
        Some(Arc::clone(&snapshot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_see_whole_snapshots_and_learn_when_the_agent_stops() {
        let (tx, rx) = watch::channel(Arc::new(PolicySnapshot::default()));
        let mut feed = PolicyFeed::new(rx);
        assert_eq!(feed.current().revision, 0);

        for revision in 1..=3 {
            tx.send_replace(Arc::new(PolicySnapshot { revision, ..PolicySnapshot::default() }));
        }
        // Intermediate snapshots are skipped; the latest is what counts.
        assert_eq!(feed.changed().await.map(|s| s.revision), Some(3));
        let waiting = feed.wait_for(|s| s.revision == 3).await;
        assert_eq!(waiting.map(|s| s.revision), Some(3));

        drop(tx);
        assert!(feed.changed().await.is_none());
    }
}
