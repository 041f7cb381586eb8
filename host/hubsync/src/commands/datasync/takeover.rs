//! `hubsync datasync takeover --config FILE --since TIME`: hubsync's capture
//! in place of Data Sync's, on every table of every database of a group.

use std::path::PathBuf;

use anyhow::Result;

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
    /// When Data Sync's last successful sync of every member started, UTC
    /// (its `lastSyncTime`); rows changed after it are announced. Earlier is
    /// safe (more rows are compared); later loses changes.
    #[arg(long)]
    since: String,
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
        let since = super::utc(&self.since)?;
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
