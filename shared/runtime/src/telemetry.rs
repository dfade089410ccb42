//! Logging set-up shared by every function.
//!
//! Like `lambda_http::tracing::init_default_subscriber` (level from `AWS_LAMBDA_LOG_LEVEL` or
//! `RUST_LOG`, JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`), plus one rule: third-party crates are capped
//! at INFO whatever the level asked for, because some of them log payloads at TRACE/DEBUG — the
//! Lambda runtime logs every raw event (with the callback's `code` and the caller's JWT) at TRACE.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Crates whose verbose levels may print request or response bodies or headers.
const CAPPED_TARGETS: [&str; 10] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_sigv4",
    "aws_config",
    "hyper",
    "hyper_util",
    "reqwest",
];

/// The filter for a requested level (`"info"`, `"trace"`, or full `RUST_LOG` directives).
pub fn filter(requested: &str) -> EnvFilter {
    let mut filter = EnvFilter::builder()
        .with_default_directive(tracing::level_filters::LevelFilter::INFO.into())
        .parse_lossy(requested);
    for target in CAPPED_TARGETS {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Installs the global subscriber writing to `writer`.
pub fn init_with_writer<W>(writer: W, json: bool, requested_level: &str)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_env_filter(filter(requested_level))
        .with_writer(writer);
    // A second initialisation (tests) keeps the first subscriber.
    let _ = if json {
        builder.json().with_current_span(true).try_init()
    } else {
        builder.try_init()
    };
}

/// Installs the subscriber for a Lambda function, configured from Lambda's environment.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    init_with_writer(std::io::stdout, json, &level);
}
