//! SQLite: following changes by polling. Writers are serialized and a
//! tracking entry takes the next number of its table when written, so an
//! entry numbered above what the last poll saw is new; one query reads
//! each table's newest number and whether an entry after the last one
//! seen was written by someone else than the asking group. Every commit
//! changes the database file or its write-ahead log, so a poll that finds
//! both as they were (size and modification time) asks nothing: a
//! thousand idle members cost a thousand `stat` calls per period, not a
//! thousand queries. The query still runs at least every
//! [`ASK_AT_LEAST_EVERY`], for file systems whose clocks are coarse.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use hubsync_core::{ChangeWatch, ConnectorError};
use sqlx::sqlite::SqlitePool;
use sqlx::{AssertSqlSafe, Row};

use super::db;
use crate::watch::{Poll, Polling, foreign};

/// The longest a poll trusts unchanged files without asking the database.
const ASK_AT_LEAST_EVERY: Duration = Duration::from_secs(5);

/// What the files of a database looked like: per file (the database, its
/// write-ahead log) its size and modification time, if it exists.
type Look = Vec<Option<(u64, SystemTime)>>;

/// Where a poll stands in each tracking table.
struct TrackPoll {
    pool: SqlitePool,
    /// The database file and its write-ahead log.
    files: Vec<PathBuf>,
    /// How they looked before the last query, and when that was.
    looked: Option<(Look, Instant)>,
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
    let file = pool.connect_options().get_filename().to_owned();
    let mut wal = file.clone().into_os_string();
    wal.push("-wal");
    let files = vec![file, PathBuf::from(wal)];
    let poll = TrackPoll { pool, files, looked: None, tracks, own: own.to_owned(), marks };
    Ok(Box::new(Polling::open(poll, every).await?))
}

impl TrackPoll {
    /// How the database's files look now.
    fn look(&self) -> Look {
        self.files
            .iter()
            .map(|f| std::fs::metadata(f).ok().map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH))))
            .collect()
    }

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
        // Looked at before the query: a commit after this look changes the
        // files again, so the next poll asks.
        let look = self.look();
        if let Some((before, at)) = &self.looked
            && *before == look
            && at.elapsed() < ASK_AT_LEAST_EVERY
        {
            return Ok(false);
        }
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
        self.looked = Some((look, Instant::now()));
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;

    /// A commit by another connection changes what a look sees; nothing
    /// changes it otherwise (so an idle poll asks nothing).
    #[tokio::test]
    async fn a_commit_changes_the_look_and_idleness_does_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .expect("url")
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let pool = SqlitePool::connect_with(options.clone()).await.expect("open");
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY)").execute(&pool).await.expect("create");
        let mut poll = TrackPoll {
            pool: pool.clone(),
            files: Vec::new(),
            looked: None,
            tracks: Vec::new(),
            own: "g/".into(),
            marks: Vec::new(),
        };
        let file = pool.connect_options().get_filename().to_owned();
        poll.files = vec![file.clone(), PathBuf::from(format!("{}-wal", file.display()))];
        let first = poll.look();
        assert!(first.iter().all(Option::is_some), "both files are seen: {:?}", poll.files);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(poll.look(), first, "nothing written, nothing changed");
        // Another writer, as an application would be.
        let other = SqlitePool::connect_with(options).await.expect("open again");
        sqlx::query("INSERT INTO t (id) VALUES (1)").execute(&other).await.expect("insert");
        assert_ne!(poll.look(), first, "a commit changes the files");
    }
}
