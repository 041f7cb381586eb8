//! `/api/v1/tokens`: list, make and revoke API tokens (admin only).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use hubsync_api::{CreatedToken, Identity, NewToken, TokenView};
use utoipa::OpenApi;

use crate::extract::{Admin, ApiPath, ApiResult, Body, Caller};
use crate::now_micros;
use crate::problem::ApiError;
use crate::state::AppState;

/// This resource's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{token}", delete(revoke_token))
        .route("/api/v1/whoami", get(whoami))
}

/// This resource's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(list_tokens, create_token, revoke_token, whoami))]
pub(crate) struct Doc;

/// List API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = [TokenView])))]
async fn list_tokens(_: Admin, State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<TokenView>>> {
    let tokens = state.engine.meta().tokens().await?;
    let views = tokens.into_iter().map(crate::auth::view).collect::<Result<Vec<_>, _>>().map_err(ApiError::from)?;
    Ok(Json(views))
}

/// Make an API token.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = CreatedToken)))]
async fn create_token(_: Admin, State(state): State<Arc<AppState>>, Body(new): Body<NewToken>) -> ApiResult<Response> {
    let (token, rec) = crate::auth::create(state.engine.meta(), &new.name, new.role, now_micros()).await?;
    let out = CreatedToken { token, id: rec.id, name: rec.name, role: new.role };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Revoke an API token (by id or name).
#[utoipa::path(delete, path = "/api/v1/tokens/{token}", tag = "tokens", params(("token" = String, Path)),
    responses((status = 204)))]
async fn revoke_token(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let revoked = state.engine.meta().revoke_token(&id, now_micros()).await?;
    state.forget_tokens();
    match revoked {
        0 => Err(ApiError::not_found(format!("no live token has the id or name {id:?}"))),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// Who the caller is (any token): its name and role. The dashboard asks
/// at sign-in, and shows a reader no button that would change anything.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "tokens", responses((status = 200, body = Identity)))]
async fn whoami(caller: Caller) -> Json<Identity> {
    Json(Identity { name: caller.name, role: caller.role })
}
