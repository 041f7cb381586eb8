//! Following changes (`follow_changes`): a watch on each of a group's
//! databases that someone reads (the hub when a member downloads, a member
//! when it uploads) says which members should sync now, so a change
//! reaches the others within about a second instead of at the interval.
//!
//! A watch ignores the group's own writes (origins `g/…`): the engine knows
//! of those without asking. A download into a member needs nothing more;
//! an upload into the hub concerns the other members, which
//! [`GroupReport::uploaded`] tells the scheduler after the session.

use std::time::Duration;

use hubsync_core::{ChangeWatch, Connector, TableSchema};
use tokio::sync::watch as signal;
use tracing::{debug, info, warn};

use crate::Group;
use crate::group::GroupReport;

/// The longest pause before a failed watch is opened again.
const MOST_BACKOFF: Duration = Duration::from_secs(30);

/// Watch `group`'s databases until `stop` turns true, calling `wake` with
/// the names of the members that should sync now (several changes close
/// together fold into one call per database). Returns at once when the
/// group does not follow changes.
pub async fn follow(group: &Group, wake: &(dyn Fn(Vec<String>) + Sync), stop: signal::Receiver<bool>) {
    if !group.config.follow_changes {
        return;
    }
    let own = format!("{}/", group.config.name);
    let poll = Duration::from_millis(group.config.change_poll_milliseconds);
    let downloaders: Vec<String> =
        group.members.iter().filter(|m| m.config.direction.downloads()).map(|m| m.config.name.clone()).collect();
    let mut watches = Vec::new();
    if !downloaders.is_empty() {
        let tables: Vec<TableSchema> = group.tables.iter().map(|t| t.hub_schema.clone()).collect();
        watches.push(Watched { what: "the hub".into(), db: group.hub.as_ref(), tables, wakes: downloaders });
    }
    for m in group.members.iter().filter(|m| m.config.direction.uploads()) {
        let tables = m.views.iter().map(|v| v.member_schema.clone()).collect();
        watches.push(Watched {
            what: format!("member {}", m.config.name),
            db: m.db.as_ref(),
            tables,
            wakes: vec![m.config.name.clone()],
        });
    }
    let runs = watches.iter().map(|w| w.run(&group.config.name, &own, poll, wake, stop.clone()));
    crate::schedule::join_ordered(runs.collect()).await;
}

/// One database a group follows.
struct Watched<'a> {
    /// How logs name it.
    what: String,
    db: &'a dyn Connector,
    /// Its tables, as it has them.
    tables: Vec<TableSchema>,
    /// The members a change here concerns.
    wakes: Vec<String>,
}

impl Watched<'_> {
    /// Watch until `stop`; a watch that fails is opened again after a
    /// pause that doubles up to [`MOST_BACKOFF`] (the interval still runs).
    async fn run(
        &self,
        group: &str,
        own: &str,
        poll: Duration,
        wake: &(dyn Fn(Vec<String>) + Sync),
        mut stop: signal::Receiver<bool>,
    ) {
        let mut backoff = Duration::from_secs(1);
        while !*stop.borrow() {
            let failed = tokio::select! {
                e = self.watch(group, own, poll, wake) => e,
                _ = stop.changed() => return,
            };
            match failed {
                Some(e) => warn!(%group, database = %self.what, error = %e, retry_seconds = backoff.as_secs(),
                                 "watching for changes failed; the interval still syncs"),
                None => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return,
            }
            backoff = (backoff * 2).min(MOST_BACKOFF);
        }
    }

    /// Open the watch and wake on each change; returns the error that
    /// ended it, or `None` when this database cannot be watched.
    async fn watch(
        &self,
        group: &str,
        own: &str,
        poll: Duration,
        wake: &(dyn Fn(Vec<String>) + Sync),
    ) -> Option<hubsync_core::ConnectorError> {
        let mut w: Box<dyn ChangeWatch> = match self.db.watch(&self.tables, own, poll).await {
            Ok(Some(w)) => w,
            Ok(None) => {
                info!(%group, database = %self.what, "this database cannot be watched; it syncs at the interval");
                return None;
            }
            Err(e) => return Some(e),
        };
        info!(%group, database = %self.what, how = %w.how(), "following changes");
        // What committed between the last sync's read and the watch's
        // opening is behind the watch: a sync now takes it.
        wake(self.wakes.clone());
        loop {
            if let Err(e) = w.changed().await {
                return Some(e);
            }
            debug!(%group, database = %self.what, members = ?self.wakes, "a change: waking");
            wake(self.wakes.clone());
        }
    }
}

impl GroupReport {
    /// Whether a session wrote rows into the hub: with `follow_changes`,
    /// the other members should sync now (a watch ignores the group's own
    /// writes).
    pub fn uploaded(&self) -> bool {
        self.members.iter().flat_map(|m| &m.tables).any(|t| t.rows_up > 0)
    }
}
