//! What the file-driven commands share: the engine of a group file, the
//! groups a `--group` selects, and a sync report in plain words.

use anyhow::{Result, bail};
use hubsync_engine::{Engine, GroupReport, LoadedFile};

/// Open the engine of a loaded group file. With `HUBSYNC_SECRET_KEY` (or
/// `HUBSYNC_SECRET_KEY_FILE`) set, the definitions it records are sealed
/// as `hubsync serve` seals them (and sealed ones can be read).
pub async fn engine(loaded: &LoadedFile) -> Result<Engine> {
    let cache = hubsync_plugin_host::RuntimeConfig::default_cache_dir();
    let meta = hubsync_connectors::meta::MetaStore::open(&loaded.metadata_url)
        .await
        .map_err(|e| anyhow::anyhow!("opening the sync metadata database: {e}"))?;
    let meta = match hubsync_connectors::secret::Cipher::from_env()? {
        Some(c) => meta.with_cipher(c),
        None => meta,
    };
    Ok(Engine::with_store(meta, cache.as_deref())?)
}

/// The groups of the file `group` selects (all without it); an error
/// naming the file's groups when it has no such group.
pub fn selected<'a>(loaded: &'a LoadedFile, group: Option<&str>) -> Result<Vec<&'a hubsync_core::GroupConfig>> {
    let all: Vec<_> = loaded.file.groups.iter().filter(|g| group.is_none_or(|n| n == g.name)).collect();
    if all.is_empty() {
        match group {
            Some(n) => bail!(
                "the file has no group {n:?}; its groups are {}",
                loaded.file.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
            None => bail!("the file defines no groups; add a [[group]] table"),
        }
    }
    Ok(all)
}

/// Print a report in plain words.
pub fn print_report(r: &GroupReport) {
    for m in &r.members {
        for t in &m.tables {
            match &t.error {
                Some(e) => println!("{} / {} / {}: FAILED: {e}", r.group, m.member, t.table),
                None => {
                    let mut line = format!(
                        "{} / {} / {}: {} down, {} up, {} conflicts",
                        r.group, m.member, t.table, t.rows_down, t.rows_up, t.conflicts
                    );
                    if t.skipped > 0 {
                        line.push_str(&format!(" ({} skipped by the policy)", t.skipped));
                    }
                    if t.quarantined > 0 {
                        line.push_str(&format!("; {} quarantined (succeeded with warnings)", t.quarantined));
                    }
                    if t.pending {
                        line.push_str("; some changes wait behind an open transaction (next sync)");
                    }
                    println!("{line}");
                }
            }
        }
    }
}
