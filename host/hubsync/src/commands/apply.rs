//! `hubsync apply FILE`: create or update the groups of a group file on
//! the server, showing the changes (a diff of the group file) first.

use std::path::{Path, PathBuf};

use anyhow::Result;
use hubsync_api::GroupUpdate;

use crate::output::toml_of;
use crate::remote::Remote;

// The arguments of `hubsync apply`.
#[derive(clap::Args)]
pub struct ApplyArgs {
    /// The group file (TOML).
    file: PathBuf,
    /// Show the changes only.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    remote: Remote,
}

impl ApplyArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        apply(&self.remote, &self.file, self.dry_run).await
    }
}

/// Lines of `old` and `new` as a diff (`-`, `+`, and two lines of context).
fn diff(old: &str, new: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // Longest common subsequence, then walk it.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals before additions, as diff(1) prints them.
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let near = |k: usize| ops[k.saturating_sub(2)..(k + 3).min(ops.len())].iter().any(|o| o.0 != ' ');
    ops.iter().enumerate().filter(|(k, _)| near(*k)).map(|(_, (c, l))| format!("{c} {l}")).collect()
}

/// `hubsync apply FILE [--dry-run]`: create or update the file's groups,
/// showing what changes first.
async fn apply(r: &Remote, file: &Path, dry_run: bool) -> Result<()> {
    let loaded = hubsync_engine::load_file(file)?;
    let c = r.client()?;
    let mut changed = 0;
    for g in &loaded.file.groups {
        let current = match c.group(&g.name).await {
            Ok(v) => Some(v),
            Err(e) if e.status == 404 => None,
            Err(e) => return Err(e.into()),
        };
        let mut masked = g.clone();
        masked.hub = hubsync_connectors::redact(&masked.hub);
        for m in &mut masked.members {
            m.url = hubsync_connectors::redact(&m.url);
        }
        let new_text = toml_of(std::slice::from_ref(&masked))?;
        match &current {
            None => {
                println!("group {}: will be created", g.name);
                for l in new_text.lines() {
                    println!("+ {l}");
                }
            }
            Some(v) => {
                let old_text = toml_of(std::slice::from_ref(&v.definition))?;
                let lines = diff(&old_text, &new_text);
                if lines.is_empty() {
                    println!("group {}: unchanged", g.name);
                    continue;
                }
                println!("group {}: will be changed", g.name);
                for l in lines {
                    println!("{l}");
                }
            }
        }
        changed += 1;
        if dry_run {
            continue;
        }
        match current {
            None => {
                c.create_group(g).await?;
            }
            Some(v) => {
                let body = GroupUpdate { revision: Some(v.revision), definition: g.clone() };
                c.update_group(&g.name, &body).await?;
            }
        }
    }
    if dry_run {
        println!("dry run: {changed} group(s) would change");
    } else {
        println!("{changed} group(s) applied");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_show_changed_lines_with_context() {
        let d = diff("a\nb\nc\nd\ne\nf\ng", "a\nb\nc\nX\ne\nf\ng");
        assert_eq!(d, vec!["  b", "  c", "- d", "+ X", "  e", "  f"]);
        assert!(diff("same", "same").is_empty());
    }
}
