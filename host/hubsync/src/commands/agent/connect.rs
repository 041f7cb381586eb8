//! `hubsync agent connect` and `hubsync agent db …`: the agent process and
//! its local databases. The agent only ever connects out to the service (it
//! listens on no port): it exchanges its one-time key for a credential
//! kept in its state folder (mode 0600), then holds a connection over
//! which it runs the service's connector calls against the databases
//! registered here, reconnecting with capped exponential backoff until it
//! is stopped or retired. Database URLs and credentials stay in the state
//! folder; the service learns names, engines and table names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hubsync_client::agent::{DatabaseState, Ended, Executor, run_agent};
use hubsync_client::{CallError, Client};
use hubsync_core::{ConnectOptions, Connector, ConnectorError, Opener};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// What the agent keeps in its state folder.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentState {
    /// The service's URL.
    service: String,
    /// The agent's name on the service.
    agent: String,
    /// The long-lived credential (secret).
    credential: String,
    /// The databases registered on this agent, by name.
    #[serde(default)]
    databases: BTreeMap<String, Registered>,
}

/// A database registered on this agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Registered {
    /// Its URL with credentials; `None` for a name learnt from the service
    /// (a moved agent) until credentials are entered here.
    url: Option<String>,
}

fn state_file(dir: &Path) -> PathBuf {
    dir.join("agent.json")
}

/// Hold the state folder's lock: the running agent and `agent db`
/// commands (other processes) change the same file.
fn lock(dir: &Path) -> Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("agent.lock"))
        .with_context(|| format!("locking {}", dir.display()))?;
    f.lock().with_context(|| format!("locking {}", dir.display()))?;
    Ok(f)
}

fn save(dir: &Path, state: &AgentState) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private", dir.display()))?;
    }
    let path = state_file(dir);
    let tmp = dir.join("agent.json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    std::io::Write::write_all(&mut f, serde_json::to_string_pretty(state)?.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn load(dir: &Path) -> Result<Option<AgentState>> {
    match std::fs::read_to_string(state_file(dir)) {
        Ok(text) => Ok(Some(
            serde_json::from_str(&text)
                .with_context(|| format!("{} is damaged; connect again with a new key", state_file(dir).display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", state_file(dir).display())),
    }
}

fn joined(dir: &Path) -> Result<AgentState> {
    match load(dir)? {
        Some(s) => Ok(s),
        None => bail!(
            "{} holds no agent: connect once with `hubsync agent connect --service URL --key KEY --state {}` \
             (the key comes from `hubsync agent create` on the service)",
            dir.display(),
            dir.display()
        ),
    }
}

/// Change the state under the folder's lock.
fn update(dir: &Path, change: impl FnOnce(&mut AgentState) -> Result<()>) -> Result<()> {
    let _lock = lock(dir)?;
    let mut state = joined(dir)?;
    change(&mut state)?;
    save(dir, &state)
}

/// The registered databases, opened by name for the service's calls.
struct Registry {
    dir: PathBuf,
}

#[async_trait::async_trait]
impl Opener for Registry {
    async fn open(&self, db: &str, options: &ConnectOptions) -> Result<Box<dyn Connector>, ConnectorError> {
        let unreachable = |cause: String| ConnectorError::Connect { url: format!("database {db}"), cause };
        let state = load(&self.dir).ok().flatten().ok_or_else(|| unreachable("the agent's state is gone".into()))?;
        match state.databases.get(db) {
            None => Err(unreachable(format!(
                "agent {} has no database {db:?}; register it on the agent: \
                 `hubsync agent db register {db} --url URL --state DIR`",
                state.agent
            ))),
            Some(Registered { url: None }) => Err(unreachable(no_credentials(db))),
            Some(Registered { url: Some(url) }) => hubsync_connectors::open_with(url, options).await,
        }
    }
}

fn no_credentials(db: &str) -> String {
    format!(
        "no credentials for {db} on this agent (it was registered before the agent moved); enter them: \
         `hubsync agent db update-credential {db} --url URL --state DIR`"
    )
}

/// Open `url` and read its tables: the "test connection" of registering.
async fn check(url: &str) -> Result<(hubsync_core::EngineKind, Vec<String>), ConnectorError> {
    let options = ConnectOptions { connect_timeout: Duration::from_secs(10), ..Default::default() };
    let db = hubsync_connectors::open_with(url, &options).await?;
    let tables = db.introspect().await?;
    Ok((db.engine(), tables.iter().map(|t| hubsync_core::TableRef::of(&t.schema).to_string()).collect()))
}

async fn report(name: &str, r: &Registered) -> DatabaseState {
    let unreachable = |error: String| DatabaseState {
        name: name.to_owned(),
        engine: None,
        reachable: false,
        error: Some(error),
        tables: Vec::new(),
    };
    match &r.url {
        None => unreachable(no_credentials(name)),
        Some(url) => match check(url).await {
            Ok((engine, tables)) => {
                DatabaseState { name: name.to_owned(), engine: Some(engine), reachable: true, error: None, tables }
            }
            Err(e) => unreachable(e.to_string()),
        },
    }
}

/// How often the agent reads its state folder for database changes.
const WATCH_EVERY: Duration = Duration::from_secs(2);
/// How often it checks that its databases can still be reached.
const RECHECK_EVERY: Duration = Duration::from_secs(60);

/// Report the databases to the service: at each new connection, when the
/// registrations change, and when a periodic check finds a change.
async fn watch_databases(dir: PathBuf, connection: Arc<AtomicU64>, reports: mpsc::Sender<Vec<DatabaseState>>) {
    let mut last_registered: Option<BTreeMap<String, Registered>> = None;
    let mut last_report: Vec<DatabaseState> = Vec::new();
    let mut last_connection = 0;
    let mut checked = Instant::now();
    loop {
        let registered = load(&dir).ok().flatten().map(|s| s.databases).unwrap_or_default();
        let generation = connection.load(Ordering::Relaxed);
        let changed = last_registered.as_ref() != Some(&registered);
        if changed || checked.elapsed() >= RECHECK_EVERY || generation != last_connection {
            let mut now = Vec::new();
            if changed || checked.elapsed() >= RECHECK_EVERY || last_report.is_empty() {
                for (name, r) in &registered {
                    now.push(report(name, r).await);
                }
                checked = Instant::now();
            } else {
                now = last_report.clone();
            }
            if now != last_report || generation != last_connection {
                if reports.send(now.clone()).await.is_err() {
                    return;
                }
                last_report = now;
                last_connection = generation;
            }
            last_registered = Some(registered);
        }
        tokio::time::sleep(WATCH_EVERY).await;
    }
}

/// `hubsync agent connect [--service URL --key KEY] --state DIR`.
pub async fn connect(service: Option<String>, key: Option<String>, dir: &Path, ca_cert: Option<&Path>) -> Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    let state = match key {
        Some(key) => {
            let old = load(dir)?;
            let service = match (service, &old) {
                (Some(s), _) => s,
                (None, Some(old)) => old.service.clone(),
                (None, None) => bail!("give --service URL with --key"),
            };
            let c = Client::new(&service, None, ca_cert)?;
            let join = hubsync_api::Join { key, version: version.to_owned() };
            let v = c.join(&join).await?;
            let state = AgentState {
                service,
                agent: v.agent,
                credential: v.credential,
                // Registrations of this folder stay (the same agent, re-keyed).
                databases: old.map(|o| o.databases).unwrap_or_default(),
            };
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let _lock = lock(dir)?;
            save(dir, &state)?;
            eprintln!(
                "joined the service as agent {}; the credential is in {}",
                state.agent,
                state_file(dir).display()
            );
            state
        }
        None => joined(dir)?,
    };
    let client = Client::new(&state.service, Some(state.credential.clone()), ca_cert)?;
    let executor = Executor::new(Arc::new(Registry { dir: dir.to_path_buf() }));
    let connection = Arc::new(AtomicU64::new(0));
    let (reports_tx, mut reports) = mpsc::channel(4);
    tokio::spawn(watch_databases(dir.to_path_buf(), connection.clone(), reports_tx));
    let mut backoff = Duration::from_secs(1);
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let welcome = |names: Vec<String>| {
            // A moved agent learns the databases registered before; they
            // stay unreachable until their credentials are entered here.
            let r = update(dir, |s| {
                for n in names {
                    s.databases.entry(n).or_insert(Registered { url: None });
                }
                Ok(())
            });
            if let Err(e) = r {
                tracing::warn!(error = %e, "could not record the databases the service knows");
            }
        };
        let connected = || {
            connection.fetch_add(1, Ordering::Relaxed);
            tracing::info!(agent = %state.agent, service = %state.service, "connected to the service");
        };
        let started = Instant::now();
        let ended = tokio::select! {
            e = run_agent(&client, &executor, welcome, &mut reports, connected) => e,
            _ = &mut stop => {
                eprintln!("agent {} stopped", state.agent);
                return Ok(());
            }
        };
        match ended {
            Ended::Retired(message) => {
                eprintln!("agent {} was retired by the service: {message}", state.agent);
                return Err(CallError { status: 401, message }.into());
            }
            Ended::Incompatible(message) => bail!("agent {} cannot talk to the service: {message}", state.agent),
            Ended::Replaced(message) => bail!("agent {} stopped: {message}", state.agent),
            Ended::Lost(message) => {
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = Duration::from_secs(1);
                }
                tracing::warn!(error = %message, retry_in_s = backoff.as_secs(), "not connected to the service; retrying");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = &mut stop => {
                eprintln!("agent {} stopped", state.agent);
                return Ok(());
            }
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// `hubsync agent db register NAME --url URL`: test the connection, then
/// save. `update` (update-credential) requires the name to exist.
pub async fn db_register(dir: &Path, name: &str, url: &str, update_only: bool) -> Result<()> {
    let state = joined(dir)?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        bail!("database name {name:?}: use letters, digits, `_`, `-` and `.`");
    }
    match (state.databases.get(name), update_only) {
        (None, true) => bail!(
            "agent {} has no database {name:?}; `hubsync agent db register {name} --url URL` registers it",
            state.agent
        ),
        (Some(_), false) => bail!(
            "database {name:?} is registered already; `hubsync agent db update-credential {name} --url URL` \
             changes its URL or credentials"
        ),
        _ => {}
    }
    let (engine, tables) = check(url).await.with_context(|| {
        format!("testing the connection to {} (nothing was saved)", hubsync_connectors::redact(url))
    })?;
    update(dir, |s| {
        s.databases.insert(name.to_owned(), Registered { url: Some(url.to_owned()) });
        Ok(())
    })?;
    println!(
        "{} {name} ({engine}, {} tables) on agent {}; members reach it as agent://{}/{name}",
        if update_only { "updated" } else { "registered" },
        tables.len(),
        state.agent,
        state.agent
    );
    Ok(())
}

/// `hubsync agent db unregister NAME`.
pub fn db_unregister(dir: &Path, name: &str) -> Result<()> {
    update(dir, |s| {
        if s.databases.remove(name).is_none() {
            bail!("agent {} has no database {name:?}", s.agent);
        }
        Ok(())
    })?;
    println!("unregistered {name}; members reaching it through this agent fail until it is registered again");
    Ok(())
}

/// One line of `hubsync agent db list` (its `--json` shape).
#[derive(Serialize)]
struct ListedDatabase {
    name: String,
    /// The URL with its password masked.
    url: Option<String>,
    engine: Option<String>,
    reachable: bool,
    tables: usize,
    error: Option<String>,
}

/// `hubsync agent db list`: each database, tested now.
pub async fn db_list(dir: &Path, as_json: bool) -> Result<()> {
    let state = joined(dir)?;
    let mut out = Vec::new();
    for (name, r) in &state.databases {
        let d = report(name, r).await;
        out.push(ListedDatabase {
            name: name.clone(),
            url: r.url.as_deref().map(hubsync_connectors::redact),
            engine: d.engine.map(|e| e.to_string()),
            reachable: d.reachable,
            tables: d.tables.len(),
            error: d.error,
        });
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("{:<20} {:<12} {:<12} {:>6}  url / error", "database", "engine", "state", "tables");
    for d in &out {
        let state = if d.reachable { "reachable" } else { "unreachable" };
        let detail = d.error.as_deref().or(d.url.as_deref()).unwrap_or("");
        println!("{:<20} {:<12} {:<12} {:>6}  {detail}", d.name, d.engine.as_deref().unwrap_or("-"), state, d.tables);
    }
    Ok(())
}
