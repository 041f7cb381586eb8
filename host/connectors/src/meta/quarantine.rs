//! Changes that could not be read, converted or written: set aside with
//! why, listed, retried or discarded.

use hubsync_core::ConnectorError;
use sqlx::Row;

use super::{MetaStore, Scope, Side};

/// A change hubsync could not read, convert or write: it is set aside
/// (the anchor moves past it), reported, and synced again when its row
/// changes or when asked to (`retry`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineRecord {
    /// Whose change it is (the side it was read from).
    pub side: Side,
    /// The key ([`hubsync_core::key_id`]).
    pub key_id: String,
    /// The key as a JSON object, when it could be read.
    pub key: Option<String>,
    /// Where it failed, e.g. `reading it on the member`, `writing it to the hub`.
    pub stage: String,
    /// The column at fault, if known.
    pub column: Option<String>,
    /// The offending value, if known.
    pub value: Option<String>,
    /// The database's (or hubsync's) message.
    pub error: String,
    /// When, µs since the Unix epoch.
    pub at_micros: i64,
}

/// A quarantined change as `hubsync quarantine` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineEntry {
    /// Its number, for `--retry` and `--discard`.
    pub id: i64,
    /// Group, member and table.
    pub scope: Scope,
    /// What failed, last time.
    pub record: QuarantineRecord,
    /// When it was first quarantined, µs since the Unix epoch.
    pub first_micros: i64,
    /// How many syncs failed on it.
    pub attempts: i64,
    /// Whether a retry was asked for and not yet made.
    pub retry: bool,
}

impl MetaStore {
    /// The quarantined changes of `scope` read from `side`: (key id, key
    /// JSON, whether a retry was asked for).
    pub async fn quarantined(
        &self,
        scope: &Scope,
        side: Side,
    ) -> Result<Vec<(String, Option<String>, bool)>, ConnectorError> {
        let rows = self.statement("reading quarantined changes", "SELECT key_id, key, retry FROM quarantine WHERE group_name = ? AND member = ? AND table_name = ? AND side = ?").bind(&scope.group).bind(&scope.member).bind(&scope.table).bind(side.as_str()).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get::<i64, _>(2) != 0)).collect())
    }

    /// The retries asked for on `scope` and `side` were made.
    pub async fn retried(&self, scope: &Scope, side: Side) -> Result<(), ConnectorError> {
        self.statement(
            "recording retries",
            "UPDATE quarantine SET retry = 0 WHERE group_name = ? AND member = ? AND table_name = ? AND side = ?",
        )
        .bind(&scope.group)
        .bind(&scope.member)
        .bind(&scope.table)
        .bind(side.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every quarantined change of `group` (all groups when `None`), oldest first.
    pub async fn quarantine(&self, group: Option<&str>) -> Result<Vec<QuarantineEntry>, ConnectorError> {
        let rows = self
            .statement(
                "reading quarantined changes",
                "SELECT id, group_name, member, table_name, side, key_id, key, stage, column_name, value, error, \
             first_micros, last_micros, attempts, retry FROM quarantine \
             WHERE CAST(? AS TEXT) IS NULL OR group_name = ? ORDER BY id",
            )
            .bind(group)
            .bind(group)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| QuarantineEntry {
                id: r.get(0),
                scope: Scope { group: r.get(1), member: r.get(2), table: r.get(3) },
                record: QuarantineRecord {
                    side: Side::parse(&r.get::<String, _>(4)),
                    key_id: r.get(5),
                    key: r.get(6),
                    stage: r.get(7),
                    column: r.get(8),
                    value: r.get(9),
                    error: r.get(10),
                    at_micros: r.get(12),
                },
                first_micros: r.get(11),
                attempts: r.get(13),
                retry: r.get::<i64, _>(14) != 0,
            })
            .collect())
    }

    /// Ask for quarantined changes of `group` to be synced again at its next
    /// sync: those numbered `ids`, or all when `ids` is `None`. Returns how many.
    pub async fn retry_quarantined(&self, group: &str, ids: Option<&[i64]>) -> Result<u64, ConnectorError> {
        self.quarantine_change(group, ids, "UPDATE quarantine SET retry = 1").await
    }

    /// Forget quarantined changes of `group` (they sync again only when
    /// their row changes): those numbered `ids`, or all. Returns how many.
    pub async fn discard_quarantined(&self, group: &str, ids: Option<&[i64]>) -> Result<u64, ConnectorError> {
        self.quarantine_change(group, ids, "DELETE FROM quarantine").await
    }

    async fn quarantine_change(&self, group: &str, ids: Option<&[i64]>, action: &str) -> Result<u64, ConnectorError> {
        let what = "changing quarantined changes";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        let mut n = 0;
        match ids {
            None => {
                let sql = format!("{action} WHERE group_name = ?");
                n += self.statement(what, &sql).bind(group).execute(&mut *tx).await?;
            }
            Some(ids) => {
                let sql = format!("{action} WHERE group_name = ? AND id = ?");
                for id in ids {
                    n += self.statement(what, &sql).bind(group).bind(id).execute(&mut *tx).await?;
                }
            }
        }
        tx.commit().await.map_err(self.db(what))?;
        Ok(n)
    }
}
