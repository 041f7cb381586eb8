//! Plugins in Python and JavaScript as their authors make them: every
//! scaffold builds from clean and passes its own tests; the examples decide
//! conflicts that applications wrote through the engines' own clients in a
//! real sync; hostile guests are contained with errors that name them.

use std::path::Path;

use hubsync_tests::plugin_langs::{available, build_project, built};
use hubsync_tests::{Db, Engine, Served, Workspace, hubsync};

const LANGS: [&str; 2] = ["python", "js"];
const KINDS: [&str; 3] = ["conflict-policy", "column-filter", "schema-map"];

#[test]
fn the_tutorial_shows_the_examples_as_they_are() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tutorial = std::fs::read_to_string(root.join("plugins/README.md")).expect("plugins/README.md");
    for file in [
        "plugins/examples/python/keep-larger-amount/src/app.py",
        "plugins/examples/python/keep-larger-amount/tests/test_app.py",
        "plugins/examples/js/keep-larger-amount/src/app.js",
        "plugins/examples/js/keep-larger-amount/test/app.test.js",
    ] {
        let code = std::fs::read_to_string(root.join(file)).expect(file);
        assert!(tutorial.contains(&code), "plugins/README.md drifted from {file}");
    }
}

#[test]
fn every_scaffold_in_python_and_js_builds_and_passes_its_own_tests() {
    if !available("every_scaffold_in_python_and_js_builds_and_passes_its_own_tests") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    for lang in LANGS {
        for kind in KINDS {
            // test.sh: build, pytest / node --test, plugin check, plugin test
            // against the cases' expectations.
            let project = build_project(tmp.path(), &format!("{lang}-{kind}"), lang, kind, None);
            // The project's own dependencies go with it, not into the next one.
            for heavy in [".venv", "node_modules"] {
                let _ = std::fs::remove_dir_all(project.join(heavy));
            }
        }
    }
}

#[test]
fn the_filter_and_map_examples_build_and_meet_their_cases_in_both_languages() {
    if !available("the_filter_and_map_examples_build_and_meet_their_cases_in_both_languages") {
        return;
    }
    // Each example's own cases.json (with its `expect`) replaces the
    // scaffold's, and its ./test.sh runs it through `hubsync plugin test`.
    for lang in LANGS {
        built(lang, "column-filter", &format!("plugins/examples/{lang}/eu-orders"));
        built(lang, "schema-map", &format!("plugins/examples/{lang}/rename-orders"));
    }
}

fn example(lang: &str) -> String {
    built(lang, "conflict-policy", &format!("plugins/examples/{lang}/keep-larger-amount"))
        .to_str()
        .expect("utf-8 path")
        .to_owned()
}

/// An amount as a number, however the client printed it.
fn amount(cell: &str) -> f64 {
    cell.trim().parse().unwrap_or_else(|_| panic!("not an amount: {cell:?}"))
}

#[test]
fn the_python_and_js_examples_decide_conflicts_written_by_the_engines_own_clients() {
    if !available("the_python_and_js_examples_decide_conflicts_written_by_the_engines_own_clients") {
        return;
    }
    for lang in LANGS {
        let wasm = example(lang);
        let (hub, lite, maria, ws) =
            (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Db::new(Engine::Mariadb), Workspace::new());
        hub.exec(
            "CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(12,2), note text); \
             INSERT INTO orders VALUES (1, 1.00, 'a'), (2, 1.00, 'b'), (3, 1.00, 'c');",
        );
        let file = ws.group_file(&format!(
            r#"
[[group]]
name = "orders"
hub = "{}"
conflict_policy = {{ plugin = "{wasm}", config = {{ column = "amount" }}, limits = {{ memory_mib = 96, deadline_ms = 5000 }} }}

[[group.member]]
name = "lite"
url = "{}"

[[group.member]]
name = "maria"
url = "{}"

[[group.table]]
name = "orders"
"#,
            hub.url, lite.url, maria.url
        ));
        hubsync(&["sync", "--config", &file]).expect_ok("initial sync");
        // Applications change the same rows on every side, through their own clients.
        hub.exec("UPDATE orders SET amount = 10 WHERE id = 1; UPDATE orders SET amount = 30 WHERE id = 2; DELETE FROM orders WHERE id = 3;");
        lite.exec("UPDATE orders SET amount = 20 WHERE id = 1; UPDATE orders SET amount = 5 WHERE id = 2; UPDATE orders SET amount = 7 WHERE id = 3;");
        maria.exec("UPDATE orders SET amount = 15 WHERE id = 1; UPDATE orders SET amount = 50 WHERE id = 2;");
        for _ in 0..2 {
            hubsync(&["sync", "--config", &file]).expect_ok("sync with the policy");
        }
        // The larger amount wins everywhere; the hub's delete wins over an update.
        for (db, sql) in [
            (&hub, "SELECT id, amount FROM orders ORDER BY id"),
            (&lite, "SELECT id, CAST(amount AS REAL) FROM orders ORDER BY id"),
            (&maria, "SELECT id, amount FROM orders ORDER BY id"),
        ] {
            let rows: Vec<(String, f64)> = db.query(sql).into_iter().map(|r| (r[0].clone(), amount(&r[1]))).collect();
            assert_eq!(rows, [("1".to_owned(), 20.0), ("2".to_owned(), 50.0)], "{lang}: {} on {}", sql, db.url);
        }
        // The decisions are recorded under the plugin's name.
        let conflicts = hubsync(&["conflicts", "--config", &file, "--group", "orders"]);
        let listed = conflicts.expect_ok("conflicts");
        assert!(listed.contains("keep-larger-amount"), "{lang}: {listed}");
        // An exception in the plugin fails the batch with its type and line,
        // as plugins/README.md shows.
        let note = ws.dir().join("note.json");
        std::fs::write(&note, r#"{"column": "note"}"#).expect("write");
        let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/examples/conflicts.json");
        let run = hubsync(&[
            "plugin",
            "test",
            &wasm,
            "--cases",
            cases.to_str().expect("utf-8"),
            "--config",
            note.to_str().expect("utf-8"),
        ]);
        let documented = match lang {
            "python" => {
                "resolve failed: ValueError: column 'note' is not numeric ('edited on the hub' vs 'edited on the member') (at app.py:38, in resolve_one)"
            }
            _ => r#"resolve failed: TypeError: "edited on the member" is not a number (at app.js:30)"#,
        };
        assert!(!run.ok && run.stderr.contains(documented), "{lang}: {}", run.stderr);
        // A bad configuration is refused before anything runs, naming the plugin.
        let bad = ws.dir().join("bad.json");
        std::fs::write(&bad, r#"{"colum": "amount"}"#).expect("write");
        let run = hubsync(&["plugin", "check", &wasm, "--config", bad.to_str().expect("utf-8")]);
        assert!(!run.ok, "{lang}: a bad configuration passed");
        assert!(
            run.stderr.contains("keep-larger-amount")
                && run.stderr.contains("unknown option")
                && run.stderr.contains("colum"),
            "{lang}: {}",
            run.stderr
        );
    }
}

/// `hubsync plugin test` of a hostile plugin in `mode`: its error output.
fn misbehave(wasm: &str, mode: &str, ws: &Workspace) -> hubsync_tests::Run {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/examples/conflicts.json");
    let config = ws.dir().join(format!("{mode}.json"));
    std::fs::write(&config, format!(r#"{{"mode": "{mode}"}}"#)).expect("write config");
    hubsync(&[
        "plugin",
        "test",
        wasm,
        "--cases",
        cases.to_str().expect("utf-8"),
        "--config",
        config.to_str().expect("utf-8"),
    ])
}

#[test]
fn hostile_python_and_js_guests_are_contained_with_errors_that_name_them() {
    if !available("hostile_python_and_js_guests_are_contained_with_errors_that_name_them") {
        return;
    }
    let ws = Workspace::new();
    let py = built("python", "conflict-policy", "plugins/testing/hostile-python");
    let js = built("js", "conflict-policy", "plugins/testing/hostile-js");
    // A loop is stopped by its CPU budget or, as interpreted guests get 20
    // times the fuel, by the deadline, whichever comes first.
    let cpu = "and was stopped";
    let memory = "tried to grow its memory past the cap";
    let deadline = "ran past its deadline";
    for (wasm, name, mode, needles) in [
        (&py, "hostile-python", "loop", vec![cpu]),
        (&py, "hostile-python", "alloc", vec![memory]),
        (&py, "hostile-python", "sleep", vec![deadline]),
        (&py, "hostile-python", "read-file", vec!["FileNotFoundError", "/etc/passwd", "app.py"]),
        (&py, "hostile-python", "read-env", vec!["KeyError", "HOME"]),
        (&py, "hostile-python", "socket", vec!["PermissionError", "app.py"]),
        (&py, "hostile-python", "raise", vec!["RuntimeError: asked to fail", "app.py"]),
        (&js, "hostile-js", "loop", vec![cpu]),
        (&js, "hostile-js", "alloc", vec![memory]),
        (&js, "hostile-js", "busy-wait", vec![cpu]),
        (&js, "hostile-js", "fetch", vec!["crashed"]),
        (&js, "hostile-js", "read-env", vec!["ReferenceError", "process"]),
        (&js, "hostile-js", "throw", vec!["Error: asked to fail", "app.js"]),
    ] {
        let wasm = wasm.to_str().expect("utf-8");
        let run = misbehave(wasm, mode, &ws);
        assert!(!run.ok, "{name} {mode}: passed:\n{}", run.stdout);
        let last = run.stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with(&format!("error: plugin {name} (")), "{name} {mode}: {}", run.stderr);
        if needles == [cpu] {
            assert!(last.contains("CPU budget") || last.contains("deadline"), "{name} {mode}: {last}");
        }
        for n in needles {
            assert!(last.contains(n), "{name} {mode}: {n:?} not in {last}");
        }
        assert!(!run.stderr.contains("panicked at") || mode == "fetch", "{name} {mode}: {}", run.stderr);
        assert!(run.elapsed.as_secs() < 10, "{name} {mode}: took {:?}", run.elapsed);
    }
    // What a plugin prints goes to the log, under its name; the call succeeds.
    for (wasm, name) in [(&py, "hostile-python"), (&js, "hostile-js")] {
        let run = misbehave(wasm.to_str().expect("utf-8"), "print", &ws);
        let out = run.expect_ok("print");
        assert!(out.contains("take-hub"), "{out}");
        for stream in ["stdout", "stderr"] {
            assert!(run.stderr.contains(&format!("{name} was here, on {stream}")), "{name}: {}", run.stderr);
        }
    }
}

/// Lines of a `serve` log that say a plugin of `bytes` bytes was compiled.
fn compiled(log: &Path, bytes: u64) -> usize {
    let text = std::fs::read_to_string(log).expect("serve log");
    // The log is coloured: drop the escape sequences.
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().take_while(|&c| c != 'm').for_each(drop);
        } else {
            plain.push(c);
        }
    }
    plain.lines().filter(|l| l.contains("plugin compiled") && l.contains(&format!("bytes={bytes}"))).count()
}

#[test]
fn serve_compiles_a_stored_python_plugin_once_not_once_per_sync() {
    if !available("serve_compiles_a_stored_python_plugin_once_not_once_per_sync") {
        return;
    }
    let wasm = example("python");
    let bytes = std::fs::metadata(&wasm).expect("component").len();
    let (hub, member, ws) = (Db::new(Engine::Sqlite), Db::new(Engine::Sqlite), Workspace::new());
    hub.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount NUMERIC); INSERT INTO orders VALUES (1, 1);");
    let log = ws.dir().join("served.log");
    // A cache of its own, empty: the first load compiles.
    let cache = ws.dir().join("cache");
    let env = [("HUBSYNC_CACHE_DIR", cache.to_str().expect("utf-8"))];
    {
        let s = Served::start_env(&ws, "served", &env);
        let ok = |args: &[&str]| s.cli(args).expect_ok(&args.join(" ")).to_owned();
        ok(&["plugin", "upload", &wasm, "--name", "larger"]);
        let m = format!("m={}", member.url);
        ok(&[
            "group",
            "create",
            "g",
            "--hub",
            &hub.url,
            "--member",
            &m,
            "--table",
            "orders",
            "--policy",
            "stored:larger",
        ]);
        ok(&["sync", "now", "g", "--wait"]);
        for round in 1..=3 {
            // A conflict each round, the member's amount the larger.
            hub.exec(&format!("UPDATE orders SET amount = {} WHERE id = 1;", 10 * round));
            member.exec(&format!("UPDATE orders SET amount = {} WHERE id = 1;", 10 * round + 5));
            ok(&["sync", "now", "g", "--wait"]);
            assert_eq!(hub.scalar("SELECT amount FROM orders WHERE id = 1"), (10 * round + 5).to_string());
        }
        // Checked at upload, compiled then; never again for four syncs.
        assert_eq!(compiled(&log, bytes), 1, "{}", std::fs::read_to_string(&log).unwrap_or_default());
    }
    // A restarted service reads the compiled plugin from its cache.
    let s = Served::start_env(&ws, "served", &env);
    hub.exec("UPDATE orders SET amount = 100 WHERE id = 1;");
    member.exec("UPDATE orders SET amount = 200 WHERE id = 1;");
    s.cli(&["sync", "now", "g", "--wait"]).expect_ok("sync after a restart");
    assert_eq!(hub.scalar("SELECT amount FROM orders WHERE id = 1"), "200");
    assert_eq!(compiled(&log, bytes), 0, "{}", std::fs::read_to_string(&log).unwrap_or_default());
}
