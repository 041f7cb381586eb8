//! The service's end of the agents' connections: a WebSocket on the
//! service's own port (`GET /api/v1/agent-connect`, TLS when it has it),
//! opened by the agent (it never listens), authenticated by the agent's
//! credential, with the protocol version agreed before the upgrade. Over
//! it the service sends connector calls ([`hubsync_agent_protocol`]) and
//! the agent answers; pings every [`PING_EVERY`] keep it honest both ways.
//! The agent's end is `hubsync-client`'s `agent` module; the wire
//! contract both read is `hubsync_api::agent_link`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use hubsync_agent_protocol::{DatabaseState, Link, PROTOCOL_MAX, PROTOCOL_MIN, negotiate};
use hubsync_api::agent_link::{
    DEAD_AFTER, MAX_FRAME_BYTES, PING_EVERY, PROTOCOL_HEADER, REPLACED, REPLACED_CODE, RETIRED, RETIRED_CODE,
    VERSION_HEADER, versions,
};
use hubsync_connectors::meta::AgentDatabase;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::links::Stop;
use crate::now_micros;
use crate::problem::ApiError;
use crate::state::AppState;

/// `GET /api/v1/agent-connect`: an agent opens its connection. 401 for a
/// credential that is not (or no longer) valid, 426 when no protocol
/// version is common to both, else the WebSocket upgrade.
#[utoipa::path(get, path = "/api/v1/agent-connect", tag = "agents", security(()),
    params(
        ("hubsync-agent-protocol" = String, Header, description = "The protocol versions the agent speaks, `MIN-MAX`"),
        ("hubsync-version" = Option<String>, Header, description = "The agent's hubsync version"),
    ),
    responses(
        (status = 101, description = "Switching to the agent protocol (WebSocket, binary frames); the chosen version is in the `hubsync-agent-protocol` answer header"),
        (status = 401, body = crate::problem::Problem, content_type = "application/problem+json",
            description = "The agent credential (`Authorization: Bearer hsc_…`) is missing or no longer valid"),
        (status = 426, body = crate::problem::Problem, content_type = "application/problem+json",
            description = "No protocol version both sides speak; the detail says which to upgrade"),
    ))]
pub(crate) async fn connect(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let credential = header("authorization").and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
    let version = header(VERSION_HEADER).unwrap_or("unknown").chars().take(64).collect::<String>();
    let address = peer.map(|Extension(ConnectInfo(a))| a.ip().to_string()).unwrap_or_default();
    let fp = crate::auth::fingerprint(credential);
    let agent = if credential.starts_with("hsc_") {
        state.engine.meta().agent_contact(&fp, &address, &version, now_micros()).await?
    } else {
        None
    };
    let Some(agent) = agent else { return Err(ApiError::new(StatusCode::UNAUTHORIZED, RETIRED)) };
    let theirs = versions(header(PROTOCOL_HEADER)).ok_or_else(|| {
        ApiError::bad(format!("send the protocol versions the agent speaks in a {PROTOCOL_HEADER}: MIN-MAX header"))
    })?;
    let chosen = negotiate((PROTOCOL_MIN, PROTOCOL_MAX), theirs, env!("CARGO_PKG_VERSION"))
        .map_err(|m| ApiError::new(StatusCode::UPGRADE_REQUIRED, m))?;
    let ws = ws.map_err(|e| ApiError::bad(format!("{e}; agents connect with `hubsync agent connect`")))?;
    info!(agent = %agent, %address, %version, protocol = chosen, "agent connected");
    let mut response = ws
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| serve_link(state, agent, fp, version, chosen, address, socket))
        .into_response();
    if let Ok(v) = chosen.to_string().parse() {
        response.headers_mut().insert(PROTOCOL_HEADER, v);
    }
    Ok(response)
}

fn stored(agent: &str, d: &DatabaseState) -> AgentDatabase {
    AgentDatabase {
        agent: agent.to_owned(),
        name: d.name.clone(),
        engine: d.engine.map(|e| e.to_string()),
        reachable: d.reachable,
        error: d.error.clone(),
        tables: d.tables.clone(),
        updated_micros: now_micros(),
    }
}

/// One agent's connection, from the upgrade to its end.
async fn serve_link(
    state: Arc<AppState>,
    agent: String,
    fp: String,
    version: String,
    protocol: u32,
    address: String,
    socket: WebSocket,
) {
    let (to_agent, mut outgoing) = mpsc::channel::<Vec<u8>>(hubsync_agent_protocol::MAX_IN_FLIGHT * 2);
    let link = Link::new(&agent, protocol, to_agent);
    let stop = Arc::new(Stop::default());
    let replaced = state.links.lock().insert(agent.clone(), (link.clone(), stop.clone()));
    if let Some((old, old_stop)) = replaced {
        // A connection the agent already gave up on (its end died unseen),
        // or a second process with the same credential: either way the
        // newer connection wins.
        old.close("a newer connection of the same agent replaced it");
        old_stop.stop(REPLACED_CODE, REPLACED);
    }
    state.forget_agent(&agent);
    let meta = state.engine.meta();
    let known: Vec<String> =
        meta.agent_databases(Some(&agent)).await.unwrap_or_default().into_iter().map(|d| d.name).collect();
    let (mut sink, mut stream) = socket.split();
    // The writer runs apart from the reader, so answers are always read
    // while a large request is being written.
    let (control, mut controls) = mpsc::channel::<Message>(4);
    let writer = tokio::spawn(async move {
        if sink.send(Message::Binary(Link::welcome(known).into())).await.is_err() {
            return;
        }
        loop {
            let message = tokio::select! {
                f = outgoing.recv() => match f { Some(f) => Message::Binary(f.into()), None => break },
                c = controls.recv() => match c { Some(c) => c, None => break },
            };
            let last = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || last {
                break;
            }
        }
    });
    // The first check is one interval away: `connect` has just checked the
    // credential and recorded the contact.
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut heard = Instant::now();
    // A close frame's reason is at most 123 bytes: the code says it, and
    // the agent has the full message for each code.
    let close = |code: u16| {
        let reason = if code == REPLACED_CODE { "replaced" } else { "retired" };
        Message::Close(Some(CloseFrame { code, reason: reason.into() }))
    };
    let why: String = loop {
        tokio::select! {
            m = stream.next() => match m {
                Some(Ok(Message::Binary(frame))) => {
                    heard = Instant::now();
                    match link.receive(&frame) {
                        Ok(None) => {}
                        Ok(Some(dbs)) => {
                            let rows: Vec<AgentDatabase> = dbs.iter().map(|d| stored(&agent, d)).collect();
                            if let Err(e) = meta.set_agent_databases(&agent, &rows, now_micros()).await {
                                warn!(agent = %agent, error = %e, "could not record the agent's databases");
                            }
                            // A database reachable now may complete a group.
                            state.forget_agent(&agent);
                        }
                        Err(e) => break e.to_string(),
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => heard = Instant::now(),
                Some(Ok(Message::Text(_))) => break "the agent sent text; agents speak binary frames".into(),
                Some(Ok(Message::Close(_))) | None => break "the agent closed the connection".into(),
                Some(Err(e)) => break format!("the connection failed: {e}"),
            },
            _ = ticks.tick() => {
                if heard.elapsed() > DEAD_AFTER {
                    break format!("nothing heard from the agent for {} s", DEAD_AFTER.as_secs());
                }
                // Each tick also checks the credential, so a key regenerated
                // through another instance retires this connection too.
                match meta.agent_contact(&fp, &address, &version, now_micros()).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        let _ = control.send(close(RETIRED_CODE)).await;
                        break "the agent was retired".into();
                    }
                    Err(e) => warn!(agent = %agent, error = %e, "could not record the agent's contact"),
                }
                let _ = control.send(Message::Ping(Vec::new().into())).await;
            }
            _ = stop.wake.notified() => {
                let (code, message) = stop.order.lock().unwrap_or_else(|p| p.into_inner()).unwrap_or((RETIRED_CODE, RETIRED));
                let _ = control.send(close(code)).await;
                break message.into();
            }
        }
    };
    link.close(&why);
    {
        let mut live = state.links.lock();
        if live.get(&agent).is_some_and(|(l, _)| Arc::ptr_eq(l, &link)) {
            live.remove(&agent);
        }
    }
    state.forget_agent(&agent);
    drop(control);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    info!(agent = %agent, reason = %why, "agent disconnected");
}
