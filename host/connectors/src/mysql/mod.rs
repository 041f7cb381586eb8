//! MySQL and MariaDB: tracking tables and triggers in the synced database,
//! prefixed `hubsync_`.
//!
//! Gap safety without serializing writers: MySQL offers triggers no
//! transaction snapshot to order by, so triggers record a change with *no*
//! sequence number (`hubsync_seq` NULL), and the reader numbers changes when
//! it reads them. Numbering (`sequence`) takes the table's row in
//! `hubsync_counter` (only readers ever lock it), locks the committed
//! unnumbered tracking rows that no transaction holds (`FOR UPDATE SKIP
//! LOCKED`, READ COMMITTED: an application's uncommitted change is neither
//! seen nor waited for) and gives them the next numbers. A change that
//! commits later is numbered later, so a reader never skips one; a row an
//! open transaction holds is simply numbered on a later read. Applications
//! writing a tracked table take no lock beyond their own rows' tracking rows
//! (the former per-table counter row serialized them and closed deadlock
//! cycles between them).
//!
//! No echo: `apply` sets the session variable `@hubsync_origin`, which the
//! triggers record, and clears it before the connection is reused.
//!
//! Sessions run with `time_zone = '+00:00'`; zone-aware values are stored
//! as UTC in DATETIME(6) (MySQL's TIMESTAMP ends in 2038).

use futures_util::TryStreamExt;
use hubsync_core::{
    Anchor, ApplyOp, ChangeBatch, ChangeMark, Column, ColumnType, ConnectorError, EngineKind, ForeignKey, IndexInfo,
    TableInfo, TableRef, TableSchema, UnsupportedColumn,
};
use hubsync_core::{ConnectOptions, KeyState, Row as ValueRow};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{AssertSqlSafe, Row};
use std::collections::HashMap;
use std::str::FromStr;
use tracing::info;

use crate::common::{self, Meta, Run};
use crate::sql::Dialect;

mod layout;
mod types;
mod watch;

use layout::Layout;
use types::{bind, decode, is_exact, mysql_column_type, mysql_facets, raw, read_expr, tagged_type};

const D: Dialect = Dialect::Backtick;
const ENGINE: EngineKind = EngineKind::Mysql;
/// Rows per multi-row statement (well under the 65,535 placeholder limit).
const ROWS_PER_STATEMENT: usize = 1000;

/// The capture scheme, recorded in the registry's `format` column: 1 took
/// numbers from the counter row in the triggers; 2 numbers at read time;
/// 3 has triggers that stand aside while hubsync bulk-loads the table.
const CAPTURE: i64 = 3;
/// The first scheme that numbers at read time.
const NUMBERED_AT_READ: i64 = 2;

/// A MySQL or MariaDB database.
pub struct Mysql {
    pool: MySqlPool,
    /// Bytes of row data a read batch holds at most.
    read_bytes: usize,
    /// Row sizes seen per table, to size reads.
    sizes: common::RowSizes,
    /// The server's `max_allowed_packet`, once read: no statement may be larger.
    packet_bytes: std::sync::OnceLock<usize>,
    /// The server's binary no-pad utf8mb4 collation (if any), once read.
    exact: std::sync::OnceLock<Option<String>>,
}

fn db(operation: impl Into<String>) -> impl FnOnce(sqlx::Error) -> ConnectorError {
    common::db_error(ENGINE, operation)
}

impl Mysql {
    /// The server's `max_allowed_packet`, read once.
    async fn packet_bytes(&self) -> Result<usize, ConnectorError> {
        if let Some(&p) = self.packet_bytes.get() {
            return Ok(p);
        }
        let p: i64 = sqlx::query_scalar("SELECT CAST(@@max_allowed_packet AS SIGNED)")
            .fetch_one(&self.pool)
            .await
            .map_err(db("reading max_allowed_packet"))?;
        let p = usize::try_from(p).unwrap_or(16 << 20).max(1 << 20);
        Ok(*self.packet_bytes.get_or_init(|| p))
    }

    /// The tracking table's key columns: the base table's own types, text in
    /// the server's binary no-pad collation, so two keys the base table
    /// keeps apart never share a tracking row.
    async fn tracking_key_defs(&self, t: &TableRef, keys: &[&str]) -> Result<String, ConnectorError> {
        let rows = sqlx::query(
            "SELECT COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        )
        .bind(&t.name)
        .fetch_all(&self.pool)
        .await
        .map_err(db(format!("reading the key columns of {t}")))?;
        let exact = self.exact_collation().await?;
        let mut defs = Vec::new();
        for k in keys {
            let Some(r) = rows.iter().find(|r| r.get::<String, _>(0) == *k) else {
                return Err(ConnectorError::Refused {
                    table: t.clone(),
                    reason: format!("key column {k:?} is missing"),
                });
            };
            let (ty, charset): (String, Option<String>) = (r.get(1), r.get(2));
            let collate = match charset.as_deref() {
                Some("utf8mb4") => {
                    format!(" CHARACTER SET utf8mb4 COLLATE {}", exact.as_deref().unwrap_or("utf8mb4_bin"))
                }
                Some(cs) => format!(" CHARACTER SET {cs} COLLATE {cs}_bin"),
                None => String::new(),
            };
            defs.push(format!("{} {ty}{collate} NOT NULL", D.quote(k)));
        }
        Ok(defs.join(", "))
    }

    /// The server's binary no-pad utf8mb4 collation, if it has one (read once).
    async fn exact_collation(&self) -> Result<Option<String>, ConnectorError> {
        if let Some(e) = self.exact.get() {
            return Ok(e.clone());
        }
        let e: Option<String> = sqlx::query_scalar(
            "SELECT COLLATION_NAME FROM information_schema.COLLATIONS \
             WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin') ORDER BY COLLATION_NAME DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db("reading the server's collations"))?;
        Ok(self.exact.get_or_init(|| e).clone())
    }

    /// One transaction of [`Connector::apply`](hubsync_core::Connector::apply).
    /// Unless `may_wait`, it does not wait for row locks (MariaDB:
    /// `innodb_lock_wait_timeout = 0`; MySQL accepts 1 s at least): InnoDB
    /// resolves a lock cycle at once by rolling back the transaction with
    /// fewer changes, which would be the application's, so hubsync must never
    /// be waiting inside one.
    async fn apply_once(
        &self,
        table: &TableSchema,
        ops: &[ApplyOp],
        origin: &str,
        may_wait: bool,
        load: Option<i64>,
    ) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        let what = format!("applying {} changes to {t}", ops.len());
        let base = D.table(&t);
        let cols: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        let keys: Vec<&str> = table.primary_key.iter().map(|&i| cols[i]).collect();
        let non_keys: Vec<&str> =
            cols.iter().enumerate().filter(|(i, _)| !table.primary_key.contains(i)).map(|(_, c)| *c).collect();
        // ON DUPLICATE KEY needs an assignment even when every column is a key.
        let update = if non_keys.is_empty() { &keys } else { &non_keys };
        let on_dup = update.iter().map(|c| format!("{0} = VALUES({0})", D.quote(c))).collect::<Vec<_>>().join(", ");
        let packet = self.packet_bytes().await?;
        // A row the server cannot take in one packet is refused before it is
        // sent (the server would drop the connection).
        if let Some(big) = ops.iter().find_map(|op| match op {
            ApplyOp::Upsert(r) if common::row_bytes(r) + 1024 > packet => Some(common::row_bytes(r)),
            _ => None,
        }) {
            return Err(ConnectorError::Rejected {
                engine: ENGINE,
                operation: what,
                cause: format!(
                    "the row is {big} bytes, more than this server's max_allowed_packet ({packet} bytes) allows in \
                     one statement; raise it on the server (SET GLOBAL max_allowed_packet = {}; and in the \
                     server's configuration) and retry with `hubsync quarantine --retry`",
                    (big + (1 << 20)).next_power_of_two()
                ),
                column: None,
                foreign_key: false,
            });
        }
        let mut conn = self.pool.acquire().await.map_err(db(what.clone()))?;
        sqlx::query("SET @hubsync_origin = ?, @hubsync_loading = ?")
            .bind(origin)
            .bind(load)
            .execute(&mut *conn)
            .await
            .map_err(db(what.clone()))?;
        // A load's tracking entries: the keys just upserted as the table
        // stores them, numbered here: under the table's counter row, as
        // provisioning numbers the rows already there (a reader numbering
        // them instead would update each entry again).
        let record = load.map(|id| {
            let kl = D.list("", keys.iter().copied());
            (
                format!(
                    "INSERT INTO {} ({kl}, hubsync_seq, hubsync_deleted, hubsync_origin, hubsync_changed_at) \
                     SELECT {kl}, ? + ROW_NUMBER() OVER (), 0, ?, CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED) FROM {base} \
                     WHERE ({kl}) IN (",
                    D.quote(&format!("hubsync_track_{id}"))
                ),
                ") ON DUPLICATE KEY UPDATE hubsync_seq = VALUES(hubsync_seq), hubsync_deleted = VALUES(hubsync_deleted), \
                 hubsync_origin = VALUES(hubsync_origin), hubsync_changed_at = VALUES(hubsync_changed_at)",
            )
        });
        if !may_wait {
            sqlx::query("SET SESSION innodb_lock_wait_timeout = 0")
                .execute(&mut *conn)
                .await
                .map_err(db(what.clone()))?;
        }
        let result: Result<(), ConnectorError> = async {
            let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(db(what.clone()))?;
            // The last number taken, when this load numbers its entries.
            let mut numbered: Option<i64> = None;
            for run in common::runs(table, ops) {
                let (rows, width, kind) = match &run {
                    Run::Upserts(r) => (r, cols.len(), true),
                    Run::Deletes(k) => (k, keys.len(), false),
                };
                // A statement holds at most 65,535 placeholders and
                // `max_allowed_packet` bytes.
                for chunk in common::statement_chunks(rows, width, ROWS_PER_STATEMENT, 65_535, packet / 2) {
                    let tuple = format!("({})", vec!["?"; width].join(", "));
                    let tuples = vec![tuple.as_str(); chunk.len()].join(", ");
                    let sql = if kind {
                        format!(
                            "INSERT INTO {base} ({}) VALUES {tuples} ON DUPLICATE KEY UPDATE {on_dup}",
                            D.list("", cols.iter().copied())
                        )
                    } else {
                        format!("DELETE FROM {base} WHERE ({}) IN ({tuples})", D.list("", keys.iter().copied()))
                    };
                    let mut q = sqlx::query(AssertSqlSafe(sql));
                    for row in chunk {
                        for v in row.iter() {
                            q = bind(q, v);
                        }
                    }
                    q.execute(&mut *tx).await.map_err(db(what.clone()))?;
                    if let (Some((head, tail)), true) = (&record, kind) {
                        let key_tuple = format!("({})", vec!["?"; keys.len()].join(", "));
                        let sql = format!("{head}{}{tail}", vec![key_tuple.as_str(); chunk.len()].join(", "));
                        let start = match (numbered, load) {
                            (Some(n), _) => n,
                            (None, Some(id)) => sqlx::query_scalar(AssertSqlSafe(format!(
                                "SELECT v FROM hubsync_counter WHERE id = {id} FOR UPDATE"
                            )))
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(db(what.clone()))?,
                            (None, None) => 0,
                        };
                        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(start).bind(origin);
                        for row in chunk {
                            for &k in &table.primary_key {
                                q = bind(q, &row[k]);
                            }
                        }
                        q.execute(&mut *tx).await.map_err(db(what.clone()))?;
                        numbered = Some(start + chunk.len() as i64);
                    }
                }
            }
            if let (Some(n), Some(id)) = (numbered, load) {
                sqlx::query(AssertSqlSafe(format!("UPDATE hubsync_counter SET v = ? WHERE id = {id}")))
                    .bind(n)
                    .execute(&mut *tx)
                    .await
                    .map_err(db(what.clone()))?;
            }
            tx.commit().await.map_err(db(what.clone()))
        }
        .await;
        // The marker and the lock timeout must never outlive this apply on a pooled connection.
        if sqlx::query(
            "SET @hubsync_origin = NULL, @hubsync_loading = NULL, SESSION innodb_lock_wait_timeout = DEFAULT",
        )
        .execute(&mut *conn)
        .await
        .is_err()
        {
            conn.close_on_drop();
        }
        result
    }

    /// The numbering transaction of [`Mysql::sequence`]: how many were numbered.
    async fn number(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::MySql>,
        id: i64,
        table: &TableSchema,
        limit: usize,
    ) -> Result<u64, ConnectorError> {
        let what = "numbering captured changes";
        let track = D.quote(&format!("hubsync_track_{id}"));
        let keys = D.list("", table.primary_key.iter().map(|&i| table.columns[i].name.as_str()));
        // READ COMMITTED: only committed tracking rows are seen, and no gap locks taken.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED").execute(&mut **conn).await.map_err(db(what))?;
        // (No `innodb_lock_wait_timeout = 0` here: MariaDB 10.11 then fails
        // the COMMIT of a transaction that skipped locked rows, error 1180.
        // The locking read skips held rows, and the UPDATE touches only the
        // rows it locked, by primary key, so nothing here waits on an
        // application.)
        let mut tx = sqlx::Connection::begin(&mut **conn).await.map_err(db(what))?;
        let top: i64 =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT v FROM hubsync_counter WHERE id = {id} FOR UPDATE")))
                .fetch_one(&mut *tx)
                .await
                .map_err(db(what))?;

        // The committed, unnumbered rows nobody holds, in change order; SKIP
        // LOCKED never waits (a row an application holds is numbered later).
        let key_cols: Vec<&Column> = table.primary_key.iter().map(|&i| &table.columns[i]).collect();
        let key_exprs: Vec<String> = key_cols.iter().map(|k| read_expr(k.kind, &D.quote(&k.name))).collect();
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM {track} WHERE hubsync_seq IS NULL ORDER BY hubsync_changed_at LIMIT {limit} \
             FOR UPDATE SKIP LOCKED",
            key_exprs.join(", ")
        )))
        .fetch_all(&mut *tx)
        .await
        .map_err(db(what))?;
        let t = TableRef::of(table);
        let mut keys_held = Vec::with_capacity(rows.len());
        for r in &rows {
            let key = key_cols.iter().enumerate().map(|(i, c)| decode(&t, c, r, i)).collect::<Result<Vec<_>, _>>()?;
            keys_held.push(key);
        }
        sqlx::query("SET @hubsync_seq = ?").bind(top).execute(&mut *tx).await.map_err(db(what))?;
        let tuple = format!("({})", vec!["?"; key_cols.len()].join(", "));
        let mut numbered = 0;
        // Only the rows locked above are touched (by key), in change order.
        for chunk in keys_held.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE {track} FORCE INDEX (PRIMARY) SET hubsync_seq = (@hubsync_seq := @hubsync_seq + 1) \
                 WHERE ({keys}) IN ({}) ORDER BY hubsync_changed_at, {keys}",
                vec![tuple.as_str(); chunk.len()].join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for key in chunk {
                for v in key {
                    q = bind(q, v);
                }
            }
            numbered += q.execute(&mut *tx).await.map_err(db(what))?.rows_affected();
        }
        if numbered > 0 {
            sqlx::query(AssertSqlSafe(format!("UPDATE hubsync_counter SET v = @hubsync_seq WHERE id = {id}")))
                .execute(&mut *tx)
                .await
                .map_err(db(what))?;
        }
        tx.commit().await.map_err(db(what))?;
        Ok(numbered)
    }

    /// Number up to `limit` committed, unnumbered changes of tracking table
    /// `id` that no transaction holds (see the module doc). Returns how many
    /// were numbered and whether committed unnumbered changes are left
    /// (held by transactions still open).
    async fn sequence(&self, id: i64, table: &TableSchema, limit: usize) -> Result<(u64, bool), ConnectorError> {
        let what = "numbering captured changes";
        let track = D.quote(&format!("hubsync_track_{id}"));
        let mut conn = self.pool.acquire().await.map_err(db(what))?;
        let numbered = match self.number(&mut conn, id, table, limit).await {
            // Another transaction held a row after all: number it next time.
            Err(ConnectorError::LockConflict { .. }) => 0,
            other => other?,
        };
        let left: Option<i64> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT 1 FROM {track} WHERE hubsync_seq IS NULL LIMIT 1")))
                .fetch_optional(&mut *conn)
                .await
                .map_err(db(what))?;
        Ok((numbered, left.is_some()))
    }

    /// Connect to `mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE`.
    pub async fn open(url: &str) -> Result<Mysql, ConnectorError> {
        Self::open_with(url, &ConnectOptions::default()).await
    }

    /// [`Mysql::open`] with explicit timeouts.
    pub async fn open_with(url: &str, o: &ConnectOptions) -> Result<Mysql, ConnectorError> {
        let options = MySqlConnectOptions::from_str(url)
            .map_err(|e| ConnectorError::BadUrl(format!("{} is not a MySQL URL: {e}", crate::redact(url))))?
            .timezone(Some("+00:00".to_owned()))
            .charset("utf8mb4");
        let options = common::quiet_slow(options);
        common::probe(url, &options, o.connect_timeout).await?;
        let statement_ms = o.statement_timeout.map(|t| t.as_millis());
        let pool = MySqlPoolOptions::new()
            .max_connections(4)
            // Connections idle for half a minute close: `hubsync serve`
            // holds a pool per member, and a hundred members of one server
            // each keeping four would pass its connection limit.
            .idle_timeout(common::IDLE_CONNECTION)
            .acquire_timeout(o.connect_timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if let Some(ms) = statement_ms {
                        // MariaDB counts seconds for every statement; MySQL
                        // has only a limit on reads, in milliseconds.
                        let mariadb = format!("SET SESSION max_statement_time = {}", ms as f64 / 1000.0);
                        if sqlx::query(AssertSqlSafe(mariadb)).execute(&mut *conn).await.is_err() {
                            let mysql = format!("SET SESSION max_execution_time = {ms}");
                            sqlx::query(AssertSqlSafe(mysql)).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| common::connect_error(url, &e, o.connect_timeout))?;
        Ok(Mysql {
            pool,
            read_bytes: o.read_bytes,
            sizes: Default::default(),
            packet_bytes: std::sync::OnceLock::new(),
            exact: std::sync::OnceLock::new(),
        })
    }

    async fn ensure_meta(&self) -> Result<(), ConnectorError> {
        for s in [
            "CREATE TABLE IF NOT EXISTS hubsync_tables (id BIGINT AUTO_INCREMENT PRIMARY KEY, \
             namespace VARCHAR(64) NOT NULL, name VARCHAR(64) NOT NULL, format INT NOT NULL, columns TEXT NOT NULL, \
             UNIQUE KEY (namespace, name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            "CREATE TABLE IF NOT EXISTS hubsync_counter (id BIGINT PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB",
        ] {
            sqlx::query(s).execute(&self.pool).await.map_err(db("creating hubsync's tables"))?;
        }
        Ok(())
    }

    async fn registered(&self, t: &TableRef) -> Result<Option<Meta>, ConnectorError> {
        if !self.has_registry().await? {
            return Ok(None);
        }
        let row = sqlx::query("SELECT id, columns FROM hubsync_tables WHERE namespace = ? AND name = ?")
            .bind(t.namespace.as_deref().unwrap_or(""))
            .bind(&t.name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading hubsync's table registry"))?;
        Ok(row.map(|r| Meta { id: r.get(0), columns: r.get(1) }))
    }

    /// The registry id of `t` when it can be bulk-loaded: provisioned with
    /// triggers that stand aside for loads, and no triggers of its own
    /// (they might write rows of it a load would not record).
    async fn loading(&self, t: &TableRef) -> Result<Option<i64>, ConnectorError> {
        if !self.has_registry().await? {
            return Ok(None);
        }
        let row: Option<(i64, i64, i64)> = sqlx::query_as(
            "SELECT r.id, r.format, (SELECT count(*) FROM information_schema.TRIGGERS g \
             WHERE g.EVENT_OBJECT_SCHEMA = DATABASE() AND g.EVENT_OBJECT_TABLE = ? \
             AND g.TRIGGER_NAME NOT LIKE 'hubsync\\_%') \
             FROM hubsync_tables r WHERE r.namespace = ? AND r.name = ?",
        )
        .bind(&t.name)
        .bind(t.namespace.as_deref().unwrap_or(""))
        .bind(&t.name)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(format!("reading how {t} is tracked")))?;
        Ok(row.filter(|&(_, format, others)| format >= CAPTURE && others == 0).map(|(id, _, _)| id))
    }

    /// Whether hubsync's table registry exists here.
    async fn has_registry(&self) -> Result<bool, ConnectorError> {
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'hubsync_tables'",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db("reading hubsync's table registry"))?;
        Ok(exists.is_some())
    }

    /// Every registered table's id by (namespace, name), the namespace
    /// empty for the default one: one read for many tables.
    async fn registry_ids(&self) -> Result<HashMap<(String, String), i64>, ConnectorError> {
        if !self.has_registry().await? {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query("SELECT id, namespace, name FROM hubsync_tables")
            .fetch_all(&self.pool)
            .await
            .map_err(db("reading hubsync's table registry"))?;
        Ok(rows.iter().map(|r| ((r.get(1), r.get(2)), r.get(0))).collect())
    }
}

fn parse_anchor(a: &Anchor) -> Result<i64, ConnectorError> {
    if a.0.is_empty() {
        return Ok(0);
    }
    a.0.parse().map_err(|_| ConnectorError::BadUrl(format!("anchor {:?} is not a MySQL anchor", a.0)))
}

#[async_trait::async_trait]
impl hubsync_core::Connector for Mysql {
    fn engine(&self) -> EngineKind {
        ENGINE
    }

    async fn identity(&self) -> Result<Option<String>, ConnectorError> {
        let read = "SELECT id FROM hubsync_database WHERE one = 1";
        // Asked before every sync: one read when the id exists.
        if let Ok(Some(id)) = sqlx::query_scalar::<_, String>(read).fetch_optional(&self.pool).await {
            return Ok(Some(id));
        }
        // `one` admits a single row; INSERT IGNORE keeps the first id made
        // when two processes ask at once.
        for s in [
            "CREATE TABLE IF NOT EXISTS hubsync_database (one TINYINT NOT NULL PRIMARY KEY, \
             id VARCHAR(64) NOT NULL) ENGINE=InnoDB",
            "INSERT IGNORE INTO hubsync_database (one, id) \
             VALUES (1, MD5(CONCAT(UUID(), RAND(), CONNECTION_ID())))",
        ] {
            sqlx::query(s).execute(&self.pool).await.map_err(db("recording the database's hubsync identity"))?;
        }
        let id: String = sqlx::query_scalar(read)
            .fetch_one(&self.pool)
            .await
            .map_err(db("reading the database's hubsync identity"))?;
        Ok(Some(id))
    }

    async fn introspect(&self) -> Result<Vec<TableInfo>, ConnectorError> {
        let cols = sqlx::query(
            "SELECT c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE, c.COLUMN_COMMENT, \
             c.COLLATION_NAME \
             FROM information_schema.COLUMNS c JOIN information_schema.TABLES t \
             ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME \
             WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' AND c.TABLE_NAME NOT LIKE 'hubsync\\_%' \
             ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading columns"))?;
        let stats = sqlx::query(
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'hubsync\\_%' AND COLUMN_NAME IS NOT NULL \
             ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading indexes"))?;
        let mut out: Vec<TableInfo> = Vec::new();
        for c in cols {
            let (table, name, data_type, column_type, nullable): (String, String, String, String, String) =
                (c.get(0), c.get(1), c.get(2), c.get(3), c.get(4));
            let (comment, collation): (String, Option<String>) = (c.get(5), c.get(6));
            if out.last().is_none_or(|t| t.schema.name != table) {
                out.push(TableInfo {
                    schema: TableSchema::new(table),
                    indexes: Vec::new(),
                    unsupported: Vec::new(),
                    foreign_keys: Vec::new(),
                });
            }
            let t = out.last_mut().expect("pushed above");
            match mysql_column_type(&data_type, &column_type).map(|k| tagged_type(k, &data_type, &comment)) {
                Some(kind) => t.schema.columns.push(Column {
                    name,
                    kind,
                    nullable: nullable == "YES",
                    facets: mysql_facets(kind, &data_type, &column_type),
                    declared_type: Some(column_type),
                    folding: collation.filter(|c| kind == ColumnType::Text && !is_exact(c)),
                }),
                None => t.unsupported.push(UnsupportedColumn { column: name, declared_type: column_type }),
            }
        }
        for s in stats {
            let (table, index, non_unique, column): (String, String, i64, String) =
                (s.get(0), s.get(1), s.get(2), s.get(3));
            let Some(t) = out.iter_mut().find(|t| t.schema.name == table) else { continue };
            if index == "PRIMARY" {
                match t.schema.index_of(&column) {
                    Some(c) => t.schema.primary_key.push(c),
                    None => t.schema.primary_key.clear(),
                }
                continue;
            }
            match t.indexes.last_mut() {
                Some(i) if i.name == index => i.columns.push(column),
                _ => t.indexes.push(IndexInfo { name: index, columns: vec![column], unique: non_unique == 0 }),
            }
        }
        let fks = sqlx::query(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME FROM information_schema.KEY_COLUMN_USAGE \
             WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL \
             ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading foreign keys"))?;
        for f in fks {
            let (table, name, column, parent): (String, String, String, String) =
                (f.get(0), f.get(1), f.get(2), f.get(3));
            let Some(t) = out.iter_mut().find(|t| t.schema.name == table) else { continue };
            match t.foreign_keys.last_mut() {
                Some(k) if k.name == name => k.columns.push(column),
                _ => t.foreign_keys.push(ForeignKey {
                    name,
                    columns: vec![column],
                    references: TableRef { namespace: None, name: parent },
                }),
            }
        }
        for t in &mut out {
            for &k in &t.schema.primary_key {
                t.schema.columns[k].nullable = false;
            }
        }
        Ok(out)
    }

    async fn provision(&self, table: &TableSchema) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        common::check_selection(table)?;
        if t.namespace.is_some() {
            return Err(ConnectorError::Refused {
                table: t,
                reason: "a MySQL connection syncs the tables of its own database; leave the namespace empty".into(),
            });
        }
        self.ensure_meta().await?;
        let columns = common::fingerprint(table);
        let existing = self.registered(&t).await?;
        // Tables provisioned by a hubsync with the counter-row triggers move
        // to the current capture scheme, keeping their tracking rows.
        let scheme: i64 = match &existing {
            Some(m) => sqlx::query_scalar("SELECT format FROM hubsync_tables WHERE id = ?")
                .bind(m.id)
                .fetch_one(&self.pool)
                .await
                .map_err(db("reading hubsync's table registry"))?,
            None => CAPTURE,
        };
        let change = common::reprovision(existing.as_ref().map(|m| m.columns.as_str()), &columns);
        let announce_again =
            change == common::Reprovision::Columns && existing.as_ref().is_some_and(|m| m.columns != columns);
        let id: i64 = match existing {
            Some(m) if m.columns == columns && scheme >= CAPTURE => return Ok(()),
            Some(m) => {
                sqlx::query("UPDATE hubsync_tables SET columns = ?, format = ? WHERE id = ?")
                    .bind(&columns)
                    .bind(CAPTURE)
                    .bind(m.id)
                    .execute(&self.pool)
                    .await
                    .map_err(db("updating the table registry"))?;
                m.id
            }
            None => {
                let r =
                    sqlx::query("INSERT INTO hubsync_tables (namespace, name, format, columns) VALUES ('', ?, ?, ?)")
                        .bind(&t.name)
                        .bind(CAPTURE)
                        .bind(&columns)
                        .execute(&self.pool)
                        .await
                        .map_err(db("registering the table"))?;
                r.last_insert_id() as i64
            }
        };
        let track = D.quote(&format!("hubsync_track_{id}"));
        let base = D.table(&t);
        let keys: Vec<&Column> = table.primary_key.iter().map(|&i| &table.columns[i]).collect();
        let key_names: Vec<&str> = keys.iter().map(|c| c.name.as_str()).collect();
        let kl = D.list("", key_names.iter().copied());
        let key_defs = self.tracking_key_defs(&t, &key_names).await?;
        let meta = "hubsync_seq, hubsync_deleted, hubsync_origin, hubsync_changed_at";
        let now = "CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)";
        // MySQL DDL commits implicitly; each statement is idempotent instead.
        let mut stmts = Vec::new();
        if change == common::Reprovision::Key {
            stmts.push(format!("DROP TABLE IF EXISTS {track}"));
        }
        stmts.extend([
            format!(
                "CREATE TABLE IF NOT EXISTS {track} ({key_defs}, hubsync_seq BIGINT NULL, hubsync_deleted BOOLEAN NOT NULL, \
                 hubsync_origin VARCHAR(255), hubsync_changed_at BIGINT NOT NULL, PRIMARY KEY ({kl}), \
                 KEY (hubsync_seq, hubsync_changed_at)) \
                 ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
            ),
            format!("INSERT IGNORE INTO hubsync_counter (id, v) VALUES ({id}, 0)"),
        ]);
        if scheme < NUMBERED_AT_READ {
            stmts.push(format!("ALTER TABLE {track} MODIFY hubsync_seq BIGINT NULL"));
        }
        for kind in ["ins", "upd", "del"] {
            stmts.push(format!("DROP TRIGGER IF EXISTS {}", D.quote(&format!("hubsync_{kind}_{id}"))));
        }
        // A change is recorded unnumbered; readers number it (see the module doc).
        let record = |prefix: &str, deleted: bool| {
            format!(
                "INSERT INTO {track} ({kl}, {meta}) VALUES ({}, NULL, {deleted}, @hubsync_origin, {now}) \
                 ON DUPLICATE KEY UPDATE hubsync_seq = NULL, hubsync_deleted = VALUES(hubsync_deleted), \
                 hubsync_origin = VALUES(hubsync_origin), hubsync_changed_at = VALUES(hubsync_changed_at);",
                D.list(prefix, key_names.iter().copied())
            )
        };
        let key_changed =
            key_names.iter().map(|k| format!("NOT (OLD.{0} <=> NEW.{0})", D.quote(k))).collect::<Vec<_>>().join(" OR ");
        // A session bulk-loading this table records its entries itself
        // (`@hubsync_loading` names the table in that session only).
        let gate = format!("NOT (@hubsync_loading <=> {id})");
        stmts.push(format!(
            "CREATE TRIGGER {} AFTER INSERT ON {base} FOR EACH ROW BEGIN IF {gate} THEN {} END IF; END",
            D.quote(&format!("hubsync_ins_{id}")),
            record("NEW.", false)
        ));
        stmts.push(format!(
            "CREATE TRIGGER {} AFTER UPDATE ON {base} FOR EACH ROW BEGIN IF {gate} THEN \
             IF {key_changed} THEN {} END IF; {} END IF; END",
            D.quote(&format!("hubsync_upd_{id}")),
            record("OLD.", true),
            record("NEW.", false)
        ));
        stmts.push(format!(
            "CREATE TRIGGER {} AFTER DELETE ON {base} FOR EACH ROW BEGIN IF {gate} THEN {} END IF; END",
            D.quote(&format!("hubsync_del_{id}")),
            record("OLD.", true)
        ));
        for s in stmts {
            sqlx::query(AssertSqlSafe(s)).execute(&self.pool).await.map_err(db(format!("provisioning {t}")))?;
        }
        // Rows present before provisioning are changes for the initial sync,
        // numbered here (the counter row orders this against readers).
        let mut tx = self.pool.begin().await.map_err(db(format!("provisioning {t}")))?;
        let start: i64 =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT v FROM hubsync_counter WHERE id = {id} FOR UPDATE")))
                .fetch_one(&mut *tx)
                .await
                .map_err(db(format!("provisioning {t}")))?;
        if announce_again {
            // Announce tracked rows again so new columns are backfilled:
            // unnumbered, they are read (and numbered) as new changes.
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE {track} SET hubsync_seq = NULL, hubsync_changed_at = {now} WHERE NOT hubsync_deleted"
            )))
            .execute(&mut *tx)
            .await
            .map_err(db(format!("provisioning {t}")))?;
        }
        let added = sqlx::query(AssertSqlSafe(format!(
            "INSERT IGNORE INTO {track} ({kl}, {meta}) SELECT {kl}, ? + ROW_NUMBER() OVER (), 0, NULL, {now} FROM {base}"
        )))
        .bind(start)
        .execute(&mut *tx)
        .await
        .map_err(db(format!("provisioning {t}")))?
        .rows_affected();
        sqlx::query(AssertSqlSafe(format!("UPDATE hubsync_counter SET v = ? WHERE id = {id}")))
            .bind(start + added as i64)
            .execute(&mut *tx)
            .await
            .map_err(db(format!("provisioning {t}")))?;
        tx.commit().await.map_err(db(format!("provisioning {t}")))
    }

    async fn deprovision(&self, t: &TableRef) -> Result<(), ConnectorError> {
        let Some(m) = self.registered(t).await? else { return Ok(()) };
        let mut stmts: Vec<String> = ["ins", "upd", "del"]
            .iter()
            .map(|k| format!("DROP TRIGGER IF EXISTS {}", D.quote(&format!("hubsync_{k}_{}", m.id))))
            .collect();
        stmts.push(format!("DROP TABLE IF EXISTS {}", D.quote(&format!("hubsync_track_{}", m.id))));
        stmts.push(format!("DELETE FROM hubsync_counter WHERE id = {}", m.id));
        stmts.push(format!("DELETE FROM hubsync_tables WHERE id = {}", m.id));
        for s in stmts {
            sqlx::query(AssertSqlSafe(s)).execute(&self.pool).await.map_err(db(format!("deprovisioning {t}")))?;
        }
        Ok(())
    }

    async fn deprovision_all(&self) -> Result<(), ConnectorError> {
        let triggers: Vec<String> = sqlx::query_scalar(
            "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
             AND TRIGGER_NAME LIKE 'hubsync\\_%'",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing hubsync's triggers"))?;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME LIKE 'hubsync\\_%'",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing hubsync's tables"))?;
        let stmts = triggers
            .iter()
            .map(|n| format!("DROP TRIGGER IF EXISTS {}", D.quote(n)))
            .chain(tables.iter().map(|n| format!("DROP TABLE IF EXISTS {}", D.quote(n))));
        for s in stmts {
            sqlx::query(AssertSqlSafe(s)).execute(&self.pool).await.map_err(db("removing hubsync's objects"))?;
        }
        Ok(())
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
        let keys: Vec<&Column> = table.primary_key.iter().map(|&i| &table.columns[i]).collect();
        let join = keys.iter().map(|k| format!("b.{0} = tr.{0}", D.quote(&k.name))).collect::<Vec<_>>().join(" AND ");
        let key_exprs: Vec<String> =
            keys.iter().map(|k| read_expr(k.kind, &format!("tr.{}", D.quote(&k.name)))).collect();
        let col_exprs: Vec<String> =
            table.columns.iter().map(|c| read_expr(c.kind, &format!("b.{}", D.quote(&c.name)))).collect();
        let scan = format!(
            "SELECT * FROM {} WHERE hubsync_seq > ? ORDER BY hubsync_seq LIMIT ?",
            D.quote(&format!("hubsync_track_{}", m.id))
        );
        // With `echo`, a run of echoes comes as its last entry (the
        // position the next read starts from), without its row; the
        // entries at the end of the scan come whatever they are, so a read
        // always moves on. `hubsync_pos` is an entry's place in the scan.
        // (Parameters in order: echo, echo, after, ask, ask - 1. MariaDB's
        // LEAD takes no default.)
        let scanned = match echo {
            None => format!("SELECT s.*, 0 AS hubsync_pos FROM ({scan}) s"),
            Some(_) => format!(
                "SELECT * FROM (SELECT s.*, (s.hubsync_origin <=> ?) AS hubsync_echo, \
                 COALESCE(LEAD(s.hubsync_origin <=> ?, 1) OVER (ORDER BY s.hubsync_seq), 0) AS hubsync_next_echo, \
                 ROW_NUMBER() OVER (ORDER BY s.hubsync_seq) AS hubsync_pos FROM ({scan}) s) w \
                 WHERE NOT hubsync_echo OR NOT hubsync_next_echo OR hubsync_pos >= ?"
            ),
        };
        let sql = format!(
            "SELECT tr.hubsync_seq, CAST(tr.hubsync_deleted OR b.{} IS NULL AS SIGNED), tr.hubsync_origin, tr.hubsync_changed_at, \
             {}, {}, CAST(tr.hubsync_pos AS SIGNED) FROM ({scanned}) tr \
             LEFT JOIN {} b ON {join}{} ORDER BY tr.hubsync_seq",
            D.quote(&keys[0].name),
            key_exprs.join(", "),
            col_exprs.join(", "),
            D.table(&t),
            // An echo's row is not read (see `read_changes_skipping`).
            if echo.is_some() { " AND NOT tr.hubsync_echo" } else { "" },
        );
        let pos_at = 4 + keys.len() + table.columns.len();
        let (numbered, unnumbered_left) = self.sequence(m.id, table, limit).await?;
        let what = format!("reading changes of {t}");
        // Streamed: the batch ends at `limit` rows or `read_bytes` bytes.
        let mut batch = self.sizes.start(m.id, limit, self.read_bytes);
        let ask = batch.cap() as i64 + 1;
        let mut query = sqlx::query(AssertSqlSafe(sql));
        query = match echo {
            Some(echo) => query.bind(echo).bind(echo).bind(after).bind(ask).bind(ask - 1),
            None => query.bind(after).bind(ask),
        };
        let mut rows = query.fetch(&self.pool);
        let mut full = false;
        let mut last = after;
        while let Some(row) = rows.try_next().await.map_err(db(what.clone()))? {
            // Past the batch: the entry scanned beyond it, or the bytes it holds.
            if batch.full() || row.get::<i64, _>(pos_at) >= ask {
                full = true;
                break;
            }
            let r = &row;
            last = r.get(0);
            let deleted = r.get::<i64, _>(1) != 0;
            let read = common::captured_or_bad(
                table,
                4,
                deleted,
                r.get(3),
                r.get(2),
                |c, i| decode(&t, c, r, i),
                |i| raw(r, i),
            )?;
            batch.push(read);
        }
        drop(rows);
        self.sizes.finish(m.id, &batch);
        let (changes, unreadable) = (batch.changes, batch.unreadable);
        // More to read: a full batch, or as many newly numbered as asked for.
        let more = full || numbered >= limit as u64;
        // Unnumbered changes left behind are held by open transactions.
        let pending = !more && unnumbered_left;
        Ok(ChangeBatch { changes, unreadable, next: Anchor(last.to_string()), more, pending })
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
            |i| format!("CAST({i} AS SIGNED)"),
            |table, since| {
                let Some(id) = ids.get(&(table.namespace.clone().unwrap_or_default(), table.name.clone())) else {
                    return Ok(None);
                };
                // A parsed integer, so spelled inline. Changes not numbered yet wait too.
                let after = parse_anchor(since)?;
                let track = D.quote(&format!("hubsync_track_{id}"));
                Ok(Some(format!("SELECT 1 FROM {track} WHERE hubsync_seq > {after} OR hubsync_seq IS NULL")))
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
        poll: std::time::Duration,
    ) -> Result<Option<Box<dyn hubsync_core::ChangeWatch>>, ConnectorError> {
        let ids = self.registry_ids().await?;
        let ids =
            common::watched(tables, |t| ids.get(&(t.namespace.clone().unwrap_or_default(), t.name.clone())).copied())?;
        let tracks = ids.into_iter().map(|id| D.quote(&format!("hubsync_track_{id}"))).collect();
        Ok(Some(watch::open(self.pool.clone(), tracks, own, poll).await?))
    }

    async fn pending(&self, table: &TableSchema, since: &Anchor, cap: u64) -> Result<Option<u64>, ConnectorError> {
        let t = TableRef::of(table);
        let Some(m) = self.registered(&t).await? else { return Ok(None) };
        let after = parse_anchor(since)?;
        // Changes not numbered yet (numbered as they are read) wait too.
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM {} WHERE hubsync_seq > ? OR hubsync_seq IS NULL LIMIT ?) c",
            D.quote(&format!("hubsync_track_{}", m.id))
        );
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(after)
            .bind(cap.min(i64::MAX as u64) as i64)
            .fetch_one(&self.pool)
            .await
            .map_err(db(format!("counting the changes of {t}")))?;
        Ok(Some(n as u64))
    }

    async fn apply(&self, table: &TableSchema, ops: &[ApplyOp], origin: &str) -> Result<(), ConnectorError> {
        common::give_way(ops, |part, may_wait| self.apply_once(table, part, origin, may_wait, None)).await
    }

    async fn writes_only_their_keys(&self, table: &TableSchema) -> Result<bool, ConnectorError> {
        // hubsync's trigger records the row it fires for; a trigger of the
        // table's own, or a cascade onto the table itself (which fires no
        // trigger at all here), changes other rows; a key collated loosely
        // (the usual collations ignore case and trailing spaces) lands
        // another key's write on the same row.
        let t = TableRef::of(table);
        let others: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM information_schema.TRIGGERS g WHERE g.EVENT_OBJECT_SCHEMA = DATABASE() \
             AND g.EVENT_OBJECT_TABLE = ? AND g.TRIGGER_NAME NOT LIKE 'hubsync\\_%') \
             + (SELECT count(*) FROM information_schema.REFERENTIAL_CONSTRAINTS c \
             WHERE c.CONSTRAINT_SCHEMA = DATABASE() AND c.TABLE_NAME = ? AND c.REFERENCED_TABLE_NAME = ? \
             AND (c.DELETE_RULE NOT IN ('RESTRICT', 'NO ACTION') OR c.UPDATE_RULE NOT IN ('RESTRICT', 'NO ACTION')))",
        )
        .bind(&t.name)
        .bind(&t.name)
        .bind(&t.name)
        .fetch_one(&self.pool)
        .await
        .map_err(db(format!("reading the triggers and foreign keys of {t}")))?;
        let collations: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = ? AND COLUMN_KEY = 'PRI'",
        )
        .bind(&t.name)
        .fetch_all(&self.pool)
        .await
        .map_err(db(format!("reading the key collations of {t}")))?;
        let exact = collations.iter().flatten().all(|c| is_exact(c));
        Ok(others == 0 && exact && self.registered(&t).await?.is_some())
    }

    async fn load(&self, table: &TableSchema, ops: &[ApplyOp], origin: &str) -> Result<(), ConnectorError> {
        let loading = self.loading(&TableRef::of(table)).await?;
        common::give_way(ops, |part, may_wait| self.apply_once(table, part, origin, may_wait, loading)).await
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
        let key_cols: Vec<&Column> = table.primary_key.iter().map(|&i| &table.columns[i]).collect();
        let n = key_cols.len();
        let on = |alias: &str| {
            key_cols
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{alias}.{} = k.k{i}", D.quote(&c.name)))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let first = format!("SELECT {}", (0..n).map(|i| format!("? AS k{i}")).collect::<Vec<_>>().join(", "));
        let rest = format!(" UNION ALL SELECT {}", vec!["?"; n].join(", "));
        let what = format!("looking up {} keys of {t}", keys.len());
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks((20_000 / n).clamp(1, ROWS_PER_STATEMENT)) {
            let derived = format!("{first}{}", rest.repeat(chunk.len() - 1));
            let sql = format!(
                "SELECT CAST(tr.hubsync_changed_at IS NOT NULL AS SIGNED), tr.hubsync_origin, tr.hubsync_changed_at, \
                 CAST(b.{} IS NOT NULL AS SIGNED), {}, {} FROM ({derived}) k LEFT JOIN {} b ON {} \
                 LEFT JOIN {} tr ON {} AND (tr.hubsync_seq IS NULL OR tr.hubsync_seq > ?)",
                D.quote(&key_cols[0].name),
                (0..n).map(|i| read_expr(key_cols[i].kind, &format!("k.k{i}"))).collect::<Vec<_>>().join(", "),
                table
                    .columns
                    .iter()
                    .map(|c| read_expr(c.kind, &format!("b.{}", D.quote(&c.name))))
                    .collect::<Vec<_>>()
                    .join(", "),
                D.table(&t),
                on("b"),
                D.quote(&format!("hubsync_track_{}", m.id)),
                on("tr"),
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for key in chunk {
                for v in key {
                    q = bind(q, v);
                }
            }
            let rows = q.bind(after).fetch_all(&self.pool).await.map_err(db(what.clone()))?;
            for r in rows {
                let (changed, present): (bool, bool) = (r.get::<i64, _>(0) != 0, r.get::<i64, _>(3) != 0);
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
        let what = format!("purging deletes of {t}");
        let track = D.quote(&format!("hubsync_track_{}", m.id));
        let filter = "hubsync_deleted AND hubsync_seq <= ? AND hubsync_changed_at < ?";
        // Most syncs have nothing to purge: look without locking first.
        let any: Option<i64> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT 1 FROM {track} WHERE {filter} LIMIT 1")))
                .bind(upto)
                .bind(older_than_micros)
                .fetch_optional(&self.pool)
                .await
                .map_err(db(what.clone()))?;
        if any.is_none() {
            return Ok(0);
        }
        // READ COMMITTED skips rows other transactions hold without waiting
        // for them (in REPEATABLE READ the scan would lock every row it
        // reads); no lock wait at all, so an application never meets this
        // purge in a lock cycle. Rows held now are purged by a later sync.
        let mut conn = self.pool.acquire().await.map_err(db(what.clone()))?;
        sqlx::query("SET SESSION innodb_lock_wait_timeout = 0").execute(&mut *conn).await.map_err(db(what.clone()))?;
        let done = async {
            // For the next transaction only.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED").execute(&mut *conn).await?;
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let done = sqlx::query(AssertSqlSafe(format!("DELETE FROM {track} WHERE {filter}")))
                .bind(upto)
                .bind(older_than_micros)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(done)
        }
        .await
        .map_err(db(what.clone()));
        if sqlx::query("SET SESSION innodb_lock_wait_timeout = DEFAULT").execute(&mut *conn).await.is_err() {
            conn.close_on_drop();
        }
        match done {
            Ok(d) => Ok(d.rows_affected()),
            Err(ConnectorError::LockConflict { .. }) => Ok(0),
            Err(e) => Err(e),
        }
    }

    async fn reannounce(&self, table: &TableSchema, keys: &[ValueRow]) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        let m = self.registered(&t).await?.ok_or_else(|| ConnectorError::NotProvisioned(t.clone()))?;
        let track = D.quote(&format!("hubsync_track_{}", m.id));
        let kl = D.list("", table.primary_key.iter().map(|&i| table.columns[i].name.as_str()));
        let what = format!("announcing {} rows of {t} again", keys.len());
        // Unnumbered, they are numbered (after every change so far) and read again.
        let tuple = format!("({})", vec!["?"; table.primary_key.len()].join(", "));
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE {track} SET hubsync_seq = NULL WHERE ({kl}) IN ({})",
                vec![tuple.as_str(); chunk.len()].join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for key in chunk {
                for val in key {
                    q = bind(q, val);
                }
            }
            q.execute(&self.pool).await.map_err(db(what.clone()))?;
        }
        Ok(())
    }

    async fn scan(
        &self,
        table: &TableSchema,
        after: Option<&ValueRow>,
        limit: usize,
    ) -> Result<Vec<KeyState>, ConnectorError> {
        let t = TableRef::of(table);
        let key_cols: Vec<&Column> = table.primary_key.iter().map(|&i| &table.columns[i]).collect();
        let kl = D.list("b.", key_cols.iter().map(|c| c.name.as_str()));
        let filter = match after {
            Some(k) => format!("WHERE ({kl}) > ({})", vec!["?"; k.len()].join(", ")),
            None => String::new(),
        };
        let read = |c: &Column| read_expr(c.kind, &format!("b.{}", D.quote(&c.name)));
        let sql = format!(
            "SELECT {}, {} FROM {} b {filter} ORDER BY {kl} LIMIT ?",
            key_cols.iter().map(|c| read(c)).collect::<Vec<_>>().join(", "),
            table.columns.iter().map(read).collect::<Vec<_>>().join(", "),
            D.table(&t)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for v in after.into_iter().flatten() {
            q = bind(q, v);
        }
        let rows = q.bind(limit as i64).fetch_all(&self.pool).await.map_err(db(format!("reading {t}")))?;
        common::scanned(table, &rows, |r, c, i| decode(&t, c, r, i), raw)
    }

    async fn is_empty(&self, table: &TableRef) -> Result<bool, ConnectorError> {
        let sql = format!("SELECT CAST(NOT EXISTS (SELECT 1 FROM {}) AS SIGNED)", D.table(table));
        let v: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await
            .map_err(db(format!("reading {table}")))?;
        Ok(v != 0)
    }

    async fn create_table(&self, table: &TableSchema, indexes: &[IndexInfo]) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        common::check_selection(table)?;
        let Some(exact) = self.exact_collation().await? else {
            return Err(ConnectorError::Refused {
                table: t,
                reason: "this server has no binary no-pad utf8mb4 collation (utf8mb4_nopad_bin, MariaDB 10.2+; \
                         utf8mb4_0900_bin, MySQL 8.0.17+), which keys hubsync creates need to compare as on the hub; \
                         upgrade the server or create the table yourself"
                    .into(),
            });
        };
        let indexed = |c: &Column| indexes.iter().any(|x| x.columns.contains(&c.name));
        let layout = Layout::new(table, &exact, indexed, |n| D.quote(n));
        let mut defs: Vec<String> = table
            .columns
            .iter()
            .zip(&layout.types)
            .map(|(c, ty)| format!("{} {ty}{}", D.quote(&c.name), if c.nullable { "" } else { " NOT NULL" }))
            .collect();
        let pk = D.list("", table.primary_key.iter().map(|&i| table.columns[i].name.as_str()));
        defs.push(format!("PRIMARY KEY ({pk})"));
        defs.extend(layout.checks.iter().cloned());
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {} ({}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            D.table(&t),
            defs.join(", ")
        );
        if layout.lenient {
            // More variable columns than InnoDB's strict check admits
            // whatever their types (see `layout`): created with strict mode
            // off; rows that do not fit a page are refused when written.
            info!(table = %t, columns = table.columns.len(), "creating a table wider than InnoDB's strict check \
                  admits: a row whose values do not fit a page will be refused by the server and quarantined");
            let mut conn = self.pool.acquire().await.map_err(db(format!("creating {t}")))?;
            sqlx::query("SET SESSION innodb_strict_mode = OFF")
                .execute(&mut *conn)
                .await
                .map_err(db(format!("creating {t}")))?;
            let created = sqlx::query(AssertSqlSafe(create)).execute(&mut *conn).await;
            // The connection goes back to the pool: strict mode back as the server has it.
            let reset = sqlx::query("SET SESSION innodb_strict_mode = DEFAULT").execute(&mut *conn).await;
            if reset.is_err() {
                conn.detach();
            }
            created.map_err(db(format!("creating {t}")))?;
        } else {
            sqlx::query(AssertSqlSafe(create)).execute(&self.pool).await.map_err(db(format!("creating {t}")))?;
        }
        // MySQL 8 has no CREATE INDEX IF NOT EXISTS: look first.
        let existing: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        )
        .bind(&t.name)
        .fetch_all(&self.pool)
        .await
        .map_err(db(format!("creating {t}")))?;
        let mut stmts = Vec::new();
        for i in common::carried_indexes(table, indexes).into_iter().filter(|i| !existing.contains(&i.name)) {
            stmts.push(format!(
                "CREATE {}INDEX {} ON {} ({})",
                if i.unique { "UNIQUE " } else { "" },
                D.quote(&i.name),
                D.table(&t),
                D.list("", i.columns.iter().map(String::as_str))
            ));
        }
        for s in stmts {
            sqlx::query(AssertSqlSafe(s)).execute(&self.pool).await.map_err(db(format!("creating {t}")))?;
        }
        Ok(())
    }
}
