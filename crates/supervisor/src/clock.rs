//! Wall-clock time as NX-OS prints it in `show logging logfile`: `2026 Nov 29 06:01:02` (UTC).
//!
//! Pure: callers pass the time; only [`unix_ms_now`] reads the clock.

use std::time::{SystemTime, UNIX_EPOCH};

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Milliseconds since the Unix epoch, now.
pub fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}

/// `YYYY Mon DD HH:MM:SS` in UTC.
pub fn format_timestamp(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (year, month, day) = civil_from_days(secs / 86_400);
    let in_day = secs % 86_400;
    format!(
        "{year} {} {day:02} {:02}:{:02}:{:02}",
        MONTHS[usize::from(month - 1)],
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// `Www Mmm DD HH:MM:SS YYYY` in UTC, the day padded with a space (C's `ctime`, which NX-OS's
/// `show accounting log` prints): `Sun Dec  6 17:06:14 2026`.
pub fn format_ctime(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = secs / 86_400;
    let (year, month, day) = civil_from_days(days);
    let in_day = secs % 86_400;
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[usize::try_from((days + 4) % 7).unwrap_or(0)];
    format!(
        "{weekday} {} {day:>2} {:02}:{:02}:{:02} {year}",
        MONTHS[usize::from(month - 1)],
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm,
/// restricted to dates after the epoch).
fn civil_from_days(days: u64) -> (u64, u8, u8) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    // `month` is 1..=12 and `day` 1..=31 by construction.
    (year, month as u8, day as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_nxos() {
        assert_eq!(format_timestamp(0), "1970 Jan 01 00:00:00");
        // 2026-11-29T06:01:02Z
        assert_eq!(format_timestamp(1_795_932_062_000), "2026 Nov 29 06:01:02");
        // A leap day.
        assert_eq!(format_timestamp(1_709_208_000_000), "2024 Feb 29 12:00:00");
    }

    #[test]
    fn formats_like_ctime() {
        assert_eq!(format_ctime(0), "Thu Jan  1 00:00:00 1970");
        // 2026-12-06T17:06:14Z, a Sunday.
        assert_eq!(format_ctime(1_796_576_774_000), "Sun Dec  6 17:06:14 2026");
        assert_eq!(format_ctime(1_709_208_000_000), "Thu Feb 29 12:00:00 2024");
    }
}
