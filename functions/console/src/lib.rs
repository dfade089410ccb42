//! `GET /tiktok/console`: the reference settings page, one self-contained HTML file
//! (`console.html`) rendered once per cold start by `page`.

pub mod page;

use lambda_http::{Body, Request, Response};

use connect_runtime::config::ConfigError;

use crate::page::{ConsolePage, ConsoleSettings, TemplateError};

/// The page's template: HTML, CSS and JavaScript in one file, no build step.
pub const TEMPLATE: &str = include_str!("../console.html");

/// The page as this deployment serves it.
pub fn page(settings: &ConsoleSettings) -> Result<ConsolePage, TemplateError> {
    ConsolePage::render(TEMPLATE, settings)
}

/// Why the page could not be built at cold start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A variable the page reads is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The template is not what the renderer expects.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// Renders the page once from the environment: no AWS client, no secret.
pub fn wire() -> Result<ConsolePage, StartError> {
    Ok(page(&ConsoleSettings::from_env()?)?)
}

/// Serves the page (`GET`, gzipped when the client takes it), or a 405.
pub async fn handle(
    page: &ConsolePage,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    Ok(page.respond(request.method(), request.headers()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str) -> Request {
        let path = format!("{}/../../events/console/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn text(response: &Response<Body>) -> &str {
        match response.body() {
            Body::Text(text) => text,
            _ => panic!("a text body"),
        }
    }

    #[tokio::test]
    async fn the_deployed_page_has_no_dev_sign_in() {
        let deployed =
            page(&ConsoleSettings::from_lookup(|_| None).expect("settings")).expect("page");
        let response = handle(&deployed, event("page.json")).await.expect("ok");
        assert_eq!(response.status(), 200);
        let html = text(&response);
        assert!(html.contains("<h1>TikTok connections</h1>"));
        assert!(html.contains("id=\"jwt-form\""), "the production sign-in");
        // No form, no field, no endpoint: the script only looks for a form that is not there.
        for local_only in ["<form id=\"dev-sign-in\"", "App user name", "/_dev/"] {
            assert!(
                !html.contains(local_only),
                "{local_only} in the deployed page"
            );
        }
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .expect("ascii");
        assert!(
            csp.starts_with("default-src 'none'; script-src 'sha256-"),
            "{csp}"
        );
    }

    #[tokio::test]
    async fn the_local_page_has_the_dev_sign_in() {
        let settings = ConsoleSettings::from_lookup(|name| {
            (name == crate::page::DEV_SIGN_IN_VAR).then(|| "1".to_owned())
        })
        .expect("settings");
        let local = page(&settings).expect("page");
        let response = handle(&local, event("page.json")).await.expect("ok");
        assert!(text(&response).contains("<form id=\"dev-sign-in\""));
    }

    #[tokio::test]
    async fn other_methods_are_405() {
        let deployed = page(&ConsoleSettings::default()).expect("page");
        let response = handle(&deployed, event("wrong-method.json"))
            .await
            .expect("ok");
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["allow"], "GET");
        let body: serde_json::Value = serde_json::from_str(text(&response)).expect("json");
        assert_eq!(body["error"], "method_not_allowed");
    }
}
