//! `/groups/{group}/conflicts`: each settled conflict with both row
//! images side by side, the columns that differ marked, the decision and
//! the plugin (name, version, SHA-256) that made it; and a replay through
//! another policy, shown as a preview of what it would decide otherwise
//! (nothing is written).

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use hubsync_api::{ConflictQuery, ConflictView, ReplayReport, ReplayRequest};
use hubsync_core::PolicyConfig;
use serde::Deserialize;

use super::overview::now_micros;
use super::{Chrome, seg, shell};
use crate::view;
use crate::web::{Posted, Signed, Ui, page, shown};

pub(crate) fn routes() -> Router<Arc<Ui>> {
    Router::new()
        .route("/groups/{group}/conflicts", get(conflicts))
        .route("/groups/{group}/conflicts/replay", post(replay))
}

/// One column of a conflict: its name, both values, whether they differ.
struct Cell {
    column: String,
    hub: String,
    member: String,
    differs: bool,
}

struct ConflictRow {
    member: String,
    table: String,
    at: String,
    key: String,
    decision: &'static str,
    reason: String,
    plugin: String,
    sha256: String,
    /// Absent side: the row was deleted there.
    hub_deleted: bool,
    member_deleted: bool,
    cells: Vec<Cell>,
}

/// A JSON value as a cell shows it (strings without quotes).
fn text(v: Option<&serde_json::Value>) -> String {
    match v {
        None => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) => "NULL".into(),
        Some(other) => other.to_string(),
    }
}

fn conflict_row(c: ConflictView, now: i64) -> ConflictRow {
    let empty = serde_json::Map::new();
    let hub = c.hub_row.as_object().unwrap_or(&empty);
    let member = c.member_row.as_object().unwrap_or(&empty);
    let mut columns: Vec<&String> = hub.keys().collect();
    for k in member.keys() {
        if !columns.contains(&k) {
            columns.push(k);
        }
    }
    let both = !hub.is_empty() && !member.is_empty();
    let cells = columns
        .into_iter()
        .map(|k| Cell {
            column: k.clone(),
            hub: text(hub.get(k)),
            member: text(member.get(k)),
            differs: both && hub.get(k) != member.get(k),
        })
        .collect();
    ConflictRow {
        member: c.member,
        table: c.table,
        at: format!("{} ({})", view::at(c.at_micros), view::ago(c.at_micros, now)),
        key: c.key.to_string(),
        decision: c.decision.as_str(),
        reason: c.reason.unwrap_or_default(),
        plugin: c.plugin,
        sha256: c.plugin_sha256,
        hub_deleted: c.hub_row.is_null(),
        member_deleted: c.member_row.is_null(),
        cells,
    }
}

struct Difference {
    member: String,
    table: String,
    at: String,
    key: String,
    recorded: String,
    replayed: String,
}

#[derive(Template)]
#[template(path = "conflicts.html")]
struct Conflicts {
    chrome: Chrome,
    group: String,
    path: String,
    rows: Vec<ConflictRow>,
    policies: Vec<String>,
    chosen: String,
    preview: Option<(usize, usize, Vec<Difference>)>,
    error: Option<String>,
    cli: String,
    curl: String,
}

const BUILT_IN: [&str; 3] = ["builtin:hub-wins", "builtin:member-wins", "builtin:last-writer-wins"];

async fn render(s: &Signed, group: String, chosen: String, replayed: Option<Result<ReplayReport, String>>) -> Response {
    let chrome = Chrome::of(s, format!("Conflicts of {group}"), "overview");
    let now = now_micros();
    let list = s.api.conflicts(&group, &ConflictQuery { limit: Some(200) }).await;
    let mut policies: Vec<String> = BUILT_IN.iter().map(|p| p.to_string()).collect();
    if let Ok(plugins) = s.api.plugins().await {
        policies
            .extend(plugins.into_iter().filter(|p| p.role == "conflict-policy").map(|p| format!("stored:{}", p.name)));
    }
    let (rows, mut error) = match list {
        Ok(l) => (l.into_iter().map(|c| conflict_row(c, now)).collect(), None),
        Err(e) => (Vec::new(), Some(e.message)),
    };
    let preview = match replayed {
        Some(Ok(r)) => Some((
            r.replayed,
            r.same,
            r.differences
                .into_iter()
                .map(|d| Difference {
                    member: d.member,
                    table: d.table,
                    at: view::at(d.at_micros),
                    key: d.key.to_string(),
                    recorded: format!("{} by {}", d.recorded.as_str(), d.recorded_plugin),
                    replayed: match d.replayed_detail {
                        Some(x) => format!("{}: {x}", d.replayed.as_str()),
                        None => d.replayed.as_str().to_owned(),
                    },
                })
                .collect(),
        )),
        Some(Err(e)) => {
            error = Some(e);
            None
        }
        None => None,
    };
    let path = format!("/groups/{}", seg(&group));
    let data = Conflicts {
        cli: chrome.cli(&format!("conflicts {}", shell(&group))),
        curl: chrome.curl(
            "POST",
            &format!("/api/v1{path}/conflicts/replay"),
            Some(&format!("{{\"policy\":{{\"plugin\":\"{}\"}}}}", chosen.replace('\'', ""))),
        ),
        chrome,
        group,
        path,
        rows,
        policies,
        chosen,
        preview,
        error,
    };
    shown(page(&data), s)
}

async fn conflicts(s: Signed, Path(group): Path<String>) -> Response {
    render(&s, group, "builtin:member-wins".into(), None).await
}

#[derive(Deserialize)]
struct Replay {
    policy: String,
}

async fn replay(Path(group): Path<String>, p: Posted<Replay>) -> Response {
    let req = ReplayRequest {
        policy: PolicyConfig { plugin: p.form.policy.clone(), config: serde_json::json!({}), limits: None },
        limit: Some(1000),
    };
    let r = p.signed.api.replay(&group, &req).await.map_err(|e| e.message);
    render(&p.signed, group, p.form.policy, Some(r)).await
}
