//! `hubsync plugin new`: scaffolds a plugin project that builds to a working
//! component wherever it is created, in Rust, Python or JavaScript. What is
//! the same in every language lives here (the directory, the name, the
//! contract, the cases with their expectations); each language's file holds
//! only its project layout.

mod js;
mod python;
mod rust;

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use hubsync_core::PluginRole;
use serde_json::{Value as Json, json};

/// The contract every project is built against.
const WIT: &str = include_str!("../../../../wit/hubsync-plugin.wit");
const CONFLICT_CASES: &str = include_str!("../../../../plugins/examples/conflicts.json");
const ROW_CASES: &str = include_str!("../../../../plugins/examples/rows.json");

/// The language a plugin is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust, built with cargo for `wasm32-wasip2`.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-js.
    Js,
}

/// A new project: its name and the commands that build and test it.
pub struct Created {
    /// The plugin's name (from the directory's).
    pub name: String,
    /// What to run next, in the project's directory, one command a line.
    pub next: Vec<String>,
}

/// The project name for a directory name: lower case, letters, digits, `-`.
fn project_name(dir: &Path) -> Result<String> {
    let raw = dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("the plugin directory needs a name, e.g. `hubsync plugin new my-policy`")?;
    let name: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .to_owned();
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        bail!("cannot derive a plugin name from {raw:?}: use a directory name that starts with a letter");
    }
    Ok(name)
}

/// Write a new plugin project of role `kind` in `lang` into `dir` (which
/// must not exist or be empty).
pub fn new_plugin(dir: &Path, kind: PluginRole, lang: Lang) -> Result<Created> {
    if dir.exists() && fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?.next().is_some() {
        bail!("{} already exists and is not empty; choose a new directory", dir.display());
    }
    let name = project_name(dir)?;
    let project = match lang {
        Lang::Rust => rust::project(&name, kind),
        Lang::Python => python::project(&name, kind),
        Lang::Js => js::project(&name, kind),
    };
    let mut files = project.files;
    files.push(("cases.json".into(), cases(kind)?));
    for (rel, text) in files {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        if rel.ends_with(".sh") {
            executable(&path)?;
        }
    }
    Ok(Created { name, next: project.next })
}

/// What a language contributes: its files and the commands that follow.
struct Project {
    files: Vec<(String, String)>,
    next: Vec<String>,
}

/// A project in an interpreted language: `files` (path, template) with
/// `{{name}}` and `{{world}}` filled in, built and tested by its own
/// `./build.sh` and `./test.sh`.
fn scripted(name: &str, kind: PluginRole, files: &[(&str, &str)]) -> Project {
    let fill = |t: &str| t.replace("{{name}}", name).replace("{{world}}", kind.world());
    Project {
        files: files.iter().map(|(p, t)| ((*p).to_owned(), fill(t))).collect(),
        next: vec![
            "./build.sh".into(),
            "./test.sh".into(),
            format!("hubsync plugin test {name}.wasm --cases cases.json"),
        ],
    }
}

/// The sample cases for a role, with what the scaffold's example rule must
/// answer, so `hubsync plugin test` fails once the rule changes and the
/// expectations do not (every language's template implements the same rule).
fn cases(kind: PluginRole) -> Result<String> {
    let (text, expect) = match kind {
        PluginRole::ConflictPolicy => {
            (CONFLICT_CASES, json!({"decisions": [{"decision": "take-member"}, {"decision": "take-hub"}]}))
        }
        PluginRole::ColumnFilter => {
            (ROW_CASES, json!({"columns": ["ID", "Amount", "deleted_at"], "rows": [{"sent": true}, {"sent": false}]}))
        }
        PluginRole::SchemaMap => (
            ROW_CASES,
            json!({"schema": {"name": "hub_Orders"}, "rows": [{"amount": "10.00"}, {}], "round_trip_exact": true}),
        ),
    };
    let mut cases: Json = serde_json::from_str(text).context("the bundled cases are not JSON")?;
    cases["expect"] = expect;
    Ok(serde_json::to_string_pretty(&cases)? + "\n")
}

#[cfg(unix)]
fn executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn executable(_: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_are_sanitized_or_refused() {
        assert_eq!(project_name(Path::new("/tmp/My Policy")).expect("name"), "my-policy");
        assert!(project_name(Path::new("/tmp/42")).is_err());
        assert!(project_name(Path::new("/")).is_err());
    }

    #[test]
    fn every_role_gets_cases_with_expectations() {
        for kind in [PluginRole::ConflictPolicy, PluginRole::ColumnFilter, PluginRole::SchemaMap] {
            let text = cases(kind).expect("cases");
            let parsed = hubsync_core::cases::Cases::from_json(&text).expect("valid cases");
            assert!(parsed.expect.is_some(), "{text}");
        }
    }
}
