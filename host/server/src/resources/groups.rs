//! `/api/v1/groups`: list, create, show, replace and remove sync groups.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hubsync_api::{GroupSummary, GroupUpdate, GroupView, RemoveQuery};
use hubsync_core::GroupConfig;
use utoipa::OpenApi;

use crate::definitions::{load, mask, masked, store, unmask};
use crate::extract::{Admin, ApiPath, ApiQuery, ApiResult, Body};
use crate::now_micros;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// This resource's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/groups", get(list_groups).post(create_group))
        .route("/api/v1/groups/{group}", get(get_group).put(update_group).delete(delete_group))
}

/// This resource's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(list_groups, create_group, get_group, update_group, delete_group))]
pub(crate) struct Doc;

/// List the sync groups.
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", responses((status = 200, body = [GroupSummary])))]
async fn list_groups(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<GroupSummary>>> {
    let mut out = Vec::new();
    for (name, json, revision) in state.engine.meta().specs().await? {
        let Ok(g) = serde_json::from_str::<GroupConfig>(&json) else { continue };
        out.push(GroupSummary {
            name,
            revision,
            hub: mask(&g.hub),
            members: g.members.len(),
            tables: g.tables.len(),
            interval_seconds: g.interval_seconds,
            retention_days: g.retention_days,
        });
    }
    Ok(Json(out))
}

/// Create a sync group.
#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", request_body = GroupConfig,
    responses((status = 201, body = GroupView), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn create_group(
    _: Admin,
    State(state): State<Arc<AppState>>,
    Body(config): Body<GroupConfig>,
) -> ApiResult<Response> {
    let revision = store(&state, &config, None).await?;
    Ok((StatusCode::CREATED, Json(GroupView { revision, definition: masked(&config) })).into_response())
}

/// Show a sync group's definition.
#[utoipa::path(get, path = "/api/v1/groups/{group}", tag = "groups", params(("group" = String, Path)),
    responses((status = 200, body = GroupView)))]
async fn get_group(State(state): State<Arc<AppState>>, ApiPath(group): ApiPath<String>) -> ApiResult<Json<GroupView>> {
    let (config, revision) = load(&state, &group).await?;
    Ok(Json(GroupView { revision, definition: masked(&config) }))
}

/// Replace a sync group's definition (members, tables, policy, schedule).
#[utoipa::path(put, path = "/api/v1/groups/{group}", tag = "groups", params(("group" = String, Path)),
    request_body = GroupUpdate,
    responses((status = 200, body = GroupView), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn update_group(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
    Body(update): Body<GroupUpdate>,
) -> ApiResult<Json<GroupView>> {
    let (old, current) = load(&state, &group).await?;
    let mut config = update.definition;
    if config.name != group {
        return Err(ApiError::bad(format!(
            "the definition is named {:?} but the path names {group:?}; groups cannot be renamed",
            config.name
        )));
    }
    config.hub = unmask(&config.hub, Some(&old.hub));
    for m in &mut config.members {
        let stored = old.members.iter().find(|o| o.name == m.name).map(|o| o.url.as_str());
        m.url = unmask(&m.url, stored);
    }
    let revision = store(&state, &config, Some(update.revision.unwrap_or(current))).await?;
    Ok(Json(GroupView { revision, definition: masked(&config) }))
}

/// Remove a sync group (its sync state goes, its history stays).
#[utoipa::path(delete, path = "/api/v1/groups/{group}", tag = "groups",
    params(("group" = String, Path), RemoveQuery), responses((status = 204)))]
async fn delete_group(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
    ApiQuery(q): ApiQuery<RemoveQuery>,
) -> ApiResult<StatusCode> {
    let (config, _) = load(&state, &group).await?;
    state.engine.meta().request_cancel(&group, None, now_micros()).await?;
    state.engine.remove_group(&config, q.deprovision).await.map_err(crate::ServerError::from)?;
    state.forget(&group);
    Ok(StatusCode::NO_CONTENT)
}
