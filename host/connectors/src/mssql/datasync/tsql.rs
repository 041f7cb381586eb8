//! The T-SQL `hubsync datasync` runs, as pure functions of what the
//! catalog and the scope configurations hold, pinned by snapshot tests.
//! Every object is named exactly (never a `LIKE` pattern in a `DROP`);
//! catalog lookups that must find Data Sync's triggers match `_` as
//! `[_]` (a literal underscore; Babelfish ignores `ESCAPE` after a `%`).

use super::super::tsql::{self as base, Flavor, Shape, lit, quote};

/// Whether the `DataSync` schema exists.
pub(crate) const SCHEMA: &str = "SELECT CASE WHEN SCHEMA_ID(N'DataSync') IS NULL THEN 0 ELSE 1 END";

/// Scopes: local id, name, config id, configuration (text), status.
pub(crate) const SCOPES: &str = "IF OBJECT_ID(N'[DataSync].[scope_info_dss]') IS NOT NULL \
     AND OBJECT_ID(N'[DataSync].[scope_config_dss]') IS NOT NULL \
     SELECT CAST(si.scope_local_id AS bigint), CAST(si.sync_scope_name AS nvarchar(100)), \
     LOWER(CAST(si.scope_config_id AS nvarchar(36))), CAST(sc.config_data AS nvarchar(max)), \
     CAST(sc.scope_status AS nvarchar(10)) FROM [DataSync].[scope_info_dss] si \
     LEFT JOIN [DataSync].[scope_config_dss] sc ON sc.config_id = si.scope_config_id ORDER BY 1";

/// Objects in the `DataSync` schema: name, kind (`U` table, `P`
/// procedure, `TT` table type), from `sys.objects` and `sys.types`
/// (Babelfish lists table types only there).
pub(crate) const OBJECTS: &str = "SELECT CAST(o.name AS nvarchar(256)), CAST(RTRIM(o.type) AS nvarchar(4)) \
     FROM sys.objects o WHERE o.schema_id = SCHEMA_ID(N'DataSync') AND o.type IN ('U', 'P') \
     UNION ALL SELECT CAST(t.name AS nvarchar(256)), CAST(N'TT' AS nvarchar(4)) FROM sys.types t \
     WHERE t.is_user_defined = 1 AND t.schema_id = SCHEMA_ID(N'DataSync') ORDER BY 1";

/// Data Sync's triggers anywhere: schema, name, table, disabled, the
/// table's object id, the body where the server shows it.
pub(crate) const TRIGGERS: &str = "SELECT CAST(s.name AS nvarchar(128)), CAST(tr.name AS nvarchar(256)), \
     CAST(o.name AS nvarchar(128)), CAST(tr.is_disabled AS int), CAST(tr.parent_id AS bigint), \
     CAST(OBJECT_DEFINITION(tr.object_id) AS nvarchar(max)) FROM sys.triggers tr \
     JOIN sys.objects o ON o.object_id = tr.parent_id JOIN sys.schemas s ON s.schema_id = o.schema_id \
     WHERE tr.name LIKE N'%[_]dss[_]insert[_]trigger' OR tr.name LIKE N'%[_]dss[_]update[_]trigger' \
     OR tr.name LIKE N'%[_]dss[_]delete[_]trigger' ORDER BY 1, 2";

/// How many Data Sync triggers the table `@P1` (`[schema].[name]`) has:
/// a first provisioning refuses it (see `Mssql::provision`).
pub(crate) const TRIGGERS_ON: &str = "SELECT COUNT(*) FROM sys.triggers WHERE parent_id = OBJECT_ID(@P1) \
     AND (name LIKE N'%[_]dss[_]insert[_]trigger' OR name LIKE N'%[_]dss[_]update[_]trigger' \
     OR name LIKE N'%[_]dss[_]delete[_]trigger')";

/// User tables: schema, name, object id (tables named alike in two
/// schemas share one Data Sync tracking table).
pub(crate) const TABLES: &str = "SELECT CAST(s.name AS nvarchar(128)), CAST(t.name AS nvarchar(128)), \
     CAST(t.object_id AS bigint) FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id \
     WHERE s.name NOT IN (N'DataSync', N'hubsync') AND t.is_ms_shipped = 0";

/// Provision markers: object id, owner scope.
pub(crate) const MARKERS: &str = "IF OBJECT_ID(N'[DataSync].[provision_marker_dss]') IS NOT NULL \
     SELECT CAST(object_id AS bigint), CAST(owner_scope_local_id AS bigint) FROM [DataSync].[provision_marker_dss]";

/// `datetime2` literal of a UTC time given as `YYYY-MM-DDTHH:MM:SS[.fff]`
/// (checked by the caller), turned into the server's local time: Data
/// Sync's `last_change_datetime` is `GETDATE()`.
fn local_time(since_utc: &str) -> String {
    format!("DATEADD(minute, DATEDIFF(minute, GETUTCDATE(), GETDATE()), CAST({} AS datetime2))", lit(since_utc))
}

/// Rows, tombstones, local changes (and local changes after `since_utc`)
/// of tracking table `name`, and whether it has `restore_timestamp`.
pub(crate) fn tracking_counts(name: &str, since_utc: Option<&str>) -> String {
    let t = format!("[DataSync].{}", quote(name));
    let since = match since_utc {
        Some(s) => format!(
            "SUM(CASE WHEN update_scope_local_id IS NULL AND last_change_datetime >= {} THEN 1 ELSE 0 END)",
            local_time(s)
        ),
        None => "CAST(NULL AS int)".into(),
    };
    format!(
        "SELECT CAST(COUNT(*) AS bigint), CAST(COALESCE(SUM(CASE WHEN sync_row_is_tombstone = 1 THEN 1 ELSE 0 END), 0) \
         AS bigint), CAST(COALESCE(SUM(CASE WHEN update_scope_local_id IS NULL THEN 1 ELSE 0 END), 0) AS bigint), \
         CAST({since} AS bigint), CASE WHEN COL_LENGTH({}, N'restore_timestamp') IS NULL THEN 0 ELSE 1 END FROM {t}",
        lit(&t)
    )
}

/// What a takeover announces of one table: changes Data Sync recorded
/// after `since_utc`, made locally or applied through a scope. Changes
/// applied through a scope in `skip` are not announced (the other side
/// has them); those applied through a scope in `marks` carry that mark
/// as their origin (hubsync's echo mark of the member they came from);
/// the rest carry none.
#[derive(Debug, Clone, Default)]
pub struct Announce {
    /// UTC, `YYYY-MM-DDTHH:MM:SS[.fff]`.
    pub since_utc: String,
    /// Scopes whose applied changes are left out.
    pub skip: Vec<i64>,
    /// Scope → origin mark.
    pub marks: Vec<(i64, String)>,
}

/// The statements of a takeover of one table, run in one transaction
/// after hubsync's registry entry `id` was made: hubsync's capture with
/// every present row recorded, Data Sync's `triggers` dropped, the
/// position after those rows read (the anchor the pairs start from), and
/// the changes of Data Sync's `tracking` table announced after it. Data
/// Sync's tracking table has the same key columns as the base table.
pub(crate) fn takeover(f: Flavor, s: &Shape, id: i64, triggers: &[String], tracking: &str, a: &Announce) -> Takeover {
    let mut setup = base::provision(f, s, id, false, false);
    for t in triggers {
        setup.push(format!("DROP TRIGGER {t}"));
    }
    let tr = base::track(id);
    let anchor = format!(
        "SELECT TOP 1 {}, seq FROM {tr} ORDER BY ver DESC, seq DESC",
        match f {
            Flavor::SqlServer => "CAST(ver AS bigint)",
            Flavor::Babelfish => "ver",
        }
    );
    let mut out = Vec::new();
    let ds = format!("[DataSync].{}", quote(tracking));
    let mut filter = format!("d.last_change_datetime >= {}", local_time(&a.since_utc));
    if !a.skip.is_empty() {
        let ids = a.skip.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        filter.push_str(&format!(" AND (d.update_scope_local_id IS NULL OR d.update_scope_local_id NOT IN ({ids}))"));
    }
    let origin = if a.marks.is_empty() {
        "CAST(NULL AS nvarchar(400))".to_owned()
    } else {
        let whens: Vec<String> = a.marks.iter().map(|(n, m)| format!("WHEN {n} THEN {}", lit(m))).collect();
        format!("CASE d.update_scope_local_id {} ELSE NULL END", whens.join(" "))
    };
    let at = "COALESCE(DATEDIFF_BIG(microsecond, '19700101', DATEADD(minute, DATEDIFF(minute, GETDATE(), \
              GETUTCDATE()), d.last_change_datetime)), DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME()))";
    let keys: Vec<&str> = s.keys.iter().map(|&k| s.cols[k].name.as_str()).collect();
    let join = |a: &str, b: &str| {
        keys.iter().map(|k| format!("{a}.{0} = {b}.{0}", quote(k))).collect::<Vec<_>>().join(" AND ")
    };
    let (vs, (vc, vv)) = match f {
        Flavor::SqlServer => ("", ("", "")),
        Flavor::Babelfish => (", ver = CAST(txid_current() AS bigint)", (", ver", ", CAST(txid_current() AS bigint)")),
    };
    // Keys present: recorded above; numbered again, after the anchor.
    out.push(format!(
        "UPDATE t SET seq = NEXT VALUE FOR [hubsync].[seq]{vs}, deleted = 0, origin = {origin}, changed_at = {at} \
         FROM {tr} t JOIN {ds} d ON {} WHERE {filter}",
        join("t", "d")
    ));
    // Keys gone: tombstones.
    out.push(format!(
        "INSERT INTO {tr} ({}, seq, deleted, origin, changed_at{vc}) SELECT {}, NEXT VALUE FOR [hubsync].[seq], 1, \
         {origin}, {at}{vv} FROM {ds} d WHERE {filter} AND NOT EXISTS (SELECT 1 FROM {tr} x WHERE {})",
        keys.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", "),
        keys.iter().map(|k| format!("d.{}", quote(k))).collect::<Vec<_>>().join(", "),
        join("x", "d")
    ));
    Takeover { setup, anchor, announce: out }
}

/// A takeover's statements, in the order they run.
#[derive(Debug, Clone)]
pub(crate) struct Takeover {
    /// hubsync's capture in place of Data Sync's triggers.
    pub(crate) setup: Vec<String>,
    /// The position after every recorded row (`ver`, `seq`; no row when the table is empty).
    pub(crate) anchor: String,
    /// The un-synced changes, numbered after it (row counts add up to what was announced).
    pub(crate) announce: Vec<String>,
}

/// hubsync's record of the tables it took over and the anchor each
/// database's pairs start from (read again when a takeover is repeated).
pub(crate) const ADOPTED_TABLE: &str = "IF OBJECT_ID(N'[hubsync].[adopted]') IS NULL CREATE TABLE [hubsync].[adopted] \
     (id bigint NOT NULL PRIMARY KEY, anchor nvarchar(100) NOT NULL, adopted_at bigint NOT NULL)";

/// The anchor of registry entry `@P1`, if it was taken over.
pub(crate) const ADOPTED: &str = "SELECT anchor FROM [hubsync].[adopted] WHERE id = @P1";

/// Record a takeover: `@P1` entry, `@P2` anchor, `@P3` µs since the epoch.
pub(crate) const ADOPT: &str = "INSERT INTO [hubsync].[adopted] (id, anchor, adopted_at) VALUES (@P1, @P2, @P3)";

/// One object to drop.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Drop {
    /// A trigger, `[schema].[name]`.
    Trigger(String),
    /// A procedure in `DataSync`.
    Procedure(String),
    /// A table type in `DataSync`.
    Type(String),
    /// A tracking table in `DataSync`.
    Table(String),
}

/// What a removal takes away.
#[derive(Debug, Clone, Default)]
pub(crate) struct Removal {
    /// Objects, in any order (dropped dependents first).
    pub(crate) objects: Vec<Drop>,
    /// Scopes whose rows go: local id and config id.
    pub(crate) scopes: Vec<(i64, String)>,
    /// No scope is left: the metadata tables and the schema go too.
    pub(crate) everything: bool,
    /// Markers of tables no longer there (object ids).
    pub(crate) stale_markers: Vec<i64>,
}

/// `[DataSync].[name]`.
pub(crate) fn in_datasync(name: &str) -> String {
    format!("[DataSync].{}", quote(name))
}

/// The statements of a removal, in dependency order: triggers (they write
/// the tracking tables), procedures (they take the table types), types,
/// tracking tables, the scopes' rows, then, when no scope is left, the
/// metadata tables and the schema if nothing else is in it.
pub(crate) fn removal(r: &Removal) -> Vec<String> {
    let mut objects = r.objects.clone();
    objects.sort();
    objects.dedup();
    let mut out: Vec<String> = objects
        .iter()
        .map(|o| match o {
            Drop::Trigger(t) => format!("DROP TRIGGER {t}"),
            Drop::Procedure(p) => format!("DROP PROCEDURE {}", in_datasync(p)),
            Drop::Type(t) => format!("DROP TYPE {}", in_datasync(t)),
            Drop::Table(t) => format!("DROP TABLE {}", in_datasync(t)),
        })
        .collect();
    for (id, config) in &r.scopes {
        out.push(format!("DELETE FROM [DataSync].[provision_marker_dss] WHERE owner_scope_local_id = {id}"));
        out.push(format!("DELETE FROM [DataSync].[scope_info_dss] WHERE scope_local_id = {id}"));
        if !config.is_empty() {
            out.push(format!(
                "DELETE FROM [DataSync].[scope_config_dss] WHERE config_id = {} AND NOT EXISTS (SELECT 1 FROM \
                 [DataSync].[scope_info_dss] WHERE scope_config_id = {})",
                lit(config),
                lit(config)
            ));
        }
    }
    if !r.stale_markers.is_empty() && !r.everything {
        let ids = r.stale_markers.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        out.push(format!("DELETE FROM [DataSync].[provision_marker_dss] WHERE object_id IN ({ids})"));
    }
    if r.everything {
        for t in ["provision_marker_dss", "scope_info_dss", "scope_config_dss", "schema_info_dss"] {
            out.push(format!("DROP TABLE IF EXISTS {}", in_datasync(t)));
        }
        out.push(
            "IF NOT EXISTS (SELECT 1 FROM sys.objects WHERE schema_id = SCHEMA_ID(N'DataSync') AND type IN ('U', 'P', \
             'V', 'FN', 'IF', 'TF', 'TR', 'SO')) AND NOT EXISTS (SELECT 1 FROM sys.types WHERE is_user_defined = 1 AND \
             schema_id = SCHEMA_ID(N'DataSync')) EXEC(N'DROP SCHEMA [DataSync]')"
                .into(),
        );
    }
    out
}
