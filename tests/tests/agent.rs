//! `hubsync agent` as separate processes beside `hubsync serve`: a key
//! works exactly once, the agent keeps its credential private and listens
//! on no port, restarts from its state folder, is retired within seconds
//! when its key is regenerated, and moves with a new key and folder.

use std::process::Stdio;
use std::time::Duration;

use hubsync_api::{AgentState, AgentView};
use hubsync_tests::{Workspace, free_port, hubsync, hubsync_cmd, spawn_agent, wait_for};

/// Socket inodes a process listens on (TCP, from /proc).
fn listening(pid: u32) -> Vec<String> {
    let mut inodes = Vec::new();
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let t = target.display().to_string();
                if let Some(i) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                    inodes.push(i.to_owned());
                }
            }
        }
    }
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(table).unwrap_or_default().lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() > 9 && cols[3] == "0A" && inodes.iter().any(|i| i == cols[9]) {
                out.push(cols[1].to_owned());
            }
        }
    }
    out
}

#[test]
fn an_agent_joins_once_stays_outbound_restarts_is_retired_by_a_new_key_and_moves() {
    let ws = Workspace::new();
    let meta = format!("sqlite://{}", ws.dir().join("meta.db").display());
    let token = hubsync(&["token", "create", "ops", "--role", "admin", "--metadata", &meta]);
    let token = token.expect_ok("token").trim().to_owned();
    let port = free_port();
    let service = format!("http://127.0.0.1:{port}");
    let mut server = hubsync_cmd(&["serve", "--metadata", &meta, "--listen", &format!("127.0.0.1:{port}")])
        .env("HUBSYNC_SECRET_KEY", "aHVic3luYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    assert!(wait_for(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()));
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &service, "--token", &token]);
        hubsync(&all)
    };
    let shown = |name: &str| -> Option<AgentView> {
        serde_json::from_str(&cli(&["agent", "show", name, "--json"]).stdout).ok()
    };
    let online = |name: &str| shown(name).is_some_and(|a| a.online);
    let contact = |name: &str| shown(name).and_then(|a| a.last_contact_micros).unwrap_or(0);
    let key = cli(&["agent", "create", "onprem"]);
    let key = key.expect_ok("agent create").trim().to_owned();
    assert!(key.starts_with("hsa_"));
    assert_eq!(shown("onprem").map(|a| a.state), Some(AgentState::WaitingForKey));

    // Joins with the key; the credential is private; it listens on nothing.
    let state = ws.dir().join("agent-state");
    let st = state.display().to_string();
    let mut a1 = spawn_agent(&ws, "a1.log", &["--service", &service, "--key", &key, "--state", &st]);
    assert!(wait_for(Duration::from_secs(20), || online("onprem")), "the agent came online");
    let a = shown("onprem").expect("agent show");
    assert_eq!((a.state, a.address.as_deref()), (AgentState::Joined, Some("127.0.0.1")));
    assert_eq!(a.version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&state.join("agent.json")), 0o600);
        assert_eq!(mode(&state), 0o700);
    }
    assert!(std::fs::read_to_string(state.join("agent.json")).expect("state").contains("hsc_"));
    assert!(listening(a1.id()).is_empty(), "the agent listens on no port");

    // The same key again: refused, whoever presents it.
    let reuse = hubsync(&[
        "agent",
        "connect",
        "--service",
        &service,
        "--key",
        &key,
        "--state",
        &ws.dir().join("other").display().to_string(),
    ]);
    assert!(!reuse.ok && reuse.stderr.contains("not valid"), "{}", reuse.stderr);

    // Killed and restarted from its folder (no key): online again.
    a1.kill().expect("SIGKILL agent");
    let _ = a1.wait();
    let mut a2 = spawn_agent(&ws, "a2.log", &["--state", &st]);
    let contacted = contact("onprem");
    assert!(wait_for(Duration::from_secs(20), || contact("onprem") > contacted), "the restarted agent checks in");

    // The state folder copied and run a second time: the newer process
    // takes over, the older one stops saying why (no flapping between them).
    let copy = ws.dir().join("agent-copy");
    std::fs::create_dir_all(&copy).expect("copy");
    std::fs::copy(state.join("agent.json"), copy.join("agent.json")).expect("copy state");
    let mut twin = spawn_agent(&ws, "twin.log", &["--state", &copy.display().to_string()]);
    let stopped = wait_for(Duration::from_secs(20), || matches!(a2.try_wait(), Ok(Some(_))));
    let logs = |n: &str| std::fs::read_to_string(ws.dir().join(n)).unwrap_or_default();
    assert!(stopped, "the older process stops:\n{}\n--- twin:\n{}", logs("a2.log"), logs("twin.log"));
    let log = std::fs::read_to_string(ws.dir().join("a2.log")).unwrap_or_default();
    assert!(log.contains("another agent process"), "{log}");
    std::thread::sleep(Duration::from_secs(6));
    assert!(matches!(twin.try_wait(), Ok(None)), "the newer one keeps running");
    let mut a2 = twin;

    // A regenerated key retires the running agent within seconds.
    let fresh = cli(&["agent", "regenerate-key", "onprem"]);
    let fresh = fresh.expect_ok("regenerate-key").trim().to_owned();
    let clock = std::time::Instant::now();
    let exited = wait_for(Duration::from_secs(15), || matches!(a2.try_wait(), Ok(Some(_))));
    assert!(exited, "the agent kept running after its key was regenerated");
    let status = a2.wait().expect("status");
    assert_eq!(status.code(), Some(4), "retired agents exit 4");
    let log = std::fs::read_to_string(ws.dir().join("twin.log")).unwrap_or_default();
    assert!(log.contains("retired"), "{log}");
    eprintln!("retired after {:?}", clock.elapsed());

    // Moved: a new folder and the new key.
    let moved = ws.dir().join("moved").display().to_string();
    let mut a3 = spawn_agent(&ws, "a3.log", &["--service", &service, "--key", &fresh, "--state", &moved]);
    assert!(wait_for(Duration::from_secs(20), || shown("onprem")
        .is_some_and(|a| a.state == AgentState::Joined && a.online)));
    // The old folder's credential no longer works.
    let old = hubsync(&["agent", "connect", "--state", &st]);
    assert!(!old.ok && old.stderr.contains("retired"), "{}", old.stderr);
    a3.kill().expect("kill");
    let _ = a3.wait();
    let _ = server.kill();
    let _ = server.wait();
}
