//! Built-in conflict policy `column-merge`: when both sides changed a row,
//! write a merged row that takes the configured columns from the member
//! and every other column from the hub. When either side deleted the row,
//! the delete wins.
//!
//! Configuration: `{"member_columns": ["stock", "last_seen"]}`.

use hubsync_pdk::{Conflict, ConflictBatch, ConflictPolicy, Plugin, Resolution, export_conflict_policy, parse_config};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Columns whose member value goes into the merged row.
    member_columns: Vec<String>,
}

/// The policy.
pub struct ColumnMerge {
    member_columns: Vec<String>,
}

impl Plugin for ColumnMerge {
    const NAME: &'static str = "column-merge";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Merges both sides' changes: the member's values for the configured \
         member_columns, the hub's for the rest; a delete on either side wins.";

    fn configure(config: &str) -> Result<Self, String> {
        let c: Config = parse_config(config)?;
        if c.member_columns.is_empty() {
            return Err("member_columns is empty; name the columns to take from the member".into());
        }
        Ok(ColumnMerge { member_columns: c.member_columns })
    }
}

impl ConflictPolicy for ColumnMerge {
    fn resolve_one(&self, batch: &ConflictBatch, c: &Conflict) -> Result<Resolution, String> {
        let (Some(hub), Some(member)) = (&c.hub.row, &c.member.row) else {
            return Ok(if c.hub.is_delete() { Resolution::TakeHub } else { Resolution::TakeMember });
        };
        let mut merged = hub.clone();
        for name in &self.member_columns {
            let i = batch.table.index_of(name).ok_or_else(|| {
                format!("table {} has no column {name:?} (configured in member_columns)", batch.table.name)
            })?;
            if batch.table.primary_key.contains(&(i as u32)) {
                return Err(format!("column {name:?} is part of the key; a merge cannot change the key"));
            }
            merged[i] = member[i].clone();
        }
        Ok(Resolution::Merged(merged))
    }
}

export_conflict_policy!(ColumnMerge);

#[cfg(test)]
mod tests {
    use super::*;
    use hubsync_pdk::{Change, ColumnType, TableSchema, Value};

    #[test]
    fn member_columns_come_from_the_member_and_deletes_win() {
        let table =
            TableSchema::new("t").key("id", ColumnType::Int).column("a", ColumnType::Int).column("b", ColumnType::Int);
        let row = |a, b| vec![Value::Int(1), Value::Int(a), Value::Int(b)];
        let batch = ConflictBatch::new(table, "m")
            .conflict(vec![Value::Int(1)], Change::row(row(1, 2), 10, 0), Change::row(row(3, 4), 20, 1))
            .conflict(vec![Value::Int(1)], Change::deleted(10, 0), Change::row(row(3, 4), 20, 1))
            .conflict(vec![Value::Int(1)], Change::row(row(1, 2), 10, 0), Change::deleted(20, 1));
        let p = ColumnMerge::configure(r#"{"member_columns": ["b"]}"#).expect("config");
        assert_eq!(
            p.resolve(batch.clone()).expect("resolve"),
            [Resolution::Merged(row(1, 4)), Resolution::TakeHub, Resolution::TakeMember]
        );
        let bad = ColumnMerge::configure(r#"{"member_columns": ["zzz"]}"#).expect("config");
        assert!(bad.resolve(batch.clone()).expect_err("unknown column").contains("zzz"));
        let key = ColumnMerge::configure(r#"{"member_columns": ["id"]}"#).expect("config");
        assert!(key.resolve(batch).expect_err("key column").contains("key"));
        assert!(ColumnMerge::configure(r#"{"member_columns": []}"#).is_err());
    }
}
