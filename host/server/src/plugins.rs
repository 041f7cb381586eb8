//! Plugin routes (upload, list, show, remove: plugins shared by every
//! instance through the metadata database), conflict replay and the
//! quarantine actions.

use hubsync_api::{Count, PluginView, QuarantineAction, ReplayDifference, ReplayReport, ReplayRequest, UploadQuery};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hubsync_connectors::meta::StoredPlugin;
use hubsync_plugin_host::{PluginError, Source};

use crate::api::{Caller, admin, body, load, optional_body, path, query};
use crate::problem::{ApiError, Problem};
use crate::{AppState, now_micros};

type ApiResult<T> = Result<T, ApiError>;

async fn users(state: &AppState, name: &str) -> ApiResult<Vec<String>> {
    let wanted = format!("stored:{name}");
    let mut out = Vec::new();
    for (group, json, _) in state.engine.meta().specs().await? {
        let Ok(g) = serde_json::from_str::<hubsync_core::GroupConfig>(&json) else { continue };
        let mut all = vec![&g.conflict_policy];
        all.extend(g.tables.iter().filter_map(|t| t.conflict_policy.as_ref()));
        all.extend(g.members.iter().flat_map(|m| [m.column_filter.as_ref(), m.schema_map.as_ref()]).flatten());
        if all.iter().any(|p| p.plugin == wanted) {
            out.push(group);
        }
    }
    Ok(out)
}

fn view(p: StoredPlugin, used_by: Vec<String>) -> PluginView {
    PluginView {
        name: p.name,
        role: p.role,
        version: p.version,
        sha256: p.sha256,
        size_bytes: p.size_bytes,
        uploaded_micros: p.uploaded_micros,
        used_by,
    }
}

/// Upload a plugin (the `.wasm` component as the body). It is checked
/// (a component of a known role, built for this contract) before it is
/// stored; groups then name it `stored:NAME`. Uploading a name again
/// replaces it (groups using it load the new one at their next preparation).
#[utoipa::path(post, path = "/api/v1/plugins", tag = "plugins", params(UploadQuery),
    request_body(content = String, description = "the .wasm component (its bytes)", content_type = "application/octet-stream"),
    responses((status = 201, body = PluginView), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn upload_plugin(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<UploadQuery>, QueryRejection>,
    bytes: Bytes,
) -> ApiResult<Response> {
    admin(&caller)?;
    let q = query(q)?;
    crate::api::check_name("plugin name", &q.name)?;
    if bytes.is_empty() {
        return Err(ApiError::bad("send the plugin's .wasm component as the request body"));
    }
    let label = format!("stored:{}", q.name);
    let loaded = state.engine.runtime().load(Source::Bytes { name: &label, bytes: &bytes }, "{}", None).await;
    let (role, version, sha256) = match loaded {
        Ok(p) => {
            let i = p.info();
            (i.role.to_string(), i.version.clone(), i.sha256.clone())
        }
        // A valid plugin that wants a configuration: groups give it one.
        Err(PluginError::Config { .. }) => {
            let sha = crate::auth::sha256_hex(&bytes);
            ("(needs configuration to describe itself)".into(), "unknown".into(), sha)
        }
        Err(e) => return Err(ApiError::bad(format!("the upload is not a usable plugin: {e}"))),
    };
    let stored = StoredPlugin {
        name: q.name.clone(),
        role,
        version,
        sha256,
        size_bytes: bytes.len() as i64,
        uploaded_micros: now_micros(),
    };
    state.engine.meta().put_plugin(&stored, &bytes).await?;
    let used_by = users(&state, &q.name).await?;
    for g in &used_by {
        state.forget(g);
    }
    Ok((StatusCode::CREATED, Json(view(stored, used_by))).into_response())
}

/// List uploaded plugins.
#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins", responses((status = 200, body = [PluginView])))]
pub async fn list_plugins(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<PluginView>>> {
    let mut out = Vec::new();
    for p in state.engine.meta().stored_plugins().await? {
        let used_by = users(&state, &p.name).await?;
        out.push(view(p, used_by));
    }
    Ok(Json(out))
}

async fn find(state: &AppState, name: &str) -> ApiResult<StoredPlugin> {
    crate::api::check_name("plugin name", name)?;
    state
        .engine
        .meta()
        .stored_plugins()
        .await?
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ApiError::not_found(format!("no plugin {name:?} was uploaded")))
}

/// Show an uploaded plugin.
#[utoipa::path(get, path = "/api/v1/plugins/{plugin}", tag = "plugins", params(("plugin" = String, Path)),
    responses((status = 200, body = PluginView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_plugin(
    State(state): State<Arc<AppState>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<PluginView>> {
    let name = path(p)?;
    let found = find(&state, &name).await?;
    Ok(Json(view(found, users(&state, &name).await?)))
}

/// Remove an uploaded plugin no group uses.
#[utoipa::path(delete, path = "/api/v1/plugins/{plugin}", tag = "plugins", params(("plugin" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_plugin(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<StatusCode> {
    admin(&caller)?;
    let name = path(p)?;
    find(&state, &name).await?;
    let used_by = users(&state, &name).await?;
    if !used_by.is_empty() {
        return Err(ApiError::conflict(format!(
            "plugin {name:?} is used by group(s) {}: change them first",
            used_by.join(", ")
        )));
    }
    state.engine.meta().delete_plugin(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Run a group's recorded conflicts through another policy and report
/// where its decisions differ (nothing is written anywhere).
#[utoipa::path(post, path = "/api/v1/groups/{group}/conflicts/replay", tag = "sync",
    params(("group" = String, Path)), request_body = ReplayRequest,
    responses((status = 200, body = ReplayReport), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn replay(
    State(state): State<Arc<AppState>>,
    p: Result<Path<String>, PathRejection>,
    bytes: Bytes,
) -> ApiResult<Json<ReplayReport>> {
    let group = path(p)?;
    let r: ReplayRequest = body(&bytes)?;
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
                recorded: crate::api::decision(&c.recorded)?,
                recorded_detail: c.recorded_detail,
                recorded_plugin: c.recorded_plugin,
                replayed: crate::api::decision(&c.replayed)?,
                replayed_detail: c.replayed_detail,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(ReplayReport { replayed, same: replayed - differences.len(), differences }))
}

/// Forget a member's sync state (anchors, journal, parked and quarantined
/// changes) and sync it from scratch now: for an out-of-date member.
#[utoipa::path(post, path = "/api/v1/groups/{group}/members/{member}/reinit", tag = "members",
    params(("group" = String, Path), ("member" = String, Path)),
    responses((status = 202, body = Count), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn reinit(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    p: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Response> {
    admin(&caller)?;
    let (group, member) = path(p)?;
    let (config, _) = load(&state, &group).await?;
    crate::api::check_name("member name", &member)?;
    if !config.members.iter().any(|m| m.name == member) {
        return Err(ApiError::not_found(format!("group {group:?} has no member {member:?}")));
    }
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
    Ok((StatusCode::ACCEPTED, Json(Count { count })).into_response())
}

/// The request of a quarantine action, checked: the group and the ids.
async fn quarantine_request(
    state: &AppState,
    caller: &Caller,
    p: Result<Path<String>, PathRejection>,
    bytes: &Bytes,
) -> ApiResult<(String, Option<Vec<i64>>)> {
    admin(caller)?;
    let group = path(p)?;
    let a: QuarantineAction = optional_body(bytes)?;
    load(state, &group).await?;
    Ok((group, a.ids))
}

/// Sync quarantined changes again at the next sync (after fixing the cause).
#[utoipa::path(post, path = "/api/v1/groups/{group}/quarantine/retry", tag = "sync",
    params(("group" = String, Path)), request_body(content = QuarantineAction, description = "optional"),
    responses((status = 200, body = Count)))]
pub async fn retry_quarantine(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    p: Result<Path<String>, PathRejection>,
    bytes: Bytes,
) -> ApiResult<Json<Count>> {
    let (group, ids) = quarantine_request(&state, &caller, p, &bytes).await?;
    let count = state.engine.meta().retry_quarantined(&group, ids.as_deref()).await?;
    Ok(Json(Count { count }))
}

/// Forget quarantined changes (they sync again when their rows change).
#[utoipa::path(post, path = "/api/v1/groups/{group}/quarantine/discard", tag = "sync",
    params(("group" = String, Path)), request_body(content = QuarantineAction, description = "optional"),
    responses((status = 200, body = Count)))]
pub async fn discard_quarantine(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    p: Result<Path<String>, PathRejection>,
    bytes: Bytes,
) -> ApiResult<Json<Count>> {
    let (group, ids) = quarantine_request(&state, &caller, p, &bytes).await?;
    let count = state.engine.meta().discard_quarantined(&group, ids.as_deref()).await?;
    Ok(Json(Count { count }))
}
