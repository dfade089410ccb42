//! The scheduled `token-refresh` job: finds the accounts due for a refresh in the sparse due index
//! (never a table scan), refreshes them through the same race-safe path as the on-demand refresh,
//! with bounded concurrency and a start-rate cap, and stops starting new work well before the
//! invocation's time runs out. A run killed at any point loses nothing: tokens are only ever
//! written whole, by one conditional write, and an abandoned lease expires.

use connect_domain::ids::OpenId;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::Rng as _;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::pending::{self, Sweep};
use connect_domain::clock::Clock;
use connect_domain::events::{ACCOUNT_RECONNECT_SOON, AppEvent, announce, drain};
use connect_domain::ports::Ports;
use connect_domain::refresh::{Attempt, RefreshError, TokenKeeper};
use connect_domain::schedule::{DUE_SHARDS, RECONNECT_WARNING_SECS};
use connect_domain::store::{
    Account, DueCursor, NoticeStore, PendingConnectionStore, RefreshQueue,
};
use connect_domain::tiktok::TikTokError;

/// Longest wait between scheduled attempts after repeated transient failures.
const MAX_BACKOFF_SECS: i64 = 6 * 3600;
/// Accounts listed by name in the summary's reconnect report (the count is always complete).
const MAX_LISTED: usize = 100;
/// Unconfirmed connections revoked per run (a run every 15 minutes; connects that nobody
/// confirms are rare, so this keeps up with thousands a day).
const SWEEP_LIMIT: usize = 100;

/// How the refresh job paces itself. `concurrency` and `rate_per_minute` come from the
/// configuration (`REFRESH_CONCURRENCY`, `REFRESH_RATE_PER_MINUTE`); the rest are the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSettings {
    /// Refreshes in flight at once.
    pub concurrency: usize,
    /// Most refreshes started per minute (TikTok's documented API limits are 600/min).
    pub rate_per_minute: u32,
    /// No new refresh starts when less than this much time (at most a quarter of the
    /// invocation's) is left.
    pub stop_margin: Duration,
    /// Time one refresh may take, TikTok retries included.
    pub per_refresh: Duration,
    /// Accounts read from the due index per query.
    pub page_size: usize,
    /// Counting the due accounts a stopped run leaves ends this long before the invocation's
    /// deadline (at most a twentieth of the invocation's time); the counts are partial then.
    pub count_margin: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            concurrency: 8,
            rate_per_minute: 600,
            stop_margin: Duration::from_secs(30),
            per_refresh: Duration::from_secs(20),
            page_size: 100,
            count_margin: Duration::from_secs(1),
        }
    }
}

/// An account whose refresh token ends soon: the app should ask its person to reconnect.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReconnectSoon {
    /// The app user who owns the account: the one the app should ask.
    pub app_user: String,
    /// The TikTok account to connect again.
    pub open_id: OpenId,
    /// When the refresh token ends, Unix seconds; after it the account needs a new connect.
    pub refresh_token_expires_at: i64,
}

/// What one run did; returned as the invocation result, logged, and emitted as metrics.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Accounts due at the start of the run: `refreshed + skipped_fresh + reauth_required +
    /// transient_failures + remaining`.
    pub due: u64,
    /// Accounts whose tokens this run refreshed.
    pub refreshed: u64,
    /// Refreshed (or being refreshed, or deleted) by someone else since the index listed them.
    pub skipped_fresh: u64,
    /// TikTok refused the grant or the refresh token ended: marked, never retried by the job.
    pub reauth_required: u64,
    /// 429, 5xx, timeouts, AWS failures: left `active` and rescheduled with backoff.
    pub transient_failures: u64,
    /// Due accounts listed but not started (time budget or TikTok throttling); the next run
    /// takes them.
    pub remaining: u64,
    /// False when the run stopped early (time budget, TikTok throttling, or the due index could
    /// not be read, in which case the counts are partial).
    pub complete: bool,
    /// How long the run took, wall clock, in milliseconds.
    pub duration_ms: u64,
    /// Accounts whose refresh token ends within 7 days (count, then the first 100).
    pub reconnect_soon: u64,
    /// The first 100 of `reconnect_soon`, each with the app user to ask.
    pub reconnect_soon_accounts: Vec<ReconnectSoon>,
    /// Grants that waited for a confirm past their 10 minutes: revoked at TikTok (or only
    /// forgotten, when their TikTok user is connected here), retried later, or abandoned.
    pub unconfirmed_connections: Sweep,
    /// Events the bus had refused earlier, delivered from the outbox by this run.
    pub kept_events_delivered: u64,
}

/// Kept events delivered per run at most: a backlog drains over a few runs, leaving the run's
/// time to refreshes.
pub const OUTBOX_PER_RUN: u32 = 500;

/// How one account ended.
enum Outcome {
    Refreshed,
    Skipped,
    Reauth,
    Transient { throttled: bool },
}

/// The scheduled `token-refresh` job, built once per cold start; `run` is one invocation.
pub struct RefreshJob<P: Ports> {
    /// Refreshes through the same race-safe path as the routes; shared with the refresh tasks.
    pub keeper: Arc<TokenKeeper<P>>,
    /// How the job paces itself.
    pub settings: JobSettings,
}

impl<P: Ports> RefreshJob<P>
where
    P::Accounts: PendingConnectionStore + NoticeStore,
{
    /// One run; `run_deadline` is when the invocation will be stopped.
    pub async fn run(&self, run_deadline: Instant) -> Summary {
        let started = Instant::now();
        let now = self.keeper.clock.now();
        let horizon = self.keeper.policy.schedule.horizon(now);
        // A short invocation (e.g. `cargo lambda invoke`'s) keeps three quarters of its time.
        let budget = run_deadline.saturating_duration_since(started);
        let stop_at = run_deadline - self.settings.stop_margin.min(budget / 4);
        let mut reconnect_soon = Vec::new();
        let mut summary = Summary {
            // Events a request could not put on the bus wait in the outbox until now.
            kept_events_delivered: drain(&self.keeper.events, OUTBOX_PER_RUN).await as u64,
            ..Summary::default()
        };
        let permits = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let throttled = Arc::new(AtomicBool::new(false));
        let spacing = Duration::from_secs(60) / self.settings.rate_per_minute.max(1);
        let mut next_start = started;
        let mut tasks = JoinSet::new();
        let mut stopped = false;
        let mut index_failed = false;

        // Where counting starts once the run stops: the shard walked last (after the cursor) and
        // every shard after it in this run's order.
        let mut count_from: Option<(usize, Option<DueCursor>)> = None;
        let order = shard_order(now, self.keeper.policy.schedule.interval_secs);

        'walk: for (position, &shard) in order.iter().enumerate() {
            let mut cursor: Option<DueCursor> = None;
            loop {
                let page = match self
                    .keeper
                    .accounts
                    .due_page(shard, horizon, cursor.as_ref(), self.settings.page_size)
                    .await
                {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::error!(error = %e, shard, "could not read the due index; the next run retries");
                        stopped = true;
                        index_failed = true;
                        break 'walk;
                    }
                };
                let last_page = page.len() < self.settings.page_size;
                cursor = page.last().map(DueCursor::after);
                for account in page {
                    summary.due += 1;
                    note_reconnect_soon(&mut summary, &mut reconnect_soon, &account, now);
                    next_start = next_start.max(Instant::now());
                    stopped = stopped || next_start >= stop_at || throttled.load(Ordering::Relaxed);
                    if stopped {
                        summary.remaining += 1;
                        continue;
                    }
                    tokio::time::sleep_until(next_start).await;
                    next_start += spacing;
                    let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                        break 'walk;
                    };
                    // Waiting for a free slot may have used up the budget.
                    if Instant::now() >= stop_at || throttled.load(Ordering::Relaxed) {
                        stopped = true;
                        summary.remaining += 1;
                        continue;
                    }
                    collect(&mut summary, &mut tasks);
                    let keeper = Arc::clone(&self.keeper);
                    let throttled = Arc::clone(&throttled);
                    let deadline = (Instant::now() + self.settings.per_refresh).min(run_deadline);
                    tasks.spawn(async move {
                        let outcome = refresh_one(&keeper, account, deadline).await;
                        if matches!(outcome, Outcome::Transient { throttled: true }) {
                            throttled.store(true, Ordering::Relaxed);
                        }
                        drop(permit);
                        outcome
                    });
                }
                if stopped {
                    if !index_failed {
                        let rest_of_shard = (!last_page).then(|| cursor.clone()).flatten();
                        count_from = Some((position, rest_of_shard));
                    }
                    break 'walk;
                }
                if last_page {
                    break;
                }
            }
        }
        summary.complete = !stopped;
        if index_failed {
            tracing::warn!("the due index could not be read completely; counts are partial");
        }
        // The refreshes under way finish first: counting must not hold them up, nor count them.
        while let Some(joined) = tasks.join_next().await {
            tally(&mut summary, joined);
        }
        // Counting and the sweep below end this long before the invocation's deadline.
        let margin = self.settings.count_margin.min(budget / 20);
        let wrap_up_deadline = run_deadline.checked_sub(margin).unwrap_or(run_deadline);
        if let Some((position, cursor)) = count_from {
            self.count_rest_in_time(
                &mut summary,
                &order[position..],
                cursor,
                horizon,
                wrap_up_deadline,
            )
            .await;
        }
        // Then the grants nobody confirmed (live at TikTok, held by nobody), in what time is left:
        // refreshes come first, and a run stopped early leaves the stop margin for this.
        if Instant::now() < wrap_up_deadline {
            match pending::sweep_expired(&self.keeper, SWEEP_LIMIT, wrap_up_deadline).await {
                Ok(sweep) => summary.unconfirmed_connections = sweep,
                Err(e) => {
                    tracing::error!(error = %e, "could not sweep unconfirmed connections; the next run retries");
                }
            }
        }
        if Instant::now() < wrap_up_deadline {
            self.announce_reconnect_soon(&reconnect_soon, wrap_up_deadline)
                .await;
        }
        summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        summary
    }

    /// `account.reconnect_soon` for each listed account, once per refresh token: a notice keyed
    /// by the account and its refresh token's end is claimed first, so the later runs that list
    /// it again stay quiet, and a new grant (a new end) is announced afresh. Stops at
    /// `deadline`; those left are listed again when a later run finds them due (with the weekly
    /// keep-alive, in their last week, that is their end: `account.reauth_required` then).
    async fn announce_reconnect_soon(&self, accounts: &[ReconnectSoon], deadline: Instant) {
        let mut events = Vec::new();
        for soon in accounts {
            if Instant::now() >= deadline {
                break;
            }
            let notice = format!(
                "reconnect_soon:{}:{}:{}",
                soon.app_user, soon.open_id, soon.refresh_token_expires_at
            );
            let keep_until = soon.refresh_token_expires_at + RECONNECT_WARNING_SECS;
            match self.keeper.accounts.first_notice(&notice, keep_until).await {
                Ok(true) => {
                    let mut event = AppEvent::account(
                        ACCOUNT_RECONNECT_SOON,
                        &soon.app_user,
                        &soon.open_id,
                        self.keeper.clock.now(),
                    );
                    event.detail.refresh_token_expires_at = Some(soon.refresh_token_expires_at);
                    events.push(event);
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim a reconnect notice; the next run tries again")
                }
            }
        }
        announce(&self.keeper.events, events).await;
    }
}

/// The order a run walks the shards in: one shard further on each run (every `interval_secs`),
/// so a run stopped early by TikTok's rate limit or its budget does not leave the same last
/// shards behind run after run.
pub fn shard_order(now: i64, interval_secs: i64) -> Vec<u16> {
    let runs = now.div_euclid(interval_secs.max(1));
    let first = u16::try_from(runs.rem_euclid(i64::from(DUE_SHARDS))).unwrap_or(0);
    (0..DUE_SHARDS)
        .map(|offset| (first + offset) % DUE_SHARDS)
        .collect()
}

impl<P: Ports> RefreshJob<P> {
    /// Counts the due accounts a stopped run leaves: `shards[0]` after `cursor`, then the whole
    /// of the others, until `count_deadline` (then the counts are partial).
    async fn count_rest_in_time(
        &self,
        summary: &mut Summary,
        shards: &[u16],
        cursor: Option<DueCursor>,
        horizon: i64,
        count_deadline: Instant,
    ) {
        for (i, &shard) in shards.iter().enumerate() {
            let after = if i == 0 { cursor.as_ref() } else { None };
            if i == 0 && after.is_none() {
                // The stopped shard was read to its end.
                continue;
            }
            let counted = tokio::time::timeout_at(
                count_deadline,
                self.count_rest(summary, shard, horizon, after),
            )
            .await;
            if counted.is_err() {
                tracing::warn!(
                    shard,
                    "no time left to count the remaining due accounts; counts are partial"
                );
                return;
            }
        }
    }

    /// Adds the due accounts a stopped run leaves in `shard` after `after` to `due` and
    /// `remaining`, so the figures say how much the next run inherits.
    async fn count_rest(
        &self,
        summary: &mut Summary,
        shard: u16,
        horizon: i64,
        after: Option<&DueCursor>,
    ) {
        match self.keeper.accounts.count_due(shard, horizon, after).await {
            Ok(count) => {
                summary.due += count;
                summary.remaining += count;
            }
            Err(e) => {
                tracing::warn!(error = %e, shard, "could not count the remaining due accounts")
            }
        }
    }
}

/// Tallies the refreshes that have already finished, so the task set stays small.
fn collect(summary: &mut Summary, tasks: &mut JoinSet<Outcome>) {
    while let Some(joined) = tasks.try_join_next() {
        tally(summary, joined);
    }
}

fn tally(summary: &mut Summary, joined: Result<Outcome, tokio::task::JoinError>) {
    match joined {
        Ok(Outcome::Refreshed) => summary.refreshed += 1,
        Ok(Outcome::Skipped) => summary.skipped_fresh += 1,
        Ok(Outcome::Reauth) => summary.reauth_required += 1,
        Ok(Outcome::Transient { .. }) => summary.transient_failures += 1,
        Err(e) => {
            tracing::error!(error = %e, "a refresh task failed");
            summary.transient_failures += 1;
        }
    }
}

/// Counts an account whose refresh token ends soon, lists the first `MAX_LISTED` in the summary,
/// and keeps up to `MAX_RECONNECT_NOTICES` for `announce_reconnect_soon`.
fn note_reconnect_soon(
    summary: &mut Summary,
    to_announce: &mut Vec<ReconnectSoon>,
    account: &Account,
    now: i64,
) {
    if account.refresh_token_expires_at - now < RECONNECT_WARNING_SECS {
        summary.reconnect_soon += 1;
        let soon = ReconnectSoon {
            app_user: account.app_user.clone(),
            open_id: account.open_id.clone(),
            refresh_token_expires_at: account.refresh_token_expires_at,
        };
        if summary.reconnect_soon_accounts.len() < MAX_LISTED {
            summary.reconnect_soon_accounts.push(soon.clone());
        }
        if to_announce.len() < MAX_RECONNECT_NOTICES {
            to_announce.push(soon);
        }
    }
}

/// Reconnect notices claimed per run at most (a conditional put each); the rest wait for a
/// later run that lists them.
const MAX_RECONNECT_NOTICES: usize = 2_000;

async fn refresh_one<P: Ports>(
    keeper: &TokenKeeper<P>,
    account: Account,
    deadline: Instant,
) -> Outcome {
    let open_id = account.open_id.clone();
    match keeper.refresh_if_still_due(account.clone(), deadline).await {
        Ok(Attempt::Refreshed) => Outcome::Refreshed,
        Ok(Attempt::SkippedFresh) | Err(RefreshError::Gone) => Outcome::Skipped,
        Err(RefreshError::Reauth(_)) => Outcome::Reauth,
        Err(error) => {
            let throttled = matches!(error, RefreshError::TikTok(TikTokError::RateLimited { .. }));
            let log_id = match &error {
                RefreshError::TikTok(e) => e.log_id().unwrap_or_default().to_owned(),
                _ => String::new(),
            };
            tracing::warn!(open_id = %open_id, error = %error, tiktok_log_id = %log_id, "scheduled refresh failed; rescheduled with backoff");
            postpone(keeper, &account).await;
            Outcome::Transient { throttled }
        }
    }
}

/// Due again after `interval · 2^failures` (capped, jittered), never after the refresh token ends.
async fn postpone<P: Ports>(keeper: &TokenKeeper<P>, account: &Account) {
    let schedule = keeper.policy.schedule;
    let now = keeper.clock.now();
    let backoff = schedule
        .interval_secs
        .saturating_mul(1 << account.refresh_failures.min(10))
        .min(MAX_BACKOFF_SECS);
    let jitter = rand::rng().random_range(0..=schedule.interval_secs / 2);
    let due_at = (now + backoff + jitter).min(account.refresh_token_expires_at);
    if let Err(e) = keeper.accounts.postpone_refresh(account, due_at).await {
        // The account stays due; the next run tries again without backoff.
        tracing::warn!(open_id = %account.open_id, error = %e, "could not reschedule the refresh");
    }
}

/// The summary as one CloudWatch embedded-metric-format line: metrics without an API call.
pub fn metrics_line(summary: &Summary, function: &str, timestamp_ms: u64) -> String {
    let metrics = [
        ("Due", summary.due),
        ("Refreshed", summary.refreshed),
        ("SkippedFresh", summary.skipped_fresh),
        ("ReauthRequired", summary.reauth_required),
        ("TransientFailures", summary.transient_failures),
        ("Remaining", summary.remaining),
        ("ReconnectSoon", summary.reconnect_soon),
        (
            "UnconfirmedRevoked",
            summary.unconfirmed_connections.revoked,
        ),
        (
            "UnconfirmedRetryLater",
            summary.unconfirmed_connections.retry_later,
        ),
        ("DurationMs", summary.duration_ms),
    ];
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": "TikTokConnect",
                "Dimensions": [["Function"]],
                "Metrics": metrics.iter().map(|(name, _)| serde_json::json!({
                    "Name": name,
                    "Unit": if *name == "DurationMs" { "Milliseconds" } else { "Count" },
                })).collect::<Vec<_>>(),
            }],
        },
        "Function": function,
    });
    for (name, value) in metrics {
        line[name] = value.into();
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_walks_every_shard_once_starting_one_further_than_the_last() {
        let interval = 900;
        let first = shard_order(10 * interval, interval);
        let mut sorted = first.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..DUE_SHARDS).collect::<Vec<_>>());
        let next = shard_order(11 * interval + 5, interval);
        assert_eq!(next[0], (first[0] + 1) % DUE_SHARDS);
        assert_eq!(
            shard_order(10 * interval + 899, interval),
            first,
            "same slot"
        );
    }

    #[test]
    fn metrics_follow_the_embedded_metric_format() {
        let summary = Summary {
            due: 3,
            refreshed: 2,
            transient_failures: 1,
            duration_ms: 42,
            ..Summary::default()
        };
        let line: serde_json::Value =
            serde_json::from_str(&metrics_line(&summary, "token-refresh", 1_000)).expect("JSON");
        assert_eq!(line["_aws"]["Timestamp"], 1_000);
        let declared = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .expect("metrics");
        for metric in declared {
            let name = metric["Name"].as_str().expect("name");
            assert!(line[name].is_u64(), "{name} has a value");
        }
        assert_eq!(line["Refreshed"], 2);
        assert_eq!(line["Function"], "token-refresh");
    }
}
