//! `hubsync plugin check | test | list`: inspect and dry-run plugins.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use hubsync_core::cases::{self, Cases};
use hubsync_core::{Direction, PluginInfo, PluginRole};
use hubsync_plugin_host::{Plugin, Runtime, RuntimeConfig, Source, builtin};
use serde_json::{Value as Json, json};

/// A plugin named on the command line: `builtin:NAME` or a `.wasm` path.
pub fn source(arg: &str) -> Source<'_> {
    match arg.strip_prefix("builtin:") {
        Some(name) => Source::Builtin(name),
        None => Source::File(Path::new(arg)),
    }
}

fn runtime() -> Result<Runtime> {
    let config = RuntimeConfig { cache_dir: RuntimeConfig::default_cache_dir(), ..RuntimeConfig::default() };
    Ok(Runtime::new(config)?)
}

fn info_json(info: &PluginInfo) -> Json {
    json!({
        "name": info.name,
        "version": info.version,
        "role": info.role,
        "contract": format!("hubsync:plugin@{}", info.contract_version),
        "sha256": info.sha256,
        "description": info.description,
    })
}

/// `hubsync plugin check PLUGIN`.
pub async fn check(plugin: &str, config: Option<&Path>, as_json: bool) -> Result<()> {
    let config = read_config(config)?;
    let p = runtime()?.load(source(plugin), &config, None).await?;
    let info = p.info();
    if as_json {
        println!("{}", serde_json::to_string_pretty(&info_json(info))?);
    } else {
        println!("name:        {}", info.name);
        println!("version:     {}", info.version);
        println!("role:        {}", info.role);
        println!("contract:    hubsync:plugin@{}", info.contract_version);
        println!("sha256:      {}", info.sha256);
        println!("description: {}", info.description);
    }
    Ok(())
}

/// `hubsync plugin list`.
pub async fn list() -> Result<()> {
    let rt = runtime()?;
    for name in builtin::NAMES {
        let p = rt.load(Source::Builtin(name), builtin::sample_config(name), None).await?;
        let info = p.info();
        println!("builtin:{:<18} {:<16} {}", info.name, info.role.world(), info.description);
    }
    Ok(())
}

fn read_config(path: Option<&Path>) -> Result<String> {
    let Some(path) = path else { return Ok("{}".to_owned()) };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the config file {}", path.display()))?;
    serde_json::from_str::<Json>(&text)
        .with_context(|| format!("the config file {} is not valid JSON", path.display()))?;
    Ok(text)
}

/// `hubsync plugin test PLUGIN --cases FILE [--config FILE]`: run the cases
/// through the plugin and print what it decided, as JSON.
pub async fn test(plugin: &str, cases_path: &PathBuf, config: Option<&Path>) -> Result<()> {
    let config = read_config(config)?;
    let text = std::fs::read_to_string(cases_path)
        .with_context(|| format!("cannot read the cases file {}", cases_path.display()))?;
    let cases = Cases::from_json(&text).with_context(|| format!("in {}", cases_path.display()))?;
    let p = runtime()?.load(source(plugin), &config, None).await?;
    let out = run_cases(&p, &cases).await?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

async fn run_cases(p: &Plugin, cases: &Cases) -> Result<Json> {
    let info = p.info();
    let table = &cases.table;
    let mut out = json!({"plugin": info_json(info), "table": table.qualified_name(), "member": cases.member});
    match info.role {
        PluginRole::ConflictPolicy => {
            anyhow::ensure!(!cases.conflicts.is_empty(), "the cases file has no `conflicts` for this conflict policy");
            let decisions = p.resolve(&cases.conflict_batch()).await?;
            let list: Vec<Json> = cases
                .conflicts
                .iter()
                .zip(&decisions)
                .map(|(c, d)| cases::resolution_to_json(table, &c.key, d))
                .collect();
            out["decisions"] = Json::Array(list);
        }
        PluginRole::ColumnFilter => {
            let columns = p.filter_columns(table, &cases.member).await?;
            let keep = p.filter_rows(table, &cases.member, &cases.rows).await?;
            out["columns"] = columns.iter().map(|&i| Json::from(table.columns[i].name.clone())).collect();
            out["rows"] = cases
                .rows
                .iter()
                .zip(keep)
                .map(|(r, k)| json!({"row": cases::row_to_json(&table.columns, r), "sent": k}))
                .collect();
        }
        PluginRole::SchemaMap => {
            let mapped = p.map_schema(table, &cases.member).await?;
            let rows = p.map_rows(table, &cases.member, Direction::ToMember, &cases.rows).await?;
            let back = p.map_rows(table, &cases.member, Direction::ToHub, &rows).await?;
            out["schema"] = serde_json::to_value(&mapped)?;
            out["rows"] = rows.iter().map(|r| cases::row_to_json(&mapped.columns, r)).collect();
            out["round_trip_exact"] = Json::Bool(back == cases.rows);
        }
    }
    Ok(out)
}
