//! Time. The fake's clock is the real clock plus an offset that tests move forward, so token
//! and code expiry can be tested without sleeping.

use std::time::{SystemTime, UNIX_EPOCH};

/// Real Unix time in seconds.
pub(crate) fn real_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The injectable clock.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_secs: i64,
}

impl Clock {
    pub(crate) fn now(&self) -> i64 {
        real_now().saturating_add(self.offset_secs)
    }

    pub(crate) fn advance(&mut self, secs: i64) {
        self.offset_secs = self.offset_secs.saturating_add(secs);
    }
}

/// `YYYYMMDDHHMMSS` in UTC, the prefix of TikTok's log ids.
pub(crate) fn compact_utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        assert_eq!(compact_utc(0), "19700101000000");
        // 2022-06-22 18:54:37 UTC, the timestamp in TikTok's sample log id.
        assert_eq!(compact_utc(1_655_924_077), "20220622185437");
        assert_eq!(compact_utc(951_782_400), "20000229000000");
    }

    #[test]
    fn clock_moves_with_offset() {
        let mut clock = Clock::default();
        let before = clock.now();
        clock.advance(3_600);
        assert!(clock.now() >= before + 3_600);
    }
}
