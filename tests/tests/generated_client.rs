//! The OpenAPI document generates complete clients: openapi-python-client
//! (PyPI) turns the document a running `hubsync serve` publishes into a
//! Python package with no warning, and a script using only that package
//! creates a group, syncs it, reads its status, history (filtered and
//! paged) and conflicts, and deletes it with its tracking objects — the
//! operations whose query parameters the document once declared as path
//! parameters, which generators refused.
//!
//! The document is first checked with openapi-spec-validator (PyPI).
//! Skipped with a message when `openapi-python-client` is not installed,
//! unless `HUBSYNC_REQUIRE_OPENAPI_CLIENT=1` (CI sets it and installs both).

use std::process::{Command, Stdio};
use std::time::Duration;

use hubsync_tests::{Db, Engine, Served, Workspace, wait_for};

/// Uses the generated package only (no hand-written HTTP or JSON).
const SCRIPT: &str = r#"
import os, sys, time
sys.path.insert(0, os.environ["CLIENT_DIR"])
from hubsync_client.client import AuthenticatedClient
from hubsync_client.api.groups import create_group, delete_group
from hubsync_client.api.sync import sync_now, status, history, conflicts
from hubsync_client.models import GroupConfig, GroupView, GroupState, SyncRequest, Accepted, HistoryPage, Problem, Level, Decision

c = AuthenticatedClient(base_url=os.environ["SERVER"], token=os.environ["TOKEN"], raise_on_unexpected_status=True)
config = GroupConfig.from_dict({
    "name": "g",
    "hub": os.environ["HUB"],
    "member": [{"name": "m", "url": os.environ["MEMBER"]}],
    "table": [{"name": "items"}],
})
created = create_group.sync(client=c, body=config)
assert isinstance(created, GroupView), created

def sync_and_wait(done):
    accepted = sync_now.sync(client=c, group="g", body=SyncRequest())
    assert isinstance(accepted, Accepted), accepted
    for _ in range(300):
        state = status.sync(client=c, group="g")
        assert isinstance(state, GroupState), state
        if done(state):
            return state
        time.sleep(0.1)
    raise SystemExit(f"the sync did not finish: {state}")

def synced(n):
    return lambda s: sum(1 for m in s.members for t in m.tables if t.last_success_micros) >= 1 and \
        len([e for e in history.sync(client=c, group="g").entries]) >= n

state = sync_and_wait(synced(1))
table = state.members[0].tables[0]
assert table.table == "items" and table.rows_down == 2, state.to_dict()
print("synced", flush=True)
# Both applications change row 1 before the next sync: a conflict.
open(os.environ["READY"], "w").close()
while not os.path.exists(os.environ["WRITTEN"]):
    time.sleep(0.05)
sync_and_wait(synced(2))
found = conflicts.sync(client=c, group="g", limit=5)
assert isinstance(found, list) and len(found) == 1, found
assert found[0].table == "items" and found[0].member == "m", found[0].to_dict()
assert found[0].decision == Decision.TAKE_HUB, found[0].to_dict()
page = history.sync(client=c, group="g", member="m", level=Level.SUCCESS, limit=1)
assert isinstance(page, HistoryPage) and len(page.entries) == 1 and page.next_cursor, page
assert page.entries[0].level == Level.SUCCESS, page
older = history.sync(client=c, group="g", cursor=page.next_cursor, limit=10)
assert isinstance(older, HistoryPage) and older.entries and older.entries[0].id < page.entries[0].id, older
none = history.sync(client=c, group="other")
assert isinstance(none, HistoryPage) and not none.entries, none
gone = delete_group.sync_detailed(client=c, group="g", deprovision=True)
assert gone.status_code == 204, gone
missing = status.sync(client=c, group="g")
assert isinstance(missing, Problem) and missing.status == 404, missing
print("ok", flush=True)
"#;

#[test]
fn a_generated_python_client_covers_groups_sync_status_history_conflicts() {
    let have = Command::new("openapi-python-client").arg("--version").output().is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var("HUBSYNC_REQUIRE_OPENAPI_CLIENT").is_err(),
            "openapi-python-client is required (HUBSYNC_REQUIRE_OPENAPI_CLIENT=1) but not installed: \
             pip install openapi-python-client"
        );
        eprintln!("*** SKIPPED: openapi-python-client is not installed (pip install openapi-python-client)");
        return;
    }
    let ws = Workspace::new();
    let (hub, member) = (Db::new(Engine::Sqlite), Db::new(Engine::Sqlite));
    hub.exec(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, 'one'), (2, 'two');",
    );
    let served = Served::start(&ws, "meta");
    let (server, token) = (served.url.clone(), served.token.clone());

    // The document as served, turned into a package.
    let doc = ws.dir().join("openapi.json");
    let got = Command::new("curl")
        .args(["-sf", "-H", &format!("Authorization: Bearer {token}"), "-o"])
        .arg(&doc)
        .arg(format!("{server}/api/v1/openapi.json"))
        .status()
        .expect("curl");
    assert!(got.success(), "fetching the document");
    // A valid OpenAPI 3.1 document (openapi-spec-validator, beside the generator).
    let valid = Command::new("python3")
        .args([
            "-c",
            "import json, sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1])))",
        ])
        .arg(&doc)
        .output()
        .expect("python3");
    assert!(valid.status.success(), "the document does not validate:\n{}", String::from_utf8_lossy(&valid.stderr));
    let generated = Command::new("openapi-python-client")
        .current_dir(ws.dir())
        .args(["generate", "--meta", "none", "--output-path", "hubsync_client", "--path"])
        .arg(&doc)
        .output()
        .expect("openapi-python-client");
    let said = format!("{}{}", String::from_utf8_lossy(&generated.stdout), String::from_utf8_lossy(&generated.stderr));
    assert!(generated.status.success(), "generation failed:\n{said}");
    assert!(
        !said.to_lowercase().contains("warning") && !said.contains("Unable to"),
        "the generator warned (an operation is missing from the client):\n{said}"
    );

    let (ready, written) = (ws.dir().join("ready"), ws.dir().join("written"));
    let mut script = Command::new("python3")
        .args(["-c", SCRIPT])
        .env("CLIENT_DIR", ws.dir())
        .env("SERVER", &server)
        .env("TOKEN", &token)
        .env("HUB", &hub.url)
        .env("MEMBER", &member.url)
        .env("READY", &ready)
        .env("WRITTEN", &written)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let first = wait_for(Duration::from_secs(60), || ready.exists() || script.try_wait().is_ok_and(|s| s.is_some()));
    if first && ready.exists() {
        hub.exec("UPDATE items SET name = 'hub' WHERE id = 1;");
        member.exec("UPDATE items SET name = 'member' WHERE id = 1;");
        std::fs::write(&written, "").expect("signal");
    }
    let out = script.wait_with_output().expect("script");
    drop(served);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && text.contains("ok"),
        "the generated client's script failed:\n{text}\nserver log:\n{}",
        std::fs::read_to_string(ws.dir().join("meta.log")).unwrap_or_default()
    );
    // Deleted with `deprovision=true`: the member keeps no hubsync objects.
    assert_eq!(
        member.scalar("SELECT count(*) FROM sqlite_master WHERE name LIKE 'hubsync%' AND type = 'trigger';"),
        "0"
    );
    assert_eq!(member.scalar("SELECT name FROM items WHERE id = 1;"), "hub", "hub wins the conflict");
}
