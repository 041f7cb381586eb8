//! `/api/v1/groups/{group}/status`, `/api/v1/history` and
//! `/api/v1/groups/{group}/activity`: where every member and table stands,
//! the sync log (Data Sync's logs), and the syncs summed over time.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hubsync_api::{Activity, ActivityBucket, ActivityQuery, GroupState, HistoryPage, HistoryQuery};
use utoipa::OpenApi;

use crate::definitions::load;
use crate::extract::{ApiPath, ApiQuery, ApiResult};
use crate::now_micros;
use crate::problem::ApiError;
use crate::state::AppState;

/// This resource's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/groups/{group}/status", get(status))
        .route("/api/v1/history", get(history))
        .route("/api/v1/groups/{group}/activity", get(activity))
}

/// This resource's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(status, history, activity))]
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
        // The holder's own reading is fresher than what its heartbeat
        // wrote; another instance's sync is known by its lease.
        let run = lease.and_then(|l| crate::events::running(l, now));
        let local = state.progress(&group, m);
        crate::views::Live {
            syncing_on: run.as_ref().map(|r| r.instance.clone()),
            since_micros: run.as_ref().map(|r| r.since_micros),
            changes_done: local.map(|p| p.0).or(run.as_ref().map(|r| r.changes_done)),
            changes_total: local.map(|p| p.1).unwrap_or(run.as_ref().and_then(|r| r.changes_total)),
            tables: run.map(|r| r.tables).unwrap_or_default(),
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

/// A group's syncs over the last `hours`, summed per member and interval
/// of `bucket_minutes` (rows each way, conflicts, failures, time spent).
#[utoipa::path(get, path = "/api/v1/groups/{group}/activity", tag = "sync",
    params(("group" = String, Path), ActivityQuery), responses((status = 200, body = Activity)))]
async fn activity(
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> ApiResult<Json<Activity>> {
    load(&state, &group).await?;
    let hours = q.hours.unwrap_or(24);
    let minutes = q.bucket_minutes.unwrap_or(60);
    if !(1..=720).contains(&hours) || !(1..=1440).contains(&minutes) {
        return Err(ApiError::bad("hours is 1 to 720 and bucket_minutes 1 to 1440"));
    }
    if u64::from(hours) * 60 / u64::from(minutes) > 1000 {
        return Err(ApiError::bad("that is more than 1,000 intervals: choose longer ones (bucket_minutes)"));
    }
    let bucket = i64::from(minutes) * 60_000_000;
    // Whole intervals, aligned to the epoch: the first holds `hours` ago.
    let since = (now_micros() - i64::from(hours) * 3_600_000_000).div_euclid(bucket) * bucket;
    let rows = state.engine.meta().activity(&group, since, bucket).await?;
    let buckets = rows
        .into_iter()
        .map(|b| ActivityBucket {
            member: b.member,
            start_micros: b.start_micros,
            syncs: b.syncs,
            rows_down: b.rows_down,
            rows_up: b.rows_up,
            conflicts: b.conflicts,
            errors: b.errors,
            duration_ms: b.duration_ms,
        })
        .collect();
    Ok(Json(Activity { since_micros: since, bucket_seconds: bucket / 1_000_000, buckets }))
}
