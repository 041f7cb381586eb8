//! `hubsync serve`: the admin endpoint (a REST API under `/api/v1` with its
//! OpenAPI document, bearer tokens, health and Prometheus metrics) and the
//! lease scheduler that lets several instances share one metadata store.
//!
//! The only crate that knows HTTP: it calls the engine and the metadata
//! store, never SQL. [`client`] is the other end, used by the CLI.

pub mod agents;
pub mod api;
pub mod auth;
pub mod client;
mod metrics;
pub mod plugins;
pub mod problem;
mod scheduler;
pub mod status;
pub mod tunnel;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use hubsync_engine::{Engine, EngineError, Group, SyncControl};
use tokio::sync::{Notify, watch};
use tracing::{info, warn};
use utoipa::OpenApi;

pub use auth::Role;
use metrics::Metrics;
use problem::ApiError;

/// What can go wrong serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A request or setting is not valid.
    #[error("{0}")]
    Invalid(String),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The metadata store failed.
    #[error("the sync metadata database: {0}")]
    Meta(#[from] hubsync_core::ConnectorError),
    /// The listening address cannot be used.
    #[error("cannot listen on {addr}: {cause}; choose another address with --listen")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        cause: std::io::Error,
    },
    /// Another instance holds an embedded (SQLite) store.
    #[error(
        "another hubsync serve ({0}) is running on this SQLite metadata database; only one instance may use \
         an embedded store: stop it, or use a PostgreSQL metadata database (--metadata postgres://…) to run several"
    )]
    Busy(String),
    /// The system's random source failed.
    #[error("the system's random number source failed")]
    Random,
    /// TLS set-up failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// Talking to a server failed (the client).
    #[error("{0}")]
    Client(String),
}

/// The largest plugin component accepted, bytes.
pub const PLUGIN_LIMIT_BYTES: usize = 64 << 20;

/// How long a status or history answer is served again (a poll storm costs
/// one query per URI and interval); writes through this instance clear it.
pub const ANSWER_CACHE: std::time::Duration = std::time::Duration::from_millis(500);

/// How often a group with unreachable members is prepared again.
const REPREPARE: std::time::Duration = std::time::Duration::from_secs(20);

/// How long a checked token is trusted without asking the store again.
pub const TOKEN_CACHE: std::time::Duration = std::time::Duration::from_secs(2);

/// µs since the Unix epoch, now.
pub fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or_default()
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Largest request body accepted, bytes.
    pub body_limit_bytes: usize,
    /// How long a member's lease lasts without a heartbeat, seconds.
    pub lease_seconds: u64,
    /// How many members this instance syncs at once.
    pub concurrency: usize,
    /// Seconds before a group whose preparation failed is tried again
    /// (absent: only on request).
    pub retry_seconds: Option<u64>,
    /// This instance's name (in leases and history).
    pub instance: String,
    /// A PEM certificate chain and key: serve HTTPS.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

/// A group prepared at a revision, and when.
type Prepared = (i64, Arc<Group>, std::time::Instant);

/// The server's shared state.
pub struct AppState {
    /// The engine (and through it the metadata store).
    pub engine: Arc<Engine>,
    /// Wakes the scheduler (a sync was asked for, a group changed).
    pub wake: Notify,
    /// This instance's name.
    pub instance: String,
    options: ServeOptions,
    metrics: Metrics,
    running: Mutex<HashMap<(String, String), Arc<SyncControl>>>,
    /// Tokens checked lately: SHA-256 of the presented text → role, name,
    /// when checked. Spares the store a lookup per request; a revocation
    /// through this instance clears it, through another takes effect
    /// within [`TOKEN_CACHE`].
    tokens: Mutex<HashMap<String, (Role, String, std::time::Instant)>>,
    /// Each group prepared at a revision (a std mutex: held only to look).
    prepared: Mutex<HashMap<String, Prepared>>,
    /// Held while preparing, so this instance prepares one group at a time.
    preparing: tokio::sync::Mutex<()>,
    /// Recent answers of the busiest reads (status, history), by URI.
    answers: Mutex<HashMap<String, (std::time::Instant, bytes::Bytes)>>,
    /// One computation per URI at a time: concurrent misses wait for it.
    computing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The agents connected to this instance (the engine opens
    /// `agent://` URLs through them).
    pub links: Arc<tunnel::AgentLinks>,
}

impl AppState {
    /// State for `engine` under `options`.
    pub fn new(engine: Engine, options: ServeOptions) -> Arc<AppState> {
        let links = Arc::new(tunnel::AgentLinks::default());
        Arc::new(AppState {
            engine: Arc::new(engine.with_opener(links.clone())),
            links,
            wake: Notify::new(),
            instance: options.instance.clone(),
            options,
            metrics: Metrics::default(),
            running: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            prepared: Mutex::new(HashMap::new()),
            preparing: tokio::sync::Mutex::new(()),
            answers: Mutex::new(HashMap::new()),
            computing: Mutex::new(HashMap::new()),
        })
    }

    fn track(&self, group: &str, member: &str, control: Option<Arc<SyncControl>>) {
        if let Ok(mut r) = self.running.lock() {
            let key = (group.to_owned(), member.to_owned());
            match control {
                Some(c) => r.insert(key, c),
                None => r.remove(&key),
            };
        }
    }

    /// Changes moved so far by this instance's running sync of a member.
    pub fn progress(&self, group: &str, member: &str) -> Option<u64> {
        let r = self.running.lock().ok()?;
        r.get(&(group.to_owned(), member.to_owned())).map(|c| c.changes())
    }

    /// Cancel this instance's running syncs of a group (or one member).
    pub fn cancel_local(&self, group: &str, member: Option<&str>) {
        if let Ok(r) = self.running.lock() {
            for ((g, m), c) in r.iter() {
                if g == group && member.is_none_or(|x| x == m) {
                    c.cancel();
                }
            }
        }
    }

    fn cancel_local_all(&self) {
        if let Ok(r) = self.running.lock() {
            r.values().for_each(|c| c.cancel());
        }
    }

    /// Forget every cached token check (a token was revoked).
    pub fn forget_tokens(&self) {
        if let Ok(mut t) = self.tokens.lock() {
            t.clear();
        }
    }

    async fn caller(&self, presented: &str) -> Result<Option<api::Caller>, ServerError> {
        let key = auth::fingerprint(presented);
        if let Ok(t) = self.tokens.lock()
            && let Some((role, name, at)) = t.get(&key)
            && at.elapsed() < TOKEN_CACHE
        {
            return Ok(Some(api::Caller { role: *role, name: name.clone() }));
        }
        let Some((role, name)) = auth::check(self.engine.meta(), presented, now_micros()).await? else {
            return Ok(None);
        };
        if let Ok(mut t) = self.tokens.lock() {
            if t.len() > 10_000 {
                t.clear(); // bounded: many distinct tokens only cost lookups
            }
            t.insert(key, (role, name.clone(), std::time::Instant::now()));
        }
        Ok(Some(api::Caller { role, name }))
    }

    /// Drop a group's prepared state (it changed or was removed).
    pub fn forget(&self, group: &str) {
        if let Ok(mut p) = self.prepared.lock() {
            p.remove(group);
        }
        self.cancel_local(group, None);
    }

    /// Drop the prepared state of groups with a member behind `agent`: its
    /// connections belong to a link that ended or was replaced, and the
    /// members it could not reach before may be reachable now.
    pub(crate) fn forget_agent(&self, agent: &str) {
        let prefix = format!("agent://{agent}/");
        if let Ok(mut p) = self.prepared.lock() {
            p.retain(|_, (_, g, _)| !g.config().members.iter().any(|m| m.url.starts_with(&prefix)));
        }
        self.wake.notify_one();
    }

    /// The group prepared at its current revision (prepared again when the
    /// definition changed or a member could not be prepared last time).
    pub(crate) async fn prepared(&self, group: &str) -> Result<Arc<Group>, ServerError> {
        let Some((json, revision)) = self.engine.meta().spec(group).await? else {
            return Err(ServerError::Invalid(format!("group {group:?} was removed")));
        };
        // A group with members that could not be prepared (unreachable)
        // is prepared again, so they join when they can; at most every
        // REPREPARE, not at every member's sync.
        let cached = |revision: i64| {
            let cache = self.prepared.lock().ok()?;
            let (rev, g, at) = cache.get(group)?;
            let complete = !g.is_stale() && (g.unprepared().next().is_none() || at.elapsed() < REPREPARE);
            (*rev == revision && complete).then(|| g.clone())
        };
        if let Some(g) = cached(revision) {
            return Ok(g);
        }
        let _one_at_a_time = self.preparing.lock().await;
        if let Some(g) = cached(revision) {
            return Ok(g); // prepared by another task meanwhile
        }
        let config: hubsync_core::GroupConfig =
            serde_json::from_str(&json).map_err(|e| ServerError::Invalid(format!("stored group {group:?}: {e}")))?;
        let meta = self.engine.meta();
        let g = Arc::new(meta.exclusive(&format!("prepare:{group}"), self.engine.prepare(&config)).await??);
        if let Ok(mut cache) = self.prepared.lock() {
            cache.insert(group.to_owned(), (revision, g.clone(), std::time::Instant::now()));
        }
        Ok(g)
    }
}

/// Define (create, or replace whatever is stored) a group from a group
/// file, as `hubsync serve --config` does at start. Says what it did.
pub async fn define(
    meta: &hubsync_connectors::meta::MetaStore,
    config: &hubsync_core::GroupConfig,
) -> Result<&'static str, ServerError> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(ServerError::Engine(EngineError::Invalid(problems)));
    }
    for _ in 0..3 {
        let current = meta.spec(&config.name).await?;
        if let Some((json, _)) = &current
            && serde_json::from_str::<hubsync_core::GroupConfig>(json).is_ok_and(|c| c == *config)
        {
            return Ok("unchanged");
        }
        if api::put(meta, config, current.as_ref().map(|c| c.1)).await?.is_some() {
            return Ok(if current.is_some() { "updated" } else { "created" });
        }
    }
    Err(ServerError::Invalid(format!("group {:?} keeps changing under us; try again", config.name)))
}

/// Make an admin token if the store has no live admin token; returns the
/// token text (to print once).
pub async fn bootstrap_token(engine: &Engine) -> Result<Option<String>, ServerError> {
    let tokens = engine.meta().tokens().await?;
    if tokens.iter().any(|t| t.role == "admin" && t.revoked_micros.is_none()) {
        return Ok(None);
    }
    let (text, _) = auth::create(engine.meta(), "admin", Role::Admin, now_micros()).await?;
    Ok(Some(text))
}

async fn authenticate(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .map(str::to_owned);
    let Some(token) = presented else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this call needs a token: send `Authorization: Bearer TOKEN` (make one with `hubsync token create`)",
        )
        .into_response();
    };
    match state.caller(&token).await {
        Ok(Some(caller)) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Ok(None) => ApiError::new(StatusCode::UNAUTHORIZED, "the token is not valid or was revoked").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Every error answer as problem+json, including axum's own (an unknown
/// route, a wrong method, a body over the limit).
async fn problems(req: Request, next: Next) -> Response {
    let r = next.run(req).await;
    let status = r.status();
    let is_problem = r.headers().get(header::CONTENT_TYPE).is_some_and(|v| v == "application/problem+json");
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return r;
    }
    let text = match axum::body::to_bytes(r.into_body(), 64 << 10).await {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).into_owned(),
        _ => match status {
            StatusCode::NOT_FOUND => "no such route; the API is described at /api/v1/openapi.json".into(),
            StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method".into(),
            _ => status.canonical_reason().unwrap_or("error").into(),
        },
    };
    ApiError::new(status, text).into_response()
}

impl AppState {
    fn answer(&self, uri: &str) -> Option<bytes::Bytes> {
        let a = self.answers.lock().ok()?;
        a.get(uri).filter(|(at, _)| at.elapsed() < ANSWER_CACHE).map(|(_, b)| b.clone())
    }

    fn forget_answers(&self) {
        if let Ok(mut a) = self.answers.lock() {
            a.clear();
        }
    }
}

fn json_answer(body: bytes::Bytes) -> Response {
    let mut r = Response::new(axum::body::Body::from(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Serve status and history reads from a half-second cache, computing
/// each URI once however many clients ask at the same moment; any other
/// call that changes something clears the cache.
async fn answers(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let cacheable = req.method() == axum::http::Method::GET && (path.ends_with("/status") || path == "/api/v1/history");
    if !cacheable {
        let write = req.method() != axum::http::Method::GET;
        let r = next.run(req).await;
        if write {
            state.forget_answers();
        }
        return r;
    }
    let uri = req.uri().to_string();
    if let Some(b) = state.answer(&uri) {
        return json_answer(b);
    }
    let lock: Option<Arc<tokio::sync::Mutex<()>>> = state.computing.lock().ok().map(|mut c| {
        if c.len() > 10_000 {
            c.clear();
        }
        c.entry(uri.clone()).or_default().clone()
    });
    let Some(lock) = lock else { return next.run(req).await };
    let _one = lock.lock().await;
    if let Some(b) = state.answer(&uri) {
        return json_answer(b);
    }
    let r = next.run(req).await;
    if r.status() != StatusCode::OK {
        return r;
    }
    let (parts, body) = r.into_parts();
    match axum::body::to_bytes(body, 64 << 20).await {
        Ok(b) => {
            if let Ok(mut a) = state.answers.lock() {
                if a.len() > 10_000 {
                    a.clear();
                }
                a.insert(uri, (std::time::Instant::now(), b.clone()));
            }
            Response::from_parts(parts, axum::body::Body::from(b))
        }
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.engine.meta().ping().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

async fn openapi() -> Response {
    let mut r = axum::Json(api::ApiDoc::openapi()).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let now = now_micros();
    let leases = match state.engine.meta().leases().await {
        Ok(l) => l,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let held: Vec<(String, String, String)> = leases
        .into_iter()
        .filter(|l| l.expires_micros >= now)
        .filter_map(|l| Some((l.group, l.member, l.holder?)))
        .collect();
    let mut plugins = Vec::new();
    if let Ok(prepared) = state.prepared.lock() {
        for (group, (_, g, _)) in prepared.iter() {
            for p in g.plugins() {
                let i = p.info();
                plugins.push((group.clone(), format!("{} {}", i.name, i.version), p.stats()));
            }
        }
    }
    let mut text = state.metrics.render(&held, &plugins, &state.instance);
    let (agents, databases) =
        match (state.engine.meta().agents().await, state.engine.meta().agent_databases(None).await) {
            (Ok(a), Ok(d)) => (a, d),
            (Err(e), _) | (_, Err(e)) => return ApiError::from(e).into_response(),
        };
    let online: Vec<(String, bool)> = agents
        .iter()
        .map(|a| {
            let on = a.credential_hash.is_some()
                && a.last_contact_micros.is_some_and(|t| now - t < agents::OFFLINE_AFTER_MICROS);
            (a.name.clone(), on)
        })
        .collect();
    let reachable: Vec<(String, String, bool)> =
        databases.into_iter().map(|d| (d.agent, d.name, d.reachable)).collect();
    metrics::render_agents(&mut text, &online, &reachable);
    let mut r = text.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}

/// The HTTP routes.
pub fn router(state: Arc<AppState>) -> Router {
    use api::*;
    let protected = Router::new()
        .route("/api/v1/groups", get(list_groups).post(create_group))
        .route("/api/v1/groups/{group}", get(get_group).put(update_group).delete(delete_group))
        .route("/api/v1/groups/{group}/members", get(list_members).post(add_member))
        .route("/api/v1/groups/{group}/members/{member}", get(get_member).patch(update_member).delete(remove_member))
        .route("/api/v1/groups/{group}/members/{member}/reinit", post(crate::plugins::reinit))
        .route("/api/v1/groups/{group}/tables", get(get_tables).put(set_tables))
        .route("/api/v1/groups/{group}/schema", get(get_schema))
        .route("/api/v1/groups/{group}/sync", post(sync_now))
        .route("/api/v1/groups/{group}/cancel", post(cancel))
        .route("/api/v1/groups/{group}/status", get(status))
        .route("/api/v1/groups/{group}/conflicts", get(conflicts))
        .route("/api/v1/groups/{group}/quarantine", get(quarantine))
        .route("/api/v1/groups/{group}/conflicts/replay", post(crate::plugins::replay))
        .route("/api/v1/groups/{group}/quarantine/retry", post(crate::plugins::retry_quarantine))
        .route("/api/v1/groups/{group}/quarantine/discard", post(crate::plugins::discard_quarantine))
        .route(
            "/api/v1/plugins",
            get(crate::plugins::list_plugins)
                .post(crate::plugins::upload_plugin)
                // Components are larger than API bodies.
                .layer(DefaultBodyLimit::max(PLUGIN_LIMIT_BYTES)),
        )
        .route("/api/v1/plugins/{plugin}", get(crate::plugins::get_plugin).delete(crate::plugins::delete_plugin))
        .route("/api/v1/agents", get(crate::agents::list_agents).post(crate::agents::create_agent))
        .route("/api/v1/agents/{agent}", get(crate::agents::get_agent).delete(crate::agents::delete_agent))
        .route("/api/v1/agents/{agent}/regenerate-key", post(crate::agents::regenerate_key))
        .route("/api/v1/history", get(history))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{token}", delete(revoke_token))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), answers))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    let limit = state.options.body_limit_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        // The agent's key authenticates the join, not a token.
        .route("/api/v1/agent-join", post(crate::agents::join))
        .route("/api/v1/agent-heartbeat", post(crate::agents::heartbeat))
        .route(tunnel::CONNECT_PATH, get(tunnel::connect))
        .merge(protected)
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(problems))
        .with_state(state)
}

/// Serve until `shutdown` resolves: the API and the scheduler. Then stop
/// taking work, let the batches in flight finish, release the leases.
pub async fn serve(
    engine: Engine,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|cause| ServerError::Listen { addr: options.listen.to_string(), cause })?;
    serve_on(listener, engine, options, shutdown).await
}

/// [`serve`] on a listener already bound (`options.listen` is ignored).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    engine: Engine,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let tls = options.tls.as_ref().map(|(c, k)| tls::acceptor(c, k)).transpose()?;
    let state = AppState::new(engine, options);
    let singleton = single_instance(&state).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let scheduler = tokio::spawn(scheduler::run(state.clone(), stop_rx.clone()));
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    info!(%addr, instance = %state.instance, tls = tls.is_some(), "serving");
    let app = router(state.clone());
    let mut stop_http = stop_rx.clone();
    let stopped = async move {
        while !*stop_http.borrow() {
            if stop_http.changed().await.is_err() {
                break;
            }
        }
    };
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    match tls {
        None => axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(stopped)
            .await
            .map_err(|cause| ServerError::Listen { addr: addr.clone(), cause })?,
        Some(acceptor) => tls::serve(listener, acceptor, app, stopped).await,
    }
    info!("HTTP stopped; waiting for the syncs in flight");
    if let Err(e) = scheduler.await {
        warn!(error = %e, "the scheduler ended abnormally");
    }
    if let Some(h) = singleton {
        h.abort();
    }
    Ok(())
}

/// On a SQLite store, hold the store's lock file and the instance lease
/// (renewed in the background); refuse to start when another live instance
/// holds them. The lock file decides: the kernel releases it the moment its
/// holder dies, so a supervisor restarting a killed instance at once is not
/// turned away by the dead one's lease (it is taken over).
async fn single_instance(state: &Arc<AppState>) -> Result<Option<tokio::task::JoinHandle<()>>, ServerError> {
    if state.engine.meta().engine() != hubsync_core::EngineKind::Sqlite {
        return Ok(None);
    }
    let lock = match state.engine.meta().file() {
        Some(file) => Some(lock_store(file, &state.instance)?),
        None => None,
    };
    let ttl = state.options.lease_seconds.max(2) as i64 * 1_000_000;
    let take_over = lock.is_some();
    if let Some(other) = state.engine.meta().claim_instance(&state.instance, now_micros(), ttl, take_over).await? {
        return Err(ServerError::Busy(other));
    }
    let state = state.clone();
    Ok(Some(tokio::spawn(async move {
        // Held as long as this task runs (aborted at shutdown, which drops it).
        let _lock = lock;
        loop {
            tokio::time::sleep(std::time::Duration::from_micros(ttl as u64 / 3)).await;
            match state.engine.meta().claim_instance(&state.instance, now_micros(), ttl, take_over).await {
                Ok(None) => {}
                Ok(Some(other)) => warn!(%other, "another instance took this SQLite store"),
                Err(e) => warn!(error = %e, "renewing the instance lease failed"),
            }
        }
    })))
}

/// Take the exclusive lock of `FILE.lock` beside a SQLite store, writing
/// `instance` into it; `Busy` with the holder's name when a live process has it.
fn lock_store(file: &std::path::Path, instance: &str) -> Result<std::fs::File, ServerError> {
    use std::io::{Read, Seek, Write};
    let mut path = file.as_os_str().to_owned();
    path.push(".lock");
    let path = std::path::PathBuf::from(path);
    let io = |e: std::io::Error| ServerError::Invalid(format!("cannot lock {}: {e}", path.display()));
    let mut f =
        std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = f.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(ServerError::Busy(if holder.is_empty() {
                "its name is unknown".into()
            } else {
                holder.into()
            }));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    f.set_len(0).and_then(|()| f.rewind()).and_then(|()| writeln!(f, "{instance}")).map_err(io)?;
    Ok(f)
}

mod tls {
    //! HTTPS with rustls: an accept loop serving each connection with hyper.
    use std::path::Path;
    use std::sync::Arc;

    use axum::Router;
    use hyper_util::rt::TokioIo;
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tracing::debug;

    use crate::ServerError;

    pub(crate) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ServerError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .and_then(|i| i.collect::<Result<_, _>>())
            .map_err(|e| ServerError::Tls(format!("certificate {}: {e}", cert.display())))?;
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| ServerError::Tls(format!("private key {}: {e}", key.display())))?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ServerError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| ServerError::Tls(format!("certificate and key do not fit: {e}")))?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    pub(crate) async fn serve(
        listener: tokio::net::TcpListener,
        acceptor: TlsAcceptor,
        app: Router,
        stopped: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stopped);
        loop {
            let (tcp, peer) = tokio::select! {
                r = listener.accept() => match r { Ok(c) => c, Err(_) => continue },
                _ = &mut stopped => return,
            };
            let (acceptor, app) =
                (acceptor.clone(), app.clone().layer(axum::Extension(axum::extract::ConnectInfo(peer))));
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    debug!(%peer, "TLS handshake failed");
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .with_upgrades()
                    .await;
            });
        }
    }
}
