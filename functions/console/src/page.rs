//! The reference settings page (`GET /tiktok/console`): one static HTML page, rendered once per
//! cold start from the function's template and its settings, and served with a strict
//! Content-Security-Policy that allows exactly the page's one inline style and one inline script
//! (by their SHA-256), same-origin API calls, and TikTok's image CDNs.
//!
//! The page needs no AWS access and no secret. Its one local-only feature, the dev sign-in form
//! (which posts to `make dev`'s gateway), is cut out of the page unless `CONSOLE_DEV_SIGN_IN=1`,
//! which only `scripts/dev.sh` sets; `tests/tests/it/least_privilege.rs` checks that the template
//! never does.

use std::io::Write as _;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::GzEncoder;
use lambda_http::Body;
use lambda_http::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use sha2::{Digest, Sha256};
use url::Url;

use connect_domain::scope::ScopeSet;
use connect_http::api_error::ApiError;
use connect_runtime::config::ConfigError;

/// The variable that adds the dev sign-in form; set by `scripts/dev.sh` only, never deployed.
pub const DEV_SIGN_IN_VAR: &str = "CONSOLE_DEV_SIGN_IN";

/// Where the template's `<body>` takes the page's settings (as `data-*` attributes).
const CONFIG_MARKER: &str = "__CONSOLE_CONFIG__";
const DEV_BEGIN: &str = "<!-- dev-sign-in:begin -->";
const DEV_END: &str = "<!-- dev-sign-in:end -->";

/// Where TikTok serves avatars and video covers (`avatar_url`, `cover_image_url`).
const IMAGE_SOURCES: [&str; 6] = [
    "https://*.tiktokcdn.com",
    "https://*.tiktokcdn-us.com",
    "https://*.tiktokcdn-eu.com",
    "https://*.ibyteimg.com",
    "https://*.byteimg.com",
    "https://*.muscdn.com",
];

/// What the page is rendered with, read once per cold start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsoleSettings {
    /// Show the dev sign-in form (`CONSOLE_DEV_SIGN_IN=1`; `make dev` only).
    pub dev_sign_in: bool,
    /// The app's origin (`APP_RETURN_URL`'s): it may embed the page in a frame and post it a JWT.
    pub app_origin: Option<String>,
    /// The scopes offered as checkboxes (`TIKTOK_SCOPES`, default `user.info.basic`).
    pub scopes: Vec<String>,
}

impl ConsoleSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`. A malformed value stops the cold start, as for every
    /// function; a missing `APP_RETURN_URL` only means no app may embed the page.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let dev_sign_in = match get(DEV_SIGN_IN_VAR).as_deref() {
            None | Some("0") => false,
            Some("1") => true,
            Some(other) => {
                return Err(ConfigError {
                    variable: DEV_SIGN_IN_VAR,
                    problem: format!("is `{other}`; leave it unset (only `make dev` sets it to 1)"),
                });
            }
        };
        let app_origin = match get("APP_RETURN_URL") {
            None => None,
            Some(value) => {
                let url = Url::parse(&value)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some());
                let url = url.ok_or_else(|| ConfigError {
                    variable: "APP_RETURN_URL",
                    problem: "is not an absolute http(s) URL; use for example https://app.example.com/settings".into(),
                })?;
                Some(url.origin().ascii_serialization())
            }
        };
        let scopes = match get("TIKTOK_SCOPES") {
            None => vec![connect_domain::scope::USER_INFO_BASIC.to_owned()],
            Some(list) => ScopeSet::parse_comma_list(&list)
                .map_err(|bad| ConfigError {
                    variable: "TIKTOK_SCOPES",
                    problem: format!(
                        "contains `{bad}`, which is not a scope; use a comma-separated list such as user.info.basic,video.list"
                    ),
                })?
                .to_vec(),
        };
        Ok(Self {
            dev_sign_in,
            app_origin,
            scopes,
        })
    }
}

/// The template does not have the shape the renderer relies on (a bug caught by the unit tests).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the console page template {0}")]
pub struct TemplateError(&'static str);

/// The rendered page and its Content-Security-Policy.
#[derive(Debug, Clone)]
pub struct ConsolePage {
    html: String,
    /// The page gzipped, made on the first request that takes it (not during the cold start);
    /// `None` if compressing failed, which writing to memory cannot.
    gzipped: OnceLock<Option<Vec<u8>>>,
    csp: String,
}

impl ConsolePage {
    /// Renders `template` (the function's `console.html`): settings into `<body>`, the dev sign-in
    /// block kept or cut out, and a policy naming the hashes of its one style and one script.
    pub fn render(template: &str, settings: &ConsoleSettings) -> Result<Self, TemplateError> {
        let (before, rest) = template
            .split_once(DEV_BEGIN)
            .ok_or(TemplateError("has no dev-sign-in:begin marker"))?;
        let (dev_block, after) = rest
            .split_once(DEV_END)
            .ok_or(TemplateError("has no dev-sign-in:end marker"))?;
        if after.contains(DEV_BEGIN) || after.contains(DEV_END) {
            return Err(TemplateError("has more than one dev sign-in block"));
        }
        let dev_block = if settings.dev_sign_in { dev_block } else { "" };
        let page = format!("{before}{dev_block}{after}");
        if page.matches(CONFIG_MARKER).count() != 1 {
            return Err(TemplateError("must have the settings marker exactly once"));
        }
        let html = page.replace(CONFIG_MARKER, &settings_attributes(settings));
        let style = only_inline(&html, "style")?;
        let script = only_inline(&html, "script")?;
        let frame_ancestors = settings.app_origin.as_deref().unwrap_or("'none'");
        let csp = format!(
            "default-src 'none'; script-src '{}'; style-src '{}'; img-src {} data:; \
             connect-src 'self'; frame-ancestors {frame_ancestors}; base-uri 'none'; \
             form-action 'self'; require-trusted-types-for 'script'; trusted-types 'none'",
            sha256_source(script),
            sha256_source(style),
            IMAGE_SOURCES.join(" "),
        );
        Ok(Self {
            html,
            gzipped: OnceLock::new(),
            csp,
        })
    }

    pub fn html(&self) -> &str {
        &self.html
    }

    pub fn content_security_policy(&self) -> &str {
        &self.csp
    }

    /// The page gzipped (computed once).
    pub fn gzipped(&self) -> Option<&[u8]> {
        self.gzipped
            .get_or_init(|| {
                let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
                encoder.write_all(self.html.as_bytes()).ok()?;
                encoder.finish().ok()
            })
            .as_deref()
    }

    /// `GET` answers the page, gzipped when the request's `Accept-Encoding` takes gzip (API
    /// Gateway passes a function's encoding through and compresses nothing itself); any other
    /// method `405` with `Allow: GET`. The query is ignored here (the page itself reads the connect
    /// outcome, `?tiktok=…`, from it).
    pub fn respond(&self, method: &Method, request_headers: &HeaderMap) -> Response<Body> {
        if method != Method::GET {
            return ApiError::MethodNotAllowed("GET").to_response();
        }
        let gzipped = accepts_gzip(request_headers)
            .then(|| self.gzipped())
            .flatten();
        let body = match gzipped {
            Some(bytes) => Body::Binary(bytes.to_vec()),
            None => Body::Text(self.html.clone()),
        };
        let mut response = Response::new(body);
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        if gzipped.is_some() {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        if let Ok(csp) = HeaderValue::from_str(&self.csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        // Nothing personal in it, but always the current deployment's page (and its hashes).
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }
}

/// Whether an `Accept-Encoding` header takes gzip: `gzip` or `*` listed without `q=0`, an
/// explicit `gzip;q=0` winning over `*` (RFC 9110, section 12.5.3).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut star = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let quality = parts
                .filter_map(|param| param.trim().strip_prefix("q="))
                .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
                .next()
                .unwrap_or(1.0);
            if coding.eq_ignore_ascii_case("gzip") {
                return quality > 0.0;
            }
            if coding == "*" {
                star = quality > 0.0;
            }
        }
    }
    star
}

/// `data-scopes="…" data-app-origin="…"`, escaped for a double-quoted attribute.
fn settings_attributes(settings: &ConsoleSettings) -> String {
    let mut attributes = format!(
        "data-scopes=\"{}\"",
        escape_attribute(&settings.scopes.join(","))
    );
    if let Some(origin) = &settings.app_origin {
        attributes.push_str(&format!(
            " data-app-origin=\"{}\"",
            escape_attribute(origin)
        ));
    }
    attributes
}

fn escape_attribute(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
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

/// The text of the page's one `<tag>…</tag>` (no attributes): a second one, or one with
/// attributes, would be blocked by the policy, so the template may not have it.
fn only_inline<'a>(html: &'a str, tag: &str) -> Result<&'a str, TemplateError> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let missing = match tag {
        "style" => "needs exactly one <style> without attributes",
        _ => "needs exactly one <script> without attributes",
    };
    if html.matches(&format!("<{tag}")).count() != 1 || html.matches(&close).count() != 1 {
        return Err(TemplateError(missing));
    }
    let (_, rest) = html.split_once(&open).ok_or(TemplateError(missing))?;
    let (text, _) = rest.split_once(&close).ok_or(TemplateError(missing))?;
    Ok(text)
}

/// A CSP hash source: `sha256-<base64 of the SHA-256 of the text>`.
fn sha256_source(text: &str) -> String {
    format!(
        "sha256-{}",
        STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    const TEMPLATE: &str = "<!DOCTYPE html><html><head><style>p{color:red}</style></head>\
        <body __CONSOLE_CONFIG__><!-- dev-sign-in:begin --><form id=\"dev-sign-in\" action=\"/_dev/sign-in\">\
        </form><!-- dev-sign-in:end --><form id=\"jwt-form\"></form><script>go()</script></body></html>";

    fn settings(lookup: &[(&str, &str)]) -> ConsoleSettings {
        ConsoleSettings::from_lookup(|name| {
            lookup
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("settings")
    }

    #[test]
    fn without_the_variable_the_page_has_no_dev_sign_in() {
        let plain = settings(&[]);
        assert!(!plain.dev_sign_in);
        let page = ConsolePage::render(TEMPLATE, &plain).expect("page");
        assert!(!page.html().contains("dev-sign-in"), "{}", page.html());
        assert!(!page.html().contains("/_dev/"), "{}", page.html());
        assert!(page.html().contains("id=\"jwt-form\""));

        let dev = ConsolePage::render(TEMPLATE, &settings(&[(DEV_SIGN_IN_VAR, "1")])).expect("dev");
        assert!(
            dev.html()
                .contains("<form id=\"dev-sign-in\" action=\"/_dev/sign-in\">")
        );
        assert!(!dev.html().contains("<!--"), "markers are removed");
    }

    #[test]
    fn the_variable_takes_only_1_or_0() {
        assert!(!settings(&[(DEV_SIGN_IN_VAR, "0")]).dev_sign_in);
        let err = ConsoleSettings::from_lookup(|name| {
            (name == DEV_SIGN_IN_VAR).then(|| "yes".to_owned())
        })
        .expect_err("refused");
        assert_eq!(err.variable, DEV_SIGN_IN_VAR);
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_style_and_script() {
        let page = ConsolePage::render(TEMPLATE, &settings(&[])).expect("page");
        let csp = page.content_security_policy();
        // echo -n 'go()' | openssl dgst -sha256 -binary | base64
        assert!(
            csp.contains("script-src 'sha256-5KYv+PUboo5h+0+YAtGRPbwv5d/QxzHslP4YGnUaxRw='"),
            "{csp}"
        );
        assert!(csp.contains(&format!("style-src '{}'", sha256_source("p{color:red}"))));
        for directive in [
            "default-src 'none'",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "img-src https://*.tiktokcdn.com",
        ] {
            assert!(csp.contains(directive), "{directive} in {csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
    }

    #[test]
    fn the_app_origin_may_frame_the_page_and_is_handed_to_it() {
        let s = settings(&[
            ("APP_RETURN_URL", "https://app.example.com/settings?x=1"),
            ("TIKTOK_SCOPES", "video.list,user.info.basic"),
        ]);
        assert_eq!(s.app_origin.as_deref(), Some("https://app.example.com"));
        let page = ConsolePage::render(TEMPLATE, &s).expect("page");
        assert!(
            page.content_security_policy()
                .contains("frame-ancestors https://app.example.com;")
        );
        assert!(page.html().contains(
            "<body data-scopes=\"user.info.basic,video.list\" data-app-origin=\"https://app.example.com\">"
        ));
        let bad = ConsoleSettings::from_lookup(|name| {
            (name == "APP_RETURN_URL").then(|| "javascript:alert(1)".to_owned())
        });
        assert_eq!(bad.expect_err("refused").variable, "APP_RETURN_URL");
    }

    #[test]
    fn a_second_inline_script_is_refused() {
        let two = TEMPLATE.replace("</body>", "<script>more()</script></body>");
        assert!(ConsolePage::render(&two, &settings(&[])).is_err());
        let with_src = TEMPLATE.replace("<script>go()</script>", "<script src=x></script>");
        assert!(ConsolePage::render(&with_src, &settings(&[])).is_err());
    }

    #[test]
    fn answers_get_with_the_page_and_other_methods_with_405() {
        let page = ConsolePage::render(TEMPLATE, &settings(&[])).expect("page");
        let ok = page.respond(&Method::GET, &HeaderMap::new());
        assert_eq!(ok.status(), 200);
        let headers = ok.headers();
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(
            headers["content-security-policy"],
            page.content_security_policy()
        );
        let refused = page.respond(&Method::POST, &HeaderMap::new());
        assert_eq!(refused.status(), 405);
        assert_eq!(refused.headers()["allow"], "GET");
        assert_eq!(refused.headers()["content-type"], "application/json");
    }

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).expect("a header value"),
        );
        headers
    }

    #[test]
    fn a_client_that_takes_gzip_gets_the_same_page_gzipped() {
        let page = ConsolePage::render(crate::TEMPLATE, &settings(&[])).expect("page");
        let plain = page.respond(&Method::GET, &HeaderMap::new());
        assert!(plain.headers().get("content-encoding").is_none());
        assert_eq!(plain.headers()["vary"], "Accept-Encoding");
        let Body::Text(html) = plain.body() else {
            panic!("a text body without Accept-Encoding")
        };
        let zipped = page.respond(&Method::GET, &accepting("gzip, deflate, br"));
        assert_eq!(zipped.headers()["content-encoding"], "gzip");
        assert_eq!(zipped.headers()["vary"], "Accept-Encoding");
        assert_eq!(zipped.headers()["content-type"], "text/html; charset=utf-8");
        let Body::Binary(bytes) = zipped.body() else {
            panic!("a binary body when gzip is taken")
        };
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut unzipped)
            .expect("gzip");
        assert_eq!(&unzipped, html);
        assert!(
            bytes.len() * 3 < html.len(),
            "{} of {}",
            bytes.len(),
            html.len()
        );
    }

    #[test]
    fn gzip_follows_the_accept_encoding_rules() {
        for (value, gzip) in [
            ("gzip", true),
            ("GZIP;q=0.5", true),
            ("br, *", true),
            ("deflate, gzip;q=1.0", true),
            ("br", false),
            ("identity", false),
            ("gzip;q=0", false),
            ("gzip; q=0.0, *", false),
            ("*;q=0", false),
            ("", false),
        ] {
            assert_eq!(accepts_gzip(&accepting(value)), gzip, "{value:?}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
