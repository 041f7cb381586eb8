//! `/api/v1/groups/{group}/tables` and `/schema`: the sync schema (the
//! tables and columns a group syncs) and the live schema of its databases.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use hubsync_api::{ColumnView, GroupView, SchemaQuery, SchemaTable};
use hubsync_core::{TableConfig, TableRef};
use utoipa::OpenApi;

use crate::definitions::{load, masked, store};
use crate::extract::{Admin, ApiPath, ApiQuery, ApiResult, Body};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// This resource's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/groups/{group}/tables", get(get_tables).put(set_tables))
        .route("/api/v1/groups/{group}/schema", get(get_schema))
}

/// This resource's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(get_tables, set_tables, get_schema))]
pub(crate) struct Doc;

/// The sync schema: the tables (and columns) a group syncs.
#[utoipa::path(get, path = "/api/v1/groups/{group}/tables", tag = "schema", params(("group" = String, Path)),
    responses((status = 200, body = [TableConfig])))]
async fn get_tables(
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
) -> ApiResult<Json<Vec<TableConfig>>> {
    Ok(Json(load(&state, &group).await?.0.tables))
}

/// Set the sync schema (the next sync provisions what is new and drops
/// the tracking of what is gone).
#[utoipa::path(put, path = "/api/v1/groups/{group}/tables", tag = "schema", params(("group" = String, Path)),
    request_body = [TableConfig], responses((status = 200, body = GroupView)))]
async fn set_tables(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
    Body(tables): Body<Vec<TableConfig>>,
) -> ApiResult<Json<GroupView>> {
    let (mut config, revision) = load(&state, &group).await?;
    config.tables = tables;
    let revision = store(&state, &config, Some(revision)).await?;
    Ok(Json(GroupView { revision, definition: masked(&config) }))
}

/// Read (refresh) the live schema of the hub or a member: tables, columns,
/// types, keys, and what cannot be synced and why.
#[utoipa::path(get, path = "/api/v1/groups/{group}/schema", tag = "schema",
    params(("group" = String, Path), SchemaQuery),
    responses((status = 200, body = [SchemaTable]), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn get_schema(
    State(state): State<Arc<AppState>>,
    ApiPath(group): ApiPath<String>,
    ApiQuery(q): ApiQuery<SchemaQuery>,
) -> ApiResult<Json<Vec<SchemaTable>>> {
    let (config, _) = load(&state, &group).await?;
    let (url, options) = match q.database.as_deref() {
        None | Some("hub") => (config.hub.clone(), config.hub_connect_options()),
        Some(name) => {
            let m = config
                .members
                .iter()
                .find(|m| m.name == name)
                .ok_or_else(|| ApiError::not_found(format!("group {group:?} has no member {name:?}")))?;
            (m.url.clone(), config.member_connect_options(m))
        }
    };
    let unreachable = |e: hubsync_core::ConnectorError| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
    let db = state.engine.open_database(&url, &options).await.map_err(unreachable)?;
    let infos = db.introspect().await.map_err(unreachable)?;
    Ok(Json(
        infos
            .iter()
            .map(|t| {
                let mut columns: Vec<ColumnView> = t
                    .schema
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ColumnView {
                        name: c.name.clone(),
                        kind: Some(c.kind.name().to_owned()),
                        declared_type: c.declared_type.clone(),
                        nullable: c.nullable,
                        key: t.schema.primary_key.contains(&i),
                        unsupported: None,
                    })
                    .collect();
                columns.extend(t.unsupported.iter().map(|u| ColumnView {
                    name: u.column.clone(),
                    kind: None,
                    declared_type: Some(u.declared_type.clone()),
                    nullable: true,
                    key: false,
                    unsupported: Some(format!("hubsync cannot sync type {}; leave the column out", u.declared_type)),
                }));
                SchemaTable {
                    table: TableRef::of(&t.schema).to_string(),
                    columns,
                    problem: t
                        .schema
                        .primary_key
                        .is_empty()
                        .then(|| "no primary key: hubsync syncs tables by key; add one".to_owned()),
                }
            })
            .collect(),
    ))
}
