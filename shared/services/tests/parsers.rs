//! Property tests of every parser that reads outside input (issue 6): app JWTs, raw query strings
//! (and the callback that uses them), TikTok's JSON answers, video paging, `return_to`, scopes,
//! publish bodies, chunk plans and webhook signatures.
//!
//! Each property runs a fixed number of cases (`cases(n)`) and writes no regression files, so a
//! run is bounded and leaves the tree clean. The number of cases is in each property's config.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::Config as ProptestConfig;
use serde_json::{Value, json};
use url::Url;

use connect_domain::app_user::AppUser;
use connect_domain::clock::{Clock, SystemClock};
use connect_domain::error::ServiceError;
use connect_domain::fakes::{FakeCipher, InMemoryAccounts, InMemoryStates, ScriptedTikTok};
use connect_domain::pkce::PkceMode;
use connect_domain::ports::ConnectAdapters;
use connect_domain::query::{MAX_QUERY_LEN, MAX_VALUE_LEN, Query, QueryError};
use connect_domain::return_url::ReturnUrlPolicy;
use connect_domain::scope::ScopeSet;
use connect_domain::secret::JwtSecret;
use connect_domain::tiktok::{
    RawAnswer, TikTokError, parse_revoke_answer, parse_token_answer, parse_user_info_answer,
    parse_video_list_answer,
};
use connect_http::api_error::ApiError;
use connect_http::jwt::JwtVerifier;
use connect_services::connect::{AuthorizeService, CallbackService, ConnectSettings};
use connect_services::videos::{DEFAULT_MAX_COUNT, VideoRequest};

/// A bounded run: `n` cases, no persistence file written into the repository.
fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Characters that break naive parsers: TikTok's `*` and `!`, the form-encoding specials, CR/LF,
/// NUL, non-ASCII look-alikes and a character outside the BMP.
const NASTY: &[char] = &[
    '*', '!', '%', '+', ' ', '&', '=', '#', ';', '?', '/', '\\', '.', '~', '-', '_', '\r', '\n',
    '\t', '\0', '"', '\'', '<', '>', 'é', 'ü', 'ß', '€', '𝄞', '\u{202e}', '\u{3000}', 'а', '2',
    'A', 'z',
];

fn nasty_char() -> impl Strategy<Value = char> {
    prop_oneof![3 => select(NASTY), 1 => any::<char>()]
}

fn nasty_string(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(nasty_char(), 0..=max).prop_map(String::from_iter)
}

// ---------------------------------------------------------------------------------------------
// 1. App JWTs (app_user.rs)
// ---------------------------------------------------------------------------------------------

const JWT_KEY: &str = "parsers-test-jwt-secret-0123456789abcdef";
const ISSUER: &str = "https://app.example.com";
const AUDIENCE: &str = "tiktok-connect";

fn now() -> i64 {
    SystemClock.now()
}

fn verifier() -> JwtVerifier {
    JwtVerifier::new(&JwtSecret::new(JWT_KEY), None, None)
}

fn sign_with(alg: Algorithm, claims: &Value, key: &str) -> String {
    encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .expect("sign")
}

fn sign(claims: &Value) -> String {
    sign_with(Algorithm::HS256, claims, JWT_KEY)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn check(v: &JwtVerifier, token: &str) -> Option<AppUser> {
    v.verify_header(Some(&format!("Bearer {token}")))
}

/// docs/deploy.md#app-jwts: 1–256 printable characters.
fn subject() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_.@|:-]{1,64}",
        prop::collection::vec(
            nasty_char().prop_filter("printable", |c| !c.is_control()),
            1..=256
        )
        .prop_map(String::from_iter),
    ]
}

fn bearer_scheme() -> impl Strategy<Value = &'static str> {
    select(&["Bearer", "bearer", "BEARER", "bEaReR"][..])
}

proptest! {
    #![proptest_config(cases(512))]

    /// Any header value (text, lossy bytes, `Bearer <junk>`) is refused without a panic.
    #[test]
    fn jwt_arbitrary_headers_never_verify(
        raw in prop_oneof![
            any::<String>(),
            nasty_string(200),
            prop::collection::vec(any::<u8>(), 0..300)
                .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            "[A-Za-z0-9_.-]{0,300}".prop_map(|t| format!("Bearer {t}")),
            "[A-Za-z0-9_-]{1,60}\\.[A-Za-z0-9_-]{1,120}\\.[A-Za-z0-9_-]{0,60}"
                .prop_map(|t| format!("Bearer {t}")),
        ]
    ) {
        prop_assert_eq!(verifier().verify_header(Some(&raw)), None);
    }

    /// A valid token with any one character replaced never verifies.
    #[test]
    fn jwt_single_character_mutation_never_verifies(
        sub in subject(),
        at in any::<Index>(),
        replacement in prop_oneof![
            4 => select(&b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[..])
                .prop_map(char::from),
            1 => nasty_char(),
        ],
    ) {
        let token = sign(&json!({"sub": sub, "exp": now() + 3600}));
        let mut chars: Vec<char> = token.chars().collect();
        let i = at.index(chars.len());
        prop_assume!(chars[i] != replacement);
        chars[i] = replacement;
        let mutated: String = chars.into_iter().collect();
        prop_assert_eq!(check(&verifier(), &mutated), None, "mutated at {}: {}", i, mutated);
    }
}

proptest! {
    #![proptest_config(cases(64))]

    /// Huge headers (past the 8 KiB limit, or a valid-looking token with a huge claim) are refused.
    #[test]
    fn jwt_huge_inputs_never_verify(
        junk in ("[A-Za-z0-9_.-]{1,50}", 400usize..1_000).prop_map(|(s, n)| s.repeat(n)),
        pad in 8_200usize..20_000,
    ) {
        let v = verifier();
        prop_assert_eq!(check(&v, &junk), None);
        // Validly signed but oversized: the length limit refuses it before decoding.
        let big = sign(&json!({"sub": "u", "exp": now() + 3600, "pad": "x".repeat(pad)}));
        prop_assert_eq!(check(&v, &big), None);
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// A well-formed HS256 token verifies and yields exactly its `sub`.
    #[test]
    fn jwt_valid_token_yields_its_subject(
        sub in subject(),
        exp_in in 1i64..100_000_000,
        nbf_ago in prop::option::of(0i64..100_000_000),
        iat_ago in prop::option::of(0i64..100_000_000),
        scheme in bearer_scheme(),
        configured in any::<bool>(),
    ) {
        let now = now();
        let mut claims = json!({"sub": sub, "exp": now + exp_in});
        if let Some(ago) = nbf_ago { claims["nbf"] = json!(now - ago); }
        if let Some(ago) = iat_ago { claims["iat"] = json!(now - ago); }
        let v = if configured {
            claims["iss"] = json!(ISSUER);
            claims["aud"] = json!(AUDIENCE);
            JwtVerifier::new(&JwtSecret::new(JWT_KEY), Some(ISSUER), Some(AUDIENCE))
        } else {
            verifier()
        };
        let token = sign(&claims);
        let user = v.verify_header(Some(&format!("{scheme} {token}")));
        prop_assert_eq!(user.as_ref().map(AppUser::as_str), Some(sub.as_str()));
    }

    /// The same claims signed with any other key never verify.
    #[test]
    fn jwt_wrong_key_never_verifies(sub in subject(), key in "[ -~]{1,64}") {
        prop_assume!(key != JWT_KEY);
        let token = sign_with(Algorithm::HS256, &json!({"sub": sub, "exp": now() + 3600}), &key);
        prop_assert_eq!(check(&verifier(), &token), None);
    }

    /// Only HS256 is accepted: `none` (any case), RS/ES/PS/EdDSA and other HMAC sizes are refused,
    /// whatever the signature (empty, HMAC-SHA256 with our key = algorithm confusion, random).
    #[test]
    fn jwt_foreign_algorithms_never_verify(
        sub in subject(),
        alg in select(&["none", "None", "NONE", "nOnE", "", "RS256", "ES256", "PS256", "EdDSA",
                        "HS384", "HS512", "RS512", "ES384", "hs256", "HS256 "][..]),
        signature in 0u8..4,
        random in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let header = b64(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
        let payload = b64(json!({"sub": sub, "exp": now() + 3600}).to_string().as_bytes());
        let message = format!("{header}.{payload}");
        let key = EncodingKey::from_secret(JWT_KEY.as_bytes());
        let sig = match signature {
            0 => String::new(),
            1 => jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).expect("sign"),
            2 => jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS512).expect("sign"),
            _ => b64(&random),
        };
        prop_assert_eq!(check(&verifier(), &format!("{message}.{sig}")), None);
        // Really signed with another HMAC size and our key: still refused.
        if let Ok(real @ (Algorithm::HS384 | Algorithm::HS512)) = alg.parse::<Algorithm>() {
            let token = sign_with(real, &json!({"sub": sub, "exp": now() + 3600}), JWT_KEY);
            prop_assert_eq!(check(&verifier(), &token), None);
        }
    }

    /// Missing or expired `exp` (beyond the 60 s leeway), `nbf` in the future (beyond the leeway),
    /// or time claims of the wrong type never verify.
    #[test]
    fn jwt_bad_time_claims_never_verify(
        sub in subject(),
        variant in 0u8..5,
        past in 70i64..1_000_000_000,
        future in 70i64..1_000_000_000,
    ) {
        let now = now();
        let claims = match variant {
            0 => json!({"sub": sub}),
            1 => json!({"sub": sub, "exp": now - past}),
            2 => json!({"sub": sub, "exp": now + 2_000_000_000, "nbf": now + future}),
            3 => json!({"sub": sub, "exp": (now + future).to_string()}),
            _ => json!({"sub": sub, "exp": null}),
        };
        prop_assert_eq!(check(&verifier(), &sign(&claims)), None, "{}", claims);
    }

    /// `sub` missing, empty, longer than 256 characters, with a control character, or not a string.
    #[test]
    fn jwt_bad_subject_never_verifies(
        variant in 0u8..6,
        long in prop::collection::vec(select(&['a', 'Z', '9', ' ', '*', '!', 'é', '€', '𝄞', '\u{3000}'][..]), 257..400),
        sub in subject(),
        at in any::<Index>(),
        control in prop_oneof![0u32..0x20, 0x7fu32..0xa0].prop_map(|c| char::from_u32(c).expect("char")),
    ) {
        let sub = match variant {
            0 => None,
            1 => Some(json!("")),
            2 => Some(json!(String::from_iter(long))),
            3 => {
                let mut chars: Vec<char> = sub.chars().collect();
                let i = at.index(chars.len() + 1);
                chars.insert(i, control);
                Some(json!(String::from_iter(chars)))
            }
            4 => Some(json!(12345)),
            _ => Some(json!([sub])),
        };
        let mut claims = json!({"exp": now() + 3600});
        if let Some(sub) = sub { claims["sub"] = sub; }
        prop_assert_eq!(check(&verifier(), &sign(&claims)), None, "{}", claims);
    }

    /// With `APP_JWT_ISSUER` and `APP_JWT_AUDIENCE` set, a token verifies only when both match.
    #[test]
    fn jwt_issuer_and_audience_are_enforced(
        iss in prop_oneof![Just(None), Just(Some(ISSUER.to_owned())), "[ -~]{0,40}".prop_map(Some)],
        aud in prop_oneof![Just(None), Just(Some(AUDIENCE.to_owned())), "[ -~]{0,40}".prop_map(Some)],
        sub in subject(),
    ) {
        let v = JwtVerifier::new(&JwtSecret::new(JWT_KEY), Some(ISSUER), Some(AUDIENCE));
        let mut claims = json!({"sub": sub, "exp": now() + 3600});
        if let Some(iss) = &iss { claims["iss"] = json!(iss); }
        if let Some(aud) = &aud { claims["aud"] = json!(aud); }
        let both_right = iss.as_deref() == Some(ISSUER) && aud.as_deref() == Some(AUDIENCE);
        let user = check(&v, &sign(&claims));
        prop_assert_eq!(user.is_some(), both_right, "{}", claims);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Query strings (query.rs) and the callback's use of them (connect.rs)
// ---------------------------------------------------------------------------------------------

fn enc(value: &str) -> String {
    utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
}

/// `name=value&…` encoded once, either with `%XX` for everything or as an HTML form would (`+`).
fn encode_pairs(pairs: &[(String, String)], form_style: bool) -> String {
    if form_style {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    } else {
        pairs
            .iter()
            .map(|(n, v)| format!("{}={}", enc(n), enc(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn param_name() -> impl Strategy<Value = String> {
    "[a-z_]{1,12}"
}

proptest! {
    #![proptest_config(cases(512))]

    /// Any raw query: no panic; too long is `TooLong`; when accepted, every parameter the WHATWG
    /// form decoding sees is readable under its exact decoded name with its exact decoded value.
    #[test]
    fn query_arbitrary_input_is_decoded_exactly_or_refused(
        raw in prop_oneof![
            any::<String>(),
            nasty_string(400),
            "([a-z%0-9A-F+]{0,6}=[a-z%0-9A-F+*!]{0,12}&){0,20}",
            ("[a-z=&%0-9A-F+]{1,40}", 200usize..300).prop_map(|(s, n)| s.repeat(n)),
        ]
    ) {
        match Query::parse(Some(&raw)) {
            Ok(query) => {
                prop_assert!(raw.len() <= MAX_QUERY_LEN);
                for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
                    prop_assert_eq!(query.get(&name), Some(value.as_ref()), "name {:?}", name);
                    prop_assert!(value.len() <= MAX_VALUE_LEN);
                }
            }
            Err(QueryError::TooLong) => prop_assert!(raw.len() > MAX_QUERY_LEN),
            Err(e) => { let _ = e.message(); }
        }
    }

    /// Values with `*`, `!`, `%`, `+`, spaces, CR/LF, unicode… encoded once decode exactly once.
    #[test]
    fn query_percent_encoding_round_trips(
        params in prop::collection::btree_map(param_name(), nasty_string(60), 1..8),
        form_style in any::<bool>(),
    ) {
        let pairs: Vec<(String, String)> = params.into_iter().collect();
        let raw = encode_pairs(&pairs, form_style);
        let query = Query::parse(Some(&raw)).expect("valid query");
        for (name, value) in &pairs {
            prop_assert_eq!(query.get(name), Some(value.as_str()));
        }
        prop_assert_eq!(query.get("not_sent"), None);
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// A name repeated (even with the same value) is refused as a duplicate, naming it.
    #[test]
    fn query_duplicate_names_are_refused(
        params in prop::collection::btree_map(param_name(), nasty_string(20), 1..6),
        pick in any::<Index>(),
        second in nasty_string(20),
        at in any::<Index>(),
        form_style in any::<bool>(),
    ) {
        let mut pairs: Vec<(String, String)> = params.into_iter().collect();
        let name = pairs[pick.index(pairs.len())].0.clone();
        pairs.insert(at.index(pairs.len() + 1), (name.clone(), second));
        let raw = encode_pairs(&pairs, form_style);
        prop_assert_eq!(Query::parse(Some(&raw)).err(), Some(QueryError::Duplicate(name)));
    }

    /// A name that only looks like another one after dropping invisible or non-ASCII characters
    /// (`max_c%C3%B6unt`, `st%0Aate`, `co%20de`) is a different parameter: it never answers for
    /// the known name, and `only` refuses it.
    #[test]
    fn query_lookalike_names_are_distinct(
        known in select(&["state", "code", "scopes", "error", "open_id", "cursor", "max_count", "return_to"][..]),
        extra in prop_oneof![
            select(&[' ', '\r', '\n', '\t', '\0', 'é', 'ö', '\u{200b}', '\u{202e}', '\u{7f}'][..]),
            any::<char>().prop_filter("not ASCII graphic", |c| !c.is_ascii_graphic()),
        ],
        at in any::<Index>(),
        value in "[a-z0-9]{1,8}",
    ) {
        let mut chars: Vec<char> = known.chars().collect();
        chars.insert(at.index(chars.len() + 1), extra);
        let lookalike = String::from_iter(chars);
        let query = Query::parse(Some(&format!("{}={value}", enc(&lookalike)))).expect("valid");
        prop_assert_eq!(query.get(known), None);
        prop_assert_eq!(query.get(&lookalike), Some(value.as_str()));
        prop_assert!(query.only(&[known]).is_err());
        // The message stays printable however the name looks.
        if let Err(message) = query.only(&[known]) {
            prop_assert!(!message.chars().any(char::is_control), "{:?}", message);
        }
    }
}

proptest! {
    #![proptest_config(cases(128))]

    /// Limits: a value over 2 KiB, more than 32 parameters or a raw query over 8 KiB is refused
    /// with the right error; CR/LF inside a value is data, decoded and kept exactly.
    #[test]
    fn query_limits_and_crlf(
        name in param_name(),
        over in 1usize..3_000,
        under in 0usize..=MAX_VALUE_LEN,
        count in 33usize..60,
        crlf in "[a-z]{0,5}\r\n[A-Za-z: ]{0,20}",
    ) {
        let long = format!("{name}={}", "x".repeat(MAX_VALUE_LEN + over));
        let expected = if long.len() > MAX_QUERY_LEN {
            QueryError::TooLong
        } else {
            QueryError::ValueTooLong(name.clone())
        };
        prop_assert_eq!(Query::parse(Some(&long)).err(), Some(expected));
        let fits = format!("{name}={}", "y".repeat(under));
        prop_assert_eq!(Query::parse(Some(&fits)).expect("fits").get(&name).map(str::len), Some(under));
        let many: Vec<String> = (0..count).map(|i| format!("p{i}=1")).collect();
        prop_assert_eq!(Query::parse(Some(&many.join("&"))).err(), Some(QueryError::TooMany));
        let query = Query::parse(Some(&format!("{name}={}", enc(&crlf)))).expect("crlf");
        prop_assert_eq!(query.get(&name), Some(crlf.as_str()));
    }
}

const APP_RETURN_URL: &str = "https://app.example.com/settings";
const REDIRECT_URI: &str = "https://api.example.com/tiktok/callback";
const LISTED_RETURN_URL: &str = "https://other.example.net/done";

fn return_policy() -> ReturnUrlPolicy {
    ReturnUrlPolicy::new(
        Url::parse(APP_RETURN_URL).expect("url"),
        vec![Url::parse(LISTED_RETURN_URL).expect("url")],
    )
}

fn connect_settings() -> ConnectSettings {
    ConnectSettings {
        client_key: "ck".into(),
        redirect_uri: Some(REDIRECT_URI.into()),
        auth_url: Url::parse("https://www.tiktok.com/v2/auth/authorize/").expect("url"),
        allowed_scopes: ScopeSet::parse_comma_list("user.info.basic,video.list").expect("scopes"),
        pkce: PkceMode::Off,
        return_urls: return_policy(),
        // The properties start many connects in a second; the quota has its own unit test.
        starts_per_minute: u32::MAX,
    }
}

type Connect =
    ConnectAdapters<InMemoryStates, InMemoryAccounts, FakeCipher, ScriptedTikTok, SystemClock>;
type Callback = CallbackService<Connect>;

/// A callback service and, through `authorize`, one pending state for it.
fn callback_world(rt: &tokio::runtime::Runtime) -> (Callback, String) {
    let states = InMemoryStates::default();
    let authorize: AuthorizeService<Connect> = AuthorizeService {
        states: states.clone(),
        cipher: FakeCipher::default(),
        clock: SystemClock,
        settings: connect_settings(),
    };
    let user = AppUser::parse("app-user-1").expect("user");
    let empty = Query::parse(None).expect("empty");
    let start = rt
        .block_on(authorize.start(&user, &empty, None))
        .expect("authorize");
    let url = Url::parse(&start.authorize_url).expect("authorize url");
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state");
    let callback = CallbackService {
        states,
        accounts: InMemoryAccounts::default(),
        cipher: FakeCipher::default(),
        tiktok: ScriptedTikTok::granting("open-1", "user.info.basic"),
        clock: SystemClock,
        settings: connect_settings(),
    };
    (callback, state)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn pairs_of(url: &Url) -> BTreeMap<String, String> {
    url.query_pairs().into_owned().collect()
}

proptest! {
    #![proptest_config(cases(128))]

    /// TikTok's `code` (with `*`, `!`, `%`, `+`, unicode…) reaches the token exchange exactly as
    /// it was before TikTok encoded it once, whichever way it was encoded.
    #[test]
    fn callback_code_is_decoded_exactly_once(
        code in prop::collection::vec(
            prop_oneof![
                3 => nasty_char().prop_map(String::from),
                1 => select(&["%2A", "%21", "%25", "%2B", "*0!6410", ".u1", "+"][..]).prop_map(str::to_owned),
            ],
            1..60,
        ).prop_map(|parts| parts.concat()),
        form_style in any::<bool>(),
    ) {
        let rt = runtime();
        let (callback, state) = callback_world(&rt);
        let raw = encode_pairs(
            &[
                ("code".into(), code.clone()),
                ("scopes".into(), "user.info.basic".into()),
                ("state".into(), state),
            ],
            form_style,
        );
        let back = rt.block_on(callback.complete(Some(&raw), None));
        let exchanged = callback.tiktok.exchanged_codes.lock().expect("lock").clone();
        prop_assert_eq!(exchanged, vec![(code, None, REDIRECT_URI.to_owned())]);
        let outcome = pairs_of(&back);
        prop_assert_eq!(outcome.get("tiktok").map(String::as_str), Some("pending"));
        prop_assert!(back.as_str().starts_with(APP_RETURN_URL));
    }
}

proptest! {
    #![proptest_config(cases(128))]

    /// With a valid state, TikTok's `error=…` reaches the app as `reason` only when it is a plain
    /// snake_case code (at most 64 bytes); anything else becomes `tiktok_error`. No exchange.
    #[test]
    fn callback_error_reason_is_sanitised(
        error in prop_oneof![
            select(&["access_denied", "invalid_scope", "server_error"][..]).prop_map(str::to_owned),
            "[a-z_-]{1,70}",
            nasty_string(40).prop_filter("non-empty", |s| !s.is_empty()),
        ],
        form_style in any::<bool>(),
    ) {
        let rt = runtime();
        let (callback, state) = callback_world(&rt);
        let raw = encode_pairs(
            &[
                ("error".into(), error.clone()),
                ("error_description".into(), "The user denied.".into()),
                ("state".into(), state),
            ],
            form_style,
        );
        let back = rt.block_on(callback.complete(Some(&raw), None));
        prop_assert!(callback.tiktok.exchanged_codes.lock().expect("lock").is_empty());
        let plain = error.len() <= 64 && error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        let expected = if plain { error.as_str() } else { "tiktok_error" };
        let outcome = pairs_of(&back);
        prop_assert_eq!(outcome.get("tiktok").map(String::as_str), Some("error"));
        prop_assert_eq!(outcome.get("reason").map(String::as_str), Some(expected));
        let prefix = format!("{APP_RETURN_URL}?");
        prop_assert!(back.as_str().starts_with(&prefix), "{}", back);
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Any raw callback query (without the one valid state): no panic, no code exchange, and a
    /// redirect to the app's own URL with `tiktok=error` and a plain snake_case `reason`.
    #[test]
    fn callback_arbitrary_query_fails_safely(
        raw in prop_oneof![
            any::<String>(),
            nasty_string(300),
            (nasty_string(40), nasty_string(40), nasty_string(40)).prop_map(|(c, s, e)| {
                format!("code={}&state={}&error={}", enc(&c), enc(&s), enc(&e))
            }),
            (nasty_string(40), nasty_string(80)).prop_map(|(s, e)| {
                format!("state={s}&error={e}&error_description={e}")
            }),
        ],
    ) {
        let rt = runtime();
        let (callback, state) = callback_world(&rt);
        prop_assume!(!raw.contains(&state));
        let back = rt.block_on(callback.complete(Some(&raw), None));
        prop_assert!(callback.tiktok.exchanged_codes.lock().expect("lock").is_empty());
        prop_assert!(back.as_str().starts_with(&format!("{APP_RETURN_URL}?")), "{}", back);
        let outcome = pairs_of(&back);
        prop_assert_eq!(outcome.get("tiktok").map(String::as_str), Some("error"));
        let reason = outcome.get("reason").cloned().unwrap_or_default();
        prop_assert!(
            !reason.is_empty() && reason.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{:?}", reason
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. TikTok's JSON answers (tiktok/http.rs, tiktok/error.rs)
// ---------------------------------------------------------------------------------------------

fn answer(status: u16, body: impl Into<Vec<u8>>) -> RawAnswer {
    RawAnswer::with_body(status, body)
}

const JSON_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "open_id",
    "scope",
    "expires_in",
    "refresh_expires_in",
    "token_type",
    "error",
    "error_description",
    "log_id",
    "data",
    "code",
    "message",
    "user",
    "videos",
    "id",
    "cursor",
    "has_more",
    "display_name",
    "title",
    "create_time",
];

const JSON_STRINGS: &[&str] = &[
    "ok",
    "OK",
    "",
    "act.x!1*",
    "rft.y*2!",
    "o-1",
    "access_token_invalid",
    "rate_limit_exceeded",
    "internal_error",
    "server_error",
    "invalid_grant",
    "7080213458555737986",
    "user.info.basic,video.list",
];

/// JSON values shaped like TikTok's (its keys and marker strings are likely), nested a few deep.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![3 => select(JSON_KEYS).prop_map(str::to_owned), 1 => "[a-z_]{0,8}"];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        select(JSON_STRINGS).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..7)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn any_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => select(&[200u16, 201, 204, 400, 401, 403, 404, 429, 500, 502, 503][..]),
        1 => 100u16..600,
    ]
}

fn is_2xx(status: u16) -> bool {
    (200..300).contains(&status)
}

fn non_empty_str<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// What the four parsers promise of any answer, checked from the raw body alone.
fn check_all_parsers(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    let a = answer(status, body.to_vec());
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |key: &str| json.as_ref().and_then(|j| non_empty_str(j, key));
    if let Ok(grant) = parse_token_answer(&a) {
        prop_assert!(is_2xx(status));
        prop_assert_eq!(field("error"), None);
        prop_assert_eq!(field("access_token"), Some(grant.access_token.secret()));
        prop_assert_eq!(field("refresh_token"), Some(grant.refresh_token.secret()));
        prop_assert_eq!(field("open_id"), Some(grant.open_id.as_str()));
    }
    if parse_revoke_answer(&a).is_ok() {
        prop_assert!(is_2xx(status));
        prop_assert!(json.is_some());
        prop_assert_eq!(field("error"), None);
    }
    let ok_marker = json
        .as_ref()
        .and_then(|j| j.get("error"))
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        == Some("ok");
    if parse_user_info_answer(&a).is_ok() {
        prop_assert!(is_2xx(status) && ok_marker);
    }
    if parse_video_list_answer(&a).is_ok() {
        prop_assert!(is_2xx(status) && ok_marker);
    }
    // An answer with a TikTok error marker is never a success, whatever the status.
    if field("error").is_some() {
        prop_assert!(parse_token_answer(&a).is_err() && parse_revoke_answer(&a).is_err());
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(512))]

    /// Arbitrary bytes (and truncated JSON) with any status: no panic, never a success.
    #[test]
    fn tiktok_arbitrary_bytes_are_never_a_success(
        status in any_status(),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512),
            (json_value(), any::<Index>()).prop_map(|(v, at)| {
                let bytes = serde_json::to_vec(&v).expect("json");
                let cut = at.index(bytes.len().max(1));
                bytes[..cut].to_vec()
            }),
        ],
    ) {
        check_all_parsers(status, &body)?;
        prop_assert!(parse_user_info_answer(&answer(status, body.clone())).is_err()
            || serde_json::from_slice::<Value>(&body).is_ok());
    }

    /// Arbitrary JSON with any status: no panic; a success only with TikTok's success marker.
    #[test]
    fn tiktok_arbitrary_json_succeeds_only_with_the_marker(
        status in any_status(),
        body in json_value(),
    ) {
        check_all_parsers(status, &serde_json::to_vec(&body).expect("json"))?;
    }
}

/// A complete token answer as TikTok sends it (docs/tiktok.md#the-token-endpoint).
fn token_body() -> impl Strategy<Value = BTreeMap<&'static str, Value>> {
    (
        "act\\.[A-Za-z0-9*!._-]{1,60}",
        "rft\\.[A-Za-z0-9*!._-]{1,60}",
        "[a-z0-9-]{1,40}",
        0i64..100_000_000,
        0i64..100_000_000,
        prop::option::of(
            "(user\\.info\\.basic|video\\.list)(,(user\\.info\\.profile|video\\.list))?",
        ),
    )
        .prop_map(|(access, refresh, open_id, exp, rexp, scope)| {
            let mut m = BTreeMap::new();
            m.insert("access_token", json!(access));
            m.insert("refresh_token", json!(refresh));
            m.insert("open_id", json!(open_id));
            m.insert("expires_in", json!(exp));
            m.insert("refresh_expires_in", json!(rexp));
            m.insert("token_type", json!("Bearer"));
            if let Some(scope) = scope {
                m.insert("scope", json!(scope));
            }
            m
        })
}

fn to_body(map: &BTreeMap<&'static str, Value>) -> Vec<u8> {
    serde_json::to_vec(map).expect("json")
}

fn oauth_error_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "invalid_grant",
                "invalid_request",
                "invalid_client",
                "access_denied",
                "unauthorized_client",
                "unsupported_grant_type",
                "invalid_scope",
                "rate_limit_exceeded",
                "server_error",
                "temporarily_unavailable"
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z_]{1,80}",
        nasty_string(80).prop_filter("non-empty", |s| !s.is_empty()),
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    /// A complete token answer with a 2xx status is a grant carrying exactly its fields; the same
    /// body with another status, or with any required field missing or empty, is not.
    #[test]
    fn tiktok_token_success_needs_every_field(
        body in token_body(),
        status in any_status(),
        drop in select(&["", "access_token", "refresh_token", "open_id", "expires_in", "refresh_expires_in"][..]),
        empty_instead in any::<bool>(),
    ) {
        let mut body = body;
        if !drop.is_empty() {
            if empty_instead && !drop.ends_with("expires_in") {
                body.insert(drop, json!(""));
            } else {
                body.remove(drop);
            }
        }
        let result = parse_token_answer(&answer(status, to_body(&body)));
        match result {
            Ok(grant) => {
                prop_assert!(drop.is_empty() && is_2xx(status), "status {}, dropped {:?}", status, drop);
                prop_assert_eq!(json!(grant.access_token.secret()), body["access_token"].clone());
                prop_assert_eq!(json!(grant.refresh_token.secret()), body["refresh_token"].clone());
                prop_assert_eq!(json!(grant.open_id), body["open_id"].clone());
                prop_assert_eq!(json!(grant.expires_in), body["expires_in"].clone());
                prop_assert_eq!(json!(grant.refresh_expires_in), body["refresh_expires_in"].clone());
                let scope = body.get("scope").and_then(Value::as_str).unwrap_or_default();
                let expected = ScopeSet::parse_comma_list(scope).expect("scopes");
                prop_assert_eq!(grant.scopes, expected);
            }
            Err(e) => {
                prop_assert!(!drop.is_empty() || !is_2xx(status), "{:?}", e);
                match status {
                    429 => prop_assert!(matches!(e, TikTokError::RateLimited { .. }), "{:?}", e),
                    500.. => prop_assert!(matches!(e, TikTokError::Unavailable { .. }), "{:?}", e),
                    _ => prop_assert!(matches!(e, TikTokError::Unexpected { .. }), "{:?}", e),
                }
            }
        }
    }

    /// An OAuth error body (HTTP 200 or not, even next to token fields) is an error of the right
    /// kind for both the token and the revoke endpoint, keeping TikTok's code and log id.
    #[test]
    fn tiktok_oauth_error_bodies_are_errors(
        error in oauth_error_name(),
        description in prop::option::of(nasty_string(400)),
        log_id in prop::option::of("[0-9A-F]{1,34}"),
        with_tokens in prop::option::of(token_body()),
        status in prop_oneof![3 => Just(200u16), 1 => select(&[400u16, 401, 403][..])],
    ) {
        let mut body = with_tokens.unwrap_or_default();
        body.insert("error", json!(error));
        if let Some(d) = &description { body.insert("error_description", json!(d)); }
        if let Some(l) = &log_id { body.insert("log_id", json!(l)); }
        let a = answer(status, to_body(&body));
        for result in [parse_token_answer(&a).map(|_| ()), parse_revoke_answer(&a)] {
            let e = result.expect_err("an error body is never a success");
            prop_assert_eq!(e.log_id(), log_id.as_deref());
            match error.as_str() {
                "rate_limit_exceeded" => prop_assert!(matches!(e, TikTokError::RateLimited { .. }), "{:?}", e),
                "server_error" | "temporarily_unavailable" => {
                    prop_assert!(matches!(e, TikTokError::Unavailable { .. }), "{:?}", e);
                }
                _ => match &e {
                    TikTokError::OAuth { error: got, description: d, .. } => {
                        prop_assert_eq!(got, &error.chars().take(64).collect::<String>());
                        let want: String = description.clone().unwrap_or_default().chars().take(300).collect();
                        prop_assert_eq!(d, &want);
                        prop_assert!(e.refuses_token() && !e.is_transient());
                    }
                    other => prop_assert!(false, "expected OAuth, got {:?}", other),
                },
            }
        }
    }
}

fn user_data() -> impl Strategy<Value = Value> {
    (
        prop::option::of(nasty_string(30)),
        prop::option::of("[a-z0-9-]{1,20}"),
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(name, union_id, followers)| {
            let mut user = json!({});
            if let Some(n) = name {
                user["display_name"] = json!(n);
            }
            if let Some(u) = union_id {
                user["union_id"] = json!(u);
            }
            if let Some(f) = followers {
                user["follower_count"] = json!(f);
            }
            json!({ "user": user })
        })
}

fn video_ids() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            ((1u64 << 53) + 1..=u64::MAX).prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            "[0-9]{19,25}",
        ],
        0..6,
    )
}

/// What an `error.code` may be: documented codes, near-misses of `ok`, anything.
fn envelope_code() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "ok",
                "access_token_invalid",
                "scope_not_authorized",
                "scope_permission_missed",
                "invalid_params",
                "rate_limit_exceeded",
                "internal_error",
                "OK",
                "Ok",
                " ok",
                "ok ",
                "ok\u{0}",
                "",
                "\"ok\""
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z_.*!]{1,80}",
        nasty_string(80),
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    /// v2 answers (user info, video list): a success only when `error.code` is exactly `ok` and
    /// the status is 2xx; an HTTP-200 error is an error of the right kind, keeping the code.
    #[test]
    fn tiktok_envelope_is_decided_by_error_code(
        code in prop::option::of(envelope_code()),
        message in prop::option::of(nasty_string(400)),
        user in user_data(),
        ids in video_ids(),
        empty_data in any::<bool>(),
        no_error_object in any::<bool>(),
        status in prop_oneof![3 => Just(200u16), 1 => any_status()],
    ) {
        let videos: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
        let page = json!({"videos": videos, "cursor": 1_643_332_803_000i64, "has_more": true});
        let mut error = json!({"log_id": "L"});
        if let Some(c) = &code { error["code"] = json!(c); }
        if let Some(m) = &message { error["message"] = json!(m); }
        for (data, is_user) in [(user.clone(), true), (page, false)] {
            let data = if empty_data { json!({}) } else { data };
            let body = if code.is_none() && no_error_object {
                json!({ "data": data })
            } else {
                json!({"data": data, "error": error})
            };
            let a = answer(status, serde_json::to_vec(&body).expect("json"));
            let result = if is_user {
                parse_user_info_answer(&a).map(|p| json!(p))
            } else {
                parse_video_list_answer(&a).map(|p| json!(p.videos))
            };
            match (code.as_deref(), result) {
                (None, r) => prop_assert!(matches!(r, Err(TikTokError::Unexpected { .. } | TikTokError::RateLimited { .. } | TikTokError::Unavailable { .. })), "{:?}", r),
                (Some("ok"), Ok(_)) => prop_assert!(is_2xx(status)),
                (Some("ok"), Err(e)) => prop_assert!(
                    !is_2xx(status) || (empty_data && is_user),
                    "{:?}", e
                ),
                (Some(_), Ok(v)) => prop_assert!(false, "code {:?} accepted: {}", code, v),
                (Some("rate_limit_exceeded"), Err(e)) => prop_assert!(matches!(e, TikTokError::RateLimited { .. }), "{:?}", e),
                (Some("internal_error"), Err(e)) => prop_assert!(matches!(e, TikTokError::Unavailable { .. }), "{:?}", e),
                (Some(c), Err(e)) => match e {
                    TikTokError::Api { code: got, status: s, .. } => {
                        prop_assert_eq!(got, c.chars().take(64).collect::<String>());
                        prop_assert_eq!(s, status);
                    }
                    other => prop_assert!(false, "expected Api, got {:?}", other),
                },
            }
        }
    }

    /// Video ids (19+ digits, beyond 2^53) and the cursor survive exactly.
    #[test]
    fn tiktok_video_ids_stay_exact_strings(
        ids in video_ids(),
        cursor in any::<i64>(),
        has_more in any::<bool>(),
    ) {
        let videos: Vec<Value> = ids.iter().map(|id| json!({"id": id, "create_time": 1_643_332_803})).collect();
        let body = format!(
            r#"{{"data":{{"videos":{},"cursor":{cursor},"has_more":{has_more}}},"error":{{"code":"ok","message":"","log_id":"L"}}}}"#,
            Value::Array(videos),
        );
        let page = parse_video_list_answer(&answer(200, body)).expect("page");
        let got: Vec<&str> = page.videos.iter().map(|v| v.id.as_str()).collect();
        prop_assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert_eq!(page.cursor, Some(cursor));
        prop_assert_eq!(page.has_more, has_more);
        // Serialised to our clients, each id is still the same JSON string.
        let out = serde_json::to_value(&page.videos).expect("json");
        for (v, id) in out.as_array().expect("array").iter().zip(&ids) {
            prop_assert_eq!(&v["id"], &json!(id));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Video paging (videos.rs)
// ---------------------------------------------------------------------------------------------

fn paging_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,3}",
        "[0-9]{1,20}",
        "0{0,3}[1-9][0-9]{0,18}",
        "[-+ ]?[0-9]{1,4}[ .eE]?[0-9]{0,3}",
        select(
            &[
                "",
                "0",
                "00",
                "01",
                "20",
                "21",
                "1e1",
                "0x10",
                "+5",
                "-5",
                " 5",
                "5 ",
                "٣",
                "１",
                "²",
                "9223372036854775807",
                "999999999999999999",
                "1000000000000000000",
                "000000000000000001",
                "1_0",
                "001",
                "020",
                "0020",
                "0000000000000000001",
            ][..]
        )
        .prop_map(str::to_owned),
        nasty_string(25),
    ]
}

fn video_request(raw: &str) -> Result<(Option<i64>, u8), ServiceError> {
    let query = Query::parse(Some(raw)).expect("query");
    VideoRequest::parse(&query).map(|r| (r.cursor, r.max_count))
}

fn is_400(result: &Result<(Option<i64>, u8), ServiceError>) -> bool {
    matches!(result, Err(e @ ServiceError::InvalidRequest(_))
        if ApiError::from(e.clone()).status().as_u16() == 400)
}

proptest! {
    #![proptest_config(cases(512))]

    /// `max_count` is accepted exactly when it is one or two ASCII digits worth 1–20.
    #[test]
    fn videos_max_count_is_1_to_20(value in paging_value()) {
        let result = video_request(&format!("max_count={}", enc(&value)));
        let plain = (1..=2).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
        let expected = value.parse::<u8>().ok().filter(|n| plain && (1..=20).contains(n));
        match expected {
            Some(n) => prop_assert_eq!(result, Ok((None, n))),
            None => prop_assert!(is_400(&result), "{:?} gave {:?}", value, result),
        }
    }

    /// `cursor` is accepted exactly when it is 1–18 ASCII digits worth more than 0.
    #[test]
    fn videos_cursor_is_a_positive_integer_of_at_most_18_digits(value in paging_value()) {
        let result = video_request(&format!("cursor={}", enc(&value)));
        let plain = (1..=18).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
        let expected = value.parse::<i64>().ok().filter(|n| plain && *n > 0);
        match expected {
            Some(n) => prop_assert_eq!(result, Ok((Some(n), DEFAULT_MAX_COUNT))),
            None => prop_assert!(is_400(&result), "{:?} gave {:?}", value, result),
        }
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Any parameter besides `open_id`, `cursor`, `max_count` is a 400, even next to valid ones.
    #[test]
    fn videos_unknown_parameters_are_refused(
        name in prop_oneof!["[a-zA-Z_]{1,20}", nasty_string(20)],
        value in "[0-9]{0,3}",
        with_valid in any::<bool>(),
    ) {
        prop_assume!(!["open_id", "cursor", "max_count"].contains(&name.as_str()));
        let mut raw = format!("{}={value}", enc(&name));
        if with_valid {
            raw.push_str("&max_count=5&cursor=1643332803000");
        }
        let result = video_request(&raw);
        prop_assert!(is_400(&result), "{:?} gave {:?}", name, result);
    }
}

// ---------------------------------------------------------------------------------------------
// 5. return_to (return_url.rs)
// ---------------------------------------------------------------------------------------------

/// The module's rule, checked on what we would redirect to: the app's exact origin
/// (`https://app.example.com`, default port, no credentials) or exactly the listed URL.
fn is_allowed_destination(url: &Url) -> bool {
    let text = url.as_str();
    (text.starts_with("https://app.example.com/")
        && url.username().is_empty()
        && url.password().is_none())
        || text == LISTED_RETURN_URL
}

fn hostile_return_to() -> impl Strategy<Value = String> {
    let scheme = select(
        &[
            "https:",
            "http:",
            "HTTPS:",
            "hTtPs:",
            "javascript:",
            "JavaScript:",
            "data:",
            "vbscript:",
            "file:",
            "ftp:",
            "",
            "https;",
            "https%3A",
            "blob:https:",
        ][..],
    );
    let slashes = select(
        &[
            "//", "/", "", "///", "\\\\", "/\\", "\\/", "%2F%2F", "%5C%5C",
        ][..],
    );
    let userinfo = select(
        &[
            "",
            "",
            "",
            "user@",
            "user:pw@",
            "app.example.com@",
            "@",
            ":@",
            "evil.com@",
            "app.example.com%40",
            "%40",
        ][..],
    );
    let host = select(
        &[
            "app.example.com",
            "APP.Example.COM",
            "app.example.com.",
            "evil.com",
            "app.example.com.evil.com",
            "app.example.com@evil.com",
            "evil.com\\@app.example.com",
            "app.example.com\\evil.com",
            "app%2Eexample%2Ecom",
            "app.example%2ecom",
            "app.example.com%2F.evil.com",
            "app.example.com%00.evil.com",
            "app.example.com%40evil.com",
            "xn--pp-7ba.example.com",
            "\u{0430}pp.example.com",
            "app.ex\u{0430}mple.com",
            "\u{ff41}\u{ff50}\u{ff50}.example.com",
            "app\u{3002}example\u{3002}com",
            "app.example.com\u{3002}evil.com",
            "[::1]",
            "127.0.0.1",
            "app.example.co",
            "app-example.com",
            "example.com",
            "other.example.net",
            "OTHER.example.net",
        ][..],
    );
    let port = select(
        &[
            "", "", ":443", ":8443", ":80", ":", ":0443", ":65536", ":abc",
        ][..],
    );
    let rest = select(
        &[
            "",
            "/",
            "/settings",
            "/done",
            "/done/",
            "/done/more",
            "/done?x=1",
            "/%2F%2Fevil.com",
            "//evil.com",
            "/\\evil.com",
            "?next=https://evil.com",
            "#@evil.com",
            "/..%2F..%2F",
            "/@evil.com",
            "/x\ty",
            "/x\r\nLocation: https://evil.com",
            "/x%0d%0aLocation:%20https://evil.com",
        ][..],
    );
    (scheme, slashes, userinfo, host, port, rest)
        .prop_map(|(s, sl, u, h, p, r)| format!("{s}{sl}{u}{h}{p}{r}"))
}

proptest! {
    #![proptest_config(cases(1024))]

    /// Hostile variants of the allowed URLs (scheme-relative, look-alike hosts, userinfo, ports,
    /// backslashes, percent-encoded separators, IDN, `javascript:`/`data:`…): whatever is accepted
    /// resolves to exactly the allowed origin or URL, carries no credentials, and had no
    /// whitespace, control character or backslash in it.
    #[test]
    fn return_to_hostile_variants_never_leave_the_allow_list(candidate in hostile_return_to()) {
        if let Some(url) = return_policy().check(&candidate) {
            prop_assert!(is_allowed_destination(&url), "{:?} accepted as {}", candidate, url);
            prop_assert!(!candidate.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control()));
        }
    }

    /// The families that name another host are always refused.
    #[test]
    fn return_to_other_hosts_are_refused(
        scheme in select(&["https:", "HTTPS:", "http:", ""][..]),
        slashes in select(&["//", "///", "\\\\", "/\\", "\\/", ""][..]),
        sep in select(&[".", "@", "%40", ":@", "\\@", "\u{3002}", "%2E", "%2e", "%2F", "%5C", ":pw@", "\u{ff0e}"][..]),
        rest in select(&["", "/", "/settings", "/done", "?x=1"][..]),
        payload in nasty_string(30),
        js in select(&["javascript:", "JAVASCRIPT:", "JaVaScRiPt:", "data:", "DATA:", "vbscript:"][..]),
    ) {
        let p = return_policy();
        for candidate in [
            format!("{scheme}{slashes}app.example.com{sep}evil.com{rest}"),
            format!("{slashes}evil.com{rest}"),
            format!("{scheme}{slashes}evil.com{sep}app.example.com{rest}"),
            format!("{js}{payload}"),
            format!("{js}//app.example.com/%0a{payload}"),
        ] {
            let accepted = p.check(&candidate);
            // `evil.com@app.example.com` style userinfo is refused too: credentials are never allowed.
            prop_assert!(accepted.is_none(), "{:?} accepted as {:?}", candidate, accepted);
        }
    }
}

proptest! {
    #![proptest_config(cases(512))]

    /// Arbitrary text: no panic, and anything accepted is an allowed destination.
    #[test]
    fn return_to_arbitrary_input_is_safe(
        candidate in prop_oneof![
            any::<String>(),
            nasty_string(80).prop_map(|s| format!("https://app.example.com{s}")),
            "[a-z0-9.:@-]{1,20}(/[a-z]{0,5})?".prop_map(|s| format!("https://app.example.com{s}")),
            nasty_string(80).prop_map(|s| format!("https:{s}")),
            nasty_string(80),
        ]
    ) {
        if let Some(url) = return_policy().check(&candidate) {
            prop_assert!(is_allowed_destination(&url), "{:?} accepted as {}", candidate, url);
        }
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// The rule is not vacuous: any path/query/fragment on the app's origin is accepted (also with
    /// a mixed-case scheme/host or the explicit default port), and the listed URL exactly.
    #[test]
    fn return_to_same_origin_is_accepted(
        path in "(/[A-Za-z0-9._~!$'()*+,;=:@%-]{0,12}){0,4}",
        query in prop::option::of("[A-Za-z0-9=&._~-]{0,20}"),
        fragment in prop::option::of("[A-Za-z0-9._~-]{0,10}"),
        origin in select(&["https://app.example.com", "HTTPS://APP.EXAMPLE.COM",
                           "https://App.Example.Com:443", "hTTps://app.example.com"][..]),
    ) {
        let mut candidate = format!("{origin}{path}");
        if let Some(q) = &query { candidate.push('?'); candidate.push_str(q); }
        if let Some(f) = &fragment { candidate.push('#'); candidate.push_str(f); }
        let url = return_policy().check(&candidate);
        prop_assert!(url.as_ref().is_some_and(is_allowed_destination), "{:?} gave {:?}", candidate, url);
        prop_assert!(return_policy().check(LISTED_RETURN_URL).is_some());
    }

    /// A tab, newline, NUL or any other whitespace/control character anywhere is refused.
    #[test]
    fn return_to_whitespace_and_controls_are_refused(
        base in select(&[APP_RETURN_URL, LISTED_RETURN_URL, "https://app.example.com/a?b=c#d"][..]),
        at in any::<Index>(),
        c in prop_oneof![
            select(&['\t', '\n', '\r', '\0', ' ', '\u{0b}', '\u{0c}', '\u{85}', '\u{a0}',
                     '\u{2028}', '\u{3000}', '\u{7f}', '\u{1b}'][..]),
            any::<char>().prop_filter("space or control", |c| c.is_whitespace() || c.is_control()),
        ],
    ) {
        let mut chars: Vec<char> = base.chars().collect();
        chars.insert(at.index(chars.len() + 1), c);
        let candidate = String::from_iter(chars);
        prop_assert_eq!(return_policy().check(&candidate), None, "{:?}", candidate);
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Scopes (scope.rs)
// ---------------------------------------------------------------------------------------------

fn scope_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "user.info.basic",
                "user.info.profile",
                "user.info.stats",
                "video.list",
                "video.publish",
                "video.upload"
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z0-9._]{1,64}",
    ]
}

fn is_scope_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
}

proptest! {
    #![proptest_config(cases(512))]

    /// Any text: no panic; a parsed set holds only valid names and survives print → parse.
    #[test]
    fn scopes_arbitrary_lists_never_panic_and_round_trip(
        list in prop_oneof![
            any::<String>(),
            nasty_string(100),
            prop::collection::vec(prop_oneof![scope_name(), nasty_string(8)], 0..6)
                .prop_map(|v| v.join(",")),
        ]
    ) {
        match ScopeSet::parse_comma_list(&list) {
            Ok(set) => {
                prop_assert!(set.iter().all(is_scope_name));
                let printed = set.to_comma_list();
                prop_assert_eq!(ScopeSet::parse_comma_list(&printed), Ok(set.clone()));
                let expected: BTreeSet<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
                prop_assert_eq!(set.iter().collect::<BTreeSet<_>>(), expected);
            }
            Err(bad) => {
                prop_assert!(!bad.is_empty() && bad.chars().count() <= 64);
                prop_assert!(!is_scope_name(&bad) || bad.chars().count() == 64);
            }
        }
    }

    /// Valid names, however separated, parse to exactly their set; printing is sorted,
    /// de-duplicated and comma-separated without spaces.
    #[test]
    fn scopes_valid_lists_parse_and_print_canonically(
        names in prop::collection::vec(scope_name(), 0..8),
        seps in prop::collection::vec(select(&[",", ", ", " ,", ",,", " , ", ",\t"][..]), 8),
        trailing in select(&["", ",", ", ", " "][..]),
    ) {
        let mut list = String::new();
        for (i, name) in names.iter().enumerate() {
            if i > 0 { list.push_str(seps[i % seps.len()]); }
            list.push_str(name);
        }
        list.push_str(trailing);
        let set = ScopeSet::parse_comma_list(&list).expect("valid list");
        let expected: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        prop_assert_eq!(set.iter().collect::<BTreeSet<_>>(), expected.clone());
        prop_assert_eq!(set.to_comma_list(), expected.into_iter().collect::<Vec<_>>().join(","));
        prop_assert_eq!(ScopeSet::parse_comma_list(&set.to_comma_list()), Ok(set));
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// One invalid item (uppercase, inner space, `-`, non-ASCII, CR/LF, over 64 bytes) fails the
    /// whole list, naming the first invalid item (trimmed, at most 64 characters).
    #[test]
    fn scopes_invalid_items_fail_the_list(
        names in prop::collection::vec(scope_name(), 0..5),
        bad in prop_oneof![
            "[a-z]{1,8}[A-Z -][a-z]{1,8}",
            "[a-z.]{1,5}[\u{e9}\u{430}\r\n\0*!][a-z.]{1,5}",
            "[a-z0-9._]{65,90}",
        ],
        at in any::<Index>(),
    ) {
        let mut items = names;
        items.insert(at.index(items.len() + 1), bad.clone());
        let list = items.join(",");
        let first_bad = items
            .iter()
            .map(|s| s.trim())
            .find(|s| !s.is_empty() && !is_scope_name(s))
            .expect("one is bad");
        prop_assert_eq!(
            ScopeSet::parse_comma_list(&list),
            Err(first_bad.chars().take(64).collect::<String>())
        );
    }
}

// --- Posting and webhooks (issue 7) -------------------------------------------------------

use connect_domain::secret::ClientSecret;
use connect_services::publish::{ChunkPlan, MAX_VIDEO_SIZE, PublishRequest};
use connect_services::webhook::verify_signature;

proptest! {
    #![proptest_config(cases(1000))]

    /// Every legal size gets a plan TikTok accepts, covering the file exactly, in order.
    #[test]
    fn chunk_plans_obey_tiktoks_rules(size in 1u64..=MAX_VIDEO_SIZE) {
        let plan = ChunkPlan::for_size(size).expect("a legal size");
        prop_assert_eq!(plan.check(), Ok(()));
        prop_assert_eq!(plan.chunks.iter().map(|c| c.size).sum::<u64>(), size);
        prop_assert_eq!(plan.total_chunk_count, plan.chunks.len() as u64);
    }

    /// Arbitrary bytes as a publish body: a parsed request or a 400 whose message never
    /// repeats what was sent.
    #[test]
    fn publish_bodies_parse_or_are_refused_without_echo(body in nasty_string(200)) {
        match PublishRequest::parse(body.as_bytes()) {
            Ok(_) => {}
            Err(ServiceError::InvalidRequest(message)) => {
                if body.len() >= 8 {
                    prop_assert!(!message.contains(&body), "{message}");
                }
            }
            Err(other) => prop_assert!(false, "{other:?}"),
        }
    }

    /// A signature header of arbitrary text never verifies, whatever the body.
    #[test]
    fn webhook_arbitrary_signatures_never_verify(header in nasty_string(120), body in nasty_string(80)) {
        let secret = ClientSecret::new("client-secret");
        prop_assert!(verify_signature(Some(header.as_bytes()), body.as_bytes(), &secret, now()).is_err());
    }

    /// A real signature verifies within 5 minutes and for nothing but its own body.
    #[test]
    fn webhook_signatures_bind_body_and_time(body in nasty_string(80), other in nasty_string(80), skew in -600i64..600) {
        use hmac::Mac as _;
        let secret = ClientSecret::new("client-secret");
        let t = now() - skew;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"client-secret").expect("key");
        mac.update(format!("{t}.{body}").as_bytes());
        let header = format!("t={t},s={}", hex::encode(mac.finalize().into_bytes()));
        let verified = verify_signature(Some(header.as_bytes()), body.as_bytes(), &secret, now()).is_ok();
        prop_assert_eq!(verified, skew.abs() <= 300);
        if other != body {
            prop_assert!(verify_signature(Some(header.as_bytes()), other.as_bytes(), &secret, now()).is_err());
        }
    }
}
