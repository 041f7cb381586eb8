//! The `hubsync` command line: the binary that wires the crates together.
//! Each command lives in [`commands`] with its arguments and its `execute`;
//! this file names them, sets up logging and runs one.

mod commands;
mod local;
mod output;
mod remote;
mod scaffold;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use commands::*;

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
    Demo(demo::DemoArgs),
    /// Sync the groups of a group file once (or on their intervals with
    /// --watch); `sync now|cancel` ask a server.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Sync(sync::SyncArgs),
    /// Show the last sync of every table of every member: when, outcome, rows,
    /// conflicts (from the group file's metadata, or from the server without --config).
    Status(status::StatusArgs),
    /// Print the latest settled conflicts of a group as JSON (both row images,
    /// decision, plugin), from the group file's metadata or from the server.
    Conflicts(conflicts::ConflictsArgs),
    /// List the changes that could not be synced (unreadable values, rows a
    /// database rejected), and retry or discard them.
    Quarantine(quarantine::QuarantineArgs),
    /// Compare members with the hub by key and row (in pages, without locks);
    /// exit non-zero when they differ. Keys changed since the last sync are not compared.
    Verify(verify::VerifyArgs),
    /// Forget a member's sync state so its next sync starts from scratch
    /// (on the server without --config: it syncs at once).
    Reinit(reinit::ReinitArgs),
    /// Develop, inspect and dry-run plugins (conflict policies, column filters, schema maps).
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Inspect a database, provision or remove change tracking, read captured changes.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Run the service: the REST API and the scheduler of every group in
    /// the metadata database, until SIGTERM or Ctrl-C.
    Serve(serve::ServeArgs),
    /// Sync agents on the server: create one (its one-time key is printed
    /// once), list, show, regenerate the key (retires the agent), delete.
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Create, list and revoke API tokens (through the server, or with
    /// --metadata directly on its metadata database).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Sync groups on the server (Data Sync's New/Get/Update/Remove-AzSqlSyncGroup).
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// Members of a group on the server.
    #[command(subcommand)]
    Member(member::MemberCommand),
    /// The live schema of a group's databases, and its sync schema.
    #[command(subcommand)]
    Schema(schema::SchemaCommand),
    /// Sync history (from the group file's metadata, or from the server without
    /// --config), newest last; --follow keeps printing.
    Log(log::LogArgs),
    /// Create or update the groups of a group file on the server, showing
    /// the changes first.
    Apply(apply::ApplyArgs),
    /// Print the server's groups as a group file (passwords masked).
    Export(export::ExportArgs),
    /// Move off Azure SQL Data Sync: inspect its objects, import a group,
    /// take the databases over without a re-copy, remove its objects.
    #[command(subcommand)]
    Datasync(commands::datasync::DatasyncCommand),
}

impl Command {
    async fn execute(self) -> anyhow::Result<()> {
        match self {
            Command::Demo(c) => c.execute().await,
            Command::Sync(c) => c.execute().await,
            Command::Status(c) => c.execute().await,
            Command::Conflicts(c) => c.execute().await,
            Command::Quarantine(c) => c.execute().await,
            Command::Verify(c) => c.execute().await,
            Command::Reinit(c) => c.execute().await,
            Command::Plugin(c) => c.execute().await,
            Command::Db(c) => c.execute().await,
            Command::Datasync(c) => c.execute().await,
            Command::Serve(c) => c.execute().await,
            Command::Agent(c) => c.execute().await,
            Command::Token(c) => c.execute().await,
            Command::Group(c) => c.execute().await,
            Command::Member(c) => c.execute().await,
            Command::Schema(c) => c.execute().await,
            Command::Log(c) => c.execute().await,
            Command::Apply(c) => c.execute().await,
            Command::Export(c) => c.execute().await,
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
    // `serve` reports its work at info; `plugin check | test` show what the
    // plugin printed (logged at info), since that is how one debugs it.
    let default = match cli.command {
        Command::Serve(_) => "info,tiberius=off",
        Command::Plugin(_) => "warn,tiberius=off,hubsync_plugin_host=info",
        _ => "warn,tiberius=off",
    };
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
    match runtime.block_on(cli.command.execute()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(remote::exit_code(&e))
        }
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
