//! In-memory fakes of the ports, for fast domain tests here and in other crates (feature
//! `test-util`). They keep the adapters' contracts: `take` is single-use and checks expiry, the
//! cipher refuses a ciphertext under another context, the account store moves ownership.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::cipher::{CipherError, EncryptionContext, TokenCipher};
use crate::scope::ScopeSet;
use crate::secret::{AccessToken, AuthorizationCode, CodeVerifier, RefreshToken};
use crate::store::{Account, AccountStore, PendingState, StateKey, StateStore, StoreError};
use crate::tiktok::{Profile, TikTokApi, TikTokError, TokenGrant};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, Clone, Default)]
pub struct InMemoryStates(Arc<Mutex<HashMap<String, PendingState>>>);

impl InMemoryStates {
    pub fn len(&self) -> usize {
        lock(&self.0).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl StateStore for InMemoryStates {
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

#[derive(Debug, Clone, Default)]
pub struct InMemoryAccounts {
    accounts: Arc<Mutex<HashMap<(String, String), Account>>>,
    owners: Arc<Mutex<HashMap<String, String>>>,
}

impl AccountStore for InMemoryAccounts {
    async fn save_connection(&self, account: &Account) -> Result<Option<String>, StoreError> {
        let mut accounts = lock(&self.accounts);
        let previous = lock(&self.owners).insert(account.open_id.clone(), account.app_user.clone());
        let taken_from = previous.filter(|p| *p != account.app_user);
        if let Some(prev) = &taken_from {
            accounts.remove(&(prev.clone(), account.open_id.clone()));
        }
        let key = (account.app_user.clone(), account.open_id.clone());
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

    async fn get(&self, app_user: &str, open_id: &str) -> Result<Option<Account>, StoreError> {
        Ok(lock(&self.accounts)
            .get(&(app_user.to_owned(), open_id.to_owned()))
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

/// "Encrypts" by prefixing the context; decrypt checks it. Not secret, but context-bound like KMS,
/// and the plaintext is reversed so a test cannot pass by reading it straight from storage.
#[derive(Debug, Clone, Default)]
pub struct FakeCipher {
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

/// Each code exchanged, with the PKCE verifier sent alongside.
pub type Exchanges = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A scripted TikTok: grants `open_id` with `scopes`, or fails the exchange with `exchange_error`.
#[derive(Debug, Clone)]
pub struct ScriptedTikTok {
    pub open_id: String,
    pub scopes: ScopeSet,
    pub exchange_error: Arc<Mutex<Option<TikTokError>>>,
    pub exchanged_codes: Exchanges,
}

impl ScriptedTikTok {
    pub fn granting(open_id: &str, scopes: &str) -> Self {
        Self {
            open_id: open_id.to_owned(),
            scopes: ScopeSet::parse_comma_list(scopes).unwrap_or_default(),
            exchange_error: Arc::default(),
            exchanged_codes: Arc::default(),
        }
    }

    pub fn fail_exchange(&self, error: TikTokError) {
        *lock(&self.exchange_error) = Some(error);
    }
}

impl TikTokApi for ScriptedTikTok {
    async fn exchange_code(
        &self,
        code: &AuthorizationCode,
        verifier: Option<&CodeVerifier>,
    ) -> Result<TokenGrant, TikTokError> {
        lock(&self.exchanged_codes).push((
            code.secret().to_owned(),
            verifier.map(|v| v.secret().to_owned()),
        ));
        if let Some(error) = lock(&self.exchange_error).clone() {
            return Err(error);
        }
        Ok(TokenGrant {
            open_id: self.open_id.clone(),
            access_token: AccessToken::new(format!("act.for-{}", code.secret())),
            refresh_token: RefreshToken::new(format!("rft.for-{}", code.secret())),
            expires_in: 7200,
            refresh_expires_in: 15_552_000,
            scopes: self.scopes.clone(),
        })
    }

    async fn fetch_profile(
        &self,
        _token: &AccessToken,
        _scopes: &ScopeSet,
    ) -> Result<Profile, TikTokError> {
        Ok(Profile {
            display_name: Some("Scripted".into()),
            ..Profile::default()
        })
    }
}
