//! A local fake of TikTok's OAuth v2 and Display API servers, quirks included, for tests and
//! `make dev`. It is as strict as TikTok where TikTok's behaviour is known (see
//! `TIKTOK_API.md`) and lenient only where it is undocumented.
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
//! Anything else, a missing trailing slash or a wrong method: `404 Unsupported path(Janus)`.
//!
//! # Control API (JSON, under `/_fake/`)
//! * `POST /_fake/fail` `{"endpoint":"token","failure":{"type":"status429"},"times":1}`; endpoints
//!   `authorize|token|revoke|user_info|video_list|video_query|any`; failure types `status429`,
//!   `status500`, `html502`, `timeout` (+`millis`), `oauth_error200` (+`error`,`description`),
//!   `api_error` (+`status`,`code`,`message`), `malformed_json`, `connection_reset`; `times`
//!   defaults to 1.
//! * `POST /_fake/lifetimes` `{"access_secs":7200,"refresh_secs":15552000}`
//! * `POST /_fake/rotation` `{"rotation":"strict"|"classic"}`
//! * `POST /_fake/clock` `{"advance_secs":N}` → `{"ok":true,"now":<fake unix s>}`
//! * `POST /_fake/latency` `{"millis":100}`: latency of every API request from now on (token,
//!   revoke, user_info, video_list, video_query; not the authorize page, not `/_fake/`); `0` turns
//!   it off. See [`FakeTikTok::set_latency`].
//! * `POST /_fake/grants` `{"open_id":"bench-0001","scopes":["user.info.basic"]}` →
//!   `{"access_token":..,"refresh_token":..,"expires_in":n,"refresh_expires_in":n,"scope":"a,b",
//!   "open_id":..}`; 400 `{"error":"invalid_open_id"|"invalid_scope"|"non_sandbox_target"}`. See
//!   [`FakeTikTok::mint_grant`].
//! * `POST /_fake/users/{open_id}/expire-access`, `POST /_fake/users/{open_id}/revoke` (404 for
//!   an unknown user)
//! * `GET /_fake/calls` → `{"authorize":n,"token":n,"revoke":n,"user_info":n,"video_list":n,
//!   "video_query":n,"any":total}`
//! * `GET /_fake/users/{open_id}/live-refresh-tokens` → `{"open_id":..,"live":n}`
//! * `GET /_fake/secrets` → `{"secrets":[..]}` (what [`FakeTikTok::issued_secrets`] returns)
//! * `GET /_fake/health` → 200
//!
//! # Decisions where TikTok is undocumented
//! * A failed code exchange does not burn the code; a successful one does.
//! * Refreshing keeps earlier access tokens valid until their own expiry.
//! * With [`PkceMode::Off`] a challenge that is sent is still verified, in either encoding.
//! * Scripted faults other than `Timeout` short-circuit: the request has no effect.
//! * [`Endpoint::Authorize`] counts both the authorize page and the consent form post.
//! * Latency also delays scripted faults; a `Timeout` fault comes on top of it.

mod authorize;
mod clock;
mod config;
mod conn;
mod control;
mod display;
mod faults;
mod grants;
mod ids;
mod oauth;
mod pages;
mod pkce;
mod seed;
mod server;
mod state;
mod wire;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpListener;

pub use config::{FakeConfig, FakeUser, FakeVideo, Lifetimes, PkceMode, Rotation};
pub use faults::{Endpoint, Failure};

use conn::{ConnHandle, ResettableListener};
use grants::TokenSet;
use state::AppState;

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

    /// Latency of every request to a TikTok API endpoint from now on (token, revoke, user info,
    /// video list and query; not the authorize page, not `/_fake/`), like
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

    /// Moves the fake's clock (real time plus an offset) by `secs`.
    pub fn advance_clock(&self, secs: i64) {
        self.app.with(|s| s.clock.advance(secs));
    }

    /// Makes every current access token of that user expired (refresh tokens stay valid).
    pub fn expire_access_tokens(&self, open_id: &str) {
        self.app.with(|s| {
            let now = s.clock.now();
            s.grants.expire_access(now, open_id);
        });
    }

    /// As if the user removed the app in TikTok: all their grants and tokens die and the next
    /// authorization shows the consent page again.
    pub fn revoke_grants(&self, open_id: &str) {
        self.app.with(|s| s.grants.revoke_user(open_id));
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

    /// How many refresh tokens currently work for that user's grants.
    pub fn live_refresh_tokens(&self, open_id: &str) -> usize {
        self.app
            .with(|s| s.grants.live_refresh_tokens(s.clock.now(), open_id))
    }
}
