//! `hubsync agent connect`: the agent process. It only ever connects out
//! to the service (it listens on no port): it exchanges its one-time key
//! for a credential kept in its state folder (mode 0600), then checks in
//! on the service's heartbeat interval, reconnecting with capped
//! exponential backoff while the service cannot be reached, until it is
//! stopped or retired (its key regenerated, the agent removed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hubsync_server::client::{CallError, Client};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

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
}

fn state_file(dir: &Path) -> PathBuf {
    dir.join("agent.json")
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

/// `hubsync agent connect [--service URL --key KEY] --state DIR`.
pub async fn connect(service: Option<String>, key: Option<String>, dir: &Path, ca_cert: Option<&Path>) -> Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    let state = match key {
        Some(key) => {
            let service = match (service, load(dir)?) {
                (Some(s), _) => s,
                (None, Some(old)) => old.service,
                (None, None) => bail!("give --service URL with --key"),
            };
            let c = Client::new(&service, None, ca_cert)?;
            let v: Value = c.send("POST", "/api/v1/agent-join", Some(&json!({"key": key, "version": version}))).await?;
            let state = AgentState {
                service,
                agent: v["agent"].as_str().unwrap_or_default().to_owned(),
                credential: v["credential"].as_str().unwrap_or_default().to_owned(),
            };
            save(dir, &state)?;
            eprintln!(
                "joined the service as agent {}; the credential is in {}",
                state.agent,
                state_file(dir).display()
            );
            state
        }
        None => match load(dir)? {
            Some(s) => s,
            None => bail!(
                "{} holds no agent credential: connect once with --service URL --key KEY (from `hubsync agent create`)",
                dir.display()
            ),
        },
    };
    let client = Client::new(&state.service, Some(state.credential.clone()), ca_cert)?;
    let mut backoff = Duration::from_secs(1);
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let wait = match client
            .send::<Value, Value>("POST", "/api/v1/agent-heartbeat", Some(&json!({"version": version})))
            .await
        {
            Ok(v) => {
                backoff = Duration::from_secs(1);
                Duration::from_secs(v["interval_seconds"].as_u64().unwrap_or(2).clamp(1, 60))
            }
            Err(e) if e.status == 401 => {
                eprintln!("agent {} was retired by the service: {}", state.agent, e.message);
                return Err(CallError { status: 401, message: e.message }.into());
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_s = backoff.as_secs(), "the service cannot be reached; retrying");
                let w = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                w
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut stop => {
                eprintln!("agent {} stopped", state.agent);
                return Ok(());
            }
        }
    }
}
