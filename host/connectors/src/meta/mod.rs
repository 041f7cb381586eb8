//! The sync metadata database: group definitions, member status, anchors,
//! the decision journal, parked conflicts and the sync history.
//!
//! An embedded SQLite file by default, or a PostgreSQL database for a
//! store shared by several hubsync processes and kept highly available by
//! PostgreSQL's own means. Its schema is created and migrated by
//! [`MetaStore::open`] and recorded in `meta_version`; nobody edits it by
//! hand. Every write that must be atomic with another (an anchor with the
//! conflicts it settled) is one transaction. The SQL is written once, in
//! the subset both engines share, with `?` placeholders renumbered for
//! PostgreSQL.

use std::time::Duration;

use hubsync_core::{Anchor, ConnectorError, EngineKind};
use sqlx::any::AnyPoolOptions;

type AnyPool = sqlx::Pool<sqlx::any::Any>;
use sqlx::{AssertSqlSafe, Executor, Row};

use crate::common;

mod databases;
mod served;
use crate::secret::Cipher;
pub use databases::{DatabaseRecord, HUB};
pub use served::{AgentDatabase, AgentRecord, HistoryFilter, HistoryPage, LeaseHolder, StoredPlugin, TokenRecord};

/// Schema migrations, in order; entry `n` takes the store from version `n`
/// to `n + 1`. `{id}` is an auto-numbered key column in each dialect.
const MIGRATIONS: &[&[&str]] = &[
    &[
        "CREATE TABLE groups (name TEXT PRIMARY KEY, definition TEXT NOT NULL, updated_micros BIGINT NOT NULL)",
        "CREATE TABLE members (group_name TEXT NOT NULL, member TEXT NOT NULL, last_success_micros BIGINT, \
     PRIMARY KEY (group_name, member))",
        "CREATE TABLE anchors (group_name TEXT NOT NULL, member TEXT NOT NULL, table_name TEXT NOT NULL, \
     side TEXT NOT NULL, anchor TEXT NOT NULL, PRIMARY KEY (group_name, member, table_name, side))",
        "CREATE TABLE journal (group_name TEXT NOT NULL, member TEXT NOT NULL, table_name TEXT NOT NULL, \
     entries TEXT NOT NULL, PRIMARY KEY (group_name, member, table_name))",
        "CREATE TABLE parked (group_name TEXT NOT NULL, member TEXT NOT NULL, table_name TEXT NOT NULL, \
     side TEXT NOT NULL, key_id TEXT NOT NULL, image TEXT NOT NULL, \
     PRIMARY KEY (group_name, member, table_name, side, key_id))",
        "CREATE TABLE sessions (id {id}, group_name TEXT NOT NULL, member TEXT NOT NULL, \
     table_name TEXT NOT NULL, started_micros BIGINT NOT NULL, duration_ms BIGINT NOT NULL, \
     ok BIGINT NOT NULL, rows_down BIGINT NOT NULL, rows_up BIGINT NOT NULL, conflicts BIGINT NOT NULL, \
     message TEXT)",
        "CREATE INDEX sessions_scope ON sessions (group_name, member, table_name, id)",
        "CREATE TABLE conflicts (id {id}, group_name TEXT NOT NULL, member TEXT NOT NULL, \
     table_name TEXT NOT NULL, at_micros BIGINT NOT NULL, key TEXT NOT NULL, hub_row TEXT, member_row TEXT, \
     decision TEXT NOT NULL, reason TEXT, plugin TEXT NOT NULL, plugin_sha256 TEXT NOT NULL)",
        "CREATE INDEX conflicts_group ON conflicts (group_name, id)",
    ],
    &[
        "CREATE TABLE quarantine (id {id}, group_name TEXT NOT NULL, member TEXT NOT NULL, table_name TEXT NOT NULL, \
     side TEXT NOT NULL, key_id TEXT NOT NULL, key TEXT, stage TEXT NOT NULL, column_name TEXT, value TEXT, \
     error TEXT NOT NULL, first_micros BIGINT NOT NULL, last_micros BIGINT NOT NULL, attempts BIGINT NOT NULL, \
     retry BIGINT NOT NULL)",
        "CREATE UNIQUE INDEX quarantine_key ON quarantine (group_name, member, table_name, side, key_id)",
        "ALTER TABLE sessions ADD COLUMN warnings BIGINT NOT NULL DEFAULT 0",
    ],
    &[
        // What `hubsync serve` runs: the groups as defined through the API
        // or `hubsync apply`, sealed when a secret key is set. `groups`
        // keeps what each group was last prepared with (to reconcile).
        "CREATE TABLE group_specs (name TEXT PRIMARY KEY, definition TEXT NOT NULL, revision BIGINT NOT NULL, \
     updated_micros BIGINT NOT NULL)",
        "CREATE TABLE tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, hash TEXT NOT NULL, \
     created_micros BIGINT NOT NULL, last_used_micros BIGINT, revoked_micros BIGINT)",
        // One row per member of a served group: who syncs it now (until
        // when) and when it is due next. The instance row of a SQLite store
        // has group_name ''.
        "CREATE TABLE leases (group_name TEXT NOT NULL, member TEXT NOT NULL, holder TEXT, \
     expires_micros BIGINT NOT NULL, due_micros BIGINT NOT NULL, cancel BIGINT NOT NULL, \
     PRIMARY KEY (group_name, member))",
        "ALTER TABLE sessions ADD COLUMN holder TEXT",
        "CREATE INDEX sessions_time ON sessions (started_micros)",
        // When each side changed the row (for replaying conflicts through
        // another policy: last-writer-wins needs them).
        "ALTER TABLE conflicts ADD COLUMN hub_changed_micros BIGINT",
        "ALTER TABLE conflicts ADD COLUMN member_changed_micros BIGINT",
        // Plugins uploaded through the API, shared by every instance.
        "CREATE TABLE plugins (name TEXT PRIMARY KEY, role TEXT NOT NULL, version TEXT NOT NULL, \
     sha256 TEXT NOT NULL, size_bytes BIGINT NOT NULL, wasm {blob} NOT NULL, uploaded_micros BIGINT NOT NULL)",
        // The latest session of each table of each member, kept by
        // `record_session`: status reads stay O(members × tables) however
        // long the history grows.
        "CREATE TABLE latest (group_name TEXT NOT NULL, member TEXT NOT NULL, table_name TEXT NOT NULL, \
     session_id BIGINT NOT NULL, last_success_micros BIGINT, PRIMARY KEY (group_name, member, table_name))",
        "INSERT INTO latest (group_name, member, table_name, session_id, last_success_micros) \
     SELECT s.group_name, s.member, s.table_name, MAX(s.id), \
     MAX(CASE WHEN s.ok = 1 THEN s.started_micros END) FROM sessions s \
     GROUP BY s.group_name, s.member, s.table_name",
    ],
    &[
        // Sync agents: the one-time key (hash) until it is exchanged, then
        // the long-lived credential (hash) issued for it. Regenerating the
        // key clears both.
        "CREATE TABLE agents (name TEXT PRIMARY KEY, key_hash TEXT, credential_hash TEXT, \
     created_micros BIGINT NOT NULL, key_micros BIGINT NOT NULL, connected_micros BIGINT, \
     last_contact_micros BIGINT, address TEXT, version TEXT)",
    ],
    &[
        // The databases an agent registered: names and what the agent last
        // reported of them (never a URL or credential), so a moved agent
        // can learn them back and status can show them.
        "CREATE TABLE agent_databases (agent TEXT NOT NULL, name TEXT NOT NULL, engine TEXT, \
     reachable INTEGER NOT NULL, error TEXT, tables TEXT NOT NULL, updated_micros BIGINT NOT NULL, \
     PRIMARY KEY (agent, name))",
        // The agent a member is reached through: only an instance holding
        // that agent's connection takes its lease.
        "ALTER TABLE leases ADD COLUMN agent TEXT",
    ],
    &[
        // Which database each hub and member is (`databases.rs`): its
        // identity as last seen and the origin mark of its incarnation;
        // member '' is the hub. `fresh` = 1: its state was forgotten, the
        // next preparation starts a new incarnation.
        "CREATE TABLE databases (group_name TEXT NOT NULL, member TEXT NOT NULL, database_id TEXT, \
     mark TEXT NOT NULL, fresh BIGINT NOT NULL, since_micros BIGINT NOT NULL, PRIMARY KEY (group_name, member))",
    ],
];

/// Which database of a member's pair an anchor or a parked conflict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The hub's change stream.
    Hub,
    /// The member's change stream.
    Member,
}

impl Side {
    /// `hub` or `member`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Hub => "hub",
            Side::Member => "member",
        }
    }

    fn parse(s: &str) -> Side {
        if s == "hub" { Side::Hub } else { Side::Member }
    }
}

/// One table of one member of one group: what anchors, journals and history belong to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The group.
    pub group: String,
    /// The member.
    pub member: String,
    /// The table, as the hub names it (`namespace.name` or `name`).
    pub table: String,
}

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

/// The sync metadata database.
pub struct MetaStore {
    pub(crate) pool: AnyPool,
    engine: EngineKind,
    /// The database file of a SQLite store.
    file: Option<std::path::PathBuf>,
    /// Seals group definitions (they hold passwords), when a key is given.
    cipher: Option<Cipher>,
}

impl MetaStore {
    /// Open (creating and migrating as needed) the metadata database at
    /// `sqlite://PATH` (created if missing) or `postgres://…` (the database
    /// must exist; hubsync creates its tables in it).
    pub async fn open(url: &str) -> Result<MetaStore, ConnectorError> {
        MetaStore::open_pooled(url, 4).await
    }

    /// [`MetaStore::open`] with up to `connections` pooled connections (a
    /// server answering many requests at once wants more than the CLI's 4).
    pub async fn open_pooled(url: &str, connections: u32) -> Result<MetaStore, ConnectorError> {
        sqlx::any::install_default_drivers();
        let mut file = None;
        let (engine, url) = if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let sep = if path.contains('?') { '&' } else { '?' };
            let create = if path.contains("mode=") { String::new() } else { format!("{sep}mode=rwc") };
            file = Some(std::path::PathBuf::from(path.split('?').next().unwrap_or(path)));
            (EngineKind::Sqlite, format!("sqlite://{path}{create}"))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (EngineKind::Postgres, url.to_owned())
        } else {
            return Err(ConnectorError::BadUrl(format!(
                "the sync metadata database must be sqlite://PATH or postgres://USER@HOST/DB; {} is neither",
                crate::redact(url)
            )));
        };
        let sqlite = engine == EngineKind::Sqlite;
        if !sqlite {
            // Say at once why a metadata server cannot be reached.
            let options: sqlx::any::AnyConnectOptions =
                url.parse().map_err(|e| ConnectorError::BadUrl(format!("{}: {e}", crate::redact(&url))))?;
            common::probe(&url, &options, hubsync_core::ConnectOptions::DEFAULT_CONNECT_TIMEOUT).await?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(connections.max(1))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // Several hubsync processes (a --watch and a status) may share the file.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA busy_timeout = 30000").await?;
                    }
                    Ok(())
                })
            })
            .acquire_timeout(Duration::from_secs(30))
            .connect(&url)
            .await
            .map_err(|e| ConnectorError::Connect { url: crate::redact(&url), cause: e.to_string() })?;
        let store = MetaStore { pool, engine, file, cipher: None };
        store.migrate().await?;
        Ok(store)
    }

    /// The database file of a SQLite store (`None` on PostgreSQL).
    pub fn file(&self) -> Option<&std::path::Path> {
        self.file.as_deref()
    }

    /// Seal group definitions with `cipher` from now on, and open sealed ones.
    pub fn with_cipher(mut self, cipher: Cipher) -> MetaStore {
        self.cipher = Some(cipher);
        self
    }

    /// The store's engine (SQLite or PostgreSQL).
    pub fn engine(&self) -> EngineKind {
        self.engine
    }

    /// Whether the store answers (for readiness checks).
    pub async fn ping(&self) -> Result<(), ConnectorError> {
        sqlx::query(self.sql("SELECT 1"))
            .execute(&self.pool)
            .await
            .map_err(self.db("reaching the metadata database"))?;
        Ok(())
    }

    pub(crate) fn seal(&self, plain: &str) -> Result<String, ConnectorError> {
        match &self.cipher {
            Some(c) => c.seal(plain).map_err(|e| self.secret_error(e)),
            None => Ok(plain.to_owned()),
        }
    }

    pub(crate) fn unseal(&self, stored: String) -> Result<String, ConnectorError> {
        crate::secret::open_stored(self.cipher.as_ref(), stored).map_err(|e| self.secret_error(e))
    }

    fn secret_error(&self, e: crate::secret::SecretError) -> ConnectorError {
        ConnectorError::Database {
            engine: self.engine,
            operation: "reading group definitions".into(),
            cause: e.to_string(),
        }
    }

    /// `sql` in this store's dialect: `?` placeholders become `$1, $2, …` on PostgreSQL.
    pub(crate) fn sql(&self, sql: &str) -> AssertSqlSafe<String> {
        if self.engine == EngineKind::Sqlite {
            return AssertSqlSafe(sql.to_owned());
        }
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for ch in sql.chars() {
            if ch == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(ch);
            }
        }
        AssertSqlSafe(out)
    }

    pub(crate) fn begin_sql(&self) -> &'static str {
        // SQLite: take the write lock up front, so two writers never deadlock on upgrade.
        if self.engine == EngineKind::Sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" }
    }

    pub(crate) fn db(&self, operation: impl Into<String>) -> impl FnOnce(sqlx::Error) -> ConnectorError {
        common::db_error(self.engine, operation)
    }

    async fn migrate(&self) -> Result<(), ConnectorError> {
        let what = "migrating the sync metadata database";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        if self.engine == EngineKind::Postgres {
            // Several instances starting together migrate one after another.
            sqlx::query(self.sql("SELECT pg_advisory_xact_lock(7418880001)"))
                .execute(&mut *tx)
                .await
                .map_err(self.db(what))?;
        }
        sqlx::query(self.sql("CREATE TABLE IF NOT EXISTS meta_version (version BIGINT NOT NULL)"))
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?;
        let version: Option<i64> = sqlx::query_scalar(self.sql("SELECT version FROM meta_version"))
            .fetch_optional(&mut *tx)
            .await
            .map_err(self.db(what))?;
        let version = version.unwrap_or(0);
        if version as usize > MIGRATIONS.len() {
            return Err(ConnectorError::Refused {
                table: hubsync_core::TableRef { namespace: None, name: "meta_version".into() },
                reason: format!(
                    "the sync metadata database is at version {version}, newer than this hubsync knows ({}); \
                     use a newer hubsync",
                    MIGRATIONS.len()
                ),
            });
        }
        let id = match self.engine {
            EngineKind::Sqlite => "INTEGER PRIMARY KEY",
            _ => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        };
        let blob = if self.engine == EngineKind::Sqlite { "BLOB" } else { "BYTEA" };
        for step in &MIGRATIONS[version as usize..] {
            for s in *step {
                let s = s.replace("{id}", id).replace("{blob}", blob);
                sqlx::query(AssertSqlSafe(s)).execute(&mut *tx).await.map_err(self.db(what))?;
            }
        }
        sqlx::query(self.sql("DELETE FROM meta_version")).execute(&mut *tx).await.map_err(self.db(what))?;
        sqlx::query(self.sql("INSERT INTO meta_version (version) VALUES (?)"))
            .bind(MIGRATIONS.len() as i64)
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?;
        tx.commit().await.map_err(self.db(what))
    }

    /// The anchor of `side` for `scope` (the start when none is stored).
    pub async fn anchor(&self, scope: &Scope, side: Side) -> Result<Anchor, ConnectorError> {
        let a: Option<String> = sqlx::query_scalar(
            self.sql("SELECT anchor FROM anchors WHERE group_name = ? AND member = ? AND table_name = ? AND side = ?"),
        )
        .bind(&scope.group)
        .bind(&scope.member)
        .bind(&scope.table)
        .bind(side.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(self.db("reading an anchor"))?;
        Ok(Anchor(a.unwrap_or_default()))
    }

    /// The journal entry of `scope`, if a batch was interrupted after writing it.
    pub async fn journal(&self, scope: &Scope) -> Result<Option<String>, ConnectorError> {
        sqlx::query_scalar(
            self.sql("SELECT entries FROM journal WHERE group_name = ? AND member = ? AND table_name = ?"),
        )
        .bind(&scope.group)
        .bind(&scope.member)
        .bind(&scope.table)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.db("reading the decision journal"))
    }

    /// Record the decisions a batch is about to write on both sides.
    pub async fn put_journal(&self, scope: &Scope, entries: &str) -> Result<(), ConnectorError> {
        sqlx::query(self.sql(
            "INSERT INTO journal (group_name, member, table_name, entries) VALUES (?, ?, ?, ?) \
             ON CONFLICT (group_name, member, table_name) DO UPDATE SET entries = excluded.entries",
        ))
        .bind(&scope.group)
        .bind(&scope.member)
        .bind(&scope.table)
        .bind(entries)
        .execute(&self.pool)
        .await
        .map_err(self.db("writing the decision journal"))?;
        Ok(())
    }

    /// The conflicts parked on `side` for `scope`.
    pub async fn parked(&self, scope: &Scope, side: Side) -> Result<Vec<Parked>, ConnectorError> {
        let rows = sqlx::query(self.sql(
            "SELECT key_id, image FROM parked WHERE group_name = ? AND member = ? AND table_name = ? AND side = ?",
        ))
        .bind(&scope.group)
        .bind(&scope.member)
        .bind(&scope.table)
        .bind(side.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(self.db("reading parked conflicts"))?;
        Ok(rows.iter().map(|r| Parked { side, key_id: r.get(0), image: r.get(1) }).collect())
    }

    /// Commit a batch's metadata in one transaction.
    pub async fn commit(&self, scope: &Scope, c: &BatchCommit) -> Result<(), ConnectorError> {
        let what = "recording a synced batch";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        if let Some((side, anchor)) = &c.anchor {
            sqlx::query(self.sql(
                "INSERT INTO anchors (group_name, member, table_name, side, anchor) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (group_name, member, table_name, side) DO UPDATE SET anchor = excluded.anchor",
            ))
            .bind(&scope.group)
            .bind(&scope.member)
            .bind(&scope.table)
            .bind(side.as_str())
            .bind(&anchor.0)
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?;
        }
        for r in &c.conflicts {
            sqlx::query(self.sql(
                "INSERT INTO conflicts (group_name, member, table_name, at_micros, key, hub_row, member_row, decision, \
                 reason, plugin, plugin_sha256, hub_changed_micros, member_changed_micros) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ))
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
            .await
            .map_err(self.db(what))?;
        }
        for (side, key_id) in &c.unpark {
            sqlx::query(self.sql(
                "DELETE FROM parked WHERE group_name = ? AND member = ? AND table_name = ? AND side = ? AND key_id = ?",
            ))
            .bind(&scope.group)
            .bind(&scope.member)
            .bind(&scope.table)
            .bind(side.as_str())
            .bind(key_id)
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?;
        }
        for p in &c.park {
            sqlx::query(self.sql(
                "INSERT INTO parked (group_name, member, table_name, side, key_id, image) \
                 VALUES (?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (group_name, member, table_name, side, key_id) DO UPDATE SET image = excluded.image",
            ))
            .bind(&scope.group)
            .bind(&scope.member)
            .bind(&scope.table)
            .bind(p.side.as_str())
            .bind(&p.key_id)
            .bind(&p.image)
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?;
        }
        for (side, key_id) in &c.release {
            sqlx::query(self.sql(
                "DELETE FROM quarantine WHERE group_name = ? AND member = ? AND table_name = ? AND side = ? AND key_id = ?",
            ))
            .bind(&scope.group)
            .bind(&scope.member)
            .bind(&scope.table)
            .bind(side.as_str())
            .bind(key_id)
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?;
        }
        for q in &c.quarantine {
            sqlx::query(self.sql(
                "INSERT INTO quarantine (group_name, member, table_name, side, key_id, key, stage, column_name, value, \
                 error, first_micros, last_micros, attempts, retry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0) \
                 ON CONFLICT (group_name, member, table_name, side, key_id) DO UPDATE SET key = excluded.key, \
                 stage = excluded.stage, column_name = excluded.column_name, value = excluded.value, \
                 error = excluded.error, last_micros = excluded.last_micros, attempts = quarantine.attempts + 1, \
                 retry = 0",
            ))
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
            .await
            .map_err(self.db(what))?;
        }
        if c.clear_journal {
            sqlx::query(self.sql("DELETE FROM journal WHERE group_name = ? AND member = ? AND table_name = ?"))
                .bind(&scope.group)
                .bind(&scope.member)
                .bind(&scope.table)
                .execute(&mut *tx)
                .await
                .map_err(self.db(what))?;
        }
        tx.commit().await.map_err(self.db(what))
    }

    /// Add one table sync to the history; a completed one also marks the
    /// member as synced at `started_micros`.
    pub async fn record_session(&self, r: &SessionRecord) -> Result<(), ConnectorError> {
        let what = "recording sync history";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        sqlx::query(self.sql(
            "INSERT INTO sessions (group_name, member, table_name, started_micros, duration_ms, ok, rows_down, \
             rows_up, conflicts, message, warnings, holder) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ))
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
        .execute(&mut *tx)
        .await
        .map_err(self.db(what))?;
        sqlx::query(self.sql(
            "INSERT INTO latest (group_name, member, table_name, session_id, last_success_micros) \
             SELECT group_name, member, table_name, id, CASE WHEN ok = 1 THEN started_micros END FROM sessions \
             WHERE id = (SELECT MAX(id) FROM sessions WHERE group_name = ? AND member = ? AND table_name = ?) \
             ON CONFLICT (group_name, member, table_name) DO UPDATE SET session_id = excluded.session_id, \
             last_success_micros = COALESCE(excluded.last_success_micros, latest.last_success_micros)",
        ))
        .bind(&r.scope.group)
        .bind(&r.scope.member)
        .bind(&r.scope.table)
        .execute(&mut *tx)
        .await
        .map_err(self.db(what))?;
        tx.commit().await.map_err(self.db(what))
    }

    /// Record that every table of `member` synced, as of `at_micros`.
    pub async fn member_synced(&self, group: &str, member: &str, at_micros: i64) -> Result<(), ConnectorError> {
        sqlx::query(self.sql(
            "INSERT INTO members (group_name, member, last_success_micros) VALUES (?, ?, ?) \
             ON CONFLICT (group_name, member) DO UPDATE SET last_success_micros = excluded.last_success_micros",
        ))
        .bind(group)
        .bind(member)
        .bind(at_micros)
        .execute(&self.pool)
        .await
        .map_err(self.db("recording a member's sync"))?;
        Ok(())
    }

    /// When every table of `member` last synced, µs since the Unix epoch.
    pub async fn member_last_success(&self, group: &str, member: &str) -> Result<Option<i64>, ConnectorError> {
        let v: Option<Option<i64>> =
            sqlx::query_scalar(self.sql("SELECT last_success_micros FROM members WHERE group_name = ? AND member = ?"))
                .bind(group)
                .bind(member)
                .fetch_optional(&self.pool)
                .await
                .map_err(self.db("reading a member's status"))?;
        Ok(v.flatten())
    }

    /// The definition a group was last synced with (JSON), if any.
    pub async fn group_definition(&self, group: &str) -> Result<Option<String>, ConnectorError> {
        let stored: Option<String> = sqlx::query_scalar(self.sql("SELECT definition FROM groups WHERE name = ?"))
            .bind(group)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.db("reading a group definition"))?;
        stored.map(|s| self.unseal(s)).transpose()
    }

    /// Every stored group definition: (name, definition JSON).
    pub async fn group_definitions(&self) -> Result<Vec<(String, String)>, ConnectorError> {
        let rows = sqlx::query(self.sql("SELECT name, definition FROM groups ORDER BY name"))
            .fetch_all(&self.pool)
            .await
            .map_err(self.db("reading group definitions"))?;
        rows.iter().map(|r| Ok((r.get(0), self.unseal(r.get(1))?))).collect()
    }

    /// Record the definition a group is synced with.
    pub async fn set_group_definition(
        &self,
        group: &str,
        definition: &str,
        at_micros: i64,
    ) -> Result<(), ConnectorError> {
        sqlx::query(self.sql(
            "INSERT INTO groups (name, definition, updated_micros) VALUES (?, ?, ?) ON CONFLICT (name) \
             DO UPDATE SET definition = excluded.definition, updated_micros = excluded.updated_micros",
        ))
        .bind(group)
        .bind(self.seal(definition)?)
        .bind(at_micros)
        .execute(&self.pool)
        .await
        .map_err(self.db("recording a group definition"))?;
        Ok(())
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
            sqlx::query(self.sql(&sql))
                .bind(group)
                .bind(member)
                .bind(member)
                .bind(table)
                .bind(table)
                .execute(&mut *tx)
                .await
                .map_err(self.db(what))?;
        }
        if table.is_none() {
            // Starting from scratch also starts a new incarnation (a new
            // mark): what the old one uploaded is no echo of what comes next.
            for sql in [
                "DELETE FROM members WHERE group_name = ? AND (CAST(? AS TEXT) IS NULL OR member = ?)",
                "UPDATE databases SET fresh = 1 WHERE group_name = ? AND (CAST(? AS TEXT) IS NULL OR member = ?)",
            ] {
                sqlx::query(self.sql(sql))
                    .bind(group)
                    .bind(member)
                    .bind(member)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.db(what))?;
            }
        }
        tx.commit().await.map_err(self.db(what))
    }

    /// The quarantined changes of `scope` read from `side`: (key id, key
    /// JSON, whether a retry was asked for).
    pub async fn quarantined(
        &self,
        scope: &Scope,
        side: Side,
    ) -> Result<Vec<(String, Option<String>, bool)>, ConnectorError> {
        let rows = sqlx::query(self.sql(
            "SELECT key_id, key, retry FROM quarantine WHERE group_name = ? AND member = ? AND table_name = ? AND side = ?",
        ))
        .bind(&scope.group)
        .bind(&scope.member)
        .bind(&scope.table)
        .bind(side.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(self.db("reading quarantined changes"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get::<i64, _>(2) != 0)).collect())
    }

    /// The retries asked for on `scope` and `side` were made.
    pub async fn retried(&self, scope: &Scope, side: Side) -> Result<(), ConnectorError> {
        sqlx::query(self.sql(
            "UPDATE quarantine SET retry = 0 WHERE group_name = ? AND member = ? AND table_name = ? AND side = ?",
        ))
        .bind(&scope.group)
        .bind(&scope.member)
        .bind(&scope.table)
        .bind(side.as_str())
        .execute(&self.pool)
        .await
        .map_err(self.db("recording retries"))?;
        Ok(())
    }

    /// Every quarantined change of `group` (all groups when `None`), oldest first.
    pub async fn quarantine(&self, group: Option<&str>) -> Result<Vec<QuarantineEntry>, ConnectorError> {
        let rows = sqlx::query(self.sql(
            "SELECT id, group_name, member, table_name, side, key_id, key, stage, column_name, value, error, \
             first_micros, last_micros, attempts, retry FROM quarantine \
             WHERE CAST(? AS TEXT) IS NULL OR group_name = ? ORDER BY id",
        ))
        .bind(group)
        .bind(group)
        .fetch_all(&self.pool)
        .await
        .map_err(self.db("reading quarantined changes"))?;
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
                n += sqlx::query(self.sql(&sql))
                    .bind(group)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.db(what))?
                    .rows_affected();
            }
            Some(ids) => {
                let sql = format!("{action} WHERE group_name = ? AND id = ?");
                for id in ids {
                    n += sqlx::query(self.sql(&sql))
                        .bind(group)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(self.db(what))?
                        .rows_affected();
                }
            }
        }
        tx.commit().await.map_err(self.db(what))?;
        Ok(n)
    }

    /// The latest session of every table of every member of `group` (all
    /// groups when `None`), with its last success.
    pub async fn status(&self, group: Option<&str>) -> Result<Vec<TableStatus>, ConnectorError> {
        let rows = sqlx::query(self.sql(
            "SELECT s.group_name, s.member, s.table_name, s.started_micros, s.duration_ms, s.ok, s.rows_down, \
             s.rows_up, s.conflicts, s.message, s.warnings, s.holder, l.last_success_micros \
             FROM latest l JOIN sessions s ON s.id = l.session_id \
             WHERE CAST(? AS TEXT) IS NULL OR l.group_name = ? ORDER BY s.group_name, s.member, s.table_name",
        ))
        .bind(group)
        .bind(group)
        .fetch_all(&self.pool)
        .await
        .map_err(self.db("reading sync status"))?;
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
        let rows = sqlx::query(self.sql(
            "SELECT member, table_name, at_micros, key, hub_row, member_row, decision, reason, plugin, plugin_sha256, \
             hub_changed_micros, member_changed_micros \
             FROM conflicts WHERE group_name = ? ORDER BY id DESC LIMIT ?",
        ))
        .bind(group)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(self.db("reading conflict history"))?;
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
}
