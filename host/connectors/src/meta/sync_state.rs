//! A member's sync state: per table and side the anchor (how far changes
//! were read), the decision journal of a batch in flight, the conflicts
//! parked by a `skip`; committed atomically per batch, forgotten on reinit.

use std::collections::{HashMap, HashSet};

use hubsync_core::{Anchor, ConnectorError};
use sqlx::Row;

use super::{ConflictRecord, MetaStore, QuarantineRecord, Scope, Side};

/// A conflict left unsettled by a `skip`: while the parked side still
/// holds `image` at `key_id`, that change is not propagated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    /// Whose change is held back.
    pub side: Side,
    /// The key ([`hubsync_core::key_id`]).
    pub key_id: String,
    /// The row image held back (JSON), `null` for a delete.
    pub image: String,
}

/// Everything one committed batch changes in the metadata, atomically.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchCommit {
    /// The new anchor of the side the batch read, if it read one.
    pub anchor: Option<(Side, Anchor)>,
    /// Conflicts settled by the batch.
    pub conflicts: Vec<ConflictRecord>,
    /// Conflicts skipped by the batch.
    pub park: Vec<Parked>,
    /// Parked conflicts that are over.
    pub unpark: Vec<(Side, String)>,
    /// Whether the batch's journal entry is done with.
    pub clear_journal: bool,
    /// Changes of the batch set aside.
    pub quarantine: Vec<QuarantineRecord>,
    /// Quarantined changes that synced this time: (side, key id).
    pub release: Vec<(Side, String)>,
}

/// A member's stored sync state, read in one statement before its sync
/// starts: what the sync needs to decide which tables have work.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberState {
    /// Stored anchors by (table, side); a missing one is the start.
    pub anchors: HashMap<(String, Side), Anchor>,
    /// Tables with a decision journal to finish or quarantined changes a
    /// retry was asked for: their sessions run whatever the databases hold.
    pub unfinished: HashSet<String>,
}

impl MemberState {
    /// The anchor of `side` of `table` (the start when none is stored).
    pub fn anchor(&self, table: &str, side: Side) -> Anchor {
        self.anchors.get(&(table.to_owned(), side)).cloned().unwrap_or_default()
    }
}

impl MetaStore {
    /// Every table's anchors, journals and retries of `member` of `group`,
    /// in one statement.
    pub async fn member_state(&self, group: &str, member: &str) -> Result<MemberState, ConnectorError> {
        let rows = self
            .statement(
                "reading a member's sync state",
                "SELECT 'a', table_name, side, anchor FROM anchors WHERE group_name = ? AND member = ? \
                 UNION ALL SELECT 'j', table_name, '', '' FROM journal WHERE group_name = ? AND member = ? \
                 UNION ALL SELECT 'r', table_name, side, '' FROM quarantine \
                 WHERE group_name = ? AND member = ? AND retry <> 0",
            )
            .bind(group)
            .bind(member)
            .bind(group)
            .bind(member)
            .bind(group)
            .bind(member)
            .fetch_all(&self.pool)
            .await?;
        let mut state = MemberState::default();
        for r in &rows {
            let (kind, table): (String, String) = (r.get(0), r.get(1));
            if kind == "a" {
                let side: String = r.get(2);
                state.anchors.insert((table, Side::parse(&side)), Anchor(r.get(3)));
            } else {
                state.unfinished.insert(table);
            }
        }
        Ok(state)
    }

    /// The anchor of `side` for `scope` (the start when none is stored).
    pub async fn anchor(&self, scope: &Scope, side: Side) -> Result<Anchor, ConnectorError> {
        let a: Option<String> = self
            .statement(
                "reading an anchor",
                "SELECT anchor FROM anchors WHERE group_name = ? AND member = ? AND table_name = ? AND side = ?",
            )
            .bind(&scope.group)
            .bind(&scope.member)
            .bind(&scope.table)
            .bind(side.as_str())
            .fetch_scalar(&self.pool)
            .await?;
        Ok(Anchor(a.unwrap_or_default()))
    }

    /// The journal entry of `scope`, if a batch was interrupted after writing it.
    pub async fn journal(&self, scope: &Scope) -> Result<Option<String>, ConnectorError> {
        self.statement(
            "reading the decision journal",
            "SELECT entries FROM journal WHERE group_name = ? AND member = ? AND table_name = ?",
        )
        .bind(&scope.group)
        .bind(&scope.member)
        .bind(&scope.table)
        .fetch_scalar(&self.pool)
        .await
    }

    /// Record the decisions a batch is about to write on both sides.
    pub async fn put_journal(&self, scope: &Scope, entries: &str) -> Result<(), ConnectorError> {
        self.statement(
            "writing the decision journal",
            "INSERT INTO journal (group_name, member, table_name, entries) VALUES (?, ?, ?, ?) \
             ON CONFLICT (group_name, member, table_name) DO UPDATE SET entries = excluded.entries",
        )
        .bind(&scope.group)
        .bind(&scope.member)
        .bind(&scope.table)
        .bind(entries)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The conflicts parked on `side` for `scope`.
    pub async fn parked(&self, scope: &Scope, side: Side) -> Result<Vec<Parked>, ConnectorError> {
        let rows = self
            .statement(
                "reading parked conflicts",
                "SELECT key_id, image FROM parked WHERE group_name = ? AND member = ? AND table_name = ? AND side = ?",
            )
            .bind(&scope.group)
            .bind(&scope.member)
            .bind(&scope.table)
            .bind(side.as_str())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| Parked { side, key_id: r.get(0), image: r.get(1) }).collect())
    }

    /// Commit a batch's metadata in one transaction.
    pub async fn commit(&self, scope: &Scope, c: &BatchCommit) -> Result<(), ConnectorError> {
        let what = "recording a synced batch";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        if let Some((side, anchor)) = &c.anchor {
            self.statement(
                what,
                "INSERT INTO anchors (group_name, member, table_name, side, anchor) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (group_name, member, table_name, side) DO UPDATE SET anchor = excluded.anchor",
            )
            .bind(&scope.group)
            .bind(&scope.member)
            .bind(&scope.table)
            .bind(side.as_str())
            .bind(&anchor.0)
            .execute(&mut *tx)
            .await?;
        }
        for r in &c.conflicts {
            self.statement(
                what,
                "INSERT INTO conflicts (group_name, member, table_name, at_micros, key, hub_row, member_row, decision, \
                 reason, plugin, plugin_sha256, hub_changed_micros, member_changed_micros) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&scope.group)
            .bind(&scope.member)
            .bind(&scope.table)
            .bind(r.at_micros)
            .bind(&r.key)
            .bind(&r.hub_row)
            .bind(&r.member_row)
            .bind(&r.decision)
            .bind(&r.reason)
            .bind(&r.plugin)
            .bind(&r.plugin_sha256)
            .bind(r.hub_changed_micros)
            .bind(r.member_changed_micros)
            .execute(&mut *tx)
            .await?;
        }
        for (side, key_id) in &c.unpark {
            self.statement(
                what,
                "DELETE FROM parked WHERE group_name = ? AND member = ? AND table_name = ? AND side = ? AND key_id = ?",
            )
            .bind(&scope.group)
            .bind(&scope.member)
            .bind(&scope.table)
            .bind(side.as_str())
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
        }
        for p in &c.park {
            self.statement(
                what,
                "INSERT INTO parked (group_name, member, table_name, side, key_id, image) \
                 VALUES (?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (group_name, member, table_name, side, key_id) DO UPDATE SET image = excluded.image",
            )
            .bind(&scope.group)
            .bind(&scope.member)
            .bind(&scope.table)
            .bind(p.side.as_str())
            .bind(&p.key_id)
            .bind(&p.image)
            .execute(&mut *tx)
            .await?;
        }
        for (side, key_id) in &c.release {
            self.statement(what, "DELETE FROM quarantine WHERE group_name = ? AND member = ? AND table_name = ? AND side = ? AND key_id = ?").bind(&scope.group).bind(&scope.member).bind(&scope.table).bind(side.as_str()).bind(key_id).execute(&mut *tx).await?;
        }
        for q in &c.quarantine {
            self.statement(
                what,
                "INSERT INTO quarantine (group_name, member, table_name, side, key_id, key, stage, column_name, value, \
                 error, first_micros, last_micros, attempts, retry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0) \
                 ON CONFLICT (group_name, member, table_name, side, key_id) DO UPDATE SET key = excluded.key, \
                 stage = excluded.stage, column_name = excluded.column_name, value = excluded.value, \
                 error = excluded.error, last_micros = excluded.last_micros, attempts = quarantine.attempts + 1, \
                 retry = 0",
            )
            .bind(&scope.group)
            .bind(&scope.member)
            .bind(&scope.table)
            .bind(q.side.as_str())
            .bind(&q.key_id)
            .bind(&q.key)
            .bind(&q.stage)
            .bind(&q.column)
            .bind(&q.value)
            .bind(&q.error)
            .bind(q.at_micros)
            .bind(q.at_micros)
            .execute(&mut *tx)
            .await?;
        }
        if c.clear_journal {
            self.statement(what, "DELETE FROM journal WHERE group_name = ? AND member = ? AND table_name = ?")
                .bind(&scope.group)
                .bind(&scope.member)
                .bind(&scope.table)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await.map_err(self.db(what))
    }

    /// Forget the sync state (anchors, journal, parked and quarantined changes) of a
    /// table for every member, or of every table of a member when `table`
    /// is `None`. History stays.
    pub async fn forget(&self, group: &str, member: Option<&str>, table: Option<&str>) -> Result<(), ConnectorError> {
        let what = "forgetting sync state";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        for t in ["anchors", "journal", "parked", "quarantine"] {
            let sql = format!(
                "DELETE FROM {t} WHERE group_name = ? AND (CAST(? AS TEXT) IS NULL OR member = ?) \
                 AND (CAST(? AS TEXT) IS NULL OR table_name = ?)"
            );
            self.statement(what, &sql)
                .bind(group)
                .bind(member)
                .bind(member)
                .bind(table)
                .bind(table)
                .execute(&mut *tx)
                .await?;
        }
        if table.is_none() {
            // Starting from scratch also starts a new incarnation (a new
            // mark): what the old one uploaded is no echo of what comes next.
            for sql in [
                "DELETE FROM members WHERE group_name = ? AND (CAST(? AS TEXT) IS NULL OR member = ?)",
                "UPDATE databases SET fresh = 1 WHERE group_name = ? AND (CAST(? AS TEXT) IS NULL OR member = ?)",
            ] {
                self.statement(what, sql).bind(group).bind(member).bind(member).execute(&mut *tx).await?;
            }
        }
        tx.commit().await.map_err(self.db(what))
    }

    /// Record that every table of `member` synced, as of `at_micros`.
    pub async fn member_synced(&self, group: &str, member: &str, at_micros: i64) -> Result<(), ConnectorError> {
        self.statement(
            "recording a member's sync",
            "INSERT INTO members (group_name, member, last_success_micros) VALUES (?, ?, ?) \
             ON CONFLICT (group_name, member) DO UPDATE SET last_success_micros = excluded.last_success_micros",
        )
        .bind(group)
        .bind(member)
        .bind(at_micros)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When every table of `member` last synced, µs since the Unix epoch.
    pub async fn member_last_success(&self, group: &str, member: &str) -> Result<Option<i64>, ConnectorError> {
        let v: Option<Option<i64>> = self
            .statement(
                "reading a member's status",
                "SELECT last_success_micros FROM members WHERE group_name = ? AND member = ?",
            )
            .bind(group)
            .bind(member)
            .fetch_scalar(&self.pool)
            .await?;
        Ok(v.flatten())
    }
}
