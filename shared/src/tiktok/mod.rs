//! TikTok's OAuth and Display API, as a port (`TikTokApi`) with a reqwest adapter (`TikTokHttp`).

mod authorize_url;
mod error;
mod http;

use std::future::Future;

pub use authorize_url::{AuthorizeRequest, authorize_url};
pub use error::TikTokError;
pub use http::{TikTokHttp, TikTokHttpConfig};

use crate::scope::ScopeSet;
use crate::secret::{AccessToken, AuthorizationCode, CodeVerifier, RefreshToken};

/// What TikTok's token endpoint grants (flat JSON, TIKTOK_API.md §2.3).
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub open_id: String,
    pub access_token: AccessToken,
    pub refresh_token: RefreshToken,
    /// Remaining lifetime of the access token in seconds, from the response.
    pub expires_in: i64,
    /// Remaining lifetime of the refresh token in seconds, from the response.
    pub refresh_expires_in: i64,
    /// The scopes the user actually granted.
    pub scopes: ScopeSet,
}

/// The public profile fields read at connect time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub union_id: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub username: Option<String>,
}

/// The calls this service makes to TikTok.
pub trait TikTokApi: Send + Sync {
    /// Exchanges an authorization code (already URL-decoded exactly once) for tokens.
    fn exchange_code(
        &self,
        code: &AuthorizationCode,
        verifier: Option<&CodeVerifier>,
    ) -> impl Future<Output = Result<TokenGrant, TikTokError>> + Send;

    /// Reads the profile fields that `scopes` allow.
    fn fetch_profile(
        &self,
        token: &AccessToken,
        scopes: &ScopeSet,
    ) -> impl Future<Output = Result<Profile, TikTokError>> + Send;
}
