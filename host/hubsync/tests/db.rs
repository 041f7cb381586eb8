//! `hubsync db …` end to end on a SQLite file.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value as Json;
use sqlx::{AssertSqlSafe, Executor};

fn hubsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hubsync")).args(args).output().expect("run hubsync")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn sql(url: &str, statements: &[&str]) {
    let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
    for s in statements {
        pool.execute(AssertSqlSafe(s.to_string())).await.expect("sql");
    }
    pool.close().await;
}

#[tokio::test]
async fn introspect_provision_read_changes_and_clean_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shop.db");
    std::fs::File::create(&path).expect("create db file");
    let url = format!("sqlite://{}", path.display());
    sql(
        &url,
        &[
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, region TEXT NOT NULL, amount DECIMAL TEXT, shape POINT)",
            "CREATE INDEX orders_region ON orders (region)",
            "CREATE TABLE notes (body TEXT)",
            "INSERT INTO orders (id, region, amount) VALUES (1, 'EU', '10.50')",
        ],
    )
    .await;

    let text = ok(&hubsync(&["db", "introspect", &url]));
    assert!(text.contains("notes  (no primary key: cannot be synced)"), "{text}");
    assert!(text.contains("shape") && text.contains("not syncable"), "{text}");
    let json: Json = serde_json::from_str(&ok(&hubsync(&["db", "introspect", &url, "--json"]))).expect("json");
    let orders = json.as_array().expect("list").iter().find(|t| t["table"] == "orders").expect("orders");
    assert_eq!(orders["primary_key"], serde_json::json!(["id"]));
    assert_eq!(orders["indexes"][0]["columns"], serde_json::json!(["region"]));

    // Unsyncable selections are refused with what to do.
    let out = hubsync(&["db", "provision", &url, "orders", "--columns", "id,shape"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("cannot sync"));
    let out = hubsync(&["db", "provision", &url, "notes"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no primary key"));

    ok(&hubsync(&["db", "provision", &url, "orders", "--columns", "id,region,amount"]));
    sql(&url, &["INSERT INTO orders (id, region, amount) VALUES (2, 'US', '3.00')", "DELETE FROM orders WHERE id = 1"])
        .await;
    let first: Json = serde_json::from_str(&ok(&hubsync(&[
        "db",
        "changes",
        &url,
        "orders",
        "--columns",
        "id,region,amount",
        "--limit",
        "1",
    ])))
    .expect("json");
    // One entry per key, in order of its latest change: row 1's delete came last.
    assert_eq!(first["changes"][0]["key"]["id"], 2);
    assert_eq!(first["changes"][0]["row"]["amount"], "3.00");
    assert_eq!(first["more"], true);
    let next = first["next"].as_str().expect("anchor").to_owned();
    let rest: Json = serde_json::from_str(&ok(&hubsync(&[
        "db",
        "changes",
        &url,
        "orders",
        "--columns",
        "id,region,amount",
        "--since",
        &next,
    ])))
    .expect("json");
    let changes = rest["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{rest}");
    assert_eq!((changes[0]["key"]["id"].clone(), changes[0]["row"].clone()), (Json::from(1), Json::Null));
    assert_eq!(rest["more"], false);

    ok(&hubsync(&["db", "deprovision", &url, "--all"]));
    let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
    let left: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name LIKE 'hubsync%'")
        .fetch_all(&pool)
        .await
        .expect("query");
    assert!(left.is_empty(), "{left:?}");
    assert!(Path::new(&path).exists());
}
