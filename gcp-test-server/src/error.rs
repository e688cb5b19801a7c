//! The Google API error model: every failure the server reports is an [`ApiError`],
//! rendered as the standard JSON body
//! `{"error":{"code":404,"message":"...","status":"NOT_FOUND"}}`
//! (<https://cloud.google.com/apis/design/errors#http_mapping>).
//!
//! Invariant: the HTTP status and the canonical `status` string always agree, because
//! both come from one [`Code`].

use serde_json::json;

/// The canonical error codes this server uses, with their HTTP mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    InvalidArgument,
    FailedPrecondition,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    /// No valid credentials (only when IAM enforcement is on).
    Unauthenticated,
    Aborted,
    ResourceExhausted,
    Unavailable,
    Internal,
}

impl Code {
    /// The HTTP status code Google maps this canonical code to.
    pub fn http(self) -> u16 {
        match self {
            Code::InvalidArgument | Code::FailedPrecondition => 400,
            Code::Unauthenticated => 401,
            Code::PermissionDenied => 403,
            Code::NotFound => 404,
            Code::AlreadyExists | Code::Aborted => 409,
            Code::ResourceExhausted => 429,
            Code::Internal => 500,
            Code::Unavailable => 503,
        }
    }

    /// The canonical status name, as it appears in `error.status`.
    pub fn status(self) -> &'static str {
        match self {
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Aborted => "ABORTED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::Unavailable => "UNAVAILABLE",
            Code::Internal => "INTERNAL",
        }
    }
}

/// A failed API call: a canonical code and a message for the caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} {}: {message}", code.http(), code.status())]
pub struct ApiError {
    pub code: Code,
    pub message: String,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::new(Code::FailedPrecondition, message)
    }
    pub fn exists(message: impl Into<String>) -> Self {
        Self::new(Code::AlreadyExists, message)
    }
    pub fn aborted(message: impl Into<String>) -> Self {
        Self::new(Code::Aborted, message)
    }
    /// The answer to a write that carried a stale etag (AIP-154: ABORTED, HTTP 409).
    pub fn stale_etag() -> Self {
        Self::new(
            Code::Aborted,
            "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff. The request's ETag does not match the current ETag.",
        )
    }

    /// The standard error body.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "error": {
                "code": self.code.http(),
                "message": self.message,
                "status": self.code.status(),
            }
        })
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
