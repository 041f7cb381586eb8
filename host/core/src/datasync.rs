//! What Azure SQL Data Sync left inside a SQL Server database, as
//! `hubsync datasync inspect` reports it, and what a takeover or a
//! removal did. Read by the connector, printed by the CLI.

use serde::{Deserialize, Serialize};

/// Whether `t` is a time as the takeover's T-SQL embeds it:
/// `YYYY-MM-DDTHH:MM:SS`, optionally `.` and digits (UTC).
pub fn is_utc_time(t: &str) -> bool {
    t.len() >= 19
        && t.chars().enumerate().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            19 => c == '.',
            _ => c.is_ascii_digit(),
        })
}

/// Data Sync's objects in one database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsInspection {
    /// `sqlserver` or `babelfish`.
    pub server: String,
    /// Whether the `DataSync` schema exists.
    pub schema: bool,
    /// The scopes (one per hub–member pair on a hub, one per group on a member).
    pub scopes: Vec<DsScope>,
    /// Every tracking table in `DataSync`, with its row counts.
    pub tracking: Vec<DsTracking>,
    /// Every Data Sync trigger, wherever it is.
    pub triggers: Vec<DsTrigger>,
    /// Objects no scope accounts for, and other damage.
    pub leftovers: Vec<DsLeftover>,
    /// Things the scope configuration and the catalog disagree on.
    pub problems: Vec<String>,
}

impl DsInspection {
    /// Whether Data Sync left anything at all.
    pub fn found(&self) -> bool {
        self.schema || !self.triggers.is_empty()
    }
}

/// One scope: its configuration's tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsScope {
    /// `scope_info_dss.scope_local_id`: the number tracking rows carry.
    pub local_id: i64,
    /// `scope_info_dss.sync_scope_name` (the same name on both ends of a hub–member pair).
    pub name: String,
    /// `scope_config_dss.config_id`.
    pub config_id: String,
    /// `scope_config_dss.scope_status`.
    pub status: Option<String>,
    /// The tables of its configuration.
    pub tables: Vec<DsTable>,
}

/// One table of a scope, with the objects its configuration names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsTable {
    /// Its schema (`dbo` when the configuration gives none).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The synced columns, in configuration order.
    pub columns: Vec<DsColumn>,
    /// `[DataSync].[…_dss_tracking]`.
    pub tracking_table: String,
    /// The insert, update and delete triggers, `[schema].[name]`.
    pub triggers: Vec<String>,
    /// The procedures the configuration names, `[DataSync].[name]`.
    pub procedures: Vec<String>,
    /// The bulk table type, `[DataSync].[name]`.
    pub bulk_type: Option<String>,
    /// Whether the table exists.
    pub exists: bool,
    /// NOT NULL columns of the table the scope leaves out (an insert from
    /// another database cannot fill them).
    pub left_out_not_null: Vec<String>,
}

/// A column of a scope's table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsColumn {
    /// Its name.
    pub name: String,
    /// Its SQL type as the configuration gives it (`nvarchar`).
    pub data_type: String,
    /// Its size (`100`, `max`), if any.
    pub size: Option<String>,
    /// Whether it admits NULL.
    pub nullable: bool,
    /// Whether it is part of the key.
    pub key: bool,
}

/// A tracking table and what it holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsTracking {
    /// Its name (without the `DataSync` schema).
    pub name: String,
    /// Rows (one per key ever changed or present at provisioning).
    pub rows: i64,
    /// Deleted rows kept as tombstones.
    pub tombstones: i64,
    /// Rows whose last change was made in this database (not applied by a sync).
    pub local_changes: i64,
    /// Local changes after `--since`, when it was given.
    pub local_since: Option<i64>,
    /// The newer layout (with `restore_timestamp`).
    pub restore_timestamp: bool,
}

/// A Data Sync trigger.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsTrigger {
    /// The schema of its table (and its own).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its table.
    pub table: String,
    /// Whether it fires.
    pub enabled: bool,
}

/// An object no scope accounts for, or a sign of damage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsLeftover {
    /// `trigger`, `procedure`, `type`, `tracking table`, `marker` or `shared tracking`.
    pub kind: String,
    /// `[schema].[name]` of the object (or the table concerned).
    pub object: String,
    /// What is wrong, in words.
    pub reason: String,
    /// Whether `hubsync datasync remove --leftovers` removes it.
    pub removable: bool,
}

/// What `hubsync datasync remove` does (or did) in one database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsRemoval {
    /// The T-SQL, in order, run in one transaction.
    pub statements: Vec<String>,
    /// Whether it ran (false for `--dry-run`).
    pub applied: bool,
}

/// What a takeover did to one table of one database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsTakeover {
    /// The table.
    pub table: String,
    /// Data Sync's triggers dropped.
    pub triggers_dropped: Vec<String>,
    /// Keys announced as changes (changed after the last Data Sync sync).
    pub announced: u64,
    /// The position after which hubsync reads this table's changes.
    pub anchor: String,
    /// The table had been taken over before (nothing was done again).
    pub already: bool,
}
