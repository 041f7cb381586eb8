//! The built-in plugins, compiled from `plugins/` by this crate's build script
//! and embedded, then run through the same runtime as any user plugin.

/// Names of the built-in plugins.
pub const NAMES: &[&str] =
    &["hub-wins", "member-wins", "last-writer-wins", "column-merge", "column-filter", "schema-map"];

macro_rules! embedded {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".wasm"))
    };
}

/// A configuration each built-in accepts (most take `{}`), for listing and
/// describing them without a user's configuration.
pub fn sample_config(name: &str) -> &'static str {
    match name {
        "column-merge" => r#"{"member_columns": ["example"]}"#,
        _ => "{}",
    }
}

/// The component bytes of a built-in plugin.
pub fn bytes(name: &str) -> Option<&'static [u8]> {
    Some(match name {
        "hub-wins" => embedded!("hub-wins"),
        "member-wins" => embedded!("member-wins"),
        "last-writer-wins" => embedded!("last-writer-wins"),
        "column-merge" => embedded!("column-merge"),
        "column-filter" => embedded!("column-filter"),
        "schema-map" => embedded!("schema-map"),
        _ => return None,
    })
}
