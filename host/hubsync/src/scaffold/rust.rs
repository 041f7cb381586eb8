//! The Rust project: a crate with the PDK, the WIT contract and a
//! known-good lockfile written into it, so it builds with no registry but
//! crates.io.

use hubsync_core::PluginRole;

use super::{Project, WIT};

const PDK_CARGO: &str = include_str!("../../../../plugins/pdk/Cargo.toml");
const PDK_LIB: &str = include_str!("../../../../plugins/pdk/src/lib.rs");
const PDK_ALLOC: &str = include_str!("../../../../plugins/pdk/src/alloc.rs");
const LOCKFILE: &str = include_str!("../../../../Cargo.lock");
const TOOLCHAIN: &str = include_str!("../../../../rust-toolchain.toml");
const CONFLICT_TEMPLATE: &str = include_str!("templates/rust/conflict_policy.rs.txt");
const FILTER_TEMPLATE: &str = include_str!("templates/rust/column_filter.rs.txt");
const MAP_TEMPLATE: &str = include_str!("templates/rust/schema_map.rs.txt");

/// The crate's files and the commands that build and test it.
pub(super) fn project(name: &str, kind: PluginRole) -> Project {
    let template = match kind {
        PluginRole::ConflictPolicy => CONFLICT_TEMPLATE,
        PluginRole::ColumnFilter => FILTER_TEMPLATE,
        PluginRole::SchemaMap => MAP_TEMPLATE,
    };
    let artifact = name.replace('-', "_");
    let files = vec![
        ("Cargo.toml", cargo_toml(name, kind)),
        ("src/lib.rs", template.replace("{{name}}", name)),
        ("rust-toolchain.toml", TOOLCHAIN.to_owned()),
        ("Cargo.lock", LOCKFILE.to_owned()),
        (".gitignore", "/target\n".to_owned()),
        ("README.md", readme(name, &artifact, kind)),
        ("hubsync-pdk/Cargo.toml", PDK_CARGO.to_owned()),
        ("hubsync-pdk/src/lib.rs", PDK_LIB.to_owned()),
        ("hubsync-pdk/src/alloc.rs", PDK_ALLOC.to_owned()),
        ("hubsync-pdk/wit/hubsync-plugin.wit", WIT.to_owned()),
    ];
    Project {
        files: files.into_iter().map(|(p, t)| (p.to_owned(), t)).collect(),
        next: vec![
            "cargo test".into(),
            "cargo build --release --target wasm32-wasip2".into(),
            format!("hubsync plugin test target/wasm32-wasip2/release/{artifact}.wasm --cases cases.json"),
        ],
    }
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
