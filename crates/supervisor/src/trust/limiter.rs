//! Failed logins per source address: after [`MAX_FAILURES`] within [`WINDOW`], the source is
//! refused (429) until the oldest of them leaves the window. Pure: the caller passes `now`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failures a source may have within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// How long a failure counts.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Sources tracked at most; past it, sources with no failure in the window are forgotten first.
const MAX_SOURCES: usize = 16_384;

/// Recent failures by source. `None` is a source whose address is unknown: they share one count.
#[derive(Debug)]
pub struct FailureLimiter {
    failures: HashMap<Option<IpAddr>, VecDeque<Instant>>,
    /// Failures a source may have within [`WINDOW`].
    max: usize,
}

impl Default for FailureLimiter {
    /// [`MAX_FAILURES`] a source (failed logins).
    fn default() -> Self {
        Self::new(MAX_FAILURES)
    }
}

impl FailureLimiter {
    /// A limiter allowing `max` failures a source within [`WINDOW`].
    pub fn new(max: usize) -> Self {
        Self { failures: HashMap::new(), max: max.max(1) }
    }

    /// `Err(retry_after)` while `source` has used up its failures.
    pub fn check(&mut self, source: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let Some(times) = self.failures.get_mut(&source) else { return Ok(()) };
        forget_old(times, now);
        match times.front() {
            Some(oldest) if times.len() >= self.max => Err((*oldest + WINDOW).saturating_duration_since(now)),
            _ => Ok(()),
        }
    }

    /// Counts an attempt from `source` as failed before it is checked, if `source` has
    /// failures left: concurrent guesses cannot overtake the count. [`Self::forgive`] takes it
    /// back when the attempt succeeds.
    pub fn reserve(&mut self, source: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        self.check(source, now)?;
        self.fail(source, now);
        Ok(())
    }

    /// Takes back the failure [`Self::reserve`] counted at `at`.
    pub fn forgive(&mut self, source: Option<IpAddr>, at: Instant) {
        if let Some(times) = self.failures.get_mut(&source)
            && let Some(index) = times.iter().rposition(|time| *time == at)
        {
            times.remove(index);
        }
    }

    /// Counts a failed login from `source`.
    pub fn fail(&mut self, source: Option<IpAddr>, now: Instant) {
        if self.failures.len() >= MAX_SOURCES && !self.failures.contains_key(&source) {
            self.failures.retain(|_, times| {
                forget_old(times, now);
                !times.is_empty()
            });
            if self.failures.len() >= MAX_SOURCES {
                // Flooded from everywhere at once: start over rather than grow without bound.
                self.failures.clear();
            }
        }
        let times = self.failures.entry(source).or_default();
        forget_old(times, now);
        times.push_back(now);
        while times.len() > self.max {
            times.pop_front();
        }
    }
}

fn forget_old(times: &mut VecDeque<Instant>, now: Instant) {
    while times.front().is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_a_minute_then_wait() {
        let mut limiter = FailureLimiter::default();
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES as u64 {
            assert_eq!(limiter.check(a, t0), Ok(()));
            limiter.fail(a, t0 + Duration::from_secs(i));
        }
        let now = t0 + Duration::from_secs(10);
        assert_eq!(limiter.check(a, now), Err(Duration::from_secs(50)));
        assert_eq!(limiter.check(b, now), Ok(()), "per source");
        assert_eq!(limiter.check(a, t0 + WINDOW), Ok(()), "the oldest failure has left the window");
    }

    #[test]
    fn reserved_attempts_count_until_forgiven() {
        let mut limiter = FailureLimiter::default();
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let t0 = Instant::now();
        let at = |i: u64| t0 + Duration::from_millis(i);
        for i in 0..MAX_FAILURES as u64 {
            assert_eq!(limiter.reserve(a, at(i)), Ok(()));
        }
        assert!(limiter.reserve(a, at(10)).is_err(), "five guesses in flight: no sixth");
        limiter.forgive(a, at(2));
        assert_eq!(limiter.reserve(a, at(11)), Ok(()), "one succeeded");
    }
}
