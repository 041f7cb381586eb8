//! `hubsync status --json` prints one shape whether it reads a group file
//! or asks a server (the API's `GroupState`), and so do its text lines.

use hubsync_tests::{Db, Engine, Served, Workspace, hubsync};

/// The object keys of a JSON value, recursively (values left out): the shape.
fn shape(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), shape(v))).collect(),
        serde_json::Value::Array(a) => a.first().map(shape).into_iter().collect(),
        _ => serde_json::Value::Null,
    }
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

    // The same group on a server (its own metadata), synced there.
    let served = Served::start(&ws, "served");
    served.cli(&["apply", &file]).expect_ok("apply");
    served.cli(&["sync", "now", "g", "--wait"]).expect_ok("sync now");
    let remote = served.cli(&["status", "--json"]);
    let remote: serde_json::Value = serde_json::from_str(remote.expect_ok("status --json")).expect("json");
    let remote_text = served.cli(&["status"]).expect_ok("status").to_owned();
    drop(served);

    assert_eq!(shape(&local), shape(&remote), "one JSON shape:\nfile: {local}\nserver: {remote}");
    // The README lists that shape's fields for `status --json`: the same names.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README");
    let line = readme.lines().find(|l| l.starts_with("| `hubsync status --config FILE")).expect("status in README");
    let listed = line.split("prints the API's answer, `").nth(1).and_then(|r| r.split('`').next()).expect("the shape");
    let mut documented: Vec<&str> = listed.split('"').skip(1).step_by(2).collect();
    let mut printed = Vec::new();
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
    keys(&shape(&local), &mut printed);
    documented.sort_unstable();
    printed.sort_unstable();
    printed.dedup();
    assert_eq!(documented, printed, "README's status --json fields");
    let typed: Vec<hubsync_api::GroupState> = serde_json::from_value(remote).expect("the API's type");
    assert_eq!(typed[0].members[0].tables[0].table, "items");
    assert_eq!(typed[0].members[0].tables[0].level, hubsync_api::Level::Success);
    // One text line per member and table, in the same words.
    for text in [&local_text, &remote_text] {
        assert!(text.starts_with("g / m / items: last sync ") && text.contains(" ok in "), "{text}");
        assert!(text.contains(" up, 0 conflicts); last success "), "{text}");
    }
}
