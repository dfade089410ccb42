//! The local stack is built from `infra/template.yaml` itself: what `make dev` and the tests create
//! in moto has the template's keys, index, billing, TTL, point-in-time recovery, deletion
//! protection, key rotation and secret fields, so local runs exercise the deployed shape.

use connect_runtime::cold_start::ColdStart;
use devstack::template::Template;
use integration_tests::{Stack, StackOptions};

#[tokio::test]
async fn the_emulated_resources_are_the_templates() {
    let stack = Stack::start(StackOptions::default()).await;
    let template = Template::ours().expect("template");
    let wanted = template.table().expect("table");
    let table_name = &stack.config.table_name;

    let table = stack
        .aws
        .dynamodb
        .describe_table()
        .table_name(table_name)
        .send()
        .await
        .expect("DescribeTable")
        .table
        .expect("table");
    let key_schema = |elements: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
        elements
            .iter()
            .map(|k| format!("{} {}", k.attribute_name, k.key_type.as_str()))
            .collect::<Vec<_>>()
    };
    let wanted_keys = |elements: &[devstack::template::KeyElement]| {
        elements
            .iter()
            .map(|k| format!("{} {}", k.attribute_name, k.key_type))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        key_schema(table.key_schema()),
        wanted_keys(&wanted.key_schema)
    );
    let indexes = table.global_secondary_indexes();
    assert_eq!(indexes.len(), wanted.global_secondary_indexes.len());
    for (index, wanted_index) in indexes.iter().zip(&wanted.global_secondary_indexes) {
        assert_eq!(index.index_name(), Some(wanted_index.index_name.as_str()));
        assert_eq!(
            key_schema(index.key_schema()),
            wanted_keys(&wanted_index.key_schema)
        );
        assert_eq!(
            index
                .projection()
                .and_then(|p| p.projection_type())
                .map(|t| t.as_str()),
            Some(wanted_index.projection.projection_type.as_str())
        );
    }
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|b| b.as_str()),
        Some(wanted.billing_mode.as_str())
    );
    assert_eq!(
        table.deletion_protection_enabled(),
        Some(wanted.deletion_protection_enabled)
    );

    let ttl = stack
        .aws
        .dynamodb
        .describe_time_to_live()
        .table_name(table_name)
        .send()
        .await
        .expect("DescribeTimeToLive")
        .time_to_live_description
        .expect("TTL");
    assert_eq!(
        ttl.attribute_name(),
        wanted
            .time_to_live_specification
            .as_ref()
            .map(|t| t.attribute_name.as_str())
    );

    let backups = stack
        .aws
        .dynamodb
        .describe_continuous_backups()
        .table_name(table_name)
        .send()
        .await
        .expect("DescribeContinuousBackups")
        .continuous_backups_description
        .expect("backups");
    let pitr = backups
        .point_in_time_recovery_description()
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str().to_owned());
    assert_eq!(pitr.as_deref(), Some("ENABLED"));

    // GetKeyRotationStatus takes a key id or ARN, not the alias the functions are given.
    let key_id = stack
        .aws
        .kms
        .describe_key()
        .key_id(&stack.config.kms_key_id)
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata
        .expect("metadata")
        .key_id;
    let rotation = stack
        .aws
        .kms
        .get_key_rotation_status()
        .key_id(key_id)
        .send()
        .await
        .expect("GetKeyRotationStatus")
        .key_rotation_enabled;
    assert_eq!(rotation, template.key().expect("key").enable_key_rotation);

    for (id, logical_id) in [
        (&stack.config.tiktok_secret_id, "TikTokSecret"),
        (&stack.config.jwt_secret_id, "AppJwtSecret"),
    ] {
        let secret = stack
            .aws
            .secrets
            .describe_secret()
            .secret_id(id.as_deref().expect("secret id"))
            .send()
            .await
            .expect("DescribeSecret");
        assert_eq!(
            secret.description(),
            Some(
                template
                    .secret(logical_id)
                    .expect("secret")
                    .description
                    .as_str()
            )
        );
    }
}

/// A fresh stack's secret holds the placeholder client secret until the operator puts theirs in:
/// the functions refuse to start on it (a webhook signed with `REPLACE_ME` was accepted before),
/// and on an app JWT key shorter than 32 bytes, naming the field and never its value.
#[tokio::test]
async fn a_placeholder_or_short_secret_stops_the_cold_start() {
    let stack = Stack::start(StackOptions::default()).await;
    let weak = [
        ("TIKTOK_SECRET_ID", "REPLACE_ME", "tiktok_client_secret"),
        ("APP_JWT_SECRET_ID", "short-jwt-key", "app_jwt_secret"),
    ];
    for (variable, value, field) in weak {
        let name = format!("weak-secret-{field}");
        let mut config = stack.config.clone();
        if variable == "TIKTOK_SECRET_ID" {
            devstack::ensure_tiktok_secret(&stack.aws.secrets, &name, value).await
        } else {
            devstack::ensure_app_jwt_secret(&stack.aws.secrets, &name, value).await
        }
        .expect("secret created");
        if variable == "TIKTOK_SECRET_ID" {
            config.tiktok_secret_id = Some(name);
        } else {
            config.jwt_secret_id = Some(name);
        }
        let refused = connect_runtime::cold_start::AppSecrets::load(&stack.aws.secrets, &config)
            .await
            .err()
            .expect("refused at cold start");
        let message = refused.to_string();
        assert!(
            message.contains(field) && message.contains(variable),
            "{message}"
        );
        assert!(
            !message.contains(value),
            "the error never carries the value: {message}"
        );
    }
}

/// Each function reads only the secrets its environment names (the template gives each only the
/// ids and GetSecretValue it needs): given only the TikTok secret, as the webhook, the callback
/// and the job are, a cold start holds no JWT key and cannot wire a route that verifies app
/// JWTs; given only the JWT key, as authorize is, it cannot call TikTok as the app.
#[tokio::test]
async fn each_function_holds_only_the_secrets_it_was_given() {
    let stack = Stack::start(StackOptions::default()).await;
    let load = |tiktok: bool, jwt: bool| {
        let mut config = stack.config.clone();
        if !tiktok {
            config.tiktok_secret_id = None;
        }
        if !jwt {
            config.jwt_secret_id = None;
        }
        let aws = stack.aws.clone();
        async move {
            let secrets = connect_runtime::cold_start::AppSecrets::load(&aws.secrets, &config)
                .await
                .expect("loads");
            ColdStart {
                config,
                aws,
                secrets,
            }
        }
    };
    let clock = connect_domain::clock::SystemClock;

    let tiktok_only = load(true, false).await;
    assert!(tiktok_only.secrets.app_jwt_secret.is_none());
    assert!(webhook::wire(&tiktok_only, clock).is_ok());
    assert!(callback::wire(&tiktok_only, clock).is_ok());
    assert!(token_refresh::wire(&tiktok_only, clock).is_ok());
    let no_jwt = tiktok_only
        .user_api(clock)
        .err()
        .expect("no JWT key")
        .to_string();
    assert!(no_jwt.contains("APP_JWT_SECRET_ID"), "{no_jwt}");
    assert!(authorize::wire(&tiktok_only, clock).is_err());

    let jwt_only = load(false, true).await;
    assert!(jwt_only.secrets.tiktok_client_secret.is_none());
    assert!(authorize::wire(&jwt_only, clock).is_ok());
    let no_client = webhook::wire(&jwt_only, clock)
        .err()
        .expect("no client secret")
        .to_string();
    assert!(no_client.contains("TIKTOK_SECRET_ID"), "{no_client}");
    assert!(callback::wire(&jwt_only, clock).is_err());

    assert!(load(true, true).await.user_api(clock).is_ok());
}

/// The job's fallback budget (used when `cargo lambda watch` sends a duration as the deadline) is
/// the template's timeout of `TokenRefreshFunction`.
#[test]
fn the_jobs_fallback_budget_is_the_templates_timeout() {
    let template = Template::ours().expect("template");
    assert_eq!(
        template
            .function_timeout("TokenRefreshFunction")
            .expect("timeout"),
        token_refresh::FUNCTION_TIMEOUT
    );
}
