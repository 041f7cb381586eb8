//! `hubsync status`, `conflicts` and `quarantine` print one shape whether
//! they read a group file or ask a server (the API's `GroupState`,
//! `ConflictView` and `QuarantineView`), and the README lists its fields.

use hubsync_tests::{Db, Engine, Served, Workspace, hubsync};

/// The object keys of a JSON value, recursively (values left out): the shape.
fn shape(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), shape(v))).collect(),
        serde_json::Value::Array(a) => a.first().map(shape).into_iter().collect(),
        _ => serde_json::Value::Null,
    }
}

/// Every object key in a JSON value, sorted, once each.
fn fields(v: &serde_json::Value) -> Vec<String> {
    fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(o) => o.iter().for_each(|(k, v)| {
                out.push(k.clone());
                keys(v, out)
            }),
            serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    keys(&shape(v), &mut out);
    out.sort_unstable();
    out.dedup();
    out
}

/// The keys of a list's first object (row images and keys inside it are
/// data, not shape).
fn top_fields(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = v[0].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    out.sort_unstable();
    out
}

/// The fields the README's command table lists for the row starting with
/// `command`: the quoted names in its first `[{…}]` code span.
fn documented_fields(command: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README");
    let prefix = format!("| `{command}");
    let line = readme.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{command} in README"));
    let listed = line.split("the API's answer").nth(1).and_then(|r| r.split('`').nth(1)).expect("the shape");
    let mut documented: Vec<String> = listed.split('"').skip(1).step_by(2).map(str::to_owned).collect();
    documented.sort_unstable();
    documented
}

#[test]
fn status_has_one_shape_from_a_group_file_and_from_a_server() {
    let ws = Workspace::new();
    let (hub, member) = (Db::new(Engine::Sqlite), Db::new(Engine::Sqlite));
    hub.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, 'one');");
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n\n\
         [[group.table]]\nname = \"items\"\n",
        hub.url, member.url
    ));
    hubsync(&["sync", "--config", &file]).expect_ok("sync from the file");
    let local = hubsync(&["status", "--config", &file, "--json"]);
    let local: serde_json::Value = serde_json::from_str(local.expect_ok("status --json")).expect("json");
    let local_text = hubsync(&["status", "--config", &file]).expect_ok("status").to_owned();
    let local_log = hubsync(&["log", "--config", &file, "--json"]).expect_ok("log").to_owned();

    // The same group on a server (its own metadata), synced there.
    let served = Served::start(&ws, "served");
    served.cli(&["apply", &file]).expect_ok("apply");
    served.cli(&["sync", "now", "g", "--wait"]).expect_ok("sync now");
    let remote = served.cli(&["status", "--json"]);
    let remote: serde_json::Value = serde_json::from_str(remote.expect_ok("status --json")).expect("json");
    let remote_text = served.cli(&["status"]).expect_ok("status").to_owned();
    let remote_log = served.cli(&["log", "--group", "g", "--json"]).expect_ok("log").to_owned();
    drop(served);

    // `log` too: one HistoryEntry per line, the same shape both ways.
    let lines = |text: &str| -> Vec<serde_json::Value> {
        text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
    };
    let (local_log, remote_log) = (lines(&local_log), lines(&remote_log));
    assert!(!local_log.is_empty() && !remote_log.is_empty(), "{local_log:?} {remote_log:?}");
    assert_eq!(shape(&local_log[0]), shape(&remote_log[0]), "log --json: {local_log:?} / {remote_log:?}");
    let entry: hubsync_api::HistoryEntry = serde_json::from_value(local_log[0].clone()).expect("the API's type");
    assert_eq!((entry.table.as_str(), entry.level), ("items", hubsync_api::Level::Success));

    assert_eq!(shape(&local), shape(&remote), "one JSON shape:\nfile: {local}\nserver: {remote}");
    assert_eq!(documented_fields("hubsync status --config FILE"), fields(&local), "README's status --json fields");
    let typed: Vec<hubsync_api::GroupState> = serde_json::from_value(remote).expect("the API's type");
    assert_eq!(typed[0].members[0].tables[0].table, "items");
    assert_eq!(typed[0].members[0].tables[0].level, hubsync_api::Level::Success);
    // One text line per member and table, in the same words.
    for text in [&local_text, &remote_text] {
        assert!(text.starts_with("g / m / items: last sync ") && text.contains(" ok in "), "{text}");
        assert!(text.contains(" up, 0 conflicts); last success "), "{text}");
    }
}

#[test]
fn conflicts_and_quarantine_have_one_shape_from_a_group_file_and_from_a_server() {
    let ws = Workspace::new();
    let (hub, member) = (Db::new(Engine::Sqlite), Db::new(Engine::Sqlite));
    hub.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, at TIMESTAMP); INSERT INTO items VALUES (1, 'one', NULL);");
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n\n\
         [[group.table]]\nname = \"items\"\n",
        hub.url, member.url
    ));
    hubsync(&["sync", "--config", &file]).expect_ok("first sync");
    // Both sides change row 1 (a conflict); the application stores text
    // that is no timestamp in row 5 on the member (quarantined).
    let diverge = |round: &str| {
        hub.exec(&format!("UPDATE items SET name = 'hub {round}' WHERE id = 1;"));
        member.exec(&format!("UPDATE items SET name = 'member {round}' WHERE id = 1;"));
    };
    diverge("1");
    member.exec("INSERT INTO items VALUES (5, 'five', 'yesterday-ish');");
    hubsync(&["sync", "--config", &file]).expect_ok("a sync with a conflict and a quarantined row");
    let local_conflicts = hubsync(&["conflicts", "--config", &file, "--group", "g"]);
    let local_conflicts: serde_json::Value =
        serde_json::from_str(local_conflicts.expect_ok("conflicts")).expect("json");
    let local_held = hubsync(&["quarantine", "--config", &file, "--json"]);
    let local_held: serde_json::Value = serde_json::from_str(local_held.expect_ok("quarantine")).expect("json");
    let local_text = hubsync(&["quarantine", "--config", &file]).expect_ok("quarantine").to_owned();

    // The same databases under a server (its own metadata): its first sync
    // meets row 1 changed on both sides again, and row 5.
    diverge("2");
    let served = Served::start(&ws, "served");
    served.cli(&["apply", &file]).expect_ok("apply");
    served.cli(&["sync", "now", "g", "--wait"]).expect_ok("sync now");
    let remote_conflicts = served.cli(&["conflicts", "--group", "g"]);
    let remote_conflicts: serde_json::Value =
        serde_json::from_str(remote_conflicts.expect_ok("conflicts")).expect("json");
    let remote_held = served.cli(&["quarantine", "--group", "g", "--json"]);
    let remote_held: serde_json::Value = serde_json::from_str(remote_held.expect_ok("quarantine")).expect("json");
    let remote_text = served.cli(&["quarantine", "--group", "g"]).expect_ok("quarantine").to_owned();
    drop(served);

    assert!(!fields(&local_conflicts).is_empty(), "a conflict was recorded: {local_conflicts}");
    assert_eq!(
        shape(&local_conflicts),
        shape(&remote_conflicts),
        "conflicts:\nfile: {local_conflicts}\nserver: {remote_conflicts}"
    );
    assert_eq!(
        documented_fields("hubsync conflicts --config FILE"),
        top_fields(&local_conflicts),
        "README's conflicts fields"
    );
    let typed: Vec<hubsync_api::ConflictView> = serde_json::from_value(remote_conflicts).expect("the API's type");
    assert_eq!(typed[0].decision, hubsync_api::Decision::TakeHub, "{typed:?}");

    assert!(!fields(&local_held).is_empty(), "a change was quarantined: {local_held}");
    assert_eq!(shape(&local_held), shape(&remote_held), "quarantine:\nfile: {local_held}\nserver: {remote_held}");
    assert_eq!(
        documented_fields("hubsync quarantine --config FILE"),
        top_fields(&local_held),
        "README's quarantine fields"
    );
    let typed: Vec<hubsync_api::QuarantineView> = serde_json::from_value(remote_held).expect("the API's type");
    assert_eq!((typed[0].side, typed[0].value.as_deref()), (hubsync_api::Side::Member, Some("yesterday-ish")));
    for text in [&local_text, &remote_text] {
        assert!(text.starts_with("#") && text.contains(" g / m / items: key {\"id\":5}"), "{text}");
        assert!(text.contains("column at = \"yesterday-ish\"") && text.contains("failed syncs: 1"), "{text}");
    }
}
