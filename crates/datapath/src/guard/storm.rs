//! Storm control's token bucket, driven by the `now` of each batch (no clock).
//!
//! Credit is kept in nanosecond-tokens: a frame costs one second's worth (10⁹) and every
//! nanosecond adds `rate`, so integer arithmetic is exact at any rate. A bucket holds at most
//! one second of frames: a burst of `rate` frames passes after a quiet second, no more.

/// One kind of flood on one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Bucket {
    /// Credit spent below a full bucket (so that a new bucket starts full), in nanosecond-tokens.
    spent: u64,
    /// When `spent` was last brought up to date, in nanoseconds.
    updated: u64,
}

/// What one frame costs.
const FRAME: u64 = 1_000_000_000;

impl Bucket {
    /// The credit spent at `now`, after refilling `rate` tokens per second since the update.
    #[inline]
    fn spent_at(&self, rate: u32, now: u64) -> u64 {
        let refill = now.saturating_sub(self.updated).saturating_mul(u64::from(rate));
        self.spent.saturating_sub(refill)
    }

    /// Whether a frame would pass at `now`.
    #[inline]
    pub fn would_pass(&self, rate: u32, now: u64) -> bool {
        let capacity = u64::from(rate).saturating_mul(FRAME);
        self.spent_at(rate, now).saturating_add(FRAME) <= capacity
    }

    /// Takes a frame's token if there is one; `false` if the frame is over the rate.
    #[inline]
    pub fn take(&mut self, rate: u32, now: u64) -> bool {
        let pass = self.would_pass(rate, now);
        self.spent = self.spent_at(rate, now) + if pass { FRAME } else { 0 };
        self.updated = self.updated.max(now);
        pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn passes_a_second_of_burst_then_the_rate() {
        let mut bucket = Bucket::default();
        let passed = (0..1000).filter(|_| bucket.take(100, 5_000 * MS)).count();
        assert_eq!(passed, 100, "a full bucket holds one second");
        // 10 ms later: one more token.
        assert!(bucket.take(100, 5_010 * MS));
        assert!(!bucket.take(100, 5_010 * MS));
        // Over 5 seconds of flooding every millisecond, about 500 more.
        let passed = (5_011..10_011).filter(|&ms| bucket.take(100, ms * MS)).count();
        assert!((499..=501).contains(&passed), "{passed}");
    }

    #[test]
    fn zero_rate_passes_nothing_and_huge_rates_do_not_overflow() {
        let mut bucket = Bucket::default();
        assert!(!bucket.take(0, 0));
        let mut bucket = Bucket::default();
        assert!((0..1000).all(|_| bucket.take(u32::MAX, u64::MAX / 2)));
        assert!(!Bucket::default().would_pass(0, u64::MAX));
    }

    proptest::proptest! {
        /// Over any span, no more than a second's burst plus the rate times the span passes.
        #[test]
        fn never_passes_more_than_the_rate_allows(rate in 1u32..5000, steps in proptest::collection::vec(0u64..20 * MS, 1..400)) {
            let mut bucket = Bucket::default();
            let mut now = 0;
            let mut passed = 0u64;
            for step in steps {
                now += step;
                passed += u64::from(bucket.take(rate, now));
            }
            let allowed = u64::from(rate) + u64::from(rate) * now / FRAME;
            proptest::prop_assert!(passed <= allowed, "{} > {}", passed, allowed);
        }
    }
}
