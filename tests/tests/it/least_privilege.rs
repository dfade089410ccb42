//! Least privilege, read off `infra/template.yaml`: each function's role may do exactly what
//! `infra/permissions.yaml` says its code needs, on only those resources, and nothing may Scan,
//! use a wildcard, or touch the KMS key without naming the encryption context's purpose. The
//! table in docs/deploy.md ("Permissions") is the same list. (`aws_round_trips.rs` checks the
//! other direction: every call the tests see a function make is on its list.)

use devstack::permissions::Permissions;
use devstack::template::{FunctionDefinition, Statement, Template, Value, describe};
use std::collections::{BTreeMap, BTreeSet};

/// How the template writes each resource a function may touch, by its name in permissions.yaml.
const RESOURCES: [(&str, &str); 10] = [
    ("table", "!GetAtt TokensTable.Arn"),
    (
        "due-index",
        "!Sub [${TokensTable.Arn}/index/${DueIndex}, DueIndex: !If [UpgradingDueIndex, refresh-due, due-by-shard]]",
    ),
    ("posts-index", "!Sub ${TokensTable.Arn}/index/posts-by-user"),
    (
        "waiting-index",
        "!Sub ${TokensTable.Arn}/index/waiting-by-account",
    ),
    (
        "schedules",
        "!Sub arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${PostSchedules}/*",
    ),
    ("scheduler-role", "!GetAtt SchedulerRole.Arn"),
    ("bus", "!GetAtt EventBus.Arn"),
    ("key", "!GetAtt TokenKey.Arn"),
    (
        "tiktok-secret",
        "!If [CreateTikTokSecret, !Ref TikTokSecret, !Ref ExistingTikTokSecretArn]",
    ),
    (
        "jwt-secret",
        "!If [CreateAppJwtSecret, !Ref AppJwtSecret, !Ref ExistingAppJwtSecretArn]",
    ),
];

/// The `purpose` a statement's condition pins the KMS encryption context to, if that is all it says.
fn purpose(condition: &Value) -> Option<&str> {
    let equals = condition.as_mapping()?;
    if equals.len() != 1 {
        return None;
    }
    let context = equals.get("StringEquals")?.as_mapping()?;
    if context.len() != 1 {
        return None;
    }
    context.get("kms:EncryptionContext:purpose")?.as_str()
}

/// A statement as permissions.yaml writes grants, or why it cannot be one.
fn grants_of(statement: &Statement) -> Result<Vec<String>, String> {
    if statement.effect != "Allow" {
        return Err(format!("Effect {}", statement.effect));
    }
    let written = describe(&statement.resource);
    let resource = RESOURCES
        .iter()
        .find(|(_, as_written)| *as_written == written)
        .map(|(name, _)| *name)
        .ok_or_else(|| format!("a resource outside the stack's own: {written}"))?;
    let suffix = match (&statement.condition, resource) {
        (None, "key") => return Err("KMS without an encryption-context purpose".into()),
        (None, _) => String::new(),
        (Some(condition), "key") => {
            let purpose = purpose(condition)
                .ok_or_else(|| format!("KMS condition {}", describe(condition)))?;
            format!(" for {purpose}")
        }
        (Some(condition), _) => {
            return Err(format!("unexpected condition {}", describe(condition)));
        }
    };
    statement
        .action
        .iter()
        .map(|action| {
            if action.contains('*') {
                Err(format!("wildcard action {action}"))
            } else if action.to_ascii_lowercase().ends_with(":scan") {
                Err(format!("{action}: nothing may read the whole table"))
            } else {
                Ok(format!("{action} on {resource}{suffix}"))
            }
        })
        .collect()
}

fn granted(function: &FunctionDefinition) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for statement in &function.statements {
        match grants_of(statement) {
            Ok(grants) => all.extend(grants),
            Err(why) => panic!("{} ({}): {why}", function.logical_id, function.binary),
        }
    }
    all
}

fn functions() -> Vec<FunctionDefinition> {
    Template::ours()
        .expect("template")
        .functions()
        .expect("functions")
}

#[test]
fn each_function_is_granted_exactly_what_its_code_needs() {
    let needed = Permissions::ours().expect("permissions.yaml");
    let deployed = functions();
    let names: BTreeSet<&str> = deployed.iter().map(|f| f.binary.as_str()).collect();
    let listed: BTreeSet<&str> = needed.0.keys().map(String::as_str).collect();
    assert_eq!(
        names, listed,
        "the template's functions and permissions.yaml's must be the same"
    );
    for function in &deployed {
        let granted = granted(function);
        let needs = needed.grants(&function.binary);
        let extra: Vec<_> = granted.difference(&needs).collect();
        let missing: Vec<_> = needs.difference(&granted).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{}: granted but not needed {extra:?}; needed but not granted {missing:?}",
            function.binary
        );
    }
}

/// The separations the threat model relies on, stated once more so that editing both files the
/// same wrong way still fails.
#[test]
fn who_may_open_and_seal_what() {
    let by_function: BTreeMap<String, BTreeSet<String>> = functions()
        .iter()
        .map(|f| (f.binary.clone(), granted(f)))
        .collect();
    let holders = |grant: &str| -> BTreeSet<&str> {
        by_function
            .iter()
            .filter(|(_, grants)| grants.contains(grant))
            .map(|(f, _)| f.as_str())
            .collect()
    };
    assert_eq!(
        holders("kms:Decrypt on key for tiktok-tokens"),
        BTreeSet::from([
            "accounts",
            "publish",
            "scheduled-post",
            "token-refresh",
            "user-info",
            "video-list"
        ]),
        "who can read tokens"
    );
    // Sealing tokens (a data key for envelopes, connect_domain::envelope): the callback (new
    // connection) and the refresh paths (rotated pair).
    assert_eq!(
        holders("kms:GenerateDataKey on key for tiktok-tokens"),
        BTreeSet::from([
            "accounts",
            "callback",
            "publish",
            "scheduled-post",
            "token-refresh",
            "user-info",
            "video-list"
        ]),
    );
    // The answers kept for Idempotency-Keys: only the publish function.
    for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
        assert_eq!(
            holders(&format!("{action} on key for publish-answer")),
            BTreeSet::from(["publish"])
        );
    }
    // The public webhook opens and seals nothing.
    let webhook = &by_function["webhook"];
    assert!(
        webhook.iter().all(|g| !g.starts_with("kms:")),
        "the webhook can use the key: {webhook:?}"
    );
    assert_eq!(
        holders("kms:Decrypt on key for pkce-verifier"),
        BTreeSet::from(["callback"])
    );
    assert_eq!(
        holders("kms:GenerateDataKey on key for pkce-verifier"),
        BTreeSet::from(["authorize"])
    );
    // Envelopes seal locally: nothing calls KMS Encrypt any more.
    for (function, grants) in &by_function {
        assert!(
            grants.iter().all(|g| !g.starts_with("kms:Encrypt")),
            "{function} may still call kms:Encrypt: {grants:?}"
        );
    }
    let authorize = &by_function["authorize"];
    assert!(
        authorize.iter().all(|g| !g.starts_with("kms:Decrypt")),
        "authorize can decrypt: {authorize:?}"
    );
    let deleting = holders("dynamodb:DeleteItem on table");
    // Deleting: accounts (accounts, pending connections), callback (states), token-refresh
    // (unconfirmed pending connections), publish and webhook (their own claim and delivery
    // records; tested in publish.rs and webhook.rs).
    assert_eq!(
        deleting,
        BTreeSet::from([
            "accounts",
            "callback",
            "publish",
            "token-refresh",
            "webhook"
        ])
    );
    // Only the accounts function commits a connection (the confirm): the callback, reachable by
    // anyone with a browser, cannot write an account or an ownership record.
    let callback = &by_function["callback"];
    assert!(
        !callback.contains("dynamodb:UpdateItem on table"),
        "the callback can write accounts: {callback:?}"
    );
}

/// The secrets are split by need (SECURITY.md): the public webhook and callback and the job can
/// read the TikTok client secret but never the app JWT key, so none of them can mint an app JWT;
/// authorize reads the JWT key but not the client secret. Each function's environment names
/// exactly the secrets its role may read, so a function never starts on a secret it cannot get.
#[test]
fn each_secret_is_readable_only_by_the_functions_that_need_it() {
    let holders = |grant: &str| -> BTreeSet<String> {
        functions()
            .iter()
            .filter(|f| granted(f).contains(grant))
            .map(|f| f.binary.clone())
            .collect()
    };
    let names = |list: &[&str]| {
        list.iter()
            .map(|s| (*s).to_owned())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        holders("secretsmanager:GetSecretValue on jwt-secret"),
        names(&[
            "accounts",
            "authorize",
            "publish",
            "user-info",
            "video-list"
        ])
    );
    assert_eq!(
        holders("secretsmanager:GetSecretValue on tiktok-secret"),
        names(&[
            "accounts",
            "callback",
            "publish",
            "scheduled-post",
            "token-refresh",
            "user-info",
            "video-list",
            "webhook"
        ])
    );
    let template = Template::ours().expect("template");
    let global_env = template.global_environment();
    for variable in ["TIKTOK_SECRET_ID", "APP_JWT_SECRET_ID", "SECRET_ID"] {
        assert!(
            global_env.get(variable).is_none(),
            "{variable} is given to every function in Globals"
        );
    }
    for function in functions() {
        let env = &function.properties["Environment"]["Variables"];
        for (variable, grant) in [
            (
                "TIKTOK_SECRET_ID",
                "secretsmanager:GetSecretValue on tiktok-secret",
            ),
            (
                "APP_JWT_SECRET_ID",
                "secretsmanager:GetSecretValue on jwt-secret",
            ),
        ] {
            assert_eq!(
                env.get(variable).is_some(),
                granted(&function).contains(grant),
                "{}: {variable} in its environment but not its grants, or the reverse",
                function.binary
            );
        }
    }
}

/// Every statement of the key policy that allows Encrypt or Decrypt requires the purpose.
#[test]
fn the_key_is_usable_only_under_a_purpose() {
    let key = Template::ours().expect("template").key().expect("key");
    let statements = key.key_policy["Statement"]
        .as_sequence()
        .expect("key policy statements");
    let mut crypto = 0;
    for statement in statements {
        let actions: Vec<&str> = match &statement["Action"] {
            Value::String(one) => vec![one.as_str()],
            Value::Sequence(many) => many.iter().filter_map(Value::as_str).collect(),
            other => panic!("Action {}", describe(other)),
        };
        let uses_key = actions.iter().any(|a| {
            *a == "kms:*"
                || a.starts_with("kms:Encrypt")
                || a.starts_with("kms:Decrypt")
                || a.starts_with("kms:GenerateDataKey")
        });
        let sid = describe(&statement["Sid"]);
        if uses_key {
            crypto += 1;
            let purposes = &statement["Condition"]["StringEquals"]["kms:EncryptionContext:purpose"];
            assert!(
                !purposes.is_null(),
                "key policy statement {sid} allows {actions:?} without a purpose"
            );
            // Only the function roles (the RolePath of Globals) and the break-glass parameter:
            // an IAM policy granting kms:Decrypt on "*" elsewhere in the account opens nothing.
            let principals = describe(&statement["Condition"]["ArnLike"]["aws:PrincipalArn"]);
            assert!(
                principals.contains(":role/tiktok-connect/${AWS::StackName}/*")
                    && principals.contains("BreakGlassRoleArn")
                    && !principals.contains(":root"),
                "key policy statement {sid} lets other principals than the function roles use the key: {principals}"
            );
        } else {
            let admins = describe(&statement["Condition"]["ArnLike"]["aws:PrincipalArn"]);
            assert!(
                admins.contains("KeyAdminPrincipalArn"),
                "key policy statement {sid} is not limited to the key admin: {admins}"
            );
        }
        // A grant is used without the key policy's conditions, so nobody may create one.
        for forbidden in ["kms:*", "kms:Create*", "kms:CreateGrant"] {
            assert!(
                !actions.contains(&forbidden),
                "key policy allows {forbidden} ({sid})"
            );
        }
    }
    assert_eq!(crypto, 1, "one statement allows GenerateDataKey/Decrypt");
    let template = std::fs::read_to_string(format!(
        "{}/../infra/template.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("template");
    assert!(
        template.contains("RolePath: !Sub \"/tiktok-connect/${AWS::StackName}/\""),
        "every function role is under the path the key policy names (Globals RolePath)"
    );
}

#[test]
fn the_deploy_doc_lists_the_same_permissions() {
    let doc = include_str!("../../../docs/deploy.md");
    let table = Permissions::ours().expect("permissions").markdown_table();
    let (begin, end) = ("<!-- permissions:begin -->\n", "<!-- permissions:end -->");
    let block = doc
        .split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(block, _)| block)
        .expect("docs/deploy.md has a permissions:begin/end block");
    assert_eq!(
        block, table,
        "docs/deploy.md's permissions table is out of date; replace it with:\n{table}"
    );
}

/// The settings page's dev sign-in exists only under `make dev` (scripts/dev.sh sets
/// `CONSOLE_DEV_SIGN_IN` for `cargo lambda watch`, and its gateway alone answers `/_dev/sign-in`).
/// The deployed stack: the variable appears nowhere in the template (not in `Globals`, not on the
/// console function), no route is under `/_dev`, and the console has no policy or role of its own.
#[test]
fn the_deployed_console_has_no_dev_sign_in_and_no_permissions() {
    use console::page::DEV_SIGN_IN_VAR;
    use devstack::template::TEMPLATE_YAML;
    assert!(
        !TEMPLATE_YAML.contains(DEV_SIGN_IN_VAR),
        "infra/template.yaml mentions {DEV_SIGN_IN_VAR}: the dev sign-in must not be deployable"
    );
    assert!(
        !TEMPLATE_YAML.contains("/_dev"),
        "infra/template.yaml has a /_dev path"
    );
    let deployed = functions();
    let console = deployed
        .iter()
        .find(|f| f.binary == "console")
        .expect("the template deploys the console function");
    assert!(
        console.statements.is_empty(),
        "console: {:?}",
        console.statements
    );
    for property in ["Policies", "Role", "Environment"] {
        assert!(
            console.properties[property].is_null(),
            "console sets {property}: {}",
            describe(&console.properties[property])
        );
    }
    // Every route of every function, as (method, path): none under /_dev, and the console's one.
    let mut console_routes = Vec::new();
    for function in &deployed {
        let Some(events) = function.properties["Events"].as_mapping() else {
            continue;
        };
        for event in events.values() {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let method = event["Properties"]["Method"].as_str().unwrap_or_default();
            let path = event["Properties"]["Path"].as_str().unwrap_or_default();
            assert!(
                path.starts_with("/tiktok/"),
                "{}: route {method} {path} is outside /tiktok/",
                function.binary
            );
            if function.binary == "console" {
                console_routes.push((method.to_owned(), path.to_owned()));
            }
        }
    }
    assert_eq!(
        console_routes,
        [("GET".to_owned(), "/tiktok/console".to_owned())]
    );
}

/// The template deploys exactly the crates under `functions/`, each from its own directory and
/// binary: the Makefile's release build (`FUNCTIONS`, the directory names) builds what SAM then
/// copies, so a function the one misses the other would build alone, or not at all.
#[test]
fn the_template_deploys_each_function_directory_under_its_own_name() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let directories: BTreeSet<String> = std::fs::read_dir(root.join("functions"))
        .expect("functions/")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let deployed = functions();
    let binaries: BTreeSet<String> = deployed.iter().map(|f| f.binary.clone()).collect();
    assert_eq!(binaries, directories);
    for function in &deployed {
        assert_eq!(
            function.properties["CodeUri"].as_str(),
            Some(format!("../functions/{}", function.binary).as_str()),
            "{}",
            function.logical_id
        );
    }
}
