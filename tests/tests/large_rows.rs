//! Large and wide rows: batches are bounded by bytes as well as rows, so
//! hubsync's memory follows `batch_bytes`, not row size; statements stay
//! within the destination's limits (MySQL's 65,535 placeholders and
//! `max_allowed_packet`, PostgreSQL's 1 GiB message); a row larger than a
//! destination accepts is quarantined with the limit and the setting to
//! raise, and everything else syncs. Peak memory is printed for
//! BENCHMARKS.md (`cargo test -p hubsync-tests --test large_rows -- --nocapture`).

use hubsync_tests::{Db, Engine, Workspace, hubsync, hubsync_measured, sync_settled};

/// The group's `batch_bytes` in these tests.
const BATCH_BYTES: u64 = 64 << 20;

/// What hubsync needs besides its batches (runtime, plugins, drivers, the
/// metadata store), stated in BENCHMARKS.md.
const BASE_KIB: u64 = 192 << 10;

fn group(hub: &Db, members: &[(&str, &Db)], table: &str) -> String {
    let mut s = format!("[[group]]\nname = \"g\"\nhub = \"{}\"\nbatch_bytes = {BATCH_BYTES}\n", hub.url);
    for (name, db) in members {
        s.push_str(&format!("\n[[group.member]]\nname = \"{name}\"\nurl = \"{}\"\n", db.url));
    }
    s.push_str(&format!("\n[[group.table]]\nname = \"{table}\"\n"));
    s
}

fn check_peak(what: &str, peak_kib: u64) {
    eprintln!("{what}: peak RSS {} MiB (batch_bytes {} MiB)", peak_kib >> 10, BATCH_BYTES >> 20);
    assert!(
        peak_kib < (BATCH_BYTES >> 10) + BASE_KIB,
        "{what}: peak RSS {} MiB is over batch_bytes + {} MiB",
        peak_kib >> 10,
        BASE_KIB >> 10
    );
}

#[test]
fn rows_of_megabytes_sync_in_bounded_memory_and_a_too_large_row_is_quarantined() {
    let (hub, maria, lite, ws) =
        (Db::new(Engine::Postgres), Db::new(Engine::Mariadb), Db::new(Engine::Sqlite), Workspace::new());
    // 150 rows of 2 MiB (300 MiB), each different.
    hub.exec(
        "CREATE TABLE blobs (id int PRIMARY KEY, data bytea);
         INSERT INTO blobs SELECT g, decode(repeat(md5(g::text), 65536), 'hex') || decode(repeat(md5((g + 1)::text), 65536), 'hex')
         FROM generate_series(1, 150) g;",
    );
    assert_eq!(hub.scalar("SELECT octet_length(data) FROM blobs WHERE id = 1;"), "2097152");
    let file = ws.group_file(&group(&hub, &[("maria", &maria), ("lite", &lite)], "blobs"));
    let (run, peak) = hubsync_measured(&["sync", "--config", &file]);
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("g / maria / blobs: 150 down") && run.stdout.contains("g / lite / blobs: 150 down"),
        "{}",
        run.stdout
    );
    check_peak("150 rows of 2 MiB to MariaDB and SQLite", peak);
    assert_eq!(maria.scalar("SELECT count(*) FROM blobs WHERE length(data) = 2097152;"), "150");
    assert_eq!(lite.scalar("SELECT count(*) FROM blobs WHERE length(data) = 2097152;"), "150");
    let (verify, peak) = hubsync_measured(&["verify", "--config", &file]);
    assert!(verify.ok, "{}", verify.stdout);
    check_peak("verify of 300 MiB", peak);

    // One row of 24 MiB: SQLite takes it; MariaDB's default max_allowed_packet
    // (16 MiB) cannot, so it is quarantined, saying which setting to raise.
    hub.exec(
        "INSERT INTO blobs SELECT 1000, decode(string_agg(md5(g::text), ''), 'hex') FROM generate_series(1, 1572864) g;
         UPDATE blobs SET data = data || 'x'::bytea WHERE id = 2;",
    );
    assert_eq!(hub.scalar("SELECT octet_length(data) FROM blobs WHERE id = 1000;"), "25165824");
    let packet: u64 = maria.scalar("SELECT @@max_allowed_packet;").parse().expect("number");
    let (run, _) = sync_settled(&file);
    assert!(run.ok, "a row too large for one member does not fail the sync:\n{}\n{}", run.stdout, run.stderr);
    assert_eq!(lite.scalar("SELECT length(data) FROM blobs WHERE id = 1000;"), "25165824");
    assert_eq!(
        maria.scalar("SELECT length(data) FROM blobs WHERE id = 2;"),
        "2097153",
        "the other change went through"
    );
    if packet < 25 << 20 {
        assert!(run.stdout.contains("1 quarantined"), "{}", run.stdout);
        let q = hubsync(&["quarantine", "--config", &file]);
        assert!(q.stdout.contains("max_allowed_packet") && q.stdout.contains("SET GLOBAL"), "{}", q.stdout);
    }
}

#[test]
fn a_table_of_a_thousand_columns_syncs_to_every_engine() {
    let (hub, maria, lite, ws) =
        (Db::new(Engine::Postgres), Db::new(Engine::Mariadb), Db::new(Engine::Sqlite), Workspace::new());
    let cols: Vec<String> = (1..1000).map(|i| format!("c{i} int")).collect();
    let vals: Vec<String> = (1..1000).map(|i| format!("g * {i}")).collect();
    hub.exec(&format!(
        "CREATE TABLE wide (id int PRIMARY KEY, {});\nINSERT INTO wide SELECT g, {} FROM generate_series(1, 3000) g;",
        cols.join(", "),
        vals.join(", ")
    ));
    let file = ws.group_file(&group(&hub, &[("maria", &maria), ("lite", &lite)], "wide"));
    let (run, peak) = sync_settled(&file);
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_peak("3,000 rows of 1,000 columns to MariaDB and SQLite", peak);
    assert_eq!(maria.scalar("SELECT c999 FROM wide WHERE id = 3000;"), "2997000");
    assert_eq!(lite.scalar("SELECT c999 FROM wide WHERE id = 3000;"), "2997000");
    // Changes on the members go up too (one statement cannot hold them all on MariaDB).
    maria.exec("UPDATE wide SET c1 = -1 WHERE id <= 100;");
    let (run, _) = sync_settled(&file);
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(hub.scalar("SELECT count(*) FROM wide WHERE c1 = -1;"), "100");
    assert!(hubsync(&["verify", "--config", &file]).ok);
}
