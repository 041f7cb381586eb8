//! `/api/v1/groups/{group}/status` and `/api/v1/history`: where every
//! member and table stands, and the sync log (Data Sync's logs).

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hubsync_api::{GroupState, HistoryPage, HistoryQuery};
use utoipa::OpenApi;

use crate::definitions::load;
use crate::extract::{ApiPath, ApiQuery, ApiResult};
use crate::now_micros;
use crate::problem::ApiError;
use crate::state::AppState;

/// This resource's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/groups/{group}/status", get(status)).route("/api/v1/history", get(history))
}

/// This resource's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(status, history))]
pub(crate) struct Doc;

/// Status of every member and table of a group.
#[utoipa::path(get, path = "/api/v1/groups/{group}/status", tag = "sync", params(("group" = String, Path)),
    responses((status = 200, body = GroupState)))]
async fn status(State(state): State<Arc<AppState>>, ApiPath(group): ApiPath<String>) -> ApiResult<Json<GroupState>> {
    let (config, _) = load(&state, &group).await?;
    let meta = state.engine.meta();
    let all = meta.status(Some(&group)).await?;
    let held = meta.quarantine(Some(&group)).await?;
    let leases = meta.leases().await?;
    let now = now_micros();
    let names: Vec<&str> = config.members.iter().map(|m| m.name.as_str()).collect();
    let answer = crate::views::group_state(&group, &names, &all, &held, |m| {
        let lease = leases.iter().find(|l| l.group == group && l.member == m);
        let progress = state.progress(&group, m);
        crate::views::Live {
            syncing_on: lease.filter(|l| l.expires_micros >= now).and_then(|l| l.holder.clone()),
            changes_done: progress.map(|p| p.0),
            changes_total: progress.and_then(|p| p.1),
            due_micros: lease.map(|l| l.due_micros.max(0)).filter(|&d| d != i64::MAX),
        }
    });
    Ok(Json(answer))
}

/// Sync history (Data Sync's logs), newest first, with filters and paging.
#[utoipa::path(get, path = "/api/v1/history", tag = "sync", params(HistoryQuery),
    responses((status = 200, body = HistoryPage)))]
async fn history(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<HistoryPage>> {
    let filter = crate::views::history_filter(q).map_err(ApiError::bad)?;
    let page = state.engine.meta().history(&filter).await?;
    Ok(Json(crate::views::history_page(page)))
}
