//! `hubsync schema refresh | show | set`: the live schema of a group's
//! databases (Data Sync's "refresh schema") and its sync schema.

use anyhow::Result;
use hubsync_api::SchemaQuery;
use hubsync_core::TableConfig;

use crate::output::{opt, print};
use crate::remote::Remote;

#[derive(clap::Subcommand)]
pub enum SchemaCommand {
    /// Read the live schema of the hub or a member (Data Sync's "refresh schema").
    Refresh {
        /// The group.
        group: String,
        /// `hub` (default) or a member's name.
        #[arg(long)]
        database: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Show the sync schema (tables and columns synced).
    Show {
        /// The group.
        group: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Set the sync schema.
    Set {
        /// The group.
        group: String,
        /// A table: NAME, SCHEMA.NAME or NAME:COL,COL (repeat).
        #[arg(long = "table", value_parser = table_arg, required = true)]
        tables: Vec<TableConfig>,
        #[command(flatten)]
        remote: Remote,
    },
}

impl SchemaCommand {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        match self {
            SchemaCommand::Refresh { group, database, remote } => refresh(&remote, &group, database.as_deref()).await,
            SchemaCommand::Show { group, remote } => show(&remote, &group).await,
            SchemaCommand::Set { group, tables, remote } => set(&remote, &group, tables).await,
        }
    }
}

/// Parse `TABLE` or `TABLE:COL,COL` (`ns.table` for a namespace).
pub fn table_arg(text: &str) -> Result<TableConfig, String> {
    let (name, cols) = match text.split_once(':') {
        Some((n, c)) => (n, c.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect()),
        None => (text, Vec::new()),
    };
    let (namespace, name) = match name.split_once('.') {
        Some((ns, n)) => (Some(ns.to_owned()), n.to_owned()),
        None => (None, name.to_owned()),
    };
    if name.is_empty() {
        return Err("a table is NAME, SCHEMA.NAME, or NAME:COL,COL".into());
    }
    Ok(TableConfig { name, namespace, columns: cols, conflict_policy: None })
}

/// `hubsync schema refresh GROUP [--database hub|MEMBER]`.
async fn refresh(r: &Remote, group: &str, database: Option<&str>) -> Result<()> {
    let v = r.client()?.schema(group, &SchemaQuery { database: database.map(str::to_owned) }).await?;
    if r.json {
        return print(&v);
    }
    for t in v {
        let problem = t.problem.map(|p| format!("  ({p})")).unwrap_or_default();
        println!("{}{problem}", t.table);
        for c in t.columns {
            let key = if c.key { " key" } else { "" };
            let note = c.unsupported.map(|u| format!("  ({u})")).unwrap_or_default();
            println!("  {:<24} {:<12} {}{key}{note}", c.name, opt(c.kind), opt(c.declared_type));
        }
    }
    Ok(())
}

/// `hubsync schema show GROUP`.
async fn show(r: &Remote, group: &str) -> Result<()> {
    let v = r.client()?.tables(group).await?;
    if r.json {
        return print(&v);
    }
    for t in v {
        let name = match &t.namespace {
            Some(n) => format!("{n}.{}", t.name),
            None => t.name.clone(),
        };
        let cols = if t.columns.is_empty() { "every column".to_owned() } else { t.columns.join(", ") };
        println!("{name}: {cols}");
    }
    Ok(())
}

/// `hubsync schema set GROUP --table T …`.
async fn set(r: &Remote, group: &str, tables: Vec<TableConfig>) -> Result<()> {
    let v = r.client()?.set_tables(group, &tables).await?;
    if r.json {
        return print(&v);
    }
    println!("group {group} now syncs {} tables (revision {})", tables.len(), v.revision);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tables_parse() {
        let t = super::table_arg("sales.orders:id,total").expect("table");
        assert_eq!((t.namespace.as_deref(), t.name.as_str(), t.columns.len()), (Some("sales"), "orders", 2));
        assert!(super::table_arg(":a").is_err());
    }
}
