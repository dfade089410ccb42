//! `infra/template.yaml`, compiled in, as the one definition of the table, key and secret that
//! `make dev` and the tests create locally, and of the policies the least-privilege test checks.
//!
//! Only what a local stack or a check needs is typed; everything else stays a YAML value.
//! CloudFormation's short-form functions (`!GetAtt`, `!Sub`, `!If`, …) arrive as tagged values;
//! [`describe`] prints them back the way they are written.

use serde::Deserialize;
use serde::de::DeserializeOwned;
pub use serde_norway::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The template as checked in. A change to it rebuilds everything that reads it.
pub const TEMPLATE_YAML: &str = include_str!("../../infra/template.yaml");

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("infra/template.yaml is not valid YAML: {0}")]
    Yaml(String),
    #[error("infra/template.yaml: {0}")]
    Shape(String),
}

fn shape(what: impl Into<String>) -> TemplateError {
    TemplateError::Shape(what.into())
}

#[derive(Debug, Deserialize)]
struct Document {
    #[serde(rename = "Globals", default)]
    globals: Value,
    #[serde(rename = "Resources")]
    resources: BTreeMap<String, Resource>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Resource {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Properties", default)]
    pub properties: Value,
    #[serde(rename = "Metadata", default)]
    pub metadata: Value,
}

/// The parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    globals: Value,
    resources: BTreeMap<String, Resource>,
}

impl Template {
    /// The checked-in template.
    pub fn ours() -> Result<Self, TemplateError> {
        Self::parse(TEMPLATE_YAML)
    }

    pub fn parse(yaml: &str) -> Result<Self, TemplateError> {
        let document: Document =
            serde_norway::from_str(yaml).map_err(|e| TemplateError::Yaml(e.to_string()))?;
        Ok(Self {
            globals: document.globals,
            resources: document.resources,
        })
    }

    /// Every resource of `kind` (`AWS::DynamoDB::Table`, …) by logical id.
    pub fn resources_of(&self, kind: &str) -> impl Iterator<Item = (&str, &Resource)> {
        self.resources
            .iter()
            .filter(move |(_, r)| r.kind == kind)
            .map(|(id, r)| (id.as_str(), r))
    }

    /// The properties of the one resource of `kind`; the stack has exactly one table and key.
    fn only<T: DeserializeOwned>(&self, kind: &str) -> Result<T, TemplateError> {
        let mut all = self.resources_of(kind);
        let (id, resource) = all.next().ok_or_else(|| shape(format!("no {kind}")))?;
        if all.next().is_some() {
            return Err(shape(format!("more than one {kind}")));
        }
        serde_norway::from_value(resource.properties.clone())
            .map_err(|e| shape(format!("{id}: {e}")))
    }

    /// `Globals.Function.Environment.Variables`: what every function's environment starts from.
    pub fn global_environment(&self) -> &Value {
        &self.globals["Function"]["Environment"]["Variables"]
    }

    /// A function's `Timeout`: its own, else the one in `Globals.Function`.
    pub fn function_timeout(&self, logical_id: &str) -> Result<Duration, TemplateError> {
        let resource = self
            .resources
            .get(logical_id)
            .ok_or_else(|| shape(format!("no resource {logical_id}")))?;
        resource.properties["Timeout"]
            .as_u64()
            .or_else(|| self.globals["Function"]["Timeout"].as_u64())
            .map(Duration::from_secs)
            .ok_or_else(|| shape(format!("{logical_id} has no Timeout")))
    }

    pub fn table(&self) -> Result<TableDefinition, TemplateError> {
        self.only("AWS::DynamoDB::Table")
    }

    pub fn key(&self) -> Result<KeyDefinition, TemplateError> {
        self.only("AWS::KMS::Key")
    }

    /// The secret `logical_id` (`TikTokSecret` or `AppJwtSecret`).
    pub fn secret(&self, logical_id: &str) -> Result<SecretDefinition, TemplateError> {
        let (id, resource) = self
            .resources_of("AWS::SecretsManager::Secret")
            .find(|(id, _)| *id == logical_id)
            .ok_or_else(|| shape(format!("no secret {logical_id}")))?;
        serde_norway::from_value(resource.properties.clone())
            .map_err(|e| shape(format!("{id}: {e}")))
    }

    /// Every `AWS::Serverless::Function`, with its binary name and inline policy statements.
    pub fn functions(&self) -> Result<Vec<FunctionDefinition>, TemplateError> {
        self.resources_of("AWS::Serverless::Function")
            .map(|(id, resource)| FunctionDefinition::read(id, resource))
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub billing_mode: String,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeyElement>,
    /// The indexes a fresh stack gets: one under `!If` exists only while a stack upgrades (the
    /// due index being replaced, `DueIndexUpgrade=adding`), so a local stack never has it.
    #[serde(default, deserialize_with = "unconditional")]
    pub global_secondary_indexes: Vec<IndexDefinition>,
    pub time_to_live_specification: Option<TimeToLive>,
    pub point_in_time_recovery_specification: Option<PointInTimeRecovery>,
    #[serde(default)]
    pub deletion_protection_enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDefinition {
    pub index_name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection: ProjectionDefinition,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionDefinition {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLive {
    pub attribute_name: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PointInTimeRecovery {
    pub point_in_time_recovery_enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyDefinition {
    pub description: String,
    #[serde(default)]
    pub enable_key_rotation: bool,
    /// Kept for the checks; an emulator does not evaluate key policies, so it is not applied locally.
    pub key_policy: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretDefinition {
    pub description: String,
    /// A fixed value (the client secret's placeholder).
    #[serde(default)]
    pub secret_string: Option<String>,
    /// A value CloudFormation generates (the JWT key).
    #[serde(default)]
    pub generate_secret_string: Option<GeneratedSecret>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GeneratedSecret {
    /// JSON with the fields set at creation (`{"tiktok_client_secret": "REPLACE_ME"}`).
    pub secret_string_template: String,
    /// The field CloudFormation fills with a random value (`app_jwt_secret`).
    pub generate_string_key: String,
}

impl SecretDefinition {
    /// The secret's field names, as the deployed stack creates them.
    pub fn fields(&self) -> Result<Vec<String>, TemplateError> {
        let (json, generated) = match (&self.secret_string, &self.generate_secret_string) {
            (Some(value), None) => (value.as_str(), None),
            (None, Some(generated)) => (
                generated.secret_string_template.as_str(),
                Some(generated.generate_string_key.clone()),
            ),
            _ => return Err(shape("a secret needs SecretString or GenerateSecretString")),
        };
        let template: BTreeMap<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|e| shape(format!("the secret's JSON is not an object: {e}")))?;
        let mut fields: Vec<String> = template.into_keys().chain(generated).collect();
        fields.sort();
        Ok(fields)
    }
}

/// A function as the template deploys it.
#[derive(Debug, Clone)]
pub struct FunctionDefinition {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`: the Cargo binary, named as in the table of README.md#api.
    pub binary: String,
    /// Every statement of its inline policies.
    pub statements: Vec<Statement>,
    pub properties: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub effect: String,
    #[serde(deserialize_with = "one_or_many")]
    pub action: Vec<String>,
    pub resource: Value,
    pub condition: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct InlinePolicy {
    statement: Vec<Statement>,
}

impl FunctionDefinition {
    fn read(id: &str, resource: &Resource) -> Result<Self, TemplateError> {
        let binary = resource.metadata["BuildProperties"]["Binary"]
            .as_str()
            .ok_or_else(|| shape(format!("{id}: no Metadata.BuildProperties.Binary")))?
            .to_owned();
        let policies = match &resource.properties["Policies"] {
            Value::Null => Vec::new(),
            Value::Sequence(policies) => policies.clone(),
            _ => return Err(shape(format!("{id}: Policies is not a list"))),
        };
        // Only inline statements: a managed policy or SAM policy template would grant actions
        // this file cannot see.
        let mut statements = Vec::new();
        for policy in policies {
            let inline: InlinePolicy = serde_norway::from_value(policy).map_err(|e| {
                shape(format!(
                    "{id}: a policy that is not an inline {{Statement: [...]}}: {e}"
                ))
            })?;
            statements.extend(inline.statement);
        }
        Ok(Self {
            logical_id: id.to_owned(),
            binary,
            statements,
            properties: resource.properties.clone(),
        })
    }
}

/// The entries of a list that are not `!If [Condition, …]`, typed.
fn unconditional<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    Vec::<Value>::deserialize(d)?
        .into_iter()
        .filter(|entry| !matches!(entry, Value::Tagged(tagged) if tagged.tag == "!If"))
        .map(|entry| serde_norway::from_value(entry).map_err(serde::de::Error::custom))
        .collect()
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// A value as written in the template: `!GetAtt TokensTable.Arn`, `!If [C, !Ref A, !Ref B]`.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Tagged(tagged) => format!("{} {}", tagged.tag, describe(&tagged.value)),
        Value::Sequence(items) => format!(
            "[{}]",
            items.iter().map(describe).collect::<Vec<_>>().join(", ")
        ),
        Value::Mapping(entries) => entries
            .iter()
            .map(|(key, value)| format!("{}: {}", describe(key), describe(value)))
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(s) => s.clone(),
        other => serde_norway::to_string(other)
            .map(|s| s.trim_end().to_owned())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_checked_in_template() {
        let template = Template::ours().expect("template");
        let table = template.table().expect("table");
        assert_eq!(table.billing_mode, "PAY_PER_REQUEST");
        assert_eq!(table.global_secondary_indexes.len(), 3);
        assert!(template.key().expect("key").enable_key_rotation);
        assert_eq!(
            template
                .secret("TikTokSecret")
                .expect("secret")
                .fields()
                .expect("fields"),
            ["tiktok_client_secret"]
        );
        assert_eq!(
            template
                .secret("AppJwtSecret")
                .expect("secret")
                .fields()
                .expect("fields"),
            ["app_jwt_secret"]
        );
        let functions = template.functions().expect("functions");
        assert!(functions.iter().any(|f| f.binary == "token-refresh"));
    }

    /// The code's key names and the template's must agree, or the deployed table breaks the code.
    #[test]
    fn the_table_has_the_keys_and_index_the_code_uses() {
        use connect_adapters::keys::{
            DUE_AT_ATTR, DUE_INDEX, DUE_INDEX_PROJECTION, DUE_SHARD_ATTR, LISTED_AT_ATTR,
            POSTS_INDEX, POSTS_OF_ATTR, TABLE_HASH_KEY, TABLE_RANGE_KEY, WAITING_FOR_ATTR,
            WAITING_INDEX,
        };
        let table = Template::ours().expect("template").table().expect("table");
        let keys = |elements: &[KeyElement]| {
            elements
                .iter()
                .map(|k| (k.attribute_name.clone(), k.key_type.clone()))
                .collect::<Vec<_>>()
        };
        let pair = |hash: &str, range: &str| {
            vec![
                (hash.to_owned(), "HASH".to_owned()),
                (range.to_owned(), "RANGE".to_owned()),
            ]
        };
        assert_eq!(
            keys(&table.key_schema),
            pair(TABLE_HASH_KEY, TABLE_RANGE_KEY)
        );
        let index = &table.global_secondary_indexes[0];
        assert_eq!(index.index_name, DUE_INDEX);
        assert_eq!(keys(&index.key_schema), pair(DUE_SHARD_ATTR, DUE_AT_ATTR));
        assert_eq!(index.projection.projection_type, "INCLUDE");
        assert_eq!(index.projection.non_key_attributes, DUE_INDEX_PROJECTION);
        let posts = &table.global_secondary_indexes[1];
        assert_eq!(posts.index_name, POSTS_INDEX);
        assert_eq!(keys(&posts.key_schema), pair(POSTS_OF_ATTR, LISTED_AT_ATTR));
        let waiting = &table.global_secondary_indexes[2];
        assert_eq!(waiting.index_name, WAITING_INDEX);
        assert_eq!(
            keys(&waiting.key_schema),
            pair(WAITING_FOR_ATTR, "app_user")
        );
        assert_eq!(waiting.projection.projection_type, "KEYS_ONLY");
        assert_eq!(
            table.time_to_live_specification.map(|t| t.attribute_name),
            Some("ttl".to_owned())
        );
    }

    /// The due index being replaced exists only while a stack upgrades, and the job reads it
    /// (and may query only it) exactly then: CloudFormation adds or deletes one index per update,
    /// so a stack created with it upgrades in two deploys (docs/deploy.md#upgrading-a-stack).
    #[test]
    fn the_replaced_due_index_exists_and_is_read_only_while_a_stack_upgrades() {
        use connect_adapters::keys::{DUE_INDEX, LEGACY_DUE_INDEX};
        let template = Template::ours().expect("template");
        let table = &template.resources["TokensTable"].properties;
        let conditional: Vec<String> = table["GlobalSecondaryIndexes"]
            .as_sequence()
            .expect("indexes")
            .iter()
            .filter_map(|entry| match entry {
                Value::Tagged(tagged) if tagged.tag == "!If" => Some(&tagged.value),
                _ => None,
            })
            .map(|choice| {
                assert_eq!(choice[0], "UpgradingDueIndex", "{choice:?}");
                assert_eq!(describe(&choice[2]), "!Ref AWS::NoValue");
                assert_eq!(describe(&choice[1]["Projection"]), "ProjectionType: ALL");
                describe(&choice[1]["IndexName"])
            })
            .collect();
        assert_eq!(conditional, [LEGACY_DUE_INDEX]);
        let choice = format!("!If [UpgradingDueIndex, {LEGACY_DUE_INDEX}, {DUE_INDEX}]");
        let job = &template.resources["TokenRefreshFunction"].properties;
        assert_eq!(
            describe(&job["Environment"]["Variables"]["DUE_INDEX"]),
            choice
        );
        let grants = job["Policies"][0]["Statement"]
            .as_sequence()
            .expect("statements");
        let index_grants: Vec<String> = grants
            .iter()
            .map(|statement| describe(&statement["Resource"]))
            .filter(|resource| resource.contains("/index/"))
            .collect();
        assert_eq!(
            index_grants,
            [format!(
                "!Sub [${{TokensTable.Arn}}/index/${{DueIndex}}, DueIndex: {choice}]"
            )]
        );
    }

    /// The worst case of every function's AWS and TikTok calls fits its `Timeout` here
    /// (`connect_domain::budget`'s arithmetic, against the deployed numbers).
    #[test]
    fn the_worst_cases_fit_the_function_timeouts() {
        use connect_domain::budget::TIKTOK_REQUEST_TIMEOUT;
        use connect_domain::budget::{AWS_OPERATION_TIMEOUT, AWS_TAIL_CALLS, CALLBACK_BUDGET};
        use connect_domain::refresh::{PERSIST_WINDOW, REFRESH_NEEDS};
        use connect_http::handler::REQUEST_BUDGET;
        use connect_services::refresh_job::JobSettings;
        let op = AWS_OPERATION_TIMEOUT;
        let template = Template::ours().expect("template");
        let template_timeout = |id: &str| template.function_timeout(id).expect("a Timeout");
        let callback = template_timeout("CallbackFunction");
        let user = ["UserInfoFunction", "VideoListFunction", "AccountsFunction"]
            .map(&template_timeout)
            .into_iter()
            .min()
            .expect("three");
        let job = template_timeout("TokenRefreshFunction");
        assert_eq!(
            (callback.as_secs(), user.as_secs(), job.as_secs()),
            (20, 28, 840)
        );

        // callback: 5 AWS calls and the code exchange, within its budget, within its timeout.
        assert!(
            op * 5 + TIKTOK_REQUEST_TIMEOUT <= CALLBACK_BUDGET,
            "callback"
        );
        assert!(CALLBACK_BUDGET <= callback);

        // app-user functions: the budget, then at most the tail of AWS calls.
        assert!(
            REQUEST_BUDGET + op * AWS_TAIL_CALLS <= user,
            "user functions"
        );
        // The rotated pair's write: Encrypt + UpdateItem, each a whole SDK call, fit its window
        // (a last try may start at its end: one more call).
        assert!(op * 2 <= PERSIST_WINDOW);
        // An on-demand refresh (lease, then REFRESH_NEEDS) fits a fresh request's budget.
        assert!(op + REFRESH_NEEDS < REQUEST_BUDGET);
        assert_eq!(
            REFRESH_NEEDS,
            op + TIKTOK_REQUEST_TIMEOUT + PERSIST_WINDOW + op
        );

        // token-refresh: a refresh started just before the stop margin ends before the timeout.
        let settings = JobSettings::default();
        assert!(settings.per_refresh + op * (AWS_TAIL_CALLS + 1) <= settings.stop_margin);
        assert!(op + REFRESH_NEEDS <= settings.per_refresh);
        assert!(settings.stop_margin < job);

        // scheduled-post: a live delivery's claim is never stale (the function ends at its
        // timeout), and Lambda's retry a minute after a failed one finds its claim stale.
        use connect_services::publish::scheduled::STALE_FIRING_SECS;
        let stale = Duration::from_secs(u64::try_from(STALE_FIRING_SECS).expect("positive"));
        assert!(template_timeout("ScheduledPostFunction") < stale);
        assert!(stale < Duration::from_secs(60));
    }

    #[test]
    fn describes_short_form_functions_as_written() {
        let value: Value = serde_norway::from_str(
            "!If [CreateSecret, !Ref AppSecret, !Sub '${TokensTable.Arn}/index/x']",
        )
        .expect("yaml");
        assert_eq!(
            describe(&value),
            "!If [CreateSecret, !Ref AppSecret, !Sub ${TokensTable.Arn}/index/x]"
        );
    }

    #[test]
    fn refuses_policies_it_cannot_read() {
        let yaml = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Metadata: { BuildProperties: { Binary: f } }\n    Properties:\n      Policies: [AWSLambdaBasicExecutionRole]\n";
        let err = Template::parse(yaml)
            .expect("parse")
            .functions()
            .expect_err("a managed policy");
        assert!(err.to_string().contains("not an inline"), "{err}");
    }
}
