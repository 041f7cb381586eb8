//! The connector contract: what every database engine implements so the
//! sync engine can capture changes on it and apply changes to it. The
//! engine only ever sees this trait, so a new engine slots in without
//! changing the engine.

use std::fmt;
use std::time::Duration;

use crate::schema::TableSchema;
use crate::value::Row;

/// The database engines hubsync speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// SQLite (embedded).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
    /// Microsoft SQL Server or Azure SQL Database (and Babelfish for
    /// PostgreSQL, which speaks their protocol and dialect).
    Mssql,
}

impl EngineKind {
    /// Whether tables live in named SQL schemas (`sales.orders`) that
    /// hubsync keeps: PostgreSQL and SQL Server. MySQL's "schemas" are
    /// databases and SQLite has none.
    pub fn has_namespaces(self) -> bool {
        matches!(self, EngineKind::Postgres | EngineKind::Mssql)
    }

    /// The SQL schema a table is in when none is named (`public`, `dbo`).
    /// Tables there are reported without a namespace, so a group that names
    /// it (`namespace = "public"`) means the same table as one that does not.
    pub fn default_namespace(self) -> Option<&'static str> {
        match self {
            EngineKind::Postgres => Some("public"),
            EngineKind::Mssql => Some("dbo"),
            EngineKind::Sqlite | EngineKind::Mysql => None,
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineKind::Sqlite => "SQLite",
            EngineKind::Postgres => "PostgreSQL",
            EngineKind::Mysql => "MySQL/MariaDB",
            EngineKind::Mssql => "SQL Server",
        })
    }
}

/// How hubsync connects to a database, beyond its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions {
    /// How long to wait for a connection before giving up and saying why
    /// (refused, unknown host, TLS, login) or that nothing answered.
    pub connect_timeout: Duration,
    /// The longest one statement may run (PostgreSQL `statement_timeout`,
    /// MariaDB `max_statement_time`, MySQL `max_execution_time` for reads,
    /// SQLite: the longest wait for another writer's lock); `None` keeps
    /// the server's own limit.
    pub statement_timeout: Option<Duration>,
    /// Bytes of decoded row data one `read_changes` batch holds at most
    /// (past its first row, which is always read).
    pub read_bytes: usize,
}

impl ConnectOptions {
    /// Connect timeout when none is configured.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions { connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT, statement_timeout: None, read_bytes: 16 << 20 }
    }
}

/// A table's name and namespace (SQL schema), as the database spells them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableRef {
    /// The SQL schema, if the engine has them and it is not the default.
    pub namespace: Option<String>,
    /// The table name.
    pub name: String,
}

impl TableRef {
    /// The reference of a schema's table.
    pub fn of(t: &TableSchema) -> TableRef {
        TableRef { namespace: t.namespace.clone(), name: t.name.clone() }
    }
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// An index found by introspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// Its name.
    pub name: String,
    /// Its columns in order.
    pub columns: Vec<String>,
    /// Whether it is unique.
    pub unique: bool,
}

/// A column whose type hubsync cannot sync: reported, never dropped silently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedColumn {
    /// The column.
    pub column: String,
    /// Its declared type.
    pub declared_type: String,
}

/// A table as introspection ("refresh schema") finds it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// Supported columns, the primary key (empty if none) and declared types.
    pub schema: TableSchema,
    /// Indexes other than the primary key.
    pub indexes: Vec<IndexInfo>,
    /// Columns of types hubsync cannot sync.
    pub unsupported: Vec<UnsupportedColumn>,
    /// Foreign keys of this table (to tables of the same database).
    pub foreign_keys: Vec<ForeignKey>,
}

/// A foreign key: rows of the table holding it refer to rows of `references`.
/// The sync engine orders writes by them (parents' upserts first, children's
/// deletes first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The constraint's name.
    pub name: String,
    /// The referring columns.
    pub columns: Vec<String>,
    /// The referenced table (the same table for a self-reference).
    pub references: TableRef,
}

/// A position in a table's change stream. Opaque outside its connector;
/// the sync engine stores it and hands it back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Anchor(pub String);

impl Anchor {
    /// Before every change (a table's initial sync reads from here).
    pub fn start() -> Anchor {
        Anchor::default()
    }
}

/// One captured change: the latest state of a key.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedChange {
    /// The primary key in key order.
    pub key: Row,
    /// The row now (positional against the selected columns); `None` if deleted.
    pub row: Option<Row>,
    /// When it was recorded, µs since the Unix epoch.
    pub changed_at_micros: i64,
    /// The peer hubsync applied it from, or `None` for a local change.
    pub origin: Option<String>,
}

/// A row hubsync could not read or write, and why: reported (and
/// quarantined by the engine), never dropped silently.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    /// The key in key order, if it could be read.
    pub key: Option<Row>,
    /// The column at fault, if known.
    pub column: Option<String>,
    /// The offending value as the database holds it (text, shortened), if known.
    pub value: Option<String>,
    /// What went wrong: the database's message, or why the value does not fit.
    pub error: String,
}

/// A batch of changes and where the next read starts.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeBatch {
    /// The changes, in capture order.
    pub changes: Vec<CapturedChange>,
    /// Changes of this batch whose row could not be read (a value that does
    /// not fit its column's type, say); `next` is past them.
    pub unreadable: Vec<BadRow>,
    /// The anchor after these changes.
    pub next: Anchor,
    /// Whether more changes were already waiting past `next`.
    pub more: bool,
    /// Whether committed changes wait behind an older transaction that is
    /// still open (they cannot be read yet without risking a gap); read
    /// again shortly.
    pub pending: bool,
}

/// What [`Connector::lookup`] found for one key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyState {
    /// The key in key order.
    pub key: Row,
    /// The row as it is now (positional against the selected columns); `None` if absent.
    pub row: Option<Row>,
    /// The key's latest change, if it was recorded after the anchor the lookup was given.
    pub change: Option<ChangeMark>,
    /// Why the current row could not be read, when it could not (`row` is then `None`).
    pub unreadable: Option<BadRow>,
}

/// Who made a key's latest change, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeMark {
    /// The peer hubsync applied it from, or `None` for a local change.
    pub origin: Option<String>,
    /// When it was recorded, µs since the Unix epoch.
    pub changed_at_micros: i64,
}

/// A key's identity as a string, for maps and for comparing keys read from
/// different engines: the same values (decimals by value) give the same string.
pub fn key_id(key: &[crate::Value]) -> String {
    let mut out = String::new();
    for (i, v) in key.iter().enumerate() {
        if i > 0 {
            out.push('\u{1f}');
        }
        out.push_str(&format!("{:?}", v.canonical()));
    }
    out
}

/// One write of an apply batch.
#[derive(Debug, Clone, PartialEq)]
pub enum ApplyOp {
    /// Insert or update this row (positional against the selected columns).
    Upsert(Row),
    /// Delete the row with this key.
    Delete(Row),
}

/// What can go wrong talking to a database. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The URL is not one hubsync understands.
    #[error("{0}")]
    BadUrl(String),
    /// A request that cannot be done as asked (an unknown name, a malformed
    /// value, a state that forbids it); the message says what to do.
    #[error("{0}")]
    Invalid(String),
    /// The engine was not compiled in.
    #[error("this hubsync was built without {0} support; rebuild with the `{1}` feature")]
    NotCompiledIn(EngineKind, &'static str),
    /// The database could not be reached.
    #[error("cannot connect to {url}: {cause}")]
    Connect {
        /// The URL without its password.
        url: String,
        /// The driver's message.
        cause: String,
    },
    /// A table cannot be synced as selected.
    #[error("table {table}: {reason}")]
    Refused {
        /// The table.
        table: TableRef,
        /// Why, and what to do.
        reason: String,
    },
    /// A table is not provisioned for sync.
    #[error("table {0} is not provisioned for sync on this database; provision it first")]
    NotProvisioned(TableRef),
    /// A statement failed.
    #[error("{operation} failed on {engine}: {cause}")]
    Database {
        /// The engine.
        engine: EngineKind,
        /// What hubsync was doing, e.g. "applying 1000 changes to orders".
        operation: String,
        /// The driver's message.
        cause: String,
    },
    /// The database refused the data of a write: a constraint (unique,
    /// foreign key, check, not null), a value too long or out of range, a
    /// malformed value. The rows written are at fault, not the connection.
    #[error("{operation} failed on {engine}: {cause}")]
    Rejected {
        /// The engine.
        engine: EngineKind,
        /// What hubsync was doing.
        operation: String,
        /// The database's message.
        cause: String,
        /// The column the database named, if it named one.
        column: Option<String>,
        /// Whether a foreign key refused it: the row it refers to is not
        /// there yet, or rows referring to it still are. Writing the other
        /// table first makes it go through.
        foreign_key: bool,
    },
    /// A write gave way to another transaction holding the rows it needed
    /// (a lock wait hubsync cut short, a deadlock, a serialization failure);
    /// retried by the connector, reported only when retries ran out.
    #[error(
        "{operation} failed on {engine}: {cause} (other transactions kept holding the rows; the next sync retries)"
    )]
    LockConflict {
        /// The engine.
        engine: EngineKind,
        /// What hubsync was doing.
        operation: String,
        /// The database's message.
        cause: String,
    },
    /// A value read from the database does not fit its column's type.
    #[error("table {table}, column {column:?}: {reason}")]
    BadValue {
        /// The table.
        table: TableRef,
        /// The column.
        column: String,
        /// What is wrong.
        reason: String,
    },
}

impl ConnectorError {
    /// Whether the data of the rows involved caused this (a rejected write, a
    /// value that does not fit), rather than the database or the connection:
    /// such a failure is narrowed down to its rows, which are quarantined.
    pub fn is_row_level(&self) -> bool {
        matches!(self, ConnectorError::Rejected { .. } | ConnectorError::BadValue { .. })
    }
}

/// A database hubsync can capture changes on and apply changes to.
///
/// Tables are given as [`TableSchema`]s holding only the selected columns
/// (the key included); rows are positional against them.
#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    /// Which engine this is.
    fn engine(&self) -> EngineKind;

    /// Every user table with its columns, key and indexes ("refresh schema").
    async fn introspect(&self) -> Result<Vec<TableInfo>, ConnectorError>;

    /// Which database this is: a random id hubsync keeps in the database,
    /// made at the first call (by the first provisioning). A database
    /// re-created, restored empty or replaced by another under the same URL
    /// answers another id, so the engine can tell it from the one it synced.
    /// `None`: this connection cannot say (an agent too old to be asked).
    async fn identity(&self) -> Result<Option<String>, ConnectorError>;

    /// Create the tracking table and triggers of `table` (idempotent), and
    /// record the rows already there as changes.
    async fn provision(&self, table: &TableSchema) -> Result<(), ConnectorError>;

    /// Remove every hubsync object of `table` and nothing else.
    async fn deprovision(&self, table: &TableRef) -> Result<(), ConnectorError>;

    /// Remove every hubsync object in the database and nothing else.
    async fn deprovision_all(&self) -> Result<(), ConnectorError>;

    /// Up to `limit` changes of `table` after `since`, in order. A change
    /// that commits after a later-numbered one is never skipped. A change
    /// whose row cannot be read is reported in `unreadable`, not as an error.
    async fn read_changes(
        &self,
        table: &TableSchema,
        since: &Anchor,
        limit: usize,
    ) -> Result<ChangeBatch, ConnectorError>;

    /// [`Connector::read_changes`] for a reader that skips the changes
    /// `echo` marks (hubsync's own writes, read back on the side they were
    /// written to): those come with their origin and key but without their
    /// row (`row` is `None`), so engines leave the table out of the read
    /// for them, and a run of consecutive echoes may come as its last
    /// entry alone (engines that filter them where they are stored send
    /// only where the run ends, the position the next read starts from).
    /// After a large download the upload pass then reads neither the rows
    /// it wrote nor, mostly, their tracking entries. When `echo` is
    /// `None`, or for a database that does not do this, the same as
    /// `read_changes`.
    async fn read_changes_skipping(
        &self,
        table: &TableSchema,
        since: &Anchor,
        limit: usize,
        echo: Option<&str>,
    ) -> Result<ChangeBatch, ConnectorError> {
        let _ = echo;
        self.read_changes(table, since, limit).await
    }

    /// How many changes of `table` wait after `since`, counted up to `cap`
    /// (the count stops there, so asking reads at most `cap` entries of the
    /// tracking table's index): the total a progress bar shows. `None` when
    /// this database cannot tell (an agent on an older protocol). Changes
    /// hubsync wrote itself are counted: the sync reads them too.
    async fn pending(&self, table: &TableSchema, since: &Anchor, cap: u64) -> Result<Option<u64>, ConnectorError> {
        let _ = (table, since, cap);
        Ok(None)
    }

    /// [`Connector::pending`] for several tables at once, in `asks`' order:
    /// what a sync asks every table of a member before it starts, both for
    /// progress totals and to skip the tables with nothing to read. Engines
    /// answer in one round trip (a union of bounded counts), so a member
    /// with nothing to sync costs a query per database, not per table.
    async fn pending_many(
        &self,
        asks: &[(&TableSchema, &Anchor)],
        cap: u64,
    ) -> Result<Vec<Option<u64>>, ConnectorError> {
        let mut out = Vec::with_capacity(asks.len());
        for (table, since) in asks {
            out.push(self.pending(table, since, cap).await?);
        }
        Ok(out)
    }

    /// Apply `ops` in one transaction, marking them as coming from `origin`
    /// so they are not captured as local changes. All or nothing.
    async fn apply(&self, table: &TableSchema, ops: &[ApplyOp], origin: &str) -> Result<(), ConnectorError>;

    /// [`Connector::apply`] for the writes of an initial sync into a table
    /// that held none of their keys when the sync began: engines write
    /// them by their bulk path and record their tracking entries in one
    /// set-based statement instead of firing the tracking trigger per row.
    /// The entries are the ones the trigger would have recorded (each key
    /// marked as written by `origin`, after every change recorded so far),
    /// so other readers of the table — another group syncing it too — see
    /// the same changes. Upsert semantics still hold: a key written since
    /// the sync began is updated, not refused. All or nothing, like
    /// `apply`; the default is `apply`.
    async fn load(&self, table: &TableSchema, ops: &[ApplyOp], origin: &str) -> Result<(), ConnectorError> {
        self.apply(table, ops, origin).await
    }

    /// Whether an `apply` to `table` changes only the rows of the keys it
    /// writes (and their tracking entries): no triggers of the table's own,
    /// no foreign key of the table onto itself that cascades, and a key
    /// that compares exactly (no case-insensitive or space-padding
    /// collation, under which another key's write lands on the same row).
    /// The engine then looks up the next batch's keys while this batch is
    /// written (the keys the two share, after). The default, `false`, is
    /// always safe.
    async fn writes_only_their_keys(&self, table: &TableSchema) -> Result<bool, ConnectorError> {
        let _ = table;
        Ok(false)
    }

    /// The current rows of `keys` and, for each key changed after `since`,
    /// who changed it last. Keys neither present nor changed are left out;
    /// the order of the answer is unspecified.
    async fn lookup(&self, table: &TableSchema, since: &Anchor, keys: &[Row]) -> Result<Vec<KeyState>, ConnectorError>;

    /// Forget the tracking of deletes recorded before `older_than_micros`
    /// (µs since the Unix epoch) that every reader has read: those at or
    /// before each of `read_up_to` (all of them when it is empty). Returns
    /// how many were purged.
    async fn purge_tombstones(
        &self,
        table: &TableSchema,
        read_up_to: &[Anchor],
        older_than_micros: i64,
    ) -> Result<u64, ConnectorError>;

    /// Record the current state of `keys` as new changes (after every change
    /// recorded so far), keeping who made them: a row quarantined earlier is
    /// read and synced again. Keys without a tracked change are ignored.
    async fn reannounce(&self, table: &TableSchema, keys: &[Row]) -> Result<(), ConnectorError>;

    /// Whether `table` holds no rows (an initial sync into it can skip lookups).
    async fn is_empty(&self, table: &TableRef) -> Result<bool, ConnectorError>;

    /// A page of the table's current rows in key order (the engine's own
    /// order): at most `limit` rows with keys after `after`, read without
    /// locks. `hubsync verify` walks tables with it. States carry no change
    /// mark; a row that cannot be read comes with `unreadable` set.
    async fn scan(
        &self,
        table: &TableSchema,
        after: Option<&Row>,
        limit: usize,
    ) -> Result<Vec<KeyState>, ConnectorError>;

    /// Create `table` (its columns, key and `indexes`) if it does not exist.
    async fn create_table(&self, table: &TableSchema, indexes: &[IndexInfo]) -> Result<(), ConnectorError>;

    /// Watch `tables` (provisioned) for changes committed by anyone but
    /// the writers whose origin starts with `own` (a group's own writes,
    /// `g/…`, which the engine knows of without asking): what makes a sync
    /// follow changes within a second instead of at its interval. Engines
    /// with notifications (PostgreSQL: the tracking triggers notify at
    /// commit) wait for them; the others poll one cheap question per
    /// database every `poll`. `None` when this database cannot be watched
    /// (an agent's database): its changes wait for the interval.
    async fn watch(
        &self,
        tables: &[TableSchema],
        own: &str,
        poll: Duration,
    ) -> Result<Option<Box<dyn ChangeWatch>>, ConnectorError> {
        let _ = (tables, own, poll);
        Ok(None)
    }
}

/// An open watch on a database's tracked tables (see [`Connector::watch`]).
#[async_trait::async_trait]
pub trait ChangeWatch: Send {
    /// Wait until a change the watch is for has committed since the last
    /// return (or since the watch opened); several changes fold into one
    /// return. An error ends the watch: open another after a pause.
    async fn changed(&mut self) -> Result<(), ConnectorError>;

    /// How this watch learns of changes, for logs: `notifications` or
    /// `polling every 250 ms`.
    fn how(&self) -> String;
}

/// Opens databases by URL. The sync engine opens its databases through
/// one, so a caller can reach URLs the connectors do not know themselves
/// (`agent://AGENT/DATABASE`: a database behind an agent).
#[async_trait::async_trait]
pub trait Opener: Send + Sync {
    /// Open the database at `url` with `options`.
    async fn open(&self, url: &str, options: &ConnectOptions) -> Result<Box<dyn Connector>, ConnectorError>;
}

/// Whether `url` names a database behind an agent (`agent://AGENT/DATABASE`).
pub fn is_agent_url(url: &str) -> bool {
    url.starts_with("agent://")
}

/// The agent and database of an `agent://AGENT/DATABASE` URL.
pub fn parse_agent_url(url: &str) -> Result<(&str, &str), ConnectorError> {
    url.strip_prefix("agent://")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(a, d)| !a.is_empty() && !d.is_empty() && !d.contains('/'))
        .ok_or_else(|| {
            ConnectorError::BadUrl(format!(
                "{url} is not an agent URL; write agent://AGENT/DATABASE (the agent's name and a database it registered)"
            ))
        })
}

impl TableInfo {
    /// The sync schema of this table for the given columns (all supported
    /// columns when `columns` is empty), in table order. Refuses columns of
    /// unsupported types, unknown columns, and selections without every
    /// key column, saying what to do.
    pub fn select(&self, columns: &[String]) -> Result<TableSchema, ConnectorError> {
        let t = TableRef::of(&self.schema);
        let refuse = |reason: String| ConnectorError::Refused { table: t.clone(), reason };
        if self.schema.primary_key.is_empty() {
            return Err(refuse(
                "it has no primary key; hubsync syncs only tables with a primary key (Data Sync has the same rule): add one"
                    .into(),
            ));
        }
        for c in columns {
            if let Some(u) = self.unsupported.iter().find(|u| &u.column == c) {
                return Err(refuse(format!(
                    "column {c:?} has type {}, which hubsync cannot sync; leave it out of the selection",
                    u.declared_type
                )));
            }
            if self.schema.index_of(c).is_none() {
                return Err(refuse(format!("there is no column {c:?}")));
            }
        }
        for &k in &self.schema.primary_key {
            let key = &self.schema.columns[k].name;
            if !columns.is_empty() && !columns.contains(key) {
                return Err(refuse(format!("the selection leaves out key column {key:?}; select every key column")));
            }
        }
        let keep: Vec<usize> = (0..self.schema.columns.len())
            .filter(|&i| columns.is_empty() || columns.contains(&self.schema.columns[i].name))
            .collect();
        let mut out = self.schema.clone();
        out.columns = keep.iter().map(|&i| self.schema.columns[i].clone()).collect();
        out.primary_key =
            self.schema.primary_key.iter().map(|k| keep.iter().position(|i| i == k).unwrap_or_default()).collect();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ColumnType;

    fn info() -> TableInfo {
        TableInfo {
            schema: TableSchema::new("t")
                .key("id", ColumnType::Int)
                .column("a", ColumnType::Text)
                .column("b", ColumnType::Int),
            indexes: Vec::new(),
            unsupported: vec![UnsupportedColumn { column: "geo".into(), declared_type: "point".into() }],
            foreign_keys: Vec::new(),
        }
    }

    #[test]
    fn selections_keep_table_order_and_refuse_what_cannot_sync() {
        let s = info().select(&["b".into(), "id".into()]).expect("select");
        assert_eq!(s.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["id", "b"]);
        assert_eq!(s.primary_key, [0]);
        assert_eq!(info().select(&[]).expect("all").columns.len(), 3);
        let err = |cols: &[&str]| {
            info().select(&cols.iter().map(|c| c.to_string()).collect::<Vec<_>>()).expect_err("refused").to_string()
        };
        assert!(err(&["id", "geo"]).contains("type point"));
        assert!(err(&["a"]).contains("key column \"id\""));
        assert!(err(&["id", "zzz"]).contains("no column \"zzz\""));
        let mut no_key = info();
        no_key.schema.primary_key.clear();
        assert!(no_key.select(&[]).expect_err("no key").to_string().contains("no primary key"));
    }
}
