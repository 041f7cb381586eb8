//! `hubsync datasync takeover --config FILE (--since TIME | --group-json F)`: hubsync's capture
//! in place of Data Sync's, on every table of every database of a group.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::local;
use crate::output::print;

/// The arguments of `hubsync datasync takeover`.
#[derive(clap::Args)]
pub struct TakeoverArgs {
    /// The group file (its `metadata` is where the group's anchors go: the
    /// server's metadata database when `hubsync serve` will run the group).
    #[arg(long)]
    config: PathBuf,
    /// Only this group.
    #[arg(long)]
    group: Option<String>,
    /// When Data Sync's last successful sync of every member started (UTC
    /// unless it names an offset); rows changed after it are announced.
    /// Earlier is safe (more rows are compared); later loses changes.
    #[arg(long, required_unless_present = "group_json", conflicts_with = "group_json")]
    since: Option<String>,
    /// Take the time from the sync group's JSON (its `lastSyncTime`), less
    /// `--margin-minutes`.
    #[arg(long)]
    group_json: Option<PathBuf>,
    /// With --group-json: start this much before `lastSyncTime` (it may mark
    /// the end of the last sync, and earlier is safe).
    #[arg(long, default_value_t = 10)]
    margin_minutes: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// One table's outcome, for `--json`.
#[derive(serde::Serialize)]
struct Outcome<'a> {
    group: &'a str,
    database: &'a str,
    #[serde(flatten)]
    table: &'a hubsync_core::datasync::DsTakeover,
}

impl TakeoverArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        let since = match (&self.since, &self.group_json) {
            (Some(t), _) => super::utc(t)?,
            (None, Some(f)) => {
                let json = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
                let last = super::import::last_sync_time(&json)?;
                let at = super::utc_micros(&last)? - (self.margin_minutes as i64) * 60_000_000;
                let at = super::sql_time(at);
                if !self.json {
                    println!(
                        "Data Sync's last sync: {last}; announcing changes from {at} UTC ({} minutes before).",
                        self.margin_minutes
                    );
                }
                at
            }
            (None, None) => anyhow::bail!("give --since TIME or --group-json FILE"),
        };
        let loaded = hubsync_engine::load_file(&self.config)?;
        let engine = local::engine(&loaded).await?;
        let mut all = Vec::new();
        for g in local::selected(&loaded, self.group.as_deref())? {
            let r = engine.take_over(g, &since).await?;
            if !self.json {
                for (db, tables) in &r.databases {
                    for t in tables {
                        if t.already {
                            println!("{} / {db} / {}: taken over before (starts at {})", g.name, t.table, t.anchor);
                        } else {
                            println!(
                                "{} / {db} / {}: Data Sync's triggers replaced ({} dropped), {} changed rows announced",
                                g.name,
                                t.table,
                                t.triggers_dropped.len(),
                                t.announced
                            );
                        }
                    }
                }
                for n in &r.notes {
                    println!("note: {n}");
                }
            }
            all.push((g.name.clone(), r));
        }
        if self.json {
            let rows: Vec<Outcome> = all
                .iter()
                .flat_map(|(g, r)| {
                    r.databases
                        .iter()
                        .flat_map(move |(db, ts)| ts.iter().map(move |t| Outcome { group: g, database: db, table: t }))
                })
                .collect();
            return print(&rows);
        }
        println!(
            "Next: `hubsync sync --config {}` moves only those rows; `hubsync verify` proves the databases equal.",
            self.config.display()
        );
        Ok(())
    }
}
