//! `hubsync serve`: the admin endpoint (a REST API under `/api/v1` with its
//! OpenAPI document, bearer tokens, health and Prometheus metrics) and the
//! lease scheduler that lets several instances share one metadata store.
//!
//! It calls the engine and the metadata store, never SQL. Its handlers
//! take and return `hubsync-api`'s types; `hubsync-client` is the other
//! end (the CLI's calls, the agent's connection).
//!
//! Map: [`resources`] (one module per REST resource: routes, handlers,
//! OpenAPI part) over [`extract`] (caller, role, path, query and body
//! extractors answering problem+json) and [`definitions`] (group
//! definitions loaded, stored, masked); [`http`] (the router, its layers,
//! health, metrics, the document from [`openapi`]); [`state`] (the shared
//! state and its caches); [`serve`] and [`tls`]; [`scheduler`] (leases,
//! progress written into them); [`events`] (`/api/v1/events`, read from the
//! metadata); `ui` (the dashboard in front of the API, called in process);
//! [`tunnel`] and [`links`] (the agents' connections); [`auth`] (tokens);
//! [`views`] (the API's views of metadata records, built for the server and the CLI alike).

pub mod auth;
mod definitions;
pub mod events;
pub mod extract;
mod follow;
mod http;
mod links;
mod metrics;
pub mod openapi;
pub mod problem;
mod resources;
mod scheduler;
mod serve;
pub mod state;
mod tls;
mod tunnel;
mod ui;
pub mod views;

use std::time::{SystemTime, UNIX_EPOCH};

use hubsync_engine::{Engine, EngineError};

pub use auth::Role;
pub use http::router;
pub use serve::{serve, serve_on};
pub use state::{AppState, ServeOptions};

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
}

/// The largest plugin component accepted, bytes.
pub const PLUGIN_LIMIT_BYTES: usize = 64 << 20;

/// How long a status or history answer is served again (a poll storm costs
/// one query per URI and interval); writes through this instance clear it.
pub const ANSWER_CACHE: std::time::Duration = std::time::Duration::from_millis(500);

/// How long a checked token is trusted without asking the store again.
pub const TOKEN_CACHE: std::time::Duration = std::time::Duration::from_secs(2);

/// µs since the Unix epoch, now.
pub fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or_default()
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
        if definitions::put(meta, config, current.as_ref().map(|c| c.1)).await?.is_some() {
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
