//! The scheduler: each group with an interval syncs on it, and a group
//! that follows changes also when they happen, until stopped.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::watch as signal;
use tracing::{info, warn};

use crate::{Engine, Group, GroupReport};

/// Sync every group that has `interval_seconds` on its interval (and
/// every group with `follow_changes` when a change concerns it) until
/// `stop` turns true, calling `on_report` after each sync. A group's
/// members sync one after another (or up to the engine's member
/// concurrency at once), so one member never has two syncs at once; a
/// sync that overruns the interval delays the next one rather
/// than overlapping it. Groups run concurrently. A group with members that
/// could not be prepared is prepared again before each of its syncs, so a
/// member that was unreachable joins when it comes back.
pub async fn watch(
    engine: &Engine,
    groups: &[Group],
    mut stop: signal::Receiver<bool>,
    on_report: &(dyn Fn(&GroupReport) + Sync),
) {
    let runs = groups.iter().filter(|g| g.config.interval_seconds.is_some() || g.config.follow_changes);
    let mut tasks = Vec::new();
    for group in runs {
        let stop = stop.clone();
        tasks.push(run_group(engine, group, stop, on_report));
    }
    if tasks.is_empty() {
        info!("no group has interval_seconds or follow_changes; nothing to watch");
        return;
    }
    let all = join_all(tasks);
    tokio::select! {
        _ = all => {}
        _ = async { while !*stop.borrow() { if stop.changed().await.is_err() { break; } } } => {}
    }
}

/// Sync `group` at its interval (the first time at once) and, with
/// `follow_changes`, whenever a watch on its databases sees a change or
/// a sync of it wrote into the hub; until `stop` turns true.
async fn run_group(
    engine: &Engine,
    group: &Group,
    mut stop: signal::Receiver<bool>,
    on_report: &(dyn Fn(&GroupReport) + Sync),
) {
    let every = group.config.interval_seconds.map(Duration::from_secs);
    let woken = Notify::new();
    // Every wake syncs the whole group: a member with nothing waiting
    // costs a query per database.
    let wake = |_members: Vec<String>| woken.notify_one();
    let follow_stop = stop.clone();
    // The group as prepared again, when that brought members in (they were
    // unreachable at start) or replaced a database: its watches follow
    // that one from then on.
    let (regrouped, mut regroup) = signal::channel::<Option<Arc<Group>>>(None);
    let following = async {
        loop {
            let current = regroup.borrow_and_update().clone();
            let watching = async {
                crate::follow::follow(engine, current.as_deref().unwrap_or(group), &wake, follow_stop.clone()).await;
                std::future::pending::<()>().await
            };
            tokio::select! {
                _ = watching => {}
                changed = regroup.changed() => {
                    if changed.is_err() {
                        std::future::pending::<()>().await
                    }
                }
            }
        }
    };
    let syncing = async {
        let mut ticker = every.map(|e| {
            let mut t = tokio::time::interval(e);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        // The group prepared again, while some member could not be
        // prepared (unreachable at start, say): it joins once it can.
        let mut fresh: Option<Arc<Group>> = None;
        let mut first = true;
        // Changes held back behind a transaction still open (anywhere on
        // a PostgreSQL server) raise no new notification when it ends: a
        // followed group whose sync left some asks again after a poll
        // (a second at least: a long transaction would otherwise make it
        // sync the whole group at every poll).
        let mut again_in: Option<Duration> = None;
        loop {
            if !std::mem::take(&mut first) {
                tokio::select! {
                    _ = async { match ticker.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending().await } } => {}
                    _ = woken.notified() => {}
                    _ = async { match again_in { Some(d) => tokio::time::sleep(d).await, None => std::future::pending().await } } => {}
                    _ = stop.changed() => return,
                }
            } else if let Some(t) = ticker.as_mut() {
                t.tick().await; // an interval's first tick is at once
            }
            if *stop.borrow() {
                return;
            }
            let was = fresh.as_deref().unwrap_or(group);
            if was.needs_preparing() {
                match engine.prepare(&group.config).await {
                    Ok(g) => {
                        // Watches opened again only when something changed
                        // for them: a member still unreachable would
                        // otherwise reopen them (and sync) at every sync.
                        let follow_again = g.members.len() > was.members.len() || was.is_stale();
                        let g = Arc::new(g);
                        if follow_again && group.config.follow_changes {
                            regrouped.send_replace(Some(g.clone()));
                        }
                        fresh = Some(g);
                    }
                    Err(e) => warn!(group = %group.config.name, error = %e, "preparing the group again failed"),
                }
            }
            match engine.sync_group(fresh.as_deref().unwrap_or(group), None).await {
                Ok(report) => {
                    // Rows written into the hub concern the members synced
                    // before the one that uploaded them: another round.
                    if group.config.follow_changes && report.uploaded() {
                        woken.notify_one();
                    }
                    again_in = (group.config.follow_changes && report.pending())
                        .then(|| Duration::from_millis(group.config.change_poll_milliseconds.max(1000)));
                    on_report(&report)
                }
                Err(e) => warn!(group = %group.config.name, error = %e, "sync failed"),
            }
        }
    };
    tokio::select! {
        _ = following => {}
        _ = syncing => {}
    }
}

/// Run futures to completion concurrently on this task; their outputs in order.
pub(crate) async fn join_ordered<T, F: std::future::Future<Output = T>>(futures: Vec<F>) -> Vec<T> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<T>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        for (f, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            // A finished future is never polled again.
            if slot.is_none()
                && let std::task::Poll::Ready(v) = f.as_mut().poll(cx)
            {
                *slot = Some(v);
            }
        }
        if out.iter().all(Option::is_some) {
            std::task::Poll::Ready(out.iter_mut().filter_map(Option::take).collect())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

/// Run futures to completion concurrently on this task.
async fn join_all<F: std::future::Future<Output = ()>>(futures: Vec<F>) {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    std::future::poll_fn(move |cx| {
        pinned.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if pinned.is_empty() { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
}
