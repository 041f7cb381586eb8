//! What the plugin benches share: a 10-column `orders` batch and a
//! median-of-rounds timer.

use std::time::{Duration, Instant};

use hubsync_core::{Change, ColumnType, Conflict, ConflictBatch, TableSchema, Value};

/// The benches' table: 10 columns, `amount` a decimal.
pub fn table() -> TableSchema {
    TableSchema::new("orders")
        .key("id", ColumnType::Int)
        .column("customer_id", ColumnType::Int)
        .column("status", ColumnType::Text)
        .column("amount", ColumnType::Decimal)
        .column("note", ColumnType::Text)
        .column("created_at", ColumnType::TimestampTz)
        .column("updated_at", ColumnType::TimestampTz)
        .column("quantity", ColumnType::Int)
        .column("region", ColumnType::Text)
        .column("paid", ColumnType::Bool)
}

/// A row image of the table.
pub fn row(i: i64, salt: &str) -> Vec<Value> {
    vec![
        Value::Int(i),
        Value::Int(i * 7 % 1000),
        Value::Text("shipped".into()),
        Value::Decimal(format!("{}.{:02}", i % 10_000, i % 100)),
        Value::Text(format!("order {i} {salt}: {}", "lorem ipsum dolor sit amet ".repeat(3))),
        Value::TimestampTz(1_700_000_000_000_000 + i),
        Value::TimestampTz(1_700_000_100_000_000 + i),
        Value::Int(i % 50),
        Value::Text("EU".into()),
        Value::Bool(i % 2 == 0),
    ]
}

/// A batch of `n` conflicts, every one with both row images.
pub fn batch(n: usize) -> ConflictBatch {
    let conflicts = (0..n as i64)
        .map(|i| Conflict {
            key: vec![Value::Int(i)],
            hub: Change { row: Some(row(i, "hub")), changed_at_micros: 1000 + i, origin: "hub".into() },
            member: Change {
                row: Some(row(i, "member")),
                changed_at_micros: 1000 + (i * 31 % 2000),
                origin: "eu".into(),
            },
        })
        .collect();
    ConflictBatch { table: table(), member: "eu".into(), conflicts }
}

/// Median ns per item over 7 rounds of at least `min` each, `n` items a call.
pub fn measure(n: usize, min: Duration, mut f: impl FnMut()) -> f64 {
    let mut samples = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        let mut iters = 0u64;
        while start.elapsed() < min {
            f();
            iters += 1;
        }
        samples.push(start.elapsed().as_nanos() as f64 / (iters as f64 * n as f64));
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}
