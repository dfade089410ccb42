//! HTML pages of the authorize flow: TikTok's "Something went wrong" page and the consent page.
//! Every reflected value is escaped: `state` and `redirect_uri` come straight from the query.

use std::fmt::Write as _;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::config::FakeUser;

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// TikTok's page for a misconfigured authorize request: names the bad parameter, never redirects.
pub(crate) fn error_page(status: StatusCode, param: &str) -> Response {
    let param = escape(param);
    let body = format!(
        "<h1>Something went wrong</h1>\n\
         <p>We couldn't log in with TikTok. This may be due to specific app settings.</p>\n\
         <p>If you're a developer, correct the following and try again: \
         <code id=\"error-param\" data-param=\"{param}\">{param}</code></p>\n"
    );
    crate::wire::page_outcome(page(status, "TikTok - Something went wrong", &body), &param)
}

/// What the consent page needs to render.
pub(crate) struct Consent<'a> {
    /// The original authorize parameters, re-sent as hidden inputs.
    pub(crate) hidden: Vec<(&'static str, &'a str)>,
    pub(crate) scopes: &'a [String],
    pub(crate) users: &'a [FakeUser],
    /// The account remembered by the browser's session cookie, pre-selected.
    pub(crate) preselect: Option<&'a str>,
}

pub(crate) fn consent_page(c: &Consent<'_>) -> Response {
    let mut body = String::from(
        "<h1>Log in with TikTok</h1>\n<p>This app would like to access your TikTok account.</p>\n\
         <form method=\"POST\" action=\"/v2/auth/authorize/consent/\">\n",
    );
    for (name, value) in &c.hidden {
        let _ = writeln!(
            body,
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        );
    }
    body.push_str("<fieldset>\n<legend>Choose an account (Switch account)</legend>\n");
    let selected = c
        .preselect
        .filter(|p| c.users.iter().any(|u| u.open_id == *p))
        .or_else(|| c.users.first().map(|u| u.open_id.as_str()));
    for (i, user) in c.users.iter().enumerate() {
        let checked = if Some(user.open_id.as_str()) == selected {
            " checked"
        } else {
            ""
        };
        let _ = writeln!(
            body,
            "<div><input type=\"radio\" name=\"account\" id=\"account-{i}\" value=\"{}\"{checked}> \
             <label for=\"account-{i}\">{} (@{})</label></div>",
            escape(&user.open_id),
            escape(&user.display_name),
            escape(&user.username)
        );
    }
    body.push_str("</fieldset>\n<fieldset>\n<legend>Allow access to</legend>\n");
    for (i, scope) in c.scopes.iter().enumerate() {
        let _ = writeln!(
            body,
            "<div><input type=\"checkbox\" name=\"granted\" id=\"scope-{i}\" value=\"{}\" checked> \
             <label for=\"scope-{i}\"><strong>{}</strong> — {}</label></div>",
            escape(scope),
            escape(scope),
            scope_description(scope)
        );
    }
    body.push_str(
        "</fieldset>\n<p class=\"buttons\">\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button> \
         <button type=\"submit\" name=\"decision\" value=\"approve\" class=\"primary\">Authorize</button>\
         </p>\n</form>\n",
    );
    page(StatusCode::OK, "TikTok - Authorize", &body)
}

fn scope_description(scope: &str) -> &'static str {
    match scope {
        "user.info.basic" => "Read your profile info (avatar, display name)",
        "user.info.profile" => "Read your profile details (bio, username, verified status)",
        "user.info.stats" => "Read your stats (followers, likes, video count)",
        "video.list" => "Read your public videos",
        "video.publish" => "Post content to TikTok on your behalf",
        "video.upload" => "Upload content to TikTok as drafts",
        _ => "",
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f8f8f8;margin:0}\
main{max-width:28rem;margin:3rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;\
box-shadow:0 1px 4px rgba(0,0,0,.15)}fieldset{border:1px solid #ddd;margin:1rem 0;padding:.5rem 1rem}\
fieldset div{margin:.4rem 0}label{cursor:pointer}.buttons{display:flex;gap:1rem;justify-content:flex-end}\
button{font-size:1rem;padding:.5rem 1.2rem;border-radius:4px;border:1px solid #ccc;background:#fff;cursor:pointer}\
button.primary{background:#fe2c55;color:#fff;border-color:#fe2c55}code{background:#eee;padding:0 .3rem}";
