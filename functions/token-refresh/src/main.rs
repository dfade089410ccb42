use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    connect_runtime::telemetry::init();
    let cold = connect_runtime::cold_start::ColdStart::load()
        .await
        .inspect_err(|e| {
            tracing::error!(error = %e, "cold start failed");
        })?;
    let job = token_refresh::wire(&cold, connect_domain::clock::SystemClock)?;
    lambda_runtime::run(service_fn(|event| token_refresh::handle(&job, event))).await
}
