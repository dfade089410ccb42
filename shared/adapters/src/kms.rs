//! The KMS adapter: the master key of `connect_domain::envelope` (`GenerateDataKey` for a data
//! key per purpose and environment, `Decrypt` to unwrap one or to open a record sealed before
//! envelopes), with one symmetric customer-managed key.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;

use connect_domain::cipher::{CipherError, EncryptionContext};
use connect_domain::envelope::{DEFAULT_MAX_AGE, DataKey, EnvelopeCipher, MasterKey};

/// What every function seals and opens secrets with: envelopes under `KmsKeys`' data keys.
pub type KmsCipher = EnvelopeCipher<KmsKeys>;

/// The envelope cipher under `key_id` (`KMS_KEY_ID`: the id, ARN or alias of a symmetric key),
/// each data key sealing `max_uses` secrets (`DATA_KEY_MAX_USES`) or for `DEFAULT_MAX_AGE`.
pub fn kms_cipher(
    client: aws_sdk_kms::Client,
    key_id: impl Into<String>,
    max_uses: u64,
) -> KmsCipher {
    EnvelopeCipher::with_limits(KmsKeys::new(client, key_id), DEFAULT_MAX_AGE, max_uses)
}

/// One symmetric customer-managed KMS key.
#[derive(Debug, Clone)]
pub struct KmsKeys {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl KmsKeys {
    /// The key `key_id` through `client`.
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }
}

fn kms_failed<E, R>(e: aws_sdk_kms::error::SdkError<E, R>) -> CipherError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    CipherError::Kms(aws_sdk_kms::error::DisplayErrorContext(e).to_string())
}

impl MasterKey for KmsKeys {
    async fn generate_data_key(&self, context: &EncryptionContext) -> Result<DataKey, CipherError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context.to_map()))
            .send()
            .await
            .map_err(kms_failed)?;
        match (out.plaintext, out.ciphertext_blob) {
            (Some(plaintext), Some(wrapped)) => Ok(DataKey {
                plaintext: plaintext.into_inner(),
                wrapped: wrapped.into_inner(),
            }),
            _ => Err(CipherError::Kms("KMS returned no data key".into())),
        }
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
                    kms_failed(e)
                }
            })?;
        out.plaintext
            .map(Blob::into_inner)
            .ok_or_else(|| CipherError::Kms("KMS returned no plaintext".into()))
    }
}
