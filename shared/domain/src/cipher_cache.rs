//! Remembers plaintexts KMS produced for this execution environment, so a warm request for a token
//! record it has already opened makes no KMS call (one AWS round trip fewer, and KMS request
//! quotas stay out of reach at scale).
//!
//! Entries are keyed by the encryption context *and* the SHA-256 of the ciphertext: every token
//! write produces a new ciphertext, so a cached entry can never stand for newer tokens, and a
//! ciphertext copied into another record (another context) still goes to KMS and fails there.
//! Plaintexts stay in this process's memory only, for at most `ttl`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

use crate::cipher::{CipherError, EncryptionContext, TokenCipher};

/// How long a plaintext may be served from memory.
pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);
/// Entries kept; an execution environment serves one request at a time, so few are hot.
pub const DEFAULT_CAPACITY: usize = 512;

type Key = [u8; 32];

#[derive(Debug)]
struct Entry {
    plaintext: Vec<u8>,
    stored_at: Instant,
}

/// A `TokenCipher` decorator caching decryptions (and the plaintexts of its own encryptions).
#[derive(Debug, Clone)]
pub struct CachingCipher<C> {
    inner: C,
    entries: Arc<Mutex<HashMap<Key, Entry>>>,
    ttl: Duration,
    capacity: usize,
}

impl<C> CachingCipher<C> {
    /// Wraps `inner` with `DEFAULT_TTL` and `DEFAULT_CAPACITY`. Clones share the cache, so one per
    /// execution environment serves all its requests.
    pub fn new(inner: C) -> Self {
        Self::with_limits(inner, DEFAULT_TTL, DEFAULT_CAPACITY)
    }

    /// Wraps `inner`, serving a plaintext from memory for at most `ttl` and keeping at most
    /// `capacity` entries (at least 1; expired ones go first, then the oldest).
    pub fn with_limits(inner: C, ttl: Duration, capacity: usize) -> Self {
        Self {
            inner,
            entries: Arc::default(),
            ttl,
            capacity: capacity.max(1),
        }
    }

    fn key(context: &EncryptionContext, ciphertext: &[u8]) -> Key {
        let mut hash = Sha256::new();
        for (name, value) in context.pairs() {
            // Length prefixes keep ("ab","c") and ("a","bc") apart.
            for part in [name, value] {
                hash.update((part.len() as u64).to_be_bytes());
                hash.update(part.as_bytes());
            }
        }
        hash.update(ciphertext);
        hash.finalize().into()
    }

    fn lookup(&self, key: &Key) -> Option<Vec<u8>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(key) {
            Some(entry) if entry.stored_at.elapsed() < self.ttl => Some(entry.plaintext.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn remember(&self, key: Key, plaintext: &[u8]) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            entries.retain(|_, entry| entry.stored_at.elapsed() < self.ttl);
        }
        if entries.len() >= self.capacity {
            let oldest = entries
                .iter()
                .min_by_key(|(_, entry)| entry.stored_at)
                .map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            key,
            Entry {
                plaintext: plaintext.to_vec(),
                stored_at: Instant::now(),
            },
        );
    }
}

impl<C: TokenCipher> TokenCipher for CachingCipher<C> {
    async fn encrypt(
        &self,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CipherError> {
        let ciphertext = self.inner.encrypt(context, plaintext).await?;
        // The next request of this environment reads back what it just wrote.
        self.remember(Self::key(context, &ciphertext), plaintext);
        Ok(ciphertext)
    }

    async fn decrypt(
        &self,
        context: &EncryptionContext,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CipherError> {
        let key = Self::key(context, ciphertext);
        if let Some(plaintext) = self.lookup(&key) {
            return Ok(plaintext);
        }
        let plaintext = self.inner.decrypt(context, ciphertext).await?;
        self.remember(key, &plaintext);
        Ok(plaintext)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::fakes::FakeCipher;

    /// Counts the calls reaching the wrapped cipher.
    #[derive(Debug, Clone, Default)]
    struct Counting {
        inner: FakeCipher,
        decrypts: Arc<AtomicU32>,
    }

    impl TokenCipher for Counting {
        async fn encrypt(
            &self,
            context: &EncryptionContext,
            plaintext: &[u8],
        ) -> Result<Vec<u8>, CipherError> {
            self.inner.encrypt(context, plaintext).await
        }

        async fn decrypt(
            &self,
            context: &EncryptionContext,
            ciphertext: &[u8],
        ) -> Result<Vec<u8>, CipherError> {
            self.decrypts.fetch_add(1, Ordering::SeqCst);
            self.inner.decrypt(context, ciphertext).await
        }
    }

    #[tokio::test]
    async fn a_warm_decrypt_of_the_same_record_skips_the_inner_cipher() {
        let counting = Counting::default();
        let cache = CachingCipher::new(counting.clone());
        let context = EncryptionContext::tokens("u", "o");
        let sealed = counting.encrypt(&context, b"pair").await.expect("encrypt");
        for _ in 0..3 {
            assert_eq!(
                cache.decrypt(&context, &sealed).await.expect("decrypt"),
                b"pair"
            );
        }
        assert_eq!(counting.decrypts.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn own_encryptions_are_readable_without_a_decrypt() {
        let counting = Counting::default();
        let cache = CachingCipher::new(counting.clone());
        let context = EncryptionContext::tokens("u", "o");
        let sealed = cache.encrypt(&context, b"new pair").await.expect("encrypt");
        assert_eq!(
            cache.decrypt(&context, &sealed).await.expect("decrypt"),
            b"new pair"
        );
        assert_eq!(counting.decrypts.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn another_context_is_never_served_from_the_cache() {
        let counting = Counting::default();
        let cache = CachingCipher::new(counting.clone());
        let sealed = cache
            .encrypt(&EncryptionContext::tokens("u", "o"), b"pair")
            .await
            .expect("encrypt");
        let moved = cache
            .decrypt(&EncryptionContext::tokens("intruder", "o"), &sealed)
            .await;
        assert!(matches!(moved, Err(CipherError::Invalid)));
    }

    #[tokio::test]
    async fn entries_expire_and_the_capacity_holds() {
        let counting = Counting::default();
        let cache = CachingCipher::with_limits(counting.clone(), Duration::ZERO, 2);
        let context = EncryptionContext::tokens("u", "o");
        let sealed = cache.encrypt(&context, b"pair").await.expect("encrypt");
        cache.decrypt(&context, &sealed).await.expect("decrypt");
        assert_eq!(
            counting.decrypts.load(Ordering::SeqCst),
            1,
            "expired at once"
        );

        let cache = CachingCipher::with_limits(counting, DEFAULT_TTL, 2);
        for n in 0..5u8 {
            cache.encrypt(&context, &[n]).await.expect("encrypt");
        }
        assert_eq!(cache.entries.lock().expect("lock").len(), 2);
    }
}
