//! What every function builds once per cold start: configuration, AWS clients, the app secrets.

use aws_config::BehaviorVersion;
use serde::Deserialize;

use crate::app_user::JwtVerifier;
use crate::cipher::KmsCipher;
use crate::cipher_cache::CachingCipher;
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::handler::UserApi;
use crate::refresh::{RefreshPolicy, TokenKeeper};
use crate::secret::{ClientSecret, JwtSecret};
use crate::store::{DynamoAccountStore, DynamoStateStore};
use crate::tiktok::{TikTokHttp, TikTokHttpConfig};

/// The token keeper over the real adapters; decryptions are cached for the warm environment.
pub type LiveKeeper<K> = TokenKeeper<DynamoAccountStore, CachingCipher<KmsCipher>, TikTokHttp, K>;
/// The app-user functions' state over the real adapters.
pub type LiveUserApi<K> = UserApi<DynamoAccountStore, CachingCipher<KmsCipher>, TikTokHttp, K>;

/// The AWS clients, sharing one connection pool and credential cache.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub kms: aws_sdk_kms::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    /// Uses the SDK's default chain; `AWS_ENDPOINT_URL` points every client at an emulator.
    pub async fn from_env() -> Self {
        Self::from_sdk_config(&aws_config::load_defaults(BehaviorVersion::latest()).await)
    }

    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            kms: aws_sdk_kms::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
        }
    }
}

/// The Secrets Manager secret's JSON: `{"tiktok_client_secret": "...", "app_jwt_secret": "..."}`.
pub struct AppSecrets {
    pub tiktok_client_secret: ClientSecret,
    pub app_jwt_secret: JwtSecret,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not read secret SECRET_ID={secret_id}: {cause}")]
    SecretUnavailable { secret_id: String, cause: String },
    #[error(
        "secret SECRET_ID={secret_id} is not JSON with non-empty string fields tiktok_client_secret and app_jwt_secret"
    )]
    SecretMalformed { secret_id: String },
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
}

#[derive(Deserialize)]
struct SecretJson {
    tiktok_client_secret: String,
    app_jwt_secret: String,
}

impl AppSecrets {
    /// Reads the secret once; the caller keeps it in memory for the life of the execution environment.
    pub async fn load(
        client: &aws_sdk_secretsmanager::Client,
        secret_id: &str,
    ) -> Result<Self, StartError> {
        let out = client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| StartError::SecretUnavailable {
                secret_id: secret_id.to_owned(),
                cause: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
            })?;
        let malformed = || StartError::SecretMalformed {
            secret_id: secret_id.to_owned(),
        };
        let text = out.secret_string.ok_or_else(malformed)?;
        let parsed: SecretJson = serde_json::from_str(&text).map_err(|_| malformed())?;
        if parsed.tiktok_client_secret.is_empty() || parsed.app_jwt_secret.is_empty() {
            return Err(malformed());
        }
        Ok(Self {
            tiktok_client_secret: ClientSecret::new(parsed.tiktok_client_secret),
            app_jwt_secret: JwtSecret::new(parsed.app_jwt_secret),
        })
    }
}

/// Everything a function needs at cold start.
pub struct ColdStart {
    pub config: Config,
    pub aws: AwsClients,
    pub secrets: AppSecrets,
}

impl ColdStart {
    /// Config first (no network), then the AWS clients and the one Secrets Manager read.
    pub async fn load() -> Result<Self, StartError> {
        let config = Config::from_env()?;
        let aws = AwsClients::from_env().await;
        let secrets = AppSecrets::load(&aws.secrets, &config.secret_id).await?;
        Ok(Self {
            config,
            aws,
            secrets,
        })
    }
}

/// The production adapters, built from what the cold start loaded.
impl ColdStart {
    pub fn tiktok(&self) -> Result<TikTokHttp, StartError> {
        TikTokHttp::new(TikTokHttpConfig {
            api_url: self.config.api_url.clone(),
            client_key: self.config.tiktok_client_key.clone(),
            client_secret: self.secrets.tiktok_client_secret.clone(),
            redirect_uri: self.config.redirect_uri.clone(),
        })
        .map_err(|e| StartError::HttpClient(e.to_string()))
    }

    pub fn accounts(&self) -> DynamoAccountStore {
        DynamoAccountStore::new(self.aws.dynamodb.clone(), &self.config.table_name)
    }

    pub fn states(&self) -> DynamoStateStore {
        DynamoStateStore::new(self.aws.dynamodb.clone(), &self.config.table_name)
    }

    pub fn cipher(&self) -> KmsCipher {
        KmsCipher::new(self.aws.kms.clone(), &self.config.kms_key_id)
    }

    pub fn jwt_verifier(&self) -> JwtVerifier {
        JwtVerifier::new(
            &self.secrets.app_jwt_secret,
            self.config.jwt_issuer.as_deref(),
            self.config.jwt_audience.as_deref(),
        )
    }

    /// `clock` is `SystemClock` in production; tests move time.
    pub fn token_keeper<K: Clock>(&self, clock: K) -> Result<LiveKeeper<K>, StartError> {
        Ok(TokenKeeper {
            accounts: self.accounts(),
            cipher: CachingCipher::new(self.cipher()),
            tiktok: self.tiktok()?,
            clock,
            policy: RefreshPolicy {
                schedule: self.config.refresh_schedule,
                ..RefreshPolicy::default()
            },
        })
    }

    pub fn user_api<K: Clock>(&self, clock: K) -> Result<LiveUserApi<K>, StartError> {
        Ok(UserApi {
            keeper: self.token_keeper(clock)?,
            jwt: self.jwt_verifier(),
        })
    }
}
