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

use hubsync_connectors::meta::Side;
use hubsync_core::{ChangeWatch, Connector, ConnectorError, TableSchema};
use tokio::sync::watch as signal;
use tracing::{debug, info, warn};

use crate::group::{GroupReport, Member};
use crate::{Engine, Group};

/// The longest pause before a failed watch is opened again.
const MOST_BACKOFF: Duration = Duration::from_secs(30);

/// The shortest period between two questions to a member that cannot be
/// watched (behind an agent, each question crosses its link).
const ASK_AT_MOST: Duration = Duration::from_secs(1);

/// Changes counted per table when asking (enough to see the count move).
const ASK_CAP: u64 = 1_000;

/// Watch `group`'s databases until `stop` turns true, calling `wake` with
/// the names of the members that should sync now (several changes close
/// together fold into one call per database). Returns at once when the
/// group does not follow changes. A member that cannot be watched (behind
/// an agent) is asked instead how many changes wait after its anchors.
pub async fn follow(engine: &Engine, group: &Group, wake: &(dyn Fn(Vec<String>) + Sync), stop: signal::Receiver<bool>) {
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
        watches.push(Watched {
            what: "the hub".into(),
            db: group.hub.as_ref(),
            tables,
            wakes: downloaders,
            member: None,
        });
    }
    for m in group.members.iter().filter(|m| m.config.direction.uploads()) {
        let tables = m.views.iter().map(|v| v.member_schema.clone()).collect();
        watches.push(Watched {
            what: format!("member {}", m.config.name),
            db: m.db.as_ref(),
            tables,
            wakes: vec![m.config.name.clone()],
            member: Some(m),
        });
    }
    let ctx = Context { engine, group, own: &own, poll, wake };
    let runs = watches.iter().map(|w| w.run(&ctx, stop.clone()));
    crate::schedule::join_ordered(runs.collect()).await;
}

/// What every watch of a group shares.
struct Context<'a> {
    engine: &'a Engine,
    group: &'a Group,
    /// The group's origin prefix (`g/`).
    own: &'a str,
    poll: Duration,
    wake: &'a (dyn Fn(Vec<String>) + Sync),
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
    /// The member this database is (`None`: the hub).
    member: Option<&'a Member>,
}

impl Watched<'_> {
    /// Watch until `stop`; a watch that fails is opened again after a
    /// pause that doubles up to [`MOST_BACKOFF`] (the interval still runs).
    async fn run(&self, ctx: &Context<'_>, mut stop: signal::Receiver<bool>) {
        let group = &ctx.group.config.name;
        let mut backoff = Duration::from_secs(1);
        while !*stop.borrow() {
            let failed = tokio::select! {
                e = self.watch(ctx) => e,
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
    /// ended it, or `None` when this database can be neither watched nor
    /// asked.
    async fn watch(&self, ctx: &Context<'_>) -> Option<ConnectorError> {
        let group = &ctx.group.config.name;
        let mut w: Box<dyn ChangeWatch> = match self.db.watch(&self.tables, ctx.own, ctx.poll).await {
            Ok(Some(w)) => w,
            Ok(None) => return self.ask(ctx).await,
            Err(e) => return Some(e),
        };
        info!(%group, database = %self.what, how = %w.how(), "following changes");
        // What committed between the last sync's read and the watch's
        // opening is behind the watch: a sync now takes it.
        (ctx.wake)(self.wakes.clone());
        loop {
            if let Err(e) = w.changed().await {
                return Some(e);
            }
            debug!(%group, database = %self.what, members = ?self.wakes, "a change: waking");
            (ctx.wake)(self.wakes.clone());
        }
    }

    /// For a member that cannot be watched: ask, every poll period (at
    /// least a second), how many changes wait after its anchors, and wake
    /// it when the count moves. What its own sync wrote there counts too
    /// until that sync has read it back, so a count moving while it runs
    /// costs one sync that finds little, never a missed change.
    async fn ask(&self, ctx: &Context<'_>) -> Option<ConnectorError> {
        let group = &ctx.group.config.name;
        let Some(m) = self.member else {
            info!(%group, database = %self.what, "this database cannot be watched; it syncs at the interval");
            return None;
        };
        let every = ctx.poll.max(ASK_AT_MOST);
        info!(%group, database = %self.what, how = %format!("asking what waits every {} ms", every.as_millis()),
              "following changes");
        let mut last: Option<u64> = None;
        loop {
            let state = match ctx.engine.meta().member_state(group, &m.config.name).await {
                Ok(s) => s,
                Err(e) => return Some(e),
            };
            let anchors: Vec<_> = ctx.group.tables.iter().map(|t| state.anchor(&t.name, Side::Member)).collect();
            let asks: Vec<(&TableSchema, &hubsync_core::Anchor)> =
                m.views.iter().map(|v| &v.member_schema).zip(anchors.iter()).collect();
            let counts = match self.db.pending_many(&asks, ASK_CAP).await {
                Ok(c) => c,
                Err(e) => return Some(e),
            };
            if counts.iter().all(Option::is_none) {
                info!(%group, database = %self.what, "this database cannot say what waits (an older agent); \
                      it syncs at the interval");
                return None;
            }
            let waiting: u64 = counts.iter().map(|c| c.unwrap_or(0)).sum();
            if waiting > 0 && last != Some(waiting) {
                debug!(%group, database = %self.what, waiting, "changes wait: waking");
                (ctx.wake)(self.wakes.clone());
            }
            last = Some(waiting);
            tokio::time::sleep(every).await;
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
