use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let cold = shared::runtime::ColdStart::load().await.inspect_err(|e| {
        tracing::error!(error = %e, "cold start failed");
    })?;
    let job = token_refresh::wire(&cold, shared::clock::SystemClock)?;
    lambda_runtime::run(service_fn(|event| token_refresh::handle(&job, event))).await
}
