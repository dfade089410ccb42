use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let cold = shared::runtime::ColdStart::load().await.inspect_err(|e| {
        tracing::error!(error = %e, "cold start failed");
    })?;
    let app: authorize::LiveApp = authorize::App::wire(&cold, shared::clock::SystemClock)
        .inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    lambda_http::run(service_fn(|request| authorize::handle(&app, request))).await
}
