//! `hubsync sync|status|conflicts|reinit`: run the groups of a group file
//! and look at their history.

use std::path::Path;

use anyhow::{Result, bail};
use hubsync_engine::{Engine, Group, GroupReport, LoadedFile, load_file};

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

pub(crate) fn selected<'a>(loaded: &'a LoadedFile, group: Option<&str>) -> Result<Vec<&'a hubsync_core::GroupConfig>> {
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

/// `hubsync sync --config FILE [--group G] [--member M] [--watch]`.
pub async fn sync(config: &Path, group: Option<&str>, member: Option<&str>, watch: bool) -> Result<()> {
    let loaded = load_file(config)?;
    let engine = engine(&loaded).await?;
    let mut groups: Vec<Group> = Vec::new();
    for g in selected(&loaded, group)? {
        groups.push(engine.prepare(g).await?);
    }
    if watch {
        if member.is_some() {
            bail!("--member cannot be combined with --watch (the scheduler syncs every member)");
        }
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("stopping after the syncs in progress");
                let _ = tx.send(true);
            }
        });
        // One sync of every group first, then the schedule.
        let mut failed = false;
        for g in &groups {
            let r = engine.sync_group(g, None).await?;
            print_report(&r);
            failed |= !r.errors().is_empty();
        }
        if failed {
            eprintln!("some tables failed; the scheduler keeps trying on each interval");
        }
        hubsync_engine::watch(&engine, &groups, rx, &print_report).await;
        return Ok(());
    }
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for g in &groups {
        let r = engine.sync_group(g, member).await?;
        print_report(&r);
        errors.extend(r.errors());
        warnings.extend(r.warnings());
    }
    if !warnings.is_empty() {
        eprintln!(
            "warning: some changes could not be synced and were quarantined; the rest synced:\n  {}\n\
             `hubsync quarantine --config {}` shows why; they sync again when their rows change",
            warnings.join("\n  "),
            config.display()
        );
    }
    if !errors.is_empty() {
        bail!("{} table syncs failed:\n  {}", errors.len(), errors.join("\n  "));
    }
    Ok(())
}

/// A time in UTC, or `never`.
pub(crate) fn when(micros: Option<i64>) -> String {
    match micros {
        Some(m) => hubsync_core::text::format_timestamp(m) + " UTC",
        None => "never".into(),
    }
}

/// `hubsync conflicts --config FILE --group G [--limit N]`.
pub async fn conflicts(config: &Path, group: &str, limit: i64) -> Result<()> {
    let loaded = load_file(config)?;
    selected(&loaded, Some(group))?;
    let engine = engine(&loaded).await?;
    let rows = engine.meta().conflicts(group, limit).await?;
    let out: Vec<serde_json::Value> = rows
        .iter()
        .map(|(s, c)| {
            let parse = |t: &Option<String>| {
                t.as_deref().and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok()).unwrap_or_default()
            };
            serde_json::json!({
                "member": s.member, "table": s.table, "at": when(Some(c.at_micros)),
                "key": serde_json::from_str::<serde_json::Value>(&c.key).unwrap_or_default(),
                "hub": parse(&c.hub_row), "member_row": parse(&c.member_row),
                "decision": c.decision, "detail": c.reason, "plugin": c.plugin, "plugin_sha256": c.plugin_sha256,
            })
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// `hubsync reinit --config FILE --group G --member M`.
pub async fn reinit(config: &Path, group: &str, member: &str) -> Result<()> {
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

/// Which quarantined changes `--retry` / `--discard` name: `all`, or numbers.
fn quarantine_ids(args: &[String]) -> Result<Option<Vec<i64>>> {
    if args.iter().any(|a| a == "all") {
        return Ok(None);
    }
    let ids = args
        .iter()
        .map(|a| {
            a.parse::<i64>().map_err(|_| anyhow::anyhow!("{a:?} is not a quarantine number (see the list) or `all`"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(ids))
}

/// `hubsync quarantine --config FILE [--group G] [--json] [--retry ID…|all] [--discard ID…|all]`.
pub async fn quarantine(
    config: &Path,
    group: Option<&str>,
    json: bool,
    retry: &[String],
    discard: &[String],
) -> Result<()> {
    let loaded = load_file(config)?;
    let groups = selected(&loaded, group)?;
    let engine = engine(&loaded).await?;
    let mut held = Vec::new();
    for g in &groups {
        held.extend(engine.meta().quarantine(Some(&g.name)).await?);
    }
    for (args, verb) in [(retry, "retry"), (discard, "discard")] {
        if args.is_empty() {
            continue;
        }
        let ids = quarantine_ids(args)?;
        if let Some(ids) = &ids
            && let Some(unknown) = ids.iter().find(|id| !held.iter().any(|q| q.id == **id))
        {
            bail!(
                "there is no quarantined change #{unknown} in the selected groups; `hubsync quarantine --config {}` lists them",
                config.display()
            );
        }
        let mut n = 0;
        for g in &groups {
            let mine: Option<Vec<i64>> = ids.as_ref().map(|ids| {
                ids.iter().copied().filter(|id| held.iter().any(|q| q.id == *id && q.scope.group == g.name)).collect()
            });
            if mine.as_ref().is_some_and(Vec::is_empty) {
                continue;
            }
            n += match verb {
                "retry" => engine.meta().retry_quarantined(&g.name, mine.as_deref()).await?,
                _ => engine.meta().discard_quarantined(&g.name, mine.as_deref()).await?,
            };
        }
        match verb {
            "retry" => println!("{n} quarantined changes will be synced again at the next sync."),
            _ => println!("{n} quarantined changes discarded; they sync again only when their rows change."),
        }
        return Ok(());
    }
    if json {
        let out: Vec<serde_json::Value> = held
            .iter()
            .map(|q| {
                serde_json::json!({
                    "id": q.id, "group": q.scope.group, "member": q.scope.member, "table": q.scope.table,
                    "side": q.record.side.as_str(),
                    "key": q.record.key.as_deref().and_then(|k| serde_json::from_str::<serde_json::Value>(k).ok()),
                    "stage": q.record.stage, "column": q.record.column, "value": q.record.value,
                    "error": q.record.error, "first": when(Some(q.first_micros)), "last": when(Some(q.record.at_micros)),
                    "attempts": q.attempts, "retry": q.retry,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if held.is_empty() {
        println!("no changes are quarantined");
    }
    for q in &held {
        let r = &q.record;
        println!(
            "#{} {} / {} / {}: key {} — {}",
            q.id,
            q.scope.group,
            q.scope.member,
            q.scope.table,
            r.key.as_deref().unwrap_or("(unreadable)"),
            r.stage
        );
        let what = match (&r.column, &r.value) {
            (Some(c), Some(v)) => format!("column {c} = {v:?}: "),
            (Some(c), None) => format!("column {c}: "),
            _ => String::new(),
        };
        println!("    {what}{}", r.error);
        println!(
            "    first {}, last {}, failed syncs: {}{}",
            when(Some(q.first_micros)),
            when(Some(r.at_micros)),
            q.attempts,
            if q.retry { "; retry at the next sync" } else { "" }
        );
    }
    if !held.is_empty() {
        println!(
            "They sync again when their rows change; `--retry ID…|all` syncs them at the next sync, \
             `--discard ID…|all` forgets them."
        );
    }
    Ok(())
}
