//! The applications databases ship with, writing while `hubsync serve`
//! syncs and is killed: `pgbench` (TPC-B, `-i --foreign-keys`) on a
//! PostgreSQL hub and a PostgreSQL member, `sysbench oltp_write_only` on
//! the hub and on a MariaDB member, `hubsync serve` SIGKILLed and started
//! again at once by the test (as a supervisor does). Afterwards every
//! member holds the hub's rows, by value, and the applications' own
//! failure counts (pgbench's failed transactions and aborted clients,
//! sysbench's ignored errors) are printed beside a run of the same
//! applications on databases hubsync never touched.
//!
//! `HUBSYNC_APPS_SECONDS` (default 30) sets how long the applications run.
//! Needs `pgbench` (PostgreSQL's server package) and `sysbench` (Debian
//! package; `.ci/run` installs it).

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use hubsync_tests::{Db, Engine, Workspace, free_port, hubsync_cmd, wait_for};

const KEY: &str = "aHVic3luYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=";

/// A database's name (the last part of its URL).
fn name(db: &Db) -> &str {
    db.url.rsplit('/').next().expect("a database name")
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what} failed:\n{}", text(&out));
    text(&out)
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn pgbench(db: &Db) -> Command {
    let mut c = Command::new("pgbench");
    c.args(["-h", "127.0.0.1", "-U", "postgres"]);
    c.stdin(Stdio::null());
    c.env("PGDATABASE", name(db));
    c
}

fn sysbench(db: &Db, action: &str, seconds: u64) -> Command {
    let mut c = Command::new("sysbench");
    c.args(["oltp_write_only", "--tables=1", "--table-size=10000", "--threads=2", "--report-interval=0"]);
    c.arg(format!("--time={seconds}"));
    match db.engine {
        Engine::Postgres => c
            .args(["--db-driver=pgsql", "--pgsql-host=127.0.0.1", "--pgsql-user=postgres"])
            .arg(format!("--pgsql-db={}", name(db))),
        _ => c
            .args(["--db-driver=mysql", "--mysql-host=127.0.0.1", "--mysql-user=root"])
            .arg(format!("--mysql-db={}", name(db))),
    };
    c.arg(action).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// pgbench's TPC-B for `seconds` (two clients), in the background.
fn pgbench_run(db: &Db, seconds: u64) -> Child {
    pgbench(db)
        .args(["-c", "2", "-T", &seconds.to_string(), "--max-tries=1", "--failures-detailed"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pgbench")
}

/// What an application run reported: its failure figures, in its words.
fn failures(app: &str, out: &Output) -> String {
    let all = text(out);
    let lines: Vec<String> = all
        .lines()
        .filter(|l| {
            l.contains("number of failed transactions") || l.contains("aborted") || l.contains("ignored errors")
        })
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(!lines.is_empty(), "{app} printed no failure figures:\n{all}");
    format!("{app}: {}", lines.join("; "))
}

/// Set up `hub` as the applications' database: pgbench's tables with
/// foreign keys, sysbench's sbtest1.
fn prepare_hub(hub: &Db) {
    run(pgbench(hub).args(["-i", "--foreign-keys", "-s", "1", "-q"]), "pgbench -i");
    run(&mut sysbench(hub, "prepare", 1), "sysbench prepare (PostgreSQL)");
}

/// The applications for `seconds`: pgbench on `pg` databases, sysbench on
/// `sb` databases; their failure figures when they end.
fn applications(pg: &[&Db], sb: &[&Db], seconds: u64) -> Vec<Child> {
    let mut apps: Vec<Child> = pg.iter().map(|db| pgbench_run(db, seconds)).collect();
    apps.extend(sb.iter().map(|db| sysbench(db, "run", seconds).spawn().expect("sysbench")));
    apps
}

fn report(names: &[String], apps: Vec<Child>) -> Vec<String> {
    names
        .iter()
        .zip(apps)
        .map(|(n, a)| {
            let out = a.wait_with_output().expect("wait for an application");
            assert!(out.status.success(), "{n} failed:\n{}", text(&out));
            failures(n, &out)
        })
        .collect()
}

/// Every row of `table`, cells as printed, ordered by key. Trailing spaces
/// are left out: pgbench's and sysbench's `char(n)` columns compare without
/// them on PostgreSQL (`bpchar`), where `psql` prints them padded.
fn dump(db: &Db, table: &str, key: &str) -> Vec<Vec<String>> {
    let rows = db.query(&format!("SELECT * FROM {table} ORDER BY {key};"));
    rows.into_iter().map(|r| r.into_iter().map(|c| c.trim_end_matches(' ').to_owned()).collect()).collect()
}

fn start_serve(ws: &Workspace, port: u16, config: &str, n: usize) -> Child {
    let meta = format!("sqlite://{}", ws.dir().join("meta.db").display());
    let listen = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(ws.dir().join(format!("serve-{n}.log"))).expect("log");
    hubsync_cmd(&["serve", "--metadata", &meta, "--listen", &listen, "--config", config])
        .env("HUBSYNC_SECRET_KEY", KEY)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("hubsync serve")
}

#[test]
fn pgbench_and_sysbench_write_while_serve_is_killed_and_everything_converges() {
    for tool in ["pgbench", "sysbench"] {
        assert!(
            Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success()),
            "{tool} is needed (pgbench: PostgreSQL's server package; sysbench: apt-get install sysbench)"
        );
    }
    let seconds: u64 = std::env::var("HUBSYNC_APPS_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);

    // The same applications on databases hubsync never touches.
    let (base_hub, base_maria) = (Db::new(Engine::Postgres), Db::new(Engine::Mariadb));
    prepare_hub(&base_hub);
    run(&mut sysbench(&base_maria, "prepare", 1), "sysbench prepare (MariaDB)");
    let names: Vec<String> =
        ["pgbench on the hub", "sysbench on the hub", "sysbench on MariaDB"].map(String::from).to_vec();
    let baseline = report(&names, applications(&[&base_hub], &[&base_hub, &base_maria], seconds));

    // The group: the hub, a PostgreSQL member, a MariaDB member.
    let (hub, pg, maria, ws) =
        (Db::new(Engine::Postgres), Db::new(Engine::Postgres), Db::new(Engine::Mariadb), Workspace::new());
    prepare_hub(&hub);
    let tables = ["pgbench_branches", "pgbench_tellers", "pgbench_accounts", "sbtest1"];
    let mut file = format!(
        "[[group]]\nname = \"apps\"\nhub = \"{}\"\ninterval_seconds = 2\n\n\
         [[group.member]]\nname = \"pg\"\nurl = \"{}\"\n\n[[group.member]]\nname = \"maria\"\nurl = \"{}\"\n",
        hub.url, pg.url, maria.url
    );
    for t in tables {
        file.push_str(&format!("\n[[group.table]]\nname = \"{t}\"\n"));
    }
    let file = ws.group_file(&file);
    let port = free_port();
    let mut serve = start_serve(&ws, port, &file, 0);
    assert!(wait_for(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()));
    // The members get their tables and rows from the first syncs.
    let synced = wait_for(Duration::from_secs(180), || {
        maria.try_exec("SELECT COUNT(*) FROM sbtest1;").is_ok_and(|n| n.trim() == "10000")
            && pg.try_exec("SELECT count(*) FROM pgbench_accounts;").is_ok_and(|n| n.trim() == "100000")
    });
    assert!(
        synced,
        "the initial sync did not finish:\n{}",
        std::fs::read_to_string(ws.dir().join("serve-0.log")).unwrap_or_default()
    );
    // pgbench on the member needs its history table (not synced: it has no key).
    pg.exec("CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));");

    let apps = applications(&[&hub, &pg], &[&hub, &maria], seconds);
    // SIGKILL the service now and then; start it again at once.
    let clock = Instant::now();
    let mut kills = 0;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    while clock.elapsed() < Duration::from_secs(seconds.saturating_sub(3)) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        std::thread::sleep(Duration::from_millis(2000 + state % 4000));
        serve.kill().expect("SIGKILL");
        let _ = serve.wait();
        kills += 1;
        serve = start_serve(&ws, port, &file, kills);
        assert!(
            wait_for(Duration::from_secs(10), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()),
            "serve did not start again at once after SIGKILL {kills}"
        );
    }
    let names: Vec<String> =
        ["pgbench on the hub", "pgbench on the PostgreSQL member", "sysbench on the hub", "sysbench on MariaDB"]
            .map(String::from)
            .to_vec();
    let with_hubsync = report(&names, apps);

    // Quiet now: the service syncs until every member holds the hub's rows.
    let same = |t: &str, key: &str| {
        let want = dump(&hub, t, key);
        dump(&pg, t, key) == want && dump(&maria, t, key) == want
    };
    let converged = wait_for(Duration::from_secs(240), || {
        same("pgbench_accounts", "aid")
            && same("sbtest1", "id")
            && same("pgbench_tellers", "tid")
            && same("pgbench_branches", "bid")
    });
    let _ = serve.kill();
    let _ = serve.wait();
    if !converged {
        let mut why = String::new();
        for (t, key) in
            [("pgbench_branches", "bid"), ("pgbench_tellers", "tid"), ("pgbench_accounts", "aid"), ("sbtest1", "id")]
        {
            let want = dump(&hub, t, key);
            for (m, db) in [("pg", &pg), ("maria", &maria)] {
                let got = dump(db, t, key);
                if got != want {
                    let first = want.iter().zip(&got).find(|(a, b)| a != b);
                    why.push_str(&format!(
                        "{t} on {m}: {} rows, hub {}; first difference {first:?}\n",
                        got.len(),
                        want.len()
                    ));
                }
            }
        }
        let logs: String = (0..=kills)
            .map(|n| std::fs::read_to_string(ws.dir().join(format!("serve-{n}.log"))).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n---\n");
        let tail: String =
            logs.lines().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        panic!("the members did not converge on the hub's rows:\n{why}\nlast log lines:\n{tail}");
    }
    eprintln!("\n{kills} SIGKILLs of hubsync serve in {seconds} s; the applications' own failure counts:");
    eprintln!("  without hubsync: {}", baseline.join(" | "));
    eprintln!("  with hubsync:    {}", with_hubsync.join(" | "));
    // verify, on the service's store, agrees.
    let verify_file = ws.dir().join("verify.toml");
    let groups = std::fs::read_to_string(&file).expect("group file");
    std::fs::write(&verify_file, format!("metadata = \"sqlite://{}\"\n{groups}", ws.dir().join("meta.db").display()))
        .expect("write");
    let v = hubsync_cmd(&["verify", "--config", verify_file.to_str().expect("utf-8")])
        .env("HUBSYNC_SECRET_KEY", KEY)
        .output()
        .expect("verify");
    assert!(v.status.success(), "verify:\n{}", text(&v));
}
