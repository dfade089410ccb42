//! Logging set-up shared by every function.
//!
//! Like `lambda_http::tracing::init_default_subscriber` (level from `AWS_LAMBDA_LOG_LEVEL` or
//! `RUST_LOG`, JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`), plus one rule: third-party crates are capped
//! at INFO whatever the level asked for, because some of them log payloads at TRACE/DEBUG — the
//! Lambda runtime logs every raw event (with the callback's `code` and the caller's JWT) at TRACE.
//!
//! The filter is `Targets` (`target=level` directives), not `EnvFilter`: the functions never
//! filter on spans or fields, and `EnvFilter` brings a regex engine into every binary (about
//! 0.5 MB, and work at cold start). So `lambda_http` and `lambda_runtime` are built without their
//! `tracing` feature, which only adds a default subscriber built on `EnvFilter`.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

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

/// The most verbose level any capped crate may log at.
const CAP: LevelFilter = LevelFilter::INFO;

/// The filter for a requested level (`"info"`, `"trace"`, or directives such as
/// `"warn,connect_services=debug"`). Directives that do not parse fall back to INFO; a request with
/// no bare level logs everything else at INFO. Each capped crate logs at what was asked for it,
/// but never more verbosely than INFO.
pub fn filter(requested: &str) -> Targets {
    let mut filter: Targets = requested.parse().unwrap_or_default();
    if filter.default_level().is_none() {
        filter = filter.with_default(LevelFilter::INFO);
    }
    let asked: Vec<(&str, LevelFilter)> = CAPPED_TARGETS
        .iter()
        .map(|target| (*target, most_verbose_enabled(&filter, target)))
        .collect();
    for (target, level) in asked {
        filter = filter.with_target(target, level.min(CAP));
    }
    filter
}

/// The most verbose level `filter` lets through for `target` (OFF when none).
fn most_verbose_enabled(filter: &Targets, target: &str) -> LevelFilter {
    use tracing::Level;
    [
        Level::TRACE,
        Level::DEBUG,
        Level::INFO,
        Level::WARN,
        Level::ERROR,
    ]
    .into_iter()
    .find(|level| filter.would_enable(target, level))
    .map_or(LevelFilter::OFF, LevelFilter::from_level)
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
        .with_max_level(LevelFilter::TRACE)
        .with_writer(writer);
    let filter = filter(requested_level);
    // A second initialisation (tests) keeps the first subscriber.
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .finish()
            .with(filter)
            .try_init()
    } else {
        builder.finish().with(filter).try_init()
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

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn enabled(requested: &str, target: &str, level: Level) -> bool {
        filter(requested).would_enable(target, &level)
    }

    #[test]
    fn trace_is_trace_for_our_crates_and_info_for_the_ones_that_log_payloads() {
        assert!(enabled("trace", "connect_services::connect", Level::TRACE));
        for target in CAPPED_TARGETS {
            assert!(enabled("trace", target, Level::INFO), "{target}");
            assert!(!enabled("trace", target, Level::DEBUG), "{target}");
        }
        // Capped by prefix, as a module path: the runtime's own modules too.
        assert!(!enabled(
            "trace",
            "lambda_runtime::layers::trace",
            Level::DEBUG
        ));
        assert!(!enabled("debug,hyper=trace", "hyper::proto", Level::DEBUG));
    }

    #[test]
    fn a_quieter_request_stays_quieter_for_the_capped_crates() {
        assert!(!enabled("warn", "hyper", Level::INFO));
        assert!(enabled("warn", "hyper", Level::WARN));
        assert!(!enabled("info,reqwest=error", "reqwest", Level::WARN));
    }

    #[test]
    fn directives_without_a_default_and_ones_that_do_not_parse_mean_info() {
        assert!(enabled(
            "connect_domain=debug",
            "connect_domain::refresh",
            Level::DEBUG
        ));
        assert!(enabled(
            "connect_domain=debug",
            "token_refresh",
            Level::INFO
        ));
        assert!(!enabled(
            "connect_domain=debug",
            "token_refresh",
            Level::DEBUG
        ));
        assert!(enabled("[{not a directive}]", "connect_http", Level::INFO));
        assert!(!enabled(
            "[{not a directive}]",
            "connect_http",
            Level::DEBUG
        ));
    }
}
