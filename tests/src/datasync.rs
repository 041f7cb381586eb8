//! A database as Azure SQL Data Sync provisions it, built faithfully for
//! tests from `../shared/notes/datasync-objects.md` §8: the `DataSync`
//! schema and its four metadata tables, per table a tracking table (the
//! newer layout with `restore_timestamp`, or the older one without), its
//! indexes, the insert/update/delete triggers that really record the
//! applications' writes, per scope the eight procedures and the bulk table
//! type, the three shared metadata procedures, the provision markers with
//! the table's object id baked in, and the scope configuration XML.
//!
//! Adapted for Babelfish, and said so here: no `MERGE` (the triggers use
//! `UPDATE` + `INSERT … WHERE NOT EXISTS`, which records the same rows),
//! and a procedure parameter cannot name a table type whose name holds a
//! hyphen (Babelfish cuts the name there), so on Babelfish the bulk
//! procedures take no `@changeTable` (the types are still made).

use crate::Db;

/// A synced table: schema, name, columns (name, type, key, nullable).
#[derive(Debug, Clone)]
pub struct Table {
    /// Its schema.
    pub schema: &'static str,
    /// Its name.
    pub name: &'static str,
    /// Columns in the scope: name, SQL type, part of the key, nullable.
    pub columns: Vec<(&'static str, &'static str, bool, bool)>,
}

impl Table {
    fn keys(&self) -> Vec<&(&'static str, &'static str, bool, bool)> {
        self.columns.iter().filter(|c| c.2).collect()
    }

    fn base(&self) -> String {
        format!("[{}].[{}]", self.schema, self.name)
    }

    fn tracking(&self) -> String {
        format!("[DataSync].[{}_dss_tracking]", self.name)
    }
}

/// How a database was provisioned.
#[derive(Debug, Clone)]
pub struct Provisioning {
    /// The tables.
    pub tables: Vec<Table>,
    /// Scope names (GUIDs, the procedure suffixes), local ids 1, 2, …
    pub scopes: Vec<&'static str>,
    /// The older tracking layout (no `restore_timestamp`).
    pub old_layout: bool,
    /// Babelfish (see the module's notes).
    pub babelfish: bool,
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The scope configuration XML of `tables` for scope `guid`.
pub fn config_xml(tables: &[Table], guid: &str) -> String {
    let mut x = String::from(
        r#"<SqlSyncProviderScopeConfiguration xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" IsTemplate="false">"#,
    );
    for t in tables {
        let n = t.name;
        let p = |k: &str| format!("[DataSync].[{n}_dss_{k}_{guid}]");
        let m = |k: &str| format!("[DataSync].[{n}_dss_{k}]");
        let tr = |k: &str| format!("[{}].[{n}_dss_{k}_trigger]", t.schema);
        let attrs = [
            ("Name", t.base()),
            ("GlobalName", t.base()),
            ("TrackingTable", t.tracking()),
            ("SelChngProc", p("selectchanges")),
            ("SelRowProc", p("selectrow")),
            ("InsProc", p("insert")),
            ("UpdProc", p("update")),
            ("DelProc", p("delete")),
            ("InsMetaProc", m("insertmetadata")),
            ("UpdMetaProc", m("updatemetadata")),
            ("DelMetaProc", m("deletemetadata")),
            ("BulkTableType", format!("[DataSync].[{n}_dss_BulkType_{guid}]")),
            ("BulkInsProc", p("bulkinsert")),
            ("BulkUpdProc", p("bulkupdate")),
            ("BulkDelProc", p("bulkdelete")),
            ("InsTrig", tr("insert")),
            ("UpdTrig", tr("update")),
            ("DelTrig", tr("delete")),
        ];
        x.push_str("<Adapter");
        for (k, v) in attrs {
            x.push_str(&format!(" {k}=\"{}\"", xml_escape(&v)));
        }
        x.push('>');
        for (i, (c, ty, key, null)) in t.columns.iter().enumerate() {
            let (base, size) = match ty.split_once('(') {
                Some((b, s)) => (b, format!(" size=\"{}\"", s.trim_end_matches(')'))),
                None => (*ty, String::new()),
            };
            x.push_str(&format!(
                "<Col name=\"{}\" type=\"{base}\"{size}{}{} param=\"@P_{}\" />",
                xml_escape(c),
                if *null { " null=\"true\"" } else { "" },
                if *key { " pk=\"true\"" } else { "" },
                i + 1
            ));
        }
        x.push_str("</Adapter>");
    }
    x.push_str("</SqlSyncProviderScopeConfiguration>");
    x
}

/// The metadata tables (once per database).
fn metadata() -> Vec<String> {
    vec![
        "CREATE SCHEMA [DataSync] AUTHORIZATION [dbo]".into(),
        "CREATE TABLE [DataSync].[scope_info_dss]([scope_local_id] INT IDENTITY(1,1) NOT NULL, [scope_id] UNIQUEIDENTIFIER \
         NOT NULL DEFAULT (NEWID()), [sync_scope_name] NVARCHAR(100) NOT NULL, [scope_sync_knowledge] VARBINARY(MAX) NULL, \
         [scope_tombstone_cleanup_knowledge] VARBINARY(MAX) NULL, [scope_timestamp] ROWVERSION NULL, [scope_config_id] \
         UNIQUEIDENTIFIER NULL, [scope_restore_count] INT NOT NULL DEFAULT ((0)), [scope_user_comment] NVARCHAR(MAX) NULL, \
         CONSTRAINT [PK_DataSync.scope_info_dss] PRIMARY KEY CLUSTERED ([sync_scope_name]))"
            .into(),
        "CREATE TABLE [DataSync].[scope_config_dss]([config_id] UNIQUEIDENTIFIER NOT NULL, [config_data] XML NOT NULL, \
         [scope_status] CHAR(1) NULL, CONSTRAINT [PK_DataSync.scope_config_dss] PRIMARY KEY CLUSTERED ([config_id]))"
            .into(),
        "CREATE TABLE [DataSync].[schema_info_dss]([schema_major_version] INT NOT NULL, [schema_minor_version] INT NOT NULL, \
         [schema_extended_info] NVARCHAR(100) NOT NULL, CONSTRAINT [PK_DataSync.schema_info_dss] PRIMARY KEY CLUSTERED \
         ([schema_major_version],[schema_minor_version]))"
            .into(),
        "CREATE TABLE [DataSync].[provision_marker_dss]([object_id] INT NOT NULL, [owner_scope_local_id] INT NOT NULL, \
         [provision_scope_local_id] INT NULL, [provision_timestamp] BIGINT NOT NULL, [provision_local_peer_key] INT NOT NULL, \
         [provision_scope_peer_key] INT NULL, [provision_scope_peer_timestamp] BIGINT NULL, [provision_datetime] DATETIME NULL, \
         [state] INT NULL, [version] ROWVERSION NOT NULL, CONSTRAINT [PK_DataSync.provision_marker_dss] PRIMARY KEY CLUSTERED \
         ([owner_scope_local_id],[object_id]))"
            .into(),
        "INSERT INTO [DataSync].[schema_info_dss] VALUES (2, 1, N'hubsync test fixture')".into(),
    ]
}

/// The tracking table, indexes, triggers and shared procedures of one table.
fn table_objects(t: &Table, old: bool) -> Vec<String> {
    let n = t.name;
    let keys = t.keys();
    let key_defs: Vec<String> = keys.iter().map(|c| format!("[{}] {} NOT NULL", c.0, c.1)).collect();
    let key_list: Vec<String> = keys.iter().map(|c| format!("[{}]", c.0)).collect();
    let restore = if old { "" } else { "[restore_timestamp] BIGINT NULL, " };
    let tracking = t.tracking();
    let mut out = vec![
        format!(
            "CREATE TABLE {tracking}({}, [update_scope_local_id] INT NULL, [scope_update_peer_key] INT NULL, \
             [scope_update_peer_timestamp] BIGINT NULL, [local_update_peer_key] INT NOT NULL, [local_update_peer_timestamp] \
             ROWVERSION NOT NULL, [create_scope_local_id] INT NULL, [scope_create_peer_key] INT NULL, \
             [scope_create_peer_timestamp] BIGINT NULL, [local_create_peer_key] INT NOT NULL, [local_create_peer_timestamp] \
             BIGINT NOT NULL, [sync_row_is_tombstone] INT NOT NULL, {restore}[last_change_datetime] DATETIME NULL, \
             CONSTRAINT [PK_DataSync.{n}_dss_tracking] PRIMARY KEY CLUSTERED ({}))",
            key_defs.join(", "),
            key_list.join(", ")
        ),
        format!(
            "CREATE NONCLUSTERED INDEX [tombstone_index] ON {tracking} ([sync_row_is_tombstone], \
             [local_update_peer_timestamp]) INCLUDE ([last_change_datetime])"
        ),
        format!(
            "CREATE NONCLUSTERED INDEX [local_update_peer_timestamp_index] ON {tracking} ([local_update_peer_timestamp], {})",
            key_list.join(", ")
        ),
    ];
    // The markers, with the table's object id as a literal (as Data Sync bakes it in).
    let id = format!("OBJECT_ID(N'{}')", t.base());
    out.push(format!(
        "INSERT INTO [DataSync].[provision_marker_dss] ([object_id], [owner_scope_local_id], [provision_scope_local_id], \
         [provision_timestamp], [provision_local_peer_key], [provision_datetime], [state]) VALUES ({id}, 0, NULL, \
         CAST(@@DBTS AS BIGINT), 0, GETDATE(), 1)"
    ));
    let join =
        |a: &str, b: &str| keys.iter().map(|c| format!("{a}.[{0}] = {b}.[{0}]", c.0)).collect::<Vec<_>>().join(" AND ");
    let restore_set = if old { "" } else { ", [restore_timestamp] = NULL" };
    let (restore_col, restore_val) = if old { ("", "") } else { (", [restore_timestamp]", ", NULL") };
    for (op, from, tomb) in [("insert", "inserted", 0), ("update", "inserted", 0), ("delete", "deleted", 1)] {
        // Rows that pre-date provisioning take their create values from the marker.
        let create = if op == "insert" {
            "NULL, NULL, NULL, 0, CAST(@@DBTS AS BIGINT) + 1".to_owned()
        } else {
            "@marker_create_scope_local_id, @marker_scope_create_peer_key, @marker_scope_create_peer_timestamp, \
             @marker_local_create_peer_key, @marker_local_create_peer_timestamp"
                .to_owned()
        };
        out.push(format!(
            "CREATE TRIGGER [{s}].[{n}_dss_{op}_trigger] ON {base} FOR {OP} AS\nBEGIN\nSET NOCOUNT ON;\n\
             DECLARE @marker_create_scope_local_id INT, @marker_scope_create_peer_key INT, @marker_scope_create_peer_timestamp \
             BIGINT, @marker_local_create_peer_key INT, @marker_local_create_peer_timestamp BIGINT;\n\
             SELECT @marker_create_scope_local_id = [provision_scope_local_id], @marker_scope_create_peer_key = \
             [provision_scope_peer_key], @marker_scope_create_peer_timestamp = [provision_scope_peer_timestamp], \
             @marker_local_create_peer_key = [provision_local_peer_key], @marker_local_create_peer_timestamp = \
             [provision_timestamp] FROM [DataSync].[provision_marker_dss] WHERE [object_id] = {objid} AND \
             [owner_scope_local_id] = 0;\n\
             UPDATE side SET [sync_row_is_tombstone] = {tomb}, [local_update_peer_key] = 0, [update_scope_local_id] = NULL, \
             [last_change_datetime] = GETDATE(){restore_set} FROM {tracking} side JOIN {from} x ON {};\n\
             INSERT INTO {tracking} ({}, [update_scope_local_id], [scope_update_peer_key], [scope_update_peer_timestamp], \
             [local_update_peer_key], [create_scope_local_id], [scope_create_peer_key], [scope_create_peer_timestamp], \
             [local_create_peer_key], [local_create_peer_timestamp], [sync_row_is_tombstone]{restore_col}, \
             [last_change_datetime]) SELECT {}, NULL, NULL, NULL, 0, {create}, {tomb}{restore_val}, GETDATE() FROM {from} x \
             WHERE NOT EXISTS (SELECT 1 FROM {tracking} side WHERE {});\nEND",
            join("side", "x"),
            key_list.join(", "),
            keys.iter().map(|c| format!("x.[{}]", c.0)).collect::<Vec<_>>().join(", "),
            join("side", "x"),
            s = t.schema,
            base = t.base(),
            OP = op.to_uppercase(),
            objid = "__OBJECT_ID__",
        ));
    }
    let pk_params: Vec<String> = keys.iter().enumerate().map(|(i, c)| format!("@P_{} {}", i + 1, c.1)).collect();
    let meta = "@sync_scope_local_id INT, @sync_row_is_tombstone INT, @sync_create_peer_key INT, \
                @sync_create_peer_timestamp BIGINT, @sync_update_peer_key INT, @sync_update_peer_timestamp BIGINT, \
                @sync_check_concurrency INT, @sync_row_timestamp BIGINT, @sync_row_count INT OUTPUT";
    for op in ["insertmetadata", "updatemetadata"] {
        out.push(format!(
            "CREATE PROCEDURE [DataSync].[{n}_dss_{op}] {}, {meta} AS BEGIN SET @sync_row_count = 0 END",
            pk_params.join(", ")
        ));
    }
    out.push(format!(
        "CREATE PROCEDURE [DataSync].[{n}_dss_deletemetadata] {}, @sync_check_concurrency INT, @sync_row_timestamp BIGINT, \
         @sync_row_count INT OUTPUT AS BEGIN SET @sync_row_count = 0 END",
        pk_params.join(", ")
    ));
    out
}

/// The per-scope procedures and bulk type of one table.
fn scope_objects(t: &Table, guid: &str, local_id: usize, babelfish: bool) -> Vec<String> {
    let n = t.name;
    let keys = t.keys();
    let bulk = format!("[DataSync].[{n}_dss_BulkType_{guid}]");
    let bulk_cols: Vec<String> =
        t.columns.iter().map(|c| format!("[{}] {} {}", c.0, c.1, if c.2 { "NOT NULL" } else { "NULL" })).collect();
    let key_list: Vec<String> = keys.iter().map(|c| format!("[{}]", c.0)).collect();
    let mut out = vec![format!(
        "CREATE TYPE {bulk} AS TABLE({}, [sync_update_peer_timestamp] BIGINT NULL, [sync_update_peer_key] INT NULL, \
         [sync_create_peer_timestamp] BIGINT NULL, [sync_create_peer_key] INT NULL, PRIMARY KEY CLUSTERED ({}))",
        bulk_cols.join(", "),
        key_list.join(", ")
    )];
    let all_params: Vec<String> = t.columns.iter().enumerate().map(|(i, c)| format!("@P_{} {}", i + 1, c.1)).collect();
    let pk_params: Vec<String> = keys.iter().enumerate().map(|(i, c)| format!("@P_{} {}", i + 1, c.1)).collect();
    let p = |k: &str| format!("[DataSync].[{n}_dss_{k}_{guid}]");
    out.push(format!(
        "CREATE PROCEDURE {} @sync_min_timestamp BIGINT, @sync_scope_local_id INT, @sync_scope_restore_count INT, \
         @sync_update_peer_key INT AS BEGIN SELECT * FROM {} WHERE [local_update_peer_timestamp] > @sync_min_timestamp \
         AND @sync_scope_local_id = {local_id} END",
        p("selectchanges"),
        t.tracking()
    ));
    out.push(format!(
        "CREATE PROCEDURE {} {}, @sync_scope_local_id INT, @sync_scope_restore_count INT AS BEGIN SELECT 1 END",
        p("selectrow"),
        pk_params.join(", ")
    ));
    out.push(format!(
        "CREATE PROCEDURE {} {}, @sync_row_count INT OUTPUT AS BEGIN SET @sync_row_count = 0 END",
        p("insert"),
        all_params.join(", ")
    ));
    out.push(format!(
        "CREATE PROCEDURE {} {}, @sync_force_write INT, @sync_min_timestamp BIGINT, @sync_row_count INT OUTPUT AS BEGIN \
         SET @sync_row_count = 0 END",
        p("update"),
        all_params.join(", ")
    ));
    out.push(format!(
        "CREATE PROCEDURE {} {}, @sync_force_write INT, @sync_min_timestamp BIGINT, @sync_row_count INT OUTPUT AS BEGIN \
         SET @sync_row_count = 0 END",
        p("delete"),
        pk_params.join(", ")
    ));
    for op in ["bulkinsert", "bulkupdate", "bulkdelete"] {
        let table_param = if babelfish { String::new() } else { format!(", @changeTable {bulk} READONLY") };
        out.push(format!(
            "CREATE PROCEDURE {} @sync_min_timestamp BIGINT, @sync_scope_local_id INT{table_param} AS BEGIN SELECT 0 END",
            p(op)
        ));
    }
    out
}

impl Provisioning {
    /// Provision `db` as Data Sync would (the tables exist already).
    pub fn apply(&self, db: &Db) {
        for s in metadata() {
            db.exec(&s);
        }
        self.apply_objects_only(db);
    }

    /// The tables' and scopes' objects only, in a database whose `DataSync`
    /// schema exists: with no scopes, what a removed scope leaves behind
    /// when its rows were deleted but not its objects.
    pub fn apply_objects_only(&self, db: &Db) {
        for t in &self.tables {
            let id = db.scalar(&format!("SELECT OBJECT_ID(N'{}')", t.base()));
            assert!(!id.is_empty(), "table {} exists before Data Sync provisions it", t.base());
            for s in table_objects(t, self.old_layout) {
                db.exec(&s.replace("__OBJECT_ID__", &id));
            }
        }
        for (i, guid) in self.scopes.iter().enumerate() {
            let local_id = i + 1;
            for t in &self.tables {
                for s in scope_objects(t, guid, local_id, self.babelfish) {
                    db.exec(&s);
                }
                db.exec(&format!(
                    "INSERT INTO [DataSync].[provision_marker_dss] ([object_id], [owner_scope_local_id], \
                     [provision_scope_local_id], [provision_timestamp], [provision_local_peer_key], [provision_datetime], \
                     [state]) VALUES (OBJECT_ID(N'{}'), {local_id}, {local_id}, CAST(@@DBTS AS BIGINT), 0, GETDATE(), 1)",
                    t.base()
                ));
            }
            let config = format!("{:08x}-0000-4000-8000-{:012x}", local_id, 0xc0f1_u64 + local_id as u64);
            db.exec(&format!(
                "INSERT INTO [DataSync].[scope_config_dss] (config_id, config_data, scope_status) VALUES ('{config}', N'{}', 'C')",
                config_xml(&self.tables, guid).replace('\'', "''")
            ));
            db.exec(&format!(
                "INSERT INTO [DataSync].[scope_info_dss] (sync_scope_name, scope_config_id) VALUES (N'{guid}', '{config}')"
            ));
        }
    }
}

/// Mark the tracking rows of `keys_where` (a condition on the tracking
/// table's key columns) as applied by a sync through scope `scope`: what
/// Data Sync's apply procedures leave behind.
pub fn mark_applied(db: &Db, t: &Table, scope: i64, keys_where: &str) {
    db.exec(&format!(
        "UPDATE {} SET [update_scope_local_id] = {scope}, [scope_update_peer_key] = 1, [scope_update_peer_timestamp] = 1 \
         WHERE {keys_where}",
        t.tracking()
    ));
}

/// Whether `db` is on Babelfish.
pub fn is_babelfish(db: &Db) -> bool {
    db.scalar("SELECT CASE WHEN @@VERSION LIKE '%Babelfish%' THEN 1 ELSE 0 END") == "1"
}
