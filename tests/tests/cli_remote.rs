//! Every `--server` command of the CLI against a running `hubsync serve`,
//! as an operator runs them one after another (Data Sync's PowerShell
//! cmdlets): each succeeds and prints what it is for, as text and as JSON
//! (the API's types, read back here through `hubsync-api`).

use hubsync_tests::{Db, Engine, Served, Workspace, built_plugin};

#[test]
fn the_server_commands_run_one_after_another() {
    let ws = Workspace::new();
    let (hub, member, other) = (Db::new(Engine::Sqlite), Db::new(Engine::Sqlite), Db::new(Engine::Sqlite));
    hub.exec(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER); INSERT INTO items VALUES (1, 'one', 1);",
    );
    let s = Served::start(&ws, "served");
    let ok = |args: &[&str]| s.cli(args).expect_ok(&args.join(" ")).to_owned();
    let json = |args: &[&str]| -> serde_json::Value {
        let out = ok(&[args, &["--json"]].concat());
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} --json: {e}\n{out}"))
    };

    let m = format!("m={}", member.url);
    let out = ok(&["group", "create", "g", "--hub", &hub.url, "--member", &m, "--table", "items"]);
    assert!(out.contains("created group g (revision"), "{out}");
    let out = ok(&["group", "list"]);
    assert!(out.contains("g ") && out.contains("1"), "{out}");
    let groups: Vec<hubsync_api::GroupSummary> = serde_json::from_value(json(&["group", "list"])).expect("summaries");
    assert_eq!((groups[0].members, groups[0].tables), (1, 1));
    assert!(ok(&["group", "show", "g"]).contains("# revision"));
    let out = ok(&["group", "update", "g", "--interval-seconds", "3600"]);
    assert!(out.contains("updated group g"), "{out}");

    ok(&["member", "add", "g", "o", "--url", &other.url, "--direction", "from-hub"]);
    let out = ok(&["member", "list", "g"]);
    assert!(out.contains("from-hub") && out.contains("bidirectional"), "{out}");
    let out = ok(&["member", "update", "g", "o", "--direction", "bidirectional"]);
    assert!(out.contains("updated member o"), "{out}");

    let out = ok(&["schema", "refresh", "g"]);
    assert!(out.contains("items") && out.contains(" key"), "{out}");
    let tables: Vec<hubsync_api::SchemaTable> =
        serde_json::from_value(json(&["schema", "refresh", "g"])).expect("schema");
    assert_eq!(tables[0].columns.len(), 3);
    let out = ok(&["schema", "set", "g", "--table", "items:id,name,qty"]);
    assert!(out.contains("now syncs 1 tables"), "{out}");
    assert!(ok(&["schema", "show", "g"]).contains("items: id, name, qty"));

    let out = ok(&["sync", "now", "g", "--wait"]);
    assert!(out.contains("g / m / items: success (1 down"), "{out}");
    // A conflict: both sides change row 1.
    hub.exec("UPDATE items SET qty = 5 WHERE id = 1;");
    member.exec("UPDATE items SET qty = 9 WHERE id = 1;");
    ok(&["sync", "now", "g", "--member", "m", "--wait"]);
    let conflicts: Vec<hubsync_api::ConflictView> =
        serde_json::from_str(&ok(&["conflicts", "--group", "g"])).expect("conflicts");
    assert_eq!(conflicts[0].decision, hubsync_api::Decision::TakeHub);
    let out = ok(&["conflicts", "--group", "g", "--replay", "builtin:member-wins"]);
    assert!(out.contains("1 conflicts replayed") && out.contains("take-member"), "{out}");
    let out = ok(&["log", "--group", "g"]);
    assert!(out.contains("success") && out.contains("g / m / items"), "{out}");
    assert!(ok(&["status", "--group", "g"]).contains("g / m / items: last sync"));
    let held: Vec<hubsync_api::QuarantineView> =
        serde_json::from_value(json(&["quarantine", "--group", "g"])).expect("quarantine");
    assert!(held.is_empty(), "{held:?}");

    let plugin = built_plugin("keep_larger_amount");
    let out = ok(&["plugin", "upload", &plugin.display().to_string(), "--name", "larger"]);
    assert!(out.contains("uploaded larger") && out.contains("stored:larger"), "{out}");
    assert!(ok(&["plugin", "list"]).contains("stored:larger"));
    ok(&["plugin", "remove", "larger"]);

    let created = ok(&["token", "create", "ci", "--role", "reader"]);
    assert!(created.starts_with("hst_"), "{created}");
    assert!(ok(&["token", "list"]).contains("reader"));
    ok(&["token", "revoke", "ci"]);
    let key = ok(&["agent", "create", "onprem"]);
    assert!(!key.trim().is_empty());
    assert!(ok(&["agent", "list"]).contains("onprem"));
    ok(&["agent", "delete", "onprem"]);

    assert!(ok(&["export"]).contains("[[group]]"));
    ok(&["member", "remove", "g", "o"]);
    let out = ok(&["group", "delete", "g", "--deprovision"]);
    assert!(out.contains("removed group g and its change tracking"), "{out}");
}
