//! Extractors whose rejection is a problem+json answer: the caller (and
//! the admin role), path parameters, query strings and JSON bodies.
//!
//! A handler lists what it needs as arguments and axum runs them in
//! order, so an admin-only route names [`Admin`] first: a reader is
//! turned away before its input is looked at, and malformed input of any
//! kind becomes a 400 that names the field, never axum's plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::auth::Role;
use crate::problem::ApiError;

/// What a handler answers: its value or a problem.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The caller, as the token check found it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// What the token may do.
    pub role: Role,
    /// The token's name.
    pub name: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Caller> {
        // The authentication layer puts it there; a route outside that
        // layer asking for a caller is a bug, answered as "no token".
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "this call needs a token: send `Authorization: Bearer TOKEN`")
        })
    }
}

/// A caller with an admin token; a reader token gets 403.
#[derive(Debug, Clone)]
pub(crate) struct Admin;

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Admin> {
        let c = Caller::from_request_parts(parts, state).await?;
        match c.role {
            Role::Admin => Ok(Admin),
            Role::Reader => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("token {:?} is a reader token: it can only read; use an admin token to change things", c.name),
            )),
        }
    }
}

/// Path parameters (one, or a tuple in the route's order).
pub(crate) struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<ApiPath<T>> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(ApiError::bad(format!("the path is not valid: {}", e.body_text()))),
        }
    }
}

/// The query string as `T`.
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<ApiQuery<T>> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(ApiError::bad(format!("the query string is not valid: {}", e.body_text()))),
        }
    }
}

/// A JSON body that must be there. Any content type is taken: clients
/// that forget the header are not turned away for it.
pub(crate) struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Body<T>> {
        let bytes = bytes(req, state).await?;
        if bytes.is_empty() {
            return Err(ApiError::bad("the request needs a JSON body"));
        }
        serde_json::from_slice(&bytes).map(Body).map_err(|e| ApiError::bad(format!("the JSON body is not valid: {e}")))
    }
}

/// A JSON body that may be left out (or blank): then `T::default()`.
pub(crate) struct OptionalBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<OptionalBody<T>> {
        let bytes = bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalBody(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(OptionalBody)
            .map_err(|e| ApiError::bad(format!("the JSON body is not valid: {e}")))
    }
}

/// The body's bytes, within the route's limit (413 past it, as problem+json
/// through the `problems` layer).
async fn bytes<S: Send + Sync>(req: Request, state: &S) -> ApiResult<Bytes> {
    Bytes::from_request(req, state).await.map_err(|e| ApiError::new(e.status(), e.body_text()))
}

/// `name` as a valid group, member, agent or plugin name, or a 400 saying
/// what a name may hold.
pub(crate) fn check_name(what: &str, name: &str) -> ApiResult<()> {
    hubsync_core::config::check_name(what, name).map_err(ApiError::bad)
}
