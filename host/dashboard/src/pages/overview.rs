//! `/`: every group at a glance, Data Sync's missing overview: its state,
//! hub, members with their states, last and next sync, rows moved,
//! conflicts, open quarantine, running syncs' progress, and how long each
//! member has before it is out of date.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use futures_util::StreamExt;
use hubsync_api::{GroupState, GroupSummary, MemberState};

use super::{Chrome, seg};
use crate::view;
use crate::web::{Signed, Ui, page, shown};

pub(crate) fn routes() -> Router<Arc<Ui>> {
    Router::new().route("/", get(overview))
}

/// A running sync's bar.
pub(crate) struct Bar {
    /// `group/member`: what live updates find it by.
    pub(crate) key: String,
    /// Percent done (0 when the total is unknown).
    pub(crate) percent: u64,
    /// `1,234 of 5,000 changes`.
    pub(crate) label: String,
    /// Per table: name, done, total, percent.
    pub(crate) tables: Vec<(String, u64, u64, u64)>,
    /// When it started, µs (the page's script derives rate and ETA).
    pub(crate) since_micros: i64,
}

impl Bar {
    pub(crate) fn of(group: &str, m: &MemberState) -> Option<Bar> {
        m.syncing_on.as_ref()?;
        let done = m.changes_done.unwrap_or(0);
        let total = m.changes_total;
        let percent = |d: u64, t: u64| (d.min(t) * 100).checked_div(t).unwrap_or(100);
        Some(Bar {
            key: format!("{group}/{}", m.member),
            percent: total.map(|t| percent(done, t)).unwrap_or(0),
            label: match total {
                Some(t) => format!("{} of {} changes", view::count(done as i64), view::count(t as i64)),
                None => format!("{} changes so far", view::count(done as i64)),
            },
            tables: m
                .progress_tables
                .iter()
                .map(|t| (t.table.clone(), t.done, t.total, percent(t.done, t.total)))
                .collect(),
            since_micros: m.syncing_since_micros.unwrap_or(0),
        })
    }
}

/// One member as a row shows it.
pub(crate) struct MemberRow {
    pub(crate) name: String,
    pub(crate) state: &'static str,
    pub(crate) class: &'static str,
    /// When it last synced without error (words), or `never`.
    pub(crate) last_ok: String,
    /// `out of date in 44 d 3 h` (retention countdown), or empty.
    pub(crate) countdown: String,
    pub(crate) bar: Option<Bar>,
}

pub(crate) fn member_row(group: &str, m: &MemberState, retention_days: u32, now: i64) -> MemberRow {
    let (state, class) = view::member_state(m, now, retention_days);
    let last_ok = m.tables.iter().filter_map(|t| t.last_success_micros).min();
    let countdown = match last_ok {
        Some(t) => {
            let left = (t + retention_days as i64 * 86_400_000_000 - now) / 1_000_000;
            if left > 0 { format!("out of date in {}", view::span(left)) } else { "out of date".into() }
        }
        None => String::new(),
    };
    MemberRow {
        name: m.member.clone(),
        state,
        class,
        last_ok: last_ok.map(|t| view::ago(t, now)).unwrap_or_else(|| "never".into()),
        countdown,
        bar: Bar::of(group, m),
    }
}

struct GroupRow {
    name: String,
    href: String,
    state: &'static str,
    class: &'static str,
    hub: String,
    members: Vec<MemberRow>,
    last: String,
    next: String,
    down: String,
    up: String,
    conflicts: String,
    quarantined: i64,
    /// A member's state could not be read: why.
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    chrome: Chrome,
    groups: Vec<GroupRow>,
    attention: usize,
    cli: String,
    curl: String,
}

pub(crate) fn now_micros() -> i64 {
    crate::web::now_secs() as i64 * 1_000_000
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_micros() as i64)
            .unwrap_or_default()
}

fn row(group: &GroupSummary, state: &GroupState, now: i64) -> GroupRow {
    let members: Vec<MemberRow> =
        state.members.iter().map(|m| member_row(&group.name, m, group.retention_days, now)).collect();
    let states: Vec<(&'static str, &'static str)> = members.iter().map(|m| (m.state, m.class)).collect();
    let (s, class) = view::group_state(&states);
    let tables = state.members.iter().flat_map(|m| &m.tables);
    let last = tables.clone().map(|t| t.last_started_micros).max();
    let next = state.members.iter().filter_map(|m| m.due_micros).min();
    let sum = |f: fn(&hubsync_api::TableState) -> i64| view::count(tables.clone().map(f).sum());
    GroupRow {
        name: group.name.clone(),
        href: format!("/groups/{}", seg(&group.name)),
        state: s,
        class,
        hub: group.hub.clone(),
        members,
        last: last.map(|t| view::ago(t, now)).unwrap_or_else(|| "never".into()),
        next: match (next, group.interval_seconds) {
            (Some(t), Some(_)) => view::ago(t.max(now), now),
            _ => "on request".into(),
        },
        down: sum(|t| t.rows_down),
        up: sum(|t| t.rows_up),
        conflicts: sum(|t| t.conflicts),
        quarantined: tables.map(|t| t.quarantined).sum(),
        error: None,
    }
}

async fn overview(s: Signed) -> Response {
    let chrome = Chrome::of(&s, "Overview", "overview");
    let now = now_micros();
    let mut groups = Vec::new();
    let mut error = None;
    match s.api.list_groups().await {
        Ok(list) => {
            // Each group's state, eight groups at a time (the metadata
            // database's round trips overlap), in list order; the list
            // itself says what the rows need of each definition.
            let api = &s.api;
            let reads = futures_util::stream::iter(list.into_iter().map(|g| async move {
                let got = api.status(&g.name).await;
                (g, got)
            }))
            .buffered(8)
            .collect::<Vec<_>>()
            .await;
            for (g, got) in reads {
                match got {
                    Ok(state) => groups.push(row(&g, &state, now)),
                    Err(e) => groups.push(GroupRow {
                        name: g.name.clone(),
                        href: format!("/groups/{}", seg(&g.name)),
                        state: "Unknown",
                        class: "bad",
                        hub: g.hub,
                        members: Vec::new(),
                        last: String::new(),
                        next: String::new(),
                        down: String::new(),
                        up: String::new(),
                        conflicts: String::new(),
                        quarantined: 0,
                        error: Some(e.message),
                    }),
                }
            }
        }
        Err(e) => error = Some(e.message),
    }
    let attention = groups.iter().filter(|g| g.class == "bad" || g.class == "warn").count();
    let cli = chrome.cli("group list");
    let curl = chrome.curl("GET", "/api/v1/groups", None);
    let mut chrome = chrome;
    if let Some(e) = error {
        chrome.flash = Some(crate::web::Flash { error: true, text: e });
    }
    shown(page(&Overview { chrome, groups, attention, cli, curl }), &s)
}
