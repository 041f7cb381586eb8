//! The REST API under `/api/v1`: handlers, their request and answer types,
//! and the OpenAPI 3.1 document generated from them.
//!
//! Every handler takes its body as bytes and its query and path through
//! `Result` extractors, so malformed input of any kind becomes a
//! problem+json 400 that names the field, never axum's plain-text answer.

use hubsync_api::{
    Accepted, ColumnView, ConflictQuery, ConflictView, CreatedToken, Decision, GroupState, GroupSummary, GroupUpdate,
    GroupView, HistoryEntry, HistoryPage, HistoryQuery, Level, MemberUpdate, MemberView, NewToken, QuarantineView,
    RemoveQuery, SchemaQuery, SchemaTable, SyncRequest, TokenView,
};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hubsync_core::{GroupConfig, MemberConfig, TableConfig, TableRef};
use serde::de::DeserializeOwned;
use utoipa::OpenApi;

use crate::auth::Role;
use crate::problem::{ApiError, Problem};
use crate::{AppState, now_micros};

type ApiResult<T> = Result<T, ApiError>;

/// The caller, as the token check found it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// What the token may do.
    pub role: Role,
    /// The token's name.
    pub name: String,
}

pub(crate) fn admin(c: &Caller) -> ApiResult<()> {
    match c.role {
        Role::Admin => Ok(()),
        Role::Reader => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("token {:?} is a reader token: it can only read; use an admin token to change things", c.name),
        )),
    }
}

pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> ApiResult<T> {
    if bytes.is_empty() {
        return Err(ApiError::bad("the request needs a JSON body"));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad(format!("the JSON body is not valid: {e}")))
}

pub(crate) fn optional_body<T: DeserializeOwned + Default>(bytes: &Bytes) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) { Ok(T::default()) } else { body(bytes) }
}

pub(crate) fn path<T>(p: Result<Path<T>, PathRejection>) -> ApiResult<T> {
    p.map(|Path(v)| v).map_err(|e| ApiError::bad(format!("the path is not valid: {}", e.body_text())))
}

pub(crate) fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    q.map(|Query(v)| v).map_err(|e| ApiError::bad(format!("the query string is not valid: {}", e.body_text())))
}

/// A URL with its password replaced by `***`.
fn mask(url: &str) -> String {
    hubsync_connectors::redact(url)
}

/// A URL as given in an update: a masked URL equal to the stored one
/// (what `GET` returned) keeps the stored password.
fn unmask(given: &str, stored: Option<&str>) -> String {
    match stored {
        Some(old) if given.contains("***") && mask(old) == given => old.to_owned(),
        _ => given.to_owned(),
    }
}

fn masked(g: &GroupConfig) -> GroupConfig {
    let mut g = g.clone();
    g.hub = mask(&g.hub);
    for m in &mut g.members {
        m.url = mask(&m.url);
    }
    g
}

pub(crate) fn check_name(what: &str, name: &str) -> ApiResult<()> {
    if hubsync_core::config::valid_name(name) {
        Ok(())
    } else {
        Err(ApiError::bad(format!("{what} {name:?} is not valid: use 1 to 64 letters, digits, `_`, `-` or `.`")))
    }
}

pub(crate) async fn load(state: &AppState, group: &str) -> ApiResult<(GroupConfig, i64)> {
    check_name("group name", group)?;
    let Some((json, revision)) = state.engine.meta().spec(group).await? else {
        return Err(ApiError::not_found(format!("there is no group {group:?}; `GET /api/v1/groups` lists them")));
    };
    let config = serde_json::from_str(&json)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("stored group {group:?}: {e}")))?;
    Ok((config, revision))
}

/// Validate and store `config` (at `revision`, or new), then schedule it.
async fn store(state: &AppState, config: &GroupConfig, revision: Option<i64>) -> ApiResult<i64> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(ApiError::bad(format!("the group definition has problems: {}", problems.join("; "))));
    }
    let meta = state.engine.meta();
    let Some(rev) = put(meta, config, revision).await? else {
        return Err(match revision {
            None => ApiError::conflict(format!(
                "group {:?} exists already; change it with PUT /api/v1/groups/{}",
                config.name, config.name
            )),
            Some(_) => ApiError::conflict(format!(
                "group {:?} was changed by someone else meanwhile; read it again and repeat the change",
                config.name
            )),
        });
    };
    state.wake.notify_waiters();
    Ok(rev)
}

/// Store a checked definition and schedule its members: new ones are due
/// now when the group syncs on an interval, else on request only.
pub(crate) async fn put(
    meta: &hubsync_connectors::meta::MetaStore,
    config: &GroupConfig,
    revision: Option<i64>,
) -> Result<Option<i64>, hubsync_core::ConnectorError> {
    let json = serde_json::to_string(config).unwrap_or_default();
    let Some(rev) = meta.put_spec(&config.name, &json, revision, now_micros()).await? else { return Ok(None) };
    let due = if config.interval_seconds.is_some() { now_micros() } else { i64::MAX };
    let members: Vec<(String, Option<String>)> = config
        .members
        .iter()
        .map(|m| (m.name.clone(), hubsync_core::parse_agent_url(&m.url).ok().map(|(a, _)| a.to_owned())))
        .collect();
    meta.sync_leases(&config.name, &members, due).await?;
    Ok(Some(rev))
}

/// List the sync groups.
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups",
    responses((status = 200, body = [GroupSummary]), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list_groups(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<GroupSummary>>> {
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
        });
    }
    Ok(Json(out))
}

/// Create a sync group.
#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", request_body = GroupConfig,
    responses((status = 201, body = GroupView), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn create_group(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    bytes: Bytes,
) -> ApiResult<Response> {
    admin(&caller)?;
    let config: GroupConfig = body(&bytes)?;
    let revision = store(&state, &config, None).await?;
    Ok((StatusCode::CREATED, Json(GroupView { revision, definition: masked(&config) })).into_response())
}

/// Show a sync group's definition.
#[utoipa::path(get, path = "/api/v1/groups/{group}", tag = "groups", params(("group" = String, Path)),
    responses((status = 200, body = GroupView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_group(
    State(state): State<Arc<AppState>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<GroupView>> {
    let group = path(p)?;
    let (config, revision) = load(&state, &group).await?;
    Ok(Json(GroupView { revision, definition: masked(&config) }))
}

/// Replace a sync group's definition (members, tables, policy, schedule).
#[utoipa::path(put, path = "/api/v1/groups/{group}", tag = "groups", params(("group" = String, Path)),
    request_body = GroupUpdate,
    responses((status = 200, body = GroupView), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn update_group(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    p: Result<Path<String>, PathRejection>,
    bytes: Bytes,
) -> ApiResult<Json<GroupView>> {
    admin(&caller)?;
    let group = path(p)?;
    let update: GroupUpdate = body(&bytes)?;
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
    params(("group" = String, Path), RemoveQuery),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_group(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    p: Result<Path<String>, PathRejection>,
    q: Result<Query<RemoveQuery>, QueryRejection>,
) -> ApiResult<StatusCode> {
    admin(&caller)?;
    let group = path(p)?;
    let q = query(q)?;
    let (config, _) = load(&state, &group).await?;
    state.engine.meta().request_cancel(&group, None, now_micros()).await?;
    state.engine.remove_group(&config, q.deprovision).await.map_err(crate::ServerError::from)?;
    state.forget(&group);
    Ok(StatusCode::NO_CONTENT)
}

fn member_of<'a>(config: &'a mut GroupConfig, member: &str) -> ApiResult<&'a mut MemberConfig> {
    check_name("member name", member)?;
    let g = config.name.clone();
    config
        .members
        .iter_mut()
        .find(|m| m.name == member)
        .ok_or_else(|| ApiError::not_found(format!("group {g:?} has no member {member:?}")))
}

/// List a group's members.
#[utoipa::path(get, path = "/api/v1/groups/{group}/members", tag = "members", params(("group" = String, Path)),
    responses((status = 200, body = [MemberConfig]), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_members(
    State(state): State<Arc<AppState>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Vec<MemberConfig>>> {
    let (config, _) = load(&state, &path(p)?).await?;
    Ok(Json(masked(&config).members))
}

/// Add a member to a group.
#[utoipa::path(post, path = "/api/v1/groups/{group}/members", tag = "members", params(("group" = String, Path)),
    request_body = MemberConfig,
    responses((status = 201, body = MemberView), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn add_member(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    p: Result<Path<String>, PathRejection>,
    bytes: Bytes,
) -> ApiResult<Response> {
    admin(&caller)?;
    let group = path(p)?;
    let member: MemberConfig = body(&bytes)?;
    let (mut config, revision) = load(&state, &group).await?;
    if config.members.iter().any(|m| m.name == member.name) {
        return Err(ApiError::conflict(format!(
            "group {group:?} has a member {:?} already; change it with PATCH",
            member.name
        )));
    }
    config.members.push(member.clone());
    let revision = store(&state, &config, Some(revision)).await?;
    let member = masked(&GroupConfig { members: vec![member], ..config }).members.remove(0);
    Ok((StatusCode::CREATED, Json(MemberView { revision, member })).into_response())
}

/// Show a member.
#[utoipa::path(get, path = "/api/v1/groups/{group}/members/{member}", tag = "members",
    params(("group" = String, Path), ("member" = String, Path)),
    responses((status = 200, body = MemberView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_member(
    State(state): State<Arc<AppState>>,
    p: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Json<MemberView>> {
    let (group, member) = path(p)?;
    let (mut config, revision) = load(&state, &group).await?;
    let m = member_of(&mut config, &member)?.clone();
    let member = masked(&GroupConfig { members: vec![m], ..config }).members.remove(0);
    Ok(Json(MemberView { revision, member }))
}

/// Change a member's URL (credentials), direction, plugins or timeouts.
#[utoipa::path(patch, path = "/api/v1/groups/{group}/members/{member}", tag = "members",
    params(("group" = String, Path), ("member" = String, Path)), request_body = MemberUpdate,
    responses((status = 200, body = MemberView), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn update_member(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    p: Result<Path<(String, String)>, PathRejection>,
    bytes: Bytes,
) -> ApiResult<Json<MemberView>> {
    admin(&caller)?;
    let (group, member) = path(p)?;
    let u: MemberUpdate = body(&bytes)?;
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
    let member = masked(&GroupConfig { members: vec![m], ..config }).members.remove(0);
    Ok(Json(MemberView { revision, member }))
}

/// Remove a member from a group.
#[utoipa::path(delete, path = "/api/v1/groups/{group}/members/{member}", tag = "members",
    params(("group" = String, Path), ("member" = String, Path), RemoveQuery),
    responses((status = 204), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn remove_member(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    p: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<RemoveQuery>, QueryRejection>,
) -> ApiResult<StatusCode> {
    admin(&caller)?;
    let (group, member) = path(p)?;
    let q = query(q)?;
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

/// The sync schema: the tables (and columns) a group syncs.
#[utoipa::path(get, path = "/api/v1/groups/{group}/tables", tag = "schema", params(("group" = String, Path)),
    responses((status = 200, body = [TableConfig]), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_tables(
    State(state): State<Arc<AppState>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Vec<TableConfig>>> {
    Ok(Json(load(&state, &path(p)?).await?.0.tables))
}

/// Set the sync schema (the next sync provisions what is new and drops
/// the tracking of what is gone).
#[utoipa::path(put, path = "/api/v1/groups/{group}/tables", tag = "schema", params(("group" = String, Path)),
    request_body = [TableConfig],
    responses((status = 200, body = GroupView), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn set_tables(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    p: Result<Path<String>, PathRejection>,
    bytes: Bytes,
) -> ApiResult<Json<GroupView>> {
    admin(&caller)?;
    let group = path(p)?;
    let tables: Vec<TableConfig> = body(&bytes)?;
    let (mut config, revision) = load(&state, &group).await?;
    config.tables = tables;
    let revision = store(&state, &config, Some(revision)).await?;
    Ok(Json(GroupView { revision, definition: masked(&config) }))
}

/// Read (refresh) the live schema of the hub or a member: tables, columns,
/// types, keys, and what cannot be synced and why.
#[utoipa::path(get, path = "/api/v1/groups/{group}/schema", tag = "schema",
    params(("group" = String, Path), SchemaQuery),
    responses((status = 200, body = [SchemaTable]), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn get_schema(
    State(state): State<Arc<AppState>>,
    p: Result<Path<String>, PathRejection>,
    q: Result<Query<SchemaQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<SchemaTable>>> {
    let group = path(p)?;
    let q = query(q)?;
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

async fn selected_member(state: &AppState, group: &str, bytes: &Bytes) -> ApiResult<Option<String>> {
    let r: SyncRequest = optional_body(bytes)?;
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
    request_body(content = SyncRequest, description = "optional"),
    responses((status = 202, body = Accepted), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn sync_now(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    p: Result<Path<String>, PathRejection>,
    bytes: Bytes,
) -> ApiResult<Response> {
    admin(&caller)?;
    let group = path(p)?;
    let member = selected_member(&state, &group, &bytes).await?;
    let n = state.engine.meta().request_sync(&group, member.as_deref()).await?;
    state.wake.notify_waiters();
    let message = "queued: a member being synced syncs again right after".to_owned();
    Ok((StatusCode::ACCEPTED, Json(Accepted { members: n, message })).into_response())
}

/// Cancel the running sync of a group (or one member) after the batch in
/// flight; what was committed stays, the next sync goes on from there.
#[utoipa::path(post, path = "/api/v1/groups/{group}/cancel", tag = "sync", params(("group" = String, Path)),
    request_body(content = SyncRequest, description = "optional"),
    responses((status = 202, body = Accepted), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    p: Result<Path<String>, PathRejection>,
    bytes: Bytes,
) -> ApiResult<Response> {
    admin(&caller)?;
    let group = path(p)?;
    let member = selected_member(&state, &group, &bytes).await?;
    let n = state.engine.meta().request_cancel(&group, member.as_deref(), now_micros()).await?;
    state.cancel_local(&group, member.as_deref());
    let message = if n == 0 { "nothing was running" } else { "the running syncs stop after their batch in flight" };
    Ok((StatusCode::ACCEPTED, Json(Accepted { members: n, message: message.into() })).into_response())
}

/// A recorded decision's name as the API's [`Decision`]; a name this
/// version does not know was written by a newer hubsync.
pub(crate) fn decision(name: &str) -> ApiResult<Decision> {
    Decision::parse(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "the metadata records a conflict decision {name:?} this hubsync does not know: upgrade this instance"
            ),
        )
    })
}

/// Status of every member and table of a group.
#[utoipa::path(get, path = "/api/v1/groups/{group}/status", tag = "sync", params(("group" = String, Path)),
    responses((status = 200, body = GroupState), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn status(
    State(state): State<Arc<AppState>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<GroupState>> {
    let group = path(p)?;
    let (config, _) = load(&state, &group).await?;
    let meta = state.engine.meta();
    let all = meta.status(Some(&group)).await?;
    let held = meta.quarantine(Some(&group)).await?;
    let leases = meta.leases().await?;
    let now = now_micros();
    let names: Vec<&str> = config.members.iter().map(|m| m.name.as_str()).collect();
    let answer = crate::status::group_state(&group, &names, &all, &held, |m| {
        let lease = leases.iter().find(|l| l.group == group && l.member == m);
        crate::status::Live {
            syncing_on: lease.filter(|l| l.expires_micros >= now).and_then(|l| l.holder.clone()),
            changes_done: state.progress(&group, m),
            due_micros: lease.map(|l| l.due_micros.max(0)).filter(|&d| d != i64::MAX),
        }
    });
    Ok(Json(answer))
}

/// Sync history (Data Sync's logs), newest first, with filters and paging.
#[utoipa::path(get, path = "/api/v1/history", tag = "sync", params(HistoryQuery),
    responses((status = 200, body = HistoryPage), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn history(
    State(state): State<Arc<AppState>>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> ApiResult<Json<HistoryPage>> {
    let q = query(q)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad("limit is 1 to 1000"));
    }
    if let Some(g) = &q.group {
        check_name("group name", g)?;
    }
    if let Some(m) = &q.member {
        check_name("member name", m)?;
    }
    let filter = hubsync_connectors::meta::HistoryFilter {
        group: q.group,
        member: q.member,
        level: q.level.map(|l| l.as_str().to_owned()),
        since_micros: q.since_micros,
        until_micros: q.until_micros,
        before_id: q.cursor,
        limit,
    };
    let page = state.engine.meta().history(&filter).await?;
    Ok(Json(HistoryPage {
        entries: page
            .entries
            .into_iter()
            .map(|(id, r)| HistoryEntry {
                id,
                level: Level::of(r.ok, r.warnings),
                group: r.scope.group,
                member: r.scope.member,
                table: r.scope.table,
                started_micros: r.started_micros,
                duration_ms: r.duration_ms,
                rows_down: r.rows_down,
                rows_up: r.rows_up,
                conflicts: r.conflicts,
                warnings: r.warnings,
                message: r.message,
                instance: r.holder,
            })
            .collect(),
        next_cursor: page.next,
    }))
}

fn json_of(text: Option<&str>) -> serde_json::Value {
    text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or(serde_json::Value::Null)
}

/// The latest settled conflicts of a group.
#[utoipa::path(get, path = "/api/v1/groups/{group}/conflicts", tag = "sync",
    params(("group" = String, Path), ConflictQuery),
    responses((status = 200, body = [ConflictView]), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn conflicts(
    State(state): State<Arc<AppState>>,
    p: Result<Path<String>, PathRejection>,
    q: Result<Query<ConflictQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<ConflictView>>> {
    let group = path(p)?;
    let q = query(q)?;
    load(&state, &group).await?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad("limit is 1 to 1000"));
    }
    let rows = state.engine.meta().conflicts(&group, limit).await?;
    let views = rows
        .into_iter()
        .map(|(s, c)| {
            Ok(ConflictView {
                member: s.member,
                table: s.table,
                at_micros: c.at_micros,
                key: json_of(Some(&c.key)),
                hub_row: json_of(c.hub_row.as_deref()),
                member_row: json_of(c.member_row.as_deref()),
                decision: decision(&c.decision)?,
                reason: c.reason,
                plugin: c.plugin,
                plugin_sha256: c.plugin_sha256,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(views))
}

/// A group's quarantined changes (rows that could not be synced, and why).
#[utoipa::path(get, path = "/api/v1/groups/{group}/quarantine", tag = "sync", params(("group" = String, Path)),
    responses((status = 200, body = [QuarantineView]), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn quarantine(
    State(state): State<Arc<AppState>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Vec<QuarantineView>>> {
    let group = path(p)?;
    load(&state, &group).await?;
    let rows = state.engine.meta().quarantine(Some(&group)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|q| QuarantineView {
                id: q.id,
                member: q.scope.member,
                table: q.scope.table,
                side: q.record.side.as_str().to_owned(),
                key: json_of(q.record.key.as_deref()),
                stage: q.record.stage,
                column: q.record.column,
                error: q.record.error,
                attempts: q.attempts,
            })
            .collect(),
    ))
}

/// List API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = [TokenView]), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_tokens(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<TokenView>>> {
    admin(&caller)?;
    Ok(Json(state.engine.meta().tokens().await?.into_iter().map(crate::auth::view).collect()))
}

/// Make an API token.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn create_token(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    bytes: Bytes,
) -> ApiResult<Response> {
    admin(&caller)?;
    let new: NewToken = body(&bytes)?;
    let (token, rec) = crate::auth::create(state.engine.meta(), &new.name, new.role, now_micros()).await?;
    let out = CreatedToken { token, id: rec.id, name: rec.name, role: new.role };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Revoke an API token (by id or name).
#[utoipa::path(delete, path = "/api/v1/tokens/{token}", tag = "tokens", params(("token" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_token(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<StatusCode> {
    admin(&caller)?;
    let id = path(p)?;
    let revoked = state.engine.meta().revoke_token(&id, now_micros()).await?;
    state.forget_tokens();
    match revoked {
        0 => Err(ApiError::not_found(format!("no live token has the id or name {id:?}"))),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "hubsync admin API", description = "Sync groups, members, schemas, syncs, history, conflicts and tokens."),
    paths(list_groups, create_group, get_group, update_group, delete_group, list_members, add_member, get_member,
          update_member, remove_member, get_tables, set_tables, get_schema, sync_now, cancel, status, history,
          conflicts, quarantine, list_tokens, create_token, revoke_token, crate::plugins::upload_plugin,
          crate::plugins::list_plugins, crate::plugins::get_plugin, crate::plugins::delete_plugin,
          crate::plugins::replay, crate::plugins::retry_quarantine, crate::plugins::discard_quarantine,
          crate::plugins::reinit, crate::agents::create_agent, crate::agents::list_agents, crate::agents::get_agent,
          crate::agents::regenerate_key, crate::agents::delete_agent, crate::agents::join,
          crate::agents::heartbeat, crate::tunnel::connect),
    modifiers(&Bearer),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // Every operation can answer these (bad input, no or a wrong token,
        // a reader's write, a body over the limit, an unreachable metadata
        // database): all problem+json.
        let common = [
            ("400", "The request is not valid: the detail says what to fix."),
            ("401", "No token, or a token that is not valid."),
            ("403", "The token's role may not do this."),
            ("404", "No such group, member or token."),
            ("413", "The body is larger than the server accepts."),
            ("503", "The metadata database cannot be reached."),
        ];
        for item in openapi.paths.paths.values_mut() {
            let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in ops.into_iter().flatten() {
                for (code, what) in common {
                    op.responses.responses.entry(code.to_owned()).or_insert_with(|| {
                        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
                        ResponseBuilder::new()
                            .description(what)
                            .content("application/problem+json", content)
                            .build()
                            .into()
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_url_sent_back_keeps_the_stored_password_and_a_new_one_replaces_it() {
        let stored = "postgres://app:s3cret@db1/sales";
        assert_eq!(mask(stored), "postgres://app:***@db1/sales");
        assert_eq!(unmask("postgres://app:***@db1/sales", Some(stored)), stored);
        assert_eq!(unmask("postgres://app:new@db1/sales", Some(stored)), "postgres://app:new@db1/sales");
        // A masked URL for another database is not given the stored password.
        assert_eq!(unmask("postgres://app:***@db2/sales", Some(stored)), "postgres://app:***@db2/sales");
        assert_eq!(unmask("sqlite:///x.db", None), "sqlite:///x.db");
    }
}
