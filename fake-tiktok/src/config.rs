//! What the fake knows before the first request: the registered app, its policy knobs and the
//! TikTok accounts that exist.

use std::time::Duration;

use crate::seed;

/// The registered TikTok app and the policies the fake applies to it.
/// `Debug` redacts the client secret (tests scan logs for it).
#[derive(Clone)]
pub struct FakeConfig {
    /// The app's client key (TikTok's name for a client id).
    pub client_key: String,
    /// The app's client secret.
    pub client_secret: String,
    /// Registered redirect URIs; TikTok matches them byte for byte (trailing slash included).
    /// A desktop-style `http://127.0.0.1:*/callback/` matches any port.
    pub redirect_uris: Vec<String>,
    /// Whether the authorize call must carry a PKCE challenge, and how the challenge is encoded.
    pub pkce: PkceMode,
    /// Access and refresh token lifetimes for tokens issued from now on. Default
    /// [`Lifetimes::Y2026`] (2 h and 180 days, TikTok's current docs).
    pub lifetimes: Lifetimes,
    /// What happens to a refresh token once it has been used.
    pub rotation: Rotation,
    /// HTTP status of OAuth errors on `/v2/oauth/*` (TikTok answers them with 200).
    pub oauth_error_status: u16,
    /// Authorization code lifetime in seconds.
    pub code_ttl_secs: i64,
    /// The TikTok accounts that exist (the consent page offers all of them). Accounts that
    /// [`crate::FakeTikTok::mint_grant`] makes up are appended.
    pub users: Vec<FakeUser>,
    /// `Some(open_ids)` makes this a sandbox app: approving as any other account redirects with
    /// `error=access_denied&error_type=non_sandbox_target`. `None` (default): a production app.
    pub sandbox_targets: Option<Vec<String>>,
    /// Added to every request to a TikTok API endpoint (token, revoke, user info, video list and
    /// query, the posting endpoints and uploads; not the authorize page, not `/_fake/`), half before the request takes effect and
    /// half after, to model TikTok's round trips. Zero (default): answer at once.
    pub latency: Duration,
    /// URL prefixes verified for `PULL_FROM_URL` (TikTok's "URL prefix" ownership); a
    /// `video_url`, and each of a photo post's `photo_images`, must start with one of them.
    /// Default `["https://media.example.com/"]`.
    pub verified_url_prefixes: Vec<String>,
    /// An unaudited Content Posting client (default `false`): Direct Post only to private
    /// accounts, at most [`UNAUDITED_ACTIVE_USER_CAP`] posting users per 24 h, posts forced to
    /// `SELF_ONLY`.
    pub unaudited: bool,
    /// Direct Posts (videos and photos) one user may create per 24 h of fake-clock time
    /// (default 15); the next init gets 403 `spam_risk_too_many_posts`. TikTok does not publish
    /// the number.
    pub daily_post_cap: u32,
    /// Fake-clock seconds a publish spends processing after its upload completed (or after the
    /// init, for `PULL_FROM_URL`) before it reaches its final status. Default 5.
    pub processing_secs: i64,
    /// Fake-clock seconds a completed public Direct Post spends in TikTok's moderation before
    /// its `post_id` is given out (status fetch, `post.publish.publicly_available`) and it joins
    /// the user's videos. Default 20 (TikTok: "usually within one minute"); negative counts as 0.
    pub moderation_secs: i64,
    /// Where webhooks go; `None` (default): no webhook is sent (nor recorded).
    pub webhook_url: Option<String>,
    /// Extra identical copies of every webhook event (default 1: each event arrives twice).
    pub webhook_duplicates: u32,
    /// Delivery attempts per copy before giving up (default 6).
    pub webhook_max_attempts: u32,
    /// Wait before the first retry; doubles after every failed attempt (default 200 ms).
    pub webhook_backoff: Duration,
}

/// How many distinct users an unaudited client may let post per 24 h ([`FakeConfig::unaudited`]).
pub const UNAUDITED_ACTIVE_USER_CAP: usize = 5;

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            client_key: "fake_client_key".to_owned(),
            client_secret: "fake_client_secret".to_owned(),
            redirect_uris: vec!["http://127.0.0.1:9000/lambda-url/callback/".to_owned()],
            pkce: PkceMode::Off,
            lifetimes: Lifetimes::Y2026,
            rotation: Rotation::Strict,
            oauth_error_status: 200,
            code_ttl_secs: 300,
            users: seed::default_users(),
            sandbox_targets: None,
            latency: Duration::ZERO,
            verified_url_prefixes: vec!["https://media.example.com/".to_owned()],
            unaudited: false,
            daily_post_cap: 15,
            processing_secs: 5,
            moderation_secs: 20,
            webhook_url: None,
            webhook_duplicates: 1,
            webhook_max_attempts: 6,
            webhook_backoff: Duration::from_millis(200),
        }
    }
}

impl std::fmt::Debug for FakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeConfig")
            .field("client_key", &self.client_key)
            .field("client_secret", &"[redacted]")
            .field("redirect_uris", &self.redirect_uris)
            .field("pkce", &self.pkce)
            .field("lifetimes", &self.lifetimes)
            .field("rotation", &self.rotation)
            .field("oauth_error_status", &self.oauth_error_status)
            .field("code_ttl_secs", &self.code_ttl_secs)
            .field("users", &self.users)
            .field("sandbox_targets", &self.sandbox_targets)
            .field("latency", &self.latency)
            .field("verified_url_prefixes", &self.verified_url_prefixes)
            .field("unaudited", &self.unaudited)
            .field("daily_post_cap", &self.daily_post_cap)
            .field("processing_secs", &self.processing_secs)
            .field("moderation_secs", &self.moderation_secs)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_duplicates", &self.webhook_duplicates)
            .field("webhook_max_attempts", &self.webhook_max_attempts)
            .field("webhook_backoff", &self.webhook_backoff)
            .finish()
    }
}

/// PKCE policy of the authorize and token endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceMode {
    /// No challenge required. A challenge that is sent is still verified at the token call;
    /// since TikTok's encoding for web apps is unconfirmed, either encoding is accepted then.
    Off,
    /// Challenge required; `code_challenge = hex(sha256(code_verifier))` (TikTok desktop docs).
    Hex,
    /// Challenge required; `code_challenge = base64url_nopad(sha256(code_verifier))` (RFC 7636).
    Base64Url,
}

/// Token lifetimes in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub access_secs: i64,
    pub refresh_secs: i64,
}

impl Lifetimes {
    /// The classic docs: 24 h access, 365 d refresh.
    pub const CLASSIC: Lifetimes = Lifetimes {
        access_secs: 86_400,
        refresh_secs: 31_536_000,
    };
    /// The docs stamped November 2026, TikTok's current ones: 2 h access, 180 d refresh. The
    /// default.
    pub const Y2026: Lifetimes = Lifetimes {
        access_secs: 7_200,
        refresh_secs: 15_552_000,
    };
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self::Y2026
    }
}

/// Refresh-token rotation policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// A refresh returns a new refresh token and the old one stops working (2026 docs).
    Strict,
    /// A refresh returns a new refresh token and the old one keeps working (classic docs).
    Classic,
}

/// A TikTok account.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeUser {
    pub open_id: String,
    pub union_id: String,
    pub display_name: String,
    pub avatar_url: String,
    pub username: String,
    pub bio_description: String,
    pub is_verified: bool,
    pub follower_count: i64,
    pub following_count: i64,
    pub likes_count: i64,
    pub video_count: i64,
    pub videos: Vec<FakeVideo>,
    /// A private account: creator info offers `FOLLOWER_OF_CREATOR` instead of
    /// `PUBLIC_TO_EVERYONE` and reports duets and stitches disabled.
    pub private_account: bool,
    /// What creator info reports as `max_video_post_duration_sec` (default 600).
    pub max_video_post_duration_sec: i64,
    /// A posting block TikTok put on the account: creator info answers its code with HTTP 200,
    /// both init endpoints with 403. `None` (default): may post.
    pub posting_block: Option<PostingBlock>,
}

/// A posting block on a [`FakeUser`], named after the error code it produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostingBlock {
    /// `spam_risk_too_many_posts`
    TooManyPosts,
    /// `spam_risk_user_banned_from_posting`
    BannedFromPosting,
    /// `reached_active_user_cap`
    ActiveUserCap,
}

impl PostingBlock {
    /// The `error.code` it produces.
    pub fn code(self) -> &'static str {
        match self {
            PostingBlock::TooManyPosts => "spam_risk_too_many_posts",
            PostingBlock::BannedFromPosting => "spam_risk_user_banned_from_posting",
            PostingBlock::ActiveUserCap => "reached_active_user_cap",
        }
    }

    /// The block whose [`PostingBlock::code`] this is.
    pub fn from_code(code: &str) -> Option<PostingBlock> {
        [
            PostingBlock::TooManyPosts,
            PostingBlock::BannedFromPosting,
            PostingBlock::ActiveUserCap,
        ]
        .into_iter()
        .find(|b| b.code() == code)
    }
}

/// Why the user's authorization ended, as `authorization.removed` tells it (`{"reason": n}`),
/// for [`crate::FakeTikTok::revoke_grants_with_reason`]. Reason 5 ("the developer revoked")
/// has no variant: only `POST /v2/oauth/revoke/` produces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemovalReason {
    /// 0: unknown.
    Unknown,
    /// 1: the user disconnected the app in TikTok.
    UserDisconnected,
    /// 2: the account was deleted.
    AccountDeleted,
    /// 3: the user's age changed.
    AgeChanged,
    /// 4: the account was banned.
    AccountBanned,
}

impl RemovalReason {
    /// The webhook's `reason` number.
    pub fn code(self) -> u8 {
        match self {
            RemovalReason::Unknown => 0,
            RemovalReason::UserDisconnected => 1,
            RemovalReason::AccountDeleted => 2,
            RemovalReason::AgeChanged => 3,
            RemovalReason::AccountBanned => 4,
        }
    }

    /// The reason whose [`RemovalReason::code`] this is; `None` for 5 and above.
    pub fn from_code(code: u64) -> Option<RemovalReason> {
        [
            RemovalReason::Unknown,
            RemovalReason::UserDisconnected,
            RemovalReason::AccountDeleted,
            RemovalReason::AgeChanged,
            RemovalReason::AccountBanned,
        ]
        .into_iter()
        .find(|r| u64::from(r.code()) == code)
    }
}

/// A public video of a [`FakeUser`].
#[derive(Debug, Clone, PartialEq)]
pub struct FakeVideo {
    /// 19 digits, kept as a string like TikTok does.
    pub id: String,
    pub title: String,
    pub video_description: String,
    /// Unix seconds.
    pub create_time: i64,
    pub duration: i32,
    pub width: i32,
    pub height: i32,
    pub like_count: i32,
    pub comment_count: i32,
    pub share_count: i32,
    pub view_count: i64,
    /// TikTok's `is_aigc`: the video is AI-generated content.
    pub is_aigc: bool,
}
