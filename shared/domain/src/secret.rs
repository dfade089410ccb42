//! Types for values that must never reach a log line, an error message or a response body.
//!
//! Each secret is a newtype whose `Debug` prints `[redacted]` and which has no `Display`, so
//! `tracing::info!(?token)` or `format!("{token:?}")` cannot leak it. The value is read only through
//! `.secret()`, which makes every use easy to find in review.

use std::fmt;

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value; nothing but `.secret()` reveals it.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The plaintext value. Only pass it to the party that needs it (TikTok, KMS).
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_type!(
    /// A TikTok user access token (`act.…`).
    AccessToken
);
secret_type!(
    /// A TikTok refresh token (`rft.…`); rotates on every refresh.
    RefreshToken
);
secret_type!(
    /// The authorization code from TikTok's redirect, already decoded once.
    AuthorizationCode
);
secret_type!(
    /// A PKCE code verifier.
    CodeVerifier
);
secret_type!(
    /// The TikTok app's client secret.
    ClientSecret
);
secret_type!(
    /// The HS256 key that signs app-user JWTs.
    JwtSecret
);
secret_type!(
    /// A raw bearer credential as received (an app JWT).
    BearerToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let token = AccessToken::new("act.very-secret-value");
        let printed = format!("{token:?} {:?}", Some(&token));
        assert!(!printed.contains("very-secret"), "{printed}");
        assert!(printed.contains("[redacted]"));
        assert_eq!(token.secret(), "act.very-secret-value");
    }
}
