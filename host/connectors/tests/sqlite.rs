//! The connector contract on SQLite (embedded; each test gets its own file).

mod common;

scenario_tests!(Db);

use common::dbs::SqliteDb as Db;

use common::TestDb;
use hubsync_core::{Anchor, ApplyOp, Column, ColumnType, Connector, TableSchema, Value};

/// A table name, its key's declared type, kind and scale, and three keys as
/// an application spelled them.
type Case = (&'static str, &'static str, ColumnType, Option<u32>, [&'static str; 3]);

/// Keys of types with several spellings, written by an application in its
/// own: hubsync finds them by value (lookup, update, delete, scan pages)
/// and never adds a second row.
#[tokio::test]
async fn keys_spelled_by_an_application_are_found_by_value() {
    let db = Db::new().await;
    let c = &db.connector;
    let cases: [Case; 5] = [
        (
            "ts",
            "TIMESTAMP",
            ColumnType::Timestamp,
            None,
            ["2024-02-29T12:00:00.5", "2024-02-29 12:01", "2024-02-29T12:02:00.250"],
        ),
        (
            "tz",
            "TIMESTAMPTZ",
            ColumnType::TimestampTz,
            None,
            ["2024-02-29T12:00:00.5Z", "2024-02-29 12:01:00 UTC", "2024-02-29T12:02Z"],
        ),
        ("day", "DATE", ColumnType::Date, None, ["2024-2-9", "2024-02-1", "2024-3-10"]),
        (
            "id",
            "UUID",
            ColumnType::Uuid,
            None,
            [
                "0E9C1D2A-3B4C-4D5E-8F60-718293A4B5C6",
                "{1e9c1d2a-3b4c-4d5e-8f60-718293a4b5c6}",
                "2e9c1d2a3b4c4d5e8f60718293a4b5c6",
            ],
        ),
        ("amt", "DECIMAL TEXT(10,2)", ColumnType::Decimal, Some(2), ["1.5", "2", "3.250"]),
    ];
    for (name, decl, kind, scale, spelled) in cases {
        let mut key = Column::new("k", kind);
        key.facets.scale = scale;
        key.nullable = false;
        let mut t = TableSchema::new(name);
        t.columns = vec![key, Column::new("note", ColumnType::Text)];
        t.primary_key = vec![0];
        db.exec(&format!("CREATE TABLE {name} (k {decl} PRIMARY KEY NOT NULL, note TEXT)")).await;
        c.provision(&t).await.expect("provision");
        for s in spelled {
            db.exec(&format!("INSERT INTO {name} VALUES ('{s}', 'app')")).await;
        }
        let values: Vec<Value> = spelled.iter().map(|s| Value::parse_text(s, kind).expect("parses")).collect();
        // Looked up in hubsync's spelling (a scale of its own for decimals).
        let asked: Vec<Vec<Value>> = values
            .iter()
            .map(|v| match v {
                Value::Decimal(d) => {
                    vec![Value::Decimal(format!("{}0", if d.contains('.') { d.clone() } else { format!("{d}.0") }))]
                }
                v => vec![v.clone()],
            })
            .collect();
        let found = c.lookup(&t, &Anchor::start(), &asked).await.expect("lookup");
        assert_eq!(found.len(), 3, "{name}: {found:?}");
        for (f, a) in found.iter().zip(&asked) {
            assert_eq!(&f.key, a, "{name}: the key asked for is the key answered");
            let row = f.row.as_ref().unwrap_or_else(|| panic!("{name}: {:?} not found", f.key));
            assert!(row[0].same(&a[0]) && row[1] == Value::Text("app".into()), "{name}: {row:?}");
        }
        // Updated and deleted by value: the application's spelling stays.
        let ops = vec![
            ApplyOp::Upsert(vec![asked[0][0].clone(), Value::Text("hub".into())]),
            ApplyOp::Delete(asked[1].clone()),
        ];
        c.apply(&t, &ops, "g/hub").await.expect("apply");
        let rows: Vec<(String, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT CAST(k AS TEXT), note FROM {name} ORDER BY note, k")))
                .fetch_all(&db.raw)
                .await
                .expect("read back");
        let want = vec![(spelled[2].to_owned(), "app".to_owned()), (spelled[0].to_owned(), "hub".to_owned())];
        assert_eq!(rows, want, "{name}");
        // Pages of one row go on after a key however it is spelled.
        db.exec(&format!("INSERT INTO {name} VALUES ('{}', 'again')", spelled[1])).await;
        let mut after: Option<Vec<Value>> = None;
        let mut seen = Vec::new();
        loop {
            let page = c.scan(&t, after.as_ref(), 1).await.expect("scan");
            let Some(last) = page.last() else { break };
            seen.push(last.key.clone());
            after = Some(last.key.clone());
            assert!(seen.len() <= 3, "{name}: the scan repeats rows: {seen:?}");
        }
        assert_eq!(seen.len(), 3, "{name}: {seen:?}");
    }
}
