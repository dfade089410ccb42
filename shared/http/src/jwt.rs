//! Who is calling: the app user, proven by a JWT the app's back end signed: HS256 with
//! `app_jwt_secret` (and `app_jwt_secret_next` during a rotation), or EdDSA/ES256 with a private
//! key whose public half is in `APP_JWT_PUBLIC_KEYS` (docs/deploy.md#app-jwts).

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use connect_domain::app_user::AppUser;
use connect_domain::secret::JwtSecret;

/// Longest Authorization header we parse; anything larger is refused before decoding.
const MAX_BEARER_LEN: usize = 8 * 1024;
const LEEWAY_SECS: u64 = 60;

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
}

/// The keys app JWTs are verified with.
enum Keys {
    /// HS256 with `app_jwt_secret`, and during a rotation `app_jwt_secret_next` as well.
    Shared(Vec<DecodingKey>),
    /// The app's public keys (`APP_JWT_PUBLIC_KEYS`, a JWKS): each token names its key by `kid`
    /// and is verified with that key's algorithm, EdDSA (Ed25519) or ES256. This service then
    /// holds nothing that can mint a token; HS256 tokens are refused.
    Public(Vec<(String, Algorithm, DecodingKey)>),
}

/// Verifies app JWTs. Built once per cold start.
pub struct JwtVerifier {
    keys: Keys,
    issuer: Option<String>,
    audience: Option<String>,
    /// When set, tokens must carry `iat` and live at most this long (`exp - iat`).
    max_lifetime_secs: Option<i64>,
    /// The checks for each algorithm the keys use, built with the verifier, not per request.
    validations: Vec<(Algorithm, Validation)>,
}

impl JwtVerifier {
    /// HS256 with the shared secret; `iss`/`aud` are required and checked when given.
    pub fn new(secret: &JwtSecret, issuer: Option<&str>, audience: Option<&str>) -> Self {
        Self {
            keys: Keys::Shared(vec![DecodingKey::from_secret(secret.secret().as_bytes())]),
            issuer: issuer.map(str::to_owned),
            audience: audience.map(str::to_owned),
            max_lifetime_secs: None,
            validations: Vec::new(),
        }
        .prepared()
    }

    /// Also accepts tokens signed with `next` (rotating the shared secret: the app signs with the
    /// new one while tokens signed with the old one are still out).
    pub fn also_accepting(mut self, next: Option<&JwtSecret>) -> Self {
        if let (Keys::Shared(keys), Some(next)) = (&mut self.keys, next) {
            keys.push(DecodingKey::from_secret(next.secret().as_bytes()));
        }
        self
    }

    /// Verifies with the app's public keys instead of a shared secret. `jwks` is a JSON Web Key
    /// Set whose keys each have a `kid` and are Ed25519 (`OKP`) or P-256 (`EC`).
    pub fn with_public_keys(
        jwks: &str,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Result<Self, String> {
        let set: JwkSet = serde_json::from_str(jwks)
            .map_err(|_| "is not a JSON Web Key Set ({\"keys\": [...]})".to_owned())?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let kid = jwk
                .common
                .key_id
                .clone()
                .filter(|kid| !kid.is_empty())
                .ok_or("has a key without a kid")?;
            let algorithm = match &jwk.algorithm {
                AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                    Algorithm::EdDSA
                }
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                _ => return Err(format!("key {kid} is neither Ed25519 nor P-256")),
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|_| format!("key {kid} is malformed"))?;
            keys.push((kid, algorithm, key));
        }
        if keys.is_empty() {
            return Err("holds no key".into());
        }
        Ok(Self {
            keys: Keys::Public(keys),
            issuer: issuer.map(str::to_owned),
            audience: audience.map(str::to_owned),
            max_lifetime_secs: None,
            validations: Vec::new(),
        }
        .prepared())
    }

    /// Accepts no token at all (fail closed when the configured keys cannot be used).
    pub fn refusing_everything() -> Self {
        Self {
            keys: Keys::Public(Vec::new()),
            issuer: None,
            audience: None,
            max_lifetime_secs: None,
            validations: Vec::new(),
        }
    }

    /// Refuses tokens without `iat` or living longer than `max` seconds (`exp - iat`), so a
    /// leaked token is of use for a bounded time whatever the app put in `exp`.
    pub fn with_max_lifetime(mut self, max: Option<u32>) -> Self {
        self.max_lifetime_secs = max.map(i64::from);
        self.prepared()
    }

    /// Builds the checks for every algorithm the keys use from the current rules.
    fn prepared(mut self) -> Self {
        let used: Vec<Algorithm> = match &self.keys {
            Keys::Shared(_) => vec![Algorithm::HS256],
            Keys::Public(keys) => keys.iter().map(|(_, algorithm, _)| *algorithm).collect(),
        };
        let mut validations: Vec<(Algorithm, Validation)> = Vec::new();
        for algorithm in used {
            if !validations.iter().any(|(a, _)| *a == algorithm) {
                validations.push((algorithm, self.validation(algorithm)));
            }
        }
        self.validations = validations;
        self
    }

    fn validation_for(&self, algorithm: Algorithm) -> Option<&Validation> {
        self.validations
            .iter()
            .find(|(a, _)| *a == algorithm)
            .map(|(_, validation)| validation)
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        // `iss`/`aud` are only checked when present unless also required: require what is configured.
        let mut required = vec!["exp", "sub"];
        required.extend(self.issuer.as_ref().map(|_| "iss"));
        required.extend(self.audience.as_ref().map(|_| "aud"));
        required.extend(self.max_lifetime_secs.map(|_| "iat"));
        validation.set_required_spec_claims(&required);
        match &self.issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        validation
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
        let token = token.trim();
        let claims = match &self.keys {
            Keys::Shared(keys) => {
                let validation = self.validation_for(Algorithm::HS256)?;
                keys.iter()
                    .find_map(|key| decode::<Claims>(token, key, validation).ok())?
                    .claims
            }
            Keys::Public(keys) => {
                let kid = decode_header(token).ok()?.kid?;
                let (_, algorithm, key) = keys.iter().find(|(id, _, _)| *id == kid)?;
                decode::<Claims>(token, key, self.validation_for(*algorithm)?)
                    .ok()?
                    .claims
            }
        };
        if let Some(max) = self.max_lifetime_secs {
            let iat = claims.iat?;
            let now = connect_domain::clock::Clock::now(&connect_domain::clock::SystemClock);
            // Issued in the future would stretch the lifetime past `max` from now.
            if claims.exp - iat > max || iat > now + LEEWAY_SECS as i64 {
                return None;
            }
        }
        AppUser::parse(&claims.sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const KEY: &str = "test-jwt-secret-with-enough-length";

    fn now() -> i64 {
        connect_domain::clock::Clock::now(&connect_domain::clock::SystemClock)
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

    fn user(id: &str) -> AppUser {
        AppUser::parse(id).expect("a valid app user id")
    }

    fn check(v: &JwtVerifier, token: &str) -> Option<AppUser> {
        v.verify_header(Some(&format!("Bearer {token}")))
    }

    #[test]
    fn valid_token_yields_the_subject() {
        let token = sign(json!({"sub": "user-1", "exp": now() + 300}), KEY);
        assert_eq!(check(&verifier(), &token), Some(user("user-1")));
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

    // Test-only key pairs (generated for these tests, never used anywhere else).
    /// PKCS#8 DER, base64 (`openssl genpkey -algorithm ed25519`).
    const ED_PRIVATE: &str = "MC4CAQAwBQYDK2VwBCIEIHqEFCTfNA63qFE2aMEuaQCPCTYyS/4oLXSP4OHhSRyK";
    const ED_X: &str = "RppO1-yHFeLWyJMwx2io3BJaMHRlCJI9-83IYZFngk8";
    /// PKCS#8 DER, base64 (`openssl ecparam -name prime256v1 -genkey | openssl pkcs8 -topk8`).
    const EC_PRIVATE: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+hZ2lMu5YHg19ygv93aZ1ZRPrdbthrpSLBJ+/HgSP2+hRANCAAR/Bt2qjxqFSRPAayFGkpo0zgA77aLfaeXb9krQMxyonTFIEniTV/bmXPy2k1WKkX7actt7QsBxUMRCwNpOtMO8";
    const EC_X: &str = "fwbdqo8ahUkTwGshRpKaNM4AO-2i32nl2_ZK0DMcqJ0";
    const EC_Y: &str = "MUgSeJNX9uZc_LaTVYqRftpy23tCwHFQxELA2k60w7w";

    fn jwks() -> String {
        json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "ed-current"},
            {"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "kid": "ec-next"},
        ]})
        .to_string()
    }

    fn sign_with(
        algorithm: Algorithm,
        kid: Option<&str>,
        pkcs8_base64: &str,
        claims: &serde_json::Value,
    ) -> String {
        use base64::Engine as _;
        let der = base64::engine::general_purpose::STANDARD
            .decode(pkcs8_base64)
            .expect("test key");
        let key = match algorithm {
            Algorithm::EdDSA => EncodingKey::from_ed_der(&der),
            _ => EncodingKey::from_ec_der(&der),
        };
        let mut header = Header::new(algorithm);
        header.kid = kid.map(str::to_owned);
        encode(&header, claims, &key).expect("sign")
    }

    #[test]
    fn the_apps_public_keys_verify_its_tokens_by_kid_and_nothing_else_gets_in() {
        let v = JwtVerifier::with_public_keys(&jwks(), None, None).expect("jwks");
        let claims = json!({"sub": "user-1", "exp": now() + 300});
        let ed = sign_with(Algorithm::EdDSA, Some("ed-current"), ED_PRIVATE, &claims);
        let ec = sign_with(Algorithm::ES256, Some("ec-next"), EC_PRIVATE, &claims);
        assert_eq!(check(&v, &ed), Some(user("user-1")), "EdDSA, current key");
        assert_eq!(check(&v, &ec), Some(user("user-1")), "ES256, next key");
        let refused = [
            (
                "no kid",
                sign_with(Algorithm::EdDSA, None, ED_PRIVATE, &claims),
            ),
            (
                "unknown kid",
                sign_with(Algorithm::EdDSA, Some("other"), ED_PRIVATE, &claims),
            ),
            (
                "another key's kid",
                sign_with(Algorithm::ES256, Some("ed-current"), EC_PRIVATE, &claims),
            ),
            ("HS256 with the shared secret", sign(claims.clone(), KEY)),
            (
                "expired",
                sign_with(
                    Algorithm::EdDSA,
                    Some("ed-current"),
                    ED_PRIVATE,
                    &json!({"sub": "u", "exp": now() - 120}),
                ),
            ),
        ];
        for (name, token) in refused {
            assert_eq!(check(&v, &token), None, "{name}");
        }
    }

    #[test]
    fn public_key_sets_without_kids_or_with_other_key_types_are_refused_at_start() {
        for bad in [
            "not json".to_owned(),
            json!({"keys": []}).to_string(),
            json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": ED_X}]}).to_string(),
            json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "hs"}]}).to_string(),
        ] {
            assert!(
                JwtVerifier::with_public_keys(&bad, None, None).is_err(),
                "{bad}"
            );
        }
        assert!(
            check(
                &JwtVerifier::refusing_everything(),
                &sign(json!({"sub": "u", "exp": now() + 300}), KEY)
            )
            .is_none()
        );
    }

    #[test]
    fn a_second_shared_secret_is_accepted_during_a_rotation() {
        let next = "the-next-app-jwt-secret-32-bytes-long";
        let v = verifier().also_accepting(Some(&JwtSecret::new(next)));
        let claims = json!({"sub": "u", "exp": now() + 300});
        assert!(check(&v, &sign(claims.clone(), KEY)).is_some(), "old key");
        assert!(check(&v, &sign(claims.clone(), next)).is_some(), "new key");
        assert!(check(&v, &sign(claims, "a-third-key-nobody-configured-000")).is_none());
    }

    #[test]
    fn a_lifetime_cap_needs_iat_and_refuses_longer_tokens() {
        let v = verifier().with_max_lifetime(Some(3600));
        let t = now();
        assert!(
            check(
                &v,
                &sign(json!({"sub": "u", "iat": t, "exp": t + 3600}), KEY)
            )
            .is_some()
        );
        let refused = [
            ("no iat", json!({"sub": "u", "exp": t + 300})),
            (
                "a day long",
                json!({"sub": "u", "iat": t, "exp": t + 86_400}),
            ),
            (
                "issued in the future",
                json!({"sub": "u", "iat": t + 7200, "exp": t + 7300}),
            ),
        ];
        for (name, claims) in refused {
            assert!(check(&v, &sign(claims, KEY)).is_none(), "{name}");
        }
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
