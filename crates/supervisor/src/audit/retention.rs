//! How long accounting entries are kept: by age and by count, whichever is stricter. Pure: the
//! caller passes the entries' (sequence, time) pairs, oldest first, and the time now.

use std::collections::VecDeque;
use std::time::Duration;

/// The accounting log's retention (`--audit-max-age`, `--audit-max-entries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Entries older than this are dropped.
    pub max_age: Duration,
    /// At most this many entries are kept (at least 1); the oldest go first.
    pub max_entries: u64,
}

impl Default for Retention {
    /// 90 days or 100,000 entries.
    fn default() -> Self {
        Self { max_age: Duration::from_secs(90 * 24 * 3600), max_entries: 100_000 }
    }
}

/// One live entry as retention sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub seq: u64,
    pub time_ms: u64,
}

impl Retention {
    /// The oldest time still kept at `now_ms`.
    pub fn cutoff_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(u64::try_from(self.max_age.as_millis()).unwrap_or(u64::MAX))
    }

    /// Whether an entry stamped `time_ms` is still shown at `now_ms` (reads hide entries a
    /// sweep has not removed yet).
    pub fn keeps(&self, time_ms: u64, now_ms: u64) -> bool {
        time_ms >= self.cutoff_ms(now_ms)
    }

    /// How many of `live` (oldest first) to drop at `now_ms`: the excess over `max_entries`,
    /// and every leading entry older than `max_age`. Age stops at the first young entry, so a
    /// clock that stepped back never drops entries out of order.
    pub fn expired(&self, live: &VecDeque<Stamp>, now_ms: u64) -> usize {
        let len = u64::try_from(live.len()).unwrap_or(u64::MAX);
        let excess = usize::try_from(len.saturating_sub(self.max_entries.max(1))).unwrap_or(usize::MAX);
        let cutoff = self.cutoff_ms(now_ms);
        let old = live.iter().take_while(|stamp| stamp.time_ms < cutoff).count();
        excess.max(old)
    }

    /// How often to look for entries that aged out: a tenth of the age, between 50 ms and a
    /// minute (so a short test age is honoured promptly and a long one costs nothing).
    pub fn sweep_period(&self) -> Duration {
        (self.max_age / 10).clamp(Duration::from_millis(50), Duration::from_secs(60))
    }
}

/// Parses an age as `--audit-max-age` takes it: a whole number with a unit, `500ms`, `30s`,
/// `15m`, `12h`, `90d`; a bare number is seconds.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let bad = || format!("{text:?} is not an age: expected a number with ms, s, m, h or d, e.g. 90d");
    let number: u64 = digits.parse().map_err(|_| bad())?;
    let millis_per = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    let millis = number.checked_mul(millis_per).ok_or_else(bad)?;
    if millis == 0 {
        return Err(format!("{text:?}: the age must be more than zero"));
    }
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(parse_age("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_age("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_age("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_age("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
        for bad in ["", "d", "5y", "-1s", "0s", "1.5h", "99999999999999999999d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    fn live(times: &[u64]) -> VecDeque<Stamp> {
        times.iter().enumerate().map(|(seq, &time_ms)| Stamp { seq: seq as u64, time_ms }).collect()
    }

    #[test]
    fn count_keeps_the_newest() {
        let retention = Retention { max_age: Duration::from_secs(1000), max_entries: 3 };
        assert_eq!(retention.expired(&live(&[1, 2, 3]), 10), 0);
        assert_eq!(retention.expired(&live(&[1, 2, 3, 4, 5]), 10), 2);
        let zero = Retention { max_entries: 0, ..retention };
        assert_eq!(zero.expired(&live(&[1, 2]), 10), 1, "at least one entry is kept");
    }

    #[test]
    fn age_drops_leading_old_entries_only() {
        let retention = Retention { max_age: Duration::from_millis(100), max_entries: 100 };
        assert_eq!(retention.expired(&live(&[0, 50, 150, 160]), 200), 2);
        assert_eq!(retention.expired(&live(&[150, 50, 160]), 200), 0, "a clock step keeps order");
        assert_eq!(retention.expired(&live(&[]), 200), 0);
        assert!(retention.keeps(100, 200));
        assert!(!retention.keeps(99, 200));
    }

    #[test]
    fn the_stricter_rule_wins() {
        let retention = Retention { max_age: Duration::from_millis(100), max_entries: 2 };
        assert_eq!(retention.expired(&live(&[0, 150, 160, 170]), 200), 2);
        assert_eq!(retention.expired(&live(&[0, 10, 20, 170]), 200), 3);
    }

    #[test]
    fn sweeps_follow_the_age() {
        let short = Retention { max_age: Duration::from_secs(1), max_entries: 1 };
        assert_eq!(short.sweep_period(), Duration::from_millis(100));
        assert_eq!(Retention::default().sweep_period(), Duration::from_secs(60));
    }
}
