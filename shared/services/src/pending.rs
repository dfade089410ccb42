//! Pending connections: the grant the callback received waits here until the app user who
//! started the connect confirms it. Confirming as anyone else cancels it and revokes the grant at
//! TikTok, which closes account-linking CSRF (RFC 6749 §10.12, RFC 9700 §4.7): a TikTok URL an
//! attacker minted for their own app user and sent to a victim can no longer put the victim's
//! account under the attacker's user. Grants nobody confirmed are revoked by the scheduled job.
//!
//! TikTok's revoke disconnects the app from the whole TikTok account, not one grant: a pending
//! grant of a TikTok user already connected here (by anyone) is forgotten without a revoke, or
//! it would cut that connection too. Forgotten, its tokens exist nowhere: the ciphertext is
//! deleted and nothing else ever held them.

use serde::Serialize;
use tokio::time::Instant;

use crate::accounts::AccountView;
use connect_domain::app_user::AppUser;
use connect_domain::cipher::{self, EncryptionContext};
use connect_domain::clock::Clock;
use connect_domain::error::ServiceError;
use connect_domain::events::{ACCOUNT_CONNECTED, AppEvent, announce};
use connect_domain::ports::Ports;
use connect_domain::refresh::TokenKeeper;
use connect_domain::store::{
    Account, AccountStatus, Confirmation, ConnectionKey, PendingConnection, PendingConnectionStore,
};
use connect_domain::tiktok::{TikTokApi, TikTokError};

/// Length of a connection id: 256 bits in unpadded base64url.
const CONNECTION_ID_LEN: usize = 43;
/// How long after its expiry the job keeps trying to revoke a grant nobody confirmed. By then
/// TikTok's access token has expired and the refresh token was never handed to anyone.
const REVOKE_GIVE_UP_SECS: i64 = 86_400;

/// The key of a `connection_id` from a path: exactly 43 base64url characters, or a 400.
pub fn parse_connection_id(value: &str) -> Result<ConnectionKey, ServiceError> {
    let valid = value.len() == CONNECTION_ID_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(ConnectionKey::from_id(value))
    } else {
        Err(ServiceError::InvalidRequest(format!(
            "connection_id must be the {CONNECTION_ID_LEN} characters the callback sent"
        )))
    }
}

/// `200` body of `POST /tiktok/connections/{connection_id}/confirm`: the account as
/// `GET /tiktok/accounts` lists it, and whether it was taken from another app user.
#[derive(Debug, Serialize)]
pub struct ConfirmedConnection {
    /// The stored account, flattened into the body as `GET /tiktok/accounts` lists it.
    #[serde(flatten)]
    pub account: AccountView,
    /// `true` when another app user had this TikTok account connected until now: it has moved
    /// to this one.
    pub took_over: bool,
}

/// Commits the pending connection `key` for `user`, who must be the app user who started it.
pub async fn confirm<P: Ports>(
    keeper: &TokenKeeper<P>,
    user: &AppUser,
    key: &ConnectionKey,
    deadline: Instant,
) -> Result<ConfirmedConnection, ServiceError>
where
    P::Accounts: PendingConnectionStore,
{
    let now = keeper.clock.now();
    let pending = owned_pending(keeper, user, key, deadline).await?;
    let account = account_from(pending, now, keeper);
    match keeper.accounts.confirm_pending(key, &account, now).await? {
        Confirmation::Saved { previous_owner } => {
            let took_over = previous_owner.is_some();
            tracing::info!(open_id = %account.open_id, took_over, "TikTok account connected");
            let event = AppEvent::account(ACCOUNT_CONNECTED, user.as_str(), &account.open_id, now);
            announce(&keeper.events, vec![event]).await;
            Ok(ConfirmedConnection {
                account: AccountView::from(&account),
                took_over,
            })
        }
        Confirmation::Gone => Err(ServiceError::ConnectionNotFound),
    }
}

/// Cancels the pending connection `key` of `user` and releases its grant: revoked at TikTok (best
/// effort), or only forgotten when that TikTok user is connected here (a revoke would cut them).
pub async fn cancel<P: Ports>(
    keeper: &TokenKeeper<P>,
    user: &AppUser,
    key: &ConnectionKey,
    deadline: Instant,
) -> Result<(), ServiceError>
where
    P::Accounts: PendingConnectionStore,
{
    owned_pending(keeper, user, key, deadline).await?;
    let taken = keeper
        .accounts
        .take_pending(key, keeper.clock.now())
        .await?
        .ok_or(ServiceError::ConnectionNotFound)?;
    release_best_effort(keeper, &taken, deadline).await;
    tracing::info!(open_id = %taken.open_id, "pending connection cancelled");
    Ok(())
}

/// The unexpired pending connection `key`, if `user` started it. Another app user's is cancelled
/// and its grant revoked: whoever holds its id was not meant to (RFC 9700 §4.7).
async fn owned_pending<P: Ports>(
    keeper: &TokenKeeper<P>,
    user: &AppUser,
    key: &ConnectionKey,
    deadline: Instant,
) -> Result<PendingConnection, ServiceError>
where
    P::Accounts: PendingConnectionStore,
{
    let now = keeper.clock.now();
    let pending = keeper
        .accounts
        .get_pending(key, now)
        .await?
        .ok_or(ServiceError::ConnectionNotFound)?;
    if pending.app_user == user.as_str() {
        return Ok(pending);
    }
    tracing::warn!(open_id = %pending.open_id, "a pending connection was presented by another app user; cancelling it");
    if let Some(taken) = keeper.accounts.take_pending(key, now).await? {
        release_best_effort(keeper, &taken, deadline).await;
    }
    Err(ServiceError::ConnectionMismatch)
}

fn account_from<P: Ports>(
    pending: PendingConnection,
    now: i64,
    keeper: &TokenKeeper<P>,
) -> Account {
    let due = keeper.policy.schedule.next_due(
        now,
        pending.access_token_expires_at,
        pending.refresh_token_expires_at,
    );
    Account {
        app_user: pending.app_user,
        open_id: pending.open_id,
        union_id: pending.union_id,
        display_name: pending.display_name,
        avatar_url: pending.avatar_url,
        username: pending.username,
        profile_digest: None,
        scopes: pending.scopes,
        status: AccountStatus::Active,
        sealed_tokens: pending.sealed_tokens,
        access_token_expires_at: pending.access_token_expires_at,
        refresh_token_expires_at: pending.refresh_token_expires_at,
        connected_at: now,
        token_version: 0,
        grant_id: connect_domain::store::new_grant_id(),
        refresh_lease_until_ms: None,
        refresh_due_at: Some(due),
        refresh_failures: 0,
        revoked_reason: None,
    }
    .with_profile_digest()
}

/// Ends a pending connection's grant at TikTok with its access token (at most 10 minutes old when
/// it is cancelled, so no refresh is needed), unless its TikTok user is connected here: TikTok
/// would disconnect that connection too. Bounded by `deadline`.
async fn release<P: Ports>(
    keeper: &TokenKeeper<P>,
    pending: &PendingConnection,
    deadline: Instant,
) -> Result<Released, RevokeFailure>
where
    P::Accounts: PendingConnectionStore,
{
    let connected = keeper
        .accounts
        .open_id_connected(&pending.open_id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not check whether the TikTok user is connected");
            RevokeFailure::Retry
        })?;
    if connected {
        return Ok(Released::Forgotten);
    }
    let tokens = cipher::open_tokens(
        &keeper.cipher,
        &EncryptionContext::tokens(&pending.app_user, &pending.open_id),
        &pending.sealed_tokens,
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "could not decrypt a pending grant to revoke it");
        RevokeFailure::Retry
    })?;
    match tokio::time::timeout_at(deadline, keeper.tiktok.revoke(&tokens.access_token)).await {
        Ok(Ok(())) => Ok(Released::Revoked),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, tiktok_log_id = e.log_id().unwrap_or(""), "TikTok did not revoke a pending grant");
            if e.is_transient() || matches!(e, TikTokError::Unexpected { .. }) {
                Err(RevokeFailure::Retry)
            } else {
                // TikTok refuses the token: the grant is already unusable.
                Ok(Released::Revoked)
            }
        }
        Err(_) => {
            tracing::warn!("revoking a pending grant ran out of time");
            Err(RevokeFailure::Retry)
        }
    }
}

/// How a pending grant ended.
enum Released {
    /// Revoked at TikTok (or TikTok already refused its token).
    Revoked,
    /// Not revoked: its TikTok user is connected here and a revoke would disconnect them.
    Forgotten,
}

/// TikTok, KMS or DynamoDB failed; trying later may work.
enum RevokeFailure {
    Retry,
}

/// A cancel or a mismatch has already consumed the pending connection: its grant is released if
/// TikTok answers; otherwise nobody holds it any more and it dies with its access token.
async fn release_best_effort<P: Ports>(
    keeper: &TokenKeeper<P>,
    pending: &PendingConnection,
    deadline: Instant,
) where
    P::Accounts: PendingConnectionStore,
{
    match release(keeper, pending, deadline).await {
        Ok(Released::Revoked) => {
            tracing::info!(open_id = %pending.open_id, "pending grant revoked at TikTok");
        }
        Ok(Released::Forgotten) => {
            tracing::info!(open_id = %pending.open_id, "pending grant forgotten, not revoked: this TikTok user is connected here");
        }
        Err(RevokeFailure::Retry) => {}
    }
}

/// What one sweep of expired pending connections did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sweep {
    /// Grants nobody confirmed, revoked at TikTok (or already dead there) and forgotten.
    pub revoked: u64,
    /// Forgotten without a revoke: their TikTok user is connected here, and TikTok's revoke
    /// would disconnect that connection too.
    pub forgotten: u64,
    /// Left for the next run (TikTok, KMS or DynamoDB failed); forgotten unrevoked a day after
    /// expiry.
    pub retry_later: u64,
    /// Forgotten a day after expiry without TikTok confirming the revoke.
    pub abandoned: u64,
}

/// Releases up to `limit` pending connections that expired unconfirmed: each is revoked (or only
/// forgotten, when its TikTok user is connected here) before it is deleted, and one whose revoke
/// failed stays for the next run. An expired one can no longer be confirmed, so nothing races.
pub async fn sweep_expired<P: Ports>(
    keeper: &TokenKeeper<P>,
    limit: usize,
    deadline: Instant,
) -> Result<Sweep, connect_domain::store::StoreError>
where
    P::Accounts: PendingConnectionStore,
{
    let now = keeper.clock.now();
    let mut sweep = Sweep::default();
    for (key, pending) in keeper.accounts.expired_pending(now, limit).await? {
        if Instant::now() >= deadline {
            break;
        }
        let outcome = release(keeper, &pending, deadline).await;
        let give_up = now >= pending.expires_at + REVOKE_GIVE_UP_SECS;
        match outcome {
            Ok(Released::Revoked) => sweep.revoked += 1,
            Ok(Released::Forgotten) => sweep.forgotten += 1,
            Err(RevokeFailure::Retry) if give_up => {
                tracing::warn!(open_id = %pending.open_id, "gave up revoking an unconfirmed grant a day after it expired");
                sweep.abandoned += 1;
            }
            Err(RevokeFailure::Retry) => {
                sweep.retry_later += 1;
                continue;
            }
        }
        keeper.accounts.forget_expired_pending(&key, now).await?;
    }
    Ok(sweep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_domain::cipher::TokenPair;
    use connect_domain::clock::OffsetClock;
    use connect_domain::fakes::{
        FakeCipher, Fakes, InMemoryAccounts, RecordingEvents, ScriptedTikTok,
    };
    use connect_domain::refresh::RefreshPolicy;
    use connect_domain::scope::ScopeSet;
    use connect_domain::secret::{AccessToken, RefreshToken};
    use connect_domain::store::AccountReader as _;
    use std::time::Duration;

    type Keeper = TokenKeeper<Fakes>;

    fn keeper() -> Keeper {
        TokenKeeper {
            accounts: InMemoryAccounts::default(),
            cipher: FakeCipher::default(),
            tiktok: ScriptedTikTok::granting("open-1", "user.info.basic"),
            clock: OffsetClock::default(),
            events: RecordingEvents::default(),
            policy: RefreshPolicy::default(),
        }
    }

    fn user(name: &str) -> AppUser {
        AppUser::parse(name).expect("user")
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    /// What the callback keeps for `app_user`'s connect of open-1; its key.
    async fn received(keeper: &Keeper, app_user: &str) -> ConnectionKey {
        let now = keeper.clock.now();
        let tokens = TokenPair {
            access_token: AccessToken::new(format!("act.{app_user}")),
            refresh_token: RefreshToken::new(format!("rft.{app_user}")),
        };
        let sealed = cipher::seal_tokens(
            &keeper.cipher,
            &EncryptionContext::tokens(app_user, "open-1"),
            &tokens,
        )
        .await
        .expect("sealed");
        let key = ConnectionKey::from_id(&crate::connect::new_state());
        let pending = PendingConnection {
            app_user: app_user.into(),
            open_id: "open-1".into(),
            union_id: None,
            display_name: Some("Alice".into()),
            avatar_url: None,
            username: None,
            scopes: ScopeSet::parse_comma_list("user.info.basic").expect("scopes"),
            sealed_tokens: sealed,
            access_token_expires_at: now + 86_400,
            refresh_token_expires_at: now + 365 * 86_400,
            expires_at: now + crate::connect::PENDING_TTL_SECS,
        };
        keeper
            .accounts
            .put_pending(&key, &pending)
            .await
            .expect("put");
        key
    }

    fn revoked(keeper: &Keeper) -> Vec<String> {
        keeper.tiktok.revoked.lock().expect("lock").clone()
    }

    #[tokio::test]
    async fn the_user_who_started_confirms_once_and_the_account_is_stored() {
        let keeper = keeper();
        let key = received(&keeper, "alice").await;
        let confirmed = confirm(&keeper, &user("alice"), &key, soon())
            .await
            .expect("confirmed");
        assert_eq!(confirmed.account.open_id, "open-1");
        assert!(!confirmed.took_over);
        let stored = keeper
            .accounts
            .get("alice", &"open-1".into())
            .await
            .expect("get");
        assert!(
            stored.is_some_and(|a| a.status == AccountStatus::Active && a.refresh_due_at.is_some())
        );
        assert!(matches!(
            confirm(&keeper, &user("alice"), &key, soon()).await,
            Err(ServiceError::ConnectionNotFound)
        ));
        assert!(revoked(&keeper).is_empty());
    }

    #[tokio::test]
    async fn another_user_confirming_cancels_revokes_and_stores_nothing() {
        let keeper = keeper();
        let key = received(&keeper, "attacker").await;
        let result = confirm(&keeper, &user("victim"), &key, soon()).await;
        assert!(matches!(result, Err(ServiceError::ConnectionMismatch)));
        assert_eq!(revoked(&keeper), vec!["act.attacker".to_owned()]);
        assert!(
            keeper
                .accounts
                .list("victim")
                .await
                .expect("list")
                .is_empty()
        );
        assert!(
            keeper
                .accounts
                .list("attacker")
                .await
                .expect("list")
                .is_empty()
        );
        assert!(
            matches!(
                confirm(&keeper, &user("attacker"), &key, soon()).await,
                Err(ServiceError::ConnectionNotFound)
            ),
            "the attacker cannot confirm it afterwards"
        );
    }

    #[tokio::test]
    async fn a_confirm_after_ten_minutes_finds_nothing() {
        let keeper = keeper();
        let key = received(&keeper, "alice").await;
        keeper.clock.advance(crate::connect::PENDING_TTL_SECS);
        assert!(matches!(
            confirm(&keeper, &user("alice"), &key, soon()).await,
            Err(ServiceError::ConnectionNotFound)
        ));
        assert!(
            keeper
                .accounts
                .list("alice")
                .await
                .expect("list")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn confirming_an_account_another_user_owns_says_it_took_it_over() {
        let keeper = keeper();
        let first = received(&keeper, "bob").await;
        confirm(&keeper, &user("bob"), &first, soon())
            .await
            .expect("bob");
        let second = received(&keeper, "alice").await;
        let confirmed = confirm(&keeper, &user("alice"), &second, soon())
            .await
            .expect("alice");
        assert!(confirmed.took_over);
        assert!(keeper.accounts.list("bob").await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn a_grant_of_a_connected_tiktok_user_is_forgotten_not_revoked() {
        // TikTok's revoke would disconnect bob's working connection of the same TikTok account.
        let keeper = keeper();
        let bobs = received(&keeper, "bob").await;
        confirm(&keeper, &user("bob"), &bobs, soon())
            .await
            .expect("bob");
        let stray = received(&keeper, "attacker").await;
        let result = confirm(&keeper, &user("victim"), &stray, soon()).await;
        assert!(matches!(result, Err(ServiceError::ConnectionMismatch)));
        assert!(revoked(&keeper).is_empty(), "bob's connection lives on");
        assert_eq!(keeper.accounts.pending_count(), 0);

        let expiring = received(&keeper, "alice").await;
        keeper.clock.advance(crate::connect::PENDING_TTL_SECS);
        let sweep = sweep_expired(&keeper, 100, soon()).await.expect("sweep");
        assert_eq!(sweep.forgotten, 1, "{sweep:?}");
        assert!(revoked(&keeper).is_empty());
        assert!(matches!(
            confirm(&keeper, &user("alice"), &expiring, soon()).await,
            Err(ServiceError::ConnectionNotFound)
        ));
    }

    #[tokio::test]
    async fn a_cancel_revokes_the_grant_and_forgets_it() {
        let keeper = keeper();
        let key = received(&keeper, "alice").await;
        cancel(&keeper, &user("alice"), &key, soon())
            .await
            .expect("cancelled");
        assert_eq!(revoked(&keeper), vec!["act.alice".to_owned()]);
        assert_eq!(keeper.accounts.pending_count(), 0);
        assert!(matches!(
            cancel(&keeper, &user("alice"), &key, soon()).await,
            Err(ServiceError::ConnectionNotFound)
        ));
    }

    #[tokio::test]
    async fn the_sweep_revokes_only_expired_grants() {
        let keeper = keeper();
        received(&keeper, "old").await;
        keeper.clock.advance(300);
        let fresh = received(&keeper, "fresh").await;
        keeper.clock.advance(crate::connect::PENDING_TTL_SECS - 300);

        let sweep = sweep_expired(&keeper, 100, soon()).await.expect("sweep");
        assert_eq!(
            sweep,
            Sweep {
                revoked: 1,
                ..Sweep::default()
            }
        );
        assert_eq!(revoked(&keeper), vec!["act.old".to_owned()]);
        assert_eq!(keeper.accounts.pending_count(), 1);
        confirm(&keeper, &user("fresh"), &fresh, soon())
            .await
            .expect("the unexpired one is still confirmable");
    }

    #[test]
    fn a_connection_id_is_43_base64url_characters() {
        let id = crate::connect::new_state();
        assert_eq!(
            parse_connection_id(&id).ok(),
            Some(ConnectionKey::from_id(&id))
        );
        for bad in [
            "",
            "short",
            &"a".repeat(44),
            &format!("{}=", &id[..42]),
            &format!("{}/", &id[..42]),
            &format!("{}é", &id[..41]),
        ] {
            assert!(
                matches!(
                    parse_connection_id(bad),
                    Err(ServiceError::InvalidRequest(_))
                ),
                "{bad}"
            );
        }
    }
}
