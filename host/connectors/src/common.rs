//! Helpers every engine uses: selection checks, the provision marker's
//! fingerprint, error wrapping.

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

/// Wrap a driver error with what hubsync was doing.
pub(crate) fn db_error(engine: EngineKind, operation: impl Into<String>) -> impl FnOnce(sqlx::Error) -> ConnectorError {
    let operation = operation.into();
    move |e| ConnectorError::Database { engine, operation, cause: e.to_string() }
}

/// The selection as recorded in the provision marker: format, key and columns with types.
pub(crate) fn fingerprint(t: &TableSchema) -> String {
    let cols: Vec<String> = t.columns.iter().map(|c| format!("{}:{}", c.name, c.kind)).collect();
    let key: Vec<String> = t.primary_key.iter().map(|&i| t.columns[i].name.clone()).collect();
    format!("v{FORMAT};key={};cols={}", key.join(","), cols.join(","))
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
