//! The connect flow: `authorize` starts it, `callback` receives TikTok's grant and keeps it as a
//! pending connection, and the app user who started it confirms it (`crate::pending`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use serde::Serialize;
use url::Url;

use connect_domain::api_origin::ApiOrigin;
use connect_domain::app_user::AppUser;
use connect_domain::budget::{AWS_OPERATION_TIMEOUT, CALLBACK_BUDGET, TIKTOK_REQUEST_TIMEOUT};
use connect_domain::cipher::{self, EncryptionContext, TokenPair};
use connect_domain::clock::Clock;
use connect_domain::error::ServiceError;
use connect_domain::pkce::{self, PkceMode};
use connect_domain::ports::ConnectPorts;
use connect_domain::query::Query;
use connect_domain::return_url::{Outcome, ReturnUrlPolicy, with_outcome};
use connect_domain::scope::ScopeSet;
use connect_domain::secret::AuthorizationCode;
use connect_domain::store::{
    ConnectionKey, PendingConnection, PendingConnectionStore, PendingState, StateKey, StateStore,
};
use connect_domain::tiktok::{self, AuthorizeRequest, TikTokApi, TikTokError};

/// How long a user has to finish TikTok's consent page.
pub const STATE_TTL_SECS: i64 = 600;
/// How long the app has to confirm a grant the callback received.
pub const PENDING_TTL_SECS: i64 = 600;

/// The parts of the configuration the connect flow needs.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    /// The TikTok app's client key (`TIKTOK_CLIENT_KEY`), the authorize URL's `client_key`.
    pub client_key: String,
    /// `TIKTOK_REDIRECT_URI` when set; else each request's [`ApiOrigin`] decides.
    pub redirect_uri: Option<String>,
    /// TikTok's authorize page (`TIKTOK_AUTH_URL`) the authorize URL is built on.
    pub auth_url: Url,
    /// The scopes this deployment may request (`TIKTOK_SCOPES`): what `GET /tiktok/authorize`
    /// asks for when its `scopes` is omitted or empty, and the limit of what it may name.
    pub allowed_scopes: ScopeSet,
    /// The PKCE flavour (`TIKTOK_PKCE`); when on, each state keeps its verifier, sealed.
    pub pkce: PkceMode,
    /// Where the callback may send the browser (`APP_RETURN_URL`, `APP_ALLOWED_RETURN_URLS`);
    /// read it through `return_urls_for`, which adds the settings page of the request's origin.
    pub return_urls: ReturnUrlPolicy,
    /// Most connects one app user may start per minute.
    pub starts_per_minute: u32,
}

impl ConnectSettings {
    /// The redirect URI for a request that reached this API at `origin`.
    pub fn redirect_uri_for(&self, origin: Option<&ApiOrigin>) -> Option<String> {
        self.redirect_uri
            .clone()
            .or_else(|| origin.map(ApiOrigin::callback_url))
    }

    /// The return-URL policy for a request that reached this API at `origin`: the configured
    /// one, plus the settings page on the same origin.
    pub fn return_urls_for(&self, origin: Option<&ApiOrigin>) -> ReturnUrlPolicy {
        match origin {
            Some(origin) => self.return_urls.also_allowing(origin.console_url()),
            None => self.return_urls.clone(),
        }
    }
}

/// `200` body of `GET /tiktok/authorize`.
#[derive(Debug, Serialize)]
pub struct AuthorizeStart {
    /// TikTok's consent page to send the person's browser to, carrying the single-use `state`
    /// (and the PKCE challenge when PKCE is on).
    pub authorize_url: String,
    /// Seconds the URL's `state` stays valid (`STATE_TTL_SECS`).
    pub expires_in: i64,
}

/// Starts a connection: remembers a single-use state and builds TikTok's authorize URL.
pub struct AuthorizeService<P: ConnectPorts> {
    /// Stores the single-use state and counts each app user's starts per minute.
    pub states: P::States,
    /// Seals the PKCE verifier kept with the state.
    pub cipher: P::Cipher,
    /// Unix seconds for the state's expiry and the per-minute quota.
    pub clock: P::Clock,
    /// The deployment's connect settings.
    pub settings: ConnectSettings,
}

impl<P: ConnectPorts> AuthorizeService<P> {
    /// `GET /tiktok/authorize[?scopes=&return_to=]` for `user`: checks the scopes against
    /// `allowed_scopes` and `return_to` against the allow-list (`400`), counts the start against
    /// the user's per-minute quota (`429`), stores a state bound to the user, scopes, return URL
    /// and redirect URI, and answers TikTok's authorize URL. Other parameters are ignored. No
    /// redirect URI (none configured and `origin` is `None`) is `503`.
    pub async fn start(
        &self,
        user: &AppUser,
        query: &Query,
        origin: Option<&ApiOrigin>,
    ) -> Result<AuthorizeStart, ServiceError> {
        let Some(redirect_uri) = self.settings.redirect_uri_for(origin) else {
            tracing::error!(
                "TIKTOK_REDIRECT_URI is not set and the request names no API domain: no callback URL"
            );
            return Err(ServiceError::ServiceUnavailable);
        };
        let return_urls = self.settings.return_urls_for(origin);
        let scopes = match query.get("scopes") {
            None | Some("") => self.settings.allowed_scopes.clone(),
            Some(list) => {
                let requested = ScopeSet::parse_comma_list(list).map_err(|bad| {
                    ServiceError::InvalidRequest(format!("`{bad}` is not a scope name"))
                })?;
                let not_allowed = requested.not_in(&self.settings.allowed_scopes);
                if !not_allowed.is_empty() {
                    return Err(ServiceError::InvalidRequest(format!(
                        "scope not allowed: {}; allowed: {}",
                        not_allowed.join(","),
                        self.settings.allowed_scopes.to_comma_list()
                    )));
                }
                if requested.is_empty() {
                    self.settings.allowed_scopes.clone()
                } else {
                    requested
                }
            }
        };
        let return_to = match query.get("return_to") {
            None => return_urls.default_url().clone(),
            Some(candidate) => return_urls.check(candidate).ok_or_else(|| {
                ServiceError::InvalidRequest(
                    "return_to is not allowed: use an absolute URL on the app's origin or one of APP_ALLOWED_RETURN_URLS"
                        .into(),
                )
            })?,
        };

        // Only a start that would store a state counts against the app user's quota.
        let now = self.clock.now();
        let minute = now.div_euclid(60);
        let counted = self
            .states
            .count_start(user.as_str(), minute, self.settings.starts_per_minute)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "could not count the connect start");
                ServiceError::ServiceUnavailable
            })?;
        if !counted {
            tracing::warn!("an app user reached the connect starts' per-minute quota");
            return Err(ServiceError::RateLimited {
                retry_after_secs: u64::try_from(60 - now.rem_euclid(60)).unwrap_or(60),
                tiktok_log_id: None,
            });
        }

        let state = new_state();
        let key = StateKey::from_state(&state);
        let (challenge, sealed_verifier) = if self.settings.pkce.is_on() {
            let verifier = pkce::new_verifier();
            let sealed = cipher::seal_verifier(
                &self.cipher,
                &EncryptionContext::pkce_verifier(key.as_str()),
                &verifier,
            )
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "could not encrypt the PKCE verifier");
                ServiceError::ServiceUnavailable
            })?;
            (self.settings.pkce.challenge(&verifier), Some(sealed))
        } else {
            (None, None)
        };

        let pending = PendingState {
            app_user: user.as_str().to_owned(),
            scopes: scopes.clone(),
            return_to: return_to.to_string(),
            redirect_uri: Some(redirect_uri.clone()),
            sealed_verifier,
            expires_at: now + STATE_TTL_SECS,
        };
        self.states.put(&key, &pending).await.map_err(|e| {
            tracing::error!(error = %e, "could not store the OAuth state");
            ServiceError::ServiceUnavailable
        })?;

        let url = tiktok::authorize_url(&AuthorizeRequest {
            auth_url: &self.settings.auth_url,
            client_key: &self.settings.client_key,
            redirect_uri: &redirect_uri,
            scopes: &scopes,
            state: &state,
            code_challenge: challenge.as_deref(),
        });
        tracing::info!(scopes = %scopes.to_comma_list(), pkce = self.settings.pkce.is_on(), "authorization started");
        Ok(AuthorizeStart {
            authorize_url: url.to_string(),
            expires_in: STATE_TTL_SECS,
        })
    }
}

/// 256 random bits, base64url without padding (43 characters): a state or a connection id.
pub(crate) fn new_state() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Why a callback did not connect; the `reason` the app receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackFailure {
    /// `invalid_request`: the query was refused, or TikTok sent no `code`.
    InvalidRequest,
    /// `invalid_state`: no `state`, or one that is unknown, already used or expired.
    InvalidState,
    /// TikTok redirected with `error=…` (sanitised to `[a-z_]`, e.g. `access_denied`).
    Denied(String),
    /// `token_exchange_failed`: TikTok refused the code; the person must start again.
    TokenExchangeFailed,
    /// `tiktok_unavailable`: the exchange failed on TikTok's side (unreachable, throttled, or an
    /// answer not understood); starting again may work.
    TikTokUnavailable,
    /// `service_unavailable`: our side failed (state store, KMS, DynamoDB, no redirect URI);
    /// nothing was stored.
    ServiceUnavailable,
}

impl CallbackFailure {
    /// The `reason` the app receives in `tiktok=error&reason=…` on its return URL.
    pub fn reason(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidState => "invalid_state",
            Self::Denied(reason) => reason,
            Self::TokenExchangeFailed => "token_exchange_failed",
            Self::TikTokUnavailable => "tiktok_unavailable",
            Self::ServiceUnavailable => "service_unavailable",
        }
    }
}

/// TikTok's `error` value if it is a plain snake_case code; anything else becomes `tiktok_error`.
fn sanitize_tiktok_error(error: &str) -> String {
    let plain = !error.is_empty()
        && error.len() <= 64
        && error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if plain {
        error.to_owned()
    } else {
        "tiktok_error".to_owned()
    }
}

/// Receives TikTok's redirect: consumes the state, exchanges the code, and keeps the sealed grant
/// as a pending connection that only the state's app user can confirm.
pub struct CallbackService<P: ConnectPorts> {
    /// Where the authorize leg's states are consumed (each at most once).
    pub states: P::States,
    /// Keeps the sealed grant as a pending connection until the app confirms it.
    pub accounts: P::Pending,
    /// Opens the state's PKCE verifier and seals the token pair.
    pub cipher: P::Cipher,
    /// Exchanges the code and reads the profile shown with the connection.
    pub tiktok: P::TikTok,
    /// Unix seconds for the state's expiry and the pending connection's.
    pub clock: P::Clock,
    /// The deployment's connect settings; the same as the authorize leg's.
    pub settings: ConnectSettings,
}

impl<P: ConnectPorts> CallbackService<P> {
    /// Where to send the browser. Never fails: every problem becomes `tiktok=error&reason=…` on an
    /// allowed URL (the state's return URL when the state was valid, the default one otherwise).
    pub async fn complete(&self, raw_query: Option<&str>, origin: Option<&ApiOrigin>) -> Url {
        let deadline = tokio::time::Instant::now() + CALLBACK_BUDGET;
        let return_urls = self.settings.return_urls_for(origin);
        let default = return_urls.default_url().clone();
        let query = match Query::parse(raw_query) {
            Ok(query) => query,
            Err(e) => {
                tracing::warn!(problem = %e.message(), "callback query refused");
                return fail(&default, &CallbackFailure::InvalidRequest);
            }
        };
        let Some(state) = query.get("state").filter(|s| !s.is_empty()) else {
            tracing::warn!("callback without state");
            return fail(&default, &CallbackFailure::InvalidState);
        };
        let key = StateKey::from_state(state);
        let pending = match self.states.take(&key, self.clock.now()).await {
            Ok(Some(pending)) => pending,
            Ok(None) => {
                tracing::warn!("callback with an unknown, used or expired state");
                return fail(&default, &CallbackFailure::InvalidState);
            }
            Err(e) => {
                tracing::error!(error = %e, "could not consume the OAuth state");
                return fail(&default, &CallbackFailure::ServiceUnavailable);
            }
        };
        // Re-checked in case the allow-list changed since `authorize`.
        let return_url = return_urls.check(&pending.return_to).unwrap_or(default);
        // Exactly the redirect_uri the authorize request sent (RFC 6749 §4.1.3); a state stored
        // before it was recorded falls back to what this request would send.
        let Some(redirect_uri) = pending
            .redirect_uri
            .clone()
            .or_else(|| self.settings.redirect_uri_for(origin))
        else {
            tracing::error!("no redirect_uri for the code exchange");
            return fail(&return_url, &CallbackFailure::ServiceUnavailable);
        };
        match self
            .connect(&query, &key, &pending, &redirect_uri, deadline)
            .await
        {
            Ok(connection_id) => with_outcome(
                &return_url,
                &Outcome::Pending {
                    connection_id: &connection_id,
                },
            ),
            Err(failure) => fail(&return_url, &failure),
        }
    }

    async fn connect(
        &self,
        query: &Query,
        key: &StateKey,
        pending: &PendingState,
        redirect_uri: &str,
        deadline: tokio::time::Instant,
    ) -> Result<String, CallbackFailure> {
        if let Some(error) = query.get("error") {
            let reason = sanitize_tiktok_error(error);
            tracing::info!(reason = %reason, "TikTok consent not given");
            return Err(CallbackFailure::Denied(reason));
        }
        let code = match query.get("code") {
            Some(code) if !code.is_empty() => AuthorizationCode::new(code),
            _ => return Err(CallbackFailure::InvalidRequest),
        };
        let verifier = match &pending.sealed_verifier {
            None => None,
            Some(sealed) => Some(
                cipher::open_verifier(
                    &self.cipher,
                    &EncryptionContext::pkce_verifier(key.as_str()),
                    sealed,
                )
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "could not decrypt the PKCE verifier");
                    CallbackFailure::ServiceUnavailable
                })?,
            ),
        };

        let grant = self
            .tiktok
            .exchange_code(&code, verifier.as_ref(), redirect_uri)
            .await
            .map_err(|e| exchange_failure(&e))?;
        let now = self.clock.now();
        // The token's `scope` is authoritative; the redirect's `scopes` is the fallback. Either
        // is cut to what this state asked for: a scope the app did not request (TikTok adding
        // one, a tampered redirect) is never recorded as granted.
        let reported = if grant.scopes.is_empty() {
            query
                .get("scopes")
                .and_then(|s| ScopeSet::parse_comma_list(s).ok())
                .unwrap_or_default()
        } else {
            grant.scopes.clone()
        };
        let scopes = reported.intersection(&pending.scopes);

        // A profile failure must not lose a working grant: keep it and let `user-info` fill the
        // profile in later. It gets only the time the two AWS calls that keep the grant
        // (Encrypt, PutItem) do not need.
        let left = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .saturating_sub(AWS_OPERATION_TIMEOUT * 2)
            .min(TIKTOK_REQUEST_TIMEOUT);
        let fetched = if left.is_zero() {
            None
        } else {
            tokio::time::timeout(
                left,
                self.tiktok.fetch_profile(&grant.access_token, &scopes),
            )
            .await
            .ok()
        };
        let profile = match fetched {
            Some(Ok(profile)) => profile,
            Some(Err(e)) => {
                tracing::warn!(error = %e, tiktok_log_id = e.log_id().unwrap_or(""), "profile not read at connect");
                tiktok::Profile::default()
            }
            None => {
                tracing::warn!(
                    "profile not read at connect: no time left before storing the account"
                );
                tiktok::Profile::default()
            }
        };

        let tokens = TokenPair {
            access_token: grant.access_token,
            refresh_token: grant.refresh_token,
        };
        let sealed_tokens = cipher::seal_tokens(
            &self.cipher,
            &EncryptionContext::tokens(&pending.app_user, &grant.open_id),
            &tokens,
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not encrypt tokens; nothing stored");
            CallbackFailure::ServiceUnavailable
        })?;
        let connection_id = new_state();
        let pending_connection = PendingConnection {
            app_user: pending.app_user.clone(),
            open_id: grant.open_id,
            union_id: profile.union_id,
            display_name: profile.display_name,
            avatar_url: profile.avatar_url,
            username: profile.username,
            scopes,
            sealed_tokens,
            access_token_expires_at: now + grant.expires_in,
            refresh_token_expires_at: now + grant.refresh_expires_in,
            expires_at: now + PENDING_TTL_SECS,
        };
        self.accounts
            .put_pending(&ConnectionKey::from_id(&connection_id), &pending_connection)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "could not keep the grant; nothing stored");
                CallbackFailure::ServiceUnavailable
            })?;
        tracing::info!(open_id = %pending_connection.open_id, "TikTok grant received; waiting for the app to confirm it");
        Ok(connection_id)
    }
}

fn exchange_failure(error: &TikTokError) -> CallbackFailure {
    tracing::warn!(error = %error, tiktok_log_id = error.log_id().unwrap_or(""), "code exchange failed");
    if error.is_transient() || matches!(error, TikTokError::Unexpected { .. }) {
        CallbackFailure::TikTokUnavailable
    } else {
        CallbackFailure::TokenExchangeFailed
    }
}

fn fail(return_url: &Url, failure: &CallbackFailure) -> Url {
    tracing::info!(reason = failure.reason(), "callback did not connect");
    with_outcome(
        return_url,
        &Outcome::Error {
            reason: failure.reason(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_domain::clock::OffsetClock;
    use connect_domain::fakes::{
        FakeCipher, FakeConnect, Fakes, InMemoryAccounts, InMemoryStates, ScriptedTikTok,
    };
    use connect_domain::store::{Account, AccountReader as _};

    fn settings(pkce: PkceMode) -> ConnectSettings {
        ConnectSettings {
            client_key: "ck".into(),
            redirect_uri: Some("https://api.example.com/tiktok/callback".into()),
            auth_url: Url::parse("https://www.tiktok.com/v2/auth/authorize/").expect("url"),
            allowed_scopes: ScopeSet::parse_comma_list("user.info.basic,video.list")
                .expect("scopes"),
            pkce,
            return_urls: ReturnUrlPolicy::new(
                Url::parse("https://app.example.com/settings").expect("url"),
                vec![],
            ),
            starts_per_minute: 3,
        }
    }

    struct World {
        authorize: AuthorizeService<FakeConnect>,
        callback: CallbackService<FakeConnect>,
    }

    fn world(pkce: PkceMode) -> World {
        let (states, cipher, clock) = (
            InMemoryStates::default(),
            FakeCipher::default(),
            OffsetClock::default(),
        );
        World {
            authorize: AuthorizeService {
                states: states.clone(),
                cipher: cipher.clone(),
                clock: clock.clone(),
                settings: settings(pkce),
            },
            callback: CallbackService {
                states,
                accounts: InMemoryAccounts::default(),
                cipher,
                tiktok: ScriptedTikTok::granting("open-1", "user.info.basic"),
                clock,
                settings: settings(pkce),
            },
        }
    }

    impl World {
        /// TikTok's redirect with a code for `state`, delivered to the callback.
        async fn deliver_code(&self, state: &str) -> Url {
            self.callback
                .complete(Some(&format!("code=c&state={state}")), None)
                .await
        }

        /// The token keeper the `accounts` function confirms with, over this world's fakes.
        fn keeper(&self) -> connect_domain::refresh::TokenKeeper<Fakes> {
            connect_domain::refresh::TokenKeeper {
                accounts: self.callback.accounts.clone(),
                cipher: self.callback.cipher.clone(),
                tiktok: self.callback.tiktok.clone(),
                clock: self.callback.clock.clone(),
                events: connect_domain::fakes::RecordingEvents::default(),
                policy: connect_domain::refresh::RefreshPolicy::default(),
            }
        }

        /// user-1 confirms the connection the callback sent the app to `location`; the account
        /// it stored.
        async fn confirmed(&self, location: &Url) -> Account {
            assert_eq!(
                param(location, "tiktok").as_deref(),
                Some("pending"),
                "{location}"
            );
            let id = param(location, "connection_id").expect("connection_id");
            let key = crate::pending::parse_connection_id(&id).expect("id");
            let user = AppUser::parse("user-1").expect("user");
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
            crate::pending::confirm(&self.keeper(), &user, &key, deadline)
                .await
                .expect("confirmed");
            self.callback
                .accounts
                .get("user-1", &"open-1".into())
                .await
                .expect("get")
                .expect("stored")
        }

        /// Nothing stored and nothing waiting for a confirm.
        async fn nothing_stored(&self) -> bool {
            self.callback
                .accounts
                .list("user-1")
                .await
                .expect("list")
                .is_empty()
                && self.callback.accounts.pending_count() == 0
        }
    }

    async fn state_of(world: &World) -> (Url, String) {
        state_asking(world, &Query::default()).await
    }

    /// Starts a connect for user-1 with `query`; the authorize URL and its state.
    async fn state_asking(world: &World, query: &Query) -> (Url, String) {
        let user = AppUser::parse("user-1").expect("user");
        let start = world
            .authorize
            .start(&user, query, None)
            .await
            .expect("start");
        let url = Url::parse(&start.authorize_url).expect("url");
        let state = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .expect("state");
        (url, state)
    }

    fn param(url: &Url, name: &str) -> Option<String> {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    fn reason(url: &Url) -> Option<String> {
        param(url, "reason")
    }

    #[tokio::test]
    async fn given_a_started_connect_when_tiktok_returns_a_code_then_the_grant_waits_for_a_confirm()
    {
        let world = world(PkceMode::Off);
        let (_, state) = state_of(&world).await;

        let location = world
            .callback
            .complete(
                Some(&format!(
                    "code=c%2A0%216410.u1&scopes=user.info.basic&state={state}"
                )),
                None,
            )
            .await;

        let id = param(&location, "connection_id").expect("connection_id");
        assert_eq!(
            location.as_str(),
            format!("https://app.example.com/settings?tiktok=pending&connection_id={id}")
        );
        assert_eq!(id.len(), 43, "256 bits, base64url");
        assert!(
            world
                .callback
                .accounts
                .list("user-1")
                .await
                .expect("list")
                .is_empty(),
            "nothing is connected before the confirm"
        );
        let exchanged = world
            .callback
            .tiktok
            .exchanged_codes
            .lock()
            .expect("lock")
            .clone();
        assert_eq!(
            exchanged,
            vec![(
                "c*0!6410.u1".to_owned(),
                None,
                "https://api.example.com/tiktok/callback".to_owned()
            )],
            "decoded exactly once"
        );
        let account = world.confirmed(&location).await;
        assert_eq!(account.token_version, 1);
        assert_eq!(account.display_name.as_deref(), Some("Scripted"));
        assert!(world.callback.states.is_empty(), "state consumed");
    }

    #[tokio::test]
    async fn given_pkce_when_the_callback_exchanges_then_the_verifier_matches_the_challenge() {
        for mode in [PkceMode::S256Hex, PkceMode::S256Base64Url] {
            let world = world(mode);
            let (url, state) = state_of(&world).await;
            let challenge = url
                .query_pairs()
                .find(|(k, _)| k == "code_challenge")
                .map(|(_, v)| v.into_owned())
                .expect("challenge");
            world.deliver_code(&state).await;
            let exchanged = world
                .callback
                .tiktok
                .exchanged_codes
                .lock()
                .expect("lock")
                .clone();
            let verifier = connect_domain::secret::CodeVerifier::new(
                exchanged[0].1.clone().expect("verifier sent"),
            );
            assert_eq!(
                mode.challenge(&verifier).as_deref(),
                Some(challenge.as_str()),
                "{mode:?}"
            );
        }
    }

    #[tokio::test]
    async fn given_a_failing_exchange_then_the_reason_says_whether_to_retry_and_nothing_is_stored()
    {
        let cases = [
            (
                TikTokError::OAuth {
                    error: "invalid_grant".into(),
                    description: String::new(),
                    log_id: None,
                },
                "token_exchange_failed",
            ),
            (
                TikTokError::Unavailable {
                    detail: "timed out",
                    status: None,
                    log_id: None,
                },
                "tiktok_unavailable",
            ),
            (
                TikTokError::RateLimited {
                    retry_after_secs: None,
                    log_id: None,
                },
                "tiktok_unavailable",
            ),
        ];
        for (error, expected) in cases {
            let world = world(PkceMode::Off);
            world.callback.tiktok.fail_exchange(error);
            let (_, state) = state_of(&world).await;
            let location = world.deliver_code(&state).await;
            assert_eq!(reason(&location).as_deref(), Some(expected));
            assert!(world.nothing_stored().await);
        }
    }

    #[tokio::test]
    async fn given_kms_down_when_storing_then_nothing_is_stored_and_the_user_may_retry() {
        let world = world(PkceMode::Off);
        let (_, state) = state_of(&world).await;
        *world.callback.cipher.fail.lock().expect("lock") = true;
        let location = world.deliver_code(&state).await;
        assert_eq!(reason(&location).as_deref(), Some("service_unavailable"));
        assert!(world.nothing_stored().await);
    }

    #[tokio::test]
    async fn given_a_state_older_than_ten_minutes_then_it_is_refused() {
        let world = world(PkceMode::Off);
        let (_, state) = state_of(&world).await;
        world.callback.clock.advance(STATE_TTL_SECS + 1);
        let location = world.deliver_code(&state).await;
        assert_eq!(reason(&location).as_deref(), Some("invalid_state"));
        assert!(
            world
                .callback
                .tiktok
                .exchanged_codes
                .lock()
                .expect("lock")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn given_no_configured_redirect_uri_then_the_requests_api_domain_gives_it_to_both_legs() {
        let mut world = world(PkceMode::Off);
        world.authorize.settings.redirect_uri = None;
        world.callback.settings.redirect_uri = None;
        let origin = ApiOrigin::from_domain("abc123.execute-api.eu-west-1.amazonaws.com");
        let user = AppUser::parse("user-1").expect("user");
        let console = "https://abc123.execute-api.eu-west-1.amazonaws.com/tiktok/console";
        let query = Query::parse(Some(&format!("return_to={console}"))).expect("query");

        let start = world
            .authorize
            .start(&user, &query, origin.as_ref())
            .await
            .expect("start");
        let url = Url::parse(&start.authorize_url).expect("url");
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let callback = "https://abc123.execute-api.eu-west-1.amazonaws.com/tiktok/callback";
        assert_eq!(param("redirect_uri").as_deref(), Some(callback));

        let state = param("state").expect("state");
        let location = world
            .callback
            .complete(Some(&format!("code=c&state={state}")), origin.as_ref())
            .await;
        assert!(
            location.as_str().starts_with(console),
            "the settings page on the API's own origin is a return URL: {location}"
        );
        let exchanged = world.callback.tiktok.exchanged_codes.lock().expect("lock");
        assert_eq!(exchanged[0].2, callback, "the exchange sends the same URI");
    }

    #[tokio::test]
    async fn given_no_redirect_uri_and_no_api_domain_then_authorize_is_unavailable() {
        let mut world = world(PkceMode::Off);
        world.authorize.settings.redirect_uri = None;
        let user = AppUser::parse("user-1").expect("user");
        let result = world.authorize.start(&user, &Query::default(), None).await;
        assert!(matches!(result, Err(ServiceError::ServiceUnavailable)));
        assert!(world.authorize.states.is_empty(), "no state stored");
    }

    #[test]
    fn only_plain_host_names_make_an_api_origin() {
        for good in ["abc.execute-api.us-east-1.amazonaws.com", "api.example.com"] {
            assert!(ApiOrigin::from_domain(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "evil.com/x",
            "a b",
            "user@host",
            "host:443",
            ".host",
            "a..b",
            "-host",
            "host\\x",
        ] {
            assert_eq!(ApiOrigin::from_domain(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn given_tiktok_reports_more_scopes_than_asked_then_only_the_asked_ones_are_stored() {
        let mut world = world(PkceMode::Off);
        world.callback.tiktok =
            ScriptedTikTok::granting("open-1", "user.info.basic,video.list,video.publish");
        let query = Query::parse(Some("scopes=user.info.basic")).expect("query");
        let (_, state) = state_asking(&world, &query).await;
        let location = world.deliver_code(&state).await;
        let account = world.confirmed(&location).await;
        assert_eq!(account.scopes.to_comma_list(), "user.info.basic");
    }

    #[tokio::test]
    async fn an_app_user_starts_at_most_the_quota_of_connects_a_minute() {
        let world = world(PkceMode::Off);
        let user = AppUser::parse("user-1").expect("user");
        let other = AppUser::parse("user-2").expect("user");
        let none = Query::default();
        let start = |user| world.authorize.start(user, &none, None);
        world
            .authorize
            .clock
            .advance(60 - world.authorize.clock.now().rem_euclid(60));
        for _ in 0..3 {
            start(&user).await.expect("within the quota");
        }
        let refused = start(&user).await;
        assert!(
            matches!(
                refused,
                Err(ServiceError::RateLimited {
                    retry_after_secs: 60,
                    ..
                })
            ),
            "{refused:?}"
        );
        assert_eq!(
            world.authorize.states.len(),
            3,
            "no state for the refused start"
        );
        start(&other)
            .await
            .expect("another user has a quota of their own");
        // A refused request (bad scope) does not count.
        let bad = Query::parse(Some("scopes=nope")).expect("query");
        world.authorize.clock.advance(60);
        for _ in 0..5 {
            assert!(world.authorize.start(&user, &bad, None).await.is_err());
        }
        start(&user)
            .await
            .expect("a new minute, and refusals did not count");
    }

    #[test]
    fn tiktok_error_values_are_sanitised() {
        assert_eq!(sanitize_tiktok_error("access_denied"), "access_denied");
        assert_eq!(sanitize_tiktok_error("<script>"), "tiktok_error");
        assert_eq!(sanitize_tiktok_error(""), "tiktok_error");
    }
}
