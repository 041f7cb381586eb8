//! Values applications store that hubsync must treat row by row: a
//! PostgreSQL `infinity` date or timestamp is quarantined alone (the read
//! does not fail), and JSON documents equal but for spacing and key order
//! are not a conflict nor rewritten; a conflict policy failing on one
//! conflict of a batch leaves that one quarantined and settles the
//! others; SQLite keys of dates, times, UUIDs and decimals an application
//! spelled its own way stay one row. Written through `psql`, `mariadb` and
//! `sqlite3`.

use hubsync_tests::{Db, Engine, Workspace, hubsync};

fn group(hub: &Db, member: &Db, table: &str) -> String {
    format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n\n\
         [[group.table]]\nname = \"{table}\"\n",
        hub.url, member.url
    )
}

#[test]
fn postgres_infinity_is_quarantined_and_the_other_rows_sync() {
    let (hub, member, ws) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Workspace::new());
    hub.exec(
        "CREATE TABLE ev (id int PRIMARY KEY, on_day date, at timestamptz);
         INSERT INTO ev VALUES (1, '2026-01-02', '2026-01-02 03:04:05+00'), (2, 'infinity', now()),
                               (3, '2026-02-03', '-infinity'), (4, NULL, NULL);",
    );
    let file = ws.group_file(&group(&hub, &member, "ev"));
    let run = hubsync_tests::sync_settled(&file).0;
    run.expect_ok("a sync with infinite values succeeds with warnings");
    let ids: Vec<String> = member.query("SELECT id FROM ev ORDER BY id;").into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, ["1", "4"], "the finite rows arrive");
    let held = hubsync(&["quarantine", "--config", &file, "--json"]);
    let held: Vec<hubsync_api::QuarantineView> = serde_json::from_str(held.expect_ok("quarantine")).expect("json");
    assert_eq!(held.len(), 2, "{held:?}");
    let text = serde_json::to_string(&held).expect("json");
    assert!(text.contains("infinity") && text.contains("-infinity") && text.contains("no counterpart"), "{text}");
    // Fixed in the application, the rows sync.
    hub.exec(
        "UPDATE ev SET on_day = '2030-01-01' WHERE id = 2; UPDATE ev SET at = '2020-01-01 00:00:00+00' WHERE id = 3;",
    );
    hubsync_tests::sync_settled(&file).0.expect_ok("after the fix");
    assert_eq!(member.scalar("SELECT count(*) FROM ev;"), "4");
    hubsync(&["verify", "--config", &file]).expect_ok("verify");
}

#[test]
fn json_documents_equal_but_for_spelling_are_no_conflict() {
    let (hub, member, ws) = (Db::new(Engine::Postgres), Db::new(Engine::Mariadb), Workspace::new());
    hub.exec("CREATE TABLE docs (id int PRIMARY KEY, body jsonb); INSERT INTO docs VALUES (1, '{\"a\": 1}');");
    let file = ws.group_file(&group(&hub, &member, "docs"));
    hubsync_tests::sync_settled(&file).0.expect_ok("first sync");
    // Both applications write the same document, each spelled its own way.
    hub.exec("UPDATE docs SET body = '{\"b\":[1,2],   \"a\":1}' WHERE id = 1;");
    member.exec("UPDATE docs SET body = '{\"a\": 1, \"b\": [1, 2]}' WHERE id = 1;");
    hubsync_tests::sync_settled(&file).0.expect_ok("second sync");
    let status = hubsync_tests::status_of(&file);
    let t = hubsync_tests::table_states(&status)[0];
    assert_eq!(t.conflicts, 0, "equal documents are no conflict: {status:?}");
    assert_eq!(t.rows_down, 0, "and are not rewritten: {status:?}");
    assert_eq!(t.rows_up, 0, "{status:?}");
    hubsync(&["verify", "--config", &file]).expect_ok("verify");
}

#[test]
fn a_policy_failing_on_one_conflict_leaves_the_others_settled() {
    let (hub, member, ws) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Workspace::new());
    hub.exec("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, 0 FROM generate_series(1, 10) g;");
    let policy = hubsync_tests::built_plugin("hubsync_plugin_misbehave");
    let file = ws.group_file(&format!(
        "{}conflict_policy = {{ plugin = \"{}\", config = {{ mode = \"fail-on-key\", key = 5 }} }}\n",
        group(&hub, &member, "t"),
        policy.display()
    ));
    hubsync_tests::sync_settled(&file).0.expect_ok("first sync");
    // Ten conflicts in one batch; the policy fails on the one of key 5.
    hub.exec("UPDATE t SET v = 1;");
    member.exec("UPDATE t SET v = 2;");
    let run = hubsync_tests::sync_settled(&file).0;
    run.expect_ok("the sync succeeds with warnings");
    let on_member: Vec<String> =
        member.query("SELECT v FROM t ORDER BY id;").into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(on_member, ["1", "1", "1", "1", "2", "1", "1", "1", "1", "1"], "nine settled (hub wins), key 5 held");
    let status = hubsync_tests::status_of(&file);
    assert_eq!(hubsync_tests::table_states(&status)[0].conflicts, 9, "{status:?}");
    let held = hubsync(&["quarantine", "--config", &file, "--json"]);
    let held: Vec<hubsync_api::QuarantineView> = serde_json::from_str(held.expect_ok("quarantine")).expect("json");
    assert!(!held.is_empty() && held.iter().all(|q| q.key["id"] == 5), "only key 5 is held: {held:?}");
    let text = serde_json::to_string(&held).expect("json");
    assert!(text.contains("misbehave fails on key 5"), "{text}");
}

#[test]
fn sqlite_keys_spelled_by_the_application_stay_one_row() {
    let (hub, member, ws) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Workspace::new());
    hub.exec(
        "CREATE TABLE ev_ts (k timestamp PRIMARY KEY, note text);
         CREATE TABLE ev_tz (k timestamptz PRIMARY KEY, note text);
         CREATE TABLE ev_day (k date PRIMARY KEY, note text);
         CREATE TABLE ev_id (k uuid PRIMARY KEY, note text);
         CREATE TABLE ev_amt (k numeric(10,2) PRIMARY KEY, note text);",
    );
    let tables = ["ev_ts", "ev_tz", "ev_day", "ev_id", "ev_amt"];
    let mut toml = format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n",
        hub.url, member.url
    );
    for t in tables {
        toml.push_str(&format!("\n[[group.table]]\nname = \"{t}\"\n"));
    }
    let file = ws.group_file(&toml);
    hubsync_tests::sync_settled(&file).0.expect_ok("first sync creates the member's tables");
    // The member's application writes each key its own way (sqlite3 3.40).
    let spelled = [
        ("ev_ts", "2024-02-29T12:00:00.5"),
        ("ev_tz", "2024-02-29T12:00:00.5Z"),
        ("ev_day", "2024-2-9"),
        ("ev_id", "0E9C1D2A-3B4C-4D5E-8F60-718293A4B5C6"),
        ("ev_amt", "1.5"),
    ];
    for (t, k) in spelled {
        member.exec(&format!("INSERT INTO {t} VALUES ('{k}', 'member');"));
    }
    hubsync_tests::sync_settled(&file).0.expect_ok("the rows go up");
    // The hub's application changes them; the change comes back by value.
    for t in tables {
        hub.exec(&format!("UPDATE {t} SET note = 'hub';"));
    }
    hubsync_tests::sync_settled(&file).0.expect_ok("the changes come down");
    for (t, k) in spelled {
        let rows = member.query(&format!("SELECT k, note FROM {t};"));
        assert_eq!(rows, [vec![k.to_owned(), "hub".to_owned()]], "{t}: one row, as the application spelled it");
    }
    // The member's application changes them again through its own spelling.
    for (t, k) in spelled {
        member.exec(&format!("UPDATE {t} SET note = 'member again' WHERE k = '{k}';"));
    }
    hubsync_tests::sync_settled(&file).0.expect_ok("up again");
    for t in tables {
        assert_eq!(hub.query(&format!("SELECT note FROM {t};")), [vec!["member again".to_owned()]], "{t}");
    }
    let status = hubsync_tests::status_of(&file);
    assert!(hubsync_tests::table_states(&status).iter().all(|t| t.conflicts == 0), "{status:?}");
    hubsync(&["verify", "--config", &file]).expect_ok("verify: equal");
    // Deleted on the hub, gone from the member.
    for t in tables {
        hub.exec(&format!("DELETE FROM {t};"));
    }
    hubsync_tests::sync_settled(&file).0.expect_ok("the deletes come down");
    for t in tables {
        assert_eq!(member.scalar(&format!("SELECT count(*) FROM {t};")), "0", "{t}");
    }
}
