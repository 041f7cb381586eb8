//! API errors as RFC 9457 `application/problem+json`: a status, a title,
//! and a `detail` that says what to fix.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
pub use hubsync_api::Problem;

/// An API failure with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
}

impl ApiError {
    /// A failure with `status`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError { status, detail: detail.into() }
    }

    /// 400: the request is wrong.
    pub fn bad(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 404: no such thing.
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, detail)
    }

    /// 409: the state does not allow it.
    pub fn conflict(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, detail)
    }
}

impl From<crate::ServerError> for ApiError {
    fn from(e: crate::ServerError) -> ApiError {
        use crate::ServerError as E;
        let status = match &e {
            E::Invalid(_) => StatusCode::BAD_REQUEST,
            E::Engine(hubsync_engine::EngineError::Invalid(_)) => StatusCode::BAD_REQUEST,
            E::Engine(hubsync_engine::EngineError::NotFound(_)) => StatusCode::NOT_FOUND,
            // A database the request named could not be reached or read:
            // the request cannot be served as asked, the server is fine.
            E::Engine(_) => StatusCode::UNPROCESSABLE_ENTITY,
            E::Meta(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<hubsync_core::ConnectorError> for ApiError {
    fn from(e: hubsync_core::ConnectorError) -> ApiError {
        ApiError::from(crate::ServerError::Meta(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: "about:blank".into(),
            title: self.status.canonical_reason().unwrap_or("Error").into(),
            status: self.status.as_u16(),
            detail: self.detail,
        };
        let mut r = (self.status, axum::Json(body)).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}
