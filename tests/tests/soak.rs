//! The soak test: applications write a PostgreSQL hub, a MariaDB member and
//! a SQLite member through their own Python drivers while `hubsync sync
//! --watch` runs and is killed with SIGKILL at random moments and
//! restarted. Then a few plain syncs, each a new process; then every
//! database holds the same rows, and every key only one application wrote
//! holds that application's last committed write.
//!
//! `HUBSYNC_SOAK_SECONDS` (default 30) sets how long the applications write.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use hubsync_tests::{Db, Engine, Workspace, hubsync, python_with_drivers, spawn_hubsync};

/// Keys each application owns (only it writes them), and keys all share.
const OWN: [(&str, i64, i64); 3] = [("hub", 1, 300), ("maria", 301, 600), ("lite", 601, 900)];
const SHARED: (i64, i64) = (901, 1000);

fn writer(engine: &str, target: &str, name: &str, own: (i64, i64), seconds: u64, seed: u64, out: &Path) -> Child {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("apps/writer.py");
    Command::new(python_with_drivers())
        .arg(script)
        .args([engine, target, name])
        .args([own.0, own.1, SHARED.0, SHARED.1].map(|n| n.to_string()))
        .args([seconds.to_string(), seed.to_string()])
        .arg(out)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start an application writer")
}

/// Every row as id → (v, who).
fn rows(db: &Db) -> BTreeMap<i64, (String, String)> {
    db.query("SELECT id, v, who FROM items ORDER BY id;")
        .into_iter()
        .map(|r| (r[0].parse().expect("id"), (r[1].clone(), r[2].clone())))
        .collect()
}

/// A small pseudo-random sequence (no dependency needed for kill timing).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn writers_everywhere_and_a_watch_killed_at_random_converge_without_losing_a_last_write() {
    let seconds: u64 = std::env::var("HUBSYNC_SOAK_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let (hub, maria, lite, ws) =
        (Db::new(Engine::Postgres), Db::new(Engine::Mariadb), Db::new(Engine::Sqlite), Workspace::new());
    hub.exec("CREATE TABLE items (id bigint PRIMARY KEY, v bigint NOT NULL, who varchar(20) NOT NULL);");
    let file = ws.group_file(&format!(
        r#"
[[group]]
name = "soak"
hub = "{}"
interval_seconds = 1
batch_rows = 200
conflict_policy = {{ plugin = "builtin:last-writer-wins" }}

[[group.member]]
name = "maria"
url = "{}"

[[group.member]]
name = "lite"
url = "{}"

[[group.table]]
name = "items"
"#,
        hub.url, maria.url, lite.url
    ));
    hubsync(&["sync", "--config", &file]).expect_ok("first sync creates the members' tables");
    // SQLite applications use WAL, as hubsync does.
    lite.exec("PRAGMA journal_mode = WAL;");

    let outs: Vec<_> = OWN.iter().map(|(n, _, _)| ws.dir().join(format!("{n}.json"))).collect();
    let targets =
        [("postgres", hub.url.clone()), ("mariadb", maria.url.clone()), ("sqlite", lite.path().display().to_string())];
    let mut writers: Vec<Child> = OWN
        .iter()
        .zip(&targets)
        .zip(&outs)
        .enumerate()
        .map(|(i, (((name, a, b), (engine, target)), out))| {
            writer(engine, target, name, (*a, *b), seconds, i as u64 + 7, out)
        })
        .collect();

    // hubsync --watch, killed with SIGKILL at random moments and restarted.
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut kills = 0;
    while Instant::now() < end {
        let mut watch = spawn_hubsync(&["sync", "--config", &file, "--watch"]);
        std::thread::sleep(Duration::from_millis(300 + next(&mut rng) % 2700));
        let _ = watch.kill(); // SIGKILL
        let _ = watch.wait();
        kills += 1;
    }
    for w in &mut writers {
        assert!(w.wait().expect("writer").success(), "an application writer failed");
    }

    // A few plain syncs, each a new process, until everything settled.
    let mut settled = false;
    for _ in 0..6 {
        let out = hubsync(&["sync", "--config", &file]);
        out.expect_ok("a plain sync after the kills");
        let (h, m, l) = (rows(&hub), rows(&maria), rows(&lite));
        if h == m && h == l && !out.stdout.contains("wait behind an open transaction") {
            settled = true;
            break;
        }
    }
    let (h, m, l) = (rows(&hub), rows(&maria), rows(&lite));
    assert!(
        settled,
        "hub, MariaDB and SQLite hold the same rows after {kills} kills: {} / {} / {} rows",
        h.len(),
        m.len(),
        l.len()
    );

    // Every key written by one application only holds its last committed write.
    let mut checked = 0;
    for ((name, _, _), out) in OWN.iter().zip(&outs) {
        let log: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out).expect("writer output")).expect("json");
        assert!(log["committed"].as_u64().unwrap_or(0) > 10, "{name} wrote: {log}");
        for (key, last) in log["last"].as_object().expect("last") {
            let key: i64 = key.parse().expect("key");
            let want = last.as_i64().map(|v| (v.to_string(), (*name).to_owned()));
            assert_eq!(h.get(&key).cloned(), want, "key {key}, written only by {name}");
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} single-writer keys checked");
    eprintln!("soak: {kills} kills, {} rows, {checked} single-writer keys hold their last write", h.len());
}
