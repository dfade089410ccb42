//! The port that fires a scheduled post at its time: EventBridge Scheduler in production
//! (`connect_adapters::EventBridgeScheduler`), a local runner under `make dev`
//! (scripts/local_aws.py), a recording fake in unit tests.

use std::future::Future;

/// Why the scheduler refused or could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("the scheduler call failed: {0}")]
pub struct SchedulerError(pub String);

/// One-time schedules, one per scheduled post, named by its id.
pub trait PostScheduler: Send + Sync {
    /// Fires the scheduled post `id` once at `at` (Unix seconds).
    fn schedule(
        &self,
        id: &str,
        at: i64,
    ) -> impl Future<Output = Result<(), SchedulerError>> + Send;

    /// Removes the schedule of `id` before it fires; one already gone is not an error.
    fn unschedule(&self, id: &str) -> impl Future<Output = Result<(), SchedulerError>> + Send;
}
