//! Attacks on the HTTP surface, sent through every function's own handler against moto and the
//! fake TikTok: forged app JWTs on every authenticated route, open-redirect attempts on
//! `return_to`, and hostile values (CRLF, NUL, invalid UTF-8, 64 KiB, …) in every query
//! parameter. Each must get a precise 4xx (or, on the public callback, a redirect to the app
//! only), change nothing in the table, call TikTok for nothing, and leak nothing: responses are
//! scanned by `Stack::send`, the table and the TRACE logs by `assert_nothing_leaked`.
//! SECURITY.md's table is checked against these catalogs at the end of this file.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fake_tiktok::Endpoint;
use integration_tests::api::answer;
use integration_tests::flow::{ALICE, header};
use integration_tests::stack::APP_RETURN_URL;
use integration_tests::{Stack, StackOptions};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

/// The routes that need the app JWT (README.md#api, docs/deploy.md#app-jwts), as (method, path).
const AUTHENTICATED: [(&str, &str); 10] = [
    ("GET", "/tiktok/authorize"),
    ("GET", "/tiktok/me"),
    ("GET", "/tiktok/videos"),
    ("GET", "/tiktok/accounts"),
    ("DELETE", "/tiktok/accounts/open-alice-0001"),
    (
        "POST",
        "/tiktok/connections/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/confirm",
    ),
    (
        "DELETE",
        "/tiktok/connections/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ),
    ("GET", "/tiktok/publish/creator-info"),
    ("POST", "/tiktok/publish"),
    ("GET", "/tiktok/publish/v_pub_url~v2.1"),
];

/// Every query parameter a route reads, as (method, path, parameter).
const PARAMETERS: [(&str, &str, &str); 13] = [
    ("GET", "/tiktok/authorize", "scopes"),
    ("GET", "/tiktok/authorize", "return_to"),
    ("GET", "/tiktok/me", "open_id"),
    ("GET", "/tiktok/videos", "open_id"),
    ("GET", "/tiktok/videos", "cursor"),
    ("GET", "/tiktok/videos", "max_count"),
    ("GET", "/tiktok/callback", "code"),
    ("GET", "/tiktok/callback", "state"),
    ("GET", "/tiktok/callback", "scopes"),
    ("GET", "/tiktok/callback", "error"),
    ("GET", "/tiktok/callback", "error_description"),
    ("GET", "/tiktok/publish/creator-info", "open_id"),
    ("GET", "/tiktok/publish/v_pub_url~v2.1", "cached"),
];

/// Bodies of `POST /tiktok/publish` that must be refused with a 400 before anything is stored or
/// TikTok is called: malformed JSON, wrong shapes and types, out-of-range numbers, hostile URLs.
fn hostile_publish_bodies() -> Vec<(&'static str, String)> {
    let url_post =
        |url: &str| format!(r#"{{"mode":"inbox","source":{{"type":"url","video_url":"{url}"}}}}"#);
    vec![
        ("empty", String::new()),
        ("not JSON", "mode=direct".into()),
        ("truncated", r#"{"mode":"direct","sou"#.into()),
        ("array", "[1,2]".into()),
        ("nesting bomb", format!("{}{}", "[".repeat(5000), "]".repeat(5000))),
        ("20 KiB", format!(r#"{{"mode":"inbox","pad":"{}"}}"#, "A".repeat(20 * 1024))),
        ("unknown field", r#"{"mode":"inbox","source":{"type":"url","video_url":"https://media.example.com/a"},"access_token":"x"}"#.into()),
        ("mode number", r#"{"mode":1}"#.into()),
        ("size negative", r#"{"mode":"inbox","source":{"type":"upload","video_size":-1}}"#.into()),
        ("size float", r#"{"mode":"inbox","source":{"type":"upload","video_size":1.5}}"#.into()),
        ("size 5 GiB", r#"{"mode":"inbox","source":{"type":"upload","video_size":5368709120}}"#.into()),
        ("size 2^64", r#"{"mode":"inbox","source":{"type":"upload","video_size":18446744073709551616}}"#.into()),
        ("file URL", url_post("file:///etc/passwd")),
        ("http URL", url_post("http://media.example.com/a.mp4")),
        ("IP URL", url_post("https://169.254.169.254/latest/meta-data")),
        ("credentials in URL", url_post("https://user:pw@media.example.com/a.mp4")),
        ("javascript URL", url_post("javascript:alert(1)")),
        ("CRLF in URL", url_post("https://media.example.com/a\r\nSet-Cookie: x")),
        ("privacy injection", r#"{"mode":"direct","source":{"type":"url","video_url":"https://media.example.com/a"},"post_info":{"privacy_level":"SELF_ONLY\u0000"}}"#.into()),
        ("open_id traversal", r#"{"open_id":"../../x y","mode":"inbox","source":{"type":"url","video_url":"https://media.example.com/a"}}"#.into()),
    ]
}

/// Hostile values, as they arrive in a raw query string (already percent-encoded once).
fn hostile_values() -> Vec<(&'static str, String)> {
    vec![
        (
            "CRLF header injection",
            "x%0D%0ASet-Cookie:%20pwned=1".into(),
        ),
        ("bare LF", "x%0Apwned".into()),
        ("NUL byte", "a%00b".into()),
        ("invalid UTF-8", "%FF%FE%FD".into()),
        ("overlong UTF-8 slash", "%C0%AF".into()),
        // 60 KiB: http::Uri refuses 64 KiB, and lambda_http then panics while building the
        // request (upstream; API Gateway's own 10 KB request-line limit stops it first).
        ("60 KiB value", "A".repeat(60 * 1024)),
        ("double percent-encoding", "%252e%252e%252f".into()),
        ("broken percent-encoding", "%G1%%zz%".into()),
        ("bidi override", "%E2%80%AEevil".into()),
        ("path traversal", "..%2F..%2Fetc%2Fpasswd".into()),
        ("JSON injection", "%22%7D%2C%22error%22%3A%22pwned".into()),
        (
            "HTML injection",
            "%3Cscript%3Ealert(1)%3C%2Fscript%3E".into(),
        ),
        ("SQL-ish", "1'%20OR%20'1'%3D'1".into()),
        (
            "DynamoDB key syntax",
            "ACCOUNT%23user-2%23open-bob-0002".into(),
        ),
        ("huge number", "99999999999999999999999999999999".into()),
        ("negative number", "-1".into()),
    ]
}

/// Return URLs an attacker would like the callback to send a victim's browser to. The allowed
/// ones are `APP_RETURN_URL`'s origin and `https://partner.example.net/tiktok-done` (exactly).
const OPEN_REDIRECTS: [&str; 30] = [
    "https://evil.com/",
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "https:evil.com",
    "https:/evil.com",
    "https://app.example.com.evil.com/settings",
    "https://app.example.com@evil.com/",
    "https://app.example.com:443@evil.com/",
    "https://app.example.com\\@evil.com",
    "https://app.example.com%40evil.com/",
    "https://app.example.com%2F%2Fevil.com",
    "https://app.example.com%2eevil.com/",
    "https://app.example.com\t.evil.com/",
    "https://app.example.com\u{3002}evil.com/",
    "https://evil.com#https://app.example.com/settings",
    "https://evil.com/?https://app.example.com/settings",
    "https://evil.com\\app.example.com",
    "http://app.example.com/settings",
    "https://app.example.com:8443/settings",
    "https://partner.example.net/tiktok-done/../../evil",
    "https://partner.example.net/other",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https%3A%2F%2Fevil.com",
    "ftp://app.example.com/settings",
];

fn now() -> i64 {
    connect_domain::clock::Clock::now(&connect_domain::clock::SystemClock)
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// `header.payload.signature` with the signature computed by `sign_as` over the given header.
fn token_with_header(
    header: Value,
    claims: Value,
    signing_key: &[u8],
    sign_as: Algorithm,
) -> String {
    let message = format!("{}.{}", b64(&header), b64(&claims));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(signing_key),
        sign_as,
    )
    .expect("sign");
    format!("{message}.{signature}")
}

fn hs256(claims: &Value, key: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
    .expect("sign")
}

/// Authorization headers that must not let anyone in, as (what, header value or none).
fn forged_authorizations(key: &[u8]) -> Vec<(&'static str, Option<String>)> {
    let valid = json!({"sub": "user-1", "exp": now() + 600});
    let bearer = |token: String| Some(format!("Bearer {token}"));
    let good = hs256(&valid, key);
    let (good_head, good_rest) = good.split_once('.').expect("jwt");
    let (good_payload, _) = good_rest.split_once('.').expect("jwt");
    let other = hs256(&json!({"sub": "user-2", "exp": now() + 600}), key);
    let other_signature = other.rsplit('.').next().expect("signature");
    let forged_payload = b64(&json!({"sub": "user-2", "exp": now() + 600}));
    vec![
        ("no Authorization header", None),
        ("empty bearer", Some("Bearer ".into())),
        ("another scheme", Some("Basic dXNlci0xOnBhc3N3b3Jk".into())),
        ("token without a scheme", Some(good.clone())),
        ("not a JWT", bearer("not.a.jwt".into())),
        (
            "alg none",
            bearer(format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&valid)
            )),
        ),
        (
            "alg NONE",
            bearer(format!(
                "{}.{}.",
                b64(&json!({"alg": "NONE", "typ": "JWT"})),
                b64(&valid)
            )),
        ),
        (
            "HS256 signed with another key",
            bearer(hs256(&valid, b"not-the-app-jwt-secret-at-all-00")),
        ),
        (
            "RS256 header, HMAC signature with the app secret (key confusion)",
            bearer(token_with_header(
                json!({"alg": "RS256", "typ": "JWT"}),
                valid.clone(),
                key,
                Algorithm::HS256,
            )),
        ),
        (
            "HS512 with the app secret (algorithm not allowed)",
            bearer(token_with_header(
                json!({"alg": "HS512", "typ": "JWT"}),
                valid.clone(),
                key,
                Algorithm::HS512,
            )),
        ),
        (
            "expired an hour ago (leeway is 60 s)",
            bearer(hs256(&json!({"sub": "user-1", "exp": now() - 3600}), key)),
        ),
        (
            "not valid for another hour (nbf)",
            bearer(hs256(
                &json!({"sub": "user-1", "exp": now() + 7200, "nbf": now() + 3600}),
                key,
            )),
        ),
        ("no exp", bearer(hs256(&json!({"sub": "user-1"}), key))),
        ("no sub", bearer(hs256(&json!({"exp": now() + 600}), key))),
        (
            "empty sub",
            bearer(hs256(&json!({"sub": "", "exp": now() + 600}), key)),
        ),
        (
            "sub of 257 characters",
            bearer(hs256(
                &json!({"sub": "u".repeat(257), "exp": now() + 600}),
                key,
            )),
        ),
        (
            "sub with a control character",
            bearer(hs256(&json!({"sub": "user-1\n", "exp": now() + 600}), key)),
        ),
        (
            "sub that is a number",
            bearer(hs256(&json!({"sub": 12345, "exp": now() + 600}), key)),
        ),
        (
            "signature removed",
            bearer(format!("{good_head}.{good_payload}.")),
        ),
        (
            "another token's signature",
            bearer(format!("{good_head}.{good_payload}.{other_signature}")),
        ),
        (
            "payload changed after signing",
            bearer(format!(
                "{good_head}.{forged_payload}.{}",
                good.rsplit('.').next().expect("signature")
            )),
        ),
        (
            "valid signature, 16 KiB token",
            bearer(hs256(
                &json!({"sub": "user-1", "exp": now() + 600, "pad": "p".repeat(16 * 1024)}),
                key,
            )),
        ),
        (
            "two tokens in one header",
            Some(format!("Bearer {good} Bearer {other}")),
        ),
    ]
}

/// What TikTok has been asked so far, on the endpoints a request could reach.
fn tiktok_calls(stack: &Stack) -> u32 {
    stack.fake.calls(Endpoint::Any)
}

async fn stack_with_an_account() -> Stack {
    let stack = Stack::start(StackOptions {
        allowed_return_urls: "https://partner.example.net/tiktok-done",
        ..StackOptions::default()
    })
    .await;
    stack.connect_account("user-1", ALICE, None).await;
    stack
}

#[tokio::test]
async fn forged_app_jwts_open_no_route() {
    let stack = stack_with_an_account().await;
    let forged = forged_authorizations(stack.jwt_secret.as_bytes());
    let table = stack.table_dump().await;
    let calls = tiktok_calls(&stack);
    for (method, path) in AUTHENTICATED {
        for (what, authorization) in &forged {
            let headers: Vec<(&str, &str)> = authorization
                .as_deref()
                .map(|a| vec![("authorization", a)])
                .unwrap_or_default();
            let response = stack.send(method, path, "", &headers).await;
            let (status, body) = answer(&response);
            assert_eq!(status, 401, "{method} {path} with {what}: {body}");
            assert_eq!(body["error"], "unauthorized", "{method} {path} with {what}");
        }
    }
    assert_eq!(
        stack.table_dump().await,
        table,
        "a refused request changed the table"
    );
    assert_eq!(
        tiktok_calls(&stack),
        calls,
        "a refused request called TikTok"
    );
    // The control: the same routes answer the real JWT.
    assert_eq!(stack.get_me("user-1", "").await.status(), 200);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn open_redirects_through_return_to_are_refused() {
    let stack = stack_with_an_account().await;
    let bearer = format!("Bearer {}", stack.jwt("user-1"));
    let table = stack.table_dump().await;
    for target in OPEN_REDIRECTS {
        let encoded: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
        let response = stack
            .send(
                "GET",
                "/tiktok/authorize",
                &format!("return_to={encoded}"),
                &[("authorization", &bearer)],
            )
            .await;
        let (status, body) = answer(&response);
        assert_eq!(status, 400, "return_to={target:?}: {body}");
        assert_eq!(body["error"], "invalid_request", "return_to={target:?}");
    }
    assert_eq!(
        stack.table_dump().await,
        table,
        "a refused authorize stored a state"
    );
    // The controls: the app's own origin and the listed URL are accepted.
    for allowed in [
        "https://app.example.com/elsewhere",
        "https://partner.example.net/tiktok-done",
    ] {
        let encoded: String = url::form_urlencoded::byte_serialize(allowed.as_bytes()).collect();
        stack
            .start_connect("user-1", &format!("return_to={encoded}"))
            .await;
    }
    stack.assert_nothing_leaked().await;
}

/// A redirect from the callback goes to the app only, with a reason from our own vocabulary.
fn assert_safe_callback_answer(response: &lambda_http::Response<lambda_http::Body>, what: &str) {
    let status = response.status().as_u16();
    if status == 302 {
        let location = header(response, "location").expect("Location");
        assert!(
            location.starts_with(APP_RETURN_URL),
            "{what}: redirected to {location}"
        );
        let url = url::Url::parse(location).expect("Location is a URL");
        for (name, value) in url.query_pairs() {
            assert!(
                value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)),
                "{what}: {name}={value:?} reflected into the redirect"
            );
        }
    } else {
        assert_eq!(status, 400, "{what}");
    }
}

#[tokio::test]
async fn hostile_values_in_every_query_parameter_get_a_clear_refusal() {
    let stack = stack_with_an_account().await;
    let bearer = format!("Bearer {}", stack.jwt("user-1"));
    let table = stack.table_dump().await;
    let calls = tiktok_calls(&stack);
    let mut tried = 0;
    for (method, path, parameter) in PARAMETERS {
        for (what, value) in hostile_values() {
            let query = format!("{parameter}={value}");
            let headers: &[(&str, &str)] = if path == "/tiktok/callback" {
                &[]
            } else {
                &[("authorization", &bearer)]
            };
            let response = stack.send(method, path, &query, headers).await;
            let case = format!("{method} {path} {parameter} = {what}");
            tried += 1;
            for (name, header_value) in response.headers() {
                let text = header_value.to_str().unwrap_or_default();
                assert!(
                    name != "set-cookie" && !text.contains("pwned"),
                    "{case}: header {name}: {text}"
                );
            }
            if path == "/tiktok/callback" {
                assert_safe_callback_answer(&response, &case);
                continue;
            }
            let (status, body) = answer(&response);
            assert!((400..500).contains(&status), "{case}: {status} {body}");
            assert!(
                body["error"].as_str().is_some_and(|e| !e.is_empty())
                    && body["message"].is_string(),
                "{case}: {body}"
            );
        }
    }
    // The account's path parameter, percent-encoded as API Gateway delivers it.
    for (what, value) in hostile_values() {
        let response = stack
            .send(
                "DELETE",
                &format!("/tiktok/accounts/{value}"),
                "",
                &[("authorization", &bearer)],
            )
            .await;
        tried += 1;
        let (status, body) = answer(&response);
        assert!(
            (400..500).contains(&status),
            "DELETE {what}: {status} {body}"
        );
    }
    eprintln!("hostile inputs tried: {tried}");
    assert_eq!(tried, (PARAMETERS.len() + 1) * hostile_values().len());
    assert_eq!(
        stack.table_dump().await,
        table,
        "a hostile request changed the table"
    );
    assert_eq!(
        tiktok_calls(&stack),
        calls,
        "a hostile request called TikTok"
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn hostile_publish_bodies_and_keys_are_refused_before_anything_happens() {
    let stack = stack_with_an_account().await;
    let bearer = format!("Bearer {}", stack.jwt("user-1"));
    let table = stack.table_dump().await;
    let calls = tiktok_calls(&stack);
    for (what, body) in hostile_publish_bodies() {
        let response = stack
            .send_body(
                "POST",
                "/tiktok/publish",
                "",
                &[
                    ("authorization", &bearer),
                    ("content-type", "application/json"),
                ],
                Some(&body),
            )
            .await;
        let (status, answer_body) = answer(&response);
        assert_eq!(status, 400, "{what}: {answer_body}");
        assert_eq!(answer_body["error"], "invalid_request", "{what}");
    }
    // Idempotency keys that are not a plain token.
    let valid =
        r#"{"mode":"inbox","source":{"type":"url","video_url":"https://media.example.com/a"}}"#;
    for key in ["", "a b", "caf\u{e9}", &"k".repeat(256)] {
        let response = stack
            .send_body(
                "POST",
                "/tiktok/publish",
                "",
                &[("authorization", &bearer), ("idempotency-key", key)],
                Some(valid),
            )
            .await;
        assert_eq!(response.status().as_u16(), 400, "Idempotency-Key {key:?}");
    }
    assert_eq!(
        stack.table_dump().await,
        table,
        "a refused post changed the table"
    );
    assert_eq!(tiktok_calls(&stack), calls, "a refused post called TikTok");
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn floods_of_parameters_are_refused() {
    let stack = stack_with_an_account().await;
    let bearer = format!("Bearer {}", stack.jwt("user-1"));
    let thousand: String = (0..1000).map(|i| format!("p{i}=x&")).collect();
    let repeated = "open_id=open-alice-0001&open_id=open-bob-0002";
    for (path, query) in [
        ("/tiktok/me", thousand.as_str()),
        ("/tiktok/videos", thousand.as_str()),
        ("/tiktok/authorize", thousand.as_str()),
        ("/tiktok/me", repeated),
        ("/tiktok/videos", repeated),
        ("/tiktok/videos", "max_count=5&max_count=20"),
        (
            "/tiktok/authorize",
            "return_to=https%3A%2F%2Fapp.example.com%2Fa&return_to=https%3A%2F%2Fevil.com",
        ),
    ] {
        let response = stack
            .send("GET", path, query, &[("authorization", &bearer)])
            .await;
        let (status, body) = answer(&response);
        assert_eq!(
            status,
            400,
            "{path}?{}…: {body}",
            &query[..query.len().min(40)]
        );
        assert_eq!(body["error"], "invalid_request");
    }
    stack.assert_nothing_leaked().await;
}

/// SECURITY.md's table of what the suite tries: this file's rows state these catalogs' sizes,
/// and every test a row names exists.
#[test]
fn security_md_states_what_this_file_tries() {
    let doc = include_str!("../../../SECURITY.md");
    let table = doc
        .split_once("<!-- suite:begin -->")
        .and_then(|(_, rest)| rest.split_once("<!-- suite:end -->"))
        .map(|(table, _)| table)
        .expect("SECURITY.md has a suite:begin/end table");
    let expectations = [
        format!(
            "| Forged app JWTs | {} × {} routes |",
            forged_authorizations(b"any key").len(),
            AUTHENTICATED.len()
        ),
        format!(
            "| Open redirects on `return_to` | {} |",
            OPEN_REDIRECTS.len()
        ),
        format!(
            "| Hostile `POST /tiktok/publish` bodies | {} bodies + 4 `Idempotency-Key`s |",
            hostile_publish_bodies().len()
        ),
        format!(
            "| Hostile query values | {} values × {} parameters + the account path |",
            hostile_values().len(),
            PARAMETERS.len()
        ),
    ];
    for row in expectations {
        assert!(
            table.contains(&row),
            "SECURITY.md should have a row starting {row}"
        );
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut named = 0;
    for row in table.lines().filter(|l| l.starts_with("| ")) {
        for reference in row.split('`').filter(|part| part.contains(".rs::")) {
            let (file, name) = reference.split_once("::").expect("path::name");
            let source = std::fs::read_to_string(root.join(file))
                .unwrap_or_else(|e| panic!("SECURITY.md names {file}: {e}"));
            assert!(
                source.contains(&format!("fn {name}(")),
                "SECURITY.md names {reference}, which does not exist"
            );
            named += 1;
        }
    }
    assert!(named >= 10, "SECURITY.md's table names {named} tests");
}
