//! The supervisor's lease: what keeps its `live/` keys (its own, and its agents' modules) in the
//! store. Renewed three times per TTL; when the store says it is gone (the supervisor was cut off
//! from the store for longer than the TTL) a new one is granted and the holders re-attach their
//! keys to it ([`SupervisorLease::changes`]).

use std::sync::Arc;
use std::time::Duration;

use store::{LeaseId, Store, StoreError};
use tokio::sync::watch;

use crate::server::stopped;

/// A lease renewed until shutdown.
#[derive(Debug)]
pub struct SupervisorLease {
    store: Arc<dyn Store>,
    ttl: Duration,
    current: watch::Sender<LeaseId>,
}

impl SupervisorLease {
    /// Grants the first lease. `ttl` is rounded up to whole seconds by the store.
    pub async fn grant(store: Arc<dyn Store>, ttl: Duration) -> Result<Arc<Self>, StoreError> {
        let id = store.grant_lease(ttl).await?;
        Ok(Arc::new(Self { store, ttl, current: watch::channel(id).0 }))
    }

    /// The lease keys are attached to now.
    pub fn id(&self) -> LeaseId {
        *self.current.borrow()
    }

    /// Wakes when a new lease replaced a lost one.
    pub fn changes(&self) -> watch::Receiver<LeaseId> {
        self.current.subscribe()
    }

    /// Renews the lease until shutdown. It is not revoked then: the modules this supervisor
    /// served stay online for one TTL, time for their agents to reconnect (here after a restart,
    /// or to another supervisor) without disturbing anyone's overlay.
    pub async fn keep(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let period = (self.ttl / 3).max(Duration::from_millis(100));
        let mut failing = false;
        loop {
            tokio::select! {
                () = stopped(&mut shutdown) => break,
                () = tokio::time::sleep(period) => {}
            }
            match self.renew().await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!(lease = self.id(), "the supervisor's lease is renewed again");
                }
                Ok(()) => {}
                Err(error) if !failing => {
                    failing = true;
                    tracing::error!(%error, "cannot renew the supervisor's lease: other supervisors will see this one's modules go offline if it lasts");
                }
                Err(_) => {}
            }
        }
    }

    async fn renew(&self) -> Result<(), StoreError> {
        match self.store.keep_alive(self.id()).await {
            Err(StoreError::LeaseNotFound { lease }) => {
                let id = self.store.grant_lease(self.ttl).await?;
                tracing::warn!(
                    lost = lease,
                    lease = id,
                    "the supervisor's lease had expired; granted a new one"
                );
                self.current.send_replace(id);
                Ok(())
            }
            other => other,
        }
    }
}
