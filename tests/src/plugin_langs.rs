//! Plugins in Python and JavaScript, built as their authors build them:
//! `hubsync plugin new --lang python | js`, then the project's own
//! `./test.sh` (componentize-py from PyPI, componentize-js and jco from the
//! npm registry, pytest or `node --test`, `hubsync plugin check` and
//! `hubsync plugin test` with the project's expectations).
//!
//! Needs `python3` with `venv` and `npm`. Without them a test says SKIPPED,
//! unless `HUBSYNC_REQUIRE_PLUGIN_LANGS=1` (as CI sets) makes it fail.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::{hubsync_bin, plugin_cache, scratch};

/// Whether Python (with venv) and npm are here; prints SKIPPED for `test` when not.
pub fn available(test: &str) -> bool {
    let works = |cmd: &str, args: &[&str]| Command::new(cmd).args(args).output().is_ok_and(|o| o.status.success());
    let missing: Vec<&str> = [
        (!works("python3", &["-c", "import venv, ensurepip"])).then_some("python3 with venv"),
        (!works("npm", &["--version"])).then_some("npm"),
        (!works("node", &["--version"])).then_some("node"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("HUBSYNC_REQUIRE_PLUGIN_LANGS").is_none(),
        "HUBSYNC_REQUIRE_PLUGIN_LANGS is set but {} is missing",
        missing.join(" and ")
    );
    println!("*** SKIPPED: {test}: {} missing", missing.join(" and "));
    false
}

/// Scaffold a `kind` plugin in `lang` as `dir/name`, copy `overlay` (a
/// repository folder laid out like the project: `src/`, tests, `cases.json`)
/// over it, and run its `./test.sh`; the project's folder.
pub fn build_project(dir: &Path, name: &str, lang: &str, kind: &str, overlay: Option<&str>) -> PathBuf {
    let project = dir.join(name);
    let new = Command::new(hubsync_bin())
        .args(["plugin", "new"])
        .arg(&project)
        .args(["--kind", kind, "--lang", lang])
        .output()
        .expect("hubsync plugin new");
    assert!(new.status.success(), "plugin new {name}: {}", String::from_utf8_lossy(&new.stderr));
    if let Some(rel) = overlay {
        copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel), &project);
    }
    let out = Command::new(project.join("test.sh"))
        .env("HUBSYNC", hubsync_bin())
        .env("HUBSYNC_CACHE_DIR", plugin_cache())
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .output()
        .expect("run the project's test.sh");
    assert!(
        out.status.success(),
        "{name} ({lang} {kind}): ./test.sh failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    project
}

/// A plugin of the repository (`overlay`, e.g.
/// `plugins/examples/python/keep-larger-amount`) built once per test
/// process through [`build_project`]; its component, kept under the
/// target directory (the project itself, with its `.venv` or
/// `node_modules`, is removed).
pub fn built(lang: &str, kind: &str, overlay: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<Vec<(String, PathBuf)>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = built.iter().find(|(k, _)| k == overlay) {
        return p.clone();
    }
    let name = overlay.rsplit('/').next().expect("a folder");
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = build_project(tmp.path(), name, lang, kind, Some(overlay));
    let keep = scratch().join("lang-plugins").join(lang);
    std::fs::create_dir_all(&keep).expect("plugin folder");
    let wasm = keep.join(format!("{name}.wasm"));
    std::fs::copy(project.join(format!("{name}.wasm")), &wasm).expect("keep the component");
    built.push((overlay.to_owned(), wasm.clone()));
    wasm
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
