//! In-memory fakes of the ports, for fast domain tests here and in other crates (feature
//! `test-util`). They keep the adapters' contracts: `take` is single-use and checks expiry, the
//! cipher refuses a ciphertext under another context, the account store moves ownership.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::cipher::{CipherError, EncryptionContext, TokenCipher};
use crate::clock::OffsetClock;
use crate::envelope::{DataKey, MasterKey};
use crate::events::{AppEvent, EventError, EventSink, KeptEvent};
use crate::ids::{OpenId, PublishId};
use crate::ports::{Adapters, ConnectAdapters};
use crate::schedule::due_shard;
use crate::scope::ScopeSet;
use crate::secret::{AccessToken, AuthorizationCode, CodeVerifier, RefreshToken};
use crate::store::{
    Account, AccountReader, AccountStatus, Confirmation, ConnectionKey, Connections, DueCursor,
    NoticeStore, PendingConnection, PendingConnectionStore, PendingState, RefreshLease,
    RefreshQueue, RenewedTokens, Revocations, RevokeReason, StateKey, StateStore, StoreError,
    TokenRotation, Written,
};
use crate::tiktok::{
    CreatorInfo, InitAnswer, MediaSource, Profile, PublishInit, PublishStatus, TikTokApi,
    TikTokError, TokenGrant, Video, VideoPage,
};

/// The in-memory ports most domain tests run on.
pub type Fakes =
    Adapters<InMemoryAccounts, FakeCipher, ScriptedTikTok, OffsetClock, RecordingEvents>;
/// The in-memory ports of the connect leg's tests.
pub type FakeConnect =
    ConnectAdapters<InMemoryStates, InMemoryAccounts, FakeCipher, ScriptedTikTok, OffsetClock>;

/// `EventSink` in memory: the events put, the outbox, and a switch that makes the bus refuse.
#[derive(Debug, Clone, Default)]
pub struct RecordingEvents {
    /// Every event the bus took, in order.
    pub put: Arc<Mutex<Vec<AppEvent>>>,
    /// The outbox: (key, event).
    pub outbox: Arc<Mutex<Vec<KeptEvent>>>,
    /// While `true`, the bus refuses every put.
    pub refusing: Arc<Mutex<bool>>,
}

impl RecordingEvents {
    /// The detail-types the bus took, in order.
    pub fn types(&self) -> Vec<String> {
        lock(&self.put)
            .iter()
            .map(|e| e.detail_type.clone())
            .collect()
    }
}

impl EventSink for RecordingEvents {
    async fn put(&self, events: &[AppEvent]) -> Result<(), EventError> {
        if *lock(&self.refusing) {
            return Err(EventError("refusing".into()));
        }
        lock(&self.put).extend_from_slice(events);
        Ok(())
    }

    async fn keep(&self, events: &[AppEvent]) -> Result<(), EventError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let mut outbox = lock(&self.outbox);
        for event in events {
            let key = NEXT
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .to_string();
            outbox.push(KeptEvent {
                key,
                event: event.clone(),
            });
        }
        Ok(())
    }

    async fn kept(&self, limit: u32) -> Result<Vec<KeptEvent>, EventError> {
        Ok(lock(&self.outbox)
            .iter()
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn forget(&self, key: &str) -> Result<(), EventError> {
        lock(&self.outbox).retain(|k| k.key != key);
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `StateStore` in memory: single-use states with expiry, and start counts per app user and minute.
#[derive(Debug, Clone, Default)]
pub struct InMemoryStates(
    Arc<Mutex<HashMap<String, PendingState>>>,
    Arc<Mutex<HashMap<(String, i64), u32>>>,
);

impl InMemoryStates {
    /// States stored, expired ones included.
    pub fn len(&self) -> usize {
        lock(&self.0).len()
    }

    /// Whether no state is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl StateStore for InMemoryStates {
    async fn count_start(
        &self,
        app_user: &str,
        minute: i64,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let mut counts = lock(&self.1);
        let count = counts.entry((app_user.to_owned(), minute)).or_default();
        if *count >= limit {
            return Ok(false);
        }
        *count += 1;
        Ok(true)
    }

    async fn put(&self, key: &StateKey, state: &PendingState) -> Result<(), StoreError> {
        lock(&self.0).insert(key.as_str().to_owned(), state.clone());
        Ok(())
    }

    async fn take(&self, key: &StateKey, now: i64) -> Result<Option<PendingState>, StoreError> {
        let mut states = lock(&self.0);
        match states.get(key.as_str()) {
            Some(state) if state.expires_at > now => Ok(states.remove(key.as_str())),
            _ => Ok(None),
        }
    }
}

/// Every `AccountStore` role and `PendingConnectionStore` in memory: ownership moves, writes conditioned on
/// version and grant, the due index.
#[derive(Debug, Clone, Default)]
pub struct InMemoryAccounts {
    accounts: Arc<Mutex<HashMap<(String, String), Account>>>,
    owners: Arc<Mutex<HashMap<String, String>>>,
    pending: Arc<Mutex<HashMap<String, PendingConnection>>>,
    notices: Arc<Mutex<std::collections::HashSet<String>>>,
}

impl NoticeStore for InMemoryAccounts {
    async fn first_notice(&self, notice: &str, _expires_at: i64) -> Result<bool, StoreError> {
        Ok(lock(&self.notices).insert(notice.to_owned()))
    }
}

impl InMemoryAccounts {
    /// Pending connections still stored, expired ones included.
    pub fn pending_count(&self) -> usize {
        lock(&self.pending).len()
    }
}

impl PendingConnectionStore for InMemoryAccounts {
    async fn put_pending(
        &self,
        key: &ConnectionKey,
        pending: &PendingConnection,
    ) -> Result<(), StoreError> {
        lock(&self.pending).insert(key.as_str().to_owned(), pending.clone());
        Ok(())
    }

    async fn get_pending(
        &self,
        key: &ConnectionKey,
        now: i64,
    ) -> Result<Option<PendingConnection>, StoreError> {
        Ok(lock(&self.pending)
            .get(key.as_str())
            .filter(|p| p.expires_at > now)
            .cloned())
    }

    async fn take_pending(
        &self,
        key: &ConnectionKey,
        now: i64,
    ) -> Result<Option<PendingConnection>, StoreError> {
        let mut pending = lock(&self.pending);
        match pending.get(key.as_str()) {
            Some(p) if p.expires_at > now => Ok(pending.remove(key.as_str())),
            _ => Ok(None),
        }
    }

    async fn confirm_pending(
        &self,
        key: &ConnectionKey,
        account: &Account,
        now: i64,
    ) -> Result<Confirmation, StoreError> {
        let usable = lock(&self.pending)
            .get(key.as_str())
            .is_some_and(|p| p.expires_at > now && p.app_user == account.app_user);
        if !usable {
            return Ok(Confirmation::Gone);
        }
        lock(&self.pending).remove(key.as_str());
        let previous_owner = self.save_connection(account).await?;
        Ok(Confirmation::Saved { previous_owner })
    }

    async fn expired_pending(
        &self,
        now: i64,
        limit: usize,
    ) -> Result<Vec<(ConnectionKey, PendingConnection)>, StoreError> {
        let mut expired: Vec<_> = lock(&self.pending)
            .iter()
            .filter(|(_, p)| p.expires_at <= now)
            .map(|(hash, p)| (ConnectionKey::from_hash(hash), p.clone()))
            .collect();
        expired.sort_by_key(|(_, p)| p.expires_at);
        expired.truncate(limit);
        Ok(expired)
    }

    async fn open_id_connected(&self, open_id: &OpenId) -> Result<bool, StoreError> {
        Ok(lock(&self.owners).contains_key(open_id.as_str()))
    }

    async fn forget_expired_pending(
        &self,
        key: &ConnectionKey,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut pending = lock(&self.pending);
        if pending
            .get(key.as_str())
            .is_some_and(|p| p.expires_at <= now)
        {
            pending.remove(key.as_str());
        }
        Ok(())
    }
}

impl AccountReader for InMemoryAccounts {
    async fn get(&self, app_user: &str, open_id: &OpenId) -> Result<Option<Account>, StoreError> {
        Ok(lock(&self.accounts)
            .get(&(app_user.to_owned(), open_id.to_string()))
            .cloned())
    }

    async fn list(&self, app_user: &str) -> Result<Vec<Account>, StoreError> {
        Ok(lock(&self.accounts)
            .values()
            .filter(|a| a.app_user == app_user)
            .cloned()
            .collect())
    }
}

impl Connections for InMemoryAccounts {
    async fn save_connection(&self, account: &Account) -> Result<Option<String>, StoreError> {
        let mut accounts = lock(&self.accounts);
        let previous =
            lock(&self.owners).insert(account.open_id.to_string(), account.app_user.clone());
        let taken_from = previous.filter(|p| *p != account.app_user);
        if let Some(prev) = &taken_from {
            accounts.remove(&(prev.clone(), account.open_id.to_string()));
        }
        let key = (account.app_user.clone(), account.open_id.to_string());
        let version = accounts.get(&key).map_or(0, |a| a.token_version) + 1;
        accounts.insert(
            key,
            Account {
                token_version: version,
                ..account.clone()
            },
        );
        Ok(taken_from)
    }

    async fn update_profile(&self, account: &Account) -> Result<(), StoreError> {
        let key = (account.app_user.clone(), account.open_id.to_string());
        if let Some(stored) = lock(&self.accounts).get_mut(&key) {
            stored.union_id = account.union_id.clone();
            stored.display_name = account.display_name.clone();
            stored.avatar_url = account.avatar_url.clone();
            stored.username = account.username.clone();
            stored.profile_digest = account.profile_digest.clone();
        }
        Ok(())
    }

    async fn delete(&self, app_user: &str, open_id: &OpenId) -> Result<(), StoreError> {
        lock(&self.accounts).remove(&(app_user.to_owned(), open_id.to_string()));
        let mut owners = lock(&self.owners);
        if owners
            .get(open_id.as_str())
            .is_some_and(|owner| owner == app_user)
        {
            owners.remove(open_id.as_str());
        }
        Ok(())
    }
}

impl TokenRotation for InMemoryAccounts {
    async fn take_refresh_lease(
        &self,
        account: &Account,
        lease: &RefreshLease,
        now_ms: i64,
    ) -> Result<Option<Account>, StoreError> {
        let mut leased = None;
        self.update_at_version(account, |stored| {
            if stored.status != AccountStatus::Active
                || stored
                    .refresh_lease_until_ms
                    .is_some_and(|until| until > now_ms)
            {
                return false;
            }
            stored.refresh_lease_until_ms = Some(lease.until_ms);
            leased = Some(stored.clone());
            true
        });
        Ok(leased)
    }

    async fn store_refreshed(
        &self,
        account: &Account,
        renewed: &RenewedTokens,
    ) -> Result<Written, StoreError> {
        Ok(self.update_at_version(account, |stored| {
            if stored.status == AccountStatus::Revoked {
                return false;
            }
            stored.sealed_tokens = renewed.sealed_tokens.clone();
            stored.access_token_expires_at = renewed.access_token_expires_at;
            stored.refresh_token_expires_at = renewed.refresh_token_expires_at;
            if let Some(scopes) = &renewed.scopes {
                stored.scopes = scopes.clone();
            }
            stored.status = AccountStatus::Active;
            stored.token_version += 1;
            stored.refresh_lease_until_ms = None;
            stored.refresh_due_at = Some(renewed.refresh_due_at);
            stored.refresh_failures = 0;
            true
        }))
    }

    async fn release_refresh_lease(
        &self,
        account: &Account,
        _lease_id: &str,
    ) -> Result<(), StoreError> {
        self.update_at_version(account, |stored| {
            stored.refresh_lease_until_ms = None;
            true
        });
        Ok(())
    }

    async fn set_status(
        &self,
        account: &Account,
        status: AccountStatus,
    ) -> Result<Written, StoreError> {
        Ok(self.update_at_version(account, |stored| {
            stored.status = status;
            stored.refresh_lease_until_ms = None;
            stored.refresh_due_at = None;
            true
        }))
    }
}

impl RefreshQueue for InMemoryAccounts {
    async fn due_page(
        &self,
        shard: u16,
        horizon: i64,
        after: Option<&DueCursor>,
        limit: usize,
    ) -> Result<Vec<Account>, StoreError> {
        let shard = crate::schedule::shard_key(shard);
        let position = |a: &Account| {
            (
                a.refresh_due_at.unwrap_or_default(),
                a.app_user.clone(),
                a.open_id.clone(),
            )
        };
        let mut due: Vec<Account> = lock(&self.accounts)
            .values()
            .filter(|a| a.refresh_due_at.is_some_and(|at| at <= horizon))
            .filter(|a| due_shard(&a.app_user, &a.open_id) == shard)
            .filter(|a| {
                after
                    .is_none_or(|c| position(a) > (c.due_at, c.app_user.clone(), c.open_id.clone()))
            })
            .cloned()
            .collect();
        due.sort_by_key(position);
        due.truncate(limit);
        // As DynamoDB's due index projects them: no ciphertext, no profile, no lease.
        for listed in &mut due {
            listed.sealed_tokens.clear();
            listed.union_id = None;
            listed.display_name = None;
            listed.avatar_url = None;
            listed.username = None;
            listed.refresh_lease_until_ms = None;
        }
        Ok(due)
    }

    async fn count_due(
        &self,
        shard: u16,
        horizon: i64,
        after: Option<&DueCursor>,
    ) -> Result<u64, StoreError> {
        let all = self.due_page(shard, horizon, after, usize::MAX).await?;
        Ok(all.len() as u64)
    }

    async fn postpone_refresh(
        &self,
        account: &Account,
        due_at: i64,
    ) -> Result<Written, StoreError> {
        Ok(self.update_at_version(account, |stored| {
            if stored.refresh_due_at.is_none() {
                return false;
            }
            stored.refresh_due_at = Some(due_at);
            stored.refresh_failures += 1;
            true
        }))
    }
}

impl Revocations for InMemoryAccounts {
    async fn mark_revoked(
        &self,
        open_id: &OpenId,
        removed_at: i64,
        reason: RevokeReason,
    ) -> Result<Option<String>, StoreError> {
        let Some(owner) = lock(&self.owners).get(open_id.as_str()).cloned() else {
            return Ok(None);
        };
        let mut accounts = lock(&self.accounts);
        let Some(stored) = accounts
            .get_mut(&(owner.clone(), open_id.to_string()))
            .filter(|a| a.connected_at <= removed_at)
        else {
            return Ok(None);
        };
        stored.status = AccountStatus::Revoked;
        stored.revoked_reason = Some(reason);
        stored.token_version += 1;
        stored.sealed_tokens.clear();
        stored.refresh_lease_until_ms = None;
        stored.refresh_due_at = None;
        Ok(Some(owner))
    }
}

impl InMemoryAccounts {
    /// Applies `change` if the stored tokens are still at `account.token_version` and `change`
    /// agrees; the in-memory twin of a DynamoDB conditional update.
    fn update_at_version(
        &self,
        account: &Account,
        change: impl FnOnce(&mut Account) -> bool,
    ) -> Written {
        let key = (account.app_user.clone(), account.open_id.to_string());
        let mut accounts = lock(&self.accounts);
        match accounts.get_mut(&key) {
            Some(stored)
                if stored.token_version == account.token_version
                    && stored.grant_id == account.grant_id =>
            {
                if change(stored) {
                    Written::Yes
                } else {
                    Written::Stale
                }
            }
            _ => Written::Stale,
        }
    }
}

/// "Encrypts" by prefixing the context; decrypt checks it. Not secret, but context-bound like KMS,
/// and the plaintext is reversed so a test cannot pass by reading it straight from storage.
#[derive(Debug, Clone, Default)]
pub struct FakeCipher {
    /// While `true`, `encrypt` fails with `CipherError::Kms` (`decrypt` still works).
    pub fail: Arc<Mutex<bool>>,
}

impl TokenCipher for FakeCipher {
    async fn encrypt(
        &self,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CipherError> {
        if *lock(&self.fail) {
            return Err(CipherError::Kms("scripted failure".into()));
        }
        let mut out = format!("{context:?}|").into_bytes();
        out.extend(plaintext.iter().rev());
        Ok(out)
    }

    async fn decrypt(
        &self,
        context: &EncryptionContext,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CipherError> {
        let prefix = format!("{context:?}|").into_bytes();
        let body = ciphertext
            .strip_prefix(prefix.as_slice())
            .ok_or(CipherError::Invalid)?;
        Ok(body.iter().rev().copied().collect())
    }
}

/// KMS as `envelope::MasterKey` in memory: a data key is "wrapped" by XOR with a pad, the
/// context appended (unwrapping checks it), behind a non-zero first byte as a KMS blob has; every
/// call is counted and takes about a KMS round trip, so concurrent callers overlap as they would.
#[derive(Debug, Clone, Default)]
pub struct FakeMasterKey {
    /// `generate_data_key` calls so far.
    pub generated: Arc<std::sync::atomic::AtomicU64>,
    /// `decrypt` calls so far (unwrapped data keys and records sealed before envelopes).
    pub decrypted: Arc<std::sync::atomic::AtomicU64>,
}

impl FakeMasterKey {
    /// KMS calls so far.
    pub fn calls(&self) -> u64 {
        use std::sync::atomic::Ordering::SeqCst;
        self.generated.load(SeqCst) + self.decrypted.load(SeqCst)
    }

    /// What a KMS `Encrypt` of `plaintext` under `context` gives here (a record sealed before
    /// envelopes).
    pub fn wrap(context: &EncryptionContext, plaintext: &[u8]) -> Vec<u8> {
        let mut out = vec![1u8];
        out.extend(plaintext.iter().map(|b| b ^ 0x5a));
        out.extend_from_slice(format!("|{context:?}").as_bytes());
        out
    }
}

impl MasterKey for FakeMasterKey {
    async fn generate_data_key(&self, context: &EncryptionContext) -> Result<DataKey, CipherError> {
        self.generated
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let mut plaintext = vec![0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut plaintext);
        let wrapped = Self::wrap(context, &plaintext);
        Ok(DataKey { plaintext, wrapped })
    }

    async fn decrypt(
        &self,
        context: &EncryptionContext,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CipherError> {
        self.decrypted
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let tag = format!("|{context:?}");
        let body = ciphertext
            .strip_prefix(&[1u8])
            .and_then(|rest| rest.strip_suffix(tag.as_bytes()))
            .ok_or(CipherError::Invalid)?;
        Ok(body.iter().map(|b| b ^ 0x5a).collect())
    }
}

/// Each code exchanged, with the PKCE verifier and the redirect_uri sent alongside.
pub type Exchanges = Arc<Mutex<Vec<(String, Option<String>, String)>>>;

/// The refresh side of [`ScriptedTikTok`]: strict rotation (each refresh token works once).
#[derive(Debug, Default)]
pub struct RefreshScript {
    /// How many refresh calls reached "TikTok".
    pub calls: u32,
    /// Refresh tokens that still work.
    pub live: Vec<String>,
    /// Errors for the next refresh calls, first first.
    pub errors: Vec<TikTokError>,
    /// How long each refresh takes (to make races overlap).
    pub delay: std::time::Duration,
    issued: u32,
}

/// A scripted TikTok: grants `open_id` with `scopes`, or fails the exchange with `exchange_error`.
/// Refresh tokens rotate strictly; access tokens are accepted until `access_token_invalid` is
/// scripted.
#[derive(Debug, Clone)]
pub struct ScriptedTikTok {
    /// The `open_id` every grant names.
    pub open_id: String,
    /// The scopes every grant reports.
    pub scopes: ScopeSet,
    /// While set, every code exchange fails with this error (see `fail_exchange`).
    pub exchange_error: Arc<Mutex<Option<TikTokError>>>,
    /// Every code exchange, in order (code, verifier, redirect_uri).
    pub exchanged_codes: Exchanges,
    /// The refresh side: live refresh tokens, scripted errors, call count.
    pub refresh: Arc<Mutex<RefreshScript>>,
    /// Errors for the next API calls (profile, videos), first first.
    pub api_errors: Arc<Mutex<Vec<TikTokError>>>,
    /// Access tokens revoked.
    pub revoked: Arc<Mutex<Vec<String>>>,
    /// The Content Posting side.
    pub posting: Arc<Mutex<PostingScript>>,
}

/// The Content Posting side of [`ScriptedTikTok`]: every init creates a post (even one whose
/// answer is replaced by a scripted error, like a timeout after TikTok acted).
#[derive(Debug, Default)]
pub struct PostingScript {
    /// What `creator_info` answers.
    pub creator: CreatorInfo,
    /// Inits that reached "TikTok" (each created a post unless refused before acting).
    pub inits: Vec<PublishInit>,
    /// Errors for the next init answers, first first; `(error, created)`: whether the post was
    /// created anyway.
    pub init_errors: Vec<(TikTokError, bool)>,
    /// Status answers by publish id.
    pub statuses: HashMap<String, PublishStatus>,
    /// How many status fetches reached "TikTok".
    pub status_calls: u32,
    /// The user's videos that `query_videos` finds by id.
    pub videos: Vec<Video>,
    /// How many video queries reached "TikTok".
    pub query_calls: u32,
}

impl ScriptedTikTok {
    /// A TikTok that grants `open_id` with `scopes` (a comma list; an invalid one grants none),
    /// with nothing else scripted.
    pub fn granting(open_id: &str, scopes: &str) -> Self {
        Self {
            open_id: open_id.to_owned(),
            scopes: ScopeSet::parse_comma_list(scopes).unwrap_or_default(),
            exchange_error: Arc::default(),
            exchanged_codes: Arc::default(),
            refresh: Arc::default(),
            api_errors: Arc::default(),
            revoked: Arc::default(),
            posting: Arc::default(),
        }
    }

    /// Inits that created a post.
    pub fn posts_created(&self) -> usize {
        lock(&self.posting).inits.len()
    }

    /// Makes every later code exchange fail with `error`.
    pub fn fail_exchange(&self, error: TikTokError) {
        *lock(&self.exchange_error) = Some(error);
    }

    /// How many refresh calls reached "TikTok".
    pub fn refresh_calls(&self) -> u32 {
        lock(&self.refresh).calls
    }

    fn next_api_error(&self) -> Option<TikTokError> {
        let mut errors = lock(&self.api_errors);
        (!errors.is_empty()).then(|| errors.remove(0))
    }
}

impl TikTokApi for ScriptedTikTok {
    async fn exchange_code(
        &self,
        code: &AuthorizationCode,
        verifier: Option<&CodeVerifier>,
        redirect_uri: &str,
    ) -> Result<TokenGrant, TikTokError> {
        lock(&self.exchanged_codes).push((
            code.secret().to_owned(),
            verifier.map(|v| v.secret().to_owned()),
            redirect_uri.to_owned(),
        ));
        if let Some(error) = lock(&self.exchange_error).clone() {
            return Err(error);
        }
        let refresh_token = format!("rft.for-{}", code.secret());
        lock(&self.refresh).live.push(refresh_token.clone());
        Ok(TokenGrant {
            open_id: OpenId::from(self.open_id.as_str()),
            access_token: AccessToken::new(format!("act.for-{}", code.secret())),
            refresh_token: RefreshToken::new(refresh_token),
            expires_in: 7200,
            refresh_expires_in: 15_552_000,
            scopes: self.scopes.clone(),
        })
    }

    async fn refresh(&self, refresh_token: &RefreshToken) -> Result<TokenGrant, TikTokError> {
        let delay = {
            let mut script = lock(&self.refresh);
            script.calls += 1;
            script.delay
        };
        tokio::time::sleep(delay).await;
        let mut script = lock(&self.refresh);
        if !script.errors.is_empty() {
            return Err(script.errors.remove(0));
        }
        let Some(position) = script.live.iter().position(|t| t == refresh_token.secret()) else {
            return Err(TikTokError::OAuth {
                error: "invalid_grant".into(),
                description: "Refresh token is invalid or expired.".into(),
                log_id: Some("scripted".into()),
            });
        };
        script.live.remove(position);
        script.issued += 1;
        let fresh = format!("rft.rotated-{}", script.issued);
        script.live.push(fresh.clone());
        Ok(TokenGrant {
            open_id: OpenId::from(self.open_id.as_str()),
            access_token: AccessToken::new(format!("act.rotated-{}", script.issued)),
            refresh_token: RefreshToken::new(fresh),
            expires_in: 7200,
            refresh_expires_in: 15_000_000,
            scopes: self.scopes.clone(),
        })
    }

    async fn revoke(&self, token: &AccessToken) -> Result<(), TikTokError> {
        lock(&self.revoked).push(token.secret().to_owned());
        Ok(())
    }

    async fn fetch_profile(
        &self,
        _token: &AccessToken,
        _scopes: &ScopeSet,
    ) -> Result<Profile, TikTokError> {
        if let Some(error) = self.next_api_error() {
            return Err(error);
        }
        Ok(Profile {
            display_name: Some("Scripted".into()),
            ..Profile::default()
        })
    }

    async fn list_videos(
        &self,
        _token: &AccessToken,
        _cursor: Option<i64>,
        _max_count: u8,
    ) -> Result<VideoPage, TikTokError> {
        match self.next_api_error() {
            Some(error) => Err(error),
            None => Ok(VideoPage::default()),
        }
    }

    async fn query_videos(
        &self,
        _token: &AccessToken,
        ids: &[String],
    ) -> Result<Vec<Video>, TikTokError> {
        if let Some(error) = self.next_api_error() {
            return Err(error);
        }
        let mut posting = lock(&self.posting);
        posting.query_calls += 1;
        Ok(posting
            .videos
            .iter()
            .filter(|v| ids.contains(&v.id))
            .cloned()
            .collect())
    }

    async fn creator_info(&self, _token: &AccessToken) -> Result<CreatorInfo, TikTokError> {
        match self.next_api_error() {
            Some(error) => Err(error),
            None => Ok(lock(&self.posting).creator.clone()),
        }
    }

    async fn init_publish(
        &self,
        _token: &AccessToken,
        init: &PublishInit,
    ) -> Result<InitAnswer, TikTokError> {
        let mut posting = lock(&self.posting);
        let scripted = (!posting.init_errors.is_empty()).then(|| posting.init_errors.remove(0));
        let created = scripted.as_ref().is_none_or(|(_, created)| *created);
        if created {
            posting.inits.push(init.clone());
        }
        if let Some((error, _)) = scripted {
            return Err(error);
        }
        let publish_id = format!("v_pub_url~v2.{}", posting.inits.len());
        let upload_url = matches!(init.source, MediaSource::Upload { .. })
            .then(|| format!("https://upload.invalid/?upload_id={publish_id}&upload_token=secret"));
        Ok(InitAnswer {
            publish_id: publish_id.into(),
            upload_url,
        })
    }

    async fn publish_status(
        &self,
        _token: &AccessToken,
        publish_id: &PublishId,
    ) -> Result<PublishStatus, TikTokError> {
        let mut posting = lock(&self.posting);
        posting.status_calls += 1;
        posting
            .statuses
            .get(publish_id.as_str())
            .cloned()
            .ok_or_else(|| TikTokError::Api {
                status: 400,
                code: "invalid_publish_id".into(),
                message: "unknown".into(),
                log_id: None,
            })
    }
}
