//! Test-case files for plugins (`hubsync plugin test`): a table, a member and
//! conflicts or rows written in JSON, read into typed values by column type,
//! and results written back as JSON.
//!
//! Rows are JSON objects keyed by column name (or arrays in column order).
//! Values take their natural JSON form: numbers for `int` and `float`,
//! strings for `decimal` (exact), text forms for dates, times, UUIDs and hex
//! bytes, any JSON for `json`, and `null`.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::conflict::{Change, Conflict, ConflictBatch, Resolution};
use crate::schema::{Column, ColumnType, TableSchema};
use crate::text;
use crate::value::{Row, Value};

/// What can be wrong with a case file.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The file is not the JSON this module reads.
    #[error("the cases file is not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// The JSON is well formed but a part of it makes no sense.
    #[error("the cases file is not valid: {0}")]
    Invalid(String),
}

/// A table as written in a cases file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableSpec {
    /// The SQL schema holding the table.
    #[serde(default)]
    namespace: Option<String>,
    /// The table's name.
    name: String,
    /// Columns in order.
    columns: Vec<Column>,
    /// Names of the primary-key columns, in key order.
    primary_key: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeSpec {
    /// The row after the change, or null for a delete.
    row: Json,
    /// When, as a timestamp with zone (e.g. `2026-01-31T12:00:00Z`).
    changed_at: String,
    /// Where the change was made; defaults to `hub` or the member's name.
    #[serde(default)]
    origin: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConflictSpec {
    /// The key; derived from a row image when omitted.
    #[serde(default)]
    key: Option<Json>,
    hub: ChangeSpec,
    member: ChangeSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesSpec {
    table: TableSpec,
    #[serde(default = "default_member")]
    member: String,
    #[serde(default)]
    conflicts: Vec<ConflictSpec>,
    #[serde(default)]
    rows: Vec<Json>,
    /// What the plugin must answer: a part of the JSON `hubsync plugin test`
    /// prints (see [`unmet`]).
    #[serde(default)]
    expect: Option<Json>,
}

fn default_member() -> String {
    "member".to_owned()
}

/// A parsed cases file.
#[derive(Debug, Clone, PartialEq)]
pub struct Cases {
    /// The table.
    pub table: TableSchema,
    /// The member name the cases are for.
    pub member: String,
    /// Conflicts (for conflict policies).
    pub conflicts: Vec<Conflict>,
    /// Rows (for column filters and schema maps).
    pub rows: Vec<Row>,
    /// The expected answer, when the file gives one: a part of the output.
    pub expect: Option<Json>,
}

impl Cases {
    /// Parse a cases file.
    pub fn from_json(text: &str) -> Result<Cases, CaseError> {
        let spec: CasesSpec = serde_json::from_str(text)?;
        let t = spec.table;
        let mut primary_key = Vec::new();
        for name in &t.primary_key {
            let i =
                t.columns.iter().position(|c| &c.name == name).ok_or_else(|| {
                    CaseError::Invalid(format!("primary key column {name:?} is not among the columns"))
                })?;
            primary_key.push(i);
        }
        let mut columns = t.columns;
        for &i in &primary_key {
            columns[i].nullable = false;
        }
        let table = TableSchema { namespace: t.namespace, name: t.name, columns, primary_key };
        table.validate().map_err(CaseError::Invalid)?;
        let member = spec.member;
        let mut conflicts = Vec::new();
        for (n, c) in spec.conflicts.into_iter().enumerate() {
            let at = |what: &str, e: String| CaseError::Invalid(format!("conflict #{n}, {what}: {e}"));
            let hub = change(&table, c.hub, "hub").map_err(|e| at("hub", e))?;
            let mem = change(&table, c.member, &member).map_err(|e| at("member", e))?;
            let key = match c.key {
                Some(k) => key_from_json(&table, &k).map_err(|e| at("key", e))?,
                None => {
                    let row = hub
                        .row
                        .as_ref()
                        .or(mem.row.as_ref())
                        .ok_or_else(|| at("key", "both sides are deletes, so give the key".to_owned()))?;
                    table.primary_key.iter().map(|&i| row[i].clone()).collect()
                }
            };
            conflicts.push(Conflict { key, hub, member: mem });
        }
        let rows = spec
            .rows
            .iter()
            .enumerate()
            .map(|(n, r)| row_from_json(&table, r).map_err(|e| CaseError::Invalid(format!("row #{n}: {e}"))))
            .collect::<Result<_, _>>()?;
        Ok(Cases { table, member, conflicts, rows, expect: spec.expect })
    }

    /// The conflicts as one batch.
    pub fn conflict_batch(&self) -> ConflictBatch {
        ConflictBatch { table: self.table.clone(), member: self.member.clone(), conflicts: self.conflicts.clone() }
    }
}

fn change(table: &TableSchema, spec: ChangeSpec, default_origin: &str) -> Result<Change, String> {
    let row = match spec.row {
        Json::Null => None,
        r => Some(row_from_json(table, &r)?),
    };
    let changed_at_micros = text::parse_timestamptz(&spec.changed_at).ok_or_else(|| {
        format!("changed_at {:?} is not a timestamp with zone, e.g. 2026-01-31T12:00:00Z", spec.changed_at)
    })?;
    Ok(Change { row, changed_at_micros, origin: spec.origin.unwrap_or_else(|| default_origin.to_owned()) })
}

fn key_from_json(table: &TableSchema, json: &Json) -> Result<Row, String> {
    let key_cols: Vec<&Column> = table.primary_key.iter().map(|&i| &table.columns[i]).collect();
    values_from_json(&key_cols, json)
}

/// Read a row (object or array) against `table`.
pub fn row_from_json(table: &TableSchema, json: &Json) -> Result<Row, String> {
    let cols: Vec<&Column> = table.columns.iter().collect();
    values_from_json(&cols, json)
}

fn values_from_json(cols: &[&Column], json: &Json) -> Result<Row, String> {
    match json {
        Json::Array(items) => {
            if items.len() != cols.len() {
                return Err(format!("has {} values for {} columns", items.len(), cols.len()));
            }
            cols.iter().zip(items).map(|(c, v)| value_from_json(c, v)).collect()
        }
        Json::Object(map) => {
            if let Some(unknown) = map.keys().find(|k| !cols.iter().any(|c| &c.name == *k)) {
                return Err(format!("has no column {unknown:?}"));
            }
            cols.iter()
                .map(|c| match map.get(&c.name) {
                    Some(v) => value_from_json(c, v),
                    None if c.nullable => Ok(Value::Null),
                    None => Err(format!("lacks column {:?}, which is not nullable", c.name)),
                })
                .collect()
        }
        other => Err(format!("must be an object or an array, not {other}")),
    }
}

/// Read one JSON value as a value of `col`'s type.
pub fn value_from_json(col: &Column, json: &Json) -> Result<Value, String> {
    let ctx = |e: String| format!("column {:?}: {e}", col.name);
    if json.is_null() {
        return if col.nullable { Ok(Value::Null) } else { Err(ctx("is not nullable".into())) };
    }
    let v = match (col.kind, json) {
        (ColumnType::Bool, Json::Bool(b)) => Value::Bool(*b),
        (ColumnType::Int, Json::Number(n)) => {
            Value::Int(n.as_i64().ok_or_else(|| ctx(format!("{n} is not a 64-bit integer")))?)
        }
        (ColumnType::Float, Json::Number(n)) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        (ColumnType::Decimal, Json::Number(n)) => Value::Decimal(
            text::parse_decimal(&n.to_string())
                .ok_or_else(|| ctx(format!("{n} is not exact; write decimals as strings")))?,
        ),
        (ColumnType::Json, j) => Value::Json(j.to_string()),
        (kind, Json::String(s)) => Value::parse_text(s, kind).map_err(ctx)?,
        (kind, other) => return Err(ctx(format!("{other} is not a {kind} value"))),
    };
    Ok(v)
}

/// Write a value as JSON (the forms [`value_from_json`] reads).
pub fn value_to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or_else(|| Json::String(text::format_float(*f)), Json::Number)
        }
        Value::Json(s) => serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.clone())),
        other => Json::String(other.to_text().unwrap_or_default()),
    }
}

/// Write a row as a JSON object keyed by column name.
pub fn row_to_json(columns: &[Column], row: &[Value]) -> Json {
    let mut map = Map::new();
    for (c, v) in columns.iter().zip(row) {
        map.insert(c.name.clone(), value_to_json(v));
    }
    Json::Object(map)
}

/// Write a resolution with its conflict's key as JSON.
pub fn resolution_to_json(table: &TableSchema, key: &[Value], r: &Resolution) -> Json {
    let key_cols: Vec<Column> = table.primary_key.iter().map(|&i| table.columns[i].clone()).collect();
    let mut out = Map::new();
    out.insert("key".into(), row_to_json(&key_cols, key));
    match r {
        Resolution::TakeHub => {
            out.insert("decision".into(), "take-hub".into());
        }
        Resolution::TakeMember => {
            out.insert("decision".into(), "take-member".into());
        }
        Resolution::Merged(row) => {
            out.insert("decision".into(), "merged".into());
            out.insert("row".into(), row_to_json(&table.columns, row));
        }
        Resolution::Skip(reason) => {
            out.insert("decision".into(), "skip".into());
            out.insert("reason".into(), reason.clone().into());
        }
    }
    Json::Object(out)
}

/// Where `actual` (what `hubsync plugin test` printed) differs from
/// `expected` (a cases file's `expect`), one line per difference, each with
/// its JSON path. `expected` is a part of `actual`: an object's keys must be
/// there with matching values (other keys are ignored), an array must have
/// the same length and matching elements, anything else must be equal.
pub fn unmet(expected: &Json, actual: &Json) -> Vec<String> {
    let mut out = Vec::new();
    walk("", expected, actual, &mut out);
    out
}

fn walk(path: &str, expected: &Json, actual: &Json, out: &mut Vec<String>) {
    let here = if path.is_empty() { "the output" } else { path };
    match (expected, actual) {
        (Json::Object(e), Json::Object(a)) => {
            for (k, v) in e {
                let p = format!("{path}.{k}");
                match a.get(k) {
                    Some(x) => walk(&p, v, x, out),
                    None => out.push(format!("{p}: expected {v}, but the output has no {k:?}")),
                }
            }
        }
        (Json::Array(e), Json::Array(a)) if e.len() == a.len() => {
            for (i, (v, x)) in e.iter().zip(a).enumerate() {
                walk(&format!("{path}[{i}]"), v, x, out);
            }
        }
        (Json::Array(e), Json::Array(a)) => {
            out.push(format!("{here}: expected {} entries, found {}", e.len(), a.len()));
        }
        (e, a) if e == a => {}
        (e, a) => out.push(format!("{here}: expected {e}, found {a}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASES: &str = r#"{
        "table": {"name": "orders", "primary_key": ["id"], "columns": [
            {"name": "id", "type": "int"},
            {"name": "amount", "type": "decimal"},
            {"name": "at", "type": "timestamptz"},
            {"name": "doc", "type": "json"}]},
        "member": "eu",
        "conflicts": [
            {"hub": {"row": {"id": 1, "amount": "10.50", "at": "2026-01-01T00:00:00Z", "doc": {"a": [1]}},
                     "changed_at": "2026-01-02T00:00:00Z"},
             "member": {"row": null, "changed_at": "2026-01-03T00:00:00Z"}},
            {"key": {"id": 2}, "hub": {"row": null, "changed_at": "2026-01-02T00:00:00Z"},
             "member": {"row": null, "changed_at": "2026-01-02T00:00:00Z", "origin": "us"}}
        ]}"#;

    #[test]
    fn an_expectation_is_a_part_of_the_output() {
        let out = serde_json::json!({"plugin": {"name": "p"}, "decisions": [
            {"key": {"id": 1}, "decision": "take-hub"},
            {"key": {"id": 2}, "decision": "merged", "row": {"id": 2, "amount": "3.50"}}]});
        let met = serde_json::json!({"decisions": [{"decision": "take-hub"}, {"row": {"amount": "3.50"}}]});
        assert!(unmet(&met, &out).is_empty());
        let wrong = serde_json::json!({"decisions": [{"decision": "take-member"}, {"row": {"note": "x"}}]});
        assert_eq!(
            unmet(&wrong, &out),
            vec![
                r#".decisions[0].decision: expected "take-member", found "take-hub""#.to_owned(),
                r#".decisions[1].row.note: expected "x", but the output has no "note""#.to_owned(),
            ]
        );
        let short = serde_json::json!({"decisions": [{"decision": "take-hub"}]});
        assert_eq!(unmet(&short, &out), vec![".decisions: expected 1 entries, found 2".to_owned()]);
        let parsed =
            Cases::from_json(&CASES.replace(r#""member": "eu","#, r#""member": "eu", "expect": {"decisions": []},"#))
                .expect("valid");
        assert_eq!(parsed.expect, Some(serde_json::json!({"decisions": []})));
    }

    #[test]
    fn reads_cases_and_writes_results() {
        let cases = Cases::from_json(CASES).expect("valid");
        assert_eq!(cases.conflicts.len(), 2);
        let c = &cases.conflicts[0];
        assert_eq!(c.key, vec![Value::Int(1)]);
        let row = c.hub.row.as_ref().expect("row");
        assert_eq!(row[1], Value::Decimal("10.50".into()));
        assert_eq!(c.member.origin, "eu");
        assert_eq!(cases.conflicts[1].member.origin, "us");
        let json = resolution_to_json(&cases.table, &c.key, &Resolution::Merged(row.clone()));
        assert_eq!(json["row"]["amount"], "10.50");
        assert_eq!(json["row"]["doc"]["a"][0], 1);
        assert_eq!(json["row"]["at"], "2026-01-01 00:00:00+00:00");
    }

    #[test]
    fn rejects_bad_cases_with_the_place() {
        let bad = CASES.replace(r#""amount": "10.50""#, r#""amount": "ten""#);
        let err = Cases::from_json(&bad).expect_err("bad decimal").to_string();
        assert!(err.contains("conflict #0") && err.contains("amount"), "{err}");
        let bad = CASES.replace(r#""primary_key": ["id"]"#, r#""primary_key": ["nope"]"#);
        assert!(Cases::from_json(&bad).is_err());
        let bad = CASES.replace(r#""key": {"id": 2}, "#, "");
        let err = Cases::from_json(&bad).expect_err("no key").to_string();
        assert!(err.contains("give the key"), "{err}");
    }
}
