//! `hubsync status`: each group's members and tables, read from a group
//! file's metadata or from a server, printed in one shape both ways: the
//! API's `GroupState` for `--json`, and the same lines as text.

use std::path::{Path, PathBuf};

use anyhow::Result;
use hubsync_api::{GroupState, Level, TableState};
use hubsync_server::views::{Live, group_state};

use crate::local::{engine, selected};
use crate::output::when;
use crate::remote::Remote;

// The arguments of `hubsync status`.
#[derive(clap::Args)]
pub struct StatusArgs {
    /// The group file (TOML); without it, ask the server.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Only this group.
    #[arg(long)]
    group: Option<String>,
    #[command(flatten)]
    remote: Remote,
}

impl StatusArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        match &self.config {
            Some(config) => local(config, self.group.as_deref(), self.remote.json).await,
            None => remote(&self.remote, self.group.as_deref()).await,
        }
    }
}

/// `hubsync status --config FILE [--group G] [--json]`.
async fn local(config: &Path, group: Option<&str>, json: bool) -> Result<()> {
    let loaded = hubsync_engine::load_file(config)?;
    let groups = selected(&loaded, group)?;
    let engine = engine(&loaded).await?;
    let mut states = Vec::new();
    for g in groups {
        let rows = engine.meta().status(Some(&g.name)).await?;
        let held = engine.meta().quarantine(Some(&g.name)).await?;
        let names: Vec<&str> = g.members.iter().map(|m| m.name.as_str()).collect();
        states.push(group_state(&g.name, &names, &rows, &held, |_| Live::default()));
    }
    let file = config.display().to_string();
    show(&states, json, &format!("`hubsync sync --config {file}`"), |_| format!("--config {file}"))
}

/// `hubsync status [--group G] [--json] --server URL`.
async fn remote(r: &Remote, group: Option<&str>) -> Result<()> {
    let c = r.client()?;
    let names: Vec<String> = match group {
        Some(g) => vec![g.to_owned()],
        None => c.list_groups().await?.into_iter().map(|g| g.name).collect(),
    };
    let mut states = Vec::new();
    for g in &names {
        states.push(c.status(g).await?);
    }
    show(&states, r.json, "`hubsync sync now GROUP`", |g| format!("--group {g}"))
}

/// Print `states`: as the API's JSON, or a line per member and table
/// (`where_held(group)` completes the `hubsync quarantine` hint).
fn show(states: &[GroupState], json: bool, how_to_sync: &str, where_held: impl Fn(&str) -> String) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(states)?);
        return Ok(());
    }
    if states.iter().all(|g| g.members.iter().all(|m| m.tables.is_empty())) {
        println!("no sync has run yet; run {how_to_sync}");
    }
    for g in states {
        for m in &g.members {
            let mut live = Vec::new();
            if let Some(i) = &m.syncing_on {
                live.push(format!(
                    "syncing on {i}{}",
                    match (m.changes_done, m.changes_total) {
                        (Some(n), Some(t)) => format!(", {n} of {t} changes so far"),
                        (Some(n), None) => format!(", {n} changes so far"),
                        _ => String::new(),
                    }
                ));
            }
            if let Some(due) = m.due_micros {
                live.push(format!("next sync due {}", when(Some(due))));
            }
            let live = if live.is_empty() { String::new() } else { format!("\n    {}", live.join("; ")) };
            if m.tables.is_empty() {
                println!("{} / {}: never synced{live}", g.group, m.member);
            }
            for t in &m.tables {
                println!("{} / {} / {}: {}{live}", g.group, m.member, t.table, line(t, &where_held(&g.group)));
            }
        }
    }
    Ok(())
}

/// One table's last sync, its message and its open quarantine.
fn line(t: &TableState, where_held: &str) -> String {
    let outcome = match t.level {
        Level::Error => "FAILED".to_owned(),
        Level::Success => "ok".to_owned(),
        Level::Warning => format!("ok with warnings ({} quarantined)", t.warnings),
    };
    let mut out = format!(
        "last sync {} {outcome} in {} ms ({} down, {} up, {} conflicts); last success {}",
        when(Some(t.last_started_micros)),
        t.duration_ms,
        t.rows_down,
        t.rows_up,
        t.conflicts,
        when(t.last_success_micros),
    );
    if let Some(m) = &t.message {
        out.push_str(&format!("\n    {m}"));
    }
    if t.quarantined > 0 {
        out.push_str(&format!("\n    {} changes in quarantine now: `hubsync quarantine {where_held}`", t.quarantined));
    }
    out
}
