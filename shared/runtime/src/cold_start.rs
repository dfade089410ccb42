//! What every function builds once per cold start: configuration, AWS clients, the app secrets.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use serde::Deserialize;

use crate::config::{Config, ConfigError};
use connect_adapters::{
    DynamoAccountStore, DynamoPublishStore, DynamoStateStore, EventBridgeEvents,
    EventBridgeScheduler, TikTokHttp, TikTokHttpConfig,
};
use connect_adapters::{KmsCipher, kms_cipher};
use connect_domain::budget::{
    AWS_ATTEMPT_TIMEOUT, AWS_CONNECT_TIMEOUT, AWS_INITIAL_BACKOFF, AWS_MAX_ATTEMPTS,
    AWS_MAX_BACKOFF, AWS_OPERATION_TIMEOUT,
};
use connect_domain::cipher_cache::CachingCipher;
use connect_domain::clock::Clock;
use connect_domain::ports::{Adapters, ConnectAdapters};
use connect_domain::refresh::{RefreshPolicy, TokenKeeper};
use connect_domain::secret::{ClientSecret, JwtSecret};
use connect_http::handler::UserApi;
use connect_http::jwt::JwtVerifier;

/// The production adapters: DynamoDB, KMS with decryptions cached for the warm environment,
/// TikTok over reqwest; the clock is the system's (tests pass one they can move).
pub type Live<K> =
    Adapters<DynamoAccountStore, CachingCipher<KmsCipher>, TikTokHttp, K, EventBridgeEvents>;
/// The connect leg's production adapters: DynamoDB states and pending connections, KMS without a
/// cache (each secret it seals or opens is used once), TikTok over reqwest.
pub type LiveConnect<K> =
    ConnectAdapters<DynamoStateStore, DynamoAccountStore, KmsCipher, TikTokHttp, K>;
/// The token keeper over the real adapters.
pub type LiveKeeper<K> = TokenKeeper<Live<K>>;
/// The app-user functions' state over the real adapters.
pub type LiveUserApi<K> = UserApi<Live<K>>;

/// The timeouts of every AWS client.
pub fn aws_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(AWS_CONNECT_TIMEOUT)
        .operation_attempt_timeout(AWS_ATTEMPT_TIMEOUT)
        .operation_timeout(AWS_OPERATION_TIMEOUT)
        .build()
}

/// The retries of every AWS client.
pub fn aws_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(AWS_MAX_ATTEMPTS)
        .with_initial_backoff(AWS_INITIAL_BACKOFF)
        .with_max_backoff(AWS_MAX_BACKOFF)
}

/// The AWS clients, sharing one connection pool and credential cache.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// DynamoDB, for every store over the `TABLE_NAME` table.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// KMS, for the cipher under `KMS_KEY_ID`.
    pub kms: aws_sdk_kms::Client,
    /// Secrets Manager, used only at cold start to read the secrets (`AppSecrets::load`).
    pub secrets: aws_sdk_secretsmanager::Client,
    /// EventBridge Scheduler, for scheduled posts' one-time schedules.
    pub scheduler: aws_sdk_scheduler::Client,
    /// EventBridge, for the events put out to the app.
    pub events: aws_sdk_eventbridge::Client,
}

impl AwsClients {
    /// Uses the SDK's default chain; `AWS_ENDPOINT_URL` points every client at an emulator.
    /// Every call is bounded by [`aws_timeouts`] and retried per [`aws_retries`].
    pub async fn from_env() -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(aws_timeouts())
            .retry_config(aws_retries())
            .load()
            .await;
        Self::from_sdk_config(&sdk)
    }

    /// The clients over an SDK configuration already loaded; its timeouts and retries are the
    /// ones they get (`from_env` loads it with `aws_timeouts` and `aws_retries`).
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            kms: aws_sdk_kms::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            scheduler: aws_sdk_scheduler::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
        }
    }
}

/// The secrets this function was given, split by need: the TikTok client secret
/// (`TIKTOK_SECRET_ID`: token exchange, refresh, revoke, webhook signatures) and the app JWT key
/// (`APP_JWT_SECRET_ID`: verifying app JWTs). The template gives each function only the ones it
/// needs, so the webhook, the callback and the job cannot mint an app JWT.
#[derive(Default)]
pub struct AppSecrets {
    /// The TikTok client secret (`tiktok_client_secret` in `TIKTOK_SECRET_ID`); `None` when this
    /// function was not given that variable. Read it through `client_secret`, which makes the
    /// absence a start error.
    pub tiktok_client_secret: Option<ClientSecret>,
    /// The HS256 key app JWTs are verified with (`app_jwt_secret` in `APP_JWT_SECRET_ID`); `None`
    /// when this function was not given that variable. Unused when `APP_JWT_PUBLIC_KEYS` is set.
    pub app_jwt_secret: Option<JwtSecret>,
    /// During a rotation, the key the app is moving to (`app_jwt_secret_next`, optional).
    pub app_jwt_secret_next: Option<JwtSecret>,
}

/// Why a function could not start. `serve` logs it (`cold start failed`) and ends the process, so
/// Lambda reports an init error. Names variables and secret ids, never a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// An environment variable is missing or malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Secrets Manager did not return the secret (unknown id, access denied, or unreachable after
    /// the AWS client's retries).
    #[error("could not read secret {variable}={secret_id}: {cause}")]
    SecretUnavailable {
        /// The variable that names the secret: `TIKTOK_SECRET_ID` or `APP_JWT_SECRET_ID`.
        variable: &'static str,
        /// The secret's id or ARN, as that variable gives it.
        secret_id: String,
        /// The SDK's error with its context, for the log.
        cause: String,
    },
    /// The secret has no string value, is not the expected JSON, or its field is empty.
    #[error("secret {variable}={secret_id} is not JSON with {expected}")]
    SecretMalformed {
        /// The variable that names the secret: `TIKTOK_SECRET_ID` or `APP_JWT_SECRET_ID`.
        variable: &'static str,
        /// The secret's id or ARN, as that variable gives it.
        secret_id: String,
        /// The JSON the secret must hold, in words.
        expected: &'static str,
    },
    /// A placeholder or a key too short to sign with: refused, or a fresh stack would accept
    /// webhooks signed with `REPLACE_ME` and JWTs signed with a guessable key.
    #[error("secret {variable}={secret_id}: {field} {problem}")]
    SecretWeak {
        /// The variable that names the secret: `TIKTOK_SECRET_ID` or `APP_JWT_SECRET_ID`.
        variable: &'static str,
        /// The secret's id or ARN, as that variable gives it.
        secret_id: String,
        /// The JSON field refused: `tiktok_client_secret`, `app_jwt_secret` or
        /// `app_jwt_secret_next`.
        field: &'static str,
        /// Why it was refused: still the placeholder, or shorter than the minimum.
        problem: &'static str,
    },
    /// This function needs a secret its environment does not name.
    #[error("{variable} is not set; this function needs it for {purpose}")]
    SecretNotGiven {
        /// The variable to set: `TIKTOK_SECRET_ID` or `APP_JWT_SECRET_ID`.
        variable: &'static str,
        /// What the function needs the secret for.
        purpose: &'static str,
    },
    /// The TikTok HTTP client could not be built; carries reqwest's message.
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
}

#[derive(Deserialize)]
struct TikTokSecretJson {
    tiktok_client_secret: String,
}

#[derive(Deserialize)]
struct JwtSecretJson {
    app_jwt_secret: String,
    #[serde(default)]
    app_jwt_secret_next: Option<String>,
}

/// A field that is a placeholder or too short: `(field, problem)`.
pub type WeakField = (&'static str, &'static str);

const JWT_TOO_SHORT: &str = "is shorter than 32 bytes: an HS256 key needs 256 bits (RFC 7518 §3.2)";
const CLIENT_SECRET_TOO_SHORT: &str =
    "is shorter than 16 bytes: not a TikTok client secret (they are 32 characters)";

/// `value` checked as `field`: not the template's placeholder, at least `minimum` bytes.
fn strong(
    field: &'static str,
    value: &str,
    minimum: usize,
    too_short: &'static str,
) -> Result<(), Option<WeakField>> {
    if value.is_empty() {
        return Err(None);
    }
    if value.trim().to_ascii_uppercase().starts_with("REPLACE") {
        return Err(Some((
            field,
            "is still the placeholder: put your value in (docs/deploy.md)",
        )));
    }
    if value.len() < minimum {
        return Err(Some((field, too_short)));
    }
    Ok(())
}

impl AppSecrets {
    /// Reads the secrets the configuration names (at the same time: one round trip), once; the
    /// caller keeps them in memory for the life of the execution environment.
    pub async fn load(
        client: &aws_sdk_secretsmanager::Client,
        config: &Config,
    ) -> Result<Self, StartError> {
        let tiktok = async {
            match &config.tiktok_secret_id {
                None => Ok(None),
                Some(id) => {
                    let text = read_secret(client, "TIKTOK_SECRET_ID", id).await?;
                    Self::parse_tiktok(&text)
                        .map(Some)
                        .map_err(|weak| refused("TIKTOK_SECRET_ID", id, weak))
                }
            }
        };
        let jwt = async {
            match &config.jwt_secret_id {
                None => Ok(None),
                Some(id) => {
                    let text = read_secret(client, "APP_JWT_SECRET_ID", id).await?;
                    Self::parse_jwt(&text)
                        .map(Some)
                        .map_err(|weak| refused("APP_JWT_SECRET_ID", id, weak))
                }
            }
        };
        let (tiktok, jwt) = tokio::join!(tiktok, jwt);
        let (app_jwt_secret, app_jwt_secret_next) = jwt?.unzip();
        Ok(Self {
            tiktok_client_secret: tiktok?,
            app_jwt_secret,
            app_jwt_secret_next: app_jwt_secret_next.flatten(),
        })
    }

    /// The TikTok secret's JSON, checked: `Err(None)` when it is not the expected JSON,
    /// `Err(Some(..))` naming the field that is a placeholder or too short.
    pub fn parse_tiktok(text: &str) -> Result<ClientSecret, Option<WeakField>> {
        let parsed: TikTokSecretJson = serde_json::from_str(text).map_err(|_| None)?;
        strong(
            "tiktok_client_secret",
            &parsed.tiktok_client_secret,
            MIN_CLIENT_SECRET_BYTES,
            CLIENT_SECRET_TOO_SHORT,
        )?;
        Ok(ClientSecret::new(parsed.tiktok_client_secret))
    }

    /// The app JWT secret's JSON, checked as [`AppSecrets::parse_tiktok`] checks its own.
    pub fn parse_jwt(text: &str) -> Result<(JwtSecret, Option<JwtSecret>), Option<WeakField>> {
        let parsed: JwtSecretJson = serde_json::from_str(text).map_err(|_| None)?;
        strong(
            "app_jwt_secret",
            &parsed.app_jwt_secret,
            MIN_JWT_SECRET_BYTES,
            JWT_TOO_SHORT,
        )?;
        if let Some(next) = &parsed.app_jwt_secret_next {
            strong(
                "app_jwt_secret_next",
                next,
                MIN_JWT_SECRET_BYTES,
                JWT_TOO_SHORT,
            )?;
        }
        Ok((
            JwtSecret::new(parsed.app_jwt_secret),
            parsed.app_jwt_secret_next.map(JwtSecret::new),
        ))
    }

    /// The TikTok client secret, which this function must have been given.
    pub fn client_secret(&self) -> Result<&ClientSecret, StartError> {
        self.tiktok_client_secret
            .as_ref()
            .ok_or(StartError::SecretNotGiven {
                variable: "TIKTOK_SECRET_ID",
                purpose: "calling TikTok as the app (the TikTok client secret)",
            })
    }
}

async fn read_secret(
    client: &aws_sdk_secretsmanager::Client,
    variable: &'static str,
    secret_id: &str,
) -> Result<String, StartError> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| StartError::SecretUnavailable {
            variable,
            secret_id: secret_id.to_owned(),
            cause: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
        })?;
    out.secret_string
        .ok_or_else(|| refused(variable, secret_id, None))
}

fn refused(variable: &'static str, secret_id: &str, weak: Option<WeakField>) -> StartError {
    match weak {
        None => StartError::SecretMalformed {
            variable,
            secret_id: secret_id.to_owned(),
            expected: if variable == "TIKTOK_SECRET_ID" {
                "a non-empty string field tiktok_client_secret"
            } else {
                "a non-empty string field app_jwt_secret (and optionally app_jwt_secret_next)"
            },
        },
        Some((field, problem)) => StartError::SecretWeak {
            variable,
            secret_id: secret_id.to_owned(),
            field,
            problem,
        },
    }
}

/// Shortest app JWT key accepted: HS256 wants a key of at least the hash's 256 bits.
pub const MIN_JWT_SECRET_BYTES: usize = 32;
/// Shortest TikTok client secret accepted. TikTok's are 32 characters today; the check only
/// catches a placeholder or a truncated paste, not TikTok's format, which is TikTok's to change.
pub const MIN_CLIENT_SECRET_BYTES: usize = 16;

/// The wiring of every function that acts for an app user with its tokens (user-info,
/// video-list, accounts); `clock` is `SystemClock` in production (tests move time).
pub fn wire_user_api<K: Clock>(cold: &ColdStart, clock: K) -> Result<LiveUserApi<K>, StartError> {
    cold.user_api(clock)
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    fn tiktok(client: &str) -> Result<ClientSecret, Option<WeakField>> {
        AppSecrets::parse_tiktok(&serde_json::json!({ "tiktok_client_secret": client }).to_string())
    }

    fn jwt(key: &str) -> Result<(JwtSecret, Option<JwtSecret>), Option<WeakField>> {
        AppSecrets::parse_jwt(&serde_json::json!({ "app_jwt_secret": key }).to_string())
    }

    const GOOD_CLIENT: &str = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6";
    const GOOD_JWT: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL";

    fn field<T>(r: Result<T, Option<WeakField>>) -> Option<&'static str> {
        r.err().flatten().map(|p| p.0)
    }

    #[test]
    fn real_looking_secrets_are_accepted() {
        assert!(tiktok(GOOD_CLIENT).is_ok());
        assert!(jwt(GOOD_JWT).is_ok());
    }

    #[test]
    fn the_templates_placeholder_and_short_keys_are_refused_by_name() {
        for bad in ["REPLACE_ME", " replace_me ", "short"] {
            assert_eq!(field(tiktok(bad)), Some("tiktok_client_secret"), "{bad}");
        }
        for bad in ["REPLACE_ME_WITH_A_LONG_RANDOM_VALUE_0123", &"k".repeat(31)] {
            assert_eq!(field(jwt(bad)), Some("app_jwt_secret"), "{bad}");
        }
        assert!(jwt(&"k".repeat(32)).is_ok());
        let next = serde_json::json!({"app_jwt_secret": GOOD_JWT, "app_jwt_secret_next": "short"});
        assert_eq!(
            field(AppSecrets::parse_jwt(&next.to_string())),
            Some("app_jwt_secret_next")
        );
    }

    #[test]
    fn malformed_json_is_not_a_weak_secret() {
        assert!(matches!(AppSecrets::parse_tiktok("not json"), Err(None)));
        assert!(matches!(tiktok(""), Err(None)));
        assert!(matches!(jwt(""), Err(None)));
        // Each secret holds its own field only: the other's JSON is not accepted.
        let other = serde_json::json!({ "app_jwt_secret": GOOD_JWT }).to_string();
        assert!(matches!(AppSecrets::parse_tiktok(&other), Err(None)));
    }
}

/// Everything a function needs at cold start.
pub struct ColdStart {
    /// The environment, checked.
    pub config: Config,
    /// The AWS clients every adapter built from this cold start shares.
    pub aws: AwsClients,
    /// The secrets this function was given; only those its environment names are read.
    pub secrets: AppSecrets,
}

impl ColdStart {
    /// Config first (no network), then the AWS clients and the secrets this function was given
    /// (read at the same time).
    pub async fn load() -> Result<Self, StartError> {
        let config = Config::from_env()?;
        let aws = AwsClients::from_env().await;
        let secrets = AppSecrets::load(&aws.secrets, &config).await?;
        Ok(Self {
            config,
            aws,
            secrets,
        })
    }
}

/// The production adapters, built from what the cold start loaded.
impl ColdStart {
    /// The TikTok client, calling as the app (`TIKTOK_CLIENT_KEY` and the client secret) at
    /// `TIKTOK_API_URL`; fails when this function was not given `TIKTOK_SECRET_ID`.
    pub fn tiktok(&self) -> Result<TikTokHttp, StartError> {
        TikTokHttp::new(TikTokHttpConfig {
            api_url: self.config.api_url.clone(),
            client_key: self.config.tiktok_client_key.clone(),
            client_secret: self.secrets.client_secret()?.clone(),
        })
        .map_err(|e| StartError::HttpClient(e.to_string()))
    }

    /// The accounts and pending connections in the `TABLE_NAME` table.
    pub fn accounts(&self) -> DynamoAccountStore {
        DynamoAccountStore::new(self.aws.dynamodb.clone(), &self.config.table_name)
            .reading_due_index(self.config.due_index)
    }

    /// The OAuth states and the connect starts' per-minute counts in the `TABLE_NAME` table.
    pub fn states(&self) -> DynamoStateStore {
        DynamoStateStore::new(self.aws.dynamodb.clone(), &self.config.table_name)
    }

    /// Envelopes under `KMS_KEY_ID`'s data keys, plaintexts uncached (`token_keeper` wraps it in
    /// a `CachingCipher`).
    pub fn cipher(&self) -> KmsCipher {
        kms_cipher(
            self.aws.kms.clone(),
            &self.config.kms_key_id,
            self.config.data_key_max_uses.into(),
        )
    }

    /// The app's public keys when configured, else the shared secret (and its successor during
    /// a rotation); the lifetime cap either way. A function given neither cannot verify app JWTs.
    pub fn jwt_verifier(&self) -> Result<JwtVerifier, StartError> {
        let (issuer, audience) = (
            self.config.jwt_issuer.as_deref(),
            self.config.jwt_audience.as_deref(),
        );
        let verifier = match &self.config.jwt_public_keys {
            // Checked when the configuration was loaded; should it fail here, nothing is let in.
            Some(jwks) => JwtVerifier::with_public_keys(jwks, issuer, audience).unwrap_or_else(|e| {
                tracing::error!(problem = %e, "APP_JWT_PUBLIC_KEYS unusable; refusing every app JWT");
                JwtVerifier::refusing_everything()
            }),
            None => {
                let key = self
                    .secrets
                    .app_jwt_secret
                    .as_ref()
                    .ok_or(StartError::SecretNotGiven {
                        variable: "APP_JWT_SECRET_ID",
                        purpose: "verifying app JWTs (or set APP_JWT_PUBLIC_KEYS)",
                    })?;
                JwtVerifier::new(key, issuer, audience)
                    .also_accepting(self.secrets.app_jwt_secret_next.as_ref())
            }
        };
        Ok(verifier.with_max_lifetime(self.config.jwt_max_lifetime_secs))
    }

    /// `clock` is `SystemClock` in production; tests move time.
    pub fn token_keeper<K: Clock>(&self, clock: K) -> Result<LiveKeeper<K>, StartError> {
        Ok(TokenKeeper {
            accounts: self.accounts(),
            cipher: CachingCipher::new(self.cipher()),
            tiktok: self.tiktok()?,
            clock,
            events: self.events(),
            policy: RefreshPolicy {
                schedule: self.config.refresh_schedule,
                ..RefreshPolicy::default()
            },
        })
    }

    /// The posts, `Idempotency-Key` claims, call windows and webhook deliveries in the
    /// `TABLE_NAME` table.
    pub fn publishes(&self) -> DynamoPublishStore {
        DynamoPublishStore::new(self.aws.dynamodb.clone(), &self.config.table_name)
    }

    /// The events put out to the app on `EVENT_BUS_NAME` (off when unset), with their outbox in
    /// the `TABLE_NAME` table.
    pub fn events(&self) -> EventBridgeEvents {
        EventBridgeEvents::new(
            self.aws.events.clone(),
            self.aws.dynamodb.clone(),
            self.config.event_bus.clone(),
            &self.config.table_name,
        )
    }

    /// The schedules of scheduled posts, when this stack has them (`Config::schedules`).
    pub fn scheduler(&self) -> Option<EventBridgeScheduler> {
        self.config
            .schedules
            .clone()
            .map(|target| EventBridgeScheduler::new(self.aws.scheduler.clone(), target))
    }

    /// What the app-user functions (`user-info`, `video-list`, `accounts`, `publish`) act with: the
    /// token keeper on `clock` and the app JWT verifier; fails when a secret they need was not
    /// given.
    pub fn user_api<K: Clock>(&self, clock: K) -> Result<LiveUserApi<K>, StartError> {
        Ok(UserApi {
            keeper: self.token_keeper(clock)?,
            jwt: self.jwt_verifier()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_aws_call_is_bounded() {
        assert!(AWS_CONNECT_TIMEOUT <= AWS_ATTEMPT_TIMEOUT);
        assert!(
            AWS_ATTEMPT_TIMEOUT < AWS_OPERATION_TIMEOUT,
            "room for a retry"
        );
        // Fast failures get every try: tries of ~0 s plus the capped backoffs.
        assert!(AWS_MAX_BACKOFF * (AWS_MAX_ATTEMPTS - 1) < AWS_OPERATION_TIMEOUT);
        let timeouts = aws_timeouts();
        assert_eq!(timeouts.operation_timeout(), Some(AWS_OPERATION_TIMEOUT));
        assert_eq!(aws_retries().max_attempts(), AWS_MAX_ATTEMPTS);
    }
}
