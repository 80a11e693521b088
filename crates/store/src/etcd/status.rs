//! The etcd backend's health: unreachable until a request gets through again.

use std::sync::Arc;

use crate::StoreError;
use crate::health::HealthTracker;

#[derive(Debug, Clone)]
pub(super) struct Health(Arc<HealthTracker>);

impl Health {
    pub(super) fn new(location: String) -> Self {
        Self(Arc::new(HealthTracker::new("etcd", location)))
    }

    pub(super) fn tracker(&self) -> &HealthTracker {
        &self.0
    }

    /// Records what a request's result says about reaching etcd. Answers that are refusals
    /// (a lease not found, say) still prove etcd answered.
    pub(super) fn observe<T>(&self, result: &Result<T, StoreError>) {
        match result {
            Err(error) => self.observe_error(error),
            Ok(_) => self.answered(),
        }
    }

    pub(super) fn observe_error(&self, error: &StoreError) {
        match error {
            StoreError::Unavailable(reason) => {
                if self.0.failed(reason) {
                    tracing::error!(error = %reason, "etcd is unavailable");
                }
            }
            _ => self.answered(),
        }
    }

    fn answered(&self) {
        if self.0.succeeded() {
            tracing::warn!("etcd is reachable again");
        }
    }
}
