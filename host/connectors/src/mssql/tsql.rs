//! The T-SQL hubsync sends to SQL Server, as pure functions of a table's
//! shape, so every statement is pinned by snapshot tests.
//!
//! Two flavors: SQL Server / Azure SQL, and Babelfish for PostgreSQL. They
//! differ in how changes are numbered (see [`Flavor`]) and in how hex text
//! becomes binary; everything else is one text.

use hubsync_core::TableRef;

/// Which server this is; detected at connect time from `@@VERSION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// SQL Server or Azure SQL: a tracking row's `ver` is a `rowversion`
    /// (unique, given at write time); a reader reads below
    /// `MIN_ACTIVE_ROWVERSION()`, under which every write has committed or
    /// rolled back.
    SqlServer,
    /// Babelfish: `ver` is the writing transaction's PostgreSQL id
    /// (`txid_current()`); a reader reads, in one SNAPSHOT transaction,
    /// below its snapshot's `xmin`, as the PostgreSQL connector does.
    Babelfish,
}

/// `[name]`, with `]` doubled so no name can end the identifier early.
pub(crate) fn quote(ident: &str) -> String {
    format!("[{}]", ident.replace(']', "]]"))
}

/// A Unicode string literal, `'` doubled.
pub(crate) fn lit(s: &str) -> String {
    format!("N'{}'", s.replace('\'', "''"))
}

/// The SQL schema a table lives in (`dbo` when none is given).
pub(crate) fn schema_of(t: &TableRef) -> &str {
    t.namespace.as_deref().unwrap_or("dbo")
}

/// `[schema].[name]`.
pub(crate) fn qualified(t: &TableRef) -> String {
    format!("{}.{}", quote(schema_of(t)), quote(&t.name))
}

/// The tracking table of registry entry `id`.
pub(crate) fn track(id: i64) -> String {
    format!("[hubsync].{}", quote(&format!("track_{id}")))
}

/// The capture trigger of registry entry `id` (it lives in its table's schema).
pub(crate) fn trigger(t: &TableRef, id: i64) -> String {
    format!("{}.{}", quote(schema_of(t)), quote(&format!("hubsync_capture_{id}")))
}

/// How a selected column travels in statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColSql {
    /// Its name.
    pub(crate) name: String,
    /// Its type in the database, e.g. `varchar(20) COLLATE Latin1_General_100_BIN2`
    /// (tracking tables copy key columns with it).
    pub(crate) db_type: String,
    /// Its type in an `OPENJSON … WITH` clause: wide enough that the JSON
    /// text is never cut (assignment to the column then fails loudly).
    pub(crate) with: String,
    /// The JSON value is hex text to turn into binary.
    pub(crate) binary: bool,
    /// A text column (on Babelfish its JSON values are the hex of their
    /// UTF-8: see [`Flavor::hex_text`]).
    pub(crate) text: bool,
    /// A cast that reads it in a form the decoder takes (money as decimal,
    /// `datetime` as `datetime2(3)`), if any.
    pub(crate) read_as: Option<String>,
    /// An `IDENTITY` column: written with `IDENTITY_INSERT`, never updated.
    pub(crate) identity: bool,
    /// A text column's collation: values compared with it carry it
    /// explicitly (JSON text has the database's default collation, and
    /// Babelfish cannot compare text of no collation at all).
    pub(crate) collation: Option<String>,
}

/// A table as statements see it: its selected columns and key.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    /// The table.
    pub(crate) table: TableRef,
    /// The selected columns in order.
    pub(crate) cols: Vec<ColSql>,
    /// Positions of the key columns in `cols`, in key order.
    pub(crate) keys: Vec<usize>,
}

impl Flavor {
    /// The tracking table's `ver` column.
    fn ver_def(self) -> &'static str {
        match self {
            Flavor::SqlServer => "ver rowversion NOT NULL",
            Flavor::Babelfish => "ver bigint NOT NULL",
        }
    }

    /// `ver` as a number.
    fn ver_read(self, alias: &str) -> String {
        match self {
            Flavor::SqlServer => format!("CAST({alias}.ver AS bigint)"),
            Flavor::Babelfish => format!("{alias}.ver"),
        }
    }

    /// A bound number as a value comparable with `ver`.
    fn ver_param(self, p: &str) -> String {
        match self {
            Flavor::SqlServer => format!("CAST({p} AS binary(8))"),
            Flavor::Babelfish => p.to_owned(),
        }
    }

    /// Extra `SET` of a tracking row written by the trigger (rowversion is automatic).
    fn ver_set(self) -> &'static str {
        match self {
            Flavor::SqlServer => "",
            Flavor::Babelfish => ", ver = CAST(txid_current() AS bigint)",
        }
    }

    /// Extra insert column and value of a tracking row.
    fn ver_insert(self) -> (&'static str, &'static str) {
        match self {
            Flavor::SqlServer => ("", ""),
            Flavor::Babelfish => (", ver", ", CAST(txid_current() AS bigint)"),
        }
    }

    /// The declaration of `@bound`: changes numbered below it are final.
    fn bound(self) -> &'static str {
        match self {
            Flavor::SqlServer => "DECLARE @bound binary(8) = MIN_ACTIVE_ROWVERSION();",
            Flavor::Babelfish => "DECLARE @bound bigint = CAST(txid_snapshot_xmin(txid_current_snapshot()) AS bigint);",
        }
    }

    /// Hex text as binary.
    fn unhex(self, expr: &str) -> String {
        match self {
            Flavor::SqlServer => format!("CONVERT(varbinary(max), {expr}, 2)"),
            Flavor::Babelfish => format!("CAST(decode(CAST({expr} AS varchar(max)), 'hex') AS varbinary(max))"),
        }
    }

    /// Whether text in JSON travels as the hex of its UTF-8: Babelfish's
    /// OPENJSON keeps JSON escapes like `\"` in the text.
    pub(crate) fn hex_text(self) -> bool {
        self == Flavor::Babelfish
    }

    /// The isolation a change read runs in: SNAPSHOT on Babelfish (the
    /// `xmin` and the rows come from one snapshot). On SQL Server the
    /// `MIN_ACTIVE_ROWVERSION()` bound needs no snapshot (SNAPSHOT needs
    /// `ALLOW_SNAPSHOT_ISOLATION`, off by default).
    pub(crate) fn read_isolation(self) -> &'static str {
        match self {
            Flavor::SqlServer => "READ COMMITTED",
            Flavor::Babelfish => "SNAPSHOT",
        }
    }
}

/// `expr` in the collation of text column `c` (collation names are words;
/// anything else is left out rather than spliced in).
fn collate(c: &ColSql, expr: &str) -> String {
    match &c.collation {
        Some(coll) if c.text && coll.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') => {
            format!("{expr} COLLATE {coll}")
        }
        _ => expr.to_owned(),
    }
}

/// `prefix.[col]` for each column, comma-separated.
fn list<'a>(prefix: &str, names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(|n| format!("{prefix}{}", quote(n))).collect::<Vec<_>>().join(", ")
}

impl Shape {
    fn key_cols(&self) -> impl Iterator<Item = &ColSql> {
        self.keys.iter().map(|&k| &self.cols[k])
    }

    fn key_names(&self) -> impl Iterator<Item = &str> {
        self.key_cols().map(|c| c.name.as_str())
    }

    /// `a.k1 = b.k1 AND …` over the key.
    fn key_join(&self, a: &str, b: &str) -> String {
        self.key_cols().map(|c| format!("{a}.{0} = {b}.{0}", quote(&c.name))).collect::<Vec<_>>().join(" AND ")
    }

    /// `OPENJSON(param) WITH (c0 type '$.c0', …)` over `cols`.
    fn openjson<'a>(&self, param: &str, cols: impl Iterator<Item = &'a ColSql>) -> String {
        let with = cols.enumerate().map(|(i, c)| format!("c{i} {} '$.c{i}'", c.with)).collect::<Vec<_>>();
        format!("OPENJSON({param}) WITH ({})", with.join(", "))
    }

    /// The JSON value `alias.c{i}` as the column's value, in its collation.
    fn value(&self, f: Flavor, c: &ColSql, alias: &str, i: usize) -> String {
        collate(c, &self.raw_value(f, c, alias, i))
    }

    /// The JSON value `alias.c{i}` as the column's value (binary decoded).
    fn raw_value(&self, f: Flavor, c: &ColSql, alias: &str, i: usize) -> String {
        let v = format!("{alias}.c{i}");
        if c.binary {
            f.unhex(&v)
        } else if c.text && f.hex_text() {
            format!("CAST(convert_from(decode(CAST({v} AS varchar(max)), 'hex'), 'UTF8') AS nvarchar(max))")
        } else {
            v
        }
    }

    /// `b.k1 = value(j.c0) AND …`, the key cells of JSON rows laid out as
    /// keys only (`keys_only`) or as whole rows.
    fn key_match(&self, f: Flavor, b: &str, j: &str, keys_only: bool) -> String {
        self.keys
            .iter()
            .enumerate()
            .map(|(n, &k)| {
                let c = &self.cols[k];
                format!("{b}.{} = {}", quote(&c.name), self.value(f, c, j, if keys_only { n } else { k }))
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// A column read for decoding.
    fn read(&self, c: &ColSql, expr: &str) -> String {
        match &c.read_as {
            Some(t) => format!("CAST({expr} AS {t})"),
            None => expr.to_owned(),
        }
    }

    fn reads(&self, alias: &str) -> String {
        self.cols.iter().map(|c| self.read(c, &format!("{alias}.{}", quote(&c.name)))).collect::<Vec<_>>().join(", ")
    }

    fn key_reads(&self, alias: &str) -> String {
        self.key_cols().map(|c| self.read(c, &format!("{alias}.{}", quote(&c.name)))).collect::<Vec<_>>().join(", ")
    }

    /// `(a.ver > v OR (a.ver = v AND a.seq > s))`, with `>=` for `seq` when `inclusive`.
    fn after(f: Flavor, alias: &str, ver: &str, seq: &str, op: &str) -> String {
        let v = f.ver_param(ver);
        format!("({alias}.ver > {v} OR ({alias}.ver = {v} AND {alias}.seq {op} {seq}))")
    }
}

/// hubsync's schema, registry and sequence, each created when missing.
pub(crate) fn ensure_meta() -> Vec<String> {
    vec![
        "IF SCHEMA_ID(N'hubsync') IS NULL EXEC(N'CREATE SCHEMA [hubsync]')".into(),
        "IF OBJECT_ID(N'[hubsync].[tables]') IS NULL CREATE TABLE [hubsync].[tables] (id bigint IDENTITY(1,1) \
         PRIMARY KEY, namespace nvarchar(128) NOT NULL, name nvarchar(128) NOT NULL, format int NOT NULL, \
         columns nvarchar(max) NOT NULL, CONSTRAINT [tables_name] UNIQUE (namespace, name))"
            .into(),
        "IF OBJECT_ID(N'[hubsync].[seq]') IS NULL CREATE SEQUENCE [hubsync].[seq] AS bigint START WITH 1".into(),
    ]
}

/// This database's hubsync identity, made when missing (after
/// [`ensure_meta`]): one row whose `one` column admits no second, filled
/// with a random id; the last statement returns the id.
pub(crate) fn identity() -> Vec<String> {
    vec![
        "IF OBJECT_ID(N'[hubsync].[database]') IS NULL CREATE TABLE [hubsync].[database] \
         (one int NOT NULL PRIMARY KEY CHECK (one = 1), id nvarchar(64) NOT NULL)"
            .into(),
        "IF NOT EXISTS (SELECT 1 FROM [hubsync].[database]) INSERT INTO [hubsync].[database] (one, id) \
         VALUES (1, LOWER(REPLACE(CONVERT(nvarchar(36), NEWID()), N'-', N'')))"
            .into(),
        IDENTITY.into(),
    ]
}

/// The identity, if it was made (no result before).
pub(crate) const IDENTITY: &str =
    "IF OBJECT_ID(N'[hubsync].[database]') IS NOT NULL SELECT id FROM [hubsync].[database] WHERE one = 1";

/// The registry entry of a table (`@P1` schema, `@P2` name); no result
/// before anything was provisioned in the database. Provisioning reads it
/// under its application lock; other readers need no lock.
pub(crate) const REGISTERED: &str = "IF OBJECT_ID(N'[hubsync].[tables]') IS NOT NULL \
                                     SELECT id, columns FROM [hubsync].[tables] WHERE namespace = @P1 AND name = @P2";

/// Register a table: `@P1` schema, `@P2` name, `@P3` format, `@P4` columns; returns its id.
pub(crate) const REGISTER: &str = "INSERT INTO [hubsync].[tables] (namespace, name, format, columns) \
                                   OUTPUT inserted.id VALUES (@P1, @P2, @P3, @P4)";

/// Record a new selection: `@P1` columns, `@P2` format, `@P3` id.
pub(crate) const REREGISTER: &str = "UPDATE [hubsync].[tables] SET columns = @P1, format = @P2 WHERE id = @P3";

/// The statements that (re)create the tracking of `shape` as entry `id`:
/// each runs as its own batch (`CREATE TRIGGER` must be alone in one).
/// `rebuild` drops the tracking table first (the key changed); `reannounce`
/// numbers every tracked row again (new columns get backfilled).
pub(crate) fn provision(f: Flavor, s: &Shape, id: i64, rebuild: bool, reannounce: bool) -> Vec<String> {
    let tr = track(id);
    let base = qualified(&s.table);
    let kl = list("", s.key_names());
    let key_defs = s.key_cols().map(|c| format!("{} {} NOT NULL", quote(&c.name), c.db_type)).collect::<Vec<_>>();
    let (vc, vv) = f.ver_insert();
    let vs = f.ver_set();
    let mut out = Vec::new();
    if rebuild {
        out.push(format!("DROP TABLE IF EXISTS {tr}"));
    }
    // The order index is made with the table (Babelfish's sys.indexes
    // shows index names mangled, so it cannot be looked up by name).
    out.push(format!(
        "IF OBJECT_ID(N'{}') IS NULL BEGIN CREATE TABLE {tr} ({}, {}, seq bigint NOT NULL, deleted bit NOT NULL, \
         origin nvarchar(400) NULL, changed_at bigint NOT NULL, PRIMARY KEY ({kl})); \
         CREATE INDEX {} ON {tr} (ver, seq) END",
        tr.replace('\'', "''"),
        key_defs.join(", "),
        f.ver_def(),
        quote(&format!("track_{id}_order"))
    ));
    out.push(format!("DROP TRIGGER IF EXISTS {}", trigger(&s.table, id)));
    let at = "DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME())";
    let not_in =
        |from: &str, other: &str| format!("NOT EXISTS (SELECT 1 FROM {other} x WHERE {})", s.key_join("x", from));
    let body = [
        "SET NOCOUNT ON;".to_owned(),
        "IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;".to_owned(),
        "DECLARE @o nvarchar(400) = CAST(SESSION_CONTEXT(N'hubsync.origin') AS nvarchar(400));".to_owned(),
        format!("DECLARE @at bigint = {at};"),
        // Keys gone (deleted, or an update changed them): tombstones.
        format!(
            "UPDATE t SET deleted = 1, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq]{vs} \
             FROM {tr} t JOIN deleted d ON {} WHERE {};",
            s.key_join("t", "d"),
            not_in("d", "inserted")
        ),
        format!(
            "INSERT INTO {tr} ({kl}, seq, deleted, origin, changed_at{vc}) SELECT {}, NEXT VALUE FOR [hubsync].[seq], \
             1, @o, @at{vv} FROM deleted d WHERE {} AND {};",
            list("d.", s.key_names()),
            not_in("d", "inserted"),
            not_in("d", &tr)
        ),
        // Keys written: live rows.
        format!(
            "UPDATE t SET deleted = 0, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq]{vs} \
             FROM {tr} t JOIN inserted i ON {};",
            s.key_join("t", "i")
        ),
        format!(
            "INSERT INTO {tr} ({kl}, seq, deleted, origin, changed_at{vc}) SELECT {}, NEXT VALUE FOR [hubsync].[seq], \
             0, @o, @at{vv} FROM inserted i WHERE {};",
            list("i.", s.key_names()),
            not_in("i", &tr)
        ),
    ];
    out.push(format!(
        "CREATE TRIGGER {} ON {base} AFTER INSERT, UPDATE, DELETE AS\nBEGIN\n{}\nEND",
        trigger(&s.table, id),
        body.join("\n")
    ));
    if reannounce {
        out.push(format!("UPDATE {tr} SET seq = NEXT VALUE FOR [hubsync].[seq]{vs} WHERE deleted = 0"));
    }
    // Rows present before provisioning are changes for the initial sync.
    out.push(format!(
        "INSERT INTO {tr} ({kl}, seq, deleted, origin, changed_at{vc}) SELECT {}, NEXT VALUE FOR [hubsync].[seq], 0, \
         NULL, {at}{vv} FROM {base} b WHERE {}",
        list("b.", s.key_names()),
        not_in("b", &tr)
    ));
    out
}

/// Remove the tracking of entry `id` (`@P1` = id).
pub(crate) fn deprovision(t: &TableRef, id: i64) -> Vec<String> {
    vec![
        format!("DROP TRIGGER IF EXISTS {}", trigger(t, id)),
        format!("DROP TABLE IF EXISTS {}", track(id)),
        "DELETE FROM [hubsync].[tables] WHERE id = @P1".into(),
    ]
}

/// Every hubsync trigger: schema and name.
pub(crate) const TRIGGERS: &str = "SELECT s.name, tr.name FROM sys.triggers tr \
     JOIN sys.objects o ON o.object_id = tr.parent_id JOIN sys.schemas s ON s.schema_id = o.schema_id \
     WHERE tr.name LIKE N'hubsync\\_capture\\_%' ESCAPE N'\\'";

/// Every table in hubsync's schema.
pub(crate) const OWN_TABLES: &str = "SELECT name FROM sys.tables WHERE schema_id = SCHEMA_ID(N'hubsync')";

/// What is left after the triggers and tables: the sequence and the schema.
pub(crate) fn drop_meta() -> Vec<String> {
    vec![
        "IF OBJECT_ID(N'[hubsync].[seq]') IS NOT NULL DROP SEQUENCE [hubsync].[seq]".into(),
        "IF SCHEMA_ID(N'hubsync') IS NOT NULL DROP SCHEMA [hubsync]".into(),
    ]
}

/// Changes after (`@P1` ver, `@P2` seq), at most `@P3`, in order: ver, seq,
/// deleted, origin, changed_at, the key, the columns. A second result says
/// whether changes wait at or past the bound.
pub(crate) fn read_changes(f: Flavor, s: &Shape, id: i64) -> String {
    let tr = track(id);
    let first_key = quote(&s.cols[s.keys[0]].name);
    format!(
        "{}\nSELECT TOP (@P3) {}, t.seq, CASE WHEN t.deleted = 1 OR b.{first_key} IS NULL THEN 1 ELSE 0 END, \
         t.origin, t.changed_at, {}, {} FROM {tr} t LEFT JOIN {} b ON {} WHERE {} AND t.ver < @bound \
         ORDER BY t.ver, t.seq;\nSELECT CASE WHEN EXISTS (SELECT 1 FROM {tr} WHERE ver >= @bound) THEN 1 ELSE 0 END",
        f.bound(),
        f.ver_read("t"),
        s.key_reads("t"),
        s.reads("b"),
        qualified(&s.table),
        s.key_join("b", "t"),
        Shape::after(f, "t", "@P1", "@P2", ">"),
    )
}

/// How many changes wait after (`@P1` ver, `@P2` seq), counted up to `@P3`.
pub(crate) fn pending(f: Flavor, id: i64) -> String {
    format!(
        "SELECT COUNT(*) FROM (SELECT TOP (@P3) 1 AS one FROM {} t WHERE {}) c",
        track(id),
        Shape::after(f, "t", "@P1", "@P2", ">")
    )
}

/// How a column's values travel into the staging table of an upsert
/// (tiberius `INSERT BULK`): as their own TDS type where one carries them
/// exactly, else as text converted by the server as in `OPENJSON` (decimals
/// too: Babelfish's bulk load misreads short decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// `bigint`.
    Int,
    /// `float`.
    Float,
    /// `bit`.
    Bit,
    /// `nvarchar(max)`.
    Text,
    /// `varbinary(max)`.
    Binary,
    /// `uniqueidentifier`.
    Guid,
    /// `nvarchar(100)`, cast to the column's `with` type.
    Literal,
}

impl ColSql {
    /// How this column is staged.
    pub(crate) fn stage(&self) -> Stage {
        match self.with.as_str() {
            _ if self.binary => Stage::Binary,
            _ if self.text => Stage::Text,
            "bigint" => Stage::Int,
            "float" => Stage::Float,
            "uniqueidentifier" => Stage::Guid,
            "bit" => Stage::Bit,
            _ => Stage::Literal,
        }
    }
}

/// The session temp table an upsert stages its rows in.
pub(crate) const STAGING: &str = "#hubsync_rows";

/// Create the staging table of `s`'s rows (columns `c0…`).
pub(crate) fn staging(s: &Shape) -> String {
    let cols: Vec<String> = s
        .cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let ty = match c.stage() {
                Stage::Int => "bigint",
                Stage::Float => "float",
                Stage::Bit => "bit",
                Stage::Text => "nvarchar(max)",
                Stage::Binary => "varbinary(max)",
                Stage::Guid => "uniqueidentifier",
                Stage::Literal => "nvarchar(100)",
            };
            format!("c{i} {ty} NULL")
        })
        .collect();
    format!("CREATE TABLE {STAGING} ({})", cols.join(", "))
}

/// Upsert the staged rows: update the rows present, insert the others,
/// drop the staging table.
pub(crate) fn upsert(s: &Shape) -> String {
    let base = qualified(&s.table);
    let value = |i: usize| {
        let c = &s.cols[i];
        match c.stage() {
            Stage::Literal => format!("CAST(r.c{i} AS {})", c.with),
            _ => format!("r.c{i}"),
        }
    };
    let on = s
        .keys
        .iter()
        .map(|&k| format!("b.{} = {}", quote(&s.cols[k].name), collate(&s.cols[k], &value(k))))
        .collect::<Vec<_>>()
        .join(" AND ");
    let mut out = Vec::new();
    let sets: Vec<String> = s
        .cols
        .iter()
        .enumerate()
        .filter(|(i, c)| !s.keys.contains(i) && !c.identity)
        .map(|(i, c)| format!("{} = {}", quote(&c.name), value(i)))
        .collect();
    if !sets.is_empty() {
        out.push(format!("UPDATE b SET {} FROM {base} b JOIN {STAGING} r ON {on}", sets.join(", ")));
    }
    let insert = format!(
        "INSERT INTO {base} ({}) SELECT {} FROM {STAGING} r WHERE NOT EXISTS (SELECT 1 FROM {base} b WHERE {on})",
        list("", s.cols.iter().map(|c| c.name.as_str())),
        (0..s.cols.len()).map(value).collect::<Vec<_>>().join(", "),
    );
    if s.cols.iter().any(|c| c.identity) {
        out.push(format!("SET IDENTITY_INSERT {base} ON; {insert}; SET IDENTITY_INSERT {base} OFF"));
    } else {
        out.push(insert);
    }
    out.push(format!("DROP TABLE {STAGING}"));
    out.join(";\n")
}

/// Delete the keys of JSON `@P1` (objects `c0…` in key order).
pub(crate) fn delete(f: Flavor, s: &Shape) -> String {
    format!(
        "DELETE b FROM {} b JOIN {} j ON {}",
        qualified(&s.table),
        s.openjson("@P1", s.key_cols()),
        s.key_match(f, "b", "j", true)
    )
}

/// Where watched tracking tables stand (`follow_changes`), for `marks`
/// (registry id, the newest `ver` the last poll saw): per table its
/// position in `marks`, its newest `ver`, and 1 when an entry after the
/// mark was written by someone else than the group whose origins start
/// with `@P1`. Marks are parsed integers, so spelled inline.
pub(crate) fn watch_poll(f: Flavor, marks: &[(i64, i64)]) -> String {
    marks
        .iter()
        .enumerate()
        .map(|(i, (id, mark))| {
            let tr = track(*id);
            format!(
                "SELECT {i}, (SELECT COALESCE({}, 0) FROM (SELECT MAX(ver) AS ver FROM {tr}) m), \
                 CASE WHEN EXISTS (SELECT 1 FROM {tr} t WHERE t.ver > {} \
                 AND (t.origin IS NULL OR LEFT(t.origin, LEN(@P1)) <> @P1)) THEN 1 ELSE 0 END",
                f.ver_read("m"),
                f.ver_param(&format!("CAST({mark} AS bigint)"))
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// The current rows of the keys of JSON `@P3` and their changes after
/// (`@P1` ver, `@P2` seq): changed, origin, changed_at, present, the key,
/// the columns.
pub(crate) fn lookup(f: Flavor, s: &Shape, id: i64) -> String {
    let first_key = quote(&s.cols[s.keys[0]].name);
    let key_vals = s.key_cols().enumerate().map(|(n, c)| s.read(c, &s.value(f, c, "k", n))).collect::<Vec<_>>();
    format!(
        "SELECT CASE WHEN t.seq IS NULL THEN 0 ELSE 1 END, t.origin, t.changed_at, \
         CASE WHEN b.{first_key} IS NULL THEN 0 ELSE 1 END, {}, {} FROM {} k \
         LEFT JOIN {} b ON {} LEFT JOIN {} t ON {} AND {}",
        key_vals.join(", "),
        s.reads("b"),
        s.openjson("@P3", s.key_cols()),
        qualified(&s.table),
        s.key_match(f, "b", "k", true),
        track(id),
        s.key_match(f, "t", "k", true),
        Shape::after(f, "t", "@P1", "@P2", ">"),
    )
}

/// A page of rows in key order: at most `@P1`, after the key in JSON `@P2`
/// when `after`; the key, then the columns.
pub(crate) fn scan(f: Flavor, s: &Shape, after: bool) -> String {
    let order = list("b.", s.key_names());
    let (from, filter) = if after {
        // (k1, k2) > (a1, a2), spelled out: T-SQL has no row comparisons.
        let mut ors = Vec::new();
        for (n, &k) in s.keys.iter().enumerate() {
            let mut ands: Vec<String> = s.keys[..n]
                .iter()
                .enumerate()
                .map(|(m, &p)| {
                    let c = &s.cols[p];
                    format!("b.{} = {}", quote(&c.name), s.value(f, c, "a", m))
                })
                .collect();
            let c = &s.cols[k];
            ands.push(format!("b.{} > {}", quote(&c.name), s.value(f, c, "a", n)));
            ors.push(format!("({})", ands.join(" AND ")));
        }
        (format!(" CROSS JOIN {} a", s.openjson("@P2", s.key_cols())), format!(" WHERE {}", ors.join(" OR ")))
    } else {
        (String::new(), String::new())
    };
    format!(
        "SELECT TOP (@P1) {}, {} FROM {} b{from}{filter} ORDER BY {order}",
        s.key_reads("b"),
        s.reads("b"),
        qualified(&s.table)
    )
}

/// Forget deletes read by everyone: at or before (`@P1` ver, `@P2` seq),
/// recorded before `@P3` µs since the epoch.
pub(crate) fn purge(f: Flavor, id: i64) -> String {
    let v = f.ver_param("@P1");
    format!(
        "DELETE FROM {} WHERE deleted = 1 AND (ver < {v} OR (ver = {v} AND seq <= @P2)) AND changed_at < @P3",
        track(id)
    )
}

/// Number the tracked keys of JSON `@P1` again, after every change so far.
pub(crate) fn reannounce(f: Flavor, s: &Shape, id: i64) -> String {
    format!(
        "UPDATE t SET seq = NEXT VALUE FOR [hubsync].[seq]{} FROM {} t JOIN {} k ON {}",
        f.ver_set(),
        track(id),
        s.openjson("@P1", s.key_cols()),
        s.key_match(f, "t", "k", true)
    )
}

/// Whether the table holds no rows.
pub(crate) fn is_empty(t: &TableRef) -> String {
    format!("SELECT CASE WHEN EXISTS (SELECT 1 FROM {}) THEN 0 ELSE 1 END", qualified(t))
}

/// Create a table (and its schema) with `columns` (`[name] type [NOT] NULL`)
/// and key `keys`, and the `indexes` (name, unique, columns), each only
/// when missing; the `json` columns get hubsync's tag, so introspection
/// reads them back as JSON.
pub(crate) fn create_table(
    t: &TableRef,
    columns: &[String],
    keys: &[&str],
    indexes: &[(String, bool, Vec<String>)],
    json: &[&str],
) -> Vec<String> {
    let base = qualified(t);
    let mut out = Vec::new();
    if let Some(ns) = &t.namespace {
        out.push(format!("IF SCHEMA_ID({}) IS NULL EXEC({})", lit(ns), lit(&format!("CREATE SCHEMA {}", quote(ns)))));
    }
    out.push(format!(
        "IF OBJECT_ID({}, N'U') IS NULL CREATE TABLE {base} ({}, PRIMARY KEY ({}))",
        lit(&base),
        columns.join(", "),
        list("", keys.iter().copied())
    ));
    for c in json {
        out.push(format!(
            "IF NOT EXISTS (SELECT 1 FROM sys.extended_properties WHERE class = 1 AND major_id = OBJECT_ID({}) \
             AND minor_id = COLUMNPROPERTY(OBJECT_ID({}), {}, 'ColumnId') AND name = N'hubsync') \
             EXEC sp_addextendedproperty @name = N'hubsync', @value = N'json', @level0type = N'SCHEMA', \
             @level0name = {}, @level1type = N'TABLE', @level1name = {}, @level2type = N'COLUMN', @level2name = {}",
            lit(&base),
            lit(&base),
            lit(c),
            lit(schema_of(t)),
            lit(&t.name),
            lit(c)
        ));
    }
    for (name, unique, cols) in indexes {
        out.push(format!(
            "IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID({}) AND name = {}) \
             CREATE {}INDEX {} ON {base} ({})",
            lit(&base),
            lit(name),
            if *unique { "UNIQUE " } else { "" },
            quote(name),
            list("", cols.iter().map(String::as_str))
        ));
    }
    out
}

/// Every column of every user table (not hubsync's, nor Azure SQL Data
/// Sync's `DataSync` schema): schema, table, column, type, base
/// type, max_length, precision, scale, nullable, identity, computed,
/// collation, hubsync's tag (`nvarchar` casts: Babelfish reports some as
/// `sql_variant`).
pub(crate) const COLUMNS: &str = "SELECT CAST(s.name AS nvarchar(128)), CAST(t.name AS nvarchar(128)), \
     CAST(c.name AS nvarchar(128)), CAST(ty.name AS nvarchar(128)), CAST(COALESCE(bt.name, ty.name) AS nvarchar(128)), \
     CAST(c.max_length AS int), CAST(c.precision AS int), CAST(c.scale AS int), CAST(c.is_nullable AS int), \
     CAST(c.is_identity AS int), CAST(c.is_computed AS int), CAST(c.collation_name AS nvarchar(128)), \
     (SELECT TOP 1 CAST(ep.value AS nvarchar(40)) FROM sys.extended_properties ep WHERE ep.class = 1 \
      AND ep.major_id = c.object_id AND ep.minor_id = c.column_id AND ep.name = N'hubsync') \
     FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id \
     JOIN sys.columns c ON c.object_id = t.object_id \
     JOIN sys.types ty ON ty.user_type_id = c.user_type_id \
     LEFT JOIN sys.types bt ON bt.user_type_id = ty.system_type_id AND ty.is_user_defined = 1 \
     WHERE s.name NOT IN (N'hubsync', N'DataSync') AND t.is_ms_shipped = 0 ORDER BY 1, 2, c.column_id";

/// Index columns of every user table: schema, table, index, primary, unique, column.
pub(crate) const INDEXES: &str = "SELECT CAST(s.name AS nvarchar(128)), CAST(t.name AS nvarchar(128)), \
     CAST(i.name AS nvarchar(128)), CAST(i.is_primary_key AS int), CAST(i.is_unique AS int), \
     CAST(c.name AS nvarchar(128)) FROM sys.indexes i JOIN sys.tables t ON t.object_id = i.object_id \
     JOIN sys.schemas s ON s.schema_id = t.schema_id \
     JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id \
     JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id \
     WHERE s.name NOT IN (N'hubsync', N'DataSync') AND i.type > 0 AND i.has_filter = 0 AND ic.is_included_column = 0 \
     ORDER BY 1, 2, 3, ic.key_ordinal";

/// Foreign key columns: schema, table, constraint, referenced schema and table, column.
pub(crate) const FOREIGN_KEYS: &str = "SELECT CAST(s.name AS nvarchar(128)), CAST(t.name AS nvarchar(128)), \
     CAST(fk.name AS nvarchar(128)), CAST(rs.name AS nvarchar(128)), CAST(rt.name AS nvarchar(128)), \
     CAST(c.name AS nvarchar(128)) FROM sys.foreign_keys fk \
     JOIN sys.tables t ON t.object_id = fk.parent_object_id JOIN sys.schemas s ON s.schema_id = t.schema_id \
     JOIN sys.tables rt ON rt.object_id = fk.referenced_object_id JOIN sys.schemas rs ON rs.schema_id = rt.schema_id \
     JOIN sys.foreign_key_columns fc ON fc.constraint_object_id = fk.object_id \
     JOIN sys.columns c ON c.object_id = fc.parent_object_id AND c.column_id = fc.parent_column_id \
     WHERE s.name NOT IN (N'hubsync', N'DataSync') ORDER BY 1, 2, 3, fc.constraint_column_id";
