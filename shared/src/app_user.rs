//! Who is calling: the app user, proven by an HS256 JWT signed with `app_jwt_secret` (DESIGN.md §2).

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::Deserialize;

use crate::secret::JwtSecret;

/// Longest Authorization header we parse; anything larger is refused before decoding.
const MAX_BEARER_LEN: usize = 8 * 1024;
const MAX_SUBJECT_CHARS: usize = 256;
const LEEWAY_SECS: u64 = 60;

/// The verified id of the person logged into the app that uses this service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppUser(String);

impl AppUser {
    /// Accepts 1–256 printable characters.
    pub fn parse(id: &str) -> Option<Self> {
        let count = id.chars().count();
        let printable = id.chars().all(|c| !c.is_control());
        ((1..=MAX_SUBJECT_CHARS).contains(&count) && printable).then(|| Self(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
}

/// Verifies app JWTs. Built once per cold start.
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl JwtVerifier {
    pub fn new(secret: &JwtSecret, issuer: Option<&str>, audience: Option<&str>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        // `iss`/`aud` are only checked when present unless also required: require what is configured.
        let mut required = vec!["exp", "sub"];
        required.extend(issuer.map(|_| "iss"));
        required.extend(audience.map(|_| "aud"));
        validation.set_required_spec_claims(&required);
        match issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        Self {
            key: DecodingKey::from_secret(secret.secret().as_bytes()),
            validation,
        }
    }

    /// Checks an `Authorization` header value (`Bearer <jwt>`). Every failure is the same `None`:
    /// the caller answers 401 without telling an attacker which check failed.
    pub fn verify_header(&self, authorization: Option<&str>) -> Option<AppUser> {
        let header = authorization?;
        if header.len() > MAX_BEARER_LEN {
            return None;
        }
        let (scheme, token) = header.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let data = decode::<Claims>(token.trim(), &self.key, &self.validation).ok()?;
        AppUser::parse(&data.claims.sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const KEY: &str = "test-jwt-secret-with-enough-length";

    fn now() -> i64 {
        crate::clock::Clock::now(&crate::clock::SystemClock)
    }

    fn sign(claims: serde_json::Value, key: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .expect("sign")
    }

    fn verifier() -> JwtVerifier {
        JwtVerifier::new(&JwtSecret::new(KEY), None, None)
    }

    fn check(v: &JwtVerifier, token: &str) -> Option<AppUser> {
        v.verify_header(Some(&format!("Bearer {token}")))
    }

    #[test]
    fn valid_token_yields_the_subject() {
        let token = sign(json!({"sub": "user-1", "exp": now() + 300}), KEY);
        assert_eq!(check(&verifier(), &token), Some(AppUser("user-1".into())));
    }

    #[test]
    fn bad_tokens_are_refused() {
        let v = verifier();
        let cases = [
            (
                "expired beyond leeway",
                sign(json!({"sub": "u", "exp": now() - 120}), KEY),
            ),
            (
                "wrong key",
                sign(json!({"sub": "u", "exp": now() + 300}), "another-key"),
            ),
            ("missing exp", sign(json!({"sub": "u"}), KEY)),
            ("missing sub", sign(json!({"exp": now() + 300}), KEY)),
            (
                "empty sub",
                sign(json!({"sub": "", "exp": now() + 300}), KEY),
            ),
            (
                "control char sub",
                sign(json!({"sub": "a\nb", "exp": now() + 300}), KEY),
            ),
            (
                "long sub",
                sign(json!({"sub": "x".repeat(257), "exp": now() + 300}), KEY),
            ),
            (
                "not yet valid",
                sign(
                    json!({"sub": "u", "exp": now() + 600, "nbf": now() + 300}),
                    KEY,
                ),
            ),
            // alg none: header {"alg":"none"} with an empty signature.
            (
                "alg none",
                "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1IiwiZXhwIjo0MTAyNDQ0ODAwfQ."
                    .to_owned(),
            ),
            ("garbage", "not-a-jwt".to_owned()),
        ];
        for (name, token) in cases {
            assert_eq!(check(&v, &token), None, "{name}");
        }
        assert_eq!(v.verify_header(None), None);
        assert_eq!(v.verify_header(Some("Basic abc")), None);
        assert_eq!(
            v.verify_header(Some(&format!("Bearer {}", "a".repeat(MAX_BEARER_LEN)))),
            None
        );
    }

    #[test]
    fn issuer_and_audience_are_enforced_when_configured() {
        let v = JwtVerifier::new(
            &JwtSecret::new(KEY),
            Some("https://app"),
            Some("tiktok-connect"),
        );
        let good = sign(
            json!({"sub": "u", "exp": now() + 300, "iss": "https://app", "aud": "tiktok-connect"}),
            KEY,
        );
        let bad_iss = sign(
            json!({"sub": "u", "exp": now() + 300, "iss": "https://evil", "aud": "tiktok-connect"}),
            KEY,
        );
        let no_aud = sign(
            json!({"sub": "u", "exp": now() + 300, "iss": "https://app"}),
            KEY,
        );
        assert!(check(&v, &good).is_some());
        assert!(check(&v, &bad_iss).is_none());
        assert!(check(&v, &no_aud).is_none());
    }
}
