//! `hubsync demo`: a hub and two members on embedded SQLite, changes on
//! all three including a real conflict, synced and checked, in plain words.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hubsync_connectors::client::execute;
use hubsync_engine::{Engine, load_file};

use crate::local::print_report;

// The arguments of `hubsync demo`.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Use (and keep) this folder instead of a temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
}

impl DemoArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        run(self.dir).await
    }
}

const GROUP_FILE: &str = r#"# Written by `hubsync demo`. Run it again with:
#   hubsync sync --config hubsync.toml
#   hubsync status --config hubsync.toml
[[group]]
name = "demo"
hub = "sqlite://hub.db"
conflict_policy = { plugin = "builtin:hub-wins" }

[[group.member]]
name = "north"
url = "sqlite://north.db"

[[group.member]]
name = "south"
url = "sqlite://south.db"

[[group.table]]
name = "customers"
"#;

fn url(dir: &Path, db: &str) -> String {
    format!("sqlite://{}", dir.join(db).display())
}

/// Run the demo in `dir` (a fresh temporary folder when `None`).
async fn run(dir: Option<PathBuf>) -> Result<()> {
    let (dir, temporary) = match dir {
        Some(d) => {
            std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
            if std::fs::read_dir(&d)?.next().is_some() {
                bail!("{} is not empty; give `hubsync demo --dir` an empty or new folder", d.display());
            }
            (d, false)
        }
        None => {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
            let d = std::env::temp_dir().join(format!("hubsync-demo-{}-{nanos}", std::process::id()));
            std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
            (d, true)
        }
    };
    let result = demo(&dir).await;
    if temporary && result.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("\nThe databases and group file are in {}.", dir.display());
    }
    result
}

async fn demo(dir: &Path) -> Result<()> {
    let hub = url(dir, "hub.db");
    let north = url(dir, "north.db");
    let south = url(dir, "south.db");
    println!("hubsync demo: a hub and two members (north, south), all embedded SQLite, in {}\n", dir.display());
    execute(
        &hub,
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT, balance DECIMAL(10,2));
         INSERT INTO customers VALUES (1, 'Ada', 'London', 120.50), (2, 'Grace', 'New York', 75.00),
           (3, 'Alan', 'Manchester', 0.00), (4, 'Edsger', 'Rotterdam', 310.25), (5, 'Barbara', 'Boston', 42.00);",
    )
    .await?;
    println!("1. The hub has a table `customers` with 5 rows. The members have nothing yet.");
    std::fs::write(dir.join("hubsync.toml"), GROUP_FILE)?;
    let loaded = load_file(&dir.join("hubsync.toml"))?;
    let engine = Engine::open(&loaded.metadata_url, None).await?;
    let group = engine.prepare(&loaded.file.groups[0]).await?;
    println!("   hubsync created the table on both members and started tracking changes on all three.\n");

    println!("2. First sync (Data Sync's order: per member, hub changes down, then member changes up):");
    sync(&engine, &group).await?;

    println!("\n3. Applications change all three databases while nobody syncs:");
    execute(&hub, "UPDATE customers SET city = 'Paris' WHERE id = 1; INSERT INTO customers VALUES (6, 'Donald', 'Stanford', 9.99);")
        .await?;
    println!("   hub:   Ada moves to Paris; new customer Donald.");
    execute(
        &north,
        "UPDATE customers SET city = 'Cambridge' WHERE id = 1; UPDATE customers SET balance = 80.00 WHERE id = 2;",
    )
    .await?;
    println!("   north: Ada moves to Cambridge (the hub changed Ada too: a conflict); Grace's balance is now 80.00.");
    execute(
        &south,
        "DELETE FROM customers WHERE id = 3; INSERT INTO customers VALUES (7, 'Niklaus', 'Zurich', 15.00);",
    )
    .await?;
    println!("   south: Alan is deleted; new customer Niklaus.\n");

    println!("4. Second sync:");
    sync(&engine, &group).await?;
    println!("\n5. Third sync (north syncs before south, so it receives south's changes now):");
    sync(&engine, &group).await?;

    let conflicts = engine.meta().conflicts("demo", 10).await?;
    println!("\n6. Conflicts settled by the policy:");
    for (scope, c) in conflicts.iter().rev() {
        println!(
            "   {} with member {}: key {}, hub had {}, member had {} -> {} (plugin {})",
            scope.table,
            scope.member,
            c.key,
            c.hub_row.as_deref().unwrap_or("(deleted)"),
            c.member_row.as_deref().unwrap_or("(deleted)"),
            c.decision,
            c.plugin
        );
    }
    if conflicts.is_empty() {
        bail!("the demo expected one conflict (Ada's city) and the policy saw none");
    }

    let differences = group.compare().await?;
    if !differences.is_empty() {
        bail!("the databases did not converge:\n  {}", differences.join("\n  "));
    }
    let rows = hubsync_engine::snapshot(group.hub(), group.tables()[0]).await?;
    println!("\n7. Checked: hub, north and south hold the same {} rows:", rows.len());
    for r in rows.values() {
        println!(
            "   {}",
            r.iter().map(|v| v.to_text().unwrap_or_else(|| "NULL".into())).collect::<Vec<_>>().join(" | ")
        );
    }
    println!("\nAll three databases converged.");
    Ok(())
}

async fn sync(engine: &Engine, group: &hubsync_engine::Group) -> Result<()> {
    let report = engine.sync_group(group, None).await?;
    print_report(&report);
    let errors = report.errors();
    if !errors.is_empty() {
        bail!("sync failed:\n  {}", errors.join("\n  "));
    }
    Ok(())
}
