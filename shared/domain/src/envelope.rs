//! Envelope encryption with a cached data key (docs/operations.md#custody-at-scale): secrets are
//! sealed locally with AES-256-GCM under a data key that KMS generated and wrapped, and the record's
//! encryption context is the AEAD's associated data, so a ciphertext moved to another record (or
//! altered) does not open. One data key per purpose serves an execution environment for
//! `max_age` or `max_uses` seals, whichever ends first; a wrapped key once unwrapped stays in
//! memory, so opening what this environment (or the job's last run) sealed needs no KMS call.
//!
//! What is lost against one KMS call per secret: CloudTrail records a data key's generation and
//! unwrapping (with the purpose), not each record's decryption with its app user and open_id.
//! What stays: the purpose in the key's KMS context (the IAM conditions per function still apply),
//! the binding of each ciphertext to its record (the AAD), and the key in KMS.
//!
//! Records sealed before envelopes (one KMS `Encrypt` each) still open: what does not start with
//! `MAGIC` goes to KMS `Decrypt` as before, and the next write seals it the new way.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use rand::RngCore as _;

use crate::cipher::{CipherError, EncryptionContext, TokenCipher};

/// The first bytes of an envelope. A KMS ciphertext blob never starts with a zero byte (real KMS:
/// a version byte; moto: the key id), so the two formats cannot be mistaken for each other.
pub const MAGIC: [u8; 4] = [0, b'T', b'C', 1];
/// How long one data key seals new secrets in an execution environment.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(15 * 60);
/// How many secrets one data key seals at most (far below AES-GCM's 2^32 random-nonce bound).
pub const DEFAULT_MAX_USES: u64 = 10_000;
/// Unwrapped data keys kept; the oldest go when full.
const OPENED_CAPACITY: usize = 256;
const KEY_LEN: usize = 32;

/// A data key as KMS `GenerateDataKey` returns it.
pub struct DataKey {
    /// The 256-bit key itself; wiped by the caller once the AEAD key is built.
    pub plaintext: Vec<u8>,
    /// The key wrapped by the KMS key under the purpose's context, stored with every envelope.
    pub wrapped: Vec<u8>,
}

/// The KMS key behind the envelopes (`connect_adapters::KmsKeys` in production).
pub trait MasterKey: Send + Sync {
    /// A new AES-256 data key, wrapped under `context` (the purpose only).
    fn generate_data_key(
        &self,
        context: &EncryptionContext,
    ) -> impl Future<Output = Result<DataKey, CipherError>> + Send;

    /// KMS `Decrypt` under `context`: unwraps a data key, or opens a record sealed directly by
    /// KMS before envelopes.
    fn decrypt(
        &self,
        context: &EncryptionContext,
        ciphertext: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, CipherError>> + Send;
}

struct SealingKey {
    key: Arc<LessSafeKey>,
    wrapped: Arc<[u8]>,
    created: Instant,
    uses: u64,
}

/// An unwrapped data key: it serves only the purpose KMS unwrapped it for.
struct OpenedKey {
    purpose: String,
    key: Arc<LessSafeKey>,
    /// When it was opened (the oldest goes first when the cache is full).
    at: Instant,
}

#[derive(Default)]
struct Keys {
    /// The data key sealing new secrets, per purpose.
    sealing: HashMap<String, SealingKey>,
    /// Unwrapped data keys by their wrapped bytes (looked up without copying them).
    opened: HashMap<Arc<[u8]>, OpenedKey>,
}

/// A `TokenCipher` sealing with cached data keys from a `MasterKey`. Clones share the keys, so one
/// per execution environment serves all its requests.
pub struct EnvelopeCipher<M> {
    master: M,
    keys: Arc<Mutex<Keys>>,
    /// Held while asking KMS: concurrent seals (the job runs many) wait for the one data key
    /// being generated or unwrapped instead of each asking for their own.
    kms_gate: Arc<tokio::sync::Mutex<()>>,
    max_age: Duration,
    max_uses: u64,
}

impl<M: Clone> Clone for EnvelopeCipher<M> {
    fn clone(&self) -> Self {
        Self {
            master: self.master.clone(),
            keys: Arc::clone(&self.keys),
            kms_gate: Arc::clone(&self.kms_gate),
            max_age: self.max_age,
            max_uses: self.max_uses,
        }
    }
}

impl<M> std::fmt::Debug for EnvelopeCipher<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvelopeCipher")
            .field("max_age", &self.max_age)
            .field("max_uses", &self.max_uses)
            .finish_non_exhaustive()
    }
}

impl<M: MasterKey> EnvelopeCipher<M> {
    /// Envelopes under `master`'s data keys, each sealing for `DEFAULT_MAX_AGE` or
    /// `DEFAULT_MAX_USES` secrets.
    pub fn new(master: M) -> Self {
        Self::with_limits(master, DEFAULT_MAX_AGE, DEFAULT_MAX_USES)
    }

    /// Envelopes whose data keys seal for at most `max_age` and `max_uses` (at least 1) secrets.
    pub fn with_limits(master: M, max_age: Duration, max_uses: u64) -> Self {
        Self {
            master,
            keys: Arc::default(),
            kms_gate: Arc::default(),
            max_age,
            max_uses: max_uses.max(1),
        }
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The purpose's sealing key, counted as used once; `None` when there is none or it is spent.
    fn sealing_key(&self, purpose: &str) -> Option<(Arc<LessSafeKey>, Arc<[u8]>)> {
        let mut keys = self.keys();
        let current = keys.sealing.get_mut(purpose)?;
        if current.created.elapsed() >= self.max_age || current.uses >= self.max_uses {
            return None;
        }
        current.uses += 1;
        Some((Arc::clone(&current.key), Arc::clone(&current.wrapped)))
    }

    async fn new_sealing_key(
        &self,
        purpose: &str,
    ) -> Result<(Arc<LessSafeKey>, Arc<[u8]>), CipherError> {
        let DataKey { plaintext, wrapped } = self
            .master
            .generate_data_key(&EncryptionContext::data_key(purpose))
            .await?;
        let key = aead_key(plaintext)?;
        let wrapped: Arc<[u8]> = wrapped.into();
        let mut keys = self.keys();
        remember(&mut keys, purpose, Arc::clone(&wrapped), Arc::clone(&key));
        keys.sealing.insert(
            purpose.to_owned(),
            SealingKey {
                key: Arc::clone(&key),
                wrapped: Arc::clone(&wrapped),
                created: Instant::now(),
                uses: 1,
            },
        );
        Ok((key, wrapped))
    }

    async fn opening_key(
        &self,
        purpose: &str,
        wrapped: &[u8],
    ) -> Result<Arc<LessSafeKey>, CipherError> {
        let cached = |this: &Self| {
            this.keys()
                .opened
                .get(wrapped)
                .filter(|opened| opened.purpose == purpose)
                .map(|opened| Arc::clone(&opened.key))
        };
        if let Some(key) = cached(self) {
            return Ok(key);
        }
        let _gate = self.kms_gate.lock().await;
        if let Some(key) = cached(self) {
            return Ok(key);
        }
        let plaintext = self
            .master
            .decrypt(&EncryptionContext::data_key(purpose), wrapped)
            .await?;
        let key = aead_key(plaintext)?;
        remember(&mut self.keys(), purpose, wrapped.into(), Arc::clone(&key));
        Ok(key)
    }
}

fn remember(keys: &mut Keys, purpose: &str, wrapped: Arc<[u8]>, key: Arc<LessSafeKey>) {
    if keys.opened.len() >= OPENED_CAPACITY {
        let oldest = keys
            .opened
            .iter()
            .min_by_key(|(_, opened)| opened.at)
            .map(|(wrapped, _)| Arc::clone(wrapped));
        if let Some(oldest) = oldest {
            keys.opened.remove(&oldest);
        }
    }
    let opened = OpenedKey {
        purpose: purpose.to_owned(),
        key,
        at: Instant::now(),
    };
    keys.opened.insert(wrapped, opened);
}

/// The AEAD key of a data key's plaintext, which is wiped here whatever the outcome.
fn aead_key(mut plaintext: Vec<u8>) -> Result<Arc<LessSafeKey>, CipherError> {
    let key = if plaintext.len() == KEY_LEN {
        UnboundKey::new(&AES_256_GCM, &plaintext)
            .map(|key| Arc::new(LessSafeKey::new(key)))
            .map_err(|_| CipherError::Kms("the data key was refused".into()))
    } else {
        Err(CipherError::Kms(format!(
            "the data key has {} bytes, not {KEY_LEN}",
            plaintext.len()
        )))
    };
    plaintext.fill(0);
    key
}

/// The associated data: every pair of the record's context, each part length-prefixed, so no two
/// contexts give the same bytes.
fn associated_data(context: &EncryptionContext) -> Vec<u8> {
    let mut aad = Vec::new();
    for (name, value) in context.pairs() {
        for part in [name, value] {
            aad.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
    }
    aad
}

/// The KMS-wrapped data key of an envelope (what opening it in a new execution environment sends
/// to KMS `Decrypt`), or `None` for bytes that are not one.
pub fn wrapped_data_key(sealed: &[u8]) -> Option<&[u8]> {
    Envelope::parse(sealed)
        .ok()
        .map(|envelope| envelope.wrapped)
}

/// `MAGIC`, the wrapped key's length (2 bytes, big-endian) and bytes, the nonce, then the sealed
/// secret with its tag.
struct Envelope<'a> {
    wrapped: &'a [u8],
    nonce: [u8; NONCE_LEN],
    sealed: &'a [u8],
}

impl<'a> Envelope<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, CipherError> {
        let rest = bytes.strip_prefix(&MAGIC).ok_or(CipherError::Invalid)?;
        let (length, rest) = rest.split_at_checked(2).ok_or(CipherError::Invalid)?;
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        let (wrapped, rest) = rest.split_at_checked(length).ok_or(CipherError::Invalid)?;
        let (nonce, sealed) = rest
            .split_at_checked(NONCE_LEN)
            .ok_or(CipherError::Invalid)?;
        Ok(Self {
            wrapped,
            nonce: nonce.try_into().map_err(|_| CipherError::Invalid)?,
            sealed,
        })
    }

    fn to_bytes(&self) -> Result<Vec<u8>, CipherError> {
        let length = u16::try_from(self.wrapped.len())
            .map_err(|_| CipherError::Kms("the wrapped data key is too long".into()))?;
        let mut out = Vec::with_capacity(
            MAGIC.len() + 2 + self.wrapped.len() + NONCE_LEN + self.sealed.len(),
        );
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(self.wrapped);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(self.sealed);
        Ok(out)
    }
}

impl<M: MasterKey> TokenCipher for EnvelopeCipher<M> {
    async fn encrypt(
        &self,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CipherError> {
        let purpose = context.purpose();
        let (key, wrapped) = match self.sealing_key(purpose) {
            Some(found) => found,
            None => {
                let _gate = self.kms_gate.lock().await;
                match self.sealing_key(purpose) {
                    Some(found) => found,
                    None => self.new_sealing_key(purpose).await?,
                }
            }
        };
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut sealed = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(associated_data(context)),
            &mut sealed,
        )
        .map_err(|_| CipherError::Kms("sealing failed".into()))?;
        Envelope {
            wrapped: &wrapped,
            nonce,
            sealed: &sealed,
        }
        .to_bytes()
    }

    async fn decrypt(
        &self,
        context: &EncryptionContext,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CipherError> {
        if !ciphertext.starts_with(&MAGIC) {
            // Sealed by KMS itself, before envelopes.
            return self.master.decrypt(context, ciphertext).await;
        }
        let envelope = Envelope::parse(ciphertext)?;
        let key = self
            .opening_key(context.purpose(), envelope.wrapped)
            .await?;
        let mut buffer = envelope.sealed.to_vec();
        let plaintext = key
            .open_in_place(
                Nonce::assume_unique_for_key(envelope.nonce),
                Aad::from(associated_data(context)),
                &mut buffer,
            )
            .map_err(|_| CipherError::Invalid)?;
        Ok(plaintext.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::fakes::FakeMasterKey as CountingMaster;

    fn tokens(open_id: &str) -> EncryptionContext {
        EncryptionContext::tokens("user-1", open_id)
    }

    #[tokio::test]
    async fn the_wrapped_data_key_is_what_kms_unwraps() {
        let master = CountingMaster::default();
        let cipher = EnvelopeCipher::new(master.clone());
        let sealed = cipher
            .encrypt(&tokens("open-1"), b"secret")
            .await
            .expect("cipher or task");
        let wrapped = wrapped_data_key(&sealed).expect("an envelope");
        let data_key = master
            .decrypt(&EncryptionContext::data_key("tiktok-tokens"), wrapped)
            .await
            .expect("the wrapped key unwraps under the data key's context");
        assert_eq!(data_key.len(), KEY_LEN);
        assert_eq!(wrapped_data_key(b"\x01sealed by KMS itself"), None);
        assert_eq!(wrapped_data_key(&sealed[..MAGIC.len() + 1]), None);
    }

    #[tokio::test]
    async fn seals_and_opens_under_the_same_context_only() {
        let cipher = EnvelopeCipher::new(CountingMaster::default());
        let sealed = cipher
            .encrypt(&tokens("open-1"), b"secret")
            .await
            .expect("cipher or task");
        assert!(sealed.starts_with(&MAGIC));
        assert!(
            !sealed.windows(6).any(|w| w == b"secret"),
            "not in the clear"
        );
        assert_eq!(
            cipher
                .decrypt(&tokens("open-1"), &sealed)
                .await
                .expect("cipher or task"),
            b"secret"
        );
        // Moved to another record: the AAD differs.
        assert!(matches!(
            cipher.decrypt(&tokens("open-2"), &sealed).await,
            Err(CipherError::Invalid)
        ));
        let other_user = EncryptionContext::tokens("user-2", "open-1");
        assert!(matches!(
            cipher.decrypt(&other_user, &sealed).await,
            Err(CipherError::Invalid)
        ));
    }

    #[tokio::test]
    async fn an_altered_or_cut_envelope_does_not_open() {
        let cipher = EnvelopeCipher::new(CountingMaster::default());
        let sealed = cipher
            .encrypt(&tokens("open-1"), b"secret")
            .await
            .expect("cipher or task");
        for i in [MAGIC.len() + 3, sealed.len() - 1, sealed.len() - 20] {
            let mut altered = sealed.clone();
            altered[i] ^= 1;
            assert!(
                cipher.decrypt(&tokens("open-1"), &altered).await.is_err(),
                "byte {i}"
            );
        }
        for cut in [
            MAGIC.len(),
            MAGIC.len() + 1,
            MAGIC.len() + 5,
            sealed.len() - 1,
        ] {
            assert!(matches!(
                cipher.decrypt(&tokens("open-1"), &sealed[..cut]).await,
                Err(CipherError::Invalid)
            ));
        }
    }

    #[tokio::test]
    async fn one_data_key_seals_many_secrets_and_opening_them_needs_no_kms_call() {
        let master = CountingMaster::default();
        let cipher = EnvelopeCipher::new(master.clone());
        let mut sealed = Vec::new();
        for i in 0..1_000 {
            let context = tokens(&format!("open-{i}"));
            sealed.push((
                context.clone(),
                cipher
                    .encrypt(&context, b"pair")
                    .await
                    .expect("cipher or task"),
            ));
        }
        for (context, ciphertext) in &sealed {
            assert_eq!(
                cipher
                    .decrypt(context, ciphertext)
                    .await
                    .expect("cipher or task"),
                b"pair"
            );
        }
        assert_eq!(master.generated.load(Ordering::SeqCst), 1);
        assert_eq!(master.decrypted.load(Ordering::SeqCst), 0);
        // Another environment (the job's next run): one unwrap for all of them.
        let other = EnvelopeCipher::new(master.clone());
        for (context, ciphertext) in &sealed {
            assert_eq!(
                other
                    .decrypt(context, ciphertext)
                    .await
                    .expect("cipher or task"),
                b"pair"
            );
        }
        assert_eq!(master.decrypted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_seals_and_opens_share_one_kms_call() {
        let master = CountingMaster::default();
        let cipher = EnvelopeCipher::new(master.clone());
        let seals = (0..64).map(|i| {
            let cipher = cipher.clone();
            tokio::spawn(async move {
                let context = tokens(&format!("open-{i}"));
                let sealed = cipher
                    .encrypt(&context, b"pair")
                    .await
                    .expect("cipher or task");
                (context, sealed)
            })
        });
        let seals: Vec<_> = seals.collect(); // all started before any is awaited
        let mut sealed = Vec::new();
        for seal in seals {
            sealed.push(seal.await.expect("cipher or task"));
        }
        assert_eq!(master.generated.load(Ordering::SeqCst), 1);
        let other = EnvelopeCipher::new(master.clone());
        let opens = sealed.into_iter().map(|(context, ciphertext)| {
            let other = other.clone();
            tokio::spawn(async move {
                other
                    .decrypt(&context, &ciphertext)
                    .await
                    .expect("cipher or task")
            })
        });
        let opens: Vec<_> = opens.collect();
        for open in opens {
            assert_eq!(open.await.expect("cipher or task"), b"pair");
        }
        assert_eq!(master.decrypted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_data_key_is_replaced_after_its_uses_or_its_age() {
        let master = CountingMaster::default();
        let by_count = EnvelopeCipher::with_limits(master.clone(), DEFAULT_MAX_AGE, 3);
        for _ in 0..7 {
            by_count
                .encrypt(&tokens("open-1"), b"x")
                .await
                .expect("cipher or task");
        }
        assert_eq!(
            master.generated.load(Ordering::SeqCst),
            3,
            "7 seals, 3 per key"
        );

        let master = CountingMaster::default();
        let by_age = EnvelopeCipher::with_limits(master.clone(), Duration::from_millis(30), 1_000);
        by_age
            .encrypt(&tokens("open-1"), b"x")
            .await
            .expect("cipher or task");
        by_age
            .encrypt(&tokens("open-1"), b"x")
            .await
            .expect("cipher or task");
        std::thread::sleep(Duration::from_millis(40));
        let late = by_age
            .encrypt(&tokens("open-1"), b"x")
            .await
            .expect("cipher or task");
        assert_eq!(master.generated.load(Ordering::SeqCst), 2);
        assert_eq!(
            by_age
                .decrypt(&tokens("open-1"), &late)
                .await
                .expect("cipher or task"),
            b"x"
        );
    }

    #[tokio::test]
    async fn each_purpose_has_its_own_data_key_under_its_own_kms_context() {
        let master = CountingMaster::default();
        let cipher = EnvelopeCipher::new(master.clone());
        let verifier = EncryptionContext::pkce_verifier("state-hash");
        let a = cipher
            .encrypt(&tokens("open-1"), b"pair")
            .await
            .expect("cipher or task");
        let b = cipher
            .encrypt(&verifier, b"verifier")
            .await
            .expect("cipher or task");
        assert_eq!(master.generated.load(Ordering::SeqCst), 2);
        let wrapped = |bytes: &[u8]| {
            Envelope::parse(bytes)
                .expect("an envelope")
                .wrapped
                .to_vec()
        };
        // The wrapped key names its purpose (what the IAM conditions read), never the record.
        let token_key = wrapped(&a);
        let context = EncryptionContext::data_key("tiktok-tokens");
        assert!(token_key.ends_with(format!("|{context:?}").as_bytes()));
        assert!(!token_key.windows(6).any(|w| w == b"open-1"));
        assert_ne!(token_key, wrapped(&b));
        // An envelope whose wrapped key was swapped for the other purpose's does not open, even
        // though this environment holds both keys.
        let swapped = Envelope::parse(&a).expect("an envelope").sealed.to_vec();
        let forged = Envelope {
            wrapped: &wrapped(&b),
            nonce: Envelope::parse(&a).expect("an envelope").nonce,
            sealed: &swapped,
        }
        .to_bytes()
        .expect("bytes");
        assert!(cipher.decrypt(&tokens("open-1"), &forged).await.is_err());
        // A fresh environment unwraps each under its own purpose.
        let other = EnvelopeCipher::new(master.clone());
        assert_eq!(
            other.decrypt(&verifier, &b).await.expect("cipher or task"),
            b"verifier"
        );
        assert_eq!(
            other
                .decrypt(&tokens("open-1"), &a)
                .await
                .expect("cipher or task"),
            b"pair"
        );
    }

    #[tokio::test]
    async fn a_record_sealed_by_kms_before_envelopes_still_opens() {
        let master = CountingMaster::default();
        let cipher = EnvelopeCipher::new(master.clone());
        let legacy = CountingMaster::wrap(&tokens("open-1"), b"old pair");
        assert_eq!(
            cipher
                .decrypt(&tokens("open-1"), &legacy)
                .await
                .expect("cipher or task"),
            b"old pair"
        );
        assert_eq!(master.decrypted.load(Ordering::SeqCst), 1);
        assert!(cipher.decrypt(&tokens("open-2"), &legacy).await.is_err());
    }

    #[tokio::test]
    async fn a_failing_kms_fails_the_seal_and_the_next_seal_tries_again() {
        #[derive(Clone, Default)]
        struct Down(Arc<AtomicUsize>);
        impl MasterKey for Down {
            async fn generate_data_key(
                &self,
                _: &EncryptionContext,
            ) -> Result<DataKey, CipherError> {
                self.0.fetch_add(1, Ordering::SeqCst);
                Err(CipherError::Kms("throttled".into()))
            }
            async fn decrypt(
                &self,
                _: &EncryptionContext,
                _: &[u8],
            ) -> Result<Vec<u8>, CipherError> {
                Err(CipherError::Kms("throttled".into()))
            }
        }
        let down = Down::default();
        let cipher = EnvelopeCipher::new(down.clone());
        for _ in 0..2 {
            assert!(matches!(
                cipher.encrypt(&tokens("open-1"), b"x").await,
                Err(CipherError::Kms(_))
            ));
        }
        assert_eq!(down.0.load(Ordering::SeqCst), 2);
    }
}
