//! The `hubsync` command line: the binary that wires the crates together.

mod db_cmd;
mod demo;
mod plugin_cmd;
mod scaffold;
mod sync_cmd;
mod verify_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use hubsync_core::PluginRole;

/// hubsync: open, self-hosted database sync.
#[derive(Parser)]
#[command(name = "hubsync", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a hub and two members on embedded SQLite in a temporary folder,
    /// change all three (with a conflict), sync, and check they converged.
    Demo {
        /// Use (and keep) this folder instead of a temporary one.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Sync the groups of a group file once (or on their intervals with --watch).
    Sync {
        /// The group file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Only this group.
        #[arg(long)]
        group: Option<String>,
        /// Only this member ("sync now" for one member).
        #[arg(long)]
        member: Option<String>,
        /// Keep syncing each group on its interval_seconds until interrupted (Ctrl-C).
        #[arg(long)]
        watch: bool,
    },
    /// Show the last sync of every table of every member: when, outcome, rows, conflicts.
    Status {
        /// The group file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Only this group.
        #[arg(long)]
        group: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the latest settled conflicts of a group as JSON (both row images, decision, plugin).
    Conflicts {
        /// The group file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// The group.
        #[arg(long)]
        group: String,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// List the changes that could not be synced (unreadable values, rows a
    /// database rejected), and retry or discard them.
    Quarantine {
        /// The group file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Only this group.
        #[arg(long)]
        group: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Sync these quarantined changes again at the next sync (numbers from the list, or `all`).
        #[arg(long, num_args = 1.., value_name = "ID|all", conflicts_with = "discard")]
        retry: Vec<String>,
        /// Forget these quarantined changes (they sync again when their rows change).
        #[arg(long, num_args = 1.., value_name = "ID|all")]
        discard: Vec<String>,
    },
    /// Compare members with the hub by key and row (in pages, without locks);
    /// exit non-zero when they differ. Keys changed since the last sync are not compared.
    Verify {
        /// The group file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Only this group.
        #[arg(long)]
        group: Option<String>,
        /// Only this member.
        #[arg(long)]
        member: Option<String>,
        /// Only this table (as the hub names it).
        #[arg(long)]
        table: Option<String>,
        /// List at most this many differing keys per table (all are counted).
        #[arg(long, default_value_t = 20)]
        show: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Send the hub's rows for the differing keys again (the next sync carries them).
        #[arg(long)]
        repair: bool,
    },
    /// Forget a member's sync state so its next sync starts from scratch.
    Reinit {
        /// The group file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// The group.
        #[arg(long)]
        group: String,
        /// The member.
        #[arg(long)]
        member: String,
    },
    /// Develop, inspect and dry-run plugins (conflict policies, column filters, schema maps).
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Inspect a database, provision or remove change tracking, read captured changes.
    #[command(subcommand)]
    Db(DbCommand),
}

#[derive(Subcommand)]
enum DbCommand {
    /// List tables with their columns, types, keys and indexes, as hubsync sees them
    /// (Data Sync's "refresh schema"); columns hubsync cannot sync are marked.
    Introspect {
        /// `sqlite://PATH`, `postgres://USER@HOST/DB` or `mysql://USER@HOST/DB`.
        url: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Start tracking changes of a table (idempotent); rows already there count as changes.
    Provision {
        /// The database URL.
        url: String,
        /// The table (`name` or `namespace.name`).
        table: String,
        /// Comma-separated columns to track (default: every syncable column); must include the key.
        #[arg(long)]
        columns: Option<String>,
    },
    /// Remove hubsync's triggers and tracking tables (and nothing else).
    Deprovision {
        /// The database URL.
        url: String,
        /// The table to stop tracking.
        table: Option<String>,
        /// Remove every hubsync object in the database (the clean-up script).
        #[arg(long)]
        all: bool,
    },
    /// Print the changes captured on a table after an anchor, as JSON.
    Changes {
        /// The database URL.
        url: String,
        /// The table.
        table: String,
        /// Comma-separated columns (as provisioned).
        #[arg(long)]
        columns: Option<String>,
        /// Read after this anchor (the `next` of an earlier call); from the start if omitted.
        #[arg(long)]
        since: Option<String>,
        /// At most this many changes.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Scaffold a plugin crate that builds to a component with
    /// `cargo build --release --target wasm32-wasip2`.
    New {
        /// Directory to create (its name becomes the crate name).
        dir: PathBuf,
        /// The plugin's role.
        #[arg(long, value_enum)]
        kind: Kind,
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
    /// Run test cases through a plugin and print its decisions as JSON (a dry run).
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
    /// List the built-in plugins.
    List,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            // tiberius logs every server error (hubsync reports them itself,
            // with what to do) and a warning on each connection that trusts
            // a certificate as the URL asked: quiet unless HUBSYNC_LOG says.
            tracing_subscriber::EnvFilter::try_from_env("HUBSYNC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,tiberius=off")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo { dir } => demo::run(dir).await,
        Command::Sync { config, group, member, watch } => {
            sync_cmd::sync(&config, group.as_deref(), member.as_deref(), watch).await
        }
        Command::Status { config, group, json } => sync_cmd::status(&config, group.as_deref(), json).await,
        Command::Conflicts { config, group, limit } => sync_cmd::conflicts(&config, &group, limit).await,
        Command::Quarantine { config, group, json, retry, discard } => {
            sync_cmd::quarantine(&config, group.as_deref(), json, &retry, &discard).await
        }
        Command::Verify { config, group, member, table, show, json, repair } => {
            let options = hubsync_engine::VerifyOptions { member, table, show, repair };
            verify_cmd::verify(&config, group.as_deref(), options, json).await
        }
        Command::Reinit { config, group, member } => sync_cmd::reinit(&config, &group, &member).await,
        Command::Plugin(PluginCommand::New { dir, kind }) => {
            let name = scaffold::new_plugin(&dir, kind.into())?;
            let artifact = name.replace('-', "_");
            println!("Created {} plugin {name} in {}.", PluginRole::from(kind), dir.display());
            println!("Next:");
            println!("  cd {}", dir.display());
            println!("  cargo test");
            println!("  cargo build --release --target wasm32-wasip2");
            println!("  hubsync plugin test target/wasm32-wasip2/release/{artifact}.wasm --cases cases.json");
            Ok(())
        }
        Command::Plugin(PluginCommand::Check { plugin, config, json }) => {
            plugin_cmd::check(&plugin, config.as_deref(), json).await
        }
        Command::Plugin(PluginCommand::Test { plugin, cases, config }) => {
            plugin_cmd::test(&plugin, &cases, config.as_deref()).await
        }
        Command::Plugin(PluginCommand::List) => plugin_cmd::list().await,
        Command::Db(DbCommand::Introspect { url, json }) => db_cmd::introspect(&url, json).await,
        Command::Db(DbCommand::Provision { url, table, columns }) => {
            db_cmd::provision(&url, &table, columns.as_deref()).await
        }
        Command::Db(DbCommand::Deprovision { url, table, all }) => {
            db_cmd::deprovision(&url, table.as_deref(), all).await
        }
        Command::Db(DbCommand::Changes { url, table, columns, since, limit }) => {
            db_cmd::changes(&url, &table, columns.as_deref(), since.as_deref(), limit).await
        }
    }
}
