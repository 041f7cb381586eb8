//! PostgreSQL: tracking tables, trigger functions and the table registry in
//! a `hubsync` schema.
//!
//! Gap safety: each tracking row records the writing transaction's id
//! (`pg_current_xact_id()`, a 64-bit xid8 that never wraps) and a sequence
//! number. A reader reads in one REPEATABLE READ snapshot only changes of
//! transactions below the snapshot's `xmin`: every transaction below it has
//! ended, so its changes are all visible now or never will be, and a
//! transaction still running (which may commit later with a smaller
//! sequence number) is read on a later pass. Anchors are `(xid, seq)`.
//!
//! No echo: `apply` sets the transaction-local setting `hubsync.origin`,
//! which the trigger records; other sessions never see it.

use futures_util::TryStreamExt;
use hubsync_core::{
    Anchor, ApplyOp, ChangeBatch, ChangeMark, Column, ColumnType, ConnectorError, EngineKind, IndexInfo, TableInfo,
    TableRef, TableSchema, UnsupportedColumn, Value,
};
use hubsync_core::{ForeignKey, KeyState, Row as ValueRow};
use std::collections::HashMap;
use std::str::FromStr;

use hubsync_core::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row};

use crate::common::{self, Meta, Run};
use crate::sql::{self, Dialect};

mod types;
mod watch;

use types::{bind_array, column_array, decode, micros_interval, pg_create_type, pg_type, raw, read_expr, write_expr};

const D: Dialect = Dialect::DoubleQuote;
const ENGINE: EngineKind = EngineKind::Postgres;

/// A PostgreSQL database.
pub struct Postgres {
    pool: PgPool,
    /// Bytes of row data a read batch holds at most.
    read_bytes: usize,
    /// Row sizes seen per table, to size reads.
    sizes: common::RowSizes,
}

fn db(operation: impl Into<String>) -> impl FnOnce(sqlx::Error) -> ConnectorError {
    common::db_error(ENGINE, operation)
}

/// The namespace a table lives in (`public` when none is given).
fn ns(t: &TableRef) -> &str {
    t.namespace.as_deref().unwrap_or("public")
}

fn qualified(t: &TableRef) -> String {
    format!("{}.{}", D.quote(ns(t)), D.quote(&t.name))
}

impl Postgres {
    /// Connect to `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`.
    pub async fn open(url: &str) -> Result<Postgres, ConnectorError> {
        Self::open_with(url, &ConnectOptions::default()).await
    }

    /// [`Postgres::open`] with explicit timeouts.
    pub async fn open_with(url: &str, o: &ConnectOptions) -> Result<Postgres, ConnectorError> {
        let mut options = common::quiet_slow(
            PgConnectOptions::from_str(url)
                .map_err(|e| ConnectorError::BadUrl(format!("{} is not a PostgreSQL URL: {e}", crate::redact(url))))?,
        );
        if let Some(t) = o.statement_timeout {
            options = options.options([("statement_timeout", format!("{}ms", t.as_millis()))]);
        }
        common::probe(url, &options, o.connect_timeout).await?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            // Connections idle for half a minute close: `hubsync serve`
            // holds a pool per member, and a hundred members of one server
            // each keeping four would pass its connection limit.
            .idle_timeout(common::IDLE_CONNECTION)
            .acquire_timeout(o.connect_timeout)
            .connect_with(options)
            .await
            .map_err(|e| common::connect_error(url, &e, o.connect_timeout))?;
        Ok(Postgres { pool, read_bytes: o.read_bytes, sizes: Default::default() })
    }

    /// One transaction of [`Connector::apply`](hubsync_core::Connector::apply).
    /// Unless `may_wait`, it waits for a row lock at most half the server's
    /// `deadlock_timeout` (and 100 ms): it gives up (and is retried or split)
    /// before any application waiting on it would run deadlock detection.
    async fn apply_once(
        &self,
        table: &TableSchema,
        ops: &[ApplyOp],
        origin: &str,
        may_wait: bool,
        load: Option<&Loading>,
    ) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        let base = qualified(&t);
        let what = format!("applying {} changes to {t}", ops.len());
        let keys: Vec<&Column> = table.primary_key.iter().map(|&i| &table.columns[i]).collect();
        let kl = D.list("", keys.iter().map(|c| c.name.as_str()));
        let mut tx = self.pool.begin().await.map_err(db(what.clone()))?;
        // `hubsync.loading` names the table whose tracking trigger stands
        // aside in this transaction (its WHEN clause): the upserts record
        // their own tracking entries below.
        sqlx::query("SELECT set_config('hubsync.origin', $1, true), set_config('hubsync.loading', $2, true)")
            .bind(origin)
            .bind(load.map(|l| l.id.to_string()).unwrap_or_default())
            .execute(&mut *tx)
            .await
            .map_err(db(what.clone()))?;
        if !may_wait {
            sqlx::query(
                "SELECT set_config('lock_timeout', LEAST(100, EXTRACT(epoch FROM \
                 current_setting('deadlock_timeout')::interval) * 500)::int::text || 'ms', true)",
            )
            .execute(&mut *tx)
            .await
            .map_err(db(what.clone()))?;
        }
        for run in common::runs(table, ops) {
            let (cols, all_rows): (Vec<&Column>, Vec<&[Value]>) = match &run {
                Run::Upserts(rows) => (table.columns.iter().collect(), rows.clone()),
                Run::Deletes(keys_) => (keys.clone(), keys_.clone()),
            };
            // A bind message holds at most 1 GiB: statements of 256 MiB at most.
            for rows in common::statement_chunks(&all_rows, 1, usize::MAX, usize::MAX, 256 << 20) {
                let mut params = Vec::new();
                let mut exprs = Vec::new();
                let mut arrays = Vec::new();
                for (n, c) in cols.iter().enumerate() {
                    let (array_ty, expr) = write_expr(c.kind, &format!("u.c{n}"));
                    params.push(format!("${}::{array_ty}", n + 1));
                    exprs.push(expr);
                    arrays.push(column_array(&t, c, rows.iter().map(|r| r[n].clone()))?);
                }
                let names: Vec<String> = (0..cols.len()).map(|n| format!("c{n}")).collect();
                let unnest = format!("UNNEST({}) AS u({})", params.join(", "), names.join(", "));
                let sql = match &run {
                    Run::Upserts(_) => {
                        let non_keys: Vec<&Column> = table
                            .columns
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| !table.primary_key.contains(i))
                            .map(|(_, c)| c)
                            .collect();
                        let action = if non_keys.is_empty() {
                            "DO NOTHING".to_owned()
                        } else {
                            format!(
                                "DO UPDATE SET {}",
                                non_keys
                                    .iter()
                                    .map(|c| format!("{0} = excluded.{0}", D.quote(&c.name)))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        };
                        // A fresh load inserts: the keys are new to the
                        // table and its tracking (else it fails, and the
                        // load upserts instead).
                        let (upsert, track_conflict) = match load {
                            Some(l) if l.fresh => (String::new(), ""),
                            Some(l) => (format!(" ON CONFLICT ({kl}) {action}"), l.on_conflict.as_str()),
                            None => (format!(" ON CONFLICT ({kl}) {action}"), ""),
                        };
                        let insert = format!(
                            "INSERT INTO {base} ({}) SELECT {} FROM {unnest}{upsert}",
                            D.list("", table.columns.iter().map(|c| c.name.as_str())),
                            exprs.join(", "),
                        );
                        match load {
                            // The keys as the table stored them (what the
                            // trigger would read from NEW), for rows
                            // actually written (DO NOTHING skips some).
                            Some(l) => format!(
                                "WITH w AS ({insert} RETURNING {kl}) {} SELECT {kl}, {} FROM w {track_conflict}",
                                l.insert,
                                l.values(false, cols.len() + 1),
                            ),
                            None => insert,
                        }
                    }
                    Run::Deletes(_) => {
                        let delete = format!(
                            "DELETE FROM {base} AS b USING {unnest} WHERE {}",
                            keys.iter()
                                .zip(&exprs)
                                .map(|(k, e)| format!("b.{} = {e}", D.quote(&k.name)))
                                .collect::<Vec<_>>()
                                .join(" AND ")
                        );
                        match load {
                            // Tombstones for the rows actually deleted, as
                            // the trigger records them from OLD.
                            Some(l) => format!(
                                "WITH w AS ({delete} RETURNING {}) {} SELECT {kl}, {} FROM w {}",
                                D.list("b.", keys.iter().map(|c| c.name.as_str())),
                                l.insert,
                                l.values(true, cols.len() + 1),
                                l.on_conflict,
                            ),
                            None => delete,
                        }
                    }
                };
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for a in arrays {
                    q = bind_array(q, a);
                }
                if load.is_some() {
                    q = q.bind(origin);
                }
                q.execute(&mut *tx).await.map_err(db(what.clone()))?;
            }
        }
        tx.commit().await.map_err(db(what))
    }

    async fn ensure_meta(&self) -> Result<(), ConnectorError> {
        // `IF NOT EXISTS` does not make two sessions creating the same
        // object at once safe (the second fails on a unique index of the
        // catalog): two processes preparing the same hub for the first
        // time take turns under a transaction-level advisory lock.
        let mut tx = self.pool.begin().await.map_err(db("creating hubsync's schema"))?;
        for s in [
            "SELECT pg_advisory_xact_lock(7068223516)",
            "CREATE SCHEMA IF NOT EXISTS hubsync",
            "CREATE TABLE IF NOT EXISTS hubsync.tables (id bigserial PRIMARY KEY, namespace text NOT NULL, \
             name text NOT NULL, format int NOT NULL, columns text NOT NULL, UNIQUE (namespace, name))",
            "CREATE SEQUENCE IF NOT EXISTS hubsync.seq",
        ] {
            sqlx::query(s).execute(&mut *tx).await.map_err(db("creating hubsync's schema"))?;
        }
        tx.commit().await.map_err(db("creating hubsync's schema"))
    }

    async fn registered(&self, t: &TableRef) -> Result<Option<Meta>, ConnectorError> {
        if !self.has_registry().await? {
            return Ok(None);
        }
        let row = sqlx::query("SELECT id, columns FROM hubsync.tables WHERE namespace = $1 AND name = $2")
            .bind(ns(t))
            .bind(&t.name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading hubsync's table registry"))?;
        Ok(row.map(|r| Meta { id: r.get(0), columns: r.get(1) }))
    }

    /// How to write `table` recording the tracking entries set-wise, or
    /// `None` when its writes must go through the trigger: not
    /// provisioned, provisioned by an earlier hubsync (its trigger does not
    /// stand aside), the table has triggers of its own (they may write rows
    /// of it the statement would not see to record), or a foreign key of
    /// the table onto itself cascades (a delete there removes rows the
    /// statement does not return).
    async fn loading(&self, table: &TableSchema) -> Result<Option<Loading>, ConnectorError> {
        let t = TableRef::of(table);
        if !self.has_registry().await? {
            return Ok(None);
        }
        let row: Option<(i64, bool, bool)> = sqlx::query_as(
            "SELECT r.id, EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = $3::text::regclass \
             AND g.tgname = 'hubsync_capture_' || r.id AND pg_get_triggerdef(g.oid) LIKE '%hubsync.loading%'), \
             EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = $3::text::regclass AND NOT g.tgisinternal \
             AND g.tgname NOT LIKE 'hubsync\\_%') \
             OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = $3::text::regclass \
             AND c.confrelid = c.conrelid AND (c.confdeltype NOT IN ('a', 'r') OR c.confupdtype NOT IN ('a', 'r'))) \
             FROM hubsync.tables r WHERE r.namespace = $1 AND r.name = $2",
        )
        .bind(ns(&t))
        .bind(&t.name)
        .bind(qualified(&t))
        .fetch_optional(&self.pool)
        .await
        .map_err(db(format!("reading how {t} is tracked")))?;
        // Gated by this hubsync's trigger, and no triggers of the table's own.
        let Some((id, true, false)) = row else { return Ok(None) };
        let kl = D.list("", table.primary_key.iter().map(|&i| table.columns[i].name.as_str()));
        let track = format!("hubsync.{}", D.quote(&format!("track_{id}")));
        Ok(Some(Loading {
            id,
            insert: format!("INSERT INTO {track} ({kl}, xid, seq, deleted, origin, changed_at)"),
            fresh: false,
            on_conflict: format!(
                "ON CONFLICT ({kl}) DO UPDATE SET xid = excluded.xid, seq = excluded.seq, deleted = excluded.deleted, \
                 origin = excluded.origin, changed_at = excluded.changed_at"
            ),
        }))
    }

    /// Whether hubsync's table registry exists here.
    async fn has_registry(&self) -> Result<bool, ConnectorError> {
        let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('hubsync.tables')::text")
            .fetch_one(&self.pool)
            .await
            .map_err(db("reading hubsync's table registry"))?;
        Ok(exists.is_some())
    }

    /// Every registered table's id by (namespace, name): one read for
    /// many tables.
    async fn registry_ids(&self) -> Result<HashMap<(String, String), i64>, ConnectorError> {
        if !self.has_registry().await? {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query("SELECT id, namespace, name FROM hubsync.tables")
            .fetch_all(&self.pool)
            .await
            .map_err(db("reading hubsync's table registry"))?;
        Ok(rows.iter().map(|r| ((r.get(1), r.get(2)), r.get(0))).collect())
    }
}

/// Statements (re)creating the row trigger of the table registered as
/// `id`, which calls its capture function. It stands aside (its WHEN
/// clause) in a transaction whose `hubsync.loading` names this table: a
/// bulk load there records the tracking entries itself, in one statement.
/// Any other transaction, an application's or hubsync's own `apply`, and
/// writes to other tables in the loading transaction fire it as usual.
fn capture_trigger(id: i64, base: &str) -> [String; 2] {
    let trigger = D.quote(&format!("hubsync_capture_{id}"));
    let func = format!("hubsync.{}", D.quote(&format!("capture_{id}")));
    [
        format!("DROP TRIGGER IF EXISTS {trigger} ON {base}"),
        format!(
            "CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE ON {base} FOR EACH ROW \
             WHEN (current_setting('hubsync.loading', true) IS DISTINCT FROM '{id}') EXECUTE FUNCTION {func}()"
        ),
    ]
}

/// How [`Connector::load`](hubsync_core::Connector::load) records the
/// tracking entries of a table it loads.
#[derive(Clone)]
struct Loading {
    /// The table's registry id, which `hubsync.loading` names.
    id: i64,
    /// `INSERT INTO` the tracking table `(key columns, entry columns)`.
    insert: String,
    /// The upsert of an entry, as the trigger writes it.
    on_conflict: String,
    /// Insert rows and entries without `ON CONFLICT` (a third faster):
    /// the first try of a batch into a table that started empty.
    fresh: bool,
}

impl Loading {
    /// The entry's values after the key, as the trigger records them: a
    /// written row's, or a deleted row's (`deleted`); the origin is
    /// parameter `origin_param`.
    fn values(&self, deleted: bool, origin_param: usize) -> String {
        format!("pg_current_xact_id(), nextval('hubsync.seq'), {deleted}, ${origin_param}::text, clock_timestamp()")
    }
}

/// Statements capturing `TRUNCATE` on the table registered as `id`: row
/// triggers do not see it, so a statement trigger records every tracked
/// row as deleted (members then remove them, through the conflict policy
/// where they changed a row since).
fn truncate_capture(id: i64, base: &str) -> Vec<String> {
    let track = format!("hubsync.{}", D.quote(&format!("track_{id}")));
    let func = format!("hubsync.{}", D.quote(&format!("truncate_{id}")));
    let trigger = D.quote(&format!("hubsync_truncate_{id}"));
    let body = format!(
        "BEGIN UPDATE {track} SET xid = pg_current_xact_id(), seq = nextval('hubsync.seq'), deleted = true, \
         origin = nullif(current_setting('hubsync.origin', true), ''), changed_at = clock_timestamp() \
         WHERE NOT deleted; RETURN NULL; END"
    );
    let tag = dollar_tag(&body);
    vec![
        format!("CREATE OR REPLACE FUNCTION {func}() RETURNS trigger LANGUAGE plpgsql AS {tag}{body}{tag}"),
        format!("DROP TRIGGER IF EXISTS {trigger} ON {base}"),
        format!("CREATE TRIGGER {trigger} AFTER TRUNCATE ON {base} FOR EACH STATEMENT EXECUTE FUNCTION {func}()"),
    ]
}

/// A dollar-quote tag that does not occur in `body`.
fn dollar_tag(body: &str) -> String {
    (0..).map(|n| format!("$hubsync{n}$")).find(|tag| !body.contains(tag.as_str())).unwrap_or_default()
}

fn parse_anchor(a: &Anchor) -> Result<(String, i64), ConnectorError> {
    if a.0.is_empty() {
        return Ok(("0".into(), 0));
    }
    let bad = || ConnectorError::BadUrl(format!("anchor {:?} is not a PostgreSQL anchor (xid:seq)", a.0));
    let (xid, seq) = a.0.split_once(':').ok_or_else(bad)?;
    if xid.is_empty() || !xid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    Ok((xid.to_owned(), seq.parse().map_err(|_| bad())?))
}

#[async_trait::async_trait]
impl hubsync_core::Connector for Postgres {
    fn engine(&self) -> EngineKind {
        ENGINE
    }

    async fn identity(&self) -> Result<Option<String>, ConnectorError> {
        let read = "SELECT id FROM hubsync.database";
        // Asked before every sync: one read when the id exists.
        if let Ok(Some(id)) = sqlx::query_scalar::<_, String>(read).fetch_optional(&self.pool).await {
            return Ok(Some(id));
        }
        self.ensure_meta().await?;
        // `one` admits a single row; ON CONFLICT keeps the first id made
        // when two processes ask at once.
        for s in [
            "CREATE TABLE IF NOT EXISTS hubsync.database (one boolean PRIMARY KEY DEFAULT true CHECK (one), \
             id text NOT NULL)",
            "INSERT INTO hubsync.database (id) \
             VALUES (md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text)) \
             ON CONFLICT (one) DO NOTHING",
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
            "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
             (SELECT co.collname::text FROM pg_collation co WHERE co.oid = a.attcollation AND NOT co.collisdeterministic) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'hubsync') \
             AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1, 2, a.attnum",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading columns"))?;
        let keys = sqlx::query(
            "SELECT n.nspname, c.relname, a.attname FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
             WHERE i.indisprimary ORDER BY 1, 2, k.ord",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading primary keys"))?;
        let idx = sqlx::query(
            "SELECT n.nspname, c.relname, ic.relname, i.indisunique, array_agg(a.attname::text ORDER BY k.ord) \
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
             WHERE NOT i.indisprimary AND i.indexprs IS NULL AND i.indpred IS NULL \
             GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading indexes"))?;
        let mut out: Vec<TableInfo> = Vec::new();
        for c in cols {
            let (nsp, rel, name, declared, notnull): (String, String, String, String, bool) =
                (c.get(0), c.get(1), c.get(2), c.get(3), c.get(4));
            // citext and nondeterministic collations compare different strings equal.
            let folding: Option<String> =
                c.get::<Option<String>, _>(5).or_else(|| (declared == "citext").then(|| "citext".to_owned()));
            let namespace = (nsp != "public").then_some(nsp);
            if out.last().is_none_or(|t| t.schema.namespace != namespace || t.schema.name != rel) {
                let mut schema = TableSchema::new(rel.clone());
                schema.namespace = namespace.clone();
                out.push(TableInfo { schema, indexes: Vec::new(), unsupported: Vec::new(), foreign_keys: Vec::new() });
            }
            let t = out.last_mut().expect("pushed above");
            match sql::column_type(&declared) {
                Some(kind) => t.schema.columns.push(Column {
                    name,
                    kind,
                    nullable: !notnull,
                    facets: sql::facets(kind, &declared),
                    declared_type: Some(declared),
                    folding: folding.filter(|_| kind == ColumnType::Text),
                }),
                None => t.unsupported.push(UnsupportedColumn { column: name, declared_type: declared }),
            }
        }
        let find = |out: &mut Vec<TableInfo>, nsp: String, rel: &str| {
            let namespace = (nsp != "public").then_some(nsp);
            out.iter_mut().position(|t| t.schema.namespace == namespace && t.schema.name == rel)
        };
        for k in keys {
            let (nsp, rel, col): (String, String, String) = (k.get(0), k.get(1), k.get(2));
            if let Some(i) = find(&mut out, nsp, &rel) {
                let t = &mut out[i];
                match t.schema.index_of(&col) {
                    Some(c) => t.schema.primary_key.push(c),
                    // A key column of an unsupported type: the table cannot be synced.
                    None => t.schema.primary_key.clear(),
                }
            }
        }
        for r in idx {
            let (nsp, rel, name, unique, columns): (String, String, String, bool, Vec<String>) =
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
            if let Some(i) = find(&mut out, nsp, &rel) {
                out[i].indexes.push(IndexInfo { name, columns, unique });
            }
        }
        let fks = sqlx::query(
            "SELECT n.nspname, c.relname, con.conname, rn.nspname, rc.relname, \
             array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord) \
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) \
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_class rc ON rc.oid = con.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
             WHERE con.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'hubsync') \
             ORDER BY 1, 2, 3",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading foreign keys"))?;
        for f in fks {
            let (nsp, rel, name, rnsp, rrel, columns): (String, String, String, String, String, Vec<String>) =
                (f.get(0), f.get(1), f.get(2), f.get(3), f.get(4), f.get(5));
            if let Some(i) = find(&mut out, nsp, &rel) {
                let references = TableRef { namespace: (rnsp != "public").then_some(rnsp), name: rrel };
                out[i].foreign_keys.push(ForeignKey { name, columns, references });
            }
        }
        Ok(out)
    }

    async fn provision(&self, table: &TableSchema) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        common::check_selection(table)?;
        self.ensure_meta().await?;
        let columns = common::fingerprint(table);
        let mut tx = self.pool.begin().await.map_err(db("starting provisioning"))?;
        // One provisioning at a time per database, so ids and objects never race.
        sqlx::query("LOCK TABLE hubsync.tables IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(db("locking hubsync's registry"))?;
        let existing = sqlx::query("SELECT id, columns FROM hubsync.tables WHERE namespace = $1 AND name = $2")
            .bind(ns(&t))
            .bind(&t.name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("reading the table registry"))?;
        let change = common::reprovision(existing.as_ref().map(|r| r.get::<&str, _>(1)), &columns);
        let id: i64 = match existing {
            Some(r) if r.get::<String, _>(1) == columns => {
                // Tables provisioned before TRUNCATE was captured get its trigger now.
                let id: i64 = r.get(0);
                let (has_truncate, gated): (bool, bool) = sqlx::query_as(
                    "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = $1::text::regclass AND tgname = $2), \
                     EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = $1::text::regclass AND tgname = $3 \
                     AND pg_get_triggerdef(oid) LIKE '%hubsync.loading%')",
                )
                .bind(qualified(&t))
                .bind(format!("hubsync_truncate_{id}"))
                .bind(format!("hubsync_capture_{id}"))
                .fetch_one(&mut *tx)
                .await
                .map_err(db(format!("provisioning {t}")))?;
                let mut stmts = Vec::new();
                if !has_truncate {
                    stmts.extend(truncate_capture(id, &qualified(&t)));
                }
                // Tables provisioned before bulk loads get the trigger
                // that stands aside for them (the function is unchanged).
                if !gated {
                    stmts.extend(capture_trigger(id, &qualified(&t)));
                }
                for s in stmts {
                    sqlx::query(AssertSqlSafe(s)).execute(&mut *tx).await.map_err(db(format!("provisioning {t}")))?;
                }
                return tx.commit().await.map_err(db(format!("provisioning {t}")));
            }
            Some(r) => {
                let id: i64 = r.get(0);
                sqlx::query("UPDATE hubsync.tables SET columns = $1, format = $2 WHERE id = $3")
                    .bind(&columns)
                    .bind(common::FORMAT as i32)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("updating the table registry"))?;
                id
            }
            None => sqlx::query_scalar(
                "INSERT INTO hubsync.tables (namespace, name, format, columns) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(ns(&t))
            .bind(&t.name)
            .bind(common::FORMAT as i32)
            .bind(&columns)
            .fetch_one(&mut *tx)
            .await
            .map_err(db("registering the table"))?,
        };
        let track = format!("hubsync.{}", D.quote(&format!("track_{id}")));
        let func = format!("hubsync.{}", D.quote(&format!("capture_{id}")));
        let base = qualified(&t);
        let keys: Vec<&Column> = table.primary_key.iter().map(|&i| &table.columns[i]).collect();
        let key_names: Vec<&str> = keys.iter().map(|c| c.name.as_str()).collect();
        let kl = D.list("", key_names.iter().copied());
        let key_defs =
            keys.iter().map(|c| format!("{} {}", D.quote(&c.name), pg_type(c.kind))).collect::<Vec<_>>().join(", ");
        let meta = "xid, seq, deleted, origin, changed_at";
        let set = "xid = excluded.xid, seq = excluded.seq, deleted = excluded.deleted, origin = excluded.origin, \
                   changed_at = excluded.changed_at";
        let record = |prefix: &str, deleted: bool| {
            format!(
                "INSERT INTO {track} ({kl}, {meta}) VALUES ({}, pg_current_xact_id(), nextval('hubsync.seq'), {deleted}, o, \
                 clock_timestamp()) ON CONFLICT ({kl}) DO UPDATE SET {set};",
                D.list(prefix, key_names.iter().copied())
            )
        };
        let key_changed = format!(
            "({}) IS DISTINCT FROM ({})",
            D.list("OLD.", key_names.iter().copied()),
            D.list("NEW.", key_names.iter().copied())
        );
        let body = format!(
            "DECLARE o text := nullif(current_setting('hubsync.origin', true), ''); BEGIN \
             IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND {key_changed}) THEN {} END IF; \
             IF TG_OP <> 'DELETE' THEN {} END IF; RETURN NULL; END",
            record("OLD.", true),
            record("NEW.", false)
        );
        let tag = dollar_tag(&body);
        let mut stmts = Vec::new();
        if change == common::Reprovision::Key {
            stmts.push(format!("DROP TABLE IF EXISTS {track}"));
        }
        stmts.extend([
            format!(
                "CREATE TABLE IF NOT EXISTS {track} ({key_defs}, xid xid8 NOT NULL, seq bigint NOT NULL, \
                 deleted boolean NOT NULL, origin text, changed_at timestamptz NOT NULL, PRIMARY KEY ({kl}))"
            ),
            format!("CREATE INDEX IF NOT EXISTS {} ON {track} (xid, seq)", D.quote(&format!("track_{id}_order"))),
            format!("CREATE OR REPLACE FUNCTION {func}() RETURNS trigger LANGUAGE plpgsql AS {tag}{body}{tag}"),
        ]);
        stmts.extend(capture_trigger(id, &base));
        stmts.extend(truncate_capture(id, &base));
        if change == common::Reprovision::Columns {
            // Announce tracked rows again so new columns are backfilled.
            stmts.push(format!(
                "UPDATE {track} SET xid = pg_current_xact_id(), seq = nextval('hubsync.seq'), \
                 changed_at = clock_timestamp() WHERE NOT deleted"
            ));
        }
        // Rows present before provisioning are changes for the initial sync.
        stmts.push(format!(
            "INSERT INTO {track} ({kl}, {meta}) SELECT {kl}, pg_current_xact_id(), nextval('hubsync.seq'), false, NULL, \
             clock_timestamp() FROM {base} ON CONFLICT DO NOTHING"
        ));
        // Fresh statistics for the tracking table, which may now hold every
        // row of the table (autovacuum may be off, or lag a bulk provision).
        stmts.push(format!("ANALYZE {track}"));
        for s in stmts {
            sqlx::query(AssertSqlSafe(s)).execute(&mut *tx).await.map_err(db(format!("provisioning {t}")))?;
        }
        tx.commit().await.map_err(db(format!("provisioning {t}")))
    }

    async fn deprovision(&self, t: &TableRef) -> Result<(), ConnectorError> {
        let Some(m) = self.registered(t).await? else { return Ok(()) };
        let mut tx = self.pool.begin().await.map_err(db("starting deprovisioning"))?;
        let base_exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
            .bind(qualified(t))
            .fetch_one(&mut *tx)
            .await
            .map_err(db(format!("deprovisioning {t}")))?;
        let mut stmts = Vec::new();
        if base_exists.is_some() {
            stmts.push(format!(
                "DROP TRIGGER IF EXISTS {} ON {}",
                D.quote(&format!("hubsync_capture_{}", m.id)),
                qualified(t)
            ));
        }
        if base_exists.is_some() {
            stmts.push(format!(
                "DROP TRIGGER IF EXISTS {} ON {}",
                D.quote(&format!("hubsync_truncate_{}", m.id)),
                qualified(t)
            ));
            stmts.push(format!("DROP TRIGGER IF EXISTS {} ON {}", watch::trigger_name(m.id), qualified(t)));
        }
        stmts.push(format!("DROP FUNCTION IF EXISTS hubsync.{}()", D.quote(&format!("capture_{}", m.id))));
        stmts.push(format!("DROP FUNCTION IF EXISTS hubsync.{}()", D.quote(&format!("truncate_{}", m.id))));
        stmts.push(format!("DROP TABLE IF EXISTS hubsync.{}", D.quote(&format!("track_{}", m.id))));
        for s in stmts {
            sqlx::query(AssertSqlSafe(s)).execute(&mut *tx).await.map_err(db(format!("deprovisioning {t}")))?;
        }
        sqlx::query("DELETE FROM hubsync.tables WHERE id = $1")
            .bind(m.id)
            .execute(&mut *tx)
            .await
            .map_err(db(format!("deprovisioning {t}")))?;
        tx.commit().await.map_err(db(format!("deprovisioning {t}")))
    }

    async fn deprovision_all(&self) -> Result<(), ConnectorError> {
        let triggers: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT n.nspname, c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p ON p.oid = t.tgfoid \
             JOIN pg_namespace pn ON pn.oid = p.pronamespace WHERE pn.nspname = 'hubsync' AND NOT t.tgisinternal",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing hubsync's triggers"))?;
        let mut tx = self.pool.begin().await.map_err(db("starting deprovisioning"))?;
        for (nsp, rel, name) in triggers {
            let s = format!("DROP TRIGGER IF EXISTS {} ON {}.{}", D.quote(&name), D.quote(&nsp), D.quote(&rel));
            sqlx::query(AssertSqlSafe(s)).execute(&mut *tx).await.map_err(db("removing hubsync's triggers"))?;
        }
        sqlx::query("DROP SCHEMA IF EXISTS hubsync CASCADE")
            .execute(&mut *tx)
            .await
            .map_err(db("removing hubsync's schema"))?;
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
        let (xid, seq) = parse_anchor(since)?;
        let keys: Vec<&Column> = table.primary_key.iter().map(|&i| &table.columns[i]).collect();
        let join = keys.iter().map(|k| format!("b.{0} = tr.{0}", D.quote(&k.name))).collect::<Vec<_>>().join(" AND ");
        let key_exprs: Vec<String> =
            keys.iter().map(|k| read_expr(k.kind, &format!("tr.{}", D.quote(&k.name)))).collect();
        let col_exprs: Vec<String> =
            table.columns.iter().map(|c| read_expr(c.kind, &format!("b.{}", D.quote(&c.name)))).collect();
        let present = format!("b.{} IS NOT NULL", D.quote(&keys[0].name));
        // The next tracking rows are taken from the (xid, seq) index first
        // and only they are joined: the plan stays O(batch) whatever the
        // statistics say (a join of the whole backlog, then a sort, is what
        // stale statistics otherwise produce).
        let track = D.quote(&format!("track_{}", m.id));
        let scan = format!(
            "SELECT * FROM hubsync.{track} WHERE (xid, seq) > ($1::text::xid8, $2) AND xid < $3::text::xid8 \
             ORDER BY xid, seq LIMIT $4"
        );
        // With `echo`, a run of echoes comes as its last entry (the
        // position the next read starts from), without its row; the
        // entries at the end of the scan come whatever they are, so a read
        // always moves on. `pos` is an entry's place in the scan.
        let scanned = match echo {
            None => format!("SELECT *, 0::int8 AS pos FROM ({scan}) s"),
            Some(_) => format!(
                "SELECT * FROM (SELECT *, origin IS NOT DISTINCT FROM $5 AS echo, \
                 LEAD(origin IS NOT DISTINCT FROM $5, 1, false) OVER (ORDER BY xid, seq) AS next_echo, \
                 ROW_NUMBER() OVER (ORDER BY xid, seq) AS pos FROM ({scan}) s) w \
                 WHERE NOT echo OR NOT next_echo OR pos >= $4 - 1"
            ),
        };
        let sql = format!(
            "SELECT tr.xid::text, tr.seq, tr.deleted OR NOT ({present}), tr.origin, \
             (extract(epoch FROM tr.changed_at) * 1000000)::int8, {}, {}, tr.pos \
             FROM ({scanned}) tr LEFT JOIN {} b ON {join}{} \
             ORDER BY tr.xid, tr.seq",
            key_exprs.join(", "),
            col_exprs.join(", "),
            qualified(&t),
            // An echo's row is not read (see `read_changes_skipping`).
            if echo.is_some() { " AND NOT tr.echo" } else { "" },
        );
        let pos_at = 5 + keys.len() + table.columns.len();
        let what = format!("reading changes of {t}");
        let mut tx =
            self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(db(what.clone()))?;
        let xmin: String = sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
            .fetch_one(&mut *tx)
            .await
            .map_err(db(what.clone()))?;
        // Streamed: the batch ends at `limit` rows or `read_bytes` bytes.
        let mut next = since.clone();
        let mut more = false;
        let mut batch = self.sizes.start(m.id, limit, self.read_bytes);
        {
            let ask = batch.cap() as i64 + 1;
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(&xid).bind(seq).bind(&xmin).bind(ask);
            if let Some(echo) = echo {
                query = query.bind(echo);
            }
            let mut rows = query.fetch(&mut *tx);
            while let Some(row) = rows.try_next().await.map_err(db(what.clone()))? {
                // Past the batch: the entry scanned beyond it, or the bytes it holds.
                if batch.full() || row.get::<i64, _>(pos_at) >= ask {
                    more = true;
                    break;
                }
                let r = &row;
                next = Anchor(format!("{}:{}", r.get::<String, _>(0), r.get::<i64, _>(1)));
                let read = common::captured_or_bad(
                    table,
                    5,
                    r.get(2),
                    r.get(4),
                    r.get(3),
                    |c, i| decode(&t, c, r, i),
                    |i| raw(r, i),
                )?;
                batch.push(read);
            }
        }
        self.sizes.finish(m.id, &batch);
        let pending = if more {
            false
        } else {
            let probe = format!(
                "SELECT EXISTS (SELECT 1 FROM hubsync.{} WHERE xid >= $1::text::xid8)",
                D.quote(&format!("track_{}", m.id))
            );
            sqlx::query_scalar(AssertSqlSafe(probe)).bind(&xmin).fetch_one(&mut *tx).await.map_err(db(what.clone()))?
        };
        tx.commit().await.map_err(db(what))?;
        Ok(ChangeBatch { changes: batch.changes, unreadable: batch.unreadable, next, more, pending })
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
            |i| format!("{i}::int8"),
            |table, since| {
                let Some(id) = ids.get(&(ns(&TableRef::of(table)).to_owned(), table.name.clone())) else {
                    return Ok(None);
                };
                // Both checked digits (`parse_anchor`), so spelled inline.
                let (xid, seq) = parse_anchor(since)?;
                let track = D.quote(&format!("track_{id}"));
                Ok(Some(format!("SELECT 1 FROM hubsync.{track} WHERE (xid, seq) > ('{xid}'::xid8, {seq})")))
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
        _poll: std::time::Duration,
    ) -> Result<Option<Box<dyn hubsync_core::ChangeWatch>>, ConnectorError> {
        let ids = self.registry_ids().await?;
        let ids = common::watched(tables, |t| ids.get(&(ns(&TableRef::of(t)).to_owned(), t.name.clone())).copied())?;
        watch::ensure_triggers(&self.pool, &ids).await?;
        Ok(Some(watch::open(&self.pool, &ids, own).await?))
    }

    async fn pending(&self, table: &TableSchema, since: &Anchor, cap: u64) -> Result<Option<u64>, ConnectorError> {
        let t = TableRef::of(table);
        let Some(m) = self.registered(&t).await? else { return Ok(None) };
        let (xid, seq) = parse_anchor(since)?;
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM hubsync.{} WHERE (xid, seq) > ($1::text::xid8, $2) LIMIT $3) c",
            D.quote(&format!("track_{}", m.id))
        );
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(&xid)
            .bind(seq)
            .bind(cap.min(i64::MAX as u64) as i64)
            .fetch_one(&self.pool)
            .await
            .map_err(db(format!("counting the changes of {t}")))?;
        Ok(Some(n as u64))
    }

    async fn apply(&self, table: &TableSchema, ops: &[ApplyOp], origin: &str) -> Result<(), ConnectorError> {
        // hubsync's own writes record their tracking entries in one statement
        // per run, as loads do, rather than through the trigger row by row: a
        // quarter less time for 100,000 updates (BENCHMARKS.md). Tables the
        // trigger must still see (their own triggers, an older hubsync's
        // trigger) are written through it.
        let loading = self.loading(table).await?;
        common::give_way(ops, |part, may_wait| self.apply_once(table, part, origin, may_wait, loading.as_ref())).await
    }

    async fn writes_only_their_keys(&self, table: &TableSchema) -> Result<bool, ConnectorError> {
        // A set-wise apply asks for the same of the table's triggers and
        // foreign keys; a nondeterministic collation compares loosely.
        if self.loading(table).await?.is_none() {
            return Ok(false);
        }
        let t = TableRef::of(table);
        let keys: Vec<String> = table.primary_key.iter().map(|&i| table.columns[i].name.clone()).collect();
        let loose: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation \
             WHERE a.attrelid = $1::text::regclass AND a.attname = ANY($2) AND NOT c.collisdeterministic)",
        )
        .bind(qualified(&t))
        .bind(&keys)
        .fetch_one(&self.pool)
        .await
        .map_err(db(format!("reading the key collations of {t}")))?;
        Ok(!loose)
    }

    async fn load(&self, table: &TableSchema, ops: &[ApplyOp], origin: &str) -> Result<(), ConnectorError> {
        let loading = self.loading(table).await?;
        if let Some(l) = &loading
            && ops.iter().all(|op| matches!(op, ApplyOp::Upsert(_)))
        {
            // Plain inserts first. A key already there (written since the
            // sync began, or a tracked delete) fails them, as does a lock
            // held by another writer of the same keys: then the upserts.
            let fresh = Loading { fresh: true, ..l.clone() };
            match self.apply_once(table, ops, origin, false, Some(&fresh)).await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_row_level() || matches!(e, ConnectorError::LockConflict { .. }) => {
                    tracing::debug!(table = %TableRef::of(table), error = %e, "fresh load refused; upserting");
                }
                Err(e) => return Err(e),
            }
        }
        common::give_way(ops, |part, may_wait| self.apply_once(table, part, origin, may_wait, loading.as_ref())).await
    }

    async fn lookup(
        &self,
        table: &TableSchema,
        since: &Anchor,
        keys: &[ValueRow],
    ) -> Result<Vec<KeyState>, ConnectorError> {
        let t = TableRef::of(table);
        let m = self.registered(&t).await?.ok_or_else(|| ConnectorError::NotProvisioned(t.clone()))?;
        let (xid, seq) = parse_anchor(since)?;
        let key_cols: Vec<&Column> = table.primary_key.iter().map(|&i| &table.columns[i]).collect();
        let n = key_cols.len();
        let mut params = Vec::new();
        let mut exprs = Vec::new();
        let mut arrays = Vec::new();
        for (i, c) in key_cols.iter().enumerate() {
            let (array_ty, expr) = write_expr(c.kind, &format!("u.c{i}"));
            params.push(format!("${}::{array_ty}", i + 3));
            exprs.push(format!("{expr} AS k{i}"));
            arrays.push(column_array(&t, c, keys.iter().map(|k| k[i].clone()))?);
        }
        let on = |alias: &str| {
            key_cols
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{alias}.{} = k.k{i}", D.quote(&c.name)))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let sql = format!(
            "SELECT tr.seq IS NOT NULL, tr.origin, (extract(epoch FROM tr.changed_at) * 1000000)::int8, \
             b.{} IS NOT NULL, {}, {} \
             FROM (SELECT {} FROM UNNEST({}) AS u({})) k LEFT JOIN {} b ON {} \
             LEFT JOIN hubsync.{} tr ON {} AND (tr.xid, tr.seq) > ($1::text::xid8, $2)",
            D.quote(&key_cols[0].name),
            (0..n).map(|i| read_expr(key_cols[i].kind, &format!("k.k{i}"))).collect::<Vec<_>>().join(", "),
            table
                .columns
                .iter()
                .map(|c| read_expr(c.kind, &format!("b.{}", D.quote(&c.name))))
                .collect::<Vec<_>>()
                .join(", "),
            exprs.join(", "),
            params.join(", "),
            (0..n).map(|i| format!("c{i}")).collect::<Vec<_>>().join(", "),
            qualified(&t),
            on("b"),
            D.quote(&format!("track_{}", m.id)),
            on("tr"),
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(&xid).bind(seq);
        for a in arrays {
            q = bind_array(q, a);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(db(format!("looking up {} keys of {t}", keys.len())))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let (changed, present): (bool, bool) = (r.get(0), r.get(3));
            let mark = || ChangeMark { origin: r.get(1), changed_at_micros: r.get(2) };
            out.extend(common::looked_up(table, changed, present, mark, |c, i| decode(&t, c, &r, i), |i| raw(&r, i))?);
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
        let mut upto: Option<(u64, i64)> = None;
        for a in read_up_to {
            let (xid, seq) = parse_anchor(a)?;
            let p = (xid.parse::<u64>().unwrap_or(0), seq);
            upto = Some(upto.map_or(p, |u| u.min(p)));
        }
        let (xid, seq) = upto.unwrap_or((u64::MAX >> 1, i64::MAX));
        let sql = format!(
            "DELETE FROM hubsync.{} WHERE deleted AND (xid, seq) <= ($1::text::xid8, $2) \
             AND changed_at < TIMESTAMPTZ '1970-01-01 00:00:00+00' + {}",
            D.quote(&format!("track_{}", m.id)),
            micros_interval("$3::int8")
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(xid.to_string())
            .bind(seq)
            .bind(older_than_micros)
            .execute(&self.pool)
            .await
            .map_err(db(format!("purging deletes of {t}")))?;
        Ok(done.rows_affected())
    }

    async fn reannounce(&self, table: &TableSchema, keys: &[ValueRow]) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        let m = self.registered(&t).await?.ok_or_else(|| ConnectorError::NotProvisioned(t.clone()))?;
        let key_cols: Vec<&Column> = table.primary_key.iter().map(|&i| &table.columns[i]).collect();
        let mut params = Vec::new();
        let mut conds = Vec::new();
        let mut arrays = Vec::new();
        for (i, c) in key_cols.iter().enumerate() {
            let (array_ty, expr) = write_expr(c.kind, &format!("u.c{i}"));
            params.push(format!("${}::{array_ty}", i + 1));
            conds.push(format!("tr.{} = {expr}", D.quote(&c.name)));
            arrays.push(column_array(&t, c, keys.iter().map(|k| k[i].clone()))?);
        }
        let sql = format!(
            "UPDATE hubsync.{} tr SET xid = pg_current_xact_id(), seq = nextval('hubsync.seq') \
             FROM UNNEST({}) AS u({}) WHERE {}",
            D.quote(&format!("track_{}", m.id)),
            params.join(", "),
            (0..key_cols.len()).map(|i| format!("c{i}")).collect::<Vec<_>>().join(", "),
            conds.join(" AND "),
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for a in arrays {
            q = bind_array(q, a);
        }
        q.execute(&self.pool).await.map_err(db(format!("announcing {} rows of {t} again", keys.len())))?;
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
        let mut arrays = Vec::new();
        let filter = match after {
            Some(k) => {
                let mut params = Vec::new();
                let mut exprs = Vec::new();
                for (i, c) in key_cols.iter().enumerate() {
                    let (array_ty, expr) = write_expr(c.kind, &format!("u.c{i}"));
                    params.push(format!("${}::{array_ty}", i + 2));
                    exprs.push(expr);
                    arrays.push(column_array(&t, c, std::iter::once(k[i].clone()))?);
                }
                format!(
                    "WHERE ({kl}) > (SELECT {} FROM UNNEST({}) AS u({}))",
                    exprs.join(", "),
                    params.join(", "),
                    (0..key_cols.len()).map(|i| format!("c{i}")).collect::<Vec<_>>().join(", ")
                )
            }
            None => String::new(),
        };
        let read = |c: &Column| read_expr(c.kind, &format!("b.{}", D.quote(&c.name)));
        let sql = format!(
            "SELECT {}, {} FROM {} b {filter} ORDER BY {kl} LIMIT $1",
            key_cols.iter().map(|c| read(c)).collect::<Vec<_>>().join(", "),
            table.columns.iter().map(read).collect::<Vec<_>>().join(", "),
            qualified(&t)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(limit as i64);
        for a in arrays {
            q = bind_array(q, a);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(db(format!("reading {t}")))?;
        common::scanned(table, &rows, |r, c, i| decode(&t, c, r, i), raw)
    }

    async fn is_empty(&self, table: &TableRef) -> Result<bool, ConnectorError> {
        let sql = format!("SELECT NOT EXISTS (SELECT 1 FROM {})", qualified(table));
        sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&self.pool).await.map_err(db(format!("reading {table}")))
    }

    async fn create_table(&self, table: &TableSchema, indexes: &[IndexInfo]) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        common::check_selection(table)?;
        let cols = table
            .columns
            .iter()
            .map(|c| format!("{} {}{}", D.quote(&c.name), pg_create_type(c), if c.nullable { "" } else { " NOT NULL" }))
            .collect::<Vec<_>>()
            .join(", ");
        let pk = D.list("", table.primary_key.iter().map(|&i| table.columns[i].name.as_str()));
        let mut stmts = Vec::new();
        if let Some(n) = &t.namespace {
            stmts.push(format!("CREATE SCHEMA IF NOT EXISTS {}", D.quote(n)));
        }
        stmts.push(format!("CREATE TABLE IF NOT EXISTS {} ({cols}, PRIMARY KEY ({pk}))", qualified(&t)));
        for i in common::carried_indexes(table, indexes) {
            stmts.push(format!(
                "CREATE {}INDEX IF NOT EXISTS {} ON {} ({})",
                if i.unique { "UNIQUE " } else { "" },
                D.quote(&i.name),
                qualified(&t),
                D.list("", i.columns.iter().map(String::as_str))
            ));
        }
        let mut tx = self.pool.begin().await.map_err(db(format!("creating {t}")))?;
        for s in stmts {
            sqlx::query(AssertSqlSafe(s)).execute(&mut *tx).await.map_err(db(format!("creating {t}")))?;
        }
        tx.commit().await.map_err(db(format!("creating {t}")))
    }
}
