//! `/api/v1/groups/{group}/tables` and `/schema`: the sync schema (the
//! tables and columns a group syncs) and the live schema of its databases;
//! `/api/v1/inspect` (the live schema of a database no group uses yet) and
//! `/api/v1/plan` (what saving a definition would do, per database).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hubsync_api::{
    ColumnView, DatabasePlan, GroupPlan, GroupView, InspectRequest, PlanAction, PlanStep, SchemaQuery, SchemaTable,
};
use hubsync_core::{ConnectOptions, GroupConfig, TableConfig, TableInfo, TableRef};
use utoipa::OpenApi;

use crate::definitions::{load, mask, masked, store};
use crate::extract::{Admin, ApiPath, ApiQuery, ApiResult, Body};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// This resource's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/groups/{group}/tables", get(get_tables).put(set_tables))
        .route("/api/v1/groups/{group}/schema", get(get_schema))
        .route("/api/v1/inspect", post(inspect))
        .route("/api/v1/plan", post(plan))
}

/// This resource's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(get_tables, set_tables, get_schema, inspect, plan))]
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
    Ok(Json(read_schema(&state, &url, &options).await?.iter().map(schema_table).collect()))
}

/// The live tables of a database, or 422 saying why it cannot be read.
async fn read_schema(state: &AppState, url: &str, options: &ConnectOptions) -> ApiResult<Vec<TableInfo>> {
    read_tables(state, url, options).await.map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e))
}

/// The live tables of a database, or why it cannot be read.
async fn read_tables(state: &AppState, url: &str, options: &ConnectOptions) -> Result<Vec<TableInfo>, String> {
    let db = state.engine.open_database(url, options).await.map_err(|e| e.to_string())?;
    db.introspect().await.map_err(|e| e.to_string())
}

/// A live table as the API shows it.
fn schema_table(t: &TableInfo) -> SchemaTable {
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
}

/// Read the live schema of any database (admin: the service connects to
/// the URL given): the set-up's *Refresh schema* before a group exists.
/// 422 says why the database cannot be read.
#[utoipa::path(post, path = "/api/v1/inspect", tag = "schema", request_body = InspectRequest,
    responses((status = 200, body = [SchemaTable]), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn inspect(
    _: Admin,
    State(state): State<Arc<AppState>>,
    Body(r): Body<InspectRequest>,
) -> ApiResult<Json<Vec<SchemaTable>>> {
    let options = ConnectOptions {
        connect_timeout: ConnectOptions::DEFAULT_CONNECT_TIMEOUT,
        statement_timeout: None,
        read_bytes: 1 << 20,
    };
    Ok(Json(read_schema(&state, &r.url, &options).await?.iter().map(schema_table).collect()))
}

/// What saving a group definition would do, without saving or changing
/// anything: the definition's problems, and per database (hub, then each
/// member) which selected tables get change tracking and which are created.
#[utoipa::path(post, path = "/api/v1/plan", tag = "schema", request_body = GroupConfig,
    responses((status = 200, body = GroupPlan)))]
async fn plan(
    _: Admin,
    State(state): State<Arc<AppState>>,
    Body(config): Body<GroupConfig>,
) -> ApiResult<Json<GroupPlan>> {
    let problems = config.problems();
    let hub = read_tables(&state, &config.hub, &config.hub_connect_options()).await;
    let find = |tables: &[TableInfo], name: &str| {
        tables.iter().find(|t| TableRef::of(&t.schema).to_string() == name || t.schema.name == name).cloned()
    };
    let selected = |t: &TableConfig, info: &TableInfo| -> Vec<String> {
        if t.columns.is_empty() {
            info.schema.columns.iter().map(|c| c.name.clone()).collect()
        } else {
            t.columns.clone()
        }
    };
    let mut databases = Vec::new();
    let hub_tables = hub.as_ref().ok().cloned().unwrap_or_default();
    databases.push(DatabasePlan {
        database: "hub".into(),
        url: mask(&config.hub),
        error: hub.as_ref().err().cloned(),
        steps: match &hub {
            Err(_) => Vec::new(),
            Ok(tables) => config
                .tables
                .iter()
                .map(|t| match find(tables, &t.name) {
                    None => PlanStep { table: t.name.clone(), action: PlanAction::Refused, detail: "not on the hub: create it there first".into() },
                    Some(info) => {
                        let cols = selected(t, &info);
                        let missing: Vec<&String> = cols.iter().filter(|c| !info.schema.columns.iter().any(|x| &x.name == *c)).collect();
                        if info.schema.primary_key.is_empty() {
                            PlanStep { table: t.name.clone(), action: PlanAction::Refused, detail: "no primary key: hubsync syncs tables by key; add one".into() }
                        } else if !missing.is_empty() {
                            PlanStep { table: t.name.clone(), action: PlanAction::Refused, detail: format!("the hub has no column {missing:?}") }
                        } else {
                            PlanStep { table: t.name.clone(), action: PlanAction::Track, detail: format!("change tracking added (triggers and a tracking table); its rows go to the members on the first sync; columns {}", cols.join(", ")) }
                        }
                    }
                })
                .collect(),
        },
    });
    for m in &config.members {
        let read = read_tables(&state, &m.url, &config.member_connect_options(m)).await;
        let steps = match &read {
            Err(_) => Vec::new(),
            Ok(tables) => config
                .tables
                .iter()
                .map(|t| {
                    let cols = find(&hub_tables, &t.name).map(|info| selected(t, &info)).unwrap_or_else(|| t.columns.clone());
                    match find(tables, &t.name) {
                        Some(_) => PlanStep { table: t.name.clone(), action: PlanAction::Track, detail: format!("exists: change tracking added; its rows are compared with the hub's on the first sync (columns {})", cols.join(", ")) },
                        None => PlanStep { table: t.name.clone(), action: PlanAction::Create, detail: format!("created with columns {} and filled with the hub's rows on the first sync", cols.join(", ")) },
                    }
                })
                .collect(),
        };
        databases.push(DatabasePlan { database: m.name.clone(), url: mask(&m.url), error: read.err(), steps });
    }
    Ok(Json(GroupPlan { problems, databases }))
}
