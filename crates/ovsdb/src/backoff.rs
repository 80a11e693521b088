//! Reconnect delays: exponential, capped and jittered so a thousand agents that lost the same
//! supervisor do not all come back in the same millisecond.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

/// Exponential backoff between `min` and `max`. Pure: the caller supplies the randomness.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    ceiling: Duration,
}

impl Backoff {
    /// Delays grow from `min` to `max`, doubling per failure.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self { min, max, ceiling: min }
    }

    /// After a success: the next failure waits `min` again.
    pub fn reset(&mut self) {
        self.ceiling = self.min;
    }

    /// The delay before the next attempt, given `jitter` in `[0, 1)`: uniformly placed in the
    /// upper half of the current ceiling (never below `min`), then the ceiling doubles.
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        let half = self.ceiling / 2;
        let delay = (half + half.mul_f64(jitter.clamp(0.0, 1.0))).max(self.min);
        self.ceiling = (self.ceiling * 2).min(self.max);
        delay
    }
}

/// A number in `[0, 1)` from the standard library's per-process random hasher keys; plenty for
/// spreading reconnects, and no extra dependency.
pub fn random_unit() -> f64 {
    let bits = RandomState::new().hash_one(std::time::SystemTime::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    #[test]
    fn grows_to_the_cap_and_stays_within_bounds() {
        let mut backoff = Backoff::new(MIN, MAX);
        let lowest: Vec<_> = (0..10).map(|_| backoff.next_delay(0.0)).collect();
        assert_eq!(lowest[0], MIN);
        assert_eq!(lowest[1], MIN);
        assert_eq!(lowest[2], Duration::from_millis(200));
        assert_eq!(lowest[9], MAX / 2);

        let mut backoff = Backoff::new(MIN, MAX);
        let highest: Vec<_> = (0..10).map(|_| backoff.next_delay(0.999_999)).collect();
        assert!(highest.windows(2).all(|w| w[0] <= w[1]), "{highest:?}");
        assert!(highest.iter().all(|d| *d >= MIN && *d <= MAX), "{highest:?}");
        assert!(highest[9] > Duration::from_millis(4_990), "{highest:?}");
    }

    #[test]
    fn reset_starts_over() {
        let mut backoff = Backoff::new(MIN, MAX);
        for _ in 0..8 {
            backoff.next_delay(0.5);
        }
        backoff.reset();
        assert_eq!(backoff.next_delay(1.0), MIN);
    }

    #[test]
    fn random_unit_is_in_range_and_varies() {
        let samples: Vec<f64> = (0..64).map(|_| random_unit()).collect();
        assert!(samples.iter().all(|x| (0.0..1.0).contains(x)));
        assert!(samples.windows(2).any(|w| w[0] != w[1]));
    }
}
