//! Local stack helpers shared by `make dev` and the integration tests: create the table, the KMS
//! key and the secret in an AWS emulator (idempotently) from `infra/template.yaml`'s own
//! definitions (see [`template`]), and mint app JWTs.

pub mod permissions;
pub mod ports;
pub mod template;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use template::{Template, TemplateError};

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("{0}")]
    Aws(String),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("could not sign the JWT: {0}")]
    Jwt(String),
}

fn aws_err<E: std::error::Error + 'static>(what: &str, e: E) -> BootstrapError {
    BootstrapError::Aws(format!(
        "{what}: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(e)
    ))
}

/// Creates the table as `infra/template.yaml` defines it (keys, indexes, billing, TTL, point-in-time
/// recovery, deletion protection) unless it exists.
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
    let table = Template::ours()?.table()?;
    let key_schema = |elements: &[template::KeyElement]| {
        elements
            .iter()
            .map(|k| {
                KeySchemaElement::builder()
                    .attribute_name(&k.attribute_name)
                    .key_type(KeyType::from(k.key_type.as_str()))
                    .build()
                    .map_err(|e| aws_err("key schema", e))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let attributes = table
        .attribute_definitions
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(|e| aws_err("attribute definition", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let indexes = table
        .global_secondary_indexes
        .iter()
        .map(|index| {
            let projection = Projection::builder()
                .projection_type(ProjectionType::from(
                    index.projection.projection_type.as_str(),
                ))
                .set_non_key_attributes(
                    (!index.projection.non_key_attributes.is_empty())
                        .then(|| index.projection.non_key_attributes.clone()),
                )
                .build();
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(projection)
                .build()
                .map_err(|e| aws_err("index", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let created = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(table.billing_mode.as_str()))
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(&table.key_schema)?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .deletion_protection_enabled(table.deletion_protection_enabled)
        .send()
        .await;
    match created {
        Ok(_) => {}
        // A busy emulator can answer the first try too late: the SDK tries again and finds the
        // table the first try created. It is ours, so carry on and set its TTL.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => return Err(aws_err("CreateTable", e)),
    }
    if let Some(ttl) = &table.time_to_live_specification {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(&ttl.attribute_name)
                    .enabled(ttl.enabled)
                    .build()
                    .map_err(|e| aws_err("TTL spec", e))?,
            )
            .send()
            .await
            .map_err(|e| aws_err("UpdateTimeToLive", e))?;
    }
    if let Some(pitr) = &table.point_in_time_recovery_specification {
        client
            .update_continuous_backups()
            .table_name(name)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(pitr.point_in_time_recovery_enabled)
                    .build()
                    .map_err(|e| aws_err("PITR spec", e))?,
            )
            .send()
            .await
            .map_err(|e| aws_err("UpdateContinuousBackups", e))?;
    }
    Ok(())
}

/// Returns the key id behind `alias` (`alias/…`), creating the key as the template defines it
/// (description, yearly rotation) and the alias if needed. The key policy is not applied: an
/// emulator does not evaluate it; `tests/tests/it/least_privilege.rs` checks it instead.
pub async fn ensure_key(
    client: &aws_sdk_kms::Client,
    alias: &str,
) -> Result<String, BootstrapError> {
    if let Ok(out) = client.describe_key().key_id(alias).send().await
        && let Some(id) = out.key_metadata.map(|m| m.key_id)
    {
        return Ok(id);
    }
    let definition = Template::ours()?.key()?;
    let key = client
        .create_key()
        .description(format!("{} (local)", definition.description))
        .send()
        .await
        .map_err(|e| aws_err("CreateKey", e))?;
    let key_id = key
        .key_metadata
        .map(|m| m.key_id)
        .ok_or_else(|| BootstrapError::Aws("CreateKey returned no key id".into()))?;
    if definition.enable_key_rotation {
        client
            .enable_key_rotation()
            .key_id(&key_id)
            .send()
            .await
            .map_err(|e| aws_err("EnableKeyRotation", e))?;
    }
    client
        .create_alias()
        .alias_name(alias)
        .target_key_id(&key_id)
        .send()
        .await
        .map_err(|e| aws_err("CreateAlias", e))?;
    Ok(key_id)
}

/// The TikTok client secret's secret (`TIKTOK_SECRET_ID`), with the field `connect_runtime::cold_start`
/// reads; fields and description come from the template's `TikTokSecret`, which must create the
/// same field.
pub async fn ensure_tiktok_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    tiktok_client_secret: &str,
) -> Result<(), BootstrapError> {
    let value = json!({ TIKTOK_SECRET_FIELD: tiktok_client_secret });
    ensure_secret(client, "TikTokSecret", TIKTOK_SECRET_FIELD, name, value).await
}

/// The app JWT key's secret (`APP_JWT_SECRET_ID`), from the template's `AppJwtSecret`.
pub async fn ensure_app_jwt_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    app_jwt_secret: &str,
) -> Result<(), BootstrapError> {
    let value = json!({ APP_JWT_SECRET_FIELD: app_jwt_secret });
    ensure_secret(client, "AppJwtSecret", APP_JWT_SECRET_FIELD, name, value).await
}

const TIKTOK_SECRET_FIELD: &str = "tiktok_client_secret";
const APP_JWT_SECRET_FIELD: &str = "app_jwt_secret";

/// Creates the secret `name`, or replaces its value, as the template's `logical_id` defines it.
async fn ensure_secret(
    client: &aws_sdk_secretsmanager::Client,
    logical_id: &str,
    field: &str,
    name: &str,
    value: serde_json::Value,
) -> Result<(), BootstrapError> {
    let definition = Template::ours()?.secret(logical_id)?;
    if definition.fields()? != [field] {
        return Err(BootstrapError::Template(TemplateError::Shape(format!(
            "{logical_id} creates the fields {:?}; the functions read [{field}]",
            definition.fields()?
        ))));
    }
    let value = value.to_string();
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
            .description(definition.description)
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
    let now = connect_domain::clock::Clock::now(&connect_domain::clock::SystemClock);
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
