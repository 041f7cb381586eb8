//! Property: random rows of every type, written through hubsync on each
//! engine and captured back, come out as they went in.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::dbs::{MysqlDb, PgDb, SqliteDb};
use common::{TestDb, assert_same_rows, write_and_capture};
use hubsync_core::text::days_from_civil;
use hubsync_core::{ColumnType, TableSchema, Value};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Days and µs of the range every engine stores (MySQL: years 1000–9999).
fn day_range() -> std::ops::RangeInclusive<i64> {
    days_from_civil(1000, 1, 1)..=days_from_civil(9999, 12, 31)
}

fn value(kind: ColumnType) -> BoxedStrategy<Value> {
    let v: BoxedStrategy<Value> = match kind {
        ColumnType::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        ColumnType::Int => any::<i64>().prop_map(Value::Int).boxed(),
        ColumnType::Float => (prop::num::f64::NORMAL | prop::num::f64::ZERO).prop_map(Value::Float).boxed(),
        ColumnType::Decimal => (any::<bool>(), 0u64..10u64.pow(18), prop::collection::vec(0u8..10, 0..10))
            .prop_map(|(neg, int, frac)| {
                let frac: String = frac.iter().map(|d| char::from(b'0' + d)).collect();
                let s = format!("{}{int}{}{frac}", if neg { "-" } else { "" }, if frac.is_empty() { "" } else { "." });
                Value::Decimal(hubsync_core::text::parse_decimal(&s).expect("valid decimal"))
            })
            .boxed(),
        // PostgreSQL text cannot hold NUL.
        ColumnType::Text => "[^\u{0}]{0,40}".prop_map(Value::Text).boxed(),
        ColumnType::Bytes => prop::collection::vec(any::<u8>(), 0..64).prop_map(Value::Bytes).boxed(),
        ColumnType::Date => day_range().prop_map(|d| Value::Date(d as i32)).boxed(),
        ColumnType::Time => (0i64..86_400_000_000).prop_map(Value::Time).boxed(),
        ColumnType::Timestamp => {
            (day_range(), 0i64..86_400_000_000).prop_map(|(d, t)| Value::Timestamp(d * 86_400_000_000 + t)).boxed()
        }
        ColumnType::TimestampTz => {
            (day_range(), 0i64..86_400_000_000).prop_map(|(d, t)| Value::TimestampTz(d * 86_400_000_000 + t)).boxed()
        }
        ColumnType::Uuid => any::<u128>().prop_map(Value::Uuid).boxed(),
        ColumnType::Json => (any::<i32>(), "[a-z ]{0,10}")
            .prop_map(|(n, s)| Value::Json(serde_json::json!({"n": n, "s": s, "list": [n, s]}).to_string()))
            .boxed(),
    };
    prop_oneof![1 => Just(Value::Null), 9 => v].boxed()
}

fn table(n: usize) -> TableSchema {
    let mut t = TableSchema::new(format!("random_{n}")).key("id", ColumnType::Int);
    for kind in ColumnType::ALL {
        t = t.column(format!("c_{kind}"), kind);
    }
    t
}

fn rows() -> impl Strategy<Value = Vec<Vec<Value>>> {
    let row = ColumnType::ALL.iter().map(|&k| value(k)).collect::<Vec<_>>();
    prop::collection::vec(row, 1..12).prop_map(|rows| {
        rows.into_iter().enumerate().map(|(i, r)| std::iter::once(Value::Int(i as i64)).chain(r).collect()).collect()
    })
}

#[test]
fn random_rows_round_trip_on_every_engine() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dbs: Vec<Box<dyn TestDb>> = rt.block_on(async {
        vec![
            Box::new(SqliteDb::new().await) as Box<dyn TestDb>,
            Box::new(PgDb::new().await),
            Box::new(MysqlDb::new().await),
        ]
    });
    let tables = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config { cases: 24, failure_persistence: None, ..Config::default() });
    runner
        .run(&rows(), |rows| {
            let t = table(tables.fetch_add(1, Ordering::Relaxed));
            for db in &dbs {
                let got = rt.block_on(write_and_capture(db.connector(), &t, &rows, "test"));
                assert_same_rows(&t, &got, &rows);
            }
            Ok(())
        })
        .expect("random rows round-trip");
    drop(dbs);
}
