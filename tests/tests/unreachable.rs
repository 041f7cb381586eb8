//! A database that cannot be reached fails fast with the real cause, its
//! URL (password masked) and what to check; timeouts come from the group file.

use std::process::Stdio;
use std::time::Duration;

use hubsync_tests::{Db, Engine, Workspace, hubsync, wait_for};

fn group(hub: &str, member: &str, extra: &str) -> String {
    format!(
        r#"
[[group]]
name = "g"
hub = "{hub}"
{extra}

[[group.member]]
name = "m"
url = "{member}"

[[group.table]]
name = "items"
"#
    )
}

fn failing_sync(toml: &str) -> (String, Duration) {
    let ws = Workspace::new();
    let file = ws.group_file(toml);
    let out = hubsync(&["sync", "--config", &file]);
    assert!(!out.ok, "the sync should fail:\n{}", out.stdout);
    (out.stderr, out.elapsed)
}

fn hub() -> Db {
    let hub = Db::new(Engine::Sqlite);
    hub.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);");
    hub
}

#[test]
fn nothing_listening_is_reported_as_refused_within_seconds() {
    let hub = hub();
    for url in ["postgres://postgres:s3cret@127.0.0.1:1/x", "mysql://root:s3cret@127.0.0.1:1/x"] {
        let (err, took) = failing_sync(&group(&hub.url, url, ""));
        assert!(took < Duration::from_secs(5), "{url}: took {took:?}");
        assert!(err.contains("connection refused") && err.contains("127.0.0.1:1"), "{url}: {err}");
        assert!(err.contains("check that the database server is running"), "{url}: {err}");
        assert!(err.contains(":***@") && !err.contains("s3cret"), "{url}: the password is masked: {err}");
        assert!(!err.contains("pool timed out"), "{err}");
    }
}

#[test]
fn a_refused_login_and_a_missing_database_say_so() {
    let hub = hub();
    let maria = Db::new(Engine::Mariadb);
    let wrong = maria.url.replacen("://root@", "://root:wrong-password@", 1);
    let (err, took) = failing_sync(&group(&hub.url, &wrong, ""));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(err.contains("refused the login") && err.contains("check the user name and password"), "{err}");
    assert!(!err.contains("wrong-password"), "{err}");

    let pg = Db::new(Engine::Postgres);
    let missing = format!("{}_missing", pg.url);
    let (err, _) = failing_sync(&group(&hub.url, &missing, ""));
    assert!(err.contains("does not exist") && err.contains("create the database first"), "{err}");
}

#[test]
fn timeouts_are_checked_and_the_statement_timeout_applies() {
    let hub = hub();
    let (err, _) = failing_sync(&group(&hub.url, "sqlite://m.db", "connect_timeout_seconds = 0"));
    assert!(err.contains("timeouts are at least 1 second"), "{err}");

    // An application holds a lock on the hub's table; with a 1 s statement
    // timeout hubsync gives up quickly instead of waiting behind it.
    let pg = Db::new(Engine::Postgres);
    pg.exec("CREATE TABLE items (id bigint PRIMARY KEY, name text);");
    let mut holder = pg
        .client()
        .arg("-c")
        .arg("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30); COMMIT;")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("psql");
    let locked = wait_for(Duration::from_secs(10), || {
        pg.scalar("SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'items'::regclass;")
            == "1"
    });
    assert!(locked, "the application holds its lock");
    let member = Db::new(Engine::Sqlite);
    let (err, took) = failing_sync(&group(&pg.url, &member.url, "statement_timeout_seconds = 1"));
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(err.contains("statement timeout"), "{err}");
}
