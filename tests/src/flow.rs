//! Driving the connect flow the way a browser does: app → authorize → TikTok consent page →
//! callback → app, with real Lambda events for the functions and real HTTP for the fake TikTok.

use lambda_http::{Body, Request, Response};
use serde_json::json;
use url::Url;

use crate::stack::Stack;

/// An API Gateway HTTP API (payload 2.0) event, as API Gateway or `cargo lambda watch` sends it,
/// turned into a request by lambda_http's own parser.
pub fn api_event(method: &str, path: &str, raw_query: &str, headers: &[(&str, &str)]) -> Request {
    api_event_with_body(method, path, raw_query, headers, None)
}

/// [`api_event`] with a (text) body, as API Gateway delivers a JSON POST.
pub fn api_event_with_body(
    method: &str,
    path: &str,
    raw_query: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Request {
    let event = api_event_json(&format!("{method} {path}"), path, raw_query, headers, body);
    lambda_http::request::from_str(&event.to_string()).expect("valid API Gateway v2 event")
}

/// The JSON of an API Gateway HTTP API (payload 2.0) event for `route_key` (`"GET /tiktok/me"`,
/// or with a path parameter `"GET /tiktok/publish/{publish_id}"`) at `path`: what [`api_event`]
/// parses, and what `make bench-cold` hands a function's binary through the Runtime API.
pub fn api_event_json(
    route_key: &str,
    path: &str,
    raw_query: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> serde_json::Value {
    let method = route_key.split(' ').next().unwrap_or("GET");
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
        .chain([("host".to_owned(), json!("api.example.com"))])
        .collect();
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "tests"},
            "requestId": "req-1",
            "routeKey": route_key,
            "stage": "$default",
            "time": "22/Nov/2026:00:00:00 +0000",
            "timeEpoch": 1_795_000_000_000_i64
        },
        "isBase64Encoded": false,
        "body": body
    })
}

pub fn body_json(response: &Response<Body>) -> serde_json::Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
        Body::Binary(bytes) => serde_json::from_slice(bytes).expect("JSON body"),
        Body::Empty => serde_json::Value::Null,
        _ => panic!("unexpected body type"),
    }
}

pub fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Query parameters of a URL as (name, decoded value) pairs.
pub fn params(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// What the person does on TikTok's consent page.
#[derive(Debug, Clone)]
pub struct ConsentChoice {
    pub account: &'static str,
    /// Scopes left ticked; `None` keeps every requested scope.
    pub granted: Option<Vec<&'static str>>,
    pub approve: bool,
}

impl ConsentChoice {
    pub fn approve(account: &'static str) -> Self {
        Self {
            account,
            granted: None,
            approve: true,
        }
    }
}

pub const ALICE: &str = "open-alice-0001";
pub const BOB: &str = "open-bob-0002";

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl Stack {
    /// `GET /tiktok/authorize` through the handler.
    pub async fn call_authorize(
        &self,
        raw_query: &str,
        authorization: Option<&str>,
    ) -> Response<Body> {
        let headers: Vec<(&str, &str)> = authorization
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        authorize::handle(
            &self.authorize,
            api_event("GET", "/tiktok/authorize", raw_query, &headers),
        )
        .await
        .expect("handler never errors")
    }

    /// The authorize URL for `app_user`, asserting a 200.
    pub async fn start_connect(&self, app_user: &str, raw_query: &str) -> Url {
        let bearer = format!("Bearer {}", self.jwt(app_user));
        let response = self.call_authorize(raw_query, Some(&bearer)).await;
        assert_eq!(
            response.status(),
            200,
            "authorize: {:?}",
            body_json(&response)
        );
        let body = body_json(&response);
        assert_eq!(body["expires_in"], 600);
        Url::parse(body["authorize_url"].as_str().expect("authorize_url")).expect("absolute URL")
    }

    /// Loads TikTok's consent page, then submits the person's choice; returns TikTok's redirect
    /// to our callback (the `Location` header, verbatim).
    pub async fn consent(&self, authorize_url: &Url, choice: &ConsentChoice) -> String {
        let browser = browser();
        let page = browser
            .get(authorize_url.as_str())
            .send()
            .await
            .expect("consent page");
        assert_eq!(page.status(), 200);
        let html = page.text().await.expect("html");
        assert!(
            html.contains("<form"),
            "TikTok showed no consent form: {html}"
        );

        let mut form: Vec<(String, String)> = params(authorize_url);
        form.push(("account".into(), choice.account.into()));
        let requested = param(authorize_url, "scope").unwrap_or_default();
        let granted: Vec<String> = match &choice.granted {
            None => requested.split(',').map(str::to_owned).collect(),
            Some(list) => list.iter().map(|s| (*s).to_owned()).collect(),
        };
        form.extend(granted.into_iter().map(|s| ("granted".to_owned(), s)));
        form.push((
            "decision".into(),
            if choice.approve { "approve" } else { "deny" }.into(),
        ));
        let answer = browser
            .post(format!(
                "{}/v2/auth/authorize/consent/",
                self.fake.base_url()
            ))
            .form(&form)
            .send()
            .await
            .expect("consent submit");
        assert_eq!(answer.status(), 302, "consent answer");
        answer
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("Location")
            .to_owned()
    }

    /// Authorize as `app_user` and approve on TikTok's consent page as `account`: TikTok's redirect,
    /// ready to be delivered to the callback (or tampered with first).
    pub async fn approved_redirect(&self, app_user: &str, account: &'static str) -> String {
        let authorize_url = self.start_connect(app_user, "").await;
        self.consent(&authorize_url, &ConsentChoice::approve(account))
            .await
    }

    /// Delivers TikTok's redirect to the callback function; returns its response.
    pub async fn deliver_callback(&self, tiktok_redirect: &str) -> Response<Body> {
        let url = Url::parse(tiktok_redirect).expect("redirect URL");
        assert!(
            tiktok_redirect.starts_with(crate::stack::REDIRECT_URI),
            "{tiktok_redirect}"
        );
        self.call_callback(url.query().unwrap_or_default()).await
    }

    /// `GET /tiktok/callback?<raw_query>` through the handler.
    pub async fn call_callback(&self, raw_query: &str) -> Response<Body> {
        callback::handle(
            &self.callback,
            api_event("GET", "/tiktok/callback", raw_query, &[]),
        )
        .await
        .expect("handler never errors")
    }

    /// The app URL the callback sent the browser to, asserting the redirect headers.
    pub fn app_location(response: &Response<Body>) -> Url {
        assert_eq!(response.status(), 302);
        assert_eq!(header(response, "cache-control"), Some("no-store"));
        assert_eq!(header(response, "referrer-policy"), Some("no-referrer"));
        let location = Url::parse(header(response, "location").expect("Location")).expect("URL");
        assert!(param(&location, "code").is_none() && param(&location, "state").is_none());
        location
    }

    /// The whole flow for `app_user`; returns where the app was sent.
    pub async fn connect(
        &self,
        app_user: &str,
        authorize_query: &str,
        choice: &ConsentChoice,
    ) -> Url {
        let authorize_url = self.start_connect(app_user, authorize_query).await;
        let redirect = self.consent(&authorize_url, choice).await;
        Self::app_location(&self.deliver_callback(&redirect).await)
    }
}
