//! The use cases behind the routes: connect (authorize + callback), confirm or cancel a pending
//! connection, the account listing and disconnect, profile and videos, publishing, TikTok's
//! webhooks, and the scheduled refresh job. Each is generic over the domain's ports, so the same
//! code runs on the AWS adapters and on the in-memory fakes.
//!
//! These still answer in the HTTP layer's `ServiceError`; giving each its own domain error (and moving
//! them into `connect-domain`) is the next step of the layering.

#![warn(missing_docs)]

pub mod accounts;
pub mod connect;
pub mod pending;
pub mod profile;
pub mod publish;
pub mod refresh_job;
pub mod videos;
pub mod webhook;
