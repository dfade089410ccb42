//! Where this API is reached from, as API Gateway saw it.

use url::Url;

/// This API's public origin, `https://<requestContext.domainName>`, as API Gateway received the
/// request (the execute-api host or a custom domain; API Gateway routes by it, so a client cannot
/// choose it). The deployed functions learn their callback URL from it, since naming the API's
/// URL in their environment would make the stack a dependency cycle (function -> API -> function).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiOrigin(Url);

impl ApiOrigin {
    /// `None` unless `domain` is a plain DNS host name (letters, digits, `-`, `.`).
    pub fn from_domain(domain: &str) -> Option<Self> {
        let plain = !domain.is_empty()
            && domain.len() <= 253
            && domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !domain.starts_with(['.', '-'])
            && !domain.contains("..");
        if !plain {
            return None;
        }
        Url::parse(&format!("https://{domain}")).ok().map(Self)
    }

    /// The callback route on this origin: what TikTok's portal must list as a redirect URI.
    pub fn callback_url(&self) -> String {
        format!("{}tiktok/callback", self.0)
    }

    /// The settings page on this origin, always an allowed return URL.
    pub fn console_url(&self) -> Url {
        self.0
            .join("tiktok/console")
            .unwrap_or_else(|_| self.0.clone())
    }
}
