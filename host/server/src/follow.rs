//! Following changes under `serve`: for each group with `follow_changes`,
//! the engine's watches on its databases mark the members they concern
//! due now in the shared lease table, and the scheduler (of whichever
//! instance claims them first) syncs them. Every instance follows every
//! such group; marking a member due twice costs nothing more.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::AppState;

/// How often the followers are matched to the stored definitions when this
/// instance stored none (another instance may have: a group created,
/// changed or removed there is followed, or not, after at most this).
const RECHECK: Duration = Duration::from_secs(5);

/// Run the followers until `stop` turns true.
pub(crate) async fn run(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    // Per group: the revision followed and its task.
    let mut running: HashMap<String, (i64, JoinHandle<()>)> = HashMap::new();
    while !*stop.borrow() {
        match state.engine.meta().specs().await {
            Ok(specs) => {
                let mut wanted = HashMap::new();
                for (name, json, revision) in specs {
                    match serde_json::from_str::<hubsync_core::GroupConfig>(&json) {
                        Ok(c) if c.follow_changes => {
                            wanted.insert(name, revision);
                        }
                        Ok(_) => {}
                        Err(e) => debug!(group = %name, error = %e, "a stored definition does not parse"),
                    }
                }
                running.retain(|name, (revision, task)| {
                    let keep = wanted.get(name) == Some(revision) && !task.is_finished();
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for (name, revision) in wanted {
                    if let std::collections::hash_map::Entry::Vacant(e) = running.entry(name) {
                        let task = tokio::spawn(follow_group(state.clone(), e.key().clone(), stop.clone()));
                        e.insert((revision, task));
                    }
                }
            }
            Err(e) => warn!(error = %e, "reading the group definitions to follow failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(RECHECK) => {}
            _ = state.definitions.notified() => {}
            _ = stop.changed() => {}
        }
    }
    for (_, (_, task)) in running {
        task.abort();
    }
}

/// Follow one group as prepared at its current revision. A group with
/// members that could not be prepared (unreachable), or with a database
/// found replaced, is looked at again every [`RECHECK`]: once it is
/// prepared anew with them, its watches follow that one.
async fn follow_group(state: Arc<AppState>, group: String, stop: watch::Receiver<bool>) {
    let mut prepared = match state.prepared(&group).await {
        Ok(g) => g,
        Err(e) => {
            warn!(%group, error = %e, "preparing the group to follow its changes failed; retrying");
            tokio::time::sleep(RECHECK).await;
            return;
        }
    };
    let wake = |members: Vec<String>| {
        let (state, group) = (state.clone(), group.clone());
        tokio::spawn(async move { due_now(&state, &group, &members).await });
    };
    loop {
        let renewed = {
            let watching = hubsync_engine::follow(&state.engine, &prepared, &wake, stop.clone());
            let mut watching = std::pin::pin!(watching);
            loop {
                tokio::select! {
                    // Returns only at stop (or for a group that does not
                    // follow): wait to be aborted rather than be started again.
                    _ = &mut watching => std::future::pending::<()>().await,
                    _ = tokio::time::sleep(RECHECK) => {}
                }
                let missing = prepared.unprepared().count();
                if missing == 0 && !prepared.is_stale() {
                    continue;
                }
                match state.prepared(&group).await {
                    Ok(now)
                        if !Arc::ptr_eq(&now, &prepared)
                            && (now.unprepared().count() < missing || prepared.is_stale()) =>
                    {
                        break now;
                    }
                    Ok(_) => {}
                    Err(e) => debug!(%group, error = %e, "preparing the group again failed; following it as it was"),
                }
            }
        };
        debug!(%group, "following the group as prepared again");
        prepared = renewed;
    }
}

/// Mark `members` of `group` due now (one statement for several: the
/// group's members that have nothing waiting sync in a query per
/// database) and wake this instance's scheduler.
async fn due_now(state: &AppState, group: &str, members: &[String]) {
    let one = match members {
        [m] => Some(m.as_str()),
        _ => None,
    };
    match state.engine.meta().request_sync(group, one).await {
        Ok(_) => state.wake.notify_one(),
        Err(e) => warn!(%group, error = %e, "marking members due after a change failed; the interval syncs them"),
    }
}
