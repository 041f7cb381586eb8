//! `hubsync token create | list | revoke`: API tokens, through the server
//! or, with `--metadata URL`, on its metadata database directly (to make
//! the first token, or when the server is down).

use anyhow::{Result, bail};
use hubsync_api::{NewToken, Role, TokenView};
use hubsync_connectors::meta::MetaStore;

use crate::output::{at, print, table, when};
use crate::remote::Remote;

#[derive(clap::Subcommand)]
pub enum TokenCommand {
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
        remote: Remote,
    },
    /// List tokens (never their secrets).
    List {
        /// Work on this metadata database directly instead of the server.
        #[arg(long)]
        metadata: Option<String>,
        #[command(flatten)]
        remote: Remote,
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
        remote: Remote,
    },
}

/// A token's role on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Admin,
    Reader,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Reader => Role::Reader,
        }
    }
}

impl TokenCommand {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        match self {
            TokenCommand::Create { name, role, metadata: Some(m), .. } => create_in(&m, &name, role.into()).await,
            TokenCommand::Create { name, role, metadata: None, remote } => create(&remote, &name, role.into()).await,
            TokenCommand::List { metadata: Some(m), remote } => list_in(&m, remote.json).await,
            TokenCommand::List { metadata: None, remote } => list(&remote).await,
            TokenCommand::Revoke { which, metadata: Some(m), .. } => revoke_in(&m, &which).await,
            TokenCommand::Revoke { which, metadata: None, remote } => revoke(&remote, &which).await,
        }
    }
}

/// Print tokens (server or store answer alike).
fn show(tokens: &[TokenView], json: bool) -> Result<()> {
    if json {
        return print(tokens);
    }
    let rows = tokens
        .iter()
        .map(|t| {
            let state = if t.revoked_micros.is_none() { "live" } else { "revoked" };
            vec![
                t.id.clone(),
                t.name.clone(),
                t.role.as_str().to_owned(),
                state.into(),
                when(Some(t.created_micros)),
                at(t.last_used_micros),
            ]
        })
        .collect();
    table(&["id", "name", "role", "state", "created", "last used"], rows);
    Ok(())
}

/// `hubsync token create NAME --role R` through the server.
async fn create(r: &Remote, name: &str, role: Role) -> Result<()> {
    let v = r.client()?.create_token(&NewToken { name: name.to_owned(), role }).await?;
    if r.json {
        return print(&v);
    }
    eprintln!("token {} ({}, {}); shown this once:", v.id, v.name, v.role.as_str());
    println!("{}", v.token);
    Ok(())
}

/// `hubsync token list` through the server.
async fn list(r: &Remote) -> Result<()> {
    let v = r.client()?.tokens().await?;
    show(&v, r.json)
}

/// `hubsync token revoke ID|NAME` through the server.
async fn revoke(r: &Remote, id: &str) -> Result<()> {
    r.client()?.revoke_token(id).await?;
    println!("revoked {id}");
    Ok(())
}

/// `hubsync token create --metadata URL NAME --role R`.
async fn create_in(metadata: &str, name: &str, role: Role) -> Result<()> {
    let meta = MetaStore::open(metadata).await?;
    let (text, rec) = hubsync_server::auth::create(&meta, name, role, hubsync_server::now_micros()).await?;
    eprintln!("token {} ({}, {}); shown this once:", rec.id, rec.name, rec.role);
    println!("{text}");
    Ok(())
}

/// `hubsync token list --metadata URL`.
async fn list_in(metadata: &str, json: bool) -> Result<()> {
    let meta = MetaStore::open(metadata).await?;
    let tokens = meta.tokens().await?.into_iter().map(hubsync_server::auth::view).collect::<Result<Vec<_>, _>>()?;
    show(&tokens, json)
}

/// `hubsync token revoke --metadata URL ID|NAME`.
async fn revoke_in(metadata: &str, id: &str) -> Result<()> {
    let meta = MetaStore::open(metadata).await?;
    match meta.revoke_token(id, hubsync_server::now_micros()).await? {
        0 => bail!("no live token has the id or name {id:?}"),
        n => {
            eprintln!("revoked {n} token(s)");
            Ok(())
        }
    }
}
