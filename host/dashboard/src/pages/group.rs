//! `/groups/{group}`: one group: its members with their states, running
//! syncs' progress per table, each table's last sync, the latest log
//! entries; and (admin) *Sync now*, *Cancel*, *Reinit* (confirmed), a
//! member's direction and credentials (a masked password is kept).

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::{get, post};
use hubsync_api::{ActivityQuery, HistoryQuery, MemberUpdate, SyncRequest};
use hubsync_core::SyncDirection;
use serde::Deserialize;

use super::logs::{EntryRow, entry_row};
use super::overview::{MemberRow, member_row, now_micros};
use super::{Chrome, seg, shell};
use crate::chart::{self, Chart};
use crate::view;
use crate::web::{Posted, Signed, Ui, done, page, shown};

pub(crate) fn routes() -> Router<Arc<Ui>> {
    Router::new()
        .route("/groups/{group}", get(group))
        .route("/groups/{group}/sync", post(sync_now))
        .route("/groups/{group}/cancel", post(cancel))
        .route("/groups/{group}/members/{member}/reinit", post(reinit))
        .route("/groups/{group}/members/{member}", post(edit_member))
}

struct TableRow {
    table: String,
    level: &'static str,
    last: String,
    down: String,
    up: String,
    conflicts: i64,
    quarantined: i64,
    ms: i64,
    message: String,
}

struct MemberPanel {
    row: MemberRow,
    /// Its URL, password masked.
    url: String,
    direction: &'static str,
    tables: Vec<TableRow>,
    path: String,
    syncing: bool,
    cli_sync: String,
    cli_reinit: String,
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    chrome: Chrome,
    name: String,
    path: String,
    hub: String,
    interval: String,
    policy: String,
    retention_days: u32,
    tables: Vec<String>,
    members: Vec<MemberPanel>,
    entries: Vec<EntryRow>,
    /// `day` or `week`.
    range: &'static str,
    charts: Vec<Chart>,
    cli_sync: String,
    curl_sync: String,
    curl_status: String,
}

fn direction(d: SyncDirection) -> &'static str {
    match d {
        SyncDirection::Bidirectional => "bidirectional",
        SyncDirection::ToHub => "to-hub",
        SyncDirection::FromHub => "from-hub",
    }
}

/// Which span the charts cover.
#[derive(Deserialize, Default)]
struct Range {
    #[serde(default)]
    range: Option<String>,
}

async fn group(s: Signed, Path(name): Path<String>, Query(r): Query<Range>) -> Response {
    let chrome = Chrome::of(&s, name.clone(), "overview");
    let week = r.range.as_deref() == Some("week");
    let span = if week {
        ActivityQuery { hours: Some(168), bucket_minutes: Some(360) }
    } else {
        ActivityQuery { hours: Some(24), bucket_minutes: Some(60) }
    };
    let got = async {
        let view = s.api.group(&name).await?;
        let state = s.api.status(&name).await?;
        let q = HistoryQuery { group: Some(name.clone()), limit: Some(20), ..HistoryQuery::default() };
        let history = s.api.history(&q).await?;
        let activity = s.api.activity(&name, &span).await?;
        Ok::<_, hubsync_client::CallError>((view, state, history, activity))
    };
    let (view, state, history, activity) = match got.await {
        Ok(x) => x,
        Err(e) => return shown(super::error_page(chrome, e), &s),
    };
    let now = now_micros();
    let config = view.definition;
    let path = format!("/groups/{}", seg(&name));
    let names: Vec<String> = config.members.iter().map(|m| m.name.clone()).collect();
    let per = if week { "per 6 hours" } else { "per hour" };
    let charts = vec![
        chart::stacked(
            &format!("Rows synced {per}"),
            &activity,
            now,
            &names,
            |b| (b.rows_down + b.rows_up) as f64,
            "rows",
        ),
        chart::stacked(
            &format!("Time syncing {per}, seconds"),
            &activity,
            now,
            &names,
            |b| b.duration_ms as f64 / 1000.0,
            "s",
        ),
        chart::stacked(&format!("Conflicts {per}"), &activity, now, &names, |b| b.conflicts as f64, "conflicts"),
    ];
    let members = config
        .members
        .iter()
        .filter_map(|mc| {
            let m = state.members.iter().find(|m| m.member == mc.name)?;
            Some(MemberPanel {
                row: member_row(&name, m, config.retention_days, now),
                url: mc.url.clone(),
                direction: direction(mc.direction),
                syncing: m.syncing_on.is_some(),
                tables: m
                    .tables
                    .iter()
                    .map(|t| TableRow {
                        table: t.table.clone(),
                        level: t.level.as_str(),
                        last: view::ago(t.last_started_micros, now),
                        down: view::count(t.rows_down),
                        up: view::count(t.rows_up),
                        conflicts: t.conflicts,
                        quarantined: t.quarantined,
                        ms: t.duration_ms,
                        message: t.message.clone().unwrap_or_default(),
                    })
                    .collect(),
                path: format!("{path}/members/{}", seg(&mc.name)),
                cli_sync: chrome.cli(&format!("sync now {} --member {} --wait", shell(&name), shell(&mc.name))),
                cli_reinit: chrome.cli(&format!("reinit {} {}", shell(&name), shell(&mc.name))),
            })
        })
        .collect();
    let page_data = GroupPage {
        cli_sync: chrome.cli(&format!("sync now {} --wait", shell(&name))),
        curl_sync: chrome.curl("POST", &format!("/api/v1{path}/sync"), Some("{}")),
        curl_status: chrome.curl("GET", &format!("/api/v1{path}/status"), None),
        name: name.clone(),
        hub: config.hub.clone(),
        interval: {
            let every = config.interval_seconds.map(|i| format!("every {}", view::span(i as i64)));
            match (every, config.follow_changes) {
                (Some(e), true) => format!("{e}, and within about a second of a change"),
                (None, true) => "within about a second of a change".into(),
                (Some(e), false) => e,
                (None, false) => "on request only".into(),
            }
        },
        policy: config.conflict_policy.plugin.clone(),
        retention_days: config.retention_days,
        tables: config.tables.iter().map(|t| t.name.clone()).collect(),
        members,
        entries: history.entries.into_iter().map(|e| entry_row(e, now)).collect(),
        range: if week { "week" } else { "day" },
        charts,
        path,
        chrome,
    };
    shown(page(&page_data), &s)
}

#[derive(Deserialize)]
struct Which {
    #[serde(default)]
    member: Option<String>,
}

fn back(group: &str) -> String {
    format!("/groups/{}", seg(group))
}

async fn sync_now(Path(group): Path<String>, p: Posted<Which>) -> Response {
    let member = p.form.member.filter(|m| !m.is_empty());
    let r = p.signed.api.sync_now(&group, &SyncRequest { member }).await;
    done(&back(&group), r.map(|a| a.message).map_err(|e| e.message))
}

async fn cancel(Path(group): Path<String>, p: Posted<Which>) -> Response {
    let member = p.form.member.filter(|m| !m.is_empty());
    let r = p.signed.api.cancel(&group, &SyncRequest { member }).await;
    done(&back(&group), r.map(|a| a.message).map_err(|e| e.message))
}

#[derive(Deserialize)]
struct Confirmed {
    #[serde(default)]
    confirm: Option<String>,
}

async fn reinit(Path((group, member)): Path<(String, String)>, p: Posted<Confirmed>) -> Response {
    if p.form.confirm.as_deref() != Some(member.as_str()) {
        return done(
            &back(&group),
            Err(format!(
                "reinit not done: type the member's name ({member}) to confirm that its sync state is forgotten"
            )),
        );
    }
    let r = p.signed.api.reinit(&group, &member).await;
    done(
        &back(&group),
        r.map(|c| format!("{member}: sync state forgotten ({} tables); its next sync compares every row", c.count))
            .map_err(|e| e.message),
    )
}

#[derive(Deserialize)]
struct MemberEdit {
    url: String,
    direction: SyncDirection,
}

async fn edit_member(Path((group, member)): Path<(String, String)>, p: Posted<MemberEdit>) -> Response {
    let update = MemberUpdate { url: Some(p.form.url), direction: Some(p.form.direction), ..MemberUpdate::default() };
    let r = p.signed.api.update_member(&group, &member, &update).await;
    done(&back(&group), r.map(|v| format!("{member} saved (revision {})", v.revision)).map_err(|e| e.message))
}
