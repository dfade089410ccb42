//! Local stack helpers shared by `make dev` and the integration tests: create the table, the KMS
//! key and the secret in an AWS emulator (idempotently), and mint app JWTs.
//!
//! The table definition mirrors `infra/template.yaml` (`TokensTable`); keep the two in step.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use shared::store::{DUE_AT_ATTR, DUE_INDEX, DUE_SHARD_ATTR, TABLE_HASH_KEY, TABLE_RANGE_KEY};

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("{0}")]
    Aws(String),
    #[error("could not sign the JWT: {0}")]
    Jwt(String),
}

fn aws_err<E: std::error::Error + 'static>(what: &str, e: E) -> BootstrapError {
    BootstrapError::Aws(format!(
        "{what}: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(e)
    ))
}

/// Creates the table (keys `pk`/`sk`, on-demand, TTL on `ttl`) unless it exists.
pub async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<(), BootstrapError> {
    if client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok()
    {
        return Ok(());
    }
    let attr = |n: &str, t: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(t)
            .build()
            .map_err(|e| aws_err("attribute definition", e))
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(|e| aws_err("key schema", e))
    };
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(TABLE_HASH_KEY, ScalarAttributeType::S)?)
        .attribute_definitions(attr(TABLE_RANGE_KEY, ScalarAttributeType::S)?)
        .attribute_definitions(attr(DUE_SHARD_ATTR, ScalarAttributeType::S)?)
        .attribute_definitions(attr(DUE_AT_ATTR, ScalarAttributeType::N)?)
        .key_schema(key(TABLE_HASH_KEY, KeyType::Hash)?)
        .key_schema(key(TABLE_RANGE_KEY, KeyType::Range)?)
        // The sparse due index of the token-refresh job (shared/src/schedule.rs).
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(DUE_INDEX)
                .key_schema(key(DUE_SHARD_ATTR, KeyType::Hash)?)
                .key_schema(key(DUE_AT_ATTR, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| aws_err("due index", e))?,
        )
        .send()
        .await
        .map_err(|e| aws_err("CreateTable", e))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("ttl")
                .enabled(true)
                .build()
                .map_err(|e| aws_err("TTL spec", e))?,
        )
        .send()
        .await
        .map_err(|e| aws_err("UpdateTimeToLive", e))?;
    Ok(())
}

/// Returns the key id behind `alias` (`alias/…`), creating key and alias if needed.
pub async fn ensure_key(
    client: &aws_sdk_kms::Client,
    alias: &str,
) -> Result<String, BootstrapError> {
    if let Ok(out) = client.describe_key().key_id(alias).send().await
        && let Some(id) = out.key_metadata.map(|m| m.key_id)
    {
        return Ok(id);
    }
    let key = client
        .create_key()
        .description("TikTok Connect token encryption (local)")
        .send()
        .await
        .map_err(|e| aws_err("CreateKey", e))?;
    let key_id = key
        .key_metadata
        .map(|m| m.key_id)
        .ok_or_else(|| BootstrapError::Aws("CreateKey returned no key id".into()))?;
    client
        .create_alias()
        .alias_name(alias)
        .target_key_id(&key_id)
        .send()
        .await
        .map_err(|e| aws_err("CreateAlias", e))?;
    Ok(key_id)
}

/// Creates the secret, or replaces its value, with the two secrets the functions read.
pub async fn ensure_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    tiktok_client_secret: &str,
    app_jwt_secret: &str,
) -> Result<(), BootstrapError> {
    let value =
        json!({"tiktok_client_secret": tiktok_client_secret, "app_jwt_secret": app_jwt_secret})
            .to_string();
    if client
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .is_ok()
    {
        client
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .map_err(|e| aws_err("PutSecretValue", e))?;
    } else {
        client
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .map_err(|e| aws_err("CreateSecret", e))?;
    }
    Ok(())
}

/// An HS256 app JWT for `sub`, valid for `ttl_secs`.
pub fn mint_jwt(
    secret: &str,
    sub: &str,
    ttl_secs: i64,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Result<String, BootstrapError> {
    let now = shared::clock::Clock::now(&shared::clock::SystemClock);
    let mut claims = json!({"sub": sub, "iat": now, "exp": now + ttl_secs});
    if let Some(iss) = issuer {
        claims["iss"] = json!(iss);
    }
    if let Some(aud) = audience {
        claims["aud"] = json!(aud);
    }
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| BootstrapError::Jwt(e.to_string()))
}
