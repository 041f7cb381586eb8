//! `hubsync demo`, `sync`, `status`, `conflicts` and `reinit` end to end on
//! SQLite files; bad group files are refused before anything is touched.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Executor};

fn hubsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hubsync"))
        .args(args)
        .env("HUBSYNC_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache"))
        .output()
        .expect("run hubsync")
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout
}

async fn sql(path: &Path, script: &str) {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("sqlite");
    pool.execute(AssertSqlSafe(script.to_owned())).await.unwrap_or_else(|e| panic!("{script}: {e}"));
    pool.close().await;
}

async fn count(path: &Path) -> i64 {
    let url = format!("sqlite://{}", path.display());
    let Ok(pool) = sqlx::SqlitePool::connect(&url).await else { return -1 };
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM items").fetch_one(&pool).await.unwrap_or(-1);
    pool.close().await;
    n
}

const FILE: &str = r#"
[[group]]
name = "shop"
hub = "sqlite://hub.db"
interval_seconds = 1
conflict_policy = { plugin = "builtin:member-wins" }

[[group.member]]
name = "till-1"
url = "sqlite://till1.db"

[[group.table]]
name = "items"
"#;

#[test]
fn the_demo_converges() {
    let out = ok(&hubsync(&["demo"]));
    assert!(out.contains("All three databases converged."), "{out}");
    assert!(out.contains("take-hub"), "the conflict and its decision are shown: {out}");
}

#[tokio::test]
async fn sync_status_conflicts_and_reinit_from_a_group_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hubsync.toml");
    let file_s = file.to_str().expect("utf-8");
    // A typo is refused with where it is, before anything is created.
    std::fs::write(&file, FILE.replace("interval_seconds", "interval_secs")).expect("write");
    let out = hubsync(&["sync", "--config", file_s]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("interval_secs"), "{stderr}");
    assert!(!dir.path().join("hubsync-meta.db").exists(), "nothing was created");
    // A table missing on the hub is named.
    std::fs::write(&file, FILE).expect("write");
    let out = hubsync(&["sync", "--config", file_s]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("items is not on the hub"), "{stderr}");

    sql(
        &dir.path().join("hub.db"),
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, 'a'), (2, 'b')",
    )
    .await;
    let out = ok(&hubsync(&["sync", "--config", file_s]));
    assert!(out.contains("shop / till-1 / items: 2 down, 0 up, 0 conflicts"), "{out}");
    assert_eq!(count(&dir.path().join("till1.db")).await, 2);

    sql(&dir.path().join("hub.db"), "UPDATE items SET name = 'hub' WHERE id = 1").await;
    sql(&dir.path().join("till1.db"), "UPDATE items SET name = 'till' WHERE id = 1").await;
    let out = ok(&hubsync(&["sync", "--config", file_s, "--member", "till-1"]));
    assert!(out.contains("1 conflicts"), "{out}");
    let status = ok(&hubsync(&["status", "--config", file_s]));
    assert!(status.contains("shop / till-1 / items") && status.contains(" ok "), "{status}");
    let states: Vec<hubsync_api::GroupState> =
        serde_json::from_str(&ok(&hubsync(&["status", "--config", file_s, "--json"]))).expect("the API's shape");
    let tills: Vec<&str> = states[0].members.iter().map(|m| m.member.as_str()).collect();
    assert!(tills.contains(&"till-1"), "every configured member is listed: {tills:?}");
    let till = states[0].members.iter().find(|m| m.member == "till-1").expect("till-1");
    assert_eq!(till.tables[0].level, hubsync_api::Level::Success);
    // The API's shape, as from a server.
    let conflicts: Vec<hubsync_api::ConflictView> =
        serde_json::from_str(&ok(&hubsync(&["conflicts", "--config", file_s, "--group", "shop"]))).expect("json");
    assert_eq!(conflicts[0].decision, hubsync_api::Decision::TakeMember);
    assert_eq!(conflicts[0].hub_row["name"], "hub");
    assert_eq!(conflicts[0].member_row["name"], "till");
    assert_eq!(conflicts[0].plugin, "member-wins 0.1.0");

    let out = ok(&hubsync(&["reinit", "--config", file_s, "--group", "shop", "--member", "till-1"]));
    assert!(out.contains("from scratch"), "{out}");
    let out = ok(&hubsync(&["sync", "--config", file_s]));
    assert!(out.contains("0 conflicts"), "equal rows are no conflicts after a reinit: {out}");
    let out = hubsync(&["sync", "--config", file_s, "--member", "nobody"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no member \"nobody\""));
}

#[tokio::test]
async fn watch_syncs_on_the_interval() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hubsync.toml");
    std::fs::write(&file, FILE).expect("write");
    sql(&dir.path().join("hub.db"), "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)").await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hubsync"))
        .args(["sync", "--config", file.to_str().expect("utf-8"), "--watch"])
        .env("HUBSYNC_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let till = dir.path().join("till1.db");
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&till).await < 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sql(&dir.path().join("hub.db"), "INSERT INTO items VALUES (1, 'later')").await;
    while count(&till).await != 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = count(&till).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(got, 1, "the scheduler synced the new row within the deadline");
}
