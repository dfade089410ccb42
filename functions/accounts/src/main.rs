use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    connect_runtime::telemetry::init();
    let cold = connect_runtime::cold_start::ColdStart::load()
        .await
        .inspect_err(|e| {
            tracing::error!(error = %e, "cold start failed");
        })?;
    let api = cold.user_api(connect_domain::clock::SystemClock)?;
    lambda_http::run(service_fn(|request| accounts::handle(&api, request))).await
}
