//! Leases: how several `hubsync serve` instances share the members to
//! sync, and the one place where they meet.
//!
//! On PostgreSQL a claim reads the next due member with `FOR UPDATE SKIP
//! LOCKED`, so concurrent claims never wait for each other nor take the
//! same row; on SQLite (one writer at a time, `BEGIN IMMEDIATE`) the same
//! statements are serial. The instance lease keeps a SQLite store to one
//! instance; `exclusive` serializes work across instances.

use hubsync_core::{ConnectorError, EngineKind};
use sqlx::Row;

use super::MetaStore;

/// Who holds a member's lease now.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseHolder {
    /// The group.
    pub group: String,
    /// The member.
    pub member: String,
    /// The instance syncing it, if one is.
    pub holder: Option<String>,
    /// Until when the holder's lease runs, µs since the Unix epoch.
    pub expires_micros: i64,
    /// When the member is due to sync next.
    pub due_micros: i64,
    /// When the holder's sync started, µs since the Unix epoch.
    pub started_micros: Option<i64>,
    /// What the holder's heartbeat last wrote of its sync's progress (a
    /// JSON text the service defines).
    pub progress: Option<String>,
}

impl MetaStore {
    /// Make sure every listed member of `group` has a lease row (new ones
    /// due at `due_micros`), and drop the rows of members no longer listed.
    /// `members` are (name, agent it is reached through, if any).
    pub async fn sync_leases(
        &self,
        group: &str,
        members: &[(String, Option<String>)],
        due_micros: i64,
    ) -> Result<(), ConnectorError> {
        let what = "updating the sync schedule";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        for (m, agent) in members {
            self.statement(
                what,
                "INSERT INTO leases (group_name, member, holder, expires_micros, due_micros, cancel, agent) \
                 VALUES (?, ?, NULL, 0, ?, 0, ?) ON CONFLICT (group_name, member) DO UPDATE SET agent = excluded.agent",
            )
            .bind(group)
            .bind(m)
            .bind(due_micros)
            .bind(agent)
            .execute(&mut *tx)
            .await?;
        }
        let members: Vec<String> = members.iter().map(|(m, _)| m.clone()).collect();
        let rows = self
            .statement(what, "SELECT member FROM leases WHERE group_name = ?")
            .bind(group)
            .fetch_all(&mut *tx)
            .await?;
        for r in rows {
            let m: String = r.get(0);
            if !members.contains(&m) {
                self.statement(what, "DELETE FROM leases WHERE group_name = ? AND member = ?")
                    .bind(group)
                    .bind(&m)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await.map_err(self.db(what))
    }

    /// Take the lease of the member that is most overdue and that nobody
    /// holds (or whose holder's lease ran out), for `holder` until
    /// `now + ttl`. `None` when nothing is due.
    pub async fn claim_due(
        &self,
        holder: &str,
        now_micros: i64,
        ttl_micros: i64,
        agents: &[String],
    ) -> Result<Option<(String, String)>, ConnectorError> {
        let what = "taking a member's lease";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        let lock = if self.engine == EngineKind::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        // Members behind an agent only where that agent is connected.
        let reachable = if agents.is_empty() {
            "agent IS NULL".to_owned()
        } else {
            format!("(agent IS NULL OR agent IN ({}))", vec!["?"; agents.len()].join(", "))
        };
        let sql = format!(
            "SELECT group_name, member FROM leases WHERE group_name <> '' AND due_micros <= ? \
             AND (holder IS NULL OR expires_micros < ?) AND {reachable} \
             ORDER BY due_micros, group_name, member LIMIT 1{lock}"
        );
        let mut q = self.statement(what, &sql).bind(now_micros).bind(now_micros);
        for a in agents {
            q = q.bind(a);
        }
        let row = q.fetch_optional(&mut *tx).await?;
        let Some(row) = row else {
            tx.rollback().await.map_err(self.db(what))?;
            return Ok(None);
        };
        let (group, member): (String, String) = (row.get(0), row.get(1));
        self.statement(
            what,
            "UPDATE leases SET holder = ?, expires_micros = ?, cancel = 0, started_micros = ?, progress = NULL \
             WHERE group_name = ? AND member = ?",
        )
        .bind(holder)
        .bind(now_micros + ttl_micros)
        .bind(now_micros)
        .bind(&group)
        .bind(&member)
        .execute(&mut *tx)
        .await?;
        tx.commit().await.map_err(self.db(what))?;
        Ok(Some((group, member)))
    }

    /// Extend `holder`'s lease on a member to `expires_micros` and record
    /// its sync's `progress`. `Ok(None)` when the lease is no longer
    /// `holder`'s (it expired and another took it, or the member was
    /// removed); else whether a cancel was asked for.
    pub async fn renew_lease(
        &self,
        holder: &str,
        group: &str,
        member: &str,
        expires_micros: i64,
        progress: Option<&str>,
    ) -> Result<Option<bool>, ConnectorError> {
        let row = self
            .statement(
                "renewing a member's lease",
                "UPDATE leases SET expires_micros = ?, progress = COALESCE(?, progress) \
                 WHERE group_name = ? AND member = ? AND holder = ? RETURNING cancel",
            )
            .bind(expires_micros)
            .bind(progress)
            .bind(group)
            .bind(member)
            .bind(holder)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<i64, _>(0) != 0))
    }

    /// Give a lease back: the member is due again at `next_due_micros`
    /// (unless a sync was asked for meanwhile, which keeps it due now).
    pub async fn release_lease(
        &self,
        holder: &str,
        group: &str,
        member: &str,
        next_due_micros: i64,
    ) -> Result<(), ConnectorError> {
        self.statement(
            "releasing a member's lease",
            "UPDATE leases SET holder = NULL, expires_micros = 0, cancel = 0, progress = NULL, \
             due_micros = CASE WHEN due_micros < 0 THEN 0 ELSE ? END \
             WHERE group_name = ? AND member = ? AND holder = ?",
        )
        .bind(next_due_micros)
        .bind(group)
        .bind(member)
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ask for a sync of a group's members (or one) now. A member being
    /// synced syncs again right after. Returns how many members.
    pub async fn request_sync(&self, group: &str, member: Option<&str>) -> Result<u64, ConnectorError> {
        // -1: due now, and "asked while running" for `release_lease`.
        self.statement(
            "asking for a sync",
            "UPDATE leases SET due_micros = CASE WHEN holder IS NULL THEN 0 ELSE -1 END \
             WHERE group_name = ? AND (CAST(? AS TEXT) IS NULL OR member = ?)",
        )
        .bind(group)
        .bind(member)
        .bind(member)
        .execute(&self.pool)
        .await
    }

    /// Ask for a sync now of every member of `group` but `except` (the
    /// one whose session just wrote into the hub); as [`Self::request_sync`].
    pub async fn request_sync_others(&self, group: &str, except: &str) -> Result<u64, ConnectorError> {
        self.statement(
            "asking for a sync of the other members",
            "UPDATE leases SET due_micros = CASE WHEN holder IS NULL THEN 0 ELSE -1 END \
             WHERE group_name = ? AND member <> ?",
        )
        .bind(group)
        .bind(except)
        .execute(&self.pool)
        .await
    }

    /// Ask the instances syncing a group's members (or one) to stop; returns
    /// how many syncs were running.
    pub async fn request_cancel(
        &self,
        group: &str,
        member: Option<&str>,
        now_micros: i64,
    ) -> Result<u64, ConnectorError> {
        self.statement(
            "asking a sync to stop",
            "UPDATE leases SET cancel = 1 WHERE group_name = ? AND (CAST(? AS TEXT) IS NULL OR member = ?) \
             AND holder IS NOT NULL AND expires_micros >= ?",
        )
        .bind(group)
        .bind(member)
        .bind(member)
        .bind(now_micros)
        .execute(&self.pool)
        .await
    }

    /// Every member lease (for status and metrics).
    pub async fn leases(&self) -> Result<Vec<LeaseHolder>, ConnectorError> {
        let rows = self
            .statement(
                "reading leases",
                "SELECT group_name, member, holder, expires_micros, due_micros, started_micros, progress \
                 FROM leases WHERE group_name <> '' ORDER BY group_name, member",
            )
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| LeaseHolder {
                group: r.get(0),
                member: r.get(1),
                holder: r.get(2),
                expires_micros: r.get(3),
                due_micros: r.get(4),
                started_micros: r.get(5),
                progress: r.get(6),
            })
            .collect())
    }

    /// Take (or renew) the store-wide instance lease: `Ok(Some(other))`
    /// when another live instance holds it. Used on SQLite, where only one
    /// `hubsync serve` may run. With `take_over` the lease is taken whoever
    /// holds it: the caller knows the holder is dead (it holds the store's
    /// lock file, which the kernel releases when a process dies).
    pub async fn claim_instance(
        &self,
        holder: &str,
        now_micros: i64,
        ttl_micros: i64,
        take_over: bool,
    ) -> Result<Option<String>, ConnectorError> {
        let what = "taking the instance lease";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        self.statement(
            what,
            "INSERT INTO leases (group_name, member, holder, expires_micros, due_micros, cancel) \
             VALUES ('', '', NULL, 0, 0, 0) ON CONFLICT (group_name, member) DO NOTHING",
        )
        .execute(&mut *tx)
        .await?;
        let row = self
            .statement(what, "SELECT holder, expires_micros FROM leases WHERE group_name = '' AND member = ''")
            .fetch_one(&mut *tx)
            .await?;
        let (other, expires): (Option<String>, i64) = (row.get(0), row.get(1));
        if let Some(other) = other.filter(|o| !take_over && o != holder && expires >= now_micros) {
            tx.rollback().await.map_err(self.db(what))?;
            return Ok(Some(other));
        }
        self.statement(what, "UPDATE leases SET holder = ?, expires_micros = ? WHERE group_name = '' AND member = ''")
            .bind(holder)
            .bind(now_micros + ttl_micros)
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(self.db(what))?;
        Ok(None)
    }

    /// Give back every lease `holder` has (at shutdown).
    pub async fn release_all(&self, holder: &str) -> Result<(), ConnectorError> {
        self.statement(
            "releasing leases",
            "UPDATE leases SET holder = NULL, expires_micros = 0, cancel = 0, progress = NULL WHERE holder = ?",
        )
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Run `work` while no other instance runs work under the same `key`
    /// (a PostgreSQL advisory lock held by a transaction of its own; on
    /// SQLite, where one instance runs, it simply runs). Instances preparing
    /// the same group at once would race each other's provisioning.
    pub async fn exclusive<T>(
        &self,
        key: &str,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, ConnectorError> {
        if self.engine != EngineKind::Postgres {
            return Ok(work.await);
        }
        let what = "waiting for another instance preparing the same group";
        let mut tx = self.pool.begin().await.map_err(self.db(what))?;
        self.statement(what, "SELECT pg_advisory_xact_lock(hashtextextended(?, 7418880002))")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        let out = work.await;
        tx.rollback().await.map_err(self.db(what))?;
        Ok(out)
    }
}
