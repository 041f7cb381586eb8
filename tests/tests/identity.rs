//! A member database replaced under the same member name — a new URL, or
//! the same URL with the database dropped and made again — is a new member:
//! it gets every hub row, including those its predecessor uploaded, and the
//! log and status say so. A replaced hub is refused with the command that
//! starts over. Through the group file and through `hubsync serve`'s
//! `member update --url`, new processes each step, the applications
//! writing through `psql` and the system `sqlite3`.

use std::process::Stdio;
use std::time::Duration;

use hubsync_tests::{Db, Engine, Workspace, free_port, hubsync, hubsync_cmd, wait_for};

fn group(hub: &Db, member: &Db) -> String {
    format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n\n\
         [[group.table]]\nname = \"t\"\n",
        hub.url, member.url
    )
}

fn ids(db: &Db) -> Vec<String> {
    db.query("SELECT id FROM t ORDER BY id;").into_iter().map(|r| r[0].clone()).collect()
}

const TABLE: &str = "CREATE TABLE t (id int PRIMARY KEY, note text);";

/// Drop a SQLite database and make it again, empty but for what `sql` writes.
fn recreate(db: &Db, sql: &str) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.path().as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    db.exec(sql);
}

#[test]
fn a_member_pointed_at_another_database_or_recreated_gets_every_row() {
    let (hub, a, b) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Db::new(Engine::Sqlite));
    hub.exec(&format!("{TABLE} INSERT INTO t VALUES (100, 'hub');"));
    a.exec(&format!("{TABLE} INSERT INTO t VALUES (2, 'written on a');"));
    let ws = Workspace::new();
    let file = ws.group_file(&group(&hub, &a));
    hubsync_tests::sync_settled(&file).0.expect_ok("first sync");
    assert_eq!(ids(&hub), ["2", "100"], "a's row reached the hub");

    // The member now names another, empty database.
    let file = ws.group_file(&group(&hub, &b));
    let moved = hubsync_tests::sync_settled(&file).0;
    moved.expect_ok("sync after the URL changed");
    assert!(moved.stderr.contains("member m now points at a different database: syncing it from scratch"), "{moved:?}");
    assert_eq!(ids(&b), ["2", "100"], "the row a uploaded is no echo of b");
    hubsync(&["verify", "--config", &file]).expect_ok("verify after the move");

    // Same URL, the database dropped and made again by its application.
    recreate(&b, &format!("{TABLE} INSERT INTO t VALUES (7, 'written on the new b');"));
    let again = hubsync_tests::sync_settled(&file).0;
    again.expect_ok("sync after the database was re-created");
    assert!(again.stderr.contains("member m now points at a different database: syncing it from scratch"), "{again:?}");
    assert_eq!(ids(&b), ["2", "7", "100"]);
    assert_eq!(ids(&hub), ["2", "7", "100"]);
    let verify = hubsync(&["verify", "--config", &file]);
    verify.expect_ok("verify after the re-creation");
    let status = hubsync(&["status", "--config", &file, "--json"]);
    assert!(status.expect_ok("status").contains("now points at a different database"), "{}", status.stdout);
    // Later syncs are ordinary ones.
    let quiet = hubsync_tests::sync_settled(&file).0;
    assert!(!quiet.expect_ok("next sync").contains("different database") && !quiet.stderr.contains("different"));

    // A replaced hub is refused and nothing changes on the member.
    let other_hub = Db::new(Engine::Postgres);
    other_hub.exec(&format!("{TABLE} INSERT INTO t VALUES (1, 'another hub');"));
    let file = ws.group_file(&group(&other_hub, &b));
    let refused = hubsync_tests::sync_settled(&file).0;
    assert!(!refused.ok, "a replaced hub must be refused: {refused:?}");
    assert!(
        refused.stderr.contains("the hub is not the database this group synced with")
            && refused.stderr.contains("hubsync reinit --group g --member NAME"),
        "{}",
        refused.stderr
    );
    assert_eq!(ids(&b), ["2", "7", "100"], "the member is untouched");
    // Starting over against it, as the message says.
    hubsync(&["reinit", "--config", &file, "--group", "g", "--member", "m"]).expect_ok("reinit");
    hubsync_tests::sync_settled(&file).0.expect_ok("sync against the new hub");
    assert_eq!(ids(&other_hub), ["1", "2", "7", "100"], "the member's rows, which the old hub sent it, go up");
    assert_eq!(ids(&b), ["1", "2", "7", "100"]);
    hubsync(&["verify", "--config", &file]).expect_ok("verify against the new hub");
}

#[test]
fn member_update_url_on_the_server_starts_the_member_over() {
    let (hub, a, b) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Db::new(Engine::Sqlite));
    hub.exec(&format!("{TABLE} INSERT INTO t VALUES (100, 'hub');"));
    a.exec(&format!("{TABLE} INSERT INTO t VALUES (2, 'written on a');"));
    let ws = Workspace::new();
    let file = ws.group_file(&group(&hub, &a));
    let meta = format!("sqlite://{}", ws.dir().join("meta.db").display());
    let token = hubsync(&["token", "create", "ops", "--role", "admin", "--metadata", &meta]);
    let token = token.expect_ok("token").trim().to_owned();
    let port = free_port();
    let server = format!("http://127.0.0.1:{port}");
    let log = ws.dir().join("serve.log");
    let mut serve = hubsync_cmd(&["serve", "--metadata", &meta, "--listen", &format!("127.0.0.1:{port}")])
        .env("HUBSYNC_SECRET_KEY", "aHVic3luYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("serve");
    assert!(wait_for(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()));
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &server, "--token", &token]);
        hubsync(&all)
    };
    cli(&["apply", &file]).expect_ok("apply");
    cli(&["sync", "now", "g", "--wait"]).expect_ok("first sync");
    assert_eq!(ids(&hub), ["2", "100"]);

    cli(&["member", "update", "g", "m", "--url", &b.url]).expect_ok("member update --url");
    cli(&["sync", "now", "g", "--wait"]).expect_ok("sync after the update");
    assert_eq!(ids(&b), ["2", "100"], "the row a uploaded reaches b");
    let history = cli(&["log", "--group", "g", "--json"]);
    assert!(history.expect_ok("log").contains("starts from scratch"), "{}", history.stdout);
    let _ = serve.kill();
    let _ = serve.wait();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("member m now points at a different database: syncing it from scratch"), "{text}");
}
