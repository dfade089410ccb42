//! Keeping an account's tokens usable: refresh ahead of expiry or after TikTok refused the access
//! token, with rotation stored atomically and races settled in DynamoDB (docs/operations.md#races).
//!
//! The protocol, per account:
//! 1. Take a *refresh lease* with a conditional write that requires the token version we read and
//!    no live lease. Exactly one caller holds it, so one refresh reaches TikTok at a time (TikTok
//!    invalidates a refresh token once it has rotated it; sending it twice would at best fail and
//!    at worst look like token theft).
//! 2. The holder refreshes and writes the new access *and* refresh token in one write conditioned
//!    on the version alone (bumping it), so whoever received new tokens from TikTok can keep them
//!    even if its lease expired meanwhile.
//! 3. Everyone else polls the record until the version moves, then uses the winner's tokens. A
//!    lease whose holder died expires and is taken over.
//! 4. `invalid_grant` marks the account `reauth_required` only if the version is unchanged after a
//!    consistent re-read, and without bumping it: a slower winner can still store its tokens and
//!    heal the account.

use std::future::Future;
use std::time::Duration;

use rand::Rng as _;
use tokio::time::Instant;

use crate::budget::AWS_OPERATION_TIMEOUT;
use crate::budget::TIKTOK_REQUEST_TIMEOUT;
use crate::cipher::{self, CipherError, EncryptionContext, TokenPair};
use crate::clock::Clock;
use crate::events::{ACCOUNT_REAUTH_REQUIRED, AppEvent, announce};
use crate::ports::Ports;
use crate::retry::{Backoff, retry_transient};
use crate::schedule::{EXPIRY_MARGIN_SECS, RefreshSchedule};
use crate::secret::AccessToken;
use crate::store::{
    Account, AccountReader, AccountStatus, RefreshLease, RenewedTokens, StoreError, TokenRotation,
    Written,
};
use crate::tiktok::{TikTokApi, TikTokError};

/// Once TikTok has rotated the refresh token, the old one is dead and the new pair exists only in
/// memory: sealing it (KMS Encrypt) and storing it (the conditional UpdateItem) are retried, with
/// backoff, for at least this long (and until the request's deadline if that is later). A try
/// starts only inside the window, so the whole write ends within it plus one AWS call.
pub const PERSIST_WINDOW: Duration = Duration::from_secs(4);
/// What a refresh needs after taking its lease: KMS Decrypt, one TikTok call, the rotated pair's
/// write. An on-demand refresh with less time left gives its lease back and answers `Busy`, so the
/// request ends within its budget (see the arithmetic in `budget.rs`).
pub const REFRESH_NEEDS: Duration = Duration::from_secs(
    AWS_OPERATION_TIMEOUT.as_secs()
        + TIKTOK_REQUEST_TIMEOUT.as_secs()
        + PERSIST_WINDOW.as_secs()
        + AWS_OPERATION_TIMEOUT.as_secs(),
);
/// Added to every lease for the clocks of different hosts.
pub const LEASE_CLOCK_SLACK: Duration = Duration::from_secs(1);
/// What the lease must still cover when the TikTok call starts: the call, the rotated pair's
/// write window and the one AWS call that may still be under way at its end.
pub const LEASE_NEEDED_AT_CALL: Duration = Duration::from_secs(
    TIKTOK_REQUEST_TIMEOUT.as_secs() + PERSIST_WINDOW.as_secs() + AWS_OPERATION_TIMEOUT.as_secs(),
);

/// How far a refresh token's end, as TikTok answers it after a rotation, may differ from the
/// stored one and still be the same end (see `refresh_token_end`).
const REFRESH_END_JITTER_SECS: i64 = 5;

/// The end of a rotated refresh token. TikTok does not extend a refresh token's life when it
/// rotates it, but answers the life left in whole seconds, from its own clock, after a call that
/// may straddle a second: the end computed from it moves by a second now and then. The stored end
/// is kept unless the answer moves it further, so what is keyed by it (the one
/// `account.reconnect_soon` per refresh token) stays once per token's life.
fn refresh_token_end(stored: i64, answered: i64) -> i64 {
    if (answered - stored).abs() <= REFRESH_END_JITTER_SECS {
        stored
    } else {
        answered
    }
}

/// Backoff of the rotated pair's write (its AWS calls also retry inside the SDK).
const PERSIST_BACKOFF: Backoff = Backoff {
    attempts: u32::MAX,
    base: Duration::from_millis(200),
    cap: Duration::from_secs(1),
};

/// Timing of the refresh protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Refresh when the access token expires within this many seconds.
    pub margin_secs: i64,
    /// When the job should refresh next, stored with every token write.
    pub schedule: RefreshSchedule,
    /// How often a caller waiting for another's refresh re-reads the record.
    pub poll: Duration,
    /// Retries of TikTok calls that failed transiently.
    pub backoff: Backoff,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            margin_secs: EXPIRY_MARGIN_SECS,
            schedule: RefreshSchedule::default(),
            poll: Duration::from_millis(100),
            backoff: Backoff::TIKTOK,
        }
    }
}

/// Why no usable token could be produced.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// TikTok refused the grant (`invalid_grant`, expired refresh token) or the user revoked it;
    /// the account is (now) marked accordingly.
    #[error("the account needs to be connected again ({0})")]
    Reauth(&'static str),
    /// The account was deleted while we worked.
    #[error("the account no longer exists")]
    Gone,
    /// A TikTok call failed for another reason (unreachable, rate-limited, an API error).
    #[error(transparent)]
    TikTok(#[from] TikTokError),
    /// Reading or writing the account failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Opening or sealing the tokens failed (KMS unreachable, or a ciphertext that does not open).
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// Another caller's refresh did not finish within our time budget.
    #[error("a concurrent refresh did not finish in time")]
    Busy,
}

/// An account with its decrypted tokens, good for at least the policy's margin.
#[derive(Debug, Clone)]
pub struct Session {
    /// The account as stored after this call (new version and expiries if it refreshed).
    pub account: Account,
    /// The decrypted tokens: pass them to TikTok only, never to a log or a response.
    pub tokens: TokenPair,
    /// Whether this call refreshed the tokens itself.
    pub refreshed: bool,
}

/// What a scheduled refresh did.
#[derive(Debug)]
pub enum Attempt {
    /// This call refreshed the tokens and stored the new pair.
    Refreshed,
    /// Someone else refreshed (or is refreshing, or replaced) the tokens: nothing to do.
    SkippedFresh,
}

/// Produces usable tokens for accounts: the one place that refreshes.
pub struct TokenKeeper<P: Ports> {
    /// Where accounts are read and their tokens written.
    pub accounts: P::Accounts,
    /// Opens and seals the token pairs (KMS behind a `CachingCipher` in production).
    pub cipher: P::Cipher,
    /// The TikTok client: the keeper's refreshes, and the calls the services make with its tokens.
    pub tiktok: P::TikTok,
    /// The time expiries and leases are compared with.
    pub clock: P::Clock,
    /// Where changes are announced (`account.reauth_required` here; the services add theirs).
    pub events: P::Events,
    /// Margins, the job's schedule, polling and retries.
    pub policy: RefreshPolicy,
}

impl<P: Ports> TokenKeeper<P> {
    /// The account's tokens, refreshed first when the access token is (nearly) expired.
    pub async fn session(
        &self,
        account: Account,
        deadline: Instant,
    ) -> Result<Session, RefreshError> {
        ensure_active(&account)?;
        if account.access_token_expires_at - self.clock.now() <= self.policy.margin_secs {
            return self.refresh(account, deadline).await;
        }
        let tokens = self.open(&account).await?;
        Ok(Session {
            account,
            tokens,
            refreshed: false,
        })
    }

    /// Runs `call` with the access token; when TikTok refuses a token we believed fresh
    /// (`TikTokError::refuses_token`), refreshes once and tries again. Transient failures are
    /// retried.
    pub async fn with_token<R, F, Fut>(
        &self,
        account: Account,
        deadline: Instant,
        what: &'static str,
        call: F,
    ) -> Result<(Session, R), RefreshError>
    where
        F: Fn(AccessToken) -> Fut,
        Fut: Future<Output = Result<R, TikTokError>>,
    {
        self.with_token_tries(account, deadline, what, self.policy.backoff, call)
            .await
    }

    /// As `with_token`, but a transient failure is never retried: for calls that may have taken
    /// effect at TikTok even though their answer was lost (a publish init). A refused token is
    /// still refreshed and the call made once more, as TikTok did nothing with the refused one.
    pub async fn with_token_once<R, F, Fut>(
        &self,
        account: Account,
        deadline: Instant,
        what: &'static str,
        call: F,
    ) -> Result<(Session, R), RefreshError>
    where
        F: Fn(AccessToken) -> Fut,
        Fut: Future<Output = Result<R, TikTokError>>,
    {
        let once = Backoff {
            attempts: 1,
            ..self.policy.backoff
        };
        self.with_token_tries(account, deadline, what, once, call)
            .await
    }

    async fn with_token_tries<R, F, Fut>(
        &self,
        account: Account,
        deadline: Instant,
        what: &'static str,
        backoff: Backoff,
        call: F,
    ) -> Result<(Session, R), RefreshError>
    where
        F: Fn(AccessToken) -> Fut,
        Fut: Future<Output = Result<R, TikTokError>>,
    {
        let session = self.session(account, deadline).await?;
        ensure_time_for_call(deadline, what)?;
        let first = retry_transient(backoff, deadline, what, || {
            call(session.tokens.access_token.clone())
        })
        .await;
        match first {
            Err(refused) if refused.refuses_token() && !session.refreshed => {
                tracing::info!(
                    call = what,
                    error = %refused,
                    tiktok_log_id = refused.log_id().unwrap_or(""),
                    "TikTok refused the access token; refreshing once"
                );
                let session = self.refresh(session.account, deadline).await?;
                ensure_time_for_call(deadline, what)?;
                let result = retry_transient(backoff, deadline, what, || {
                    call(session.tokens.access_token.clone())
                })
                .await?;
                Ok((session, result))
            }
            other => Ok((session, other?)),
        }
    }

    /// Moves the account past the tokens at `stale.token_version`: refreshes them, or waits for
    /// whoever is refreshing them and uses their result.
    pub async fn refresh(
        &self,
        stale: Account,
        deadline: Instant,
    ) -> Result<Session, RefreshError> {
        let mut current = stale;
        loop {
            ensure_active(&current)?;
            let now = self.clock.now();
            if current.refresh_token_expires_at <= now {
                return self.give_up(current, "refresh token expired").await;
            }
            let lease = self.lease_until(deadline);
            if let Some(leased) = self
                .accounts
                .take_refresh_lease(&current, &lease, self.clock.now_millis())
                .await?
            {
                if Instant::now() + REFRESH_NEEDS > deadline {
                    tracing::warn!(open_id = %current.open_id, "too little time left to refresh; giving the lease back");
                    self.release(&leased, &lease).await;
                    return Err(RefreshError::Busy);
                }
                return self.refresh_holding(leased, &lease, deadline).await;
            }
            // Someone else refreshed, or is refreshing: wait for the version to move.
            let jitter = rand::rng().random_range(0..=self.policy.poll.as_millis() as u64 / 2);
            if Instant::now() + self.policy.poll > deadline {
                return Err(RefreshError::Busy);
            }
            tokio::time::sleep(self.policy.poll + Duration::from_millis(jitter)).await;
            let latest = self.reread(&current).await?;
            if latest.token_version != current.token_version {
                return self.adopt(latest).await;
            }
            current = latest;
        }
    }

    /// The scheduled job's refresh of an account it found due: never waits for another caller.
    /// Skips the account when someone else refreshed it since the (eventually consistent) index
    /// listed it, or is refreshing it right now.
    pub async fn refresh_if_still_due(
        &self,
        listed: Account,
        deadline: Instant,
    ) -> Result<Attempt, RefreshError> {
        ensure_active(&listed)?;
        let now = self.clock.now();
        if listed.refresh_token_expires_at <= now {
            return self
                .give_up(listed, "refresh token expired")
                .await
                .map(|_| Attempt::SkippedFresh);
        }
        let lease = self.lease_until(deadline);
        // The index listed the account without its tokens: the lease hands back the whole item.
        match self
            .accounts
            .take_refresh_lease(&listed, &lease, self.clock.now_millis())
            .await?
        {
            Some(leased) => {
                let session = self.refresh_holding(leased, &lease, deadline).await?;
                Ok(if session.refreshed {
                    Attempt::Refreshed
                } else {
                    Attempt::SkippedFresh
                })
            }
            None => Ok(Attempt::SkippedFresh),
        }
    }

    /// A lease lasting as long as a holder with this deadline may still write. A holder stops
    /// retrying TikTok in time to store the rotated pair by its deadline, then may still be in one
    /// AWS call; its first try always runs, so a short deadline still needs [`REFRESH_NEEDS`].
    /// Plus [`LEASE_CLOCK_SLACK`]. A lease that ended earlier would let a second caller send the
    /// refresh token the holder may already have rotated: TikTok refuses it (`invalid_grant`, a
    /// healthy account marked `reauth_required`) or two pairs race. Wall-clock milliseconds, since
    /// other callers compare it with their own clocks.
    fn lease_until(&self, deadline: Instant) -> RefreshLease {
        let holder = (deadline.saturating_duration_since(Instant::now()) + AWS_OPERATION_TIMEOUT)
            .max(REFRESH_NEEDS);
        let lasts = holder + LEASE_CLOCK_SLACK;
        RefreshLease {
            id: lease_id(),
            until_ms: self.clock.now_millis()
                + i64::try_from(lasts.as_millis()).unwrap_or(i64::MAX),
        }
    }

    async fn refresh_holding(
        &self,
        account: Account,
        lease: &RefreshLease,
        deadline: Instant,
    ) -> Result<Session, RefreshError> {
        let outcome = self.exchange(&account, lease, deadline).await;
        match outcome {
            Ok(session) => Ok(session),
            Err(RefreshError::TikTok(TikTokError::OAuth { error, log_id, .. }))
                if error == "invalid_grant" =>
            {
                tracing::warn!(open_id = %account.open_id, tiktok_log_id = log_id.as_deref().unwrap_or(""), "TikTok refused the refresh token");
                // A winner whose lease had expired may have rotated the token under us.
                let latest = self.reread(&account).await?;
                if latest.token_version != account.token_version {
                    return self.adopt(latest).await;
                }
                self.give_up(latest, "refresh refused").await
            }
            Err(error) => {
                self.release(&account, lease).await;
                Err(error)
            }
        }
    }

    async fn release(&self, account: &Account, lease: &RefreshLease) {
        if let Err(release) = self
            .accounts
            .release_refresh_lease(account, &lease.id)
            .await
        {
            tracing::warn!(error = %release, "could not release the refresh lease; it expires on its own");
        }
    }

    /// The TikTok refresh and the conditional write of its answer.
    async fn exchange(
        &self,
        account: &Account,
        lease: &RefreshLease,
        deadline: Instant,
    ) -> Result<Session, RefreshError> {
        let context = EncryptionContext::tokens(&account.app_user, &account.open_id);
        let old = self.open(account).await?;
        // The TikTok call starts only while the lease still covers it, the rotated pair's write
        // and one AWS call (a slow KMS may have eaten into it): a holder must never outlive its
        // lease while it may own the only live refresh token. The caller gives the lease back.
        let lease_left_ms = lease.until_ms - self.clock.now_millis();
        let needed = LEASE_NEEDED_AT_CALL + LEASE_CLOCK_SLACK;
        if lease_left_ms < i64::try_from(needed.as_millis()).unwrap_or(i64::MAX) {
            tracing::warn!(open_id = %account.open_id, "the refresh lease would end during the TikTok call; not calling");
            return Err(RefreshError::Busy);
        }
        // Retries leave room for the rotated pair's write before the deadline.
        let tiktok_deadline = deadline
            .checked_sub(PERSIST_WINDOW + AWS_OPERATION_TIMEOUT)
            .unwrap_or(deadline);
        let grant = retry_transient(self.policy.backoff, tiktok_deadline, "refresh", || {
            self.tiktok.refresh(&old.refresh_token)
        })
        .await?;
        // From here on the old refresh token may be dead: storing the new pair is all that counts.
        let persist_until = deadline.max(Instant::now() + PERSIST_WINDOW);
        if grant.open_id != account.open_id {
            return Err(RefreshError::TikTok(TikTokError::Unexpected {
                detail: "refresh answered for another open_id",
                status: 200,
                log_id: None,
            }));
        }
        let now = self.clock.now();
        let tokens = TokenPair {
            access_token: grant.access_token,
            refresh_token: grant.refresh_token,
        };
        let sealed_tokens = persist(account, "seal", persist_until, || {
            cipher::seal_tokens(&self.cipher, &context, &tokens)
        })
        .await?;
        let access_expires_at = now + grant.expires_in;
        let refresh_expires_at = refresh_token_end(
            account.refresh_token_expires_at,
            now + grant.refresh_expires_in,
        );
        let renewed = RenewedTokens {
            sealed_tokens,
            access_token_expires_at: access_expires_at,
            refresh_token_expires_at: refresh_expires_at,
            scopes: (!grant.scopes.is_empty()).then_some(grant.scopes),
            refresh_due_at: self.policy.schedule.next_due(
                now,
                access_expires_at,
                refresh_expires_at,
            ),
        };
        // A try whose answer was lost may have been applied: its retry then finds the version
        // moved (`Stale`) and re-reads, finding our own tokens.
        match persist(account, "store", persist_until, || {
            self.accounts.store_refreshed(account, &renewed)
        })
        .await?
        {
            Written::Yes => {
                tracing::info!(open_id = %account.open_id, access_expires_in = grant.expires_in, refresh_expires_in = grant.refresh_expires_in, "tokens refreshed");
                let account = Account {
                    sealed_tokens: renewed.sealed_tokens,
                    access_token_expires_at: renewed.access_token_expires_at,
                    refresh_token_expires_at: renewed.refresh_token_expires_at,
                    scopes: renewed.scopes.unwrap_or(account.scopes.clone()),
                    status: AccountStatus::Active,
                    token_version: account.token_version + 1,
                    refresh_lease_until_ms: None,
                    refresh_due_at: Some(renewed.refresh_due_at),
                    refresh_failures: 0,
                    revoked_reason: None,
                    ..account.clone()
                };
                Ok(Session {
                    account,
                    tokens,
                    refreshed: true,
                })
            }
            Written::Stale => {
                // A reconnect replaced the grant while we refreshed the old one: the newer wins.
                tracing::info!(open_id = %account.open_id, "tokens were replaced during the refresh; using the newer ones");
                let latest = self.reread(account).await?;
                self.adopt(latest).await
            }
        }
    }

    /// Marks the account `reauth_required` unless someone changed its tokens meanwhile.
    async fn give_up(&self, account: Account, why: &'static str) -> Result<Session, RefreshError> {
        match self
            .accounts
            .set_status(&account, AccountStatus::ReauthRequired)
            .await?
        {
            Written::Yes => {
                tracing::warn!(open_id = %account.open_id, reason = why, "account needs to be connected again");
                let event = AppEvent::account(
                    ACCOUNT_REAUTH_REQUIRED,
                    &account.app_user,
                    &account.open_id,
                    self.clock.now(),
                )
                .because(why);
                announce(&self.events, vec![event]).await;
                Err(RefreshError::Reauth(why))
            }
            Written::Stale => {
                let latest = self.reread(&account).await?;
                self.adopt(latest).await
            }
        }
    }

    /// Uses tokens someone else stored.
    async fn adopt(&self, latest: Account) -> Result<Session, RefreshError> {
        ensure_active(&latest)?;
        let tokens = self.open(&latest).await?;
        Ok(Session {
            account: latest,
            tokens,
            refreshed: false,
        })
    }

    async fn reread(&self, account: &Account) -> Result<Account, RefreshError> {
        self.accounts
            .get(&account.app_user, &account.open_id)
            .await?
            .ok_or(RefreshError::Gone)
    }

    async fn open(&self, account: &Account) -> Result<TokenPair, RefreshError> {
        let context = EncryptionContext::tokens(&account.app_user, &account.open_id);
        Ok(cipher::open_tokens(&self.cipher, &context, &account.sealed_tokens).await?)
    }
}

/// A TikTok call started now could not end before `deadline`: the request answers `Busy` rather
/// than outlive its function's timeout.
fn ensure_time_for_call(deadline: Instant, what: &'static str) -> Result<(), RefreshError> {
    if Instant::now() + TIKTOK_REQUEST_TIMEOUT > deadline {
        tracing::warn!(call = what, "too little time left for the TikTok call");
        return Err(RefreshError::Busy);
    }
    Ok(())
}

/// One step of writing a rotated pair (`seal`, `store`), retried with backoff while a try can
/// start before `until`. When it still fails, the rotated refresh token is lost: TikTok has
/// invalidated the old one, so the account will need to be connected again. Logged as such
/// (without any token) so the loss is visible; there is nothing more this call can do.
async fn persist<R, E, F, Fut>(
    account: &Account,
    step: &'static str,
    until: Instant,
    mut attempt: F,
) -> Result<R, RefreshError>
where
    E: std::fmt::Display + Into<RefreshError>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    let started = Instant::now();
    let mut retry = 0;
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let delay = PERSIST_BACKOFF.delay(retry);
        retry += 1;
        if Instant::now() + delay >= until {
            tracing::error!(
                open_id = %account.open_id,
                step,
                tries = retry,
                waited_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "TikTok rotated the refresh token but the new pair could not be stored; it is lost and the account will need to be connected again"
            );
            return Err(error.into());
        }
        tracing::warn!(open_id = %account.open_id, step, retry, error = %error, "rotated tokens not stored yet; retrying");
        tokio::time::sleep(delay).await;
    }
}

fn ensure_active(account: &Account) -> Result<(), RefreshError> {
    match account.status {
        AccountStatus::Active => Ok(()),
        AccountStatus::ReauthRequired => Err(RefreshError::Reauth("marked reauth_required")),
        AccountStatus::Revoked => Err(RefreshError::Reauth("revoked by the user")),
    }
}

/// 128 random bits naming one lease holder.
fn lease_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use crate::store::{AccountReader, Connections, RefreshQueue, TokenRotation};
    use std::sync::Arc;

    #[test]
    fn a_rotated_refresh_token_keeps_its_end_unless_tiktok_moves_it_further_than_a_few_seconds() {
        assert_eq!(refresh_token_end(1_000, 1_001), 1_000);
        assert_eq!(refresh_token_end(1_000, 995), 1_000);
        assert_eq!(refresh_token_end(1_000, 1_006), 1_006);
        assert_eq!(refresh_token_end(1_000, 1_000 + 86_400), 1_000 + 86_400);
    }

    use super::*;
    use crate::clock::OffsetClock;
    use crate::fakes::{FakeCipher, Fakes, InMemoryAccounts, RecordingEvents, ScriptedTikTok};
    use crate::scope::ScopeSet;
    use crate::secret::RefreshToken;

    type Keeper = TokenKeeper<Fakes>;

    const USER: &str = "user-1";
    const OPEN_ID: &str = "open-1";

    /// A keeper over in-memory fakes holding one account whose access token expires in
    /// `expires_in` seconds; its refresh token is live at the scripted TikTok.
    async fn keeper_with_account(expires_in: i64) -> Keeper {
        let keeper: Keeper = TokenKeeper {
            accounts: InMemoryAccounts::default(),
            cipher: FakeCipher::default(),
            tiktok: ScriptedTikTok::granting(OPEN_ID, "user.info.basic"),
            clock: OffsetClock::default(),
            events: RecordingEvents::default(),
            policy: RefreshPolicy {
                poll: Duration::from_millis(5),
                ..RefreshPolicy::default()
            },
        };
        let tokens = TokenPair {
            access_token: AccessToken::new("act.first"),
            refresh_token: RefreshToken::new("rft.first"),
        };
        keeper
            .tiktok
            .refresh
            .lock()
            .expect("lock")
            .live
            .push("rft.first".into());
        let sealed_tokens = cipher::seal_tokens(
            &keeper.cipher,
            &EncryptionContext::tokens(USER, OPEN_ID),
            &tokens,
        )
        .await
        .expect("seal");
        let now = keeper.clock.now();
        keeper
            .accounts
            .save_connection(&Account {
                app_user: USER.into(),
                open_id: OPEN_ID.into(),
                union_id: None,
                display_name: None,
                avatar_url: None,
                username: None,
                profile_digest: None,
                scopes: ScopeSet::parse_comma_list("user.info.basic").expect("scopes"),
                status: AccountStatus::Active,
                sealed_tokens,
                access_token_expires_at: now + expires_in,
                refresh_token_expires_at: now + 86_400,
                connected_at: now,
                token_version: 0,
                grant_id: crate::store::new_grant_id(),
                refresh_lease_until_ms: None,
                refresh_due_at: Some(now),
                refresh_failures: 0,
                revoked_reason: None,
            })
            .await
            .expect("save");
        keeper
    }

    async fn stored(keeper: &Keeper) -> Account {
        keeper
            .accounts
            .get(USER, &OPEN_ID.into())
            .await
            .expect("get")
            .expect("account")
    }

    async fn stored_refresh_token(keeper: &Keeper) -> String {
        let account = stored(keeper).await;
        keeper
            .open(&account)
            .await
            .expect("open")
            .refresh_token
            .secret()
            .to_owned()
    }

    fn live_refresh_tokens(keeper: &Keeper) -> Vec<String> {
        keeper.tiktok.refresh.lock().expect("lock").live.clone()
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(30)
    }

    #[tokio::test]
    async fn a_fresh_token_is_used_as_is() {
        let keeper = keeper_with_account(3600).await;
        let session = keeper
            .session(stored(&keeper).await, soon())
            .await
            .expect("session");
        assert_eq!(session.tokens.access_token.secret(), "act.first");
        assert!(!session.refreshed);
        assert_eq!(keeper.tiktok.refresh_calls(), 0);
    }

    #[tokio::test]
    async fn a_token_inside_the_margin_is_refreshed_and_the_rotation_stored() {
        let keeper = keeper_with_account(299).await;
        let session = keeper
            .session(stored(&keeper).await, soon())
            .await
            .expect("session");
        assert!(session.refreshed);
        assert_eq!(keeper.tiktok.refresh_calls(), 1);
        assert_eq!(
            live_refresh_tokens(&keeper),
            [stored_refresh_token(&keeper).await]
        );
        assert_eq!(stored(&keeper).await.token_version, 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_callers_share_one_refresh() {
        let keeper = Arc::new(keeper_with_account(0).await);
        keeper.tiktok.refresh.lock().expect("lock").delay = Duration::from_millis(50);
        let stale = stored(&keeper).await;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (keeper, stale) = (Arc::clone(&keeper), stale.clone());
            tasks.spawn(async move { keeper.session(stale, soon()).await });
        }
        let sessions = tasks.join_all().await;
        let tokens: std::collections::HashSet<String> = sessions
            .into_iter()
            .map(|s| {
                s.expect("every caller gets tokens")
                    .tokens
                    .access_token
                    .secret()
                    .to_owned()
            })
            .collect();
        assert_eq!(tokens.len(), 1, "everyone uses the winner's access token");
        assert_eq!(keeper.tiktok.refresh_calls(), 1);
        assert_eq!(
            live_refresh_tokens(&keeper),
            [stored_refresh_token(&keeper).await]
        );
    }

    /// The due index lists an account without its tokens: the job refreshes with the whole
    /// account the lease hands back.
    #[tokio::test]
    async fn the_job_refreshes_an_account_the_index_listed_without_its_tokens() {
        let keeper = keeper_with_account(0).await;
        let shards = 0..crate::schedule::DUE_SHARDS;
        let mut listed = Vec::new();
        for shard in shards {
            listed.extend(
                keeper
                    .accounts
                    .due_page(shard, i64::MAX, None, 10)
                    .await
                    .expect("due page"),
            );
        }
        let [listed] = <[Account; 1]>::try_from(listed).expect("one account listed");
        assert!(listed.sealed_tokens.is_empty() && listed.display_name.is_none());

        let attempt = keeper.refresh_if_still_due(listed, soon()).await;

        assert!(matches!(attempt, Ok(Attempt::Refreshed)), "{attempt:?}");
        assert_eq!(keeper.tiktok.refresh_calls(), 1);
        assert_eq!(
            stored_refresh_token(&keeper).await,
            live_refresh_tokens(&keeper)[0]
        );
    }

    #[tokio::test]
    async fn a_lease_lasts_until_its_holders_deadline_and_the_tail_so_nobody_else_sends_the_token()
    {
        // GIVEN a holder with a 24 s request budget took the lease (as `refresh` does)
        let keeper = keeper_with_account(0).await;
        let listed = stored(&keeper).await;
        let lease = keeper.lease_until(Instant::now() + Duration::from_secs(24));
        let taken = keeper
            .accounts
            .take_refresh_lease(&listed, &lease, keeper.clock.now_millis())
            .await
            .expect("take");
        assert!(taken.is_some());

        // WHEN 21 s pass by the wall clock (past the fixed 20 s the lease used to last, with the
        // holder still free to write until 24 s + one AWS call) and the job finds the account due
        keeper.clock.advance(21);
        let second = keeper.refresh_if_still_due(listed.clone(), soon()).await;

        // THEN it sends no refresh token: the holder may have rotated it already
        assert!(matches!(second, Ok(Attempt::SkippedFresh)), "{second:?}");
        assert_eq!(keeper.tiktok.refresh_calls(), 0);

        // and once the holder's deadline and the tail have passed, the lease can be taken over
        let lease_secs = (AWS_OPERATION_TIMEOUT + LEASE_CLOCK_SLACK).as_secs() as i64;
        keeper.clock.advance(24 + lease_secs + 1 - 21);
        let third = keeper.refresh_if_still_due(listed, soon()).await;
        assert!(matches!(third, Ok(Attempt::Refreshed)), "{third:?}");
        assert_eq!(keeper.tiktok.refresh_calls(), 1);
    }

    #[tokio::test]
    async fn a_holder_whose_lease_cannot_cover_the_call_gives_it_back_without_calling_tiktok() {
        let keeper = keeper_with_account(0).await;
        let listed = stored(&keeper).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        let lease = keeper.lease_until(deadline);
        keeper
            .accounts
            .take_refresh_lease(&listed, &lease, keeper.clock.now_millis())
            .await
            .expect("take");
        // Time passed (a slow KMS Decrypt, a stalled host): 11 s of the lease's 23 s are left, less
        // than a TikTok call, the rotated pair's write and one AWS call.
        keeper.clock.advance(12);
        let result = keeper.refresh_holding(listed, &lease, deadline).await;
        assert!(matches!(result, Err(RefreshError::Busy)), "{result:?}");
        assert_eq!(keeper.tiktok.refresh_calls(), 0);
        assert_eq!(
            stored(&keeper).await.refresh_lease_until_ms,
            None,
            "given back"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_winner_whose_lease_expired_still_keeps_its_tokens() {
        // Leases expire at once, so a second caller takes over while the first is at TikTok;
        // TikTok grants the first and refuses the second (the token was rotated).
        let keeper = keeper_with_account(0).await;
        keeper.tiktok.refresh.lock().expect("lock").delay = Duration::from_millis(100);
        let keeper = Arc::new(keeper);
        let stale = stored(&keeper).await;
        let first = {
            let (keeper, stale) = (Arc::clone(&keeper), stale.clone());
            tokio::spawn(async move { keeper.session(stale, soon()).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        // An hour later by the wall clock (a holder whose host clock or AWS stalled): its lease
        // has ended while it is still at TikTok.
        keeper.clock.advance(3600);
        let second = keeper.session(stale, soon()).await;
        let first = first.await.expect("join");
        assert!(first.is_ok(), "the winner succeeds: {first:?}");
        // The loser either adopted the winner's tokens or briefly saw reauth_required; either
        // way the stored state ends healed, with the one live refresh token.
        assert!(
            matches!(second, Ok(_) | Err(RefreshError::Reauth(_))),
            "{second:?}"
        );
        let account = stored(&keeper).await;
        assert_eq!(account.status, AccountStatus::Active);
        assert_eq!(
            live_refresh_tokens(&keeper),
            [stored_refresh_token(&keeper).await]
        );
    }

    #[tokio::test]
    async fn invalid_grant_marks_reauth_required_and_stops_calling_tiktok() {
        let keeper = keeper_with_account(0).await;
        keeper.tiktok.refresh.lock().expect("lock").live.clear();
        let result = keeper.session(stored(&keeper).await, soon()).await;
        assert!(matches!(result, Err(RefreshError::Reauth(_))), "{result:?}");
        let account = stored(&keeper).await;
        assert_eq!(account.status, AccountStatus::ReauthRequired);
        assert_eq!(
            account.token_version, 1,
            "not bumped: a late winner may still heal it"
        );
        let again = keeper.session(account, soon()).await;
        assert!(matches!(again, Err(RefreshError::Reauth(_))));
        assert_eq!(keeper.tiktok.refresh_calls(), 1);
    }

    #[tokio::test]
    async fn an_expired_refresh_token_is_not_sent_to_tiktok() {
        let keeper = keeper_with_account(0).await;
        keeper.clock.advance(86_400);
        let result = keeper.session(stored(&keeper).await, soon()).await;
        assert!(matches!(result, Err(RefreshError::Reauth(_))), "{result:?}");
        assert_eq!(keeper.tiktok.refresh_calls(), 0);
        assert_eq!(stored(&keeper).await.status, AccountStatus::ReauthRequired);
    }

    #[tokio::test]
    async fn transient_failures_release_the_lease_and_keep_the_account_active() {
        let keeper = keeper_with_account(0).await;
        let unavailable = TikTokError::Unavailable {
            detail: "test",
            status: Some(503),
            log_id: None,
        };
        keeper.tiktok.refresh.lock().expect("lock").errors = vec![unavailable; 3];
        let result = keeper.session(stored(&keeper).await, soon()).await;
        assert!(matches!(result, Err(RefreshError::TikTok(_))), "{result:?}");
        let account = stored(&keeper).await;
        assert_eq!(account.status, AccountStatus::Active);
        assert_eq!(account.refresh_lease_until_ms, None);
        let session = keeper.session(account, soon()).await.expect("recovers");
        assert!(session.refreshed);
    }

    #[tokio::test]
    async fn the_job_never_refreshes_an_account_marked_meanwhile() {
        let keeper = keeper_with_account(0).await;
        let listed = stored(&keeper).await;
        let marked = keeper
            .accounts
            .set_status(&listed, AccountStatus::Revoked)
            .await
            .expect("mark");
        assert_eq!(marked, Written::Yes);
        let attempt = keeper
            .refresh_if_still_due(listed, soon())
            .await
            .expect("attempt");
        assert!(matches!(attempt, Attempt::SkippedFresh));
        assert_eq!(keeper.tiktok.refresh_calls(), 0);
        assert_eq!(stored(&keeper).await.status, AccountStatus::Revoked);
    }
}
