//! `hubsync member add | list | update | remove`: a group's members on the
//! server.

use anyhow::{Result, bail};
use hubsync_api::{MemberUpdate, RemoveQuery};
use hubsync_core::{MemberConfig, SyncDirection};

use crate::output::{print, table, wire};
use crate::remote::Remote;

#[derive(clap::Subcommand)]
pub enum MemberCommand {
    /// Add a member.
    Add {
        /// The group.
        group: String,
        /// The member's name.
        name: String,
        /// Its database URL, or `agent://AGENT/DATABASE` for a database
        /// registered on a sync agent.
        #[arg(long)]
        url: String,
        /// Which way changes flow.
        #[arg(long, value_enum, default_value_t = DirectionArg::Bidirectional)]
        direction: DirectionArg,
        #[command(flatten)]
        remote: Remote,
    },
    /// List a group's members.
    List {
        /// The group.
        group: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Change a member's URL (credentials) or direction.
    Update {
        /// The group.
        group: String,
        /// The member.
        name: String,
        /// A new URL.
        #[arg(long)]
        url: Option<String>,
        /// A new direction.
        #[arg(long, value_enum)]
        direction: Option<DirectionArg>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Remove a member.
    Remove {
        /// The group.
        group: String,
        /// The member.
        name: String,
        /// Also remove hubsync's triggers and tracking tables from its database.
        #[arg(long)]
        deprovision: bool,
        #[command(flatten)]
        remote: Remote,
    },
}

/// A member's direction on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum DirectionArg {
    Bidirectional,
    ToHub,
    FromHub,
}

impl From<DirectionArg> for SyncDirection {
    fn from(d: DirectionArg) -> Self {
        match d {
            DirectionArg::Bidirectional => SyncDirection::Bidirectional,
            DirectionArg::ToHub => SyncDirection::ToHub,
            DirectionArg::FromHub => SyncDirection::FromHub,
        }
    }
}

impl MemberCommand {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        match self {
            MemberCommand::Add { group, name, url, direction, remote } => {
                let m = MemberConfig {
                    name,
                    url,
                    direction: direction.into(),
                    column_filter: None,
                    schema_map: None,
                    connect_timeout_seconds: None,
                    statement_timeout_seconds: None,
                };
                add(&remote, &group, m).await
            }
            MemberCommand::List { group, remote } => list(&remote, &group).await,
            MemberCommand::Update { group, name, url, direction, remote } => {
                update(&remote, &group, &name, url, direction.map(Into::into)).await
            }
            MemberCommand::Remove { group, name, deprovision, remote } => {
                remove(&remote, &group, &name, deprovision).await
            }
        }
    }
}

/// `hubsync member list GROUP`.
async fn list(r: &Remote, group: &str) -> Result<()> {
    let v = r.client()?.members(group).await?;
    if r.json {
        return print(&v);
    }
    let rows = v.into_iter().map(|m| vec![m.name, wire(&m.direction), m.url]).collect();
    table(&["member", "direction", "url"], rows);
    Ok(())
}

/// `hubsync member add GROUP NAME --url URL [--direction D]`.
async fn add(r: &Remote, group: &str, m: MemberConfig) -> Result<()> {
    let v = r.client()?.add_member(group, &m).await?;
    if r.json {
        return print(&v);
    }
    println!("added member {} to group {group}", m.name);
    Ok(())
}

/// `hubsync member update GROUP NAME [--url URL] [--direction D]`.
async fn update(
    r: &Remote,
    group: &str,
    name: &str,
    url: Option<String>,
    direction: Option<SyncDirection>,
) -> Result<()> {
    if url.is_none() && direction.is_none() {
        bail!("nothing to change: give --url or --direction");
    }
    let body = MemberUpdate { url, direction, ..MemberUpdate::default() };
    let v = r.client()?.update_member(group, name, &body).await?;
    if r.json {
        return print(&v);
    }
    println!("updated member {name} of group {group}");
    Ok(())
}

/// `hubsync member remove GROUP NAME [--deprovision]`.
async fn remove(r: &Remote, group: &str, name: &str, deprovision: bool) -> Result<()> {
    r.client()?.remove_member(group, name, &RemoveQuery { deprovision }).await?;
    println!("removed member {name} from group {group}");
    Ok(())
}
