//! An app user's TikTok accounts: finding one, listing them, disconnecting (README.md#api).
//! Every lookup is keyed by the app user from the JWT, so another user's `open_id` is simply
//! not found.

use connect_domain::ids::{MAX_OPEN_ID_LEN, OpenId};
use serde::Serialize;
use tokio::time::Instant;

use connect_domain::app_user::AppUser;
use connect_domain::clock::Clock as _;
use connect_domain::error::ServiceError;
use connect_domain::events::{ACCOUNT_DISCONNECTED, AppEvent, announce};
use connect_domain::ports::Ports;
use connect_domain::refresh::{RefreshError, TokenKeeper};
use connect_domain::store::{Account, AccountReader, AccountStatus, Connections, RevokeReason};
use connect_domain::tiktok::TikTokApi;

/// An `open_id` from a query, a path or a body: 1–128 visible ASCII characters.
pub fn parse_open_id(value: &str) -> Result<OpenId, ServiceError> {
    OpenId::parse(value).ok_or_else(|| {
        ServiceError::InvalidRequest(format!(
            "open_id must be 1-{MAX_OPEN_ID_LEN} visible ASCII characters"
        ))
    })
}

/// The account named by `open_id`, or the most recently connected one when it is omitted.
pub async fn find(
    accounts: &impl AccountReader,
    user: &AppUser,
    open_id: Option<&OpenId>,
) -> Result<Account, ServiceError> {
    let found = match open_id {
        Some(open_id) => accounts.get(user.as_str(), open_id).await?,
        None => accounts
            .list(user.as_str())
            .await?
            .into_iter()
            .max_by_key(|a| (a.connected_at, a.open_id.clone())),
    };
    found.ok_or(ServiceError::NotConnected)
}

/// One account as the app sees it: no tokens, ever.
#[derive(Debug, Serialize)]
pub struct AccountView {
    /// TikTok's id of the account for this client key; what the other routes take as `open_id`.
    pub open_id: OpenId,
    /// TikTok display name, for showing the connection; `null` until a profile read returned one.
    pub display_name: Option<String>,
    /// TikTok avatar URL; `null` until a profile read returned one.
    pub avatar_url: Option<String>,
    /// The scopes the person granted (cut to those the connect asked for), sorted.
    pub scopes: Vec<String>,
    /// `active`, `reauth_required` (connect again) or `revoked` (the person removed the grant at
    /// TikTok).
    pub status: &'static str,
    /// Why TikTok removed the grant (`revoked` only): `user_disconnected`, `account_deleted`,
    /// `age_changed`, `account_banned`, `developer_revoked` or `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_reason: Option<&'static str>,
    /// When the access token expires, Unix seconds. For display only: the routes and the job
    /// refresh it themselves.
    pub access_token_expires_at: i64,
    /// When the refresh token ends, Unix seconds; after it the person must connect again.
    pub refresh_token_expires_at: i64,
    /// When the app user confirmed the connection, Unix seconds. The latest is the account a
    /// route uses when the request names no `open_id`.
    pub connected_at: i64,
}

impl From<&Account> for AccountView {
    fn from(account: &Account) -> Self {
        Self {
            open_id: account.open_id.clone(),
            display_name: account.display_name.clone(),
            avatar_url: account.avatar_url.clone(),
            scopes: account.scopes.to_vec(),
            status: account.status.as_str(),
            revoked_reason: account
                .revoked_reason
                .filter(|_| account.status == AccountStatus::Revoked)
                .map(RevokeReason::as_str),
            access_token_expires_at: account.access_token_expires_at,
            refresh_token_expires_at: account.refresh_token_expires_at,
            connected_at: account.connected_at,
        }
    }
}

/// `200` body of `GET /tiktok/accounts`.
#[derive(Debug, Serialize)]
pub struct AccountList {
    /// Every account of the app user, most recently connected first (ties by `open_id`); empty
    /// when none is connected.
    pub accounts: Vec<AccountView>,
}

/// Every account of the app user, most recently connected first. No TikTok call.
pub async fn list(
    accounts: &impl AccountReader,
    user: &AppUser,
) -> Result<AccountList, ServiceError> {
    let mut all = accounts.list(user.as_str()).await?;
    all.sort_by(|a, b| {
        b.connected_at
            .cmp(&a.connected_at)
            .then_with(|| a.open_id.cmp(&b.open_id))
    });
    Ok(AccountList {
        accounts: all.iter().map(AccountView::from).collect(),
    })
}

/// Revokes the grant at TikTok, then forgets the account. TikTok refuses to revoke an expired
/// access token (leaving the grant alive), so the token is refreshed first when it is due, and
/// once more if TikTok refuses a token we believed fresh. If TikTok cannot be reached, or refuses
/// a token it has just issued, nothing is deleted and the caller can retry; if the grant is
/// already dead (the refresh answers `invalid_grant`), the account is forgotten.
pub async fn disconnect<P: Ports>(
    keeper: &TokenKeeper<P>,
    user: &AppUser,
    open_id: &OpenId,
    deadline: Instant,
) -> Result<(), ServiceError> {
    let account = find(&keeper.accounts, user, Some(open_id)).await?;
    let open_id = account.open_id.clone();
    if account.status == AccountStatus::Active {
        match revoke(keeper, account, deadline).await {
            Ok(()) => tracing::info!(open_id = %open_id, "grant revoked at TikTok"),
            // The grant is already dead at TikTok: nothing left to revoke.
            Err(RefreshError::Reauth(why)) => {
                tracing::info!(open_id = %open_id, reason = why, "grant already unusable; forgetting the account");
            }
            Err(RefreshError::Gone) => return Ok(()),
            Err(RefreshError::TikTok(e)) => {
                tracing::warn!(open_id = %open_id, error = %e, tiktok_log_id = e.log_id().unwrap_or(""), "revoke failed; account kept so the caller can retry");
                return Err(ServiceError::from_tiktok(&e));
            }
            Err(other) => return Err(other.into()),
        }
    }
    keeper.accounts.delete(user.as_str(), &open_id).await?;
    tracing::info!(open_id = %open_id, "account disconnected");
    let event = AppEvent::account(
        ACCOUNT_DISCONNECTED,
        user.as_str(),
        &open_id,
        keeper.clock.now(),
    );
    announce(&keeper.events, vec![event]).await;
    Ok(())
}

/// Revokes with a usable access token: refreshed when due, and refreshed once more when TikTok
/// refuses one we had not just refreshed (it may have expired early).
async fn revoke<P: Ports>(
    keeper: &TokenKeeper<P>,
    account: Account,
    deadline: Instant,
) -> Result<(), RefreshError> {
    keeper
        .with_token(account, deadline, "revoke", |token| async move {
            keeper.tiktok.revoke(&token).await
        })
        .await
        .map(|(_, ())| ())
}
