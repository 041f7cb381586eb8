//! Where a command finds the server (`--server`, `--token`, `--ca-cert`,
//! `--json`, or their `HUBSYNC_*` variables) and how a failed call becomes
//! the process's exit code.

use std::path::PathBuf;

use anyhow::Result;
use hubsync_client::{CallError, Client};

/// Where the server is and how to authenticate.
#[derive(clap::Args, Clone)]
pub struct Remote {
    /// The hubsync server.
    #[arg(long, env = "HUBSYNC_SERVER", default_value = "http://127.0.0.1:7070", global = true)]
    pub server: String,
    /// The API token.
    #[arg(long, env = "HUBSYNC_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// A PEM certificate to trust (a server with a self-signed certificate).
    #[arg(long, env = "HUBSYNC_CA_CERT", global = true)]
    pub ca_cert: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

impl Remote {
    /// A client of the server with the token.
    pub fn client(&self) -> Result<Client> {
        Ok(Client::new(&self.server, self.token.clone(), self.ca_cert.as_deref())?)
    }
}

/// Process exit code for a failed call (documented in the README).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<CallError>() {
        Some(c) => match c.status {
            0 => 5,
            401 | 403 => 4,
            404 => 3,
            409 => 6,
            _ => 1,
        },
        None => 1,
    }
}
