//! `fake-tiktok [--addr 127.0.0.1:9100]`: the fake as a process, for `make dev`.
//!
//! Environment (all optional): `FAKE_TIKTOK_CLIENT_KEY`, `FAKE_TIKTOK_CLIENT_SECRET`,
//! `FAKE_TIKTOK_REDIRECT_URIS` (comma list), `FAKE_TIKTOK_PKCE` (off|hex|base64url),
//! `FAKE_TIKTOK_LIFETIMES` (2026, the default: 2 h access and 180 d refresh tokens | classic:
//! 24 h and 365 d), `FAKE_TIKTOK_LATENCY_MS` (latency of every API request, in milliseconds;
//! default 0), `FAKE_TIKTOK_WEBHOOK_URL` (where signed webhooks go; unset: none are sent),
//! `FAKE_TIKTOK_VERIFIED_URL_PREFIXES` (comma list of URL prefixes verified for `PULL_FROM_URL`;
//! default `https://media.example.com/`), `FAKE_TIKTOK_MODERATION_SECS` (fake-clock seconds a
//! completed public Direct Post waits for its post id; default 20), `RUST_LOG`. Logs are JSON
//! lines on stdout and never contain codes, tokens or secrets.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use fake_tiktok::{FakeConfig, FakeTikTok, Lifetimes, PkceMode};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

const DEFAULT_ADDR: &str = "127.0.0.1:9100";
const USAGE: &str = "usage: fake-tiktok [--addr 127.0.0.1:9100]";

fn parse_addr(mut args: impl Iterator<Item = String>) -> Result<SocketAddr, String> {
    let mut addr = DEFAULT_ADDR.to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or(USAGE)?,
            other => match other.strip_prefix("--addr=") {
                Some(value) => addr = value.to_owned(),
                None => return Err(format!("unknown argument `{other}`\n{USAGE}")),
            },
        }
    }
    addr.parse()
        .map_err(|_| format!("--addr `{addr}` is not an IP:port like {DEFAULT_ADDR}"))
}

fn config_from_env() -> Result<FakeConfig, String> {
    config_from(|name| std::env::var(name).ok())
}

/// The configuration from environment variables, read through `lookup`; blank means unset.
fn config_from(lookup: impl Fn(&str) -> Option<String>) -> Result<FakeConfig, String> {
    let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let mut config = FakeConfig::default();
    if let Some(key) = var("FAKE_TIKTOK_CLIENT_KEY") {
        config.client_key = key;
    }
    if let Some(secret) = var("FAKE_TIKTOK_CLIENT_SECRET") {
        config.client_secret = secret;
    }
    if let Some(uris) = var("FAKE_TIKTOK_REDIRECT_URIS") {
        config.redirect_uris = uris
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
    }
    if let Some(pkce) = var("FAKE_TIKTOK_PKCE") {
        config.pkce = match pkce.to_ascii_lowercase().as_str() {
            "off" => PkceMode::Off,
            "hex" => PkceMode::Hex,
            "base64url" => PkceMode::Base64Url,
            _ => {
                return Err(format!(
                    "FAKE_TIKTOK_PKCE=`{pkce}`: use off, hex or base64url"
                ));
            }
        };
    }
    if let Some(lifetimes) = var("FAKE_TIKTOK_LIFETIMES") {
        config.lifetimes = match lifetimes.to_ascii_lowercase().as_str() {
            "classic" => Lifetimes::CLASSIC,
            "2026" => Lifetimes::Y2026,
            _ => {
                return Err(format!(
                    "FAKE_TIKTOK_LIFETIMES=`{lifetimes}`: use classic or 2026"
                ));
            }
        };
    }
    if let Some(millis) = var("FAKE_TIKTOK_LATENCY_MS") {
        let millis: u64 = millis.trim().parse().map_err(|_| {
            format!("FAKE_TIKTOK_LATENCY_MS=`{millis}`: use a whole number of milliseconds")
        })?;
        config.latency = Duration::from_millis(millis);
    }
    if let Some(url) = var("FAKE_TIKTOK_WEBHOOK_URL") {
        let url = url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "FAKE_TIKTOK_WEBHOOK_URL=`{url}`: use an http(s) URL such as http://127.0.0.1:9000/webhook"
            ));
        }
        config.webhook_url = Some(url.to_owned());
    }
    if let Some(secs) = var("FAKE_TIKTOK_MODERATION_SECS") {
        config.moderation_secs = secs.trim().parse::<u32>().map(i64::from).map_err(|_| {
            format!("FAKE_TIKTOK_MODERATION_SECS=`{secs}`: use a whole number of seconds")
        })?;
    }
    if let Some(prefixes) = var("FAKE_TIKTOK_VERIFIED_URL_PREFIXES") {
        config.verified_url_prefixes = prefixes
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    // `Targets` (RUST_LOG's `level` and `target=level` forms), not `EnvFilter`: its regex
    // engine would give tracing-subscriber features the functions' build lacks, and so a build
    // of its own for everything above it (docs/development.md#one-debug-build).
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().json())
        .with(filter)
        .init();
    let setup = parse_addr(std::env::args().skip(1))
        .and_then(|addr| config_from_env().map(|config| (addr, config)));
    let (addr, config) = match setup {
        Ok(setup) => setup,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::from(2);
        }
    };
    let client_key = config.client_key.clone();
    let redirect_uris = config.redirect_uris.join(",");
    let pkce = format!("{:?}", config.pkce);
    let webhook_url = config.webhook_url.clone().unwrap_or_default();
    let fake = match FakeTikTok::start_on(config, addr).await {
        Ok(fake) => fake,
        Err(error) => {
            tracing::error!(%error, %addr, "cannot bind");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        url = %fake.base_url(),
        authorize_url = %fake.authorize_url(),
        client_key,
        redirect_uris,
        pkce,
        webhook_url,
        "fake-tiktok listening"
    );
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn addr_flag() {
        assert_eq!(parse_addr(args(&[])).ok(), DEFAULT_ADDR.parse().ok());
        assert_eq!(
            parse_addr(args(&["--addr", "127.0.0.1:1"])).ok(),
            "127.0.0.1:1".parse().ok()
        );
        assert!(parse_addr(args(&["--addr"])).is_err());
        assert!(parse_addr(args(&["--port", "1"])).is_err());
    }

    fn config_with(name: &'static str, value: &'static str) -> Result<FakeConfig, String> {
        config_from(|n| (n == name).then(|| value.to_owned()))
    }

    #[test]
    fn latency_from_env() {
        let latency = |value| config_with("FAKE_TIKTOK_LATENCY_MS", value).map(|c| c.latency);
        assert_eq!(latency("100"), Ok(Duration::from_millis(100)));
        assert_eq!(latency(" 0 "), Ok(Duration::ZERO));
        assert_eq!(latency(""), Ok(Duration::ZERO));
        assert!(latency("100ms").is_err());
        assert!(latency("-1").is_err());
        assert_eq!(config_from(|_| None).map(|c| c.latency), Ok(Duration::ZERO));
    }

    #[test]
    fn lifetimes_and_moderation_from_env() {
        let lifetimes = |value| config_with("FAKE_TIKTOK_LIFETIMES", value).map(|c| c.lifetimes);
        assert_eq!(lifetimes(""), Ok(Lifetimes::Y2026), "the default");
        assert_eq!(lifetimes("classic"), Ok(Lifetimes::CLASSIC));
        assert_eq!(lifetimes("2026"), Ok(Lifetimes::Y2026));
        assert!(lifetimes("2025").is_err());
        let moderation =
            |value| config_with("FAKE_TIKTOK_MODERATION_SECS", value).map(|c| c.moderation_secs);
        assert_eq!(moderation(""), Ok(20), "the default");
        assert_eq!(moderation(" 0 "), Ok(0));
        assert_eq!(moderation("3600"), Ok(3_600));
        assert!(moderation("-1").is_err());
        assert!(moderation("20s").is_err());
    }

    #[test]
    fn webhook_and_prefixes_from_env() {
        let hook = |value| config_with("FAKE_TIKTOK_WEBHOOK_URL", value).map(|c| c.webhook_url);
        assert_eq!(
            hook("http://127.0.0.1:9000/webhook"),
            Ok(Some("http://127.0.0.1:9000/webhook".to_owned()))
        );
        assert_eq!(hook(""), Ok(None));
        assert!(hook("127.0.0.1:9000").is_err());
        let prefixes = config_with(
            "FAKE_TIKTOK_VERIFIED_URL_PREFIXES",
            "https://a.example/, https://b.example/v/",
        )
        .map(|c| c.verified_url_prefixes);
        assert_eq!(
            prefixes,
            Ok(vec![
                "https://a.example/".to_owned(),
                "https://b.example/v/".to_owned()
            ])
        );
    }
}
