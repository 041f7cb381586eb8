//! The server's shared state: the engine, the scheduler's wake-up, this
//! instance's running syncs, and the caches that spare the metadata store
//! (checked tokens, prepared groups, recent answers).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hubsync_engine::{Engine, Group, SyncControl};
use tokio::sync::Notify;

use crate::auth::{self, Role};
use crate::events::EventHub;
use crate::extract::Caller;
use crate::links::AgentLinks;
use crate::metrics::Metrics;
use crate::{ANSWER_CACHE, ServerError, TOKEN_CACHE, now_micros};

/// How often a group with unreachable members is prepared again.
const REPREPARE: std::time::Duration = std::time::Duration::from_secs(20);

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
    /// Wakes the followers (a definition was stored: follow it, or stop).
    pub(crate) definitions: Notify,
    /// This instance's name.
    pub instance: String,
    pub(crate) options: ServeOptions,
    pub(crate) metrics: Metrics,
    running: Mutex<HashMap<(String, String), Arc<SyncControl>>>,
    /// Tokens checked lately: SHA-256 of the presented text → role, name,
    /// when checked. Spares the store a lookup per request; a revocation
    /// through this instance clears it, through another takes effect
    /// within [`TOKEN_CACHE`].
    tokens: Mutex<HashMap<String, (Role, String, std::time::Instant)>>,
    /// Each group prepared at a revision (a std mutex: held only to look).
    pub(crate) prepared: Mutex<HashMap<String, Prepared>>,
    /// Held while preparing, so this instance prepares one group at a time.
    preparing: tokio::sync::Mutex<()>,
    /// Recent answers of the busiest reads (status, history), by URI.
    pub(crate) answers: Mutex<HashMap<String, (std::time::Instant, bytes::Bytes)>>,
    /// One computation per URI at a time: concurrent misses wait for it.
    pub(crate) computing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The agents connected to this instance (the engine opens
    /// `agent://` URLs through them).
    pub links: Arc<AgentLinks>,
    /// The events stream's fan-out to this instance's listeners.
    pub events: EventHub,
    /// The key dashboard sessions are signed with (set when serving):
    /// a signed-in browser's cookie opens the events stream.
    pub session_key: std::sync::OnceLock<hubsync_dashboard::SessionKey>,
}

impl AppState {
    /// State for `engine` under `options`.
    pub fn new(engine: Engine, options: ServeOptions) -> Arc<AppState> {
        let links = Arc::new(AgentLinks::default());
        Arc::new(AppState {
            engine: Arc::new(engine.with_opener(links.clone())),
            links,
            wake: Notify::new(),
            definitions: Notify::new(),
            instance: options.instance.clone(),
            options,
            metrics: Metrics::default(),
            running: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            prepared: Mutex::new(HashMap::new()),
            preparing: tokio::sync::Mutex::new(()),
            answers: Mutex::new(HashMap::new()),
            computing: Mutex::new(HashMap::new()),
            events: EventHub::default(),
            session_key: std::sync::OnceLock::new(),
        })
    }

    pub(crate) fn track(&self, group: &str, member: &str, control: Option<Arc<SyncControl>>) {
        if let Ok(mut r) = self.running.lock() {
            let key = (group.to_owned(), member.to_owned());
            match control {
                Some(c) => r.insert(key, c),
                None => r.remove(&key),
            };
        }
    }

    /// Changes moved so far by this instance's running sync of a member,
    /// and the total it grows toward when known.
    pub fn progress(&self, group: &str, member: &str) -> Option<(u64, Option<u64>)> {
        let r = self.running.lock().ok()?;
        r.get(&(group.to_owned(), member.to_owned())).map(|c| (c.changes(), c.total()))
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

    pub(crate) fn cancel_local_all(&self) {
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

    pub(crate) async fn caller(&self, presented: &str) -> Result<Option<Caller>, ServerError> {
        let key = auth::fingerprint(presented);
        if let Ok(t) = self.tokens.lock()
            && let Some((role, name, at)) = t.get(&key)
            && at.elapsed() < TOKEN_CACHE
        {
            return Ok(Some(Caller { role: *role, name: name.clone() }));
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
        Ok(Some(Caller { role, name }))
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

impl AppState {
    pub(crate) fn answer(&self, uri: &str) -> Option<bytes::Bytes> {
        let a = self.answers.lock().ok()?;
        a.get(uri).filter(|(at, _)| at.elapsed() < ANSWER_CACHE).map(|(_, b)| b.clone())
    }

    /// Forget the cached answers a write to `path` may have changed: when
    /// the path is a group's (`/api/v1/groups/G/…`), those about group G
    /// and the history of every group; else all of them.
    pub(crate) fn forget_answers_after(&self, path: &str) {
        let Ok(mut a) = self.answers.lock() else { return };
        match crate::http::group_of_path(path) {
            Some(group) => a.retain(|uri, _| !crate::http::answer_concerns(uri, &group)),
            None => a.clear(),
        }
    }
}
