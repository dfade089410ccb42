//! `GET /tiktok/me`: the connected profile, asking TikTok only for the fields the granted scopes
//! allow, plus what our record knows (status, scopes, expiry times).

use connect_domain::ids::OpenId;
use serde::Serialize;
use tokio::time::Instant;

use crate::accounts;
use connect_domain::app_user::AppUser;
use connect_domain::error::ServiceError;
use connect_domain::ports::Ports;
use connect_domain::query::Query;
use connect_domain::refresh::TokenKeeper;
use connect_domain::scope;
use connect_domain::store::{Account, Connections};
use connect_domain::tiktok::{Profile, TikTokApi};

/// `200` body of `GET /tiktok/me`: TikTok's profile plus what our record knows.
#[derive(Debug, Serialize)]
pub struct Me {
    /// TikTok's id of the account for this client key.
    pub open_id: OpenId,
    /// TikTok's answer, flattened: the `user.info.basic` fields always (`null` when absent), those
    /// of `user.info.profile` and `user.info.stats` only when granted and sent.
    #[serde(flatten)]
    pub profile: Profile,
    /// The scopes the person granted, sorted.
    pub scopes: Vec<String>,
    /// Always `active` here: a `reauth_required` or `revoked` account gets `409 reauth_required`.
    pub status: &'static str,
    /// When the access token expires, Unix seconds (after any refresh this request made).
    pub access_token_expires_at: i64,
    /// When the refresh token ends, Unix seconds; after it the person must connect again.
    pub refresh_token_expires_at: i64,
    /// When the app user confirmed the connection, Unix seconds.
    pub connected_at: i64,
}

impl Me {
    fn new(account: &Account, profile: Profile) -> Self {
        Self {
            open_id: account.open_id.clone(),
            profile,
            scopes: account.scopes.to_vec(),
            status: account.status.as_str(),
            access_token_expires_at: account.access_token_expires_at,
            refresh_token_expires_at: account.refresh_token_expires_at,
            connected_at: account.connected_at,
        }
    }
}

/// `GET /tiktok/me[?open_id=]` (no `open_id`: the most recently connected account): the
/// profile fresh from TikTok, asking only for the fields the granted scopes allow, plus our
/// record; a changed name, avatar, handle or `union_id` is stored for the account listing.
pub async fn me<P: Ports>(
    keeper: &TokenKeeper<P>,
    user: &AppUser,
    query: &Query,
    deadline: Instant,
) -> Result<Me, ServiceError> {
    query
        .only(&["open_id"])
        .map_err(ServiceError::InvalidRequest)?;
    let open_id = query
        .get("open_id")
        .map(accounts::parse_open_id)
        .transpose()?;
    let account = accounts::find(&keeper.accounts, user, open_id.as_ref()).await?;
    let scopes = account.scopes.clone();
    let fetched = keeper
        .with_token(account, deadline, "user_info", |token| {
            let scopes = scopes.clone();
            async move { keeper.tiktok.fetch_profile(&token, &scopes).await }
        })
        .await;
    let (session, profile) =
        fetched.map_err(|e| ServiceError::from_call(e, scope::USER_INFO_BASIC))?;
    remember_profile(&keeper.accounts, &session.account, &profile).await;
    Ok(Me::new(&session.account, profile))
}

/// Keeps the profile shown by `GET /tiktok/accounts` current, writing only when it changed.
async fn remember_profile(accounts: &impl Connections, account: &Account, profile: &Profile) {
    let updated = Account {
        union_id: profile.union_id.clone().or(account.union_id.clone()),
        display_name: profile
            .display_name
            .clone()
            .or(account.display_name.clone()),
        avatar_url: profile.avatar_url.clone().or(account.avatar_url.clone()),
        username: profile.username.clone().or(account.username.clone()),
        ..account.clone()
    }
    .with_profile_digest();
    // The stored profile may not have been read with the account (see
    // `Account::profile_digest`): its fingerprint tells whether this answer changed it.
    if updated.profile_digest == account.profile_digest {
        return;
    }
    if let Err(e) = accounts.update_profile(&updated).await {
        // The answer is still right; only the cached copy stays stale.
        tracing::warn!(error = %e, "could not store the refreshed profile");
    }
}
