//! When the scheduled `token-refresh` job should next refresh an account: the *refresh policy*.
//!
//! Every function that calls TikTok refreshes on demand (docs/operations.md#token-refresh), so the
//! job is not needed to keep requests working; it exists to (1) find dead grants TikTok's
//! `authorization.removed` webhook did not report before a person does (an `invalid_grant` turns
//! the account `reauth_required`, which the app can show), (2) keep every rotating refresh token
//! exercised, and (3) report refresh tokens that near their end (refreshing does not extend them),
//! so the app can ask for a reconnect. Two policies, chosen with `REFRESH_POLICY`:
//!
//! * `keepalive` (default): one refresh per account every `REFRESH_KEEPALIVE_HOURS` (a week by
//!   default), whatever the access-token lifetime, and one when its refresh token enters its last
//!   week (`RECONNECT_WARNING_SECS`), so that every account is reported before its end. Requests
//!   in between refresh on demand.
//! * `eager`: ahead of every access-token expiry, so a stored access token is always valid (useful
//!   only if something outside this service reads tokens): 1.01/day with 24 h tokens, 13.7/day
//!   with 2 h tokens (every 1 h 45 min: the last run before expiry, with a 15-minute period).
//!
//! Either way an account is due no later than its refresh token's end, when the job marks it
//! `reauth_required` without calling TikTok.

use sha2::{Digest as _, Sha256};

/// Refresh this long before an access token expires (also the on-demand margin).
pub const EXPIRY_MARGIN_SECS: i64 = 300;
/// The default keep-alive period (`REFRESH_KEEPALIVE_HOURS`): a week. With 180-day refresh
/// tokens that refreshing does not extend, a daily keep-alive costs seven times the DynamoDB
/// writes and TikTok calls and only finds an unreported dead grant up to six days sooner
/// (docs/operations.md#refresh-policy).
pub const DEFAULT_KEEPALIVE_HOURS: u32 = 7 * 24;
/// `DEFAULT_KEEPALIVE_HOURS` in seconds.
pub const DEFAULT_KEEPALIVE_SECS: i64 = DEFAULT_KEEPALIVE_HOURS as i64 * 3600;
/// Refresh tokens ending within this window are reported for a reconnect.
pub const RECONNECT_WARNING_SECS: i64 = 7 * 86_400;
/// Partitions of the due index, so one hot partition never limits a million accounts.
pub const DUE_SHARDS: u16 = 16;

/// How eagerly the job refreshes (`REFRESH_POLICY`; the policies are described above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshMode {
    /// Once per keep-alive period per account, whatever the access-token lifetime (`keepalive`,
    /// the default).
    KeepAlive,
    /// Ahead of every access-token expiry, so a stored access token is always valid (`eager`).
    Eager,
}

impl RefreshMode {
    /// The mode named by a `REFRESH_POLICY` value; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "keepalive" => Some(Self::KeepAlive),
            "eager" => Some(Self::Eager),
            _ => None,
        }
    }
}

/// The policy plus the job's period (which bounds how early "due" must be).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshSchedule {
    /// Which policy sets the due time.
    pub mode: RefreshMode,
    /// How often the job runs (`REFRESH_INTERVAL_MINUTES`, in seconds here).
    pub interval_secs: i64,
    /// The keep-alive period (`REFRESH_KEEPALIVE_HOURS`, in seconds here).
    pub keepalive_secs: i64,
}

impl Default for RefreshSchedule {
    fn default() -> Self {
        Self {
            mode: RefreshMode::KeepAlive,
            interval_secs: 15 * 60,
            keepalive_secs: DEFAULT_KEEPALIVE_SECS,
        }
    }
}

impl RefreshSchedule {
    /// When tokens written at `now` with these expiries are next due for the job.
    pub fn next_due(&self, now: i64, access_expires_at: i64, refresh_expires_at: i64) -> i64 {
        let before_expiry = access_expires_at - EXPIRY_MARGIN_SECS;
        let mut due = match self.mode {
            RefreshMode::Eager => before_expiry,
            RefreshMode::KeepAlive => before_expiry.max(now + self.keepalive_secs),
        };
        // Once when the refresh token enters its last week, whatever the period: the job reports
        // (`reconnect_soon`) the accounts it finds due there.
        let warning_starts = refresh_expires_at - RECONNECT_WARNING_SECS;
        if warning_starts > now {
            due = due.min(warning_starts);
        }
        // Never sooner than the next run (a lifetime shorter than the margin must not make the
        // job spin), never later than the refresh token's end.
        due.max(now + self.interval_secs).min(refresh_expires_at)
    }

    /// The job selects accounts due before its next run.
    pub fn horizon(&self, now: i64) -> i64 {
        now + self.interval_secs
    }
}

/// The due-index partition of an account: a stable hash of its key, `DUE#00`…`DUE#15`.
pub fn due_shard(app_user: &str, open_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(app_user.as_bytes())
        .chain_update([0])
        .chain_update(open_id.as_bytes())
        .finalize();
    let shard = u16::from_be_bytes([digest[0], digest[1]]) % DUE_SHARDS;
    shard_key(shard)
}

/// The due-index partition of shard number `shard` (`DUE#00`…`DUE#15`).
pub fn shard_key(shard: u16) -> String {
    format!("DUE#{shard:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;
    const DAY: i64 = 86_400;

    fn refreshes_per_day(schedule: RefreshSchedule, access_lifetime: i64) -> f64 {
        // 24 weeks of job runs on one account refreshed only by the job (before its refresh
        // token's last week).
        let (mut now, mut refreshes) = (0, 0);
        let mut due = schedule.next_due(now, now + access_lifetime, now + 180 * DAY);
        while now < 168 * DAY {
            if due <= schedule.horizon(now) {
                refreshes += 1;
                due = schedule.next_due(now, now + access_lifetime, now + 180 * DAY);
            }
            now += schedule.interval_secs;
        }
        f64::from(refreshes) / 168.0
    }

    #[test]
    fn documented_refresh_rates() {
        let keepalive = RefreshSchedule::default();
        let eager = RefreshSchedule {
            mode: RefreshMode::Eager,
            ..keepalive
        };
        let rate =
            |schedule, lifetime| (refreshes_per_day(schedule, lifetime) * 100.0).round() / 100.0;
        assert_eq!(rate(keepalive, 24 * HOUR), 0.14);
        assert_eq!(rate(keepalive, 2 * HOUR), 0.14);
        let daily = RefreshSchedule {
            keepalive_secs: DAY,
            ..keepalive
        };
        assert_eq!(rate(daily, 24 * HOUR), 1.01);
        assert_eq!(rate(daily, 2 * HOUR), 1.01);
        assert_eq!(rate(eager, 24 * HOUR), 1.01);
        assert_eq!(rate(eager, 2 * HOUR), 13.71);
    }

    #[test]
    fn due_never_passes_the_refresh_tokens_end_nor_precedes_the_next_run() {
        let schedule = RefreshSchedule::default();
        assert_eq!(schedule.next_due(0, 2 * HOUR, HOUR), HOUR);
        let eager = RefreshSchedule {
            mode: RefreshMode::Eager,
            ..schedule
        };
        assert_eq!(eager.next_due(0, 60, DAY), schedule.interval_secs);
    }

    #[test]
    fn an_account_is_due_when_its_refresh_token_enters_its_last_week() {
        let schedule = RefreshSchedule::default();
        // Ends in 10 days: due in 3 (the warning starts), not in 7 (the keep-alive).
        assert_eq!(schedule.next_due(0, 2 * HOUR, 10 * DAY), 3 * DAY);
        // Inside the last week: the keep-alive would pass the end, so the end (reauth_required).
        assert_eq!(schedule.next_due(0, 2 * HOUR, 5 * DAY), 5 * DAY);
        // Far from it: the keep-alive.
        assert_eq!(schedule.next_due(0, 2 * HOUR, 180 * DAY), 7 * DAY);
    }

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(due_shard("u", "o"), due_shard("u", "o"));
        let used: std::collections::HashSet<String> = (0..200)
            .map(|i| due_shard("u", &format!("open-{i}")))
            .collect();
        assert_eq!(used.len(), usize::from(DUE_SHARDS));
    }
}
