//! Applications on the SQLite they actually link — the system `sqlite3`
//! client (3.40), Python's `sqlite3` module (3.40) and an application on
//! SQLite 3.31.1, the oldest hubsync supports — write tables that hubsync
//! tracks. hubsync's triggers run inside their SQLite, so every insert,
//! update and delete they make must work there and be captured.

use hubsync_tests::apps::{SQLITE_APPS, SqliteApp};
use hubsync_tests::{Db, Engine, Workspace, hubsync};

const TABLE: &str = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER, at TIMESTAMPTZ);";

fn group(hub: &Db, member: &Db) -> String {
    format!(
        r#"
[[group]]
name = "shop"
hub = "{}"
conflict_policy = {{ plugin = "builtin:last-writer-wins" }}

[[group.member]]
name = "till"
url = "{}"

[[group.table]]
name = "items"
"#,
        hub.url, member.url
    )
}

fn rows(db: &Db) -> Vec<Vec<String>> {
    // Times compared as instants: hubsync writes its own canonical text form.
    db.query("SELECT id, name, qty, strftime('%s', at) FROM items ORDER BY id;")
}

#[test]
fn the_sqlite_apps_are_the_versions_this_test_is_about() {
    assert_eq!(SqliteApp::Floor.version(), "3.31.1");
    for app in [SqliteApp::Cli, SqliteApp::Python] {
        let v = app.version();
        assert!(v.starts_with("3."), "{app:?} reports SQLite {v:?}");
    }
}

#[test]
fn applications_on_sqlite_3_31_and_later_write_tracked_tables_and_their_changes_sync() {
    let ws = Workspace::new();
    let (hub, member) = (Db::new(Engine::Sqlite), Db::new(Engine::Sqlite));
    hub.exec(&format!("{TABLE} INSERT INTO items VALUES (1, 'seed', 1, NULL);"));
    let file = ws.group_file(&group(&hub, &member));
    // The first sync provisions both databases (triggers installed) and creates the member's table.
    hubsync(&["sync", "--config", &file]).expect_ok("first sync");

    for (n, app) in SQLITE_APPS.iter().enumerate() {
        let base = 100 * (n as i64 + 1);
        // Every kind of write an application makes, on the hub and on the member.
        for (db, offset) in [(&hub, 0), (&member, 50)] {
            let id = base + offset;
            let script = format!(
                "INSERT INTO items VALUES ({id}, 'new', 1, '2026-01-01T00:00:00Z');
                 INSERT INTO items VALUES ({}, 'doomed', 1, NULL);
                 UPDATE items SET qty = qty + 1, name = 'updated' WHERE id = {id};
                 UPDATE items SET id = {} WHERE id = {};
                 DELETE FROM items WHERE id = {};",
                id + 1,
                id + 2,
                id + 1,
                id + 2
            );
            app.exec(db.path(), &script)
                .unwrap_or_else(|e| panic!("{app:?} (SQLite {}) could not write a tracked table: {e}", app.version()));
        }
        let out = hubsync(&["sync", "--config", &file]);
        out.expect_ok(&format!("sync after {app:?}'s writes"));
    }
    // The floor application can still read everything hubsync put in the file.
    let schema = SqliteApp::Floor.exec(hub.path(), "SELECT count(*) FROM sqlite_master;").expect("floor reads schema");
    assert!(!schema.trim().is_empty());

    let (h, m) = (rows(&hub), rows(&member));
    assert_eq!(h, m, "hub and member converged");
    let ids: Vec<&str> = h.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["1", "100", "150", "200", "250", "300", "350"], "inserts, key changes and deletes all synced");
    assert!(h[1..].iter().all(|r| r[1] == "updated" && r[2] == "2"), "updates synced: {h:?}");
}

#[test]
fn changes_made_by_an_old_sqlite_carry_their_time() {
    let (hub, member) = (Db::new(Engine::Sqlite), Db::new(Engine::Sqlite));
    let ws = Workspace::new();
    hub.exec(TABLE);
    let file = ws.group_file(&group(&hub, &member));
    hubsync(&["sync", "--config", &file]).expect_ok("first sync");
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_micros() as i64;
    SqliteApp::Floor.exec(hub.path(), "INSERT INTO items VALUES (7, 'x', 1, NULL);").expect("floor insert");
    let after = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_micros() as i64;
    let out = hubsync(&["db", "changes", &hub.url, "items"]);
    let json: serde_json::Value = serde_json::from_str(out.expect_ok("db changes")).expect("json");
    let change = json["changes"].as_array().expect("changes").iter().find(|c| c["key"]["id"] == 7).expect("captured");
    let at = change["changed_at_micros"].as_i64().expect("changed_at_micros");
    // SQLite's clock has millisecond resolution.
    assert!(at >= before - 1000 && at <= after + 1000, "change time {at} is not between {before} and {after}");
}
