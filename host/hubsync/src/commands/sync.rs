//! `hubsync sync`: sync the groups of a group file once (or on their
//! intervals with `--watch`); `sync now` and `sync cancel` ask a server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use hubsync_api::{Level, MemberState, SyncRequest};
use hubsync_engine::{Group, load_file};

use crate::local::{engine, print_report, selected};
use crate::output::{opt, print, progress};
use crate::remote::Remote;

// The arguments of `hubsync sync` (its help is the variant's in main.rs).
#[derive(clap::Args)]
pub struct SyncArgs {
    #[command(subcommand)]
    action: Option<SyncAction>,
    /// The group file (TOML).
    #[arg(long, required = true)]
    config: Option<PathBuf>,
    /// Only this group.
    #[arg(long)]
    group: Option<String>,
    /// Only this member ("sync now" for one member).
    #[arg(long)]
    member: Option<String>,
    /// Keep syncing each group on its interval_seconds until interrupted (Ctrl-C).
    #[arg(long)]
    watch: bool,
    /// Members of a group synced at once (1: one after another, each seeing
    /// what those before it uploaded in the same round).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
}

#[derive(clap::Subcommand)]
enum SyncAction {
    /// Sync a group (or one member) now on the server.
    Now {
        /// The group.
        group: String,
        /// Only this member.
        #[arg(long)]
        member: Option<String>,
        /// Wait until it is done (a progress line in a terminal); fail if a table failed.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        remote: Remote,
    },
    /// Stop a running sync after its batch in flight.
    Cancel {
        /// The group.
        group: String,
        /// Only this member.
        #[arg(long)]
        member: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
}

impl SyncArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        match self.action {
            Some(SyncAction::Now { group, member, wait, remote }) => {
                now(&remote, &group, member.as_deref(), wait).await
            }
            Some(SyncAction::Cancel { group, member, remote }) => cancel(&remote, &group, member.as_deref()).await,
            None => {
                let config = self.config.ok_or_else(|| anyhow::anyhow!("give --config FILE, or `sync now GROUP`"))?;
                file(&config, self.group.as_deref(), self.member.as_deref(), self.watch, self.concurrency.into()).await
            }
        }
    }
}

/// `hubsync sync --config FILE [--group G] [--member M] [--watch] [--concurrency N]`.
async fn file(config: &Path, group: Option<&str>, member: Option<&str>, watch: bool, concurrency: usize) -> Result<()> {
    let loaded = load_file(config)?;
    let engine = engine(&loaded).await?.with_member_concurrency(concurrency);
    let mut groups: Vec<Group> = Vec::new();
    for g in selected(&loaded, group)? {
        groups.push(engine.prepare(g).await?);
    }
    if watch {
        if member.is_some() {
            bail!("--member cannot be combined with --watch (the scheduler syncs every member)");
        }
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("stopping after the syncs in progress");
                let _ = tx.send(true);
            }
        });
        // One sync of every group first, then the schedule.
        let mut failed = false;
        for g in &groups {
            let r = engine.sync_group(g, None).await?;
            print_report(&r);
            failed |= !r.errors().is_empty();
        }
        if failed {
            eprintln!("some tables failed; the scheduler keeps trying on each interval");
        }
        hubsync_engine::watch(&engine, &groups, rx, &print_report).await;
        return Ok(());
    }
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    for g in &groups {
        let r = if tty { with_progress(&engine, g, member).await? } else { engine.sync_group(g, member).await? };
        print_report(&r);
        errors.extend(r.errors());
        warnings.extend(r.warnings());
    }
    if !warnings.is_empty() {
        eprintln!(
            "warning: some changes could not be synced and were quarantined; the rest synced:\n  {}\n\
             `hubsync quarantine --config {}` shows why; they sync again when their rows change",
            warnings.join("\n  "),
            config.display()
        );
    }
    if !errors.is_empty() {
        bail!("{} table syncs failed:\n  {}", errors.len(), errors.join("\n  "));
    }
    Ok(())
}

/// Sync `g` with a progress line on standard error (a terminal), redrawn
/// every 300 ms from the sync's own count and total.
async fn with_progress(
    engine: &hubsync_engine::Engine,
    g: &Group,
    member: Option<&str>,
) -> Result<hubsync_engine::GroupReport> {
    let control = hubsync_engine::SyncControl::default();
    let started = std::time::Instant::now();
    let sync = engine.sync_group_with(g, member, &control);
    tokio::pin!(sync);
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    let report = loop {
        tokio::select! {
            r = &mut sync => break r,
            _ = tick.tick() => {
                eprint!("\r{}: {}   ", g.config().name, progress(control.changes(), control.total(), started.elapsed()));
            }
        }
    };
    eprint!("\r\x1b[2K");
    Ok(report?)
}

/// `hubsync sync now GROUP [--member M] [--wait]`.
async fn now(r: &Remote, group: &str, member: Option<&str>, wait: bool) -> Result<()> {
    let c = r.client()?;
    let body = SyncRequest { member: member.map(str::to_owned) };
    let asked = hubsync_server::now_micros();
    let v = c.sync_now(group, &body).await?;
    if !wait {
        if r.json {
            return print(&v);
        }
        println!("sync of {} queued for {} member(s)", member.unwrap_or(group), v.members);
        return Ok(());
    }
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let started = std::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let st = c.status(group).await?;
        let members: Vec<&MemberState> = st.members.iter().filter(|m| member.is_none_or(|x| m.member == x)).collect();
        let done = members.iter().all(|m| {
            m.syncing_on.is_none() && !m.tables.is_empty() && m.tables.iter().all(|t| t.last_started_micros >= asked)
        });
        if tty {
            let running: Vec<&&MemberState> = members.iter().filter(|m| m.syncing_on.is_some()).collect();
            let changes: u64 = running.iter().filter_map(|m| m.changes_done).sum();
            let total: Option<u64> = running.iter().map(|m| m.changes_total).sum();
            eprint!(
                "\r{} of {} member(s) syncing: {}   ",
                running.len(),
                members.len(),
                progress(changes, total, started.elapsed())
            );
        }
        if done {
            if tty {
                eprintln!();
            }
            let failed: Vec<String> = members
                .iter()
                .flat_map(|m| {
                    m.tables
                        .iter()
                        .filter(|t| t.level == Level::Error)
                        .map(move |t| format!("{} / {}: {}", m.member, t.table, opt(t.message.as_deref())))
                })
                .collect();
            if r.json {
                return print(&st);
            }
            for m in &members {
                for t in &m.tables {
                    println!(
                        "{group} / {} / {}: {} ({} down, {} up, {} conflicts)",
                        m.member,
                        t.table,
                        t.level.as_str(),
                        t.rows_down,
                        t.rows_up,
                        t.conflicts
                    );
                }
            }
            if !failed.is_empty() {
                bail!("{} table syncs failed:\n  {}", failed.len(), failed.join("\n  "));
            }
            return Ok(());
        }
    }
}

/// `hubsync sync cancel GROUP [--member M]`.
async fn cancel(r: &Remote, group: &str, member: Option<&str>) -> Result<()> {
    let body = SyncRequest { member: member.map(str::to_owned) };
    let v = r.client()?.cancel(group, &body).await?;
    if r.json {
        return print(&v);
    }
    println!("{}", v.message);
    Ok(())
}
