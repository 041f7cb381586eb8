//! MySQL/MariaDB: following changes by polling. Triggers record a change
//! unnumbered and readers number it (see the module doc of `mysql`), so
//! a committed change no sync has read yet is an unnumbered entry. One
//! query per poll counts each table's unnumbered entries from others than
//! the asking group with a fingerprint of their times; a fingerprint not
//! seen before means a change arrived since the last poll.

use std::time::Duration;

use hubsync_core::{ChangeWatch, ConnectorError};
use sqlx::mysql::MySqlPool;
use sqlx::{AssertSqlSafe, Row};

use super::db;
use crate::watch::{Poll, Polling, foreign};

/// What the last poll saw per tracking table.
struct UnnumberedPoll {
    pool: MySqlPool,
    /// The question, asked as is every time.
    sql: String,
    /// Placeholders in `sql` (each binds the asking group's prefix).
    params: usize,
    /// The asking group's origin prefix (`g/`).
    own: String,
    /// Per table: unnumbered foreign entries and the XOR of their times.
    seen: Vec<(i64, i64)>,
}

/// Open a watch on the tracking tables `tracks` (quoted) for entries not written by `own`.
pub(crate) async fn open(
    pool: MySqlPool,
    tracks: Vec<String>,
    own: &str,
    every: Duration,
) -> Result<Box<dyn ChangeWatch>, ConnectorError> {
    let sql = tracks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "SELECT {i}, COUNT(*), CAST(COALESCE(BIT_XOR(hubsync_changed_at), 0) AS SIGNED) FROM {t} \
                 WHERE hubsync_seq IS NULL AND {}",
                foreign("hubsync_origin", "?")
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let poll =
        UnnumberedPoll { pool, sql, params: tracks.len() * 2, own: own.to_owned(), seen: vec![(0, 0); tracks.len()] };
    Ok(Box::new(Polling::open(poll, every).await?))
}

#[async_trait::async_trait]
impl Poll for UnnumberedPoll {
    async fn changed(&mut self) -> Result<bool, ConnectorError> {
        let mut q = sqlx::query(AssertSqlSafe(self.sql.clone()));
        for _ in 0..self.params {
            q = q.bind(&self.own);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(db("asking whether the tracked tables changed"))?;
        let mut changed = false;
        for r in rows {
            let (i, count, times): (i64, i64, i64) = (r.get(0), r.get(1), r.get(2));
            let Some(seen) = self.seen.get_mut(i as usize) else { continue };
            // Entries numbered since leave the rest's fingerprint changed
            // too: an extra sync that finds little, never a missed change.
            changed |= count > 0 && (count, times) != *seen;
            *seen = (count, times);
        }
        Ok(changed)
    }
}
