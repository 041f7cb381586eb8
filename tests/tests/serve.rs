//! `hubsync serve` as deployments run it: several instances as separate
//! processes on one PostgreSQL metadata database, driven by the CLI client,
//! one of them killed with SIGKILL mid-sync; and the embedded SQLite store
//! refusing a second instance.

use std::collections::HashMap;
use std::process::{Child, Stdio};
use std::time::Duration;

use hubsync_api::{GroupState, HistoryEntry, Level};
use hubsync_tests::{Db, Engine, Workspace, free_port, hubsync, hubsync_cmd, wait_for};

struct Instance {
    name: String,
    url: String,
    child: Child,
    log: std::path::PathBuf,
}

fn key() -> String {
    // 32 fixed bytes in base64: the test's secret key.
    "aHVic3luYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=".into()
}

fn start(ws: &Workspace, name: &str, metadata: &str, extra: &[&str]) -> Instance {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let log = ws.dir().join(format!("{name}.log"));
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--metadata", metadata, "--listen", &listen, "--instance", name];
    args.extend_from_slice(extra);
    let child = hubsync_cmd(&args)
        .env("HUBSYNC_SECRET_KEY", key())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("spawn hubsync serve");
    let inst = Instance { name: name.into(), url, child, log };
    let up = wait_for(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(up, "{name} did not start:\n{}", std::fs::read_to_string(&inst.log).unwrap_or_default());
    inst
}

fn client(inst: &Instance, token: &str, args: &[&str]) -> hubsync_tests::Run {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--server", &inst.url, "--token", token]);
    hubsync(&all)
}

#[test]
fn three_instances_share_thirty_members_and_finish_the_work_of_a_killed_one() {
    let meta = Db::new(Engine::Postgres);
    let hub = Db::new(Engine::Postgres);
    hub.exec(
        "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
         INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20000) g;",
    );
    let members: Vec<Db> = (0..30).map(|_| Db::new(Engine::Sqlite)).collect();
    let ws = Workspace::new();
    let mut file = format!(
        "[[group]]\nname = \"fleet\"\nhub = \"{}\"\ninterval_seconds = 3600\nbatch_rows = 100\n\
         [[group.table]]\nname = \"items\"\n",
        hub.url
    );
    for (i, m) in members.iter().enumerate() {
        file.push_str(&format!("[[group.member]]\nname = \"shop-{i:02}\"\nurl = \"{}\"\n", m.url));
    }
    let file = ws.group_file(&file);

    // The first token, made on the store before any instance runs.
    let t = hubsync(&["token", "create", "ops", "--role", "admin", "--metadata", &meta.url]);
    let token = t.expect_ok("token create").trim().to_owned();
    let extra = ["--lease-seconds", "3", "--concurrency", "2"];
    let mut insts: Vec<Instance> = ["i1", "i2", "i3"].iter().map(|n| start(&ws, n, &meta.url, &extra)).collect();

    // The group arrives through the CLI client; the diff shows it is new.
    let applied = client(&insts[0], &token, &["apply", &file]);
    assert!(applied.expect_ok("apply").contains("will be created"), "{}", applied.stdout);

    // Kill i2 with SIGKILL while it holds members mid-sync.
    let first_url = insts[0].url.clone();
    let held_by_i2 = || {
        let st = hubsync(&["status", "--group", "fleet", "--json", "--server", &first_url, "--token", &token]);
        let st: Vec<GroupState> = serde_json::from_str(&st.stdout).unwrap_or_default();
        let busy = st.iter().flat_map(|g| &g.members).filter(|m| m.syncing_on.as_deref() == Some("i2"));
        busy.map(|m| m.member.clone()).collect::<Vec<_>>()
    };
    assert!(wait_for(Duration::from_secs(60), || !held_by_i2().is_empty()), "i2 never held a member");
    insts[1].child.kill().expect("SIGKILL i2");
    let _ = insts[1].child.wait();
    // Its leases outlive it for up to 3 s: the members it held at death.
    let victims = held_by_i2();
    assert!(!victims.is_empty(), "i2 held nothing at its death");

    // Every member converges: the others take i2's members once its leases run out.
    let all_done = wait_for(Duration::from_secs(180), || {
        let st = client(&insts[0], &token, &["status", "--group", "fleet", "--json"]);
        let st: Vec<GroupState> = serde_json::from_str(&st.stdout).unwrap_or_default();
        let ms = st.first().map(|g| g.members.as_slice()).unwrap_or_default();
        ms.len() == 30 && ms.iter().all(|m| m.tables.len() == 1 && m.tables[0].level == Level::Success)
    });
    assert!(all_done, "not every member synced:\n{}", client(&insts[0], &token, &["status"]).stdout);
    for (i, m) in members.iter().enumerate() {
        assert_eq!(m.scalar("SELECT count(*) FROM items"), "20000", "shop-{i:02}");
    }

    // The history: one session of a member at a time, the killed one's
    // member finished by another instance, each instance did some work.
    let log = client(&insts[2], &token, &["log", "--group", "fleet", "--limit", "1000", "--json"]);
    let entries: Vec<HistoryEntry> =
        log.expect_ok("log").lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let mut by_member: HashMap<String, Vec<(i64, i64, String)>> = HashMap::new();
    for e in &entries {
        let (start, end) = (e.started_micros, e.started_micros + e.duration_ms * 1000);
        let who = e.instance.clone().unwrap_or_default();
        by_member.entry(e.member.clone()).or_default().push((start, end, who));
    }
    assert_eq!(by_member.len(), 30);
    for (m, mut spans) in by_member.clone() {
        spans.sort();
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0, "member {m} synced twice at once: {w:?}");
        }
    }
    for v in &victims {
        let finished_by: Vec<&String> = by_member[v].iter().map(|s| &s.2).collect();
        assert!(!finished_by.is_empty(), "{v} was never finished");
        assert!(finished_by.iter().all(|w| *w == "i1" || *w == "i3"), "{v}: {finished_by:?}");
    }
    let workers: std::collections::HashSet<&str> = entries.iter().filter_map(|e| e.instance.as_deref()).collect();
    assert!(workers.contains("i1") && workers.contains("i3"), "{workers:?}");

    // SIGTERM stops an instance cleanly (exit 0).
    for i in [0, 2] {
        let pid = insts[i].child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
        let status = insts[i].child.wait().expect("wait");
        assert!(
            status.success(),
            "{} did not stop cleanly:\n{}",
            insts[i].name,
            std::fs::read_to_string(&insts[i].log).unwrap_or_default()
        );
    }
}

#[test]
fn an_embedded_store_takes_one_instance_and_the_client_reports_failures_with_exit_codes() {
    let ws = Workspace::new();
    let meta = format!("sqlite://{}", ws.dir().join("meta.db").display());
    let mut first = start(&ws, "solo", &meta, &[]);
    let port = free_port().to_string();
    let second = hubsync_cmd(&["serve", "--metadata", &meta, "--listen", &format!("127.0.0.1:{port}")])
        .env("HUBSYNC_SECRET_KEY", key())
        .output()
        .expect("second instance");
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another hubsync serve (solo)") && err.contains("PostgreSQL"), "{err}");

    let token = hubsync(&["token", "create", "ro", "--role", "reader", "--metadata", &meta]);
    let token = token.expect_ok("token").trim().to_owned();
    let code = |r: std::process::Output| r.status.code().unwrap_or(-1);
    let run = |args: &[&str], token: &str| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &first.url, "--token", token]);
        hubsync_cmd(&all).output().expect("run")
    };
    assert_eq!(code(run(&["group", "list"], &token)), 0);
    assert_eq!(code(run(&["group", "show", "nope"], &token)), 3, "not found");
    assert_eq!(code(run(&["group", "list"], "hst_000000000000_x")), 4, "bad token");
    let denied = run(&["group", "delete", "nope"], &token);
    assert_eq!(code(denied.clone()), 4, "a reader cannot write");
    assert!(String::from_utf8_lossy(&denied.stderr).contains("reader"));
    let dead =
        hubsync_cmd(&["group", "list", "--server", "http://127.0.0.1:1", "--token", &token]).output().expect("run");
    assert_eq!(code(dead), 5, "server unreachable");
    first.child.kill().expect("kill");
    let _ = first.child.wait();
}

#[test]
fn https_with_a_self_signed_certificate_the_client_trusts_when_told() {
    let ws = Workspace::new();
    // A private CA and a server certificate it signs (webpki refuses a CA
    // certificate used as the server's own).
    let d = ws.dir();
    let (ca, cert, key) = (d.join("ca.pem"), d.join("cert.pem"), d.join("key.pem"));
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl").current_dir(d).args(args).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "cert.csr",
    ]);
    std::fs::write(d.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
        .expect("ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "cert.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
    let meta = format!("sqlite://{}", ws.dir().join("meta.db").display());
    let token = hubsync(&["token", "create", "t", "--role", "reader", "--metadata", &meta]);
    let token = token.expect_ok("token").trim().to_owned();
    let admin = hubsync(&["token", "create", "a", "--role", "admin", "--metadata", &meta]);
    let admin = admin.expect_ok("token").trim().to_owned();
    let (c, k) = (cert.display().to_string(), key.display().to_string());
    let mut inst = start(&ws, "tls", &meta, &["--tls-cert", &c, "--tls-key", &k]);
    let https = inst.url.replace("http://", "https://localhost:").replace("localhost:127.0.0.1:", "localhost:");
    let ca = ca.display().to_string();
    let trusted = hubsync(&["group", "list", "--server", &https, "--token", &token, "--ca-cert", &ca]);
    trusted.expect_ok("group list over HTTPS");
    let untrusted = hubsync(&["group", "list", "--server", &https, "--token", &token]);
    assert!(!untrusted.ok, "an unknown certificate is refused");
    assert!(
        untrusted.stderr.contains("certificate") || untrusted.stderr.contains("Certificate"),
        "{}",
        untrusted.stderr
    );
    let plain = hubsync(&["group", "list", "--server", &inst.url, "--token", &token]);
    assert!(!plain.ok, "plain HTTP to the TLS port fails");

    // An agent joins and holds its connection over TLS (wss) when it
    // trusts the certificate, and is refused when it does not.
    let as_admin = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &https, "--token", &admin, "--ca-cert", &ca]);
        hubsync(&all)
    };
    let key = as_admin(&["agent", "create", "branch"]);
    let key = key.expect_ok("agent create").trim().to_owned();
    let state = d.join("agent").display().to_string();
    let refused = hubsync(&["agent", "connect", "--service", &https, "--key", &key, "--state", &state]);
    assert!(!refused.ok && refused.stderr.to_lowercase().contains("certificate"), "{}", refused.stderr);
    let mut agent = hubsync_tests::spawn_hubsync(&[
        "agent",
        "connect",
        "--service",
        &https,
        "--key",
        &key,
        "--state",
        &state,
        "--ca-cert",
        &ca,
    ]);
    let shown = || -> Option<hubsync_api::AgentView> {
        serde_json::from_str(&as_admin(&["agent", "show", "branch", "--json"]).stdout).ok()
    };
    let joined = hubsync_tests::wait_for(std::time::Duration::from_secs(20), || {
        shown().is_some_and(|a| a.online) && d.join("agent").join("agent.json").exists()
    });
    assert!(joined, "the agent joined over TLS");
    let local = format!("sqlite://{}", d.join("branch.db").display());
    hubsync(&["agent", "db", "register", "shop", "--url", &local, "--state", &state]).expect_ok("register");
    assert!(
        hubsync_tests::wait_for(std::time::Duration::from_secs(20), || {
            shown().is_some_and(|a| a.databases.first().is_some_and(|d| d.reachable))
        }),
        "the agent reports its database over the TLS connection: {:?}",
        shown()
    );
    agent.kill().expect("kill agent");
    let _ = agent.wait();
    inst.child.kill().expect("kill");
    let _ = inst.child.wait();
}

#[test]
fn apply_shows_the_diff_first_and_export_round_trips_with_passwords_masked() {
    let ws = Workspace::new();
    let hub = Db::new(Engine::Sqlite);
    let member = Db::new(Engine::Postgres);
    hub.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, 'one');");
    let meta = format!("sqlite://{}", ws.dir().join("meta.db").display());
    let token = hubsync(&["token", "create", "ops", "--role", "admin", "--metadata", &meta]);
    let token = token.expect_ok("token").trim().to_owned();
    let mut inst = start(&ws, "gitops", &meta, &[]);
    let with_password = member.url.replacen("postgres://postgres@", "postgres://postgres:pw-9d2e@", 1);
    let file_text = |interval: u64| {
        format!(
            "[[group]]\nname = \"shop\"\nhub = \"{}\"\ninterval_seconds = {interval}\n[[group.member]]\nname = \"pg\"\nurl = \"{with_password}\"\n[[group.table]]\nname = \"items\"\n",
            hub.url
        )
    };
    let file = ws.group_file(&file_text(3600));
    let remote = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &inst.url, "--token", &token]);
        hubsync(&all)
    };
    assert!(remote(&["apply", &file]).expect_ok("apply").contains("will be created"));
    assert!(remote(&["apply", &file]).expect_ok("apply again").contains("unchanged"));
    let file = ws.group_file(&file_text(60));
    let plan = remote(&["apply", &file, "--dry-run"]);
    let plan = plan.expect_ok("dry run");
    assert!(plan.contains("- interval_seconds = 3600") && plan.contains("+ interval_seconds = 60"), "{plan}");
    assert!(!plan.contains("pw-9d2e"), "the diff masks passwords:\n{plan}");
    assert!(remote(&["group", "show", "shop"]).expect_ok("show").contains("interval_seconds = 3600"));
    remote(&["apply", &file]).expect_ok("apply the change");
    let exported = remote(&["export"]);
    let exported = exported.expect_ok("export");
    assert!(exported.contains("interval_seconds = 60") && exported.contains("postgres:***@"), "{exported}");
    assert!(!exported.contains("pw-9d2e"));
    // The export applied again changes nothing, and the member still syncs.
    let back = ws.dir().join("exported.toml");
    std::fs::write(&back, exported).expect("write");
    let back = back.display().to_string();
    assert!(remote(&["apply", &back]).expect_ok("apply the export").contains("unchanged"));
    remote(&["sync", "now", "shop", "--wait"]).expect_ok("sync now --wait");
    assert_eq!(member.scalar("SELECT name FROM items WHERE id = 1"), "one");
    inst.child.kill().expect("kill");
    let _ = inst.child.wait();
}
