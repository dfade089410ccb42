//! The KMS adapter of `TokenCipher`: `Encrypt`/`Decrypt` with one symmetric customer-managed key,
//! under the record's encryption context. One KMS call per encrypt or decrypt; the domain's
//! `CachingCipher` keeps decryptions for a warm environment.

use aws_sdk_kms::primitives::Blob;

use connect_domain::cipher::{CipherError, EncryptionContext, TokenCipher};

/// The KMS adapter: one symmetric customer-managed key.
#[derive(Debug, Clone)]
pub struct KmsCipher {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl KmsCipher {
    /// A cipher using `key_id` (`KMS_KEY_ID`: the id, ARN or alias of a symmetric key) through
    /// `client`.
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }
}

impl TokenCipher for KmsCipher {
    async fn encrypt(
        &self,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CipherError> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(plaintext))
            .set_encryption_context(Some(context.to_map()))
            .send()
            .await
            .map_err(|e| {
                CipherError::Kms(aws_sdk_kms::error::DisplayErrorContext(e).to_string())
            })?;
        out.ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| CipherError::Kms("KMS returned no ciphertext".into()))
    }

    async fn decrypt(
        &self,
        context: &EncryptionContext,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CipherError> {
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(ciphertext))
            .set_encryption_context(Some(context.to_map()))
            .send()
            .await
            .map_err(|e| {
                let service = e.as_service_error();
                if service.is_some_and(|s| {
                    s.is_invalid_ciphertext_exception() || s.is_incorrect_key_exception()
                }) {
                    CipherError::Invalid
                } else {
                    CipherError::Kms(aws_sdk_kms::error::DisplayErrorContext(e).to_string())
                }
            })?;
        out.plaintext
            .map(Blob::into_inner)
            .ok_or_else(|| CipherError::Kms("KMS returned no plaintext".into()))
    }
}
