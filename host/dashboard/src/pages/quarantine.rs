//! `/groups/{group}/quarantine`: the changes a database refused, row by
//! row (key, column, value, the database's message, attempts), each to
//! retry or discard, or all at once.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use hubsync_api::QuarantineAction;
use serde::Deserialize;

use super::overview::now_micros;
use super::{Chrome, seg, shell};
use crate::view;
use crate::web::{Posted, Signed, Ui, done, page, shown};

pub(crate) fn routes() -> Router<Arc<Ui>> {
    Router::new()
        .route("/groups/{group}/quarantine", get(quarantine))
        .route("/groups/{group}/quarantine/retry", post(retry))
        .route("/groups/{group}/quarantine/discard", post(discard))
}

struct HeldRow {
    id: i64,
    member: String,
    table: String,
    side: &'static str,
    key: String,
    stage: String,
    column: String,
    value: String,
    error: String,
    first: String,
    last: String,
    attempts: i64,
    retry: bool,
}

#[derive(Template)]
#[template(path = "quarantine.html")]
struct Quarantine {
    chrome: Chrome,
    group: String,
    path: String,
    rows: Vec<HeldRow>,
    error: Option<String>,
    cli: String,
    curl: String,
}

async fn quarantine(s: Signed, Path(group): Path<String>) -> Response {
    let chrome = Chrome::of(&s, format!("Quarantine of {group}"), "overview");
    let now = now_micros();
    let (rows, error) = match s.api.quarantine(&group).await {
        Ok(list) => (
            list.into_iter()
                .map(|q| HeldRow {
                    id: q.id,
                    member: q.member,
                    table: q.table,
                    side: match q.side {
                        hubsync_api::Side::Hub => "hub",
                        hubsync_api::Side::Member => "member",
                    },
                    key: q.key.to_string(),
                    stage: q.stage,
                    column: q.column.unwrap_or_default(),
                    value: q.value.unwrap_or_default(),
                    error: q.error,
                    first: view::ago(q.first_micros, now),
                    last: view::ago(q.last_micros, now),
                    attempts: q.attempts,
                    retry: q.retry,
                })
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e.message)),
    };
    let path = format!("/groups/{}", seg(&group));
    let data = Quarantine {
        cli: chrome.cli(&format!("quarantine --group {} --retry ID", shell(&group))),
        curl: chrome.curl("POST", &format!("/api/v1{path}/quarantine/retry"), Some("{\"ids\":[ID]}")),
        chrome,
        group,
        path,
        rows,
        error,
    };
    shown(page(&data), &s)
}

/// One row (`id`) or, without it, all.
#[derive(Deserialize)]
struct Pick {
    #[serde(default)]
    id: Option<i64>,
}

fn back(group: &str) -> String {
    format!("/groups/{}/quarantine", seg(group))
}

async fn retry(Path(group): Path<String>, p: Posted<Pick>) -> Response {
    let a = QuarantineAction { ids: p.form.id.map(|i| vec![i]) };
    let r = p.signed.api.retry_quarantine(&group, &a).await;
    done(
        &back(&group),
        r.map(|c| format!("{} rows will be tried again at the next sync", c.count)).map_err(|e| e.message),
    )
}

async fn discard(Path(group): Path<String>, p: Posted<Pick>) -> Response {
    let a = QuarantineAction { ids: p.form.id.map(|i| vec![i]) };
    let r = p.signed.api.discard_quarantine(&group, &a).await;
    done(&back(&group), r.map(|c| format!("{} rows discarded", c.count)).map_err(|e| e.message))
}
