//! In which order the supervisor link tries the configured supervisors, and how long it waits
//! between rounds. Pure: the link's driver (`supervisor_link`) does the trying and the waiting.
//!
//! A round tries every supervisor once, in the configured order, starting after the one whose
//! session was lost last (so a supervisor that just died is tried last). A lost session that had
//! been in sync a while starts the next round at once: that is a failover, and it must take
//! seconds. The reconnect backoff applies only after a whole round failed (or after a session
//! that broke right away, so a supervisor that accepts and drops the agent in a loop cannot
//! make it spin).

use std::time::Duration;

use crate::backoff::Backoff;

/// A session in sync at least this long ended for a reason of its own: fail over at once.
pub(crate) const STABLE_SESSION: Duration = Duration::from_secs(2);
/// Between rounds the supervisors refused this agent for good (a used token, a revoked
/// certificate): they share one store, so retrying sooner would only fill its event log.
pub(crate) const REFUSED_RETRY: Duration = Duration::from_secs(30);

/// Where the next round starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rotation {
    count: usize,
    start: usize,
}

/// How a round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoundEnd {
    /// A session was in sync for `in_sync_for`, then broke.
    Lost { in_sync_for: Duration },
    /// No supervisor could be reached (or none registered the agent).
    Unreachable,
    /// A supervisor refused this agent for good.
    Refused,
}

impl Rotation {
    /// Rounds over `count` supervisors (at least one), the first starting at the first.
    pub(crate) fn new(count: usize) -> Self {
        Self { count: count.max(1), start: 0 }
    }

    /// The supervisors of the next round, by index: each once, from the start, wrapping.
    pub(crate) fn round(&self) -> impl Iterator<Item = usize> + use<> {
        let (count, start) = (self.count, self.start);
        (0..count).map(move |offset| (start + offset) % count)
    }

    /// The session with supervisor `index` was lost: the next round starts with the one after.
    pub(crate) fn lost(&mut self, index: usize) {
        self.start = (index + 1) % self.count;
    }
}

impl RoundEnd {
    /// How long to wait before the next round; `jitter` in [0, 1) spreads the agents' retries.
    /// A stable session resets the backoff; one that broke right away does not, so a supervisor
    /// that drops the agent in a loop meets a growing delay.
    pub(crate) fn pause(self, backoff: &mut Backoff, jitter: f64) -> Duration {
        match self {
            Self::Lost { in_sync_for } if in_sync_for >= STABLE_SESSION => {
                backoff.reset();
                Duration::ZERO
            }
            Self::Refused => REFUSED_RETRY,
            Self::Lost { .. } | Self::Unreachable => backoff.next_delay(jitter),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(rotation: &Rotation) -> Vec<usize> {
        rotation.round().collect()
    }

    #[test]
    fn rounds_start_after_the_supervisor_lost_last() {
        let mut rotation = Rotation::new(3);
        assert_eq!(round(&rotation), [0, 1, 2]);
        rotation.lost(1);
        assert_eq!(round(&rotation), [2, 0, 1]);
        rotation.lost(2);
        assert_eq!(round(&rotation), [0, 1, 2]);
        let mut one = Rotation::new(1);
        one.lost(0);
        assert_eq!(round(&one), [0]);
        assert_eq!(round(&Rotation::new(0)), [0], "a list is never empty; treated as one");
    }

    #[test]
    fn a_stable_session_lost_fails_over_at_once_and_anything_else_backs_off() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let stable = RoundEnd::Lost { in_sync_for: STABLE_SESSION };
        assert_eq!(stable.pause(&mut backoff, 0.5), Duration::ZERO);
        let flapping = RoundEnd::Lost { in_sync_for: Duration::from_millis(10) };
        let first = flapping.pause(&mut backoff, 0.5);
        assert!(first > Duration::ZERO, "{first:?}");
        let second = flapping.pause(&mut backoff, 0.5);
        assert!(second > first, "a flapping supervisor meets a growing delay: {first:?} then {second:?}");
        let third = RoundEnd::Unreachable.pause(&mut backoff, 0.5);
        assert!(third > second, "backoff grows round after round: {second:?} then {third:?}");
        assert_eq!(RoundEnd::Refused.pause(&mut backoff, 0.5), REFUSED_RETRY);
        // A stable session again: the next failure waits the least again.
        assert_eq!(stable.pause(&mut backoff, 0.5), Duration::ZERO);
        assert_eq!(RoundEnd::Unreachable.pause(&mut backoff, 0.5), first);
    }
}
