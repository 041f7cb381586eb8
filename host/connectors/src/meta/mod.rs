//! The sync metadata database: group definitions, member status, anchors,
//! the decision journal, parked conflicts and the sync history, and what
//! `hubsync serve` keeps besides (tokens, leases, plugins, agents).
//!
//! One `MetaStore`, its methods split by what they keep: `sync_state`
//! (anchors, journal, parked conflicts), `history` (sessions, status,
//! conflicts), `quarantine`, `definitions`, `databases` (which
//! database each hub and member is), and for the service `tokens`,
//! `leases`, `plugins` and `agents`. Every query goes through
//! `statement` (dialect, values, error naming what the store was doing).
//! It lives in `connectors` because that is the crate that speaks SQL and
//! holds the drivers.
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

use hubsync_core::{ConnectorError, EngineKind};
use sqlx::any::AnyPoolOptions;

type AnyPool = sqlx::Pool<sqlx::any::Any>;
use sqlx::{AssertSqlSafe, Executor};

use crate::common;

mod agents;
mod databases;
mod definitions;
mod history;
mod leases;
mod plugins;
mod quarantine;
mod settings;
mod statement;
mod sync_state;
mod tokens;
use crate::secret::Cipher;
pub use agents::{AgentDatabase, AgentRecord};
pub use databases::{DatabaseRecord, HUB};
pub use history::{ActivityBucket, ConflictRecord, HistoryFilter, HistoryPage, SessionRecord, TableStatus};
pub use leases::LeaseHolder;
pub use plugins::StoredPlugin;
pub use quarantine::{QuarantineEntry, QuarantineRecord};
pub use sync_state::{BatchCommit, MemberState, Parked};
pub use tokens::TokenRecord;

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
    &[
        // What a running sync has done, written by its holder's heartbeat,
        // so every instance (status, the events stream) sees every sync's
        // progress: when it started and a JSON progress text.
        "ALTER TABLE leases ADD COLUMN started_micros BIGINT",
        "ALTER TABLE leases ADD COLUMN progress TEXT",
        // Values every instance shares and creates once (the dashboard's
        // session key): the first instance to insert a name wins.
        "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
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
        self.statement("reaching the metadata database", "SELECT 1").execute(&self.pool).await?;
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
            self.statement(what, "SELECT pg_advisory_xact_lock(7418880001)").execute(&mut *tx).await?;
        }
        self.statement(what, "CREATE TABLE IF NOT EXISTS meta_version (version BIGINT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        let version: Option<i64> =
            self.statement(what, "SELECT version FROM meta_version").fetch_scalar(&mut *tx).await?;
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
        self.statement(what, "DELETE FROM meta_version").execute(&mut *tx).await?;
        self.statement(what, "INSERT INTO meta_version (version) VALUES (?)")
            .bind(MIGRATIONS.len() as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(self.db(what))
    }
}
