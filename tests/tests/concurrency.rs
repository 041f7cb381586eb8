//! `hubsync sync --config --concurrency N`: several members of a group at
//! once from the file CLI, as `hubsync serve` does, with the report still
//! in the definition's order and every member converged.

use hubsync_tests::{Db, Engine, Workspace, hubsync};

#[test]
fn the_file_cli_syncs_members_concurrently_and_they_converge() {
    let (hub, ws) = (Db::new(Engine::Sqlite), Workspace::new());
    hub.exec(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 300) INSERT INTO items SELECT i, 'v' || i FROM s;",
    );
    let members: Vec<Db> = (0..8).map(|_| Db::new(Engine::Sqlite)).collect();
    let mut toml = format!("[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.table]]\nname = \"items\"\n", hub.url);
    for (i, m) in members.iter().enumerate() {
        toml.push_str(&format!("\n[[group.member]]\nname = \"m{i}\"\nurl = \"{}\"\n", m.url));
    }
    let file = ws.group_file(&toml);
    let run = hubsync(&["sync", "--config", &file, "--concurrency", "4"]);
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    let order: Vec<&str> = run.stdout.lines().filter_map(|l| l.split(" / ").nth(1)).collect();
    assert_eq!(
        order,
        ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"],
        "reported in the definition's order:\n{}",
        run.stdout
    );
    assert!(run.stdout.lines().all(|l| l.contains("300 down")), "{}", run.stdout);
    // Each member changes a row; two rounds carry every change everywhere.
    for (i, m) in members.iter().enumerate() {
        m.exec(&format!("UPDATE items SET v = 'from m{i}' WHERE id = {};", i + 1));
    }
    for _ in 0..2 {
        let r = hubsync(&["sync", "--config", &file, "--concurrency", "4"]);
        assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
    }
    let want = hub.query("SELECT id, v FROM items ORDER BY id;");
    assert_eq!(want[7][1], "from m7");
    for m in &members {
        assert_eq!(m.query("SELECT id, v FROM items ORDER BY id;"), want);
    }
    let verify = hubsync(&["verify", "--config", &file]);
    assert!(verify.ok, "{}\n{}", verify.stdout, verify.stderr);
    let bad = hubsync(&["sync", "--config", &file, "--concurrency", "0"]);
    assert!(!bad.ok && bad.stderr.contains("concurrency"), "{}", bad.stderr);
}
