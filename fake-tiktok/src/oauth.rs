//! `POST /v2/oauth/token/` and `POST /v2/oauth/revoke/`: form-encoded only, flat JSON answers,
//! OAuth errors with the configured HTTP status (200 by default, like TikTok).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::grants::{MALFORMED, OAuthError};
use crate::state::{AppState, Store};
use crate::wire::{LogId, Params, has_content_type, json_response, oauth_error_body};

const SECRET_MISSING: OAuthError = OAuthError {
    error: "invalid_request",
    description: "Client secret is missed in request.",
};
const CLIENT_INVALID: OAuthError = OAuthError {
    error: "invalid_client",
    description: "Client key or secret is invalid.",
};
const GRANT_TYPE_UNSUPPORTED: OAuthError = OAuthError {
    error: "unsupported_grant_type",
    description: "The grant type is not supported.",
};

/// Parses the form and authenticates the client; common to token and revoke.
fn client_form(s: &Store, headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    if !has_content_type(headers, "application/x-www-form-urlencoded") {
        return Err(MALFORMED);
    }
    let form = Params::parse(body);
    let one = |name| form.one(name).map_err(|_| MALFORMED);
    let client_key = one("client_key")?.ok_or(MALFORMED)?;
    if client_key != s.config.client_key {
        return Err(CLIENT_INVALID);
    }
    let secret = one("client_secret")?.ok_or(SECRET_MISSING)?;
    if secret != s.config.client_secret {
        return Err(CLIENT_INVALID);
    }
    Ok(form)
}

fn oauth_error(s: &Store, e: OAuthError, log_id: &str) -> Response {
    let status = StatusCode::from_u16(s.config.oauth_error_status).unwrap_or(StatusCode::OK);
    oauth_error_body(status, e.error, e.description, log_id)
}

pub(crate) async fn token(
    State(app): State<AppState>,
    Extension(LogId(log_id)): Extension<LogId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    app.with(|s| match grant(s, &headers, &body) {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => oauth_error(s, e, &log_id),
    })
}

fn grant(s: &mut Store, headers: &HeaderMap, body: &[u8]) -> Result<serde_json::Value, OAuthError> {
    let form = client_form(s, headers, body)?;
    let one = |name| form.one(name).map_err(|_| MALFORMED);
    let now = s.clock.now();
    let tokens = match one("grant_type")?.ok_or(MALFORMED)? {
        "authorization_code" => {
            let code = one("code")?.ok_or(MALFORMED)?;
            let redirect_uri = one("redirect_uri")?;
            let verifier = one("code_verifier")?;
            s.grants
                .exchange_code(now, &s.config, code, redirect_uri, verifier)?
        }
        "refresh_token" => {
            let refresh_token = one("refresh_token")?.ok_or(MALFORMED)?;
            s.grants.refresh(now, &s.config, refresh_token)?
        }
        "client_credentials" => {
            let (access_token, expires_in) = s.grants.client_token(now);
            return Ok(json!({
                "access_token": access_token,
                "expires_in": expires_in,
                "token_type": "Bearer",
            }));
        }
        _ => return Err(GRANT_TYPE_UNSUPPORTED),
    };
    Ok(json!({
        "access_token": tokens.access_token,
        "expires_in": tokens.expires_in,
        "open_id": tokens.open_id,
        "refresh_expires_in": tokens.refresh_expires_in,
        "refresh_token": tokens.refresh_token,
        "scope": tokens.scope,
        "token_type": "Bearer",
    }))
}

pub(crate) async fn revoke(
    State(app): State<AppState>,
    Extension(LogId(log_id)): Extension<LogId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    app.with(|s| {
        let result = client_form(s, &headers, &body).and_then(|form| {
            let token = form.one("token").map_err(|_| MALFORMED)?.ok_or(MALFORMED)?;
            let now = s.clock.now();
            let client_key = s.config.client_key.clone();
            s.grants.revoke(now, &client_key, token)
        });
        match result {
            Ok(open_id) => {
                // reason 5: the developer revoked the authorization.
                s.emit_webhook("authorization.removed", &open_id, &json!({ "reason": 5 }));
                json_response(StatusCode::OK, &json!({}))
            }
            Err(e) => oauth_error(s, e, &log_id),
        }
    })
}
