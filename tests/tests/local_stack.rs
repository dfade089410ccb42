//! The local stack is built from `infra/template.yaml` itself: what `make dev` and the tests create
//! in moto has the template's keys, index, billing, TTL, point-in-time recovery, deletion
//! protection, key rotation and secret fields, so local runs exercise the deployed shape.

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

    let secret = stack
        .aws
        .secrets
        .describe_secret()
        .secret_id(&stack.config.secret_id)
        .send()
        .await
        .expect("DescribeSecret");
    assert_eq!(
        secret.description(),
        Some(template.secret().expect("secret").description.as_str())
    );
}

/// A fresh stack's secret holds the placeholder client secret until the operator puts theirs in:
/// the functions refuse to start on it (a webhook signed with `REPLACE_ME` was accepted before),
/// and on an app JWT key shorter than 32 bytes, naming the field and never its value.
#[tokio::test]
async fn a_placeholder_or_short_secret_stops_the_cold_start() {
    let stack = Stack::start(StackOptions::default()).await;
    for (client_secret, jwt_secret, field) in [
        (
            "REPLACE_ME",
            "a-long-enough-app-jwt-key-0123456789",
            "tiktok_client_secret",
        ),
        (
            "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
            "short-jwt-key",
            "app_jwt_secret",
        ),
    ] {
        let name = format!("weak-secret-{field}");
        devstack::ensure_secret(&stack.aws.secrets, &name, client_secret, jwt_secret)
            .await
            .expect("secret created");
        let refused = shared::runtime::AppSecrets::load(&stack.aws.secrets, &name)
            .await
            .err()
            .expect("refused at cold start");
        let message = refused.to_string();
        assert!(message.contains(field), "{message}");
        assert!(
            !message.contains(client_secret) && !message.contains(jwt_secret),
            "the error never carries the value: {message}"
        );
    }
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
