//! The connector contract on SQL Server, live: on `HUBSYNC_TEST_MSSQL`, or
//! on the local Babelfish for PostgreSQL (`../shared/tools/babelfish`).
//! Each test creates its own database and drops it; without a server each
//! test says loudly that it was skipped.

mod common;

scenario_tests!(Db);

use common::dbs::MssqlDb as Db;
use hubsync_core::{Anchor, Connector, Value};

/// Two transactions commit in the reverse order of their changes: the
/// later-numbered one first. The reader must not advance past the pending
/// one, and must deliver both once it commits.
#[tokio::test]
async fn out_of_order_commits_are_never_missed() {
    let Some(db) = Db::connect().await else { return };
    let c: &dyn Connector = &db.connector;
    common::create_orders(&db).await;
    let t = common::orders();
    c.provision(&t).await.expect("provision");
    let (_, start) = common::read_all(c, &t, &Anchor::start()).await;

    let mut first = common::dbs::mssql_raw(&db.url).await;
    let mut second = common::dbs::mssql_raw(&db.url).await;
    let run = |sql: &'static str| sql;
    first
        .simple_query(run("BEGIN TRANSACTION; INSERT INTO orders (id, note) VALUES (100, 'first, commits last')"))
        .await
        .expect("insert 100")
        .into_results()
        .await
        .expect("insert 100");
    second
        .simple_query(run(
            "BEGIN TRANSACTION; INSERT INTO orders (id, note) VALUES (200, 'second, commits first'); COMMIT",
        ))
        .await
        .expect("insert 200")
        .into_results()
        .await
        .expect("insert 200");

    // The first transaction is still open: nothing may be read past it.
    let b = c.read_changes(&t, &start, 100).await.expect("read");
    assert!(b.changes.is_empty(), "read past an open older transaction: {:?}", b.changes);
    assert!(b.pending, "the committed change is reported as pending");
    let anchor = b.next;

    first.simple_query("COMMIT").await.expect("commit").into_results().await.expect("commit");
    let (changes, _) = common::read_all(c, &t, &anchor).await;
    let mut ids: Vec<_> = changes.iter().map(|ch| ch.key[0].clone()).collect();
    ids.sort_by_key(|v| common::int_key(std::slice::from_ref(v)));
    assert_eq!(ids, [Value::Int(100), Value::Int(200)]);
}

/// One statement touching 10,000 rows is one trigger call that records
/// them all; an UPDATE changing keys records the old keys as deletes.
#[tokio::test]
async fn set_wise_trigger_captures_big_statements_and_key_changes() {
    let Some(db) = Db::connect().await else { return };
    let c: &dyn Connector = &db.connector;
    common::create_orders(&db).await;
    let t = common::orders();
    c.provision(&t).await.expect("provision");
    db.batch(
        "WITH n AS (SELECT TOP (10000) ROW_NUMBER() OVER (ORDER BY a.object_id) AS i FROM sys.all_columns a \
         CROSS JOIN sys.all_columns b) INSERT INTO orders (id, note) SELECT i, 'bulk' FROM n",
    )
    .await;
    let (changes, anchor) = common::read_all_fast(c, &t, &Anchor::start()).await;
    assert_eq!(changes.len(), 10_000);
    db.batch("UPDATE orders SET id = id + 100000 WHERE id <= 3").await;
    let (changes, _) = common::read_all(c, &t, &anchor).await;
    let mut got: Vec<(i64, bool)> = changes.iter().map(|ch| (common::int_key(&ch.key), ch.row.is_none())).collect();
    got.sort();
    assert_eq!(got, [(1, true), (2, true), (3, true), (100001, false), (100002, false), (100003, false)]);
}

/// Tables of the same name in two schemas are tracked apart.
#[tokio::test]
async fn same_name_in_two_schemas_is_kept_apart() {
    let Some(db) = Db::connect().await else { return };
    let c: &dyn Connector = &db.connector;
    db.batch("CREATE SCHEMA sales").await;
    db.batch("CREATE TABLE dbo.items (id bigint PRIMARY KEY, v nvarchar(10)); CREATE TABLE sales.items (id bigint PRIMARY KEY, v nvarchar(10))").await;
    let infos = c.introspect().await.expect("introspect");
    let find = |ns: Option<&str>| {
        infos
            .iter()
            .find(|i| i.schema.name == "items" && i.schema.namespace.as_deref() == ns)
            .expect("table")
            .schema
            .clone()
    };
    let (plain, sales) = (find(None), find(Some("sales")));
    c.provision(&plain).await.expect("provision dbo.items");
    c.provision(&sales).await.expect("provision sales.items");
    db.batch("INSERT INTO dbo.items VALUES (1, 'dbo'); INSERT INTO sales.items VALUES (2, 'sales')").await;
    let (a, _) = common::read_all(c, &plain, &Anchor::start()).await;
    let (b, _) = common::read_all(c, &sales, &Anchor::start()).await;
    assert_eq!(a.iter().map(|ch| common::int_key(&ch.key)).collect::<Vec<_>>(), [1]);
    assert_eq!(b.iter().map(|ch| common::int_key(&ch.key)).collect::<Vec<_>>(), [2]);
    c.deprovision(&hubsync_core::TableRef::of(&sales)).await.expect("deprovision sales.items");
    db.batch("INSERT INTO dbo.items VALUES (3, 'still')").await;
    let (a, _) = common::read_all(c, &plain, &Anchor::start()).await;
    assert_eq!(a.len(), 2, "dbo.items is still tracked");
}

/// SQL Server's own types read as hubsync's (money exact, datetimeoffset
/// in UTC, datetime as SQL Server shows it, xml as text), written back
/// unchanged; 100-ns digits are refused, not rounded; IDENTITY keys are
/// written with their values.
#[tokio::test]
async fn sql_server_types_and_identity_keys() {
    let Some(db) = Db::connect().await else { return };
    let c: &dyn Connector = &db.connector;
    db.batch(
        "CREATE TABLE t (id int IDENTITY(1,1) PRIMARY KEY, m money, sm smallmoney, dto datetimeoffset(6), \
         dt datetime, sdt smalldatetime, x xml, g uniqueidentifier, b varbinary(10), tiny tinyint, r real, \
         n nchar(3), d2 datetime2(7), tm time(7))",
    )
    .await;
    db.batch(
        "INSERT INTO t (m, sm, dto, dt, sdt, x, g, b, tiny, r, n, d2, tm) VALUES \
         (922337203685477.5807, -214748.3648, '2020-01-01 12:00:00.123456 +02:00', '2020-01-01 10:00:00.003', \
          '2020-01-01 10:01:00', '<a>1</a>', '6F9619FF-8B86-D011-B42D-00C04FC964FF', 0x00FF10, 255, 1.5, N'ab', \
          '2020-01-01 00:00:00.1234560', '23:59:59.999999')",
    )
    .await;
    let info = c.introspect().await.expect("introspect");
    let t = info.iter().find(|i| i.schema.name == "t").expect("t").schema.clone();
    c.provision(&t).await.expect("provision");
    let (changes, _) = common::read_all(c, &t, &Anchor::start()).await;
    let row = changes[0].row.clone().expect("row");
    let by = |n: &str| row[t.index_of(n).expect("column")].clone();
    assert_eq!(by("m"), Value::Decimal("922337203685477.5807".into()));
    assert_eq!(by("sm"), Value::Decimal("-214748.3648".into()));
    // 12:00 at +02:00 is 10:00 UTC.
    let utc = hubsync_core::text::parse_timestamp("2020-01-01 10:00:00.123456").expect("ts");
    assert_eq!(by("dto"), Value::TimestampTz(utc));
    assert_eq!(by("x"), Value::Text("<a>1</a>".into()));
    assert_eq!(by("g"), Value::Uuid(0x6F9619FF_8B86_D011_B42D_00C04FC964FF));
    assert_eq!(by("b"), Value::Bytes(vec![0, 255, 16]));
    assert_eq!(by("tiny"), Value::Int(255));
    assert_eq!(by("n"), Value::Text("ab ".into()));
    assert_eq!(by("tm"), Value::Time(86_399_999_999));
    // Written back with a new identity value, then read again unchanged.
    let mut copy = row.clone();
    copy[0] = Value::Int(42);
    c.apply(&t, &[hubsync_core::ApplyOp::Upsert(copy.clone())], "peer").await.expect("apply with an identity key");
    let found = c.lookup(&t, &Anchor::start(), &[vec![Value::Int(42)]]).await.expect("lookup");
    let got = found[0].row.clone().expect("written");
    for (i, col) in t.columns.iter().enumerate() {
        assert!(got[i].same(&copy[i]), "column {}: {:?} became {:?}", col.name, copy[i], got[i]);
    }
    // A datetime2(7) value with 100-ns digits is reported, not rounded.
    if !db.connector.is_babelfish() {
        db.batch("UPDATE t SET d2 = '2020-01-01 00:00:00.1234567' WHERE id = 1").await;
        let (changes, _) = common::read_all(c, &t, &Anchor::start()).await;
        assert!(changes.iter().all(|ch| common::int_key(&ch.key) != 1), "the 100-ns row is not read as a change");
    }
}

/// TLS on and off, and an ADO.NET connection string, all connect; a wrong
/// password is refused saying why without showing it.
#[tokio::test]
async fn connection_options_and_errors() {
    let Some(db) = Db::connect().await else { return };
    let off = db.url.replace("trust_server_certificate=true", "encrypt=off");
    hubsync_connectors::open(&off).await.expect("unencrypted");
    hubsync_connectors::open(&db.url).await.expect("encrypted, certificate trusted");
    let strict = db.url.replace("?trust_server_certificate=true", "");
    let e = hubsync_connectors::open(&strict).await.err().expect("an untrusted self-signed certificate is refused");
    assert!(e.to_string().contains("TLS") || e.to_string().contains("certificate"), "{e}");
    let wrong = db.url.replace("Hubsync-Test-1", "not-the-password");
    let e = hubsync_connectors::open(&wrong).await.err().expect("wrong password").to_string();
    assert!(!e.contains("not-the-password") && e.contains("login"), "{e}");
}

/// `statement_timeout` bounds a statement that waits (tiberius alone would
/// give up after 30 s, or never with hubsync's default); the connection
/// that timed out is closed, and the next call works.
#[tokio::test]
async fn statement_timeout_ends_a_wait_and_the_pool_recovers() {
    let Some(db) = Db::connect().await else { return };
    common::create_orders(&db).await;
    // 5 s, not less: a just-started Babelfish on a busy machine can take
    // over a second for ordinary statements (CI saw it), and the bound
    // must only cut the wait for the held row.
    let options = hubsync_core::ConnectOptions {
        statement_timeout: Some(std::time::Duration::from_secs(5)),
        ..Default::default()
    };
    let t = common::orders();
    // Provisioning reads the catalog, which a just-started Babelfish on a
    // busy machine can take over a second to answer: not what is bounded
    // here, so it runs without the short timeout (and warms the catalog).
    let setup = hubsync_connectors::Mssql::open_with(&db.url, &Default::default()).await.expect("open");
    setup.provision(&t).await.expect("provision");
    let c = hubsync_connectors::Mssql::open_with(&db.url, &options).await.expect("open");
    c.provision(&t).await.expect("provision again (idempotent), with the short timeout");
    db.batch("INSERT INTO orders (id, note) VALUES (1, 'app')").await;
    // An application holds row 1 in an open transaction.
    let mut app = common::dbs::mssql_raw(&db.url).await;
    app.simple_query("BEGIN TRANSACTION; UPDATE orders SET note = 'held' WHERE id = 1")
        .await
        .expect("hold")
        .into_results()
        .await
        .expect("hold");
    let write = [hubsync_core::ApplyOp::Upsert(vec![Value::Int(1), Value::Text("hub".into()), Value::Null])];
    let started = std::time::Instant::now();
    let e = c.apply(&t, &write, "hub").await.expect_err("the row stays held");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "gave up in time: {e}");
    app.simple_query("COMMIT").await.expect("commit").into_results().await.expect("commit");
    c.apply(&t, &write, "hub").await.expect("the next call gets a working connection");
    let found = c.lookup(&t, &Anchor::start(), &[vec![Value::Int(1)]]).await.expect("lookup");
    assert_eq!(found[0].row.as_ref().expect("row")[1], Value::Text("hub".into()));
}
