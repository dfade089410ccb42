//! TikTok's OAuth, Display and Content Posting APIs as a port (`TikTokApi`), the types its
//! answers carry, and the pure parsers of its wire format (`wire`, `posting`). The reqwest
//! adapter is `connect_adapters::tiktok_http`.

mod authorize_url;
mod error;
pub mod posting;
pub mod wire;

use std::future::Future;

use serde::{Deserialize, Serialize};

pub use authorize_url::{AuthorizeRequest, authorize_url};
pub use error::TikTokError;
pub use posting::{
    CreatorInfo, InitAnswer, MediaSource, MediaType, PostInfo, PostMode, PublishInit, PublishState,
    PublishStatus, parse_creator_info_answer, parse_init_answer, parse_status_answer,
    post_id_string,
};
pub use wire::{
    RawAnswer, parse_revoke_answer, parse_token_answer, parse_user_info_answer,
    parse_video_list_answer, parse_video_query_answer, profile_fields,
};

use crate::ids::{OpenId, PublishId};
use crate::scope::ScopeSet;
use crate::secret::{AccessToken, AuthorizationCode, CodeVerifier, RefreshToken};

/// What TikTok's token endpoint grants (flat JSON, docs/tiktok.md#the-token-endpoint), for a code
/// or a refresh.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// TikTok's id of the user for this client key; a refresh must answer for the same one.
    pub open_id: OpenId,
    /// Bearer token for TikTok's APIs (`act.…`).
    pub access_token: AccessToken,
    /// The refresh token to store; after a refresh it replaces the one just sent (rotation).
    pub refresh_token: RefreshToken,
    /// Remaining lifetime of the access token in seconds, from the response.
    pub expires_in: i64,
    /// Remaining lifetime of the refresh token in seconds, from the response.
    pub refresh_expires_in: i64,
    /// The scopes the user actually granted (empty when TikTok left `scope` out).
    pub scopes: ScopeSet,
}

/// The user-info fields TikTok returned; each is present only when its scope was granted (and
/// TikTok chose to send it: some answers omit fields instead of failing). Serialised as part of
/// `GET /tiktok/me`: the basic fields always (`null` if absent), the others only when present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    // user.info.basic
    /// The user's id across one developer's apps (`user.info.basic`).
    pub union_id: Option<String>,
    /// The name TikTok shows for the user (`user.info.basic`).
    pub display_name: Option<String>,
    /// Link to the avatar image (`user.info.basic`).
    pub avatar_url: Option<String>,
    // user.info.profile
    /// The `@` handle (`user.info.profile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The profile's bio text (`user.info.profile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bio_description: Option<String>,
    /// Link that opens the profile in TikTok (`user.info.profile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_deep_link: Option<String>,
    /// Whether TikTok verified the account (`user.info.profile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_verified: Option<bool>,
    // user.info.stats
    /// Followers (`user.info.stats`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follower_count: Option<i64>,
    /// Accounts the user follows (`user.info.stats`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub following_count: Option<i64>,
    /// Likes across the user's videos (`user.info.stats`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likes_count: Option<i64>,
    /// Videos the user has posted (`user.info.stats`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_count: Option<i64>,
}

/// One public video (docs/tiktok.md#video-list-and-the-video-object). `id` stays a string: it has
/// 19 digits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Video {
    /// TikTok's id of the video (19 digits).
    pub id: String,
    /// The title, at most 150 characters.
    pub title: Option<String>,
    /// The caption, at most 150 characters.
    pub video_description: Option<String>,
    /// Unix seconds.
    pub create_time: Option<i64>,
    /// A CDN link that expires about 6 hours after the answer.
    pub cover_image_url: Option<String>,
    /// The video's public link on TikTok.
    pub share_url: Option<String>,
    /// A link for embedding the video.
    pub embed_link: Option<String>,
    /// Length in seconds.
    pub duration: Option<i64>,
    /// Width in pixels.
    pub width: Option<i64>,
    /// Height in pixels.
    pub height: Option<i64>,
    /// Likes; `None` when TikTok left the field out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub like_count: Option<i64>,
    /// Comments; `None` when TikTok left the field out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment_count: Option<i64>,
    /// Shares; `None` when TikTok left the field out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_count: Option<i64>,
    /// Views; `None` when TikTok left the field out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view_count: Option<i64>,
    /// The creator labelled it AI-generated content; `None` when TikTok left the field out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_aigc: Option<bool>,
}

/// One page of `/v2/video/list/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VideoPage {
    /// The videos of this page, newest first.
    pub videos: Vec<Video>,
    /// Unix milliseconds to pass as the next `cursor`.
    pub cursor: Option<i64>,
    /// Whether another page follows (ask for it with `cursor`).
    pub has_more: bool,
}

/// The calls this service makes to TikTok.
pub trait TikTokApi: Send + Sync {
    /// Exchanges an authorization code (already URL-decoded exactly once) for tokens, sending
    /// byte-for-byte the `redirect_uri` the authorize URL carried.
    fn exchange_code(
        &self,
        code: &AuthorizationCode,
        verifier: Option<&CodeVerifier>,
        redirect_uri: &str,
    ) -> impl Future<Output = Result<TokenGrant, TikTokError>> + Send;

    /// Trades the most recent refresh token for new tokens. TikTok may rotate the refresh token,
    /// after which the old one stops working: the caller must store the answer.
    fn refresh(
        &self,
        refresh_token: &RefreshToken,
    ) -> impl Future<Output = Result<TokenGrant, TikTokError>> + Send;

    /// Revokes the grant behind a (non-expired) access token.
    fn revoke(&self, token: &AccessToken) -> impl Future<Output = Result<(), TikTokError>> + Send;

    /// Reads the profile fields that `scopes` allow (and only those: asking for more fails).
    fn fetch_profile(
        &self,
        token: &AccessToken,
        scopes: &ScopeSet,
    ) -> impl Future<Output = Result<Profile, TikTokError>> + Send;

    /// One page of the user's public videos, newest first; `cursor` is TikTok's, in Unix ms.
    fn list_videos(
        &self,
        token: &AccessToken,
        cursor: Option<i64>,
        max_count: u8,
    ) -> impl Future<Output = Result<VideoPage, TikTokError>> + Send;

    /// The user's own videos among `ids` (1 to 20 TikTok ids); others and unknown ids are simply
    /// absent from the answer.
    fn query_videos(
        &self,
        token: &AccessToken,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Video>, TikTokError>> + Send;

    /// What the creator may post (privacy options, interaction toggles, max duration). Posting
    /// caps come back as errors with HTTP 200.
    fn creator_info(
        &self,
        token: &AccessToken,
    ) -> impl Future<Output = Result<CreatorInfo, TikTokError>> + Send;

    /// Starts a post. Never retried by callers: a lost answer may still have created the post.
    fn init_publish(
        &self,
        token: &AccessToken,
        init: &PublishInit,
    ) -> impl Future<Output = Result<InitAnswer, TikTokError>> + Send;

    /// Where a post is: processing, in the inbox, published or failed.
    fn publish_status(
        &self,
        token: &AccessToken,
        publish_id: &PublishId,
    ) -> impl Future<Output = Result<PublishStatus, TikTokError>> + Send;
}
