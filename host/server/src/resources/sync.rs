//! `/api/v1/groups/{group}/sync` and `/cancel`: ask for a sync now, or
//! stop the running one after its batch in flight.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use hubsync_api::{Accepted, SyncRequest};
use utoipa::OpenApi;

use crate::definitions::load;
use crate::extract::{Admin, ApiPath, ApiResult, OptionalBody};
use crate::now_micros;
use crate::problem::ApiError;
use crate::state::AppState;

/// This resource's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/groups/{group}/sync", post(sync_now))
        .route("/api/v1/groups/{group}/cancel", post(cancel))
}

/// This resource's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(sync_now, cancel))]
pub(crate) struct Doc;

/// The member a sync or cancel request names (checked), or the whole group.
async fn selected_member(state: &AppState, group: &str, r: SyncRequest) -> ApiResult<Option<String>> {
    let (config, _) = load(state, group).await?;
    if let Some(m) = &r.member
        && !config.members.iter().any(|c| &c.name == m)
    {
        return Err(ApiError::not_found(format!("group {group:?} has no member {m:?}")));
    }
    Ok(r.member)
}

/// Sync a group (or one member) now. The sync runs on whichever instance
/// takes it; follow it with `/status` and `/history`.
#[utoipa::path(post, path = "/api/v1/groups/{group}/sync", tag = "sync", params(("group" = String, Path)),
    request_body(content = SyncRequest, description = "optional"), responses((status = 202, body = Accepted)))]
async fn sync_now(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
    OptionalBody(r): OptionalBody<SyncRequest>,
) -> ApiResult<Response> {
    let member = selected_member(&state, &group, r).await?;
    let n = state.engine.meta().request_sync(&group, member.as_deref()).await?;
    state.wake.notify_waiters();
    let message = "queued: a member being synced syncs again right after".to_owned();
    Ok((StatusCode::ACCEPTED, Json(Accepted { members: n, message })).into_response())
}

/// Cancel the running sync of a group (or one member) after the batch in
/// flight; what was committed stays, the next sync goes on from there.
#[utoipa::path(post, path = "/api/v1/groups/{group}/cancel", tag = "sync", params(("group" = String, Path)),
    request_body(content = SyncRequest, description = "optional"), responses((status = 202, body = Accepted)))]
async fn cancel(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
    OptionalBody(r): OptionalBody<SyncRequest>,
) -> ApiResult<Response> {
    let member = selected_member(&state, &group, r).await?;
    let n = state.engine.meta().request_cancel(&group, member.as_deref(), now_micros()).await?;
    state.cancel_local(&group, member.as_deref());
    let message = if n == 0 { "nothing was running" } else { "the running syncs stop after their batch in flight" };
    Ok((StatusCode::ACCEPTED, Json(Accepted { members: n, message: message.into() })).into_response())
}
