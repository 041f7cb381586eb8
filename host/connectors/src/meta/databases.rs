//! Which database each hub and member of a group is: the identity hubsync
//! keeps inside the database (`Connector::identity`) as last seen, and the
//! origin mark hubsync writes there for the current *incarnation*.
//!
//! An incarnation is the span between two starts from scratch. A member
//! whose anchors are forgotten (reinit, a new URL, it left and came back)
//! or whose database was replaced starts a new one with a new mark, so the
//! rows the old incarnation uploaded are never taken for echoes of the new
//! database. A hub's first incarnation keeps the plain mark `g/hub`, as do
//! members of stores from before identities were kept (`g/m`).

use hubsync_core::ConnectorError;
use sqlx::Row;

use super::MetaStore;

/// The `member` value of a group's hub in `databases`.
pub const HUB: &str = "";

/// A hub's or member's database as the store last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseRecord {
    /// The database's identity, when it could tell one.
    pub database_id: Option<String>,
    /// The origin mark of the current incarnation.
    pub mark: String,
    /// Its sync state was forgotten since: the next preparation starts a new incarnation.
    pub fresh: bool,
}

impl MetaStore {
    /// The record of `member` of `group` ([`HUB`] for the hub), if any.
    pub async fn database(&self, group: &str, member: &str) -> Result<Option<DatabaseRecord>, ConnectorError> {
        let row = self
            .statement(
                "reading which database a member is",
                "SELECT database_id, mark, fresh FROM databases WHERE group_name = ? AND member = ?",
            )
            .bind(group)
            .bind(member)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| DatabaseRecord { database_id: r.get(0), mark: r.get(1), fresh: r.get::<i64, _>(2) != 0 }))
    }

    /// Record `member`'s database and the mark of its current incarnation.
    pub async fn set_database(
        &self,
        group: &str,
        member: &str,
        database_id: Option<&str>,
        mark: &str,
        at_micros: i64,
    ) -> Result<(), ConnectorError> {
        self.statement(
            "recording which database a member is",
            "INSERT INTO databases (group_name, member, database_id, mark, fresh, since_micros) \
             VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (group_name, member) DO UPDATE SET \
             database_id = excluded.database_id, mark = excluded.mark, fresh = 0, \
             since_micros = excluded.since_micros",
        )
        .bind(group)
        .bind(member)
        .bind(database_id)
        .bind(mark)
        .bind(at_micros)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether any anchor of `group` (of `member` only, if given) is stored:
    /// whether the group has synced anything that refers to its databases.
    pub async fn has_anchors(&self, group: &str, member: Option<&str>) -> Result<bool, ConnectorError> {
        let n: Option<i64> = self
            .statement(
                "reading anchors",
                "SELECT COUNT(*) FROM anchors WHERE group_name = ? AND (CAST(? AS TEXT) IS NULL OR member = ?)",
            )
            .bind(group)
            .bind(member)
            .bind(member)
            .fetch_scalar(&self.pool)
            .await?;
        Ok(n.unwrap_or(0) > 0)
    }
}
