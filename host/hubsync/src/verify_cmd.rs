//! `hubsync verify`: compare members with the hub by key and row, print the
//! differences, and optionally repair them through the next sync.

use std::path::Path;

use anyhow::{Result, bail};
use hubsync_engine::{TableVerdict, VerifyOptions, load_file};
use serde_json::json;

use crate::sync_cmd::{engine, selected};

/// `hubsync verify --config F [--group G] [--member M] [--table T] [--show N] [--json] [--repair]`.
/// Fails (non-zero exit) when any member differs from the hub or a table
/// could not be verified.
pub async fn verify(config: &Path, group: Option<&str>, options: VerifyOptions, json: bool) -> Result<()> {
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
