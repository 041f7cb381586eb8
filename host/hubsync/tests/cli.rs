//! The `hubsync` binary end to end: scaffolded plugins build and pass
//! `plugin check` and `plugin test`; bad input gives clear errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;

fn hubsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hubsync"))
        .args(args)
        .env("HUBSYNC_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache"))
        .output()
        .expect("run hubsync")
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn err(out: &Output) -> String {
    assert!(!out.status.success(), "unexpected success: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn cargo(dir: &Path, args: &[&str]) {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold-target");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} failed in {}:\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wasm_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("scaffold-target/wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")))
}

#[test]
fn scaffolded_plugins_build_and_pass_check_and_test() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (kind, name) in [("conflict-policy", "my-policy"), ("column-filter", "my-filter"), ("schema-map", "my-map")] {
        let dir = tmp.path().join(name);
        let dir_s = dir.to_str().expect("utf-8 path");
        ok(&hubsync(&["plugin", "new", dir_s, "--kind", kind]));
        cargo(&dir, &["test", "--quiet"]);
        cargo(&dir, &["build", "--release", "--quiet", "--target", "wasm32-wasip2"]);
        let wasm = wasm_path(name);
        let wasm_s = wasm.to_str().expect("utf-8 path");
        let checked = ok(&hubsync(&["plugin", "check", wasm_s]));
        assert!(checked.contains(&format!("role:        {kind}")), "{checked}");
        assert!(checked.contains(name) && checked.contains("hubsync:plugin@0.1.0"), "{checked}");
        let cases = dir.join("cases.json");
        let out: Json =
            serde_json::from_str(&ok(&hubsync(&["plugin", "test", wasm_s, "--cases", cases.to_str().expect("utf-8")])))
                .expect("JSON output");
        match kind {
            "conflict-policy" => {
                let d: Vec<&str> = out["decisions"]
                    .as_array()
                    .expect("decisions")
                    .iter()
                    .map(|d| d["decision"].as_str().unwrap_or(""))
                    .collect();
                assert_eq!(d, ["take-member", "take-hub"], "{out}");
            }
            "column-filter" => {
                assert_eq!(out["columns"], serde_json::json!(["ID", "Amount", "deleted_at"]), "{out}");
                assert_eq!(out["rows"][0]["sent"], true);
                assert_eq!(out["rows"][1]["sent"], false);
            }
            _ => {
                assert_eq!(out["schema"]["name"], "hub_Orders", "{out}");
                assert_eq!(out["rows"][0]["amount"], "10.00", "{out}");
                assert_eq!(out["round_trip_exact"], true);
            }
        }
    }
    follow_the_tutorial(tmp.path());
    // A second scaffold into a non-empty directory is refused.
    let again =
        hubsync(&["plugin", "new", tmp.path().join("my-policy").to_str().expect("utf-8"), "--kind", "schema-map"]);
    assert!(err(&again).contains("not empty"));
}

#[test]
fn builtins_run_from_the_cli_with_config() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("filter.json");
    std::fs::write(&config, r#"{"tables": {"Orders": {"exclude": ["internal_note"], "where": "Amount >= 10"}}}"#)
        .expect("write");
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/examples/rows.json");
    let out: Json = serde_json::from_str(&ok(&hubsync(&[
        "plugin",
        "test",
        "builtin:column-filter",
        "--cases",
        cases.to_str().expect("utf-8"),
        "--config",
        config.to_str().expect("utf-8"),
    ])))
    .expect("JSON");
    assert_eq!(out["columns"], serde_json::json!(["ID", "Amount", "deleted_at"]));
    assert_eq!((out["rows"][0]["sent"].clone(), out["rows"][1]["sent"].clone()), (Json::Bool(true), Json::Bool(false)));
    let listed = ok(&hubsync(&["plugin", "list"]));
    for name in ["hub-wins", "member-wins", "last-writer-wins", "column-merge", "column-filter", "schema-map"] {
        assert!(listed.contains(&format!("builtin:{name}")), "{listed}");
    }
}

#[test]
fn bad_input_is_refused_clearly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = tmp.path().join("notes.wasm");
    std::fs::write(&text, "not wasm at all").expect("write");
    assert!(err(&hubsync(&["plugin", "check", text.to_str().expect("utf-8")])).contains("not a WebAssembly file"));
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, r#"{"tie": "coin"}"#).expect("write");
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/examples/conflicts.json");
    let e = err(&hubsync(&[
        "plugin",
        "test",
        "builtin:last-writer-wins",
        "--cases",
        cases.to_str().expect("utf-8"),
        "--config",
        bad.to_str().expect("utf-8"),
    ]));
    assert!(e.contains("bad configuration") && e.contains("coin"), "{e}");
    std::fs::write(&bad, "{ nope").expect("write");
    let e = err(&hubsync(&["plugin", "check", "builtin:hub-wins", "--config", bad.to_str().expect("utf-8")]));
    assert!(e.contains("not valid JSON"), "{e}");
    let e = err(&hubsync(&["plugin", "test", "builtin:hub-wins", "--cases", bad.to_str().expect("utf-8")]));
    assert!(e.contains("cases file is not valid"), "{e}");
    let e = err(&hubsync(&["plugin", "check", "builtin:column-filter", "--config", "/nonexistent.json"]));
    assert!(e.contains("cannot read the config file"), "{e}");
}

/// plugins/README.md, step by step: scaffold, replace src/lib.rs with the
/// tutorial's policy, test, build, check, dry-run with a configuration.
fn follow_the_tutorial(tmp: &Path) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/examples/keep-larger-amount/src/lib.rs");
    let code = std::fs::read_to_string(&example).expect("example source");
    let tutorial = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/README.md"))
        .expect("tutorial");
    let (body, tests) = code.split_at(code.find("#[cfg(test)]").expect("tests module"));
    assert!(
        tutorial.contains(body.trim_end()) && tutorial.contains(tests),
        "plugins/README.md drifted from the example crate"
    );

    let dir = tmp.join("keep-larger-amount");
    ok(&hubsync(&["plugin", "new", dir.to_str().expect("utf-8"), "--kind", "conflict-policy"]));
    std::fs::write(dir.join("src/lib.rs"), &code).expect("write policy");
    cargo(&dir, &["test", "--quiet"]);
    cargo(&dir, &["build", "--release", "--quiet", "--target", "wasm32-wasip2"]);
    let wasm = wasm_path("keep-larger-amount");
    let checked = ok(&hubsync(&["plugin", "check", wasm.to_str().expect("utf-8")]));
    assert!(checked.contains("Keeps the version with the larger amount"), "{checked}");
    std::fs::write(dir.join("config.json"), r#"{"column": "amount"}"#).expect("write config");
    let out: Json = serde_json::from_str(&ok(&hubsync(&[
        "plugin",
        "test",
        wasm.to_str().expect("utf-8"),
        "--cases",
        dir.join("cases.json").to_str().expect("utf-8"),
        "--config",
        dir.join("config.json").to_str().expect("utf-8"),
    ])))
    .expect("JSON");
    assert_eq!(out["decisions"][0]["decision"], "take-member", "{out}");
    assert_eq!(out["decisions"][1]["decision"], "take-hub", "{out}");
}
