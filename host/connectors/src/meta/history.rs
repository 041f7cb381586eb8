//! What happened: one record per table sync (the history behind `status`
//! and `/history`, filtered and paged), and the settled conflicts with both
//! row images.

use hubsync_core::ConnectorError;
use sqlx::Row;

use super::{MetaStore, Scope};

/// One settled conflict, as the history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictRecord {
    /// When it was settled, µs since the Unix epoch.
    pub at_micros: i64,
    /// The key, as a JSON object.
    pub key: String,
    /// The hub's row image as a JSON object, `None` for a delete.
    pub hub_row: Option<String>,
    /// The member's row image as a JSON object, `None` for a delete.
    pub member_row: Option<String>,
    /// `take-hub`, `take-member`, `merged` or `skip`.
    pub decision: String,
    /// The merged row (JSON) or the plugin's reason for skipping.
    pub reason: Option<String>,
    /// The plugin's name and version.
    pub plugin: String,
    /// SHA-256 of the plugin component.
    pub plugin_sha256: String,
    /// When the hub's change was made, µs since the Unix epoch (absent in
    /// conflicts recorded before hubsync kept it).
    pub hub_changed_micros: Option<i64>,
    /// When the member's change was made.
    pub member_changed_micros: Option<i64>,
}

/// One table's sync of one member, as the history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// Whose sync it was.
    pub scope: Scope,
    /// When it started, µs since the Unix epoch.
    pub started_micros: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// Whether it completed.
    pub ok: bool,
    /// Rows written to the member.
    pub rows_down: i64,
    /// Rows written to the hub.
    pub rows_up: i64,
    /// Conflicts settled.
    pub conflicts: i64,
    /// The error, if it failed; a note (e.g. changes held back) if it did not.
    pub message: Option<String>,
    /// Changes quarantined by this sync (it succeeded with warnings if any).
    pub warnings: i64,
    /// The `hubsync serve` instance that ran it (absent for the file CLI).
    pub holder: Option<String>,
}

/// The latest state of one table of one member.
#[derive(Debug, Clone, PartialEq)]
pub struct TableStatus {
    /// Whose status it is.
    pub scope: Scope,
    /// The latest session.
    pub last: SessionRecord,
    /// When a session last completed, µs since the Unix epoch.
    pub last_success_micros: Option<i64>,
}

/// Which history entries to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryFilter {
    /// Only this group.
    pub group: Option<String>,
    /// Only this member.
    pub member: Option<String>,
    /// Only `success`, `warning` or `error` entries.
    pub level: Option<String>,
    /// Only entries started at or after this, µs since the Unix epoch.
    pub since_micros: Option<i64>,
    /// Only entries started before this.
    pub until_micros: Option<i64>,
    /// Only entries older than this entry id (the previous page's cursor).
    pub before_id: Option<i64>,
    /// Only entries newer than this entry id (what a watcher has not seen).
    pub after_id: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// A page of history, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    /// The entries with their ids.
    pub entries: Vec<(i64, SessionRecord)>,
    /// The cursor of the next (older) page, if there may be one.
    pub next: Option<i64>,
}

impl MetaStore {
    /// Add one table sync to the history; a completed one also marks the
    /// member as synced at `started_micros`.
    pub async fn record_session(&self, r: &SessionRecord) -> Result<(), ConnectorError> {
        self.record_sessions(std::slice::from_ref(r)).await
    }

    /// [`MetaStore::record_session`] for several tables in one transaction:
    /// a member's sync writes its history once, not once per table.
    pub async fn record_sessions(&self, records: &[SessionRecord]) -> Result<(), ConnectorError> {
        let what = "recording sync history";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        for r in records {
            self.record_in(&mut tx, r).await?;
        }
        tx.commit().await.map_err(self.db(what))
    }

    async fn record_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        r: &SessionRecord,
    ) -> Result<(), ConnectorError> {
        let what = "recording sync history";
        self.statement(
            what,
            "INSERT INTO sessions (group_name, member, table_name, started_micros, duration_ms, ok, rows_down, \
             rows_up, conflicts, message, warnings, holder) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&r.scope.group)
        .bind(&r.scope.member)
        .bind(&r.scope.table)
        .bind(r.started_micros)
        .bind(r.duration_ms)
        .bind(i64::from(r.ok))
        .bind(r.rows_down)
        .bind(r.rows_up)
        .bind(r.conflicts)
        .bind(&r.message)
        .bind(r.warnings)
        .bind(&r.holder)
        .execute(&mut **tx)
        .await?;
        self.statement(
            what,
            "INSERT INTO latest (group_name, member, table_name, session_id, last_success_micros) \
             SELECT group_name, member, table_name, id, CASE WHEN ok = 1 THEN started_micros END FROM sessions \
             WHERE id = (SELECT MAX(id) FROM sessions WHERE group_name = ? AND member = ? AND table_name = ?) \
             ON CONFLICT (group_name, member, table_name) DO UPDATE SET session_id = excluded.session_id, \
             last_success_micros = COALESCE(excluded.last_success_micros, latest.last_success_micros)",
        )
        .bind(&r.scope.group)
        .bind(&r.scope.member)
        .bind(&r.scope.table)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The latest session of every table of every member of `group` (all
    /// groups when `None`), with its last success.
    pub async fn status(&self, group: Option<&str>) -> Result<Vec<TableStatus>, ConnectorError> {
        let rows = self
            .statement(
                "reading sync status",
                "SELECT s.group_name, s.member, s.table_name, s.started_micros, s.duration_ms, s.ok, s.rows_down, \
             s.rows_up, s.conflicts, s.message, s.warnings, s.holder, l.last_success_micros \
             FROM latest l JOIN sessions s ON s.id = l.session_id \
             WHERE CAST(? AS TEXT) IS NULL OR l.group_name = ? ORDER BY s.group_name, s.member, s.table_name",
            )
            .bind(group)
            .bind(group)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let scope = Scope { group: r.get(0), member: r.get(1), table: r.get(2) };
                TableStatus {
                    last: SessionRecord {
                        scope: scope.clone(),
                        started_micros: r.get(3),
                        duration_ms: r.get(4),
                        ok: r.get::<i64, _>(5) != 0,
                        rows_down: r.get(6),
                        rows_up: r.get(7),
                        conflicts: r.get(8),
                        message: r.get(9),
                        warnings: r.get(10),
                        holder: r.get(11),
                    },
                    scope,
                    last_success_micros: r.get(12),
                }
            })
            .collect())
    }

    /// The latest `limit` settled conflicts of `group`, newest first, with their scope.
    pub async fn conflicts(&self, group: &str, limit: i64) -> Result<Vec<(Scope, ConflictRecord)>, ConnectorError> {
        let rows = self.statement("reading conflict history", "SELECT member, table_name, at_micros, key, hub_row, member_row, decision, reason, plugin, plugin_sha256, \
             hub_changed_micros, member_changed_micros \
             FROM conflicts WHERE group_name = ? ORDER BY id DESC LIMIT ?").bind(group).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    Scope { group: group.to_owned(), member: r.get(0), table: r.get(1) },
                    ConflictRecord {
                        at_micros: r.get(2),
                        key: r.get(3),
                        hub_row: r.get(4),
                        member_row: r.get(5),
                        decision: r.get(6),
                        reason: r.get(7),
                        plugin: r.get(8),
                        plugin_sha256: r.get(9),
                        hub_changed_micros: r.get(10),
                        member_changed_micros: r.get(11),
                    },
                )
            })
            .collect())
    }

    /// Sync history, newest first, filtered and paged by entry id.
    pub async fn history(&self, f: &HistoryFilter) -> Result<HistoryPage, ConnectorError> {
        let level = match f.level.as_deref() {
            None => 0,
            Some("success") => 1,
            Some("warning") => 2,
            Some("error") => 3,
            Some(other) => {
                return Err(ConnectorError::BadUrl(format!("level {other:?} is not one of success, warning, error")));
            }
        };
        let rows = self
            .statement(
                "reading sync history",
                "SELECT id, group_name, member, table_name, started_micros, duration_ms, ok, rows_down, rows_up, \
             conflicts, message, warnings, holder FROM sessions \
             WHERE (CAST(? AS TEXT) IS NULL OR group_name = ?) AND (CAST(? AS TEXT) IS NULL OR member = ?) \
             AND (? = 0 OR (? = 1 AND ok = 1 AND warnings = 0) OR (? = 2 AND ok = 1 AND warnings > 0) \
                  OR (? = 3 AND ok = 0)) \
             AND started_micros >= ? AND started_micros < ? AND id < ? AND id > ? ORDER BY id DESC LIMIT ?",
            )
            .bind(&f.group)
            .bind(&f.group)
            .bind(&f.member)
            .bind(&f.member)
            .bind(level)
            .bind(level)
            .bind(level)
            .bind(level)
            .bind(f.since_micros.unwrap_or(i64::MIN))
            .bind(f.until_micros.unwrap_or(i64::MAX))
            .bind(f.before_id.unwrap_or(i64::MAX))
            .bind(f.after_id.unwrap_or(i64::MIN))
            .bind(f.limit)
            .fetch_all(&self.pool)
            .await?;
        let entries: Vec<(i64, SessionRecord)> = rows
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    SessionRecord {
                        scope: Scope { group: r.get(1), member: r.get(2), table: r.get(3) },
                        started_micros: r.get(4),
                        duration_ms: r.get(5),
                        ok: r.get::<i64, _>(6) != 0,
                        rows_down: r.get(7),
                        rows_up: r.get(8),
                        conflicts: r.get(9),
                        message: r.get(10),
                        warnings: r.get(11),
                        holder: r.get(12),
                    },
                )
            })
            .collect();
        let next = (entries.len() as i64 == f.limit).then(|| entries.last().map(|e| e.0)).flatten();
        Ok(HistoryPage { entries, next })
    }
}

/// One member's syncs in one interval of time, summed.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityBucket {
    /// The member.
    pub member: String,
    /// Where the interval starts, µs since the Unix epoch.
    pub start_micros: i64,
    /// Table syncs in it.
    pub syncs: i64,
    /// Rows written to the member.
    pub rows_down: i64,
    /// Rows written to the hub.
    pub rows_up: i64,
    /// Conflicts settled.
    pub conflicts: i64,
    /// Table syncs that failed.
    pub errors: i64,
    /// Time spent syncing (the table syncs' durations summed), ms.
    pub duration_ms: i64,
}

impl MetaStore {
    /// A group's syncs since `since_micros`, summed per member and interval
    /// of `bucket_micros` (intervals aligned to the Unix epoch).
    pub async fn activity(
        &self,
        group: &str,
        since_micros: i64,
        bucket_micros: i64,
    ) -> Result<Vec<ActivityBucket>, ConnectorError> {
        let rows = self
            .statement(
                "reading sync activity",
                // Sums cast back to BIGINT: PostgreSQL widens a BIGINT sum to NUMERIC.
                "SELECT member, (started_micros / ?) * ? AS bucket, COUNT(*), CAST(SUM(rows_down) AS BIGINT), \
                 CAST(SUM(rows_up) AS BIGINT), CAST(SUM(conflicts) AS BIGINT), \
                 CAST(SUM(CASE WHEN ok = 0 THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(duration_ms) AS BIGINT) \
                 FROM sessions WHERE group_name = ? AND started_micros >= ? GROUP BY member, bucket \
                 ORDER BY bucket, member",
            )
            .bind(bucket_micros)
            .bind(bucket_micros)
            .bind(group)
            .bind(since_micros)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| ActivityBucket {
                member: r.get(0),
                start_micros: r.get(1),
                syncs: r.get(2),
                rows_down: r.get(3),
                rows_up: r.get(4),
                conflicts: r.get(5),
                errors: r.get(6),
                duration_ms: r.get(7),
            })
            .collect())
    }
}
