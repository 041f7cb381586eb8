//! `follow_changes` as users run it: `hubsync sync --watch` and `hubsync
//! serve` as separate processes, restarted between steps, with the
//! applications writing through their own clients (`psql`, `mariadb`,
//! `sqlite3`). The interval is an hour, so a change that arrives at all
//! arrived because it was followed. How long each took is printed (the
//! figures are in BENCHMARKS.md, measured in a release build), never
//! asserted.

use std::time::{Duration, Instant};

use hubsync_tests::{Db, Engine, Served, Workspace, hubsync, hubsync_cmd, spawn_agent, wait_for};

/// Far longer than following takes, far shorter than the interval.
const ARRIVES: Duration = Duration::from_secs(40);

/// A group file: `t (id, note)` between `hub` and `members` (name, URL),
/// interval one hour, following changes, polling every 100 ms.
fn group_file(ws: &Workspace, hub: &Db, members: &[(&str, &str)]) -> String {
    let mut toml = format!(
        "[[group]]\nname = \"live\"\nhub = \"{}\"\ninterval_seconds = 3600\nfollow_changes = true\n\
         change_poll_milliseconds = 100\n\n",
        hub.url
    );
    for (name, url) in members {
        toml.push_str(&format!("[[group.member]]\nname = \"{name}\"\nurl = \"{url}\"\n\n"));
    }
    toml.push_str("[[group.table]]\nname = \"t\"\n");
    ws.group_file(&toml)
}

/// `hubsync sync --config FILE --watch`, logging at info into `log`.
fn watch(file: &str, log: &std::path::Path) -> std::process::Child {
    hubsync_cmd(&["sync", "--config", file, "--watch"])
        .env("HUBSYNC_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("spawn hubsync")
}

/// Wait until `sql` reads `want` on each of `dbs`; the seconds it took.
fn arrives(what: &str, dbs: &[&Db], sql: &str, want: &str, log: &std::path::Path) -> f64 {
    let clock = Instant::now();
    let ok = wait_for(ARRIVES, || dbs.iter().all(|d| d.try_exec(sql).map(|s| s.trim() == want).unwrap_or(false)));
    let seen: Vec<String> = dbs.iter().map(|d| d.try_exec(sql).unwrap_or_else(|e| e)).collect();
    assert!(
        ok,
        "{what}: expected {want:?}, read {seen:?} after {ARRIVES:?}\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
    let s = clock.elapsed().as_secs_f64();
    println!("{what}: {s:.2} s");
    s
}

#[test]
fn sync_watch_follows_what_psql_mariadb_and_sqlite3_write() {
    let ws = Workspace::new();
    let (hub, lite, maria) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Db::new(Engine::Mariadb));
    hub.exec("CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'one');");
    let file = group_file(&ws, &hub, &[("lite", &lite.url), ("maria", &maria.url)]);
    let log = ws.dir().join("watch.log");
    let mut watching = watch(&file, &log);
    let count = "SELECT count(*) FROM t;";
    arrives("first sync at start", &[&lite, &maria], count, "1", &log);

    lite.exec("INSERT INTO t VALUES (2, 'from sqlite3');");
    arrives(
        "sqlite3 insert -> hub, mariadb",
        &[&hub, &maria],
        "SELECT note FROM t WHERE id = 2;",
        "from sqlite3",
        &log,
    );
    maria.exec("UPDATE t SET note = 'from mariadb' WHERE id = 1;");
    arrives("mariadb update -> hub, sqlite", &[&hub, &lite], "SELECT note FROM t WHERE id = 1;", "from mariadb", &log);
    hub.exec("DELETE FROM t WHERE id = 2;");
    arrives("psql delete -> members", &[&lite, &maria], count, "1", &log);

    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("following changes") && text.contains("notifications"), "the hub notifies:\n{text}");
    assert!(text.contains("polling every 100 ms"), "the members are polled:\n{text}");

    // Stopped, a write waits; started again, the first sync takes it and
    // the watches follow again.
    watching.kill().expect("kill");
    let _ = watching.wait();
    maria.exec("INSERT INTO t VALUES (3, 'while stopped');");
    let mut watching = watch(&file, &log);
    arrives("a write made while stopped", &[&hub, &lite], count, "2", &log);
    hub.exec("INSERT INTO t VALUES (4, 'after restart');");
    arrives("psql insert after restart -> members", &[&lite, &maria], count, "3", &log);
    watching.kill().expect("kill");
    let _ = watching.wait();
}

#[test]
fn serve_follows_changes_across_a_restart() {
    let ws = Workspace::new();
    let (hub, lite, pg) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Db::new(Engine::Postgres));
    hub.exec("CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'one');");
    let file = group_file(&ws, &hub, &[("lite", &lite.url), ("pg", &pg.url)]);
    let log = ws.dir().join("store.log");
    let served = Served::start(&ws, "store");
    served.cli(&["apply", &file]).expect_ok("apply");
    let count = "SELECT count(*) FROM t;";
    arrives("first sync", &[&lite, &pg], count, "1", &log);
    lite.exec("INSERT INTO t VALUES (2, 'from sqlite3');");
    arrives("sqlite3 insert -> hub, postgres member", &[&hub, &pg], count, "2", &log);
    pg.exec("UPDATE t SET note = 'from psql' WHERE id = 2;");
    arrives("psql update on a member -> sqlite", &[&lite], "SELECT note FROM t WHERE id = 2;", "from psql", &log);
    drop(served);

    // Started again on the same store: the definition is there, and so
    // are the watches.
    let served = Served::start(&ws, "store");
    hub.exec("INSERT INTO t VALUES (3, 'after restart');");
    arrives("psql insert on the hub after restart -> members", &[&lite, &pg], count, "3", &log);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("following changes"), "{text}");
    drop(served);
}

#[test]
fn a_member_behind_an_agent_is_asked_what_waits_and_follows_too() {
    let ws = Workspace::new();
    let (hub, near, far) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Db::new(Engine::Sqlite));
    hub.exec("CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'one');");
    let served = Served::start(&ws, "store");
    let log = ws.dir().join("store.log");
    let key = served.cli(&["agent", "create", "branch"]);
    let key = key.expect_ok("agent create").trim().to_owned();
    let state = ws.dir().join("agent").display().to_string();
    let mut agent = spawn_agent(&ws, "agent.log", &["--service", &served.url, "--key", &key, "--state", &state]);
    assert!(wait_for(Duration::from_secs(20), || std::path::Path::new(&state).join("agent.json").exists()));
    hubsync(&["agent", "db", "register", "shop", "--url", &far.url, "--state", &state]).expect_ok("register");
    let file = group_file(&ws, &hub, &[("near", &near.url), ("far", "agent://branch/shop")]);
    served.cli(&["apply", &file]).expect_ok("apply");
    let count = "SELECT count(*) FROM t;";
    arrives("first sync", &[&near, &far], count, "1", &log);
    far.exec("INSERT INTO t VALUES (2, 'behind the agent');");
    arrives("sqlite3 behind the agent -> hub, other member", &[&hub, &near], count, "2", &log);
    hub.exec("UPDATE t SET note = 'from psql' WHERE id = 2;");
    arrives("psql on the hub -> behind the agent", &[&far], "SELECT note FROM t WHERE id = 2;", "from psql", &log);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("asking what waits every 1000 ms"), "the agent's member is asked:\n{text}");
    let _ = agent.kill();
    let _ = agent.wait();
}

/// Hold a transaction with a transaction id open on `other` (another
/// database of the hub's server) for `seconds`, in `psql`; returns once
/// it is open.
fn hold_a_transaction(other: &Db, seconds: u32) -> std::thread::JoinHandle<()> {
    let script = format!("BEGIN; SELECT txid_current(); SELECT pg_sleep({seconds}); COMMIT;");
    let holder = {
        let (client, script) = (other.client(), script.clone());
        std::thread::spawn(move || {
            let mut c = client;
            let out = c.arg("-c").arg(&script).output().expect("psql");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        })
    };
    let open = format!("SELECT count(*) FROM pg_stat_activity WHERE query = '{script}' AND backend_xid IS NOT NULL;");
    assert!(wait_for(Duration::from_secs(10), || other.scalar(&open) == "1"), "the transaction opened");
    holder
}

#[test]
fn a_change_held_back_by_an_open_transaction_arrives_when_it_ends() {
    // A PostgreSQL reader stops below the oldest open transaction on the
    // server; when that transaction ends no notification comes, so the
    // change arrives only because the sync that found it held back asked
    // again. The interval (an hour) would be far too late.
    let ws = Workspace::new();
    let (hub, other, lite) = (Db::new(Engine::Postgres), Db::new(Engine::Postgres), Db::new(Engine::Sqlite));
    hub.exec("CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'one');");
    let file = group_file(&ws, &hub, &[("lite", &lite.url)]);
    let count = "SELECT count(*) FROM t;";

    let log = ws.dir().join("watch.log");
    let mut watching = watch(&file, &log);
    arrives("first sync", &[&lite], count, "1", &log);
    let holder = hold_a_transaction(&other, 5);
    hub.exec("INSERT INTO t VALUES (2, 'behind an open transaction');");
    arrives("sync --watch: held back, then synced", &[&lite], count, "2", &log);
    holder.join().expect("holder");
    watching.kill().expect("kill");
    let _ = watching.wait();

    let log = ws.dir().join("store.log");
    let served = Served::start(&ws, "store");
    served.cli(&["apply", &file]).expect_ok("apply");
    hub.exec("INSERT INTO t VALUES (3, 'before serve synced');");
    arrives("serve: first sync", &[&lite], count, "3", &log);
    let holder = hold_a_transaction(&other, 5);
    hub.exec("INSERT INTO t VALUES (4, 'behind an open transaction');");
    arrives("serve: held back, then synced", &[&lite], count, "4", &log);
    holder.join().expect("holder");
    drop(served);
}

/// `sqlite3` on the database at `path`: its output (empty when it fails).
fn sqlite3(path: &std::path::Path, sql: &str) -> String {
    let out = std::process::Command::new("sqlite3").arg(path).arg(sql).output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default()
}

#[test]
fn a_member_unreachable_at_start_is_followed_once_it_joins() {
    // A member whose database cannot be opened at start (its folder is not
    // there yet) joins at a later sync; from then on its own writes are
    // followed too, not left for the interval (an hour). Under `sync
    // --watch`, then under `serve`.
    let ws = Workspace::new();
    let (hub, lite) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite));
    hub.exec("CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'one');");
    let count = "SELECT count(*) FROM t;";
    for (round, how) in ["sync --watch", "serve"].iter().enumerate() {
        let later = ws.dir().join(format!("later{round}"));
        let late = later.join("late.db");
        let late_url = format!("sqlite://{}", late.display());
        let file = group_file(&ws, &hub, &[("lite", &lite.url), ("late", &late_url)]);
        let (log, mut watching, served) = if round == 0 {
            let log = ws.dir().join("watch.log");
            (log.clone(), Some(watch(&file, &log)), None)
        } else {
            let served = Served::start(&ws, "store");
            served.cli(&["apply", &file]).expect_ok("apply");
            (ws.dir().join("store.log"), None, Some(served))
        };
        let before = (1 + 2 * round).to_string();
        arrives(&format!("{how}: first sync"), &[&lite], count, &before, &log);
        let tried =
            wait_for(ARRIVES, || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("member not prepared")));
        assert!(tried, "{how}: late could not be opened");
        std::fs::create_dir(&later).expect("mkdir");
        // The next sync brings it in: one a psql insert wakes, or (under
        // serve, where an unprepared group is prepared again at most
        // every 20 s) the one a user asks for.
        hub.exec(&format!("INSERT INTO t VALUES ({}, 'two');", round * 10 + 2));
        let now = (2 + 2 * round).to_string();
        let joined = wait_for(Duration::from_secs(60), || {
            if let Some(s) = &served {
                let _ = s.cli(&["sync", "now", "live"]);
                std::thread::sleep(Duration::from_secs(2));
            }
            sqlite3(&late, count) == now
        });
        assert!(
            joined,
            "{how}: late joined: {}\n{}",
            sqlite3(&late, count),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        // Once the syncs the join set off are over (and serve's followers
        // looked at the group again: every 5 s), its own write through
        // sqlite3 reaches the hub and the other member.
        std::thread::sleep(Duration::from_secs(if served.is_some() { 7 } else { 3 }));
        sqlite3(&late, &format!("INSERT INTO t VALUES ({}, 'from the late member');", round * 10 + 3));
        let after = (3 + 2 * round).to_string();
        arrives(
            &format!("{how}: sqlite3 on the member that joined late -> hub, lite"),
            &[&hub, &lite],
            count,
            &after,
            &log,
        );
        if let Some(w) = watching.as_mut() {
            w.kill().expect("kill");
            let _ = w.wait();
        }
        drop(served);
    }
}
