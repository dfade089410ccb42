//! The EventBridge-scheduled job that refreshes every account due before its next run.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use shared::cipher::{KmsCipher, TokenCipher};
use shared::cipher_cache::CachingCipher;
use shared::clock::Clock;
use shared::refresh_job::{JobSettings, RefreshJob, Summary, metrics_line};
use shared::runtime::{ColdStart, StartError};
use shared::store::{AccountStore, DynamoAccountStore};
use shared::tiktok::{TikTokApi, TikTokHttp};
use tokio::time::Instant;

/// The metrics dimension when the runtime names no function (tests); deployed, it is the
/// function's own name, which the template's alarms select.
const FUNCTION: &str = "token-refresh";

/// The job over the real adapters.
pub type LiveJob<K> = RefreshJob<DynamoAccountStore, CachingCipher<KmsCipher>, TikTokHttp, K>;

/// Wires the real adapters; `clock` is `SystemClock` in production (tests move time).
pub fn wire<K: Clock>(cold: &ColdStart, clock: K) -> Result<LiveJob<K>, StartError> {
    Ok(RefreshJob {
        keeper: Arc::new(cold.token_keeper(clock)?),
        settings: JobSettings::from(&cold.config),
    })
}

/// One scheduled invocation: the payload is ignored; the time left comes from the context.
pub async fn handle<A, C, T, K>(
    job: &RefreshJob<A, C, T, K>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<Summary, lambda_runtime::Error>
where
    A: AccountStore + 'static,
    C: TokenCipher + 'static,
    T: TikTokApi + 'static,
    K: Clock + 'static,
{
    let function = match event.context.env_config.function_name.as_str() {
        "" => FUNCTION,
        name => name,
    }
    .to_owned();
    let now_ms = unix_millis();
    let left = Duration::from_millis(event.context.deadline.saturating_sub(now_ms));
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

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}
