//! `/logs`: the sync log across groups (Data Sync's logs, without opening
//! each group): filtered by group, member, level and time, paged, new
//! entries followed live; a failed or warned sync expands to its message
//! and the rows it left in quarantine.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use hubsync_api::{HistoryEntry, HistoryQuery, Level, QuarantineView};
use serde::Deserialize;

use super::overview::now_micros;
use super::{Chrome, seg, shell};
use crate::view;
use crate::web::{Signed, Ui, encode, page, shown};

pub(crate) fn routes() -> Router<Arc<Ui>> {
    Router::new().route("/logs", get(logs))
}

/// A quarantined row as an entry's details show it.
pub(crate) struct HeldRow {
    pub(crate) key: String,
    pub(crate) column: String,
    pub(crate) value: String,
    pub(crate) error: String,
}

/// One log entry as shown.
pub(crate) struct EntryRow {
    pub(crate) id: i64,
    pub(crate) level: &'static str,
    pub(crate) at: String,
    pub(crate) ago: String,
    pub(crate) group: String,
    pub(crate) group_href: String,
    pub(crate) member: String,
    pub(crate) table: String,
    pub(crate) down: String,
    pub(crate) up: String,
    pub(crate) conflicts: i64,
    pub(crate) warnings: i64,
    pub(crate) ms: i64,
    pub(crate) message: String,
    pub(crate) instance: String,
    pub(crate) held: Vec<HeldRow>,
}

pub(crate) fn entry_row(e: HistoryEntry, now: i64) -> EntryRow {
    EntryRow {
        id: e.id,
        level: e.level.as_str(),
        at: view::at(e.started_micros),
        ago: view::ago(e.started_micros, now),
        group_href: format!("/groups/{}", seg(&e.group)),
        group: e.group,
        member: e.member,
        table: e.table,
        down: view::count(e.rows_down),
        up: view::count(e.rows_up),
        conflicts: e.conflicts,
        warnings: e.warnings,
        ms: e.duration_ms,
        message: e.message.unwrap_or_default(),
        instance: e.instance.unwrap_or_default(),
        held: Vec::new(),
    }
}

/// The filters, as the form sends them (empty fields mean "any").
#[derive(Deserialize, Default)]
struct Filter {
    #[serde(default)]
    group: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    level: String,
    /// `hour`, `day`, `week` or empty.
    #[serde(default)]
    within: String,
    #[serde(default)]
    cursor: Option<i64>,
}

#[derive(Template)]
#[template(path = "logs.html")]
struct Logs {
    chrome: Chrome,
    group: String,
    member: String,
    level: String,
    within: String,
    entries: Vec<EntryRow>,
    next: Option<String>,
    error: Option<String>,
    cli: String,
    curl: String,
}

fn some(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.trim().to_owned())
}

async fn logs(s: Signed, Query(f): Query<Filter>) -> Response {
    let chrome = Chrome::of(&s, "Logs", "logs");
    let now = now_micros();
    let since = match f.within.as_str() {
        "hour" => Some(now - 3_600_000_000),
        "day" => Some(now - 86_400_000_000),
        "week" => Some(now - 7 * 86_400_000_000),
        _ => None,
    };
    let q = HistoryQuery {
        group: some(&f.group),
        member: some(&f.member),
        level: Level::parse(&f.level),
        since_micros: since,
        until_micros: None,
        cursor: f.cursor,
        limit: Some(50),
    };
    let mut cli = String::from("log");
    for (flag, v) in [("--group", &q.group), ("--member", &q.member)] {
        if let Some(v) = v {
            cli.push_str(&format!(" {flag} {}", shell(v)));
        }
    }
    if let Some(l) = q.level {
        cli.push_str(&format!(" --level {}", l.as_str()));
    }
    let mut query = vec![];
    for (k, v) in [("group", &q.group), ("member", &q.member)] {
        if let Some(v) = v {
            query.push(format!("{k}={}", encode(v)));
        }
    }
    if let Some(l) = q.level {
        query.push(format!("level={}", l.as_str()));
    }
    let api_path = format!("/api/v1/history{}{}", if query.is_empty() { "" } else { "?" }, query.join("&"));
    let (entries, next, error) = match s.api.history(&q).await {
        Ok(p) => {
            let mut rows: Vec<EntryRow> = p.entries.into_iter().map(|e| entry_row(e, now)).collect();
            attach_quarantine(&s, &mut rows).await;
            let next = p.next_cursor.map(|c| {
                format!(
                    "/logs?group={}&member={}&level={}&within={}&cursor={c}",
                    encode(&f.group),
                    encode(&f.member),
                    encode(&f.level),
                    encode(&f.within)
                )
            });
            (rows, next, None)
        }
        Err(e) => (Vec::new(), None, Some(e.message)),
    };
    let data = Logs {
        cli: chrome.cli(&cli),
        curl: chrome.curl("GET", &api_path, None),
        chrome,
        group: f.group,
        member: f.member,
        level: f.level,
        within: f.within,
        entries,
        next,
        error,
    };
    shown(page(&data), &s)
}

/// Give each warned or failed entry the rows its member and table hold in
/// quarantine (one read per group).
pub(crate) async fn attach_quarantine(s: &Signed, rows: &mut [EntryRow]) {
    let mut held: HashMap<String, Vec<QuarantineView>> = HashMap::new();
    for r in rows.iter_mut().filter(|r| r.level != "success") {
        if !held.contains_key(&r.group) {
            let q = s.api.quarantine(&r.group).await.unwrap_or_default();
            held.insert(r.group.clone(), q);
        }
        r.held = held[&r.group]
            .iter()
            .filter(|q| q.member == r.member && q.table == r.table)
            .take(20)
            .map(|q| HeldRow {
                key: q.key.to_string(),
                column: q.column.clone().unwrap_or_default(),
                value: q.value.clone().unwrap_or_default(),
                error: q.error.clone(),
            })
            .collect();
    }
}
