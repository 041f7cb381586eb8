//! SQLite: tracking tables and triggers in the same file, prefixed
//! `hubsync_`.
//!
//! SQLite runs one write transaction at a time, so a change sequence taken
//! as `MAX(seq) + 1` inside the writing transaction is gap-free: a reader
//! never sees seq N+1 committed while N is still pending. The no-echo marker
//! is a row in `hubsync_session` that `apply` writes and removes inside its
//! own write transaction; no other writer can run meanwhile, so other
//! clients' changes are never marked.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::TryStreamExt;
use hubsync_core::{
    Anchor, ApplyOp, ChangeBatch, ChangeMark, Column, ColumnType, ConnectorError, EngineKind, IndexInfo, TableInfo,
    TableRef, TableSchema, UnsupportedColumn, Value,
};
use hubsync_core::{ConnectOptions, ForeignKey, KeyState, Row as ValueRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Row, ValueRef};

use crate::common::{self, Meta, Run};
use crate::sql::{self, Dialect};
use spelling::stored_keys;
use types::{bind, bind_key, bind_stored, decode, raw, sqlite_type};

mod spelling;
mod types;
mod watch;

const D: Dialect = Dialect::DoubleQuote;
const ENGINE: EngineKind = EngineKind::Sqlite;

/// A SQLite database file.
pub struct Sqlite {
    pool: SqlitePool,
    /// Bytes of row data a read batch holds at most.
    read_bytes: usize,
    /// Row sizes seen per table, to size reads.
    sizes: common::RowSizes,
    /// Whether hubsync's own tables are known to exist, so `apply` (a hot
    /// path) does not re-issue their DDL for every batch.
    meta_ready: AtomicBool,
}

fn db(operation: impl Into<String>) -> impl FnOnce(sqlx::Error) -> ConnectorError {
    common::db_error(ENGINE, operation)
}

async fn exec(pool: &SqlitePool, sql: String, what: &str) -> Result<(), ConnectorError> {
    sqlx::query(AssertSqlSafe(sql)).execute(pool).await.map_err(db(what))?;
    Ok(())
}

impl Sqlite {
    /// Open (creating if missing) `sqlite://PATH`.
    pub async fn open(url: &str) -> Result<Sqlite, ConnectorError> {
        Self::open_with(url, &ConnectOptions::default()).await
    }

    /// [`Sqlite::open`] with explicit timeouts: the statement timeout bounds
    /// the wait for another writer's lock (default 30 s).
    pub async fn open_with(url: &str, o: &ConnectOptions) -> Result<Sqlite, ConnectorError> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(ConnectorError::BadUrl(
                "in-memory SQLite databases cannot be synced (each connection sees its own); use a file".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| ConnectorError::BadUrl(format!("{url} is not a SQLite URL (sqlite://PATH): {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Each connection parses the schema (triggers included) and
            // keeps its prepared statements: about half a MiB with ten
            // tables. `hubsync serve` holds a pool per member, so the pool
            // stays small, keeps few statements and lets idle connections
            // go between rounds (reopening a SQLite file costs well under
            // a millisecond). Two connections: a member's session runs one
            // statement at a time, and SQLite has one writer anyway.
            .statement_cache_capacity(16)
            .busy_timeout(o.statement_timeout.unwrap_or(Duration::from_secs(30)));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .min_connections(0)
            .idle_timeout(Duration::from_secs(10))
            .acquire_timeout(o.connect_timeout)
            .connect_with(common::quiet_slow(options))
            .await
            .map_err(|e| common::connect_error(url, &e, o.connect_timeout))?;
        Ok(Sqlite { pool, read_bytes: o.read_bytes, sizes: Default::default(), meta_ready: AtomicBool::new(false) })
    }

    async fn ensure_meta(&self) -> Result<(), ConnectorError> {
        if self.meta_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        exec(
            &self.pool,
            "CREATE TABLE IF NOT EXISTS hubsync_tables (id INTEGER PRIMARY KEY, namespace TEXT, name TEXT NOT NULL, \
             format INTEGER NOT NULL, columns TEXT NOT NULL, UNIQUE (namespace, name))"
                .into(),
            "creating hubsync's table registry",
        )
        .await?;
        exec(
            &self.pool,
            "CREATE TABLE IF NOT EXISTS hubsync_session (origin TEXT NOT NULL)".into(),
            "creating hubsync's session marker",
        )
        .await?;
        // Tables being bulk-loaded by the writing transaction: their
        // tracking triggers stand aside (always empty outside one).
        exec(
            &self.pool,
            "CREATE TABLE IF NOT EXISTS hubsync_loading (id INTEGER PRIMARY KEY)".into(),
            "creating hubsync's load marker",
        )
        .await?;
        self.meta_ready.store(true, Ordering::Release);
        Ok(())
    }

    /// Whether the three tracking triggers of `t` (registered as `id`)
    /// stand aside for bulk loads.
    async fn gated(&self, t: &TableRef, id: i64) -> Result<bool, ConnectorError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? COLLATE NOCASE \
             AND name IN (?, ?, ?) AND sql LIKE '%hubsync_loading%'",
        )
        .bind(&t.name)
        .bind(format!("hubsync_ins_{id}"))
        .bind(format!("hubsync_upd_{id}"))
        .bind(format!("hubsync_del_{id}"))
        .fetch_one(&self.pool)
        .await
        .map_err(db(format!("reading how {t} is tracked")))?;
        Ok(n == 3)
    }

    /// The registry id of `t` when it can be written recording its
    /// entries set-wise: provisioned, its triggers stand aside for loads,
    /// it has no triggers of its own (they might write rows of it a load
    /// would not record), and no foreign key of it onto itself cascades
    /// (a delete would remove rows the statement does not record).
    async fn loading(&self, t: &TableRef) -> Result<Option<i64>, ConnectorError> {
        let Some(m) = self.registered(t).await? else { return Ok(None) };
        let others: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1 COLLATE NOCASE \
             AND name NOT LIKE 'hubsync\\_%' ESCAPE '\\') \
             + (SELECT count(*) FROM pragma_foreign_key_list(?1) WHERE \"table\" = ?1 COLLATE NOCASE \
             AND (on_delete NOT IN ('NO ACTION', 'RESTRICT') OR on_update NOT IN ('NO ACTION', 'RESTRICT')))",
        )
        .bind(&t.name)
        .fetch_one(&self.pool)
        .await
        .map_err(db(format!("reading the triggers of {t}")))?;
        Ok((others == 0 && self.gated(t, m.id).await?).then_some(m.id))
    }

    async fn registered(&self, t: &TableRef) -> Result<Option<Meta>, ConnectorError> {
        if !self.has_registry().await? {
            return Ok(None);
        }
        let row = sqlx::query("SELECT id, columns FROM hubsync_tables WHERE namespace IS ? AND name = ?")
            .bind(t.namespace.as_deref())
            .bind(&t.name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading hubsync's table registry"))?;
        Ok(row.map(|r| Meta { id: r.get::<i64, _>(0), columns: r.get::<String, _>(1) }))
    }

    /// Whether hubsync's table registry exists here.
    async fn has_registry(&self) -> Result<bool, ConnectorError> {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hubsync_tables'")
                .fetch_optional(&self.pool)
                .await
                .map_err(db("reading hubsync's table registry"))?;
        Ok(exists.is_some())
    }

    /// Every registered table's id by (namespace, name): one read for
    /// many tables.
    async fn registry_ids(&self) -> Result<HashMap<(Option<String>, String), i64>, ConnectorError> {
        if !self.has_registry().await? {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query("SELECT id, namespace, name FROM hubsync_tables")
            .fetch_all(&self.pool)
            .await
            .map_err(db("reading hubsync's table registry"))?;
        Ok(rows.iter().map(|r| ((r.get(1), r.get(2)), r.get(0))).collect())
    }

    fn tracking(id: i64) -> String {
        D.quote(&format!("hubsync_track_{id}"))
    }
}

/// Timestamp of now in µs, as SQLite computes it (millisecond resolution).
///
impl Sqlite {
    /// [`Connector::apply`](hubsync_core::Connector::apply), or with
    /// `load` (the table's registry id) its bulk form: the table's tracking
    /// triggers stand aside and each statement's upserts are recorded by
    /// one statement after it.
    async fn write(
        &self,
        table: &TableSchema,
        ops: &[ApplyOp],
        origin: &str,
        load: Option<i64>,
    ) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        self.ensure_meta().await?;
        let base = D.table(&t);
        let cols: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        let keys: Vec<&str> = table.primary_key.iter().map(|&i| cols[i]).collect();
        let non_keys: Vec<&str> =
            cols.iter().enumerate().filter(|(i, _)| !table.primary_key.contains(i)).map(|(_, c)| *c).collect();
        let on_conflict = if non_keys.is_empty() {
            "DO NOTHING".to_owned()
        } else {
            format!(
                "DO UPDATE SET {}",
                non_keys.iter().map(|c| format!("{0} = excluded.{0}", D.quote(c))).collect::<Vec<_>>().join(", ")
            )
        };
        let what = format!("applying {} changes to {t}", ops.len());
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db(what.clone()))?;
        sqlx::query("INSERT INTO hubsync_session (origin) VALUES (?)")
            .bind(origin)
            .execute(&mut *tx)
            .await
            .map_err(db(what.clone()))?;
        if let Some(id) = load {
            sqlx::query("INSERT INTO hubsync_loading (id) VALUES (?)")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db(what.clone()))?;
        }
        // A load's tracking entries: the keys just upserted as the table
        // stores them (what the trigger reads from NEW), numbered after
        // every entry so far, as the trigger numbers them.
        // A delete's tombstones are recorded before it, of the rows it
        // will remove (what the trigger reads from OLD).
        let record = |id: i64, deleted: u8| {
            let track = Self::tracking(id);
            let kl = D.list("", keys.iter().copied());
            // The statement around its key tuples.
            (
                format!(
                    "INSERT INTO {track} ({kl}, hubsync_seq, hubsync_deleted, hubsync_origin, hubsync_changed_at) \
                     SELECT {kl}, (SELECT COALESCE(MAX(hubsync_seq), 0) FROM {track}) + ROW_NUMBER() OVER (), \
                     {deleted}, ?, {NOW_MICROS} FROM {base} WHERE ({kl}) IN (VALUES "
                ),
                format!(
                    ") ON CONFLICT ({kl}) DO UPDATE SET hubsync_seq = excluded.hubsync_seq, \
                     hubsync_deleted = excluded.hubsync_deleted, hubsync_origin = excluded.hubsync_origin, \
                     hubsync_changed_at = excluded.hubsync_changed_at"
                ),
            )
        };
        // Where a row's column is a key column: its position in the key.
        let key_pos: Vec<Option<usize>> =
            (0..cols.len()).map(|c| table.primary_key.iter().position(|&k| k == c)).collect();
        for run in common::runs(table, ops) {
            let (rows, width, upsert) = match &run {
                Run::Upserts(r) => (r, cols.len(), true),
                Run::Deletes(k) => (k, keys.len(), false),
            };
            // Keys an application spelled its own way are written as stored,
            // so its row is updated or deleted rather than a second one added.
            let stored = if !spelling::has_spelled_key(table) {
                vec![None; rows.len()]
            } else if upsert {
                let row_keys: Vec<Vec<Value>> =
                    rows.iter().map(|r| table.primary_key.iter().map(|&k| r[k].clone()).collect()).collect();
                let key_refs: Vec<&[Value]> = row_keys.iter().map(Vec::as_slice).collect();
                stored_keys(&mut tx, table, &key_refs).await?
            } else {
                stored_keys(&mut tx, table, rows).await?
            };
            // Multi-row statements (prepared and cached per size): one trip
            // to SQLite's worker thread per chunk instead of per row.
            let per_statement = (30_000 / width).clamp(1, 500);
            for (chunk, stored) in rows.chunks(per_statement).zip(stored.chunks(per_statement)) {
                let tuple = format!("({})", vec!["?"; width].join(", "));
                let tuples = vec![tuple.as_str(); chunk.len()].join(", ");
                let sql = if upsert {
                    format!(
                        "INSERT INTO {base} ({}) VALUES {tuples} ON CONFLICT ({}) {on_conflict}",
                        D.list("", cols.iter().copied()),
                        D.list("", keys.iter().copied()),
                    )
                } else {
                    format!("DELETE FROM {base} WHERE ({}) IN (VALUES {tuples})", D.list("", keys.iter().copied()))
                };
                // The entries of this chunk, recorded set-wise in a load.
                let entries = |deleted: u8| {
                    let id = load?;
                    let (head, tail) = record(id, deleted);
                    let key_tuple = format!("({})", vec!["?"; keys.len()].join(", "));
                    let sql = format!("{head}{}{tail}", vec![key_tuple.as_str(); chunk.len()].join(", "));
                    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(origin);
                    for (row, stored) in chunk.iter().zip(stored) {
                        let key: Vec<Value> = match upsert {
                            true => table.primary_key.iter().map(|&k| row[k].clone()).collect(),
                            false => row.to_vec(),
                        };
                        q = bind_key(q, &key, stored.as_ref());
                    }
                    Some(q)
                };
                if !upsert && let Some(q) = entries(1) {
                    q.execute(&mut *tx).await.map_err(db(what.clone()))?;
                }
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for (row, stored) in chunk.iter().zip(stored) {
                    match stored {
                        Some(cells) if upsert => {
                            for (v, pos) in row.iter().zip(&key_pos) {
                                q = match pos {
                                    Some(p) => bind_stored(q, cells[*p].clone()),
                                    None => bind(q, v),
                                };
                            }
                        }
                        _ => q = bind_key(q, row, stored.as_ref()),
                    }
                }
                q.execute(&mut *tx).await.map_err(db(what.clone()))?;
                if upsert && let Some(q) = entries(0) {
                    q.execute(&mut *tx).await.map_err(db(what.clone()))?;
                }
            }
        }
        let end = if load.is_some() { "DELETE FROM hubsync_loading" } else { "SELECT 1" };
        for s in ["DELETE FROM hubsync_session", end] {
            sqlx::query(s).execute(&mut *tx).await.map_err(db(what.clone()))?;
        }
        tx.commit().await.map_err(db(what))
    }
}

/// This text runs inside the triggers, that is inside whatever SQLite the
/// application writing the table links, so it must work on the oldest
/// SQLite hubsync supports (3.31): no `unixepoch()` (3.38; `'subsec'` is
/// 3.42). `'now'` is fixed for the whole statement, so both calls agree.
const NOW_MICROS: &str =
    "(CAST(strftime('%s', 'now') AS INTEGER) * 1000000 + CAST(substr(strftime('%f', 'now'), 4) AS INTEGER) * 1000)";

#[async_trait::async_trait]
impl hubsync_core::Connector for Sqlite {
    fn engine(&self) -> EngineKind {
        ENGINE
    }

    async fn identity(&self) -> Result<Option<String>, ConnectorError> {
        let read = "SELECT id FROM hubsync_database ORDER BY rowid LIMIT 1";
        // Asked before every sync: one read when the id exists.
        if let Ok(Some(id)) = sqlx::query_scalar::<_, String>(read).fetch_optional(&self.pool).await {
            return Ok(Some(id));
        }
        // One statement each: SQLite runs one writer at a time, so two
        // processes asking at once agree on the id the first one made.
        for s in [
            "CREATE TABLE IF NOT EXISTS hubsync_database (id TEXT NOT NULL)",
            "INSERT INTO hubsync_database (id) SELECT lower(hex(randomblob(16))) \
             WHERE NOT EXISTS (SELECT 1 FROM hubsync_database)",
        ] {
            exec(&self.pool, s.into(), "recording the database's hubsync identity").await?;
        }
        let id: String = sqlx::query_scalar(read)
            .fetch_one(&self.pool)
            .await
            .map_err(db("reading the database's hubsync identity"))?;
        Ok(Some(id))
    }

    async fn introspect(&self) -> Result<Vec<TableInfo>, ConnectorError> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             AND name NOT LIKE 'hubsync\\_%' ESCAPE '\\' ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing tables"))?;
        let mut out = Vec::new();
        for name in names {
            let t = TableRef { namespace: None, name };
            let cols = sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid")
                .bind(&t.name)
                .fetch_all(&self.pool)
                .await
                .map_err(db(format!("reading the columns of {t}")))?;
            let mut schema = TableSchema::new(t.name.clone());
            let mut unsupported = Vec::new();
            let mut pk: Vec<(i64, String)> = Vec::new();
            for c in cols {
                let (name, declared, notnull, pk_pos): (String, String, i64, i64) =
                    (c.get(0), c.get(1), c.get(2), c.get(3));
                match sql::column_type(&declared) {
                    Some(kind) => {
                        let mut facets = sql::facets(kind, &declared);
                        if kind == ColumnType::Int {
                            facets.precision = None; // every SQLite integer is 64-bit, whatever its name
                        }
                        if pk_pos > 0 {
                            pk.push((pk_pos, name.clone()));
                        }
                        schema.columns.push(Column {
                            name,
                            kind,
                            nullable: notnull == 0 && pk_pos == 0,
                            facets,
                            declared_type: Some(declared),
                            folding: None,
                        });
                    }
                    None => unsupported.push(UnsupportedColumn { column: name, declared_type: declared }),
                }
            }
            pk.sort();
            schema.primary_key = pk.iter().filter_map(|(_, n)| schema.index_of(n)).collect();
            let mut indexes = Vec::new();
            let idx = sqlx::query("SELECT name, \"unique\", origin FROM pragma_index_list(?)")
                .bind(&t.name)
                .fetch_all(&self.pool)
                .await
                .map_err(db(format!("reading the indexes of {t}")))?;
            for i in idx {
                let (iname, unique, origin): (String, i64, String) = (i.get(0), i.get(1), i.get(2));
                if origin == "pk" {
                    // Key columns compared under NOCASE or RTRIM fold
                    // distinct values together.
                    let colls = sqlx::query("SELECT name, coll FROM pragma_index_xinfo(?) WHERE key = 1")
                        .bind(&iname)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db(format!("reading index {iname}")))?;
                    for c in colls {
                        let (name, coll): (Option<String>, Option<String>) = (c.get(0), c.get(1));
                        if let (Some(name), Some(coll)) = (name, coll)
                            && !coll.eq_ignore_ascii_case("binary")
                            && let Some(col) = schema.columns.iter_mut().find(|x| x.name == name)
                            && col.kind == ColumnType::Text
                        {
                            col.folding = Some(coll);
                        }
                    }
                    continue;
                }
                let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                    .bind(&iname)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db(format!("reading index {iname}")))?;
                indexes.push(IndexInfo { name: iname, columns, unique: unique != 0 });
            }
            let fks = sqlx::query("SELECT id, \"table\", \"from\" FROM pragma_foreign_key_list(?) ORDER BY id, seq")
                .bind(&t.name)
                .fetch_all(&self.pool)
                .await
                .map_err(db(format!("reading the foreign keys of {t}")))?;
            let mut foreign_keys: Vec<ForeignKey> = Vec::new();
            for f in fks {
                let (id, parent, from): (i64, String, String) = (f.get(0), f.get(1), f.get(2));
                let name = format!("fk{id}");
                match foreign_keys.last_mut() {
                    Some(k) if k.name == name => k.columns.push(from),
                    _ => foreign_keys.push(ForeignKey {
                        name,
                        columns: vec![from],
                        references: TableRef { namespace: None, name: parent },
                    }),
                }
            }
            out.push(TableInfo { schema, indexes, unsupported, foreign_keys });
        }
        Ok(out)
    }

    async fn provision(&self, table: &TableSchema) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        common::check_selection(table)?;
        if t.namespace.is_some() {
            return Err(ConnectorError::Refused {
                table: t,
                reason: "SQLite tables have no namespace; leave it empty".into(),
            });
        }
        self.ensure_meta().await?;
        let columns = common::fingerprint(table);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db("starting provisioning"))?;
        let existing = self.registered(&t).await?;
        let change = common::reprovision(existing.as_ref().map(|m| m.columns.as_str()), &columns);
        // Tables provisioned before bulk loads get triggers that stand
        // aside for them; nothing else changes.
        let mut refresh = false;
        let id: i64 = match existing {
            Some(m) if m.columns == columns && self.gated(&t, m.id).await? => return Ok(()),
            Some(m) if m.columns == columns => {
                refresh = true;
                m.id
            }
            Some(m) => {
                sqlx::query("UPDATE hubsync_tables SET columns = ?, format = ? WHERE id = ?")
                    .bind(&columns)
                    .bind(common::FORMAT)
                    .bind(m.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("updating the table registry"))?;
                m.id
            }
            None => sqlx::query_scalar(
                "INSERT INTO hubsync_tables (namespace, name, format, columns) VALUES (NULL, ?, ?, ?) RETURNING id",
            )
            .bind(&t.name)
            .bind(common::FORMAT)
            .bind(&columns)
            .fetch_one(&mut *tx)
            .await
            .map_err(db("registering the table"))?,
        };
        let track = Self::tracking(id);
        let base = D.table(&t);
        let keys: Vec<&Column> = table.primary_key.iter().map(|&i| &table.columns[i]).collect();
        let key_names: Vec<&str> = keys.iter().map(|c| c.name.as_str()).collect();
        let key_defs =
            keys.iter().map(|c| format!("{} {}", D.quote(&c.name), sqlite_type(c))).collect::<Vec<_>>().join(", ");
        let kl = D.list("", key_names.iter().copied());
        let meta = "hubsync_seq, hubsync_deleted, hubsync_origin, hubsync_changed_at";
        let next_seq = format!("(SELECT COALESCE(MAX(hubsync_seq), 0) + 1 FROM {track})");
        let origin = "(SELECT origin FROM hubsync_session LIMIT 1)";
        // An upsert, not INSERT OR REPLACE: a statement with its own ON
        // CONFLICT clause (as `apply`'s upserts have) imposes its conflict
        // policy on the statements of the triggers it fires. The conflict
        // target is spelled out: SQLite before 3.35 (the triggers run in the
        // application's SQLite, 3.31 and later) requires it for DO UPDATE.
        let upsert = format!(
            "ON CONFLICT ({kl}) DO UPDATE SET hubsync_seq = excluded.hubsync_seq, \
             hubsync_deleted = excluded.hubsync_deleted, hubsync_origin = excluded.hubsync_origin, \
             hubsync_changed_at = excluded.hubsync_changed_at"
        );
        let mut stmts = Vec::new();
        if change == common::Reprovision::Key {
            stmts.push(format!("DROP TABLE IF EXISTS {track}"));
        }
        stmts.extend([
            format!(
                "CREATE TABLE IF NOT EXISTS {track} ({key_defs}, hubsync_seq INTEGER NOT NULL, \
                 hubsync_deleted INTEGER NOT NULL, hubsync_origin TEXT, hubsync_changed_at INTEGER NOT NULL, \
                 PRIMARY KEY ({kl}))"
            ),
            format!(
                "CREATE INDEX IF NOT EXISTS {} ON {track} (hubsync_seq)",
                D.quote(&format!("hubsync_track_{id}_seq"))
            ),
        ]);
        for kind in ["ins", "upd", "del"] {
            stmts.push(format!("DROP TRIGGER IF EXISTS {}", D.quote(&format!("hubsync_{kind}_{id}"))));
        }
        let gate = format!("WHEN NOT EXISTS (SELECT 1 FROM hubsync_loading WHERE id = {id})");
        let new_keys = D.list("NEW.", key_names.iter().copied());
        let old_keys = D.list("OLD.", key_names.iter().copied());
        let key_changed =
            key_names.iter().map(|k| format!("OLD.{0} IS NOT NEW.{0}", D.quote(k))).collect::<Vec<_>>().join(" OR ");
        stmts.push(format!(
            "CREATE TRIGGER {} AFTER INSERT ON {base} {gate} BEGIN \
             INSERT INTO {track} ({kl}, {meta}) VALUES ({new_keys}, {next_seq}, 0, {origin}, {NOW_MICROS}) {upsert}; END",
            D.quote(&format!("hubsync_ins_{id}"))
        ));
        stmts.push(format!(
            "CREATE TRIGGER {} AFTER UPDATE ON {base} {gate} BEGIN \
             INSERT INTO {track} ({kl}, {meta}) SELECT {old_keys}, {next_seq}, 1, {origin}, {NOW_MICROS} \
             WHERE {key_changed} {upsert}; \
             INSERT INTO {track} ({kl}, {meta}) VALUES ({new_keys}, {next_seq}, 0, {origin}, {NOW_MICROS}) {upsert}; END",
            D.quote(&format!("hubsync_upd_{id}"))
        ));
        stmts.push(format!(
            "CREATE TRIGGER {} AFTER DELETE ON {base} {gate} BEGIN \
             INSERT INTO {track} ({kl}, {meta}) VALUES ({old_keys}, {next_seq}, 1, {origin}, {NOW_MICROS}) {upsert}; END",
            D.quote(&format!("hubsync_del_{id}"))
        ));
        if change == common::Reprovision::Columns && !refresh {
            // Announce tracked rows again, after every earlier change, in order.
            stmts.push(format!(
                "UPDATE {track} SET hubsync_seq = hubsync_seq + (SELECT MAX(hubsync_seq) FROM {track}), \
                 hubsync_changed_at = {NOW_MICROS} WHERE hubsync_deleted = 0"
            ));
        }
        // Rows present before provisioning are changes for the initial sync.
        stmts.push(format!(
            "INSERT INTO {track} ({kl}, {meta}) SELECT {kl}, \
             (SELECT COALESCE(MAX(hubsync_seq), 0) FROM {track}) + ROW_NUMBER() OVER (), 0, NULL, {NOW_MICROS} \
             FROM {base} WHERE true ON CONFLICT DO NOTHING"
        ));
        for s in stmts {
            sqlx::query(AssertSqlSafe(s)).execute(&mut *tx).await.map_err(db(format!("provisioning {t}")))?;
        }
        tx.commit().await.map_err(db(format!("provisioning {t}")))?;
        Ok(())
    }

    async fn deprovision(&self, t: &TableRef) -> Result<(), ConnectorError> {
        let Some(m) = self.registered(t).await? else { return Ok(()) };
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db("starting deprovisioning"))?;
        let mut stmts: Vec<String> = ["ins", "upd", "del"]
            .iter()
            .map(|k| format!("DROP TRIGGER IF EXISTS {}", D.quote(&format!("hubsync_{k}_{}", m.id))))
            .collect();
        stmts.push(format!("DROP TABLE IF EXISTS {}", Self::tracking(m.id)));
        for s in stmts {
            sqlx::query(AssertSqlSafe(s)).execute(&mut *tx).await.map_err(db(format!("deprovisioning {t}")))?;
        }
        sqlx::query("DELETE FROM hubsync_tables WHERE id = ?")
            .bind(m.id)
            .execute(&mut *tx)
            .await
            .map_err(db(format!("deprovisioning {t}")))?;
        tx.commit().await.map_err(db(format!("deprovisioning {t}")))
    }

    async fn deprovision_all(&self) -> Result<(), ConnectorError> {
        let objects: Vec<(String, String)> = sqlx::query_as(
            "SELECT type, name FROM sqlite_master WHERE name LIKE 'hubsync\\_%' ESCAPE '\\' \
             AND type IN ('trigger', 'table') ORDER BY type = 'table'",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing hubsync's objects"))?;
        // The tables below may include hubsync's own; create them again on next use.
        self.meta_ready.store(false, Ordering::Release);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db("starting deprovisioning"))?;
        for (kind, name) in objects {
            let s =
                format!("DROP {} IF EXISTS {}", if kind == "trigger" { "TRIGGER" } else { "TABLE" }, D.quote(&name));
            sqlx::query(AssertSqlSafe(s)).execute(&mut *tx).await.map_err(db("removing hubsync's objects"))?;
        }
        tx.commit().await.map_err(db("removing hubsync's objects"))
    }

    async fn read_changes(
        &self,
        table: &TableSchema,
        since: &Anchor,
        limit: usize,
    ) -> Result<ChangeBatch, ConnectorError> {
        self.read_changes_skipping(table, since, limit, None).await
    }

    async fn read_changes_skipping(
        &self,
        table: &TableSchema,
        since: &Anchor,
        limit: usize,
        echo: Option<&str>,
    ) -> Result<ChangeBatch, ConnectorError> {
        let t = TableRef::of(table);
        let m = self.registered(&t).await?.ok_or_else(|| ConnectorError::NotProvisioned(t.clone()))?;
        let after = parse_anchor(since)?;
        let keys: Vec<&str> = table.primary_key.iter().map(|&i| table.columns[i].name.as_str()).collect();
        let join = keys.iter().map(|k| format!("b.{0} = tr.{0}", D.quote(k))).collect::<Vec<_>>().join(" AND ");
        // With `echo`, a run of echoes comes as its last entry (the
        // position the next read starts from), without its row; the
        // entries at the end of the scan come whatever they are, so a read
        // always moves on. `pos` is an entry's place in the scan.
        let scanned = match echo {
            None => format!(
                "SELECT *, 0 AS pos FROM {} WHERE hubsync_seq > ?1 ORDER BY hubsync_seq LIMIT ?2",
                Self::tracking(m.id)
            ),
            Some(_) => format!(
                "SELECT * FROM (SELECT *, hubsync_origin IS ?3 AS echo, \
                 LEAD(hubsync_origin IS ?3, 1, 0) OVER (ORDER BY hubsync_seq) AS next_echo, \
                 ROW_NUMBER() OVER (ORDER BY hubsync_seq) AS pos \
                 FROM (SELECT * FROM {} WHERE hubsync_seq > ?1 ORDER BY hubsync_seq LIMIT ?2)) \
                 WHERE NOT echo OR NOT next_echo OR pos >= ?2 - 1",
                Self::tracking(m.id)
            ),
        };
        let sql = format!(
            "SELECT tr.hubsync_seq, tr.hubsync_deleted, tr.hubsync_origin, tr.hubsync_changed_at, {}, {}, tr.pos \
             FROM ({scanned}) tr LEFT JOIN {} b ON {join}{} \
             ORDER BY tr.hubsync_seq",
            D.list("tr.", keys.iter().copied()),
            D.list("b.", table.columns.iter().map(|c| c.name.as_str())),
            D.table(&t),
            // An echo's row is not read (see `read_changes_skipping`).
            if echo.is_some() { " AND NOT tr.echo" } else { "" },
        );
        let pos_at = 4 + keys.len() + table.columns.len();
        let what = format!("reading changes of {t}");
        // Streamed: the batch ends at `limit` rows or `read_bytes` bytes.
        let mut batch = self.sizes.start(m.id, limit, self.read_bytes);
        let ask = batch.cap() as i64 + 1;
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(after).bind(ask);
        if let Some(echo) = echo {
            query = query.bind(echo);
        }
        let mut rows = query.fetch(&self.pool);
        let mut more = false;
        let mut last = after;
        while let Some(row) = rows.try_next().await.map_err(db(what.clone()))? {
            // Past the batch: the entry scanned beyond it, or the bytes it holds.
            if batch.full() || row.get::<i64, _>(pos_at) >= ask {
                more = true;
                break;
            }
            let r = &row;
            last = r.get(0);
            let deleted: i64 = r.get(1);
            // A key with no base row (deleted since) reads as a delete.
            let row_present =
                r.try_get_raw(4 + keys.len() + table.primary_key[0]).map(|v| !v.is_null()).unwrap_or(false);
            let gone = deleted != 0 || !row_present;
            let read =
                common::captured_or_bad(table, 4, gone, r.get(3), r.get(2), |c, i| decode(&t, c, r, i), |i| raw(r, i))?;
            batch.push(read);
        }
        drop(rows);
        self.sizes.finish(m.id, &batch);
        let (changes, unreadable) = (batch.changes, batch.unreadable);
        Ok(ChangeBatch { changes, unreadable, next: Anchor(last.to_string()), more, pending: false })
    }

    async fn pending_many(
        &self,
        asks: &[(&TableSchema, &Anchor)],
        cap: u64,
    ) -> Result<Vec<Option<u64>>, ConnectorError> {
        let ids = self.registry_ids().await?;
        let (mut out, sql) = common::count_asks(
            asks,
            cap,
            |i| format!("{i}"),
            |table, since| {
                let Some(id) = ids.get(&(table.namespace.clone(), table.name.clone())) else { return Ok(None) };
                // A parsed integer, so spelled inline.
                let after = parse_anchor(since)?;
                Ok(Some(format!("SELECT 1 FROM {} WHERE hubsync_seq > {after}", Self::tracking(*id))))
            },
        )?;
        let Some(sql) = sql else { return Ok(out) };
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(db(format!("counting the changes of {} tables", asks.len())))?;
        common::counted(&mut out, rows.iter().map(|r| (r.get(0), r.get(1))));
        Ok(out)
    }

    async fn watch(
        &self,
        tables: &[TableSchema],
        own: &str,
        poll: Duration,
    ) -> Result<Option<Box<dyn hubsync_core::ChangeWatch>>, ConnectorError> {
        let ids = self.registry_ids().await?;
        let tracks = common::watched(tables, |t| ids.get(&(t.namespace.clone(), t.name.clone())).copied())?;
        Ok(Some(watch::open(self.pool.clone(), tracks.into_iter().map(Self::tracking).collect(), own, poll).await?))
    }

    async fn pending(&self, table: &TableSchema, since: &Anchor, cap: u64) -> Result<Option<u64>, ConnectorError> {
        let t = TableRef::of(table);
        let Some(m) = self.registered(&t).await? else { return Ok(None) };
        let after = parse_anchor(since)?;
        let sql =
            format!("SELECT COUNT(*) FROM (SELECT 1 FROM {} WHERE hubsync_seq > ? LIMIT ?)", Self::tracking(m.id));
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(after)
            .bind(cap.min(i64::MAX as u64) as i64)
            .fetch_one(&self.pool)
            .await
            .map_err(db(format!("counting the changes of {t}")))?;
        Ok(Some(n as u64))
    }

    async fn apply(&self, table: &TableSchema, ops: &[ApplyOp], origin: &str) -> Result<(), ConnectorError> {
        // hubsync's own writes record their entries set-wise, as loads do,
        // rather than through the triggers row by row (BENCHMARKS.md).
        self.load(table, ops, origin).await
    }

    async fn writes_only_their_keys(&self, table: &TableSchema) -> Result<bool, ConnectorError> {
        // A set-wise write asks for the same of the table's triggers and
        // foreign keys; a key collated other than BINARY (NOCASE, RTRIM)
        // compares loosely. An INTEGER PRIMARY KEY has no index to ask.
        let t = TableRef::of(table);
        if self.loading(&t).await?.is_none() {
            return Ok(false);
        }
        let loose: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pragma_index_list(?1) l, pragma_index_xinfo(l.name) x \
             WHERE l.origin = 'pk' AND x.key = 1 AND x.coll <> 'BINARY'",
        )
        .bind(&t.name)
        .fetch_one(&self.pool)
        .await
        .map_err(db(format!("reading the key collations of {t}")))?;
        Ok(loose == 0)
    }

    async fn load(&self, table: &TableSchema, ops: &[ApplyOp], origin: &str) -> Result<(), ConnectorError> {
        let loading = self.loading(&TableRef::of(table)).await?;
        self.write(table, ops, origin, loading).await
    }

    async fn lookup(
        &self,
        table: &TableSchema,
        since: &Anchor,
        keys: &[ValueRow],
    ) -> Result<Vec<KeyState>, ConnectorError> {
        let t = TableRef::of(table);
        let m = self.registered(&t).await?.ok_or_else(|| ConnectorError::NotProvisioned(t.clone()))?;
        let after = parse_anchor(since)?;
        let key_cols: Vec<&str> = table.primary_key.iter().map(|&i| table.columns[i].name.as_str()).collect();
        // `k0…` the keys asked for, `s0…` the cells they are stored in.
        let names: Vec<String> = (0..key_cols.len()).map(|n| format!("k{n}")).collect();
        let spelled: Vec<String> = (0..key_cols.len()).map(|n| format!("s{n}")).collect();
        let on = |alias: &str| {
            key_cols
                .iter()
                .zip(&spelled)
                .map(|(c, n)| format!("{alias}.{} = k.{n}", D.quote(c)))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let tuple = format!("({})", vec!["?"; 2 * key_cols.len()].join(", "));
        let mut out = Vec::with_capacity(keys.len());
        let what = format!("looking up {} keys of {t}", keys.len());
        let mut conn = self.pool.acquire().await.map_err(db(what.clone()))?;
        for chunk in keys.chunks((30_000 / (2 * key_cols.len())).clamp(1, 500)) {
            let key_refs: Vec<&[Value]> = chunk.iter().map(Vec::as_slice).collect();
            let stored = stored_keys(&mut conn, table, &key_refs).await?;
            let sql = format!(
                "WITH k({}, {}) AS (VALUES {}) SELECT tr.hubsync_seq IS NOT NULL, tr.hubsync_origin, \
                 tr.hubsync_changed_at, b.{} IS NOT NULL, {}, {} FROM k LEFT JOIN {} b ON {} LEFT JOIN {} tr ON {} \
                 AND tr.hubsync_seq > ?",
                names.join(", "),
                spelled.join(", "),
                vec![tuple.as_str(); chunk.len()].join(", "),
                D.quote(key_cols[0]),
                names.iter().map(|n| format!("k.{n}")).collect::<Vec<_>>().join(", "),
                D.list("b.", table.columns.iter().map(|c| c.name.as_str())),
                D.table(&t),
                on("b"),
                Self::tracking(m.id),
                on("tr"),
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (key, stored) in chunk.iter().zip(&stored) {
                for v in key {
                    q = bind(q, v);
                }
                q = bind_key(q, key, stored.as_ref());
            }
            let rows = q.bind(after).fetch_all(&mut *conn).await.map_err(db(what.clone()))?;
            for r in rows {
                let (changed, present): (bool, bool) = (r.get(0), r.get(3));
                let mark = || ChangeMark { origin: r.get(1), changed_at_micros: r.get(2) };
                out.extend(common::looked_up(
                    table,
                    changed,
                    present,
                    mark,
                    |c, i| decode(&t, c, &r, i),
                    |i| raw(&r, i),
                )?);
            }
        }
        Ok(out)
    }

    async fn purge_tombstones(
        &self,
        table: &TableSchema,
        read_up_to: &[Anchor],
        older_than_micros: i64,
    ) -> Result<u64, ConnectorError> {
        let t = TableRef::of(table);
        let m = self.registered(&t).await?.ok_or_else(|| ConnectorError::NotProvisioned(t.clone()))?;
        let upto =
            read_up_to.iter().map(parse_anchor).collect::<Result<Vec<_>, _>>()?.into_iter().min().unwrap_or(i64::MAX);
        let sql = format!(
            "DELETE FROM {} WHERE hubsync_deleted = 1 AND hubsync_seq <= ? AND hubsync_changed_at < ?",
            Self::tracking(m.id)
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(upto)
            .bind(older_than_micros)
            .execute(&self.pool)
            .await
            .map_err(db(format!("purging deletes of {t}")))?;
        Ok(done.rows_affected())
    }

    async fn reannounce(&self, table: &TableSchema, keys: &[ValueRow]) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        let m = self.registered(&t).await?.ok_or_else(|| ConnectorError::NotProvisioned(t.clone()))?;
        let track = Self::tracking(m.id);
        let kl = D.list("", table.primary_key.iter().map(|&i| table.columns[i].name.as_str()));
        let what = format!("announcing {} rows of {t} again", keys.len());
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db(what.clone()))?;
        // Every number is at most the maximum, so adding it moves the keys
        // after every change recorded so far, in their order, without clashes.
        let max: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COALESCE(MAX(hubsync_seq), 0) FROM {track}")))
            .fetch_one(&mut *tx)
            .await
            .map_err(db(what.clone()))?;
        let tuple = format!("({})", vec!["?"; table.primary_key.len()].join(", "));
        for chunk in keys.chunks((30_000 / table.primary_key.len()).clamp(1, 500)) {
            let key_refs: Vec<&[Value]> = chunk.iter().map(Vec::as_slice).collect();
            let stored = stored_keys(&mut tx, table, &key_refs).await?;
            let sql = format!(
                "UPDATE {track} SET hubsync_seq = hubsync_seq + ? WHERE ({kl}) IN (VALUES {})",
                vec![tuple.as_str(); chunk.len()].join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(max);
            for (key, stored) in chunk.iter().zip(&stored) {
                q = bind_key(q, key, stored.as_ref());
            }
            q.execute(&mut *tx).await.map_err(db(what.clone()))?;
        }
        tx.commit().await.map_err(db(what))
    }

    async fn scan(
        &self,
        table: &TableSchema,
        after: Option<&ValueRow>,
        limit: usize,
    ) -> Result<Vec<KeyState>, ConnectorError> {
        let t = TableRef::of(table);
        let kl = D.list("b.", table.primary_key.iter().map(|&i| table.columns[i].name.as_str()));
        let filter = match after {
            Some(k) => format!("WHERE ({kl}) > ({})", vec!["?"; k.len()].join(", ")),
            None => String::new(),
        };
        let sql = format!(
            "SELECT {kl}, {} FROM {} b {filter} ORDER BY {kl} LIMIT ?",
            D.list("b.", table.columns.iter().map(|c| c.name.as_str())),
            D.table(&t)
        );
        let what = format!("reading {t}");
        let mut conn = self.pool.acquire().await.map_err(db(what.clone()))?;
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(after) = after {
            // The page goes on after the last key in the order SQLite keeps
            // it: as stored, however the application spelled it.
            let stored = stored_keys(&mut conn, table, &[after.as_slice()]).await?;
            q = bind_key(q, after, stored[0].as_ref());
        }
        let rows = q.bind(limit as i64).fetch_all(&mut *conn).await.map_err(db(what))?;
        common::scanned(table, &rows, |r, c, i| decode(&t, c, r, i), raw)
    }

    async fn is_empty(&self, table: &TableRef) -> Result<bool, ConnectorError> {
        let sql = format!("SELECT NOT EXISTS (SELECT 1 FROM {})", D.table(table));
        sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&self.pool).await.map_err(db(format!("reading {table}")))
    }

    async fn create_table(&self, table: &TableSchema, indexes: &[IndexInfo]) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        common::check_selection(table)?;
        let cols = table
            .columns
            .iter()
            .map(|c| format!("{} {}{}", D.quote(&c.name), sqlite_type(c), if c.nullable { "" } else { " NOT NULL" }))
            .collect::<Vec<_>>()
            .join(", ");
        let pk = D.list("", table.primary_key.iter().map(|&i| table.columns[i].name.as_str()));
        let mut tx = self.pool.begin().await.map_err(db(format!("creating {t}")))?;
        let mut stmts = vec![format!("CREATE TABLE IF NOT EXISTS {} ({cols}, PRIMARY KEY ({pk}))", D.table(&t))];
        for i in common::carried_indexes(table, indexes) {
            stmts.push(format!(
                "CREATE {}INDEX IF NOT EXISTS {} ON {} ({})",
                if i.unique { "UNIQUE " } else { "" },
                D.quote(&i.name),
                D.table(&t),
                D.list("", i.columns.iter().map(String::as_str))
            ));
        }
        for s in stmts {
            sqlx::query(AssertSqlSafe(s)).execute(&mut *tx).await.map_err(db(format!("creating {t}")))?;
        }
        tx.commit().await.map_err(db(format!("creating {t}")))
    }
}

fn parse_anchor(a: &Anchor) -> Result<i64, ConnectorError> {
    if a.0.is_empty() {
        return Ok(0);
    }
    a.0.parse().map_err(|_| ConnectorError::BadUrl(format!("anchor {:?} is not a SQLite anchor", a.0)))
}
