//! A complete, isolated stack per test: fresh table, KMS key and secret in the shared moto server,
//! a fake TikTok of its own, and the two functions wired exactly as in production except for an
//! adjustable clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use connect_adapters::DynamoAccountStore;
use connect_adapters::KmsCipher;
use connect_domain::cipher::{EncryptionContext, TokenPair, open_tokens};
use connect_domain::clock::OffsetClock;
use connect_domain::pkce::PkceMode;
use connect_domain::store::{Account, AccountReader};
use connect_runtime::cold_start::{AppSecrets, AwsClients, ColdStart, LiveConnect, LiveUserApi};
use connect_runtime::config::Config;
use connect_services::connect::CallbackService;
use fake_tiktok::{FakeConfig, FakeTikTok};

use crate::aws_calls::AwsCallCounter;
use crate::aws_faults::AwsFaults;
use crate::{logs, moto};

pub const REDIRECT_URI: &str = "http://127.0.0.1:9000/lambda-url/callback/";
pub const APP_RETURN_URL: &str = "https://app.example.com/settings";
pub const ALL_SCOPES: &str = "user.info.basic,user.info.profile,user.info.stats,video.list";
/// Every scope, posting included.
pub const POSTING_SCOPES: &str =
    "user.info.basic,user.info.profile,user.info.stats,video.list,video.publish,video.upload";

pub type TestAuthorize = authorize::App<LiveConnect<OffsetClock>>;
/// What `user-info`, `video-list` and `accounts` hold (the same wiring for all three).
pub type TestUserApi = LiveUserApi<OffsetClock>;
pub type TestJob = token_refresh::LiveJob<OffsetClock>;
pub type TestPublishApi = publish::LivePublishApi<OffsetClock>;
pub type TestWebhookApi = webhook::LiveWebhookApi<OffsetClock>;
pub type TestScheduledPost = scheduled_post::LiveScheduledPost<OffsetClock>;
pub type TestAccountsApi = accounts::LiveAccountsApi<OffsetClock>;
pub type TestCallback = CallbackService<LiveConnect<OffsetClock>>;

#[derive(Debug, Clone)]
pub struct StackOptions {
    pub pkce: PkceMode,
    pub scopes: &'static str,
    pub allowed_return_urls: &'static str,
    /// `REFRESH_POLICY`: `keepalive` or `eager`.
    pub refresh_policy: &'static str,
    /// `REFRESH_KEEPALIVE_HOURS`. 24 here, not the deployed 168: the job's tests pass a day and
    /// expect the accounts stored before it due (`refresh_job.rs` tests the default).
    pub keepalive_hours: u32,
    /// Put the fault-injecting proxy (`Stack::aws_faults`) between the AWS clients and moto, and
    /// give the clients production's timeouts and retries (`connect_runtime::cold_start::aws_timeouts`).
    pub aws_faults: bool,
    /// `DATA_KEY_MAX_USES`: 1 makes every seal a KMS call (the fault tests fail that call).
    pub data_key_max_uses: u32,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            pkce: PkceMode::Off,
            scopes: ALL_SCOPES,
            allowed_return_urls: "https://partner.example.net/tiktok-done",
            refresh_policy: "keepalive",
            keepalive_hours: 24,
            aws_faults: false,
            data_key_max_uses: 10_000,
        }
    }
}

pub struct Stack {
    pub fake: FakeTikTok,
    pub aws: AwsClients,
    pub config: Config,
    pub clock: OffsetClock,
    pub jwt_secret: String,
    pub client_secret: String,
    pub authorize: TestAuthorize,
    pub callback: TestCallback,
    /// The state of `user-info`, `video-list` and `accounts`.
    pub api: TestUserApi,
    /// The state of `accounts`.
    pub accounts_api: TestAccountsApi,
    /// The state of `publish`.
    pub publish: TestPublishApi,
    /// The state of `webhook`.
    pub webhook: std::sync::Arc<TestWebhookApi>,
    /// The state of `scheduled-post`.
    pub scheduled_post: TestScheduledPost,
    /// This stack's schedule group in moto (`SCHEDULE_GROUP`).
    pub schedule_group: String,
    /// The queue a rule on this stack's bus (`EVENT_BUS_NAME`) sends every event to, as an app
    /// would subscribe; read by `events_on_bus`.
    pub events_queue: String,
    /// SQS in moto, for `events_queue`.
    pub sqs: aws_sdk_sqs::Client,
    /// Every event read from the queue so far.
    seen_events: std::sync::Mutex<Vec<serde_json::Value>>,
    /// The `token-refresh` job, sharing nothing with `api` but the table (as in production).
    pub job: TestJob,
    pub accounts: DynamoAccountStore,
    pub cipher: KmsCipher,
    /// Every AWS call made through this stack's clients.
    pub aws_calls: AwsCallCounter,
    /// The fault-injecting proxy, with `StackOptions::aws_faults`.
    pub aws_faults: Option<AwsFaults>,
    /// JWTs minted by this stack, scanned for in logs.
    minted: std::sync::Mutex<Vec<String>>,
}

/// A name no other test in this process (or another test process) uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// SDK configuration for the moto server at `endpoint`: static dummy credentials, one region.
pub async fn moto_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

/// SDK configuration through the fault proxy at `endpoint`, with production's timeouts and retries.
pub async fn proxied_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .timeout_config(connect_runtime::cold_start::aws_timeouts())
        .retry_config(connect_runtime::cold_start::aws_retries())
        .load()
        .await
}

/// A bus of this stack's own and a rule sending all its `tiktok-connect` events to a queue, as an
/// app subscribes in production (docs/events.md): (bus name, queue URL, SQS client).
async fn bus_to_queue(
    sdk: &aws_config::SdkConfig,
    aws: &AwsClients,
) -> (String, String, aws_sdk_sqs::Client) {
    let bus = unique("tiktok-connect-events");
    aws.events
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("event bus");
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let queue = sqs
        .create_queue()
        .queue_name(unique("app-events"))
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("queue URL");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .expect("queue ARN");
    let rule = unique("all-events");
    aws.events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(r#"{"source":["tiktok-connect"]}"#)
        .send()
        .await
        .expect("rule");
    aws.events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("app-queue")
                .arn(arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("target");
    (bus, queue, sqs)
}

impl Stack {
    /// Every event that reached the app's queue so far (EventBridge envelopes, oldest first),
    /// each checked for secrets.
    pub async fn events_on_bus(&self) -> Vec<serde_json::Value> {
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.events_queue)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("ReceiveMessage");
            let messages = received.messages();
            if messages.is_empty() {
                break;
            }
            for message in messages {
                let body = message.body().unwrap_or_default();
                logs::assert_absent(body, &self.secrets(), "an event on the bus");
                let event: serde_json::Value = serde_json::from_str(body).expect("event JSON");
                self.seen_events
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(event);
                if let Some(handle) = message.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.events_queue)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("DeleteMessage");
                }
            }
        }
        self.seen_events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The fault proxy; panics unless the stack was started with `aws_faults: true`.
    pub fn faults(&self) -> &AwsFaults {
        self.aws_faults
            .as_ref()
            .expect("started with StackOptions { aws_faults: true, .. }")
    }

    pub async fn start(options: StackOptions) -> Stack {
        logs::install();
        let fake_pkce = match options.pkce {
            PkceMode::Off => fake_tiktok::PkceMode::Off,
            PkceMode::S256Hex => fake_tiktok::PkceMode::Hex,
            PkceMode::S256Base64Url => fake_tiktok::PkceMode::Base64Url,
        };
        // Distinctive per-test secrets, so a log scan cannot confuse them with ordinary words.
        // (At least the 16 bytes the functions require; the suffix makes sure of it.)
        let client_secret = format!(
            "cs{:x}Qz{}Sx7f",
            std::process::id(),
            unique("s").replace('-', "x")
        );
        assert!(client_secret.len() >= connect_runtime::cold_start::MIN_CLIENT_SECRET_BYTES);
        let fake = FakeTikTok::start(FakeConfig {
            pkce: fake_pkce,
            client_secret: client_secret.clone(),
            ..FakeConfig::default()
        })
        .await
        .expect("fake TikTok starts");

        // Everything of this stack lives on one of the process's moto servers.
        let moto = moto::any_endpoint();
        let aws_faults = if options.aws_faults {
            Some(AwsFaults::start(moto).await)
        } else {
            None
        };
        let sdk = match &aws_faults {
            Some(proxy) => proxied_sdk_config(proxy.endpoint()).await,
            None => moto_sdk_config(moto).await,
        };
        let aws_calls = AwsCallCounter::default();
        // The SDK's retry quota (a token bucket) is shared per service by every client of the
        // process, as in a Lambda environment. Fault stacks get their own, so one test's outage
        // does not use up the retries of a test running beside it.
        let partition =
            |service: &str| aws_sdk_dynamodb::config::retry::RetryPartition::new(unique(service));
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk);
        let mut kms = aws_sdk_kms::config::Builder::from(&sdk);
        let mut secrets = aws_sdk_secretsmanager::config::Builder::from(&sdk);
        let mut scheduler = aws_sdk_scheduler::config::Builder::from(&sdk);
        let mut events = aws_sdk_eventbridge::config::Builder::from(&sdk);
        if aws_faults.is_some() {
            dynamodb.set_retry_partition(Some(partition("dynamodb")));
            kms.set_retry_partition(Some(partition("kms")));
            secrets.set_retry_partition(Some(partition("secretsmanager")));
            scheduler.set_retry_partition(Some(partition("scheduler")));
            events.set_retry_partition(Some(partition("events")));
        }
        let aws = AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                dynamodb.interceptor(aws_calls.clone()).build(),
            ),
            kms: aws_sdk_kms::Client::from_conf(kms.interceptor(aws_calls.clone()).build()),
            secrets: aws_sdk_secretsmanager::Client::from_conf(
                secrets.interceptor(aws_calls.clone()).build(),
            ),
            scheduler: aws_sdk_scheduler::Client::from_conf(
                scheduler.interceptor(aws_calls.clone()).build(),
            ),
            events: aws_sdk_eventbridge::Client::from_conf(
                events.interceptor(aws_calls.clone()).build(),
            ),
        };
        let table = unique("tiktok-connect");
        let key_alias = format!("alias/{}", unique("tokens"));
        let tiktok_secret_id = unique("tiktok-connect-tiktok-secret");
        let jwt_secret_id = unique("tiktok-connect-jwt-secret");
        // At least the 32 bytes the functions require of an HS256 key.
        let jwt_secret = format!(
            "jw{:x}Kp{}Hs256KeyOf32BytesOrMore",
            std::process::id(),
            unique("k").replace('-', "y")
        );
        devstack::ensure_table(&aws.dynamodb, &table)
            .await
            .unwrap_or_else(|e| panic!("table: {e:?}\n{}", moto::describe(moto)));
        devstack::ensure_key(&aws.kms, &key_alias)
            .await
            .expect("key");
        devstack::ensure_tiktok_secret(&aws.secrets, &tiktok_secret_id, &client_secret)
            .await
            .expect("TikTok secret");
        devstack::ensure_app_jwt_secret(&aws.secrets, &jwt_secret_id, &jwt_secret)
            .await
            .expect("app JWT secret");
        let (event_bus, events_queue, sqs) = bus_to_queue(&moto_sdk_config(moto).await, &aws).await;
        let schedule_group = unique("tiktok-connect-schedules");
        aws.scheduler
            .create_schedule_group()
            .name(&schedule_group)
            .send()
            .await
            .expect("schedule group");

        let pkce = match options.pkce {
            PkceMode::Off => "off",
            PkceMode::S256Hex => "s256-hex",
            PkceMode::S256Base64Url => "s256-base64url",
        };
        let env: HashMap<&str, String> = HashMap::from([
            ("TABLE_NAME", table.clone()),
            ("KMS_KEY_ID", key_alias),
            ("TIKTOK_SECRET_ID", tiktok_secret_id),
            ("APP_JWT_SECRET_ID", jwt_secret_id),
            ("TIKTOK_CLIENT_KEY", "fake_client_key".into()),
            ("TIKTOK_REDIRECT_URI", REDIRECT_URI.into()),
            ("APP_RETURN_URL", APP_RETURN_URL.into()),
            (
                "APP_ALLOWED_RETURN_URLS",
                options.allowed_return_urls.into(),
            ),
            ("TIKTOK_SCOPES", options.scopes.into()),
            ("TIKTOK_PKCE", pkce.into()),
            ("REFRESH_POLICY", options.refresh_policy.into()),
            (
                "REFRESH_KEEPALIVE_HOURS",
                options.keepalive_hours.to_string(),
            ),
            ("DATA_KEY_MAX_USES", options.data_key_max_uses.to_string()),
            ("TIKTOK_AUTH_URL", fake.authorize_url()),
            ("TIKTOK_API_URL", fake.base_url()),
            ("SCHEDULE_GROUP", schedule_group.clone()),
            ("EVENT_BUS_NAME", event_bus),
            (
                "SCHEDULED_POST_FUNCTION_ARN",
                "arn:aws:lambda:us-east-1:123456789012:function:scheduled-post".into(),
            ),
            (
                "SCHEDULER_ROLE_ARN",
                "arn:aws:iam::123456789012:role/tiktok-connect-scheduler".into(),
            ),
            (
                "SCHEDULE_DEAD_LETTER_ARN",
                "arn:aws:sqs:us-east-1:123456789012:tiktok-connect-schedule-dlq".into(),
            ),
        ]);
        let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
        // The secret is read through the production path, from moto.
        let secrets = AppSecrets::load(&aws.secrets, &config)
            .await
            .expect("secret loads");

        // The functions' own wiring, with a clock the tests can move.
        let clock = OffsetClock::default();
        let cold = ColdStart {
            config,
            aws,
            secrets,
        };
        let authorize = authorize::wire(&cold, clock.clone()).expect("authorize wiring");
        let callback = callback::wire(&cold, clock.clone()).expect("callback wiring");
        let api = cold.user_api(clock.clone()).expect("user api wiring");
        let job = token_refresh::wire(&cold, clock.clone()).expect("job wiring");
        let publish = publish::wire(&cold, clock.clone()).expect("publish wiring");
        let accounts_api = accounts::wire(&cold, clock.clone()).expect("accounts wiring");
        let webhook =
            std::sync::Arc::new(webhook::wire(&cold, clock.clone()).expect("webhook wiring"));
        let scheduled_post =
            scheduled_post::wire(&cold, clock.clone()).expect("scheduled-post wiring");
        let ColdStart { config, aws, .. } = cold;
        let accounts = callback.accounts.clone();
        let cipher = callback.cipher.clone();
        Stack {
            fake,
            aws,
            config,
            clock,
            jwt_secret,
            client_secret,
            authorize,
            callback,
            api,
            accounts_api,
            publish,
            webhook,
            scheduled_post,
            schedule_group,
            events_queue,
            sqs,
            seen_events: std::sync::Mutex::new(Vec::new()),
            job,
            accounts,
            cipher,
            aws_calls,
            aws_faults,
            minted: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// A valid app JWT for `app_user`.
    pub fn jwt(&self, app_user: &str) -> String {
        let token = devstack::mint_jwt(&self.jwt_secret, app_user, 600, None, None).expect("jwt");
        if let Ok(mut minted) = self.minted.lock() {
            minted.push(token.clone());
        }
        token
    }

    pub async fn account(&self, app_user: &str, open_id: &str) -> Option<Account> {
        self.accounts
            .get(app_user, &open_id.into())
            .await
            .expect("account read")
    }

    /// The account as the listing shows it: with its profile, which `account` (one read of the
    /// account item, as every route makes) does not return.
    pub async fn listed_account(&self, app_user: &str, open_id: &str) -> Option<Account> {
        self.accounts_of(app_user)
            .await
            .into_iter()
            .find(|account| account.open_id.as_str() == open_id)
    }

    /// One item of the table as stored, by its `pk` and `sk` (a consistent read).
    pub async fn raw_item(&self, pk: &str, sk: &str) -> Option<HashMap<String, AttributeValue>> {
        self.aws
            .dynamodb
            .get_item()
            .table_name(&self.config.table_name)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item
    }

    pub async fn accounts_of(&self, app_user: &str) -> Vec<Account> {
        self.accounts.list(app_user).await.expect("account list")
    }

    pub async fn tokens_of(&self, account: &Account) -> TokenPair {
        open_tokens(
            &self.cipher,
            &EncryptionContext::tokens(&account.app_user, &account.open_id),
            &account.sealed_tokens,
        )
        .await
        .expect("tokens decrypt under their own context")
    }

    /// Every item in the table, each attribute rendered as text (binary lossily).
    pub async fn table_dump(&self) -> Vec<HashMap<String, String>> {
        let items: Vec<_> = self
            .aws
            .dynamodb
            .scan()
            .table_name(&self.config.table_name)
            .into_paginator()
            .items()
            .send()
            .collect()
            .await;
        items
            .into_iter()
            .map(|item| {
                item.expect("scan")
                    .into_iter()
                    .map(|(k, v)| {
                        let text = match v {
                            AttributeValue::S(s) | AttributeValue::N(s) => s,
                            AttributeValue::B(b) => {
                                String::from_utf8_lossy(b.as_ref()).into_owned()
                            }
                            other => format!("{other:?}"),
                        };
                        (k, text)
                    })
                    .collect()
            })
            .collect()
    }

    /// Every secret this test could have leaked: TikTok codes and tokens, the client secret, the
    /// JWT key and every JWT minted.
    pub fn secrets(&self) -> Vec<String> {
        let mut all = self.fake.issued_secrets();
        all.push(self.client_secret.clone());
        all.push(self.jwt_secret.clone());
        if let Ok(minted) = self.minted.lock() {
            all.extend(minted.iter().cloned());
        }
        all
    }

    /// The check that ends every test: no secret in the table (scanned) or in any log line.
    pub async fn assert_nothing_leaked(&self) {
        let mut secrets = self.secrets();
        // Upload URLs are answered to the app (not a leak there), but never logged or stored.
        secrets.extend(self.fake.upload_tokens());
        assert!(!secrets.is_empty());
        let dump = format!("{:?}", self.table_dump().await);
        logs::assert_absent(&dump, &secrets, "the DynamoDB table");
        logs::assert_absent(&logs::text(), &secrets, "the captured logs");
    }
}
