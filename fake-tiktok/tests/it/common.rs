//! Helpers: a running fake plus a reqwest client that never follows redirects.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fake_tiktok::{FakeConfig, FakeTikTok};
use reqwest::{Response, StatusCode, header};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const REDIRECT: &str = "http://127.0.0.1:9000/lambda-url/callback/";
pub const ALICE: &str = "open-alice-0001";
pub const BOB: &str = "open-bob-0002";
pub const ALL_USER_SCOPES: &str = "user.info.basic,user.info.profile,user.info.stats,video.list";
pub const VERIFIER: &str = "verifier-0123456789-abcdefghijklmnopqrstuvwxyz._~ABC";

pub struct Env {
    pub fake: FakeTikTok,
    pub http: reqwest::Client,
}

pub async fn env() -> Env {
    env_with(FakeConfig::default()).await
}

pub async fn env_with(config: FakeConfig) -> Env {
    let fake = FakeTikTok::start(config).await.expect("start fake");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Env { fake, http }
}

pub fn hex_challenge(verifier: &str) -> String {
    hex::encode(Sha256::digest(verifier.as_bytes()))
}

pub fn b64_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The decoded query of a redirect `Location`.
pub fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .expect("absolute location")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn location(resp: &Response) -> String {
    resp.headers()
        .get(header::LOCATION)
        .expect("Location header")
        .to_str()
        .expect("ascii location")
        .to_owned()
}

/// What the authorize request and the consent form carry.
#[derive(Clone)]
pub struct Auth {
    pub scope: String,
    pub state: String,
    pub challenge: Option<String>,
    pub extra: Vec<(String, String)>,
}

impl Auth {
    pub fn new(scope: &str) -> Self {
        Auth {
            scope: scope.to_owned(),
            state: "st-123".to_owned(),
            challenge: None,
            extra: Vec::new(),
        }
    }

    pub fn challenge(mut self, challenge: String) -> Self {
        self.challenge = Some(challenge);
        self
    }

    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.extra.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = vec![
            ("client_key".to_owned(), "fake_client_key".to_owned()),
            ("redirect_uri".to_owned(), REDIRECT.to_owned()),
            ("response_type".to_owned(), "code".to_owned()),
            ("scope".to_owned(), self.scope.clone()),
            ("state".to_owned(), self.state.clone()),
        ];
        if let Some(c) = &self.challenge {
            pairs.push(("code_challenge".to_owned(), c.clone()));
            pairs.push(("code_challenge_method".to_owned(), "S256".to_owned()));
        }
        // An extra pair replaces a default of the same name.
        for (k, v) in &self.extra {
            pairs.retain(|(name, _)| name != k);
            pairs.push((k.clone(), v.clone()));
        }
        pairs
    }
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.fake.base_url())
    }

    pub async fn authorize(&self, auth: &Auth, cookie: Option<&str>) -> Response {
        let mut req = self
            .http
            .get(self.fake.authorize_url())
            .query(&auth.pairs());
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        req.send().await.expect("authorize")
    }

    /// Posts the consent form as the page would.
    pub async fn consent(
        &self,
        auth: &Auth,
        account: &str,
        granted: &[&str],
        decision: &str,
    ) -> Response {
        let mut form = auth.pairs();
        form.push(("account".to_owned(), account.to_owned()));
        for g in granted {
            form.push(("granted".to_owned(), (*g).to_owned()));
        }
        form.push(("decision".to_owned(), decision.to_owned()));
        self.http
            .post(self.url("/v2/auth/authorize/consent/"))
            .form(&form)
            .send()
            .await
            .expect("consent")
    }

    /// Approves every requested scope as `account` and returns the decoded code.
    pub async fn code_for(&self, auth: &Auth, account: &str) -> String {
        let scopes: Vec<&str> = auth.scope.split(',').collect();
        let resp = self.consent(auth, account, &scopes, "approve").await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        query_of(&location(&resp))
            .remove("code")
            .expect("code in redirect")
    }

    pub async fn code(&self, scope: &str) -> String {
        self.code_for(&Auth::new(scope), ALICE).await
    }

    pub async fn token_form(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(self.url("/v2/oauth/token/"))
            .form(form)
            .send()
            .await
            .expect("token");
        let status = resp.status();
        (status, resp.json().await.expect("token json"))
    }

    pub async fn exchange(&self, code: &str, verifier: Option<&str>) -> (StatusCode, Value) {
        let mut form = vec![
            ("client_key", "fake_client_key"),
            ("client_secret", "fake_client_secret"),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        self.token_form(&form).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        self.token_form(&[
            ("client_key", "fake_client_key"),
            ("client_secret", "fake_client_secret"),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    pub async fn revoke(&self, token: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(self.url("/v2/oauth/revoke/"))
            .form(&[
                ("client_key", "fake_client_key"),
                ("client_secret", "fake_client_secret"),
                ("token", token),
            ])
            .send()
            .await
            .expect("revoke");
        let status = resp.status();
        (status, resp.json().await.expect("revoke json"))
    }

    /// Full login as Alice with these scopes; returns the token response.
    pub async fn login(&self, scope: &str) -> Value {
        let code = self.code(scope).await;
        let (status, body) = self.exchange(&code, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn user_info(&self, token: &str, fields: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .get(self.url("/v2/user/info/"))
            .query(&[("fields", fields)])
            .bearer_auth(token)
            .send()
            .await
            .expect("user info");
        let status = resp.status();
        (status, resp.json().await.expect("user info json"))
    }

    /// `POST` to the control API; `Null` for a body that is not JSON.
    pub async fn post_control(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("control");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// `POST /v2/video/query/?fields=…` of these ids.
    pub async fn video_query(
        &self,
        token: &str,
        fields: &str,
        ids: &[&str],
    ) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(self.url("/v2/video/query/"))
            .query(&[("fields", fields)])
            .bearer_auth(token)
            .json(&serde_json::json!({ "filters": { "video_ids": ids } }))
            .send()
            .await
            .expect("video query");
        let status = resp.status();
        (status, resp.json().await.expect("video query json"))
    }

    pub async fn video_list(&self, token: &str, fields: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(self.url("/v2/video/list/"))
            .query(&[("fields", fields)])
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("video list");
        let status = resp.status();
        (status, resp.json().await.expect("video list json"))
    }
}

pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// The `id`s of the `videos` of a video list or query answer.
pub fn video_ids(body: &Value) -> Vec<String> {
    body["data"]["videos"]
        .as_array()
        .expect("videos")
        .iter()
        .map(|v| s(v, "id").to_owned())
        .collect()
}

pub fn err_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

pub const POSTING_SCOPES: [&str; 2] = ["video.publish", "video.upload"];

pub const CREATOR_INFO: &str = "/v2/post/publish/creator_info/query/";
pub const DIRECT: &str = "/v2/post/publish/video/init/";
pub const INBOX: &str = "/v2/post/publish/inbox/video/init/";
pub const PHOTO: &str = "/v2/post/publish/content/init/";
pub const STATUS: &str = "/v2/post/publish/status/fetch/";
pub const CANCEL: &str = "/v2/post/publish/cancel/";
pub const VIDEO_URL: &str = "https://media.example.com/videos/cat.mp4";

/// A v2 envelope error: status, code, empty `data`, a 34-character log id.
pub fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!((status, err_code(body)), (want, code), "{body}");
    assert_eq!(body["data"], serde_json::json!({}), "{body}");
    assert_eq!(body["error"]["log_id"].as_str().map(str::len), Some(34));
}

/// A Direct Post body pulling [`VIDEO_URL`].
pub fn url_post(privacy: &str) -> Value {
    serde_json::json!({
        "post_info": { "title": "a #cat", "privacy_level": privacy },
        "source_info": { "source": "PULL_FROM_URL", "video_url": VIDEO_URL },
    })
}

/// A fresh access token (its own rate-limit windows) of `open_id` with both posting scopes.
pub fn posting_token(env: &Env, open_id: &str) -> String {
    env.fake.mint_grant(open_id, &POSTING_SCOPES).access_token
}

impl Env {
    /// `POST` a JSON body to a v2 API path with a bearer token.
    pub async fn api(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("api");
        let status = resp.status();
        (status, resp.json().await.expect("api json"))
    }

    /// `GET` a control route's JSON.
    pub async fn get_control(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("control")
            .json()
            .await
            .expect("control json")
    }
}

/// One init of Alice's with a fresh token (so rate limits never interfere).
pub async fn init_once(env: &Env, path: &str, body: Value) -> (StatusCode, Value) {
    env.api(path, &posting_token(env, ALICE), body).await
}

/// The `data` of a successful status fetch.
pub async fn status_of(env: &Env, token: &str, publish_id: &str) -> Value {
    let (status, body) = env
        .api(
            STATUS,
            token,
            serde_json::json!({ "publish_id": publish_id }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].clone()
}
