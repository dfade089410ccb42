//! Where the browser goes after the callback. Only URLs on the allow-list are ever used, so the
//! callback can never become an open redirect.

use url::Url;

/// Longest `return_to` accepted.
const MAX_RETURN_TO_LEN: usize = 2048;

/// Query parameters this service sets on the return URL; copies already present are dropped so the
/// app never sees a stale or injected outcome.
const OUR_PARAMS: [&str; 7] = [
    "tiktok",
    "connection_id",
    "open_id",
    "reason",
    "code",
    "state",
    "scopes",
];

/// The allow-list of return URLs: anything on the default URL's origin, plus exact extra URLs
/// (`APP_ALLOWED_RETURN_URLS`, and the settings page of the API's own origin).
#[derive(Debug, Clone)]
pub struct ReturnUrlPolicy {
    default: Url,
    allowed: Vec<Url>,
}

impl ReturnUrlPolicy {
    /// `default` (`APP_RETURN_URL`) also sets the allowed origin; `allowed` are further exact URLs.
    pub fn new(default: Url, allowed: Vec<Url>) -> Self {
        Self { default, allowed }
    }

    /// This policy with one more exact URL allowed.
    pub fn also_allowing(&self, url: Url) -> Self {
        let mut allowed = self.allowed.clone();
        allowed.push(url);
        Self {
            default: self.default.clone(),
            allowed,
        }
    }

    /// Where the browser goes when `authorize` named no `return_to`, or when the callback has no
    /// valid state to take one from.
    pub fn default_url(&self) -> &Url {
        &self.default
    }

    /// Accepts `candidate` when it is an absolute http(s) URL with the default URL's origin, or exactly
    /// one of the allowed URLs. Rejects anything a browser might read differently from `url`
    /// (backslashes, whitespace, control characters, credentials).
    pub fn check(&self, candidate: &str) -> Option<Url> {
        if candidate.len() > MAX_RETURN_TO_LEN
            || candidate
                .chars()
                .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
        {
            return None;
        }
        let url = Url::parse(candidate).ok()?;
        let plain = matches!(url.scheme(), "https" | "http")
            && url.host_str().is_some()
            && url.username().is_empty()
            && url.password().is_none();
        if !plain {
            return None;
        }
        let same_origin = url.origin() == self.default.origin();
        let listed = self.allowed.contains(&url);
        (same_origin || listed).then_some(url)
    }
}

/// The outcome the app reads from its return URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// TikTok granted access; the app confirms `connection_id` as the app user who started.
    Pending {
        /// The raw connection id (43 characters, single use); only its SHA-256 is stored.
        connection_id: &'a str,
    },
    /// The connect failed or was declined; `reason` says why.
    Error {
        /// A snake_case code: this service's (`invalid_state`, `token_exchange_failed`, …) or
        /// TikTok's own `error` (`access_denied`, …).
        reason: &'a str,
    },
}

/// `base` with the outcome's parameters added and any of ours already there removed.
pub fn with_outcome(base: &Url, outcome: &Outcome<'_>) -> Url {
    let mut url = base.clone();
    let kept: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(k, _)| !OUR_PARAMS.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut pairs = url.query_pairs_mut();
        pairs.clear();
        pairs.extend_pairs(kept);
        match outcome {
            Outcome::Pending { connection_id } => pairs
                .append_pair("tiktok", "pending")
                .append_pair("connection_id", connection_id),
            Outcome::Error { reason } => pairs
                .append_pair("tiktok", "error")
                .append_pair("reason", reason),
        };
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ReturnUrlPolicy {
        ReturnUrlPolicy::new(
            Url::parse("https://app.example.com/settings").expect("url"),
            vec![Url::parse("https://other.example.net/done").expect("url")],
        )
    }

    #[test]
    fn same_origin_and_listed_urls_pass() {
        let p = policy();
        assert!(p.check("https://app.example.com/anything?x=1").is_some());
        assert!(p.check("https://other.example.net/done").is_some());
    }

    #[test]
    fn open_redirect_attempts_fail() {
        let p = policy();
        for bad in [
            "//evil.com",
            "https://app.example.com.evil.com/",
            "https://app.example.com@evil.com/",
            "https://user:pw@app.example.com/",
            "https://evil.com\\@app.example.com/",
            "https:\\\\evil.com",
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "http://app.example.com/settings",
            "https://app.example.com:8443/",
            "https://other.example.net/done/more",
            "%2F%2Fevil.com",
            "https://app.example.com/\r\nLocation: https://evil.com",
            "/relative",
            "",
        ] {
            assert!(p.check(bad).is_none(), "{bad} must be refused");
        }
        assert!(
            p.check(&format!("https://app.example.com/{}", "a".repeat(3000)))
                .is_none()
        );
    }

    #[test]
    fn outcome_replaces_our_parameters_only() {
        let base =
            Url::parse("https://app.example.com/s?tab=tiktok&tiktok=connected&code=x&state=y")
                .expect("url");
        let url = with_outcome(
            &base,
            &Outcome::Error {
                reason: "access_denied",
            },
        );
        assert_eq!(
            url.as_str(),
            "https://app.example.com/s?tab=tiktok&tiktok=error&reason=access_denied"
        );
        let url = with_outcome(
            &base,
            &Outcome::Pending {
                connection_id: "c-1",
            },
        );
        assert_eq!(
            url.as_str(),
            "https://app.example.com/s?tab=tiktok&tiktok=pending&connection_id=c-1"
        );
    }
}
