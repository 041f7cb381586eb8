//! `hubsync quarantine`: the changes that could not be synced (unreadable
//! values, rows a database rejected) and why, as the API's
//! `QuarantineView` list from a group file or a server; retry or discard them.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use hubsync_api::{QuarantineAction, QuarantineView};
use hubsync_engine::load_file;
use hubsync_server::views::quarantine_view;

use crate::local::{engine, selected};
use crate::output::{print, when};
use crate::remote::Remote;

// The arguments of `hubsync quarantine`.
#[derive(clap::Args)]
pub struct QuarantineArgs {
    /// The group file (TOML); without it, ask the server (--group needed).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Only this group.
    #[arg(long)]
    group: Option<String>,
    #[command(flatten)]
    remote: Remote,
    /// Sync these quarantined changes again at the next sync (numbers from the list, or `all`).
    #[arg(long, num_args = 1.., value_name = "ID|all", conflicts_with = "discard")]
    retry: Vec<String>,
    /// Forget these quarantined changes (they sync again when their rows change).
    #[arg(long, num_args = 1.., value_name = "ID|all")]
    discard: Vec<String>,
}

impl QuarantineArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        match &self.config {
            Some(config) => file(config, self.group.as_deref(), self.remote.json, &self.retry, &self.discard).await,
            None => {
                let group = self.group.ok_or_else(|| anyhow::anyhow!("give --group G (or --config FILE)"))?;
                remote(&self.remote, &group, &self.retry, &self.discard).await
            }
        }
    }
}

/// Which quarantined changes `--retry` / `--discard` name: `all`, or numbers.
fn quarantine_ids(args: &[String]) -> Result<Option<Vec<i64>>> {
    if args.iter().any(|a| a == "all") {
        return Ok(None);
    }
    let ids = args
        .iter()
        .map(|a| {
            a.parse::<i64>().map_err(|_| anyhow::anyhow!("{a:?} is not a quarantine number (see the list) or `all`"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(ids))
}

/// `hubsync quarantine --config FILE [--group G] [--json] [--retry ID…|all] [--discard ID…|all]`.
async fn file(config: &Path, group: Option<&str>, json: bool, retry: &[String], discard: &[String]) -> Result<()> {
    let loaded = load_file(config)?;
    let groups = selected(&loaded, group)?;
    let engine = engine(&loaded).await?;
    let mut held = Vec::new();
    for g in &groups {
        held.extend(engine.meta().quarantine(Some(&g.name)).await?);
    }
    for (args, verb) in [(retry, "retry"), (discard, "discard")] {
        if args.is_empty() {
            continue;
        }
        let ids = quarantine_ids(args)?;
        if let Some(ids) = &ids
            && let Some(unknown) = ids.iter().find(|id| !held.iter().any(|q| q.id == **id))
        {
            bail!(
                "there is no quarantined change #{unknown} in the selected groups; `hubsync quarantine --config {}` lists them",
                config.display()
            );
        }
        let mut n = 0;
        for g in &groups {
            let mine: Option<Vec<i64>> = ids.as_ref().map(|ids| {
                ids.iter().copied().filter(|id| held.iter().any(|q| q.id == *id && q.scope.group == g.name)).collect()
            });
            if mine.as_ref().is_some_and(Vec::is_empty) {
                continue;
            }
            n += match verb {
                "retry" => engine.meta().retry_quarantined(&g.name, mine.as_deref()).await?,
                _ => engine.meta().discard_quarantined(&g.name, mine.as_deref()).await?,
            };
        }
        match verb {
            "retry" => println!("{n} quarantined changes will be synced again at the next sync."),
            _ => println!("{n} quarantined changes discarded; they sync again only when their rows change."),
        }
        return Ok(());
    }
    let views: Vec<QuarantineView> = held.into_iter().map(quarantine_view).collect();
    show(&views, json)
}

/// `hubsync quarantine --group G [--retry …] [--discard …]` against the server.
async fn remote(r: &Remote, group: &str, retry: &[String], discard: &[String]) -> Result<()> {
    let c = r.client()?;
    for (list, action) in [(retry, "retry"), (discard, "discard")] {
        if list.is_empty() {
            continue;
        }
        let a = QuarantineAction { ids: quarantine_ids(list)? };
        let v = if action == "retry" {
            c.retry_quarantine(group, &a).await?
        } else {
            c.discard_quarantine(group, &a).await?
        };
        println!("{action}: {} change(s)", v.count);
        return Ok(());
    }
    let v = c.quarantine(group).await?;
    show(&v, r.json)
}

/// Print quarantined changes: the API's JSON, or a few lines each.
fn show(held: &[QuarantineView], json: bool) -> Result<()> {
    if json {
        return print(held);
    }
    if held.is_empty() {
        println!("no changes are quarantined");
    }
    for q in held {
        let key = if q.key.is_null() { "(unreadable)".to_owned() } else { q.key.to_string() };
        println!("#{} {} / {} / {}: key {key} — {}", q.id, q.group, q.member, q.table, q.stage);
        let what = match (&q.column, &q.value) {
            (Some(c), Some(v)) => format!("column {c} = {v:?}: "),
            (Some(c), None) => format!("column {c}: "),
            _ => String::new(),
        };
        println!("    {what}{}", q.error);
        println!(
            "    first {}, last {}, failed syncs: {}{}",
            when(Some(q.first_micros)),
            when(Some(q.last_micros)),
            q.attempts,
            if q.retry { "; retry at the next sync" } else { "" }
        );
    }
    if !held.is_empty() {
        println!(
            "They sync again when their rows change; `--retry ID…|all` syncs them at the next sync, \
             `--discard ID…|all` forgets them."
        );
    }
    Ok(())
}
