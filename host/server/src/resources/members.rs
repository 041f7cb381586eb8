//! `/api/v1/groups/{group}/members`: list, add, show, change and remove a
//! group's members, and reinitialize one (sync it from scratch).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hubsync_api::{Count, MemberUpdate, MemberView, RemoveQuery};
use hubsync_core::{GroupConfig, MemberConfig};
use utoipa::OpenApi;

use crate::definitions::{load, masked, masked_member, member_of, store, unmask};
use crate::extract::{Admin, ApiPath, ApiQuery, ApiResult, Body};
use crate::now_micros;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// This resource's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/groups/{group}/members", get(list_members).post(add_member))
        .route("/api/v1/groups/{group}/members/{member}", get(get_member).patch(update_member).delete(remove_member))
        .route("/api/v1/groups/{group}/members/{member}/reinit", post(reinit))
}

/// This resource's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(list_members, add_member, get_member, update_member, remove_member, reinit))]
pub(crate) struct Doc;

/// List a group's members.
#[utoipa::path(get, path = "/api/v1/groups/{group}/members", tag = "members", params(("group" = String, Path)),
    responses((status = 200, body = [MemberConfig])))]
async fn list_members(
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
) -> ApiResult<Json<Vec<MemberConfig>>> {
    let (config, _) = load(&state, &group).await?;
    Ok(Json(masked(&config).members))
}

/// Add a member to a group.
#[utoipa::path(post, path = "/api/v1/groups/{group}/members", tag = "members", params(("group" = String, Path)),
    request_body = MemberConfig,
    responses((status = 201, body = MemberView), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn add_member(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
    Body(member): Body<MemberConfig>,
) -> ApiResult<Response> {
    let (mut config, revision) = load(&state, &group).await?;
    if config.members.iter().any(|m| m.name == member.name) {
        return Err(ApiError::conflict(format!(
            "group {group:?} has a member {:?} already; change it with PATCH",
            member.name
        )));
    }
    config.members.push(member.clone());
    let revision = store(&state, &config, Some(revision)).await?;
    Ok((StatusCode::CREATED, Json(MemberView { revision, member: masked_member(member) })).into_response())
}

/// Show a member.
#[utoipa::path(get, path = "/api/v1/groups/{group}/members/{member}", tag = "members",
    params(("group" = String, Path), ("member" = String, Path)), responses((status = 200, body = MemberView)))]
async fn get_member(
    State(state): State<Arc<AppState>>,
    ApiPath((group, member)): ApiPath<(String, String)>,
) -> ApiResult<Json<MemberView>> {
    let (mut config, revision) = load(&state, &group).await?;
    let member = masked_member(member_of(&mut config, &member)?.clone());
    Ok(Json(MemberView { revision, member }))
}

/// Change a member's URL (credentials), direction, plugins or timeouts.
#[utoipa::path(patch, path = "/api/v1/groups/{group}/members/{member}", tag = "members",
    params(("group" = String, Path), ("member" = String, Path)), request_body = MemberUpdate,
    responses((status = 200, body = MemberView)))]
async fn update_member(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath((group, member)): ApiPath<(String, String)>,
    Body(u): Body<MemberUpdate>,
) -> ApiResult<Json<MemberView>> {
    let (mut config, revision) = load(&state, &group).await?;
    let m = member_of(&mut config, &member)?;
    if let Some(url) = u.url {
        m.url = unmask(&url, Some(&m.url));
    }
    if let Some(d) = u.direction {
        m.direction = d;
    }
    if let Some(f) = u.column_filter {
        m.column_filter = f;
    }
    if let Some(s) = u.schema_map {
        m.schema_map = s;
    }
    if let Some(t) = u.connect_timeout_seconds {
        m.connect_timeout_seconds = t;
    }
    if let Some(t) = u.statement_timeout_seconds {
        m.statement_timeout_seconds = t;
    }
    let m = m.clone();
    let revision = store(&state, &config, Some(revision)).await?;
    Ok(Json(MemberView { revision, member: masked_member(m) }))
}

/// Remove a member from a group.
#[utoipa::path(delete, path = "/api/v1/groups/{group}/members/{member}", tag = "members",
    params(("group" = String, Path), ("member" = String, Path), RemoveQuery), responses((status = 204)))]
async fn remove_member(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath((group, member)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<RemoveQuery>,
) -> ApiResult<StatusCode> {
    let (mut config, revision) = load(&state, &group).await?;
    let removed = member_of(&mut config, &member)?.clone();
    config.members.retain(|m| m.name != member);
    if config.members.is_empty() {
        return Err(ApiError::bad(format!(
            "{member:?} is the last member of group {group:?}; a group needs one: remove the group instead"
        )));
    }
    state.engine.meta().request_cancel(&group, Some(&member), now_micros()).await?;
    store(&state, &config, Some(revision)).await?;
    state.engine.meta().forget(&group, Some(&member), None).await?;
    if q.deprovision {
        // Only the member's database: the group as if it held that member alone.
        let alone = GroupConfig { members: vec![removed], ..config };
        state.engine.deprovision(&alone, false).await.map_err(crate::ServerError::from)?;
    }
    state.forget(&group);
    Ok(StatusCode::NO_CONTENT)
}

/// Forget a member's sync state (anchors, journal, parked and quarantined
/// changes) and sync it from scratch now: for an out-of-date member.
#[utoipa::path(post, path = "/api/v1/groups/{group}/members/{member}/reinit", tag = "members",
    params(("group" = String, Path), ("member" = String, Path)),
    responses((status = 202, body = Count), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn reinit(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath((group, member)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let (mut config, _) = load(&state, &group).await?;
    member_of(&mut config, &member)?;
    let meta = state.engine.meta();
    if meta
        .leases()
        .await?
        .iter()
        .any(|l| l.group == group && l.member == member && l.holder.is_some() && l.expires_micros >= now_micros())
    {
        return Err(ApiError::conflict(format!(
            "member {member:?} is syncing now; cancel it (`hubsync sync cancel {group} --member {member}`) and retry"
        )));
    }
    meta.forget(&group, Some(&member), None).await?;
    let count = meta.request_sync(&group, Some(&member)).await?;
    state.wake.notify_waiters();
    state.definitions.notify_one();
    Ok((StatusCode::ACCEPTED, Json(Count { count })).into_response())
}
