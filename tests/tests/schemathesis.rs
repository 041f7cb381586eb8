//! Schemathesis (PyPI) against the OpenAPI document a running `hubsync
//! serve` publishes: generated requests for every operation, valid and
//! not, with no 5xx and every answer matching the document.
//!
//! Skipped with a message when `schemathesis` is not installed, unless
//! `HUBSYNC_REQUIRE_SCHEMATHESIS=1` (CI sets it and installs it).

use std::process::{Command, Stdio};
use std::time::Duration;

use hubsync_tests::{Db, Engine, Workspace, hubsync, hubsync_cmd, wait_for};

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let have = Command::new("schemathesis").arg("--version").output().is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var("HUBSYNC_REQUIRE_SCHEMATHESIS").is_err(),
            "schemathesis is required (HUBSYNC_REQUIRE_SCHEMATHESIS=1) but not installed: pip install schemathesis"
        );
        eprintln!("*** SKIPPED: schemathesis is not installed (pip install schemathesis)");
        return;
    }
    let ws = Workspace::new();
    let hub = Db::new(Engine::Sqlite);
    let member = Db::new(Engine::Sqlite);
    hub.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, 'one');");
    let meta = format!("sqlite://{}", ws.dir().join("meta.db").display());
    let token = hubsync(&["token", "create", "fuzz-7f3a9c", "--role", "admin", "--metadata", &meta]);
    let token = token.expect_ok("token").trim().to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let server = format!("http://127.0.0.1:{port}");
    let key = "aHVic3luYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=";
    // Run from the scratch folder: fuzzed SQLite URLs land there.
    let mut child = hubsync_cmd(&["serve", "--metadata", &meta, "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(ws.dir())
        .env("HUBSYNC_SECRET_KEY", key)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(ws.dir().join("serve.log")).expect("log"))
        .spawn()
        .expect("serve");
    assert!(wait_for(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()));
    let group = format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n[[group.member]]\nname = \"m1\"\nurl = \"{}\"\n[[group.table]]\nname = \"items\"\n",
        hub.url, member.url
    );
    let file = ws.group_file(&group);
    hubsync(&["apply", &file, "--server", &server, "--token", &token]).expect_ok("apply");
    let out = Command::new("schemathesis")
        .current_dir(ws.dir())
        .args(["run", &format!("{server}/api/v1/openapi.json")])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing", "--max-time", "60", "--workers", "2"])
        .args(["--request-timeout", "20", "--suppress-health-check", "all"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .expect("run schemathesis");
    let _ = child.kill();
    let _ = child.wait();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{text}\nserver log:\n{}",
        std::fs::read_to_string(ws.dir().join("serve.log")).unwrap_or_default()
    );
    eprintln!("{}", text.lines().rev().take(12).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n"));
}
