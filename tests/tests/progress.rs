//! On a terminal, `hubsync sync` shows a progress line whose total is known
//! before the first batch: the changes that waited, counted on the
//! databases (here through a pseudo-terminal made by `script`, as a user's
//! shell would give it).

use hubsync_tests::{Db, Engine, Workspace, hubsync_bin};

#[test]
fn a_sync_on_a_terminal_shows_done_of_a_total_known_from_the_start() {
    let ws = Workspace::new();
    let (hub, member) = (Db::new(Engine::Sqlite), Db::new(Engine::Sqlite));
    hub.exec(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) \
         INSERT INTO items SELECT i, 'item ' || i FROM n;",
    );
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n\n\
         [[group.table]]\nname = \"items\"\n",
        hub.url, member.url
    ));
    let command = format!("{} sync --config {file}", hubsync_bin().display());
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("HUBSYNC_CACHE_DIR", ws.dir().join("plugin-cache"))
        .output()
        .expect("script (util-linux) runs hubsync on a pseudo-terminal");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    // The 200,000 hub rows wait; the member's new table has none.
    assert!(text.contains(" of 200000 changes ("), "a progress line with the total: {text}");
    assert!(text.contains("g / m / items: 200000 down"), "{text}");
    assert_eq!(member.scalar("SELECT count(*) FROM items;"), "200000");
}
