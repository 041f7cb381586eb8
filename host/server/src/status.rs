//! A group's state as the API answers it (`GET /groups/{group}/status`),
//! made from what the metadata database holds. The service and the CLI
//! reading a group file both build it here, so `hubsync status --json`
//! prints one shape whichever way it runs.

use hubsync_api::{GroupState, Level, MemberState, TableState};
use hubsync_connectors::meta::{QuarantineEntry, TableStatus};

/// What only a running service knows about a member (all `None` for a
/// group file read by the CLI).
#[derive(Debug, Default, Clone)]
pub struct Live {
    /// The instance syncing it now.
    pub syncing_on: Option<String>,
    /// Changes its running sync has written so far.
    pub changes_done: Option<u64>,
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
            let Live { syncing_on, changes_done, due_micros } = live(m);
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
            MemberState { member: m.to_owned(), syncing_on, changes_done, due_micros, tables }
        })
        .collect();
    GroupState { group: group.to_owned(), members }
}
