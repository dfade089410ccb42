//! Shared logic of the TikTok Connect functions: configuration, the app-user JWT, the TikTok
//! client, encrypted token storage, and the connect flow. Functions only wire these together.

pub mod accounts;
pub mod api_error;
pub mod app_user;
pub mod cipher;
pub mod cipher_cache;
pub mod clock;
pub mod config;
pub mod connect;
pub mod console;
#[cfg(any(test, feature = "test-util"))]
pub mod fakes;
pub mod handler;
pub mod pending;
pub mod pkce;
pub mod profile;
pub mod publish;
pub mod query;
pub mod refresh;
pub mod refresh_job;
pub mod response;
pub mod retry;
pub mod return_url;
pub mod runtime;
pub mod schedule;
pub mod scope;
pub mod secret;
pub mod store;
pub mod telemetry;
pub mod tiktok;
pub mod videos;
pub mod webhook;
