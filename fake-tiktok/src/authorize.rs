//! `GET /v2/auth/authorize/` (validation, consent page, silent re-auth) and the consent form
//! `POST /v2/auth/authorize/consent/` (account choice, partial grants, approve/deny).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::config::{FakeConfig, PkceMode};
use crate::grants::CodeRequest;
use crate::pages::{self, Consent};
use crate::state::{AppState, Store};
use crate::wire::{Params, with_query};

/// Scopes TikTok knows (Login Kit, Display API, Content Posting).
pub(crate) const KNOWN_SCOPES: [&str; 6] = [
    "user.info.basic",
    "user.info.profile",
    "user.info.stats",
    "video.list",
    "video.publish",
    "video.upload",
];

/// The browser's TikTok session, set when the user approves.
const SESSION_COOKIE: &str = "tt_fake_session";

/// A validated authorize request (no `Debug`: it carries the CSRF `state`).
struct AuthRequest {
    client_key: String,
    redirect_uri: String,
    scope: String,
    scopes: Vec<String>,
    state: String,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    disable_auto_auth: bool,
}

/// Checks the authorize parameters in TikTok's order; `Err` names the parameter to fix.
fn validate(params: &Params, config: &FakeConfig) -> Result<AuthRequest, &'static str> {
    let one = |name: &'static str| params.one(name).map_err(|_| name);

    let client_key = one("client_key")?
        .filter(|k| *k == config.client_key)
        .ok_or("client_key")?;
    let redirect_uri = one("redirect_uri")?
        .filter(|r| {
            config
                .redirect_uris
                .iter()
                .any(|known| redirect_matches(known, r))
        })
        .ok_or("redirect_uri")?;
    one("response_type")?
        .filter(|t| *t == "code")
        .ok_or("response_type")?;
    let scope = one("scope")?.ok_or("scope")?;
    let mut scopes: Vec<String> = Vec::new();
    for s in scope.split(',') {
        if !KNOWN_SCOPES.contains(&s) {
            return Err("scope");
        }
        if !scopes.iter().any(|known| known == s) {
            scopes.push(s.to_owned());
        }
    }
    let state = one("state")?.ok_or("state")?;
    let code_challenge = one("code_challenge")?;
    let code_challenge_method = one("code_challenge_method")?;
    if config.pkce != PkceMode::Off && code_challenge.is_none() {
        return Err("code_challenge");
    }
    if code_challenge.is_some() && code_challenge_method != Some("S256") {
        return Err("code_challenge_method");
    }
    let disable_auto_auth = match one("disable_auto_auth")? {
        None | Some("0") => false,
        Some("1") => true,
        Some(_) => return Err("disable_auto_auth"),
    };
    Ok(AuthRequest {
        client_key: client_key.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scope: scope.to_owned(),
        scopes,
        state: state.to_owned(),
        code_challenge: code_challenge.map(str::to_owned),
        code_challenge_method: code_challenge_method.map(str::to_owned),
        disable_auto_auth,
    })
}

/// Byte-exact, except that a registered `:*` port (desktop apps) matches any port number.
fn redirect_matches(registered: &str, given: &str) -> bool {
    match registered.split_once(":*") {
        None => registered == given,
        Some((head, tail)) => given
            .strip_prefix(head)
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|rest| {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                ((1..=5).contains(&digits)).then(|| &rest[digits..])
            })
            .is_some_and(|rest| rest == tail),
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

pub(crate) async fn authorize(
    State(app): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(uri.query().unwrap_or_default().as_bytes());
    let session = session_cookie(&headers);
    app.with(|s| {
        let req = match validate(&params, &s.config) {
            Ok(req) => req,
            Err(param) => return pages::error_page(StatusCode::OK, param),
        };
        // disable_auto_auth=0: a browser that already approved the same scopes skips the page.
        if !req.disable_auto_auth
            && let Some(open_id) = session.as_deref()
            && s.has_user(open_id)
            && s.grants.has_approval(open_id, &req.client_key, &req.scopes)
        {
            let scopes = req.scopes.clone();
            return approve(s, &req, open_id, scopes);
        }
        let hidden = vec![
            ("client_key", req.client_key.as_str()),
            ("redirect_uri", req.redirect_uri.as_str()),
            ("response_type", "code"),
            ("scope", req.scope.as_str()),
            ("state", req.state.as_str()),
            (
                "code_challenge",
                req.code_challenge.as_deref().unwrap_or_default(),
            ),
            (
                "code_challenge_method",
                req.code_challenge_method.as_deref().unwrap_or_default(),
            ),
            (
                "disable_auto_auth",
                if req.disable_auto_auth { "1" } else { "0" },
            ),
        ];
        pages::consent_page(&Consent {
            hidden,
            scopes: &req.scopes,
            users: &s.config.users,
            preselect: session.as_deref(),
        })
    })
}

pub(crate) async fn consent(State(app): State<AppState>, body: Bytes) -> Response {
    let form = Params::parse(&body);
    app.with(|s| {
        let req = match validate(&form, &s.config) {
            Ok(req) => req,
            Err(param) => return pages::error_page(StatusCode::OK, param),
        };
        // Below: the fake's own form contract, so a misuse is a 400 naming the field.
        let decision = match form.one("decision") {
            Ok(Some(d @ ("approve" | "deny"))) => d,
            _ => return pages::error_page(StatusCode::BAD_REQUEST, "decision"),
        };
        let granted: Vec<String> = req
            .scopes
            .iter()
            .filter(|s| form.all("granted").contains(&s.as_str()))
            .cloned()
            .collect();
        if form
            .all("granted")
            .iter()
            .any(|g| !req.scopes.iter().any(|s| s == g))
        {
            return pages::error_page(StatusCode::BAD_REQUEST, "granted");
        }
        if decision == "deny" || granted.is_empty() {
            return deny(&req);
        }
        let account = match form.one("account") {
            Ok(Some(a)) if s.has_user(a) => a,
            _ => return pages::error_page(StatusCode::BAD_REQUEST, "account"),
        };
        let outside_sandbox = s
            .config
            .sandbox_targets
            .as_ref()
            .is_some_and(|targets| !targets.iter().any(|t| t == account));
        if outside_sandbox {
            return redirect(&with_query(
                &req.redirect_uri,
                &[
                    ("error", "access_denied"),
                    ("error_type", "non_sandbox_target"),
                    (
                        "error_description",
                        "The user is not a target user of this sandbox app.",
                    ),
                    ("state", &req.state),
                ],
            ));
        }
        approve(s, &req, account, granted)
    })
}

/// Issues a code and redirects with it; remembers the consent for silent re-auth.
fn approve(s: &mut Store, req: &AuthRequest, open_id: &str, granted: Vec<String>) -> Response {
    let now = s.clock.now();
    s.grants.record_approval(open_id, &req.client_key, &granted);
    let scopes = granted.join(",");
    let code = s.grants.issue_code(
        now,
        s.config.code_ttl_secs,
        CodeRequest {
            client_key: req.client_key.clone(),
            redirect_uri: req.redirect_uri.clone(),
            open_id: open_id.to_owned(),
            scopes: granted,
            challenge: req.code_challenge.clone(),
        },
    );
    let location = with_query(
        &req.redirect_uri,
        &[("code", &code), ("scopes", &scopes), ("state", &req.state)],
    );
    let mut response = redirect(&location);
    let cookie = format!("{SESSION_COOKIE}={open_id}; Path=/; HttpOnly; SameSite=Lax");
    if let Ok(value) = HeaderValue::from_str(&cookie)
        && open_id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"\";,\\".contains(&b))
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn deny(req: &AuthRequest) -> Response {
    let location = with_query(
        &req.redirect_uri,
        &[
            ("error", "access_denied"),
            (
                "error_description",
                "The user denied the authorization request.",
            ),
            ("state", &req.state),
        ],
    );
    redirect(&location)
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, value),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        // Only reachable with a registered redirect URI that is not a valid header value.
        Err(_) => pages::error_page(StatusCode::OK, "redirect_uri"),
    }
}

#[cfg(test)]
mod tests {
    use super::redirect_matches;

    #[test]
    fn wildcard_port() {
        let reg = "http://127.0.0.1:*/callback/";
        assert!(redirect_matches(reg, "http://127.0.0.1:5000/callback/"));
        assert!(!redirect_matches(reg, "http://127.0.0.1/callback/"));
        assert!(!redirect_matches(reg, "http://127.0.0.1:5000/callback"));
        assert!(!redirect_matches(reg, "http://127.0.0.1:50a/callback/"));
        assert!(redirect_matches("https://a/cb/", "https://a/cb/"));
        assert!(!redirect_matches("https://a/cb/", "https://a/cb"));
    }
}
