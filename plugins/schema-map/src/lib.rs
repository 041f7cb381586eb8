//! Built-in schema map: renames tables and columns and changes column types
//! between the hub and a member, with exact casts both ways.
//!
//! Configuration:
//! ```json
//! {"tables": {"orders": {"name": "Orders", "namespace": "sales",
//!   "columns": {"amount": {"name": "Amount", "type": "text", "declared_type": "varchar(40)"}}}}}
//! ```
//! Tables and columns not listed pass unchanged. A cast that would lose
//! information for some value (a fraction into an int, say) fails the batch
//! with the column and the value, so nothing is written half-converted.

use std::collections::BTreeMap;

use hubsync_core::{ColumnType as CoreType, Value as CoreValue};
use hubsync_pdk::{ColumnType, Direction, Plugin, Row, SchemaMap, TableSchema, Value, export_schema_map, parse_config};
use serde::Deserialize;

/// How one column is mapped.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnConfig {
    /// The member-side name.
    #[serde(default)]
    name: Option<String>,
    /// The member-side column type (`int`, `text`, `timestamptz`, …).
    #[serde(default, rename = "type")]
    kind: Option<String>,
    /// The member-side declared SQL type, e.g. `varchar(40)`.
    #[serde(default)]
    declared_type: Option<String>,
}

/// How one table is mapped.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableConfig {
    /// The member-side table name.
    #[serde(default)]
    name: Option<String>,
    /// The member-side namespace (SQL schema).
    #[serde(default)]
    namespace: Option<String>,
    /// Column mappings by hub column name.
    #[serde(default)]
    columns: BTreeMap<String, ColumnConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Table mappings by hub table name (or `namespace.name`).
    #[serde(default)]
    tables: BTreeMap<String, TableConfig>,
}

/// The plugin.
pub struct Mapper {
    tables: BTreeMap<String, (TableConfig, BTreeMap<String, CoreType>)>,
}

impl Mapper {
    fn table(&self, t: &TableSchema) -> Option<&(TableConfig, BTreeMap<String, CoreType>)> {
        let qualified = t.namespace.as_ref().map(|ns| format!("{ns}.{}", t.name));
        qualified.and_then(|q| self.tables.get(&q)).or_else(|| self.tables.get(&t.name))
    }
}

impl Plugin for Mapper {
    const NAME: &'static str = "schema-map";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Renames tables and columns and casts column types between hub and member.";

    fn configure(config: &str) -> Result<Self, String> {
        let c: Config = parse_config(config)?;
        let mut tables = BTreeMap::new();
        for (name, t) in c.tables {
            let mut kinds = BTreeMap::new();
            for (col, cc) in &t.columns {
                if let Some(k) = &cc.kind {
                    let kind = k.parse::<CoreType>().map_err(|e| format!("table {name:?}, column {col:?}: {e}"))?;
                    kinds.insert(col.clone(), kind);
                }
            }
            tables.insert(name, (t, kinds));
        }
        Ok(Mapper { tables })
    }
}

impl SchemaMap for Mapper {
    fn map_schema(&self, hub: &TableSchema, _member: &str) -> Result<TableSchema, String> {
        let mut out = hub.clone();
        let Some((cfg, kinds)) = self.table(hub) else {
            return Ok(out);
        };
        for name in cfg.columns.keys() {
            if hub.index_of(name).is_none() {
                return Err(format!(
                    "table {}: the map names column {name:?}, which the hub table does not have",
                    hub.name
                ));
            }
        }
        if let Some(n) = &cfg.name {
            out.name = n.clone();
        }
        if let Some(ns) = &cfg.namespace {
            out.namespace = Some(ns.clone());
        }
        for col in &mut out.columns {
            let Some(cc) = cfg.columns.get(&col.name) else { continue };
            if let Some(&to) = kinds.get(&col.name) {
                let from = CoreType::from(col.kind);
                if !from.can_cast_to(to) || !to.can_cast_to(from) {
                    return Err(format!(
                        "table {}, column {:?}: hubsync cannot cast {from} to {to} and back exactly; choose another type",
                        hub.name, col.name
                    ));
                }
                col.kind = to.into();
                col.declared_type = None;
            }
            if let Some(d) = &cc.declared_type {
                col.declared_type = Some(d.clone());
            }
            if let Some(n) = &cc.name {
                col.name = n.clone();
            }
        }
        for (i, c) in out.columns.iter().enumerate() {
            if out.columns[..i].iter().any(|o| o.name == c.name) {
                return Err(format!("table {}: two columns would be called {:?} on the member", hub.name, c.name));
            }
        }
        Ok(out)
    }

    fn map_rows(
        &self,
        hub: &TableSchema,
        member: &str,
        direction: Direction,
        rows: Vec<Row>,
    ) -> Result<Vec<Row>, String> {
        if self.table(hub).is_none() {
            return Ok(rows);
        }
        let mapped = self.map_schema(hub, member)?;
        let (from, to) = match direction {
            Direction::ToMember => (hub, &mapped),
            Direction::ToHub => (&mapped, hub),
        };
        let casts: Vec<Option<ColumnType>> =
            from.columns.iter().zip(&to.columns).map(|(f, t)| (f.kind != t.kind).then_some(t.kind)).collect();
        if casts.iter().all(Option::is_none) {
            return Ok(rows);
        }
        rows.into_iter()
            .map(|row| {
                if row.len() != casts.len() {
                    return Err(format!("a row of {} has {} values for {} columns", from.name, row.len(), casts.len()));
                }
                row.into_iter()
                    .zip(&casts)
                    .zip(&from.columns)
                    .map(|((v, cast), col)| match cast {
                        None => Ok(v),
                        Some(kind) => CoreValue::from(v)
                            .cast((*kind).into())
                            .map(Value::from)
                            .map_err(|e| format!("table {}, column {:?}: {e}", from.name, col.name)),
                    })
                    .collect()
            })
            .collect()
    }
}

export_schema_map!(Mapper);

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> TableSchema {
        TableSchema::new("orders")
            .key("id", ColumnType::Int)
            .column("amount", ColumnType::Decimal)
            .column("at", ColumnType::Timestamptz)
    }

    #[test]
    fn renames_casts_and_round_trips() {
        let m = Mapper::configure(
            r#"{"tables": {"orders": {"name": "Orders", "columns": {
                "amount": {"name": "Amount", "type": "text", "declared_type": "varchar(40)"},
                "at": {"type": "text"}}}}}"#,
        )
        .expect("config");
        let s = m.map_schema(&hub(), "m").expect("schema");
        assert_eq!(s.name, "Orders");
        assert_eq!(s.columns[1].name, "Amount");
        assert_eq!(s.columns[1].kind, ColumnType::Text);
        assert_eq!(s.columns[1].declared_type.as_deref(), Some("varchar(40)"));
        let rows = vec![vec![Value::Int(1), Value::Decimal("12.50".into()), Value::Timestamptz(1_000_001)]];
        let there = m.map_rows(&hub(), "m", Direction::ToMember, rows.clone()).expect("to member");
        assert_eq!(there[0][1], Value::Text("12.50".into()));
        assert_eq!(there[0][2], Value::Text("1970-01-01 00:00:01.000001+00:00".into()));
        let back = m.map_rows(&hub(), "m", Direction::ToHub, there).expect("to hub");
        assert_eq!(back, rows);
    }

    #[test]
    fn refuses_lossy_or_impossible_maps() {
        let m = Mapper::configure(r#"{"tables": {"orders": {"columns": {"amount": {"type": "int"}}}}}"#).expect("cfg");
        let rows = vec![vec![Value::Int(1), Value::Decimal("1.5".into()), Value::Null]];
        let err = m.map_rows(&hub(), "m", Direction::ToMember, rows).expect_err("lossy");
        assert!(err.contains("\"amount\"") && err.contains("fraction"), "{err}");
        let m = Mapper::configure(r#"{"tables": {"orders": {"columns": {"at": {"type": "uuid"}}}}}"#).expect("cfg");
        assert!(m.map_schema(&hub(), "m").expect_err("uuid").contains("cannot cast"));
        assert!(Mapper::configure(r#"{"tables": {"orders": {"columns": {"at": {"type": "varchar"}}}}}"#).is_err());
        let m = Mapper::configure(r#"{"tables": {"orders": {"columns": {"amount": {"name": "id"}}}}}"#).expect("cfg");
        assert!(m.map_schema(&hub(), "m").expect_err("dup").contains("two columns"));
    }
}
