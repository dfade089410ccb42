#![allow(clippy::print_stdout)]
//! Warm-request cost of every HTTP function: the AWS and TikTok calls each request makes (exact
//! counts), and the latency the function adds on top of TikTok's own answers.
//!
//! Each function's handler runs against moto and the fake TikTok, wired exactly as in production
//! (the harness's `Stack`). Every handler request is paired with the same TikTok calls made directly
//! with a plain reqwest client; the two are interleaved so drift hits both alike. Bare moto round
//! trips are timed the same way, to show how much of the added time is the AWS emulator. Prints
//! markdown tables to stdout.
//!
//! ```sh
//! make bench    # or: cargo bench -p integration-tests --bench latency
//! BENCH_ITERATIONS=50 make bench    # fewer measured requests per row (default 200, after 20 warm-up)
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use fake_tiktok::{Endpoint, FakeTikTok};
use integration_tests::flow::{ALICE, BOB, api_event, param};
use integration_tests::stack::REDIRECT_URI;
use integration_tests::{Stack, StackOptions};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::clock::Clock as _;
use shared::scope::ScopeSet;
use shared::store::{TABLE_HASH_KEY, TABLE_RANGE_KEY};
use shared::tiktok::profile_fields;
use url::Url;

const WARMUP: usize = 20;
const DEFAULT_ITERATIONS: usize = 200;
/// The app user whose account the functions serve.
const USER: &str = "bench-user";
/// Another app user, holding Bob, for the direct refresh chain (rotation would otherwise kill the
/// refresh token the functions rely on).
const DIRECT_USER: &str = "bench-direct";
/// What `video-list` asks TikTok for (a private constant of the TikTok adapter, copied).
const VIDEO_FIELDS: &str = "id,title,video_description,create_time,cover_image_url,share_url,embed_link,duration,width,height,like_count,comment_count,share_count,view_count";

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

    /// The call pattern of most requests (all of them when the counts are exact).
    fn usual(&self) -> Calls {
        self.patterns
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(calls, _)| calls.clone())
            .unwrap_or_default()
    }

    fn describe(&self, part: impl Fn(&Calls) -> String) -> String {
        let total: usize = self.patterns.values().sum();
        if self.patterns.len() == 1 {
            return part(&self.usual());
        }
        self.patterns
            .iter()
            .map(|(calls, n)| format!("{} ({n}/{total})", part(calls)))
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

/// One table row: a function's handler, and the same TikTok calls made directly.
struct Row {
    function: &'static str,
    request: String,
    handler: Series,
    /// What the direct baseline does, and its timings; `None` when the function calls no TikTok.
    direct: Option<(&'static str, Series)>,
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

fn answered(result: Result<Response<Body>, lambda_http::Error>) -> Response<Body> {
    result.expect("handlers answer every request")
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

// ---------------------------------------------------------------------------------------------
// Scenarios: each interleaves handler requests and direct TikTok calls.

async fn bench_authorize(stack: &Stack, n: usize) -> Row {
    let bearer = format!("Bearer {}", stack.jwt(USER));
    let mut handler = Series::default();
    for i in 0..n + WARMUP {
        let event = app_event("GET", "/tiktok/authorize", "", &bearer);
        let (response, elapsed, calls) =
            timed(stack, authorize::handle(&stack.authorize, event)).await;
        expect_status("authorize", &answered(response), 200);
        handler.record(i, elapsed, calls);
    }
    Row {
        function: "authorize",
        request: "GET /tiktok/authorize".into(),
        handler,
        direct: None,
    }
}

async fn bench_callback(stack: &Stack, direct: &Direct, n: usize) -> Row {
    let (mut handler, mut baseline) = (Series::default(), Series::default());
    for i in 0..n + WARMUP {
        // Untimed: authorize and TikTok's consent page, as the browser would.
        let redirect = Url::parse(&stack.approved_redirect(USER, ALICE).await).expect("URL");
        let event = api_event(
            "GET",
            "/tiktok/callback",
            redirect.query().unwrap_or_default(),
            &[],
        );
        let (response, elapsed, calls) =
            timed(stack, callback::handle(&stack.callback, event)).await;
        let response = answered(response);
        let location = Stack::app_location(&response);
        assert_eq!(
            param(&location, "tiktok").as_deref(),
            Some("connected"),
            "{location}"
        );
        handler.record(i, elapsed, calls);

        let redirect = Url::parse(&stack.approved_redirect(USER, ALICE).await).expect("URL");
        let code = param(&redirect, "code").expect("code");
        let work = async {
            direct
                .grant_then_user_info(direct.exchange_code(&code).await)
                .await
        };
        let (_, elapsed, calls) = timed(stack, work).await;
        baseline.record(i, elapsed, calls);
    }
    Row {
        function: "callback",
        request: "GET /tiktok/callback (reconnect)".into(),
        handler,
        direct: Some(("token (code) + user info", baseline)),
    }
}

async fn bench_user_info(stack: &Stack, direct: &Direct, n: usize, query: &str) -> Row {
    stack.connect_account(USER, ALICE, None).await;
    let (access_token, fields) = stored_token(stack, USER, ALICE).await;
    let bearer = format!("Bearer {}", stack.jwt(USER));
    let (mut handler, mut baseline) = (Series::default(), Series::default());
    for i in 0..n + WARMUP {
        let event = app_event("GET", "/tiktok/me", query, &bearer);
        let (response, elapsed, calls) = timed(stack, user_info::handle(&stack.api, event)).await;
        expect_status("user-info", &answered(response), 200);
        handler.record(i, elapsed, calls);

        let (_, elapsed, calls) = timed(stack, direct.user_info(&access_token, &fields)).await;
        baseline.record(i, elapsed, calls);
    }
    Row {
        function: "user-info",
        request: if query.is_empty() {
            "GET /tiktok/me".into()
        } else {
            format!("GET /tiktok/me?{query}")
        },
        handler,
        direct: Some(("user info", baseline)),
    }
}

async fn bench_video_list(stack: &Stack, direct: &Direct, n: usize) -> Row {
    stack.connect_account(USER, ALICE, None).await;
    let (access_token, _) = stored_token(stack, USER, ALICE).await;
    let bearer = format!("Bearer {}", stack.jwt(USER));
    let (mut handler, mut baseline) = (Series::default(), Series::default());
    for i in 0..n + WARMUP {
        let event = app_event("GET", "/tiktok/videos", "max_count=10", &bearer);
        let (response, elapsed, calls) = timed(stack, video_list::handle(&stack.api, event)).await;
        expect_status("video-list", &answered(response), 200);
        handler.record(i, elapsed, calls);

        let (_, elapsed, calls) = timed(stack, direct.video_list(&access_token, 10)).await;
        baseline.record(i, elapsed, calls);
    }
    Row {
        function: "video-list",
        request: "GET /tiktok/videos?max_count=10".into(),
        handler,
        direct: Some(("video list", baseline)),
    }
}

async fn bench_accounts_list(stack: &Stack, n: usize) -> Row {
    stack.connect_account(USER, ALICE, None).await;
    let bearer = format!("Bearer {}", stack.jwt(USER));
    let mut handler = Series::default();
    for i in 0..n + WARMUP {
        let event = app_event("GET", "/tiktok/accounts", "", &bearer);
        let (response, elapsed, calls) = timed(stack, accounts::handle(&stack.api, event)).await;
        expect_status("accounts list", &answered(response), 200);
        handler.record(i, elapsed, calls);
    }
    Row {
        function: "accounts",
        request: "GET /tiktok/accounts".into(),
        handler,
        direct: None,
    }
}

async fn bench_refresh(stack: &Stack, direct: &Direct, n: usize) -> Row {
    stack.connect_account(USER, ALICE, None).await;
    // The direct chain rotates Bob's refresh token under another app user; Alice's stays intact.
    stack.connect_account(DIRECT_USER, BOB, None).await;
    let bob = stack.account(DIRECT_USER, BOB).await.expect("bob");
    let mut refresh_token = stack
        .tokens_of(&bob)
        .await
        .refresh_token
        .secret()
        .to_owned();
    let bearer = format!("Bearer {}", stack.jwt(USER));
    let (mut handler, mut baseline) = (Series::default(), Series::default());
    for i in 0..n + WARMUP {
        // Untimed: move the functions' clock just past the stored access token's expiry.
        let account = stack.account(USER, ALICE).await.expect("alice");
        let ahead = account.access_token_expires_at - stack.clock.now() + 1;
        if ahead > 0 {
            stack.clock.advance(ahead);
        }
        let event = app_event("GET", "/tiktok/me", "", &bearer);
        let (response, elapsed, calls) = timed(stack, user_info::handle(&stack.api, event)).await;
        expect_status("user-info (refresh)", &answered(response), 200);
        assert_eq!(
            calls.tiktok.get("token"),
            Some(&1),
            "the access token was due: one refresh"
        );
        handler.record(i, elapsed, calls);

        let work = async {
            direct
                .grant_then_user_info(direct.refresh(&refresh_token).await)
                .await
        };
        let (grant, elapsed, calls) = timed(stack, work).await;
        refresh_token = grant["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned();
        baseline.record(i, elapsed, calls);
    }
    Row {
        function: "user-info",
        request: "GET /tiktok/me, access token due (refresh)".into(),
        handler,
        direct: Some(("token (refresh) + user info", baseline)),
    }
}

async fn bench_delete(stack: &Stack, direct: &Direct, n: usize) -> Row {
    let bearer = format!("Bearer {}", stack.jwt(USER));
    let path = format!("/tiktok/accounts/{ALICE}");
    let (mut handler, mut baseline) = (Series::default(), Series::default());
    for i in 0..n + WARMUP {
        stack.connect_account(USER, ALICE, None).await;
        let event = app_event("DELETE", &path, "", &bearer);
        let (response, elapsed, calls) = timed(stack, accounts::handle(&stack.api, event)).await;
        expect_status("accounts delete", &answered(response), 204);
        handler.record(i, elapsed, calls);

        stack.connect_account(USER, ALICE, None).await;
        let (access_token, _) = stored_token(stack, USER, ALICE).await;
        let (_, elapsed, calls) = timed(stack, direct.revoke(&access_token)).await;
        baseline.record(i, elapsed, calls);
    }
    Row {
        function: "accounts",
        request: format!("DELETE {path}"),
        handler,
        direct: Some(("revoke", baseline)),
    }
}

// ---------------------------------------------------------------------------------------------
// Bare moto round trips, through the same SDK clients the functions use.

async fn bench_moto(stack: &Stack, n: usize) -> BTreeMap<String, Series> {
    stack.connect_account(USER, ALICE, None).await;
    let account = stack.account(USER, ALICE).await.expect("alice");
    let (ddb, kms) = (&stack.aws.dynamodb, &stack.aws.kms);
    let table = stack.config.table_name.as_str();
    let key_id = stack.config.kms_key_id.as_str();
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let key = |pk: &str, sk: &str| {
        std::collections::HashMap::from([
            (TABLE_HASH_KEY.to_owned(), s(pk)),
            (TABLE_RANGE_KEY.to_owned(), s(sk)),
        ])
    };
    // The store's key layout (crate-private in `shared`, so spelled out here).
    let account_key = key(&format!("USER#{USER}"), &format!("TIKTOK#{ALICE}"));
    let context = std::collections::HashMap::from([
        ("purpose".to_owned(), "tiktok-tokens".to_owned()),
        ("app_user".to_owned(), USER.to_owned()),
        ("open_id".to_owned(), ALICE.to_owned()),
    ]);
    let plaintext = vec![b'x'; 160];
    let scratch = |sk: &str| {
        let mut item = key("BENCH#scratch", sk);
        item.insert("v".to_owned(), AttributeValue::N("1".to_owned()));
        item
    };
    let put = |sk: &str| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(scratch(sk)))
                    .build()
                    .expect("put"),
            )
            .build()
    };

    let mut out: BTreeMap<String, Series> = BTreeMap::new();
    for i in 0..n + WARMUP {
        let get = ddb
            .get_item()
            .table_name(table)
            .set_key(Some(account_key.clone()))
            .consistent_read(true)
            .send();
        let (r, t, c) = timed(stack, get).await;
        assert!(r.expect("GetItem").item.is_some(), "GetItem finds Alice");
        out.entry("DynamoDB.GetItem".into())
            .or_default()
            .record(i, t, c);

        let query = ddb
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(&format!("USER#{USER}")))
            .expression_attribute_values(":prefix", s("TIKTOK#"))
            .consistent_read(true)
            .send();
        let (r, t, c) = timed(stack, query).await;
        assert_eq!(r.expect("Query").count, 1);
        out.entry("DynamoDB.Query".into())
            .or_default()
            .record(i, t, c);

        let put_item = ddb
            .put_item()
            .table_name(table)
            .set_item(Some(scratch("A")))
            .send();
        let (r, t, c) = timed(stack, put_item).await;
        r.expect("PutItem");
        out.entry("DynamoDB.PutItem".into())
            .or_default()
            .record(i, t, c);

        let update = ddb
            .update_item()
            .table_name(table)
            .set_key(Some(key("BENCH#scratch", "A")))
            .condition_expression("attribute_exists(pk)")
            .update_expression("SET v = v + :one")
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .send();
        let (r, t, c) = timed(stack, update).await;
        r.expect("UpdateItem");
        out.entry("DynamoDB.UpdateItem".into())
            .or_default()
            .record(i, t, c);

        let delete = ddb
            .delete_item()
            .table_name(table)
            .set_key(Some(key("BENCH#scratch", "A")))
            .send();
        let (r, t, c) = timed(stack, delete).await;
        r.expect("DeleteItem");
        out.entry("DynamoDB.DeleteItem".into())
            .or_default()
            .record(i, t, c);

        let transaction = ddb
            .transact_write_items()
            .transact_items(put("B"))
            .transact_items(put("C"))
            .send();
        let (r, t, c) = timed(stack, transaction).await;
        r.expect("TransactWriteItems");
        out.entry("DynamoDB.TransactWriteItems".into())
            .or_default()
            .record(i, t, c);

        let encrypt = kms
            .encrypt()
            .key_id(key_id)
            .plaintext(aws_sdk_kms::primitives::Blob::new(plaintext.clone()))
            .set_encryption_context(Some(context.clone()))
            .send();
        let (r, t, c) = timed(stack, encrypt).await;
        r.expect("Encrypt");
        out.entry("KMS.Encrypt".into()).or_default().record(i, t, c);

        let decrypt = kms
            .decrypt()
            .key_id(key_id)
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(
                account.sealed_tokens.clone(),
            ))
            .set_encryption_context(Some(context.clone()))
            .send();
        let (r, t, c) = timed(stack, decrypt).await;
        r.expect("Decrypt");
        out.entry("KMS.Decrypt".into()).or_default().record(i, t, c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Report

fn ms(v: f64) -> String {
    format!("{v:.2}")
}

/// Σ calls × the bare p50 of each operation, and the operations that were not timed.
fn moto_estimate(calls: &Calls, moto: &BTreeMap<String, Series>) -> (f64, Vec<String>) {
    let mut total = 0.0;
    let mut unknown = Vec::new();
    for (op, n) in &calls.aws {
        match moto.get(op) {
            Some(series) => total += f64::from(*n) * series.p50(),
            None => unknown.push(op.clone()),
        }
    }
    (total, unknown)
}

fn print_report(rows: &[Row], moto: &BTreeMap<String, Series>, n: usize) {
    println!("## Calls per warm request\n");
    println!(
        "| function | request | AWS calls / request | TikTok calls / request | direct baseline (TikTok calls) |"
    );
    println!("|---|---|---|---|---|");
    for row in rows {
        let baseline = match &row.direct {
            Some((what, series)) => {
                format!("{what}: {}", series.describe(|c| list(&c.tiktok)))
            }
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
        "\n## Warm latency, ms ({n} requests per row after {WARMUP} warm-up; handler and direct calls interleaved)\n"
    );
    println!(
        "| function | request | function p50 | function p95 | TikTok direct p50 | TikTok direct p95 | added p50 | added p95 | ratio p50 | ratio p95 | moto est. p50 | added p50 − moto |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let (f50, f95) = (row.handler.p50(), row.handler.p95());
        let (d50, d95) = row
            .direct
            .as_ref()
            .map_or((0.0, 0.0), |(_, s)| (s.p50(), s.p95()));
        let (moto_ms, unknown) = moto_estimate(&row.handler.usual(), moto);
        let moto_cell = if unknown.is_empty() {
            ms(moto_ms)
        } else {
            format!("{} + untimed {}", ms(moto_ms), unknown.join(", "))
        };
        let (direct50, direct95, ratio50, ratio95) = if row.direct.is_some() {
            (
                ms(d50),
                ms(d95),
                format!("{:.2}×", f50 / d50),
                format!("{:.2}×", f95 / d95),
            )
        } else {
            ("—".into(), "—".into(), "—".into(), "—".into())
        };
        println!(
            "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.function,
            row.request,
            ms(f50),
            ms(f95),
            direct50,
            direct95,
            ms(f50 - d50),
            ms(f95 - d95),
            ratio50,
            ratio95,
            moto_cell,
            ms(f50 - d50 - moto_ms),
        );
    }

    println!("\n## Bare moto round trips, ms (same SDK clients, {n} each)\n");
    println!("| operation | p50 | p95 |");
    println!("|---|---|---|");
    for (op, series) in moto {
        println!("| {op} | {} | {} |", ms(series.p50()), ms(series.p95()));
    }
    println!(
        "\nadded = function − TikTok direct (difference of the percentiles). moto est. = Σ AWS calls × \
         bare p50 of that operation (bare TransactWriteItems = 2 puts, Encrypt = 160 bytes). \
         ratio = function / TikTok direct."
    );
}

#[tokio::main]
async fn main() {
    // Production's log level (info, JSON), written nowhere: the harness would otherwise capture
    // every line at TRACE in memory. Installed first, so the harness's own set-up keeps this one.
    shared::telemetry::init_with_writer(std::io::sink, true, "info");
    let n = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_ITERATIONS);

    let stack = Stack::start(StackOptions::default()).await;
    let direct = Direct::new(&stack);
    let started = Instant::now();
    let mut rows = vec![
        bench_authorize(&stack, n).await,
        bench_callback(&stack, &direct, n).await,
    ];
    rows.push(bench_user_info(&stack, &direct, n, "").await);
    rows.push(bench_user_info(&stack, &direct, n, &format!("open_id={ALICE}")).await);
    rows.push(bench_video_list(&stack, &direct, n).await);
    rows.push(bench_accounts_list(&stack, n).await);
    rows.push(bench_refresh(&stack, &direct, n).await);
    rows.push(bench_delete(&stack, &direct, n).await);
    let moto = bench_moto(&stack, n).await;

    print_report(&rows, &moto, n);
    println!(
        "\n{} CPUs, {} build, moto at {}, fake TikTok in-process; took {:.0} s.",
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
