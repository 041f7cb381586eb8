//! SQL Server and Babelfish: following changes by polling. Each tracking
//! entry carries the `ver` of its write (a `rowversion` on SQL Server, the
//! transaction id on Babelfish); one query per poll reads each table's
//! newest `ver` and whether an entry after the last one seen was written by
//! someone else than the asking group. A transaction that commits after a
//! later one was polled is not seen by the watch; its change syncs at the
//! interval (the watch only hastens syncs, anchors say what they read).

use std::time::Duration;

use hubsync_core::{ChangeWatch, ConnectorError};

use super::conn::Pool;
use super::tsql::{self, Flavor};
use super::{int, rows};
use crate::watch::{Poll, Polling};

/// Where a poll stands in each tracking table.
struct VerPoll {
    pool: Pool,
    flavor: Flavor,
    /// Per table: its registry id and the newest `ver` seen.
    marks: Vec<(i64, i64)>,
    /// The asking group's origin prefix (`g/`).
    own: String,
}

/// Open a watch on the tracking tables of registry `ids` for entries not written by `own`.
pub(super) async fn open(
    pool: Pool,
    flavor: Flavor,
    ids: Vec<i64>,
    own: &str,
    every: Duration,
) -> Result<Box<dyn ChangeWatch>, ConnectorError> {
    let marks = ids.into_iter().map(|id| (id, i64::MAX)).collect();
    let poll = VerPoll { pool, flavor, marks, own: own.to_owned() };
    Ok(Box::new(Polling::open(poll, every).await?))
}

#[async_trait::async_trait]
impl Poll for VerPoll {
    async fn changed(&mut self) -> Result<bool, ConnectorError> {
        let sql = tsql::watch_poll(self.flavor, &self.marks);
        let mut lease = self.pool.get().await?;
        let found =
            rows(lease.conn(), &sql, &[&self.own.as_str()], "asking whether the tracked tables changed").await?;
        let mut changed = false;
        for r in &found {
            let Some((_, mark)) = self.marks.get_mut(int(r, 0) as usize) else { continue };
            let newest = int(r, 1);
            changed |= int(r, 2) != 0 || (newest < *mark && *mark != i64::MAX);
            *mark = newest;
        }
        Ok(changed)
    }
}
