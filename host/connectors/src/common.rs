//! Helpers every engine uses: selection checks, the provision marker's
//! fingerprint, error wrapping.

use std::time::Duration;

use hubsync_core::{ConnectorError, EngineKind, IndexInfo, TableRef, TableSchema};

use crate::sql;

/// Version of hubsync's tracking layout, recorded in each provision marker.
pub(crate) const FORMAT: i64 = 1;

/// A provisioned table's registry entry.
pub(crate) struct Meta {
    /// Its number, which names its tracking objects.
    pub(crate) id: i64,
    /// The selection it was provisioned for.
    pub(crate) columns: String,
}

/// How long a server database's pooled connection may stay idle before it
/// closes.
pub(crate) const IDLE_CONNECTION: Duration = Duration::from_secs(30);

/// Wrap a driver error with what hubsync was doing; a database refusing
/// the data written becomes [`ConnectorError::Rejected`].
pub(crate) fn db_error(engine: EngineKind, operation: impl Into<String>) -> impl FnOnce(sqlx::Error) -> ConnectorError {
    let operation = operation.into();
    move |e| {
        if let sqlx::Error::Database(d) = &e
            && lost_a_lock(engine, d.as_ref())
        {
            return ConnectorError::LockConflict { engine, operation, cause: d.message().to_owned() };
        }
        if let sqlx::Error::Database(d) = &e
            && rejects_data(engine, d.as_ref())
        {
            let column = column_in(d.message());
            let foreign_key = matches!(d.kind(), sqlx::error::ErrorKind::ForeignKeyViolation);
            return ConnectorError::Rejected { engine, operation, cause: d.message().to_owned(), column, foreign_key };
        }
        let cause = match e {
            // The pool's own message hides that the server stopped answering.
            sqlx::Error::PoolTimedOut => "no connection to the database could be had in time: the server stopped \
                                          answering or is overloaded; check that it is running and reachable"
                .to_owned(),
            e => e.to_string(),
        };
        ConnectorError::Database { engine, operation, cause }
    }
}

/// Open one connection with `options` within `timeout`, to learn at once
/// why a database cannot be reached. (sqlx's pool retries a refused
/// connection until its acquire timeout and then reports only that it
/// timed out; hubsync opens its pools after this probe succeeds.)
pub(crate) async fn probe<O>(url: &str, options: &O, timeout: Duration) -> Result<(), ConnectorError>
where
    O: sqlx::ConnectOptions,
    O::Connection: Sized,
{
    match tokio::time::timeout(timeout, options.connect()).await {
        Ok(Ok(conn)) => {
            let _ = sqlx::Connection::close(conn).await;
            Ok(())
        }
        Ok(Err(e)) => Err(connect_error(url, &e, timeout)),
        Err(_) => Err(timed_out(url, timeout)),
    }
}

fn timed_out(url: &str, timeout: Duration) -> ConnectorError {
    ConnectorError::Connect {
        url: crate::redact(url),
        cause: format!(
            "no answer within {} s; check the host and port, and that no firewall drops the connection \
             (connect_timeout_seconds raises the limit)",
            timeout.as_secs_f64()
        ),
    }
}

/// Why a connection failed, in words, with what to check.
pub(crate) fn connect_error(url: &str, e: &sqlx::Error, timeout: Duration) -> ConnectorError {
    let (host, port) = host_port(url);
    let cause = match e {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => format!(
            "connection refused: nothing is listening at {host}:{port}; check that the database server is \
             running and that the host and port are right"
        ),
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => return timed_out(url, timeout),
        sqlx::Error::Io(io)
            if io.to_string().contains("lookup")
                || io.to_string().contains("resolve")
                || io.to_string().contains("known") =>
        {
            format!("the host name {host:?} cannot be resolved ({io}); check its spelling and your DNS")
        }
        sqlx::Error::Io(io) => format!("network error talking to {host}:{port}: {io}"),
        sqlx::Error::Tls(t) => format!(
            "the TLS handshake failed: {t}; check the server's certificate and the URL's TLS settings \
             (sslmode= for PostgreSQL, ssl-mode= for MySQL)"
        ),
        sqlx::Error::PoolTimedOut => return timed_out(url, timeout),
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                // PostgreSQL invalid password / authorization; MySQL access denied.
                "28P01" | "28000" | "1045" | "1044" | "1698" => format!(
                    "the server refused the login: {}; check the user name and password in the URL",
                    d.message()
                ),
                "3D000" | "1049" => format!("{}; create the database first, or fix its name in the URL", d.message()),
                _ => d.message().to_owned(),
            }
        }
        other => other.to_string(),
    };
    ConnectorError::Connect { url: crate::redact(url), cause }
}

/// The host and port a URL names, for messages.
fn host_port(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let default = if url.starts_with("mysql") || url.starts_with("mariadb") { "3306" } else { "5432" };
    match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || p.chars().all(|c| c.is_ascii_digit()) => (h.to_owned(), p.to_owned()),
        _ => (hostport.to_owned(), default.to_owned()),
    }
}

/// Whether a database error says another transaction held what this one
/// needed: a lock wait cut short, a deadlock, a serialization failure.
fn lost_a_lock(engine: EngineKind, d: &dyn sqlx::error::DatabaseError) -> bool {
    let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
    match engine {
        EngineKind::Postgres => matches!(code.as_str(), "55P03" | "40P01" | "40001"),
        EngineKind::Mysql => {
            #[cfg(feature = "mysql")]
            if let Some(my) = d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                // Lock wait timeout, deadlock, NOWAIT.
                return matches!(my.number(), 1205 | 1213 | 3572);
            }
            code == "40001"
        }
        // SQLITE_BUSY and SQLITE_LOCKED, with their extended codes.
        EngineKind::Sqlite => code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)),
        // SQL Server errors come through tiberius (mssql::conn), never sqlx.
        EngineKind::Mssql => false,
    }
}

/// How many times a write that gave way is tried again whole before it is split.
const RETRIES_BEFORE_SPLIT: u32 = 2;

/// Apply `ops` so that applications writing the same rows never lose to
/// hubsync in a lock cycle. `attempt(ops, may_wait)` writes some ops in one
/// transaction; with `may_wait` false it must not wait for locks (or only
/// briefly, well under the server's deadlock detection), failing with
/// [`ConnectorError::LockConflict`] instead. A transaction that never waits
/// while holding locks cannot be part of a deadlock, so the applications'
/// transactions never become deadlock victims because of hubsync. On a
/// conflict the ops are retried after a short pause, then split in halves
/// (each half its own transaction, in order) down to single rows, which may
/// wait: a transaction that holds nothing while it waits closes no cycle.
///
/// Splitting gives up all-or-nothing for the whole call, not for each part;
/// that is safe because the ops are final row states, a repeated part is
/// harmless, and the sync engine advances its anchor only after the call.
pub(crate) async fn give_way<'a, F, Fut>(ops: &'a [hubsync_core::ApplyOp], mut attempt: F) -> Result<(), ConnectorError>
where
    F: FnMut(&'a [hubsync_core::ApplyOp], bool) -> Fut,
    Fut: std::future::Future<Output = Result<(), ConnectorError>>,
{
    // Ranges still to write, the next one last.
    let mut todo = Vec::new();
    todo.push(0..ops.len());
    while let Some(r) = todo.pop() {
        let may_wait = r.len() <= 1;
        let mut tries = 0;
        loop {
            match attempt(&ops[r.clone()], may_wait).await {
                Ok(()) => break,
                Err(ConnectorError::LockConflict { .. }) if tries < RETRIES_BEFORE_SPLIT + u32::from(may_wait) * 3 => {
                    tries += 1;
                    tokio::time::sleep(pause(tries)).await;
                }
                Err(ConnectorError::LockConflict { .. }) if !may_wait => {
                    let mid = r.start + r.len() / 2;
                    tracing::debug!(rows = r.len(), "apply gave way to other transactions; splitting it");
                    todo.push(mid..r.end);
                    todo.push(r.start..mid);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// A short pause that grows with `tries`, jittered so that retries of
/// competing writers do not meet again.
fn pause(tries: u32) -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    Duration::from_millis(5 * u64::from(tries) + u64::from(nanos % 20))
}

/// Whether a database error says the data written is at fault (a
/// constraint, a value too long, out of range or malformed), not the
/// connection, the server or hubsync's SQL.
fn rejects_data(engine: EngineKind, d: &dyn sqlx::error::DatabaseError) -> bool {
    use sqlx::error::ErrorKind;
    if !matches!(d.kind(), ErrorKind::Other) {
        return true; // unique, foreign key, not null, check
    }
    let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
    match engine {
        // SQLSTATE classes 22 (data exception) and 23 (integrity constraint).
        EngineKind::Postgres => code.starts_with("22") || code.starts_with("23"),
        EngineKind::Mysql => {
            #[cfg(feature = "mysql")]
            if let Some(my) = d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                // Incorrect value (1366, 1367, 1411), bad JSON (3140), CHECK (3819, 4025),
                // a row too large for its page (1118: the values of a wide table).
                if matches!(my.number(), 1118 | 1366 | 1367 | 1411 | 3140 | 3819 | 4025) {
                    return true;
                }
            }
            code.starts_with("22") || code.starts_with("23")
        }
        // SQLITE_CONSTRAINT (19) and SQLITE_MISMATCH (20), with their extended codes.
        EngineKind::Sqlite => code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 19 | 20)),
        EngineKind::Mssql => false,
    }
}

/// The column a database error names, if it names one: PostgreSQL
/// `column "x"`, MySQL `column 'x'`, SQLite `constraint failed: t.x`.
fn column_in(message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    if let Some(i) = lower.find("column ") {
        let rest = &message[i + 7..];
        let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\'' | '`'))?;
        return rest[1..].split(quote).next().map(str::to_owned);
    }
    if let Some(i) = message.find("constraint failed: ") {
        let first = message[i + 19..].split([',', ' ']).next()?;
        return first.rsplit('.').next().map(str::to_owned);
    }
    None
}

/// A value as text for a report: shortened, never more than 200 characters.
pub(crate) fn shown(value: &str) -> String {
    if value.chars().count() > 200 {
        format!("{}…", value.chars().take(200).collect::<String>())
    } else {
        value.to_owned()
    }
}

/// The selection as recorded in the provision marker: format, key and columns with types.
pub(crate) fn fingerprint(t: &TableSchema) -> String {
    let cols: Vec<String> = t.columns.iter().map(|c| format!("{}:{}", c.name, c.kind)).collect();
    let key: Vec<String> = t.primary_key.iter().map(|&i| t.columns[i].name.clone()).collect();
    format!("v{FORMAT};key={};cols={}", key.join(","), cols.join(","))
}

/// What re-provisioning a table changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reprovision {
    /// First provisioning.
    New,
    /// Same key, other columns: keep the tracking table (and its pending
    /// deletes) and announce every tracked row again, so new columns are
    /// backfilled on the next sync.
    Columns,
    /// Another key: the tracking table is rebuilt.
    Key,
}

/// Compare the recorded fingerprint with the new one.
pub(crate) fn reprovision(old: Option<&str>, new: &str) -> Reprovision {
    let key = |fp: &str| fp.split(';').find(|p| p.starts_with("key=")).map(str::to_owned);
    match old {
        None => Reprovision::New,
        Some(old) if key(old) == key(new) => Reprovision::Columns,
        Some(_) => Reprovision::Key,
    }
}

/// Refuse a selection hubsync cannot sync, saying what to do.
pub(crate) fn check_selection(t: &TableSchema) -> Result<(), ConnectorError> {
    let r = TableRef::of(t);
    let refuse = |reason: String| ConnectorError::Refused { table: r.clone(), reason };
    sql::check_ident(&r, &t.name)?;
    if let Some(ns) = &t.namespace {
        sql::check_ident(&r, ns)?;
    }
    for c in &t.columns {
        sql::check_ident(&r, &c.name)?;
    }
    if t.primary_key.is_empty() {
        return Err(refuse(
            "it has no primary key (or the selection leaves out its key columns); \
             hubsync syncs only tables with a primary key: add one, or select every key column"
                .into(),
        ));
    }
    t.validate().map_err(refuse)?;
    if let Some(&k) = t.primary_key.iter().find(|&&k| t.columns[k].name.starts_with("hubsync_")) {
        return Err(refuse(format!(
            "key column {:?} starts with `hubsync_`, which hubsync reserves for its tracking columns; rename it",
            t.columns[k].name
        )));
    }
    Ok(())
}

/// The indexes that can be carried to a destination: those whose columns
/// are all selected.
pub(crate) fn carried_indexes<'a>(t: &TableSchema, indexes: &'a [IndexInfo]) -> Vec<&'a IndexInfo> {
    indexes.iter().filter(|i| i.columns.iter().all(|c| t.index_of(c).is_some())).collect()
}

/// Assemble a captured change from a result row laid out as hubsync's
/// queries lay it out: the key columns from `first_key`, then every selected
/// column. `decode(column, index)` reads one cell.
pub(crate) fn captured(
    table: &TableSchema,
    first_key: usize,
    deleted: bool,
    changed_at_micros: i64,
    origin: Option<String>,
    decode: impl Fn(&hubsync_core::Column, usize) -> Result<hubsync_core::Value, ConnectorError>,
) -> Result<hubsync_core::CapturedChange, ConnectorError> {
    let nk = table.primary_key.len();
    let key = table
        .primary_key
        .iter()
        .enumerate()
        .map(|(i, &k)| decode(&table.columns[k], first_key + i))
        .collect::<Result<Vec<_>, _>>()?;
    let row = if deleted {
        None
    } else {
        let cells = table.columns.iter().enumerate().map(|(i, c)| decode(c, first_key + nk + i));
        Some(cells.collect::<Result<Vec<_>, _>>()?)
    };
    Ok(hubsync_core::CapturedChange { key, row, changed_at_micros, origin })
}

/// [`captured`], except that a row whose values cannot be read becomes a
/// [`BadRow`](hubsync_core::BadRow) (`raw(i)` gives cell `i` as text for the
/// report); only failures of the database itself are errors.
pub(crate) fn captured_or_bad(
    table: &TableSchema,
    first_key: usize,
    deleted: bool,
    changed_at_micros: i64,
    origin: Option<String>,
    decode: impl Fn(&hubsync_core::Column, usize) -> Result<hubsync_core::Value, ConnectorError>,
    raw: impl Fn(usize) -> Option<String>,
) -> Result<Result<hubsync_core::CapturedChange, hubsync_core::BadRow>, ConnectorError> {
    match captured(table, first_key, deleted, changed_at_micros, origin, &decode) {
        Ok(c) => Ok(Ok(c)),
        Err(ConnectorError::BadValue { column, reason, .. }) => {
            let nk = table.primary_key.len();
            let key = table
                .primary_key
                .iter()
                .enumerate()
                .map(|(i, &k)| decode(&table.columns[k], first_key + i))
                .collect::<Result<Vec<_>, _>>()
                .ok();
            // The cell at fault: a key cell if the key did not decode, else a row cell.
            let cell = match key {
                None => table.primary_key.iter().position(|&k| table.columns[k].name == column).map(|i| first_key + i),
                Some(_) => table.index_of(&column).map(|i| first_key + nk + i),
            };
            let value = cell.and_then(&raw).map(|v| shown(&v));
            Ok(Err(hubsync_core::BadRow { key, column: Some(column), value, error: reason }))
        }
        Err(e) => Err(e),
    }
}

/// A read batch being filled, streamed row by row: it is full at `cap`
/// rows or, past its first row, at `budget` bytes of decoded data.
pub(crate) struct Filling {
    cap: usize,
    budget: usize,
    bytes: usize,
    /// The changes read.
    pub(crate) changes: Vec<hubsync_core::CapturedChange>,
    /// The rows that could not be decoded.
    pub(crate) unreadable: Vec<hubsync_core::BadRow>,
}

impl Filling {
    /// The rows to ask the database for, beyond the one that says there are more.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// Whether the batch takes no more rows (another one waiting means `more`).
    pub(crate) fn full(&self) -> bool {
        self.changes.len() + self.unreadable.len() >= self.cap || self.bytes >= self.budget
    }

    /// Put one read of [`captured_or_bad`] where it belongs in the batch.
    pub(crate) fn push(&mut self, read: Result<hubsync_core::CapturedChange, hubsync_core::BadRow>) {
        match read {
            Ok(c) => {
                self.bytes += row_bytes(&c.key) + c.row.as_deref().map_or(0, row_bytes);
                self.changes.push(c);
            }
            Err(bad) => {
                self.bytes += 256;
                self.unreadable.push(bad);
            }
        }
    }
}

/// One lookup answer from [`captured_or_bad`]'s result: an unreadable
/// current row is reported in the state instead of failing the lookup.
pub(crate) fn key_state(
    read: Result<hubsync_core::CapturedChange, hubsync_core::BadRow>,
    change: Option<hubsync_core::ChangeMark>,
) -> hubsync_core::KeyState {
    match read {
        Ok(c) => hubsync_core::KeyState { key: c.key, row: c.row, change, unreadable: None },
        Err(bad) => hubsync_core::KeyState {
            key: bad.key.clone().unwrap_or_default(),
            row: None,
            change,
            unreadable: Some(bad),
        },
    }
}

/// One row of a lookup answer, laid out as every engine's lookup query lays
/// it out: whether the key changed after the anchor (cell 0), who changed
/// it and when (cells 1, 2), whether the row is there (cell 3), then the key
/// and the columns. `None` for a key neither present nor changed (left out
/// of the answer).
pub(crate) fn looked_up(
    table: &TableSchema,
    changed: bool,
    present: bool,
    mark: impl FnOnce() -> hubsync_core::ChangeMark,
    decode: impl Fn(&hubsync_core::Column, usize) -> Result<hubsync_core::Value, ConnectorError>,
    raw: impl Fn(usize) -> Option<String>,
) -> Result<Option<hubsync_core::KeyState>, ConnectorError> {
    if !changed && !present {
        return Ok(None);
    }
    let read = captured_or_bad(table, 4, !present, 0, None, decode, raw)?;
    Ok(Some(key_state(read, changed.then(mark))))
}

/// A run of consecutive writes of one kind with distinct keys (the last
/// write of a key wins), so each run can be one set-based statement.
pub(crate) enum Run<'a> {
    /// Rows to insert or update.
    Upserts(Vec<&'a [hubsync_core::Value]>),
    /// Keys to delete.
    Deletes(Vec<&'a [hubsync_core::Value]>),
}

/// A total order on keys, the same in every hubsync process: writes sorted
/// by it take their row locks in the same order, so two hubsync
/// transactions (two groups sharing a table, say) cannot deadlock.
pub(crate) fn cmp_keys(a: &[hubsync_core::Value], b: &[hubsync_core::Value]) -> std::cmp::Ordering {
    use hubsync_core::Value as V;
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (V::Int(x), V::Int(y)) => x.cmp(y),
            (V::Text(x), V::Text(y)) => x.cmp(y),
            (V::Bytes(x), V::Bytes(y)) => x.cmp(y),
            (V::Uuid(x), V::Uuid(y)) => x.cmp(y),
            (x, y) => format!("{:?}", x.canonical()).cmp(&format!("{:?}", y.canonical())),
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// Split ops into runs, keeping their order across kinds; within a run
/// (distinct keys), rows are sorted by key ([`cmp_keys`]).
pub(crate) fn runs<'a>(t: &TableSchema, ops: &'a [hubsync_core::ApplyOp]) -> Vec<Run<'a>> {
    use hubsync_core::ApplyOp;
    use std::collections::HashMap;
    let key_of = |op: &ApplyOp| -> String {
        let vals: Vec<String> = match op {
            ApplyOp::Upsert(row) => t.primary_key.iter().map(|&i| format!("{:?}", row[i])).collect(),
            ApplyOp::Delete(key) => key.iter().map(|v| format!("{v:?}")).collect(),
        };
        vals.join("\u{1f}")
    };
    let mut out: Vec<Run<'a>> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for op in ops {
        let is_upsert = matches!(op, ApplyOp::Upsert(_));
        let same_kind =
            matches!((out.last(), is_upsert), (Some(Run::Upserts(_)), true) | (Some(Run::Deletes(_)), false));
        if !same_kind {
            out.push(if is_upsert { Run::Upserts(Vec::new()) } else { Run::Deletes(Vec::new()) });
            seen.clear();
        }
        let k = key_of(op);
        let (list, values) = match (out.last_mut(), op) {
            (Some(Run::Upserts(l)), ApplyOp::Upsert(r)) => (l, r.as_slice()),
            (Some(Run::Deletes(l)), ApplyOp::Delete(k)) => (l, k.as_slice()),
            _ => continue,
        };
        match seen.get(&k) {
            Some(&i) => list[i] = values,
            None => {
                seen.insert(k, list.len());
                list.push(values);
            }
        }
    }
    for run in &mut out {
        match run {
            Run::Upserts(rows) => {
                let key = |r: &[hubsync_core::Value]| -> Vec<hubsync_core::Value> {
                    t.primary_key.iter().map(|&i| r[i].clone()).collect()
                };
                rows.sort_by(|a, b| cmp_keys(&key(a), &key(b)));
            }
            Run::Deletes(keys) => keys.sort_by(|a, b| cmp_keys(a, b)),
        }
    }
    out
}

/// The key states of a page of [`Connector::scan`](hubsync_core::Connector::scan):
/// each row's key cells first, then its columns; a row that cannot be
/// decoded comes back with `unreadable` set.
pub(crate) fn scanned<R>(
    table: &TableSchema,
    rows: &[R],
    decode: impl Fn(&R, &hubsync_core::Column, usize) -> Result<hubsync_core::Value, ConnectorError>,
    raw: impl Fn(&R, usize) -> Option<String>,
) -> Result<Vec<hubsync_core::KeyState>, ConnectorError> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let read = captured_or_bad(table, 0, false, 0, None, |c, i| decode(r, c, i), |i| raw(r, i))?;
        out.push(key_state(read, None));
    }
    Ok(out)
}

/// Average row bytes per tracked table (by registry id) seen in the last
/// read, so the next read asks the database for about as many rows as fit
/// in the batch's bytes: a read that stops early still makes the driver
/// receive (and drop) every row the statement asked for.
#[derive(Default)]
pub(crate) struct RowSizes(std::sync::Mutex<std::collections::HashMap<i64, usize>>);

impl RowSizes {
    /// A batch for the next read of table `id`, capped at `limit` rows, or
    /// fewer when its rows are large (a table not read yet starts with a
    /// few); ask the database for `cap() + 1` rows.
    pub(crate) fn start(&self, id: i64, limit: usize, budget: usize) -> Filling {
        let seen = self.0.lock().map(|m| m.get(&id).copied()).unwrap_or(None);
        let cap = match seen {
            Some(avg) => (budget / avg.max(1)).clamp(1, limit.max(1)),
            None => limit.clamp(1, 16),
        };
        Filling { cap, budget, bytes: 0, changes: Vec::new(), unreadable: Vec::new() }
    }

    /// Remember the row size of a finished batch of table `id`.
    pub(crate) fn finish(&self, id: i64, batch: &Filling) {
        let rows = batch.changes.len() + batch.unreadable.len();
        if let (true, Ok(mut m)) = (rows > 0, self.0.lock()) {
            m.insert(id, batch.bytes / rows);
        }
    }
}

/// Bytes of a row in memory (see [`hubsync_core::Value::memory_bytes`]).
pub(crate) fn row_bytes(row: &[hubsync_core::Value]) -> usize {
    row.iter().map(hubsync_core::Value::memory_bytes).sum::<usize>() + 24
}

/// Consecutive chunks of `rows` for one statement each: at most `max_rows`
/// rows, `max_params` bound values (`width` per row) and `max_bytes` bytes,
/// but at least one row per chunk.
pub(crate) fn statement_chunks<R: AsRef<[hubsync_core::Value]>>(
    rows: &[R],
    width: usize,
    max_rows: usize,
    max_params: usize,
    max_bytes: usize,
) -> Vec<&[R]> {
    let per = (max_params / width.max(1)).clamp(1, max_rows.max(1));
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, r) in rows.iter().enumerate() {
        let b = row_bytes(r.as_ref());
        if i > start && (i - start >= per || bytes + b > max_bytes) {
            out.push(&rows[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += b;
    }
    if start < rows.len() {
        out.push(&rows[start..]);
    }
    out
}

/// What [`hubsync_core::Connector::pending_many`] asks of a database in
/// one statement: `rows` spells each ask's tracking rows after its anchor
/// (`SELECT 1 FROM …`, no limit), `None` for a table hubsync does not
/// track. Returns the answers so far (`Some(0)` for asks with a statement,
/// `None` for the others) and the statement, `None` when nothing is asked.
/// `index` spells an ask's index as the engine's 64-bit integer.
pub(crate) fn count_asks(
    asks: &[(&TableSchema, &hubsync_core::Anchor)],
    cap: u64,
    index: impl Fn(usize) -> String,
    mut rows: impl FnMut(&TableSchema, &hubsync_core::Anchor) -> Result<Option<String>, ConnectorError>,
) -> Result<(Vec<Option<u64>>, Option<String>), ConnectorError> {
    let cap = cap.min(i64::MAX as u64);
    let mut out = vec![None; asks.len()];
    let mut parts = Vec::new();
    for (i, (table, since)) in asks.iter().enumerate() {
        if let Some(r) = rows(table, since)? {
            parts.push(format!("SELECT {}, COUNT(*) FROM ({r} LIMIT {cap}) c{i}", index(i)));
            out[i] = Some(0);
        }
    }
    Ok((out, (!parts.is_empty()).then(|| parts.join(" UNION ALL "))))
}

/// Put the (ask index, count) rows of [`count_asks`]' statement into its answers.
pub(crate) fn counted(out: &mut [Option<u64>], rows: impl Iterator<Item = (i64, i64)>) {
    for (i, n) in rows {
        if let Some(slot) = out.get_mut(i as usize) {
            *slot = Some(n.max(0) as u64);
        }
    }
}

/// `options` with sqlx's "slow statement" warnings lowered to debug: a
/// bulk load or a provisioning of a million rows takes seconds by nature,
/// and users read stderr for what needs their attention
/// (`HUBSYNC_LOG=sqlx=debug` shows them again).
pub(crate) fn quiet_slow<O: sqlx::ConnectOptions>(options: O) -> O {
    options.log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1))
}

/// The registry ids of the tables a watch follows (`id_of` looks one up),
/// in order; a table not provisioned here cannot be watched.
pub(crate) fn watched(
    tables: &[TableSchema],
    id_of: impl Fn(&TableSchema) -> Option<i64>,
) -> Result<Vec<i64>, ConnectorError> {
    tables.iter().map(|t| id_of(t).ok_or_else(|| ConnectorError::NotProvisioned(TableRef::of(t)))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hubsync_core::{ApplyOp, ColumnType, Value};

    #[test]
    fn runs_keep_order_and_last_write_per_key() {
        let t = TableSchema::new("t").key("id", ColumnType::Int).column("v", ColumnType::Int);
        let up = |id, v| ApplyOp::Upsert(vec![Value::Int(id), Value::Int(v)]);
        let del = |id| ApplyOp::Delete(vec![Value::Int(id)]);
        let ops = [up(1, 1), up(2, 2), up(1, 3), del(2), del(2), up(2, 4)];
        let r = runs(&t, &ops);
        assert_eq!(r.len(), 3);
        match &r[0] {
            Run::Upserts(rows) => {
                assert_eq!(rows, &[&[Value::Int(1), Value::Int(3)][..], &[Value::Int(2), Value::Int(2)][..]])
            }
            Run::Deletes(_) => panic!("upserts first"),
        }
        assert!(matches!(&r[1], Run::Deletes(k) if k.len() == 1));
        assert!(matches!(&r[2], Run::Upserts(rows) if rows.len() == 1));
        // Within a run, rows come sorted by key (numerically for integers).
        let ops = [up(10, 1), up(9, 1), up(100, 1)];
        match &runs(&t, &ops)[0] {
            Run::Upserts(rows) => {
                assert_eq!(rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(), [9, 10, 100].map(Value::Int))
            }
            Run::Deletes(_) => panic!("upserts"),
        }
    }

    #[test]
    fn statements_stay_within_rows_placeholders_and_bytes() {
        use hubsync_core::Value;
        let rows: Vec<Vec<Value>> = (0..10).map(|i| vec![Value::Int(i), Value::Bytes(vec![0; 1000])]).collect();
        let sizes = |c: Vec<&[Vec<Value>]>| c.iter().map(|c| c.len()).collect::<Vec<_>>();
        assert_eq!(sizes(statement_chunks(&rows, 2, 4, 1000, usize::MAX)), [4, 4, 2]);
        assert_eq!(sizes(statement_chunks(&rows, 2, 100, 6, usize::MAX)), [3, 3, 3, 1]);
        assert_eq!(sizes(statement_chunks(&rows, 2, 100, 1000, 2300)), [2, 2, 2, 2, 2]);
        // A row larger than the byte limit still goes, alone.
        assert_eq!(sizes(statement_chunks(&rows, 2, 100, 1000, 10)), [1; 10]);
    }
}
