//! The one error type every HTTP function answers with, and the one place mapping it to a status
//! and a JSON body (DESIGN.md §3). 5xx bodies are generic; the cause goes to the log.

use lambda_http::Body;
use lambda_http::http::{Response, StatusCode};
use serde_json::json;

use crate::response;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Missing, malformed or failed app JWT.
    Unauthorized,
    /// Bad input; the message says what to fix (never echoes a secret).
    InvalidRequest(String),
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// A dependency (DynamoDB, KMS, Secrets Manager) failed; retrying may help.
    ServiceUnavailable,
    /// A bug or an impossible state; details are logged, not returned.
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::InvalidRequest(_) => "invalid_request",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::ServiceUnavailable => "service_unavailable",
            Self::Internal => "internal_error",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Unauthorized => "a valid app JWT is required in the Authorization header".into(),
            Self::InvalidRequest(message) => message.clone(),
            Self::MethodNotAllowed => "this route does not support that method".into(),
            Self::ServiceUnavailable => {
                "a backing service is unavailable; try again shortly".into()
            }
            Self::Internal => "internal error".into(),
        }
    }

    pub fn to_response(&self) -> Response<Body> {
        response::json(
            self.status(),
            &json!({ "error": self.code(), "message": self.message() }),
        )
    }
}
