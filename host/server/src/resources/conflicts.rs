//! `/api/v1/groups/{group}/conflicts`: the latest settled conflicts with
//! both row images, and their replay through another policy (a preview:
//! nothing is written).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hubsync_api::{ConflictQuery, ConflictView, Decision, ReplayDifference, ReplayReport, ReplayRequest};
use utoipa::OpenApi;

use crate::definitions::load;
use crate::extract::{ApiPath, ApiQuery, ApiResult, Body};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use crate::views::conflict_view;

/// This resource's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/groups/{group}/conflicts", get(conflicts))
        .route("/api/v1/groups/{group}/conflicts/replay", post(replay))
}

/// This resource's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(conflicts, replay))]
pub(crate) struct Doc;

/// A recorded decision this version does not know: a newer hubsync wrote it.
fn unknown_decision(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("the metadata records a conflict decision {name:?} this hubsync does not know: upgrade this instance"),
    )
}

/// A recorded decision's name as the API's [`Decision`].
fn decision(name: &str) -> ApiResult<Decision> {
    Decision::parse(name).ok_or_else(|| unknown_decision(name))
}

/// The latest settled conflicts of a group.
#[utoipa::path(get, path = "/api/v1/groups/{group}/conflicts", tag = "sync",
    params(("group" = String, Path), ConflictQuery),
    responses((status = 200, body = [ConflictView])))]
async fn conflicts(
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
    ApiQuery(q): ApiQuery<ConflictQuery>,
) -> ApiResult<Json<Vec<ConflictView>>> {
    load(&state, &group).await?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad("limit is 1 to 1000"));
    }
    let rows = state.engine.meta().conflicts(&group, limit).await?;
    let views = rows
        .into_iter()
        .map(|(s, c)| conflict_view(s, c).map_err(|name| unknown_decision(&name)))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(views))
}

/// Run a group's recorded conflicts through another policy and report
/// where its decisions differ (nothing is written anywhere).
#[utoipa::path(post, path = "/api/v1/groups/{group}/conflicts/replay", tag = "sync",
    params(("group" = String, Path)), request_body = ReplayRequest,
    responses((status = 200, body = ReplayReport), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn replay(
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
    Body(r): Body<ReplayRequest>,
) -> ApiResult<Json<ReplayReport>> {
    if !(r.policy.plugin.starts_with("builtin:") || r.policy.plugin.starts_with("stored:")) {
        return Err(ApiError::bad(
            "replay a built-in (`builtin:NAME`) or an uploaded plugin (`stored:NAME`); upload a file first",
        ));
    }
    load(&state, &group).await?;
    let limit = r.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::bad("limit is 1 to 10000"));
    }
    let prepared = state.prepared(&group).await.map_err(ApiError::from)?;
    let all = state.engine.replay_conflicts(&prepared, &r.policy, limit).await.map_err(crate::ServerError::from)?;
    let replayed = all.len();
    let differences: Vec<ReplayDifference> = all
        .into_iter()
        .filter(|c| c.differs())
        .map(|c| {
            Ok(ReplayDifference {
                member: c.member,
                table: c.table,
                at_micros: c.at_micros,
                key: serde_json::from_str(&c.key).unwrap_or(serde_json::Value::Null),
                recorded: decision(&c.recorded)?,
                recorded_detail: c.recorded_detail,
                recorded_plugin: c.recorded_plugin,
                replayed: decision(&c.replayed)?,
                replayed_detail: c.replayed_detail,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(ReplayReport { replayed, same: replayed - differences.len(), differences }))
}
