//! One bad row never stops the others: rows hubsync cannot read (a value
//! SQLite let an application store in the wrong type) and rows the
//! destination rejects (constraints, lengths, foreign keys) are quarantined
//! with key, column, value and the database's message; everything else
//! syncs, the sync succeeds with warnings, and the row syncs again when it
//! changes, or on `hubsync quarantine --retry`.

use hubsync_api::QuarantineView;
use hubsync_tests::{Db, Engine, Workspace, hubsync};

fn group(hub: &Db, member: &Db, tables: &[&str]) -> String {
    let mut s = format!(
        r#"
[[group]]
name = "g"
hub = "{}"

[[group.member]]
name = "app"
url = "{}"
"#,
        hub.url, member.url
    );
    for t in tables {
        s.push_str(&format!("\n[[group.table]]\nname = \"{t}\"\n"));
    }
    s
}

fn quarantine(file: &str) -> Vec<QuarantineView> {
    let out = hubsync(&["quarantine", "--config", file, "--json"]);
    serde_json::from_str(out.expect_ok("quarantine")).expect("the API's QuarantineView list")
}

#[test]
fn a_value_that_cannot_be_read_is_quarantined_and_the_rest_syncs() {
    let (hub, member, ws) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Workspace::new());
    hub.exec("CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz, note text);");
    let file = ws.group_file(&group(&hub, &member, &["events"]));
    hubsync(&["sync", "--config", &file]).expect_ok("first sync creates the member's table");

    // SQLite does not check types: the application stores text in a TIMESTAMPTZ column.
    member.exec(
        "INSERT INTO events VALUES (1, '2026-03-01 10:00:00+00:00', 'good before');
         INSERT INTO events VALUES (2, 'yesterday-ish', 'bad');
         INSERT INTO events VALUES (3, '2026-03-01 11:00:00+00:00', 'good after');",
    );
    let out = hubsync(&["sync", "--config", &file]);
    let stdout = out.expect_ok("a sync with one bad row succeeds");
    assert!(stdout.contains("2 up") && stdout.contains("1 quarantined"), "{stdout}");
    assert!(out.stderr.contains("quarantined"), "a warning says so: {}", out.stderr);
    assert_eq!(hub.query("SELECT id, note FROM events ORDER BY id;"), [["1", "good before"], ["3", "good after"]]);

    let held = quarantine(&file);
    assert_eq!(held.len(), 1, "{held:?}");
    let q = &held[0];
    // The key is row data: its columns are the table's.
    assert_eq!((q.key["id"].as_i64(), q.column.as_deref()), (Some(2), Some("at")), "{q:?}");
    assert_eq!(q.value.as_deref(), Some("yesterday-ish"), "{q:?}");
    assert!(q.stage.contains("reading it on member app"), "{q:?}");
    assert!(q.error.contains("yesterday-ish"), "{q:?}");
    let status = hubsync(&["status", "--config", &file]);
    assert!(status.expect_ok("status").contains("ok with warnings (1 quarantined)"), "{}", status.stdout);
    assert!(status.stdout.contains("1 changes in quarantine now"), "{}", status.stdout);

    // Later syncs go on; the row syncs once the application fixes it.
    member.exec("INSERT INTO events VALUES (4, '2026-03-02 09:00:00+00:00', 'later');");
    hubsync(&["sync", "--config", &file]).expect_ok("later sync");
    assert_eq!(hub.scalar("SELECT count(*) FROM events;"), "3");
    member.exec("UPDATE events SET at = '2026-03-01 12:00:00+00:00' WHERE id = 2;");
    let out = hubsync(&["sync", "--config", &file]);
    assert!(!out.expect_ok("sync after the fix").contains("quarantined"), "{}", out.stdout);
    assert_eq!(hub.scalar("SELECT note FROM events WHERE id = 2;"), "bad");
    assert!(quarantine(&file).is_empty(), "the fixed row left the quarantine");
}

#[test]
fn rows_the_destination_rejects_are_found_in_their_batch_and_quarantined() {
    let (hub, member, ws) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Workspace::new());
    hub.exec(
        "CREATE TABLE parents (id bigint PRIMARY KEY);
         INSERT INTO parents VALUES (1);
         CREATE TABLE items (id bigint PRIMARY KEY, parent bigint NOT NULL REFERENCES parents (id),
                             code varchar(5) NOT NULL, qty int NOT NULL CHECK (qty >= 0));",
    );
    let file = ws.group_file(&group(&hub, &member, &["parents", "items"]));
    hubsync(&["sync", "--config", &file]).expect_ok("first sync");
    // The member's tables (created by hubsync) do not carry the hub's
    // constraints; the application writes 300 rows, three of which the hub refuses.
    let mut script = String::from("BEGIN;\n");
    for i in 1..=300 {
        let (parent, code, qty) = match i {
            50 => (1, "much-too-long", 1),
            150 => (1, "ok", -5),
            250 => (99, "ok", 1),
            _ => (1, "ok", i),
        };
        script.push_str(&format!("INSERT INTO items VALUES ({i}, {parent}, '{code}', {qty});\n"));
    }
    script.push_str("COMMIT;\n");
    member.exec(&script);
    let out = hubsync(&["sync", "--config", &file]);
    let stdout = out.expect_ok("the sync succeeds with warnings");
    assert!(stdout.contains("297 up") && stdout.contains("3 quarantined"), "{stdout}");
    assert_eq!(hub.scalar("SELECT count(*) FROM items;"), "297");

    let held = quarantine(&file);
    let by_key = |id: i64| {
        held.iter().find(|q| q.key["id"].as_i64() == Some(id)).unwrap_or_else(|| panic!("{id} held: {held:?}"))
    };
    assert!(by_key(50).error.contains("too long"), "{:?}", by_key(50));
    assert!(by_key(150).error.contains("check constraint"), "{:?}", by_key(150));
    assert!(by_key(250).error.contains("foreign key"), "{:?}", by_key(250));
    assert!(held.iter().all(|q| q.stage == "writing it to the hub"), "{held:?}");

    // The hub's owner relaxes the length; a retry carries the row over without a change on the member.
    hub.exec("ALTER TABLE items ALTER COLUMN code TYPE varchar(50);");
    let id = by_key(50).id.to_string();
    hubsync(&["quarantine", "--config", &file, "--retry", &id]).expect_ok("retry");
    let out = hubsync(&["sync", "--config", &file]);
    assert!(out.expect_ok("sync with the retry").contains("1 up"), "{}", out.stdout);
    assert_eq!(hub.scalar("SELECT code FROM items WHERE id = 50;"), "much-too-long");
    let left: Vec<i64> = quarantine(&file).iter().filter_map(|q| q.key["id"].as_i64()).collect();
    assert_eq!(left, [150, 250]);

    // Discarding forgets a row until it changes again.
    let id = by_key(150).id.to_string();
    hubsync(&["quarantine", "--config", &file, "--discard", &id]).expect_ok("discard");
    assert_eq!(quarantine(&file).len(), 1);
    let out = hubsync(&["quarantine", "--config", &file, "--retry", "9999"]);
    assert!(!out.ok && out.stderr.contains("no quarantined change #9999"), "{}", out.stderr);
}
