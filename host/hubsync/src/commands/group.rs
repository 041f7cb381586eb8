//! `hubsync group create | list | show | update | delete`: sync groups on
//! the server (Data Sync's New/Get/Update/Remove-AzSqlSyncGroup).

use anyhow::Result;
use hubsync_api::{GroupUpdate, RemoveQuery};
use hubsync_core::{GroupConfig, MemberConfig, TableConfig};

use super::schema::table_arg;
use crate::output::{opt, print, table, toml_of};
use crate::remote::Remote;

#[derive(clap::Subcommand)]
pub enum GroupCommand {
    /// Create a group.
    Create {
        /// The group's name.
        name: String,
        /// The hub database's URL.
        #[arg(long)]
        hub: String,
        /// A member: NAME=URL (repeat).
        #[arg(long = "member", value_name = "NAME=URL", required = true)]
        members: Vec<String>,
        /// A table to sync: NAME, SCHEMA.NAME or NAME:COL,COL (repeat).
        #[arg(long = "table", value_parser = table_arg, required = true)]
        tables: Vec<TableConfig>,
        /// Seconds between automatic syncs (none: only on request).
        #[arg(long)]
        interval_seconds: Option<u64>,
        /// The conflict policy plugin (default builtin:hub-wins).
        #[arg(long)]
        policy: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// List groups.
    List {
        #[command(flatten)]
        remote: Remote,
    },
    /// Show a group's definition as a group file.
    Show {
        /// The group.
        name: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Change a group's schedule or policy (`hubsync apply` changes anything).
    Update {
        /// The group.
        name: String,
        /// Seconds between automatic syncs; 0 turns automatic sync off.
        #[arg(long)]
        interval_seconds: Option<u64>,
        /// The conflict policy plugin.
        #[arg(long)]
        policy: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Remove a group (history stays).
    Delete {
        /// The group.
        name: String,
        /// Also remove hubsync's triggers and tracking tables from its databases.
        #[arg(long)]
        deprovision: bool,
        #[command(flatten)]
        remote: Remote,
    },
}

impl GroupCommand {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        match self {
            GroupCommand::Create { name, hub, members, tables, interval_seconds, policy, remote } => {
                let mut list = Vec::new();
                for m in members {
                    let Some((n, url)) = m.split_once('=') else {
                        anyhow::bail!("--member {m:?}: write NAME=URL");
                    };
                    list.push(MemberConfig {
                        name: n.to_owned(),
                        url: url.to_owned(),
                        direction: Default::default(),
                        column_filter: None,
                        schema_map: None,
                        connect_timeout_seconds: None,
                        statement_timeout_seconds: None,
                    });
                }
                let mut g: GroupConfig = serde_json::from_value(serde_json::json!({
                    "name": name, "hub": hub, "interval_seconds": interval_seconds,
                }))?;
                g.members = list;
                g.tables = tables;
                if let Some(p) = policy {
                    g.conflict_policy.plugin = p;
                }
                create(&remote, g).await
            }
            GroupCommand::List { remote } => list(&remote).await,
            GroupCommand::Show { name, remote } => show(&remote, &name).await,
            GroupCommand::Update { name, interval_seconds, policy, remote } => {
                update(&remote, &name, |g| {
                    if let Some(s) = interval_seconds {
                        g.interval_seconds = (s > 0).then_some(s);
                    }
                    if let Some(p) = policy {
                        g.conflict_policy.plugin = p;
                    }
                })
                .await
            }
            GroupCommand::Delete { name, deprovision, remote } => delete(&remote, &name, deprovision).await,
        }
    }
}

/// `hubsync group list`.
async fn list(r: &Remote) -> Result<()> {
    let v = r.client()?.list_groups().await?;
    if r.json {
        return print(&v);
    }
    let rows = v
        .into_iter()
        .map(|g| vec![g.name, g.members.to_string(), g.tables.to_string(), opt(g.interval_seconds), g.hub])
        .collect();
    table(&["group", "members", "tables", "interval_s", "hub"], rows);
    Ok(())
}

/// `hubsync group show NAME`.
async fn show(r: &Remote, name: &str) -> Result<()> {
    let v = r.client()?.group(name).await?;
    if r.json {
        return print(&v);
    }
    println!("# revision {}", v.revision);
    print!("{}", toml_of(&[v.definition])?);
    Ok(())
}

/// `hubsync group create NAME --hub URL --member NAME=URL … --table T …`.
async fn create(r: &Remote, g: GroupConfig) -> Result<()> {
    let v = r.client()?.create_group(&g).await?;
    if r.json {
        return print(&v);
    }
    println!("created group {} (revision {})", g.name, v.revision);
    Ok(())
}

/// `hubsync group update NAME [--interval-seconds N] [--policy P]`.
async fn update(r: &Remote, name: &str, change: impl FnOnce(&mut GroupConfig)) -> Result<()> {
    let c = r.client()?;
    let v = c.group(name).await?;
    let mut definition = v.definition;
    change(&mut definition);
    let body = GroupUpdate { revision: Some(v.revision), definition };
    let v = c.update_group(name, &body).await?;
    if r.json {
        return print(&v);
    }
    println!("updated group {name} (revision {})", v.revision);
    Ok(())
}

/// `hubsync group delete NAME [--deprovision]`.
async fn delete(r: &Remote, name: &str, deprovision: bool) -> Result<()> {
    r.client()?.delete_group(name, &RemoveQuery { deprovision }).await?;
    println!("removed group {name}{}", if deprovision { " and its change tracking" } else { "" });
    Ok(())
}
