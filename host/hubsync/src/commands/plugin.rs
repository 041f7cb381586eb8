//! `hubsync plugin new | check | test | list | upload | remove`: scaffold,
//! inspect and dry-run plugins, and keep them on a server.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use hubsync_api::UploadQuery;
use hubsync_core::cases::{self, Cases};
use hubsync_core::{Direction, PluginInfo, PluginRole};
use hubsync_plugin_host::{Plugin, Runtime, RuntimeConfig, Source, builtin};
use serde_json::{Value as Json, json};

use crate::output::{print, table};
use crate::remote::Remote;
use crate::scaffold::Lang;

#[derive(clap::Subcommand)]
pub enum PluginCommand {
    /// Scaffold a plugin project that builds to a component: a Rust crate
    /// (`cargo build --release --target wasm32-wasip2`), or a Python or
    /// JavaScript project (`./build.sh`, with componentize-py or componentize-js).
    New {
        /// Directory to create (its name becomes the plugin's name).
        dir: PathBuf,
        /// The plugin's role.
        #[arg(long, value_enum)]
        kind: Kind,
        /// The language to write it in.
        #[arg(long, value_enum, default_value = "rust")]
        lang: Lang,
    },
    /// Load a plugin and print its name, role, version and contract version.
    Check {
        /// A `.wasm` component, or `builtin:NAME`.
        plugin: String,
        /// Configuration to validate with it (a JSON file).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run test cases through a plugin and print its decisions as JSON (a dry
    /// run); when the cases file has `expect`, fail unless the output matches it.
    Test {
        /// A `.wasm` component, or `builtin:NAME`.
        plugin: String,
        /// The cases: a table plus `conflicts` (conflict policies) or `rows` (filters, maps).
        #[arg(long)]
        cases: PathBuf,
        /// The plugin's configuration (a JSON file); `{}` when omitted.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// List the built-in plugins (and, with a server, the uploaded ones).
    List {
        /// Also list the plugins uploaded to this server.
        #[arg(long, env = "HUBSYNC_SERVER")]
        server: Option<String>,
        /// The API token.
        #[arg(long, env = "HUBSYNC_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Upload a plugin to the server (checked first); groups use it as `stored:NAME`.
    Upload {
        /// The `.wasm` component.
        file: PathBuf,
        /// The name to store it under (default: the file's name without `.wasm`).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Remove an uploaded plugin no group uses.
    Remove {
        /// Its name.
        name: String,
        #[command(flatten)]
        remote: Remote,
    },
}

/// A plugin's role on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    ConflictPolicy,
    ColumnFilter,
    SchemaMap,
}

impl From<Kind> for PluginRole {
    fn from(k: Kind) -> Self {
        match k {
            Kind::ConflictPolicy => PluginRole::ConflictPolicy,
            Kind::ColumnFilter => PluginRole::ColumnFilter,
            Kind::SchemaMap => PluginRole::SchemaMap,
        }
    }
}

impl PluginCommand {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        match self {
            PluginCommand::New { dir, kind, lang } => {
                let created = crate::scaffold::new_plugin(&dir, kind.into(), lang)?;
                println!("Created {} plugin {} in {}.", PluginRole::from(kind), created.name, dir.display());
                println!("Next:");
                println!("  cd {}", dir.display());
                for step in created.next {
                    println!("  {step}");
                }
                Ok(())
            }
            PluginCommand::Check { plugin, config, json } => check(&plugin, config.as_deref(), json).await,
            PluginCommand::Test { plugin, cases, config } => test(&plugin, &cases, config.as_deref()).await,
            PluginCommand::List { server, token, json } => {
                if !json {
                    list().await?;
                }
                match server {
                    Some(server) => {
                        let ca_cert = std::env::var_os("HUBSYNC_CA_CERT").map(Into::into);
                        uploaded(&Remote { server, token, ca_cert, json }).await
                    }
                    None if json => list().await,
                    None => Ok(()),
                }
            }
            PluginCommand::Upload { file, name, remote } => upload(&remote, &file, name.as_deref()).await,
            PluginCommand::Remove { name, remote } => remove(&remote, &name).await,
        }
    }
}

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
async fn check(plugin: &str, config: Option<&Path>, as_json: bool) -> Result<()> {
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
async fn list() -> Result<()> {
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
async fn test(plugin: &str, cases_path: &PathBuf, config: Option<&Path>) -> Result<()> {
    let config = read_config(config)?;
    let text = std::fs::read_to_string(cases_path)
        .with_context(|| format!("cannot read the cases file {}", cases_path.display()))?;
    let cases = Cases::from_json(&text).with_context(|| format!("in {}", cases_path.display()))?;
    let p = runtime()?.load(source(plugin), &config, None).await?;
    let out = run_cases(&p, &cases).await?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    // The file's `expect`, if any, turns the dry run into a test: the
    // differences go to stderr and the exit code says whether it passed.
    if let Some(expected) = &cases.expect {
        let unmet = cases::unmet(expected, &out);
        if !unmet.is_empty() {
            for u in &unmet {
                eprintln!("unmet: {u}");
            }
            anyhow::bail!(
                "{} of the expectations in {} not met by plugin {} (see above)",
                unmet.len(),
                cases_path.display(),
                p.info().name
            );
        }
        eprintln!("{}: every expectation met", cases_path.display());
    }
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

/// `hubsync plugin list` (uploaded plugins).
async fn uploaded(r: &Remote) -> Result<()> {
    let v = r.client()?.plugins().await?;
    if r.json {
        return print(&v);
    }
    println!("\nUploaded to {}:", r.server);
    let rows =
        v.into_iter().map(|p| vec![format!("stored:{}", p.name), p.role, p.version, p.used_by.join(", ")]).collect();
    table(&["plugin", "role", "version", "used by"], rows);
    Ok(())
}

/// `hubsync plugin upload FILE [--name N]`.
async fn upload(r: &Remote, file: &Path, name: Option<&str>) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let name = match name {
        Some(n) => n.to_owned(),
        None => file.file_stem().and_then(|s| s.to_str()).map(str::to_owned).context("give --name")?,
    };
    let v = r.client()?.upload_plugin(&UploadQuery { name: name.clone() }, bytes).await?;
    if r.json {
        return print(&v);
    }
    println!("uploaded {} ({} {}); use it as plugin = \"stored:{name}\"", v.name, v.role, v.version);
    Ok(())
}

/// `hubsync plugin remove NAME`.
async fn remove(r: &Remote, name: &str) -> Result<()> {
    r.client()?.delete_plugin(name).await?;
    println!("removed plugin {name}");
    Ok(())
}
