//! The `hubsync` command line: the binary that wires the crates together.

mod agent_cmd;
mod db_cmd;
mod demo;
mod plugin_cmd;
mod remote;
mod scaffold;
mod serve_cmd;
mod status_cmd;
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
    /// Log lines as text (default) or as JSON objects, one per line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
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
    /// Sync the groups of a group file once (or on their intervals with
    /// --watch); `sync now|cancel` ask a server.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Sync {
        #[command(subcommand)]
        action: Option<SyncAction>,
        /// The group file (TOML).
        #[arg(long, required = true)]
        config: Option<PathBuf>,
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
    /// Show the last sync of every table of every member: when, outcome, rows,
    /// conflicts (from the group file's metadata, or from the server without --config).
    Status {
        /// The group file (TOML); without it, ask the server.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Only this group.
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Print the latest settled conflicts of a group as JSON (both row images,
    /// decision, plugin), from the group file's metadata or from the server.
    Conflicts {
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
        remote: remote::Remote,
    },
    /// List the changes that could not be synced (unreadable values, rows a
    /// database rejected), and retry or discard them.
    Quarantine {
        /// The group file (TOML); without it, ask the server (--group needed).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Only this group.
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        remote: remote::Remote,
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
    /// Forget a member's sync state so its next sync starts from scratch
    /// (on the server without --config: it syncs at once).
    Reinit {
        /// The group file (TOML); without it, ask the server.
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        remote: remote::Remote,
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
    /// Run the service: the REST API and the scheduler of every group in
    /// the metadata database, until SIGTERM or Ctrl-C.
    Serve {
        /// The metadata database: `sqlite://PATH` (one instance) or
        /// `postgres://…` (any number of instances share the work). Default:
        /// an embedded store in the user's data folder
        /// ($XDG_DATA_HOME/hubsync/metadata.db, else
        /// ~/.local/share/hubsync/metadata.db), its path printed at start.
        #[arg(long, env = "HUBSYNC_METADATA")]
        metadata: Option<String>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7070")]
        listen: std::net::SocketAddr,
        /// A group file whose groups are created or updated at start.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The key that encrypts database passwords at rest (created if
        /// missing; default ~/.config/hubsync/secret.key); HUBSYNC_SECRET_KEY
        /// (the key itself, base64) takes precedence.
        #[arg(long, env = "HUBSYNC_SECRET_KEY_FILE")]
        secret_key_file: Option<PathBuf>,
        /// A PEM certificate chain: serve HTTPS (with --tls-key).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's PEM private key.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// This instance's name in leases and history (default: host-pid).
        #[arg(long)]
        instance: Option<String>,
        /// Members this instance syncs at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Seconds a member's lease lasts without a heartbeat: how long the
        /// members of a dead instance wait before another takes them.
        #[arg(long, default_value_t = 30)]
        lease_seconds: u64,
        /// Largest request body accepted, in bytes.
        #[arg(long, default_value_t = 1 << 20)]
        body_limit_bytes: usize,
    },
    /// Sync agents on the server: create one (its one-time key is printed
    /// once), list, show, regenerate the key (retires the agent), delete.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Create, list and revoke API tokens (through the server, or with
    /// --metadata directly on its metadata database).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Sync groups on the server (Data Sync's New/Get/Update/Remove-AzSqlSyncGroup).
    #[command(subcommand)]
    Group(GroupCommand),
    /// Members of a group on the server.
    #[command(subcommand)]
    Member(MemberCommand),
    /// The live schema of a group's databases, and its sync schema.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Sync history from the server, newest last; --follow keeps printing.
    Log {
        /// Only this group.
        #[arg(long)]
        group: Option<String>,
        /// Only this member.
        #[arg(long)]
        member: Option<String>,
        /// Only `success`, `warning` or `error`.
        #[arg(long)]
        level: Option<String>,
        /// Only this recent: 30s, 10m, 2h, 7d.
        #[arg(long, value_parser = remote::parse_duration)]
        since: Option<i64>,
        /// At most this many (then the newer ones with --follow).
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Keep printing new entries until interrupted.
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Create or update the groups of a group file on the server, showing
    /// the changes first.
    Apply {
        /// The group file (TOML).
        file: PathBuf,
        /// Show the changes only.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Print the server's groups as a group file (passwords masked).
    Export {
        /// Only this group.
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        remote: remote::Remote,
    },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Run the agent: join the service with a one-time key (kept as a
    /// credential in --state), then stay connected (outbound only) until
    /// stopped or retired. Without --key, the credential in --state is used.
    Connect {
        /// The service's URL (`https://…`).
        #[arg(long)]
        service: Option<String>,
        /// The one-time key from `hubsync agent create` or `regenerate-key`.
        #[arg(long)]
        key: Option<String>,
        /// The agent's state folder (its credential; mode 0700).
        #[arg(long)]
        state: PathBuf,
        /// A PEM certificate to trust (a service with a self-signed certificate).
        #[arg(long, env = "HUBSYNC_CA_CERT")]
        ca_cert: Option<PathBuf>,
    },
    /// The databases registered on this agent (run next to the agent; URLs
    /// and credentials stay in its state folder).
    #[command(subcommand)]
    Db(AgentDbCommand),
    /// Create an agent; prints its one-time key (give it to the agent).
    Create {
        /// The agent's name.
        name: String,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// List agents: online or not, version, last contact, address.
    List {
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Show an agent.
    Show {
        /// The agent.
        name: String,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Give an agent a new one-time key: the old key and the agent's
    /// credential stop working at once.
    RegenerateKey {
        /// The agent.
        name: String,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Remove an agent.
    Delete {
        /// The agent.
        name: String,
        #[command(flatten)]
        remote: remote::Remote,
    },
}

#[derive(Subcommand)]
enum AgentDbCommand {
    /// Register a database: tests the connection, then saves its URL in
    /// the state folder. Members reach it as `agent://AGENT/NAME`.
    Register {
        /// The name the service will know it by.
        name: String,
        /// Its URL with credentials (kept only in the state folder).
        #[arg(long, env = "HUBSYNC_DB_URL")]
        url: String,
        /// The agent's state folder.
        #[arg(long)]
        state: PathBuf,
    },
    /// List the registered databases, each tested now (reachable or not).
    List {
        /// The agent's state folder.
        #[arg(long)]
        state: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Enter new credentials (a new URL) for a registered database; tests
    /// the connection first. A moved agent needs this for each database.
    UpdateCredential {
        /// The database.
        name: String,
        /// Its URL with the new credentials.
        #[arg(long, env = "HUBSYNC_DB_URL")]
        url: String,
        /// The agent's state folder.
        #[arg(long)]
        state: PathBuf,
    },
    /// Forget a database (its URL and credentials).
    Unregister {
        /// The database.
        name: String,
        /// The agent's state folder.
        #[arg(long)]
        state: PathBuf,
    },
}

#[derive(Subcommand)]
enum SyncAction {
    /// Sync a group (or one member) now on the server.
    Now {
        /// The group.
        group: String,
        /// Only this member.
        #[arg(long)]
        member: Option<String>,
        /// Wait until it is done (a progress line in a terminal); fail if a table failed.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Stop a running sync after its batch in flight.
    Cancel {
        /// The group.
        group: String,
        /// Only this member.
        #[arg(long)]
        member: Option<String>,
        #[command(flatten)]
        remote: remote::Remote,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Reader,
}

impl From<RoleArg> for hubsync_server::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => hubsync_server::Role::Admin,
            RoleArg::Reader => hubsync_server::Role::Reader,
        }
    }
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token (printed once).
    Create {
        /// A name for people.
        name: String,
        /// `admin` changes things, `reader` only reads.
        #[arg(long, value_enum, default_value_t = RoleArg::Reader)]
        role: RoleArg,
        /// Work on this metadata database directly instead of the server.
        #[arg(long)]
        metadata: Option<String>,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// List tokens (never their secrets).
    List {
        /// Work on this metadata database directly instead of the server.
        #[arg(long)]
        metadata: Option<String>,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Revoke a token by id or name.
    Revoke {
        /// The token's id or name. (Not called `token`: that is the
        /// `--token` of the caller.)
        #[arg(value_name = "ID|NAME")]
        which: String,
        /// Work on this metadata database directly instead of the server.
        #[arg(long)]
        metadata: Option<String>,
        #[command(flatten)]
        remote: remote::Remote,
    },
}

#[derive(Subcommand)]
enum GroupCommand {
    /// Create a group.
    Create {
        /// The group's name.
        name: String,
        /// The hub database's URL.
        #[arg(long)]
        hub: String,
        /// A member: NAME=URL (repeat).
        #[arg(long = "member", value_name = "NAME=URL", required = true)]
        members: Vec<String>,
        /// A table to sync: NAME, SCHEMA.NAME or NAME:COL,COL (repeat).
        #[arg(long = "table", value_parser = remote::table_arg, required = true)]
        tables: Vec<hubsync_core::TableConfig>,
        /// Seconds between automatic syncs (none: only on request).
        #[arg(long)]
        interval_seconds: Option<u64>,
        /// The conflict policy plugin (default builtin:hub-wins).
        #[arg(long)]
        policy: Option<String>,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// List groups.
    List {
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Show a group's definition as a group file.
    Show {
        /// The group.
        name: String,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Change a group's schedule or policy (`hubsync apply` changes anything).
    Update {
        /// The group.
        name: String,
        /// Seconds between automatic syncs; 0 turns automatic sync off.
        #[arg(long)]
        interval_seconds: Option<u64>,
        /// The conflict policy plugin.
        #[arg(long)]
        policy: Option<String>,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Remove a group (history stays).
    Delete {
        /// The group.
        name: String,
        /// Also remove hubsync's triggers and tracking tables from its databases.
        #[arg(long)]
        deprovision: bool,
        #[command(flatten)]
        remote: remote::Remote,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DirectionArg {
    Bidirectional,
    ToHub,
    FromHub,
}

impl From<DirectionArg> for hubsync_core::SyncDirection {
    fn from(d: DirectionArg) -> Self {
        match d {
            DirectionArg::Bidirectional => hubsync_core::SyncDirection::Bidirectional,
            DirectionArg::ToHub => hubsync_core::SyncDirection::ToHub,
            DirectionArg::FromHub => hubsync_core::SyncDirection::FromHub,
        }
    }
}

#[derive(Subcommand)]
enum MemberCommand {
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
        remote: remote::Remote,
    },
    /// List a group's members.
    List {
        /// The group.
        group: String,
        #[command(flatten)]
        remote: remote::Remote,
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
        remote: remote::Remote,
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
        remote: remote::Remote,
    },
}

#[derive(Subcommand)]
enum SchemaCommand {
    /// Read the live schema of the hub or a member (Data Sync's "refresh schema").
    Refresh {
        /// The group.
        group: String,
        /// `hub` (default) or a member's name.
        #[arg(long)]
        database: Option<String>,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Show the sync schema (tables and columns synced).
    Show {
        /// The group.
        group: String,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Set the sync schema.
    Set {
        /// The group.
        group: String,
        /// A table: NAME, SCHEMA.NAME or NAME:COL,COL (repeat).
        #[arg(long = "table", value_parser = remote::table_arg, required = true)]
        tables: Vec<hubsync_core::TableConfig>,
        #[command(flatten)]
        remote: remote::Remote,
    },
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
        remote: remote::Remote,
    },
    /// Remove an uploaded plugin no group uses.
    Remove {
        /// Its name.
        name: String,
        #[command(flatten)]
        remote: remote::Remote,
    },
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

/// End quietly when standard output is a pipe whose reader has gone
/// (`hubsync … | head`), as `cat` does, instead of panicking: Rust ignores
/// SIGPIPE, so `println!` panics on the write the closed pipe refuses.
fn quiet_on_closed_pipe() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            // 128 + SIGPIPE: what a shell reports for a writer the pipe stopped.
            std::process::exit(141);
        }
        previous(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    // tiberius logs every server error (hubsync reports them itself, with
    // what to do) and a warning on each connection that trusts a
    // certificate as the URL asked: quiet unless HUBSYNC_LOG says.
    // `serve` reports its work at info.
    let default = if matches!(cli.command, Command::Serve { .. }) { "info,tiberius=off" } else { "warn,tiberius=off" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HUBSYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
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
            ExitCode::from(remote::exit_code(&e))
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo { dir } => demo::run(dir).await,
        Command::Sync { action: Some(SyncAction::Now { group, member, wait, remote }), .. } => {
            remote::sync_now(&remote, &group, member.as_deref(), wait).await
        }
        Command::Sync { action: Some(SyncAction::Cancel { group, member, remote }), .. } => {
            remote::sync_cancel(&remote, &group, member.as_deref()).await
        }
        Command::Sync { action: None, config, group, member, watch } => {
            let config = config.ok_or_else(|| anyhow::anyhow!("give --config FILE, or `sync now GROUP`"))?;
            sync_cmd::sync(&config, group.as_deref(), member.as_deref(), watch).await
        }
        Command::Status { config: Some(config), group, remote } => {
            status_cmd::local(&config, group.as_deref(), remote.json).await
        }
        Command::Status { config: None, group, remote } => status_cmd::remote(&remote, group.as_deref()).await,
        Command::Conflicts { config: Some(config), group, limit, .. } => {
            sync_cmd::conflicts(&config, &group, limit).await
        }
        Command::Conflicts { config: None, group, limit, replay: Some(policy), replay_config, remote } => {
            remote::replay(&remote, &group, &policy, replay_config.as_deref(), limit).await
        }
        Command::Conflicts { config: None, group, limit, replay: None, remote, .. } => {
            remote::conflicts(&remote, &group, limit).await
        }
        Command::Quarantine { config: Some(config), group, remote, retry, discard } => {
            sync_cmd::quarantine(&config, group.as_deref(), remote.json, &retry, &discard).await
        }
        Command::Quarantine { config: None, group, remote, retry, discard } => {
            let group = group.ok_or_else(|| anyhow::anyhow!("give --group G (or --config FILE)"))?;
            remote::quarantine(&remote, &group, &retry, &discard).await
        }
        Command::Verify { config, group, member, table, show, json, repair } => {
            let options = hubsync_engine::VerifyOptions { member, table, show, repair };
            verify_cmd::verify(&config, group.as_deref(), options, json).await
        }
        Command::Reinit { config: Some(config), group, member, .. } => sync_cmd::reinit(&config, &group, &member).await,
        Command::Reinit { config: None, group, member, remote } => remote::reinit(&remote, &group, &member).await,
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
        Command::Plugin(PluginCommand::List { server, token, json }) => {
            if !json {
                plugin_cmd::list().await?;
            }
            match server {
                Some(server) => {
                    let r = remote::Remote {
                        server,
                        token,
                        ca_cert: std::env::var_os("HUBSYNC_CA_CERT").map(Into::into),
                        json,
                    };
                    remote::plugin_list(&r).await
                }
                None if json => plugin_cmd::list().await,
                None => Ok(()),
            }
        }
        Command::Plugin(PluginCommand::Upload { file, name, remote }) => {
            remote::plugin_upload(&remote, &file, name.as_deref()).await
        }
        Command::Plugin(PluginCommand::Remove { name, remote }) => remote::plugin_remove(&remote, &name).await,
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
        Command::Serve {
            metadata,
            listen,
            config,
            secret_key_file,
            tls_cert,
            tls_key,
            instance,
            concurrency,
            lease_seconds,
            body_limit_bytes,
        } => {
            serve_cmd::serve(serve_cmd::Serve {
                metadata,
                listen,
                config,
                secret_key_file,
                tls: tls_cert.zip(tls_key),
                instance,
                concurrency,
                lease_seconds,
                body_limit_bytes,
            })
            .await
        }
        Command::Agent(AgentCommand::Connect { service, key, state, ca_cert }) => {
            agent_cmd::connect(service, key, &state, ca_cert.as_deref()).await
        }
        Command::Agent(AgentCommand::Db(AgentDbCommand::Register { name, url, state })) => {
            agent_cmd::db_register(&state, &name, &url, false).await
        }
        Command::Agent(AgentCommand::Db(AgentDbCommand::UpdateCredential { name, url, state })) => {
            agent_cmd::db_register(&state, &name, &url, true).await
        }
        Command::Agent(AgentCommand::Db(AgentDbCommand::List { state, json })) => {
            agent_cmd::db_list(&state, json).await
        }
        Command::Agent(AgentCommand::Db(AgentDbCommand::Unregister { name, state })) => {
            agent_cmd::db_unregister(&state, &name)
        }
        Command::Agent(AgentCommand::Create { name, remote }) => remote::agent_create(&remote, &name).await,
        Command::Agent(AgentCommand::List { remote }) => remote::agent_list(&remote, None).await,
        Command::Agent(AgentCommand::Show { name, remote }) => remote::agent_list(&remote, Some(&name)).await,
        Command::Agent(AgentCommand::RegenerateKey { name, remote }) => remote::agent_rekey(&remote, &name).await,
        Command::Agent(AgentCommand::Delete { name, remote }) => remote::agent_delete(&remote, &name).await,
        Command::Token(TokenCommand::Create { name, role, metadata: Some(m), .. }) => {
            serve_cmd::token_create(&m, &name, role.into()).await
        }
        Command::Token(TokenCommand::Create { name, role, metadata: None, remote }) => {
            remote::token_create(&remote, &name, role.into()).await
        }
        Command::Token(TokenCommand::List { metadata: Some(m), remote }) => {
            serve_cmd::token_list(&m, remote.json).await
        }
        Command::Token(TokenCommand::List { metadata: None, remote }) => remote::token_list(&remote).await,
        Command::Token(TokenCommand::Revoke { which, metadata: Some(m), .. }) => {
            serve_cmd::token_revoke(&m, &which).await
        }
        Command::Token(TokenCommand::Revoke { which, metadata: None, remote }) => {
            remote::token_revoke(&remote, &which).await
        }
        Command::Group(GroupCommand::Create { name, hub, members, tables, interval_seconds, policy, remote }) => {
            let mut list = Vec::new();
            for m in members {
                let Some((n, url)) = m.split_once('=') else {
                    anyhow::bail!("--member {m:?}: write NAME=URL");
                };
                list.push(hubsync_core::MemberConfig {
                    name: n.to_owned(),
                    url: url.to_owned(),
                    direction: Default::default(),
                    column_filter: None,
                    schema_map: None,
                    connect_timeout_seconds: None,
                    statement_timeout_seconds: None,
                });
            }
            let mut g: hubsync_core::GroupConfig = serde_json::from_value(serde_json::json!({
                "name": name, "hub": hub, "interval_seconds": interval_seconds,
            }))?;
            g.members = list;
            g.tables = tables;
            if let Some(p) = policy {
                g.conflict_policy.plugin = p;
            }
            remote::group_create(&remote, g).await
        }
        Command::Group(GroupCommand::List { remote }) => remote::group_list(&remote).await,
        Command::Group(GroupCommand::Show { name, remote }) => remote::group_show(&remote, &name).await,
        Command::Group(GroupCommand::Update { name, interval_seconds, policy, remote }) => {
            remote::group_update(&remote, &name, |g| {
                if let Some(s) = interval_seconds {
                    g.interval_seconds = (s > 0).then_some(s);
                }
                if let Some(p) = policy {
                    g.conflict_policy.plugin = p;
                }
            })
            .await
        }
        Command::Group(GroupCommand::Delete { name, deprovision, remote }) => {
            remote::group_delete(&remote, &name, deprovision).await
        }
        Command::Member(MemberCommand::Add { group, name, url, direction, remote }) => {
            let m = hubsync_core::MemberConfig {
                name,
                url,
                direction: direction.into(),
                column_filter: None,
                schema_map: None,
                connect_timeout_seconds: None,
                statement_timeout_seconds: None,
            };
            remote::member_add(&remote, &group, m).await
        }
        Command::Member(MemberCommand::List { group, remote }) => remote::member_list(&remote, &group).await,
        Command::Member(MemberCommand::Update { group, name, url, direction, remote }) => {
            remote::member_update(&remote, &group, &name, url, direction.map(Into::into)).await
        }
        Command::Member(MemberCommand::Remove { group, name, deprovision, remote }) => {
            remote::member_remove(&remote, &group, &name, deprovision).await
        }
        Command::Schema(SchemaCommand::Refresh { group, database, remote }) => {
            remote::schema_refresh(&remote, &group, database.as_deref()).await
        }
        Command::Schema(SchemaCommand::Show { group, remote }) => remote::schema_show(&remote, &group).await,
        Command::Schema(SchemaCommand::Set { group, tables, remote }) => {
            remote::schema_set(&remote, &group, tables).await
        }
        Command::Log { group, member, level, since, limit, follow, remote } => {
            remote::log(&remote, remote::LogQuery { group, member, level, since_micros: since, limit, follow }).await
        }
        Command::Apply { file, dry_run, remote } => remote::apply(&remote, &file, dry_run).await,
        Command::Export { group, remote } => remote::export(&remote, group.as_deref()).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap checks a command's definition only when it is parsed, and only
    /// in debug builds: check every subcommand here (two arguments named
    /// `token` once made `hubsync token revoke` panic).
    #[test]
    fn every_command_is_well_defined() {
        super::Cli::command().debug_assert();
    }
}
