//! keep-larger-amount: the conflict policy built in `plugins/README.md`.
//!
//! When the hub and a member both changed a row, keep the version with the
//! larger value in a numeric column (`amount` unless configured). A delete
//! wins over an update, so a removed row stays removed; ties go to the hub.

use std::cmp::Ordering;

use hubsync_pdk::{Conflict, ConflictBatch, ConflictPolicy, Plugin, Resolution, export_conflict_policy, parse_config};
use serde::Deserialize;

/// Configuration: `{"column": "amount"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The numeric column to compare.
    #[serde(default = "default_column")]
    column: String,
}

fn default_column() -> String {
    "amount".into()
}

/// The policy.
pub struct KeepLargerAmount {
    column: String,
}

impl Plugin for KeepLargerAmount {
    const NAME: &'static str = "keep-larger-amount";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Keeps the version with the larger amount; deletes win; ties go to the hub.";

    fn configure(config: &str) -> Result<Self, String> {
        let c: Config = parse_config(config)?;
        Ok(KeepLargerAmount { column: c.column })
    }
}

impl ConflictPolicy for KeepLargerAmount {
    fn resolve_one(&self, batch: &ConflictBatch, conflict: &Conflict) -> Result<Resolution, String> {
        let (hub, member) = match (&conflict.hub.row, &conflict.member.row) {
            (None, _) => return Ok(Resolution::TakeHub),
            (_, None) => return Ok(Resolution::TakeMember),
            (Some(h), Some(m)) => (h, m),
        };
        let missing = || format!("table {} has no column {:?}", batch.table.name, self.column);
        let h = batch.get(hub, &self.column).ok_or_else(missing)?;
        let m = batch.get(member, &self.column).ok_or_else(missing)?;
        // NULL counts as smaller than any number.
        let order = match (h.is_null(), m.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => {
                h.numeric_cmp(m).ok_or_else(|| format!("column {:?} is not numeric ({h:?} vs {m:?})", self.column))?
            }
        };
        Ok(if order == Ordering::Less { Resolution::TakeMember } else { Resolution::TakeHub })
    }
}

export_conflict_policy!(KeepLargerAmount);

#[cfg(test)]
mod tests {
    use super::*;
    use hubsync_pdk::{Change, ColumnType, TableSchema, Value};

    fn row(id: i64, amount: &str) -> Vec<Value> {
        vec![Value::Int(id), Value::Decimal(amount.into())]
    }

    #[test]
    fn the_larger_amount_wins_and_deletes_win() {
        let table = TableSchema::new("orders").key("id", ColumnType::Int).column("amount", ColumnType::Decimal);
        let batch = ConflictBatch::new(table, "shop-1")
            .conflict(vec![Value::Int(1)], Change::row(row(1, "10.00"), 5, 0), Change::row(row(1, "12.50"), 1, 1))
            .conflict(vec![Value::Int(2)], Change::row(row(2, "99.99"), 1, 0), Change::row(row(2, "100"), 5, 1))
            .conflict(vec![Value::Int(3)], Change::row(row(3, "7"), 1, 0), Change::row(row(3, "7.000"), 5, 1))
            .conflict(vec![Value::Int(4)], Change::row(row(4, "1"), 1, 0), Change::deleted(5, 1));
        let policy = KeepLargerAmount::configure("{}").expect("config");
        assert_eq!(
            policy.resolve(batch).expect("resolve"),
            [Resolution::TakeMember, Resolution::TakeMember, Resolution::TakeHub, Resolution::TakeMember]
        );
    }

    #[test]
    fn a_missing_column_is_a_clear_error() {
        let table = TableSchema::new("orders").key("id", ColumnType::Int);
        let batch = ConflictBatch::new(table, "m").conflict(
            vec![Value::Int(1)],
            Change::row(vec![Value::Int(1)], 1, 0),
            Change::row(vec![Value::Int(1)], 1, 1),
        );
        let err = KeepLargerAmount::configure(r#"{"column": "total"}"#).expect("config").resolve(batch);
        assert_eq!(err, Err("table orders has no column \"total\"".to_owned()));
    }
}
