use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    connect_runtime::telemetry::init();
    let cold = connect_runtime::cold_start::ColdStart::load()
        .await
        .inspect_err(|e| {
            tracing::error!(error = %e, "cold start failed");
        })?;
    let app: authorize::LiveApp =
        authorize::App::wire(&cold, connect_domain::clock::SystemClock)
            .inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    lambda_http::run(service_fn(|request| authorize::handle(&app, request))).await
}
