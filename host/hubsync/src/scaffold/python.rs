//! The Python project: the plugin and the Python PDK in `src/`, pytest
//! tests, the contract, and scripts that build it with a pinned
//! componentize-py from PyPI.

use hubsync_core::PluginRole;

use super::{Project, WIT};

const PDK: &str = include_str!("../../../../plugins/pdk-python/hubsync_pdk.py");
const BUILD: &str = include_str!("templates/python/build.sh.txt");
const TEST: &str = include_str!("templates/python/test.sh.txt");
const README: &str = include_str!("templates/python/README.md.txt");
const CONFTEST: &str = include_str!("templates/python/conftest.py.txt");
const CONFLICT: (&str, &str) = (
    include_str!("templates/python/conflict_policy.py.txt"),
    include_str!("templates/python/test_conflict_policy.py.txt"),
);
const FILTER: (&str, &str) =
    (include_str!("templates/python/column_filter.py.txt"), include_str!("templates/python/test_column_filter.py.txt"));
const MAP: (&str, &str) =
    (include_str!("templates/python/schema_map.py.txt"), include_str!("templates/python/test_schema_map.py.txt"));

/// The versions the scaffold pins: componentize-py builds the component,
/// pytest runs the tests (both tested here with this contract).
const REQUIREMENTS: &str = "componentize-py==0.25.1\npytest==8.3.4\n";

/// The project's files and the commands that build and test it.
pub(super) fn project(name: &str, kind: PluginRole) -> Project {
    let (app, test) = match kind {
        PluginRole::ConflictPolicy => CONFLICT,
        PluginRole::ColumnFilter => FILTER,
        PluginRole::SchemaMap => MAP,
    };
    super::scripted(
        name,
        kind,
        &[
            ("src/app.py", app),
            ("src/hubsync_pdk.py", PDK),
            ("tests/test_app.py", test),
            ("tests/conftest.py", CONFTEST),
            ("wit/hubsync-plugin.wit", WIT),
            ("requirements.txt", REQUIREMENTS),
            ("build.sh", BUILD),
            ("test.sh", TEST),
            ("README.md", README),
            (".gitignore", "/.venv\n/bindings\n/*.wasm\n__pycache__/\n"),
        ],
    )
}
