//! `hubsync serve`: the service (the REST API and the scheduler of every
//! group in the metadata database) until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hubsync_connectors::meta::MetaStore;
use hubsync_connectors::secret::Cipher;
use hubsync_engine::Engine;
use hubsync_server::ServeOptions;

// The arguments of `hubsync serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// The metadata database: `sqlite://PATH` (one instance) or
    /// `postgres://…` (any number of instances share the work). Default:
    /// an embedded store in the user's data folder
    /// ($XDG_DATA_HOME/hubsync/metadata.db, else
    /// ~/.local/share/hubsync/metadata.db), its path printed at start.
    #[arg(long, env = "HUBSYNC_METADATA")]
    metadata: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
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
}

/// The embedded store `serve` uses when none is given: `metadata.db` in
/// the user's data folder (created), as a `sqlite://` URL.
fn default_metadata() -> Result<String> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share")))
        .context("no HOME or XDG_DATA_HOME to keep the metadata database in; give --metadata sqlite://PATH")?;
    let dir = base.join("hubsync");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("metadata.db");
    let Some(path) = path.to_str() else { bail!("{} is not UTF-8; give --metadata sqlite://PATH", path.display()) };
    Ok(format!("sqlite://{path}"))
}

fn default_key_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("hubsync").join("secret.key"))
}

/// The sealing key: HUBSYNC_SECRET_KEY, HUBSYNC_SECRET_KEY_FILE, the given
/// file, or the default file (created on first use).
fn cipher(file: Option<&Path>) -> Result<Cipher> {
    if let Some(c) = Cipher::from_env()? {
        return Ok(c);
    }
    let path = match file {
        Some(p) => p.to_path_buf(),
        None => default_key_file().context("no HOME to keep the secret key in; give --secret-key-file")?,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let (c, created) = Cipher::from_file_or_create(&path)?;
    if created {
        eprintln!(
            "created the secret key {} (it encrypts database passwords in the metadata database; back it up \
             apart from the database: without it, stored passwords cannot be read)",
            path.display()
        );
    }
    Ok(c)
}

async fn store(metadata: &str, key_file: Option<&Path>) -> Result<MetaStore> {
    // API requests, the scheduler's claims and heartbeats, and each running
    // sync's commits share the pool.
    Ok(MetaStore::open_pooled(metadata, 16).await?.with_cipher(cipher(key_file)?))
}

fn instance_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    let host = if host.is_empty() { "hubsync".to_owned() } else { host };
    format!("{host}-{}", std::process::id())
}

impl ServeArgs {
    /// Run the service until SIGTERM or Ctrl-C.
    pub async fn execute(self) -> Result<()> {
        serve(self).await
    }
}

async fn serve(s: ServeArgs) -> Result<()> {
    let metadata = match s.metadata {
        Some(m) => m,
        None => {
            let m = default_metadata()?;
            eprintln!(
                "metadata database: {m} (the default embedded store; give --metadata or HUBSYNC_METADATA \
                 to choose another, postgres://… to run several instances)"
            );
            m
        }
    };
    let meta = store(&metadata, s.secret_key_file.as_deref()).await?;
    let instance = s.instance.unwrap_or_else(instance_name);
    let cache = hubsync_plugin_host::RuntimeConfig::default_cache_dir();
    let engine = Engine::with_store(meta, cache.as_deref())?.with_holder(instance.clone());
    if let Some(path) = &s.config {
        let loaded = hubsync_engine::load_file(path)?;
        for g in &loaded.file.groups {
            let outcome = hubsync_server::define(engine.meta(), g).await?;
            eprintln!("group {}: {outcome} from {}", g.name, path.display());
        }
    }
    if let Some(token) = hubsync_server::bootstrap_token(&engine).await? {
        println!("No admin token existed, so one was made. It is shown this once; keep it:\n{token}");
    }
    let options = ServeOptions {
        listen: s.listen,
        body_limit_bytes: s.body_limit_bytes,
        lease_seconds: s.lease_seconds,
        concurrency: s.concurrency,
        retry_seconds: Some(30),
        instance,
        tls: s.tls_cert.zip(s.tls_key),
    };
    hubsync_server::serve(engine, options, shutdown_signal()).await?;
    eprintln!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    eprintln!("stopping: no new work; letting the batches in flight finish");
}
