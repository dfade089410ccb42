use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let cold = shared::runtime::ColdStart::load().await.inspect_err(|e| {
        tracing::error!(error = %e, "cold start failed");
    })?;
    let api = cold
        .webhook_api(shared::clock::SystemClock)
        .inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    lambda_http::run(service_fn(|request| webhook::handle(&api, request))).await
}
