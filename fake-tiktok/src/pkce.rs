//! PKCE verification (S256 only), with the two encodings seen in the wild.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::config::PkceMode;

/// RFC 7636 §4.1: 43–128 characters of `[A-Za-z0-9-._~]`.
fn well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `verifier` answers `challenge` under `mode`.
pub(crate) fn verify(mode: PkceMode, challenge: &str, verifier: &str) -> bool {
    if !well_formed(verifier) {
        return false;
    }
    let digest = Sha256::digest(verifier.as_bytes());
    let hex = || hex::encode(digest) == challenge;
    let b64 = || URL_SAFE_NO_PAD.encode(digest) == challenge;
    match mode {
        PkceMode::Hex => hex(),
        PkceMode::Base64Url => b64(),
        // The challenge was optional; TikTok's web encoding is unconfirmed, so accept either.
        PkceMode::Off => hex() || b64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn rfc7636_example() {
        let b64 = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verify(PkceMode::Base64Url, b64, VERIFIER));
        assert!(!verify(PkceMode::Hex, b64, VERIFIER));
        assert!(verify(PkceMode::Off, b64, VERIFIER));
    }

    #[test]
    fn hex_encoding() {
        let hex = hex::encode(Sha256::digest(VERIFIER.as_bytes()));
        assert!(verify(PkceMode::Hex, &hex, VERIFIER));
        assert!(!verify(PkceMode::Base64Url, &hex, VERIFIER));
    }

    #[test]
    fn malformed_verifier() {
        let short = "abc";
        let hex = hex::encode(Sha256::digest(short.as_bytes()));
        assert!(!verify(PkceMode::Hex, &hex, short));
    }
}
