//! End-to-end sync throughput, beside the engines' own tools in the same run:
//!
//! 1. initial sync of N rows (default 1,000,000) of a 10-column table from a
//!    PostgreSQL hub to a MariaDB, a SQLite and a PostgreSQL member (another
//!    database of the same server) that start without the table, against a
//!    raw copy of the same rows with the engines' own tools (`psql \copy …
//!    TO` CSV, then `LOAD DATA LOCAL INFILE` / `sqlite3 .import` / `psql
//!    \copy … FROM` into an untracked table of the same shape);
//! 2. an incremental sync of N/10 updated rows, against exporting those rows
//!    and upserting them with the same tools (`LOAD DATA … REPLACE`,
//!    `.import` + `INSERT OR REPLACE`, `\copy` into a temporary table +
//!    `INSERT … ON CONFLICT DO UPDATE`).
//!
//! Prints rows/s, the ratio to the raw copy, and hubsync's peak resident
//! memory per phase (VmHWM, reset before each phase).
//!
//! `cargo bench -p hubsync-engine --bench e2e` (`HUBSYNC_BENCH_ROWS` sets N).
//! Needs the README's local PostgreSQL and MariaDB and the `psql`, `mariadb`
//! and `sqlite3` clients.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use hubsync_core::{GroupConfig, MemberConfig, PolicyConfig, SyncDirection, TableConfig};
use hubsync_engine::Engine;
use sqlx::{AssertSqlSafe, Executor};

fn pg_admin() -> String {
    std::env::var("HUBSYNC_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn mysql_server() -> String {
    std::env::var("HUBSYNC_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// Peak resident memory since the last reset, in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `mariadb` client arguments for the benchmark database.
fn mariadb(db: &str) -> Command {
    let url = mysql_server();
    let rest = url.trim_start_matches("mysql://");
    let (user, host) = rest.split_once('@').unwrap_or(("root", rest));
    let (host, port) = host.split_once(':').unwrap_or((host, "3306"));
    let mut c = Command::new("mariadb");
    c.args(["-h", host, "-P", port, "-u", user, "--local-infile=1", db]);
    c
}

const COLUMNS: &str = "id, customer_id, status, amount, note, created_at, updated_at, quantity, region, paid";

fn export(pg_url: &str, filter: &str, file: &Path) {
    let copy = format!(
        "\\copy (SELECT id, customer_id, status, amount, note, created_at, updated_at, quantity, region, paid::int \
         FROM orders {filter} ORDER BY id) TO '{}' CSV",
        file.display()
    );
    run(Command::new("psql").args([pg_url, "-q", "-c", &copy]));
}

fn mariadb_load(db: &str, file: &Path, replace: bool) {
    let sql = format!(
        "LOAD DATA LOCAL INFILE '{}' {} INTO TABLE orders_raw FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ({COLUMNS})",
        file.display(),
        if replace { "REPLACE" } else { "" }
    );
    run(mariadb(db).args(["-e", &sql]));
}

fn pg_load(url: &str, file: &Path, replace: bool) {
    let script = if replace {
        let set = COLUMNS.split(", ").skip(1).map(|c| format!("{c} = excluded.{c}")).collect::<Vec<_>>().join(", ");
        format!(
            "CREATE TEMP TABLE incoming (LIKE orders_raw);\n\\copy incoming FROM '{}' CSV\n\
             INSERT INTO orders_raw SELECT * FROM incoming ON CONFLICT (id) DO UPDATE SET {set};\n",
            file.display()
        )
    } else {
        format!("\\copy orders_raw FROM '{}' CSV\n", file.display())
    };
    let mut child = Command::new("psql")
        .args([url, "-q", "-v", "ON_ERROR_STOP=1"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("psql");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("script");
    let out = child.wait_with_output().expect("psql");
    assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
}

fn sqlite_load(db: &Path, file: &Path, replace: bool) {
    let script = if replace {
        format!(
            "CREATE TEMP TABLE incoming AS SELECT * FROM orders_raw WHERE 0;\n.mode csv\n.import {} incoming\n\
             BEGIN; INSERT OR REPLACE INTO orders_raw SELECT * FROM incoming; COMMIT;\n",
            file.display()
        )
    } else {
        format!(".mode csv\n.import {} orders_raw\n", file.display())
    };
    let mut child = Command::new("sqlite3")
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sqlite3");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("script");
    let out = child.wait_with_output().expect("sqlite3");
    assert!(out.status.success(), "sqlite3: {}", String::from_utf8_lossy(&out.stderr));
}

struct Line {
    what: String,
    rows: u64,
    hubsync_s: f64,
    raw_s: f64,
    peak_mib: f64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Ok(filter) = std::env::var("HUBSYNC_LOG") {
        tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(filter)).init();
    }
    let n: i64 = std::env::var("HUBSYNC_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let name = format!("hubsync_e2e_{}", std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");

    let admin = sqlx::PgPool::connect(&pg_admin()).await.expect("PostgreSQL");
    admin.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create");
    let base = pg_admin();
    let pg_url = format!("{}/{name}", &base[..base.rfind('/').expect("db in url")]);
    let my_admin = sqlx::MySqlPool::connect(&mysql_server()).await.expect("MariaDB");
    my_admin.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create");
    let my_url = format!("{}/{name}", mysql_server());
    admin.execute(AssertSqlSafe(format!("CREATE DATABASE {name}_m"))).await.expect("create");
    let pg_member_url = format!("{}/{name}_m", &base[..base.rfind('/').expect("db in url")]);
    let sqlite_path = dir.path().join("member.db");
    let sqlite_url = format!("sqlite://{}", sqlite_path.display());

    let hub = sqlx::PgPool::connect(&pg_url).await.expect("hub");
    hub.execute(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, status text, amount numeric(12,2), \
         note text, created_at timestamp, updated_at timestamp, quantity bigint, region text, paid boolean)",
    )
    .await
    .expect("table");
    let clock = Instant::now();
    hub.execute(AssertSqlSafe(format!(
        "INSERT INTO orders SELECT i, i * 7 % 100000, (ARRAY['new','paid','shipped','returned'])[i % 4 + 1], \
         (i % 100000) + (i % 100) / 100.0, 'order ' || i || ': ' || repeat('lorem ipsum dolor sit amet, ', 3), \
         TIMESTAMP '2026-01-01' + i * INTERVAL '1 millisecond', TIMESTAMP '2026-01-01' + i * INTERVAL '2 millisecond', \
         i % 50, (ARRAY['EU','US','APAC'])[i % 3 + 1], i % 2 = 0 FROM generate_series(1, {n}) i"
    )))
    .await
    .expect("load");
    println!("hub loaded with {n} rows in {:.1} s", clock.elapsed().as_secs_f64());

    let engine =
        Engine::open(&format!("sqlite://{}", dir.path().join("meta.db").display()), None).await.expect("engine");
    let config = GroupConfig {
        name: "bench".into(),
        hub: pg_url.clone(),
        members: vec![
            MemberConfig {
                name: "mariadb".into(),
                url: my_url.clone(),
                direction: SyncDirection::Bidirectional,
                column_filter: None,
                schema_map: None,
                connect_timeout_seconds: None,
                statement_timeout_seconds: None,
            },
            MemberConfig {
                name: "sqlite".into(),
                url: sqlite_url.clone(),
                direction: SyncDirection::Bidirectional,
                column_filter: None,
                schema_map: None,
                connect_timeout_seconds: None,
                statement_timeout_seconds: None,
            },
            MemberConfig {
                name: "postgres".into(),
                url: pg_member_url.clone(),
                direction: SyncDirection::Bidirectional,
                column_filter: None,
                schema_map: None,
                connect_timeout_seconds: None,
                statement_timeout_seconds: None,
            },
        ],
        tables: vec![TableConfig { name: "orders".into(), namespace: None, columns: vec![], conflict_policy: None }],
        conflict_policy: PolicyConfig::default(),
        interval_seconds: None,
        follow_changes: false,
        change_poll_milliseconds: 250,
        batch_rows: 20_000,
        batch_bytes: 64 << 20,
        retention_days: 45,
        connect_timeout_seconds: None,
        statement_timeout_seconds: None,
    };
    let clock = Instant::now();
    let group = engine.prepare(&config).await.expect("prepare");
    println!(
        "prepare (provision the hub's {n} rows, create and provision both member tables): {:.1} s",
        clock.elapsed().as_secs_f64()
    );

    let mut lines = Vec::new();
    let csv = dir.path().join("orders.csv");
    let sync_member = |member: &'static str| {
        let (engine, group) = (&engine, &group);
        async move {
            reset_peak();
            let clock = Instant::now();
            let r = engine.sync_group(group, Some(member)).await.expect("sync");
            assert!(r.errors().is_empty(), "{:?}", r.errors());
            let (s, peak, rows) = (clock.elapsed().as_secs_f64(), peak_mib(), r.members[0].tables[0].rows_down);
            // As it goes: a long run (10M rows) shows its phases before the table.
            eprintln!("synced {member}: {rows} rows in {s:.1} s, peak RSS so far {peak:.0} MiB");
            (s, peak, rows)
        }
    };

    // 1. Initial sync.
    let (s, peak, rows) = sync_member("mariadb").await;
    sqlx::MySqlPool::connect(&my_url)
        .await
        .expect("member")
        .execute("CREATE TABLE orders_raw LIKE orders")
        .await
        .expect("raw table");
    let clock = Instant::now();
    export(&pg_url, "", &csv);
    mariadb_load(&name, &csv, false);
    lines.push(Line {
        what: "initial, PostgreSQL → MariaDB".into(),
        rows,
        hubsync_s: s,
        raw_s: clock.elapsed().as_secs_f64(),
        peak_mib: peak,
    });

    let (s, peak, rows) = sync_member("sqlite").await;
    let lite = sqlx::SqlitePool::connect(&sqlite_url).await.expect("member");
    let ddl: String =
        sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = 'orders'").fetch_one(&lite).await.expect("ddl");
    lite.execute(AssertSqlSafe(ddl.replacen("\"orders\"", "orders_raw", 1).replacen("orders (", "orders_raw (", 1)))
        .await
        .expect("raw table");
    lite.close().await;
    let clock = Instant::now();
    export(&pg_url, "", &csv);
    sqlite_load(&sqlite_path, &csv, false);
    lines.push(Line {
        what: "initial, PostgreSQL → SQLite".into(),
        rows,
        hubsync_s: s,
        raw_s: clock.elapsed().as_secs_f64(),
        peak_mib: peak,
    });

    let (s, peak, rows) = sync_member("postgres").await;
    let member = sqlx::PgPool::connect(&pg_member_url).await.expect("member");
    member.execute("CREATE TABLE orders_raw (LIKE orders INCLUDING ALL)").await.expect("raw table");
    member.close().await;
    let clock = Instant::now();
    export(&pg_url, "", &csv);
    pg_load(&pg_member_url, &csv, false);
    lines.push(Line {
        what: "initial, PostgreSQL → PostgreSQL".into(),
        rows,
        hubsync_s: s,
        raw_s: clock.elapsed().as_secs_f64(),
        peak_mib: peak,
    });

    // 2. Incremental: N/10 rows updated on the hub.
    hub.execute("UPDATE orders SET quantity = quantity + 1, status = 'changed' WHERE id % 10 = 0")
        .await
        .expect("update");
    let filter = "WHERE id % 10 = 0";
    let (s, peak, rows) = sync_member("mariadb").await;
    let clock = Instant::now();
    export(&pg_url, filter, &csv);
    mariadb_load(&name, &csv, true);
    lines.push(Line {
        what: "incremental, PostgreSQL → MariaDB".into(),
        rows,
        hubsync_s: s,
        raw_s: clock.elapsed().as_secs_f64(),
        peak_mib: peak,
    });
    let (s, peak, rows) = sync_member("sqlite").await;
    let clock = Instant::now();
    export(&pg_url, filter, &csv);
    sqlite_load(&sqlite_path, &csv, true);
    lines.push(Line {
        what: "incremental, PostgreSQL → SQLite".into(),
        rows,
        hubsync_s: s,
        raw_s: clock.elapsed().as_secs_f64(),
        peak_mib: peak,
    });

    let (s, peak, rows) = sync_member("postgres").await;
    let clock = Instant::now();
    export(&pg_url, filter, &csv);
    pg_load(&pg_member_url, &csv, true);
    lines.push(Line {
        what: "incremental, PostgreSQL → PostgreSQL".into(),
        rows,
        hubsync_s: s,
        raw_s: clock.elapsed().as_secs_f64(),
        peak_mib: peak,
    });

    // Paged, as `hubsync verify` does: an in-memory comparison would hold
    // every table four times (tens of GiB at 10M rows).
    let verdicts = engine.verify(&group, &hubsync_engine::VerifyOptions::default()).await.expect("verify");
    let diffs: Vec<_> = verdicts.iter().filter(|v| !v.converged()).collect();
    assert!(diffs.is_empty(), "not converged: {diffs:?}");

    println!("\n| phase | rows | hubsync rows/s | raw copy rows/s | ratio (hubsync / raw) | hubsync peak RSS |");
    println!("|---|---|---|---|---|---|");
    for l in &lines {
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.2} | {:.0} MiB |",
            l.what,
            l.rows,
            l.rows as f64 / l.hubsync_s,
            l.rows as f64 / l.raw_s,
            l.raw_s / l.hubsync_s,
            l.peak_mib
        );
    }

    drop(group);
    hub.close().await;
    let _ = admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
    let _ = admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}_m WITH (FORCE)"))).await;
    let _ = my_admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await;
}
