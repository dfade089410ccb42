#![allow(clippy::print_stdout)]
//! Warm-request cost of every HTTP function: the AWS and TikTok calls each request makes (exact
//! counts), and the latency the function adds on top of TikTok's own answers.
//!
//! Each function's handler runs against moto and the fake TikTok, wired exactly as in production
//! (the harness's `Stack`). Each handler request is followed by
//! * a *moto replay*: the same AWS operations, made bare (one after the other, through the same SDK
//!   clients, on look-alike items), to show how much of the added time is the AWS emulator;
//! * the same TikTok calls made directly with a plain reqwest client.
//!
//! All three are interleaved request by request, so drift on a noisy machine hits them alike.
//! Prints markdown tables to stdout.
//!
//! ```sh
//! make bench    # or: cargo bench -p integration-tests --bench latency
//! BENCH_ITERATIONS=50 make bench    # fewer measured requests per row (default 200, after 20 warm-up)
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use connect_adapters::keys::{TABLE_HASH_KEY, TABLE_RANGE_KEY};
use connect_domain::clock::Clock as _;
use connect_domain::scope::ScopeSet;
use connect_domain::store::{StateKey, StateStore as _};
use connect_domain::tiktok::profile_fields;
use fake_tiktok::{Endpoint, FakeTikTok};
use integration_tests::flow::{ALICE, BOB, api_event, param};
use integration_tests::stack::REDIRECT_URI;
use integration_tests::{Stack, StackOptions};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use url::Url;

const WARMUP: usize = 20;
const DEFAULT_ITERATIONS: usize = 200;
/// The app user whose account the functions serve.
const USER: &str = "bench-user";
/// Another app user, holding Bob, for the direct refresh chain (rotation would otherwise kill the
/// refresh token the functions rely on).
const DIRECT_USER: &str = "bench-direct";
/// The app user of the moto replay's copy of Alice's record.
const PROBE_USER: &str = "bench-moto";
/// What `video-list` asks TikTok for (a private constant of the TikTok adapter, copied).
const VIDEO_FIELDS: &str = "id,title,video_description,create_time,cover_image_url,share_url,embed_link,duration,width,height,like_count,comment_count,share_count,view_count";

/// Which function's writes the moto replay imitates: moto's cost grows with the size of the
/// expressions and the number of items in a transaction, so the shapes matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// Reads, and the OAuth state's put and take.
    Plain,
    /// The connection's transaction: account update + conditional ownership put.
    Connect,
    /// The refresh: lease update first, then the token write.
    Refresh,
    /// The disconnection's transaction: account delete + conditional ownership delete.
    Disconnect,
}

/// Each bare operation the replay can make: label, operation, its rank in the request, flavor.
const BARE: [(&str, &str, u32, Flavor); 10] = [
    (
        "DynamoDB.GetItem (account)",
        "DynamoDB.GetItem",
        0,
        Flavor::Plain,
    ),
    (
        "DynamoDB.Query (accounts)",
        "DynamoDB.Query",
        0,
        Flavor::Plain,
    ),
    (
        "DynamoDB.PutItem (state)",
        "DynamoDB.PutItem",
        0,
        Flavor::Plain,
    ),
    (
        "DynamoDB.DeleteItem (state take)",
        "DynamoDB.DeleteItem",
        0,
        Flavor::Plain,
    ),
    (
        "DynamoDB.UpdateItem (refresh lease)",
        "DynamoDB.UpdateItem",
        0,
        Flavor::Refresh,
    ),
    (
        "DynamoDB.UpdateItem (token write)",
        "DynamoDB.UpdateItem",
        1,
        Flavor::Refresh,
    ),
    (
        "DynamoDB.TransactWriteItems (connect)",
        "DynamoDB.TransactWriteItems",
        0,
        Flavor::Connect,
    ),
    (
        "DynamoDB.TransactWriteItems (disconnect)",
        "DynamoDB.TransactWriteItems",
        0,
        Flavor::Disconnect,
    ),
    (
        "KMS.GenerateDataKey (an envelope's data key)",
        "KMS.GenerateDataKey",
        0,
        Flavor::Plain,
    ),
    ("KMS.Decrypt (token pair)", "KMS.Decrypt", 0, Flavor::Plain),
];

// ---------------------------------------------------------------------------------------------
// Measuring one request

/// What one request did: AWS operations and TikTok endpoints, with counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Calls {
    aws: BTreeMap<String, u32>,
    tiktok: BTreeMap<&'static str, u32>,
}

fn tiktok_counts(fake: &FakeTikTok) -> BTreeMap<&'static str, u32> {
    Endpoint::ALL
        .iter()
        .map(|e| (e.as_str(), fake.calls(*e)))
        .collect()
}

/// Runs `work`, timing only it, and returns the AWS and TikTok calls it made.
async fn timed<F: Future>(stack: &Stack, work: F) -> (F::Output, Duration, Calls) {
    stack.aws_calls.take();
    let before = tiktok_counts(&stack.fake);
    let started = Instant::now();
    let output = work.await;
    let elapsed = started.elapsed();
    let aws = stack.aws_calls.take();
    let tiktok = tiktok_counts(&stack.fake)
        .into_iter()
        .filter_map(|(endpoint, after)| {
            let n = after - before.get(endpoint).copied().unwrap_or(0);
            (n > 0).then_some((endpoint, n))
        })
        .collect();
    (output, elapsed, Calls { aws, tiktok })
}

/// The measured (post-warm-up) requests of one kind.
#[derive(Debug, Default)]
struct Series {
    samples: Vec<Duration>,
    /// Each distinct call pattern and how many requests made it.
    patterns: BTreeMap<Calls, usize>,
}

impl Series {
    fn record(&mut self, iteration: usize, elapsed: Duration, calls: Calls) {
        if iteration >= WARMUP {
            self.samples.push(elapsed);
            *self.patterns.entry(calls).or_default() += 1;
        }
    }

    /// Nearest-rank percentile, in milliseconds.
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.samples.clone();
        sorted.sort();
        if sorted.is_empty() {
            return f64::NAN;
        }
        let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1].as_secs_f64() * 1e3
    }

    fn p50(&self) -> f64 {
        self.percentile(0.50)
    }

    fn p95(&self) -> f64 {
        self.percentile(0.95)
    }

    /// `part` of the calls of every request, or of each distinct pattern with its share when the
    /// requests did not all make the same calls.
    fn describe(&self, part: impl Fn(&Calls) -> String) -> String {
        let total: usize = self.patterns.values().sum();
        let mut parts: BTreeMap<String, usize> = BTreeMap::new();
        for (calls, n) in &self.patterns {
            *parts.entry(part(calls)).or_default() += n;
        }
        if parts.len() == 1 {
            return parts.into_keys().next().unwrap_or_default();
        }
        parts
            .iter()
            .map(|(text, n)| format!("{text} ({n}/{total})"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn list<K: AsRef<str>>(counts: &BTreeMap<K, u32>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    counts
        .iter()
        .map(|(k, n)| format!("{} ×{n}", k.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One table row: a function's handler, its AWS calls replayed bare, and its TikTok calls made
/// directly.
struct Row {
    function: &'static str,
    request: String,
    handler: Series,
    moto: Series,
    /// AWS operations the replay cannot make (left out of `moto`).
    untimed: BTreeSet<String>,
    /// What the direct baseline does; `None` when the function calls no TikTok.
    direct_what: Option<&'static str>,
    direct: Series,
    flavor: Flavor,
}

impl Row {
    fn new(
        function: &'static str,
        request: impl Into<String>,
        direct: Option<&'static str>,
    ) -> Self {
        Self {
            function,
            request: request.into(),
            handler: Series::default(),
            moto: Series::default(),
            untimed: BTreeSet::new(),
            direct_what: direct,
            direct: Series::default(),
            flavor: Flavor::Plain,
        }
    }

    fn flavor(self, flavor: Flavor) -> Self {
        Self { flavor, ..self }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

fn expect_status(what: &str, response: &Response<Body>, status: u16) {
    assert_eq!(
        response.status().as_u16(),
        status,
        "{what}: {:?}",
        response.body()
    );
}

fn app_event(method: &str, path: &str, raw_query: &str, bearer: &str) -> Request {
    api_event(method, path, raw_query, &[("authorization", bearer)])
}

/// The same TikTok calls the functions make, with a plain reqwest client.
struct Direct {
    http: reqwest::Client,
    base: String,
    client_secret: String,
}

impl Direct {
    fn new(stack: &Stack) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: stack.fake.base_url(),
            client_secret: stack.client_secret.clone(),
        }
    }

    async fn json(response: reqwest::Result<reqwest::Response>, what: &str) -> Value {
        let response = response.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(response.status(), 200, "{what}");
        response.json().await.expect("JSON answer")
    }

    fn envelope_ok(value: Value, what: &str) -> Value {
        assert_eq!(value["error"]["code"], "ok", "{what}: {}", value["error"]);
        value
    }

    async fn user_info(&self, access_token: &str, fields: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/v2/user/info/", self.base))
            .query(&[("fields", fields)])
            .bearer_auth(access_token)
            .send()
            .await;
        Self::envelope_ok(Self::json(response, "user info").await, "user info")
    }

    async fn video_list(&self, access_token: &str, max_count: u8) -> Value {
        let response = self
            .http
            .post(format!("{}/v2/video/list/", self.base))
            .query(&[("fields", VIDEO_FIELDS)])
            .bearer_auth(access_token)
            .json(&json!({ "max_count": max_count }))
            .send()
            .await;
        Self::envelope_ok(Self::json(response, "video list").await, "video list")
    }

    async fn oauth(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let mut body = vec![
            ("client_key", "fake_client_key"),
            ("client_secret", self.client_secret.as_str()),
        ];
        body.extend_from_slice(form);
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .form(&body)
            .send()
            .await;
        let value = Self::json(response, path).await;
        assert!(value.get("error").is_none(), "{path}: {}", value["error"]);
        value
    }

    async fn exchange_code(&self, code: &str) -> Value {
        self.oauth(
            "/v2/oauth/token/",
            &[
                ("code", code),
                ("grant_type", "authorization_code"),
                ("redirect_uri", REDIRECT_URI),
            ],
        )
        .await
    }

    async fn refresh(&self, refresh_token: &str) -> Value {
        self.oauth(
            "/v2/oauth/token/",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    async fn revoke(&self, access_token: &str) {
        self.oauth("/v2/oauth/revoke/", &[("token", access_token)])
            .await;
    }

    /// A token grant, then user info with the fields its scopes allow (what the callback does).
    async fn grant_then_user_info(&self, grant: Value) -> Value {
        let scopes = ScopeSet::parse_comma_list(grant["scope"].as_str().unwrap_or_default())
            .expect("granted scopes");
        let fields = profile_fields(&scopes).join(",");
        let access_token = grant["access_token"].as_str().expect("access_token");
        self.user_info(access_token, &fields).await;
        grant
    }
}

/// Alice's (or Bob's) stored access token and the user-info fields her scopes allow.
async fn stored_token(stack: &Stack, app_user: &str, open_id: &str) -> (String, String) {
    let account = stack.account(app_user, open_id).await.expect("connected");
    let tokens = stack.tokens_of(&account).await;
    (
        tokens.access_token.secret().to_owned(),
        profile_fields(&account.scopes).join(","),
    )
}

/// Consumes the OAuth state named in `url` (untimed), so the table keeps the same few items all
/// along: moto scans the whole table for a Query and deep-copies it for every item of a
/// TransactWriteItems, so leftover states would slow those down run after run (DynamoDB does not).
async fn drop_state(stack: &Stack, url: &Url) {
    let state = param(url, "state").expect("state");
    stack
        .callback
        .states
        .take(&StateKey::from_state(&state), stack.clock.now())
        .await
        .expect("state store");
}

// ---------------------------------------------------------------------------------------------
// Bare moto round trips, through the same SDK clients the functions use, on items shaped like
// theirs: a copy of Alice's account record (read), scratch items (written).

type Item = HashMap<String, AttributeValue>;

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([
        (TABLE_HASH_KEY.to_owned(), s(pk)),
        (TABLE_RANGE_KEY.to_owned(), s(sk)),
    ])
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Where the replay writes.
const SCRATCH_PK: &str = "BENCH#scratch";

fn state_like() -> Item {
    let mut item = key(SCRATCH_PK, "state");
    item.extend([
        ("app_user".to_owned(), s(USER)),
        ("scopes".to_owned(), s(integration_tests::stack::ALL_SCOPES)),
        (
            "return_to".to_owned(),
            s(integration_tests::stack::APP_RETURN_URL),
        ),
        ("expires_at".to_owned(), n(1_900_000_000)),
        ("ttl".to_owned(), n(1_900_003_600)),
    ]);
    item
}

/// The shape of the account write of a connection.
fn account_like_update(table: &str, sealed: AttributeValue) -> Update {
    Update::builder()
        .table_name(table)
        .set_key(Some(key(SCRATCH_PK, "account")))
        .update_expression(
            "SET app_user = :app_user, open_id = :open_id, scopes = :scopes, #status = :status, \
             sealed_tokens = :sealed, access_token_expires_at = :at, refresh_token_expires_at = :rt, \
             connected_at = :connected_at, token_version = if_not_exists(token_version, :zero) + :one, \
             union_id = :union_id, display_name = :display_name, avatar_url = :avatar_url, \
             username = :username REMOVE refresh_lease_until, refresh_lease_id",
        )
        .expression_attribute_names("#status", "status")
        .set_expression_attribute_values(Some(HashMap::from([
            (":app_user".to_owned(), s(PROBE_USER)),
            (":open_id".to_owned(), s(ALICE)),
            (":scopes".to_owned(), s(integration_tests::stack::ALL_SCOPES)),
            (":status".to_owned(), s("active")),
            (":sealed".to_owned(), sealed),
            (":at".to_owned(), n(1_900_000_000)),
            (":rt".to_owned(), n(1_930_000_000)),
            (":connected_at".to_owned(), n(1_800_000_000)),
            (":zero".to_owned(), n(0)),
            (":one".to_owned(), n(1)),
            (":union_id".to_owned(), s("union-alice")),
            (":display_name".to_owned(), s("Alice")),
            (":avatar_url".to_owned(), s("https://example.com/a.png")),
            (":username".to_owned(), s("alice")),
        ])))
        .build()
        .expect("update")
}

struct MotoProbe {
    ddb: aws_sdk_dynamodb::Client,
    kms: aws_sdk_kms::Client,
    table: String,
    key_id: String,
    account_key: Item,
    context: HashMap<String, String>,
    ciphertext: Vec<u8>,
}

impl MotoProbe {
    /// Copies Alice's record (connected by `USER`) under `PROBE_USER` and seals a token-sized
    /// plaintext under a token-style encryption context.
    async fn new(stack: &Stack) -> Self {
        let ddb = stack.aws.dynamodb.clone();
        let kms = stack.aws.kms.clone();
        let table = stack.config.table_name.clone();
        let key_id = stack.config.kms_key_id.clone();
        // The store's key layout (crate-private in `shared`, so spelled out here).
        let sk = format!("TIKTOK#{ALICE}");
        let mut alice = ddb
            .get_item()
            .table_name(&table)
            .set_key(Some(key(&format!("USER#{USER}"), &sk)))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem")
            .item
            .expect("Alice is connected");
        let account_key = key(&format!("USER#{PROBE_USER}"), &sk);
        alice.extend(account_key.clone());
        ddb.put_item()
            .table_name(&table)
            .set_item(Some(alice))
            .send()
            .await
            .expect("PutItem");
        let context = HashMap::from([
            ("purpose".to_owned(), "tiktok-tokens".to_owned()),
            ("app_user".to_owned(), PROBE_USER.to_owned()),
            ("open_id".to_owned(), ALICE.to_owned()),
        ]);
        let (access, refresh) = {
            let account = stack.account(USER, ALICE).await.expect("alice");
            let tokens = stack.tokens_of(&account).await;
            (
                tokens.access_token.secret().len(),
                tokens.refresh_token.secret().len(),
            )
        };
        let plaintext = vec![b'x'; access + refresh + 40];
        let ciphertext = kms
            .encrypt()
            .key_id(&key_id)
            .plaintext(aws_sdk_kms::primitives::Blob::new(plaintext))
            .set_encryption_context(Some(context.clone()))
            .send()
            .await
            .expect("Encrypt")
            .ciphertext_blob
            .expect("ciphertext")
            .into_inner();
        Self {
            ddb,
            kms,
            table,
            key_id,
            account_key,
            context,
            ciphertext,
        }
    }

    /// One bare `operation`, the `nth` of its kind in a request of that `flavor`; `false` if the
    /// probe cannot make it.
    async fn once(&self, operation: &str, nth: u32, flavor: Flavor) -> bool {
        let (ddb, table) = (&self.ddb, self.table.as_str());
        let sealed = AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
            self.ciphertext.clone(),
        ));
        match operation {
            "DynamoDB.GetItem" => {
                let out = ddb
                    .get_item()
                    .table_name(table)
                    .set_key(Some(self.account_key.clone()))
                    .consistent_read(true)
                    .send()
                    .await
                    .expect("GetItem");
                assert!(out.item.is_some(), "the probe's copy of Alice exists");
            }
            "DynamoDB.Query" => {
                let out = ddb
                    .query()
                    .table_name(table)
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":pk", s(&format!("USER#{PROBE_USER}")))
                    .expression_attribute_values(":prefix", s("TIKTOK#"))
                    .consistent_read(true)
                    .send()
                    .await
                    .expect("Query");
                assert_eq!(out.count, 1);
            }
            // Like an OAuth state's conditional put.
            "DynamoDB.PutItem" => {
                ddb.put_item()
                    .table_name(table)
                    .set_item(Some(state_like()))
                    .condition_expression("attribute_not_exists(never_set)")
                    .send()
                    .await
                    .expect("PutItem");
            }
            // Like taking the refresh lease.
            "DynamoDB.UpdateItem" if flavor == Flavor::Refresh && nth == 0 => {
                ddb.update_item()
                    .table_name(table)
                    .set_key(Some(key(SCRATCH_PK, "lease")))
                    .condition_expression(
                        "attribute_not_exists(token_version) OR token_version >= :zero \
                         OR refresh_lease_until <= :now",
                    )
                    .update_expression(
                        "SET refresh_lease_until = :until, refresh_lease_id = :lease",
                    )
                    .expression_attribute_values(":zero", n(0))
                    .expression_attribute_values(":now", n(1_800_000_000))
                    .expression_attribute_values(":until", n(1_800_000_020))
                    .expression_attribute_values(":lease", s("0123456789abcdef0123456789abcdef"))
                    .send()
                    .await
                    .expect("UpdateItem");
            }
            // Like a token write: conditional, five attributes set, two removed.
            "DynamoDB.UpdateItem" => {
                ddb.update_item()
                    .table_name(table)
                    .set_key(Some(key(SCRATCH_PK, "update")))
                    .condition_expression(
                        "attribute_not_exists(token_version) OR token_version >= :zero",
                    )
                    .update_expression(
                        "SET sealed_tokens = :sealed, access_token_expires_at = :at, \
                         refresh_token_expires_at = :rt, #status = :active, \
                         token_version = if_not_exists(token_version, :zero) + :one \
                         REMOVE refresh_lease_until, refresh_lease_id",
                    )
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":sealed", sealed)
                    .expression_attribute_values(":at", n(1_900_000_000))
                    .expression_attribute_values(":rt", n(1_930_000_000))
                    .expression_attribute_values(":active", s("active"))
                    .expression_attribute_values(":zero", n(0))
                    .expression_attribute_values(":one", n(1))
                    .send()
                    .await
                    .expect("UpdateItem");
            }
            // Like taking an OAuth state: conditional, returning the old item.
            "DynamoDB.DeleteItem" => {
                ddb.delete_item()
                    .table_name(table)
                    .set_key(Some(key(SCRATCH_PK, "delete")))
                    .condition_expression("attribute_not_exists(pk) OR expires_at > :now")
                    .expression_attribute_values(":now", n(0))
                    .return_values(ReturnValue::AllOld)
                    .send()
                    .await
                    .expect("DeleteItem");
            }
            // Like a disconnection: the account delete and the conditional ownership delete.
            "DynamoDB.TransactWriteItems" if flavor == Flavor::Disconnect => {
                let account = Delete::builder()
                    .table_name(table)
                    .set_key(Some(key(SCRATCH_PK, "gone-account")))
                    .build()
                    .expect("delete");
                let owner = Delete::builder()
                    .table_name(table)
                    .set_key(Some(key(SCRATCH_PK, "gone-owner")))
                    .condition_expression("attribute_not_exists(pk) OR app_user = :me")
                    .expression_attribute_values(":me", s(PROBE_USER))
                    .build()
                    .expect("delete");
                ddb.transact_write_items()
                    .transact_items(TransactWriteItem::builder().delete(account).build())
                    .transact_items(TransactWriteItem::builder().delete(owner).build())
                    .send()
                    .await
                    .expect("TransactWriteItems");
            }
            // Like a connection: the account update and the conditional ownership put.
            "DynamoDB.TransactWriteItems" => {
                let owner = Put::builder()
                    .table_name(table)
                    .set_item(Some(key(SCRATCH_PK, "owner")))
                    .item("app_user", s(PROBE_USER))
                    .condition_expression("attribute_not_exists(pk) OR app_user = :me")
                    .expression_attribute_values(":me", s(PROBE_USER))
                    .build()
                    .expect("put");
                ddb.transact_write_items()
                    .transact_items(
                        TransactWriteItem::builder()
                            .update(account_like_update(table, sealed))
                            .build(),
                    )
                    .transact_items(TransactWriteItem::builder().put(owner).build())
                    .send()
                    .await
                    .expect("TransactWriteItems");
            }
            "KMS.GenerateDataKey" => {
                self.kms
                    .generate_data_key()
                    .key_id(&self.key_id)
                    .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
                    .set_encryption_context(Some(self.context.clone()))
                    .send()
                    .await
                    .expect("GenerateDataKey");
            }
            "KMS.Decrypt" => {
                self.kms
                    .decrypt()
                    .key_id(&self.key_id)
                    .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(self.ciphertext.clone()))
                    .set_encryption_context(Some(self.context.clone()))
                    .send()
                    .await
                    .expect("Decrypt");
            }
            _ => return false,
        }
        true
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios: each interleaves handler requests, moto replays and direct TikTok calls.

struct Bench<'a> {
    stack: &'a Stack,
    direct: Direct,
    probe: MotoProbe,
    n: usize,
}

impl Bench<'_> {
    fn rounds(&self) -> std::ops::Range<usize> {
        0..self.n + WARMUP
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.stack.jwt(USER))
    }

    /// Times one handler request, then replays its AWS calls bare.
    async fn handler<F>(&self, row: &mut Row, i: usize, request: F) -> (Response<Body>, Calls)
    where
        F: Future<Output = Result<Response<Body>, lambda_http::Error>>,
    {
        let (response, elapsed, calls) = timed(self.stack, request).await;
        let response = response.expect("handlers answer every request");

        let mut untimed = BTreeSet::new();
        let replay = async {
            for (operation, n) in &calls.aws {
                for nth in 0..*n {
                    if !self.probe.once(operation, nth, row.flavor).await {
                        untimed.insert(operation.clone());
                        break;
                    }
                }
            }
        };
        let ((), replay_elapsed, replayed) = timed(self.stack, replay).await;
        let mut expected = calls.aws.clone();
        expected.retain(|operation, _| !untimed.contains(operation));
        assert_eq!(
            replayed.aws, expected,
            "the replay makes the same AWS calls"
        );
        row.moto.record(i, replay_elapsed, replayed);
        row.untimed.extend(untimed);
        row.handler.record(i, elapsed, calls.clone());
        (response, calls)
    }

    /// Times the direct TikTok calls of one request.
    async fn direct<F: Future>(&self, row: &mut Row, i: usize, work: F) -> F::Output {
        let (output, elapsed, calls) = timed(self.stack, work).await;
        row.direct.record(i, elapsed, calls);
        output
    }

    async fn authorize(&self) -> Row {
        let mut row = Row::new("authorize", "GET /tiktok/authorize", None);
        let bearer = self.bearer();
        for i in self.rounds() {
            let event = app_event("GET", "/tiktok/authorize", "", &bearer);
            let (response, _) = self
                .handler(&mut row, i, authorize::handle(&self.stack.authorize, event))
                .await;
            expect_status("authorize", &response, 200);
            let body: Value = match response.body() {
                Body::Text(text) => serde_json::from_str(text).expect("JSON"),
                other => panic!("authorize answered {other:?}"),
            };
            let url =
                Url::parse(body["authorize_url"].as_str().expect("authorize_url")).expect("URL");
            drop_state(self.stack, &url).await;
        }
        row
    }

    async fn callback(&self) -> Row {
        let (stack, direct) = (self.stack, &self.direct);
        let mut row = Row::new(
            "callback",
            "GET /tiktok/callback (grant kept pending)",
            Some("token (code) + user info"),
        )
        .flavor(Flavor::Connect);
        for i in self.rounds() {
            // Untimed: authorize and TikTok's consent page, as the browser would.
            let redirect = Url::parse(&stack.approved_redirect(USER, ALICE).await).expect("URL");
            let event = api_event(
                "GET",
                "/tiktok/callback",
                redirect.query().unwrap_or_default(),
                &[],
            );
            let (response, _) = self
                .handler(&mut row, i, callback::handle(&stack.callback, event))
                .await;
            let location = Stack::app_location(&response);
            assert_eq!(
                param(&location, "tiktok").as_deref(),
                Some("pending"),
                "{location}"
            );

            let redirect = Url::parse(&stack.approved_redirect(USER, ALICE).await).expect("URL");
            let code = param(&redirect, "code").expect("code");
            drop_state(stack, &redirect).await;
            let work = async {
                direct
                    .grant_then_user_info(direct.exchange_code(&code).await)
                    .await
            };
            self.direct(&mut row, i, work).await;
        }
        row
    }

    async fn user_info(&self, query: &str) -> Row {
        let stack = self.stack;
        let request = if query.is_empty() {
            "GET /tiktok/me".to_owned()
        } else {
            format!("GET /tiktok/me?{query}")
        };
        let mut row = Row::new("user-info", request, Some("user info"));
        stack.connect_account(USER, ALICE, None).await;
        let (access_token, fields) = stored_token(stack, USER, ALICE).await;
        let bearer = self.bearer();
        for i in self.rounds() {
            let event = app_event("GET", "/tiktok/me", query, &bearer);
            let (response, _) = self
                .handler(&mut row, i, user_info::handle(&stack.api, event))
                .await;
            expect_status("user-info", &response, 200);
            self.direct(&mut row, i, self.direct.user_info(&access_token, &fields))
                .await;
        }
        row
    }

    async fn video_list(&self) -> Row {
        let stack = self.stack;
        let mut row = Row::new(
            "video-list",
            "GET /tiktok/videos?max_count=10",
            Some("video list"),
        );
        stack.connect_account(USER, ALICE, None).await;
        let (access_token, _) = stored_token(stack, USER, ALICE).await;
        let bearer = self.bearer();
        for i in self.rounds() {
            let event = app_event("GET", "/tiktok/videos", "max_count=10", &bearer);
            let (response, _) = self
                .handler(&mut row, i, video_list::handle(&stack.api, event))
                .await;
            expect_status("video-list", &response, 200);
            self.direct(&mut row, i, self.direct.video_list(&access_token, 10))
                .await;
        }
        row
    }

    async fn accounts_list(&self) -> Row {
        let stack = self.stack;
        let mut row = Row::new("accounts", "GET /tiktok/accounts", None);
        stack.connect_account(USER, ALICE, None).await;
        let bearer = self.bearer();
        for i in self.rounds() {
            let event = app_event("GET", "/tiktok/accounts", "", &bearer);
            let (response, _) = self
                .handler(&mut row, i, accounts::handle(&stack.accounts_api, event))
                .await;
            expect_status("accounts list", &response, 200);
        }
        row
    }

    async fn refresh(&self) -> Row {
        let (stack, direct) = (self.stack, &self.direct);
        let mut row = Row::new(
            "user-info",
            "GET /tiktok/me, access token due (refresh)",
            Some("token (refresh) + user info"),
        )
        .flavor(Flavor::Refresh);
        stack.connect_account(USER, ALICE, None).await;
        // The direct chain rotates Bob's refresh token under another app user; Alice's stays
        // intact for the function.
        stack.connect_account(DIRECT_USER, BOB, None).await;
        let bob = stack.account(DIRECT_USER, BOB).await.expect("bob");
        let mut refresh_token = stack
            .tokens_of(&bob)
            .await
            .refresh_token
            .secret()
            .to_owned();
        let bearer = self.bearer();
        for i in self.rounds() {
            // Untimed: move the functions' clock just past the stored access token's expiry.
            let account = stack.account(USER, ALICE).await.expect("alice");
            let ahead = account.access_token_expires_at - stack.clock.now() + 1;
            if ahead > 0 {
                stack.clock.advance(ahead);
            }
            let event = app_event("GET", "/tiktok/me", "", &bearer);
            let (response, calls) = self
                .handler(&mut row, i, user_info::handle(&stack.api, event))
                .await;
            expect_status("user-info (refresh)", &response, 200);
            assert_eq!(
                calls.tiktok.get("token"),
                Some(&1),
                "the access token was due: one refresh"
            );

            let work = async {
                direct
                    .grant_then_user_info(direct.refresh(&refresh_token).await)
                    .await
            };
            let grant = self.direct(&mut row, i, work).await;
            refresh_token = grant["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned();
        }
        row
    }

    async fn delete(&self) -> Row {
        let stack = self.stack;
        let path = format!("/tiktok/accounts/{ALICE}");
        let mut row = Row::new("accounts", format!("DELETE {path}"), Some("revoke"))
            .flavor(Flavor::Disconnect);
        let bearer = self.bearer();
        for i in self.rounds() {
            stack.connect_account(USER, ALICE, None).await;
            let event = app_event("DELETE", &path, "", &bearer);
            let (response, _) = self
                .handler(&mut row, i, accounts::handle(&stack.accounts_api, event))
                .await;
            expect_status("accounts delete", &response, 204);

            stack.connect_account(USER, ALICE, None).await;
            let (access_token, _) = stored_token(stack, USER, ALICE).await;
            self.direct(&mut row, i, self.direct.revoke(&access_token))
                .await;
        }
        row
    }

    /// Each bare operation on its own, round-robin.
    async fn bare_operations(&self) -> BTreeMap<&'static str, Series> {
        let mut out: BTreeMap<&'static str, Series> = BTreeMap::new();
        for i in self.rounds() {
            for (label, operation, nth, flavor) in BARE {
                let (known, elapsed, calls) =
                    timed(self.stack, self.probe.once(operation, nth, flavor)).await;
                assert!(known);
                out.entry(label).or_default().record(i, elapsed, calls);
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Report

fn ms(v: f64) -> String {
    format!("{v:.2}")
}

fn print_report(rows: &[Row], bare: &BTreeMap<&'static str, Series>, n: usize) {
    println!("## Calls per warm request\n");
    println!(
        "| function | request | AWS calls / request | TikTok calls / request | direct baseline (TikTok calls) |"
    );
    println!("|---|---|---|---|---|");
    for row in rows {
        let baseline = match row.direct_what {
            Some(what) => format!("{what}: {}", row.direct.describe(|c| list(&c.tiktok))),
            None => "—".to_owned(),
        };
        println!(
            "| {} | `{}` | {} | {} | {} |",
            row.function,
            row.request,
            row.handler.describe(|c| list(&c.aws)),
            row.handler.describe(|c| list(&c.tiktok)),
            baseline
        );
    }

    println!(
        "\n## Warm latency, ms ({n} requests per row after {WARMUP} warm-up; handler, moto replay and direct TikTok calls interleaved)\n"
    );
    println!(
        "| function | request | function p50 | function p95 | TikTok direct p50 | TikTok direct p95 | added p50 | added p95 | ratio p50 | ratio p95 | moto replay p50 | moto replay p95 | added p50 − moto p50 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let (f50, f95) = (row.handler.p50(), row.handler.p95());
        let has_direct = row.direct_what.is_some();
        let (d50, d95) = if has_direct {
            (row.direct.p50(), row.direct.p95())
        } else {
            (0.0, 0.0)
        };
        let (m50, m95) = if row.moto.samples.is_empty() {
            (0.0, 0.0)
        } else {
            (row.moto.p50(), row.moto.p95())
        };
        let untimed = if row.untimed.is_empty() {
            String::new()
        } else {
            format!(
                " (without {})",
                row.untimed.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        };
        let dash = || "—".to_owned();
        println!(
            "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {}{untimed} | {} | {} |",
            row.function,
            row.request,
            ms(f50),
            ms(f95),
            if has_direct { ms(d50) } else { dash() },
            if has_direct { ms(d95) } else { dash() },
            ms(f50 - d50),
            ms(f95 - d95),
            if has_direct {
                format!("{:.1}×", f50 / d50)
            } else {
                dash()
            },
            if has_direct {
                format!("{:.1}×", f95 / d95)
            } else {
                dash()
            },
            ms(m50),
            ms(m95),
            ms(f50 - d50 - m50),
        );
    }

    println!("\n## Bare moto round trips, ms ({n} each, round-robin after {WARMUP} warm-up)\n");
    println!("| operation | p50 | p95 |");
    println!("|---|---|---|");
    for (operation, series) in bare {
        println!(
            "| {operation} | {} | {} |",
            ms(series.p50()),
            ms(series.p95())
        );
    }
    println!(
        "\nadded = function − TikTok direct, ratio = function / TikTok direct (both per percentile). \
         moto replay = the request's AWS calls made again, bare and one after the other, right after \
         it, on items and with expressions shaped like the functions' own; added − moto is roughly what the function itself \
         costs (JWT check, JSON, SDK signing, its HTTP clients)."
    );
}

#[tokio::main]
async fn main() {
    // Production's log level (info, JSON), written nowhere: the harness would otherwise capture
    // every line at TRACE in memory. Installed first, so the harness's own set-up keeps this one.
    connect_runtime::telemetry::init_with_writer(std::io::sink, true, "info");
    let n = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_ITERATIONS);

    let stack = Stack::start(StackOptions::default()).await;
    stack.connect_account(USER, ALICE, None).await;
    let bench = Bench {
        stack: &stack,
        direct: Direct::new(&stack),
        probe: MotoProbe::new(&stack).await,
        n,
    };
    let started = Instant::now();
    let rows = vec![
        bench.authorize().await,
        bench.callback().await,
        bench.user_info("").await,
        bench.user_info(&format!("open_id={ALICE}")).await,
        bench.video_list().await,
        bench.accounts_list().await,
        bench.refresh().await,
        bench.delete().await,
    ];
    let bare = bench.bare_operations().await;
    let items = stack.table_dump().await.len();

    print_report(&rows, &bare, n);
    println!(
        "\n{} CPUs, {} build, moto at {} ({items} items in the table at the end), fake TikTok in-process; took {:.0} s.",
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "optimized"
        },
        integration_tests::moto::endpoint(),
        started.elapsed().as_secs_f64()
    );
}
