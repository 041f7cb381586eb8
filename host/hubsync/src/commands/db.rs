//! `hubsync db …`: look at a database the way hubsync sees it, provision
//! and deprovision change tracking, and read captured changes.

use anyhow::{Context, Result, bail};
use hubsync_core::cases::row_to_json;
use hubsync_core::{Anchor, Column, Connector, TableInfo, TableRef};
use serde_json::{Value as Json, json};

#[derive(clap::Subcommand)]
pub enum DbCommand {
    /// List tables with their columns, types, keys and indexes, as hubsync sees them
    /// (Data Sync's "refresh schema"); columns hubsync cannot sync are marked.
    Introspect {
        /// `sqlite://PATH`, `postgres://USER@HOST/DB` or `mysql://USER@HOST/DB`.
        url: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Start tracking changes of a table (idempotent); rows already there count as changes.
    Provision {
        /// The database URL.
        url: String,
        /// The table (`name` or `namespace.name`).
        table: String,
        /// Comma-separated columns to track (default: every syncable column); must include the key.
        #[arg(long)]
        columns: Option<String>,
    },
    /// Remove hubsync's triggers and tracking tables (and nothing else).
    Deprovision {
        /// The database URL.
        url: String,
        /// The table to stop tracking.
        table: Option<String>,
        /// Remove every hubsync object in the database (the clean-up script).
        #[arg(long)]
        all: bool,
    },
    /// Print the changes captured on a table after an anchor, as JSON.
    Changes {
        /// The database URL.
        url: String,
        /// The table.
        table: String,
        /// Comma-separated columns (as provisioned).
        #[arg(long)]
        columns: Option<String>,
        /// Read after this anchor (the `next` of an earlier call); from the start if omitted.
        #[arg(long)]
        since: Option<String>,
        /// At most this many changes.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

impl DbCommand {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        match self {
            DbCommand::Introspect { url, json } => introspect(&url, json).await,
            DbCommand::Provision { url, table, columns } => provision(&url, &table, columns.as_deref()).await,
            DbCommand::Deprovision { url, table, all } => deprovision(&url, table.as_deref(), all).await,
            DbCommand::Changes { url, table, columns, since, limit } => {
                changes(&url, &table, columns.as_deref(), since.as_deref(), limit).await
            }
        }
    }
}

async fn open(url: &str) -> Result<Box<dyn Connector>> {
    Ok(hubsync_connectors::open(url).await?)
}

/// Find a table by `name` or `namespace.name`.
fn find<'a>(tables: &'a [TableInfo], name: &str) -> Result<&'a TableInfo> {
    let matches = |t: &&TableInfo| {
        let r = TableRef::of(&t.schema);
        r.name == name || r.to_string() == name
    };
    let found: Vec<&TableInfo> = tables.iter().filter(matches).collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => bail!(
            "there is no table {name:?}; tables here: {}",
            tables.iter().map(|t| TableRef::of(&t.schema).to_string()).collect::<Vec<_>>().join(", ")
        ),
        _ => bail!("{name:?} names tables in several namespaces; write it as NAMESPACE.{name}"),
    }
}

fn split_columns(columns: Option<&str>) -> Vec<String> {
    columns.map(|c| c.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
}

/// `hubsync db introspect URL`.
async fn introspect(url: &str, as_json: bool) -> Result<()> {
    let db = open(url).await?;
    let tables = db.introspect().await?;
    if as_json {
        // Every table's schema, the default one included, so an entry can
        // be pasted into a group file as `name` and `namespace`.
        let default = db.engine().default_namespace();
        let out: Vec<Json> = tables
            .iter()
            .map(|t| {
                json!({
                    "table": TableRef::of(&t.schema).to_string(),
                    "namespace": t.schema.namespace.as_deref().or(default),
                    "name": t.schema.name,
                    "columns": t.schema.columns,
                    "primary_key": t.schema.primary_key.iter().map(|&i| &t.schema.columns[i].name).collect::<Vec<_>>(),
                    "indexes": t.indexes.iter().map(|i| json!({"name": i.name, "columns": i.columns, "unique": i.unique})).collect::<Vec<_>>(),
                    "unsupported": t.unsupported.iter().map(|u| json!({"column": u.column, "declared_type": u.declared_type})).collect::<Vec<_>>(),
                    "foreign_keys": t.foreign_keys.iter().map(|f| json!({"name": f.name, "columns": f.columns, "references": f.references.to_string()})).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    for t in &tables {
        let key: Vec<&str> = t.schema.primary_key.iter().map(|&i| t.schema.columns[i].name.as_str()).collect();
        let status = if key.is_empty() { "  (no primary key: cannot be synced)" } else { "" };
        println!("{}{status}", TableRef::of(&t.schema));
        for (i, c) in t.schema.columns.iter().enumerate() {
            let mark = if t.schema.primary_key.contains(&i) { " key" } else { "" };
            let null = if c.nullable { "" } else { " not null" };
            let folds = c.folding.as_deref().map(|f| format!(" (compares loosely: {f})")).unwrap_or_default();
            println!(
                "  {:<24} {:<12} {}{null}{mark}{folds}",
                c.name,
                c.kind.name(),
                c.declared_type.as_deref().unwrap_or("")
            );
        }
        for u in &t.unsupported {
            println!("  {:<24} {:<12} {}  (not syncable: leave it out)", u.column, "-", u.declared_type);
        }
        for i in &t.indexes {
            println!("  index {}{} ({})", i.name, if i.unique { " unique" } else { "" }, i.columns.join(", "));
        }
        for f in &t.foreign_keys {
            println!("  foreign key {} ({}) references {}", f.name, f.columns.join(", "), f.references);
        }
    }
    Ok(())
}

/// `hubsync db provision URL TABLE [--columns …]`.
async fn provision(url: &str, table: &str, columns: Option<&str>) -> Result<()> {
    let c = open(url).await?;
    let tables = c.introspect().await?;
    let selection = find(&tables, table)?.select(&split_columns(columns))?;
    c.provision(&selection).await?;
    let names: Vec<&str> = selection.columns.iter().map(|c| c.name.as_str()).collect();
    println!("Tracking changes of {} ({}).", TableRef::of(&selection), names.join(", "));
    Ok(())
}

/// `hubsync db deprovision URL (TABLE | --all)`.
async fn deprovision(url: &str, table: Option<&str>, all: bool) -> Result<()> {
    let c = open(url).await?;
    match (table, all) {
        (Some(t), false) => {
            let tables = c.introspect().await?;
            let r = TableRef::of(&find(&tables, t)?.schema);
            c.deprovision(&r).await?;
            println!("Removed hubsync's tracking of {r}.");
        }
        (None, true) => {
            c.deprovision_all().await?;
            println!("Removed every hubsync object from the database.");
        }
        _ => bail!("name one table, or give --all to remove every hubsync object"),
    }
    Ok(())
}

/// `hubsync db changes URL TABLE [--columns …] [--since ANCHOR] [--limit N]`.
async fn changes(url: &str, table: &str, columns: Option<&str>, since: Option<&str>, limit: usize) -> Result<()> {
    let c = open(url).await?;
    let tables = c.introspect().await?;
    let selection = find(&tables, table)?.select(&split_columns(columns))?;
    let batch = c
        .read_changes(&selection, &Anchor(since.unwrap_or_default().to_owned()), limit)
        .await
        .context("run `hubsync db provision` first if the table is not tracked yet")?;
    let key_cols: Vec<Column> = selection.primary_key.iter().map(|&i| selection.columns[i].clone()).collect();
    let list: Vec<Json> = batch
        .changes
        .iter()
        .map(|ch| {
            json!({
                "key": row_to_json(&key_cols, &ch.key),
                "row": ch.row.as_ref().map(|r| row_to_json(&selection.columns, r)),
                "changed_at_micros": ch.changed_at_micros,
                "origin": ch.origin,
            })
        })
        .collect();
    let out = json!({"changes": list, "next": batch.next.0, "more": batch.more, "pending": batch.pending});
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
