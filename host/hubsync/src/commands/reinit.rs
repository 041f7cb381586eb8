//! `hubsync reinit`: forget a member's sync state so its next sync starts
//! from scratch (on a server it syncs at once).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use hubsync_engine::load_file;

use crate::local::{engine, selected};
use crate::remote::Remote;

// The arguments of `hubsync reinit`.
#[derive(clap::Args)]
pub struct ReinitArgs {
    /// The group file (TOML); without it, ask the server.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    remote: Remote,
    /// The group.
    #[arg(long)]
    group: String,
    /// The member.
    #[arg(long)]
    member: String,
}

impl ReinitArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        match &self.config {
            Some(config) => file(config, &self.group, &self.member).await,
            None => remote(&self.remote, &self.group, &self.member).await,
        }
    }
}

/// `hubsync reinit --config FILE --group G --member M`.
async fn file(config: &Path, group: &str, member: &str) -> Result<()> {
    let loaded = load_file(config)?;
    let g = selected(&loaded, Some(group))?[0];
    if !g.members.iter().any(|m| m.name == member) {
        bail!("group {group} has no member {member:?}");
    }
    let engine = engine(&loaded).await?;
    engine.meta().forget(group, Some(member), None).await?;
    println!(
        "Member {member} of group {group} will be synced from scratch on its next sync: \
         rows on both sides go through the conflict policy, rows on one side are copied."
    );
    Ok(())
}

/// `hubsync reinit --group G --member M` against the server.
async fn remote(r: &Remote, group: &str, member: &str) -> Result<()> {
    r.client()?.reinit(group, member).await?;
    println!("member {member} of group {group} forgot its sync state and syncs from scratch now");
    Ok(())
}
