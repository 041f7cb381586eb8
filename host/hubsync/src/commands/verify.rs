//! `hubsync verify`: compare members with the hub by key and row, print the
//! differences, and optionally repair them through the next sync.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use hubsync_engine::{TableVerdict, VerifyOptions, load_file};
use serde_json::json;

use crate::local::{engine, selected};

// The arguments of `hubsync verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The group file (TOML).
    #[arg(long)]
    config: PathBuf,
    /// Only this group.
    #[arg(long)]
    group: Option<String>,
    /// Only this member.
    #[arg(long)]
    member: Option<String>,
    /// Only this table (as the hub names it).
    #[arg(long)]
    table: Option<String>,
    /// List at most this many differing keys per table (all are counted).
    #[arg(long, default_value_t = 20)]
    show: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Send the hub's rows for the differing keys again (the next sync carries them).
    #[arg(long)]
    repair: bool,
}

impl VerifyArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        let options = VerifyOptions { member: self.member, table: self.table, show: self.show, repair: self.repair };
        verify(&self.config, self.group.as_deref(), options, self.json).await
    }
}

/// `hubsync verify --config F [--group G] [--member M] [--table T] [--show N] [--json] [--repair]`.
/// Fails (non-zero exit) when any member differs from the hub or a table
/// could not be verified.
async fn verify(config: &Path, group: Option<&str>, options: VerifyOptions, json: bool) -> Result<()> {
    let loaded = load_file(config)?;
    let engine = engine(&loaded).await?;
    let mut all: Vec<(String, TableVerdict)> = Vec::new();
    for g in selected(&loaded, group)? {
        let prepared = engine.prepare(g).await?;
        for v in engine.verify(&prepared, &options).await? {
            all.push((g.name.clone(), v));
        }
    }
    if json {
        let out: Vec<serde_json::Value> = all
            .iter()
            .map(|(g, v)| {
                json!({
                    "group": g, "member": v.member, "table": v.table, "converged": v.converged(),
                    "hub_rows": v.hub_rows, "member_rows": v.member_rows, "missing": v.missing,
                    "extra": v.extra, "differ": v.differ, "pending": v.pending, "unreadable": v.unreadable,
                    "repaired": v.repaired, "error": v.error,
                    "differences": v.shown.iter().map(|d| json!({"key": d.key, "hub": d.hub, "member": d.member})).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (g, v) in &all {
            let head = format!("{g} / {} / {}", v.member, v.table);
            if let Some(e) = &v.error {
                println!("{head}: NOT VERIFIED: {e}");
                continue;
            }
            let mut line = if v.converged() {
                format!("{head}: same ({} rows)", v.member_rows)
            } else {
                format!(
                    "{head}: DIFFERS: {} missing on the member, {} extra, {} with other values",
                    v.missing, v.extra, v.differ
                )
            };
            if v.pending > 0 {
                line.push_str(&format!("; {} changed since the last sync (not compared)", v.pending));
            }
            if v.unreadable > 0 {
                line.push_str(&format!("; {} unreadable (see `hubsync quarantine`)", v.unreadable));
            }
            println!("{line}");
            for d in &v.shown {
                let show = |r: &Option<serde_json::Value>| r.as_ref().map_or("(no row)".to_owned(), |r| r.to_string());
                println!("  key {}\n    hub:    {}\n    member: {}", d.key, show(&d.hub), show(&d.member));
            }
            let listed = v.shown.len() as u64;
            if v.missing + v.extra + v.differ > listed {
                println!("  … and {} more (--show N lists more)", v.missing + v.extra + v.differ - listed);
            }
            if v.repaired > 0 {
                println!("  repaired: {} keys re-announced; the next `hubsync sync` carries them", v.repaired);
            }
        }
    }
    let failed = all.iter().filter(|(_, v)| !v.converged()).count();
    if failed > 0 {
        if options.repair {
            bail!("{failed} tables differed; repairs were queued: run `hubsync sync`, then verify again");
        }
        bail!("{failed} tables differ from the hub or could not be verified; `--repair` queues the fixes");
    }
    Ok(())
}
