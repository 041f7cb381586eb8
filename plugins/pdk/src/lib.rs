//! The hubsync plugin development kit.
//!
//! A plugin is a plain Rust type that implements [`Plugin`] plus one role
//! trait ([`ConflictPolicy`], [`ColumnFilter`] or [`SchemaMap`]), exported
//! with one macro:
//!
//! ```ignore
//! use hubsync_pdk::*;
//!
//! struct HubWins;
//! impl Plugin for HubWins {
//!     const NAME: &'static str = "my-hub-wins";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!     const DESCRIPTION: &'static str = "The hub's change wins.";
//!     fn configure(config: &str) -> Result<Self, String> {
//!         parse_config::<NoConfig>(config)?;
//!         Ok(HubWins)
//!     }
//! }
//! impl ConflictPolicy for HubWins {
//!     fn resolve_one(&self, _: &ConflictBatch, _: &Conflict) -> Result<Resolution, String> {
//!         Ok(Resolution::TakeHub)
//!     }
//! }
//! export_conflict_policy!(HubWins);
//! ```
//!
//! Enable the cargo feature of the role (`conflict-policy`, `column-filter`
//! or `schema-map`) and build with `cargo build --release --target
//! wasm32-wasip2`. The same types work natively, so plugin logic is unit
//! tested with a plain `cargo test` (see [`Plugin::configure`] and the
//! builders on [`TableSchema`], [`ConflictBatch`] and [`Change`]).

use std::cmp::Ordering;

#[allow(unsafe_code)]
pub mod alloc;

#[cfg(all(feature = "fast-alloc", target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: alloc::SizeClassAlloc = alloc::SizeClassAlloc::new();

/// Bindings of the shared WIT types, generated from `wit/`.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "types-only",
        path: "wit",
        additional_derives: [PartialEq],
    });
}

pub use bindings::hubsync::plugin::types::{
    Change, Column, ColumnType, Conflict, ConflictBatch, Direction, Resolution, Row, TableSchema, Value,
};

/// The version of the `hubsync:plugin` WIT package this PDK implements.
pub const CONTRACT_VERSION: &str = "0.1.0";

#[cfg(all(
    target_family = "wasm",
    any(
        all(feature = "conflict-policy", feature = "column-filter"),
        all(feature = "conflict-policy", feature = "schema-map"),
        all(feature = "column-filter", feature = "schema-map")
    )
))]
compile_error!(
    "a hubsync plugin implements exactly one role: enable only one of the features \
     `conflict-policy`, `column-filter`, `schema-map` of hubsync-pdk"
);

/// Generated bindings of the `conflict-policy` world.
#[cfg(feature = "conflict-policy")]
#[doc(hidden)]
pub mod conflict_policy_world {
    wit_bindgen::generate!({
        world: "conflict-policy",
        path: "wit",
        with: { "hubsync:plugin/types@0.1.0": crate::bindings::hubsync::plugin::types },
        pub_export_macro: true,
        export_macro_name: "__export_conflict_policy_world",
        default_bindings_module: "hubsync_pdk::conflict_policy_world",
    });
}

/// Generated bindings of the `column-filter` world.
#[cfg(feature = "column-filter")]
#[doc(hidden)]
pub mod column_filter_world {
    wit_bindgen::generate!({
        world: "column-filter",
        path: "wit",
        with: { "hubsync:plugin/types@0.1.0": crate::bindings::hubsync::plugin::types },
        pub_export_macro: true,
        export_macro_name: "__export_column_filter_world",
        default_bindings_module: "hubsync_pdk::column_filter_world",
    });
}

/// Generated bindings of the `schema-map` world.
#[cfg(feature = "schema-map")]
#[doc(hidden)]
pub mod schema_map_world {
    wit_bindgen::generate!({
        world: "schema-map",
        path: "wit",
        with: { "hubsync:plugin/types@0.1.0": crate::bindings::hubsync::plugin::types },
        pub_export_macro: true,
        export_macro_name: "__export_schema_map_world",
        default_bindings_module: "hubsync_pdk::schema_map_world",
    });
}

/// What every plugin provides: a description and a constructor from its JSON
/// configuration.
pub trait Plugin: Sized + Send + 'static {
    /// Short name, e.g. `"keep-larger-amount"`.
    const NAME: &'static str;
    /// The plugin's version; `env!("CARGO_PKG_VERSION")` is a good choice.
    const VERSION: &'static str;
    /// One sentence for people.
    const DESCRIPTION: &'static str;

    /// Build the plugin from its configuration (a JSON document, `"{}"` when
    /// the user gave none). An error must say what to fix; [`parse_config`]
    /// gives good messages for serde types.
    fn configure(config: &str) -> Result<Self, String>;
}

/// A conflict policy: settles conflicts between hub and member changes.
pub trait ConflictPolicy: Plugin {
    /// Settle one conflict.
    fn resolve_one(&self, batch: &ConflictBatch, conflict: &Conflict) -> Result<Resolution, String>;

    /// Settle a batch: one resolution per conflict, in order. The default
    /// calls [`ConflictPolicy::resolve_one`] for each; override it to decide
    /// with the whole batch in view.
    fn resolve(&self, batch: ConflictBatch) -> Result<Vec<Resolution>, String> {
        batch.conflicts.iter().map(|c| self.resolve_one(&batch, c)).collect()
    }
}

/// A column filter: which columns and rows of a table a member receives.
pub trait ColumnFilter: Plugin {
    /// Indexes of the columns `member` receives, ascending, including every
    /// key column. The default keeps all columns.
    fn columns(&self, table: &TableSchema, member: &str) -> Result<Vec<u32>, String> {
        let _ = member;
        Ok((0..table.columns.len() as u32).collect())
    }

    /// Whether `row` goes to `member`. The default keeps every row.
    fn keep_row(&self, table: &TableSchema, member: &str, row: &[Value]) -> Result<bool, String> {
        let _ = (table, member, row);
        Ok(true)
    }

    /// Decide a batch of rows; the default calls [`ColumnFilter::keep_row`] for each.
    fn filter(&self, table: &TableSchema, member: &str, rows: Vec<Row>) -> Result<Vec<bool>, String> {
        rows.iter().map(|r| self.keep_row(table, member, r)).collect()
    }
}

/// A schema map: renames and retypes a hub table for a member, and maps rows
/// both ways.
pub trait SchemaMap: Plugin {
    /// The member-side schema of `hub_table`.
    fn map_schema(&self, hub_table: &TableSchema, member: &str) -> Result<TableSchema, String>;

    /// Map rows in `direction` (see the WIT contract): one row out per row in.
    fn map_rows(
        &self,
        hub_table: &TableSchema,
        member: &str,
        direction: Direction,
        rows: Vec<Row>,
    ) -> Result<Vec<Row>, String>;
}

/// A configuration that must be empty (`{}`): for plugins without options.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}

/// Parse a JSON configuration into `T`, with an error that names the
/// plugin, the problem and where it is.
pub fn parse_config<T: serde::de::DeserializeOwned>(config: &str) -> Result<T, String> {
    let text = if config.trim().is_empty() { "{}" } else { config };
    serde_json::from_str(text).map_err(|e| format!("invalid configuration: {e}"))
}

#[doc(hidden)]
pub fn __with_plugin<P: Plugin, R>(
    state: &std::sync::Mutex<Option<P>>,
    f: impl FnOnce(&P) -> Result<R, String>,
) -> Result<R, String> {
    let guard = state.lock().map_err(|_| "plugin state poisoned by an earlier panic".to_owned())?;
    match guard.as_ref() {
        Some(p) => f(p),
        None => Err(format!("plugin {} was called before `configure`", P::NAME)),
    }
}

#[doc(hidden)]
pub fn __configure<P: Plugin>(state: &std::sync::Mutex<Option<P>>, config: &str) -> Result<(), String> {
    let plugin = P::configure(config).map_err(|e| format!("{}: {e}", P::NAME))?;
    *state.lock().map_err(|_| "plugin state poisoned by an earlier panic".to_owned())? = Some(plugin);
    Ok(())
}

/// Generates the `plugin` interface export for one role.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_plugin_interface {
    ($world:ident, $role:ident, $ty:ty, $state:ident, $export:ident) => {
        impl $crate::$world::Guest for $export {
            fn describe() -> $crate::bindings::hubsync::plugin::types::Info {
                use $crate::bindings::hubsync::plugin::types::{Info, Role};
                Info {
                    name: <$ty as $crate::Plugin>::NAME.into(),
                    version: <$ty as $crate::Plugin>::VERSION.into(),
                    role: Role::$role,
                    description: <$ty as $crate::Plugin>::DESCRIPTION.into(),
                }
            }
            fn configure(config: String) -> Result<(), String> {
                $crate::__configure::<$ty>(&$state, &config)
            }
        }
    };
}

/// Export a [`ConflictPolicy`] as the component's `conflict-policy` world.
/// Needs the `conflict-policy` feature.
#[macro_export]
macro_rules! export_conflict_policy {
    ($ty:ty) => {
        const _: () = {
            #[allow(dead_code)]
            struct __HubsyncExport;
            static __STATE: ::std::sync::Mutex<Option<$ty>> = ::std::sync::Mutex::new(None);
            $crate::__export_plugin_interface!(conflict_policy_world, ConflictPolicy, $ty, __STATE, __HubsyncExport);
            impl $crate::conflict_policy_world::exports::hubsync::plugin::conflict_resolver::Guest for __HubsyncExport {
                fn resolve(batch: $crate::ConflictBatch) -> Result<Vec<$crate::Resolution>, String> {
                    let expected = batch.conflicts.len();
                    let out = $crate::__with_plugin(&__STATE, |p| $crate::ConflictPolicy::resolve(p, batch))?;
                    if out.len() != expected {
                        return Err(format!("returned {} resolutions for {expected} conflicts", out.len()));
                    }
                    Ok(out)
                }
            }
            // Native builds (unit tests) get no component exports.
            #[cfg(target_family = "wasm")]
            $crate::conflict_policy_world::__export_conflict_policy_world!(
                __HubsyncExport with_types_in $crate::conflict_policy_world
            );
        };
    };
}

/// Export a [`ColumnFilter`] as the component's `column-filter` world.
/// Needs the `column-filter` feature.
#[macro_export]
macro_rules! export_column_filter {
    ($ty:ty) => {
        const _: () = {
            #[allow(dead_code)]
            struct __HubsyncExport;
            static __STATE: ::std::sync::Mutex<Option<$ty>> = ::std::sync::Mutex::new(None);
            $crate::__export_plugin_interface!(column_filter_world, ColumnFilter, $ty, __STATE, __HubsyncExport);
            impl $crate::column_filter_world::exports::hubsync::plugin::row_filter::Guest for __HubsyncExport {
                fn columns(table: $crate::TableSchema, member: String) -> Result<Vec<u32>, String> {
                    $crate::__with_plugin(&__STATE, |p| $crate::ColumnFilter::columns(p, &table, &member))
                }
                fn filter(
                    table: $crate::TableSchema,
                    member: String,
                    rows: Vec<$crate::Row>,
                ) -> Result<Vec<bool>, String> {
                    $crate::__with_plugin(&__STATE, |p| $crate::ColumnFilter::filter(p, &table, &member, rows))
                }
            }
            // Native builds (unit tests) get no component exports.
            #[cfg(target_family = "wasm")]
            $crate::column_filter_world::__export_column_filter_world!(
                __HubsyncExport with_types_in $crate::column_filter_world
            );
        };
    };
}

/// Export a [`SchemaMap`] as the component's `schema-map` world.
/// Needs the `schema-map` feature.
#[macro_export]
macro_rules! export_schema_map {
    ($ty:ty) => {
        const _: () = {
            #[allow(dead_code)]
            struct __HubsyncExport;
            static __STATE: ::std::sync::Mutex<Option<$ty>> = ::std::sync::Mutex::new(None);
            $crate::__export_plugin_interface!(schema_map_world, SchemaMap, $ty, __STATE, __HubsyncExport);
            impl $crate::schema_map_world::exports::hubsync::plugin::schema_mapper::Guest for __HubsyncExport {
                fn map_schema(hub_table: $crate::TableSchema, member: String) -> Result<$crate::TableSchema, String> {
                    $crate::__with_plugin(&__STATE, |p| $crate::SchemaMap::map_schema(p, &hub_table, &member))
                }
                fn map_rows(
                    hub_table: $crate::TableSchema,
                    member: String,
                    direction: $crate::Direction,
                    rows: Vec<$crate::Row>,
                ) -> Result<Vec<$crate::Row>, String> {
                    $crate::__with_plugin(&__STATE, |p| {
                        $crate::SchemaMap::map_rows(p, &hub_table, &member, direction, rows)
                    })
                }
            }
            // Native builds (unit tests) get no component exports.
            #[cfg(target_family = "wasm")]
            $crate::schema_map_world::__export_schema_map_world!(
                __HubsyncExport with_types_in $crate::schema_map_world
            );
        };
    };
}

// ---- Conveniences on the contract types (also for native unit tests). ----

impl Value {
    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The integer, if this is an `int`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The text of a `text`, `decimal` or `json` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) | Value::Decimal(s) | Value::Json(s) => Some(s),
            _ => None,
        }
    }

    /// Compare two numeric values (`int`, `float`, `decimal`) by magnitude,
    /// exactly for ints and decimals. `None` if either is not numeric.
    pub fn numeric_cmp(&self, other: &Value) -> Option<Ordering> {
        fn dec(v: &Value) -> Option<String> {
            match v {
                Value::Int(i) => Some(i.to_string()),
                Value::Decimal(s) => Some(s.clone()),
                _ => None,
            }
        }
        match (self, other) {
            (Value::Float(a), b) | (b, Value::Float(a)) if !matches!(b, Value::Float(_)) => {
                let b = match b {
                    Value::Int(i) => *i as f64,
                    Value::Decimal(s) => s.parse().ok()?,
                    _ => return None,
                };
                let ord = a.partial_cmp(&b)?;
                // The match may have swapped the operands.
                Some(if matches!(self, Value::Float(_)) { ord } else { ord.reverse() })
            }
            (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
            _ => Some(decimal_cmp(&dec(self)?, &dec(other)?)),
        }
    }
}

/// Compare two exact decimals in plain notation (`-12.50`, `3`).
pub fn decimal_cmp(a: &str, b: &str) -> Ordering {
    fn parts(s: &str) -> (bool, &str, &str) {
        let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
        let s = s.strip_prefix('+').unwrap_or(s);
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        (neg && !(int.is_empty() && frac.is_empty()), int, frac)
    }
    let (an, ai, af) = parts(a);
    let (bn, bi, bf) = parts(b);
    let magnitude = ai.len().cmp(&bi.len()).then_with(|| ai.cmp(bi)).then_with(|| af.cmp(bf));
    match (an, bn) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl ColumnType {
    /// The name used in configuration and the WIT contract (`int`, `timestamptz`, …).
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Bool => "bool",
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Decimal => "decimal",
            ColumnType::Text => "text",
            ColumnType::Bytes => "bytes",
            ColumnType::Date => "date",
            ColumnType::Time => "time",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Timestamptz => "timestamptz",
            ColumnType::Uuid => "uuid",
            ColumnType::Json => "json",
        }
    }
}

impl TableSchema {
    /// A table with no columns (builder for tests).
    pub fn new(name: &str) -> Self {
        TableSchema { namespace: None, name: name.into(), columns: Vec::new(), primary_key: Vec::new() }
    }

    /// Add a non-nullable key column.
    pub fn key(mut self, name: &str, kind: ColumnType) -> Self {
        self.primary_key.push(self.columns.len() as u32);
        self.columns.push(Column { name: name.into(), kind, nullable: false, declared_type: None });
        self
    }

    /// Add a nullable column.
    pub fn column(mut self, name: &str, kind: ColumnType) -> Self {
        self.columns.push(Column { name: name.into(), kind, nullable: true, declared_type: None });
        self
    }

    /// The index of the column called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

impl Change {
    /// A change that left `row`, at `changed_at` µs since the epoch, from peer `origin`.
    pub fn row(row: Row, changed_at: i64, origin: u32) -> Self {
        Change { row: Some(row), changed_at, origin }
    }

    /// A delete at `changed_at`, from peer `origin`.
    pub fn deleted(changed_at: i64, origin: u32) -> Self {
        Change { row: None, changed_at, origin }
    }

    /// Whether this change deleted the row.
    pub fn is_delete(&self) -> bool {
        self.row.is_none()
    }
}

impl ConflictBatch {
    /// An empty batch for `table` and `member`; peers are `["hub", member]`.
    pub fn new(table: TableSchema, member: &str) -> Self {
        ConflictBatch { table, member: member.into(), peers: vec!["hub".into(), member.into()], conflicts: Vec::new() }
    }

    /// Add a conflict (builder for tests).
    pub fn conflict(mut self, key: Row, hub: Change, member: Change) -> Self {
        self.conflicts.push(Conflict { key, hub, member });
        self
    }

    /// The name of the peer a change came from.
    pub fn origin_name(&self, change: &Change) -> &str {
        self.peers.get(change.origin as usize).map_or("?", String::as_str)
    }

    /// The value of column `name` in `row`, if the column exists.
    pub fn get<'r>(&self, row: &'r [Value], name: &str) -> Option<&'r Value> {
        row.get(self.table.index_of(name)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_exactly() {
        assert_eq!(decimal_cmp("10.50", "10.5"), Ordering::Equal);
        assert_eq!(decimal_cmp("-0.00", "0"), Ordering::Equal);
        assert_eq!(decimal_cmp("99.99", "100"), Ordering::Less);
        assert_eq!(decimal_cmp("-2", "-10"), Ordering::Greater);
        assert_eq!(decimal_cmp("12345678901234567890.1", "12345678901234567890.09"), Ordering::Greater);
        let d = |s: &str| Value::Decimal(s.into());
        assert_eq!(Value::Int(3).numeric_cmp(&d("2.99")), Some(Ordering::Greater));
        assert_eq!(Value::Float(1.5).numeric_cmp(&Value::Int(2)), Some(Ordering::Less));
        assert_eq!(Value::Int(2).numeric_cmp(&Value::Float(1.5)), Some(Ordering::Greater));
        assert_eq!(Value::Text("x".into()).numeric_cmp(&Value::Int(1)), None);
    }

    #[test]
    fn config_errors_say_what_is_wrong() {
        assert!(parse_config::<NoConfig>("").is_ok());
        let err = parse_config::<NoConfig>(r#"{"x": 1}"#).expect_err("unknown field");
        assert!(err.contains("unknown field `x`"), "{err}");
    }
}
