//! Envelope for secrets at rest: encrypt/decrypt under an encryption context, behind the
//! `TokenCipher` port (KMS in production: `connect_adapters::kms`). The context binds a
//! ciphertext to its record (app user + open_id), so a ciphertext copied into another record
//! fails to decrypt.
//!
//! Production seals with `envelope::EnvelopeCipher` (AES-256-GCM under a KMS data key cached per
//! environment, the context as associated data); `cipher_cache::CachingCipher` keeps decrypted
//! plaintexts for a warm environment on top.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::secret::{AccessToken, CodeVerifier, RefreshToken};

/// Key/value pairs that must match at decrypt time (logged by CloudTrail, so never secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionContext(BTreeMap<&'static str, String>);

impl EncryptionContext {
    /// For an account's token pair.
    pub fn tokens(app_user: &str, open_id: &str) -> Self {
        Self(BTreeMap::from([
            ("purpose", "tiktok-tokens".to_owned()),
            ("app_user", app_user.to_owned()),
            ("open_id", open_id.to_owned()),
        ]))
    }

    /// For a PKCE verifier kept with an OAuth state (identified by the state's hash).
    pub fn pkce_verifier(state_key: &str) -> Self {
        Self(BTreeMap::from([
            ("purpose", "pkce-verifier".to_owned()),
            ("state", state_key.to_owned()),
        ]))
    }

    /// For the answer stored under an `Idempotency-Key` (it may carry an `upload_url`).
    pub fn publish_answer(key_hash: &str) -> Self {
        Self(BTreeMap::from([
            ("purpose", "publish-answer".to_owned()),
            ("idempotency_key", key_hash.to_owned()),
        ]))
    }

    /// For an envelope's data key (`envelope`): the purpose of the secrets it seals, which the
    /// IAM policies' `kms:EncryptionContext:purpose` conditions read, and nothing of any record.
    pub fn data_key(purpose: &str) -> Self {
        Self(BTreeMap::from([
            ("purpose", purpose.to_owned()),
            ("scheme", "envelope-v1".to_owned()),
        ]))
    }

    /// What the secret is for (`tiktok-tokens`, `pkce-verifier`, `publish-answer`).
    pub fn purpose(&self) -> &str {
        self.0.get("purpose").map_or("", String::as_str)
    }

    /// The pairs in a stable order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// The context as the KMS API takes it.
    pub fn to_map(&self) -> HashMap<String, String> {
        self.0
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }
}

/// Why sealing or opening a secret failed.
#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    /// KMS refused or could not be reached; retrying later may work.
    #[error("KMS call failed: {0}")]
    Kms(String),
    /// The ciphertext does not open under this context (moved, tampered with, or another key).
    #[error("ciphertext does not decrypt under its context")]
    Invalid,
}

/// Encrypts and decrypts small secrets (≤ 4 KiB) under an encryption context.
pub trait TokenCipher: Send + Sync {
    /// Seals `plaintext` under `context`; the ciphertext opens only under an equal context.
    fn encrypt(
        &self,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, CipherError>> + Send;

    /// Opens a ciphertext sealed under `context`: `CipherError::Invalid` when it was sealed under
    /// another context or key, or altered.
    fn decrypt(
        &self,
        context: &EncryptionContext,
        ciphertext: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, CipherError>> + Send;
}

/// An account's tokens, the only thing ever encrypted into the `sealed_tokens` attribute.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// Bearer token for TikTok's APIs; valid until the account's `access_token_expires_at`.
    pub access_token: AccessToken,
    /// Trades for a new pair; TikTok rotates it, so only the most recent one works.
    pub refresh_token: RefreshToken,
}

#[derive(Serialize, Deserialize)]
struct TokenPairJson {
    access_token: String,
    refresh_token: String,
}

/// Seals an account's token pair (as JSON) under `context`, normally `EncryptionContext::tokens`:
/// what `Account::sealed_tokens` holds.
pub async fn seal_tokens(
    cipher: &impl TokenCipher,
    context: &EncryptionContext,
    tokens: &TokenPair,
) -> Result<Vec<u8>, CipherError> {
    let json = serde_json::to_vec(&TokenPairJson {
        access_token: tokens.access_token.secret().to_owned(),
        refresh_token: tokens.refresh_token.secret().to_owned(),
    })
    .map_err(|_| CipherError::Invalid)?;
    cipher.encrypt(context, &json).await
}

/// Opens what `seal_tokens` produced; `CipherError::Invalid` also when the plaintext is not a
/// token pair.
pub async fn open_tokens(
    cipher: &impl TokenCipher,
    context: &EncryptionContext,
    ciphertext: &[u8],
) -> Result<TokenPair, CipherError> {
    let plaintext = cipher.decrypt(context, ciphertext).await?;
    let json: TokenPairJson =
        serde_json::from_slice(&plaintext).map_err(|_| CipherError::Invalid)?;
    Ok(TokenPair {
        access_token: AccessToken::new(json.access_token),
        refresh_token: RefreshToken::new(json.refresh_token),
    })
}

/// Seals a PKCE verifier for `PendingState::sealed_verifier`, under
/// `EncryptionContext::pkce_verifier`.
pub async fn seal_verifier(
    cipher: &impl TokenCipher,
    context: &EncryptionContext,
    verifier: &CodeVerifier,
) -> Result<Vec<u8>, CipherError> {
    cipher.encrypt(context, verifier.secret().as_bytes()).await
}

/// Opens what `seal_verifier` produced.
pub async fn open_verifier(
    cipher: &impl TokenCipher,
    context: &EncryptionContext,
    ciphertext: &[u8],
) -> Result<CodeVerifier, CipherError> {
    let plaintext = cipher.decrypt(context, ciphertext).await?;
    String::from_utf8(plaintext)
        .map(CodeVerifier::new)
        .map_err(|_| CipherError::Invalid)
}
