//! What every function builds once per cold start: configuration, AWS clients, the app secrets.

use aws_config::BehaviorVersion;
use serde::Deserialize;

use crate::config::{Config, ConfigError};
use crate::secret::{ClientSecret, JwtSecret};

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
