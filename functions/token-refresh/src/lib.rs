//! The EventBridge-scheduled job that refreshes every account due before its next run.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use connect_domain::clock::Clock;
use connect_domain::ports::Ports;
use connect_domain::store::{NoticeStore, PendingConnectionStore};
use connect_runtime::cold_start::{ColdStart, Live, StartError};
use connect_services::refresh_job::{JobSettings, RefreshJob, Summary, metrics_line};
use lambda_runtime::LambdaEvent;
use tokio::time::Instant;

/// The metrics dimension when the runtime names no function (tests); deployed, it is the
/// function's own name, which the template's alarms select.
const FUNCTION: &str = "token-refresh";

/// The job over the real adapters.
pub type LiveJob<K> = RefreshJob<Live<K>>;

/// Wires the real adapters; `clock` is `SystemClock` in production (tests move time).
pub fn wire<K: Clock>(cold: &ColdStart, clock: K) -> Result<LiveJob<K>, StartError> {
    Ok(RefreshJob {
        keeper: Arc::new(cold.token_keeper(clock)?),
        settings: JobSettings::from(&cold.config),
    })
}

/// One scheduled invocation: the payload is ignored; the time left comes from the context.
pub async fn handle<P: Ports>(
    job: &RefreshJob<P>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<Summary, lambda_runtime::Error>
where
    P::Accounts: PendingConnectionStore + NoticeStore,
{
    let function = match event.context.env_config.function_name.as_str() {
        "" => FUNCTION,
        name => name,
    }
    .to_owned();
    let left = time_left(event.context.deadline, unix_millis());
    let summary = job.run(Instant::now() + left).await;
    tracing::info!(
        due = summary.due,
        refreshed = summary.refreshed,
        skipped_fresh = summary.skipped_fresh,
        reauth_required = summary.reauth_required,
        transient_failures = summary.transient_failures,
        remaining = summary.remaining,
        complete = summary.complete,
        reconnect_soon = summary.reconnect_soon,
        duration_ms = summary.duration_ms,
        "token refresh run finished"
    );
    // CloudWatch reads embedded-format metrics from stdout; no PutMetricData call.
    let line = metrics_line(&summary, &function, unix_millis());
    if let Err(e) = writeln!(std::io::stdout().lock(), "{line}") {
        tracing::warn!(error = %e, "could not write the metrics line");
    }
    Ok(summary)
}

/// The function's timeout in the template (`TokenRefreshFunction`); the budget when the runtime's
/// deadline cannot be believed.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(840);
/// Lambda's longest timeout: a deadline further ahead is not an epoch deadline.
const LAMBDA_MAX_TIMEOUT_MS: u64 = 900_000;
/// A deadline this far in the past is not one either (a late start is at most seconds late).
const LATE_START_MS: u64 = 60_000;

/// Time this run may take. Lambda's `Lambda-Runtime-Deadline-Ms` is an epoch time in milliseconds;
/// `cargo lambda watch` sends a duration there (600000), which read as an epoch lies in 1970 and
/// left the job no time at all. A deadline that is not between a minute ago and Lambda's longest
/// timeout ahead is treated as unknown: the run gets the function's configured timeout.
pub fn time_left(deadline_ms: u64, now_ms: u64) -> Duration {
    let plausible = deadline_ms.saturating_add(LATE_START_MS) >= now_ms
        && deadline_ms <= now_ms.saturating_add(LAMBDA_MAX_TIMEOUT_MS);
    if plausible {
        Duration::from_millis(deadline_ms.saturating_sub(now_ms))
    } else {
        tracing::warn!(
            deadline_ms,
            "the runtime's deadline is not an epoch time in the next 15 minutes; using the function's timeout"
        );
        FUNCTION_TIMEOUT
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_796_000_000_000;

    #[test]
    fn lambdas_epoch_deadline_gives_the_time_left() {
        assert_eq!(time_left(NOW + 840_000, NOW), Duration::from_secs(840));
        assert_eq!(time_left(NOW + 1_500, NOW), Duration::from_millis(1_500));
        assert_eq!(
            time_left(NOW - 2_000, NOW),
            Duration::ZERO,
            "late, not implausible"
        );
    }

    #[test]
    fn cargo_lambda_watchs_duration_and_other_implausible_deadlines_fall_back() {
        assert_eq!(
            time_left(600_000, NOW),
            FUNCTION_TIMEOUT,
            "cargo lambda watch"
        );
        assert_eq!(time_left(0, NOW), FUNCTION_TIMEOUT);
        assert_eq!(time_left(NOW + 3_600_000, NOW), FUNCTION_TIMEOUT);
        assert_eq!(time_left(u64::MAX, NOW), FUNCTION_TIMEOUT);
    }
}
