use lambda_http::{Error, service_fn};

/// No AWS client and no secret: the page is rendered once from the environment.
#[tokio::main]
async fn main() -> Result<(), Error> {
    connect_runtime::telemetry::init();
    let settings = console::page::ConsoleSettings::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "cold start failed");
    })?;
    let page = console::page(&settings).inspect_err(|e| {
        tracing::error!(error = %e, "cold start failed");
    })?;
    lambda_http::run(service_fn(|request| console::handle(&page, request))).await
}
