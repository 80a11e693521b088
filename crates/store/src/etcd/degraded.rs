//! Reads without quorum. A linearizable read needs a leader; with a majority of members down
//! there is none, and writes must fail. Reads need not: a member that is up still holds every
//! revision it applied, so the store answers from its local copy (an etcd *serializable* read),
//! which may lag the last writes the cluster acknowledged but never invents any. Operators keep
//! `show` and agents keep syncing policies while writes fail with a clear error.
//!
//! While degraded (a linearizable read failed for want of quorum in the last [`STAY`]) reads go
//! straight to the local copy; for a minute after that, a linearizable read is given only
//! [`PROBE`] before falling back, so a cluster still without quorum does not stall every read
//! for the whole request timeout.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long reads stay on local copies after a linearizable read failed.
const STAY: Duration = Duration::from_secs(3);
/// How long after the last failure a linearizable attempt gets only [`PROBE`].
const WARY: Duration = Duration::from_secs(60);
/// The time a linearizable read gets while the cluster was recently without quorum.
pub const PROBE: Duration = Duration::from_secs(1);

/// How the next read goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Linearizable, within this time; then from a local copy.
    Linearizable(Duration),
    /// From a member's local copy at once.
    Local,
}

/// When reads last had to fall back.
#[derive(Debug, Default)]
pub struct Degraded {
    last_fallback: Mutex<Option<Instant>>,
}

impl Degraded {
    /// How to read now, given the full request timeout.
    pub fn mode(&self, now: Instant, request_timeout: Duration) -> ReadMode {
        match *self.last_fallback.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(at) if now.duration_since(at) < STAY => ReadMode::Local,
            Some(at) if now.duration_since(at) < WARY => ReadMode::Linearizable(PROBE.min(request_timeout)),
            _ => ReadMode::Linearizable(request_timeout),
        }
    }

    /// How long a write may wait: short while reads already know there is no quorum (it would
    /// fail anyway), else the full request timeout.
    pub fn write_budget(&self, now: Instant, request_timeout: Duration) -> Duration {
        match self.mode(now, request_timeout) {
            ReadMode::Local => PROBE.min(request_timeout),
            ReadMode::Linearizable(_) => request_timeout,
        }
    }

    /// A linearizable read failed and a local one answered; `true` the first time in a while
    /// (worth a log line).
    pub fn fell_back(&self, now: Instant) -> bool {
        let mut last = self.last_fallback.lock().unwrap_or_else(PoisonError::into_inner);
        let first = last.is_none_or(|at| now.duration_since(at) >= WARY);
        *last = Some(now);
        first
    }

    /// A linearizable read succeeded: quorum is back.
    pub fn recovered(&self) -> bool {
        self.last_fallback.lock().unwrap_or_else(PoisonError::into_inner).take().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_reads_for_a_while_then_short_probes_then_normal() {
        let degraded = Degraded::default();
        let start = Instant::now();
        let full = Duration::from_secs(5);
        assert_eq!(degraded.mode(start, full), ReadMode::Linearizable(full));
        assert!(degraded.fell_back(start));
        assert!(!degraded.fell_back(start), "logged once");
        assert_eq!(degraded.mode(start + Duration::from_secs(1), full), ReadMode::Local);
        assert_eq!(degraded.mode(start + Duration::from_secs(4), full), ReadMode::Linearizable(PROBE));
        assert_eq!(degraded.mode(start + Duration::from_secs(61), full), ReadMode::Linearizable(full));
        assert!(degraded.recovered());
        assert_eq!(degraded.mode(start + Duration::from_secs(4), full), ReadMode::Linearizable(full));
    }
}
