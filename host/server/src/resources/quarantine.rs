//! `/api/v1/groups/{group}/quarantine`: the changes that could not be
//! synced and why; retry them (after fixing the cause) or discard them.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use hubsync_api::{Count, QuarantineAction, QuarantineView};
use utoipa::OpenApi;

use crate::definitions::load;
use crate::extract::{Admin, ApiPath, ApiResult, OptionalBody};
use crate::state::AppState;
use crate::views::quarantine_view;

/// This resource's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/groups/{group}/quarantine", get(quarantine))
        .route("/api/v1/groups/{group}/quarantine/retry", post(retry_quarantine))
        .route("/api/v1/groups/{group}/quarantine/discard", post(discard_quarantine))
}

/// This resource's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(quarantine, retry_quarantine, discard_quarantine))]
pub(crate) struct Doc;

/// A group's quarantined changes (rows that could not be synced, and why).
#[utoipa::path(get, path = "/api/v1/groups/{group}/quarantine", tag = "sync", params(("group" = String, Path)),
    responses((status = 200, body = [QuarantineView])))]
async fn quarantine(
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
) -> ApiResult<Json<Vec<QuarantineView>>> {
    load(&state, &group).await?;
    let rows = state.engine.meta().quarantine(Some(&group)).await?;
    Ok(Json(rows.into_iter().map(quarantine_view).collect()))
}

/// Sync quarantined changes again at the next sync (after fixing the cause).
#[utoipa::path(post, path = "/api/v1/groups/{group}/quarantine/retry", tag = "sync",
    params(("group" = String, Path)), request_body(content = QuarantineAction, description = "optional"),
    responses((status = 200, body = Count)))]
async fn retry_quarantine(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
    OptionalBody(a): OptionalBody<QuarantineAction>,
) -> ApiResult<Json<Count>> {
    load(&state, &group).await?;
    let count = state.engine.meta().retry_quarantined(&group, a.ids.as_deref()).await?;
    Ok(Json(Count { count }))
}

/// Forget quarantined changes (they sync again when their rows change).
#[utoipa::path(post, path = "/api/v1/groups/{group}/quarantine/discard", tag = "sync",
    params(("group" = String, Path)), request_body(content = QuarantineAction, description = "optional"),
    responses((status = 200, body = Count)))]
async fn discard_quarantine(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
    OptionalBody(a): OptionalBody<QuarantineAction>,
) -> ApiResult<Json<Count>> {
    load(&state, &group).await?;
    let count = state.engine.meta().discard_quarantined(&group, a.ids.as_deref()).await?;
    Ok(Json(Count { count }))
}
