//! The JavaScript project: the plugin and the JavaScript PDK in `src/`,
//! `node --test` tests, the contract, and scripts that build it with
//! componentize-js and jco pinned in `package.json`.

use hubsync_core::PluginRole;

use super::{Project, WIT};

const PDK: &str = include_str!("../../../../plugins/pdk-js/hubsync-pdk.js");
const BUILD: &str = include_str!("templates/js/build.sh.txt");
const TEST: &str = include_str!("templates/js/test.sh.txt");
const PACKAGE: &str = include_str!("templates/js/package.json.txt");
const README: &str = include_str!("templates/js/README.md.txt");
const CONFLICT: (&str, &str) =
    (include_str!("templates/js/conflict_policy.js.txt"), include_str!("templates/js/test_conflict_policy.js.txt"));
const FILTER: (&str, &str) =
    (include_str!("templates/js/column_filter.js.txt"), include_str!("templates/js/test_column_filter.js.txt"));
const MAP: (&str, &str) =
    (include_str!("templates/js/schema_map.js.txt"), include_str!("templates/js/test_schema_map.js.txt"));

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
            ("src/app.js", app),
            ("src/hubsync-pdk.js", PDK),
            ("test/app.test.js", test),
            ("wit/hubsync-plugin.wit", WIT),
            ("package.json", PACKAGE),
            ("build.sh", BUILD),
            ("test.sh", TEST),
            ("README.md", README),
            (".gitignore", "/node_modules\n/types\n/*.wasm\n"),
        ],
    )
}
