//! Lease deadlines, in memory: the TTLs are persisted (`lease_tables`), the deadlines are not —
//! after a reopen every lease runs its full TTL again, as etcd's leases do after a leader change.
//!
//! A lease dies at one moment, when it is marked `dead` here: from then on `keep_alive` and puts
//! onto it fail, even if deleting its keys has to be retried (after an I/O error, say).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::Inner;
use crate::{LeaseId, StoreError};

/// How often expired leases are looked for: the granularity of expiry.
pub(crate) const REAP_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct Lease {
    ttl: Duration,
    deadline: Instant,
    /// Expired or revoked; its keys are deleted (or about to be).
    dead: bool,
}

#[derive(Debug, Default)]
pub(crate) struct LeaseClock {
    leases: Mutex<HashMap<LeaseId, Lease>>,
}

impl LeaseClock {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<LeaseId, Lease>> {
        self.leases.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts (or restarts, after a reopen) a lease's full TTL from now.
    pub(crate) fn start(&self, lease: LeaseId, ttl_seconds: i64) {
        let ttl = Duration::from_secs(u64::try_from(ttl_seconds.max(1)).unwrap_or(1));
        self.lock().insert(lease, Lease { ttl, deadline: Instant::now() + ttl, dead: false });
    }

    pub(crate) fn keep_alive(&self, lease: LeaseId) -> Result<(), StoreError> {
        match self.lock().get_mut(&lease) {
            Some(state) if !state.dead && state.deadline > Instant::now() => {
                state.deadline = Instant::now() + state.ttl;
                Ok(())
            }
            _ => Err(StoreError::LeaseNotFound { lease }),
        }
    }

    /// Whether keys may still be attached to the lease.
    pub(crate) fn is_alive(&self, lease: LeaseId) -> bool {
        self.lock().get(&lease).is_some_and(|state| !state.dead && state.deadline > Instant::now())
    }

    /// Kills the lease; returns false if there is no such lease.
    pub(crate) fn kill(&self, lease: LeaseId) -> bool {
        self.lock().get_mut(&lease).map(|state| state.dead = true).is_some()
    }

    /// Kills every lease past its deadline and returns every dead lease whose keys are still
    /// to be deleted.
    pub(crate) fn due(&self, now: Instant) -> Vec<LeaseId> {
        let mut leases = self.lock();
        leases
            .iter_mut()
            .filter_map(|(id, state)| {
                state.dead |= state.deadline <= now;
                state.dead.then_some(*id)
            })
            .collect()
    }

    /// Forgets a lease whose keys have been deleted.
    pub(crate) fn forget(&self, lease: LeaseId) {
        self.lock().remove(&lease);
    }
}

/// Expires leases until the store is dropped (the task is aborted then, or finds it gone).
pub(crate) async fn reap(store: Weak<Inner>) {
    let mut tick = tokio::time::interval(REAP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = store.upgrade() else { return };
        let due = inner.leases.due(Instant::now());
        if due.is_empty() {
            continue;
        }
        let expired = tokio::task::spawn_blocking(move || {
            for lease in due {
                // A failure is logged and shown in health by the store; the lease stays dead
                // and is retried on the next tick.
                if let Err(error) = inner.revoke(lease) {
                    tracing::debug!(lease, %error, "expiring a lease failed; retrying");
                }
            }
        });
        if expired.await.is_err() {
            tracing::warn!("the lease expiry task panicked; retrying on the next tick");
        }
    }
}
