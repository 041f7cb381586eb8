//! SQLite: following changes by polling. Writers are serialized and a
//! tracking entry takes the next number of its table when written, so an
//! entry numbered above what the last poll saw is new; one query per poll
//! reads each table's newest number and whether an entry after the last
//! one seen was written by someone else than the asking group.

use std::time::Duration;

use hubsync_core::{ChangeWatch, ConnectorError};
use sqlx::sqlite::SqlitePool;
use sqlx::{AssertSqlSafe, Row};

use super::db;
use crate::watch::{Poll, Polling, foreign};

/// Where a poll stands in each tracking table.
struct TrackPoll {
    pool: SqlitePool,
    /// The quoted tracking tables.
    tracks: Vec<String>,
    /// The asking group's origin prefix (`g/`).
    own: String,
    /// The newest entry number seen per table.
    marks: Vec<i64>,
}

/// Open a watch on the tracking tables `tracks` for entries not written by `own`.
pub(super) async fn open(
    pool: SqlitePool,
    tracks: Vec<String>,
    own: &str,
    every: Duration,
) -> Result<Box<dyn ChangeWatch>, ConnectorError> {
    let marks = vec![i64::MAX; tracks.len()];
    let poll = TrackPoll { pool, tracks, own: own.to_owned(), marks };
    Ok(Box::new(Polling::open(poll, every).await?))
}

impl TrackPoll {
    /// One statement: per table its position, newest number and whether a
    /// foreign entry follows the last number seen. Numbers are parsed
    /// integers, so spelled inline.
    fn question(&self) -> String {
        self.tracks
            .iter()
            .zip(&self.marks)
            .enumerate()
            .map(|(i, (t, mark))| {
                format!(
                    "SELECT {i}, (SELECT COALESCE(MAX(hubsync_seq), 0) FROM {t}), \
                     EXISTS (SELECT 1 FROM {t} WHERE hubsync_seq > {mark} AND {})",
                    foreign("hubsync_origin", "?1")
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    }
}

#[async_trait::async_trait]
impl Poll for TrackPoll {
    async fn changed(&mut self) -> Result<bool, ConnectorError> {
        let rows = sqlx::query(AssertSqlSafe(self.question()))
            .bind(&self.own)
            .fetch_all(&self.pool)
            .await
            .map_err(db("asking whether the tracked tables changed"))?;
        let mut changed = false;
        for r in rows {
            let (i, newest, foreign): (i64, i64, bool) = (r.get(0), r.get(1), r.get(2));
            let Some(mark) = self.marks.get_mut(i as usize) else { continue };
            // Fewer numbers than before: the table was emptied and
            // provisioned again; what is there now may be new.
            changed |= foreign || (newest < *mark && *mark != i64::MAX);
            *mark = newest;
        }
        Ok(changed)
    }
}
