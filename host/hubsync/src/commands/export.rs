//! `hubsync export`: the server's groups as a group file (passwords
//! masked; applying it again keeps the stored passwords).

use anyhow::Result;

use crate::output::{print, toml_of};
use crate::remote::Remote;

// The arguments of `hubsync export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// Only this group.
    #[arg(long)]
    group: Option<String>,
    #[command(flatten)]
    remote: Remote,
}

impl ExportArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        export(&self.remote, self.group.as_deref()).await
    }
}

/// `hubsync export [--group G]`: the groups as a group file (passwords masked;
/// applying it again keeps the stored passwords).
async fn export(r: &Remote, group: Option<&str>) -> Result<()> {
    let c = r.client()?;
    let names: Vec<String> = match group {
        Some(g) => vec![g.to_owned()],
        None => c.list_groups().await?.into_iter().map(|g| g.name).collect(),
    };
    let mut groups = Vec::new();
    for n in names {
        groups.push(c.group(&n).await?.definition);
    }
    if r.json {
        return print(&groups);
    }
    print!("{}", toml_of(&groups)?);
    Ok(())
}
