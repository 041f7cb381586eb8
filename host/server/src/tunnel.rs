//! The agents' connections: a WebSocket on the service's own port
//! (`GET /api/v1/agent-connect`, TLS when the service has it), opened by
//! the agent (it never listens), authenticated by the agent's credential,
//! with the protocol version agreed before the upgrade. Over it the
//! service sends connector calls ([`hubsync_agent_protocol`]) and the
//! agent answers; pings every [`PING_EVERY`] keep it honest both ways.
//!
//! Service side: [`connect`] (the route) and [`AgentLinks`], the live
//! connections of this instance, which open `agent://AGENT/DATABASE` URLs
//! for the engine. Agent side: [`run_agent`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use hubsync_agent_protocol::codec::encode;
use hubsync_agent_protocol::executor::Received;
pub use hubsync_agent_protocol::{DatabaseState, Executor};
use hubsync_agent_protocol::{Link, PROTOCOL_MAX, PROTOCOL_MIN, ToService, negotiate};
use hubsync_connectors::meta::AgentDatabase;
use hubsync_core::{ConnectOptions, Connector, ConnectorError, Opener, parse_agent_url};
use tokio::sync::{Notify, mpsc};
use tracing::{info, warn};

use crate::problem::ApiError;
use crate::{AppState, now_micros};

/// The route agents connect to.
pub const CONNECT_PATH: &str = "/api/v1/agent-connect";
/// The header carrying the protocol versions a side speaks (`MIN-MAX`),
/// and in the answer the one chosen.
pub const PROTOCOL_HEADER: &str = "hubsync-agent-protocol";
/// The header carrying the agent's hubsync version.
pub const VERSION_HEADER: &str = "hubsync-version";
/// How often each side pings the other.
pub const PING_EVERY: Duration = Duration::from_secs(5);
/// A connection silent for this long is dead.
pub const DEAD_AFTER: Duration = Duration::from_secs(20);
/// The largest frame (a batch of rows): larger than any batch the engine
/// makes under its default `batch_bytes`.
pub const MAX_FRAME_BYTES: usize = 1 << 30;
/// The WebSocket close code telling an agent it was retired.
pub const RETIRED_CODE: u16 = 4001;
/// The WebSocket close code telling an agent that another process
/// connected with its credential (one state folder used twice).
pub const REPLACED_CODE: u16 = 4002;
/// The close message of [`REPLACED_CODE`].
const REPLACED: &str = "another agent process connected with this agent's credential (the same state folder copied \
                        to a second machine?); this one stops: run one agent per state folder";
/// The close message telling an agent it was retired.
const RETIRED: &str = "this agent's credential is no longer valid: its key was regenerated or the agent was removed; \
                       connect again with a new key (`hubsync agent regenerate-key NAME` on the service)";

/// Why a connection is being stopped from outside its loop: the close
/// code and message the agent gets.
#[derive(Default)]
struct Stop {
    wake: Notify,
    order: Mutex<Option<(u16, &'static str)>>,
}

impl Stop {
    fn stop(&self, code: u16, message: &'static str) {
        *self.order.lock().unwrap_or_else(|p| p.into_inner()) = Some((code, message));
        self.wake.notify_one();
    }
}

/// A live connection and what stops its loop.
type Live = (Arc<Link>, Arc<Stop>);

/// The agent connections of this instance.
#[derive(Default)]
pub struct AgentLinks {
    live: Mutex<HashMap<String, Live>>,
}

impl AgentLinks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The agents connected to this instance.
    pub fn connected(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lock().keys().cloned().collect();
        v.sort();
        v
    }

    /// The live link of `agent`, if it is connected here.
    pub fn get(&self, agent: &str) -> Option<Arc<Link>> {
        self.lock().get(agent).map(|(l, _)| l.clone())
    }

    /// Disconnect `agent` at once (its key was regenerated, it was removed).
    pub fn retire(&self, agent: &str) {
        if let Some((link, stop)) = self.lock().remove(agent) {
            link.close("the agent was retired");
            stop.stop(RETIRED_CODE, RETIRED);
        }
    }
}

#[async_trait::async_trait]
impl Opener for AgentLinks {
    async fn open(&self, url: &str, options: &ConnectOptions) -> Result<Box<dyn Connector>, ConnectorError> {
        let (agent, db) = parse_agent_url(url)?;
        let Some(link) = self.get(agent) else {
            return Err(ConnectorError::Connect {
                url: url.to_owned(),
                cause: format!(
                    "agent {agent} is not connected to this service; start it next to the database \
                     (`hubsync agent connect --state DIR`) and check `hubsync agent show {agent}`"
                ),
            });
        };
        let remote = link.open(db, options).await.map_err(|e| match e {
            ConnectorError::Connect { cause, .. } => ConnectorError::Connect { url: url.to_owned(), cause },
            other => other,
        })?;
        Ok(Box::new(remote))
    }
}

fn versions(h: Option<&str>) -> Option<(u32, u32)> {
    let (a, b) = h?.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

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
pub async fn connect(
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

/// Why an agent's connection ended.
#[derive(Debug)]
pub enum Ended {
    /// The service retired the agent (key regenerated, agent removed):
    /// connecting again cannot work.
    Retired(String),
    /// Agent and service speak no common protocol version.
    Incompatible(String),
    /// Another agent process connected with the same credential.
    Replaced(String),
    /// The connection could not be made or was lost: try again.
    Lost(String),
}

/// Agent side: connect to the service with `client`'s credential and
/// answer calls with `executor` until the connection ends. `welcome` gets
/// the database names the service knows; `reports` are sent on as they
/// come (the agent's databases, when they change).
pub async fn run_agent(
    client: &crate::client::Client,
    executor: &Arc<Executor>,
    welcome: impl FnOnce(Vec<String>),
    reports: &mut mpsc::Receiver<Vec<DatabaseState>>,
    connected: impl FnOnce(),
) -> Ended {
    let socket = match client
        .websocket(
            CONNECT_PATH,
            &[
                (PROTOCOL_HEADER, format!("{PROTOCOL_MIN}-{PROTOCOL_MAX}")),
                (VERSION_HEADER, env!("CARGO_PKG_VERSION").to_owned()),
            ],
        )
        .await
    {
        Ok(s) => s,
        Err(e) if e.status == 401 => return Ended::Retired(e.message),
        Err(e) if e.status == 426 => return Ended::Incompatible(e.message),
        Err(e) => return Ended::Lost(e.message),
    };
    connected();
    let (mut sink, mut stream) = socket.split();
    let (answers, mut outgoing) = mpsc::channel::<Vec<u8>>(hubsync_agent_protocol::MAX_IN_FLIGHT * 2);
    let mut welcome = Some(welcome);
    let mut heard = Instant::now();
    let mut ticks = tokio::time::interval(PING_EVERY);
    let mut pending_pong = false;
    let mut reporting = true;
    let ended = loop {
        // Frames to write first: answers, then reports.
        let out = tokio::select! {
            biased;
            f = outgoing.recv() => f.map(|f| tokio_tungstenite::tungstenite::Message::Binary(f.into())),
            r = reports.recv(), if reporting => match r {
                Some(d) => Some(tokio_tungstenite::tungstenite::Message::Binary(encode(&ToService::Databases(d)).into())),
                None => {
                    // No more reports: stop polling the closed channel.
                    reporting = false;
                    None
                }
            },
            m = stream.next() => {
                use tokio_tungstenite::tungstenite::Message as M;
                match m {
                    Some(Ok(M::Binary(frame))) => {
                        heard = Instant::now();
                        match executor.receive(&frame, &answers).await {
                            Ok(Received::Welcome(names)) => {
                                if let Some(w) = welcome.take() {
                                    w(names);
                                }
                            }
                            Ok(Received::Call) => {}
                            Err(e) => break Ended::Lost(e.to_string()),
                        }
                        None
                    }
                    Some(Ok(M::Ping(_))) => {
                        heard = Instant::now();
                        pending_pong = true;
                        None
                    }
                    Some(Ok(M::Pong(_))) => {
                        heard = Instant::now();
                        None
                    }
                    Some(Ok(M::Close(frame))) => match frame {
                        Some(f) if u16::from(f.code) == RETIRED_CODE => break Ended::Retired(RETIRED.into()),
                        Some(f) if u16::from(f.code) == REPLACED_CODE => break Ended::Replaced(REPLACED.into()),
                        _ => break Ended::Lost("the service closed the connection".into()),
                    },
                    Some(Ok(_)) => None,
                    Some(Err(e)) => break Ended::Lost(format!("the connection failed: {e}")),
                    None => break Ended::Lost("the service closed the connection".into()),
                }
            }
            _ = ticks.tick() => {
                if heard.elapsed() > DEAD_AFTER {
                    break Ended::Lost(format!("nothing heard from the service for {} s", DEAD_AFTER.as_secs()));
                }
                Some(tokio_tungstenite::tungstenite::Message::Ping(Vec::new().into()))
            }
        };
        if pending_pong {
            // Pongs are queued by the reader and go out with the next write.
            pending_pong = false;
            if sink.flush().await.is_err() {
                break Ended::Lost("the connection failed while answering a ping".into());
            }
        }
        if let Some(m) = out
            && let Err(e) = sink.send(m).await
        {
            break Ended::Lost(format!("the connection failed: {e}"));
        }
    };
    executor.close_all();
    ended
}
