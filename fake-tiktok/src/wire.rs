//! Wire-format helpers shared by the endpoints: log ids, the OAuth error body, the v2 envelope,
//! the Janus 404, form/query parameters and TikTok-style percent-encoding.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::ids;
use crate::state::AppState;

/// The log id of the current request: in the `x-tt-logid` header and in every JSON body.
#[derive(Debug, Clone)]
pub(crate) struct LogId(pub(crate) String);

/// Outermost middleware: gives every request a log id and every response an `x-tt-logid` header.
pub(crate) async fn log_id_layer(
    State(app): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let id = ids::log_id(app.with(|s| s.clock.now()));
    req.extensions_mut().insert(LogId(id.clone()));
    let mut response = next.run(req).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-tt-logid", value);
    }
    response
}

/// The error code (never a secret) an error response carries, for the request log line:
/// OAuth errors come with HTTP 200, so the status alone would hide them.
#[derive(Debug, Clone)]
pub(crate) struct Outcome(pub(crate) String);

fn with_outcome(mut response: Response, outcome: &str) -> Response {
    response
        .extensions_mut()
        .insert(Outcome(outcome.to_owned()));
    response
}

/// TikTok's gateway answer for unknown paths, missing trailing slashes and wrong methods.
pub(crate) async fn janus() -> Response {
    tracing::info!(endpoint = "unsupported_path", status = 404, "request");
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Unsupported path(Janus)",
    )
        .into_response()
}

/// `{"error", "error_description", "log_id"}` with the given status.
pub(crate) fn oauth_error_body(
    status: StatusCode,
    error: &str,
    description: &str,
    log_id: &str,
) -> Response {
    json_response(
        status,
        &json!({ "error": error, "error_description": description, "log_id": log_id }),
    )
}

/// The v2 envelope for a success.
pub(crate) fn envelope_ok(data: Value, log_id: &str) -> Response {
    json_response(
        StatusCode::OK,
        &json!({ "data": data, "error": { "code": "ok", "message": "", "log_id": log_id } }),
    )
}

/// The v2 envelope for an error: `data` is an empty object.
pub(crate) fn envelope_error(
    status: StatusCode,
    code: &str,
    message: &str,
    log_id: &str,
) -> Response {
    json_response(
        status,
        &json!({ "data": {}, "error": { "code": code, "message": message, "log_id": log_id } }),
    )
}

/// Marks an HTML error page with the parameter it names.
pub(crate) fn page_outcome(response: Response, param: &str) -> Response {
    with_outcome(response, &format!("error_page:{param}"))
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// Whether the request declares this media type (parameters such as `charset` allowed).
pub(crate) fn has_content_type(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(expected))
}

/// Form or query parameters, decoded exactly once (`+` is a space, `%XX` a byte).
/// No `Debug`: a token form carries the client secret and the code.
#[derive(Default)]
pub(crate) struct Params(Vec<(String, String)>);

/// A parameter that appears more than once where one value is expected.
#[derive(Debug)]
pub(crate) struct Repeated;

impl Params {
    pub(crate) fn parse(raw: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The single value of `name`; an empty value counts as absent.
    pub(crate) fn one(&self, name: &str) -> Result<Option<&str>, Repeated> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (_, Some(_)) => Err(Repeated),
            (Some(""), None) | (None, None) => Ok(None),
            (Some(v), None) => Ok(Some(v)),
        }
    }

    /// Every value of a repeated parameter, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, as TikTok does in its
/// redirects (`*` → `%2A`, `!` → `%21`, `,` → `%2C`; the WHATWG form encoder would keep `*`).
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `base` with the parameters appended to its query.
pub(crate) fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&");
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_tiktok() {
        assert_eq!(encode_component("ab*0!12.u1"), "ab%2A0%2112.u1");
        assert_eq!(encode_component("a,b c"), "a%2Cb%20c");
    }

    #[test]
    fn params_decode_once() {
        let p = Params::parse(b"code=a%252A&x=1&x=2&e=");
        assert_eq!(p.one("code").ok().flatten(), Some("a%2A"));
        assert!(p.one("x").is_err());
        assert_eq!(p.one("e").ok().flatten(), None);
        assert_eq!(p.all("x"), vec!["1", "2"]);
    }

    #[test]
    fn query_appended() {
        assert_eq!(
            with_query("http://h/cb/", &[("a", "1")]),
            "http://h/cb/?a=1"
        );
        assert_eq!(
            with_query("http://h/cb/?z=0", &[("a", "1")]),
            "http://h/cb/?z=0&a=1"
        );
    }
}
