//! The floor of `make bench-cold` (tests/benches/cold_start.rs): what any Rust Lambda behind API
//! Gateway with the AWS SDK costs. At init it sets up JSON logs as the functions do and builds a
//! DynamoDB client from the default chain; each request makes one `GetItem` on `TABLE_NAME` and
//! answers `200` JSON. No secrets, no KMS, no app code: a function's distance from this is what
//! its own cold start adds.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Error, Request, Response, service_fn};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The probe's key; the item need not exist (a miss costs DynamoDB the same round trip).
const PK: &str = "FLOOR#probe";
const SK: &str = "PROBE";

/// JSON logs to stdout at `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG`, else info), built as
/// `connect_runtime::telemetry::init` builds them under Lambda's `LoggingConfig` (a `Targets`
/// filter; copied rather than depended on, which would link the functions' crates in).
fn init_logs() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let mut filter: Targets = level.parse().unwrap_or_default();
    if filter.default_level().is_none() {
        filter = filter.with_default(LevelFilter::INFO);
    }
    let _ = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_max_level(LevelFilter::TRACE)
        .with_writer(std::io::stdout)
        .json()
        .with_current_span(true)
        .finish()
        .with(filter)
        .try_init();
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logs();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    // Kept for the life of the environment, as the functions keep their wiring.
    let (client, table): (&'static _, &'static str) = (Box::leak(Box::new(client)), table.leak());
    lambda_http::run(service_fn(move |_request: Request| async move {
        let item = client
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S(PK.into()))
            .key("sk", AttributeValue::S(SK.into()))
            .consistent_read(true)
            .send()
            .await?
            .item;
        let body = serde_json::json!({ "ok": true, "found": item.is_some() }).to_string();
        Ok::<_, Error>(
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::Text(body))?,
        )
    }))
    .await
}
