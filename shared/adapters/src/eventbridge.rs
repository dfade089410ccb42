//! EventBridge Scheduler, the adapter of `PostScheduler`: one one-time schedule per scheduled
//! post, in the stack's schedule group, invoking the `scheduled-post` function with the post's id.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::error::ProvideErrorMetadata as _;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, Target,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use connect_domain::scheduler::{PostScheduler, SchedulerError};
use connect_domain::store::MAX_FIRE_DELAY_SECS;

/// How long Scheduler retries a delivery: as late as a scheduled post may still fire.
const MAX_DELIVERY_DELAY_SECS: i32 = MAX_FIRE_DELAY_SECS as i32;
/// Scheduler's retries of a delivery it could not make (throttled, function unavailable).
const MAX_DELIVERY_RETRIES: i32 = 10;

/// Where the schedules go and what they invoke (`SCHEDULE_GROUP`, `SCHEDULED_POST_FUNCTION_ARN`,
/// `SCHEDULER_ROLE_ARN`, `SCHEDULE_DEAD_LETTER_ARN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerTarget {
    /// The schedule group the stack creates.
    pub group: String,
    /// The `scheduled-post` function.
    pub function_arn: String,
    /// The role Scheduler assumes to invoke it.
    pub role_arn: String,
    /// The queue of deliveries that failed for good.
    pub dead_letter_arn: String,
}

/// EventBridge Scheduler over the AWS SDK.
#[derive(Debug, Clone)]
pub struct EventBridgeScheduler {
    client: Client,
    target: SchedulerTarget,
}

impl EventBridgeScheduler {
    /// Schedules into `target.group`, invoking `target.function_arn`.
    pub fn new(client: Client, target: SchedulerTarget) -> Self {
        Self { client, target }
    }
}

/// Scheduler's `at()` expression, in UTC: `at(2026-12-02T20:40:00)`.
pub fn at_expression(at: i64) -> String {
    let stamp = DateTime::from_secs(at)
        .fmt(Format::DateTime)
        .unwrap_or_default();
    format!("at({})", stamp.trim_end_matches('Z'))
}

fn failed<E: std::error::Error + 'static>(what: &str, err: E) -> SchedulerError {
    SchedulerError(format!("{what}: {}", DisplayErrorContext(err)))
}

impl PostScheduler for EventBridgeScheduler {
    async fn schedule(&self, id: &str, at: i64) -> Result<(), SchedulerError> {
        let no_window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| failed("flexible time window", e))?;
        let target = Target::builder()
            .arn(&self.target.function_arn)
            .role_arn(&self.target.role_arn)
            .input(serde_json::json!({ "publish_id": id }).to_string())
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .arn(&self.target.dead_letter_arn)
                    .build(),
            )
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_event_age_in_seconds(MAX_DELIVERY_DELAY_SECS)
                    .maximum_retry_attempts(MAX_DELIVERY_RETRIES)
                    .build(),
            )
            .build()
            .map_err(|e| failed("schedule target", e))?;
        self.client
            .create_schedule()
            .name(id)
            .group_name(&self.target.group)
            .schedule_expression(at_expression(at))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(no_window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(target)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed("CreateSchedule", e))
    }

    async fn unschedule(&self, id: &str) -> Result<(), SchedulerError> {
        match self
            .client
            .delete_schedule()
            .name(id)
            .group_name(&self.target.group)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("ResourceNotFoundException") => Ok(()),
            Err(err) => Err(failed("DeleteSchedule", err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_expressions_are_utc_without_a_zone_suffix() {
        assert_eq!(at_expression(1_796_241_600), "at(2026-12-02T20:00:00)");
        assert_eq!(at_expression(0), "at(1970-01-01T00:00:00)");
    }
}
