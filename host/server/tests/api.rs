//! Every route of the admin API against a real server on loopback (SQLite
//! metadata and databases, the real scheduler): the happy paths, auth
//! failures (no token, wrong token, reader token on a write), bad bodies
//! and unknown ids, all answered with problem+json and never a 5xx.
//!
//! It sends raw bodies and reads answers as JSON on purpose: it pins the
//! words on the wire (`take-hub`, `waiting-for-key`, `revision`), which
//! the shared Rust types would hide from a test written with them. The
//! typed client (`hubsync-client`) is what the CLI and the process tests use.

use std::time::Duration;

use hubsync_client::{CallError, Client};
use hubsync_connectors::meta::MetaStore;
use hubsync_connectors::secret::Cipher;
use hubsync_engine::Engine;
use hubsync_server::{Role, ServeOptions};
use serde_json::{Value, json};

struct Server {
    url: String,
    admin: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    dir: tempfile::TempDir,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().expect("dir");
    let key = Cipher::generate().expect("key");
    let meta = MetaStore::open(&format!("sqlite://{}", dir.path().join("meta.db").display()))
        .await
        .expect("store")
        .with_cipher(Cipher::from_base64(&key).expect("cipher"));
    let engine = Engine::with_store(meta, None).expect("engine").with_holder("test-1".into());
    let admin = hubsync_server::bootstrap_token(&engine).await.expect("token").expect("first token");
    assert!(hubsync_server::bootstrap_token(&engine).await.expect("token").is_none(), "only once");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let options = ServeOptions {
        listen: "127.0.0.1:0".parse().expect("addr"),
        body_limit_bytes: 64 << 10,
        lease_seconds: 5,
        concurrency: 2,
        retry_seconds: Some(30),
        instance: "test-1".into(),
        tls: None,
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        hubsync_server::serve_on(listener, engine, options, async {
            let _ = rx.await;
        })
        .await
        .expect("serve");
    });
    Server { url, admin, stop: Some(tx), task, dir }
}

impl Server {
    fn client(&self, token: Option<&str>) -> Client {
        Client::new(&self.url, token.map(str::to_owned), None).expect("client")
    }

    fn db(&self, name: &str) -> String {
        format!("sqlite://{}", self.dir.path().join(name).display())
    }
}

async fn status_of(c: &Client, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    match c.call(method, path, body.map(|b| serde_json::to_vec(&b).expect("json"))).await {
        Ok((s, b)) => (s, if b.is_empty() { Value::Null } else { serde_json::from_slice(&b).unwrap_or(Value::Null) }),
        Err(CallError { status, message }) => {
            assert!(status < 500, "{method} {path}: a 5xx ({status}): {message}");
            (status, json!({ "detail": message }))
        }
    }
}

async fn expect(c: &Client, method: &str, path: &str, body: Option<Value>, want: u16) -> Value {
    let (got, v) = status_of(c, method, path, body).await;
    assert_eq!(got, want, "{method} {path}: {v}");
    v
}

fn sqlite(path: &str, sql: &str) {
    let out = std::process::Command::new("sqlite3").arg(path).arg(sql).output().expect("sqlite3");
    assert!(out.status.success(), "sqlite3: {}", String::from_utf8_lossy(&out.stderr));
}

fn rows(path: &str, sql: &str) -> String {
    let out = std::process::Command::new("sqlite3").arg(path).arg(sql).output().expect("sqlite3");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn group_json(s: &Server, name: &str) -> Value {
    json!({
        "name": name,
        "hub": s.db("hub.db"),
        "member": [{"name": "m1", "url": s.db("m1.db")}],
        "table": [{"name": "items"}],
    })
}

/// Wait until every member of `group` has a sync that started after `after`.
async fn synced(c: &Client, group: &str, after: i64) -> Value {
    for _ in 0..200 {
        let st: Value = c.get(&format!("/api/v1/groups/{group}/status")).await.expect("status");
        let done = st["members"].as_array().expect("members").iter().all(|m| {
            m["syncing_on"].is_null()
                && m["tables"].as_array().is_some_and(|t| {
                    !t.is_empty() && t.iter().all(|t| t["last_started_micros"].as_i64().unwrap_or(0) >= after)
                })
        });
        if done {
            return st;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("group {group} did not sync in 20 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_as_documented() {
    let mut s = start().await;
    let hub = s.dir.path().join("hub.db").display().to_string();
    let m1 = s.dir.path().join("m1.db").display().to_string();
    sqlite(
        &hub,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, 'one'), (2, 'two');",
    );
    let admin = s.client(Some(&s.admin.clone()));
    let anon = s.client(None);
    let wrong = s.client(Some("hst_000000000000_nope"));

    // Health needs no token; everything else does.
    assert_eq!(anon.get_text("/healthz").await.expect("healthz"), "ok\n");
    assert_eq!(anon.get_text("/readyz").await.expect("readyz"), "ready\n");
    let reader_token =
        expect(&admin, "POST", "/api/v1/tokens", Some(json!({"name": "ro", "role": "reader"})), 201).await;
    let reader = s.client(reader_token["token"].as_str());
    let reads = [
        "/api/v1/groups",
        "/api/v1/groups/g",
        "/api/v1/groups/g/members",
        "/api/v1/groups/g/members/m1",
        "/api/v1/groups/g/tables",
        "/api/v1/groups/g/schema",
        "/api/v1/groups/g/status",
        "/api/v1/groups/g/conflicts",
        "/api/v1/groups/g/quarantine",
        "/api/v1/plugins",
        "/api/v1/plugins/p",
        "/api/v1/agents",
        "/api/v1/agents/a",
        "/api/v1/history",
        "/api/v1/tokens",
        "/api/v1/openapi.json",
        "/metrics",
    ];
    let writes = [
        ("POST", "/api/v1/groups"),
        ("PUT", "/api/v1/groups/g"),
        ("DELETE", "/api/v1/groups/g"),
        ("POST", "/api/v1/groups/g/members"),
        ("PATCH", "/api/v1/groups/g/members/m1"),
        ("DELETE", "/api/v1/groups/g/members/m1"),
        ("PUT", "/api/v1/groups/g/tables"),
        ("POST", "/api/v1/groups/g/sync"),
        ("POST", "/api/v1/groups/g/cancel"),
        ("POST", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens/ro"),
        ("DELETE", "/api/v1/plugins/p"),
        ("POST", "/api/v1/groups/g/quarantine/retry"),
        ("POST", "/api/v1/groups/g/quarantine/discard"),
        ("POST", "/api/v1/agents"),
        ("DELETE", "/api/v1/agents/a"),
        ("POST", "/api/v1/agents/a/regenerate-key"),
    ];
    for p in reads {
        let v = expect(&anon, "GET", p, None, 401).await;
        assert!(v["detail"].as_str().expect("detail").contains("Bearer"), "{v}");
        expect(&wrong, "GET", p, None, 401).await;
    }
    for (m, p) in writes {
        expect(&anon, m, p, Some(json!({})), 401).await;
        expect(&wrong, m, p, Some(json!({})), 401).await;
        let v = expect(&reader, m, p, Some(json!({})), 403).await;
        assert!(v["detail"].as_str().expect("detail").contains("reader"), "{v}");
    }
    expect(&reader, "GET", "/api/v1/tokens", None, 403).await;

    // The OpenAPI document is 3.1 and lists every route.
    let doc: Value = admin.get("/api/v1/openapi.json").await.expect("openapi");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"), "{}", doc["openapi"]);
    for p in reads.iter().filter(|p| p.starts_with("/api/v1/") && !p.ends_with("openapi.json")) {
        let templ: Vec<&str> = p
            .split('/')
            .map(|seg| match seg {
                "g" => "{group}",
                "m1" => "{member}",
                "p" => "{plugin}",
                "a" => "{agent}",
                other => other,
            })
            .collect();
        let templ = templ.join("/");
        assert!(doc["paths"].get(&templ).is_some(), "{templ} missing from the OpenAPI document");
    }

    // Groups: create, refuse duplicates and bad bodies, list, show, update.
    let created = expect(&admin, "POST", "/api/v1/groups", Some(group_json(&s, "g")), 201).await;
    assert_eq!(created["revision"], 1);
    expect(&admin, "POST", "/api/v1/groups", Some(group_json(&s, "g")), 409).await;
    let bad =
        expect(&admin, "POST", "/api/v1/groups", Some(json!({"name": "x", "hub": "sqlite://h", "colour": 1})), 400)
            .await;
    assert!(bad["detail"].as_str().expect("detail").contains("colour"), "{bad}");
    let (st, _) = status_of(&admin, "POST", "/api/v1/groups", None).await;
    assert_eq!(st, 400);
    let r = admin.call("POST", "/api/v1/groups", Some(b"{not json".to_vec())).await.expect_err("bad json");
    assert_eq!(r.status, 400);
    let mut bad_name = group_json(&s, "no spaces");
    bad_name["member"][0]["name"] = json!("hub");
    let v = expect(&admin, "POST", "/api/v1/groups", Some(bad_name), 400).await;
    assert!(v["detail"].as_str().expect("detail").contains("not valid"), "{v}");
    assert_eq!(admin.get::<Value>("/api/v1/groups").await.expect("list").as_array().expect("list").len(), 1);
    expect(&admin, "GET", "/api/v1/groups/nope", None, 404).await;
    expect(&admin, "GET", "/api/v1/groups/bad%20name", None, 400).await;
    let g = expect(&admin, "GET", "/api/v1/groups/g", None, 200).await;
    let mut def = g["definition"].clone();
    def["interval_seconds"] = json!(3600);
    let v = expect(&admin, "PUT", "/api/v1/groups/g", Some(json!({"revision": 1, "definition": def})), 200).await;
    assert_eq!(v["revision"], 2);
    expect(&admin, "PUT", "/api/v1/groups/g", Some(json!({"revision": 1, "definition": def})), 409).await;
    let mut renamed = def.clone();
    renamed["name"] = json!("other");
    expect(&admin, "PUT", "/api/v1/groups/g", Some(json!({"definition": renamed})), 400).await;
    expect(&admin, "PUT", "/api/v1/groups/nope", Some(json!({"definition": def})), 404).await;

    // Members.
    let pg = "postgres://app:s3cret-pw@127.0.0.1:1/nowhere";
    let v = expect(
        &admin,
        "POST",
        "/api/v1/groups/g/members",
        Some(json!({"name": "m2", "url": pg, "direction": "to-hub"})),
        201,
    )
    .await;
    assert_eq!(v["member"]["url"], "postgres://app:***@127.0.0.1:1/nowhere", "passwords never come back");
    expect(&admin, "POST", "/api/v1/groups/g/members", Some(json!({"name": "m2", "url": s.db("x.db")})), 409).await;
    expect(
        &admin,
        "POST",
        "/api/v1/groups/g/members",
        Some(json!({"name": "m3", "url": s.db("x.db"), "bogus": 1})),
        400,
    )
    .await;
    expect(&admin, "POST", "/api/v1/groups/nope/members", Some(json!({"name": "m3", "url": s.db("x.db")})), 404).await;
    let listed: Value = admin.get("/api/v1/groups/g/members").await.expect("members");
    assert_eq!(listed.as_array().expect("list").len(), 2);
    assert!(!listed.to_string().contains("s3cret"));
    expect(&admin, "GET", "/api/v1/groups/g/members/m2", None, 200).await;
    expect(&admin, "GET", "/api/v1/groups/g/members/zz", None, 404).await;
    // A masked URL sent back keeps the stored password; the store holds it sealed.
    let v = expect(
        &admin,
        "PATCH",
        "/api/v1/groups/g/members/m2",
        Some(json!({"url": "postgres://app:***@127.0.0.1:1/nowhere", "direction": "from-hub"})),
        200,
    )
    .await;
    assert_eq!(v["member"]["direction"], "from-hub");
    let raw = rows(&s.dir.path().join("meta.db").display().to_string(), "SELECT definition FROM group_specs");
    assert!(raw.starts_with("enc:v1:") && !raw.contains("s3cret"), "stored definitions are sealed");
    expect(&admin, "PATCH", "/api/v1/groups/g/members/m2", Some(json!({"colour": "red"})), 400).await;
    expect(&admin, "PATCH", "/api/v1/groups/g/members/zz", Some(json!({"direction": "to-hub"})), 404).await;
    expect(&admin, "PATCH", "/api/v1/groups/g/members/m2", Some(json!({"direction": "sideways"})), 400).await;
    expect(&admin, "DELETE", "/api/v1/groups/g/members/m2", None, 204).await;
    expect(&admin, "DELETE", "/api/v1/groups/g/members/m2", None, 404).await;
    expect(&admin, "DELETE", "/api/v1/groups/g/members/m1", None, 400).await;
    expect(&admin, "DELETE", "/api/v1/groups/g/members/m1?deprovision=maybe", None, 400).await;

    // Sync schema and live schema.
    let t: Value = admin.get("/api/v1/groups/g/tables").await.expect("tables");
    assert_eq!(t[0]["name"], "items");
    expect(&admin, "PUT", "/api/v1/groups/g/tables", Some(json!([{"name": "items", "columns": ["id", "name"]}])), 200)
        .await;
    expect(&admin, "PUT", "/api/v1/groups/g/tables", Some(json!({"name": "items"})), 400).await;
    let live: Value = admin.get("/api/v1/groups/g/schema").await.expect("schema");
    assert_eq!(live[0]["table"], "items");
    assert_eq!(live[0]["columns"][0]["key"], true);
    expect(&admin, "GET", "/api/v1/groups/g/schema?database=m1", None, 200).await;
    expect(&admin, "GET", "/api/v1/groups/g/schema?database=zz", None, 404).await;
    expect(&admin, "GET", "/api/v1/groups/g/schema?colour=1", None, 400).await;

    // Sync now, then a conflict, then history, conflicts and quarantine.
    let before = hubsync_server::now_micros();
    let v = expect(&admin, "POST", "/api/v1/groups/g/sync", None, 202).await;
    assert_eq!(v["members"], 1);
    synced(&admin, "g", before).await;
    assert_eq!(rows(&m1, "SELECT id, name FROM items ORDER BY id"), "1|one\n2|two");
    sqlite(&hub, "UPDATE items SET name = 'hub' WHERE id = 1");
    sqlite(&m1, "UPDATE items SET name = 'member' WHERE id = 1");
    let before = hubsync_server::now_micros();
    expect(&admin, "POST", "/api/v1/groups/g/sync", Some(json!({"member": "m1"})), 202).await;
    let st = synced(&admin, "g", before).await;
    assert_eq!(st["members"][0]["tables"][0]["level"], "success", "{st}");
    assert_eq!(rows(&m1, "SELECT name FROM items WHERE id = 1"), "hub");
    expect(&admin, "POST", "/api/v1/groups/g/sync", Some(json!({"member": "zz"})), 404).await;
    expect(&admin, "POST", "/api/v1/groups/g/sync", Some(json!({"members": "m1"})), 400).await;
    expect(&admin, "POST", "/api/v1/groups/nope/sync", None, 404).await;
    let v = expect(&admin, "POST", "/api/v1/groups/g/cancel", None, 202).await;
    assert_eq!(v["members"], 0);
    let c: Value = admin.get("/api/v1/groups/g/conflicts").await.expect("conflicts");
    assert_eq!(c[0]["decision"].as_str().map(|d| d.contains("hub")), Some(true), "{c}");
    assert_eq!(c[0]["hub_row"]["name"], "hub");
    assert_eq!(c[0]["member_row"]["name"], "member");
    expect(&admin, "GET", "/api/v1/groups/g/conflicts?limit=0", None, 400).await;
    expect(&admin, "GET", "/api/v1/groups/nope/conflicts", None, 404).await;
    let q: Value = admin.get("/api/v1/groups/g/quarantine").await.expect("quarantine");
    assert_eq!(q, json!([]));
    let h: Value = admin.get("/api/v1/history?group=g&level=success&limit=1").await.expect("history");
    assert_eq!(h["entries"].as_array().expect("entries").len(), 1);
    assert_eq!(h["entries"][0]["instance"], "test-1");
    let cursor = h["next_cursor"].as_i64().expect("a next page");
    let older: Value = admin.get(&format!("/api/v1/history?group=g&limit=1&cursor={cursor}")).await.expect("page 2");
    assert!(older["entries"][0]["id"].as_i64().expect("id") < cursor);
    // m2 (unreachable) was due at once when the group got an interval: its
    // failure is the only error, and its message masks the password.
    let errors: Value = admin.get("/api/v1/history?level=error").await.expect("errors");
    let errors = errors["entries"].as_array().expect("entries");
    assert!(errors.iter().all(|e| e["member"] == "m2"), "{errors:?}");
    assert!(!format!("{errors:?}").contains("s3cret"));
    let none: Value = admin.get("/api/v1/history?level=error&member=m1").await.expect("errors");
    assert_eq!(none["entries"], json!([]));
    let future: Value = admin.get(&format!("/api/v1/history?since_micros={}", i64::MAX - 1)).await.expect("since");
    assert_eq!(future["entries"], json!([]));
    expect(&admin, "GET", "/api/v1/history?level=loud", None, 400).await;
    expect(&admin, "GET", "/api/v1/history?limit=5000", None, 400).await;
    expect(&admin, "GET", "/api/v1/history?limit=abc", None, 400).await;

    // Replay: member-wins would have decided the recorded hub-wins conflict otherwise.
    let replay = json!({"policy": {"plugin": "builtin:member-wins"}});
    let v = expect(&reader, "POST", "/api/v1/groups/g/conflicts/replay", Some(replay.clone()), 200).await;
    assert_eq!((v["replayed"].as_u64(), v["same"].as_u64()), (Some(1), Some(0)), "{v}");
    assert_eq!(v["differences"][0]["recorded"], "take-hub");
    assert_eq!(v["differences"][0]["replayed"], "take-member");
    let v = expect(
        &admin,
        "POST",
        "/api/v1/groups/g/conflicts/replay",
        Some(json!({"policy": {"plugin": "builtin:hub-wins"}})),
        200,
    )
    .await;
    assert_eq!(v["differences"], json!([]));
    expect(
        &admin,
        "POST",
        "/api/v1/groups/g/conflicts/replay",
        Some(json!({"policy": {"plugin": "/etc/passwd"}})),
        400,
    )
    .await;
    expect(
        &admin,
        "POST",
        "/api/v1/groups/g/conflicts/replay",
        Some(json!({"policy": {"plugin": "builtin:nope"}})),
        422,
    )
    .await;
    expect(&admin, "POST", "/api/v1/groups/nope/conflicts/replay", Some(replay), 404).await;

    // Reinit: state forgotten, synced again from scratch (nothing new to write).
    let before = hubsync_server::now_micros();
    let v = expect(&admin, "POST", "/api/v1/groups/g/members/m1/reinit", None, 202).await;
    assert_eq!(v["count"], 1);
    synced(&admin, "g", before).await;
    assert_eq!(rows(&m1, "SELECT count(*) FROM items"), "2");
    expect(&admin, "POST", "/api/v1/groups/g/members/zz/reinit", None, 404).await;
    expect(&reader, "POST", "/api/v1/groups/g/members/m1/reinit", None, 403).await;

    // Quarantine actions.
    let v = expect(&admin, "POST", "/api/v1/groups/g/quarantine/retry", None, 200).await;
    assert_eq!(v["count"], 0);
    let v = expect(&admin, "POST", "/api/v1/groups/g/quarantine/discard", Some(json!({"ids": [1, 2]})), 200).await;
    assert_eq!(v["count"], 0);
    expect(&admin, "POST", "/api/v1/groups/g/quarantine/discard", Some(json!({"ids": "all"})), 400).await;
    expect(&reader, "POST", "/api/v1/groups/g/quarantine/retry", None, 403).await;

    // Plugins: a real component is checked and stored; junk is refused;
    // one in use cannot be removed.
    let wasm = hubsync_plugin_host::builtin::bytes("member-wins").expect("built-in").to_vec();
    let (st, body) = admin.call("POST", "/api/v1/plugins?name=mine", Some(wasm)).await.expect("upload");
    assert_eq!(st, 201);
    let up: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(up["role"], "conflict-policy");
    let e =
        admin.call("POST", "/api/v1/plugins?name=junk", Some(b"\0asm not really".to_vec())).await.expect_err("junk");
    assert_eq!(e.status, 400, "{}", e.message);
    let e = reader.call("POST", "/api/v1/plugins?name=x", Some(b"x".to_vec())).await.expect_err("reader");
    assert_eq!(e.status, 403);
    expect(&admin, "POST", "/api/v1/plugins", Some(json!({})), 400).await;
    let list: Value = reader.get("/api/v1/plugins").await.expect("plugins");
    assert_eq!(list[0]["name"], "mine");
    expect(&admin, "GET", "/api/v1/plugins/nope", None, 404).await;
    let v = expect(
        &admin,
        "POST",
        "/api/v1/groups/g/conflicts/replay",
        Some(json!({"policy": {"plugin": "stored:mine"}})),
        200,
    )
    .await;
    assert_eq!(v["differences"][0]["replayed"], "take-member", "the uploaded copy decides as member-wins");
    let tables = json!([{"name": "items", "columns": ["id", "name"], "conflict_policy": {"plugin": "stored:mine"}}]);
    expect(&admin, "PUT", "/api/v1/groups/g/tables", Some(tables), 200).await;
    let v = expect(&admin, "GET", "/api/v1/plugins/mine", None, 200).await;
    assert_eq!(v["used_by"], json!(["g"]));
    expect(&admin, "DELETE", "/api/v1/plugins/mine", None, 409).await;

    // Metrics.
    let m = admin.get_text("/metrics").await.expect("metrics");
    assert!(m.contains("hubsync_rows_down_total{group=\"g\",member=\"m1\"} 3"), "{m}");
    assert!(m.contains("hubsync_sync_duration_seconds_count{group=\"g\",member=\"m1\"} 3"), "{m}");
    assert!(m.contains("hubsync_conflicts_total{group=\"g\",member=\"m1\",decision=\"take-hub\"} 1"), "{m}");
    assert!(m.contains("hubsync_plugin_calls_total{group=\"g\",plugin=\"hub-wins"), "{m}");

    // Agents: a key is shown once and works exactly once, even raced;
    // regenerating retires the old key.
    let created = expect(&admin, "POST", "/api/v1/agents", Some(json!({"name": "onprem"})), 201).await;
    let key = created["key"].as_str().expect("key").to_owned();
    expect(&admin, "POST", "/api/v1/agents", Some(json!({"name": "onprem"})), 409).await;
    expect(&admin, "POST", "/api/v1/agents", Some(json!({"name": "bad name"})), 400).await;
    expect(&reader, "POST", "/api/v1/agents", Some(json!({"name": "x"})), 403).await;
    let listed: Value = reader.get("/api/v1/agents").await.expect("agents");
    assert_eq!(listed[0]["state"], "waiting-for-key");
    assert!(!listed.to_string().contains(&key), "keys are never shown again");
    let join = json!({"key": key, "version": "0.1.0"});
    let mut racers = Vec::new();
    for _ in 0..6 {
        let (c, body) = (anon.clone(), join.clone());
        racers.push(tokio::spawn(async move { status_of(&c, "POST", "/api/v1/agent-join", Some(body)).await }));
    }
    let mut won = Vec::new();
    for r in racers {
        let (st, v) = r.await.expect("join");
        assert!(st == 200 || st == 401, "{st}: {v}");
        if st == 200 {
            won.push(v);
        }
    }
    assert_eq!(won.len(), 1, "a key works exactly once");
    assert_eq!(won[0]["agent"], "onprem");
    assert!(won[0]["credential"].as_str().expect("credential").starts_with("hsc_"));
    let a = expect(&reader, "GET", "/api/v1/agents/onprem", None, 200).await;
    assert_eq!(
        (a["state"].as_str(), a["online"].as_bool(), a["address"].as_str()),
        (Some("joined"), Some(true), Some("127.0.0.1"))
    );
    let v = expect(&anon, "POST", "/api/v1/agent-join", Some(join.clone()), 401).await;
    assert!(v["detail"].as_str().expect("detail").contains("regenerate-key"), "{v}");
    let fresh = expect(&admin, "POST", "/api/v1/agents/onprem/regenerate-key", None, 200).await;
    assert_eq!(expect(&admin, "GET", "/api/v1/agents/onprem", None, 200).await["state"], "waiting-for-key");
    expect(&anon, "POST", "/api/v1/agent-join", Some(join), 401).await;
    let join = json!({"key": fresh["key"], "version": "0.1.0"});
    let joined = expect(&anon, "POST", "/api/v1/agent-join", Some(join), 200).await;
    // The agent connection: its credential, and a protocol version both speak.
    let credential = joined["credential"].as_str().expect("credential").to_owned();
    let as_agent = s.client(Some(&credential));
    use hubsync_api::agent_link::{CONNECT_PATH, PROTOCOL_HEADER};
    let ws = |c: Client, versions: Option<&'static str>| async move {
        let headers: Vec<(&str, String)> = versions.map(|v| (PROTOCOL_HEADER, v.to_owned())).into_iter().collect();
        c.websocket(CONNECT_PATH, &headers).await.map(|_| ())
    };
    let e = ws(anon.clone(), Some("1-1")).await.expect_err("no credential");
    assert_eq!(e.status, 401, "{e}");
    let e = ws(as_agent.clone(), Some("7-9")).await.expect_err("too new");
    assert!(e.status == 426 && e.message.contains("upgrade the service"), "{}: {e}", e.status);
    let e = ws(as_agent.clone(), Some("0-0")).await.expect_err("too old");
    assert!(e.status == 426 && e.message.contains("agent is too old"), "{}: {e}", e.status);
    let e = ws(as_agent.clone(), None).await.expect_err("no versions");
    assert_eq!(e.status, 400, "{e}");
    ws(as_agent.clone(), Some("1-1")).await.expect("the agent connects");
    let e = ws(reader.clone(), Some("1-1")).await.expect_err("an API token is not an agent credential");
    assert_eq!(e.status, 401, "{e}");
    expect(&anon, "POST", "/api/v1/agent-join", Some(json!({"key": "x"})), 400).await;
    expect(&reader, "POST", "/api/v1/agents/onprem/regenerate-key", None, 403).await;
    expect(&admin, "POST", "/api/v1/agents/nope/regenerate-key", None, 404).await;
    expect(&admin, "DELETE", "/api/v1/agents/onprem", None, 204).await;
    expect(&admin, "GET", "/api/v1/agents/onprem", None, 404).await;

    // Tokens.
    let list: Value = admin.get("/api/v1/tokens").await.expect("tokens");
    assert_eq!(list.as_array().expect("list").len(), 2);
    assert!(!list.to_string().contains(reader_token["token"].as_str().expect("token")));
    expect(&admin, "POST", "/api/v1/tokens", Some(json!({"name": "x", "role": "root"})), 400).await;
    expect(&admin, "POST", "/api/v1/tokens", Some(json!({"name": "", "role": "reader"})), 400).await;
    expect(&admin, "DELETE", "/api/v1/tokens/ro", None, 204).await;
    expect(&reader, "GET", "/api/v1/groups", None, 401).await;
    expect(&admin, "DELETE", "/api/v1/tokens/ro", None, 404).await;

    // Limits, unknown routes, wrong methods: problem+json 4xx.
    let big = vec![b' '; 100 << 10];
    let e = admin.call("POST", "/api/v1/groups", Some(big)).await.expect_err("too big");
    assert_eq!(e.status, 413, "{}", e.message);
    expect(&admin, "GET", "/api/v1/nothing", None, 404).await;
    expect(&admin, "PATCH", "/api/v1/groups", Some(json!({})), 405).await;

    // Delete (then the plugin is unused and can go).
    expect(&admin, "DELETE", "/api/v1/groups/g?deprovision=true", None, 204).await;
    expect(&admin, "DELETE", "/api/v1/plugins/mine", None, 204).await;
    expect(&admin, "GET", "/api/v1/groups/g", None, 404).await;
    // The table's triggers and tracking table are gone (the shared
    // registry and session tables stay, as `db deprovision TABLE` leaves them).
    let left = "SELECT count(*) FROM sqlite_master WHERE (type = 'trigger' OR name LIKE 'hubsync_track%')";
    assert_eq!(rows(&hub, left), "0");
    assert_eq!(rows(&m1, left), "0");
    expect(&admin, "DELETE", "/api/v1/groups/g", None, 404).await;

    // Graceful stop.
    let _ = s.stop.take().expect("stop").send(());
    tokio::time::timeout(Duration::from_secs(20), &mut s.task).await.expect("stops").expect("task");
    let _ = Role::Admin;
}
