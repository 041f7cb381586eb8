//! `/api/v1/events`: a server-sent-events stream of syncs starting,
//! progressing and ending, history entries, group and agent changes.
//!
//! Every event comes from the shared metadata database, not from this
//! instance's memory: a sync's holder writes its progress into its lease
//! each second, and one watcher per instance reads leases, new history
//! entries, group revisions and agents twice a second while anyone
//! listens, and fans what changed out to every listener. So every instance
//! of a deployment serves the same events, and a page whose instance died
//! reconnects to another and carries on (with `Last-Event-ID`, it gets the
//! history entries it missed).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream, StreamExt};
use hubsync_api::{Event, Running, TableProgress};
use hubsync_connectors::meta::{HistoryFilter, LeaseHolder};
use hubsync_engine::SyncControl;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};
use tracing::warn;

use crate::extract::Caller;
use crate::problem::ApiError;
use crate::resources::agents::online;
use crate::state::AppState;
use crate::{ServerError, now_micros};

/// How often the watcher reads the metadata while someone listens.
const POLL: Duration = Duration::from_millis(500);

/// History entries replayed to a client that reconnects, at most.
const REPLAY_LIMIT: i64 = 1000;

/// What a sync's holder writes into its lease each second.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoredProgress {
    /// Changes settled so far.
    changes_done: u64,
    /// The changes that waited when it started.
    changes_total: Option<u64>,
    /// Per table.
    tables: Vec<TableProgress>,
}

impl StoredProgress {
    /// The progress of the syncs under `control`, as stored.
    pub(crate) fn of(control: &SyncControl) -> String {
        let p = StoredProgress {
            changes_done: control.changes(),
            changes_total: control.total(),
            tables: control
                .tables()
                .into_iter()
                .map(|t| TableProgress { table: t.table, done: t.done, total: t.total })
                .collect(),
        };
        serde_json::to_string(&p).unwrap_or_default()
    }
}

/// The running sync a lease describes, if its holder is alive.
pub(crate) fn running(lease: &LeaseHolder, now: i64) -> Option<Running> {
    let instance = lease.holder.clone().filter(|_| lease.expires_micros >= now)?;
    let p: StoredProgress = lease.progress.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
    Some(Running {
        group: lease.group.clone(),
        member: lease.member.clone(),
        instance,
        since_micros: lease.started_micros.unwrap_or(now),
        changes_done: p.changes_done,
        changes_total: p.changes_total,
        tables: p.tables,
    })
}

/// An event as sent: encoded once, however many listen (with 200
/// listeners, encoding per listener was most of the stream's cost).
type Sent = Arc<SseEvent>;

/// What the watcher saw last; `None` fields: not read yet since someone
/// started listening (the first reading sets them without sending).
#[derive(Default)]
struct Seen {
    running: Option<HashMap<(String, String), Running>>,
    history: Option<i64>,
    groups: Option<HashMap<String, i64>>,
    agents: Option<HashMap<String, bool>>,
}

/// This instance's fan-out of events to its listeners.
pub struct EventHub {
    tx: broadcast::Sender<Sent>,
    /// The syncs running as of the last reading (for late listeners).
    running: Mutex<Vec<Running>>,
    /// Turns true when the server stops: streams end, so the graceful
    /// shutdown does not wait for them.
    stop: watch::Sender<bool>,
    /// True while the watcher's readings are current (someone listens and
    /// it has read at least once): a new listener's snapshot is taken from
    /// them, so nothing falls between its snapshot and its first event.
    warm: watch::Sender<bool>,
    /// Wakes the watcher (a listener arrived).
    wake: tokio::sync::Notify,
}

impl Default for EventHub {
    fn default() -> Self {
        EventHub {
            tx: broadcast::channel(1024).0,
            running: Mutex::new(Vec::new()),
            stop: watch::channel(false).0,
            warm: watch::channel(false).0,
            wake: tokio::sync::Notify::new(),
        }
    }
}

impl EventHub {
    /// End every stream (the server is stopping).
    pub fn close(&self) {
        let _ = self.stop.send(true);
    }

    fn send(&self, id: Option<i64>, e: Event) {
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(Arc::new(sse(id, &e)));
        }
    }
}

/// Read the metadata twice a second while anyone listens; send what changed.
pub(crate) async fn watch(state: Arc<AppState>) {
    let hub = &state.events;
    let mut stop = hub.stop.subscribe();
    let mut seen = Seen::default();
    loop {
        if *stop.borrow() {
            return;
        }
        if hub.tx.receiver_count() == 0 {
            seen = Seen::default();
            hub.warm.send_replace(false);
        } else {
            match look(&state, &mut seen).await {
                Ok(()) => {
                    hub.warm.send_replace(true);
                }
                Err(e) => warn!(error = %e, "reading the metadata for the events stream failed; retrying"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = hub.wake.notified() => {}
            _ = stop.changed() => {}
        }
    }
}

async fn look(state: &AppState, seen: &mut Seen) -> Result<(), ServerError> {
    let hub = &state.events;
    let meta = state.engine.meta();
    let now = now_micros();

    let leases = meta.leases().await?;
    let live: HashMap<(String, String), Running> =
        leases.iter().filter_map(|l| running(l, now)).map(|r| ((r.group.clone(), r.member.clone()), r)).collect();
    if let Some(before) = &seen.running {
        for (k, r) in &live {
            match before.get(k) {
                None => hub.send(None, Event::SyncStarted { sync: r.clone() }),
                Some(b) if b.instance != r.instance => hub.send(None, Event::SyncStarted { sync: r.clone() }),
                Some(b) if b != r => hub.send(None, Event::Progress { sync: r.clone() }),
                Some(_) => {}
            }
        }
        for (k, b) in before {
            if live.get(k).is_none_or(|r| r.instance != b.instance) {
                let (group, member) = k.clone();
                hub.send(None, Event::SyncEnded { group, member, instance: b.instance.clone() });
            }
        }
    }
    if let Ok(mut r) = hub.running.lock() {
        *r = live.values().cloned().collect();
    }
    seen.running = Some(live);

    match seen.history {
        None => {
            let newest = meta.history(&HistoryFilter { limit: 1, ..HistoryFilter::default() }).await?;
            seen.history = Some(newest.entries.first().map(|e| e.0).unwrap_or(0));
        }
        Some(last) => {
            for entry in history_after(state, last).await? {
                seen.history = Some(entry.id);
                hub.send(Some(entry.id), Event::History { entry });
            }
        }
    }

    let groups: HashMap<String, i64> = meta.spec_revisions().await?.into_iter().collect();
    if let Some(before) = &seen.groups {
        for (g, rev) in &groups {
            if before.get(g) != Some(rev) {
                hub.send(None, Event::GroupChanged { group: g.clone(), revision: Some(*rev) });
            }
        }
        for g in before.keys().filter(|g| !groups.contains_key(*g)) {
            hub.send(None, Event::GroupChanged { group: g.clone(), revision: None });
        }
    }
    seen.groups = Some(groups);

    let agents: HashMap<String, bool> = meta.agents().await?.iter().map(|a| (a.name.clone(), online(a, now))).collect();
    if let Some(before) = &seen.agents {
        for (a, on) in &agents {
            if before.get(a) != Some(on) {
                hub.send(None, Event::AgentChanged { agent: a.clone(), online: Some(*on) });
            }
        }
        for a in before.keys().filter(|a| !agents.contains_key(*a)) {
            hub.send(None, Event::AgentChanged { agent: a.clone(), online: None });
        }
    }
    seen.agents = Some(agents);
    Ok(())
}

/// History entries after `id`, oldest first (the newest [`REPLAY_LIMIT`]).
async fn history_after(state: &AppState, id: i64) -> Result<Vec<hubsync_api::HistoryEntry>, ServerError> {
    let filter = HistoryFilter { after_id: Some(id), limit: REPLAY_LIMIT, ..HistoryFilter::default() };
    let mut page = crate::views::history_page(state.engine.meta().history(&filter).await?).entries;
    page.reverse();
    Ok(page)
}

/// This resource's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/events", get(events))
}

/// This resource's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(events), components(schemas(Event)))]
pub(crate) struct Doc;

fn sse(id: Option<i64>, e: &Event) -> SseEvent {
    let mut out = SseEvent::default().event(e.name());
    out = match serde_json::to_string(e) {
        Ok(json) => out.data(json),
        Err(err) => out.comment(format!("unserializable event: {err}")),
    };
    match id {
        Some(id) => out.id(id.to_string()),
        None => out,
    }
}

/// Live events as server-sent events (`text/event-stream`): first a
/// `snapshot` of the syncs running now, then `sync-started`, `progress`
/// (at most one a second per sync), `sync-ended`, `history` (id: the entry's
/// id; send `Last-Event-ID` to get the ones missed), `group-changed`,
/// `agent-changed`. Every instance serves the same events. A reader token is
/// enough; a browser signed in to the dashboard is let in by its cookie.
#[utoipa::path(get, path = "/api/v1/events", tag = "sync",
    params(("Last-Event-ID" = Option<i64>, Header, description = "The id of the last history event received")),
    responses((status = 200, description = "The event stream; each message's data is an `Event` as JSON",
        content_type = "text/event-stream", body = hubsync_api::EventMessage)))]
async fn events(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let rx = state.events.tx.subscribe();
    // Let the watcher take its readings (at once if it was idle), and
    // start from them: whatever changes after them reaches `rx`.
    state.events.wake.notify_one();
    let mut warm = state.events.warm.subscribe();
    let current = tokio::time::timeout(Duration::from_secs(2), warm.wait_for(|w| *w)).await.is_ok_and(|r| r.is_ok());
    let running = if current {
        state.events.running.lock().map(|r| r.clone()).unwrap_or_default()
    } else {
        let now = now_micros();
        state.engine.meta().leases().await?.iter().filter_map(|l| running(l, now)).collect()
    };
    let mut first: Vec<(Option<i64>, Event)> = vec![(None, Event::Snapshot { running })];
    let missed = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    if let Some(id) = missed {
        for entry in history_after(&state, id).await? {
            first.push((Some(entry.id), Event::History { entry }));
        }
    }
    let stop = state.events.stop.subscribe();
    let hub = state.clone();
    let live = stream::unfold((rx, stop, hub), |(mut rx, mut stop, hub)| async move {
        if *stop.borrow() {
            return None;
        }
        tokio::select! {
            got = rx.recv() => match got {
                Ok(sent) => Some(((*sent).clone(), (rx, stop, hub))),
                // Fell behind: what it missed is summed up by a snapshot.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let running = hub.events.running.lock().map(|r| r.clone()).unwrap_or_default();
                    Some((sse(None, &Event::Snapshot { running }), (rx, stop, hub)))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            },
            _ = stop.changed() => None,
        }
    });
    let all = stream::iter(first.into_iter().map(|(id, e)| sse(id, &e))).chain(live).map(Ok);
    Ok(Sse::new(all).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
