//! Connector throughput on real databases, each figure beside a baseline
//! run in the same process on the same machine:
//!
//! (a) hubsync `apply` of N rows of a 10-column table (batches of 20,000, one
//!     transaction each, tracking triggers on) against the engine's own best
//!     bulk upsert into an identical tracked table (PostgreSQL: COPY into a
//!     staging table, then one INSERT … SELECT … ON CONFLICT; MariaDB and
//!     SQLite: multi-row literal INSERT … upserts of 1,000 rows in one
//!     transaction; SQL Server: tiberius `bulk_insert` (INSERT BULK) into a
//!     temp table, then UPDATE … FROM and INSERT … WHERE NOT EXISTS in one
//!     transaction);
//! (b) `read_changes` of those N changes, rows/s;
//! (c) plain multi-row inserts of N/4 rows with and without the tracking
//!     triggers (the triggers' overhead on an application's writes).
//!
//! `cargo bench -p hubsync-connectors --bench connectors` (N = 1,000,000;
//! `HUBSYNC_BENCH_ROWS`, `HUBSYNC_BENCH_BATCH` and `HUBSYNC_BENCH_ENGINES`
//! change the row count, the rows per apply and the engines). Needs the local PostgreSQL and MariaDB
//! of the README (`HUBSYNC_TEST_PG`, `HUBSYNC_TEST_MYSQL`); SQL Server runs when one answers
//! (`HUBSYNC_TEST_MSSQL`, else the local Babelfish).

use std::time::Instant;

use hubsync_connectors::{Mssql, Mysql, Postgres, Sqlite};
use hubsync_core::{Anchor, ApplyOp, ColumnType, Connector, TableSchema, Value, text};
use sqlx::{AssertSqlSafe, Executor};

/// Rows per `apply` call (`HUBSYNC_BENCH_BATCH`).
fn batch() -> usize {
    std::env::var("HUBSYNC_BENCH_BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

/// Whether to run `engine` (`HUBSYNC_BENCH_ENGINES=postgres,mysql,sqlite`).
fn wanted(engine: &str) -> bool {
    std::env::var("HUBSYNC_BENCH_ENGINES").map_or(true, |v| v.split(',').any(|e| e == engine))
}

fn schema(name: &str) -> TableSchema {
    let mut t = TableSchema::new(name).key("id", ColumnType::Int);
    for (c, k) in [
        ("customer_id", ColumnType::Int),
        ("status", ColumnType::Text),
        ("amount", ColumnType::Decimal),
        ("note", ColumnType::Text),
        ("created_at", ColumnType::TimestampTz),
        ("updated_at", ColumnType::TimestampTz),
        ("quantity", ColumnType::Int),
        ("region", ColumnType::Text),
        ("paid", ColumnType::Bool),
    ] {
        t = t.column(c, k);
    }
    t
}

const T0: i64 = 1_767_225_600_000_000;

fn row(i: i64) -> Vec<Value> {
    vec![
        Value::Int(i),
        Value::Int(i * 7 % 100_000),
        Value::Text(["new", "paid", "shipped", "returned"][(i % 4) as usize].into()),
        Value::Decimal(format!("{}.{:02}", i % 100_000, i % 100)),
        Value::Text(format!("order {i:>10}: {}", "lorem ipsum dolor sit amet, consectetur ".repeat(2))),
        Value::TimestampTz(T0 + i * 1_000),
        Value::TimestampTz(T0 + i * 2_000),
        Value::Int(i % 50),
        Value::Text(["EU", "US", "APAC"][(i % 3) as usize].into()),
        Value::Bool(i % 2 == 0),
    ]
}

/// The row as SQL literals (for the engines' own bulk paths).
fn literal(i: i64, engine: &str) -> String {
    let r = row(i);
    let ts = |v: &Value| match v {
        Value::TimestampTz(t) if engine == "mysql" => format!("'{}'", text::format_timestamp(*t)),
        Value::TimestampTz(t) if engine == "mssql" => format!("'{} +00:00'", text::format_timestamp(*t)),
        Value::TimestampTz(t) => format!("'{}'", text::format_timestamptz(*t)),
        _ => unreachable!(),
    };
    let s = |v: &Value| format!("'{}'", v.to_text().unwrap_or_default());
    let b = match (engine, &r[9]) {
        ("postgres", Value::Bool(true)) => "true",
        ("postgres", _) => "false",
        (_, Value::Bool(true)) => "1",
        _ => "0",
    };
    format!(
        "({}, {}, {}, {}, {}, {}, {}, {}, {}, {b})",
        i,
        i * 7 % 100_000,
        s(&r[2]),
        s(&r[3]),
        s(&r[4]),
        ts(&r[5]),
        ts(&r[6]),
        i % 50,
        s(&r[8])
    )
}

fn csv(i: i64) -> String {
    let r = row(i);
    let t = |v: &Value| v.to_text().unwrap_or_default();
    format!(
        "{},{},{},{},\"{}\",{},{},{},{},{}\n",
        i,
        t(&r[1]),
        t(&r[2]),
        t(&r[3]),
        t(&r[4]),
        t(&r[5]),
        t(&r[6]),
        t(&r[7]),
        t(&r[8]),
        t(&r[9])
    )
}

fn ddl(engine: &str, name: &str) -> String {
    let (int, text, dec, tz, b) = match engine {
        "postgres" => ("bigint", "text", "numeric(12,2)", "timestamptz", "boolean"),
        "mysql" => ("BIGINT", "VARCHAR(200)", "DECIMAL(12,2)", "DATETIME(6)", "BOOLEAN"),
        "mssql" => ("bigint", "nvarchar(200)", "decimal(12,2)", "datetimeoffset(6)", "bit"),
        _ => ("INTEGER", "TEXT", "DECIMAL TEXT", "TIMESTAMPTZ", "BOOLEAN"),
    };
    format!(
        "CREATE TABLE {name} (id {int} PRIMARY KEY, customer_id {int}, status {text}, amount {dec}, note {text}, \
         created_at {tz}, updated_at {tz}, quantity {int}, region {text}, paid {b})"
    )
}

const COLS: &str = "id, customer_id, status, amount, note, created_at, updated_at, quantity, region, paid";

fn upsert_tail(engine: &str) -> String {
    let cols = ["customer_id", "status", "amount", "note", "created_at", "updated_at", "quantity", "region", "paid"];
    match engine {
        "mysql" => format!("ON DUPLICATE KEY UPDATE {}", cols.map(|c| format!("{c} = VALUES({c})")).join(", ")),
        _ => format!("ON CONFLICT (id) DO UPDATE SET {}", cols.map(|c| format!("{c} = excluded.{c}")).join(", ")),
    }
}

type Tds = tiberius::Client<tokio_util::compat::Compat<tokio::net::TcpStream>>;

enum Raw {
    Pg(sqlx::PgPool),
    My(sqlx::MySqlPool),
    Lite(sqlx::SqlitePool),
    Ms(Box<tokio::sync::Mutex<Tds>>),
}

/// A tiberius connection to `url`, as an application holds one.
async fn tds(url: &str) -> Tds {
    hubsync_connectors::client::mssql_connect(url).await.expect("SQL Server")
}

async fn tds_batch(c: &mut Tds, sql: &str) {
    c.simple_query(sql).await.expect("benchmark T-SQL").into_results().await.expect("benchmark T-SQL");
}

/// The row as typed TDS values, for `bulk_insert`.
fn tds_row(i: i64) -> tiberius::TokenRow<'static> {
    use tiberius::ColumnData as C;
    use tiberius::time::{Date, DateTime2, DateTimeOffset, Time};
    let tz = |us: i64| {
        let (days, rem) = (us.div_euclid(86_400_000_000), us.rem_euclid(86_400_000_000));
        let dt = DateTime2::new(Date::new((days + 719_162) as u32), Time::new(rem as u64, 6));
        C::DateTimeOffset(Some(DateTimeOffset::new(dt, 0)))
    };
    let r = row(i);
    let txt = |v: &Value| C::String(v.to_text().map(Into::into));
    let mut t = tiberius::TokenRow::new();
    t.push(C::I64(Some(i)));
    t.push(C::I64(Some(i * 7 % 100_000)));
    t.push(txt(&r[2]));
    t.push(C::Numeric(Some(tiberius::numeric::Numeric::new_with_scale(
        i128::from(i % 100_000) * 100 + i128::from(i % 100),
        2,
    ))));
    t.push(txt(&r[4]));
    t.push(tz(T0 + i * 1_000));
    t.push(tz(T0 + i * 2_000));
    t.push(C::I64(Some(i % 50)));
    t.push(txt(&r[8]));
    t.push(C::Bit(Some(i % 2 == 0)));
    t
}

impl Raw {
    async fn exec(&self, sql: String) {
        let r = match self {
            Raw::Pg(p) => p.execute(AssertSqlSafe(sql)).await.map(|_| ()),
            Raw::My(p) => p.execute(AssertSqlSafe(sql)).await.map(|_| ()),
            Raw::Lite(p) => p.execute(AssertSqlSafe(sql)).await.map(|_| ()),
            Raw::Ms(c) => {
                tds_batch(&mut *c.lock().await, &sql).await;
                Ok(())
            }
        };
        r.expect("benchmark SQL");
    }

    /// Multi-row literal statements of 1,000 rows, all in one transaction.
    async fn literal_batches(&self, engine: &str, table: &str, ids: std::ops::Range<i64>, tail: &str) {
        let mut stmts = vec![if engine == "mssql" { "BEGIN TRANSACTION" } else { "BEGIN" }.to_owned()];
        let ids: Vec<i64> = ids.collect();
        for chunk in ids.chunks(1000) {
            let values: Vec<String> = chunk.iter().map(|&i| literal(i, engine)).collect();
            stmts.push(format!("INSERT INTO {table} ({COLS}) VALUES {} {tail}", values.join(", ")));
        }
        stmts.push("COMMIT".into());
        match self {
            Raw::Pg(p) => {
                let mut c = p.acquire().await.expect("conn");
                for s in stmts {
                    c.execute(AssertSqlSafe(s)).await.expect("bulk");
                }
            }
            Raw::My(p) => {
                let mut c = p.acquire().await.expect("conn");
                for s in stmts {
                    c.execute(AssertSqlSafe(s)).await.expect("bulk");
                }
            }
            Raw::Lite(p) => {
                let mut c = p.acquire().await.expect("conn");
                for s in stmts {
                    c.execute(AssertSqlSafe(s)).await.expect("bulk");
                }
            }
            Raw::Ms(c) => {
                let mut c = c.lock().await;
                for s in stmts {
                    tds_batch(&mut c, &s).await;
                }
            }
        }
    }

    /// The engine's own best bulk upsert of rows `ids` into `table`.
    async fn bulk_upsert(&self, engine: &str, table: &str, ids: std::ops::Range<i64>) {
        match self {
            Raw::Pg(p) => {
                let mut c = p.acquire().await.expect("conn");
                c.execute("BEGIN").await.expect("begin");
                c.execute(AssertSqlSafe(format!("CREATE TEMP TABLE staging (LIKE {table}) ON COMMIT DROP")))
                    .await
                    .expect("staging");
                let mut copy = (*c).copy_in_raw("COPY staging FROM STDIN (FORMAT csv)").await.expect("copy");
                let mut buf = String::with_capacity(1 << 20);
                for i in ids {
                    buf.push_str(&csv(i));
                    if buf.len() > 1 << 20 {
                        copy.send(buf.as_bytes()).await.expect("send");
                        buf.clear();
                    }
                }
                copy.send(buf.as_bytes()).await.expect("send");
                copy.finish().await.expect("finish copy");
                c.execute(AssertSqlSafe(format!("INSERT INTO {table} SELECT * FROM staging {}", upsert_tail(engine))))
                    .await
                    .expect("upsert");
                c.execute("COMMIT").await.expect("commit");
            }
            Raw::Ms(c) => {
                // INSERT BULK into a temp table, then set-based upserts, one transaction.
                let mut c = c.lock().await;
                tds_batch(&mut c, &format!("SELECT TOP 0 * INTO #staging FROM {table}; BEGIN TRANSACTION")).await;
                let mut req = c.bulk_insert("#staging").await.expect("bulk insert");
                for i in ids {
                    req.send(tds_row(i)).await.expect("bulk row");
                }
                req.finalize().await.expect("bulk insert");
                let cols = [
                    "customer_id",
                    "status",
                    "amount",
                    "note",
                    "created_at",
                    "updated_at",
                    "quantity",
                    "region",
                    "paid",
                ];
                let sets = cols.map(|k| format!("{k} = s.{k}")).join(", ");
                tds_batch(
                    &mut c,
                    &format!(
                        "UPDATE t SET {sets} FROM {table} t JOIN #staging s ON s.id = t.id; \
                         INSERT INTO {table} ({COLS}) SELECT {COLS} FROM #staging s \
                         WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = s.id); COMMIT; DROP TABLE #staging"
                    ),
                )
                .await;
            }
            _ => self.literal_batches(engine, table, ids, &upsert_tail(engine)).await,
        }
    }
}

fn rate(n: usize, secs: f64) -> String {
    format!("{:>9.0} rows/s", n as f64 / secs)
}

async fn bench(engine: &str, connector: Box<dyn Connector>, raw: Raw, n: usize) {
    let t = schema("orders");
    let base = schema("orders_base");
    raw.exec(ddl(engine, "orders")).await;
    raw.exec(ddl(engine, "orders_base")).await;
    connector.provision(&t).await.expect("provision");
    connector.provision(&base).await.expect("provision");

    // (a) apply vs the engine's own bulk upsert, both into tracked tables.
    let start = Instant::now();
    for chunk_start in (0..n).step_by(batch()) {
        let ops: Vec<ApplyOp> =
            (chunk_start..(chunk_start + batch()).min(n)).map(|i| ApplyOp::Upsert(row(i as i64))).collect();
        connector.apply(&t, &ops, "hub").await.expect("apply");
    }
    let ours = start.elapsed().as_secs_f64();
    let start = Instant::now();
    raw.bulk_upsert(engine, "orders_base", 0..n as i64).await;
    let theirs = start.elapsed().as_secs_f64();
    println!(
        "{engine:<9} (a) apply {n} rows:   hubsync {}   engine bulk upsert {}   ratio {:.2}",
        rate(n, ours),
        rate(n, theirs),
        theirs / ours
    );

    // (b) read the captured changes.
    let start = Instant::now();
    let mut anchor = Anchor::start();
    let mut read = 0;
    loop {
        let b = connector.read_changes(&t, &anchor, 10_000).await.expect("read");
        read += b.changes.len();
        anchor = b.next;
        if !b.more && !b.pending {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{engine:<9} (b) read {read} changes:        {}", rate(read, secs));

    // (c) an application's plain inserts with and without tracking triggers.
    let m = n / 4;
    raw.exec(ddl(engine, "plain")).await;
    raw.exec(ddl(engine, "tracked")).await;
    connector.provision(&schema("tracked")).await.expect("provision");
    let start = Instant::now();
    raw.literal_batches(engine, "plain", 0..m as i64, "").await;
    let plain = start.elapsed().as_secs_f64();
    let start = Instant::now();
    raw.literal_batches(engine, "tracked", 0..m as i64, "").await;
    let tracked = start.elapsed().as_secs_f64();
    println!(
        "{engine:<9} (c) insert {m} rows:     no triggers {}   with triggers {}   overhead x{:.2}",
        rate(m, plain),
        rate(m, tracked),
        tracked / plain
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("HUBSYNC_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let db = format!("hubsync_bench_{}", std::process::id());
    println!("connector benchmark, {n} rows of a 10-column table (ratios > 1 favour hubsync)");

    if wanted("postgres") {
        let pg_server =
            std::env::var("HUBSYNC_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let admin = sqlx::PgPool::connect(&pg_server).await.expect("PostgreSQL");
        admin.execute(AssertSqlSafe(format!("CREATE DATABASE {db}"))).await.expect("create");
        let url = format!("{}/{db}", &pg_server[..pg_server.rfind('/').expect("db in url")]);
        let pool = sqlx::PgPool::connect(&url).await.expect("connect");
        bench("postgres", Box::new(Postgres::open(&url).await.expect("open")), Raw::Pg(pool.clone()), n).await;
        pool.close().await;
        admin.execute(AssertSqlSafe(format!("DROP DATABASE {db} WITH (FORCE)"))).await.expect("drop");
    }
    if wanted("mysql") {
        let my_server = std::env::var("HUBSYNC_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
        let admin = sqlx::MySqlPool::connect(&my_server).await.expect("MariaDB");
        admin.execute(AssertSqlSafe(format!("CREATE DATABASE {db}"))).await.expect("create");
        let url = format!("{my_server}/{db}");
        let pool = sqlx::MySqlPool::connect(&url).await.expect("connect");
        bench("mysql", Box::new(Mysql::open(&url).await.expect("open")), Raw::My(pool.clone()), n).await;
        pool.close().await;
        admin.execute(AssertSqlSafe(format!("DROP DATABASE {db}"))).await.expect("drop");
    }
    if wanted("mssql") {
        let server = std::env::var("HUBSYNC_TEST_MSSQL").unwrap_or_else(|_| {
            "mssql://hubsync:Hubsync-Test-1@127.0.0.1:1433/hubsync_test?trust_server_certificate=true".into()
        });
        match hubsync_connectors::client::mssql_connect(&server).await {
            Ok(mut admin) => {
                tds_batch(&mut admin, &format!("CREATE DATABASE {db}")).await;
                let (main, query) = server.split_once('?').unwrap_or((&server, ""));
                let url = format!("{}/{db}?{query}", &main[..main.rfind('/').expect("db in url")]);
                let connector = Mssql::open(&url).await.expect("open");
                println!("(SQL Server is {})", if connector.is_babelfish() { "babelfish" } else { "mssql" });
                let raw = Raw::Ms(Box::new(tokio::sync::Mutex::new(tds(&url).await)));
                bench("mssql", Box::new(connector), raw, n).await;
                tds_batch(&mut admin, &format!("DROP DATABASE {db}")).await;
            }
            Err(e) => println!("mssql     SKIPPED: no SQL Server ({e})"),
        }
    }
    if wanted("sqlite") {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let lite = Sqlite::open(&url).await.expect("open");
        let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
        bench("sqlite", Box::new(lite), Raw::Lite(pool), n).await;
    }
}
