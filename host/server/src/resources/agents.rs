//! Sync agents, service side: create an agent (its one-time key is shown
//! once), list and show them, regenerate the key (the old key and the
//! credential issued from it stop working at once), remove them; and the
//! join call an agent makes with its key, exchanging it for a long-lived
//! credential: a key works exactly once.

//!
//! The agents' connections themselves are [`crate::tunnel`]; their route
//! is registered here with the other routes an agent calls.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hubsync_api::agent_link::{CONNECT_PATH, RETIRED};
use hubsync_api::{
    AgentDatabaseView, AgentKey, AgentState, AgentView, Heartbeat, HeartbeatAnswer, Join, Joined, NewAgent,
};
use hubsync_connectors::meta::{AgentDatabase, AgentRecord};
use utoipa::OpenApi;

use crate::extract::{Admin, ApiPath, ApiResult, Body, check_name};
use crate::now_micros;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// The routes an admin or reader token calls.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/agents", get(list_agents).post(create_agent))
        .route("/api/v1/agents/{agent}", get(get_agent).delete(delete_agent))
        .route("/api/v1/agents/{agent}/regenerate-key", post(regenerate_key))
}

/// The routes an agent calls: its key or credential authenticates it, not
/// a token.
pub(crate) fn agent_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/agent-join", post(join))
        .route("/api/v1/agent-heartbeat", post(heartbeat))
        .route(CONNECT_PATH, get(crate::tunnel::connect))
}

/// This resource's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(
    create_agent,
    list_agents,
    get_agent,
    regenerate_key,
    delete_agent,
    join,
    heartbeat,
    crate::tunnel::connect
))]
pub(crate) struct Doc;

/// An agent that has not been heard from for this long shows as offline.
/// A connected agent is heard from every few seconds (its connection's pings).
const OFFLINE_AFTER_MICROS: i64 = 30_000_000;

/// Whether an agent has joined and was heard from lately.
pub(crate) fn online(a: &AgentRecord, now_micros: i64) -> bool {
    a.credential_hash.is_some() && a.last_contact_micros.is_some_and(|t| now_micros - t < OFFLINE_AFTER_MICROS)
}

fn view(a: AgentRecord, databases: &[AgentDatabase]) -> AgentView {
    let joined = a.credential_hash.is_some();
    let databases = databases
        .iter()
        .filter(|d| d.agent == a.name)
        .map(|d| AgentDatabaseView {
            name: d.name.clone(),
            engine: d.engine.clone(),
            reachable: d.reachable,
            error: d.error.clone(),
            tables: d.tables.clone(),
            updated_micros: d.updated_micros,
        })
        .collect();
    AgentView {
        online: online(&a, now_micros()),
        state: if joined { AgentState::Joined } else { AgentState::WaitingForKey },
        name: a.name,
        created_micros: a.created_micros,
        key_micros: a.key_micros,
        joined_micros: a.connected_micros,
        last_contact_micros: a.last_contact_micros,
        address: a.address,
        version: a.version,
        databases,
    }
}

fn secret(prefix: &str) -> ApiResult<String> {
    let mut b = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the system's random source failed"))?;
    Ok(format!("{prefix}{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()))
}

/// Create an agent; its one-time key is in the answer, and only there.
#[utoipa::path(post, path = "/api/v1/agents", tag = "agents", request_body = NewAgent,
    responses((status = 201, body = AgentKey), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn create_agent(_: Admin, State(state): State<Arc<AppState>>, Body(new): Body<NewAgent>) -> ApiResult<Response> {
    check_name("agent name", &new.name)?;
    let key = secret("hsa_")?;
    if !state.engine.meta().add_agent(&new.name, &crate::auth::fingerprint(&key), now_micros()).await? {
        return Err(ApiError::conflict(format!(
            "agent {:?} exists already; `regenerate-key` gives it a new key",
            new.name
        )));
    }
    Ok((StatusCode::CREATED, Json(AgentKey { name: new.name, key })).into_response())
}

/// List agents: online or not, version, last contact, address.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", responses((status = 200, body = [AgentView])))]
async fn list_agents(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<AgentView>>> {
    let databases = state.engine.meta().agent_databases(None).await?;
    Ok(Json(state.engine.meta().agents().await?.into_iter().map(|a| view(a, &databases)).collect()))
}

async fn find(state: &AppState, name: &str) -> ApiResult<AgentRecord> {
    check_name("agent name", name)?;
    state
        .engine
        .meta()
        .agents()
        .await?
        .into_iter()
        .find(|a| a.name == name)
        .ok_or_else(|| ApiError::not_found(format!("there is no agent {name:?}; `GET /api/v1/agents` lists them")))
}

/// Show an agent.
#[utoipa::path(get, path = "/api/v1/agents/{agent}", tag = "agents", params(("agent" = String, Path)),
    responses((status = 200, body = AgentView)))]
async fn get_agent(State(state): State<Arc<AppState>>, ApiPath(name): ApiPath<String>) -> ApiResult<Json<AgentView>> {
    let databases = state.engine.meta().agent_databases(Some(&name)).await?;
    Ok(Json(view(find(&state, &name).await?, &databases)))
}

/// Give an agent a new one-time key. The old key, and the credential an
/// agent got for it, stop working at once: the agent is retired until it
/// joins again with the new key (moving an agent: a new install, this key).
#[utoipa::path(post, path = "/api/v1/agents/{agent}/regenerate-key", tag = "agents", params(("agent" = String, Path)),
    responses((status = 200, body = AgentKey)))]
async fn regenerate_key(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<AgentKey>> {
    find(&state, &name).await?;
    let key = secret("hsa_")?;
    state.engine.meta().rekey_agent(&name, &crate::auth::fingerprint(&key), now_micros()).await?;
    // Connected here: disconnected now; elsewhere: at that instance's next check.
    state.links.retire(&name);
    Ok(Json(AgentKey { name, key }))
}

/// Remove an agent (its key and credential stop working).
#[utoipa::path(delete, path = "/api/v1/agents/{agent}", tag = "agents", params(("agent" = String, Path)),
    responses((status = 204)))]
async fn delete_agent(
    _: Admin,
    State(state): State<Arc<AppState>>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    find(&state, &name).await?;
    state.engine.meta().delete_agent(&name).await?;
    state.links.retire(&name);
    Ok(StatusCode::NO_CONTENT)
}

/// Exchange a one-time agent key for the agent's credential. Needs no
/// token: the key is the authentication, and it works exactly once.
#[utoipa::path(post, path = "/api/v1/agent-join", tag = "agents", request_body = Join, security(()),
    responses((status = 200, body = Joined), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn join(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Body(j): Body<Join>,
) -> ApiResult<Json<Joined>> {
    if j.version.is_empty() || j.version.len() > 64 || j.version.chars().any(char::is_control) {
        return Err(ApiError::bad("version is 1 to 64 printable characters"));
    }
    let credential = secret("hsc_")?;
    let address = peer.map(|Extension(ConnectInfo(a))| a.ip().to_string()).unwrap_or_default();
    let joined = state
        .engine
        .meta()
        .exchange_agent_key(
            &crate::auth::fingerprint(&j.key),
            &crate::auth::fingerprint(&credential),
            &address,
            &j.version,
            now_micros(),
        )
        .await?;
    match joined {
        Some(agent) => Ok(Json(Joined { agent, credential })),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this agent key is not valid: it was used already, regenerated, or never issued; \
             generate a new key (`hubsync agent regenerate-key NAME`) and connect with it",
        )),
    }
}

/// The heartbeat interval agents are told.
const HEARTBEAT_SECONDS: u64 = 2;

/// An agent checks in with its credential (`Authorization: Bearer hsc_…`).
/// 401 once the agent was retired (key regenerated, agent removed).
#[utoipa::path(post, path = "/api/v1/agent-heartbeat", tag = "agents", request_body = Heartbeat, security(()),
    responses((status = 200, body = HeartbeatAnswer), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn heartbeat(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: axum::http::HeaderMap,
    Body(h): Body<Heartbeat>,
) -> ApiResult<Json<HeartbeatAnswer>> {
    if h.version.is_empty() || h.version.len() > 64 {
        return Err(ApiError::bad("version is 1 to 64 characters"));
    }
    let credential = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let address = peer.map(|Extension(ConnectInfo(a))| a.ip().to_string()).unwrap_or_default();
    let retired = || ApiError::new(StatusCode::UNAUTHORIZED, RETIRED);
    if !credential.starts_with("hsc_") {
        return Err(retired());
    }
    let fp = crate::auth::fingerprint(credential);
    match state.engine.meta().agent_contact(&fp, &address, &h.version, now_micros()).await? {
        Some(agent) => Ok(Json(HeartbeatAnswer { agent, interval_seconds: HEARTBEAT_SECONDS })),
        None => Err(retired()),
    }
}
