//! The lease scheduler: each instance claims due members one lease at a
//! time, syncs them, and gives the lease back with the next due time.
//!
//! A heartbeat renews the lease while the sync runs and reads the cancel
//! flag; an instance that dies stops renewing, its leases run out, and
//! another instance claims those members (the engine's anchors and journal
//! make the re-run safe). Preparing a group (opening its databases,
//! provisioning) is cached per instance by the group's revision.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hubsync_engine::{Group, GroupReport, SyncControl};
use tokio::sync::{Semaphore, watch};
use tracing::{info, warn};

use crate::{AppState, ServerError, now_micros};

/// How often a running sync's holder renews its lease and writes its
/// progress (what every instance's status and events show).
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Run until `stop` turns true; then cancel the syncs in flight (they stop
/// after their batch), wait for them and release every lease.
pub async fn run(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(state.options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let ttl = state.options.lease_seconds.max(2) as i64 * 1_000_000;
    loop {
        if *stop.borrow() {
            break;
        }
        while let Ok(permit) = slots.clone().try_acquire_owned() {
            match state.engine.meta().claim_due(&state.instance, now_micros(), ttl, &state.links.connected()).await {
                Ok(Some((group, member))) => {
                    let state = state.clone();
                    tasks.spawn(async move {
                        run_member(&state, &group, &member).await;
                        drop(permit);
                    });
                }
                Ok(None) => break,
                Err(e) => {
                    warn!(error = %e, "claiming work failed; retrying");
                    break;
                }
            }
        }
        while tasks.try_join_next().is_some() {}
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = state.wake.notified() => {}
            _ = stop.changed() => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    info!(running = tasks.len(), "stopping: letting the batches in flight finish");
    state.cancel_local_all();
    while tasks.join_next().await.is_some() {}
    if let Err(e) = state.engine.meta().release_all(&state.instance).await {
        warn!(error = %e, "releasing leases failed; they run out by themselves");
    }
}

async fn run_member(state: &Arc<AppState>, group: &str, member: &str) {
    let control = Arc::new(SyncControl::default());
    state.track(group, member, Some(control.clone()));
    let ttl = Duration::from_secs(state.options.lease_seconds.max(2));
    let heartbeat = {
        let (state, control, group, member) = (state.clone(), control.clone(), group.to_owned(), member.to_owned());
        tokio::spawn(async move {
            // Each second: renew the lease, write the progress every
            // instance shows (status, events), read the cancel flag.
            let mut written = String::new();
            loop {
                tokio::time::sleep(PROGRESS_EVERY).await;
                let until = now_micros() + ttl.as_micros() as i64;
                let progress = crate::events::StoredProgress::of(&control);
                let changed = (progress != written).then_some(progress.as_str());
                match state.engine.meta().renew_lease(&state.instance, &group, &member, until, changed).await {
                    Ok(Some(cancel)) => {
                        written = progress;
                        if cancel {
                            control.cancel();
                        }
                    }
                    Ok(None) => {
                        warn!(%group, %member, "lost the lease (it ran out); stopping this sync");
                        control.cancel();
                        return;
                    }
                    Err(e) => warn!(%group, %member, error = %e, "renewing the lease failed"),
                }
            }
        })
    };
    let clock = Instant::now();
    let result = sync(state, group, member, &control).await;
    heartbeat.abort();
    let m = &state.metrics;
    m.observe(group, member, clock.elapsed().as_secs_f64());
    m.add("hubsync_syncs_total", group, member, 1.0);
    let next = match &result {
        Ok(Synced { report, interval_seconds, follow, poll_milliseconds }) => {
            // Rows written into the hub concern the other members now
            // (the watches ignore the group's own writes).
            if *follow && report.uploaded() {
                match state.engine.meta().request_sync_others(group, member).await {
                    Ok(_) => state.wake.notify_one(),
                    Err(e) => warn!(%group, error = %e, "waking the other members failed; the interval syncs them"),
                }
            }
            for t in report.members.iter().flat_map(|r| &r.tables) {
                m.add("hubsync_rows_down_total", group, member, t.rows_down as f64);
                m.add("hubsync_rows_up_total", group, member, t.rows_up as f64);
                for (d, n) in &t.decisions {
                    m.add_decision(group, member, d, *n as f64);
                }
                m.add("hubsync_quarantined_total", group, member, t.quarantined as f64);
                if t.error.is_some() {
                    m.add("hubsync_sync_errors_total", group, member, 1.0);
                }
            }
            info!(%group, %member, errors = report.errors().len(), ms = clock.elapsed().as_millis() as u64, "synced");
            let at_interval = interval_seconds.map(|s| s as i64 * 1_000_000);
            // Changes held back behind a transaction still open (anywhere
            // on a PostgreSQL server) raise no new notification when it
            // ends: a followed member whose sync left some is due again
            // after a poll (a second at least, so a long transaction does
            // not make it sync at every poll), or at its interval if sooner.
            let held_back = (*follow && report.pending()).then(|| (*poll_milliseconds).max(1000) as i64 * 1000);
            [at_interval, held_back].into_iter().flatten().min().map(|micros| now_micros() + micros).unwrap_or(i64::MAX)
        }
        Err(e) => {
            m.add("hubsync_sync_errors_total", group, member, 1.0);
            warn!(%group, %member, error = %e, "sync failed");
            state.options.retry_seconds.map(|s| now_micros() + s as i64 * 1_000_000).unwrap_or(i64::MAX)
        }
    };
    if let Err(e) = state.engine.meta().release_lease(&state.instance, group, member, next).await {
        warn!(%group, %member, error = %e, "releasing the lease failed; it runs out by itself");
    }
    state.track(group, member, None);
}

/// What one member's sync gave, with what decides when it is due again.
struct Synced {
    /// The sync's report.
    report: GroupReport,
    /// The group's `interval_seconds`.
    interval_seconds: Option<u64>,
    /// The group's `follow_changes`.
    follow: bool,
    /// The group's `change_poll_milliseconds`.
    poll_milliseconds: u64,
}

/// Sync one member of `group`.
async fn sync(state: &AppState, group: &str, member: &str, control: &SyncControl) -> Result<Synced, ServerError> {
    let prepared: Arc<Group> = state.prepared(group).await?;
    let report = state.engine.sync_group_with(&prepared, Some(member), control).await?;
    let config = prepared.config();
    Ok(Synced {
        report,
        interval_seconds: config.interval_seconds,
        follow: config.follow_changes,
        poll_milliseconds: config.change_poll_milliseconds,
    })
}
