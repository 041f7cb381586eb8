//! A member database reachable only from the agent: a second MariaDB
//! server runs inside a network namespace this test creates, listening on
//! the namespace's own loopback. The agent runs inside the namespace and
//! connects out over a veth pair to `hubsync serve` outside; the service
//! (and this test, outside) cannot reach the database at all. The
//! application writes through the `mariadb` client inside the namespace.
//!
//! Needs root, `ip` and a MariaDB server binary; CI has them and sets
//! `HUBSYNC_REQUIRE_NETNS=1`, elsewhere the test says SKIPPED.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hubsync_api::AgentView;
use hubsync_tests::{Db, Engine, Workspace, free_port, hubsync, hubsync_bin, hubsync_cmd, wait_for};

/// A network namespace with a veth pair to the host and a MariaDB server
/// inside; all of it removed on drop.
struct Namespace {
    name: String,
    host_if: String,
    host_ip: String,
    inner_ip: String,
    mariadb: Option<Child>,
    _data: tempfile::TempDir,
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

fn ip(args: &[&str]) -> Result<String, String> {
    run(Command::new("ip").args(args))
}

impl Namespace {
    fn new() -> Result<Namespace, String> {
        let n = std::process::id();
        let name = format!("hsns{n}");
        let (host_if, inner_if) = (format!("hs{n}a"), format!("hs{n}b"));
        let subnet = format!("10.231.{}", n % 250);
        let (host_ip, inner_ip) = (format!("{subnet}.1"), format!("{subnet}.2"));
        let data = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut ns = Namespace {
            name: name.clone(),
            host_if: host_if.clone(),
            host_ip: host_ip.clone(),
            inner_ip: inner_ip.clone(),
            mariadb: None,
            _data: data,
        };
        ip(&["netns", "add", &name])?;
        ip(&["link", "add", &host_if, "type", "veth", "peer", "name", &inner_if])?;
        ip(&["link", "set", &inner_if, "netns", &name])?;
        ip(&["addr", "add", &format!("{host_ip}/30"), "dev", &host_if])?;
        ip(&["link", "set", &host_if, "up"])?;
        ns.exec(&["ip", "link", "set", "lo", "up"])?;
        ns.exec(&["ip", "addr", "add", &format!("{inner_ip}/30"), "dev", &inner_if])?;
        ns.exec(&["ip", "link", "set", &inner_if, "up"])?;
        // A MariaDB server of its own, on the namespace's loopback only.
        let dir = ns._data.path().to_path_buf();
        let datadir = dir.join("data");
        run(Command::new("mariadb-install-db").args([
            "--no-defaults",
            &format!("--datadir={}", datadir.display()),
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &name, "mariadbd", "--no-defaults"])
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--socket={}", dir.join("sock").display()))
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .arg(format!("--log-error={}", dir.join("err.log").display()))
            .args(["--port=3306", "--bind-address=127.0.0.1", "--user=root"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        ns.mariadb = Some(child);
        if !wait_for(Duration::from_secs(30), || ns.sql("SELECT 1").is_ok()) {
            return Err(format!(
                "MariaDB did not start in the namespace: {}",
                std::fs::read_to_string(dir.join("err.log")).unwrap_or_default()
            ));
        }
        Ok(ns)
    }

    fn exec(&self, args: &[&str]) -> Result<String, String> {
        run(Command::new("ip").args(["netns", "exec", &self.name]).args(args))
    }

    /// A statement through the `mariadb` client, inside the namespace.
    fn sql(&self, sql: &str) -> Result<String, String> {
        self.exec(&["mariadb", "-h127.0.0.1", "-uroot", "-N", "-B", "-e", sql]).map(|s| s.trim().to_owned())
    }

    /// `hubsync` run inside the namespace.
    fn hubsync(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(hubsync_bin()).args(args);
        c
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // `ip netns exec` execs the server, so the child is mariadbd itself.
        if let Some(mut m) = self.mariadb.take() {
            let _ = m.kill();
            let _ = m.wait();
        }
        let _ = ip(&["link", "del", &self.host_if]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

fn available() -> Result<(), String> {
    let root = run(Command::new("id").arg("-u")).map(|s| s.trim() == "0").unwrap_or(false);
    if !root {
        return Err("not root".into());
    }
    for tool in ["ip", "mariadbd", "mariadb-install-db", "mariadb"] {
        if run(Command::new("sh").args(["-c", &format!("command -v {tool}")])).is_err() {
            return Err(format!("{tool} is missing"));
        }
    }
    Ok(())
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn a_database_only_the_agent_can_reach_syncs_through_it() {
    if let Err(why) = available() {
        assert!(std::env::var_os("HUBSYNC_REQUIRE_NETNS").is_none(), "HUBSYNC_REQUIRE_NETNS is set but {why}");
        eprintln!("SKIPPED: the network-namespace test needs root, ip and MariaDB ({why})");
        return;
    }
    let ns = Namespace::new().unwrap_or_else(|e| panic!("setting up the namespace: {e}"));
    ns.sql(
        "CREATE DATABASE shopdb; CREATE TABLE shopdb.items (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, \
         qty INT NOT NULL); INSERT INTO shopdb.items VALUES (900001, 'made in the shop', 4);",
    )
    .expect("member database");
    // Outside, nothing reaches it: the server listens on the namespace's loopback.
    assert!(
        std::net::TcpStream::connect_timeout(
            &format!("{}:3306", ns.inner_ip).parse().expect("addr"),
            Duration::from_secs(2)
        )
        .is_err()
    );

    let ws = Workspace::new();
    let meta = format!("sqlite://{}", ws.dir().join("meta.db").display());
    let token = hubsync(&["token", "create", "ops", "--role", "admin", "--metadata", &meta]);
    let token = token.expect_ok("token").trim().to_owned();
    let port = free_port();
    let listen = format!("{}:{port}", ns.host_ip);
    let service = format!("http://{listen}");
    let mut server = hubsync_cmd(&["serve", "--metadata", &meta, "--listen", &listen])
        .env("HUBSYNC_SECRET_KEY", "aHVic3luYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(ws.dir().join("serve.log")).expect("log"))
        .spawn()
        .expect("serve");
    assert!(wait_for(Duration::from_secs(30), || std::net::TcpStream::connect(&listen).is_ok()));
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &service, "--token", &token]);
        hubsync(&all)
    };
    let hub = Db::new(Engine::Postgres);
    hub.exec(
        "CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, qty INT NOT NULL); \
         INSERT INTO items SELECT g, 'hub ' || g, g % 9 FROM generate_series(1, 5000) g;",
    );

    // The agent, inside the namespace, joins and registers the database.
    let key = cli(&["agent", "create", "branch"]);
    let key = key.expect_ok("agent create").trim().to_owned();
    let state: PathBuf = ws.dir().join("agent");
    let st = path_str(&state);
    let mut agent = ns
        .hubsync(&["agent", "connect", "--service", &service, "--key", &key, "--state", &st])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(ws.dir().join("agent.log")).expect("log"))
        .spawn()
        .expect("agent");
    let shown =
        || -> Option<AgentView> { serde_json::from_str(&cli(&["agent", "show", "branch", "--json"]).stdout).ok() };
    assert!(
        wait_for(Duration::from_secs(20), || shown().is_some_and(|a| a.online) && state.join("agent.json").exists()),
        "agent online: {}",
        std::fs::read_to_string(ws.dir().join("agent.log")).unwrap_or_default()
    );
    let address = shown().and_then(|a| a.address);
    assert_eq!(address.as_deref(), Some(ns.inner_ip.as_str()), "it connected from inside the namespace");
    let reg = ns
        .hubsync(&["agent", "db", "register", "shop", "--url", "mysql://root@127.0.0.1:3306/shopdb", "--state", &st])
        .output()
        .expect("register");
    assert!(reg.status.success(), "{}", String::from_utf8_lossy(&reg.stderr));
    let engine = || shown().and_then(|a| a.databases.first().and_then(|d| d.engine.clone()));
    assert!(wait_for(Duration::from_secs(20), || engine().as_deref() == Some("MySQL/MariaDB")), "{:?}", shown());

    let file = ws.group_file(&format!(
        "[[group]]\nname = \"branch\"\nhub = \"{}\"\n[[group.member]]\nname = \"shop\"\nurl = \"agent://branch/shop\"\n\
         [[group.table]]\nname = \"items\"\n",
        hub.url
    ));
    cli(&["apply", &file]).expect_ok("apply");
    cli(&["sync", "now", "branch", "--wait"]).expect_ok("sync");
    let digest_member = || ns.sql("SELECT CONCAT(count(*), ':', sum(id * 3 + qty)) FROM shopdb.items").expect("member");
    let digest_hub = || hub.scalar("SELECT count(*) || ':' || sum(id * 3 + qty) FROM items");
    assert_eq!(digest_member(), digest_hub());
    assert_eq!(hub.scalar("SELECT name FROM items WHERE id = 900001"), "made in the shop");

    // The application inside writes; the next sync carries it out.
    ns.sql("UPDATE shopdb.items SET qty = 77 WHERE id = 10; DELETE FROM shopdb.items WHERE id = 11;").expect("write");
    cli(&["sync", "now", "branch", "--wait"]).expect_ok("sync");
    assert_eq!(hub.scalar("SELECT qty FROM items WHERE id = 10"), "77");
    assert_eq!(hub.scalar("SELECT count(*) FROM items WHERE id = 11"), "0");
    assert_eq!(digest_member(), digest_hub());

    let _ = agent.kill();
    let _ = agent.wait();
    let _ = server.kill();
    let _ = server.wait();
}
