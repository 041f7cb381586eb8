//! The API's views of what the metadata database holds: a group's state
//! (`GET /groups/{group}/status`), a settled conflict, a quarantined
//! change. The service and the CLI reading a group file both build them
//! here, so `hubsync status`, `conflicts` and `quarantine` print one shape
//! whichever way they run.

use hubsync_api::{
    ConflictView, Decision, GroupState, HistoryEntry, HistoryPage, Level, MemberState, QuarantineView, Side, TableState,
};
use hubsync_connectors::meta::HistoryPage as StoredPage;
use hubsync_connectors::meta::{ConflictRecord, QuarantineEntry, Scope, TableStatus};

/// A JSON text the metadata keeps (a key, a row image) as JSON; `null`
/// when absent or not JSON.
pub fn json_of(text: Option<&str>) -> serde_json::Value {
    text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or(serde_json::Value::Null)
}

/// A page of the sync history as the API shows it.
pub fn history_page(page: StoredPage) -> HistoryPage {
    HistoryPage {
        entries: page
            .entries
            .into_iter()
            .map(|(id, r)| HistoryEntry {
                id,
                level: Level::of(r.ok, r.warnings),
                group: r.scope.group,
                member: r.scope.member,
                table: r.scope.table,
                started_micros: r.started_micros,
                duration_ms: r.duration_ms,
                rows_down: r.rows_down,
                rows_up: r.rows_up,
                conflicts: r.conflicts,
                warnings: r.warnings,
                message: r.message,
                instance: r.holder,
            })
            .collect(),
        next_cursor: page.next,
    }
}

/// The store's filter for a history query, checked as the API checks it.
pub fn history_filter(q: hubsync_api::HistoryQuery) -> Result<hubsync_connectors::meta::HistoryFilter, String> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err("limit is 1 to 1000".into());
    }
    for (what, name) in [("group name", &q.group), ("member name", &q.member)] {
        if let Some(n) = name {
            hubsync_core::config::check_name(what, n)?;
        }
    }
    Ok(hubsync_connectors::meta::HistoryFilter {
        group: q.group,
        member: q.member,
        level: q.level.map(|l| l.as_str().to_owned()),
        since_micros: q.since_micros,
        until_micros: q.until_micros,
        before_id: q.cursor,
        after_id: None,
        limit,
    })
}

/// A quarantined change as the API shows it.
pub fn quarantine_view(q: QuarantineEntry) -> QuarantineView {
    QuarantineView {
        id: q.id,
        group: q.scope.group,
        member: q.scope.member,
        table: q.scope.table,
        side: match q.record.side {
            hubsync_connectors::meta::Side::Hub => Side::Hub,
            hubsync_connectors::meta::Side::Member => Side::Member,
        },
        key: json_of(q.record.key.as_deref()),
        stage: q.record.stage,
        column: q.record.column,
        value: q.record.value,
        error: q.record.error,
        first_micros: q.first_micros,
        last_micros: q.record.at_micros,
        attempts: q.attempts,
        retry: q.retry,
    }
}

/// A settled conflict as the API shows it; `Err(name)` for a decision
/// this version does not know (a newer hubsync recorded it).
pub fn conflict_view(s: Scope, c: ConflictRecord) -> Result<ConflictView, String> {
    Ok(ConflictView {
        member: s.member,
        table: s.table,
        at_micros: c.at_micros,
        key: json_of(Some(&c.key)),
        hub_row: json_of(c.hub_row.as_deref()),
        member_row: json_of(c.member_row.as_deref()),
        decision: Decision::parse(&c.decision).ok_or(c.decision)?,
        reason: c.reason,
        plugin: c.plugin,
        plugin_sha256: c.plugin_sha256,
    })
}

/// What only a running service knows about a member (all `None` for a
/// group file read by the CLI).
#[derive(Debug, Default, Clone)]
pub struct Live {
    /// The instance syncing it now.
    pub syncing_on: Option<String>,
    /// When its running sync started.
    pub since_micros: Option<i64>,
    /// Its running sync's progress per table.
    pub tables: Vec<hubsync_api::TableProgress>,
    /// Changes its running sync has written so far.
    pub changes_done: Option<u64>,
    /// What waited when its running sync started.
    pub changes_total: Option<u64>,
    /// When its next sync is due, µs since the Unix epoch.
    pub due_micros: Option<i64>,
}

/// The state of `group`'s `members` (in their configured order): each
/// table's latest sync from `rows`, its open quarantine from `held`, and
/// what `live` says of the member.
pub fn group_state(
    group: &str,
    members: &[&str],
    rows: &[TableStatus],
    held: &[QuarantineEntry],
    live: impl Fn(&str) -> Live,
) -> GroupState {
    let members = members
        .iter()
        .map(|&m| {
            let Live { syncing_on, since_micros, tables: progress_tables, changes_done, changes_total, due_micros } =
                live(m);
            let tables = rows
                .iter()
                .filter(|s| s.scope.group == group && s.scope.member == m)
                .map(|s| TableState {
                    table: s.scope.table.clone(),
                    last_started_micros: s.last.started_micros,
                    level: Level::of(s.last.ok, s.last.warnings),
                    rows_down: s.last.rows_down,
                    rows_up: s.last.rows_up,
                    conflicts: s.last.conflicts,
                    warnings: s.last.warnings,
                    quarantined: held.iter().filter(|q| q.scope == s.scope).count() as i64,
                    duration_ms: s.last.duration_ms,
                    message: s.last.message.clone(),
                    last_success_micros: s.last_success_micros,
                })
                .collect();
            MemberState {
                member: m.to_owned(),
                syncing_on,
                syncing_since_micros: since_micros,
                changes_done,
                changes_total,
                progress_tables,
                due_micros,
                tables,
            }
        })
        .collect();
    GroupState { group: group.to_owned(), members }
}
