//! Fires a scheduled post: EventBridge Scheduler invokes this function once at the post's
//! `publish_at` with `{"publish_id": "sched_…"}` (under `make dev`, scripts/local_aws.py does).
//! The rules, never posting twice included, are `connect_services::publish::scheduled`.

use std::time::Duration;

use connect_adapters::DynamoPublishStore;
use connect_domain::clock::Clock;
use connect_domain::ports::Ports;
use connect_domain::refresh::TokenKeeper;
use connect_domain::store::{PublishStore, ScheduleStore};
use connect_http::api_error;
use connect_runtime::cold_start::{ColdStart, Live, StartError};
use connect_services::publish::scheduled::{FireReport, fire};
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use tokio::time::Instant;

/// What the function builds once per cold start.
pub struct ScheduledPost<P: Ports, S> {
    /// The token keeper: account, refresh, TikTok.
    pub keeper: TokenKeeper<P>,
    /// Scheduled and started posts.
    pub store: S,
}

/// The function over the real adapters.
pub type LiveScheduledPost<K> = ScheduledPost<Live<K>, DynamoPublishStore>;

/// Wires the real adapters; `clock` is `SystemClock` in production (tests move time).
pub fn wire<K: Clock>(cold: &ColdStart, clock: K) -> Result<LiveScheduledPost<K>, StartError> {
    Ok(ScheduledPost {
        keeper: cold.token_keeper(clock)?,
        store: cold.publishes(),
    })
}

/// The schedule's input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    publish_id: String,
}

/// The time one firing may take: creator info, perhaps a refresh, and the init, inside the
/// function's 28 s timeout with room to store the outcome.
pub const FIRE_BUDGET: Duration = Duration::from_secs(20);

/// One delivery. An input that is not `{"publish_id": "sched_…"}` is an error (nothing to retry
/// into success: it goes to the dead letters); a store failure before the claim is an error too,
/// so the delivery is retried.
pub async fn handle<P: Ports, S>(
    app: &ScheduledPost<P, S>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<FireReport, lambda_runtime::Error>
where
    S: PublishStore + ScheduleStore,
{
    let input: Input = serde_json::from_value(event.payload)
        .map_err(|_| "the input must be {\"publish_id\": \"sched_…\"}")?;
    let deadline = Instant::now() + FIRE_BUDGET;
    let report = fire(
        &app.keeper,
        &app.store,
        &input.publish_id,
        deadline,
        api_error::rendered,
    )
    .await
    .map_err(|e| api_error::ApiError::from(e).message())?;
    Ok(report)
}
