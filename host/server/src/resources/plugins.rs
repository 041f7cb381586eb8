//! `/api/v1/plugins`: upload, list, show and remove plugins, shared by
//! every instance through the metadata database; groups name them
//! `stored:NAME`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hubsync_api::{PluginView, UploadQuery};
use hubsync_connectors::meta::StoredPlugin;
use hubsync_plugin_host::{PluginError, Source};
use utoipa::OpenApi;

use crate::extract::{Admin, ApiPath, ApiQuery, ApiResult, check_name};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use crate::{PLUGIN_LIMIT_BYTES, now_micros};

/// This resource's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/plugins",
            get(list_plugins)
                .post(upload_plugin)
                // Components are larger than API bodies.
                .layer(DefaultBodyLimit::max(PLUGIN_LIMIT_BYTES)),
        )
        .route("/api/v1/plugins/{plugin}", get(get_plugin).delete(delete_plugin))
}

/// This resource's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(upload_plugin, list_plugins, get_plugin, delete_plugin))]
pub(crate) struct Doc;

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
    responses((status = 201, body = PluginView)))]
async fn upload_plugin(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    bytes: Bytes,
) -> ApiResult<Response> {
    check_name("plugin name", &q.name)?;
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
async fn list_plugins(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<PluginView>>> {
    let mut out = Vec::new();
    for p in state.engine.meta().stored_plugins().await? {
        let used_by = users(&state, &p.name).await?;
        out.push(view(p, used_by));
    }
    Ok(Json(out))
}

async fn find(state: &AppState, name: &str) -> ApiResult<StoredPlugin> {
    check_name("plugin name", name)?;
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
    responses((status = 200, body = PluginView)))]
async fn get_plugin(State(state): State<Arc<AppState>>, ApiPath(name): ApiPath<String>) -> ApiResult<Json<PluginView>> {
    let found = find(&state, &name).await?;
    Ok(Json(view(found, users(&state, &name).await?)))
}

/// Remove an uploaded plugin no group uses.
#[utoipa::path(delete, path = "/api/v1/plugins/{plugin}", tag = "plugins", params(("plugin" = String, Path)),
    responses((status = 204), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn delete_plugin(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
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
