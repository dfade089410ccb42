//! The one way a function runs: JSON logs, the function's own wiring once per cold start, then
//! its handler for every invocation. A failed wiring is logged (`cold start failed`) and ends the
//! process, so Lambda reports an init error instead of answering with a half-built function.
//!
//! Each `functions/<name>/src/main.rs` is one call of [`serve`], [`serve_job`] or
//! [`serve_without_aws`]; what differs between functions is only their `wire` and `handle`.

use std::future::Future;

use connect_domain::clock::SystemClock;
use lambda_http::{Body, Request, Response};
use lambda_runtime::LambdaEvent;
use serde::Serialize;

use crate::cold_start::{ColdStart, StartError};

/// What a failed start or a failed invocation is reported as.
pub type Error = lambda_http::Error;

/// Runs an HTTP function (API Gateway's HTTP API, or `cargo lambda watch`): `wire` builds the
/// function over the real adapters and the system clock, `handle` answers each request.
pub async fn serve<App, Answer>(
    wire: impl FnOnce(&ColdStart, SystemClock) -> Result<App, StartError>,
    handle: impl Fn(&'static App, Request) -> Answer,
) -> Result<(), Error>
where
    App: Sync + 'static,
    Answer: Future<Output = Result<Response<Body>, Error>> + Send,
{
    let app = start(async { wire(&ColdStart::load().await?, SystemClock) }).await?;
    lambda_http::run(lambda_http::service_fn(|request| handle(app, request))).await
}

/// Runs a function invoked with an event rather than an HTTP request (the scheduled job).
pub async fn serve_job<App, Answer, Output>(
    wire: impl FnOnce(&ColdStart, SystemClock) -> Result<App, StartError>,
    handle: impl Fn(&'static App, LambdaEvent<serde_json::Value>) -> Answer,
) -> Result<(), Error>
where
    App: Sync + 'static,
    Answer: Future<Output = Result<Output, Error>>,
    Output: Serialize,
{
    let app = start(async { wire(&ColdStart::load().await?, SystemClock) }).await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| handle(app, event))).await
}

/// Runs an HTTP function that needs no AWS client and no secret (the settings page): no
/// configuration of the others is loaded, so none of it can fail its start.
pub async fn serve_without_aws<App, Problem, Answer>(
    wire: impl FnOnce() -> Result<App, Problem>,
    handle: impl Fn(&'static App, Request) -> Answer,
) -> Result<(), Error>
where
    App: Sync + 'static,
    Problem: std::error::Error + Send + Sync + 'static,
    Answer: Future<Output = Result<Response<Body>, Error>> + Send,
{
    let app = start(async { wire() }).await?;
    lambda_http::run(lambda_http::service_fn(|request| handle(app, request))).await
}

/// Logging first (so a failed start is logged), then the wiring. The app lives as long as the
/// execution environment, so it is leaked once rather than reference-counted per request.
async fn start<App, Problem>(
    wiring: impl Future<Output = Result<App, Problem>>,
) -> Result<&'static App, Error>
where
    App: 'static,
    Problem: std::error::Error + Send + Sync + 'static,
{
    crate::telemetry::init();
    match wiring.await {
        Ok(app) => Ok(Box::leak(Box::new(app))),
        Err(problem) => {
            tracing::error!(error = %problem, "cold start failed");
            Err(Box::new(problem))
        }
    }
}
