//! What a backend tells `show system` and `/health` about itself, and the bookkeeping behind it.

use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A store backend's health at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreHealth {
    /// `"redb"` or `"etcd"`.
    pub backend: String,
    /// The file path (redb) or the endpoints, comma-separated (etcd).
    pub location: String,
    /// False while the backend is failing (unreachable, or its storage failed).
    pub ok: bool,
    /// The last failure, kept after recovery so an operator can see what happened.
    pub last_error: Option<String>,
    /// When the last failure happened, in milliseconds since the Unix epoch.
    pub last_error_unix_ms: Option<u64>,
    /// How many times the backend came back after failing (redb: reopened its file).
    pub recoveries: u64,
}

/// Health shared by a backend's requests. Each failure and success is one short lock.
#[derive(Debug)]
pub(crate) struct HealthTracker {
    backend: &'static str,
    location: String,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failing: bool,
    last_error: Option<String>,
    last_error_unix_ms: Option<u64>,
    recoveries: u64,
}

impl HealthTracker {
    pub(crate) fn new(backend: &'static str, location: String) -> Self {
        Self { backend, location, state: Mutex::new(State::default()) }
    }

    /// Records a failure; returns true if the backend was healthy until now (the caller logs
    /// that one, not every request that fails after it).
    pub(crate) fn failed(&self, error: &str) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let first = !state.failing;
        state.failing = true;
        state.last_error = Some(error.to_string());
        state.last_error_unix_ms = Some(unix_ms());
        first
    }

    /// Records a success; returns true if the backend was failing until now (a recovery).
    pub(crate) fn succeeded(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !state.failing {
            return false;
        }
        state.failing = false;
        state.recoveries += 1;
        true
    }

    #[allow(dead_code)]
    pub(crate) fn is_failing(&self) -> bool {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).failing
    }

    pub(crate) fn snapshot(&self) -> StoreHealth {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        StoreHealth {
            backend: self.backend.to_string(),
            location: self.location.clone(),
            ok: !state.failing,
            last_error: state.last_error.clone(),
            last_error_unix_ms: state.last_error_unix_ms,
            recoveries: state.recoveries,
        }
    }
}

fn unix_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_kept_and_a_success_after_it_counts_as_a_recovery() {
        let health = HealthTracker::new("redb", "/data/store.redb".into());
        assert!(health.snapshot().ok);
        assert!(!health.succeeded(), "a success while healthy is not a recovery");
        assert!(health.failed("disk full"));
        assert!(!health.failed("disk still full"), "only the first failure is news");
        let failing = health.snapshot();
        assert!(!failing.ok);
        assert_eq!(failing.last_error.as_deref(), Some("disk still full"));
        assert!(failing.last_error_unix_ms.is_some());
        assert!(health.succeeded());
        let recovered = health.snapshot();
        assert!(recovered.ok);
        assert_eq!(recovered.recoveries, 1);
        assert_eq!(recovered.last_error.as_deref(), Some("disk still full"));
    }
}
