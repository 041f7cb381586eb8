//! Harness for the process-level tests: the `hubsync` binary run as a user
//! runs it (a new process each step), and databases written by
//! applications through their own clients — the `psql`, `mariadb` and
//! system `sqlite3` command-line clients, Python's `sqlite3` module, and an
//! application on the oldest SQLite hubsync supports (`sqlite-floor`) —
//! never through hubsync's bundled drivers.
//!
//! Databases are created per test with unique names (a SQLite file in a
//! temporary folder; a database of its own on the local PostgreSQL and
//! MariaDB, dropped afterwards). `HUBSYNC_TEST_PG` and `HUBSYNC_TEST_MYSQL`
//! point at other servers, as for the crates' own tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub mod apps;
pub mod browser;
pub mod datasync;
pub mod plugin_langs;

/// Cells of a result row as the client printed them (NULL as an empty string).
pub type Cells = Vec<String>;

/// The `hubsync` binary under test: `$HUBSYNC_BIN`, else the one cargo
/// built beside this test executable (`cargo test --workspace` builds it).
pub fn hubsync_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("HUBSYNC_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> → target/debug/hubsync
    let bin = exe.parent().and_then(Path::parent).map(|d| d.join("hubsync")).expect("target directory");
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (which builds it), or `cargo build -p hubsync` first",
        bin.display()
    );
    bin
}

/// A folder of this crate's own under cargo's target directory, kept
/// between runs (the test executable is in `target/debug/deps`).
fn scratch() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let target = exe.ancestors().nth(3).expect("target directory").to_path_buf();
    target.join("hubsync-tests")
}

/// A plugin component of this build by its file stem (`keep_larger_amount`,
/// `hubsync_plugin_misbehave`):
/// plugin-host's build script compiles every guest under `plugins/` into
/// the target directory.
pub fn built_plugin(stem: &str) -> PathBuf {
    let p = scratch().parent().expect("target directory").join("wasm-guests/wasm32-wasip2/release");
    let p = p.join(format!("{stem}.wasm"));
    assert!(p.exists(), "{} is built by `cargo build` (plugin-host's build script)", p.display());
    p
}

/// Where compiled plugins are cached across the tests' hubsync processes.
fn plugin_cache() -> PathBuf {
    scratch().join("plugin-cache")
}

/// What one `hubsync` process did.
#[derive(Debug)]
pub struct Run {
    /// Whether it exited 0.
    pub ok: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl Run {
    fn from(out: Output, elapsed: Duration) -> Run {
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed,
        }
    }

    /// Panic with both streams unless it succeeded; the standard output.
    pub fn expect_ok(&self, what: &str) -> &str {
        assert!(self.ok, "{what} failed:\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        &self.stdout
    }
}

/// A `hubsync` command, ready to run.
pub fn hubsync_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(hubsync_bin());
    c.args(args).env("HUBSYNC_CACHE_DIR", plugin_cache()).stdin(Stdio::null());
    c
}

/// Run `hubsync ARGS` to completion as a new process.
pub fn hubsync(args: &[&str]) -> Run {
    let clock = Instant::now();
    let out = hubsync_cmd(args).output().expect("run hubsync");
    Run::from(out, clock.elapsed())
}

/// [`hubsync`] with environment variables set (passwords a group file refers to as `${VAR}`).
pub fn hubsync_env(args: &[&str], vars: &[(&str, &str)]) -> Run {
    let clock = Instant::now();
    let out = hubsync_cmd(args).envs(vars.iter().copied()).output().expect("run hubsync");
    Run::from(out, clock.elapsed())
}

/// Start `hubsync ARGS` in the background (its output discarded).
pub fn spawn_hubsync(args: &[&str]) -> Child {
    hubsync_cmd(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn hubsync")
}

/// A free TCP port on loopback (for a `hubsync serve` of a test's own).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Start `hubsync ARGS` in the background, its standard error kept in
/// `log` (read it when the test fails), its standard output discarded.
pub fn spawn_logged(log: &Path, args: &[&str]) -> Child {
    hubsync_cmd(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("spawn hubsync")
}

/// `hubsync agent connect ARGS` in the background, logging to `log` in `ws`.
pub fn spawn_agent(ws: &Workspace, log: &str, args: &[&str]) -> Child {
    let mut all = vec!["agent", "connect"];
    all.extend_from_slice(args);
    spawn_logged(&ws.dir().join(log), &all)
}

/// Run `hubsync ARGS` to completion, sampling its peak resident memory
/// (`VmHWM`, KiB) from `/proc` while it runs.
pub fn hubsync_measured(args: &[&str]) -> (Run, u64) {
    let clock = Instant::now();
    let mut child = hubsync_cmd(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn hubsync");
    let status_file = format!("/proc/{}/status", child.id());
    // Drain the pipes on threads so a chatty child never blocks.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut s);
        s
    });
    let mut peak = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:"))
        {
            peak = peak.max(line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0));
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = std::process::Output {
        status,
        stdout: out_t.join().expect("stdout thread"),
        stderr: err_t.join().expect("stderr thread"),
    };
    (Run::from(output, clock.elapsed()), peak)
}

/// `hubsync sync --config FILE` run again (each a new process) while it
/// reports changes held back behind a transaction still open elsewhere on
/// a PostgreSQL server (other tests share it), up to two minutes. The runs'
/// outputs are joined; `ok` is whether every run succeeded; the peak is the
/// largest of the runs' peak resident memory (KiB).
pub fn sync_settled(file: &str) -> (Run, u64) {
    let held_back = |out: &str| out.contains("wait behind an open transaction");
    let clock = Instant::now();
    let (mut all, mut peak) = hubsync_measured(&["sync", "--config", file]);
    let mut held = held_back(&all.stdout);
    while held && clock.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(300));
        let (next, p) = hubsync_measured(&["sync", "--config", file]);
        peak = peak.max(p);
        all.ok &= next.ok;
        held = held_back(&next.stdout);
        all.stdout.push_str(&next.stdout);
        all.stderr.push_str(&next.stderr);
    }
    all.elapsed = clock.elapsed();
    (all, peak)
}

static N: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    format!("hubsync_ptest_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// The database engines a test database can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file, written with the system `sqlite3` client.
    Sqlite,
    /// A database on the local PostgreSQL, written with `psql`.
    Postgres,
    /// A database on the local MariaDB, written with `mariadb`.
    Mariadb,
    /// A database on SQL Server (`HUBSYNC_TEST_MSSQL`, else the local
    /// Babelfish), written with Python's pymssql (FreeTDS). Check
    /// [`mssql_available`] first.
    Mssql,
}

/// The SQL Server the tests use: a function giving the URL of one of its
/// databases, and host, port, user and password for the client.
fn mssql_server() -> (impl Fn(&str) -> String, [String; 4]) {
    let url = std::env::var("HUBSYNC_TEST_MSSQL").unwrap_or_else(|_| {
        "mssql://hubsync:Hubsync-Test-1@127.0.0.1:1433/hubsync_test?trust_server_certificate=true".into()
    });
    let rest = url.strip_prefix("mssql://").expect("HUBSYNC_TEST_MSSQL is an mssql:// URL");
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = main.split('/').next().unwrap_or("");
    let (userinfo, hostport) = authority.rsplit_once('@').expect("the URL names a user");
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "1433"));
    let base = format!("mssql://{authority}");
    let query = if query.is_empty() { String::new() } else { format!("?{query}") };
    (move |db: &str| format!("{base}/{db}{query}"), [host.into(), port.into(), user.into(), password.into()])
}

/// Whether a SQL Server is there for the tests; when it is not, says so
/// loudly on the terminal (and fails when `HUBSYNC_TEST_MSSQL` or
/// `HUBSYNC_REQUIRE_MSSQL` asks for one, as CI does once Babelfish runs).
pub fn mssql_available() -> bool {
    let (_, [host, port, ..]) = mssql_server();
    let addr = format!("{host}:{port}");
    let up = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    if !up {
        if std::env::var_os("HUBSYNC_TEST_MSSQL").is_some() || std::env::var_os("HUBSYNC_REQUIRE_MSSQL").is_some() {
            panic!("SQL Server at {addr} is required (HUBSYNC_TEST_MSSQL / HUBSYNC_REQUIRE_MSSQL) but does not answer");
        }
        // Written to stderr directly: test output capture does not hold it back.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: no SQL Server at {addr}: the SQL Server process-level test did not run. Start \
             Babelfish (../shared/tools/babelfish/start.sh) or set HUBSYNC_TEST_MSSQL. ***"
        );
    }
    up
}

/// The ordered engine pairs with SQL Server in them: SQL Server to and
/// from each of `others`, and to itself.
pub fn sql_server_pairs(others: &[Engine]) -> Vec<(Engine, Engine)> {
    let mut pairs: Vec<(Engine, Engine)> =
        others.iter().flat_map(|&o| [(Engine::Mssql, o), (o, Engine::Mssql)]).collect();
    pairs.push((Engine::Mssql, Engine::Mssql));
    pairs
}

/// pymssql reading `sql` on database `db` of the test SQL Server.
fn mssql_client(db: &str) -> Command {
    let (_, [host, port, user, password]) = mssql_server();
    let mut c = Command::new(python_with_drivers());
    c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("apps/mssql.py")).args([host, port, user, password]).arg(db);
    c
}

/// The PostgreSQL server's URL without a database name.
fn pg_server() -> String {
    let admin =
        std::env::var("HUBSYNC_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    admin[..admin.rfind('/').expect("HUBSYNC_TEST_PG has a database name")].to_owned()
}

/// The MariaDB server: URL, and the client's connection arguments.
fn mysql_server() -> (String, Vec<String>) {
    let url = std::env::var("HUBSYNC_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r).trim_end_matches('/');
    let (userinfo, hostport) = rest.rsplit_once('@').unwrap_or(("root", rest));
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
    let mut args = vec![format!("--host={host}"), format!("--port={port}"), format!("--user={user}")];
    if !password.is_empty() {
        args.push(format!("--password={password}"));
    }
    (url.trim_end_matches('/').to_owned(), args)
}

/// Run a client with `input` on stdin; its output or its error text.
fn run_client(mut cmd: Command, input: &str) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // psql and sqlite3 may print errors yet exit 0 without their stop-on-error flags; both are set.
    if out.status.success() && !stderr.contains("ERROR") && !stderr.starts_with("Error") {
        Ok(stdout)
    } else {
        Err(format!("{stderr}{stdout}"))
    }
}

/// A fresh database, dropped when this goes away.
pub struct Db {
    /// Its engine.
    pub engine: Engine,
    /// Its URL as hubsync takes it.
    pub url: String,
    name: String,
    path: Option<PathBuf>,
    _dir: Option<tempfile::TempDir>,
}

/// Field separator asked of every client (the unit separator never appears in test data).
const SEP: &str = "\u{1f}";

impl Db {
    /// A new database on `engine`.
    pub fn new(engine: Engine) -> Db {
        let name = unique_name();
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                let path = dir.path().join(format!("{name}.db"));
                let url = format!("sqlite://{}", path.display());
                Db { engine, url, name, path: Some(path), _dir: Some(dir) }
            }
            Engine::Postgres => {
                let admin = format!("{}/postgres", pg_server());
                let mut c = Command::new("psql");
                c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &admin]);
                run_client(c, &format!("CREATE DATABASE {name};"))
                    .unwrap_or_else(|e| panic!("PostgreSQL is running (see README): {e}"));
                Db { engine, url: format!("{}/{name}", pg_server()), name, path: None, _dir: None }
            }
            Engine::Mariadb => {
                let (server, args) = mysql_server();
                let mut c = Command::new("mariadb");
                c.args(&args);
                run_client(c, &format!("CREATE DATABASE {name};"))
                    .unwrap_or_else(|e| panic!("MariaDB is running (see README): {e}"));
                Db { engine, url: format!("{server}/{name}"), name, path: None, _dir: None }
            }
            Engine::Mssql => {
                // Babelfish refuses concurrent CREATE DATABASE: retried.
                let mut tries = 0;
                while let Err(e) = run_client(mssql_client("master"), &format!("CREATE DATABASE {name}")) {
                    tries += 1;
                    assert!(tries < 20 && e.contains("concurrently"), "SQL Server: CREATE DATABASE {name}: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                }
                let url = mssql_server().0(&name);
                Db { engine, url, name, path: None, _dir: None }
            }
        }
    }

    /// The database's name on its server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SQLite file's path.
    pub fn path(&self) -> &Path {
        self.path.as_deref().expect("a SQLite database")
    }

    /// The engine's own command-line client, set up to read SQL from stdin,
    /// stop at the first error and print unadorned rows.
    pub fn client(&self) -> Command {
        match self.engine {
            Engine::Sqlite => {
                let mut c = Command::new("sqlite3");
                c.args(["-batch", "-bail", "-separator", SEP, "-cmd", ".timeout 10000"]).arg(self.path());
                c
            }
            Engine::Postgres => {
                let mut c = Command::new("psql");
                c.args(["-X", "-q", "-A", "-t", "-F", SEP, "-v", "ON_ERROR_STOP=1", "-d", &self.url]);
                c
            }
            Engine::Mariadb => {
                let (_, args) = mysql_server();
                let mut c = Command::new("mariadb");
                c.args(&args).args(["--batch", "--skip-column-names", "--database", &self.name]);
                c
            }
            Engine::Mssql => mssql_client(&self.name),
        }
    }

    /// Run a script through the engine's own client; its output or error.
    pub fn try_exec(&self, sql: &str) -> Result<String, String> {
        run_client(self.client(), sql)
    }

    /// Run a script through the engine's own client; panics on error.
    pub fn exec(&self, sql: &str) {
        if let Err(e) = self.try_exec(sql) {
            panic!("{:?} client failed on\n{sql}\n{e}", self.engine);
        }
    }

    /// The rows a query returns, cells as the client prints them (NULL: empty).
    pub fn query(&self, sql: &str) -> Vec<Cells> {
        let out = self.try_exec(sql).unwrap_or_else(|e| panic!("{:?} query failed: {sql}\n{e}", self.engine));
        let sep = if self.engine == Engine::Mariadb { "\t" } else { SEP };
        out.lines()
            .map(|l| {
                l.split(sep).map(|c| if c == "NULL" && sep == "\t" { String::new() } else { c.to_owned() }).collect()
            })
            .collect()
    }

    /// One value.
    pub fn scalar(&self, sql: &str) -> String {
        self.query(sql).into_iter().next().and_then(|r| r.into_iter().next()).unwrap_or_default()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let sql = match self.engine {
            Engine::Sqlite => return,
            Engine::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE);", self.name),
            Engine::Mariadb => format!("DROP DATABASE IF EXISTS {};", self.name),
            Engine::Mssql => {
                let _ = run_client(mssql_client("master"), &format!("DROP DATABASE IF EXISTS {}", self.name));
                return;
            }
        };
        let mut c = match self.engine {
            Engine::Postgres => {
                let mut c = Command::new("psql");
                c.args(["-X", "-q", "-d", &format!("{}/postgres", pg_server())]);
                c
            }
            _ => {
                let mut c = Command::new("mariadb");
                c.args(mysql_server().1);
                c
            }
        };
        c.stdout(Stdio::null()).stderr(Stdio::null());
        let _ = run_client(c, &sql);
    }
}

/// A folder with a group file and its metadata database.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// A new, empty folder.
    pub fn new() -> Workspace {
        Workspace { dir: tempfile::tempdir().expect("tempdir") }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Write the group file (`hubsync.toml`); returns its path as a string.
    pub fn group_file(&self, toml: &str) -> String {
        let path = self.dir.path().join("hubsync.toml");
        std::fs::write(&path, toml).expect("write group file");
        path.to_str().expect("utf-8 path").to_owned()
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace::new()
    }
}

/// The `sqlite-floor` helper: an application on SQLite 3.31.1, built once
/// per test run from `tests/sqlite-floor` with its own lockfile.
pub fn sqlite_floor() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("sqlite-floor/Cargo.toml");
        let target = scratch().join("sqlite-floor");
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--quiet", "--locked", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .expect("run cargo");
        assert!(out.status.success(), "building sqlite-floor failed:\n{}", String::from_utf8_lossy(&out.stderr));
        target.join("debug/sqlite-floor")
    })
}

/// A Python 3 with the application drivers the tests use (psycopg,
/// PyMySQL, pymssql): the system one if it has them, else a virtual environment
/// under the target directory, created once with pip from PyPI.
pub fn python_with_drivers() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let has = |py: &Path| {
            Command::new(py).args(["-c", "import psycopg, pymysql, pymssql"]).status().is_ok_and(|s| s.success())
        };
        let system = PathBuf::from("python3");
        if has(&system) {
            return system;
        }
        let venv = scratch().join("pyenv");
        let py = venv.join("bin/python");
        if !has(&py) {
            let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
            assert!(
                ok(Command::new("python3").args(["-m", "venv"]).arg(&venv))
                    && ok(Command::new(&py).args(["-m", "pip", "install", "--quiet", "psycopg", "pymysql", "pymssql"])),
                "could not install the Python drivers the application writers use (psycopg, PyMySQL, pymssql) \
                 into {}; install them with `pip install psycopg pymysql pymssql`",
                venv.display()
            );
        }
        py
    })
}

/// Wait until `check` holds or `timeout` passes; whether it held.
pub fn wait_for(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `hubsync status --json` of a group file, as the API's types (the CLI
/// prints the server's shape for group files too).
pub fn status_of(file: &str) -> Vec<hubsync_api::GroupState> {
    let out = hubsync(&["status", "--config", file, "--json"]);
    serde_json::from_str(out.expect_ok("status --json"))
        .unwrap_or_else(|e| panic!("status --json: {e}\n{}", out.stdout))
}

/// Every table state of `states`, in order.
pub fn table_states(states: &[hubsync_api::GroupState]) -> Vec<&hubsync_api::TableState> {
    states.iter().flat_map(|g| &g.members).flat_map(|m| &m.tables).collect()
}

/// A `hubsync serve` of a test, on a SQLite store in `ws` with an admin
/// token, killed when dropped.
pub struct Served {
    /// The service process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// An admin token.
    pub token: String,
}

impl Served {
    /// Start a service on a free port, its store at `ws/STORE.db`, its log
    /// at `ws/STORE.log`; returns once it accepts connections.
    pub fn start(ws: &Workspace, store: &str) -> Served {
        Served::start_env(ws, store, &[])
    }

    /// [`Served::start`] with environment variables of its own (a cache
    /// folder, say).
    pub fn start_env(ws: &Workspace, store: &str, vars: &[(&str, &str)]) -> Served {
        let meta = format!("sqlite://{}", ws.dir().join(format!("{store}.db")).display());
        let token = hubsync(&["token", "create", "tests", "--role", "admin", "--metadata", &meta]);
        let token = token.expect_ok("token").trim().to_owned();
        let port = free_port();
        let child = hubsync_cmd(&["serve", "--metadata", &meta, "--listen", &format!("127.0.0.1:{port}")])
            .env("HUBSYNC_SECRET_KEY", "aHVic3luYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=")
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(ws.dir().join(format!("{store}.log"))).expect("service log"))
            .spawn()
            .expect("hubsync serve");
        assert!(wait_for(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()));
        Served { child, url: format!("http://127.0.0.1:{port}"), token }
    }

    /// `hubsync ARGS --server URL --token TOKEN`.
    pub fn cli(&self, args: &[&str]) -> Run {
        hubsync(&[args, &["--server", &self.url, "--token", &self.token]].concat())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
