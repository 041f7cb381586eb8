//! `hubsync log`: sync history (Data Sync's logs), newest last, from a
//! group file's metadata or from a server, as the API's `HistoryEntry`
//! lines either way; `--follow` keeps printing.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use hubsync_api::{HistoryEntry, HistoryPage, HistoryQuery, Level};
use hubsync_client::Client;
use hubsync_engine::Engine;

use crate::output::when;
use crate::remote::Remote;

// The arguments of `hubsync log`.
#[derive(clap::Args)]
pub struct LogArgs {
    /// The group file (TOML); without it, ask the server.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Only this group.
    #[arg(long)]
    group: Option<String>,
    /// Only this member.
    #[arg(long)]
    member: Option<String>,
    /// Only `success`, `warning` or `error`.
    #[arg(long, value_parser = level_arg)]
    level: Option<Level>,
    /// Only this recent: 30s, 10m, 2h, 7d.
    #[arg(long, value_parser = parse_duration)]
    since: Option<i64>,
    /// At most this many (then the newer ones with --follow).
    #[arg(long, default_value_t = 50)]
    limit: i64,
    /// Keep printing new entries until interrupted.
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    remote: Remote,
}

impl LogArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        log(self).await
    }
}

/// Parse `success`, `warning` or `error`.
fn level_arg(text: &str) -> Result<Level, String> {
    Level::parse(text).ok_or_else(|| format!("{text:?} is not a level: write success, warning or error"))
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

/// `hubsync log`.
/// Where the history is read.
enum Source {
    Server(Client),
    File(Box<Engine>),
}

impl Source {
    async fn page(&self, q: HistoryQuery) -> Result<HistoryPage> {
        match self {
            Source::Server(c) => Ok(c.history(&q).await?),
            Source::File(engine) => {
                let filter = hubsync_server::views::history_filter(q).map_err(anyhow::Error::msg)?;
                Ok(hubsync_server::views::history_page(engine.meta().history(&filter).await?))
            }
        }
    }
}

async fn log(a: LogArgs) -> Result<()> {
    let r = &a.remote;
    let c = match &a.config {
        Some(file) => {
            let loaded = hubsync_engine::load_file(file)?;
            if let Some(g) = &a.group {
                crate::local::selected(&loaded, Some(g))?;
            }
            Source::File(Box::new(crate::local::engine(&loaded).await?))
        }
        None => Source::Server(r.client()?),
    };
    let query = |since_micros: Option<i64>| HistoryQuery {
        group: a.group.clone(),
        member: a.member.clone(),
        level: a.level,
        since_micros,
        limit: Some(a.limit),
        ..HistoryQuery::default()
    };
    let since = a.since.map(|d| hubsync_server::now_micros() - d);
    let first = c.page(query(since)).await?;
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
    if !a.follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let page = c.page(query(None)).await?;
        let mut new: Vec<HistoryEntry> = page.entries.into_iter().filter(|e| e.id > last_id).collect();
        new.reverse();
        for e in &new {
            show(e)?;
            last_id = last_id.max(e.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_levels_parse() {
        assert_eq!(parse_duration("10m"), Ok(600_000_000));
        assert!(parse_duration("ten").is_err());
        assert_eq!(level_arg("warning"), Ok(Level::Warning));
        assert!(level_arg("warn").is_err());
    }
}
