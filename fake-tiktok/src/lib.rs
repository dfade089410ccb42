//! A local fake of TikTok's OAuth v2 and Display API servers, quirks included, for tests and
//! `make dev`. It is as strict as TikTok where TikTok's behaviour is known (see
//! docs/tiktok.md) and lenient only where it is undocumented.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use fake_tiktok::{Endpoint, Failure, FakeConfig, FakeTikTok};
//! let fake = FakeTikTok::start(FakeConfig::default()).await?;
//! fake.fail_next(Endpoint::Token, Failure::Status500, 1);
//! let _authorize = fake.authorize_url(); // http://127.0.0.1:PORT/v2/auth/authorize/
//! # Ok(()) }
//! ```
//!
//! # Endpoints
//! `GET /v2/auth/authorize/`, `POST /v2/auth/authorize/consent/` (the consent form: the original
//! parameters plus `account`, repeated `granted`, `decision=approve|deny`), `POST /v2/oauth/token/`,
//! `POST /v2/oauth/revoke/`, `GET /v2/user/info/`, `POST /v2/video/list/`, `POST /v2/video/query/`.
//! Video list and query need `video.list` and a `fields` list of the video object's fields (`id`,
//! `create_time`, `cover_image_url`, `share_url`, `video_description`, `duration`, `height`,
//! `width`, `title`, `embed_html`, `embed_link`, `like_count`, `comment_count`, `share_count`,
//! `view_count`, `is_aigc`); the query's `filters.video_ids` holds 1 to 20 ids (else 400
//! `invalid_params`), and ids that are unknown or not the caller's are simply absent.
//!
//! Content Posting (v2 envelope, JSON bodies, `Authorization: Bearer`; checks run token → scope →
//! per-token rate limit → body (400 `invalid_param`, the posting docs' spelling) → URL ownership,
//! account and client policy (403)):
//! * `POST /v2/post/publish/creator_info/query/` (`video.publish`, 20/min per token): creator
//!   fields, privacy options of a public (`PUBLIC_TO_EVERYONE`, `MUTUAL_FOLLOW_FRIENDS`,
//!   `SELF_ONLY`) or private (`FOLLOWER_OF_CREATOR`, …) account, duet/stitch disabled for
//!   private ones. A posting block, the daily cap or the unaudited active-user cap answer
//!   `spam_risk_too_many_posts` / `spam_risk_user_banned_from_posting` / `reached_active_user_cap`
//!   **with HTTP 200**, like TikTok.
//! * `POST /v2/post/publish/video/init/` (Direct Post, `video.publish`) and
//!   `POST /v2/post/publish/inbox/video/init/` (`video.upload`, body only `source_info`); 6/min
//!   per token, shared. `FILE_UPLOAD` chunk rules with MB = 1024 × 1024 bytes (video ≤ 4 GB;
//!   under 5 MB one chunk of `video_size`; else 5 MB ≤ `chunk_size` ≤ 64 MB, `total_chunk_count`
//!   = floor(`video_size` / `chunk_size`) in 1..=1000, over 64 MB at least 2 chunks, last chunk ≤
//!   128 MB); `PULL_FROM_URL` needs https, a domain host and a [`FakeConfig::verified_url_prefixes`]
//!   prefix (else 403 `url_ownership_unverified`). 403s: posting block, unaudited public account,
//!   `privacy_level_option_mismatch` (missing or not offered), `reached_active_user_cap`,
//!   `spam_risk_too_many_posts` ([`FakeConfig::daily_post_cap`] Direct Posts per 24 h),
//!   `spam_risk_too_many_pending_share` (5 pending inbox shares per 24 h). Answers `publish_id`
//!   (`v_pub_file~v2-1.N`, `v_pub_url~v2.N`, `v_inbox_file~v2.N`, `v_inbox_url~v2.N`, N = 19
//!   digits) and, for files, `upload_url` = `<base_url>/upload/?upload_id=…&upload_token=…`,
//!   valid 1 h of fake-clock time.
//! * `POST /v2/post/publish/content/init/` (photos; 6/min per token, shared with the two video
//!   inits): `media_type` `"PHOTO"` (required, the only one); `post_mode` `"DIRECT_POST"` (scope
//!   `video.publish`) or `"MEDIA_UPLOAD"` (`video.upload`; the creator finishes in TikTok);
//!   `post_info` (required object): `title` ≤ 90 and `description` ≤ 4000 UTF-16 code units
//!   (strings, optional), `privacy_level` (string; for `DIRECT_POST` missing or not offered is
//!   403 `privacy_level_option_mismatch`, for `MEDIA_UPLOAD` ignored), `disable_comment`,
//!   `auto_add_music`, `brand_content_toggle`, `brand_organic_toggle` (optional booleans);
//!   `source_info` (required object): `source` `"PULL_FROM_URL"` (the only one for photos),
//!   `photo_images` 1 to 35 URL strings, `photo_cover_index` a required integer
//!   `0 ≤ i < photo_images.len()`. Every violation is 400 `invalid_param`; then each image URL
//!   must pass the video URL's ownership rule (403 `url_ownership_unverified`), then the video
//!   inits' 403s apply (`DIRECT_POST` as a Direct Post, `MEDIA_UPLOAD` as an inbox share: both
//!   count toward the same caps). Answers only `publish_id` (`p_pub_url~v2.N` or
//!   `p_inbox_url~v2.N`), no `upload_url`.
//! * `PUT /upload/?upload_id=…&upload_token=…` (no auth; body limit 129 MB, counted, not kept):
//!   `Content-Type` `video/mp4|video/quicktime|video/webm`, `Content-Length`, `Content-Range:
//!   bytes first-last/total`; exactly the next chunk of the plan. 206 then 201, each with
//!   `Content-Range: bytes 0-{uploaded-1}/{total}`; 400 bad headers or size, 403 expired URL,
//!   404 unknown upload, wrong token or cancelled publish, 416 out of order, repeated or wrong
//!   total (with the progress header, `bytes */{total}` before the first byte).
//! * `POST /v2/post/publish/status/fetch/` (`video.publish` or `video.upload`, 30/min per
//!   token) `{"publish_id"}`: `status`, `fail_reason` (FAILED only), `publicaly_available_post_id`
//!   (always present; JSON numbers), `uploaded_bytes` (files) or `downloaded_bytes` (URLs); 400
//!   `invalid_publish_id`, `token_not_authorized_for_specified_publish_id`.
//! * `POST /v2/post/publish/cancel/` `{"publish_id"}` (either scope, no rate limit): `{}` and the
//!   publish becomes FAILED `publish_cancelled`; 400 `publish_not_cancellable` once final
//!   (`PUBLISH_COMPLETE`, `SEND_TO_USER_INBOX`, `FAILED`).
//!
//! Status machine: a file is `PROCESSING_UPLOAD` until uploaded and for
//! [`FakeConfig::processing_secs`] after; a URL (video or photos) is `PROCESSING_DOWNLOAD` for
//! `processing_secs` after init; then a photo post with an image whose URL path does not end in
//! `.jpg`, `.jpeg` or `.webp` (any case) is `FAILED` `file_format_check_failed` (TikTok takes
//! only JPEG and WebP: PNG is refused while processing, not at init); otherwise Direct Post →
//! `PUBLISH_COMPLETE`, inbox → `SEND_TO_USER_INBOX` (→ `PUBLISH_COMPLETE` when
//! [`FakeTikTok::complete_inbox_share`] says the user posted it).
//!
//! Moderation: a completed Direct Post that is public (`PUBLIC_TO_EVERYONE` from an audited
//! client) gets no post id until [`FakeConfig::moderation_secs`] (default 20) of fake-clock time
//! after it completed: until then `publicaly_available_post_id` is `[]`. Then the id appears
//! (a 19-digit JSON number), `post.publish.publicly_available` goes out once, and the post
//! becomes one of the user's videos in `/v2/video/list/` and `/v2/video/query/` (`id` = the post
//! id as a string, `create_time` = completion, `title` = the post's title and
//! `video_description` = the title (video) or `description` (photos), both cut to 150
//! characters, `is_aigc` = `post_info.is_aigc` (video) or false, counts 0, `duration` 15 (video,
//! made up) or 0 (photos); the user's `video_count` grows by one).
//! [`FakeTikTok::take_down`] reverses it: the video leaves list and query, the id leaves status
//! fetch and `post.publish.no_longer_publicaly_available` (sic) goes out.
//!
//! Anything else, a missing trailing slash or a wrong method: `404 Unsupported path(Janus)`.
//!
//! # Webhooks
//! With [`FakeConfig::webhook_url`] set, the fake POSTs TikTok's body
//! `{"client_key","event","create_time","user_openid","content":"<JSON string>"}` with
//! `Content-Type: application/json` and `TikTok-Signature: t=<real unix s>,s=<hex
//! HMAC-SHA256(client_secret, "<t>.<raw body>")>`. Events: `authorization.removed`
//! (`{"reason":5}` after `/v2/oauth/revoke/`; `{"reason":1}`, or the reason given, after
//! [`FakeTikTok::revoke_grants`], [`FakeTikTok::revoke_grants_with_reason`] or their control
//! route, when a grant was alive), `post.publish.inbox_delivered`, `post.publish.complete`,
//! `post.publish.publicly_available` and `post.publish.no_longer_publicaly_available` (`post_id`
//! a JSON number), and `post.publish.failed` (`reason`); all `post.publish.*` carry `publish_id`
//! and `publish_type` (`DIRECT_PUBLISH`|`INBOX_SHARE`, photos too). Each event goes out
//! `1 + webhook_duplicates` times (identical body, fresh `t` and signature per attempt);
//! non-200 answers and transport errors are retried after `webhook_backoff` × 1, 2, 4, … up to
//! `webhook_max_attempts` per copy. A background ticker (every 200 ms) and every clock move emit
//! the events of states reached through the fake clock (moderation's end included). Every attempt is recorded ([`FakeTikTok::webhook_deliveries`]).
//!
//! # Control API (JSON, under `/_fake/`)
//! * `POST /_fake/fail` `{"endpoint":"token","failure":{"type":"status429"},"times":1}`; endpoints
//!   `authorize|token|revoke|user_info|video_list|video_query|creator_info|video_init|
//!   status_fetch|publish_cancel|upload|any` (`video_init` covers the three init endpoints:
//!   both video inits and the photo init); failure types `status429`, `status500`, `html502`, `timeout` (+`millis`), `oauth_error200` (+`error`,`description`),
//!   `api_error` (+`status`,`code`,`message`), `malformed_json`, `connection_reset`; `times`
//!   defaults to 1.
//! * `POST /_fake/lifetimes` `{"access_secs":7200,"refresh_secs":15552000}` (the default is
//!   [`Lifetimes::Y2026`], these values; [`Lifetimes::CLASSIC`] is 86400 and 31536000)
//! * `POST /_fake/rotation` `{"rotation":"strict"|"classic"}`
//! * `POST /_fake/clock` `{"advance_secs":N}` → `{"ok":true,"now":<fake unix s>}`
//! * `POST /_fake/moderation` `{"secs":N}` ([`FakeConfig::moderation_secs`] from now on, posts
//!   still in moderation included; 400 `{"error":"invalid_secs"}` for N < 0). See
//!   [`FakeTikTok::set_moderation_secs`].
//! * `POST /_fake/latency` `{"millis":100}`: latency of every API request from now on (token,
//!   revoke, user_info, video_list, video_query, the posting endpoints and uploads; not the
//!   authorize page, not `/_fake/`); `0` turns it off. See [`FakeTikTok::set_latency`].
//! * `POST /_fake/grants` `{"open_id":"bench-0001","scopes":["user.info.basic"]}` →
//!   `{"access_token":..,"refresh_token":..,"expires_in":n,"refresh_expires_in":n,"scope":"a,b",
//!   "open_id":..}`; 400 `{"error":"invalid_open_id"|"invalid_scope"|"non_sandbox_target"}`. See
//!   [`FakeTikTok::mint_grant`].
//! * `POST /_fake/users/{open_id}/expire-access`, `POST /_fake/users/{open_id}/revoke` with an
//!   optional body `{"reason":n}` (TikTok ended the authorization: every grant dies and
//!   `authorization.removed` says `n`: 0 unknown, 1 the user disconnected the app (the default,
//!   also for no body, `{}` or `null`), 2 account deleted, 3 age changed, 4 account banned; 400
//!   `{"error":"invalid_reason"}` for anything else, 5 included: only `/v2/oauth/revoke/` sends
//!   it), `POST /_fake/users/{open_id}/privacy` `{"private":true}`,
//!   `POST /_fake/users/{open_id}/posting-block` `{"block":"spam_risk_too_many_posts"|
//!   "spam_risk_user_banned_from_posting"|"reached_active_user_cap"|null}` (400 for another
//!   code) — all 404 for an unknown user
//! * `GET /_fake/users/{open_id}/publishes` → `{"open_id","created":n,"publishes":[{"publish_id",
//!   "open_id","publish_type","media_type","source","post_info","privacy_level","status",
//!   "fail_reason","video_size","uploaded_bytes","video_url","photo_images","photo_cover_index",
//!   "post_id","created_at"}]}` (`media_type` `VIDEO`|`PHOTO`; `photo_images` the URL list, `[]`
//!   for videos; `photo_cover_index` null for videos; `post_id` the public post id while publicly
//!   available, else null) ([`FakeTikTok::publishes`], [`FakeTikTok::posts_created`])
//! * `POST /_fake/publishes/{publish_id}/fail` `{"reason":"file_format_check_failed"}` (404
//!   unknown), `POST /_fake/publishes/{publish_id}/complete` (the user posted the inbox share;
//!   404 unknown, 409 a Direct Post or a failed share),
//!   `POST /_fake/publishes/{publish_id}/take-down` (TikTok took the public post down,
//!   [`FakeTikTok::take_down`]; 404 `{"error":"unknown_publish"}`, 409
//!   `{"error":"not_publicly_available"}` while it has no public id: never public, still in
//!   moderation, or already taken down). All three work for photo publishes too.
//! * `POST /_fake/unaudited` `{"unaudited":true}`
//! * `POST /_fake/webhook` `{"url":"http://…"|null}` plus optional `"duplicates":n`,
//!   `"max_attempts":n`, `"backoff_ms":n`; `POST /_fake/webhook/send`
//!   `{"event":"…","open_id":"…","content":{…}}`; `GET /_fake/webhook/deliveries` →
//!   `{"deliveries":[{"event","open_id","attempt","status":n|null}]}`
//! * `GET /_fake/calls` → `{"authorize":n,"token":n,"revoke":n,"user_info":n,"video_list":n,
//!   "video_query":n,"creator_info":n,"video_init":n,"status_fetch":n,"publish_cancel":n,
//!   "upload":n,"any":total}`
//! * `GET /_fake/users/{open_id}/live-refresh-tokens` → `{"open_id":..,"live":n}`
//! * `GET /_fake/secrets` → `{"secrets":[..]}` (what [`FakeTikTok::issued_secrets`] returns)
//! * `GET /_fake/health` → 200
//!
//! # Decisions where TikTok is undocumented
//! * A failed code exchange does not burn the code; a successful one does.
//! * Refreshing keeps earlier access tokens valid until their own expiry.
//! * With [`PkceMode::Off`] a challenge that is sent is still verified, in either encoding.
//! * Scripted faults other than `Timeout` short-circuit: the request has no effect. A `Timeout`
//!   runs the request first (it takes effect) and then holds the answer back: a `Timeout` on
//!   [`Endpoint::VideoInit`] creates the post, so a client that gives up has still posted
//!   ([`FakeTikTok::posts_created`] shows it).
//! * [`Endpoint::Authorize`] counts both the authorize page and the consent form post.
//! * Latency also delays scripted faults; a `Timeout` fault comes on top of it.
//! * Seeded accounts: `open-alice-0001` is public, `open-bob-0002` is the one private account;
//!   minted accounts are public. Everyone's `max_video_post_duration_sec` is 600. Exactly one
//!   seeded video has `is_aigc` true: Alice's second newest.
//! * Posting rate limits use a 60 s sliding window of the fake clock per access token; every
//!   request that passes the token and scope checks counts, refused or not. The 6 per minute of
//!   the inits are one budget shared by the video init, the inbox video init and the photo init
//!   (TikTok states 6 per minute on each page; one budget is the stricter reading).
//! * The photo init's scope depends on `post_mode`, which is in the body: the fake reads it
//!   ahead of the body checks (so the check order stays token → scope → rate limit → body); a
//!   body whose `post_mode` cannot be read passes the scope check with either posting scope and
//!   then fails the body check. `MEDIA_UPLOAD` ignores `privacy_level` (the creator picks it in
//!   TikTok) and stores none. Unknown `post_info` fields (e.g. `is_aigc`, `disable_duet` on a
//!   photo) are ignored.
//! * Photo posts count as Direct Posts (`DIRECT_POST`: daily cap, unaudited active users) or as
//!   inbox shares (`MEDIA_UPLOAD`: the 5 pending shares), together with videos. Their
//!   `downloaded_bytes` are those of a URL video (0, then 12 MiB, also when the format check
//!   fails: the images were downloaded).
//! * Chunk sizes use MB = 1024 × 1024 bytes (TikTok's example plans fit either reading); a video
//!   over 64 MB needs at least 2 chunks (TikTok: "multiple chunks"). `null` optional fields count
//!   as absent; unknown fields are ignored, but `post_info` on the inbox endpoint is a 400.
//!   `brand_content_toggle` is optional.
//! * The daily post cap counts Direct Posts only; pending inbox shares are those of the last 24 h
//!   neither posted by the user nor failed. The unaudited active-user cap counts users with a
//!   Direct Post in the last 24 h, and an unaudited client's posts are stored as `SELF_ONLY`.
//! * A file upload not completed while its `upload_url` works (1 h) ends `FAILED` with
//!   `fail_reason` `internal` (TikTok documents no reason for it; `internal` is the retryable
//!   one: init again). `downloaded_bytes` is 0 while downloading, then 12 MiB (the URL is never
//!   fetched).
//! * `publicaly_available_post_id` is always present, `[]` unless a completed Direct Post was
//!   `PUBLIC_TO_EVERYONE` from an audited client and passed moderation (and was not taken down);
//!   ids are 19-digit JSON numbers (> 2^53), as in the `post_id` of
//!   `post.publish.publicly_available` (TikTok leaves its type unconfirmed). The post id is
//!   reserved at init (its upper 32 bits are the init time) and given out after moderation.
//! * Moderation is measured from completion with the current `moderation_secs` and ends at the
//!   next sweep (the 200 ms ticker, a clock move, a status fetch, a publish listing); moderation
//!   never fails a post. A post that went public is never moderated again, whatever
//!   `moderation_secs` becomes. A scripted failure ([`FakeTikTok::fail_publish`]) of a public
//!   post also removes its video (without `no_longer_publicaly_available`). Posts the user
//!   completes from the inbox never get a public id.
//! * Scripted outcomes win at once: `fail_publish` and `complete_inbox_share` do not wait for
//!   processing. A cancelled or failed publish has no upload task any more (404).
//! * Webhook `create_time` is the fake clock; the signature's `t` is the real wall clock. Events
//!   are not ordered across each other; copies of one event go out one after the other. Without
//!   a webhook URL events are dropped, not queued.

mod authorize;
mod clock;
mod config;
mod conn;
mod control;
mod display;
mod faults;
mod grants;
mod ids;
mod moderation;
mod oauth;
mod pages;
mod photo;
mod pkce;
mod posting;
mod publish;
mod ratelimit;
mod seed;
mod server;
mod state;
mod upload;
mod webhooks;
mod wire;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpListener;

pub use config::{
    FakeConfig, FakeUser, FakeVideo, Lifetimes, PkceMode, PostingBlock, RemovalReason, Rotation,
    UNAUDITED_ACTIVE_USER_CAP,
};
pub use faults::{Endpoint, Failure};
pub use publish::{FakePublish, PublishType};
pub use webhooks::WebhookDelivery;

use conn::{ConnHandle, ResettableListener};
use grants::TokenSet;
use serde_json::Value;
use state::AppState;

/// How often publishes are checked for new states (and their webhooks sent).
const SWEEP_INTERVAL: Duration = Duration::from_millis(200);

/// The tokens of a grant made by [`FakeTikTok::mint_grant`]: what the token endpoint answers to a
/// code exchange. `Debug` redacts the two tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct MintedGrant {
    pub access_token: String,
    pub refresh_token: String,
    /// Access token lifetime in seconds.
    pub expires_in: i64,
    /// Seconds left in the grant's refresh window.
    pub refresh_expires_in: i64,
    /// The granted scopes, comma-separated, in request order.
    pub scope: String,
    pub open_id: String,
}

impl From<TokenSet> for MintedGrant {
    fn from(t: TokenSet) -> Self {
        MintedGrant {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_in: t.expires_in,
            refresh_expires_in: t.refresh_expires_in,
            scope: t.scope,
            open_id: t.open_id,
        }
    }
}

impl std::fmt::Debug for MintedGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedGrant")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("scope", &self.scope)
            .field("open_id", &self.open_id)
            .finish()
    }
}

/// Handle to a running fake. Cloning shares the same server; the server lives as long as the
/// tokio runtime it was started on. `Debug` shows only the address.
#[derive(Debug, Clone)]
pub struct FakeTikTok {
    app: AppState,
    addr: SocketAddr,
}

impl FakeTikTok {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start(config: FakeConfig) -> std::io::Result<FakeTikTok> {
        Self::start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Binds `addr` and serves on the current tokio runtime.
    pub async fn start_on(config: FakeConfig, addr: SocketAddr) -> std::io::Result<FakeTikTok> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = AppState::new(config);
        app.with(|s| s.base_url = format!("http://{addr}"));
        webhooks::start(&app);
        // Publishes move along the fake clock; this emits their webhooks without a request.
        let ticker = app.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SWEEP_INTERVAL).await;
                ticker.with(|s| s.sweep_publishes());
            }
        });
        let service =
            server::router(app.clone()).into_make_service_with_connect_info::<ConnHandle>();
        tokio::spawn(async move {
            if let Err(error) = axum::serve(ResettableListener(listener), service).await {
                tracing::error!(%error, "fake-tiktok server stopped");
            }
        });
        Ok(FakeTikTok { app, addr })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `base_url() + "/v2/auth/authorize/"`.
    pub fn authorize_url(&self) -> String {
        format!("{}/v2/auth/authorize/", self.base_url())
    }

    /// The next `times` requests to `endpoint` (any endpoint for [`Endpoint::Any`]) suffer
    /// `failure`. Scripts queue up in call order.
    pub fn fail_next(&self, endpoint: Endpoint, failure: Failure, times: u32) {
        self.app.with(|s| s.faults.script(endpoint, failure, times));
    }

    /// Lifetimes of tokens issued from now on; existing tokens keep theirs.
    pub fn set_lifetimes(&self, lifetimes: Lifetimes) {
        self.app.with(|s| s.config.lifetimes = lifetimes);
    }

    /// Rotation policy for refreshes from now on.
    pub fn set_rotation(&self, rotation: Rotation) {
        self.app.with(|s| s.config.rotation = rotation);
    }

    /// Fake-clock seconds a completed public Direct Post stays in moderation from now on (posts
    /// still in moderation included), like [`FakeConfig::moderation_secs`]; negative counts as 0.
    pub fn set_moderation_secs(&self, secs: i64) {
        self.app.with(|s| {
            s.config.moderation_secs = secs;
            s.sweep_publishes();
        });
    }

    /// Latency of every request to a TikTok API endpoint from now on (token, revoke, user info,
    /// video list and query, posting and uploads; not the authorize page, not `/_fake/`), like
    /// [`FakeConfig::latency`]. Requests wait without holding any lock, so they overlap.
    pub fn set_latency(&self, latency: Duration) {
        self.app.with(|s| s.config.latency = latency);
    }

    /// As if the user `open_id` approved `scopes` on the consent page and the app exchanged the
    /// code: a new grant with the current lifetimes and rotation, remembered consent (silent
    /// re-auth), tokens listed by [`FakeTikTok::issued_secrets`], and no request counted in
    /// [`FakeTikTok::calls`]. An unknown `open_id` becomes a new account first (a made-up
    /// display name, a `user…` username, no videos), so benchmarks can have thousands of users.
    ///
    /// # Panics
    /// Where the consent flow would refuse: an empty `open_id`, no scope or an unknown one, or a
    /// sandbox app and an account outside its targets.
    pub fn mint_grant(&self, open_id: &str, scopes: &[&str]) -> MintedGrant {
        match self.app.with(|s| s.mint_grant(open_id, scopes)) {
            Ok(tokens) => tokens.into(),
            Err(e) => panic!("mint_grant({open_id:?}, {scopes:?}) refused: {}", e.code()),
        }
    }

    /// Moves the fake's clock (real time plus an offset) by `secs`. Publishes that reach a new
    /// state through the move send their webhooks at once.
    pub fn advance_clock(&self, secs: i64) {
        self.app.with(|s| {
            s.clock.advance(secs);
            s.sweep_publishes();
        });
    }

    /// Makes every current access token of that user expired (refresh tokens stay valid).
    pub fn expire_access_tokens(&self, open_id: &str) {
        self.app.with(|s| {
            let now = s.clock.now();
            s.grants.expire_access(now, open_id);
        });
    }

    /// As if the user removed the app in TikTok: all their grants and tokens die and the next
    /// authorization shows the consent page again. If a grant was alive, an
    /// `authorization.removed` webhook with `{"reason":1}` goes out.
    pub fn revoke_grants(&self, open_id: &str) {
        self.revoke_grants_with_reason(open_id, RemovalReason::UserDisconnected);
    }

    /// Like [`FakeTikTok::revoke_grants`], for any reason TikTok ends an authorization (the
    /// account was deleted, banned, …): the webhook says `{"reason":reason.code()}`.
    pub fn revoke_grants_with_reason(&self, open_id: &str, reason: RemovalReason) {
        self.app.with(|s| s.remove_app(open_id, reason));
    }

    /// Requests received by `endpoint` (all endpoints for [`Endpoint::Any`]), failed ones included.
    pub fn calls(&self, endpoint: Endpoint) -> u32 {
        self.app.with(|s| s.faults.calls(endpoint))
    }

    /// Every code, access token and refresh token ever issued, then the client secret.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.app.with(|s| {
            let mut all = s.grants.issued().to_vec();
            all.push(s.config.client_secret.clone());
            all
        })
    }

    /// The token of every `upload_url` handed out: the app receives these (so they are not in
    /// [`FakeTikTok::issued_secrets`]) but must never log them or store them in clear.
    pub fn upload_tokens(&self) -> Vec<String> {
        self.app.with(|s| s.grants.upload_tokens().to_vec())
    }

    /// How many refresh tokens currently work for that user's grants.
    pub fn live_refresh_tokens(&self, open_id: &str) -> usize {
        self.app
            .with(|s| s.grants.live_refresh_tokens(s.clock.now(), open_id))
    }

    /// Publishes (Direct Post and inbox) ever created for that user: successful inits only, so
    /// a test can prove that a retry did not post twice.
    pub fn posts_created(&self, open_id: &str) -> usize {
        self.app.with(|s| s.publishes.created_by(open_id))
    }

    /// That user's publishes with their current status, oldest first.
    pub fn publishes(&self, open_id: &str) -> Vec<FakePublish> {
        self.app.with(|s| s.publish_views(open_id))
    }

    /// Makes a publish `FAILED` with this `fail_reason` (e.g. `file_format_check_failed`),
    /// whatever its state; a `post.publish.failed` webhook follows. False for an unknown id.
    pub fn fail_publish(&self, publish_id: &str, reason: &str) -> bool {
        self.app.with(|s| s.fail_publish(publish_id, reason))
    }

    /// As if TikTok took a public post down: its video leaves the user's videos, status fetch
    /// lists no post id any more and `post.publish.no_longer_publicaly_available` goes out.
    /// False for an unknown id or a post that is not publicly available (never public, still in
    /// moderation, already taken down).
    pub fn take_down(&self, publish_id: &str) -> bool {
        self.app.with(|s| s.take_down(publish_id).is_ok())
    }

    /// As if the user opened the inbox notification and posted the share: `PUBLISH_COMPLETE`
    /// and a `post.publish.complete` webhook. False for an unknown id, a Direct Post or a failed
    /// share.
    pub fn complete_inbox_share(&self, publish_id: &str) -> bool {
        self.app.with(|s| s.complete_inbox_share(publish_id))
    }

    /// Makes the account private or public (creator info options, unaudited checks). False for
    /// an unknown user.
    pub fn set_private_account(&self, open_id: &str, private: bool) -> bool {
        self.app.with(|s| {
            s.user_mut(open_id)
                .map(|u| u.private_account = private)
                .is_some()
        })
    }

    /// Puts a posting block on the account (`None` lifts it). False for an unknown user.
    pub fn set_posting_block(&self, open_id: &str, block: Option<PostingBlock>) -> bool {
        self.app.with(|s| {
            s.user_mut(open_id)
                .map(|u| u.posting_block = block)
                .is_some()
        })
    }

    /// Unaudited client mode from now on, like [`FakeConfig::unaudited`].
    pub fn set_unaudited(&self, unaudited: bool) {
        self.app.with(|s| s.config.unaudited = unaudited);
    }

    /// Where webhooks go from now on; `None` stops sending (events are then dropped).
    pub fn set_webhook_url(&self, url: Option<&str>) {
        self.app
            .with(|s| s.config.webhook_url = url.map(str::to_owned));
    }

    /// Sends an arbitrary event through the webhook machinery (signature, retries,
    /// duplicates); `content` becomes the body's JSON-string `content`. Nothing happens
    /// without a webhook URL.
    pub fn send_webhook(&self, event: &str, open_id: &str, content: Value) {
        self.app.with(|s| s.emit_webhook(event, open_id, &content));
    }

    /// Every webhook delivery attempt so far, in the order they completed.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.app.with(|s| s.webhooks.deliveries().to_vec())
    }
}
