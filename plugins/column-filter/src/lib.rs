//! Built-in column filter: per table, which columns a member receives
//! (`include` or `exclude`) and which rows (`where`, a predicate such as
//! `region = 'EU' AND amount >= 100`).
//!
//! Configuration:
//! ```json
//! {"tables": {"orders": {"include": ["id", "region", "amount"], "where": "region = 'EU'"}}}
//! ```
//! Tables are matched by name or by `namespace.name`; a table not listed
//! passes whole. Key columns are always kept: excluding one is an error.

pub mod predicate;

use std::collections::BTreeMap;

use hubsync_pdk::{ColumnFilter, Plugin, Row, TableSchema, export_column_filter, parse_config};
use serde::Deserialize;

/// The filter of one table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableConfig {
    /// Only these columns (the key columns are required among them).
    #[serde(default)]
    include: Option<Vec<String>>,
    /// All columns but these (not with `include`).
    #[serde(default)]
    exclude: Vec<String>,
    /// Keep only rows for which this predicate is true.
    #[serde(default, rename = "where")]
    predicate: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Filters by table name.
    #[serde(default)]
    tables: BTreeMap<String, TableConfig>,
}

/// The plugin: validated configuration with parsed predicates.
pub struct Filter {
    tables: BTreeMap<String, (TableConfig, Option<predicate::Expr>)>,
}

impl Filter {
    fn table(&self, t: &TableSchema) -> Option<&(TableConfig, Option<predicate::Expr>)> {
        let qualified = t.namespace.as_ref().map(|ns| format!("{ns}.{}", t.name));
        qualified.and_then(|q| self.tables.get(&q)).or_else(|| self.tables.get(&t.name))
    }
}

impl Plugin for Filter {
    const NAME: &'static str = "column-filter";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Sends a member only the configured columns and the rows matching a predicate.";

    fn configure(config: &str) -> Result<Self, String> {
        let c: Config = parse_config(config)?;
        let mut tables = BTreeMap::new();
        for (name, t) in c.tables {
            if t.include.is_some() && !t.exclude.is_empty() {
                return Err(format!("table {name:?}: give either `include` or `exclude`, not both"));
            }
            let parsed = match &t.predicate {
                Some(p) => Some(predicate::parse(p).map_err(|e| format!("table {name:?}, `where`: {e}"))?),
                None => None,
            };
            tables.insert(name, (t, parsed));
        }
        Ok(Filter { tables })
    }
}

impl ColumnFilter for Filter {
    fn columns(&self, table: &TableSchema, _member: &str) -> Result<Vec<u32>, String> {
        let Some((cfg, _)) = self.table(table) else {
            return Ok((0..table.columns.len() as u32).collect());
        };
        let named = cfg.include.as_ref().unwrap_or(&cfg.exclude);
        for name in named {
            if table.index_of(name).is_none() {
                return Err(format!("table {}: there is no column {name:?} to include or exclude", table.name));
            }
        }
        let mut keep = Vec::new();
        for (i, c) in table.columns.iter().enumerate() {
            let listed = named.contains(&c.name);
            let kept = if cfg.include.is_some() { listed } else { !listed };
            if kept {
                keep.push(i as u32);
            } else if table.primary_key.contains(&(i as u32)) {
                return Err(format!(
                    "table {}: the filter drops key column {:?}, but key columns must be synced; keep it",
                    table.name, c.name
                ));
            }
        }
        Ok(keep)
    }

    fn filter(&self, table: &TableSchema, _member: &str, rows: Vec<Row>) -> Result<Vec<bool>, String> {
        let Some((_, Some(expr))) = self.table(table) else {
            return Ok(vec![true; rows.len()]);
        };
        let bound = predicate::bind(expr, table).map_err(|e| format!("table {}: {e}", table.name))?;
        Ok(rows.iter().map(|r| bound.eval(r) == Some(true)).collect())
    }
}

export_column_filter!(Filter);

#[cfg(test)]
mod tests {
    use super::*;
    use hubsync_pdk::{ColumnType, Value};

    fn table() -> TableSchema {
        TableSchema::new("orders")
            .key("id", ColumnType::Int)
            .column("region", ColumnType::Text)
            .column("amount", ColumnType::Decimal)
            .column("note", ColumnType::Text)
    }

    fn row(id: i64, region: Option<&str>, amount: &str) -> Row {
        vec![Value::Int(id), region.map_or(Value::Null, Value::from), Value::Decimal(amount.into()), Value::Null]
    }

    #[test]
    fn filters_columns_and_rows() {
        let f = Filter::configure(
            r#"{"tables": {"orders": {"exclude": ["note"], "where": "region = 'EU' AND (amount >= 100 OR id IN (7, 8))"}}}"#,
        )
        .expect("config");
        assert_eq!(f.columns(&table(), "m"), Ok(vec![0, 1, 2]));
        let rows = vec![
            row(1, Some("EU"), "100.00"),
            row(2, Some("EU"), "99.99"),
            row(7, Some("EU"), "1"),
            row(3, Some("US"), "500"),
            row(4, None, "500"),
        ];
        assert_eq!(f.filter(&table(), "m", rows), Ok(vec![true, false, true, false, false]));
    }

    #[test]
    fn null_semantics_follow_sql() {
        let f = Filter::configure(r#"{"tables": {"orders": {"where": "NOT region = 'EU' OR region IS NULL"}}}"#)
            .expect("config");
        let rows = vec![row(1, None, "1"), row(2, Some("US"), "1"), row(3, Some("EU"), "1")];
        assert_eq!(f.filter(&table(), "m", rows), Ok(vec![true, true, false]));
    }

    #[test]
    fn bad_configs_are_refused_with_reasons() {
        let err = |cfg: &str| Filter::configure(cfg).err().unwrap_or_default();
        assert!(err(r#"{"tables": {"t": {"where": "region = "}}}"#).contains("expected a literal"));
        assert!(err(r#"{"tables": {"t": {"include": ["a"], "exclude": ["b"]}}}"#).contains("not both"));
        assert!(err(r#"{"tabels": {}}"#).contains("unknown field"));
        let f = Filter::configure(r#"{"tables": {"orders": {"include": ["region"], "where": "nope = 1"}}}"#)
            .expect("syntax is fine");
        assert!(f.columns(&table(), "m").expect_err("key dropped").contains("key column \"id\""));
        assert!(f.filter(&table(), "m", vec![]).expect_err("unknown column").contains("\"nope\""));
        let f = Filter::configure(r#"{"tables": {"orders": {"where": "amount > 'lots'"}}}"#).expect("syntax");
        assert!(f.filter(&table(), "m", vec![]).expect_err("bad literal").contains("not a decimal"));
    }
}
