use url::Url;
use url::form_urlencoded::byte_serialize;

use crate::scope::ScopeSet;

/// Everything that goes into TikTok's authorize URL (docs/tiktok.md#the-authorize-url).
pub struct AuthorizeRequest<'a> {
    /// TikTok's authorize page (`TIKTOK_AUTH_URL`), trailing slash included.
    pub auth_url: &'a Url,
    /// The app's client key (`TIKTOK_CLIENT_KEY`).
    pub client_key: &'a str,
    /// The callback URL, exactly as registered; the code exchange must send the same string.
    pub redirect_uri: &'a str,
    /// The scopes to ask for; the user may grant a subset.
    pub scopes: &'a ScopeSet,
    /// The raw single-use state (256 random bits); only its SHA-256 is stored.
    pub state: &'a str,
    /// The PKCE challenge when `TIKTOK_PKCE` is on; `code_challenge_method=S256` is added with it.
    pub code_challenge: Option<&'a str>,
}

/// Builds the URL the browser is sent to. Scopes are joined with a literal comma (TikTok's format;
/// scope names contain only `[a-z0-9._]`), every other value is form-encoded.
pub fn authorize_url(req: &AuthorizeRequest<'_>) -> Url {
    let enc = |v: &str| byte_serialize(v.as_bytes()).collect::<String>();
    let mut query = format!(
        "client_key={}&scope={}&response_type=code&redirect_uri={}&state={}&disable_auto_auth=1",
        enc(req.client_key),
        req.scopes.iter().map(enc).collect::<Vec<_>>().join(","),
        enc(req.redirect_uri),
        enc(req.state),
    );
    if let Some(challenge) = req.code_challenge {
        query.push_str(&format!(
            "&code_challenge={}&code_challenge_method=S256",
            enc(challenge)
        ));
    }
    let mut url = req.auth_url.clone();
    url.set_query(Some(&query));
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_every_parameter_tiktok_expects() {
        let auth_url = Url::parse("https://www.tiktok.com/v2/auth/authorize/").expect("url");
        let scopes = ScopeSet::parse_comma_list("video.list,user.info.basic").expect("scopes");
        let url = authorize_url(&AuthorizeRequest {
            auth_url: &auth_url,
            client_key: "ck",
            redirect_uri: "https://api.example.com/tiktok/callback",
            scopes: &scopes,
            state: "st",
            code_challenge: Some("abc"),
        });
        assert_eq!(
            url.as_str(),
            "https://www.tiktok.com/v2/auth/authorize/?client_key=ck&scope=user.info.basic,video.list&response_type=code\
             &redirect_uri=https%3A%2F%2Fapi.example.com%2Ftiktok%2Fcallback&state=st&disable_auto_auth=1\
             &code_challenge=abc&code_challenge_method=S256"
        );
    }
}
