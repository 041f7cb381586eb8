//! What a new user meets first, as separate processes: a group naming the
//! default schema (`namespace = "public"`, `"dbo"`) syncs; `db introspect
//! --json` gives every table's schema; `hubsync serve` starts without
//! `--metadata` and, killed with SIGKILL, starts again at once on its
//! embedded store (a live second instance is still refused); a closed pipe
//! ends the CLI quietly.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use hubsync_tests::{Db, Engine, Workspace, free_port, hubsync, hubsync_cmd, mssql_available, wait_for};

fn default_schema_syncs(engine: Engine, namespace: &str) {
    let (hub, member, ws) = (Db::new(engine), Db::new(Engine::Sqlite), Workspace::new());
    hub.exec("CREATE TABLE t (id int NOT NULL PRIMARY KEY, note varchar(20)); INSERT INTO t VALUES (1, 'one');");
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n\n\
         [[group.table]]\nname = \"t\"\nnamespace = \"{namespace}\"\n",
        hub.url, member.url
    ));
    let run = hubsync_tests::sync_settled(&file).0;
    run.expect_ok(&format!("namespace = {namespace:?} on {engine:?}"));
    assert_eq!(member.scalar("SELECT note FROM t WHERE id = 1;"), "one");
    // What introspection prints names the schema, so it can be pasted.
    let out = hubsync(&["db", "introspect", &hub.url, "--json"]);
    let tables: serde_json::Value = serde_json::from_str(out.expect_ok("introspect")).expect("json");
    let t = tables.as_array().and_then(|a| a.iter().find(|t| t["name"] == "t")).expect("table t");
    assert_eq!(t["namespace"], namespace, "{t}");
    // Naming it or not is the same table: no second set of anchors.
    let plain = ws.group_file(
        &std::fs::read_to_string(&file).expect("file").replace(&format!("namespace = \"{namespace}\"\n"), ""),
    );
    hub.exec("INSERT INTO t VALUES (2, 'two');");
    hubsync_tests::sync_settled(&plain).0.expect_ok("without the namespace");
    let status = hubsync_tests::status_of(&plain);
    let rows = hubsync_tests::table_states(&status);
    assert_eq!(rows.len(), 1, "one table, one name: {status:?}");
    assert_eq!(rows[0].table, "t", "{status:?}");
    assert_eq!(rows[0].rows_down, 1, "only the new row: {status:?}");
}

#[test]
fn a_namespace_naming_the_default_schema_means_the_same_table() {
    default_schema_syncs(Engine::Postgres, "public");
    if mssql_available() {
        default_schema_syncs(Engine::Mssql, "dbo");
    }
}

fn start(args: &[&str], env: &[(&str, &std::path::Path)], log: &std::path::Path) -> std::process::Child {
    let mut c = hubsync_cmd(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.env("HUBSYNC_SECRET_KEY", "aHVic3luYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("spawn serve")
}

fn listening(port: u16, within: Duration) -> bool {
    wait_for(within, || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok())
}

#[test]
fn serve_starts_on_a_default_store_and_again_at_once_after_sigkill() {
    let ws = Workspace::new();
    let data = ws.dir().join("data");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let args = ["serve", "--listen", &listen];
    let env = [("XDG_DATA_HOME", data.as_path()), ("HOME", ws.dir())];
    let log = ws.dir().join("serve.log");
    let mut first = start(&args, &env, &log);
    assert!(listening(port, Duration::from_secs(30)), "{}", std::fs::read_to_string(&log).unwrap_or_default());
    let store = data.join("hubsync/metadata.db");
    assert!(store.exists(), "the default store is {}", store.display());
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(said.contains(&format!("metadata database: sqlite://{}", store.display())), "{said}");

    // A second live instance on the same store is refused.
    let second = hubsync_cmd(&["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .env("XDG_DATA_HOME", &data)
        .env("HOME", ws.dir())
        .env("HUBSYNC_SECRET_KEY", "aHVic3luYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=")
        .output()
        .expect("second instance");
    assert!(!second.status.success() && String::from_utf8_lossy(&second.stderr).contains("another hubsync serve"));

    // SIGKILL, then start again at once, as a supervisor does.
    first.kill().expect("SIGKILL");
    let _ = first.wait();
    let clock = Instant::now();
    let log2 = ws.dir().join("serve2.log");
    let mut again = start(&args, &env, &log2);
    assert!(
        listening(port, Duration::from_secs(10)),
        "not serving 10 s after a restart:\n{}",
        std::fs::read_to_string(&log2).unwrap_or_default()
    );
    eprintln!("serving again {} ms after SIGKILL", clock.elapsed().as_millis());
    let _ = again.kill();
    let _ = again.wait();
}

#[test]
fn a_closed_pipe_ends_the_cli_quietly() {
    // The reader is gone before hubsync writes its first line.
    let mut child =
        hubsync_cmd(&["plugin", "list"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run");
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut err).expect("read stderr");
    let status = child.wait().expect("wait");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(status.code(), Some(141), "exits as a writer stopped by its pipe: {status:?} {err}");
}
