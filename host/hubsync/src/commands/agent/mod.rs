//! `hubsync agent …`: sync agents. On the service side (through the
//! server): create one (its one-time key is printed once), list, show,
//! regenerate the key (retires the agent), delete. On the agent's machine:
//! `connect` runs the agent and `db` manages its databases ([`connect`]).

mod connect;

use std::path::PathBuf;

use anyhow::Result;
use hubsync_api::NewAgent;

use crate::output::{at, opt, print, table};
use crate::remote::Remote;

#[derive(clap::Subcommand)]
pub enum AgentCommand {
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
        remote: Remote,
    },
    /// List agents: online or not, version, last contact, address.
    List {
        #[command(flatten)]
        remote: Remote,
    },
    /// Show an agent.
    Show {
        /// The agent.
        name: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Give an agent a new one-time key: the old key and the agent's
    /// credential stop working at once.
    RegenerateKey {
        /// The agent.
        name: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Remove an agent.
    Delete {
        /// The agent.
        name: String,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(clap::Subcommand)]
pub enum AgentDbCommand {
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

impl AgentCommand {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        match self {
            AgentCommand::Connect { service, key, state, ca_cert } => {
                connect::connect(service, key, &state, ca_cert.as_deref()).await
            }
            AgentCommand::Db(AgentDbCommand::Register { name, url, state }) => {
                connect::db_register(&state, &name, &url, false).await
            }
            AgentCommand::Db(AgentDbCommand::UpdateCredential { name, url, state }) => {
                connect::db_register(&state, &name, &url, true).await
            }
            AgentCommand::Db(AgentDbCommand::List { state, json }) => connect::db_list(&state, json).await,
            AgentCommand::Db(AgentDbCommand::Unregister { name, state }) => connect::db_unregister(&state, &name),
            AgentCommand::Create { name, remote } => create(&remote, &name).await,
            AgentCommand::List { remote } => list(&remote, None).await,
            AgentCommand::Show { name, remote } => list(&remote, Some(&name)).await,
            AgentCommand::RegenerateKey { name, remote } => regenerate_key(&remote, &name).await,
            AgentCommand::Delete { name, remote } => delete(&remote, &name).await,
        }
    }
}

/// `hubsync agent create NAME`.
async fn create(r: &Remote, name: &str) -> Result<()> {
    let v = r.client()?.create_agent(&NewAgent { name: name.to_owned() }).await?;
    if r.json {
        return print(&v);
    }
    eprintln!("agent {name} created; its one-time key (shown this once; it works once):");
    println!("{}", v.key);
    Ok(())
}

/// `hubsync agent regenerate-key NAME`.
async fn regenerate_key(r: &Remote, name: &str) -> Result<()> {
    let v = r.client()?.regenerate_key(name).await?;
    if r.json {
        return print(&v);
    }
    eprintln!("agent {name}: the old key and its credential no longer work; the new one-time key:");
    println!("{}", v.key);
    Ok(())
}

/// `hubsync agent delete NAME`.
async fn delete(r: &Remote, name: &str) -> Result<()> {
    r.client()?.delete_agent(name).await?;
    println!("removed agent {name}");
    Ok(())
}

/// `hubsync agent list` / `agent show NAME`.
async fn list(r: &Remote, name: Option<&str>) -> Result<()> {
    let c = r.client()?;
    let v = match name {
        Some(n) => vec![c.agent(n).await?],
        None => c.agents().await?,
    };
    if r.json {
        return if name.is_some() { print(&v[0]) } else { print(&v) };
    }
    let rows = v
        .iter()
        .map(|a| {
            let online = if a.online { "online" } else { "offline" };
            vec![
                a.name.clone(),
                a.state.as_str().to_owned(),
                online.into(),
                opt(a.version.as_deref()),
                at(a.last_contact_micros),
                opt(a.address.as_deref()),
            ]
        })
        .collect();
    table(&["agent", "state", "online", "version", "last contact", "address"], rows);
    let databases: Vec<Vec<String>> = v
        .iter()
        .flat_map(|a| {
            a.databases.iter().map(move |d| {
                let reach = if d.reachable { "reachable" } else { "unreachable" };
                vec![
                    a.name.clone(),
                    d.name.clone(),
                    opt(d.engine.as_deref()),
                    reach.to_owned(),
                    d.tables.len().to_string(),
                    opt(d.error.as_deref()),
                ]
            })
        })
        .collect();
    if !databases.is_empty() {
        println!();
        table(&["agent", "database", "engine", "state", "tables", "last error"], databases);
    }
    Ok(())
}
