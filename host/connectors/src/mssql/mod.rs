//! SQL Server and Azure SQL Database (and Babelfish for PostgreSQL) through
//! tiberius: tracking tables, a sequence and the table registry in a
//! `hubsync` schema, one set-wise `AFTER INSERT, UPDATE, DELETE` trigger per
//! table in the table's own schema.
//!
//! Gap safety: see [`tsql::Flavor`]; anchors are `ver:seq`.
//!
//! No echo: `apply` sets `SESSION_CONTEXT(N'hubsync.origin')` on its
//! connection inside its transaction; the trigger records it; it is
//! cleared before the connection goes back to the pool (and a connection
//! whose apply failed is closed, never reused).

mod conn;
pub(crate) mod datasync;
mod tsql;
mod types;
mod watch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hubsync_core::{
    Anchor, ApplyOp, ChangeBatch, ChangeMark, ColumnType, ConnectOptions, ConnectorError, EngineKind, ForeignKey,
    IndexInfo, KeyState, Row as ValueRow, TableInfo, TableRef, TableSchema, UnsupportedColumn,
};
use tiberius::{Row, ToSql};

use crate::common::{self, Run};
use conn::{Conn, Pool, error};
use tsql::{ColSql, Flavor, Shape};
use types::DbCol;

const ENGINE: EngineKind = EngineKind::Mssql;

/// A SQL Server database.
pub struct Mssql {
    pool: Pool,
    flavor: Flavor,
    /// Bytes of row data a read batch holds at most.
    read_bytes: usize,
    /// Row sizes seen per table, to size reads.
    sizes: common::RowSizes,
    /// Catalog columns of tables statements were made for.
    catalog: Mutex<HashMap<TableRef, Arc<Vec<DbCol>>>>,
}

/// The rows of the first result of `sql`.
async fn rows(c: &mut Conn, sql: &str, params: &[&dyn ToSql], what: &str) -> Result<Vec<Row>, ConnectorError> {
    let r = async { c.client.query(sql, params).await?.into_first_result().await }.await;
    r.map_err(|e| c.fail(what, e))
}

/// Every result of `sql`.
async fn results(c: &mut Conn, sql: &str, params: &[&dyn ToSql], what: &str) -> Result<Vec<Vec<Row>>, ConnectorError> {
    let r = async { c.client.query(sql, params).await?.into_results().await }.await;
    r.map_err(|e| c.fail(what, e))
}

/// Run `sql` for its effect.
async fn exec(c: &mut Conn, sql: &str, params: &[&dyn ToSql], what: &str) -> Result<u64, ConnectorError> {
    let r = c.client.execute(sql, params).await;
    Ok(r.map_err(|e| c.fail(what, e))?.total())
}

/// Run a batch without parameters (transaction control, DDL).
async fn batch(c: &mut Conn, sql: &str, what: &str) -> Result<(), ConnectorError> {
    let r = async { c.client.simple_query(sql).await?.into_results().await }.await;
    if let Err(e) = &r {
        tracing::debug!(error = %e, sql, "statement failed");
    }
    r.map_err(|e| c.fail(what, e))?;
    Ok(())
}

fn text(r: &Row, i: usize) -> Option<String> {
    r.try_get::<&str, _>(i).ok().flatten().map(str::to_owned)
}

fn int(r: &Row, i: usize) -> i64 {
    r.try_get::<i64, _>(i)
        .ok()
        .flatten()
        .or_else(|| r.try_get::<i32, _>(i).ok().flatten().map(i64::from))
        .unwrap_or_default()
}

fn parse_anchor(a: &Anchor) -> Result<(i64, i64), ConnectorError> {
    if a.0.is_empty() {
        return Ok((0, 0));
    }
    let bad = || ConnectorError::BadUrl(format!("anchor {:?} is not a SQL Server anchor (ver:seq)", a.0));
    let (v, s) = a.0.split_once(':').ok_or_else(bad)?;
    Ok((v.parse().map_err(|_| bad())?, s.parse().map_err(|_| bad())?))
}

/// Run a batch on a connection of its own, as an application would.
pub(crate) async fn client_batch(url: &str, sql: &str) -> Result<(), ConnectorError> {
    let mut c = conn::connect_url(url).await?;
    batch(&mut c, sql, "running SQL").await
}

/// The first result of `sql`, as text, on a connection of its own.
pub(crate) async fn client_query(url: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, ConnectorError> {
    let mut c = conn::connect_url(url).await?;
    let found = async { c.client.simple_query(sql).await?.into_first_result().await }
        .await
        .map_err(|e| c.fail("running SQL", e))?;
    Ok(found.iter().map(|r| r.cells().map(|(_, d)| types::text_of(d)).collect()).collect())
}

/// A tiberius client on a connection of its own.
pub(crate) async fn client_connect(url: &str) -> Result<conn::Client, ConnectorError> {
    Ok(conn::connect_url(url).await?.client)
}

/// The registry entry of a table.
struct Entry {
    id: i64,
    columns: String,
}

/// The registry entry of `t`, read on `c` (one round trip; `None` when the
/// table, or anything in the database, was never provisioned).
async fn registered(c: &mut Conn, t: &TableRef, what: &str) -> Result<Option<Entry>, ConnectorError> {
    let found = rows(c, tsql::REGISTERED, &[&tsql::schema_of(t), &t.name.as_str()], what).await?;
    Ok(found.first().map(|r| Entry { id: int(r, 0), columns: text(r, 1).unwrap_or_default() }))
}

/// [`registered`], refusing a table that is not provisioned.
async fn entry(c: &mut Conn, t: &TableRef, what: &str) -> Result<Entry, ConnectorError> {
    registered(c, t, what).await?.ok_or_else(|| ConnectorError::NotProvisioned(t.clone()))
}

impl Mssql {
    /// Connect to `mssql://USER:PASSWORD@HOST[:PORT]/DB?encrypt=…&trust_server_certificate=…`
    /// or an ADO.NET connection string.
    pub async fn open(url: &str) -> Result<Mssql, ConnectorError> {
        Self::open_with(url, &ConnectOptions::default()).await
    }

    /// [`Mssql::open`] with explicit timeouts.
    pub async fn open_with(url: &str, o: &ConnectOptions) -> Result<Mssql, ConnectorError> {
        let (pool, mut first) = Pool::open(url, o, 4).await?;
        let version = rows(&mut first, "SELECT CAST(@@VERSION AS nvarchar(4000))", &[], "reading the server version")
            .await?
            .first()
            .and_then(|r| text(r, 0))
            .unwrap_or_default();
        let flavor = if version.contains("Babelfish") { Flavor::Babelfish } else { Flavor::SqlServer };
        tracing::debug!(?flavor, version = %version.lines().next().unwrap_or(""), "connected to SQL Server");
        pool.put(first);
        Ok(Mssql {
            pool,
            flavor,
            read_bytes: o.read_bytes,
            sizes: Default::default(),
            catalog: Mutex::new(HashMap::new()),
        })
    }

    /// Whether this is Babelfish for PostgreSQL rather than SQL Server.
    pub fn is_babelfish(&self) -> bool {
        self.flavor == Flavor::Babelfish
    }

    /// The catalog's columns of every user table (one table when `only` names it).
    async fn columns(&self, c: &mut Conn, only: Option<&TableRef>) -> Result<Vec<(TableRef, DbCol)>, ConnectorError> {
        let found = match only {
            Some(t) => {
                let sql = tsql::COLUMNS.replace(" ORDER BY", " AND s.name = @P1 AND t.name = @P2 ORDER BY");
                rows(c, &sql, &[&tsql::schema_of(t), &t.name.as_str()], "reading columns").await?
            }
            None => rows(c, tsql::COLUMNS, &[], "reading columns").await?,
        };
        Ok(found
            .iter()
            .map(|r| {
                let schema = text(r, 0).unwrap_or_default();
                let t =
                    TableRef { namespace: (schema != "dbo").then_some(schema), name: text(r, 1).unwrap_or_default() };
                let c = DbCol {
                    name: text(r, 2).unwrap_or_default(),
                    declared: text(r, 3).unwrap_or_default(),
                    base: text(r, 4).unwrap_or_default().to_ascii_lowercase(),
                    max_length: int(r, 5) as i32,
                    precision: int(r, 6) as i32,
                    scale: int(r, 7) as i32,
                    nullable: int(r, 8) != 0,
                    identity: int(r, 9) != 0,
                    computed: int(r, 10) != 0,
                    collation: text(r, 11),
                    tag: text(r, 12),
                };
                (t, c)
            })
            .collect())
    }

    /// The catalog columns of `t`, cached.
    async fn catalog_of(&self, t: &TableRef, fresh: bool) -> Result<Arc<Vec<DbCol>>, ConnectorError> {
        if !fresh && let Some(c) = self.catalog.lock().ok().and_then(|m| m.get(t).cloned()) {
            return Ok(c);
        }
        let mut lease = self.pool.get().await?;
        let cols: Vec<DbCol> = self.columns(lease.conn(), Some(t)).await?.into_iter().map(|(_, c)| c).collect();
        let cols = Arc::new(cols);
        if let Ok(mut m) = self.catalog.lock() {
            m.insert(t.clone(), cols.clone());
        }
        Ok(cols)
    }

    /// The statement shape of a selection, with the catalog's columns.
    async fn shape(&self, table: &TableSchema, fresh: bool) -> Result<(Shape, Vec<DbCol>), ConnectorError> {
        let t = TableRef::of(table);
        let catalog = self.catalog_of(&t, fresh).await?;
        if catalog.is_empty() {
            return Err(ConnectorError::Refused { table: t, reason: "there is no such table".into() });
        }
        let mut cols = Vec::new();
        for c in &table.columns {
            let found = catalog.iter().find(|d| d.name == c.name).ok_or_else(|| ConnectorError::Refused {
                table: t.clone(),
                reason: format!("there is no column {:?}; refresh the schema", c.name),
            })?;
            cols.push(found.clone());
        }
        let sqls: Vec<ColSql> = cols.iter().map(DbCol::sql).collect();
        Ok((Shape { table: t, cols: sqls, keys: table.primary_key.clone() }, cols))
    }

    /// JSON rows `[{"c0": …}, …]` of `rows` over `cols` (text as hex where
    /// this server needs it: see [`Flavor::hex_text`]).
    fn json(&self, t: &TableRef, cols: &[&DbCol], rows: &[&[hubsync_core::Value]]) -> Result<String, ConnectorError> {
        let hex = self.flavor.hex_text();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut o = serde_json::Map::new();
            for (i, (c, v)) in cols.iter().zip(r.iter()).enumerate() {
                o.insert(format!("c{i}"), types::encode(t, c, v, hex && c.is_text())?);
            }
            out.push(serde_json::Value::Object(o));
        }
        Ok(serde_json::Value::Array(out).to_string())
    }

    /// One transaction of [`Connector::apply`](hubsync_core::Connector::apply).
    async fn apply_once(
        &self,
        table: &TableSchema,
        ops: &[ApplyOp],
        origin: &str,
        may_wait: bool,
    ) -> Result<(), ConnectorError> {
        let (shape, cols) = self.shape(table, false).await?;
        let t = shape.table.clone();
        let what = format!("applying {} changes to {t}", ops.len());
        let key_cols: Vec<&DbCol> = shape.keys.iter().map(|&k| &cols[k]).collect();
        let all_cols: Vec<&DbCol> = cols.iter().collect();
        let mut lease = self.pool.get().await?;
        let result = async {
            let c = lease.conn();
            // Unless it may wait, give up a lock after 100 ms: well before
            // an application waiting on hubsync would be picked as a
            // deadlock victim (see common::give_way).
            let timeout = if may_wait { -1 } else { 100 };
            batch(c, &format!("SET XACT_ABORT ON; SET LOCK_TIMEOUT {timeout}; BEGIN TRANSACTION"), &what).await?;
            exec(c, "EXEC sp_set_session_context @key = N'hubsync.origin', @value = @P1", &[&origin], &what).await?;
            for run in common::runs(table, ops) {
                match &run {
                    // Rows go to a session temp table by INSERT BULK (typed,
                    // no text parsing), then set-based statements upsert them.
                    Run::Upserts(rows) => {
                        let stages: Vec<tsql::Stage> = shape.cols.iter().map(ColSql::stage).collect();
                        batch(c, &tsql::staging(&shape), &what).await?;
                        // (Any failure closes the connection: see below.)
                        let mut req = c.client.bulk_insert(tsql::STAGING).await.map_err(error(what.clone()))?;
                        for r in rows {
                            let cells = types::staged_row(&t, &all_cols, &stages, r)?;
                            req.send(cells).await.map_err(error(what.clone()))?;
                        }
                        req.finalize().await.map_err(error(what.clone()))?;
                        batch(c, &tsql::upsert(&shape), &what).await?;
                    }
                    Run::Deletes(keys) => {
                        let sql = tsql::delete(self.flavor, &shape);
                        for chunk in common::statement_chunks(keys, 1, usize::MAX, usize::MAX, 32 << 20) {
                            let json = self.json(&t, &key_cols, chunk)?;
                            exec(c, &sql, &[&json.as_str()], &what).await?;
                        }
                    }
                }
            }
            batch(
                c,
                "COMMIT TRANSACTION; EXEC sp_set_session_context @key = N'hubsync.origin', @value = NULL; \
                 SET LOCK_TIMEOUT -1",
                &what,
            )
            .await
        }
        .await;
        if result.is_err() {
            // Its session state (transaction, origin marker) is unknown:
            // close it; the server rolls back what it had begun.
            lease.discard();
        }
        result
    }
}

#[async_trait::async_trait]
impl hubsync_core::Connector for Mssql {
    fn engine(&self) -> EngineKind {
        ENGINE
    }

    async fn identity(&self) -> Result<Option<String>, ConnectorError> {
        let what = "recording the database's hubsync identity";
        let mut lease = self.pool.get().await?;
        let c = lease.conn();
        // Asked before every sync: one read when the id exists.
        if let Some(id) = rows(c, tsql::IDENTITY, &[], what).await?.first().and_then(|r| text(r, 0)) {
            return Ok(Some(id));
        }
        let mut stmts = tsql::ensure_meta();
        stmts.extend(tsql::identity());
        let read = stmts.pop().unwrap_or_default();
        for s in &stmts {
            batch(c, s, what).await?;
        }
        let id = rows(c, &read, &[], what).await?.first().and_then(|r| text(r, 0));
        id.map(Some).ok_or_else(|| ConnectorError::Database {
            engine: ENGINE,
            operation: what.into(),
            cause: "the identity row is missing after it was written".into(),
        })
    }

    async fn introspect(&self) -> Result<Vec<TableInfo>, ConnectorError> {
        let mut lease = self.pool.get().await?;
        let c = lease.conn();
        let cols = self.columns(c, None).await?;
        let mut out: Vec<TableInfo> = Vec::new();
        for (t, col) in cols {
            if out.last().is_none_or(|i| TableRef::of(&i.schema) != t) {
                let mut schema = TableSchema::new(t.name.clone());
                schema.namespace = t.namespace.clone();
                out.push(TableInfo { schema, indexes: Vec::new(), unsupported: Vec::new(), foreign_keys: Vec::new() });
            }
            let info = out.last_mut().expect("pushed above");
            match col.kind() {
                Some(kind) => info.schema.columns.push(col.column(kind)),
                None => info
                    .unsupported
                    .push(UnsupportedColumn { column: col.name.clone(), declared_type: col.unsupported_type() }),
            }
        }
        let find = |out: &[TableInfo], schema: Option<String>, name: Option<String>| {
            let schema = schema.unwrap_or_default();
            let t = TableRef { namespace: (schema != "dbo").then_some(schema), name: name.unwrap_or_default() };
            out.iter().position(|i| TableRef::of(&i.schema) == t)
        };
        // Index columns in order: (table, index) → (primary, unique, columns).
        let mut indexes: Vec<(usize, String, bool, bool, Vec<String>)> = Vec::new();
        for r in rows(c, tsql::INDEXES, &[], "reading indexes").await? {
            let Some(i) = find(&out, text(&r, 0), text(&r, 1)) else { continue };
            let name = text(&r, 2).unwrap_or_default();
            let column = text(&r, 5).unwrap_or_default();
            match indexes.last_mut() {
                Some(last) if last.0 == i && last.1 == name => last.4.push(column),
                _ => indexes.push((i, name, int(&r, 3) != 0, int(&r, 4) != 0, vec![column])),
            }
        }
        for (i, name, primary, unique, columns) in indexes {
            let info = &mut out[i];
            if primary {
                for col in &columns {
                    match info.schema.index_of(col) {
                        Some(k) => info.schema.primary_key.push(k),
                        // A key column of an unsupported type: the table cannot be synced.
                        None => {
                            info.schema.primary_key.clear();
                            break;
                        }
                    }
                }
            } else {
                info.indexes.push(IndexInfo { name, columns, unique });
            }
        }
        let mut fks: Vec<(usize, ForeignKey)> = Vec::new();
        for r in rows(c, tsql::FOREIGN_KEYS, &[], "reading foreign keys").await? {
            let Some(i) = find(&out, text(&r, 0), text(&r, 1)) else { continue };
            let name = text(&r, 2).unwrap_or_default();
            let column = text(&r, 5).unwrap_or_default();
            match fks.last_mut() {
                Some((j, fk)) if *j == i && fk.name == name => fk.columns.push(column),
                _ => {
                    let rs = text(&r, 3).unwrap_or_default();
                    let references =
                        TableRef { namespace: (rs != "dbo").then_some(rs), name: text(&r, 4).unwrap_or_default() };
                    fks.push((i, ForeignKey { name, columns: vec![column], references }));
                }
            }
        }
        for (i, fk) in fks {
            out[i].foreign_keys.push(fk);
        }
        Ok(out)
    }

    async fn provision(&self, table: &TableSchema) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        common::check_selection(table)?;
        let (shape, _) = self.shape(table, true).await?;
        let columns = common::fingerprint(table);
        let what = format!("provisioning {t}");
        let mut lease = self.pool.get().await?;
        let result = async {
            let c = lease.conn();
            for s in tsql::ensure_meta() {
                batch(c, &s, "creating hubsync's schema").await?;
            }
            batch(c, "SET XACT_ABORT ON; BEGIN TRANSACTION", &what).await?;
            // One provisioning at a time per database, so ids and objects never race.
            exec(c, "EXEC sp_getapplock @Resource = N'hubsync.provision', @LockMode = N'Exclusive'", &[], &what)
                .await?;
            let existing = registered(c, &t, &what).await?;
            let change = common::reprovision(existing.as_ref().map(|e| e.columns.as_str()), &columns);
            let id = match &existing {
                Some(e) if e.columns == columns => None,
                Some(e) => {
                    exec(c, tsql::REREGISTER, &[&columns.as_str(), &(common::FORMAT as i32), &e.id], &what).await?;
                    Some(e.id)
                }
                None => {
                    if let Some(reason) = datasync::captured_by_data_sync(c, &t, &what).await? {
                        return Err(ConnectorError::Refused { table: t.clone(), reason });
                    }
                    let r = rows(
                        c,
                        tsql::REGISTER,
                        &[&tsql::schema_of(&t), &t.name.as_str(), &(common::FORMAT as i32), &columns.as_str()],
                        &what,
                    )
                    .await?;
                    Some(r.first().map(|r| int(r, 0)).unwrap_or_default())
                }
            };
            if let Some(id) = id {
                let stmts = tsql::provision(
                    self.flavor,
                    &shape,
                    id,
                    change == common::Reprovision::Key,
                    change == common::Reprovision::Columns,
                );
                for s in stmts {
                    batch(c, &s, &what).await?;
                }
            }
            batch(c, "COMMIT TRANSACTION", &what).await
        }
        .await;
        if result.is_err() {
            // Closed: the server rolls back what it had begun.
            lease.discard();
        }
        result
    }

    async fn deprovision(&self, t: &TableRef) -> Result<(), ConnectorError> {
        let what = format!("deprovisioning {t}");
        let mut lease = self.pool.get().await?;
        let c = lease.conn();
        let Some(e) = registered(c, t, &what).await? else { return Ok(()) };
        batch(c, "SET XACT_ABORT ON; BEGIN TRANSACTION", &what).await?;
        for s in tsql::deprovision(t, e.id) {
            if let Err(err) = exec(c, &s, &[&e.id], &what).await {
                lease.discard();
                return Err(err);
            }
        }
        batch(c, "COMMIT TRANSACTION", &what).await
    }

    async fn deprovision_all(&self) -> Result<(), ConnectorError> {
        let what = "removing hubsync's objects";
        let mut lease = self.pool.get().await?;
        let c = lease.conn();
        let triggers = rows(c, tsql::TRIGGERS, &[], what).await?;
        let tables = rows(c, tsql::OWN_TABLES, &[], what).await?;
        let mut stmts = Vec::new();
        for r in &triggers {
            let (s, n) = (text(r, 0).unwrap_or_default(), text(r, 1).unwrap_or_default());
            stmts.push(format!("DROP TRIGGER IF EXISTS {}.{}", tsql::quote(&s), tsql::quote(&n)));
        }
        for r in &tables {
            stmts.push(format!("DROP TABLE IF EXISTS [hubsync].{}", tsql::quote(&text(r, 0).unwrap_or_default())));
        }
        stmts.extend(tsql::drop_meta());
        for s in stmts {
            batch(c, &s, what).await?;
        }
        Ok(())
    }

    async fn read_changes(
        &self,
        table: &TableSchema,
        since: &Anchor,
        limit: usize,
    ) -> Result<ChangeBatch, ConnectorError> {
        let t = TableRef::of(table);
        let (shape, _) = self.shape(table, false).await?;
        let (ver, seq) = parse_anchor(since)?;
        let what = format!("reading changes of {t}");
        let mut lease = self.pool.get().await?;
        let c = lease.conn();
        let e = entry(c, &t, &what).await?;
        let sql = tsql::read_changes(self.flavor, &shape, e.id);
        let mut batch_ = self.sizes.start(e.id, limit, self.read_bytes);
        let ask = batch_.cap() as i64 + 1;
        let iso = self.flavor.read_isolation();
        let read = async {
            batch(c, &format!("SET TRANSACTION ISOLATION LEVEL {iso}; BEGIN TRANSACTION"), &what).await?;
            let r = results(c, &sql, &[&ver, &seq, &ask], &what).await?;
            batch(c, "COMMIT TRANSACTION; SET TRANSACTION ISOLATION LEVEL READ COMMITTED", &what).await?;
            Ok::<_, ConnectorError>(r)
        }
        .await;
        let sets = match read {
            Ok(r) => r,
            Err(err) => {
                lease.discard();
                return Err(err);
            }
        };
        drop(lease);
        let mut next = since.clone();
        let mut more = false;
        let empty = Vec::new();
        let found = sets.first().unwrap_or(&empty);
        for r in found {
            if batch_.full() {
                more = true;
                break;
            }
            next = Anchor(format!("{}:{}", int(r, 0), int(r, 1)));
            let cells: Vec<_> = r.cells().map(|(_, d)| d).collect();
            let read = common::captured_or_bad(
                table,
                5,
                int(r, 2) != 0,
                int(r, 4),
                text(r, 3),
                |col, i| types::decode(&t, &col.name, col.kind, cells[i]),
                |i| cells.get(i).map(|c| types::raw(c)),
            )?;
            batch_.push(read);
        }
        self.sizes.finish(e.id, &batch_);
        let pending = !more && sets.get(1).and_then(|s| s.first()).map(|r| int(r, 0)) == Some(1);
        Ok(ChangeBatch { changes: batch_.changes, unreadable: batch_.unreadable, next, more, pending })
    }

    async fn watch(
        &self,
        tables: &[TableSchema],
        own: &str,
        poll: std::time::Duration,
    ) -> Result<Option<Box<dyn hubsync_core::ChangeWatch>>, ConnectorError> {
        let what = "opening a watch on the tracked tables";
        let mut ids = Vec::with_capacity(tables.len());
        {
            let mut lease = self.pool.get().await?;
            for t in tables {
                ids.push(entry(lease.conn(), &TableRef::of(t), what).await?.id);
            }
        }
        Ok(Some(watch::open(self.pool.clone(), self.flavor, ids, own, poll).await?))
    }

    async fn pending(&self, table: &TableSchema, since: &Anchor, cap: u64) -> Result<Option<u64>, ConnectorError> {
        let t = TableRef::of(table);
        let (ver, seq) = parse_anchor(since)?;
        let what = format!("counting the changes of {t}");
        let mut lease = self.pool.get().await?;
        let Some(e) = registered(lease.conn(), &t, &what).await? else { return Ok(None) };
        let cap = cap.min(i64::MAX as u64) as i64;
        let r = rows(lease.conn(), &tsql::pending(self.flavor, e.id), &[&ver, &seq, &cap], &what).await?;
        Ok(Some(r.first().map(|r| int(r, 0)).unwrap_or(0).max(0) as u64))
    }

    async fn apply(&self, table: &TableSchema, ops: &[ApplyOp], origin: &str) -> Result<(), ConnectorError> {
        common::give_way(ops, |part, may_wait| self.apply_once(table, part, origin, may_wait)).await
    }

    async fn lookup(
        &self,
        table: &TableSchema,
        since: &Anchor,
        keys: &[ValueRow],
    ) -> Result<Vec<KeyState>, ConnectorError> {
        let t = TableRef::of(table);
        let (shape, cols) = self.shape(table, false).await?;
        let (ver, seq) = parse_anchor(since)?;
        let key_cols: Vec<&DbCol> = shape.keys.iter().map(|&k| &cols[k]).collect();
        let key_rows: Vec<&[hubsync_core::Value]> = keys.iter().map(Vec::as_slice).collect();
        let json = self.json(&t, &key_cols, &key_rows)?;
        let what = format!("looking up {} keys of {t}", keys.len());
        let mut lease = self.pool.get().await?;
        let c = lease.conn();
        let sql = tsql::lookup(self.flavor, &shape, entry(c, &t, &what).await?.id);
        let found = rows(c, &sql, &[&ver, &seq, &json.as_str()], &what).await?;
        let mut out = Vec::with_capacity(found.len());
        for r in &found {
            let cells: Vec<_> = r.cells().map(|(_, d)| d).collect();
            out.extend(common::looked_up(
                table,
                int(r, 0) != 0,
                int(r, 3) != 0,
                || ChangeMark { origin: text(r, 1), changed_at_micros: int(r, 2) },
                |col, i| types::decode(&t, &col.name, col.kind, cells[i]),
                |i| cells.get(i).map(|c| types::raw(c)),
            )?);
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
        let mut upto: Option<(i64, i64)> = None;
        for a in read_up_to {
            let p = parse_anchor(a)?;
            upto = Some(upto.map_or(p, |u| u.min(p)));
        }
        let (ver, seq) = upto.unwrap_or((i64::MAX, i64::MAX));
        let what = format!("purging deletes of {t}");
        let mut lease = self.pool.get().await?;
        let c = lease.conn();
        let e = entry(c, &t, &what).await?;
        exec(c, &tsql::purge(self.flavor, e.id), &[&ver, &seq, &older_than_micros], &what).await
    }

    async fn reannounce(&self, table: &TableSchema, keys: &[ValueRow]) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        let (shape, cols) = self.shape(table, false).await?;
        let key_cols: Vec<&DbCol> = shape.keys.iter().map(|&k| &cols[k]).collect();
        let key_rows: Vec<&[hubsync_core::Value]> = keys.iter().map(Vec::as_slice).collect();
        let json = self.json(&t, &key_cols, &key_rows)?;
        let what = format!("announcing {} rows of {t} again", keys.len());
        let mut lease = self.pool.get().await?;
        let c = lease.conn();
        let e = entry(c, &t, &what).await?;
        exec(c, &tsql::reannounce(self.flavor, &shape, e.id), &[&json.as_str()], &what).await?;
        Ok(())
    }

    async fn is_empty(&self, table: &TableRef) -> Result<bool, ConnectorError> {
        let mut lease = self.pool.get().await?;
        let r = rows(lease.conn(), &tsql::is_empty(table), &[], &format!("reading {table}")).await?;
        Ok(r.first().map(|r| int(r, 0)) == Some(1))
    }

    async fn scan(
        &self,
        table: &TableSchema,
        after: Option<&ValueRow>,
        limit: usize,
    ) -> Result<Vec<KeyState>, ConnectorError> {
        let (shape, cols) = self.shape(table, false).await?;
        let t = shape.table.clone();
        let sql = tsql::scan(self.flavor, &shape, after.is_some());
        let n = limit as i64;
        let mut lease = self.pool.get().await?;
        let found = match after {
            Some(k) => {
                let key_cols: Vec<&DbCol> = shape.keys.iter().map(|&i| &cols[i]).collect();
                let json = self.json(&t, &key_cols, &[k.as_slice()])?;
                rows(lease.conn(), &sql, &[&n, &json.as_str()], &format!("reading {t}")).await?
            }
            None => rows(lease.conn(), &sql, &[&n], &format!("reading {t}")).await?,
        };
        let cells: Vec<Vec<_>> = found.iter().map(|r| r.cells().map(|(_, d)| d).collect()).collect();
        common::scanned(
            table,
            &cells,
            |r, col, i| types::decode(&t, &col.name, col.kind, r[i]),
            |r, i| r.get(i).map(|c| types::raw(c)),
        )
    }

    async fn create_table(&self, table: &TableSchema, indexes: &[IndexInfo]) -> Result<(), ConnectorError> {
        let t = TableRef::of(table);
        common::check_selection(table)?;
        // SQL Server keys hold 900 bytes: text and binary key columns share
        // what the other key columns leave.
        let sized_keys = table
            .primary_key
            .iter()
            .filter(|&&k| matches!(table.columns[k].kind, ColumnType::Text | ColumnType::Bytes))
            .count() as u32;
        let fixed_bytes: u32 = table
            .primary_key
            .iter()
            .map(|&k| match table.columns[k].kind {
                ColumnType::Text | ColumnType::Bytes => 0,
                ColumnType::Uuid | ColumnType::Decimal => 17,
                _ => 10,
            })
            .sum();
        let share = (900u32.saturating_sub(fixed_bytes)) / sized_keys.max(1);
        let columns: Vec<String> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let key = table.primary_key.contains(&i);
                format!(
                    "{} {}{}",
                    tsql::quote(&c.name),
                    types::create_type(c, key.then_some(share)),
                    if c.nullable && !key { " NULL" } else { " NOT NULL" }
                )
            })
            .collect();
        let keys: Vec<&str> = table.primary_key.iter().map(|&k| table.columns[k].name.as_str()).collect();
        // Indexes on unbounded columns cannot be created on SQL Server.
        let carried: Vec<(String, bool, Vec<String>)> = common::carried_indexes(table, indexes)
            .into_iter()
            .filter(|i| {
                i.columns.iter().all(|n| {
                    table.index_of(n).is_some_and(|k| !types::create_type(&table.columns[k], None).ends_with("(max)"))
                })
            })
            .map(|i| (i.name.clone(), i.unique, i.columns.clone()))
            .collect();
        let what = format!("creating {t}");
        let mut lease = self.pool.get().await?;
        let c = lease.conn();
        let json: Vec<&str> = table
            .columns
            .iter()
            .filter(|c| c.kind == ColumnType::Json && c.declared_type.is_none())
            .map(|c| c.name.as_str())
            .collect();
        for s in tsql::create_table(&t, &columns, &keys, &carried, &json) {
            batch(c, &s, &what).await?;
        }
        if let Ok(mut m) = self.catalog.lock() {
            m.remove(&t);
        }
        Ok(())
    }
}

#[cfg(test)]
mod snapshots;
