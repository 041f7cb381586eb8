//! `hubsync plugin new`: scaffolds a plugin crate that builds to a working
//! component anywhere, with no registry: the PDK, the WIT contract and a
//! known-good lockfile are written into the new crate.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use hubsync_core::PluginRole;

const PDK_CARGO: &str = include_str!("../../../plugins/pdk/Cargo.toml");
const PDK_LIB: &str = include_str!("../../../plugins/pdk/src/lib.rs");
const PDK_ALLOC: &str = include_str!("../../../plugins/pdk/src/alloc.rs");
const WIT: &str = include_str!("../../../wit/hubsync-plugin.wit");
const LOCKFILE: &str = include_str!("../../../Cargo.lock");
const TOOLCHAIN: &str = include_str!("../../../rust-toolchain.toml");
const CONFLICT_TEMPLATE: &str = include_str!("templates/conflict_policy.rs.txt");
const FILTER_TEMPLATE: &str = include_str!("templates/column_filter.rs.txt");
const MAP_TEMPLATE: &str = include_str!("templates/schema_map.rs.txt");
const CONFLICT_CASES: &str = include_str!("../../../plugins/examples/conflicts.json");
const ROW_CASES: &str = include_str!("../../../plugins/examples/rows.json");

/// The crate name for a directory name: lower case, letters, digits, `-`.
fn crate_name(dir: &Path) -> Result<String> {
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
        bail!("cannot derive a crate name from {raw:?}: use a directory name that starts with a letter");
    }
    Ok(name)
}

/// Write a new plugin crate of role `kind` into `dir` (which must not exist or be empty).
pub fn new_plugin(dir: &Path, kind: PluginRole) -> Result<String> {
    if dir.exists() && fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?.next().is_some() {
        bail!("{} already exists and is not empty; choose a new directory", dir.display());
    }
    let name = crate_name(dir)?;
    let (template, cases) = match kind {
        PluginRole::ConflictPolicy => (CONFLICT_TEMPLATE, CONFLICT_CASES),
        PluginRole::ColumnFilter => (FILTER_TEMPLATE, ROW_CASES),
        PluginRole::SchemaMap => (MAP_TEMPLATE, ROW_CASES),
    };
    let artifact = name.replace('-', "_");
    let files: Vec<(&str, String)> = vec![
        ("Cargo.toml", cargo_toml(&name, kind)),
        ("src/lib.rs", template.replace("{{name}}", &name)),
        ("cases.json", cases.to_owned()),
        ("rust-toolchain.toml", TOOLCHAIN.to_owned()),
        ("Cargo.lock", LOCKFILE.to_owned()),
        (".gitignore", "/target\n".to_owned()),
        ("README.md", readme(&name, &artifact, kind)),
        ("hubsync-pdk/Cargo.toml", PDK_CARGO.to_owned()),
        ("hubsync-pdk/src/lib.rs", PDK_LIB.to_owned()),
        ("hubsync-pdk/src/alloc.rs", PDK_ALLOC.to_owned()),
        ("hubsync-pdk/wit/hubsync-plugin.wit", WIT.to_owned()),
    ];
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(name)
}

fn cargo_toml(name: &str, kind: PluginRole) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
# cdylib: the component; rlib: native unit tests and benchmarks.
crate-type = ["cdylib", "rlib"]

[dependencies]
hubsync-pdk = {{ path = "hubsync-pdk", features = ["{world}"] }}
serde = {{ version = "1", features = ["derive"] }}

[profile.release]
lto = true
codegen-units = 1
strip = "debuginfo"

# A workspace of its own, wherever it is created.
[workspace]
"#,
        world = kind.world()
    )
}

fn readme(name: &str, artifact: &str, kind: PluginRole) -> String {
    format!(
        r#"# {name}

A hubsync {world} plugin, scaffolded by `hubsync plugin new`.

```sh
cargo test                                            # unit tests, natively
cargo build --release --target wasm32-wasip2          # the component
hubsync plugin check target/wasm32-wasip2/release/{artifact}.wasm
hubsync plugin test target/wasm32-wasip2/release/{artifact}.wasm --cases cases.json
```

`hubsync-pdk/` is the plugin development kit and `hubsync-pdk/wit/` the
contract this plugin is built against; they were copied from the hubsync
that scaffolded it. See hubsync's `plugins/README.md` for the tutorial.
"#,
        world = kind.world()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_names_are_sanitized_or_refused() {
        assert_eq!(crate_name(Path::new("/tmp/My Policy")).expect("name"), "my-policy");
        assert!(crate_name(Path::new("/tmp/42")).is_err());
        assert!(crate_name(Path::new("/")).is_err());
    }
}
