//! The domain of TikTok Connect: ids and secrets as types, scopes, the clock and time budgets,
//! the ports the services are written against (`AccountStore`, `StateStore`, `TokenCipher`,
//! `TikTokApi`, …) with their in-memory fakes, and the custody logic every function shares:
//! keeping an account's tokens fresh (`refresh`). No AWS SDK, no HTTP server types: the adapters
//! (`connect-adapters`) and the HTTP layer (`connect-http`) build on this crate, never the reverse.

#![warn(missing_docs)]

pub mod api_origin;
pub mod app_user;
pub mod budget;
pub mod cipher;
pub mod cipher_cache;
pub mod clock;
pub mod envelope;
pub mod error;
pub mod events;
#[cfg(any(test, feature = "test-util"))]
pub mod fakes;
pub mod ids;
pub mod pkce;
pub mod ports;
pub mod query;
pub mod refresh;
pub mod retry;
pub mod return_url;
pub mod schedule;
pub mod scheduler;
pub mod scope;
pub mod secret;
pub mod store;
pub mod tiktok;
