//! Typed configuration read once per cold start from the environment
//! (docs/deploy.md#configuration).
//!
//! A missing or malformed variable stops the cold start with an error naming the variable and how to
//! fix it; nothing is read from the environment after start-up.

use std::fmt;

use url::Url;

use connect_adapters::SchedulerTarget;
use connect_adapters::keys::{DUE_INDEX, LEGACY_DUE_INDEX};
use connect_domain::pkce::PkceMode;
use connect_domain::return_url::ReturnUrlPolicy;
use connect_domain::schedule::{DEFAULT_KEEPALIVE_HOURS, RefreshMode, RefreshSchedule};
use connect_domain::scope::{Scope, ScopeSet};
use connect_services::connect::ConnectSettings;
use connect_services::refresh_job::JobSettings;

/// TikTok's authorize page, used when `TIKTOK_AUTH_URL` is unset.
pub const DEFAULT_AUTH_URL: &str = "https://www.tiktok.com/v2/auth/authorize/";
/// TikTok's API base, used when `TIKTOK_API_URL` is unset.
pub const DEFAULT_API_URL: &str = "https://open.tiktokapis.com";

/// The settings the functions share, read from the environment and checked at once; each field
/// names its variable. Every function that starts through `ColdStart` loads all of it, so the
/// required variables (`TABLE_NAME`, `KMS_KEY_ID`, `TIKTOK_CLIENT_KEY`, `APP_RETURN_URL`) must be
/// set for each, even one that does not use them.
#[derive(Debug, Clone)]
pub struct Config {
    /// The one DynamoDB table (`TABLE_NAME`): OAuth states, accounts, pending connections, posts,
    /// idempotency claims, webhook deliveries and the per-minute counters.
    pub table_name: String,
    /// KMS key id, ARN or alias used to encrypt tokens and PKCE verifiers (`KMS_KEY_ID`).
    pub kms_key_id: String,
    /// Secrets Manager secret `{"tiktok_client_secret"}` (`TIKTOK_SECRET_ID`): set only for the
    /// functions that call TikTok as the app or check its webhooks.
    pub tiktok_secret_id: Option<String>,
    /// Secrets Manager secret `{"app_jwt_secret", "app_jwt_secret_next"?}` (`APP_JWT_SECRET_ID`):
    /// set only for the functions that verify app JWTs (not needed with `APP_JWT_PUBLIC_KEYS`).
    pub jwt_secret_id: Option<String>,
    /// The TikTok app's client key (`TIKTOK_CLIENT_KEY`).
    pub tiktok_client_key: String,
    /// The callback URL exactly as registered at TikTok (`TIKTOK_REDIRECT_URI`); sent byte-for-byte.
    /// Unset in the deployed stack: there each request's own API domain gives
    /// `https://<domain>/tiktok/callback` (`connect_domain::api_origin::ApiOrigin`).
    pub redirect_uri: Option<String>,
    /// Where the callback sends the browser by default (`APP_RETURN_URL`).
    pub app_return_url: Url,
    /// Further exact return URLs a caller may ask for (`APP_ALLOWED_RETURN_URLS`).
    pub allowed_return_urls: Vec<Url>,
    /// Scopes this deployment may request (`TIKTOK_SCOPES`).
    pub scopes: ScopeSet,
    /// PKCE flavour sent to TikTok (`TIKTOK_PKCE`).
    pub pkce: PkceMode,
    /// TikTok's authorize endpoint (`TIKTOK_AUTH_URL`).
    pub auth_url: Url,
    /// TikTok's API base (`TIKTOK_API_URL`, default `https://open.tiktokapis.com/`); the adapter
    /// joins paths to it with exactly one slash.
    pub api_url: Url,
    /// Expected `iss` of app JWTs (`APP_JWT_ISSUER`).
    pub jwt_issuer: Option<String>,
    /// Expected `aud` of app JWTs (`APP_JWT_AUDIENCE`).
    pub jwt_audience: Option<String>,
    /// The app's public JWT keys, a JSON Web Key Set (`APP_JWT_PUBLIC_KEYS`): when set, app JWTs
    /// are EdDSA or ES256 tokens naming one of these keys by `kid`, and HS256 ones are refused.
    pub jwt_public_keys: Option<String>,
    /// Longest lifetime (`exp - iat`) of an app JWT, in seconds (`APP_JWT_MAX_LIFETIME_SECONDS`);
    /// `iat` is then required.
    pub jwt_max_lifetime_secs: Option<u32>,
    /// The refresh policy, the job's period and the keep-alive period (`REFRESH_POLICY`,
    /// `REFRESH_INTERVAL_MINUTES`, `REFRESH_KEEPALIVE_HOURS`).
    pub refresh_schedule: RefreshSchedule,
    /// Refreshes the job runs at once (`REFRESH_CONCURRENCY`).
    pub refresh_concurrency: usize,
    /// Secrets one envelope data key seals at most (`DATA_KEY_MAX_USES`, default 10,000; 1 = one
    /// KMS call per seal, as before envelopes); it also serves 15 minutes at most.
    pub data_key_max_uses: u32,
    /// Most refreshes the job starts per minute (`REFRESH_RATE_PER_MINUTE`).
    pub refresh_rate_per_minute: u32,
    /// Most connects one app user may start per minute (`AUTHORIZE_PER_USER_PER_MINUTE`): each
    /// stores a state, so a user holding their JWT cannot flood the table.
    pub authorize_per_user_per_minute: u32,
    /// The URL prefixes verified in TikTok's portal (`MEDIA_URL_PREFIXES`, comma-separated https
    /// prefixes): when set, a video or photo URL outside them is refused before TikTok is asked;
    /// empty, only TikTok checks (`403 url_ownership_unverified`).
    pub media_url_prefixes: Vec<String>,
    /// Where scheduled posts' one-time schedules go (`SCHEDULE_GROUP`,
    /// `SCHEDULED_POST_FUNCTION_ARN`, `SCHEDULER_ROLE_ARN`, `SCHEDULE_DEAD_LETTER_ARN`: all or
    /// none); `None`: `publish_at` is refused.
    pub schedules: Option<SchedulerTarget>,
    /// The EventBridge bus the events for the app go to (`EVENT_BUS_NAME`); `None`: no events.
    pub event_bus: Option<String>,
    /// The due index the job reads (`DUE_INDEX`): `due-by-shard` (the default), or the
    /// `refresh-due` index it replaces, only during the first of the two deploys that upgrade a
    /// stack created with that one (docs/deploy.md#upgrading-a-stack).
    pub due_index: &'static str,
}

/// Why the configuration could not be loaded; names the variable and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// What is wrong with it and the fix, worded to follow the variable's name (`is not set; set
    /// it to …`).
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "configuration error in {}: {}",
            self.variable, self.problem
        )
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str, what: &str| {
            get(name).ok_or_else(|| ConfigError {
                variable: name,
                problem: format!("is not set; set it to {what}"),
            })
        };

        let redirect_uri = get("TIKTOK_REDIRECT_URI");
        if let Some(uri) = &redirect_uri {
            parse_url("TIKTOK_REDIRECT_URI", uri)?;
        }
        let app_return_url = parse_url(
            "APP_RETURN_URL",
            &required(
                "APP_RETURN_URL",
                "the app page the browser returns to after connecting",
            )?,
        )?;
        let allowed_return_urls = match get("APP_ALLOWED_RETURN_URLS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| parse_url("APP_ALLOWED_RETURN_URLS", s))
                .collect::<Result<_, _>>()?,
        };
        let scopes = match get("TIKTOK_SCOPES") {
            None => ScopeSet::from_iter([Scope::new(connect_domain::scope::USER_INFO_BASIC)]),
            Some(list) => ScopeSet::parse_comma_list(&list).map_err(|bad| ConfigError {
                variable: "TIKTOK_SCOPES",
                problem: format!(
                    "contains `{bad}`, which is not a scope; use a comma-separated list such as user.info.basic,video.list"
                ),
            })?,
        };
        if scopes.is_empty() {
            return Err(ConfigError {
                variable: "TIKTOK_SCOPES",
                problem: "lists no scope; use for example user.info.basic".into(),
            });
        }
        let pkce = match get("TIKTOK_PKCE") {
            None => PkceMode::Off,
            Some(v) => PkceMode::parse(&v).ok_or_else(|| ConfigError {
                variable: "TIKTOK_PKCE",
                problem: format!("is `{v}`; use one of off, s256-hex, s256-base64url"),
            })?,
        };
        let auth_url = parse_url(
            "TIKTOK_AUTH_URL",
            &get("TIKTOK_AUTH_URL").unwrap_or_else(|| DEFAULT_AUTH_URL.into()),
        )?;
        let api_url = parse_url(
            "TIKTOK_API_URL",
            get("TIKTOK_API_URL")
                .unwrap_or_else(|| DEFAULT_API_URL.into())
                .trim_end_matches('/'),
        )?;

        let number = |name: &'static str, default: u32, max: u32| match get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| ConfigError {
                    variable: name,
                    problem: format!("is `{v}`; use a whole number from 1 to {max}"),
                }),
        };
        let mode = match get("REFRESH_POLICY") {
            None => RefreshMode::KeepAlive,
            Some(v) => RefreshMode::parse(&v).ok_or_else(|| ConfigError {
                variable: "REFRESH_POLICY",
                problem: format!("is `{v}`; use keepalive or eager"),
            })?,
        };
        let refresh_schedule = RefreshSchedule {
            mode,
            interval_secs: i64::from(number("REFRESH_INTERVAL_MINUTES", 15, 24 * 60)?) * 60,
            // 1 hour to 180 days (a refresh token's whole life).
            keepalive_secs: i64::from(number(
                "REFRESH_KEEPALIVE_HOURS",
                DEFAULT_KEEPALIVE_HOURS,
                180 * 24,
            )?) * 3600,
        };

        let jwt_public_keys = get("APP_JWT_PUBLIC_KEYS");
        if let Some(jwks) = &jwt_public_keys {
            connect_http::jwt::JwtVerifier::with_public_keys(jwks, None, None).map_err(|problem| {
                ConfigError {
                    variable: "APP_JWT_PUBLIC_KEYS",
                    problem: format!(
                        "{problem}; use a JWKS of Ed25519 (OKP) or P-256 (EC) public keys, each with a kid"
                    ),
                }
            })?;
        }
        let media_url_prefixes = match get("MEDIA_URL_PREFIXES") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|prefix| {
                    parse_url("MEDIA_URL_PREFIXES", prefix)
                        .ok()
                        .filter(|url| url.scheme() == "https")
                        .map(|_| prefix.to_owned())
                        .ok_or_else(|| ConfigError {
                            variable: "MEDIA_URL_PREFIXES",
                            problem: format!(
                                "contains `{prefix}`; use https URL prefixes verified in TikTok's portal, such as https://media.example.com/"
                            ),
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        let schedules = schedules(&get)?;
        let due_index = match get("DUE_INDEX").as_deref() {
            None | Some(DUE_INDEX) => DUE_INDEX,
            Some(LEGACY_DUE_INDEX) => LEGACY_DUE_INDEX,
            Some(other) => {
                return Err(ConfigError {
                    variable: "DUE_INDEX",
                    problem: format!("is `{other}`; use {DUE_INDEX} or {LEGACY_DUE_INDEX}"),
                });
            }
        };
        let jwt_max_lifetime_secs = match get("APP_JWT_MAX_LIFETIME_SECONDS") {
            None => None,
            Some(_) => Some(number("APP_JWT_MAX_LIFETIME_SECONDS", 0, 30 * 86_400)?),
        };

        Ok(Self {
            table_name: required("TABLE_NAME", "the DynamoDB table name")?,
            kms_key_id: required(
                "KMS_KEY_ID",
                "the KMS key id, ARN or alias for token encryption",
            )?,
            tiktok_secret_id: get("TIKTOK_SECRET_ID"),
            jwt_secret_id: get("APP_JWT_SECRET_ID"),
            tiktok_client_key: required("TIKTOK_CLIENT_KEY", "your TikTok app's client key")?,
            redirect_uri,
            app_return_url,
            allowed_return_urls,
            scopes,
            pkce,
            auth_url,
            api_url,
            jwt_issuer: get("APP_JWT_ISSUER"),
            jwt_audience: get("APP_JWT_AUDIENCE"),
            jwt_public_keys,
            jwt_max_lifetime_secs,
            refresh_schedule,
            refresh_concurrency: number("REFRESH_CONCURRENCY", 8, 256)? as usize,
            data_key_max_uses: number("DATA_KEY_MAX_USES", 10_000, 1_000_000)?,
            refresh_rate_per_minute: number("REFRESH_RATE_PER_MINUTE", 600, 1_000_000)?,
            authorize_per_user_per_minute: number("AUTHORIZE_PER_USER_PER_MINUTE", 30, 100_000)?,
            media_url_prefixes,
            schedules,
            event_bus: get("EVENT_BUS_NAME"),
            due_index,
        })
    }
}

/// The four scheduling variables: all set, or none (scheduled posts off).
fn schedules(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<SchedulerTarget>, ConfigError> {
    const NAMES: [&str; 4] = [
        "SCHEDULE_GROUP",
        "SCHEDULED_POST_FUNCTION_ARN",
        "SCHEDULER_ROLE_ARN",
        "SCHEDULE_DEAD_LETTER_ARN",
    ];
    let values = NAMES.map(get);
    if values.iter().all(Option::is_none) {
        return Ok(None);
    }
    match values {
        [
            Some(group),
            Some(function_arn),
            Some(role_arn),
            Some(dead_letter_arn),
        ] => Ok(Some(SchedulerTarget {
            group,
            function_arn,
            role_arn,
            dead_letter_arn,
        })),
        _ => {
            let at = values.iter().position(Option::is_none).unwrap_or(0);
            Err(ConfigError {
                variable: NAMES[at],
                problem: format!(
                    "is not set while other scheduling variables are; set all of {} (the template does) or none",
                    NAMES.join(", ")
                ),
            })
        }
    }
}

fn parse_url(variable: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| ConfigError {
        variable,
        problem: format!(
            "is not an absolute URL ({e}); use for example https://app.example.com/settings"
        ),
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(ConfigError {
            variable,
            problem: "must be an http(s) URL with a host".into(),
        });
    }
    Ok(url)
}

/// The connect flow's settings (authorize and callback) from the configuration.
impl From<&Config> for ConnectSettings {
    fn from(config: &Config) -> Self {
        Self {
            client_key: config.tiktok_client_key.clone(),
            redirect_uri: config.redirect_uri.clone(),
            auth_url: config.auth_url.clone(),
            allowed_scopes: config.scopes.clone(),
            pkce: config.pkce,
            return_urls: ReturnUrlPolicy::new(
                config.app_return_url.clone(),
                config.allowed_return_urls.clone(),
            ),
            starts_per_minute: config.authorize_per_user_per_minute,
        }
    }
}

/// The refresh job's settings from the configuration; the rest are the job's defaults.
impl From<&Config> for JobSettings {
    fn from(config: &Config) -> Self {
        Self {
            concurrency: config.refresh_concurrency,
            rate_per_minute: config.refresh_rate_per_minute,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("TABLE_NAME", "t"),
            ("KMS_KEY_ID", "alias/k"),
            ("TIKTOK_SECRET_ID", "tiktok"),
            ("APP_JWT_SECRET_ID", "jwt"),
            ("TIKTOK_CLIENT_KEY", "ck"),
            (
                "TIKTOK_REDIRECT_URI",
                "https://api.example.com/tiktok/callback",
            ),
            ("APP_RETURN_URL", "https://app.example.com/settings"),
        ])
    }

    fn load(vars: &HashMap<&'static str, &'static str>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| vars.get(k).map(|v| (*v).to_owned()))
    }

    #[test]
    fn defaults_apply() {
        let config = load(&base()).expect("valid config");
        assert_eq!(config.scopes.to_comma_list(), "user.info.basic");
        assert_eq!(config.pkce, PkceMode::Off);
        assert_eq!(config.auth_url.as_str(), DEFAULT_AUTH_URL);
        assert_eq!(config.api_url.as_str(), "https://open.tiktokapis.com/");
    }

    #[test]
    fn each_required_variable_is_named_when_missing() {
        for name in [
            "TABLE_NAME",
            "KMS_KEY_ID",
            "TIKTOK_CLIENT_KEY",
            "APP_RETURN_URL",
        ] {
            let mut vars = base();
            vars.remove(name);
            let err = load(&vars).expect_err("must fail");
            assert_eq!(err.variable, name);
            assert!(err.to_string().contains("is not set"), "{err}");
        }
    }

    #[test]
    fn the_due_index_is_the_new_one_unless_a_stack_is_upgrading() {
        let mut vars = base();
        assert_eq!(load(&vars).expect("default").due_index, "due-by-shard");
        vars.insert("DUE_INDEX", "refresh-due");
        assert_eq!(load(&vars).expect("upgrading").due_index, "refresh-due");
        vars.insert("DUE_INDEX", "posts-by-user");
        assert_eq!(load(&vars).expect_err("another").variable, "DUE_INDEX");
    }

    #[test]
    fn the_redirect_uri_is_optional_but_checked_when_set() {
        let mut vars = base();
        vars.remove("TIKTOK_REDIRECT_URI");
        assert_eq!(load(&vars).expect("deployed default").redirect_uri, None);
        vars.insert("TIKTOK_REDIRECT_URI", "/tiktok/callback");
        assert_eq!(
            load(&vars).expect_err("relative").variable,
            "TIKTOK_REDIRECT_URI"
        );
    }

    #[test]
    fn app_jwt_public_keys_and_lifetime_are_checked_at_start() {
        let mut vars = base();
        vars.insert(
            "APP_JWT_PUBLIC_KEYS",
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"hs"}]}"#,
        );
        assert_eq!(
            load(&vars)
                .expect_err("a shared key is not a public key")
                .variable,
            "APP_JWT_PUBLIC_KEYS"
        );
        vars.insert(
            "APP_JWT_PUBLIC_KEYS",
            r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"RppO1-yHFeLWyJMwx2io3BJaMHRlCJI9-83IYZFngk8","kid":"k1"}]}"#,
        );
        vars.insert("APP_JWT_MAX_LIFETIME_SECONDS", "3600");
        let config = load(&vars).expect("valid");
        assert!(config.jwt_public_keys.is_some());
        assert_eq!(config.jwt_max_lifetime_secs, Some(3600));
        vars.insert("APP_JWT_MAX_LIFETIME_SECONDS", "0");
        assert_eq!(
            load(&vars).expect_err("zero").variable,
            "APP_JWT_MAX_LIFETIME_SECONDS"
        );
    }

    #[test]
    fn malformed_values_are_rejected_with_a_fix() {
        let mut vars = base();
        vars.insert("TIKTOK_PKCE", "plain");
        assert_eq!(load(&vars).expect_err("bad pkce").variable, "TIKTOK_PKCE");
        let mut vars = base();
        vars.insert("TIKTOK_SCOPES", "user.info.basic video.list");
        assert_eq!(
            load(&vars).expect_err("space list").variable,
            "TIKTOK_SCOPES"
        );
        for (name, bad) in [
            ("REFRESH_POLICY", "lazy"),
            ("REFRESH_INTERVAL_MINUTES", "0"),
            ("REFRESH_KEEPALIVE_HOURS", "4321"),
            ("REFRESH_CONCURRENCY", "-2"),
            ("REFRESH_RATE_PER_MINUTE", "fast"),
        ] {
            let mut vars = base();
            vars.insert(name, bad);
            assert_eq!(load(&vars).expect_err(bad).variable, name);
        }
        let mut vars = base();
        vars.insert("APP_RETURN_URL", "/settings");
        assert_eq!(
            load(&vars).expect_err("relative").variable,
            "APP_RETURN_URL"
        );
    }
}
