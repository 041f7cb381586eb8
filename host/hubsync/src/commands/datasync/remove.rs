//! `hubsync datasync remove URL`: Data Sync's objects out, by exact name.

use anyhow::Result;
use hubsync_connectors::DataSyncDb;

use crate::output::print;

/// The arguments of `hubsync datasync remove`.
#[derive(clap::Args)]
pub struct RemoveArgs {
    /// The database: `mssql://USER:PASSWORD@HOST/DB` or a connection string.
    url: String,
    /// Only this scope (its name or local id); default: every scope.
    #[arg(long)]
    scope: Option<String>,
    /// Also remove the leftovers `inspect` lists (always with every scope).
    #[arg(long)]
    leftovers: bool,
    /// Print the T-SQL without running it.
    #[arg(long)]
    dry_run: bool,
    /// Remove even while Data Sync's triggers still fire on tables hubsync does not capture.
    #[arg(long)]
    force: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl RemoveArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        let db = DataSyncDb::open(&self.url).await?;
        let mut removal = db.removal(self.scope.as_deref(), self.leftovers, self.force).await?;
        if !self.dry_run && !removal.statements.is_empty() {
            db.remove(&mut removal).await?;
        }
        if self.json {
            return print(&removal);
        }
        if removal.statements.is_empty() {
            println!("Nothing of Data Sync's to remove.");
            return Ok(());
        }
        println!("BEGIN TRANSACTION;");
        for s in &removal.statements {
            println!("{s};");
        }
        println!("COMMIT;");
        if removal.applied {
            println!("-- done: {} statements ran in one transaction", removal.statements.len());
        } else {
            println!("-- dry run: nothing was changed");
        }
        Ok(())
    }
}
