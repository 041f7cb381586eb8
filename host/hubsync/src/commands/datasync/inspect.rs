//! `hubsync datasync inspect URL`: what Data Sync left in a database.

use anyhow::Result;
use hubsync_connectors::DataSyncDb;
use hubsync_core::datasync::DsInspection;

use crate::output::print;

/// The arguments of `hubsync datasync inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// The database: `mssql://USER:PASSWORD@HOST/DB` or a connection string.
    url: String,
    /// Also count the local changes after this UTC time (Data Sync's last sync).
    #[arg(long)]
    since: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl InspectArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        let since = self.since.as_deref().map(super::utc).transpose()?;
        let db = DataSyncDb::open(&self.url).await?;
        let found = db.inspect(since.as_deref()).await?;
        if self.json {
            return print(&found);
        }
        print_text(&found);
        Ok(())
    }
}

fn print_text(f: &DsInspection) {
    if !f.found() {
        println!("No Data Sync objects here (no DataSync schema, no Data Sync triggers).");
        return;
    }
    println!("Data Sync objects ({}):", f.server);
    for s in &f.scopes {
        println!(
            "scope {} (local id {}, config {}, status {})",
            s.name,
            s.local_id,
            s.config_id,
            s.status.as_deref().unwrap_or("-")
        );
        for t in &s.tables {
            let cols: Vec<String> =
                t.columns.iter().map(|c| format!("{}{}", c.name, if c.key { " (key)" } else { "" })).collect();
            println!(
                "  table {}.{}{}: {}",
                t.namespace,
                t.name,
                if t.exists { "" } else { " (MISSING)" },
                cols.join(", ")
            );
            if !t.left_out_not_null.is_empty() {
                println!("    NOT NULL columns left out of the scope: {}", t.left_out_not_null.join(", "));
            }
        }
    }
    for t in &f.triggers {
        println!(
            "trigger {}.{} on {}: {}",
            t.namespace,
            t.name,
            t.table,
            if t.enabled { "enabled" } else { "DISABLED" }
        );
    }
    for t in &f.tracking {
        let since = t.local_since.map(|n| format!(", {n} local since --since")).unwrap_or_default();
        println!(
            "tracking {}: {} rows, {} tombstones, {} last changed locally{since}{}",
            t.name,
            t.rows,
            t.tombstones,
            t.local_changes,
            if t.restore_timestamp { "" } else { " (older layout, no restore_timestamp)" }
        );
    }
    for l in &f.leftovers {
        println!(
            "leftover {} {}: {}{}",
            l.kind,
            l.object,
            l.reason,
            if l.removable { " (remove --leftovers)" } else { "" }
        );
    }
    for p in &f.problems {
        println!("problem: {p}");
    }
}
