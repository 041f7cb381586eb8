//! `hubsync conflicts`: the latest settled conflicts of a group (both row
//! images, the decision, the plugin), from a group file's metadata or a
//! server, as the API's `ConflictView` list either way; `--replay` runs them through another policy on the server.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use hubsync_api::{ConflictQuery, ReplayRequest};
use hubsync_core::PolicyConfig;
use hubsync_engine::load_file;
use hubsync_server::views::conflict_view;

use crate::local::{engine, selected};
use crate::output::{print, table, wire};
use crate::remote::Remote;

// The arguments of `hubsync conflicts`.
#[derive(clap::Args)]
pub struct ConflictsArgs {
    /// The group file (TOML); without it, ask the server.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The group.
    #[arg(long)]
    group: String,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 50)]
    limit: i64,
    /// Run the recorded conflicts through this policy (`builtin:NAME`,
    /// `stored:NAME`) on the server and show where it decides otherwise.
    #[arg(long, conflicts_with = "config")]
    replay: Option<String>,
    /// The replayed policy's configuration (JSON text).
    #[arg(long, requires = "replay")]
    replay_config: Option<String>,
    #[command(flatten)]
    remote: Remote,
}

impl ConflictsArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        match (&self.config, &self.replay) {
            (Some(config), _) => file(config, &self.group, self.limit).await,
            (None, Some(policy)) => {
                replay(&self.remote, &self.group, policy, self.replay_config.as_deref(), self.limit).await
            }
            (None, None) => remote(&self.remote, &self.group, self.limit).await,
        }
    }
}

/// `hubsync conflicts --config FILE --group G [--limit N]`.
async fn file(config: &Path, group: &str, limit: i64) -> Result<()> {
    let loaded = load_file(config)?;
    selected(&loaded, Some(group))?;
    let engine = engine(&loaded).await?;
    let rows = engine.meta().conflicts(group, limit).await?;
    let views =
        rows.into_iter().map(|(s, c)| conflict_view(s, c)).collect::<Result<Vec<_>, String>>().map_err(|name| {
            anyhow::anyhow!("the metadata records a conflict decision {name:?} this hubsync does not know: upgrade it")
        })?;
    print(&views)
}

/// `hubsync conflicts --group G` against the server.
async fn remote(r: &Remote, group: &str, limit: i64) -> Result<()> {
    let v = r.client()?.conflicts(group, &ConflictQuery { limit: Some(limit) }).await?;
    print(&v)
}

/// `hubsync conflicts --group G --replay POLICY`.
async fn replay(r: &Remote, group: &str, policy: &str, config: Option<&str>, limit: i64) -> Result<()> {
    let config = match config {
        Some(c) => serde_json::from_str(c).context("--replay-config is not JSON")?,
        None => serde_json::Value::Object(Default::default()),
    };
    let body =
        ReplayRequest { policy: PolicyConfig { plugin: policy.to_owned(), config, limits: None }, limit: Some(limit) };
    let v = r.client()?.replay(group, &body).await?;
    if r.json {
        return print(&v);
    }
    println!(
        "{} conflicts replayed through {policy}: {} decided the same, {} otherwise",
        v.replayed,
        v.same,
        v.differences.len()
    );
    let rows = v
        .differences
        .into_iter()
        .map(|d| vec![d.member, d.table, d.key.to_string(), wire(&d.recorded), wire(&d.replayed)])
        .collect();
    table(&["member", "table", "key", "decided", "would decide"], rows);
    Ok(())
}
