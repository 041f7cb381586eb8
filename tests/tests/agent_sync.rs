//! A member reached only through an agent: `hubsync serve`, `hubsync
//! agent connect` and the applications' own clients as separate
//! processes. The member is a SQLite file only the agent opens (the
//! service is never given its path). The agent registers it (testing the
//! connection first), the group names it `agent://AGENT/DATABASE`, and
//! sync works both ways; the agent killed with SIGKILL mid-sync and
//! restarted converges with nothing lost; the service restarted while the
//! agent runs is found again; a moved agent (new folder, new key) learns
//! its databases back, shows them unreachable until credentials are
//! entered, then resumes from the anchors without re-initializing.

use std::process::{Child, Stdio};
use std::time::Duration;

use hubsync_api::{AgentView, HistoryEntry, Level};
use hubsync_tests::{Db, Engine, Workspace, free_port, hubsync, hubsync_cmd, spawn_agent, wait_for};
use serde_json::Value;

const SECRET: &str = "aHVic3luYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=";

fn serve(ws: &Workspace, meta: &str, port: u16, log: &str) -> Child {
    let child = hubsync_cmd(&["serve", "--metadata", meta, "--listen", &format!("127.0.0.1:{port}")])
        .env("HUBSYNC_SECRET_KEY", SECRET)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(ws.dir().join(log)).expect("log"))
        .spawn()
        .expect("serve");
    assert!(wait_for(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()));
    child
}

/// GET `path` with the token, as a monitoring system does; the body.
fn http_get(port: u16, path: &str, token: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("response");
    out
}

fn kill9(c: &mut Child) {
    c.kill().expect("SIGKILL");
    let _ = c.wait();
}

/// Rows and a checksum of their content, as the application's client reads them.
fn digest(db: &Db) -> String {
    db.scalar("SELECT count(*) || ':' || coalesce(sum(id * 7 + length(name) + qty), 0) FROM items")
}

#[test]
fn a_member_behind_an_agent_syncs_survives_kills_restarts_and_a_move() {
    let ws = Workspace::new();
    let meta = format!("sqlite://{}", ws.dir().join("meta.db").display());
    let token = hubsync(&["token", "create", "ops", "--role", "admin", "--metadata", &meta]);
    let token = token.expect_ok("token").trim().to_owned();
    let port = free_port();
    let service = format!("http://127.0.0.1:{port}");
    let mut server = serve(&ws, &meta, port, "serve1.log");
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &service, "--token", &token]);
        hubsync(&all)
    };
    let shown = |name: &str| -> Option<AgentView> {
        serde_json::from_str(&cli(&["agent", "show", name, "--json"]).stdout).ok()
    };
    // Whether the agent's first database is reachable, as the service sees it.
    let reachable = |name: &str| shown(name).and_then(|a| a.databases.first().map(|d| d.reachable));

    // The hub on PostgreSQL (the service reaches it), written with psql.
    let hub = Db::new(Engine::Postgres);
    hub.exec(
        "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL, qty INT NOT NULL); \
         INSERT INTO items SELECT g, 'hub item ' || g, g % 100 FROM generate_series(1, 30000) g;",
    );
    // The member: a SQLite file in the agent's own folder, with rows of its own.
    let shop = Db::new(Engine::Sqlite);
    shop.exec(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL); \
         INSERT INTO items VALUES (1000001, 'shop item ''one''', 5), (1000002, 'shop item \\two', 6);",
    );

    // Create the agent, run it with the key, register the database.
    let key = cli(&["agent", "create", "store"]);
    let key = key.expect_ok("agent create").trim().to_owned();
    let state = ws.dir().join("agent-state").display().to_string();
    let mut a = spawn_agent(&ws, "agent1.log", &["--service", &service, "--key", &key, "--state", &state]);
    let joined = wait_for(Duration::from_secs(20), || {
        shown("store").is_some_and(|a| a.online) && std::path::Path::new(&state).join("agent.json").exists()
    });
    assert!(joined, "the agent came online");
    let bad =
        hubsync(&["agent", "db", "register", "shop", "--url", "postgres://nobody@127.0.0.1:1/x", "--state", &state]);
    assert!(!bad.ok && bad.stderr.contains("nothing was saved"), "{}", bad.stderr);
    let reg = hubsync(&["agent", "db", "register", "shop", "--url", &shop.url, "--state", &state]);
    assert!(reg.ok && reg.stdout.contains("agent://store/shop"), "{}{}", reg.stdout, reg.stderr);
    assert!(
        wait_for(Duration::from_secs(20), || reachable("store") == Some(true)),
        "the service learns the database: {:?}",
        shown("store")
    );
    let seen = shown("store").expect("agent show");
    assert_eq!(seen.databases[0].tables, ["items"]);
    let seen = serde_json::to_string(&seen).expect("json");
    assert!(!seen.contains(shop.path().to_str().expect("path")), "the service never sees the path");

    // A group with the member via the agent.
    let group = ws.dir().join("group.toml");
    std::fs::write(
        &group,
        format!(
            "[[group]]\nname = \"stores\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"shop\"\n\
             url = \"agent://store/shop\"\n\n[[group.table]]\nname = \"items\"\n",
            hub.url
        ),
    )
    .expect("group file");
    cli(&["apply", &group.display().to_string()]).expect_ok("apply");
    cli(&["sync", "now", "stores", "--wait"]).expect_ok("first sync");
    assert_eq!(digest(&shop), digest(&hub), "the member holds the hub's rows and the hub the member's");
    assert_eq!(hub.scalar("SELECT name FROM items WHERE id = 1000002"), "shop item \\two");

    // The application writes on the member; the next sync takes it up.
    shop.exec("UPDATE items SET qty = 999 WHERE id = 17; DELETE FROM items WHERE id = 18;");
    hub.exec("UPDATE items SET name = 'renamed' WHERE id = 19;");
    cli(&["sync", "now", "stores", "--wait"]).expect_ok("second sync");
    assert_eq!(hub.scalar("SELECT qty FROM items WHERE id = 17"), "999");
    assert_eq!(shop.scalar("SELECT name FROM items WHERE id = 19"), "renamed");
    assert_eq!(digest(&shop), digest(&hub));

    // SIGKILL the agent in the middle of a large sync; restart; converge.
    hub.exec("INSERT INTO items SELECT g, 'wave ' || g, g % 7 FROM generate_series(30001, 230000) g;");
    cli(&["sync", "now", "stores"]).expect_ok("sync started");
    let started = wait_for(Duration::from_secs(60), || {
        shop.try_exec("SELECT count(*) FROM items WHERE id BETWEEN 30001 AND 230000").is_ok_and(|n| n.trim() != "0")
    });
    assert!(started, "the sync began writing the member");
    kill9(&mut a);
    let mid = shop.scalar("SELECT count(*) FROM items WHERE id BETWEEN 30001 AND 230000");
    eprintln!("agent killed with {mid} of 200000 new rows written");
    let mut a = spawn_agent(&ws, "agent2.log", &["--state", &state]);
    let converged = wait_for(Duration::from_secs(120), || {
        let _ = cli(&["sync", "now", "stores", "--wait"]);
        digest(&shop) == digest(&hub)
    });
    assert!(converged, "after the agent's restart: shop {} vs hub {}", digest(&shop), digest(&hub));

    // The service restarted while the agent runs: the agent finds it again.
    let pid = server.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let _ = server.wait();
    let mut server = serve(&ws, &meta, port, "serve2.log");
    shop.exec("INSERT INTO items VALUES (1000003, 'after restart', 1);");
    let back = wait_for(Duration::from_secs(60), || {
        cli(&["sync", "now", "stores", "--wait"]).ok
            && hub.scalar("SELECT count(*) FROM items WHERE id = 1000003") == "1"
    });
    assert!(back, "the restarted service syncs through the agent: {}", cli(&["status", "stores"]).stdout);

    // Move: regenerate the key (the running agent is retired), a new folder.
    let fresh = cli(&["agent", "regenerate-key", "store"]);
    let fresh = fresh.expect_ok("regenerate-key").trim().to_owned();
    assert!(wait_for(Duration::from_secs(15), || matches!(a.try_wait(), Ok(Some(_)))), "retired");
    assert_eq!(a.wait().expect("status").code(), Some(4));
    let moved = ws.dir().join("moved-state").display().to_string();
    let mut a = spawn_agent(&ws, "agent3.log", &["--service", &service, "--key", &fresh, "--state", &moved]);
    let listed = || hubsync(&["agent", "db", "list", "--state", &moved, "--json"]).stdout;
    assert!(
        wait_for(Duration::from_secs(20), || listed().contains("\"shop\"")),
        "the moved agent learns its database names: {}",
        listed()
    );
    let l: Value = serde_json::from_str(&listed()).expect("json");
    assert_eq!(l[0]["reachable"], false, "no credentials yet: {l}");
    assert!(l[0]["error"].as_str().unwrap_or_default().contains("update-credential"), "{l}");
    assert!(
        wait_for(Duration::from_secs(20), || reachable("store") == Some(false)),
        "the service shows it unreachable"
    );
    hub.exec("INSERT INTO items VALUES (2000001, 'after the move', 3);");
    let failed = cli(&["sync", "now", "stores", "--wait"]);
    assert!(!failed.ok, "no credentials, no sync");
    hubsync(&["agent", "db", "update-credential", "shop", "--url", &shop.url, "--state", &moved])
        .expect_ok("update-credential");
    assert!(wait_for(Duration::from_secs(20), || reachable("store") == Some(true)));
    let resumed = wait_for(Duration::from_secs(60), || {
        cli(&["sync", "now", "stores", "--wait"]).ok
            && shop.scalar("SELECT count(*) FROM items WHERE id = 2000001") == "1"
    });
    assert!(resumed, "the moved agent syncs: {}", cli(&["status", "stores"]).stdout);
    assert_eq!(digest(&shop), digest(&hub));
    // Resumed from the anchors: the last session moved one row, not all.
    let log = cli(&["log", "--group", "stores", "--limit", "1", "--json"]);
    let last: HistoryEntry =
        serde_json::from_str(log.expect_ok("log").lines().next().expect("a session")).expect("json");
    assert!(last.rows_down <= 1, "re-initialized? {last:?}");

    // Status and metrics show the agent and its database.
    let metrics = http_get(port, "/metrics", &token);
    assert!(metrics.contains("hubsync_agent_database_reachable{agent=\"store\",database=\"shop\"} 1"), "{metrics}");
    kill9(&mut a);
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn with_two_instances_only_the_one_holding_the_agents_connection_syncs_its_member() {
    let ws = Workspace::new();
    let meta = Db::new(Engine::Postgres);
    let token = hubsync(&["token", "create", "ops", "--role", "admin", "--metadata", &meta.url]);
    let token = token.expect_ok("token").trim().to_owned();
    let mut instances = Vec::new();
    let mut urls = Vec::new();
    for name in ["i1", "i2"] {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let args = ["serve", "--metadata", &meta.url, "--listen", &listen, "--instance", name, "--lease-seconds", "3"];
        instances.push(
            hubsync_cmd(&args)
                .env("HUBSYNC_SECRET_KEY", SECRET)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(ws.dir().join(format!("{name}.log"))).expect("log"))
                .spawn()
                .expect("serve"),
        );
        assert!(wait_for(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()));
        urls.push(format!("http://{listen}"));
    }
    let cli = |i: usize, args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &urls[i], "--token", &token]);
        hubsync(&all)
    };
    let hub = Db::new(Engine::Sqlite);
    hub.exec(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL); \
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 3000) \
         INSERT INTO items SELECT i, 'item ' || i, i % 10 FROM s;",
    );
    let (direct, far) = (Db::new(Engine::Sqlite), Db::new(Engine::Sqlite));

    // The agent connects to i1 only.
    let key = cli(1, &["agent", "create", "branch"]);
    let key = key.expect_ok("agent create").trim().to_owned();
    let state = ws.dir().join("agent").display().to_string();
    let mut agent = spawn_agent(&ws, "agent.log", &["--service", &urls[0], "--key", &key, "--state", &state]);
    assert!(wait_for(Duration::from_secs(20), || std::path::Path::new(&state).join("agent.json").exists()));
    hubsync(&["agent", "db", "register", "shop", "--url", &far.url, "--state", &state]).expect_ok("register");
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\ninterval_seconds = 1\n[[group.member]]\nname = \"direct\"\nurl = \"{}\"\n\
         [[group.member]]\nname = \"far\"\nurl = \"agent://branch/shop\"\n[[group.table]]\nname = \"items\"\n",
        hub.url, direct.url
    ));
    cli(1, &["apply", &file]).expect_ok("apply");
    hub.exec("UPDATE items SET qty = 99 WHERE id <= 100;");
    // A member's table exists once its first sync created it.
    let ready = |db: &Db| db.try_exec("SELECT 1 FROM items LIMIT 1").is_ok();
    let converged = wait_for(Duration::from_secs(90), || {
        let h = digest(&hub);
        ready(&direct) && ready(&far) && digest(&direct) == h && digest(&far) == h
    });
    assert!(converged, "both members converge: {}", cli(0, &["status", "g"]).stdout);

    // Every session of the agent's member ran on i1, and none failed (the
    // history row is written just after the data, so wait for it).
    let sessions = || -> Vec<HistoryEntry> {
        let log = cli(1, &["log", "--group", "g", "--limit", "1000", "--json"]);
        log.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    };
    let recorded = wait_for(Duration::from_secs(20), || sessions().iter().filter(|s| s.member == "far").count() >= 2);
    assert!(recorded, "{:?}", sessions());
    let all = sessions();
    let far_sessions: Vec<&HistoryEntry> = all.iter().filter(|s| s.member == "far").collect();
    for s in &far_sessions {
        assert_eq!((s.instance.as_deref(), s.level), (Some("i1"), Level::Success), "{s:?}");
    }
    let _ = agent.kill();
    let _ = agent.wait();
    for mut i in instances {
        let _ = i.kill();
        let _ = i.wait();
    }
}
