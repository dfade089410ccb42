//! The HTTP layer: the one error type every route answers with (`ApiError`, with its mapping to a
//! status and a JSON body), the app JWT (`jwt`), query parsing, JSON responses and the helpers a
//! handler uses to read a request. Builds on `connect-domain` only.

#![warn(missing_docs)]

pub mod api_error;
pub mod handler;
pub mod jwt;
pub mod response;
