//! Sync throughput through an agent beside a direct member, in one run:
//! `hubsync serve` and two `hubsync agent connect` processes, one agent on
//! loopback and one behind a TCP proxy (written here) that delays every
//! byte by 20 ms each way. Three groups with identical SQLite hubs of N
//! rows: each member is synced down (N rows) and then up (N/2 rows its
//! application inserted). Times are the sessions' own durations from the
//! history; ratios are against the direct member.
//!
//! ```sh
//! cargo build --release -p hubsync
//! cargo bench -p hubsync-tests --bench agent          # HUBSYNC_BENCH_ROWS (default 200000)
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hubsync_tests::{Workspace, free_port, hubsync, hubsync_cmd, wait_for};
use serde_json::Value;

/// One-way delay of the proxy.
const DELAY: Duration = Duration::from_millis(20);

/// Copy `from` to `to`, each chunk leaving `DELAY` after it arrived
/// (latency without a bandwidth limit: chunks queue, none waits for another).
fn delayed_pipe(mut from: TcpStream, mut to: TcpStream) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 256 << 10];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send((Instant::now() + DELAY, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        for (due, chunk) in rx {
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if to.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

/// A proxy on a free port forwarding to `upstream` with the delay; its port.
fn delaying_proxy(upstream: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (c2, s2) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
            delayed_pipe(client, server);
            delayed_pipe(s2, c2);
        }
    });
    port
}

fn sqlite(path: &std::path::Path, sql: &str) {
    let out = Command::new("sqlite3").arg(path).arg(sql).output().expect("sqlite3");
    assert!(out.status.success(), "sqlite3: {}", String::from_utf8_lossy(&out.stderr));
}

fn main() {
    let n: u64 = std::env::var("HUBSYNC_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let ws = Workspace::new();
    let dir = ws.dir();
    let meta = format!("sqlite://{}", dir.join("meta.db").display());
    let token = hubsync(&["token", "create", "bench", "--role", "admin", "--metadata", &meta]);
    let token = token.expect_ok("token").trim().to_owned();
    let port = free_port();
    let service = format!("http://127.0.0.1:{port}");
    let mut children: Vec<Child> = Vec::new();
    children.push(
        hubsync_cmd(&["serve", "--metadata", &meta, "--listen", &format!("127.0.0.1:{port}")])
            .env("HUBSYNC_SECRET_KEY", "aHVic3luYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve"),
    );
    assert!(wait_for(Duration::from_secs(30), || TcpStream::connect(("127.0.0.1", port)).is_ok()));
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &service, "--token", &token]);
        hubsync(&all)
    };

    // Identical hubs, one per group; members empty.
    let hub0 = dir.join("hub-direct.db");
    sqlite(
        &hub0,
        &format!(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL, note TEXT); \
             WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) \
             INSERT INTO items SELECT i, 'item number ' || i, i % 1000, 'a note of some forty characters or so ...' FROM s;"
        ),
    );
    for p in ["near", "far"] {
        std::fs::copy(&hub0, dir.join(format!("hub-{p}.db"))).expect("copy hub");
    }

    // Two agents: one on loopback, one through the delaying proxy.
    let proxy = delaying_proxy(port);
    for (name, via) in [("near", port), ("far", proxy)] {
        let key = cli(&["agent", "create", name]);
        let key = key.expect_ok("agent create").trim().to_owned();
        let state = dir.join(format!("agent-{name}")).display().to_string();
        let url = format!("http://127.0.0.1:{via}");
        children.push(
            hubsync_cmd(&["agent", "connect", "--service", &url, "--key", &key, "--state", &state])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("agent"),
        );
        let member = format!("sqlite://{}", dir.join(format!("member-{name}.db")).display());
        assert!(wait_for(Duration::from_secs(20), || std::path::Path::new(&state).join("agent.json").exists()));
        hubsync(&["agent", "db", "register", "shop", "--url", &member, "--state", &state]).expect_ok("register");
    }
    let mut file = String::new();
    for (group, url) in [
        ("direct", format!("sqlite://{}", dir.join("member-direct.db").display())),
        ("near", "agent://near/shop".to_owned()),
        ("far", "agent://far/shop".to_owned()),
    ] {
        file.push_str(&format!(
            "[[group]]\nname = \"{group}\"\nhub = \"sqlite://{}\"\n[[group.member]]\nname = \"m\"\nurl = \"{url}\"\n\
             [[group.table]]\nname = \"items\"\n",
            dir.join(format!("hub-{group}.db")).display()
        ));
    }
    let file = ws.group_file(&file);
    cli(&["apply", &file]).expect_ok("apply");

    // Down, then up; the sessions' durations from the history.
    let session = |group: &str| -> (i64, i64, i64) {
        let log = cli(&["log", "--group", group, "--limit", "1", "--json"]);
        let v: Value = serde_json::from_str(log.expect_ok("log").lines().next().expect("a session")).expect("json");
        let get = |k: &str| v[k].as_i64().unwrap_or(0);
        (get("rows_down"), get("rows_up"), get("duration_ms"))
    };
    let mut results = Vec::new();
    for group in ["direct", "near", "far"] {
        // Wait until the agent reported its database (reachable).
        if group != "direct" {
            let ready = wait_for(Duration::from_secs(30), || {
                let v: Value =
                    serde_json::from_str(&cli(&["agent", "show", group, "--json"]).stdout).unwrap_or(Value::Null);
                v["databases"][0]["reachable"] == true
            });
            assert!(ready, "agent {group} reports its database");
        }
        cli(&["sync", "now", group, "--wait"]).expect_ok("sync down");
        let (down, _, down_ms) = session(group);
        let member = dir.join(format!("member-{group}.db"));
        sqlite(
            &member,
            &format!(
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {}) \
                 INSERT INTO items SELECT {n} + i, 'member item ' || i, i % 1000, 'written by the application' FROM s;",
                n / 2
            ),
        );
        cli(&["sync", "now", group, "--wait"]).expect_ok("sync up");
        let (_, up, up_ms) = session(group);
        assert_eq!((down as u64, up as u64), (n, n / 2), "{group}: every row moved");
        results.push((group, down, down_ms, up, up_ms));
    }
    let rate = |rows: i64, ms: i64| rows as f64 / (ms.max(1) as f64 / 1000.0);
    let (d_down, d_up) = (rate(results[0].1, results[0].2), rate(results[0].3, results[0].4));
    println!("{n} rows down, {} up; SQLite hub and members; the service and agents on this machine", n / 2);
    println!("{:<34} {:>12} {:>8} {:>12} {:>8}", "member", "down rows/s", "ratio", "up rows/s", "ratio");
    for (group, down, down_ms, up, up_ms) in &results {
        let label = match *group {
            "direct" => "direct (the service opens it)",
            "near" => "through an agent (loopback)",
            _ => "through an agent (+20 ms each way)",
        };
        let (r_down, r_up) = (rate(*down, *down_ms), rate(*up, *up_ms));
        println!("{label:<34} {r_down:>12.0} {:>8.2} {r_up:>12.0} {:>8.2}", r_down / d_down, r_up / d_up);
    }
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
}
