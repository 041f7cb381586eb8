//! The CLI client of `hubsync serve`: `group`, `member`, `schema`,
//! `sync now|cancel`, `status`, `log`, `conflicts`, `token`, `apply`,
//! `export`. Human tables by default, `--json` for scripts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hubsync_api::{
    Accepted, AgentKey, AgentView, ConflictView, Count, CreatedToken, GroupState, GroupSummary, GroupUpdate, GroupView,
    HistoryEntry, HistoryPage, Level, MemberState, MemberUpdate, MemberView, NewAgent, NewToken, PluginView,
    QuarantineAction, QuarantineView, ReplayReport, ReplayRequest, SchemaTable, SyncRequest, TokenView,
};
use hubsync_core::{GroupConfig, MemberConfig, PolicyConfig, SyncDirection, TableConfig};
use hubsync_server::client::{CallError, Client};

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
    pub(crate) fn client(&self) -> Result<Client> {
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

pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn when(micros: Option<i64>) -> String {
    match micros {
        Some(m) => hubsync_core::text::format_timestamp(m) + " UTC",
        None => "-".into(),
    }
}

/// Print an answer as JSON (`--json`).
fn print<T: serde::Serialize + ?Sized>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Print rows as an aligned table.
fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", s.trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for r in rows {
        line(r);
    }
}

/// A value's word on the wire (`bidirectional`, `take-hub`…).
fn wire(v: &impl serde::Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "-".into(),
    }
}

/// An optional cell: `-` when absent.
fn opt(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// `hubsync group list`.
pub async fn group_list(r: &Remote) -> Result<()> {
    let v: Vec<GroupSummary> = r.client()?.get("/api/v1/groups").await?;
    if r.json {
        return print(&v);
    }
    let rows = v
        .into_iter()
        .map(|g| vec![g.name, g.members.to_string(), g.tables.to_string(), opt(g.interval_seconds), g.hub])
        .collect();
    table(&["group", "members", "tables", "interval_s", "hub"], rows);
    Ok(())
}

/// `hubsync group show NAME`.
pub async fn group_show(r: &Remote, name: &str) -> Result<()> {
    let v: GroupView = r.client()?.get(&format!("/api/v1/groups/{}", enc(name))).await?;
    if r.json {
        return print(&v);
    }
    println!("# revision {}", v.revision);
    print!("{}", toml_of(&[v.definition])?);
    Ok(())
}

/// `hubsync group create NAME --hub URL --member NAME=URL … --table T …`.
pub async fn group_create(r: &Remote, g: GroupConfig) -> Result<()> {
    let v: GroupView = r.client()?.send("POST", "/api/v1/groups", Some(&g)).await?;
    if r.json {
        return print(&v);
    }
    println!("created group {} (revision {})", g.name, v.revision);
    Ok(())
}

/// `hubsync group update NAME [--interval-seconds N] [--policy P]`.
pub async fn group_update(r: &Remote, name: &str, change: impl FnOnce(&mut GroupConfig)) -> Result<()> {
    let c = r.client()?;
    let v: GroupView = c.get(&format!("/api/v1/groups/{}", enc(name))).await?;
    let mut definition = v.definition;
    change(&mut definition);
    let body = GroupUpdate { revision: Some(v.revision), definition };
    let v: GroupView = c.send("PUT", &format!("/api/v1/groups/{}", enc(name)), Some(&body)).await?;
    if r.json {
        return print(&v);
    }
    println!("updated group {name} (revision {})", v.revision);
    Ok(())
}

/// `hubsync group delete NAME [--deprovision]`.
pub async fn group_delete(r: &Remote, name: &str, deprovision: bool) -> Result<()> {
    let path = format!("/api/v1/groups/{}?deprovision={deprovision}", enc(name));
    let _: serde_json::Value = r.client()?.send::<(), serde_json::Value>("DELETE", &path, None).await?;
    println!("removed group {name}{}", if deprovision { " and its change tracking" } else { "" });
    Ok(())
}

/// `hubsync member list GROUP`.
pub async fn member_list(r: &Remote, group: &str) -> Result<()> {
    let v: Vec<MemberConfig> = r.client()?.get(&format!("/api/v1/groups/{}/members", enc(group))).await?;
    if r.json {
        return print(&v);
    }
    let rows = v.into_iter().map(|m| vec![m.name, wire(&m.direction), m.url]).collect();
    table(&["member", "direction", "url"], rows);
    Ok(())
}

/// `hubsync member add GROUP NAME --url URL [--direction D]`.
pub async fn member_add(r: &Remote, group: &str, m: MemberConfig) -> Result<()> {
    let v: MemberView = r.client()?.send("POST", &format!("/api/v1/groups/{}/members", enc(group)), Some(&m)).await?;
    if r.json {
        return print(&v);
    }
    println!("added member {} to group {group}", m.name);
    Ok(())
}

/// `hubsync member update GROUP NAME [--url URL] [--direction D]`.
pub async fn member_update(
    r: &Remote,
    group: &str,
    name: &str,
    url: Option<String>,
    direction: Option<SyncDirection>,
) -> Result<()> {
    if url.is_none() && direction.is_none() {
        bail!("nothing to change: give --url or --direction");
    }
    let body = MemberUpdate { url, direction, ..MemberUpdate::default() };
    let path = format!("/api/v1/groups/{}/members/{}", enc(group), enc(name));
    let v: MemberView = r.client()?.send("PATCH", &path, Some(&body)).await?;
    if r.json {
        return print(&v);
    }
    println!("updated member {name} of group {group}");
    Ok(())
}

/// `hubsync member remove GROUP NAME [--deprovision]`.
pub async fn member_remove(r: &Remote, group: &str, name: &str, deprovision: bool) -> Result<()> {
    let path = format!("/api/v1/groups/{}/members/{}?deprovision={deprovision}", enc(group), enc(name));
    let _: serde_json::Value = r.client()?.send::<(), serde_json::Value>("DELETE", &path, None).await?;
    println!("removed member {name} from group {group}");
    Ok(())
}

/// `hubsync schema refresh GROUP [--database hub|MEMBER]`.
pub async fn schema_refresh(r: &Remote, group: &str, database: Option<&str>) -> Result<()> {
    let mut path = format!("/api/v1/groups/{}/schema", enc(group));
    if let Some(d) = database {
        path.push_str(&format!("?database={}", enc(d)));
    }
    let v: Vec<SchemaTable> = r.client()?.get(&path).await?;
    if r.json {
        return print(&v);
    }
    for t in v {
        let problem = t.problem.map(|p| format!("  ({p})")).unwrap_or_default();
        println!("{}{problem}", t.table);
        for c in t.columns {
            let key = if c.key { " key" } else { "" };
            let note = c.unsupported.map(|u| format!("  ({u})")).unwrap_or_default();
            println!("  {:<24} {:<12} {}{key}{note}", c.name, opt(c.kind), opt(c.declared_type));
        }
    }
    Ok(())
}

/// `hubsync schema show GROUP`.
pub async fn schema_show(r: &Remote, group: &str) -> Result<()> {
    let v: Vec<TableConfig> = r.client()?.get(&format!("/api/v1/groups/{}/tables", enc(group))).await?;
    if r.json {
        return print(&v);
    }
    for t in v {
        let name = match &t.namespace {
            Some(n) => format!("{n}.{}", t.name),
            None => t.name.clone(),
        };
        let cols = if t.columns.is_empty() { "every column".to_owned() } else { t.columns.join(", ") };
        println!("{name}: {cols}");
    }
    Ok(())
}

/// Parse `TABLE` or `TABLE:COL,COL` (`ns.table` for a namespace).
pub fn table_arg(text: &str) -> Result<TableConfig, String> {
    let (name, cols) = match text.split_once(':') {
        Some((n, c)) => (n, c.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect()),
        None => (text, Vec::new()),
    };
    let (namespace, name) = match name.split_once('.') {
        Some((ns, n)) => (Some(ns.to_owned()), n.to_owned()),
        None => (None, name.to_owned()),
    };
    if name.is_empty() {
        return Err("a table is NAME, SCHEMA.NAME, or NAME:COL,COL".into());
    }
    Ok(TableConfig { name, namespace, columns: cols, conflict_policy: None })
}

/// `hubsync schema set GROUP --table T …`.
pub async fn schema_set(r: &Remote, group: &str, tables: Vec<TableConfig>) -> Result<()> {
    let v: GroupView = r.client()?.send("PUT", &format!("/api/v1/groups/{}/tables", enc(group)), Some(&tables)).await?;
    if r.json {
        return print(&v);
    }
    println!("group {group} now syncs {} tables (revision {})", tables.len(), v.revision);
    Ok(())
}

/// `hubsync sync now GROUP [--member M] [--wait]`.
pub async fn sync_now(r: &Remote, group: &str, member: Option<&str>, wait: bool) -> Result<()> {
    let c = r.client()?;
    let body = SyncRequest { member: member.map(str::to_owned) };
    let asked = hubsync_server::now_micros();
    let v: Accepted = c.send("POST", &format!("/api/v1/groups/{}/sync", enc(group)), Some(&body)).await?;
    if !wait {
        if r.json {
            return print(&v);
        }
        println!("sync of {} queued for {} member(s)", member.unwrap_or(group), v.members);
        return Ok(());
    }
    let status_path = format!("/api/v1/groups/{}/status", enc(group));
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let started = std::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let st: GroupState = c.get(&status_path).await?;
        let members: Vec<&MemberState> = st.members.iter().filter(|m| member.is_none_or(|x| m.member == x)).collect();
        let done = members.iter().all(|m| {
            m.syncing_on.is_none() && !m.tables.is_empty() && m.tables.iter().all(|t| t.last_started_micros >= asked)
        });
        let changes: u64 = members.iter().filter_map(|m| m.changes_done).sum();
        if tty {
            let secs = started.elapsed().as_secs_f64().max(0.001);
            let running = members.iter().filter(|m| m.syncing_on.is_some()).count();
            eprint!(
                "\r{running} of {} member(s) syncing; {changes} changes this run on the serving instance ({:.0}/s)   ",
                members.len(),
                changes as f64 / secs
            );
        }
        if done {
            if tty {
                eprintln!();
            }
            let failed: Vec<String> = members
                .iter()
                .flat_map(|m| {
                    m.tables
                        .iter()
                        .filter(|t| t.level == Level::Error)
                        .map(move |t| format!("{} / {}: {}", m.member, t.table, opt(t.message.as_deref())))
                })
                .collect();
            if r.json {
                return print(&st);
            }
            for m in &members {
                for t in &m.tables {
                    println!(
                        "{group} / {} / {}: {} ({} down, {} up, {} conflicts)",
                        m.member,
                        t.table,
                        t.level.as_str(),
                        t.rows_down,
                        t.rows_up,
                        t.conflicts
                    );
                }
            }
            if !failed.is_empty() {
                bail!("{} table syncs failed:\n  {}", failed.len(), failed.join("\n  "));
            }
            return Ok(());
        }
    }
}

/// `hubsync reinit --group G --member M` against the server.
pub async fn reinit(r: &Remote, group: &str, member: &str) -> Result<()> {
    let path = format!("/api/v1/groups/{}/members/{}/reinit", enc(group), enc(member));
    let _: serde_json::Value = r.client()?.send::<(), serde_json::Value>("POST", &path, None).await?;
    println!("member {member} of group {group} forgot its sync state and syncs from scratch now");
    Ok(())
}

/// `hubsync sync cancel GROUP [--member M]`.
pub async fn sync_cancel(r: &Remote, group: &str, member: Option<&str>) -> Result<()> {
    let body = SyncRequest { member: member.map(str::to_owned) };
    let v: Accepted = r.client()?.send("POST", &format!("/api/v1/groups/{}/cancel", enc(group)), Some(&body)).await?;
    if r.json {
        return print(&v);
    }
    println!("{}", v.message);
    Ok(())
}

/// Parse `30s`, `10m`, `2h`, `7d` into µs.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let (n, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: i64 = n.parse().map_err(|_| format!("{text:?} is not a duration like 30s, 10m, 2h or 7d"))?;
    let secs = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} is not a duration like 30s, 10m, 2h or 7d")),
    };
    Ok(n * secs * 1_000_000)
}

/// Options of `hubsync log`.
pub struct LogQuery {
    pub group: Option<String>,
    pub member: Option<String>,
    pub level: Option<String>,
    pub since_micros: Option<i64>,
    pub limit: i64,
    pub follow: bool,
}

/// `hubsync log`.
pub async fn log(r: &Remote, q: LogQuery) -> Result<()> {
    let c = r.client()?;
    let mut base = String::new();
    for (k, v) in [("group", &q.group), ("member", &q.member), ("level", &q.level)] {
        if let Some(v) = v {
            base.push_str(&format!("&{k}={}", enc(v)));
        }
    }
    let since = q.since_micros.map(|d| hubsync_server::now_micros() - d);
    let path = |extra: String| format!("/api/v1/history?limit={}{base}{extra}", q.limit);
    let first: HistoryPage = c.get(&path(since.map(|s| format!("&since_micros={s}")).unwrap_or_default())).await?;
    let mut entries = first.entries;
    entries.reverse();
    let mut last_id = entries.last().map_or(0, |e| e.id);
    let show = |e: &HistoryEntry| -> Result<()> {
        if r.json {
            println!("{}", serde_json::to_string(e)?);
        } else {
            println!(
                "{}  {:<7} {} / {} / {}: {} down, {} up, {} conflicts, {} ms{}",
                when(Some(e.started_micros)),
                e.level.as_str(),
                e.group,
                e.member,
                e.table,
                e.rows_down,
                e.rows_up,
                e.conflicts,
                e.duration_ms,
                e.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
            );
        }
        Ok(())
    };
    for e in &entries {
        show(e)?;
    }
    if !q.follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let page: HistoryPage = c.get(&path(String::new())).await?;
        let mut new: Vec<HistoryEntry> = page.entries.into_iter().filter(|e| e.id > last_id).collect();
        new.reverse();
        for e in &new {
            show(e)?;
            last_id = last_id.max(e.id);
        }
    }
}

/// `hubsync conflicts --group G` against the server.
pub async fn conflicts(r: &Remote, group: &str, limit: i64) -> Result<()> {
    let v: Vec<ConflictView> =
        r.client()?.get(&format!("/api/v1/groups/{}/conflicts?limit={limit}", enc(group))).await?;
    print(&v)
}

/// `hubsync conflicts --group G --replay POLICY`.
pub async fn replay(r: &Remote, group: &str, policy: &str, config: Option<&str>, limit: i64) -> Result<()> {
    let config = match config {
        Some(c) => serde_json::from_str(c).context("--replay-config is not JSON")?,
        None => serde_json::Value::Object(Default::default()),
    };
    let body = ReplayRequest { policy: PolicyConfig { plugin: policy.to_owned(), config }, limit: Some(limit) };
    let path = format!("/api/v1/groups/{}/conflicts/replay", enc(group));
    let v: ReplayReport = r.client()?.send("POST", &path, Some(&body)).await?;
    if r.json {
        return print(&v);
    }
    println!(
        "{} conflicts replayed through {policy}: {} decided the same, {} otherwise",
        v.replayed,
        v.same,
        v.differences.len()
    );
    let rows = v
        .differences
        .into_iter()
        .map(|d| vec![d.member, d.table, d.key.to_string(), wire(&d.recorded), wire(&d.replayed)])
        .collect();
    table(&["member", "table", "key", "decided", "would decide"], rows);
    Ok(())
}

/// `hubsync plugin list` (uploaded plugins).
pub async fn plugin_list(r: &Remote) -> Result<()> {
    let v: Vec<PluginView> = r.client()?.get("/api/v1/plugins").await?;
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
pub async fn plugin_upload(r: &Remote, file: &Path, name: Option<&str>) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let name = match name {
        Some(n) => n.to_owned(),
        None => file.file_stem().and_then(|s| s.to_str()).map(str::to_owned).context("give --name")?,
    };
    let path = format!("/api/v1/plugins?name={}", enc(&name));
    let (_, answer) = r.client()?.call_as("POST", &path, Some(bytes), "application/octet-stream").await?;
    let v: PluginView = serde_json::from_slice(&answer).context("the service's answer is not a plugin")?;
    if r.json {
        return print(&v);
    }
    println!("uploaded {} ({} {}); use it as plugin = \"stored:{name}\"", v.name, v.role, v.version);
    Ok(())
}

/// `hubsync plugin remove NAME`.
pub async fn plugin_remove(r: &Remote, name: &str) -> Result<()> {
    let _: serde_json::Value =
        r.client()?.send::<(), serde_json::Value>("DELETE", &format!("/api/v1/plugins/{}", enc(name)), None).await?;
    println!("removed plugin {name}");
    Ok(())
}

/// `hubsync quarantine --group G [--retry …] [--discard …]` against the server.
pub async fn quarantine(r: &Remote, group: &str, retry: &[String], discard: &[String]) -> Result<()> {
    let c = r.client()?;
    let ids = |list: &[String]| -> Result<QuarantineAction> {
        if list.iter().any(|i| i == "all") {
            return Ok(QuarantineAction { ids: None });
        }
        let ids: Result<Vec<i64>, _> = list.iter().map(|i| i.parse::<i64>()).collect();
        Ok(QuarantineAction { ids: Some(ids.map_err(|_| anyhow::anyhow!("ids are numbers from the list, or `all`"))?) })
    };
    for (list, action) in [(retry, "retry"), (discard, "discard")] {
        if list.is_empty() {
            continue;
        }
        let path = format!("/api/v1/groups/{}/quarantine/{action}", enc(group));
        let v: Count = c.send("POST", &path, Some(&ids(list)?)).await?;
        println!("{action}: {} change(s)", v.count);
        return Ok(());
    }
    let v: Vec<QuarantineView> = c.get(&format!("/api/v1/groups/{}/quarantine", enc(group))).await?;
    if r.json {
        return print(&v);
    }
    let rows =
        v.into_iter().map(|q| vec![q.id.to_string(), q.member, q.table, q.key.to_string(), q.stage, q.error]).collect();
    table(&["id", "member", "table", "key", "where", "error"], rows);
    Ok(())
}

/// `hubsync agent create NAME`.
pub async fn agent_create(r: &Remote, name: &str) -> Result<()> {
    let v: AgentKey = r.client()?.send("POST", "/api/v1/agents", Some(&NewAgent { name: name.to_owned() })).await?;
    if r.json {
        return print(&v);
    }
    eprintln!("agent {name} created; its one-time key (shown this once; it works once):");
    println!("{}", v.key);
    Ok(())
}

/// `hubsync agent regenerate-key NAME`.
pub async fn agent_rekey(r: &Remote, name: &str) -> Result<()> {
    let path = format!("/api/v1/agents/{}/regenerate-key", enc(name));
    let v: AgentKey = r.client()?.send::<(), AgentKey>("POST", &path, None).await?;
    if r.json {
        return print(&v);
    }
    eprintln!("agent {name}: the old key and its credential no longer work; the new one-time key:");
    println!("{}", v.key);
    Ok(())
}

/// `hubsync agent delete NAME`.
pub async fn agent_delete(r: &Remote, name: &str) -> Result<()> {
    let _: serde_json::Value =
        r.client()?.send::<(), serde_json::Value>("DELETE", &format!("/api/v1/agents/{}", enc(name)), None).await?;
    println!("removed agent {name}");
    Ok(())
}

/// `hubsync agent list` / `agent show NAME`.
pub async fn agent_list(r: &Remote, name: Option<&str>) -> Result<()> {
    let c = r.client()?;
    let v: Vec<AgentView> = match name {
        Some(n) => vec![c.get(&format!("/api/v1/agents/{}", enc(n))).await?],
        None => c.get("/api/v1/agents").await?,
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
                a.state.clone(),
                online.into(),
                opt(a.version.as_deref()),
                when(a.last_contact_micros),
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

/// Print tokens (server or store answer alike).
pub fn print_tokens(tokens: &[TokenView], json: bool) -> Result<()> {
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
                t.role.clone(),
                state.into(),
                when(Some(t.created_micros)),
                when(t.last_used_micros),
            ]
        })
        .collect();
    table(&["id", "name", "role", "state", "created", "last used"], rows);
    Ok(())
}

/// `hubsync token create NAME --role R` through the server.
pub async fn token_create(r: &Remote, name: &str, role: hubsync_server::Role) -> Result<()> {
    let v: CreatedToken =
        r.client()?.send("POST", "/api/v1/tokens", Some(&NewToken { name: name.to_owned(), role })).await?;
    if r.json {
        return print(&v);
    }
    eprintln!("token {} ({}, {}); shown this once:", v.id, v.name, v.role.as_str());
    println!("{}", v.token);
    Ok(())
}

/// `hubsync token list` through the server.
pub async fn token_list(r: &Remote) -> Result<()> {
    let v: Vec<TokenView> = r.client()?.get("/api/v1/tokens").await?;
    print_tokens(&v, r.json)
}

/// `hubsync token revoke ID|NAME` through the server.
pub async fn token_revoke(r: &Remote, id: &str) -> Result<()> {
    let _: serde_json::Value =
        r.client()?.send::<(), serde_json::Value>("DELETE", &format!("/api/v1/tokens/{}", enc(id)), None).await?;
    println!("revoked {id}");
    Ok(())
}

fn toml_of(groups: &[GroupConfig]) -> Result<String> {
    let file = hubsync_core::SyncFile { metadata: None, groups: groups.to_vec() };
    toml::to_string(&file).context("writing TOML")
}

/// Lines of `old` and `new` as a diff (`-`, `+`, and two lines of context).
fn diff(old: &str, new: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // Longest common subsequence, then walk it.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals before additions, as diff(1) prints them.
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let near = |k: usize| ops[k.saturating_sub(2)..(k + 3).min(ops.len())].iter().any(|o| o.0 != ' ');
    ops.iter().enumerate().filter(|(k, _)| near(*k)).map(|(_, (c, l))| format!("{c} {l}")).collect()
}

/// `hubsync apply FILE [--dry-run]`: create or update the file's groups,
/// showing what changes first.
pub async fn apply(r: &Remote, file: &Path, dry_run: bool) -> Result<()> {
    let loaded = hubsync_engine::load_file(file)?;
    let c = r.client()?;
    let mut changed = 0;
    for g in &loaded.file.groups {
        let path = format!("/api/v1/groups/{}", enc(&g.name));
        let current: Option<GroupView> = match c.get::<GroupView>(&path).await {
            Ok(v) => Some(v),
            Err(e) if e.status == 404 => None,
            Err(e) => return Err(e.into()),
        };
        let mut masked = g.clone();
        masked.hub = hubsync_connectors::redact(&masked.hub);
        for m in &mut masked.members {
            m.url = hubsync_connectors::redact(&m.url);
        }
        let new_text = toml_of(std::slice::from_ref(&masked))?;
        match &current {
            None => {
                println!("group {}: will be created", g.name);
                for l in new_text.lines() {
                    println!("+ {l}");
                }
            }
            Some(v) => {
                let old_text = toml_of(std::slice::from_ref(&v.definition))?;
                let lines = diff(&old_text, &new_text);
                if lines.is_empty() {
                    println!("group {}: unchanged", g.name);
                    continue;
                }
                println!("group {}: will be changed", g.name);
                for l in lines {
                    println!("{l}");
                }
            }
        }
        changed += 1;
        if dry_run {
            continue;
        }
        match current {
            None => {
                let _: GroupView = c.send("POST", "/api/v1/groups", Some(g)).await?;
            }
            Some(v) => {
                let body = GroupUpdate { revision: Some(v.revision), definition: g.clone() };
                let _: GroupView = c.send("PUT", &path, Some(&body)).await?;
            }
        }
    }
    if dry_run {
        println!("dry run: {changed} group(s) would change");
    } else {
        println!("{changed} group(s) applied");
    }
    Ok(())
}

/// `hubsync export [--group G]`: the groups as a group file (passwords masked;
/// applying it again keeps the stored passwords).
pub async fn export(r: &Remote, group: Option<&str>) -> Result<()> {
    let c = r.client()?;
    let names: Vec<String> = match group {
        Some(g) => vec![g.to_owned()],
        None => c.get::<Vec<GroupSummary>>("/api/v1/groups").await?.into_iter().map(|g| g.name).collect(),
    };
    let mut groups = Vec::new();
    for n in names {
        groups.push(c.get::<GroupView>(&format!("/api/v1/groups/{}", enc(&n))).await?.definition);
    }
    if r.json {
        return print(&groups);
    }
    print!("{}", toml_of(&groups)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_show_changed_lines_with_context() {
        let d = diff("a\nb\nc\nd\ne\nf\ng", "a\nb\nc\nX\ne\nf\ng");
        assert_eq!(d, vec!["  b", "  c", "- d", "+ X", "  e", "  f"]);
        assert!(diff("same", "same").is_empty());
    }

    #[test]
    fn durations_and_tables_parse() {
        assert_eq!(parse_duration("10m"), Ok(600_000_000));
        assert!(parse_duration("ten").is_err());
        let t = table_arg("sales.orders:id,total").expect("table");
        assert_eq!((t.namespace.as_deref(), t.name.as_str(), t.columns.len()), (Some("sales"), "orders", 2));
    }
}
